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

#endif
