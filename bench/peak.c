/* peak.c - the FMA-chain peak probe: 12 independent 8-wide multiply-add chains, enough
 * to hide a 5-cycle FMA latency on one vector FMA port (Zen 1) or two (Haswell and later).
 * This is the only bench file built with -mavx2 -mfma -ffp-contract=fast (GCC vector
 * extensions, no intrinsics): call it only after checking the CPU has AVX2 and FMA.
 * Timing and threading live in bench_peak.c.
 */
#include "bench.h"

typedef float ckb_v8 __attribute__((vector_size(32)));

float ckb_fma_chains__avx2(long iters)
{
    /* acc = acc * m + a converges to a / (1 - m): values stay normal, never overflow. */
    const ckb_v8 m = {0.999999f, 0.999998f, 0.999997f, 0.999996f,
                      0.999995f, 0.999994f, 0.999993f, 0.999992f};
    const ckb_v8 a = {1e-3f, 2e-3f, 3e-3f, 4e-3f, 5e-3f, 6e-3f, 7e-3f, 8e-3f};
    ckb_v8 c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6;
    ckb_v8 c6 = a * 7, c7 = a * 8, c8 = a * 9, c9 = a * 10, c10 = a * 11, c11 = a * 12;
    for (long i = 0; i < iters; i++) {
        c0 = c0 * m + a;
        c1 = c1 * m + a;
        c2 = c2 * m + a;
        c3 = c3 * m + a;
        c4 = c4 * m + a;
        c5 = c5 * m + a;
        c6 = c6 * m + a;
        c7 = c7 * m + a;
        c8 = c8 * m + a;
        c9 = c9 * m + a;
        c10 = c10 * m + a;
        c11 = c11 * m + a;
        /* An empty asm that "may change" the accumulators keeps GCC from fusing or
         * re-associating the chains (it emits no instruction). */
        __asm__ volatile("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5));
        __asm__ volatile("" : "+x"(c6), "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11));
    }
    ckb_v8 s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
    float r = 0.0f;
    for (int i = 0; i < 8; i++)
        r += s[i];
    return r;
}
