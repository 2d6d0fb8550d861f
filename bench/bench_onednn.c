/* bench_onednn.c - oneDNN 2.x (C API) as a reference point beside convkit's conv cases:
 *   conv/<pass>/onednn/<descriptor>/threads:<T>: NCHW/KCRS tensors in and out, oneDNN's
 *       reorders to and from its preferred layouts timed (as the avx2 backend's are);
 *   conv/<pass>/onednn-blocked/...: tensors already in those layouts (format_tag any),
 *       reordered once outside the loop: the kernel alone (not in the quick preset).
 * fp32 dnnl_convolution_direct with stride, asymmetric padding, dilation, groups, bias and
 * bias gradient; inputs, fp64 check and counters as bench_conv.c (workspace_bytes: the
 * user-mode scratchpad, plus oneDNN's tensor copies for onednn). Capped at AVX2 unless
 * ONEDNN_MAX_CPU_ISA is set; the label names the implementation and ISA. Not here: other
 * algorithms, post-ops, data types.
 */
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "convkit/backend.h"
#include "shim.h"

struct dnn_case {
    struct ck_conv_params p;
    enum ck_conv_pass pass;
    int blocked, threads;
    const struct ckb_config *cfg;
    struct dnn_case *next; /* every case, for cleanup */
};
static struct dnn_case *all_cases;

/* One engine and stream for the whole run, made after the ISA cap (first oneDNN call). */
static struct {
    int tried;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    char isa_cap[96]; /* who capped the ISA, and at what */
    char error[128];  /* why oneDNN cannot run, or "" */
} lib;

/* The user's plain tensors of a case (inputs const in spirit; oneDNN takes void *). */
struct dnn_tensors {
    float *x, *w, *bias, *dy, *out, *db; /* out: y | dx | dw */
};

/* One argument of the convolution: the user's plain tensor and, when oneDNN prefers
 * another layout, its own copy and the reorder between them (user -> own for an input,
 * own -> user for an output). */
struct dnn_arg {
    int arg, output;
    dnnl_memory_t user, own; /* own: NULL when oneDNN takes the user's layout */
    dnnl_primitive_t reorder;
};

struct dnn_conv {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t prim;
    dnnl_memory_t scratch; /* user-mode scratchpad, NULL if none */
    size_t scratch_bytes, own_bytes;
    struct dnn_arg args[4];
    int n_args;
    dnnl_exec_arg_t exec[5]; /* the convolution's arguments (own or user, scratchpad) */
    int n_exec;
    const char *impl; /* implementation name, owned by pd */
};

/* Arguments of each pass: {DNNL_ARG_*, is an output}. */
static const int pass_args[CK_PASS_COUNT][4][2] = {
    {{DNNL_ARG_SRC, 0}, {DNNL_ARG_WEIGHTS, 0}, {DNNL_ARG_BIAS, 0}, {DNNL_ARG_DST, 1}},
    {{DNNL_ARG_DIFF_DST, 0}, {DNNL_ARG_WEIGHTS, 0}, {DNNL_ARG_DIFF_SRC, 1}, {0, 0}},
    {{DNNL_ARG_SRC, 0}, {DNNL_ARG_DIFF_DST, 0}, {DNNL_ARG_DIFF_WEIGHTS, 1},
     {DNNL_ARG_DIFF_BIAS, 1}},
};

static void init_once(void)
{
    if (lib.tried)
        return;
    lib.tried = 1;
    const char *env = getenv("ONEDNN_MAX_CPU_ISA");
    if (!env || !*env)
        env = getenv("DNNL_MAX_CPU_ISA");
    if (env && *env) {
        snprintf(lib.isa_cap, sizeof lib.isa_cap, "%s (environment)", env);
    } else {
        dnnl_status_t s = dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
        snprintf(lib.isa_cap, sizeof lib.isa_cap, "%s",
                 s == dnnl_success ? "avx2 (convkit-bench)"
                                   : "none (dnnl_set_max_cpu_isa failed)");
    }
    dnnl_status_t s = dnnl_engine_create(&lib.engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&lib.stream, lib.engine, dnnl_stream_default_flags);
    if (s != dnnl_success)
        snprintf(lib.error, sizeof lib.error, "oneDNN CPU engine/stream: %s",
                 dnnl_status2str(s));
}

static const char *isa_name(void)
{
    const char *s = dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa());
    return strncmp(s, "cpu_isa_", 8) == 0 ? s + 8 : s;
}

void ckb_onednn_context(void)
{
    init_once();
    const dnnl_version_t *v = dnnl_version();
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d (%s)", v->major, v->minor, v->patch, v->hash);
    ckb_add_context("onednn_version", buf);
    ckb_add_context("onednn_max_isa", lib.isa_cap);
    ckb_add_context("onednn_isa", lib.error[0] ? lib.error : isa_name());
}

/* 1 (and msg) if s is not success. */
static int failed(dnnl_status_t s, const char *what, char *msg, size_t len)
{
    if (s == dnnl_success)
        return 0;
    snprintf(msg, len, "%s: %s", what, dnnl_status2str(s));
    return 1;
}

/* The descriptor of argument arg of problem p: plain (NCHW, KCRS or GKCRS) or, with
 * any, whatever layout oneDNN prefers. The bias is always plain. */
static void arg_md(const struct ck_conv_params *p, int arg, int any, dnnl_memory_desc_t *md)
{
    int P, Q, G = p->groups;
    ck_conv_output_size(p, &P, &Q);
    switch (arg) {
    case DNNL_ARG_SRC:
    case DNNL_ARG_DIFF_SRC:
        dnnl_memory_desc_init_by_tag(md, 4, (dnnl_dims_t){p->N, p->C, p->H, p->W}, dnnl_f32,
                                     any ? dnnl_format_tag_any : dnnl_nchw);
        break;
    case DNNL_ARG_DST:
    case DNNL_ARG_DIFF_DST:
        dnnl_memory_desc_init_by_tag(md, 4, (dnnl_dims_t){p->N, p->K, P, Q}, dnnl_f32,
                                     any ? dnnl_format_tag_any : dnnl_nchw);
        break;
    case DNNL_ARG_WEIGHTS:
    case DNNL_ARG_DIFF_WEIGHTS:
        if (G == 1)
            dnnl_memory_desc_init_by_tag(md, 4, (dnnl_dims_t){p->K, p->C, p->R, p->S},
                                         dnnl_f32, any ? dnnl_format_tag_any : dnnl_oihw);
        else /* w[K][C/G][R][S] is w[G][K/G][C/G][R][S] */
            dnnl_memory_desc_init_by_tag(md, 5,
                                         (dnnl_dims_t){G, p->K / G, p->C / G, p->R, p->S},
                                         dnnl_f32, any ? dnnl_format_tag_any : dnnl_goihw);
        break;
    default: /* bias, bias gradient */
        dnnl_memory_desc_init_by_tag(md, 1, (dnnl_dims_t){p->K}, dnnl_f32, dnnl_x);
        break;
    }
}

static float *user_buffer(const struct dnn_tensors *t, int arg)
{
    switch (arg) {
    case DNNL_ARG_SRC: return t->x;
    case DNNL_ARG_WEIGHTS: return t->w;
    case DNNL_ARG_BIAS: return t->bias;
    case DNNL_ARG_DIFF_DST: return t->dy;
    case DNNL_ARG_DIFF_BIAS: return t->db;
    default: return t->out;
    }
}

/* The primitive descriptor of pass on p (a forward one first: the backward hint). */
static dnnl_status_t make_pd(dnnl_primitive_desc_t *pd, const struct ck_conv_params *p,
                             enum ck_conv_pass pass)
{
    dnnl_memory_desc_t src, wei, dst, bias;
    arg_md(p, DNNL_ARG_SRC, 1, &src);
    arg_md(p, DNNL_ARG_WEIGHTS, 1, &wei);
    arg_md(p, DNNL_ARG_DST, 1, &dst);
    arg_md(p, DNNL_ARG_BIAS, 0, &bias);
    const dnnl_dims_t stride = {p->stride_h, p->stride_w};
    const dnnl_dims_t dil = {p->dilation_h - 1, p->dilation_w - 1}; /* oneDNN: 0 = dense */
    const dnnl_dims_t pad_l = {p->pad_top, p->pad_left};
    const dnnl_dims_t pad_r = {p->pad_bottom, p->pad_right};
    dnnl_convolution_desc_t fwd, bwd;
    dnnl_primitive_desc_t fwd_pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t s = dnnl_dilated_convolution_forward_desc_init(
        &fwd, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, &bias, &dst, stride,
        dil, pad_l, pad_r);
    if (s == dnnl_success && pass == CK_PASS_BACKWARD_DATA)
        s = dnnl_dilated_convolution_backward_data_desc_init(
            &bwd, dnnl_convolution_direct, &src, &wei, &dst, stride, dil, pad_l, pad_r);
    if (s == dnnl_success && pass == CK_PASS_BACKWARD_WEIGHTS)
        s = dnnl_dilated_convolution_backward_weights_desc_init(
            &bwd, dnnl_convolution_direct, &src, &wei, &bias, &dst, stride, dil, pad_l,
            pad_r);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_create(&attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(pass == CK_PASS_FORWARD ? pd : &fwd_pd, &fwd, attr,
                                       lib.engine, NULL);
    if (s == dnnl_success && pass != CK_PASS_FORWARD)
        s = dnnl_primitive_desc_create(pd, &bwd, attr, lib.engine, fwd_pd);
    if (fwd_pd)
        dnnl_primitive_desc_destroy(fwd_pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

static void conv_free(struct dnn_conv *d)
{
    for (int i = 0; i < d->n_args; i++) {
        struct dnn_arg *a = &d->args[i];
        if (a->reorder)
            dnnl_primitive_destroy(a->reorder);
        if (a->own)
            dnnl_memory_destroy(a->own);
        if (a->user)
            dnnl_memory_destroy(a->user);
    }
    if (d->scratch)
        dnnl_memory_destroy(d->scratch);
    if (d->prim)
        dnnl_primitive_destroy(d->prim);
    if (d->pd)
        dnnl_primitive_desc_destroy(d->pd);
    memset(d, 0, sizeof *d);
}

/* Build pass on p over the user's tensors t. Returns 0, 1 if oneDNN has no
 * implementation (msg says so), -1 on any other error (msg says which call). */
static int conv_build(struct dnn_conv *d, const struct ck_conv_params *p,
                      enum ck_conv_pass pass, const struct dnn_tensors *t, char *msg,
                      size_t len)
{
    memset(d, 0, sizeof *d);
    dnnl_status_t s = make_pd(&d->pd, p, pass);
    if (s == dnnl_unimplemented) {
        snprintf(msg, len, "oneDNN has no direct %s implementation for this problem",
                 ck_conv_pass_name(pass));
        return 1;
    }
    if (failed(s, "convolution primitive descriptor", msg, len))
        return -1;
    if (failed(dnnl_primitive_desc_query(d->pd, dnnl_query_impl_info_str, 0, &d->impl),
               "implementation query", msg, len) ||
        failed(dnnl_primitive_create(&d->prim, d->pd), "convolution primitive", msg, len))
        return -1;
    const dnnl_memory_desc_t *smd =
        dnnl_primitive_desc_query_md(d->pd, dnnl_query_scratchpad_md, 0);
    d->scratch_bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (d->scratch_bytes &&
        failed(dnnl_memory_create(&d->scratch, smd, lib.engine, DNNL_MEMORY_ALLOCATE),
               "scratchpad", msg, len))
        return -1;

    for (int i = 0; i < 4 && pass_args[pass][i][0]; i++) {
        struct dnn_arg *a = &d->args[d->n_args++];
        a->arg = pass_args[pass][i][0];
        a->output = pass_args[pass][i][1];
        dnnl_memory_desc_t umd;
        arg_md(p, a->arg, 0, &umd);
        const dnnl_memory_desc_t *omd =
            dnnl_primitive_desc_query_md(d->pd, dnnl_query_exec_arg_md, a->arg);
        if (failed(dnnl_memory_create(&a->user, &umd, lib.engine, user_buffer(t, a->arg)),
                   "user memory", msg, len))
            return -1;
        if (!dnnl_memory_desc_equal(&umd, omd)) {
            dnnl_primitive_desc_t rpd;
            d->own_bytes += dnnl_memory_desc_get_size(omd);
            if (failed(dnnl_memory_create(&a->own, omd, lib.engine, DNNL_MEMORY_ALLOCATE),
                       "oneDNN-layout memory", msg, len) ||
                failed(dnnl_reorder_primitive_desc_create(&rpd, a->output ? omd : &umd,
                                                          lib.engine, a->output ? &umd : omd,
                                                          lib.engine, NULL),
                       "reorder primitive descriptor", msg, len))
                return -1;
            s = dnnl_primitive_create(&a->reorder, rpd);
            dnnl_primitive_desc_destroy(rpd);
            if (failed(s, "reorder primitive", msg, len))
                return -1;
        }
        d->exec[d->n_exec++] = (dnnl_exec_arg_t){a->arg, a->own ? a->own : a->user};
    }
    if (d->scratch)
        d->exec[d->n_exec++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, d->scratch};
    return 0;
}

/* The reorders of the inputs (outputs = 0) or of the outputs (1). */
static dnnl_status_t run_reorders(const struct dnn_conv *d, int outputs)
{
    for (int i = 0; i < d->n_args; i++) {
        const struct dnn_arg *a = &d->args[i];
        if (!a->reorder || a->output != outputs)
            continue;
        dnnl_exec_arg_t ra[2] = {{DNNL_ARG_FROM, outputs ? a->own : a->user},
                                 {DNNL_ARG_TO, outputs ? a->user : a->own}};
        dnnl_status_t s = dnnl_primitive_execute(a->reorder, lib.stream, 2, ra);
        if (s != dnnl_success)
            return s;
    }
    return dnnl_success;
}

/* One call: with_reorders = plain tensors in and out, else the convolution alone. */
static dnnl_status_t run(const struct dnn_conv *d, int with_reorders)
{
    dnnl_status_t s = with_reorders ? run_reorders(d, 0) : dnnl_success;
    if (s == dnnl_success)
        s = dnnl_primitive_execute(d->prim, lib.stream, d->n_exec, d->exec);
    if (s == dnnl_success && with_reorders)
        s = run_reorders(d, 1);
    if (s == dnnl_success)
        s = dnnl_stream_wait(lib.stream);
    return s;
}

static void case_onednn(struct ckb_state *st, void *arg)
{
    const struct dnn_case *c = arg;
    const struct ck_conv_params *p = &c->p;
    char msg[256];
    ckb_set_threads(c->threads); /* before the primitives: oneDNN splits work at creation */
    init_once();
    if (lib.error[0]) {
        ckb_skip(st, "unavailable: %s", lib.error);
        return;
    }
    size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    size_t nout = c->pass == CK_PASS_FORWARD         ? ny
                  : c->pass == CK_PASS_BACKWARD_DATA ? nx
                                                     : nw;
    size_t nk = (size_t)p->K;
    struct dnn_tensors t = {ck_aligned_alloc(nx * sizeof(float)),
                            ck_aligned_alloc(nw * sizeof(float)),
                            ck_aligned_alloc(nk * sizeof(float)),
                            ck_aligned_alloc(ny * sizeof(float)),
                            ck_aligned_alloc(nout * sizeof(float)),
                            ck_aligned_alloc(nk * sizeof(float))};
    struct dnn_conv d, dq;
    memset(&d, 0, sizeof d);
    memset(&dq, 0, sizeof dq);
    if (!t.x || !t.w || !t.bias || !t.dy || !t.out || !t.db) {
        ckb_skip(st, "out of memory for the tensors");
        goto cleanup;
    }
    ckb_conv_fill_inputs(p, t.x, t.w, t.bias, t.dy);
    ckt_fill_nan(t.out, nout);
    ckt_fill_nan(t.db, nk);

    int rc = conv_build(&d, p, c->pass, &t, msg, sizeof msg);
    if (rc != 0) {
        if (rc < 0)
            ckb_note_failure();
        ckb_skip(st, "%s: %s", rc > 0 ? "unsupported" : "FAILED", msg);
        goto cleanup;
    }
    double gflop = ck_conv_flops(p) * 1e-9;
    if (strncmp(d.impl, "ref", 3) == 0 && gflop > c->cfg->naive_max_gflop) {
        ckb_skip(st, "too slow for this preset: oneDNN picked %s, %.3g GFLOP a call > %.3g "
                 "(--naive-max-gflop)", d.impl, gflop, c->cfg->naive_max_gflop);
        goto cleanup;
    }

    /* Accuracy on the first q.N images (plain tensors: batch-major prefixes). */
    struct ck_conv_params q = ckb_conv_ref_problem(c->cfg, p);
    const struct dnn_conv *check = &d;
    if (q.N != p->N) {
        if (conv_build(&dq, &q, c->pass, &t, msg, sizeof msg) != 0) {
            ckb_note_failure();
            ckb_skip(st, "FAILED: accuracy problem mb%d: %s", q.N, msg);
            goto cleanup;
        }
        check = &dq;
    }
    dnnl_status_t s = run(check, 1);
    double err = s == dnnl_success
                     ? ckb_conv_max_rel_err(&q, c->pass, t.x, t.w, t.bias, t.dy, t.out, t.db)
                     : INFINITY;
    if (!isfinite(err)) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s", s != dnnl_success ? dnnl_status2str(s)
                                                     : "NaN/Inf or outputs left unwritten");
        goto cleanup;
    }

    /* Warm-up with the reorders: onednn-blocked's inputs are then in oneDNN's layouts. */
    s = run(&d, 1);
    double local = s == dnnl_success ? ckb_peak_local(c->cfg, c->threads) : 0.0;
    while (s == dnnl_success && ckb_keep_running(st)) {
        s = run(&d, !c->blocked);
        ckb_do_not_optimize(t.out);
    }
    if (s != dnnl_success) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: %s", dnnl_status2str(s));
        goto cleanup;
    }

    ckb_counter_rate(st, "GFLOPS", gflop);
    ckb_peak_counters(st, c->cfg, c->threads, gflop, local);
    ckb_counter_value(st, "workspace_bytes",
                      (double)(d.scratch_bytes + (c->blocked ? 0 : d.own_bytes)));
    ckb_counter_value(st, "max_rel_err", err);
    char label[160];
    int used = snprintf(label, sizeof label, "%s, isa %s", d.impl, isa_name());
    if (q.N != p->N && used > 0 && (size_t)used < sizeof label)
        snprintf(label + used, sizeof label - (size_t)used, ", max_rel_err on mb%d", q.N);
    ckb_set_label(st, label);

cleanup:
    conv_free(&dq);
    conv_free(&d);
    ck_aligned_free(t.x);
    ck_aligned_free(t.w);
    ck_aligned_free(t.bias);
    ck_aligned_free(t.dy);
    ck_aligned_free(t.out);
    ck_aligned_free(t.db);
}

void ckb_register_onednn(const struct ckb_config *cfg, const struct ck_conv_params *p,
                         enum ck_conv_pass pass, const char *desc, int one_thread_only)
{
    /* The quick preset (the test suite's smoke run) keeps to the like-for-like onednn. */
    int variants = cfg->preset == CKB_PRESET_QUICK ? 1 : 2;
    for (int blocked = 0; blocked < variants; blocked++) {
        for (int ti = 0; ti < (one_thread_only ? 1 : cfg->n_threads); ti++) {
            struct dnn_case *c = ckb_xalloc(sizeof *c);
            *c = (struct dnn_case){*p, pass, blocked, cfg->threads[ti], cfg, all_cases};
            all_cases = c;
            char name[256];
            snprintf(name, sizeof name, "conv/%s/%s/%s/threads:%d", ckb_conv_pass_tag(pass),
                     blocked ? "onednn-blocked" : "onednn", desc, c->threads);
            ckb_case_real_time(ckb_register(name, case_onednn, c));
        }
    }
}

void ckb_onednn_cleanup(void)
{
    while (all_cases) {
        struct dnn_case *next = all_cases->next;
        free(all_cases);
        all_cases = next;
    }
    if (lib.stream)
        dnnl_stream_destroy(lib.stream);
    if (lib.engine)
        dnnl_engine_destroy(lib.engine);
    memset(&lib, 0, sizeof lib);
}
