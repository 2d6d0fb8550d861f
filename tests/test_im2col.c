/* test_im2col.c - im2col/col2im and the "im2col" backend.
 *
 * im2col is checked element by element against its definition; col2im against
 * im2col by adjointness, <im2col(x), y> == <x, col2im(y)>, on integer data so both
 * sides are exact and must be equal; the rows and packed GEMM panels built straight
 * from x against the definition (AVX2 and portable code), col2im over pieces of a plane
 * against the whole plane; the backend against the fp64 oracle in tests/support/ref.c
 * on cases that exercise its internal paths (1x1 skip, several image chunks, one image
 * larger than the chunk bound, groups), 1 vs 2 threads must give identical bits in all
 * three passes, and the workspace stays within its documented bound.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/backend.h"
#include "convkit/cpu.h"
#include "conv_lowering.h"
#include "gemm.h"
#include "im2col.h"
#include "ref.h"

#define CK_MIN_T(a, b) ((a) < (b) ? (a) : (b))

/* N, C, H, W, K, R, S, sh, sw, pt, pl, pb, pr, dh, dw, G */
static const int cases[][16] = {
    {1, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {1, 2, 7, 6, 1, 3, 2, 2, 1, 1, 0, 2, 1, 1, 1, 1},  /* stride, asymmetric padding */
    {1, 3, 9, 8, 1, 3, 3, 3, 2, 2, 1, 0, 2, 2, 1, 1},  /* dilation, sh != sw */
    {1, 4, 6, 6, 2, 2, 3, 1, 2, 0, 3, 1, 0, 1, 3, 2},  /* groups, wide padding */
    {1, 2, 4, 4, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 1},  /* 1x1 strided, padded */
    {1, 1, 3, 3, 1, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},  /* filter larger than input */
    {1, 2, 11, 5, 1, 4, 2, 3, 3, 0, 0, 3, 2, 2, 2, 1}, /* even filter, dilation 2 */
};

static struct ck_conv_params params_of(const int *v)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.N = v[0], p.C = v[1], p.H = v[2], p.W = v[3], p.K = v[4], p.R = v[5], p.S = v[6];
    p.stride_h = v[7], p.stride_w = v[8];
    p.pad_top = v[9], p.pad_left = v[10], p.pad_bottom = v[11], p.pad_right = v[12];
    p.dilation_h = v[13], p.dilation_w = v[14], p.groups = v[15];
    return p;
}

/* Integers in [-4, 4] so every sum below is exact in float and double. */
static void fill_int(float *a, size_t n, uint64_t seed)
{
    ckt_fill_uniform(a, n, seed, -4.0f, 5.0f);
    for (size_t i = 0; i < n; i++)
        a[i] = floorf(a[i]);
}

Test(im2col, matches_definition)
{
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        struct ck_conv_params p = params_of(cases[t]);
        cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "case %zu", t);
        int P, Q;
        ck_conv_output_size(&p, &P, &Q);
        const int Cg = p.C / p.groups;
        const size_t ld = (size_t)P * Q + 3, rows = (size_t)Cg * p.R * p.S;
        float *x = malloc(sizeof(float) * p.C * p.H * p.W), *cols = malloc(sizeof(float) * rows * ld);
        fill_int(x, (size_t)p.C * p.H * p.W, t);
        for (int g = 0; g < p.groups; g++) {
            ckt_fill_nan(cols, rows * ld);
            ck_im2col(&p, x, g, cols, ld);
            for (int c = 0; c < Cg; c++)
                for (int r = 0; r < p.R; r++)
                    for (int s = 0; s < p.S; s++)
                        for (int op = 0; op < P; op++)
                            for (int oq = 0; oq < Q; oq++) {
                                int ih = op * p.stride_h - p.pad_top + r * p.dilation_h;
                                int iw = oq * p.stride_w - p.pad_left + s * p.dilation_w;
                                float want = ih >= 0 && ih < p.H && iw >= 0 && iw < p.W
                                    ? x[((size_t)(g * Cg + c) * p.H + ih) * p.W + iw] : 0.0f;
                                size_t row = ((size_t)c * p.R + r) * p.S + s;
                                cr_assert_eq(cols[row * ld + (size_t)op * Q + oq], want,
                                             "case %zu g%d c%d r%d s%d p%d q%d", t, g, c, r, s,
                                             op, oq);
                            }
            for (size_t row = 0; row < rows; row++) /* the ld padding is not written */
                for (size_t j = (size_t)P * Q; j < ld; j++)
                    cr_assert(isnan(cols[row * ld + j]));
        }
        free(x), free(cols);
    }
}

Test(im2col, col2im_is_the_exact_adjoint)
{
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        struct ck_conv_params p = params_of(cases[t]);
        int P, Q;
        ck_conv_output_size(&p, &P, &Q);
        const int Cg = p.C / p.groups;
        const size_t ld = (size_t)P * Q, rows = (size_t)Cg * p.R * p.S, nx = (size_t)p.C * p.H * p.W;
        float *x = malloc(sizeof(float) * nx), *dx = malloc(sizeof(float) * nx);
        float *cols = malloc(sizeof(float) * rows * ld), *y = malloc(sizeof(float) * rows * ld);
        fill_int(x, nx, 100 + t);
        fill_int(y, rows * ld, 200 + t);
        for (int g = 0; g < p.groups; g++) {
            ck_im2col(&p, x, g, cols, ld);
            ckt_fill_nan(dx, nx);
            ck_col2im(&p, y, ld, g, dx); /* overwrites group g's channels only */
            double lhs = 0.0, rhs = 0.0;
            for (size_t i = 0; i < rows * ld; i++)
                lhs += (double)cols[i] * y[i];
            for (size_t i = (size_t)g * Cg * p.H * p.W; i < (size_t)(g + 1) * Cg * p.H * p.W; i++) {
                cr_assert(!isnan(dx[i]), "case %zu: dx[%zu] not written", t, i);
                rhs += (double)x[i] * dx[i];
            }
            cr_assert_eq(lhs, rhs, "case %zu group %d: <im2col x, y> = %.17g, <x, col2im y> = %.17g",
                         t, g, lhs, rhs);
            for (size_t i = 0; i < nx; i++) /* other groups' channels untouched */
                if (i < (size_t)g * Cg * p.H * p.W || i >= (size_t)(g + 1) * Cg * p.H * p.W)
                    cr_assert(isnan(dx[i]));
        }
        free(x), free(dx), free(cols), free(y);
    }
}

/* ---- rows and packed panels straight from x ----------------------------------------------- */

/* Column matrix element (crs, j) of group g over all images, from the definition. */
static float col_def(const struct ck_conv_params *p, const float *x, int g, size_t crs, size_t j)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const int Cg = p->C / p->groups, RS = p->R * p->S;
    const int c = (int)(crs / RS), r = (int)(crs % RS) / p->S, s = (int)(crs % RS) % p->S;
    const int n = (int)(j / ((size_t)P * Q)), op = (int)(j % ((size_t)P * Q)) / Q;
    const int oq = (int)(j % ((size_t)P * Q)) % Q;
    const int ih = op * p->stride_h - p->pad_top + r * p->dilation_h;
    const int iw = oq * p->stride_w - p->pad_left + s * p->dilation_w;
    if (ih < 0 || ih >= p->H || iw < 0 || iw >= p->W)
        return 0.0f;
    return x[(((size_t)n * p->C + g * Cg + c) * p->H + ih) * p->W + iw];
}

/* Shapes for the packers: the plane cases with 3 images, plus the seed's conv2 (Q = 16:
 * one output row per panel), odd widths (panels straddle rows and images) and a 1-pixel
 * output. */
static const int pack_cases[][16] = {
    {3, 1, 5, 5, 1, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1},
    {3, 2, 7, 6, 1, 3, 2, 2, 1, 1, 0, 2, 1, 1, 1, 1},
    {3, 3, 9, 8, 1, 3, 3, 3, 2, 2, 1, 0, 2, 2, 1, 1},
    {3, 4, 6, 6, 2, 2, 3, 1, 2, 0, 3, 1, 0, 1, 3, 2},
    {3, 1, 3, 3, 1, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, 1},
    {3, 2, 11, 5, 1, 4, 2, 3, 3, 0, 0, 3, 2, 2, 2, 1},
    {2, 5, 16, 16, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    {3, 3, 9, 23, 2, 3, 5, 2, 1, 1, 2, 0, 3, 1, 2, 1},
    {4, 2, 3, 3, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 2},
};

/* Blocks (k0, kc, j0, nc) of op(B) that start and end anywhere, including past the
 * last full panel, clipped to the matrix. */
static void check_packers(const struct ck_conv_params *p, const float *x, const char *what)
{
    enum { NR = CK_GEMM_NR };
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const size_t crs_n = (size_t)(p->C / p->groups) * p->R * p->S;
    const size_t pix_n = (size_t)p->N * P * Q;
    float *bp = ck_aligned_alloc(sizeof(float) * CK_GEMM_KC_MAX * 272);
    float *row = malloc(sizeof(float) * (pix_n + 1));
    for (int g = 0; g < p->groups; g++) {
        struct ck_im2col_src src;
        ck_im2col_src_init(&src, p, x, g);
        /* rows over arbitrary pixel ranges */
        for (size_t crs = 0; crs < crs_n; crs++)
            for (size_t j0 = 0; j0 < pix_n; j0 += 1 + pix_n / 3) {
                const size_t len = pix_n - j0;
                ckt_fill_nan(row, len + 1);
                ck_im2col_row(&src, crs, j0, len, row);
                for (size_t t = 0; t < len; t++)
                    cr_assert_eq(row[t], col_def(p, x, g, crs, j0 + t),
                                 "%s row %zu pixel %zu", what, crs, j0 + t);
                cr_assert(isnan(row[len]), "%s: wrote past the row", what);
            }
        /* forward panels: k = crs, j = pixel */
        const size_t kstep = crs_n > 7 ? 7 : 1, jstep = pix_n > 37 ? 37 : 5;
        for (size_t k0 = 0; k0 < crs_n; k0 += kstep)
            for (size_t j0 = 0; j0 < pix_n; j0 += jstep) {
                const size_t kc = CK_MIN_T(crs_n - k0, 1 + k0 % 9), nc = CK_MIN_T(pix_n - j0, 40);
                const size_t np = (nc + NR - 1) / NR;
                ckt_fill_nan(bp, np * kc * NR);
                ck_im2col_pack_cols(&src, k0, kc, j0, nc, bp);
                for (size_t t = 0; t < np; t++)
                    for (size_t k = 0; k < kc; k++)
                        for (size_t jj = 0; jj < NR; jj++) {
                            const size_t j = t * NR + jj;
                            const float want = j < nc ? col_def(p, x, g, k0 + k, j0 + j) : 0.0f;
                            cr_assert_eq(bp[t * kc * NR + k * NR + jj], want,
                                         "%s pack_cols k0=%zu kc=%zu j0=%zu nc=%zu: (%zu,%zu)",
                                         what, k0, kc, j0, nc, k, j);
                        }
            }
        /* weight-gradient panels: k = pixel, j = crs */
        for (size_t k0 = 0; k0 < pix_n; k0 += jstep)
            for (size_t j0 = 0; j0 < crs_n; j0 += kstep) {
                const size_t kc = CK_MIN_T(pix_n - k0, 1 + k0 % 23), nc = CK_MIN_T(crs_n - j0, 35);
                const size_t np = (nc + NR - 1) / NR;
                ckt_fill_nan(bp, np * kc * NR);
                ck_im2col_pack_cols_t(&src, k0, kc, j0, nc, bp);
                for (size_t t = 0; t < np; t++)
                    for (size_t k = 0; k < kc; k++)
                        for (size_t jj = 0; jj < NR; jj++) {
                            const size_t j = t * NR + jj;
                            const float want = j < nc ? col_def(p, x, g, j0 + j, k0 + k) : 0.0f;
                            cr_assert_eq(bp[t * kc * NR + k * NR + jj], want,
                                         "%s pack_cols_t k0=%zu kc=%zu j0=%zu nc=%zu: (%zu,%zu)",
                                         what, k0, kc, j0, nc, k, j);
                        }
            }
    }
    ck_aligned_free(bp);
    free(row);
}

static void packers_on_all_cases(const char *what)
{
    for (size_t t = 0; t < sizeof pack_cases / sizeof pack_cases[0]; t++) {
        struct ck_conv_params p = params_of(pack_cases[t]);
        cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "case %zu", t);
        const size_t nx = ck_conv_x_numel(&p);
        float *x = malloc(sizeof(float) * nx);
        fill_int(x, nx, 300 + t);
        char name[64];
        snprintf(name, sizeof name, "%s case %zu", what, t);
        check_packers(&p, x, name);
        free(x);
    }
}

/* Every element the packers write equals the column matrix's definition, exactly. */
Test(im2col, packers_match_definition, .timeout = 120)
{
    packers_on_all_cases("native cpu");
}

/* The same with the portable code (Criterion forks per test: the CPU mask starts fresh). */
Test(im2col, packers_match_definition_portable, .timeout = 120)
{
    setenv("CONVKIT_CPU", "generic", 1);
    cr_assert_eq(ck_cpu_features(), 0u);
    packers_on_all_cases("generic cpu");
}

/* col2im over pieces of a plane's pixels adds up to col2im of the whole plane, bit for
 * bit (integer data), and leaves what it does not touch alone. */
static void col2im_ranges(void)
{
    for (size_t t = 0; t < sizeof pack_cases / sizeof pack_cases[0]; t++) {
        struct ck_conv_params p = params_of(pack_cases[t]);
        int P, Q;
        ck_conv_output_size(&p, &P, &Q);
        const size_t PQ = (size_t)P * Q, RS = (size_t)p.R * p.S, HW = (size_t)p.H * p.W;
        float *cols = malloc(sizeof(float) * RS * PQ), *whole = malloc(sizeof(float) * HW);
        float *parts = malloc(sizeof(float) * HW), *piece = malloc(sizeof(float) * RS * PQ);
        fill_int(cols, RS * PQ, 400 + t);
        ck_col2im_plane(&p, cols, PQ, whole);
        for (size_t step = 1; step <= PQ; step += 1 + PQ / 4) {
            memset(parts, 0, sizeof(float) * HW);
            for (size_t j0 = 0; j0 < PQ; j0 += step) {
                const size_t n = CK_MIN_T(step, PQ - j0);
                for (size_t rs = 0; rs < RS; rs++) /* the piece as its own buffer, ld = n */
                    memcpy(piece + rs * n, cols + rs * PQ + j0, sizeof(float) * n);
                ck_col2im_plane_add(&p, piece, n, j0, n, parts);
            }
            cr_assert(memcmp(parts, whole, sizeof(float) * HW) == 0,
                      "case %zu: pieces of %zu pixels differ from the whole plane", t, step);
        }
        free(cols), free(whole), free(parts), free(piece);
    }
}

Test(im2col, col2im_pieces_add_up)
{
    col2im_ranges();
}

Test(im2col, col2im_pieces_add_up_portable)
{
    setenv("CONVKIT_CPU", "generic", 1);
    cr_assert_eq(ck_cpu_features(), 0u);
    col2im_ranges();
}

/* ---- the backend ----------------------------------------------------------------------- */

struct run {
    float *x, *w, *b, *dy, *y, *dx, *dw, *db;
};

static void run_all(const struct ck_conv_params *p, struct run *o, int nan_first)
{
    const struct ck_conv_backend *be = ck_backend_find("im2col");
    cr_assert_not_null(be);
    const size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    if (nan_first) {
        ckt_fill_nan(o->y, ny), ckt_fill_nan(o->dx, nx);
        ckt_fill_nan(o->dw, nw), ckt_fill_nan(o->db, (size_t)p->K);
    }
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        size_t wsz = ck_conv_workspace_size(be, p, (enum ck_conv_pass)pass);
        void *ws = wsz ? ck_aligned_alloc(wsz) : NULL;
        enum ck_status st;
        if (pass == CK_PASS_FORWARD)
            st = ck_conv_forward(be, p, o->x, o->w, o->b, o->y, ws, wsz);
        else if (pass == CK_PASS_BACKWARD_DATA)
            st = ck_conv_backward_data(be, p, o->dy, o->w, o->dx, ws, wsz);
        else
            st = ck_conv_backward_weights(be, p, o->x, o->dy, o->dw, o->db, ws, wsz);
        cr_assert_eq(st, CK_OK, "pass %d: %s", pass, ck_status_str(st));
        if (wsz > 0) /* one byte short is refused before anything runs */
            cr_assert_eq(pass == CK_PASS_FORWARD
                             ? ck_conv_forward(be, p, o->x, o->w, o->b, o->y, ws, wsz - 1)
                         : pass == CK_PASS_BACKWARD_DATA
                             ? ck_conv_backward_data(be, p, o->dy, o->w, o->dx, ws, wsz - 1)
                             : ck_conv_backward_weights(be, p, o->x, o->dy, o->dw, o->db, ws,
                                                        wsz - 1),
                         CK_ERR_WORKSPACE_TOO_SMALL);
        ck_aligned_free(ws);
    }
}

static void alloc_run(const struct ck_conv_params *p, struct run *o, uint64_t seed)
{
    const size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    o->x = malloc(sizeof(float) * nx), o->dx = malloc(sizeof(float) * nx);
    o->w = malloc(sizeof(float) * nw), o->dw = malloc(sizeof(float) * nw);
    o->y = malloc(sizeof(float) * ny), o->dy = malloc(sizeof(float) * ny);
    o->b = malloc(sizeof(float) * p->K), o->db = malloc(sizeof(float) * p->K);
    ckt_fill_uniform(o->x, nx, seed, -1, 1);
    ckt_fill_uniform(o->w, nw, seed + 1, -1, 1);
    ckt_fill_uniform(o->dy, ny, seed + 2, -1, 1);
    ckt_fill_uniform(o->b, (size_t)p->K, seed + 3, -1, 1);
}

static void free_run(struct run *o)
{
    free(o->x), free(o->dx), free(o->w), free(o->dw), free(o->y), free(o->dy), free(o->b);
    free(o->db);
}

static void check_vs_ref(const struct ck_conv_params *p, const struct run *o, const char *what)
{
    const size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    double *ry = malloc(sizeof(double) * ny), *rdx = malloc(sizeof(double) * nx);
    double *rdw = malloc(sizeof(double) * nw), *rdb = malloc(sizeof(double) * p->K);
    ckt_ref_forward(p, o->x, o->w, o->b, ry);
    ckt_ref_backward_data(p, o->dy, o->w, rdx);
    ckt_ref_backward_weights(p, o->x, o->dy, rdw, rdb);
    char rep[512];
    const double tol = 1e-5;
    cr_assert(ckt_max_rel_err(o->y, ry, ny, rep, sizeof rep, tol) <= tol, "%s fwd: %s", what, rep);
    cr_assert(ckt_max_rel_err(o->dx, rdx, nx, rep, sizeof rep, tol) <= tol, "%s bwd-data: %s", what,
              rep);
    cr_assert(ckt_max_rel_err(o->dw, rdw, nw, rep, sizeof rep, tol) <= tol, "%s bwd-w: %s", what,
              rep);
    cr_assert(ckt_max_rel_err(o->db, rdb, (size_t)p->K, rep, sizeof rep, tol) <= tol, "%s db: %s",
              what, rep);
    free(ry), free(rdx), free(rdw), free(rdb);
}

/* N, C, H, W, K, R, S, sh, sw, pt, pl, pb, pr, dh, dw, G - the backend's own paths */
static const int backend_cases[][16] = {
    {3, 8, 5, 7, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},     /* 1x1: no lowering, NCHW views */
    {2, 6, 5, 5, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2},     /* 1x1 with groups */
    {9, 16, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* bwd-data: 1 image a chunk */
    {2, 64, 48, 48, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},  /* one image > 1 MiB of cols */
    {4, 6, 9, 7, 9, 3, 2, 2, 1, 1, 0, 2, 1, 2, 1, 3},     /* groups, stride, dilation */
    {5, 3, 7, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},    /* 7x7 images straddle tiles */
};

Test(im2col_backend, matches_fp64_reference, .timeout = 120)
{
    for (size_t t = 0; t < sizeof backend_cases / sizeof backend_cases[0]; t++) {
        struct ck_conv_params p = params_of(backend_cases[t]);
        cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "case %zu", t);
        cr_assert_eq(ck_backend_supports(ck_backend_find("im2col"), &p, CK_PASS_FORWARD, NULL, 0),
                     CK_OK);
        struct run o;
        alloc_run(&p, &o, 1000 + t);
        run_all(&p, &o, 1);
        char what[32];
        snprintf(what, sizeof what, "case %zu", t);
        check_vs_ref(&p, &o, what);
        free_run(&o);
    }
}

Test(im2col_backend, one_and_two_threads_bit_identical, .timeout = 120)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    const int shapes[][16] = {
        {9, 16, 32, 32, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {8, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {4, 32, 14, 14, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2},
    };
    for (size_t t = 0; t < 3; t++) {
        struct ck_conv_params p = params_of(shapes[t]);
        struct run o1, o2;
        alloc_run(&p, &o1, 7 + t);
        alloc_run(&p, &o2, 7 + t);
        omp_set_num_threads(1);
        run_all(&p, &o1, 1);
        omp_set_num_threads(2);
        run_all(&p, &o2, 1);
        cr_assert(!memcmp(o1.y, o2.y, sizeof(float) * ck_conv_y_numel(&p)), "case %zu fwd", t);
        cr_assert(!memcmp(o1.dx, o2.dx, sizeof(float) * ck_conv_x_numel(&p)), "case %zu bwd-d", t);
        cr_assert(!memcmp(o1.dw, o2.dw, sizeof(float) * ck_conv_w_numel(&p)), "case %zu bwd-w", t);
        cr_assert(!memcmp(o1.db, o2.db, sizeof(float) * p.K), "case %zu db", t);
        check_vs_ref(&p, &o2, "2 threads");
        free_run(&o1), free_run(&o2);
    }
#endif
}

/* The portable kernel (CONVKIT_CPU=generic) gives correct results too. */
Test(im2col_backend, portable_kernel_via_env, .timeout = 120)
{
    /* Criterion runs each test in its own process, so the cached CPU mask starts fresh. */
    setenv("CONVKIT_CPU", "generic", 1);
    cr_assert_eq(ck_cpu_features(), 0u);
    struct ck_conv_params p = params_of(backend_cases[2]);
    struct run o;
    alloc_run(&p, &o, 4242);
    run_all(&p, &o, 1);
    check_vs_ref(&p, &o, "generic cpu");
    free_run(&o);
}

/* The documented workspace bound: forward and backward-weights need only the GEMM's
 * packed blocks (threads x CK_GEMM_WS_PER_THREAD), backward-data adds one column chunk
 * of at most CK_LOWERING_CHUNK_BYTES (or 16 pixels' columns when Cg*R*S > 65536). */
Test(im2col_backend, workspace_within_documented_bound)
{
    /* N, C, H, W, K, R, S, sh, sw, pt, pl, pb, pr, dh, dw, G: big layers (sizes only) */
    const int shapes[][16] = {
        {64, 256, 56, 56, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
        {256, 64, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1},
        {32, 2048, 7, 7, 512, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1},
        {2, 8192, 9, 9, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1}, /* Cg*R*S = 73728 */
        {64, 32, 16, 16, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
    };
    const struct ck_conv_backend *be = ck_backend_find("im2col");
#ifdef _OPENMP
    const size_t T = (size_t)omp_get_max_threads();
#else
    const size_t T = 1;
#endif
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        struct ck_conv_params p = params_of(shapes[t]);
        cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "case %zu", t);
        const size_t crs = (size_t)(p.C / p.groups) * p.R * p.S;
        const size_t gemm = T * CK_GEMM_WS_PER_THREAD;
        size_t chunk = CK_LOWERING_CHUNK_BYTES;
        if (crs * 16 * sizeof(float) > chunk)
            chunk = crs * 16 * sizeof(float);
        const size_t fwd = ck_conv_workspace_size(be, &p, CK_PASS_FORWARD);
        const size_t bwd = ck_conv_workspace_size(be, &p, CK_PASS_BACKWARD_DATA);
        const size_t bww = ck_conv_workspace_size(be, &p, CK_PASS_BACKWARD_WEIGHTS);
        cr_expect_leq(fwd, gemm, "case %zu forward: %zu bytes", t, fwd);
        cr_expect_leq(bww, gemm, "case %zu backward-weights: %zu bytes", t, bww);
        cr_expect_leq(bwd, chunk + 64 + gemm, "case %zu backward-data: %zu bytes", t, bwd);
    }
}
