/* bench_net.c - whole-network cases net/<model>/<train|infer>/<backend>/mb<B>/threads:<T>.
 *
 * train: one ck_train_step (forward, backward, SGD with momentum) on a full batch;
 * infer: one ck_net_forward without labels. Inputs are seeded uniform noise with fixed
 * labels: the speed of a step does not depend on the data. Counters: images_per_s and
 * GFLOPS (forward FLOPs from the layer summary, x3 for a training step: forward,
 * backward-data and backward-weights cost about the same). Nets are built untimed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "convkit/backend.h"
#include "convkit/model.h"
#include "convkit/net.h"
#include "convkit/optim.h"
#include "shim.h"

struct net_case {
    const char *model;
    const char *backend; /* "auto" = the library's choice */
    int train, batch, threads;
    const struct ckb_config *cfg;
    struct net_case *next;
};
static struct net_case *all_cases;

/* Forward FLOPs of one image over all layers. */
static double net_flops_per_image(const struct ck_net *net)
{
    double f = 0.0;
    for (int i = 0; i < net->n_layers; i++) {
        struct ck_layer_info info;
        if (ck_net_layer_info(net, i, &info) == CK_OK)
            f += info.flops;
    }
    return f;
}

/* One timed unit: a training step or a forward pass over the whole batch. */
static enum ck_status step(const struct net_case *c, struct ck_net *net, struct ck_optim *opt,
                           const float *x, const int *labels)
{
    return c->train ? ck_train_step(net, opt, x, labels, NULL, NULL)
                    : ck_net_forward(net, x, c->batch, NULL, 0);
}

static void case_net(struct ckb_state *st, void *arg)
{
    const struct net_case *c = arg;
    char msg[256];
    struct ck_model_spec spec;
    struct ck_net *net = NULL;
    struct ck_optim opt;
    float *x = NULL;
    int *labels = NULL;
    memset(&opt, 0, sizeof opt);
    ckb_set_threads(c->threads);

    if (ck_model_spec_parse(c->model, NULL, &spec, msg, sizeof msg) != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: model %s: %s", c->model, msg);
        return;
    }
    enum ck_status s = ck_net_build(&spec, c->batch, c->backend, &net, msg, sizeof msg);
    if (s == CK_ERR_UNSUPPORTED || s == CK_ERR_CPU_FEATURE) {
        ckb_skip(st, "unsupported: %s", msg);
        return;
    }
    if (s != CK_OK) {
        if (s != CK_ERR_OUT_OF_MEMORY)
            ckb_note_failure();
        ckb_skip(st, "%s%s (%s)", s == CK_ERR_OUT_OF_MEMORY ? "" : "FAILED: ", msg,
                 ck_status_str(s));
        return;
    }
    double gflop = net_flops_per_image(net) * c->batch * (c->train ? 3.0 : 1.0) * 1e-9;
    if (strcmp(c->backend, "naive") == 0 && gflop > c->cfg->naive_max_gflop) {
        ckb_skip(st, "too slow for this preset: naive backend, %.3g GFLOP a step > %.3g "
                 "(--naive-max-gflop)", gflop, c->cfg->naive_max_gflop);
        goto cleanup;
    }
    struct ck_optim_config oc = ck_optim_config_default(CK_OPTIM_SGD);
    oc.lr = 1e-3;
    oc.momentum = 0.9;
    if (ck_net_init_params(net, CK_INIT_AUTO, 1) != CK_OK ||
        ck_optim_init(&opt, &oc, net->params_len, msg, sizeof msg) != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: cannot initialise the net: %s", msg);
        goto cleanup;
    }
    size_t n_in = ck_shape_numel(spec.input) * (size_t)c->batch;
    x = ckb_xalloc(n_in * sizeof(float));
    labels = ckb_xalloc((size_t)c->batch * sizeof(int));
    ckt_fill_uniform(x, n_in, 31, 0.0f, 1.0f);
    for (int i = 0; i < c->batch; i++)
        labels[i] = i % net->classes;

    s = step(c, net, &opt, x, labels); /* warm-up, untimed */
    double local = s == CK_OK ? ckb_peak_local(c->cfg, c->threads) : 0.0;
    while (s == CK_OK && ckb_keep_running(st))
        s = step(c, net, &opt, x, labels);
    if (s != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s step returned %s", c->train ? "training" : "inference",
                 ck_status_str(s));
        goto cleanup;
    }
    ckb_counter_rate(st, "images_per_s", (double)c->batch);
    ckb_counter_rate(st, "GFLOPS", gflop);
    ckb_peak_counters(st, c->cfg, c->threads, gflop, local);
    ckb_counter_value(st, "workspace_bytes", (double)net->ws_size);

cleanup:
    free(x);
    free(labels);
    ck_optim_free(&opt);
    ck_net_free(net);
}

static void add_case(const struct ckb_config *cfg, const char *model, const char *backend,
                     int train, int batch, int threads)
{
    struct net_case *c = ckb_xalloc(sizeof *c);
    *c = (struct net_case){model, backend, train, batch, threads, cfg, all_cases};
    all_cases = c;
    char name[160];
    snprintf(name, sizeof name, "net/%s/%s/%s/mb%d/threads:%d", model,
             train ? "train" : "infer", backend, batch, threads);
    ckb_case_real_time(ckb_register(name, case_net, c));
}

void ckb_register_net(const struct ckb_config *cfg)
{
    static const char *const models[] = {"seed-cnn"};
    static const int quick_batches[] = {64};
    static const int full_batches[] = {16, 64};
    int quick = cfg->preset == CKB_PRESET_QUICK;
    const int *batches = quick ? quick_batches : full_batches;
    int n_batches = quick ? 1 : 2;
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++)
        for (int train = 1; train >= 0; train--)
            for (int bi = 0; bi < n_batches; bi++)
                for (size_t k = 0; k <= ck_backend_count(); k++) {
                    /* "auto" first, then every backend (quick: auto only). */
                    const char *backend = k == 0 ? "auto" : ck_backend_get(k - 1)->name;
                    if (quick && k > 0)
                        break;
                    if (k > 0 && strcmp(backend, "auto") == 0)
                        continue; /* the registry lists it too: registered once, above */
                    if (cfg->backend_only && strcmp(cfg->backend_only, backend) != 0)
                        continue;
                    for (int ti = 0; ti < cfg->n_threads; ti++)
                        add_case(cfg, models[mi], backend, train, batches[bi],
                                 cfg->threads[ti]);
                }
}

void ckb_net_cleanup(void)
{
    while (all_cases) {
        struct net_case *next = all_cases->next;
        free(all_cases);
        all_cases = next;
    }
}
