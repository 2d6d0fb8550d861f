/* test_gemm.c - convkit's SGEMM (src/gemm.c) against a double-precision triple loop.
 *
 * Every (m, n, k) in 1..33 (the full cube) through the packed path with the AVX2 and the
 * portable micro-kernel and through the small path; all four transposes, alpha/beta
 * (beta = 0 with NaN-filled C), padded leading dimensions whose padding must stay
 * untouched, blocked views, large problems, workspace rules, bit-identical results
 * for 1 and 2 threads, a write-once C large enough for non-temporal stores, a computed
 * B (a packer instead of a matrix) and row_add, the dot-product path (long K, small C).
 * Expected values come from the fp64 loop, never from ck_sgemm.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/backend.h"
#include "gemm.h"

#define SENTINEL 12345.0f

/* One problem with its own buffers: A, B, C stored row-major with padded leading
 * dimensions (stored shapes: A M x K or K x M if transposed, and so on). */
struct prob {
    int M, N, K, ta, tb, lda, ldb, ldc;
    float alpha, beta;
    float *a, *b, *c, *c0;
    double *ref;
};

static void prob_init(struct prob *q, int M, int N, int K, int ta, int tb, int pad,
                      float alpha, float beta, uint64_t seed)
{
    memset(q, 0, sizeof *q);
    q->M = M, q->N = N, q->K = K, q->ta = ta, q->tb = tb, q->alpha = alpha, q->beta = beta;
    const int a_rows = ta ? K : M, a_cols = ta ? M : K;
    const int b_rows = tb ? N : K, b_cols = tb ? K : N;
    q->lda = a_cols + pad, q->ldb = b_cols + pad, q->ldc = N + pad;
    q->a = malloc(sizeof(float) * ((size_t)a_rows * q->lda + 1));
    q->b = malloc(sizeof(float) * ((size_t)b_rows * q->ldb + 1));
    q->c = malloc(sizeof(float) * ((size_t)M * q->ldc + 1));
    q->c0 = malloc(sizeof(float) * ((size_t)M * q->ldc + 1));
    q->ref = malloc(sizeof(double) * ((size_t)M * N + 1));
    ckt_fill_uniform(q->a, (size_t)a_rows * q->lda, seed, -1.0f, 1.0f);
    ckt_fill_uniform(q->b, (size_t)b_rows * q->ldb, seed + 1, -1.0f, 1.0f);
    ckt_fill_uniform(q->c0, (size_t)M * q->ldc, seed + 2, -1.0f, 1.0f);
    for (int i = 0; i < M; i++)
        for (int j = N; j < q->ldc; j++)
            q->c0[(size_t)i * q->ldc + j] = SENTINEL; /* padding must survive */
    if (beta == 0.0f)
        for (int i = 0; i < M; i++)
            ckt_fill_nan(q->c0 + (size_t)i * q->ldc, (size_t)N);
    /* fp64 reference: alpha * op(A) op(B) + beta * C0 */
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0.0;
            for (int k = 0; k < K; k++) {
                double av = ta ? q->a[(size_t)k * q->lda + i] : q->a[(size_t)i * q->lda + k];
                double bv = tb ? q->b[(size_t)j * q->ldb + k] : q->b[(size_t)k * q->ldb + j];
                acc += av * bv;
            }
            double r = (double)alpha * acc;
            if (beta != 0.0f)
                r += (double)beta * q->c0[(size_t)i * q->ldc + j];
            q->ref[(size_t)i * N + j] = r;
        }
}

static void prob_free(struct prob *q)
{
    free(q->a), free(q->b), free(q->c), free(q->c0), free(q->ref);
}

static enum ck_status prob_run(struct prob *q, enum ck_gemm_kernel kern, enum ck_gemm_path path)
{
    memcpy(q->c, q->c0, sizeof(float) * (size_t)q->M * q->ldc);
    struct ck_gemm_args g = {
        .M = q->M, .N = q->N, .K = q->K, .alpha = q->alpha, .beta = q->beta,
        .a = q->a, .la = ck_gemm_layout_rm(q->ta, (size_t)q->lda),
        .b = q->b, .lb = ck_gemm_layout_rm(q->tb, (size_t)q->ldb),
        .c = q->c, .lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q->ldc),
        .kernel = kern, .path = path,
    };
    size_t wsz = ck_sgemm_ex_workspace_size(&g);
    void *ws = wsz ? ck_aligned_alloc(wsz) : NULL;
    enum ck_status st = ck_sgemm_ex(&g, ws, wsz);
    ck_aligned_free(ws);
    return st;
}

/* Compare C (valid part) with the reference and check the padding columns. */
static void prob_check(const struct prob *q, double tol, const char *what)
{
    float *got = malloc(sizeof(float) * ((size_t)q->M * q->N + 1));
    for (int i = 0; i < q->M; i++) {
        memcpy(got + (size_t)i * q->N, q->c + (size_t)i * q->ldc, sizeof(float) * q->N);
        for (int j = q->N; j < q->ldc; j++)
            cr_assert_eq(q->c[(size_t)i * q->ldc + j], SENTINEL,
                         "%s %dx%dx%d: padding column %d of row %d was written", what, q->M,
                         q->N, q->K, j, i);
    }
    char rep[512];
    double e = ckt_max_rel_err(got, q->ref, (size_t)q->M * q->N, rep, sizeof rep, tol);
    free(got);
    cr_assert(e <= tol, "%s M=%d N=%d K=%d ta=%d tb=%d alpha=%g beta=%g: %s", what, q->M, q->N,
              q->K, q->ta, q->tb, q->alpha, q->beta, rep);
}

static int have_avx2_kernel(void)
{
    struct prob q;
    prob_init(&q, 1, 1, 1, 0, 0, 0, 1.0f, 0.0f, 1);
    enum ck_status st = prob_run(&q, CK_GEMM_KERNEL_AVX2, CK_GEMM_PATH_PACKED);
    prob_free(&q);
    return st == CK_OK;
}

/* Every (m, n, k) in 1..33, NN, with ldc/lda/ldb padding 2 and beta = 0 over NaN. */
static void full_cube(enum ck_gemm_kernel kern, enum ck_gemm_path path, const char *what)
{
    for (int m = 1; m <= 33; m++)
        for (int n = 1; n <= 33; n++)
            for (int k = 1; k <= 33; k++) {
                struct prob q;
                prob_init(&q, m, n, k, 0, 0, 2, 1.0f, 0.0f, (uint64_t)(m * 10000 + n * 100 + k));
                cr_assert_eq(prob_run(&q, kern, path), CK_OK);
                prob_check(&q, 1e-5, what);
                prob_free(&q);
            }
}

Test(gemm, cube_1_to_33_packed_avx2, .timeout = 120)
{
    if (!have_avx2_kernel())
        cr_skip_test("CPU or build lacks AVX2/FMA");
    full_cube(CK_GEMM_KERNEL_AVX2, CK_GEMM_PATH_PACKED, "packed/avx2");
}

Test(gemm, cube_1_to_33_packed_portable, .timeout = 120)
{
    full_cube(CK_GEMM_KERNEL_PORTABLE, CK_GEMM_PATH_PACKED, "packed/portable");
}

Test(gemm, cube_1_to_33_small_path, .timeout = 120)
{
    full_cube(CK_GEMM_KERNEL_AUTO, CK_GEMM_PATH_SMALL, "small");
}

/* Each value 1..33 of each dimension, the other two varied, in all four transposes,
 * with several alpha/beta pairs and both kernels, through the automatic path. */
Test(gemm, transposes_alpha_beta_every_size, .timeout = 120)
{
    const float ab[][2] = {{1.0f, 0.0f}, {0.5f, -1.5f}, {-2.0f, 1.0f}, {1.0f, 1.0f}};
    const enum ck_gemm_kernel kerns[] = {CK_GEMM_KERNEL_AUTO, CK_GEMM_KERNEL_PORTABLE};
    for (int v = 1; v <= 33; v++)
        for (int rot = 0; rot < 3; rot++)
            for (int t = 0; t < 4; t++) {
                int d[3] = {v, 1 + (v * 7 + 3) % 33, 1 + (v * 13 + 5) % 33};
                const int m = d[rot], n = d[(rot + 1) % 3], k = d[(rot + 2) % 3];
                const float *albe = ab[(v + t + rot) % 4];
                for (int kk = 0; kk < 2; kk++) {
                    struct prob q;
                    prob_init(&q, m, n, k, t & 1, t >> 1, (v + t) % 4, albe[0], albe[1],
                              (uint64_t)(v * 97 + rot * 7 + t));
                    cr_assert_eq(prob_run(&q, kerns[kk], CK_GEMM_PATH_AUTO), CK_OK);
                    prob_check(&q, 1e-5, kk ? "portable" : "auto");
                    cr_assert_eq(prob_run(&q, kerns[kk], CK_GEMM_PATH_PACKED), CK_OK);
                    prob_check(&q, 1e-5, kk ? "portable packed" : "auto packed");
                    prob_free(&q);
                }
            }
}

/* Sizes crossing every blocking boundary (MC = 144, KC = 320, NC), all transposes;
 * 150x1700x40 untransposed is two short B blocks with the next one prefetched (K <= 64,
 * two MC blocks), 32x5000x27 two NC blocks with all of A packed once. */
Test(gemm, large_all_transposes, .timeout = 120)
{
    const int shapes[][3] = {{300, 517, 1029}, {145, 33, 257}, {7, 1500, 300}, {290, 20, 600},
                             {150, 1700, 40}, {32, 5000, 27}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            struct prob q;
            prob_init(&q, shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, 3,
                      t == 1 ? 0.75f : 1.0f, t == 2 ? 0.5f : 0.0f, (uint64_t)(s * 4 + t));
            cr_assert_eq(prob_run(&q, CK_GEMM_KERNEL_AUTO, CK_GEMM_PATH_AUTO), CK_OK);
            prob_check(&q, 2e-5, "large");
            if (s == 0 && t == 0) {
                cr_assert_eq(prob_run(&q, CK_GEMM_KERNEL_PORTABLE, CK_GEMM_PATH_AUTO), CK_OK);
                prob_check(&q, 2e-5, "large portable");
            }
            prob_free(&q);
        }
}

/* alpha == 0 or K == 0: C = beta*C without touching A/B (they may be NULL). */
Test(gemm, trivial_cases_scale_c)
{
    float c[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 2, 3, 0, 1.0f, NULL, 1, NULL, 3,
                          2.0f, c, 3, NULL, 0), CK_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(c[i], 2.0f * (i + 1));
    ckt_fill_nan(c, 6);
    float a[4] = {1, 2, 3, 4}, b[6] = {1, 2, 3, 4, 5, 6};
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 2, 3, 2, 0.0f, a, 2, b, 3, 0.0f, c,
                          3, NULL, 0), CK_OK);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(c[i], 0.0f);
    /* M = 0 or N = 0: nothing to do, nothing read */
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 0, 3, 2, 1.0f, NULL, 2, NULL, 3,
                          0.0f, NULL, 3, NULL, 0), CK_OK);
}

/* A hand-computed 2x2 case: [1 2;3 4] * [5 6;7 8] = [19 22;43 50]. */
Test(gemm, hand_computed_2x2)
{
    const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
    float c[4];
    ckt_fill_nan(c, 4);
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c,
                          2, NULL, 0), CK_OK);
    cr_assert(c[0] == 19 && c[1] == 22 && c[2] == 43 && c[3] == 50);
    /* A^T B^T = (BA)^T: B A = [23 34;31 46], transposed [23 31;34 46] */
    cr_assert_eq(ck_sgemm(CK_GEMM_TRANS, CK_GEMM_TRANS, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2,
                          NULL, 0), CK_OK);
    cr_assert(c[0] == 23 && c[1] == 31 && c[2] == 34 && c[3] == 46);
}

Test(gemm, invalid_arguments_and_workspace)
{
    float a[4] = {0}, b[4] = {0}, c[4] = {0};
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, -1, 2, 2, 1, a, 2, b, 2, 0, c, 2,
                          NULL, 0), CK_ERR_INVALID_ARGUMENT);
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 2, 2, 2, 1, a, 1, b, 2, 0, c, 2,
                          NULL, 0), CK_ERR_INVALID_ARGUMENT); /* lda < K */
    cr_assert_eq(ck_sgemm(CK_GEMM_TRANS, CK_GEMM_NOTRANS, 3, 2, 1, 1, a, 2, b, 2, 0, c, 2,
                          NULL, 0), CK_ERR_INVALID_ARGUMENT); /* lda < M (A is K x M) */
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 2, 2, 2, 1, NULL, 2, b, 2, 0, c, 2,
                          NULL, 0), CK_ERR_INVALID_ARGUMENT);
    /* the packed path needs its workspace */
    struct prob q;
    prob_init(&q, 64, 64, 64, 0, 0, 0, 1.0f, 0.0f, 5);
    size_t need = ck_sgemm_workspace_size(64, 64, 64);
    cr_assert_gt(need, 0);
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 64, 64, 64, 1, q.a, 64, q.b, 64, 0,
                          q.c, 64, NULL, 0), CK_ERR_WORKSPACE_TOO_SMALL);
    /* a misaligned workspace of need + 64 bytes works (the driver aligns inside it) */
    char *ws = ck_aligned_alloc(need + 64);
    cr_assert_eq(ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, 64, 64, 64, 1, q.a, 64, q.b, 64, 0,
                          q.c, 64, ws + 4, need + 60), CK_OK);
    ck_aligned_free(ws);
    prob_check(&q, 1e-5, "misaligned workspace");
    prob_free(&q);
}

/* Blocked views: the column index of B and C jumps every 49 columns (7x7 images of an
 * NCHW tensor) and the row index of A every 5 rows; tiles straddle the jumps. */
Test(gemm, blocked_views_match_dense)
{
    const int M = 17, N = 3 * 49 + 10, K = 40, blk = 49, gap = 100;
    const size_t n_blocks = (N + blk - 1) / blk;
    float *a = malloc(sizeof(float) * 4 * 64 * K), *b = malloc(sizeof(float) * K * n_blocks * gap);
    float *c = malloc(sizeof(float) * M * n_blocks * gap);
    ckt_fill_uniform(a, 4 * 64 * K, 11, -1, 1);
    ckt_fill_uniform(b, K * n_blocks * gap, 12, -1, 1);
    ckt_fill_nan(c, M * n_blocks * gap);
    /* A: row i at (i % 5) * K + (i / 5) * 64 * K, column k at k */
    struct ck_gemm_args g = {
        .M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 0.0f,
        .a = a, .la = {{K, 5, 64 * K}, {1, 0, 0}},
        .b = b, .lb = {{n_blocks * gap, 0, 0}, {1, blk, gap}},
        .c = c, .lc = {{n_blocks * gap, 0, 0}, {1, blk, gap}},
        .path = CK_GEMM_PATH_PACKED,
    };
    size_t wsz = ck_sgemm_ex_workspace_size(&g);
    void *ws = ck_aligned_alloc(wsz);
    cr_assert_eq(ck_sgemm_ex(&g, ws, wsz), CK_OK);
    double *ref = malloc(sizeof(double) * M * N);
    float *got = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            const size_t jo = (size_t)(j % blk) + (size_t)(j / blk) * gap;
            double acc = 0.0;
            for (int k = 0; k < K; k++)
                acc += (double)a[(size_t)(i % 5) * K + (size_t)(i / 5) * 64 * K + k] *
                       b[(size_t)k * n_blocks * gap + jo];
            ref[i * N + j] = acc;
            got[i * N + j] = c[(size_t)i * n_blocks * gap + jo];
        }
    char rep[512];
    cr_assert(ckt_max_rel_err(got, ref, (size_t)M * N, rep, sizeof rep, 1e-5) <= 1e-5, "%s", rep);
    /* the gaps between blocks were not written */
    for (size_t bl = 0; bl < n_blocks; bl++)
        for (int j = blk; j < gap; j++)
            cr_assert(isnan(c[bl * gap + j]), "gap element %zu written", bl * gap + j);
    free(a), free(b), free(c), free(ref), free(got), ck_aligned_free(ws);
}

/* The same problem with 1 and 2 threads gives the same bits, for both kernels and for
 * a workspace that only fits one thread. */
Test(gemm, one_and_two_threads_bit_identical, .timeout = 120)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    const int shapes[][5] = {{300, 517, 1029, 0, 0}, {64, 2000, 288, 0, 0},
                             {288, 1000, 64, 1, 0}, {64, 288, 3000, 0, 1}};
    for (size_t s = 0; s < 4; s++)
        for (int kern = 0; kern < 2; kern++) {
            struct prob q;
            prob_init(&q, shapes[s][0], shapes[s][1], shapes[s][2], shapes[s][3], shapes[s][4],
                      0, 1.0f, 0.0f, 77 + s);
            const enum ck_gemm_kernel kk = kern ? CK_GEMM_KERNEL_PORTABLE : CK_GEMM_KERNEL_AUTO;
            omp_set_num_threads(1);
            cr_assert_eq(prob_run(&q, kk, CK_GEMM_PATH_AUTO), CK_OK);
            float *c1 = malloc(sizeof(float) * q.M * q.ldc);
            memcpy(c1, q.c, sizeof(float) * q.M * q.ldc);
            omp_set_num_threads(2);
            cr_assert_eq(prob_run(&q, kk, CK_GEMM_PATH_AUTO), CK_OK);
            cr_assert(memcmp(c1, q.c, sizeof(float) * q.M * q.ldc) == 0,
                      "shape %zu kernel %d: 1 vs 2 threads differ", s, kern);
            prob_check(&q, 2e-5, "2 threads");
            free(c1);
            prob_free(&q);
        }
#endif
}

/* A write-once C of more than 4 MiB (one k block, beta = 0 over NaN, 32-byte aligned C
 * rows): full-width tiles take the non-temporal stores, the last partial panel and the
 * padding columns do not; 33 rows end in a 3-row tile, 16 in a 4-row one. Checked
 * against fp64, padding untouched, 1 and 2 threads bit-identical. */
Test(gemm, write_once_large_c, .timeout = 120)
{
    const int shapes[][4] = {{33, 32001, 27, 0}, {16, 65539, 64, 1}};
    for (size_t s = 0; s < 2; s++) {
        struct prob q;
        const int N = shapes[s][1], pad = 8 - N % 8 + 8; /* ldc a multiple of 8 */
        prob_init(&q, shapes[s][0], N, shapes[s][2], shapes[s][3], 0, pad, 0.75f, 0.0f,
                  900 + s);
        const size_t c_fl = (size_t)q.M * q.ldc;
        float *c_malloc = q.c, *c1 = malloc(sizeof(float) * c_fl);
        q.c = ck_aligned_alloc(sizeof(float) * c_fl);
        cr_assert(q.c != NULL && c1 != NULL);
#ifdef _OPENMP
        omp_set_num_threads(1);
#endif
        cr_assert_eq(prob_run(&q, CK_GEMM_KERNEL_AUTO, CK_GEMM_PATH_AUTO), CK_OK);
        prob_check(&q, 2e-5, "write-once C, 1 thread");
        memcpy(c1, q.c, sizeof(float) * c_fl);
#ifdef _OPENMP
        omp_set_num_threads(2);
        cr_assert_eq(prob_run(&q, CK_GEMM_KERNEL_AUTO, CK_GEMM_PATH_AUTO), CK_OK);
        cr_assert(memcmp(c1, q.c, sizeof(float) * c_fl) == 0,
                  "shape %zu: 1 vs 2 threads differ", s);
#endif
        free(c1);
        ck_aligned_free(q.c);
        q.c = c_malloc;
        prob_free(&q);
    }
}

/* ---- dot-product path (A rows and B columns contiguous along k) ----------------------- */

/* Every M in 1..9 and N in 1..7 (partial 4x3 tiles), K around the 8-lane tail and the
 * k blocks, A plain or transposed (only plain rows are k-contiguous: transposed A
 * fall back to the packed path), alpha/beta with NaN in C for beta = 0; the dot path
 * takes no workspace, which shows which path ran. */
Test(gemm, dot_path_edges, .timeout = 120)
{
    if (!have_avx2_kernel())
        cr_skip_test("no AVX2 kernel on this CPU/build");
    const int ks[] = {1, 7, 8, 9, 31, 1025, 2051};
    for (int m = 1; m <= 9; m++)
        for (int n = 1; n <= 7; n++)
            for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++)
                for (int v = 0; v < 3; v++) {
                    struct prob q;
                    const int ta = v == 2;
                    prob_init(&q, m, n, ks[ki], ta, 1, 3, v ? 0.5f : 1.0f, v ? -1.5f : 0.0f,
                              (uint64_t)(m * 1000 + n * 10 + v) + ki * 100000);
                    struct ck_gemm_args g = {
                        .M = m, .N = n, .K = ks[ki], .alpha = 1.0f,
                        .la = ck_gemm_layout_rm(ta, (size_t)q.lda),
                        .lb = ck_gemm_layout_rm(CK_GEMM_TRANS, (size_t)q.ldb),
                        .path = CK_GEMM_PATH_DOT,
                    };
                    const size_t wsz = ck_sgemm_ex_workspace_size(&g);
                    if (ta)
                        cr_assert_gt(wsz, 0, "transposed A cannot take the dot path");
                    else
                        cr_assert_eq(wsz, 0, "%dx%dx%d: the dot path needs no workspace", m, n,
                                     ks[ki]);
                    cr_assert_eq(prob_run(&q, CK_GEMM_KERNEL_AVX2, CK_GEMM_PATH_DOT), CK_OK);
                    prob_check(&q, 1e-5, "dot path");
                    prob_free(&q);
                }
}

/* The seed's weight-gradient shape (scaled down) chooses the dot path by itself, with
 * row_add; 1 and 2 threads give the same bits. */
Test(gemm, dot_path_auto_row_add_threads, .timeout = 120)
{
    if (!have_avx2_kernel())
        cr_skip_test("no AVX2 kernel on this CPU/build");
    const int shapes[][3] = {{32, 27, 4100}, {13, 5, 2500}};
    for (size_t s = 0; s < 2; s++) {
        struct prob q;
        const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        prob_init(&q, M, N, K, 0, 1, 0, 1.0f, 0.0f, 900 + s);
        float *add = malloc(sizeof(float) * (size_t)M);
        ckt_fill_uniform(add, (size_t)M, 950 + s, -2.0f, 2.0f);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                q.ref[(size_t)i * N + j] += add[i];
        struct ck_gemm_args g = {
            .M = M, .N = N, .K = K, .alpha = 1.0f, .a = q.a,
            .la = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q.lda), .b = q.b,
            .lb = ck_gemm_layout_rm(CK_GEMM_TRANS, (size_t)q.ldb), .c = q.c,
            .lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q.ldc), .row_add = add,
        };
        float *c1 = malloc(sizeof(float) * (size_t)M * N);
        for (int t = 1; t <= 2; t++) {
#ifdef _OPENMP
            omp_set_num_threads(t);
#endif
            memcpy(q.c, q.c0, sizeof(float) * (size_t)M * q.ldc);
            cr_assert_eq(ck_sgemm_ex_workspace_size(&g), 0, "%dx%dx%d_nt: not the dot path",
                         M, N, K);
            cr_assert_eq(ck_sgemm_ex(&g, NULL, 0), CK_OK);
            prob_check(&q, 2e-5, "dot path + row_add");
            if (t == 1)
                memcpy(c1, q.c, sizeof(float) * (size_t)M * N);
            else
                cr_assert(memcmp(c1, q.c, sizeof(float) * (size_t)M * N) == 0,
                          "%dx%dx%d_nt: 1 vs 2 threads differ", M, N, K);
        }
        free(c1);
        free(add);
        prob_free(&q);
    }
}

/* ---- computed B (a packer instead of a matrix) and row_add -------------------------------- */

/* A ck_gemm_bsource over a plain row-major K x N matrix, written from the contract in
 * gemm.h: panel t holds columns j0+16t.., element (k, j) at bp[t*kc*16 + (k-k0)*16 + j'],
 * zeros past nc. */
struct plain_b {
    const float *b;
    int N;
};

static void pack_plain(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc, float *bp)
{
    const struct plain_b *pb = ctx;
    for (size_t t = 0; t * CK_GEMM_NR < nc; t++)
        for (size_t k = 0; k < kc; k++)
            for (size_t jj = 0; jj < CK_GEMM_NR; jj++) {
                const size_t j = t * CK_GEMM_NR + jj;
                bp[t * kc * CK_GEMM_NR + k * CK_GEMM_NR + jj] =
                    j < nc ? pb->b[(k0 + k) * (size_t)pb->N + j0 + j] : 0.0f;
            }
}

/* C = alpha*A*B + beta*C + add[i] with B from pack_plain; threads as set by the caller. */
static void run_computed(struct prob *q, const float *add, enum ck_gemm_path path)
{
    const struct plain_b pb = {q->b, q->ldb};
    const struct ck_gemm_bsource src = {pack_plain, &pb};
    memcpy(q->c, q->c0, sizeof(float) * (size_t)q->M * q->ldc);
    struct ck_gemm_args g = {
        .M = q->M, .N = q->N, .K = q->K, .alpha = q->alpha, .beta = q->beta,
        .a = q->a, .la = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q->lda),
        .bsrc = &src,
        .c = q->c, .lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q->ldc),
        .row_add = add, .path = path,
    };
    size_t wsz = ck_sgemm_ex_workspace_size(&g);
    cr_assert_gt(wsz, 0, "a computed B always takes the packed path");
    void *ws = ck_aligned_alloc(wsz);
    cr_assert_eq(ck_sgemm_ex(&g, ws, wsz), CK_OK);
    ck_aligned_free(ws);
}

Test(gemm, computed_b_and_row_add, .timeout = 120)
{
    /* several k blocks (K > 256), several column blocks (N > 768), edge tiles, tiny */
    const int shapes[][3] = {{1, 1, 1}, {7, 33, 5}, {64, 1000, 288}, {13, 1700, 600}, {150, 40, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int beta1 = 0; beta1 < 2; beta1++) {
            struct prob q;
            prob_init(&q, shapes[s][0], shapes[s][1], shapes[s][2], 0, 0, 0, 0.5f,
                      beta1 ? 1.5f : 0.0f, 500 + s);
            float *add = malloc(sizeof(float) * q.M);
            ckt_fill_uniform(add, (size_t)q.M, 900 + s, -2.0f, 2.0f);
            for (int i = 0; i < q.M; i++)
                for (int j = 0; j < q.N; j++)
                    q.ref[(size_t)i * q.N + j] += add[i];
#ifdef _OPENMP
            omp_set_num_threads(1);
#endif
            run_computed(&q, add, CK_GEMM_PATH_AUTO);
            prob_check(&q, 1e-5, "computed B");
            float *c1 = malloc(sizeof(float) * q.M * q.ldc);
            memcpy(c1, q.c, sizeof(float) * q.M * q.ldc);
#ifdef _OPENMP
            omp_set_num_threads(2);
#endif
            run_computed(&q, add, CK_GEMM_PATH_SMALL); /* ignored: B exists only packed */
            cr_assert(memcmp(c1, q.c, sizeof(float) * q.M * q.ldc) == 0,
                      "shape %zu: 1 vs 2 threads differ", s);
            free(c1), free(add);
            prob_free(&q);
        }
}

/* row_add on the small path and with K = 0 (C = beta*C + add). */
Test(gemm, row_add_small_and_trivial)
{
    for (int K = 0; K <= 3; K += 3) {
        struct prob q;
        prob_init(&q, 5, 7, K, 0, 1, 1, 1.0f, 0.25f, 40 + K);
        float add[5] = {1.0f, -2.0f, 0.5f, 0.0f, 3.0f};
        for (int i = 0; i < q.M; i++)
            for (int j = 0; j < q.N; j++)
                q.ref[(size_t)i * q.N + j] += add[i];
        memcpy(q.c, q.c0, sizeof(float) * (size_t)q.M * q.ldc);
        struct ck_gemm_args g = {
            .M = q.M, .N = q.N, .K = q.K, .alpha = q.alpha, .beta = q.beta,
            .a = q.a, .la = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q.lda),
            .b = q.b, .lb = ck_gemm_layout_rm(CK_GEMM_TRANS, (size_t)q.ldb),
            .c = q.c, .lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)q.ldc),
            .row_add = add, .path = CK_GEMM_PATH_SMALL,
        };
        cr_assert_eq(ck_sgemm_ex(&g, NULL, 0), CK_OK);
        prob_check(&q, 1e-6, K ? "small path" : "K = 0");
        prob_free(&q);
    }
}
