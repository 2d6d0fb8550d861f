/* cpu.c - run-time CPU feature detection.
 *
 * Compiled WITHOUT -mavx2/-mfma on purpose: this file decides whether the AVX2 code
 * may run, so it must itself run anywhere. Uses __builtin_cpu_supports (GCC/Clang).
 * Does not pick kernels; the backend registry does that from the mask.
 */
#include "convkit/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned detect(void)
{
    const char *env = getenv("CONVKIT_CPU");
    if (env && strcmp(env, "generic") == 0)
        return 0;
    unsigned mask = 0;
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        mask |= CK_CPU_AVX2;
    if (__builtin_cpu_supports("fma"))
        mask |= CK_CPU_FMA;
#endif
    return mask;
}

unsigned ck_cpu_features(void)
{
    /* Benign race: every thread computes the same value. */
    static int done;
    static unsigned mask;
    if (!done) {
        mask = detect();
        done = 1;
    }
    return mask;
}

int ck_cpu_simd_compiled(void)
{
#ifdef CONVKIT_HAVE_AVX2
    return 1;
#else
    return 0;
#endif
}

const char *ck_cpu_features_str(unsigned mask, char *buf, unsigned long buf_len)
{
    if (!buf || buf_len == 0)
        return "";
    snprintf(buf, buf_len, "%s%s%s", (mask & CK_CPU_AVX2) ? "avx2" : "",
             (mask & CK_CPU_AVX2) && (mask & CK_CPU_FMA) ? " " : "",
             (mask & CK_CPU_FMA) ? "fma" : "");
    if (mask == 0)
        snprintf(buf, buf_len, "none");
    return buf;
}
