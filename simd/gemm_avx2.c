/* gemm_avx2.c - the AVX2+FMA 6x16 SGEMM micro-kernel and a transposing B packer.
 *
 * Contract (packed layouts, alpha/beta, edges) is documented once in src/gemm.c and is
 * the same as ck_sgemm_ukernel_6x16__ref. Register use: 12 ymm accumulators (6 rows x
 * 2 vectors of 8 columns), 2 for the B row, 1 for the broadcast A element = 15 of 16.
 * Per k: 2 aligned loads + 6 broadcasts for 12 FMAs, which fits Zen 1's one 256-bit
 * FMA and ~one 256-bit load per cycle. Full 16-column tiles only; a variant stores
 * only the first mr rows (the bottom edge of C); the driver handles the other edges.
 * The packers turn 16 k-contiguous columns into one B panel and 6 k-contiguous rows
 * into one A sliver, 8x8 register transposes at a time.
 */
#include <immintrin.h>

#include "avx2_util.h"
#include "simd.h"

#define CK_FMA_ROW(i)                                                                     \
    do {                                                                                  \
        const __m256 a_i = _mm256_broadcast_ss(a + (i));                                  \
        c##i##0 = _mm256_fmadd_ps(a_i, b0, c##i##0);                                      \
        c##i##1 = _mm256_fmadd_ps(a_i, b1, c##i##1);                                      \
    } while (0)

#define CK_STORE_ROW(i)                                                                   \
    do {                                                                                  \
        float *c_i = c + (i) * ldc;                                                       \
        if (beta == 0.0f) {                                                               \
            _mm256_storeu_ps(c_i, _mm256_mul_ps(c##i##0, va));                            \
            _mm256_storeu_ps(c_i + 8, _mm256_mul_ps(c##i##1, va));                        \
        } else {                                                                          \
            _mm256_storeu_ps(c_i, _mm256_fmadd_ps(c##i##0, va,                            \
                                                  _mm256_mul_ps(vb, _mm256_loadu_ps(c_i)))); \
            _mm256_storeu_ps(c_i + 8,                                                     \
                             _mm256_fmadd_ps(c##i##1, va,                                 \
                                             _mm256_mul_ps(vb, _mm256_loadu_ps(c_i + 8)))); \
        }                                                                                 \
    } while (0)

/* a is the packed sliver (kc x 6, a[k*6 + i]), b the packed panel (kc x 16, 32-byte
 * aligned, b[k*16 + j]), c the tile with row stride ldc; only its first mr rows are
 * stored (the others are computed from zero padding and dropped). */
static inline __attribute__((always_inline)) void
kernel_6x16(size_t kc, const float *a, const float *b, float *c, size_t ldc, float alpha,
            float beta, size_t mr)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (size_t i = 0; i < mr; i++)
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0),
            _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);

#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        CK_FMA_ROW(0);
        CK_FMA_ROW(1);
        CK_FMA_ROW(2);
        CK_FMA_ROW(3);
        CK_FMA_ROW(4);
        CK_FMA_ROW(5);
        a += 6;
        b += 16;
    }

    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    CK_STORE_ROW(0);
    if (mr > 1)
        CK_STORE_ROW(1);
    if (mr > 2)
        CK_STORE_ROW(2);
    if (mr > 3)
        CK_STORE_ROW(3);
    if (mr > 4)
        CK_STORE_ROW(4);
    if (mr > 5)
        CK_STORE_ROW(5);
}

void ck_sgemm_ukernel_6x16__avx2(size_t kc, const float *a, const float *b, float *c,
                                 size_t ldc, float alpha, float beta)
{
    kernel_6x16(kc, a, b, c, ldc, alpha, beta, 6);
}

void ck_sgemm_ukernel_6x16_rows__avx2(size_t kc, const float *a, const float *b, float *c,
                                      size_t ldc, float alpha, float beta, size_t mr)
{
    kernel_6x16(kc, a, b, c, ldc, alpha, beta, mr);
}

/* cols[j] is column j of the panel (contiguous along k); bp is kc rows of 16. */
void ck_sgemm_pack_t16__avx2(size_t kc, const float *const cols[16], float *bp)
{
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        for (int h = 0; h < 16; h += 8) {
            __m256 r[8];
            for (int j = 0; j < 8; j++)
                r[j] = cols[h + j] ? _mm256_loadu_ps(cols[h + j] + k) : _mm256_setzero_ps();
            ck_avx2_transpose8x8(r);
            for (int t = 0; t < 8; t++)
                _mm256_storeu_ps(bp + (k + t) * 16 + h, r[t]);
        }
    }
    for (; k < kc; k++)
        for (int j = 0; j < 16; j++)
            bp[k * 16 + j] = cols[j] ? cols[j][k] : 0.0f;
}

/* rows[i] is row i of the sliver (contiguous along k); ap is kc columns of 6. */
void ck_sgemm_pack_a6__avx2(size_t kc, const float *const rows[6], float *ap)
{
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        __m256 r[8];
        for (int i = 0; i < 6; i++)
            r[i] = rows[i] ? _mm256_loadu_ps(rows[i] + k) : _mm256_setzero_ps();
        r[6] = r[7] = _mm256_setzero_ps();
        ck_avx2_transpose8x8(r);
        /* 8-float stores 6 apart: each one's last 2 lanes are overwritten by the next;
         * the sliver's last column goes through a copy so nothing past it is touched */
        const int last = k + 8 == kc;
        for (int t = 0; t < 8 - last; t++)
            _mm256_storeu_ps(ap + (k + t) * 6, r[t]);
        if (last) {
            float tmp[8];
            _mm256_storeu_ps(tmp, r[7]);
            for (int i = 0; i < 6; i++)
                ap[(k + 7) * 6 + i] = tmp[i];
        }
    }
    for (; k < kc; k++)
        for (int i = 0; i < 6; i++)
            ap[k * 6 + i] = rows[i] ? rows[i][k] : 0.0f;
}
