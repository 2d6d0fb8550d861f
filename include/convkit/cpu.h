/* cpu.h - run-time CPU feature detection.
 *
 * Detection lives in src/cpu.c, which is compiled without any vector flags, so the
 * same binary runs (slower) on a CPU without AVX2. Setting the environment variable
 * CONVKIT_CPU=generic hides every feature, to exercise the portable paths.
 */
#ifndef CONVKIT_CPU_H
#define CONVKIT_CPU_H

#ifdef __cplusplus
extern "C" {
#endif

enum ck_cpu_feature {
    CK_CPU_AVX2 = 1u << 0,
    CK_CPU_FMA = 1u << 1,
};

/** @brief Bitmask of enum ck_cpu_feature the running CPU has (cached after 1st call). */
unsigned ck_cpu_features(void);

/** @brief 1 if the library was compiled with the AVX2/FMA kernels in simd/, else 0. */
int ck_cpu_simd_compiled(void);

/** @brief "avx2 fma" style text for a feature mask, written into buf. Returns buf. */
const char *ck_cpu_features_str(unsigned mask, char *buf, unsigned long buf_len);

#ifdef __cplusplus
}
#endif
#endif
