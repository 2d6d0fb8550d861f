/* gemm_ukernel_ref.c - the portable C 6x16 SGEMM micro-kernel.
 *
 * Same contract as the AVX2 kernel (documented once, in gemm.c): packed A sliver
 * (kc x 6), packed B panel (kc x 16), full 6x16 tile of C with row stride ldc,
 * C = alpha*AB + beta*C and C not read when beta == 0. Used when the CPU lacks
 * AVX2/FMA (or CONVKIT_CPU=generic). It is plain C the compiler may vectorise with
 * the baseline ISA; it does not handle partial tiles (the driver does).
 */
#include "gemm.h"

void ck_sgemm_ukernel_6x16__ref(size_t kc, const float *a, const float *b, float *c,
                                size_t ldc, float alpha, float beta)
{
    enum { MR = CK_GEMM_MR, NR = CK_GEMM_NR };
    float ab[MR][NR] = {{0}};
    for (size_t k = 0; k < kc; k++) {
        const float *a_k = a + k * MR, *b_k = b + k * NR;
        for (int i = 0; i < MR; i++) {
            const float a_ik = a_k[i];
            for (int j = 0; j < NR; j++)
                ab[i][j] += a_ik * b_k[j];
        }
    }
    for (int i = 0; i < MR; i++) {
        float *c_i = c + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < NR; j++)
                c_i[j] = alpha * ab[i][j];
        else
            for (int j = 0; j < NR; j++)
                c_i[j] = alpha * ab[i][j] + beta * c_i[j];
    }
}
