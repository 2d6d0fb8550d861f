/* bench_conv.c - the convolution benchmark case: one (pass, backend, problem, threads)
 * per registered name conv/<fwd|bwd_data|bwd_weights>/<backend>/<descriptor>/threads:<T>.
 *
 * Outside the timed loop a case allocates and fills its tensors, runs the pass once on a
 * (possibly batch-reduced) problem and compares it with the fp64 reference of
 * tests/support/ref.c (max_rel_err), and runs the full problem once to warm up. The
 * timed loop is the bare backend call. Backends that cannot run a problem are still
 * registered and skipped with the backend's own reason. Problem lists: bench_sweep.c.
 * The oneDNN reference cases (bench_onednn.c) are registered here too, after each pass's
 * backends, and share the inputs, reference and error helpers below.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "convkit/backend.h"
#include "convkit/status.h"
#include "ref.h"
#include "shim.h"

struct conv_case {
    struct ck_conv_params p;
    enum ck_conv_pass pass;
    const struct ck_conv_backend *b;
    int threads;
    const struct ckb_config *cfg;
    struct conv_case *next; /* every case, for cleanup */
};

static struct conv_case *all_cases;

/* Registered descriptors, so overlapping sweeps register each problem once. */
static char **seen_desc;
static size_t n_seen, cap_seen;

/* The fp64 reference of the last (problem, pass) checked: cases of one problem are
 * registered next to each other (backends and thread counts innermost), so one entry
 * serves them all. Inputs are refilled from fixed seeds, so they are the same. */
static struct {
    int valid;
    struct ck_conv_params p;
    enum ck_conv_pass pass;
    double *out, *db; /* y | dx | dw, and db for bwd_weights */
} ref_cache;

static const char *const pass_tags[CK_PASS_COUNT] = {"fwd", "bwd_data", "bwd_weights"};

const char *ckb_conv_pass_tag(enum ck_conv_pass pass)
{
    return pass_tags[pass];
}

enum { SEED_X = 11, SEED_W = 12, SEED_BIAS = 13, SEED_DY = 14 };

static int same_params(const struct ck_conv_params *a, const struct ck_conv_params *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

static float *alloc_floats(size_t n)
{
    float *p = ck_aligned_alloc((n ? n : 1) * sizeof(float));
    if (!p) {
        fprintf(stderr, "convkit-bench: out of memory (%zu floats)\n", n);
        exit(1);
    }
    return p;
}

/* The reference for q (= the case's problem with a possibly smaller batch), cached. */
static void reference(const struct ck_conv_params *q, enum ck_conv_pass pass, const float *x,
                      const float *w, const float *bias, const float *dy)
{
    if (ref_cache.valid && ref_cache.pass == pass && same_params(&ref_cache.p, q))
        return;
    free(ref_cache.out);
    free(ref_cache.db);
    ref_cache.out = ref_cache.db = NULL;
    switch (pass) {
    case CK_PASS_FORWARD:
        ref_cache.out = ckb_xalloc(ck_conv_y_numel(q) * sizeof(double));
        ckt_ref_forward(q, x, w, bias, ref_cache.out);
        break;
    case CK_PASS_BACKWARD_DATA:
        ref_cache.out = ckb_xalloc(ck_conv_x_numel(q) * sizeof(double));
        ckt_ref_backward_data(q, dy, w, ref_cache.out);
        break;
    default:
        ref_cache.out = ckb_xalloc(ck_conv_w_numel(q) * sizeof(double));
        ref_cache.db = ckb_xalloc((size_t)q->K * sizeof(double));
        ckt_ref_backward_weights(q, x, dy, ref_cache.out, ref_cache.db);
        break;
    }
    ref_cache.p = *q;
    ref_cache.pass = pass;
    ref_cache.valid = 1;
}

void ckb_conv_fill_inputs(const struct ck_conv_params *p, float *x, float *w, float *bias,
                          float *dy)
{
    ckt_fill_uniform(x, ck_conv_x_numel(p), SEED_X, -1.0f, 1.0f);
    ckt_fill_uniform(w, ck_conv_w_numel(p), SEED_W, -1.0f, 1.0f);
    ckt_fill_uniform(bias, (size_t)p->K, SEED_BIAS, -1.0f, 1.0f);
    ckt_fill_uniform(dy, ck_conv_y_numel(p), SEED_DY, -1.0f, 1.0f);
}

struct ck_conv_params ckb_conv_ref_problem(const struct ckb_config *cfg,
                                           const struct ck_conv_params *p)
{
    struct ck_conv_params q = *p;
    double per_image = ck_conv_flops(p) * 1e-9 / p->N;
    int n_ref = (int)floor(cfg->ref_max_gflop / per_image);
    q.N = n_ref < 1 ? 1 : n_ref > p->N ? p->N : n_ref;
    return q;
}

double ckb_conv_max_rel_err(const struct ck_conv_params *q, enum ck_conv_pass pass,
                            const float *x, const float *w, const float *bias,
                            const float *dy, const float *out, const float *db)
{
    reference(q, pass, x, w, bias, dy);
    size_t n = pass == CK_PASS_FORWARD         ? ck_conv_y_numel(q)
               : pass == CK_PASS_BACKWARD_DATA ? ck_conv_x_numel(q)
                                               : ck_conv_w_numel(q);
    double err = ckt_max_rel_err(out, ref_cache.out, n, NULL, 0, INFINITY);
    if (pass == CK_PASS_BACKWARD_WEIGHTS)
        err = fmax(err, ckt_max_rel_err(db, ref_cache.db, (size_t)q->K, NULL, 0, INFINITY));
    return err;
}

/* Run the case's pass once on problem q with the given buffers. */
static enum ck_status run_pass(const struct conv_case *c, const struct ck_conv_params *q,
                               const float *x, const float *w, const float *bias, float *y,
                               const float *dy, float *dx, float *dw, float *db, void *ws,
                               size_t ws_size)
{
    switch (c->pass) {
    case CK_PASS_FORWARD:
        return ck_conv_forward(c->b, q, x, w, bias, y, ws, ws_size);
    case CK_PASS_BACKWARD_DATA:
        return ck_conv_backward_data(c->b, q, dy, w, dx, ws, ws_size);
    default:
        return ck_conv_backward_weights(c->b, q, x, dy, dw, db, ws, ws_size);
    }
}

static void case_conv(struct ckb_state *st, void *arg)
{
    const struct conv_case *c = arg;
    const struct ck_conv_params *p = &c->p;
    char why[256];
    ckb_set_threads(c->threads);

    if (ck_backend_supports(c->b, p, c->pass, why, sizeof why) != CK_OK) {
        ckb_skip(st, "unsupported: %s", why);
        return;
    }
    double gflop = ck_conv_flops(p) * 1e-9;
    if (strcmp(c->b->name, "naive") == 0 && gflop > c->cfg->naive_max_gflop) {
        ckb_skip(st, "too slow for this preset: naive backend, %.3g GFLOP a call > %.3g "
                 "(--naive-max-gflop)", gflop, c->cfg->naive_max_gflop);
        return;
    }

    /* Tensors: inputs filled from fixed seeds, outputs NaN so a hole shows as error. */
    size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    float *x = alloc_floats(nx), *w = alloc_floats(nw), *bias = alloc_floats((size_t)p->K);
    float *dy = alloc_floats(ny), *out = NULL, *db = NULL;
    ckb_conv_fill_inputs(p, x, w, bias, dy);
    size_t nout = c->pass == CK_PASS_FORWARD ? ny : c->pass == CK_PASS_BACKWARD_DATA ? nx : nw;
    out = alloc_floats(nout);
    db = alloc_floats((size_t)p->K);
    ckt_fill_nan(out, nout);
    ckt_fill_nan(db, (size_t)p->K);
    float *y = out, *dx = out, *dw = out;

    /* Accuracy on the first q.N images: batch-major tensors make them a prefix. */
    struct ck_conv_params q = ckb_conv_ref_problem(c->cfg, p);
    size_t ws_full = ck_conv_workspace_size(c->b, p, c->pass);
    size_t ws_ref = ck_conv_workspace_size(c->b, &q, c->pass);
    size_t ws_size = ws_full > ws_ref ? ws_full : ws_ref;
    void *ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    if (ws_size && !ws) {
        ckb_skip(st, "out of memory: %zu bytes of workspace", ws_size);
        goto cleanup;
    }

    enum ck_status s = run_pass(c, &q, x, w, bias, y, dy, dx, dw, db, ws, ws_size);
    if (s != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s returned %s", ck_conv_pass_name(c->pass), ck_status_str(s));
        goto cleanup;
    }
    double err = ckb_conv_max_rel_err(&q, c->pass, x, w, bias, dy, out, db);
    if (!isfinite(err)) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s wrote NaN/Inf or left outputs unwritten",
                 ck_conv_pass_name(c->pass));
        goto cleanup;
    }

    /* Warm-up on the full problem (page faults, caches, OpenMP thread start), unless
     * the accuracy run above already was the full problem. */
    s = q.N == p->N ? CK_OK : run_pass(c, p, x, w, bias, y, dy, dx, dw, db, ws, ws_size);
    if (s != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s returned %s", ck_conv_pass_name(c->pass), ck_status_str(s));
        goto cleanup;
    }

    double local = ckb_peak_local(c->cfg, c->threads);
    while (ckb_keep_running(st)) {
        run_pass(c, p, x, w, bias, y, dy, dx, dw, db, ws, ws_size);
        ckb_do_not_optimize(out);
    }

    ckb_counter_rate(st, "GFLOPS", gflop);
    ckb_peak_counters(st, c->cfg, c->threads, gflop, local);
    ckb_counter_value(st, "workspace_bytes", (double)ws_full);
    ckb_counter_value(st, "max_rel_err", err);
    if (q.N != p->N) {
        char label[48];
        snprintf(label, sizeof label, "max_rel_err on mb%d", q.N);
        ckb_set_label(st, label);
    }

cleanup:
    ck_aligned_free(ws);
    ck_aligned_free(x);
    ck_aligned_free(w);
    ck_aligned_free(bias);
    ck_aligned_free(dy);
    ck_aligned_free(out);
    ck_aligned_free(db);
}

/* 1 if desc was registered before; otherwise remember it and return 0. */
static int seen_before(const char *desc)
{
    for (size_t i = 0; i < n_seen; i++)
        if (strcmp(seen_desc[i], desc) == 0)
            return 1;
    if (n_seen == cap_seen) {
        cap_seen = cap_seen ? 2 * cap_seen : 64;
        char **grown = realloc(seen_desc, cap_seen * sizeof *grown);
        if (!grown) {
            fprintf(stderr, "convkit-bench: out of memory\n");
            exit(1);
        }
        seen_desc = grown;
    }
    size_t len = strlen(desc) + 1;
    seen_desc[n_seen] = ckb_xalloc(len);
    memcpy(seen_desc[n_seen++], desc, len);
    return 0;
}

void ckb_register_conv_problem(const struct ckb_config *cfg, const struct ck_conv_params *p,
                               int one_thread_only)
{
    char desc[128], why[256];
    if (ck_conv_check(p, why, sizeof why) != CK_OK) {
        fprintf(stderr, "convkit-bench: internal problem list error: %s\n", why);
        exit(1);
    }
    ck_conv_problem_format(p, desc, sizeof desc);
    if (seen_before(desc))
        return;
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        for (size_t bi = 0; bi < ck_backend_count(); bi++) {
            const struct ck_conv_backend *b = ck_backend_get(bi);
            if (cfg->backend_only && strcmp(cfg->backend_only, b->name) != 0)
                continue;
            for (int ti = 0; ti < (one_thread_only ? 1 : cfg->n_threads); ti++) {
                struct conv_case *c = ckb_xalloc(sizeof *c);
                *c = (struct conv_case){*p, (enum ck_conv_pass)pass, b, cfg->threads[ti],
                                        cfg, all_cases};
                all_cases = c;
                char name[256];
                snprintf(name, sizeof name, "conv/%s/%s/%s/threads:%d", pass_tags[pass],
                         b->name, desc, c->threads);
                ckb_case_real_time(ckb_register(name, case_conv, c));
            }
        }
#ifdef CKB_HAVE_ONEDNN
        if (!cfg->backend_only) /* reference points, next to the problem's other cases */
            ckb_register_onednn(cfg, p, (enum ck_conv_pass)pass, desc, one_thread_only);
#endif
    }
}

void ckb_conv_cleanup(void)
{
    while (all_cases) {
        struct conv_case *next = all_cases->next;
        free(all_cases);
        all_cases = next;
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen_desc[i]);
    free(seen_desc);
    seen_desc = NULL;
    n_seen = cap_seen = 0;
    free(ref_cache.out);
    free(ref_cache.db);
    ref_cache.out = ref_cache.db = NULL;
    ref_cache.valid = 0;
}
