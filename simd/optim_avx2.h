/* optim_avx2.h - the Adam update of optim.c, 8 floats at a time (simd/optim_avx2.c).
 *
 * Included by src/optim.c, so no vector types here. Callers check ck_cpu_features()
 * (AVX2) and CONVKIT_HAVE_AVX2 first.
 */
#ifndef CONVKIT_OPTIM_AVX2_H
#define CONVKIT_OPTIM_AVX2_H

#include <stddef.h>

/* Adam's constants for one step (see optim.c). */
struct ck_adam_coef {
    float b1, b2, wd, eps, step_size, bc2_sqrt;
};

/* For i < n (a multiple of 8): the same float operations, in the same order and
 * without fused multiply-adds, as optim.c's scalar loop, so results are bit-identical:
 * g = grad + wd p; m = b1 m + (1-b1) g; v = b2 v + ((1-b2) g) g;
 * p = p - (step_size m) / (sqrt(v) / bc2_sqrt + eps). */
void ck_adam_update__avx2(const struct ck_adam_coef *c, float *p, const float *grad, float *m,
                          float *v, size_t n);

#endif
