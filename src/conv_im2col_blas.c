/* conv_im2col_blas.c - backend "im2col-blas": the explicit im2col lowering of
 * conv_lowering.c with OpenBLAS's cblas_sgemm as the GEMM. A reference point for
 * benchmarks, compiled only when CMake found OpenBLAS (CONVKIT_HAVE_BLAS).
 *
 * OpenBLAS is set to one thread of its own (its pthreads would spin against our OpenMP
 * threads); instead each OpenMP thread calls it on its own range of C's columns. Where
 * those ranges fall depends on the thread count, and OpenBLAS does not promise that a
 * column's result is independent of the range it is computed in, so this backend does
 * not promise bit-identical results across thread counts.
 * Column buffer as in conv_lowering.h (at most 4 MiB); no GEMM workspace.
 */
#ifdef CONVKIT_HAVE_BLAS

#include <cblas.h>
#include <limits.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "conv_lowering.h"
#include "internal.h"

/* Declared by OpenBLAS's cblas.h; repeated in case another cblas.h was found. */
void openblas_set_num_threads(int num_threads);

/* A view (rows x cols, no blocks) as a row-major cblas operand: *t and *ld, or 0 if
 * neither index has unit stride. */
static int as_cblas(const struct ck_gemm_layout *l, size_t rows, size_t cols,
                    enum CBLAS_TRANSPOSE *t, int *ld)
{
    size_t lead;
    if (l->col.stride == 1 || cols == 1) {
        *t = CblasNoTrans, lead = rows > 1 ? l->row.stride : cols;
        lead = CK_MAX(lead, cols);
    } else if (l->row.stride == 1 || rows == 1) {
        *t = CblasTrans, lead = cols > 1 ? l->col.stride : rows;
        lead = CK_MAX(lead, rows);
    } else {
        return 0;
    }
    *ld = (int)CK_MAX(lead, (size_t)1);
    return lead <= INT_MAX;
}

/* Offset of element i0 of an index; within one block, later elements follow at stride. */
static size_t offset_of(const struct ck_gemm_index *d, size_t i0)
{
    return d->blk ? (i0 % d->blk) * d->stride + (i0 / d->blk) * d->blk_stride
                  : i0 * d->stride;
}

/* Length of the run starting at i0 (at most n) that stays in one block of d. */
static size_t run_len(const struct ck_gemm_index *d, size_t i0, size_t n)
{
    return d->blk ? CK_MIN(n, d->blk - i0 % d->blk) : n;
}

/* Columns j0 .. j1-1 of C, cut at view blocks into plain matrices; per piece the K
 * pieces accumulate in order (beta, then 1). Returns 0, or -1 for a view cblas cannot
 * express (never produced by conv_lowering.c). */
static int blas_columns(const struct ck_gemm_args *g, size_t j0, size_t j1)
{
    const size_t M = (size_t)g->M, K = (size_t)g->K;
    for (size_t j = j0, jn; j < j1; j += jn) {
        jn = run_len(&g->lc.col, j, run_len(&g->lb.col, j, j1 - j));
        float *c = g->c + offset_of(&g->lc.col, j);
        const struct ck_gemm_layout lc = {g->lc.row, {g->lc.col.stride, 0, 0}};
        enum CBLAS_TRANSPOSE tc;
        int ldc;
        if (!as_cblas(&lc, M, jn, &tc, &ldc) || tc != CblasNoTrans)
            return -1;
        if (K == 0 || g->alpha == 0.0f) { /* C = beta C, not read if beta == 0 */
            for (size_t i = 0; i < M; i++)
                for (size_t t = 0; t < jn; t++) {
                    float *cp = c + i * (size_t)ldc + t;
                    *cp = g->beta == 0.0f ? 0.0f : g->beta * *cp;
                }
            continue;
        }
        for (size_t k = 0, kn; k < K; k += kn) {
            kn = run_len(&g->la.col, k, run_len(&g->lb.row, k, K - k));
            const float *a = g->a + offset_of(&g->la.col, k);
            const float *b = g->b + offset_of(&g->lb.row, k) + offset_of(&g->lb.col, j);
            const struct ck_gemm_layout la = {g->la.row, {g->la.col.stride, 0, 0}};
            const struct ck_gemm_layout lb = {{g->lb.row.stride, 0, 0}, {g->lb.col.stride, 0, 0}};
            enum CBLAS_TRANSPOSE ta, tb;
            int lda, ldb;
            if (!as_cblas(&la, M, kn, &ta, &lda) || !as_cblas(&lb, kn, jn, &tb, &ldb))
                return -1;
            cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)jn, (int)kn, g->alpha, a, lda, b,
                        ldb, k == 0 ? g->beta : 1.0f, c, ldc);
        }
    }
    return 0;
}

/* ck_sgemm_ex's contract on cblas_sgemm: OpenBLAS runs single-threaded, each OpenMP
 * thread on its own range of C's columns (whole 16-column groups). */
static enum ck_status blas_gemm(const struct ck_gemm_args *g, void *ws, size_t ws_size)
{
    (void)ws, (void)ws_size;
    if (g->M <= 0 || g->N <= 0)
        return CK_OK;
    if (g->bsrc || g->row_add || g->la.row.blk || g->lc.row.blk)
        return CK_ERR_UNSUPPORTED; /* never produced by conv_lowering.c */
    int T = 1, bad = 0;
#ifdef _OPENMP
    if (!omp_in_parallel()) { /* the setting is global: never change it from a region */
        openblas_set_num_threads(1);
        T = omp_get_max_threads();
    }
#else
    openblas_set_num_threads(1);
#endif
    const size_t groups = ((size_t)g->N + 15) / 16;
    if ((size_t)T > groups)
        T = (int)groups;
    #pragma omp parallel num_threads(T) reduction(| : bad) if (T > 1)
    {
        const int tid = ck__thread_num(), nth = ck__num_threads();
        const size_t j0 = CK_MIN((size_t)g->N, groups * tid / nth * 16);
        const size_t j1 = CK_MIN((size_t)g->N, groups * (tid + 1) / nth * 16);
        bad |= blas_columns(g, j0, j1) != 0;
    }
    return bad ? CK_ERR_UNSUPPORTED : CK_OK;
}

static const struct ck_lowering_gemm blas = {blas_gemm, NULL};

static enum ck_status blas_supports(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                    char *why, size_t why_len)
{
    (void)p, (void)pass, (void)why, (void)why_len;
    return CK_OK;
}

static size_t blas_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    return ck_lowering_workspace_size(p, pass, &blas);
}

static enum ck_status blas_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size)
{
    return ck_lowering_forward(p, x, w, bias, y, ws, ws_size, &blas);
}

static enum ck_status blas_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size)
{
    return ck_lowering_backward_data(p, dy, w, dx, ws, ws_size, &blas);
}

static enum ck_status blas_backward_weights(const struct ck_conv_params *p, const float *x,
                                            const float *dy, float *dw, float *db, void *ws,
                                            size_t ws_size)
{
    return ck_lowering_backward_weights(p, x, dy, dw, db, ws, ws_size, &blas);
}

const struct ck_conv_backend ck_backend_im2col_blas = {
    .name = "im2col-blas",
    .description = "im2col/col2im + OpenBLAS cblas_sgemm (reference point; results may "
                   "depend on the thread count)",
    .required_cpu = 0,
    .supports = blas_supports,
    .workspace_size = blas_workspace_size,
    .forward = blas_forward,
    .backward_data = blas_backward_data,
    .backward_weights = blas_backward_weights,
};

#else
/* ISO C forbids an empty translation unit. */
typedef int ck_im2col_blas_unused;
#endif
