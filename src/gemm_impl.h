/* gemm_impl.h - helpers shared by the SGEMM driver (gemm.c), its packers (gemm_pack.c)
 * and its unpacked paths (gemm_small.c): index offsets of a matrix view, the packers, the
 * stack-tile merge and bias add, thread count and CPU checks. Internal to those files;
 * gemm.h is the interface.
 * Declares nothing that allocates.
 */
#ifndef CONVKIT_GEMM_IMPL_H
#define CONVKIT_GEMM_IMPL_H

#include <stddef.h>

#include "gemm.h"

/* The driver's widest B block (its NC, gemm.c), in columns. */
#define CK_GEMM_NC 4080

/* Each thread should get at least this many flops, or fork/join costs more. */
#define CK_GEMM_MIN_FLOPS_PER_THREAD (2.0 * 1024 * 1024)

static inline size_t ck_gemm_idx_off(const struct ck_gemm_index *d, size_t i)
{
    if (d->blk == 0)
        return i * d->stride;
    return (i % d->blk) * d->stride + (i / d->blk) * d->blk_stride;
}

/* out[t] = offset(i0 + t) for t < n, one division in total. */
static inline void ck_gemm_fill_offsets(const struct ck_gemm_index *d, size_t i0, size_t n, size_t *out)
{
    if (d->blk == 0) {
        for (size_t t = 0; t < n; t++)
            out[t] = (i0 + t) * d->stride;
        return;
    }
    size_t r = i0 % d->blk, base = (i0 / d->blk) * d->blk_stride;
    for (size_t t = 0; t < n; t++) {
        out[t] = base + r * d->stride;
        if (++r == d->blk) {
            r = 0;
            base += d->blk_stride;
        }
    }
}

/* 1 if off[0..n) is off[0], off[0]+1, ... (a unit-stride run). */
static inline int ck_gemm_unit_run(const size_t *off, size_t n)
{
    for (size_t t = 1; t < n; t++)
        if (off[t] != off[0] + t)
            return 0;
    return 1;
}

/* ---- packing (gemm_pack.c) ---- */

/* 1 if the AVX2 kernels may run (CONVKIT_HAVE_AVX2 and the CPU has AVX2 and FMA). */
int ck_gemm_have_avx2(void);

/* Packed B: rows pc..pc+kc, columns jc..jc+nc (nc <= CK_GEMM_NC) of op(B) into bp as
 * ceil(nc/NR) panels, zeros past nc (or g->bsrc's own packer). */
void ck_gemm_pack_b(const struct ck_gemm_args *g, size_t pc, size_t kc, size_t jc, size_t nc,
                    float *bp);

/* Rows of the tile starting at row ir of an mc-row block (MR, or a split remainder). */
size_t ck_gemm_tile_rows(size_t mc, size_t ir);

/* Packed A: rows ic..ic+mc, columns pc..pc+kc of op(A) into ap, one sliver a tile. */
void ck_gemm_pack_a(const struct ck_gemm_args *g, size_t ic, size_t mc, size_t pc, size_t kc,
                    float *ap);

/* Threads a GEMM may use: omp_get_max_threads(), or 1 inside a parallel region. */
int ck_gemm_omp_threads(void);

/* C[r][j] = alpha*t[r][j] + beta*C[r][j] for the valid mr x nr part of a stack tile t
 * (rows NR floats apart); roff/coff are C's row and column offsets. */
void ck_gemm_merge_tile(const struct ck_gemm_args *g, const float *t, const size_t *roff,
                        const size_t *coff, size_t mr, size_t nr, float alpha, float beta);

/* C[r][j] += add[r] over a finished mr x nr tile (cols_unit: its columns are a run). */
void ck_gemm_add_rows(const struct ck_gemm_args *g, const float *add, const size_t *roff,
                      const size_t *coff, size_t mr, size_t nr, int cols_unit);

/* The AVX2 6x16 kernel for rows 0..mr-1 and columns 0..nr-1 of the tile (the contract
 * of ck_sgemm_ukernel_6x16_part__avx2, simd.h) that also adds add[i] to row i of the
 * result after alpha and beta, as ck_gemm_add_rows would (simd/gemm_avx2.c). */
void ck_sgemm_ukernel_6x16_add__avx2(size_t kc, const float *a, const float *b, float *c,
                                     size_t ldc, float alpha, float beta, const float *add,
                                     size_t mr, size_t nr);

/* ---- unpacked paths (gemm_small.c); none needs workspace ---- */

/* 1 if g takes the small path (tiny M*N*K, or forced), which gemm_small runs. */
int ck_gemm_use_small(const struct ck_gemm_args *g);
void ck_gemm_small(const struct ck_gemm_args *g);

/* 1 if g takes the dot-product path (long K, small C, k-contiguous operands). */
int ck_gemm_use_dot(const struct ck_gemm_args *g);
void ck_gemm_dot(const struct ck_gemm_args *g);

/* C = beta*C (+ row_add) for alpha == 0 or K == 0; beta == 0 writes without reading. */
void ck_gemm_scale_c(const struct ck_gemm_args *g);

#endif
