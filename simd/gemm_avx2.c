/* gemm_avx2.c - the AVX2+FMA 6x16 SGEMM micro-kernel and a transposing B packer.
 *
 * Contract (packed layouts, alpha/beta, edges) is documented once in src/gemm.c and is
 * the same as ck_sgemm_ukernel_6x16__ref. Register use: 12 ymm accumulators (6 rows x
 * 2 vectors of 8 columns), 2 for the B row, 1 for the broadcast A element = 15 of 16.
 * Per k: 2 loads + 6 broadcasts for 12 FMAs, which fits Zen 1's one 256-bit FMA and
 * ~one 256-bit load per cycle. A variant does partial tiles: the FMAs of rows past mr
 * (and of columns 8..15 when nr <= 8) are not done, columns past nr are masked; another
 * also adds a per-row bias to the stored tile; another stores a write-once C by
 * non-temporal stores.
 * The packers turn 16 k-contiguous columns into one B panel and 6 k-contiguous rows
 * into one A sliver, 8x8 register transposes at a time. A 4x3 dot-product kernel
 * serves the driver's unpacked path for a long K and a tiny C (gemm.c).
 */
#include <immintrin.h>

#include "avx2_util.h"
#include "gemm_impl.h"
#include "simd.h"

#define CK_FMA_ROW(i)                                                                     \
    do {                                                                                  \
        if ((i) < mr) {                                                                   \
            const __m256 a_i = _mm256_broadcast_ss(a + (i));                              \
            c##i##0 = _mm256_fmadd_ps(a_i, b0, c##i##0);                                  \
            if (!half)                                                                    \
                c##i##1 = _mm256_fmadd_ps(a_i, b1, c##i##1);                              \
        }                                                                                 \
    } while (0)

/* Row i of the tile: columns 0..7 from c_i0, 8..15 from c_i1; m0/m1 mask the columns
 * past nr (masked lanes are neither read nor written). */
#define CK_STORE_ROW(i)                                                                   \
    do {                                                                                  \
        if ((i) < mr) {                                                                   \
            float *c_i = c + (i) * ldc;                                                   \
            __m256 v0 = _mm256_mul_ps(c##i##0, va), v1 = _mm256_mul_ps(c##i##1, va);      \
            if (beta != 0.0f) {                                                           \
                v0 = _mm256_fmadd_ps(vb, full ? _mm256_loadu_ps(c_i)                      \
                                              : _mm256_maskload_ps(c_i, m0), v0);         \
                if (!half)                                                                \
                    v1 = _mm256_fmadd_ps(vb, full ? _mm256_loadu_ps(c_i + 8)              \
                                                  : _mm256_maskload_ps(c_i + 8, m1), v1); \
            }                                                                             \
            if (add) { /* after alpha and beta, as a separate pass over C would */        \
                const __m256 add_i = _mm256_broadcast_ss(add + (i));                      \
                v0 = _mm256_add_ps(v0, add_i);                                            \
                v1 = _mm256_add_ps(v1, add_i);                                            \
            }                                                                             \
            if (nt) { /* write-once C: no read for ownership, not cached */               \
                _mm256_stream_ps(c_i, v0);                                                \
                _mm256_stream_ps(c_i + 8, v1);                                            \
            } else if (full) {                                                            \
                _mm256_storeu_ps(c_i, v0);                                                \
                _mm256_storeu_ps(c_i + 8, v1);                                            \
            } else {                                                                      \
                _mm256_maskstore_ps(c_i, m0, v0);                                         \
                if (!half)                                                                \
                    _mm256_maskstore_ps(c_i + 8, m1, v1);                                 \
            }                                                                             \
        }                                                                                 \
    } while (0)

/* a is the packed sliver (kc x 6, a[k*6 + i]), b the packed panel (kc x 16, 32-byte
 * aligned, b[k*16 + j]), c the tile with row stride ldc. Only rows i < mr and columns
 * j < nr of C are read or written; mr and half (nr <= 8: the right half is not
 * computed) are constants in every instantiation, so the FMAs of rows past mr are
 * compiled out. nt (full width, beta 0, 32-byte aligned rows): stores bypass the
 * caches and C is not prefetched. */
static inline __attribute__((always_inline)) void
kernel_6x16(size_t kc, const float *a, const float *b, float *c, size_t ldc,
            float alpha, float beta, const int mr, const int half, size_t nr,
            const float *add, const int nt)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    if (!nt)
        for (int i = 0; i < mr; i++)
            _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0),
                _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);

#pragma GCC unroll 4
    for (size_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_load_ps(b);
        const __m256 b1 = half ? b0 : _mm256_load_ps(b + 8);
        CK_FMA_ROW(0);
        CK_FMA_ROW(1);
        CK_FMA_ROW(2);
        CK_FMA_ROW(3);
        CK_FMA_ROW(4);
        CK_FMA_ROW(5);
        a += 6;
        b += 16;
    }

    const int full = nr == 16;
    const __m256i m0 = ck_avx2_first_lanes((int)nr), m1 = ck_avx2_first_lanes((int)nr - 8);
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    CK_STORE_ROW(0);
    CK_STORE_ROW(1);
    CK_STORE_ROW(2);
    CK_STORE_ROW(3);
    CK_STORE_ROW(4);
    CK_STORE_ROW(5);
}

void ck_sgemm_ukernel_6x16__avx2(size_t kc, const float *a, const float *b, float *c,
                                 size_t ldc, float alpha, float beta)
{
    kernel_6x16(kc, a, b, c, ldc, alpha, beta, 6, 0, 16, NULL, 0);
}

void ck_sgemm_ukernel_6x16_nt__avx2(size_t kc, const float *a, const float *b, float *c,
                                    size_t ldc, float alpha, size_t mr)
{
#define CK_NT_CASE(m)                                                                     \
    case m:                                                                               \
        kernel_6x16(kc, a, b, c, ldc, alpha, 0.0f, m, 0, 16, NULL, 1);                    \
        return
    switch (mr) {
        CK_NT_CASE(1);
        CK_NT_CASE(2);
        CK_NT_CASE(3);
        CK_NT_CASE(4);
        CK_NT_CASE(5);
    default:
        kernel_6x16(kc, a, b, c, ldc, alpha, 0.0f, 6, 0, 16, NULL, 1);
    }
#undef CK_NT_CASE
}

/* Orders the non-temporal stores before anything after it (C is then visible). */
void ck_sgemm_store_fence__avx2(void)
{
    _mm_sfence();
}

/* add[i] (NULL: nothing) is added to row i of the result (a bias; gemm_impl.h). The
 * switch makes mr and half constants in each call, so no FMA of an absent row is done. */
#define CK_EDGE_CASE(m)                                                                   \
    case m:                                                                               \
        if (nr <= 8)                                                                      \
            kernel_6x16(kc, a, b, c, ldc, alpha, beta, m, 1, nr, add, 0);                 \
        else                                                                              \
            kernel_6x16(kc, a, b, c, ldc, alpha, beta, m, 0, nr, add, 0);                 \
        return

void ck_sgemm_ukernel_6x16_add__avx2(size_t kc, const float *a, const float *b, float *c,
                                     size_t ldc, float alpha, float beta, const float *add,
                                     size_t mr, size_t nr)
{
    switch (mr) {
        CK_EDGE_CASE(1);
        CK_EDGE_CASE(2);
        CK_EDGE_CASE(3);
        CK_EDGE_CASE(4);
        CK_EDGE_CASE(5);
    default:
        if (nr <= 8)
            kernel_6x16(kc, a, b, c, ldc, alpha, beta, 6, 1, nr, add, 0);
        else if (nr < 16)
            kernel_6x16(kc, a, b, c, ldc, alpha, beta, 6, 0, nr, add, 0);
        else
            kernel_6x16(kc, a, b, c, ldc, alpha, beta, 6, 0, 16, add, 0);
    }
}

void ck_sgemm_ukernel_6x16_part__avx2(size_t kc, const float *a, const float *b, float *c,
                                      size_t ldc, float alpha, float beta,
                                      size_t mr, size_t nr)
{
    ck_sgemm_ukernel_6x16_add__avx2(kc, a, b, c, ldc, alpha, beta, NULL, mr, nr);
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

/* Lane sum of v in a fixed order: (l0+l4) + (l2+l6) + (l1+l5) + (l3+l7) as below. */
static inline float hsum(__m256 v)
{
    __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    x = _mm_add_ps(x, _mm_movehl_ps(x, x));
    x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
    return _mm_cvtss_f32(x);
}

#define CK_DOT_ROW(i, LOAD)                                                               \
    do {                                                                                  \
        const __m256 va = LOAD(a##i + k);                                                 \
        s##i##0 = _mm256_fmadd_ps(va, vb0, s##i##0);                                      \
        s##i##1 = _mm256_fmadd_ps(va, vb1, s##i##1);                                      \
        s##i##2 = _mm256_fmadd_ps(va, vb2, s##i##2);                                      \
    } while (0)

#define CK_LOADU(p) _mm256_loadu_ps(p)
#define CK_LOADM(p) _mm256_maskload_ps(p, tail)

/* s[i*3 + j] = sum over k < kc of a[i][k] * b[j][k]: 12 dot products, 8 lanes each
 * (lane l sums k = l mod 8 in order; the kc % 8 tail by masked loads), lanes added by
 * hsum. An element's value depends only on its own two rows and kc. The 7 rows are
 * prefetched 1 KiB ahead: rows 2^n floats apart share cache sets, so they are often
 * not in L2 even when reused (prefetches past a row's end are harmless). */
void ck_sgemm_dot4x3__avx2(size_t kc, const float *const a[4], const float *const b[3],
                           float s[12])
{
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    const float *b0 = b[0], *b1 = b[1], *b2 = b[2];
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00;
    __m256 s20 = s00, s21 = s00, s22 = s00, s30 = s00, s31 = s00, s32 = s00;
    size_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        if (!(k & 8)) { /* one line of each of the 7 rows, 1 KiB ahead */
            _mm_prefetch((const char *)(a0 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(a1 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(a2 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(a3 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b0 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b1 + k + 256), _MM_HINT_T0);
            _mm_prefetch((const char *)(b2 + k + 256), _MM_HINT_T0);
        }
        const __m256 vb0 = _mm256_loadu_ps(b0 + k), vb1 = _mm256_loadu_ps(b1 + k);
        const __m256 vb2 = _mm256_loadu_ps(b2 + k);
        CK_DOT_ROW(0, CK_LOADU);
        CK_DOT_ROW(1, CK_LOADU);
        CK_DOT_ROW(2, CK_LOADU);
        CK_DOT_ROW(3, CK_LOADU);
    }
    if (k < kc) {
        const __m256i tail = ck_avx2_first_lanes((int)(kc - k));
        const __m256 vb0 = CK_LOADM(b0 + k), vb1 = CK_LOADM(b1 + k), vb2 = CK_LOADM(b2 + k);
        CK_DOT_ROW(0, CK_LOADM);
        CK_DOT_ROW(1, CK_LOADM);
        CK_DOT_ROW(2, CK_LOADM);
        CK_DOT_ROW(3, CK_LOADM);
    }
    s[0] = hsum(s00), s[1] = hsum(s01), s[2] = hsum(s02);
    s[3] = hsum(s10), s[4] = hsum(s11), s[5] = hsum(s12);
    s[6] = hsum(s20), s[7] = hsum(s21), s[8] = hsum(s22);
    s[9] = hsum(s30), s[10] = hsum(s31), s[11] = hsum(s32);
}
