/* test_conv_backends.c - every registered backend x every corpus shape x all three passes,
 * through the checked entry points, against the fp64 reference (tests/support/ref.h).
 *
 * Backends are taken from the registry (ck_backend_count/get), so a new backend is covered
 * without touching this file. Also: 1 vs 2 OpenMP threads give bit-identical outputs, a
 * too-small workspace is refused, and invalid problems are rejected by every entry point.
 * Outputs are NaN-filled and workspaces 0xFF-filled (NaN) before each call; guards after both
 * catch writes past the end. Nothing here measures time.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/convkit.h"
#include "ref.h"
#include "shapes.h"

/* ---------------------------------------------------------------------------------------
 * Tolerances: max |got - ref| / max |ref| over the tensor (ckt_max_rel_err).
 *  - naive accumulates in double and rounds once to float: error ~ 2^-24 ~ 6e-8, so 1e-5
 *    is loose enough for any corpus shape and tight enough to catch a dropped tap.
 *  - im2col / avx2 accumulate in float over Cg*R*S (forward, backward-data) or N*P*Q
 *    (backward-weights) terms, up to ~500 here; blocked/FMA sums stay within ~1e-5 of the
 *    reference's magnitude, 1e-4 gives a 10x margin. Unknown backends get the same budget
 *    as they are presumably fp32 GEMM/direct kernels.
 *  - Winograd transforms multiply rounding error by the norm of the transform matrices,
 *    which grows quickly with the tile (Lavin & Gray 2016; Barabasz et al. 2020). Measured
 *    worst case over this corpus, all three passes, AVX2 and portable kernels: F(2x2,3x3)
 *    5.6e-7, F(4x4,3x3) 6.2e-6, F(6x6,3x3) 1.0e-5 (points 0,+-1,+-2,+-1/2). Tolerances
 *    1e-5 / 5e-5 / 1e-4 keep a ~10x margin and would still catch a wrong transform entry
 *    (which gives errors of 1e-2 and up); tests/test_winograd.c uses the same values.
 *  - auto forwards each call to the backend ck_auto_choose picks, so it gets that
 *    backend's tolerance, per shape and pass (tolerance_of_call below).
 * ------------------------------------------------------------------------------------- */
static double tolerance_for(const char *name)
{
    static const struct {
        const char *name;
        double tol;
    } table[] = {
        {"naive", 1e-5},    {"im2col", 1e-4},      {"avx2", 1e-4},
        {"winograd-f2", 1e-5}, {"winograd", 5e-5}, {"winograd-f4", 5e-5},
        {"winograd-f6", 1e-4},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0)
            return table[i].tol;
    return 1e-4;
}

/* The tolerance for running `be` on (p, pass): auto is judged as the backend it picks. */
static double tolerance_of_call(const struct ck_conv_backend *be, const struct ck_conv_params *p,
                                enum ck_conv_pass pass)
{
    struct ck_auto_choice c;
    if (strcmp(be->name, "auto") == 0 && ck_auto_choose(p, pass, &c) == CK_OK)
        return tolerance_for(c.backend->name);
    return tolerance_for(be->name);
}

/* Floats after each output/workspace that no backend may touch. */
#define GUARD 16
static const float guard_value = 1234.5f;

/* All buffers of one problem; outputs and workspace carry GUARD trailing elements. */
struct bufs {
    size_t nx, nw, ny, nk, ws_size;
    float *x, *w, *bias, *dy;          /* inputs */
    float *y, *dx, *dw, *db;           /* outputs (+GUARD) */
    float *x0, *w0, *bias0, *dy0;      /* pristine copies of the inputs */
    unsigned char *ws;                 /* ws_size + GUARD*4 bytes, or NULL */
    double *ry, *rdx, *rdw, *rdb;      /* fp64 reference */
};

static float *alloc_f(size_t n)
{
    float *a = malloc((n + GUARD) * sizeof *a);
    cr_assert_not_null(a);
    return a;
}

static double *alloc_d(size_t n)
{
    double *a = malloc(n * sizeof *a);
    cr_assert_not_null(a);
    return a;
}

static void bufs_init(struct bufs *b, const struct ck_conv_params *p, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    b->nx = ck_conv_x_numel(p);
    b->nw = ck_conv_w_numel(p);
    b->ny = ck_conv_y_numel(p);
    b->nk = (size_t)p->K;
    b->x = alloc_f(b->nx), b->x0 = alloc_f(b->nx), b->dx = alloc_f(b->nx);
    b->w = alloc_f(b->nw), b->w0 = alloc_f(b->nw), b->dw = alloc_f(b->nw);
    b->dy = alloc_f(b->ny), b->dy0 = alloc_f(b->ny), b->y = alloc_f(b->ny);
    b->bias = alloc_f(b->nk), b->bias0 = alloc_f(b->nk), b->db = alloc_f(b->nk);
    b->ry = alloc_d(b->ny), b->rdx = alloc_d(b->nx);
    b->rdw = alloc_d(b->nw), b->rdb = alloc_d(b->nk);
    ckt_fill_uniform(b->x, b->nx, seed * 4 + 0, -1.0f, 1.0f);
    ckt_fill_uniform(b->w, b->nw, seed * 4 + 1, -1.0f, 1.0f);
    ckt_fill_uniform(b->bias, b->nk, seed * 4 + 2, -1.0f, 1.0f);
    ckt_fill_uniform(b->dy, b->ny, seed * 4 + 3, -1.0f, 1.0f);
    memcpy(b->x0, b->x, b->nx * sizeof(float));
    memcpy(b->w0, b->w, b->nw * sizeof(float));
    memcpy(b->bias0, b->bias, b->nk * sizeof(float));
    memcpy(b->dy0, b->dy, b->ny * sizeof(float));
}

static void bufs_free(struct bufs *b)
{
    float *f[] = {b->x, b->w, b->bias, b->dy, b->y, b->dx, b->dw, b->db,
                  b->x0, b->w0, b->bias0, b->dy0};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        free(f[i]);
    free(b->ry), free(b->rdx), free(b->rdw), free(b->rdb);
    ck_aligned_free(b->ws);
}

/* NaN-fill an output and set its guard. */
static void prep_out(float *a, size_t n)
{
    ckt_fill_nan(a, n);
    for (size_t i = 0; i < GUARD; i++)
        a[n + i] = guard_value;
}

static int guard_ok(const float *a, size_t n)
{
    for (size_t i = 0; i < GUARD; i++)
        if (memcmp(&a[n + i], &guard_value, sizeof guard_value) != 0)
            return 0;
    return 1;
}

/* (Re)allocate and 0xFF-fill (NaN as floats) the workspace for pass; returns its size. */
static size_t prep_ws(struct bufs *b, const struct ck_conv_backend *be,
                      const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    ck_aligned_free(b->ws);
    b->ws = NULL;
    b->ws_size = ck_conv_workspace_size(be, p, pass);
    if (b->ws_size > 0) {
        b->ws = ck_aligned_alloc(b->ws_size + GUARD * sizeof(float));
        cr_assert_not_null(b->ws, "workspace of %zu bytes", b->ws_size);
        memset(b->ws, 0xFF, b->ws_size + GUARD * sizeof(float));
    }
    return b->ws_size;
}

static int ws_guard_ok(const struct bufs *b)
{
    for (size_t i = 0; b->ws && i < GUARD * sizeof(float); i++)
        if (b->ws[b->ws_size + i] != 0xFF)
            return 0;
    return 1;
}

static int inputs_unchanged(const struct bufs *b)
{
    return memcmp(b->x, b->x0, b->nx * sizeof(float)) == 0 &&
           memcmp(b->w, b->w0, b->nw * sizeof(float)) == 0 &&
           memcmp(b->bias, b->bias0, b->nk * sizeof(float)) == 0 &&
           memcmp(b->dy, b->dy0, b->ny * sizeof(float)) == 0;
}

/* Run one pass of backend be on p with fresh outputs/workspace; returns the status. */
static enum ck_status run_pass(const struct ck_conv_backend *be, const struct ck_conv_params *p,
                               enum ck_conv_pass pass, struct bufs *b, int with_bias)
{
    prep_ws(b, be, p, pass);
    switch (pass) {
    case CK_PASS_FORWARD:
        prep_out(b->y, b->ny);
        return ck_conv_forward(be, p, b->x, b->w, with_bias ? b->bias : NULL, b->y, b->ws,
                               b->ws_size);
    case CK_PASS_BACKWARD_DATA:
        prep_out(b->dx, b->nx);
        return ck_conv_backward_data(be, p, b->dy, b->w, b->dx, b->ws, b->ws_size);
    default:
        prep_out(b->dw, b->nw);
        prep_out(b->db, b->nk);
        return ck_conv_backward_weights(be, p, b->x, b->dy, b->dw, with_bias ? b->db : NULL,
                                        b->ws, b->ws_size);
    }
}

/* ---------------------------------------------------------------------------------------
 * Correctness: one parameterized test per (backend, pass), looping over the corpus.
 * ------------------------------------------------------------------------------------- */
struct backend_pass {
    size_t backend;
    enum ck_conv_pass pass;
};

static void free_params(struct criterion_test_params *crp)
{
    cr_free(crp->params);
}

ParameterizedTestParameters(conv_backends, matches_fp64_reference)
{
    size_t n = ck_backend_count() * CK_PASS_COUNT;
    struct backend_pass *bp = cr_malloc(n * sizeof *bp);
    for (size_t i = 0; i < n; i++) {
        bp[i].backend = i / CK_PASS_COUNT;
        bp[i].pass = (enum ck_conv_pass)(i % CK_PASS_COUNT);
    }
    return cr_make_param_array(struct backend_pass, bp, n, free_params);
}

ParameterizedTest(struct backend_pass *bp, conv_backends, matches_fp64_reference)
{
    const struct ck_conv_backend *be = ck_backend_get(bp->backend);
    cr_assert_not_null(be);
    const enum ck_conv_pass pass = bp->pass;
    const char *pname = ck_conv_pass_name(pass);
    size_t ran = 0, skipped = 0;
    for (size_t i = 0; i < ckt_corpus_count(); i++) {
        const struct ckt_shape *sh = ckt_corpus_get(i);
        const struct ck_conv_params *p = &sh->p;
        char why[256] = "";
        enum ck_status st = ck_backend_supports(be, p, pass, why, sizeof why);
        if (st == CK_ERR_UNSUPPORTED || st == CK_ERR_CPU_FEATURE) {
            cr_expect(strcmp(be->name, "naive") != 0, "naive must support %s %s: %s", pname,
                      sh->name, why);
            cr_expect(why[0] != '\0', "%s %s %s: refused (%s) without a reason", be->name,
                      pname, sh->name, ck_status_str(st));
            skipped++;
            continue;
        }
        cr_assert_eq(st, CK_OK, "%s %s %s: supports() says %s: %s", be->name, pname, sh->name,
                     ck_status_str(st), why);
        const double tol = tolerance_of_call(be, p, pass);
        const int with_bias = i % 2 == 0; /* bias (forward) / db (backward-weights) */
        struct bufs b;
        bufs_init(&b, p, 1000 + i);
        st = run_pass(be, p, pass, &b, with_bias);
        cr_expect_eq(st, CK_OK, "%s %s %s: returned %s", be->name, pname, sh->name,
                     ck_status_str(st));
        char rep[512];
        if (st == CK_OK && pass == CK_PASS_FORWARD) {
            ckt_ref_forward(p, b.x, b.w, with_bias ? b.bias : NULL, b.ry);
            double e = ckt_max_rel_err(b.y, b.ry, b.ny, rep, sizeof rep, tol);
            cr_expect(e <= tol, "%s %s %s (bias %s): y %s", be->name, pname, sh->name,
                      with_bias ? "on" : "off", rep);
            cr_expect(guard_ok(b.y, b.ny), "%s %s %s: wrote past y", be->name, pname, sh->name);
        } else if (st == CK_OK && pass == CK_PASS_BACKWARD_DATA) {
            ckt_ref_backward_data(p, b.dy, b.w, b.rdx);
            double e = ckt_max_rel_err(b.dx, b.rdx, b.nx, rep, sizeof rep, tol);
            cr_expect(e <= tol, "%s %s %s: dx %s", be->name, pname, sh->name, rep);
            cr_expect(guard_ok(b.dx, b.nx), "%s %s %s: wrote past dx", be->name, pname,
                      sh->name);
        } else if (st == CK_OK) {
            ckt_ref_backward_weights(p, b.x, b.dy, b.rdw, with_bias ? b.rdb : NULL);
            double e = ckt_max_rel_err(b.dw, b.rdw, b.nw, rep, sizeof rep, tol);
            cr_expect(e <= tol, "%s %s %s: dw %s", be->name, pname, sh->name, rep);
            cr_expect(guard_ok(b.dw, b.nw), "%s %s %s: wrote past dw", be->name, pname,
                      sh->name);
            if (with_bias) {
                e = ckt_max_rel_err(b.db, b.rdb, b.nk, rep, sizeof rep, tol);
                cr_expect(e <= tol, "%s %s %s: db %s", be->name, pname, sh->name, rep);
                cr_expect(guard_ok(b.db, b.nk), "%s %s %s: wrote past db", be->name, pname,
                          sh->name);
            } else {
                /* db == NULL: the db buffer was never handed out, it must still be NaN */
                cr_expect(isnan(b.db[0]), "%s %s %s: touched db although it was NULL",
                          be->name, pname, sh->name);
            }
        }
        cr_expect(ws_guard_ok(&b), "%s %s %s: wrote past the %zu-byte workspace", be->name,
                  pname, sh->name, b.ws_size);
        cr_expect(inputs_unchanged(&b), "%s %s %s: modified an input", be->name, pname,
                  sh->name);
        bufs_free(&b);
        ran++;
    }
    cr_log_info("%s %s: %zu shapes checked, %zu unsupported (skipped)", be->name, pname, ran,
                skipped);
    if (strcmp(be->name, "naive") == 0)
        cr_expect_eq(ran, ckt_corpus_count(), "naive must run every corpus shape");
}

/* ---------------------------------------------------------------------------------------
 * Threads: 1 vs 2 OpenMP threads must give bit-identical outputs. Exempt: im2col-blas,
 * whose GEMM is OpenBLAS's - it threads itself and does not promise results independent
 * of its thread count (the backend's description says so).
 * ------------------------------------------------------------------------------------- */
#ifdef _OPENMP
static int thread_count_exempt(const struct ck_conv_backend *be)
{
    return strcmp(be->name, "im2col-blas") == 0;
}
#endif

Test(conv_backends, one_and_two_threads_bit_identical)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    static const char *const tags[] = {"mid-c16-k24", "mid-g2-s2-same", "mid-k5",
                                       "seed-conv2-mb2", "dw8-s2"};
    size_t compared = 0;
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *be = ck_backend_get(bi);
        if (thread_count_exempt(be))
            continue;
        for (size_t t = 0; t < sizeof tags / sizeof tags[0]; t++) {
            const struct ckt_shape *sh = ckt_corpus_find(tags[t]);
            cr_assert_not_null(sh, "corpus lost shape %s", tags[t]);
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                if (ck_backend_supports(be, &sh->p, (enum ck_conv_pass)pass, NULL, 0) != CK_OK)
                    continue;
                struct bufs b;
                bufs_init(&b, &sh->p, 77 + t);
                size_t n = pass == CK_PASS_FORWARD ? b.ny
                         : pass == CK_PASS_BACKWARD_DATA ? b.nx : b.nw;
                float *out = pass == CK_PASS_FORWARD ? b.y
                           : pass == CK_PASS_BACKWARD_DATA ? b.dx : b.dw;
                float *one = alloc_f(n), *one_db = alloc_f(b.nk);
                omp_set_num_threads(1);
                cr_assert_eq(run_pass(be, &sh->p, (enum ck_conv_pass)pass, &b, 1), CK_OK);
                memcpy(one, out, n * sizeof *one);
                memcpy(one_db, b.db, b.nk * sizeof *one_db);
                omp_set_num_threads(2);
                cr_assert_eq(run_pass(be, &sh->p, (enum ck_conv_pass)pass, &b, 1), CK_OK);
                const char *pname = ck_conv_pass_name((enum ck_conv_pass)pass);
                cr_expect(memcmp(one, out, n * sizeof *one) == 0,
                          "%s %s %s: 1 and 2 threads differ", be->name, pname, sh->name);
                if (pass == CK_PASS_BACKWARD_WEIGHTS)
                    cr_expect(memcmp(one_db, b.db, b.nk * sizeof *one_db) == 0,
                              "%s %s %s: db differs between 1 and 2 threads", be->name,
                              pname, sh->name);
                free(one), free(one_db);
                bufs_free(&b);
                compared++;
            }
        }
    }
    cr_expect_gt(compared, 0);
    cr_log_info("%zu (backend, shape, pass) runs compared at 1 vs 2 threads", compared);
#endif
}

/* ---------------------------------------------------------------------------------------
 * Workspace protocol and argument validation through the checked entry points.
 * ------------------------------------------------------------------------------------- */

/* Call pass with the given workspace; outputs are prepared fresh. */
static enum ck_status call_with_ws(const struct ck_conv_backend *be,
                                   const struct ck_conv_params *p, enum ck_conv_pass pass,
                                   struct bufs *b, void *ws, size_t ws_size)
{
    prep_out(b->y, b->ny), prep_out(b->dx, b->nx), prep_out(b->dw, b->nw);
    switch (pass) {
    case CK_PASS_FORWARD:
        return ck_conv_forward(be, p, b->x, b->w, b->bias, b->y, ws, ws_size);
    case CK_PASS_BACKWARD_DATA:
        return ck_conv_backward_data(be, p, b->dy, b->w, b->dx, ws, ws_size);
    default:
        return ck_conv_backward_weights(be, p, b->x, b->dy, b->dw, b->db, ws, ws_size);
    }
}

Test(conv_backends, too_small_workspace_is_refused)
{
    size_t refused = 0;
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *be = ck_backend_get(bi);
        for (size_t i = 0; i < ckt_corpus_count(); i++) {
            const struct ckt_shape *sh = ckt_corpus_get(i);
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                enum ck_conv_pass ps = (enum ck_conv_pass)pass;
                if (ck_backend_supports(be, &sh->p, ps, NULL, 0) != CK_OK)
                    continue;
                size_t need = ck_conv_workspace_size(be, &sh->p, ps);
                if (need == 0)
                    continue;
                struct bufs b;
                bufs_init(&b, &sh->p, 5);
                void *ws = ck_aligned_alloc(need);
                cr_assert_not_null(ws);
                const char *pname = ck_conv_pass_name(ps);
                cr_expect_eq(call_with_ws(be, &sh->p, ps, &b, ws, need - 1),
                             CK_ERR_WORKSPACE_TOO_SMALL, "%s %s %s: %zu of %zu bytes accepted",
                             be->name, pname, sh->name, need - 1, need);
                cr_expect_eq(call_with_ws(be, &sh->p, ps, &b, NULL, need),
                             CK_ERR_WORKSPACE_TOO_SMALL, "%s %s %s: NULL workspace accepted",
                             be->name, pname, sh->name);
                cr_expect_eq(call_with_ws(be, &sh->p, ps, &b, NULL, 0),
                             CK_ERR_WORKSPACE_TOO_SMALL, "%s %s %s: no workspace accepted",
                             be->name, pname, sh->name);
                cr_expect(isnan(b.y[0]) && isnan(b.dx[0]) && isnan(b.dw[0]),
                          "%s %s %s: wrote outputs although it refused", be->name, pname,
                          sh->name);
                ck_aligned_free(ws);
                bufs_free(&b);
                refused++;
            }
        }
    }
    /* Only meaningful once a backend needs workspace (naive needs none). */
    cr_log_info("too-small workspace checked on %zu (backend, shape, pass) cases", refused);
}

/* Every entry point must give CK_ERR_INVALID_ARGUMENT for a broken problem, whatever
 * the backend: validation happens before the backend or the CPU is consulted. */
Test(conv_backends, invalid_problems_are_rejected_by_every_entry_point)
{
    struct ck_conv_params good;
    ck_conv_params_init(&good);
    good.N = 1, good.C = 4, good.H = good.W = 6, good.K = 4, good.R = good.S = 3;
    struct ck_conv_params bad[7];
    const char *what[7] = {"stride_h 0", "dilation_w 0", "groups 3 with C=4",
                           "negative pad", "filter larger than input", "N 0", "K 0"};
    for (int i = 0; i < 7; i++)
        bad[i] = good;
    bad[0].stride_h = 0;
    bad[1].dilation_w = 0;
    bad[2].groups = 3;
    bad[3].pad_left = -1;
    bad[4].R = 7;
    bad[5].N = 0;
    bad[6].K = 0;
    float buf[4096] = {0}; /* big enough for any output of `good`; never read if rejected */
    float *a = buf, *o = buf + 2048;
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *be = ck_backend_get(bi);
        for (int i = 0; i < 7; i++) {
            const struct ck_conv_params *p = &bad[i];
            char why[256] = "";
            cr_expect_eq(ck_backend_supports(be, p, CK_PASS_FORWARD, why, sizeof why),
                         CK_ERR_INVALID_ARGUMENT, "%s: supports(%s)", be->name, what[i]);
            cr_expect(why[0] != '\0', "%s: no reason for %s", be->name, what[i]);
            cr_expect_eq(ck_conv_workspace_size(be, p, CK_PASS_FORWARD), (size_t)0);
            cr_expect_eq(ck_conv_forward(be, p, a, a, NULL, o, NULL, 0),
                         CK_ERR_INVALID_ARGUMENT, "%s forward: %s", be->name, what[i]);
            cr_expect_eq(ck_conv_backward_data(be, p, a, a, o, NULL, 0),
                         CK_ERR_INVALID_ARGUMENT, "%s backward-data: %s", be->name, what[i]);
            cr_expect_eq(ck_conv_backward_weights(be, p, a, a, o, NULL, NULL, 0),
                         CK_ERR_INVALID_ARGUMENT, "%s backward-weights: %s", be->name, what[i]);
        }
        /* NULL problem, unknown pass */
        cr_expect_eq(ck_conv_forward(be, NULL, a, a, NULL, o, NULL, 0), CK_ERR_INVALID_ARGUMENT);
        cr_expect_eq(ck_conv_backward_data(be, NULL, a, a, o, NULL, 0), CK_ERR_INVALID_ARGUMENT);
        cr_expect_eq(ck_conv_backward_weights(be, NULL, a, a, o, NULL, NULL, 0),
                     CK_ERR_INVALID_ARGUMENT);
        cr_expect_eq(ck_backend_supports(be, &good, CK_PASS_COUNT, NULL, 0),
                     CK_ERR_INVALID_ARGUMENT);
        /* NULL tensors on a valid problem (only where the backend would run it) */
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            enum ck_conv_pass ps = (enum ck_conv_pass)pass;
            if (ck_backend_supports(be, &good, ps, NULL, 0) != CK_OK)
                continue;
            size_t need = ck_conv_workspace_size(be, &good, ps);
            void *ws = need ? ck_aligned_alloc(need) : NULL;
            enum ck_status s1, s2, s3;
            if (ps == CK_PASS_FORWARD) {
                s1 = ck_conv_forward(be, &good, NULL, a, NULL, o, ws, need);
                s2 = ck_conv_forward(be, &good, a, NULL, NULL, o, ws, need);
                s3 = ck_conv_forward(be, &good, a, a, NULL, NULL, ws, need);
            } else if (ps == CK_PASS_BACKWARD_DATA) {
                s1 = ck_conv_backward_data(be, &good, NULL, a, o, ws, need);
                s2 = ck_conv_backward_data(be, &good, a, NULL, o, ws, need);
                s3 = ck_conv_backward_data(be, &good, a, a, NULL, ws, need);
            } else {
                s1 = ck_conv_backward_weights(be, &good, NULL, a, o, NULL, ws, need);
                s2 = ck_conv_backward_weights(be, &good, a, NULL, o, NULL, ws, need);
                s3 = ck_conv_backward_weights(be, &good, a, a, NULL, NULL, ws, need);
            }
            const char *pname = ck_conv_pass_name(ps);
            cr_expect_eq(s1, CK_ERR_INVALID_ARGUMENT, "%s %s: NULL first input", be->name, pname);
            cr_expect_eq(s2, CK_ERR_INVALID_ARGUMENT, "%s %s: NULL second input", be->name,
                         pname);
            cr_expect_eq(s3, CK_ERR_INVALID_ARGUMENT, "%s %s: NULL output", be->name, pname);
            ck_aligned_free(ws);
        }
    }
    cr_expect_eq(ck_conv_forward(NULL, &good, a, a, NULL, o, NULL, 0), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_conv_backward_data(NULL, &good, a, a, o, NULL, 0), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_conv_backward_weights(NULL, &good, a, a, o, NULL, NULL, 0),
                 CK_ERR_INVALID_ARGUMENT);
}

/* The corpus itself: every row resolved and valid, names unique and non-empty. */
Test(conv_backends, corpus_is_valid)
{
    cr_assert_gt(ckt_corpus_count(), 50);
    cr_expect_null(ckt_corpus_get(ckt_corpus_count()));
    for (size_t i = 0; i < ckt_corpus_count(); i++) {
        const struct ckt_shape *sh = ckt_corpus_get(i);
        char msg[256] = "";
        cr_expect_eq(ck_conv_check(&sh->p, msg, sizeof msg), CK_OK, "%s: %s", sh->name, msg);
        cr_expect(strstr(sh->name, "_n") != NULL, "%s has no tag", sh->name);
        for (size_t j = 0; j < i; j++)
            cr_expect_str_neq(sh->name, ckt_corpus_get(j)->name);
    }
}
