/* test_winograd.c - the Winograd F(m x m, 3x3) backends beyond the shared corpus test
 * (matrices and kernels: tests/test_winograd_kernels.c).
 *
 * Each variant's error on real layers against the fp64 reference, with F(6x6,3x3)'s
 * error required to be honestly larger; 1/2/3 threads bit-identical (also for a batch
 * packed through the per-thread ring of image slots); the filter-transform cache never
 * stale; refusals and the F4/F2 choice explained. No timing.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/convkit.h"
#include "ref.h"
#include "winograd.h"

/* Documented tolerances (max |err| / max |ref|), also in tests/test_conv_backends.c. */
static const double tol_of[CK_WINO_VARIANT_COUNT] = {1e-5, 5e-5, 1e-4};
static const char *const backend_of[CK_WINO_VARIANT_COUNT] = {"winograd-f2", "winograd-f4",
                                                              "winograd-f6"};

/* ---------------------------------------------------------------------------------------
 * Whole passes: error on real layers, thread counts, the cache, refusals.
 * ------------------------------------------------------------------------------------- */

struct prob {
    struct ck_conv_params p;
    size_t nx, nw, ny;
    float *x, *w, *b, *dy, *out, *db;
    double *ref, *rdb;
    void *ws;
};

static void prob_init(struct prob *q, const char *desc, uint64_t seed)
{
    memset(q, 0, sizeof *q);
    char msg[128];
    cr_assert_eq(ck_conv_problem_parse(desc, &q->p, msg, sizeof msg), CK_OK, "%s: %s", desc, msg);
    q->nx = ck_conv_x_numel(&q->p), q->nw = ck_conv_w_numel(&q->p), q->ny = ck_conv_y_numel(&q->p);
    const size_t big = q->nx + q->nw + q->ny;
    q->x = malloc(q->nx * 4), q->w = malloc(q->nw * 4), q->dy = malloc(q->ny * 4);
    q->b = malloc(q->p.K * 4), q->db = malloc(q->p.K * 4), q->out = malloc(big * 4);
    q->ref = malloc(big * 8), q->rdb = malloc(q->p.K * 8);
    cr_assert(q->x && q->w && q->dy && q->b && q->db && q->out && q->ref && q->rdb);
    ckt_fill_uniform(q->x, q->nx, seed, -1, 1);
    ckt_fill_uniform(q->w, q->nw, seed + 1, -1, 1);
    ckt_fill_uniform(q->dy, q->ny, seed + 2, -1, 1);
    ckt_fill_uniform(q->b, q->p.K, seed + 3, -1, 1);
}

static void prob_free(struct prob *q)
{
    free(q->x), free(q->w), free(q->dy), free(q->b), free(q->db), free(q->out);
    free(q->ref), free(q->rdb);
    ck_aligned_free(q->ws);
}

/* Run pass with a fresh workspace; returns the output element count. */
static size_t run(struct prob *q, const struct ck_conv_backend *be, enum ck_conv_pass pass)
{
    ck_aligned_free(q->ws);
    const size_t wsz = ck_conv_workspace_size(be, &q->p, pass);
    q->ws = ck_aligned_alloc(wsz);
    cr_assert(q->ws || wsz == 0);
    enum ck_status st;
    size_t n;
    if (pass == CK_PASS_FORWARD) {
        n = q->ny, ckt_fill_nan(q->out, n);
        st = ck_conv_forward(be, &q->p, q->x, q->w, q->b, q->out, q->ws, wsz);
    } else if (pass == CK_PASS_BACKWARD_DATA) {
        n = q->nx, ckt_fill_nan(q->out, n);
        st = ck_conv_backward_data(be, &q->p, q->dy, q->w, q->out, q->ws, wsz);
    } else {
        n = q->nw, ckt_fill_nan(q->out, n), ckt_fill_nan(q->db, q->p.K);
        st = ck_conv_backward_weights(be, &q->p, q->x, q->dy, q->out, q->db, q->ws, wsz);
    }
    cr_assert_eq(st, CK_OK, "%s %s: %s", be->name, ck_conv_pass_name(pass), ck_status_str(st));
    return n;
}

static double pass_error(struct prob *q, const struct ck_conv_backend *be, enum ck_conv_pass pass)
{
    const size_t n = run(q, be, pass);
    if (pass == CK_PASS_FORWARD)
        ckt_ref_forward(&q->p, q->x, q->w, q->b, q->ref);
    else if (pass == CK_PASS_BACKWARD_DATA)
        ckt_ref_backward_data(&q->p, q->dy, q->w, q->ref);
    else
        ckt_ref_backward_weights(&q->p, q->x, q->dy, q->ref, q->rdb);
    double e = ckt_max_rel_err(q->out, q->ref, n, NULL, 0, INFINITY);
    if (pass == CK_PASS_BACKWARD_WEIGHTS)
        e = fmax(e, ckt_max_rel_err(q->db, q->rdb, (size_t)q->p.K, NULL, 0, INFINITY));
    return e;
}

/* Real layers (small batch): the seed's conv2, a VGG-style 64-channel layer, a 3-channel
 * first layer, an odd-sized grouped layer with asymmetric padding. */
static const char *const layers[] = {"mb2ic32ih16oc64kh3ph1", "mb1ic64ih14oc64kh3ph1",
                                     "mb2ic3ih20oc16kh3ph1", "g2mb2ic24ih11iw13oc20kh3ph1oh12"};

Test(winograd, error_per_variant_on_real_layers_within_documented_tolerance)
{
    double worst[CK_WINO_VARIANT_COUNT] = {0};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        cr_assert_not_null(be, "%s is not registered", backend_of[v]);
        for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
            struct prob q;
            prob_init(&q, layers[li], 40 + li);
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                const double e = pass_error(&q, be, (enum ck_conv_pass)pass);
                cr_expect(e <= tol_of[v], "%s %s %s: max_rel_err %.3g > %.0e", be->name,
                          ck_conv_pass_name((enum ck_conv_pass)pass), layers[li], e, tol_of[v]);
                worst[v] = fmax(worst[v], e);
            }
            prob_free(&q);
        }
        cr_log_info("%s: worst max_rel_err %.2e over %zu layers x 3 passes (tolerance %.0e)",
                    be->name, worst[v], sizeof layers / sizeof layers[0], tol_of[v]);
    }
}

/* Root-mean-square error relative to the reference's RMS: steadier than the max. */
static double rms_rel_err(const float *got, const double *ref, size_t n)
{
    double se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        se += (got[i] - ref[i]) * (got[i] - ref[i]);
        sr += ref[i] * ref[i];
    }
    return sqrt(se / fmax(sr, 1e-300));
}

/* F(6x6,3x3) trades accuracy for speed: its forward and backward-data errors on layers
 * with many channels must come out larger than F(4x4,3x3)'s, and those larger than
 * F(2x2,3x3)'s - if not, the points or the measurement are not what we document. */
Test(winograd, f6_error_is_honestly_larger_than_f4_and_f2)
{
    double e[CK_WINO_VARIANT_COUNT] = {0}, mx[CK_WINO_VARIANT_COUNT] = {0};
    const char *descs[] = {"mb2ic64ih24oc32kh3ph1", "mb1ic128ih12oc16kh3ph1",
                           "mb2ic32ih16oc64kh3ph1"};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
            struct prob q;
            prob_init(&q, descs[i], 7 + i);
            for (int pass = 0; pass < 2; pass++) {
                mx[v] = fmax(mx[v], pass_error(&q, be, (enum ck_conv_pass)pass));
                e[v] += rms_rel_err(q.out, q.ref, pass == 0 ? q.ny : q.nx);
            }
            prob_free(&q);
        }
    }
    cr_log_info("forward + backward-data on 3 layers: summed rms rel err F2 %.2e, F4 %.2e, "
                "F6 %.2e; max rel err F2 %.2e, F4 %.2e, F6 %.2e",
                e[0], e[1], e[2], mx[0], mx[1], mx[2]);
    cr_expect(e[CK_WINO_F6] > 1.2 * e[CK_WINO_F4], "F6 %.3g not above F4 %.3g", e[2], e[1]);
    cr_expect(e[CK_WINO_F4] > 2.0 * e[CK_WINO_F2], "F4 %.3g not above F2 %.3g", e[1], e[0]);
    const struct ck_conv_backend *f6 = ck_backend_find("winograd-f6");
    cr_expect(strstr(f6->description, "LESS accurate") != NULL,
              "winograd-f6 must say it is less accurate: \"%s\"", f6->description);
}

Test(winograd, one_two_and_three_threads_bit_identical)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    /* odd sizes, groups, partial tiles, a tile count that splits unevenly */
    const char *desc = "g2mb3ic18ih13iw10oc22kh3ph1oh13ow11";
    const int saved = omp_get_max_threads();
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct prob q;
            prob_init(&q, desc, 11);
            float *first = NULL, *first_db = NULL;
            for (int t = 1; t <= 3; t++) {
                omp_set_num_threads(t);
                const size_t n = run(&q, be, (enum ck_conv_pass)pass);
                if (!first) {
                    first = malloc(n * 4), first_db = malloc(q.p.K * 4);
                    memcpy(first, q.out, n * 4), memcpy(first_db, q.db, q.p.K * 4);
                    continue;
                }
                cr_expect(memcmp(first, q.out, n * 4) == 0, "%s %s: 1 and %d threads differ",
                          be->name, ck_conv_pass_name((enum ck_conv_pass)pass), t);
                if (pass == CK_PASS_BACKWARD_WEIGHTS)
                    cr_expect(memcmp(first_db, q.db, q.p.K * 4) == 0, "%s db: 1 vs %d threads",
                              be->name, t);
            }
            free(first), free(first_db);
            prob_free(&q);
        }
    }
    omp_set_num_threads(saved);
#endif
}

/* The weights pass sums its tiles in blocks of whole tile rows (4 MiB of transformed
 * tiles per block, src/conv_winograd.c): on this layer every variant needs 2-3 blocks,
 * and a block starts in the middle of an image (e.g. F(4): 99 tile rows per group, 58
 * per block). The result must still match the fp64 reference, and 1 and 2 threads agree. */
Test(winograd, weights_pass_blocks_split_images_and_stay_accurate)
{
    const char *desc = "g2mb3ic10ih130iw122oc14kh3ph1";
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        struct prob q;
        prob_init(&q, desc, 29);
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
#endif
        const double e = pass_error(&q, be, CK_PASS_BACKWARD_WEIGHTS);
        cr_expect(e <= tol_of[v], "%s: max_rel_err %.3g > %.0e", be->name, e, tol_of[v]);
#ifdef _OPENMP
        float *one = malloc(q.nw * 4), *one_db = malloc(q.p.K * 4);
        cr_assert(one && one_db);
        memcpy(one, q.out, q.nw * 4), memcpy(one_db, q.db, q.p.K * 4);
        omp_set_num_threads(2);
        run(&q, be, CK_PASS_BACKWARD_WEIGHTS);
        cr_expect(memcmp(one, q.out, q.nw * 4) == 0, "%s: 1 and 2 threads differ", be->name);
        cr_expect(memcmp(one_db, q.db, q.p.K * 4) == 0, "%s db: 1 and 2 threads differ",
                  be->name);
        free(one), free(one_db);
        omp_set_num_threads(saved);
#endif
        prob_free(&q);
    }
}

/* Forward and backward-data pack a batch whose packed copy is above 8 MiB
 * (4 x 258 x 258 x 8 floats here) through a ring of a few image slots per thread when the
 * thread count divides N (1 and 2 threads: 4096 tiles an image, so a ring of 2 that wraps)
 * and into one slot per image otherwise (3 threads). Accurate at 1 thread, and the same
 * bits at 1, 2 and 3 threads. */
Test(winograd, large_batch_packs_through_a_ring_of_image_slots)
{
    const struct ck_conv_backend *be = ck_backend_find("winograd-f4");
    for (int pi = 0; pi < 2; pi++) {
        const enum ck_conv_pass pass = (enum ck_conv_pass)pi;
        struct prob q;
        prob_init(&q, "mb4ic8ih256oc8kh3ph1", 31 + pi);
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
#endif
        const double e = pass_error(&q, be, pass);
        cr_expect(e <= tol_of[CK_WINO_F4], "%s: max_rel_err %.3g", ck_conv_pass_name(pass), e);
#ifdef _OPENMP
        const size_t n = pass == CK_PASS_FORWARD ? q.ny : q.nx;
        float *one = malloc(n * 4);
        cr_assert(one);
        memcpy(one, q.out, n * 4);
        for (int t = 2; t <= 3; t++) {
            omp_set_num_threads(t);
            run(&q, be, pass);
            cr_expect(memcmp(one, q.out, n * 4) == 0, "%s: 1 and %d threads differ",
                      ck_conv_pass_name(pass), t);
        }
        free(one);
        omp_set_num_threads(saved);
#endif
        prob_free(&q);
    }
}

/* The transformed filters are cached in the workspace. Reusing the workspace must never
 * give results for old weights: not when the weights change in place (same pointer), not
 * when something else overwrote the cached transform, not across passes or variants. */
Test(winograd, filter_cache_is_never_stale)
{
    struct prob q;
    prob_init(&q, "mb1ic16ih10oc24kh3ph1", 21);
    const struct ck_conv_backend *f4 = ck_backend_find("winograd-f4");
    const struct ck_conv_backend *f2 = ck_backend_find("winograd-f2");
    size_t wsz = ck_conv_workspace_size(f4, &q.p, CK_PASS_FORWARD);
    if (ck_conv_workspace_size(f4, &q.p, CK_PASS_BACKWARD_DATA) > wsz)
        wsz = ck_conv_workspace_size(f4, &q.p, CK_PASS_BACKWARD_DATA);
    if (ck_conv_workspace_size(f2, &q.p, CK_PASS_FORWARD) > wsz)
        wsz = ck_conv_workspace_size(f2, &q.p, CK_PASS_FORWARD);
    unsigned char *ws = ck_aligned_alloc(wsz);
    float *y = malloc(q.nx * 4 + q.ny * 4);
    cr_assert(ws && y);
    memset(ws, 0, wsz);
    for (int round = 0; round < 5; round++) {
        const struct ck_conv_backend *be = round == 3 ? f2 : f4;
        if (round == 1)
            q.w[q.nw / 2] += 0.25f; /* same pointer, new weights */
        if (round == 2)             /* clobber the cached transform, keep header + copy */
            memset(ws + 128 + (q.nw * 4 + 63) / 64 * 64, 0x3c, 4096);
        cr_assert_eq(ck_conv_forward(be, &q.p, q.x, q.w, q.b, y, ws, wsz), CK_OK);
        ckt_ref_forward(&q.p, q.x, q.w, q.b, q.ref);
        char rep[256];
        const double e = ckt_max_rel_err(y, q.ref, q.ny, rep, sizeof rep, 5e-5);
        cr_expect(e <= 5e-5, "round %d (%s): %s", round, be->name, rep);
        /* backward-data with the same workspace must not take the forward transform */
        cr_assert_eq(ck_conv_backward_data(f4, &q.p, q.dy, q.w, y, ws, wsz), CK_OK);
        ckt_ref_backward_data(&q.p, q.dy, q.w, q.ref);
        const double e2 = ckt_max_rel_err(y, q.ref, q.nx, rep, sizeof rep, 5e-5);
        cr_expect(e2 <= 5e-5, "round %d backward-data after forward: %s", round, rep);
    }
    free(y);
    ck_aligned_free(ws);
    prob_free(&q);
}

Test(winograd, refusals_name_the_reason_and_auto_says_which_tile)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.N = 1, p.C = 4, p.H = p.W = 12, p.K = 4, p.R = p.S = 3;
    struct {
        int R, S, sh, dh;
        const char *word;
    } bad[] = {{5, 5, 1, 1, "3x3"}, {3, 1, 1, 1, "3x3"}, {3, 3, 2, 1, "stride"},
               {3, 3, 1, 2, "dilation"}};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT + 1; v++) {
        const struct ck_conv_backend *be =
            ck_backend_find(v < CK_WINO_VARIANT_COUNT ? backend_of[v] : "winograd");
        cr_assert_not_null(be);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct ck_conv_params q = p;
            q.R = bad[i].R, q.S = bad[i].S, q.stride_h = q.stride_w = bad[i].sh;
            q.dilation_h = q.dilation_w = bad[i].dh;
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                char why[200] = "";
                const enum ck_status st =
                    ck_backend_supports(be, &q, (enum ck_conv_pass)pass, why, sizeof why);
                cr_expect_eq(st, CK_ERR_UNSUPPORTED, "%s accepted case %zu", be->name, i);
                cr_expect(strstr(why, bad[i].word) != NULL, "%s: reason \"%s\" lacks \"%s\"",
                          be->name, why, bad[i].word);
            }
        }
    }
    /* auto: F(4x4,3x3) for a real layer, F(2x2,3x3) when 4x4 tiles would mostly be
     * padding (2x2 output) - and the reason says so */
    const struct ck_conv_backend *wa = ck_backend_find("winograd");
    char why[200] = "";
    p.C = 32, p.K = 64, p.H = p.W = 16, p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
    cr_assert_eq(ck_backend_supports(wa, &p, CK_PASS_FORWARD, why, sizeof why), CK_OK);
    cr_expect(strstr(why, "picks F(4x4,3x3)") != NULL, "seed conv2: \"%s\"", why);
    p.H = p.W = 2;
    cr_assert_eq(ck_backend_supports(wa, &p, CK_PASS_FORWARD, why, sizeof why), CK_OK);
    cr_expect(strstr(why, "picks F(2x2,3x3)") != NULL, "2x2 output: \"%s\"", why);
}
