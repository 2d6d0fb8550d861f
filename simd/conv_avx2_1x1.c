/* conv_avx2_1x1.c - the AVX2/FMA kernel of backend "avx2" for 1x1 stride-1 unpadded
 * convolutions (forward and backward-data), reading and writing NCHW planes in place;
 * contract in conv_avx2.h (struct ck_dconv_1x1).
 *
 * Pixels are in the lanes: a register tile is NM output rows x NV vectors of 8 pixels
 * (6x2 = 12 FMA accumulators); per reduction row NV loads of the input row and NM
 * broadcast weights (side by side in the packed weights) feed NM*NV FMAs, like a GEMM
 * micro-kernel on a packed A and an unpacked B. The last vector of a row may be partial
 * (masked loads and stores). No layout conversion of activations, no weight packing, no
 * threading here.
 */
#include <immintrin.h>

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

/* Rows m0..m0+NM-1, pixels j0..j0+8*NV-1 (the last vector masked with mask if MASK).
 * With pf, also prefetches the next pixel tile of each input row (one line a row). */
CK_INLINE void tile(const struct ck_dconv_1x1 *a, int m0, int j0, __m256i mask, int pf,
                    const int NM, const int NV, const int MASK)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int m = 0; m < NM; m++) {
        const __m256 b = a->bias ? _mm256_broadcast_ss(a->bias + m0 + m) : _mm256_setzero_ps();
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            acc[m][v] = b;
    }
    const float *x = a->in + j0, *w = a->w + (ptrdiff_t)(m0 / 6) * a->nr * 6;
    for (int r = 0; r < a->nr; r++, x += a->in_r, w += 6) {
        __m256 xv[2];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++)
            xv[v] = MASK && v == NV - 1 ? _mm256_maskload_ps(x + 8 * v, mask)
                                        : _mm256_loadu_ps(x + 8 * v);
        if (pf)
            _mm_prefetch((const char *)(x + 8 * NV), _MM_HINT_T0);
#pragma GCC unroll 6
        for (int m = 0; m < NM; m++) {
            const __m256 wv = _mm256_broadcast_ss(w + m);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                acc[m][v] = _mm256_fmadd_ps(wv, xv[v], acc[m][v]);
        }
    }
#pragma GCC unroll 6
    for (int m = 0; m < NM; m++) {
        float *o = a->out + (m0 + m) * a->out_m + j0;
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            if (MASK && v == NV - 1)
                _mm256_maskstore_ps(o + 8 * v, mask, acc[m][v]);
            else
                _mm256_storeu_ps(o + 8 * v, acc[m][v]);
        }
    }
}

typedef void (*tile_fn)(const struct ck_dconv_1x1 *, int, int, __m256i, int);

#define TILE_FN(nm)                                                                       \
    static void full_##nm(const struct ck_dconv_1x1 *a, int m0, int j0, __m256i k, int p) \
    {                                                                                     \
        tile(a, m0, j0, k, p, nm, 2, 0);                                                  \
    }                                                                                     \
    static void one_##nm(const struct ck_dconv_1x1 *a, int m0, int j0, __m256i k, int p)  \
    {                                                                                     \
        tile(a, m0, j0, k, p, nm, 1, 1);                                                  \
    }                                                                                     \
    static void two_##nm(const struct ck_dconv_1x1 *a, int m0, int j0, __m256i k, int p)  \
    {                                                                                     \
        tile(a, m0, j0, k, p, nm, 2, 1);                                                  \
    }
TILE_FN(1) TILE_FN(2) TILE_FN(3) TILE_FN(4) TILE_FN(5) TILE_FN(6)

/* [kind][nm-1]: kind 0 = 16 full pixels, 1 = up to 8 (masked), 2 = 9..16 (masked) */
static const tile_fn tile_fns[3][6] = {
    {full_1, full_2, full_3, full_4, full_5, full_6},
    {one_1, one_2, one_3, one_4, one_5, one_6},
    {two_1, two_2, two_3, two_4, two_5, two_6},
};

/* The tile_fns kind of a pixel tile of n (1..16) pixels, and the mask of its last vector's
 * valid lanes. */
static inline int tile_kind(int n, __m256i *mask)
{
    const int kind = n == 16 ? 0 : n <= 8 ? 1 : 2, last = n - (kind == 2 ? 8 : 0);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    *mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(last), lane);
    return kind;
}

/* Pixel tiles of 16 with each tile's input rows first copied next to each other (16
 * floats apart), prefetching the next tile's while copying. */
enum { MAX_ROWS = 256 }; /* MAX_1X1_ROWS in conv_avx2_layout.h */

static void copied(const struct ck_dconv_1x1 *a)
{
    float xt[MAX_ROWS * 16] __attribute__((aligned(32)));
    struct ck_dconv_1x1 t = *a;
    t.in = xt, t.in_r = 16;
    for (int j0 = 0; j0 < a->npix; j0 += 16, t.out += 16) {
        const int n = a->npix - j0 < 16 ? a->npix - j0 : 16;
        __m256i mask;
        const int kind = tile_kind(n, &mask);
        for (int r = 0; r < a->nr; r++) {
            const float *x = a->in + r * a->in_r + j0;
            if (j0 + 16 < a->npix)
                _mm_prefetch((const char *)(x + 16), _MM_HINT_T0);
            for (int j = 0; j < n; j++)
                xt[r * 16 + j] = x[j];
        }
        for (int m0 = 0; m0 < a->nm; m0 += 6) {
            const int nm = a->nm - m0 < 6 ? a->nm - m0 : 6;
            tile_fns[kind][nm - 1](&t, m0, 0, mask, 0);
        }
    }
}

/* With planes a multiple of 4 KiB apart (32x32 images and up by powers of two) every
 * input row of a pixel tile sits in the same L1 set, so the rows fall out of L1 before
 * the next row tile reads them again: those are copied. Measured on the Intel host
 * (in-process A/B, 1 thread): 32x32 and 64x64 planes 11-13% faster in both passes; 1 KiB
 * planes (16x16) mixed (forward 2% faster, backward-data 5% slower) and other sizes 0-3%
 * slower, so they stay in place. */
void ck_dconv_1x1__avx2(const struct ck_dconv_1x1 *a)
{
    if (a->in_r % 1024 == 0 && a->nr <= MAX_ROWS) {
        copied(a);
        return;
    }
    for (int j0 = 0; j0 < a->npix; j0 += 16) {
        const int n = a->npix - j0 < 16 ? a->npix - j0 : 16;
        __m256i mask;
        const int kind = tile_kind(n, &mask);
        for (int m0 = 0; m0 < a->nm; m0 += 6) {
            const int nm = a->nm - m0 < 6 ? a->nm - m0 : 6;
            /* the first row tile fetches the next pixel tile's input into L1 */
            tile_fns[kind][nm - 1](a, m0, j0, mask, m0 == 0 && j0 + 16 < a->npix);
        }
    }
}
