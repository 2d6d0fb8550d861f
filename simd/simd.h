/* simd.h - prototypes of the AVX2/FMA kernels in the simd/ directory (suffix __avx2).
 *
 * Included by portable src/ files, so no vector types appear here: only float
 * pointers and sizes. Callers must check ck_cpu_features() (AVX2 and FMA) and
 * CONVKIT_HAVE_AVX2 (defined when simd/ is compiled) before calling any of these.
 */
#ifndef CONVKIT_SIMD_H
#define CONVKIT_SIMD_H

#include <stddef.h>

/* GEMM micro-kernel, 6x16 tile; contract in src/gemm.c (same as the __ref kernel). */
void ck_sgemm_ukernel_6x16__avx2(size_t kc, const float *a, const float *b, float *c,
                                 size_t ldc, float alpha, float beta);
/* Rows 0 .. mr-1 (1 <= mr <= 6) of the tile, all 16 columns, with beta = 0, by
 * non-temporal stores (c and ldc 32-byte aligned); the caller runs
 * ck_sgemm_store_fence__avx2 before C is read by anyone. */
void ck_sgemm_ukernel_6x16_nt__avx2(size_t kc, const float *a, const float *b, float *c,
                                    size_t ldc, float alpha, size_t mr);
void ck_sgemm_store_fence__avx2(void);
/* The same for rows 0 .. mr-1 and columns 0 .. nr-1 of the tile only (1 <= mr <= 6,
 * 1 <= nr <= 16; nothing else of C is read or written). */
void ck_sgemm_ukernel_6x16_part__avx2(size_t kc, const float *a, const float *b, float *c,
                                      size_t ldc, float alpha, float beta, size_t mr,
                                      size_t nr);

/* The dot-product path's kernel: s[i*3 + j] = sum_{k<kc} a[i][k] * b[j][k] (rows of A
 * and columns of B contiguous along k); a fixed summation order per element. */
void ck_sgemm_dot4x3__avx2(size_t kc, const float *const a[4], const float *const b[3],
                           float s[12]);

/* B panel packing by 8x8 transposes: bp[k*16 + j] = cols[j][k] (cols[j] contiguous
 * along k, NULL = zero column), k < kc; contract of ck_gemm_pack_panel_t (gemm.h). */
void ck_sgemm_pack_t16__avx2(size_t kc, const float *const cols[16], float *bp);

/* A sliver packing by 8x8 transposes: ap[k*6 + i] = rows[i][k] (rows[i] contiguous
 * along k, NULL = zero row), k < kc; writes nothing outside ap[0 .. 6*kc). */
void ck_sgemm_pack_a6__avx2(size_t kc, const float *const rows[6], float *ap);

/* im2col for stride_w == 1 with masked loads (padding lanes read nothing): the
 * contracts of ck_im2col_row, ck_im2col_pack_cols and ck_im2col_pack_cols_t (im2col.h). */
struct ck_im2col_src;
void ck_im2col_row_s1__avx2(const struct ck_im2col_src *s, size_t crs, size_t j0, size_t len,
                            float *out);
void ck_im2col_pack_cols_s1__avx2(const struct ck_im2col_src *s, size_t k0, size_t kc,
                                  size_t j0, size_t nc, float *bp);
void ck_im2col_pack_cols_t_s1__avx2(const struct ck_im2col_src *s, size_t k0, size_t kc,
                                    size_t j0, size_t nc, float *bp);
/* The contract of ck_col2im_plane_add for stride_w == 1 (same results). */
void ck_col2im_add_s1__avx2(const struct ck_im2col_src *s, const float *cols, size_t ld,
                            size_t pix0, size_t npix, float *dx_c);

#endif
