/* winograd_avx2.h - prototypes of the AVX2/FMA Winograd kernels (simd/winograd_avx2.c).
 *
 * Contracts (layouts, what each computes) are in src/winograd.h, where the portable
 * versions live too; these have the same signatures and are reached through
 * ck_wino_kernels_get(). No vector types here. Only call them when CONVKIT_HAVE_AVX2 is
 * defined and the CPU has AVX2 and FMA.
 */
#ifndef CONVKIT_WINOGRAD_AVX2_H
#define CONVKIT_WINOGRAD_AVX2_H

#include <stddef.h>

void ck_wino_pack__avx2(const float *src, size_t src_cs, int h_in, int w_in, int lanes,
                        int pt, int pl, float *dst, int hb, int wb);

void ck_wino_filter_f2__avx2(const float *g, float *u, size_t u_xs);
void ck_wino_filter_f4__avx2(const float *g, float *u, size_t u_xs);
void ck_wino_filter_f6__avx2(const float *g, float *u, size_t u_xs);

void ck_wino_input_f2__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);
void ck_wino_input_f4__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);
void ck_wino_input_f6__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);

void ck_wino_output_f2__avx2(const float *mm, size_t m_xs, const float *bias, float *y,
                             size_t y_cs, size_t y_rs, int rows, int cols, int lanes);
void ck_wino_output_f4__avx2(const float *mm, size_t m_xs, const float *bias, float *y,
                             size_t y_cs, size_t y_rs, int rows, int cols, int lanes);
void ck_wino_output_f6__avx2(const float *mm, size_t m_xs, const float *bias, float *y,
                             size_t y_cs, size_t y_rs, int rows, int cols, int lanes);

void ck_wino_dy_f2__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);
void ck_wino_dy_f4__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);
void ck_wino_dy_f6__avx2(const float *d, size_t d_rs, float *v, size_t v_xs);

void ck_wino_gemm__avx2(size_t kc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                        size_t ldb, float *c, size_t ldc, int nr, int accumulate);

#endif
