/* conv_avx2_fwd.c - the AVX2/FMA row kernel of the direct convolution (forward and
 * backward-data); contract in conv_avx2.h (struct ck_dconv_row).
 *
 * One register tile is NOB output blocks x UR pixels of 8-lane FMA accumulators
 * (NOB*UR <= 12), kept in ymm registers over the whole reduction: per reduction channel
 * NOB weight loads and UR broadcasts feed NOB*UR FMAs. Every (NOB, UR) pair is a
 * separate function generated from one always-inline template, so the compiler sees
 * constant trip counts, unrolls fully and keeps the accumulators in registers.
 * It does no layout conversion, no bounds checks and no threading.
 */
#include <immintrin.h>

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

/* One reduction channel: w points at the NOB x 8 interleaved weights, s at pixel 0. */
CK_INLINE void fma_channel(__m256 acc[4][12], const float *w, const float *s, ptrdiff_t s_pix,
                           const int NOB, const int UR)
{
    if (NOB <= UR) {
        __m256 wv[4];
#pragma GCC unroll 4
        for (int ob = 0; ob < NOB; ob++)
            wv[ob] = _mm256_loadu_ps(w + 8 * ob);
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++) {
            const __m256 xj = _mm256_broadcast_ss(s + j * s_pix);
#pragma GCC unroll 4
            for (int ob = 0; ob < NOB; ob++)
                acc[ob][j] = _mm256_fmadd_ps(wv[ob], xj, acc[ob][j]);
        }
    } else {
        __m256 xv[12];
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            xv[j] = _mm256_broadcast_ss(s + j * s_pix);
#pragma GCC unroll 4
        for (int ob = 0; ob < NOB; ob++) {
            const __m256 wv = _mm256_loadu_ps(w + 8 * ob);
#pragma GCC unroll 12
            for (int j = 0; j < UR; j++)
                acc[ob][j] = _mm256_fmadd_ps(wv, xv[j], acc[ob][j]);
        }
    }
}

/* One tile of UR pixels starting at src/dst (already offset to the tile's pixel 0). */
CK_INLINE void row_tile(const struct ck_dconv_row *a, const float *src, float *dst,
                        const int NOB, const int UR)
{
    __m256 acc[4][12];
#pragma GCC unroll 4
    for (int ob = 0; ob < NOB; ob++) {
        __m256 init = _mm256_setzero_ps();
        if (!a->accumulate && a->bias)
            init = _mm256_loadu_ps(a->bias + 8 * ob);
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            acc[ob][j] = a->accumulate ? _mm256_loadu_ps(dst + ob * a->dst_ob + j * a->dst_pix)
                                       : init;
    }
    const ptrdiff_t s_pix = a->src_pix, w_ch = 8 * NOB;
    const int fast = a->blk_len == 8 && a->src_ch == 1;
    for (int b = 0; b < a->nblk; b++) {
        const float *src_b = src + b * a->src_blk;
        const float *w_b = a->w + b * a->w_blk;
        for (int t = 0; t < a->ntap; t++) {
            const float *s = src_b + a->tap_src[t];
            const float *w = w_b + a->tap_w[t] * w_ch;
            if (fast) {
                /* blocked input: the 8 channels of a pixel are adjacent */
#pragma GCC unroll 8
                for (int ch = 0; ch < 8; ch++)
                    fma_channel(acc, w + w_ch * ch, s + ch, s_pix, NOB, UR);
            } else {
                for (int ch = 0; ch < a->blk_len; ch++)
                    fma_channel(acc, w + w_ch * ch, s + ch * a->src_ch, s_pix, NOB, UR);
            }
        }
    }
#pragma GCC unroll 4
    for (int ob = 0; ob < NOB; ob++)
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            _mm256_storeu_ps(dst + ob * a->dst_ob + j * a->dst_pix, acc[ob][j]);
}

typedef void (*row_fn)(const struct ck_dconv_row *, const float *, float *);

#define ROW_FN(nob, ur)                                                                   \
    static void row_##nob##x##ur(const struct ck_dconv_row *a, const float *src, float *dst) \
    {                                                                                     \
        row_tile(a, src, dst, nob, ur);                                                   \
    }
ROW_FN(1, 1) ROW_FN(1, 2) ROW_FN(1, 3) ROW_FN(1, 4) ROW_FN(1, 5) ROW_FN(1, 6)
ROW_FN(1, 7) ROW_FN(1, 8) ROW_FN(1, 9) ROW_FN(1, 10) ROW_FN(1, 11) ROW_FN(1, 12)
ROW_FN(2, 1) ROW_FN(2, 2) ROW_FN(2, 3) ROW_FN(2, 4) ROW_FN(2, 5) ROW_FN(2, 6)
ROW_FN(3, 1) ROW_FN(3, 2) ROW_FN(3, 3) ROW_FN(3, 4)
ROW_FN(4, 1) ROW_FN(4, 2) ROW_FN(4, 3)

/* row_fns[nob-1][ur-1]; NULL where nob*ur > 12 (never used). */
static const row_fn row_fns[4][12] = {
    {row_1x1, row_1x2, row_1x3, row_1x4, row_1x5, row_1x6, row_1x7, row_1x8, row_1x9,
     row_1x10, row_1x11, row_1x12},
    {row_2x1, row_2x2, row_2x3, row_2x4, row_2x5, row_2x6},
    {row_3x1, row_3x2, row_3x3, row_3x4},
    {row_4x1, row_4x2, row_4x3},
};

void ck_dconv_row__avx2(const struct ck_dconv_row *a)
{
    const int nob = a->nob, ur = CK_DCONV_UR(nob);
    const row_fn full = row_fns[nob - 1][ur - 1];
    int q = 0;
    for (; q + ur <= a->npix; q += ur)
        full(a, a->src + q * a->src_pix, a->dst + q * a->dst_pix);
    if (q < a->npix)
        row_fns[nob - 1][a->npix - q - 1](a, a->src + q * a->src_pix, a->dst + q * a->dst_pix);
}
