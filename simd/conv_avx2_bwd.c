/* conv_avx2_bwd.c - the AVX2/FMA weight-gradient kernel of the direct convolution;
 * contract in conv_avx2.h (struct ck_dconv_wgrad). (Backward-data reuses the row
 * kernel of conv_avx2_fwd.c with transposed weights and phase-split taps.)
 *
 * The tile is NKB blocks of 8 output channels x NIT items (input channel at a filter
 * tap), NKB*NIT <= 12 accumulators: per output pixel NKB vector loads of dy and NIT
 * broadcasts of x feed NKB*NIT FMAs, like a 16x6 GEMM tile whose reduction runs over
 * pixels. Also the bias-gradient sums. No layout conversion, no bounds checks, no
 * threading here.
 */
#include <immintrin.h>

#include "avx2_util.h"

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

enum { PF_BURST = 16, PF_PART_MIN = 32 }; /* a tile's prefetch: see wgrad_tile */
enum { BIAS_RUN = 32 }; /* pixels summed in float: see ck_dconv_bias_sum__avx2 */

/* One pixel of a tile: dy at d (NKB blocks dy_kb apart), x at xs[i] + o. */
CK_INLINE void wgrad_px(__m256 acc[4][12], const float *d, ptrdiff_t dy_kb,
                        const float *const *xs, ptrdiff_t o, const int NKB, const int NIT)
{
    __m256 dv[4];
#pragma GCC unroll 4
    for (int kb = 0; kb < NKB; kb++)
        dv[kb] = _mm256_loadu_ps(d + kb * dy_kb);
#pragma GCC unroll 12
    for (int i = 0; i < NIT; i++) {
        const __m256 xi = _mm256_broadcast_ss(xs[i] + o);
#pragma GCC unroll 4
        for (int kb = 0; kb < NKB; kb++)
            acc[kb][i] = _mm256_fmadd_ps(dv[kb], xi, acc[kb][i]);
    }
}

CK_INLINE void wgrad_tile(const struct ck_dconv_wgrad *a, const int NKB, const int NIT)
{
    __m256 acc[4][12];
#pragma GCC unroll 4
    for (int kb = 0; kb < NKB; kb++)
#pragma GCC unroll 12
        for (int i = 0; i < NIT; i++)
            acc[kb][i] = a->accumulate ? _mm256_loadu_ps(a->dw + kb * a->dw_kb + 8 * i)
                                       : _mm256_setzero_ps();
    const float *xs[12];
#pragma GCC unroll 12
    for (int i = 0; i < NIT; i++) {
        xs[i] = a->src + a->item[i];
        /* an opaque pointer: a broadcast is then one addressing mode [xs[i] + o*4], not
         * an add of the item offset at every pixel */
        __asm__("" : "+r"(xs[i]));
    }
    const ptrdiff_t dy_kb = a->dy_kb, *pix = a->pix;
    const float *d = a->dy;
    /* The prefetch goes in bursts of at most PF_BURST lines, one before each of as many
     * equal parts of the tile (at least PF_PART_MIN pixels each): one burst of the first
     * layer's 110 lines filled the line buffers and stalled its tiles (perf: 16% of its
     * time in the prefetch loop), a prefetch every 8 pixels slowed the tile loop (seed
     * conv2 8%). */
    const size_t lines = a->pf ? (a->pf_bytes + 63) / 64 : 0;
    size_t parts = (lines + PF_BURST - 1) / PF_BURST;
    parts = parts > (size_t)a->npix / PF_PART_MIN ? (size_t)a->npix / PF_PART_MIN : parts;
    parts = parts < 1 ? 1 : parts;
    struct ck_avx2_pf pf;
    ck_avx2_pf_init(&pf, a->pf, lines, 1, 0, parts);
    /* one loop over the pixels (of a part): a loop per row paid about two pixels' time at
     * every row end (16-pixel rows ran at 85% of 256-pixel ones) */
    if (parts == 1) { /* (kept apart: the loop of the parts ran seed conv2 3% slower) */
        ck_avx2_pf_step(&pf);
#pragma GCC unroll 4
        for (int p = 0; p < a->npix; p++, d += 8)
            wgrad_px(acc, d, dy_kb, xs, pix[p], NKB, NIT);
    }
    for (size_t part = 0; part < parts && parts > 1; part++) {
        ck_avx2_pf_step(&pf);
        const int p1 = (int)((size_t)a->npix * (part + 1) / parts);
#pragma GCC unroll 4
        for (int p = (int)((size_t)a->npix * part / parts); p < p1; p++, d += 8)
            wgrad_px(acc, d, dy_kb, xs, pix[p], NKB, NIT);
    }
#pragma GCC unroll 4
    for (int kb = 0; kb < NKB; kb++)
#pragma GCC unroll 12
        for (int i = 0; i < NIT; i++)
            _mm256_storeu_ps(a->dw + kb * a->dw_kb + 8 * i, acc[kb][i]);
}

typedef void (*wgrad_fn)(const struct ck_dconv_wgrad *);

#define WG_FN(nkb, nit)                                                                   \
    static void wgrad_##nkb##x##nit(const struct ck_dconv_wgrad *a)                       \
    {                                                                                     \
        wgrad_tile(a, nkb, nit);                                                          \
    }
WG_FN(1, 1) WG_FN(1, 2) WG_FN(1, 3) WG_FN(1, 4) WG_FN(1, 5) WG_FN(1, 6)
WG_FN(1, 7) WG_FN(1, 8) WG_FN(1, 9) WG_FN(1, 10) WG_FN(1, 11) WG_FN(1, 12)
WG_FN(2, 1) WG_FN(2, 2) WG_FN(2, 3) WG_FN(2, 4) WG_FN(2, 5) WG_FN(2, 6)
WG_FN(3, 1) WG_FN(3, 2) WG_FN(3, 3) WG_FN(3, 4)
WG_FN(4, 1) WG_FN(4, 2) WG_FN(4, 3)

/* wgrad_fns[nkb-1][nitem-1]; NULL where nkb*nitem > 12 (never used). */
static const wgrad_fn wgrad_fns[4][12] = {
    {wgrad_1x1, wgrad_1x2, wgrad_1x3, wgrad_1x4, wgrad_1x5, wgrad_1x6, wgrad_1x7, wgrad_1x8,
     wgrad_1x9, wgrad_1x10, wgrad_1x11, wgrad_1x12},
    {wgrad_2x1, wgrad_2x2, wgrad_2x3, wgrad_2x4, wgrad_2x5, wgrad_2x6},
    {wgrad_3x1, wgrad_3x2, wgrad_3x3, wgrad_3x4},
    {wgrad_4x1, wgrad_4x2, wgrad_4x3},
};

void ck_dconv_wgrad__avx2(const struct ck_dconv_wgrad *a)
{
    wgrad_fns[a->nkb - 1][a->nitem - 1](a);
}

/* Runs of BIAS_RUN pixels are summed in float (4 chains, px % 4), each chain then added
 * to acc in double: converting every pixel to double took 3 shuffle-port operations a
 * pixel (perf: 9% of the first layer's backward-weights, 3% of a 1x1's). */
void ck_dconv_bias_sum__avx2(const float *d, size_t npix, double acc[4][8])
{
    __m256d lo[4], hi[4];
    for (int u = 0; u < 4; u++)
        lo[u] = _mm256_loadu_pd(acc[u]), hi[u] = _mm256_loadu_pd(acc[u] + 4);
    size_t px = 0;
    for (; px + BIAS_RUN <= npix; px += BIAS_RUN) {
        __m256 f[4];
        for (int u = 0; u < 4; u++)
            f[u] = _mm256_loadu_ps(d + (px + u) * 8);
        for (size_t q = 4; q < BIAS_RUN; q += 4)
            for (int u = 0; u < 4; u++)
                f[u] = _mm256_add_ps(f[u], _mm256_loadu_ps(d + (px + q + u) * 8));
        for (int u = 0; u < 4; u++) {
            lo[u] = _mm256_add_pd(lo[u], _mm256_cvtps_pd(_mm256_castps256_ps128(f[u])));
            hi[u] = _mm256_add_pd(hi[u], _mm256_cvtps_pd(_mm256_extractf128_ps(f[u], 1)));
        }
    }
    for (; px < npix; px++) {
        const __m256 v = _mm256_loadu_ps(d + px * 8);
        lo[0] = _mm256_add_pd(lo[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        hi[0] = _mm256_add_pd(hi[0], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    for (int u = 0; u < 4; u++)
        _mm256_storeu_pd(acc[u], lo[u]), _mm256_storeu_pd(acc[u] + 4, hi[u]);
}
