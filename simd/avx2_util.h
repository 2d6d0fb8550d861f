/* avx2_util.h - small AVX2 helpers shared by the kernels in simd/ (included only by
 * the simd/ sources, which are compiled with -mavx2 -mfma). Static inline; no state. */
#ifndef CONVKIT_SIMD_AVX2_UTIL_H
#define CONVKIT_SIMD_AVX2_UTIL_H

#include <immintrin.h>

/* In-register transpose of the 8x8 matrix r[0..7] (row i = r[i]): unpack pairs of rows,
 * shuffle pairs of pairs, then swap 128-bit halves. */
static inline __attribute__((always_inline)) void ck_avx2_transpose8x8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

/* A mask of lanes 0..n-1 for maskload/maskstore (n <= 0: none, n >= 8: all). */
static inline __attribute__((always_inline)) __m256i ck_avx2_first_lanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* A prefetch into L2 spread over a kernel call's tiles: lines 0..lines-1 of a region of
 * segments of lps 64-byte lines each, stride bytes apart (one segment: lps = lines), per
 * lines at each step. */
struct ck_avx2_pf {
    const char *seg; /* the segment of the next line */
    size_t next, lines, per, lps, col;
    ptrdiff_t stride;
};

static inline void ck_avx2_pf_init(struct ck_avx2_pf *p, const void *base, size_t lps,
                                   size_t nseg, ptrdiff_t stride, size_t steps)
{
    p->seg = (const char *)base, p->next = 0, p->col = 0, p->stride = stride;
    p->lps = lps > 0 ? lps : 1;
    p->lines = base ? lps * nseg : 0;
    p->per = steps > 0 ? (p->lines + steps - 1) / steps : p->lines;
}

static inline __attribute__((always_inline)) void ck_avx2_pf_step(struct ck_avx2_pf *p)
{
    const size_t end = p->next + p->per < p->lines ? p->next + p->per : p->lines;
    for (; p->next < end; p->next++) {
        _mm_prefetch(p->seg + 64 * p->col, _MM_HINT_T1);
        if (++p->col == p->lps)
            p->col = 0, p->seg += p->stride;
    }
}

#endif
