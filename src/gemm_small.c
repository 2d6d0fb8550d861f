/* gemm_small.c - the SGEMM paths that do not pack: unpacked loops for tiny problems, dot
 * products for a long K with a small C, and the trivial C = beta*C.
 *
 * ck_sgemm_ex (gemm.c) picks one of these before planning packed blocks; none of them
 * needs workspace or allocates. The packed driver, the blocking and the micro-kernel
 * contract are in gemm.c.
 */
#include "gemm_impl.h"
#include "internal.h"
#ifdef CONVKIT_HAVE_AVX2
#include "simd.h"
#endif

/* Problems with M*N*K at most this take the unpacked loop (see gemm_small). Measured
 * on the 2-core test VM (1 thread): packed 1.2 vs unpacked 1.9 GFLOP/s at 8^3, 5.6 vs
 * 5.2 at 12^3, 12.4 vs 7.7 at 16^3, 61 vs 18 at 64^3: packing pays from about 10^3. */
#define SMALL_MNK (10.0 * 10 * 10)

int ck_gemm_use_small(const struct ck_gemm_args *g)
{
    if (g->bsrc) /* a computed B exists only in packed form */
        return 0;
    if (g->path != CK_GEMM_PATH_AUTO)
        return g->path == CK_GEMM_PATH_SMALL;
    return (double)g->M * g->N * g->K <= SMALL_MNK;
}

/* ---- small path and trivial cases ------------------------------------------------------ */

/* Unpacked loops for tiny problems: C row i, 64 columns at a time, k in order. */
void ck_gemm_small(const struct ck_gemm_args *g)
{
    enum { JB = 64 };
    size_t coff[JB], boff[JB];
    for (size_t j0 = 0; j0 < (size_t)g->N; j0 += JB) {
        const size_t jn = CK_MIN((size_t)JB, (size_t)g->N - j0);
        ck_gemm_fill_offsets(&g->lc.col, j0, jn, coff);
        ck_gemm_fill_offsets(&g->lb.col, j0, jn, boff);
        const int b_unit = ck_gemm_unit_run(boff, jn);
        for (size_t i = 0; i < (size_t)g->M; i++) {
            float acc[JB] = {0};
            const float *a_i = g->a + ck_gemm_idx_off(&g->la.row, i);
            for (size_t k = 0; k < (size_t)g->K; k++) {
                const float a_ik = a_i[ck_gemm_idx_off(&g->la.col, k)];
                const float *b_k = g->b + ck_gemm_idx_off(&g->lb.row, k);
                if (b_unit)
                    for (size_t j = 0; j < jn; j++)
                        acc[j] += a_ik * b_k[boff[0] + j];
                else
                    for (size_t j = 0; j < jn; j++)
                        acc[j] += a_ik * b_k[boff[j]];
            }
            size_t roff = ck_gemm_idx_off(&g->lc.row, i);
            ck_gemm_merge_tile(g, acc, &roff, coff, 1, jn, g->alpha, g->beta);
            if (g->row_add)
                ck_gemm_add_rows(g, g->row_add + i, &roff, coff, 1, jn, 0);
        }
    }
}

/* ---- dot-product path ------------------------------------------------------------------ */

/* C (M x N) small and K long, A's rows and B's columns contiguous along k (a weight
 * gradient: 32x27x65536 with B transposed): packing would transpose all of A and B for
 * a handful of tiles, and 6x16 tiles would waste a fifth of their FMAs on N = 27. Here
 * 4x3 tiles of C are dot products, 8 lanes each, over k blocks of at most DOT_KB, read
 * in place (no workspace): a tile's 4 rows of A stay in L1 while the N tiles stream B.
 * Threads split the M tiles; an element's value depends only on K (the k blocks) and
 * its own row and column, so any thread count gives the same bits. (Copying each k
 * block of B to a padded buffer first, so that rows 2^n apart do not share L2 sets, was
 * no faster: the copy stalls on memory where the kernel's loads overlap its FMAs.) */
enum { DOT_MR = 4, DOT_NR = 3, DOT_KB = 1024 };

int ck_gemm_use_dot(const struct ck_gemm_args *g)
{
    if (g->kernel == CK_GEMM_KERNEL_PORTABLE || !ck_gemm_have_avx2() || g->bsrc ||
        g->la.col.stride != 1 || g->la.col.blk != 0 || g->la.row.blk != 0 ||
        g->lb.row.stride != 1 || g->lb.row.blk != 0 || g->lb.col.blk != 0)
        return 0;
    if (g->path != CK_GEMM_PATH_AUTO)
        return g->path == CK_GEMM_PATH_DOT;
    return g->M <= 64 && g->N <= 64 && g->M * g->N <= 2048 && g->K >= 512;
}

/* C rows i0 .. i0+mv-1 (one tile row) over k0 .. k0+kc-1. */
static void dot_rows(const struct ck_gemm_args *g, size_t i0, size_t mv, size_t k0, size_t kc)
{
#ifdef CONVKIT_HAVE_AVX2
    const size_t N = (size_t)g->N, K = (size_t)g->K;
    const float *ar[DOT_MR];
    size_t roff[DOT_MR];
    for (size_t i = 0; i < DOT_MR; i++) /* rows past M repeat the last one */
        ar[i] = g->a + ck_gemm_idx_off(&g->la.row, i0 + CK_MIN(i, mv - 1)) + k0;
    for (size_t i = 0; i < mv; i++)
        roff[i] = ck_gemm_idx_off(&g->lc.row, i0 + i);
    for (size_t j0 = 0; j0 < N; j0 += DOT_NR) {
        const size_t nv = CK_MIN((size_t)DOT_NR, N - j0);
        const float *br[DOT_NR];
        for (size_t j = 0; j < DOT_NR; j++)
            br[j] = g->b + ck_gemm_idx_off(&g->lb.col, j0 + CK_MIN(j, nv - 1)) + k0;
        float sum[DOT_MR * DOT_NR];
        ck_sgemm_dot4x3__avx2(kc, ar, br, sum);
        for (size_t i = 0; i < mv; i++)
            for (size_t j = 0; j < nv; j++) {
                float *cp = g->c + roff[i] + ck_gemm_idx_off(&g->lc.col, j0 + j);
                float v = g->alpha * sum[i * DOT_NR + j];
                if (k0 > 0)
                    v = *cp + v;
                else if (g->beta != 0.0f)
                    v += g->beta * *cp;
                if (k0 + kc == K && g->row_add)
                    v += g->row_add[i0 + i];
                *cp = v;
            }
    }
#else
    (void)g, (void)i0, (void)mv, (void)k0, (void)kc;
#endif
}

void ck_gemm_dot(const struct ck_gemm_args *g)
{
    const size_t M = (size_t)g->M, K = (size_t)g->K, mt = (M + DOT_MR - 1) / DOT_MR;
    const size_t nkb = (K + DOT_KB - 1) / DOT_KB, kb = (K + nkb - 1) / nkb;
    const double flops = 2.0 * M * g->N * (double)K;
    int T = ck_gemm_omp_threads();
    if (T > 1 && flops / T < CK_GEMM_MIN_FLOPS_PER_THREAD)
        T = (int)CK_MAX(1.0, flops / CK_GEMM_MIN_FLOPS_PER_THREAD);
    T = (int)CK_MIN((size_t)T, mt);
    #pragma omp parallel num_threads(T) if (T > 1)
    {
        const size_t tid = (size_t)ck__thread_num(), nth = (size_t)ck__num_threads();
        const size_t t0 = mt * tid / nth, t1 = mt * (tid + 1) / nth;
        for (size_t k0 = 0; k0 < K; k0 += kb)
            for (size_t it = t0; it < t1; it++)
                dot_rows(g, it * DOT_MR, CK_MIN((size_t)DOT_MR, M - it * DOT_MR), k0,
                         CK_MIN(kb, K - k0));
    }
}

/* C = beta*C (alpha == 0 or K == 0); beta == 0 writes zeros without reading. */
void ck_gemm_scale_c(const struct ck_gemm_args *g)
{
    for (size_t i = 0; i < (size_t)g->M; i++) {
        float *c_i = g->c + ck_gemm_idx_off(&g->lc.row, i);
        for (size_t j = 0; j < (size_t)g->N; j++) {
            float *cp = c_i + ck_gemm_idx_off(&g->lc.col, j);
            *cp = g->beta == 0.0f ? 0.0f : g->beta * *cp;
            if (g->row_add)
                *cp += g->row_add[i];
        }
    }
}
