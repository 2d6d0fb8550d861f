/* conv_avx2_pack.c - AVX2 layout conversion for backend "avx2": channel planes
 * (NCHW) <-> 8-channel interleaved pixels (NCHW8c), one 8x8 register transpose per
 * 8 pixels. Contract in conv_avx2.h. No padding logic and no threading here: the
 * driver calls these once per row or block.
 */
#include <immintrin.h>

#include "avx2_util.h"

#include "conv_avx2.h"

/* The last npix % 8 pixels go through one masked transpose, not element by element (a
 * 28-pixel row's 4 left-over pixels took as long as its 24 others). */
void ck_dconv_pack8__avx2(const float *src, ptrdiff_t src_ch, int nc, int npix, float *dst)
{
    int i = 0;
    for (; i + 8 <= npix; i += 8) {
        __m256 r[8];
        for (int c = 0; c < 8; c++)
            r[c] = c < nc ? _mm256_loadu_ps(src + c * src_ch + i) : _mm256_setzero_ps();
        ck_avx2_transpose8x8(r);
        for (int j = 0; j < 8; j++)
            _mm256_storeu_ps(dst + (ptrdiff_t)(i + j) * 8, r[j]);
    }
    if (i < npix) {
        const __m256i m = ck_avx2_first_lanes(npix - i);
        __m256 r[8];
        for (int c = 0; c < 8; c++)
            r[c] = c < nc ? _mm256_maskload_ps(src + c * src_ch + i, m) : _mm256_setzero_ps();
        ck_avx2_transpose8x8(r);
        for (int j = 0; j < npix - i; j++)
            _mm256_storeu_ps(dst + (ptrdiff_t)(i + j) * 8, r[j]);
    }
}

void ck_dconv_unpack8__avx2(const float *src, int nc, int npix, float *dst, ptrdiff_t dst_ch)
{
    int i = 0;
    for (; i + 8 <= npix; i += 8) {
        __m256 r[8];
        for (int j = 0; j < 8; j++)
            r[j] = _mm256_loadu_ps(src + (ptrdiff_t)(i + j) * 8);
        ck_avx2_transpose8x8(r);
        for (int c = 0; c < nc; c++)
            _mm256_storeu_ps(dst + c * dst_ch + i, r[c]);
    }
    if (i < npix) {
        const __m256i m = ck_avx2_first_lanes(npix - i);
        __m256 r[8];
        for (int j = 0; j < 8; j++)
            r[j] = j < npix - i ? _mm256_loadu_ps(src + (ptrdiff_t)(i + j) * 8)
                                : _mm256_setzero_ps();
        ck_avx2_transpose8x8(r);
        for (int c = 0; c < nc; c++)
            _mm256_maskstore_ps(dst + c * dst_ch + i, m, r[c]);
    }
}
