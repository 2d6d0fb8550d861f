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

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

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
    /* one loop over the tile's pixels: a loop per row paid about two pixels' time at
     * every row end (16-pixel rows ran at 85% of 256-pixel ones) */
#pragma GCC unroll 4
    for (int p = 0; p < a->npix; p++, d += 8) {
        const ptrdiff_t o = pix[p];
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
    for (size_t off = 0; a->pf && off < a->pf_bytes; off += 64)
        _mm_prefetch(a->pf + off, _MM_HINT_T1);
    wgrad_fns[a->nkb - 1][a->nitem - 1](a);
}

void ck_dconv_bias_sum__avx2(const float *d, size_t npix, double acc[4][8])
{
    __m256d lo[4], hi[4];
    for (int u = 0; u < 4; u++)
        lo[u] = _mm256_loadu_pd(acc[u]), hi[u] = _mm256_loadu_pd(acc[u] + 4);
    size_t px = 0;
    for (; px + 4 <= npix; px += 4)
        for (int u = 0; u < 4; u++) {
            const __m256 v = _mm256_loadu_ps(d + (px + u) * 8);
            lo[u] = _mm256_add_pd(lo[u], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            hi[u] = _mm256_add_pd(hi[u], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
    for (; px < npix; px++) {
        const __m256 v = _mm256_loadu_ps(d + px * 8);
        lo[0] = _mm256_add_pd(lo[0], _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
        hi[0] = _mm256_add_pd(hi[0], _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
    }
    for (int u = 0; u < 4; u++)
        _mm256_storeu_pd(acc[u], lo[u]), _mm256_storeu_pd(acc[u] + 4, hi[u]);
}
