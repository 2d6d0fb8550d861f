/* optim_avx2.c - Adam's element-wise update with AVX (8 floats a step).
 *
 * Only multiplies, adds, divides and square roots, all correctly rounded, and no
 * contraction into fused multiply-adds (the pragmas below: this file is compiled with
 * -mfma), so every value equals the portable loop's in optim.c. No threading here:
 * the caller splits the range. (The portable loop did not vectorise: sqrtf keeps
 * errno, so GCC calls it per element; Adam was 6% of a seed-cnn training step.)
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#include <immintrin.h>

#include "optim_avx2.h"

void ck_adam_update__avx2(const struct ck_adam_coef *c, float *p, const float *grad, float *m,
                          float *v, size_t n)
{
    const __m256 b1 = _mm256_set1_ps(c->b1), b2 = _mm256_set1_ps(c->b2);
    const __m256 c1 = _mm256_set1_ps(1.0f - c->b1), c2 = _mm256_set1_ps(1.0f - c->b2);
    const __m256 wd = _mm256_set1_ps(c->wd), eps = _mm256_set1_ps(c->eps);
    const __m256 ss = _mm256_set1_ps(c->step_size), bc = _mm256_set1_ps(c->bc2_sqrt);
    for (size_t i = 0; i < n; i += 8) {
        const __m256 pi = _mm256_loadu_ps(p + i);
        const __m256 g = _mm256_add_ps(_mm256_loadu_ps(grad + i), _mm256_mul_ps(wd, pi));
        const __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)),
                                        _mm256_mul_ps(c1, g));
        const __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)),
                                        _mm256_mul_ps(_mm256_mul_ps(c2, g), g));
        const __m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc), eps);
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_div_ps(_mm256_mul_ps(ss, mi), den)));
    }
}
