/* winograd_avx2.c - AVX2/FMA kernels of Winograd F(m x m, 3x3), 8 channels per ymm:
 * NCHW -> padded 8-channel blocks (8x8 register transposes), filter / input / output /
 * weight-gradient tile transforms, and the 6 x 16 (or 6 x 8) product kernel. Contracts and
 * matrices: src/winograd.h. The transforms are generated at compile time from those
 * matrices (zero terms vanish, +-1 become add/sub, the rest FMA), so one generic body
 * serves F(2), F(4) and F(6). No threads, no allocation, no tiling decisions here.
 */
#include <immintrin.h>

#include "avx2_util.h"

#include "winograd.h"
#include "winograd_avx2.h"

#define INLINE static inline __attribute__((always_inline))

enum { L = CK_WINO_LANES };

/* ---- helpers ---------------------------------------------------------------------- */

INLINE double coef(const double *M, int ld, int tr, int a, int i)
{
    return tr ? M[i * ld + a] : M[a * ld + i];
}

/* acc + c*x, where the first nonzero term (*first set) starts the sum. */
INLINE __m256 term(__m256 acc, int *first, double c, __m256 x)
{
    if (c == 0.0)
        return acc;
    if (*first) {
        *first = 0;
        if (c == 1.0)
            return x;
        return c == -1.0 ? _mm256_sub_ps(_mm256_setzero_ps(), x)
                         : _mm256_mul_ps(_mm256_set1_ps((float)c), x);
    }
    if (c == 1.0)
        return _mm256_add_ps(acc, x);
    if (c == -1.0)
        return _mm256_sub_ps(acc, x);
    return _mm256_fmadd_ps(_mm256_set1_ps((float)c), x, acc);
}

/* Rows a and a+1 have the same coefficients up to sign (B^T, and A = (A^T)^T). */
INLINE int rows_paired(const double *M, int ld, int tr, int cols, int a)
{
#pragma GCC unroll 8
    for (int i = 0; i < cols; i++)
        if (coef(M, ld, tr, a + 1, i) != coef(M, ld, tr, a, i) &&
            coef(M, ld, tr, a + 1, i) != -coef(M, ld, tr, a, i))
            return 0;
    return 1;
}

/* Columns i and i+1 have the same coefficients up to sign in every row (A^T). */
INLINE int cols_paired(const double *M, int ld, int tr, int rows, int i)
{
#pragma GCC unroll 8
    for (int a = 0; a < rows; a++)
        if (coef(M, ld, tr, a, i + 1) != coef(M, ld, tr, a, i) &&
            coef(M, ld, tr, a, i + 1) != -coef(M, ld, tr, a, i))
            return 0;
    return 1;
}

/* out[a] = sum_i c(a, i) * in[i], a < rows, i < cols, with c(a, i) = M[a*ld + i] or, if
 * tr, M[i*ld + a]. M is a compile-time constant matrix: after unrolling every branch
 * folds away, zero terms vanish, +-1 become add/sub. The matrices' symmetry (points in
 * +-p pairs) is used as in hand-written transforms: paired columns are combined once
 * (s = x_i + x_{i+1}, d = x_i - x_{i+1}), paired rows share an even and an odd part
 * (out_a = E + O, out_{a+1} = E - O). */
INLINE void matvec(const double *M, int ld, int tr, int rows, int cols, const __m256 *in,
                   __m256 *out)
{
    /* column pairs, greedily from the left */
    int cp[8] = {0};
    __m256 sum[8], dif[8];
#pragma GCC unroll 8
    for (int i = 0; i + 1 < cols; i++) {
        if (i > 0 && cp[i - 1])
            continue;
        int zero = 1, same = 0, opp = 0;
#pragma GCC unroll 8
        for (int a = 0; a < rows; a++) {
            const double c = coef(M, ld, tr, a, i);
            zero &= c == 0.0;
            same |= c != 0.0 && coef(M, ld, tr, a, i + 1) == c;
            opp |= c != 0.0 && coef(M, ld, tr, a, i + 1) == -c;
        }
        if (zero || !cols_paired(M, ld, tr, rows, i))
            continue;
        cp[i] = 1;
        if (same)
            sum[i] = _mm256_add_ps(in[i], in[i + 1]);
        if (opp)
            dif[i] = _mm256_sub_ps(in[i], in[i + 1]);
    }
    /* row pairs, greedily from the top: rp[a] = a is the first row of a pair */
    int rp[9] = {0};
#pragma GCC unroll 8
    for (int a = 0; a + 1 < rows; a++)
        rp[a] = !(a > 0 && rp[a - 1]) && rows_paired(M, ld, tr, cols, a);
#pragma GCC unroll 8
    for (int a = 0; a < rows; a++) {
        if (a > 0 && rp[a - 1])
            continue; /* written with row a - 1 */
        const int pair = rp[a];
        __m256 e = _mm256_setzero_ps(), o = _mm256_setzero_ps();
        int fe = 1, fo = 1;
#pragma GCC unroll 8
        for (int i = 0; i < cols; i++) {
            const double c = coef(M, ld, tr, a, i);
            if (i > 0 && cp[i - 1])
                continue;
            if (cp[i]) {
                const int s = coef(M, ld, tr, a, i + 1) == c;
                e = term(e, &fe, c, s ? sum[i] : dif[i]);
            } else if (pair && c != 0.0 && coef(M, ld, tr, a + 1, i) == -c) {
                o = term(o, &fo, c, in[i]);
            } else {
                e = term(e, &fe, c, in[i]);
            }
        }
        if (!pair) {
            out[a] = e;
        } else if (fo) {
            out[a] = out[a + 1] = e;
        } else if (fe) {
            out[a] = o;
            out[a + 1] = _mm256_sub_ps(_mm256_setzero_ps(), o);
        } else {
            out[a] = _mm256_add_ps(e, o);
            out[a + 1] = _mm256_sub_ps(e, o);
        }
    }
}

/* Store the m floats at lanes off .. off+m-1 of r to dst (off = q*m, m in 2, 4, 6). */
INLINE void store_m(float *dst, __m256 r, int off, int m)
{
    const __m128 lo = _mm256_castps256_ps128(r), hi = _mm256_extractf128_ps(r, 1);
    if (m == 4) {
        _mm_storeu_ps(dst, off == 0 ? lo : hi);
    } else if (m == 2) {
        /* unaligned 64-bit stores */
        _mm_storeu_si64(dst, _mm_castps_si128(off == 0 ? lo : _mm_movehl_ps(lo, lo)));
    } else {
        _mm_storeu_ps(dst, lo);
        _mm_storeu_si64(dst + 4, _mm_castps_si128(hi));
    }
}

/* ---- layout packing ------------------------------------------------------------------- */

void ck_wino_pack__avx2(const float *src, size_t src_cs, int h_in, int w_in, int lanes,
                        int pt, int pl, float *dst, int hb, int wb)
{
    const __m256 zero = _mm256_setzero_ps();
    for (int i = 0; i < hb; i++) {
        float *d = dst + (size_t)i * wb * L;
        const int h = i - pt;
        if (h < 0 || h >= h_in || lanes <= 0) {
            for (int j = 0; j < wb; j++)
                _mm256_storeu_ps(d + (size_t)j * L, zero);
            continue;
        }
        const float *s = src + (size_t)h * w_in;
        /* pixels j in [j_lo, j_hi) have a source column w = j - pl in [0, w_in) */
        const int j_lo = pl > 0 ? (pl < wb ? pl : wb) : 0;
        const int j_hi = pl + w_in < wb ? (pl + w_in > j_lo ? pl + w_in : j_lo) : wb;
        int j = 0;
        for (; j < j_lo; j++)
            _mm256_storeu_ps(d + (size_t)j * L, zero);
        for (; j + 8 <= j_hi; j += 8) {
            __m256 r[8];
            for (int l = 0; l < L; l++)
                r[l] = l < lanes ? _mm256_loadu_ps(s + l * src_cs + (j - pl)) : zero;
            ck_avx2_transpose8x8(r);
            for (int q = 0; q < 8; q++)
                _mm256_storeu_ps(d + (size_t)(j + q) * L, r[q]);
        }
        for (; j < j_hi; j++)
            for (int l = 0; l < L; l++)
                d[(size_t)j * L + l] = l < lanes ? s[l * src_cs + (j - pl)] : 0.0f;
        for (; j < wb; j++)
            _mm256_storeu_ps(d + (size_t)j * L, zero);
    }
}

/* ---- tile transforms -------------------------------------------------------------------- */

/* v(a, b) = sum_{i,j} BT[a][i] d(i, j) BT[b][j] */
INLINE void input_tile(const double *bt, int al, const float *d, size_t d_rs, float *v,
                       size_t v_xs)
{
    __m256 t[8][8]; /* t[j][a] = sum_i BT[a][i] d(i, j) */
    for (int j = 0; j < al; j++) {
        __m256 col[8];
        for (int i = 0; i < al; i++)
            col[i] = _mm256_loadu_ps(d + (size_t)i * d_rs + (size_t)j * L);
        matvec(bt, al, 0, al, al, col, t[j]);
    }
    for (int a = 0; a < al; a++) {
        __m256 row[8], out[8];
        for (int j = 0; j < al; j++)
            row[j] = t[j][a];
        matvec(bt, al, 0, al, al, row, out);
        for (int b = 0; b < al; b++)
            _mm256_storeu_ps(v + (size_t)(a * al + b) * v_xs, out[b]);
    }
}

/* o(i, j) = sum_{a,b} AT[i][a] M(a, b) AT[j][b] (+ bias), stored into NCHW planes. */
INLINE void output_tile(const double *at, int m, int al, const float *mm, size_t m_xs,
                        const float *bias, float *y, size_t y_cs, size_t y_rs, int rows,
                        int cols, int lanes)
{
    __m256 s[8][8]; /* s[a][j] = sum_b AT[j][b] M(a, b) */
    for (int a = 0; a < al; a++) {
        __m256 row[8];
        for (int b = 0; b < al; b++)
            row[b] = _mm256_loadu_ps(mm + (size_t)(a * al + b) * m_xs);
        matvec(at, al, 0, m, al, row, s[a]);
    }
    __m256 o[8][8]; /* o[i][j] */
    const __m256 bv = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    for (int j = 0; j < m; j++) {
        __m256 col[8], out[8];
        for (int a = 0; a < al; a++)
            col[a] = s[a][j];
        matvec(at, al, 0, m, al, col, out);
        for (int i = 0; i < m; i++)
            o[i][j] = bias ? _mm256_add_ps(out[i], bv) : out[i];
    }
    if (rows == m && cols == m && lanes == L) {
        /* rows per transpose: 8 lanes hold 2 rows of 4 (m=4), 2 rows of 2 (m=2), 1 of 6 */
        const int rpt = m == 6 ? 1 : 2;
        for (int i0 = 0; i0 < m; i0 += rpt) {
            __m256 r[8];
            for (int k = 0; k < 8; k++)
                r[k] = k < rpt * m ? o[i0 + k / m][k % m] : _mm256_setzero_ps();
            ck_avx2_transpose8x8(r);
            for (int l = 0; l < L; l++)
                for (int q = 0; q < rpt; q++)
                    store_m(y + l * y_cs + (size_t)(i0 + q) * y_rs, r[l], q * m, m);
        }
        return;
    }
    /* edge tile: spill and copy the valid part */
    float tmp[8][8][L];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < m; j++)
            _mm256_storeu_ps(tmp[i][j], o[i][j]);
    for (int l = 0; l < lanes; l++)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                y[l * y_cs + (size_t)i * y_rs + j] = tmp[i][j][l];
}

/* v(a, b) = sum_{i,j < m} AT[i][a] d(i, j) AT[j][b] */
INLINE void dy_tile(const double *at, int m, int al, const float *d, size_t d_rs, float *v,
                    size_t v_xs)
{
    __m256 t[8][8]; /* t[i][b] = sum_j AT[j][b] d(i, j) */
    for (int i = 0; i < m; i++) {
        __m256 row[8];
        for (int j = 0; j < m; j++)
            row[j] = _mm256_loadu_ps(d + (size_t)i * d_rs + (size_t)j * L);
        matvec(at, al, 1, al, m, row, t[i]);
    }
    for (int b = 0; b < al; b++) {
        __m256 col[8], out[8];
        for (int i = 0; i < m; i++)
            col[i] = t[i][b];
        matvec(at, al, 1, al, m, col, out);
        for (int a = 0; a < al; a++)
            _mm256_storeu_ps(v + (size_t)(a * al + b) * v_xs, out[a]);
    }
}

/* u(a, b) = sum_{r,s} G[a][r] g(r, s) G[b][s], 8 filters in the lanes */
INLINE void filter_tile(const double *gm, int al, const float *g, float *u, size_t u_xs)
{
    __m256 t[3][8]; /* t[c][a] = sum_r G[a][r] g(r, c) */
    for (int c = 0; c < 3; c++) {
        __m256 col[3];
        for (int r = 0; r < 3; r++)
            col[r] = _mm256_loadu_ps(g + (r * 3 + c) * L);
        matvec(gm, 3, 0, al, 3, col, t[c]);
    }
    for (int a = 0; a < al; a++) {
        __m256 row[3], out[8];
        for (int c = 0; c < 3; c++)
            row[c] = t[c][a];
        matvec(gm, 3, 0, al, 3, row, out);
        for (int b = 0; b < al; b++)
            _mm256_storeu_ps(u + (size_t)(a * al + b) * u_xs, out[b]);
    }
}

#define CK_WINO_AVX2(V, M, AL)                                                              \
    void ck_wino_filter_##V##__avx2(const float *g, float *u, size_t u_xs)                 \
    {                                                                                       \
        filter_tile(ck_wino_##V##_g, AL, g, u, u_xs);                                       \
    }                                                                                       \
    void ck_wino_input_##V##__avx2(const float *d, size_t d_rs, float *v, size_t v_xs)     \
    {                                                                                       \
        input_tile(ck_wino_##V##_bt, AL, d, d_rs, v, v_xs);                                 \
    }                                                                                       \
    void ck_wino_output_##V##__avx2(const float *mm, size_t m_xs, const float *bias,       \
                                    float *y, size_t y_cs, size_t y_rs, int rows, int cols, \
                                    int lanes)                                              \
    {                                                                                       \
        output_tile(ck_wino_##V##_at, M, AL, mm, m_xs, bias, y, y_cs, y_rs, rows, cols,     \
                    lanes);                                                                 \
    }                                                                                       \
    void ck_wino_dy_##V##__avx2(const float *d, size_t d_rs, float *v, size_t v_xs)        \
    {                                                                                       \
        dy_tile(ck_wino_##V##_at, M, AL, d, d_rs, v, v_xs);                                 \
    }
CK_WINO_AVX2(f2, 2, 4)
CK_WINO_AVX2(f4, 4, 6)
CK_WINO_AVX2(f6, 6, 8)
#undef CK_WINO_AVX2

/* ---- products: 6 x 16 / 6 x 8 register tile, A by broadcast ------------------------- */

/* Named accumulators (an array here ends up on the stack in every iteration). */
static void gemm_6x16(size_t kc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                      size_t ldb, float *c, size_t ldc, int accumulate)
{
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
    c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + a_rs, *a2 = a + 2 * a_rs, *a3 = a + 3 * a_rs;
    const float *a4 = a + 4 * a_rs, *a5 = a + 5 * a_rs;
    for (size_t p = 0, off = 0; p < kc; p++, off += a_cs, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 x = _mm256_broadcast_ss(a0 + off);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + off);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + off);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + off);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + off);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + off);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    if (accumulate) {
        c00 = _mm256_add_ps(_mm256_loadu_ps(c), c00);
        c01 = _mm256_add_ps(_mm256_loadu_ps(c + 8), c01);
        c10 = _mm256_add_ps(_mm256_loadu_ps(c + ldc), c10);
        c11 = _mm256_add_ps(_mm256_loadu_ps(c + ldc + 8), c11);
        c20 = _mm256_add_ps(_mm256_loadu_ps(c + 2 * ldc), c20);
        c21 = _mm256_add_ps(_mm256_loadu_ps(c + 2 * ldc + 8), c21);
        c30 = _mm256_add_ps(_mm256_loadu_ps(c + 3 * ldc), c30);
        c31 = _mm256_add_ps(_mm256_loadu_ps(c + 3 * ldc + 8), c31);
        c40 = _mm256_add_ps(_mm256_loadu_ps(c + 4 * ldc), c40);
        c41 = _mm256_add_ps(_mm256_loadu_ps(c + 4 * ldc + 8), c41);
        c50 = _mm256_add_ps(_mm256_loadu_ps(c + 5 * ldc), c50);
        c51 = _mm256_add_ps(_mm256_loadu_ps(c + 5 * ldc + 8), c51);
    }
    _mm256_storeu_ps(c, c00), _mm256_storeu_ps(c + 8, c01);
    _mm256_storeu_ps(c + ldc, c10), _mm256_storeu_ps(c + ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

static void gemm_6x8(size_t kc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                     size_t ldb, float *c, size_t ldc, int accumulate)
{
    __m256 c0, c1, c2, c3, c4, c5;
    c0 = c1 = c2 = c3 = c4 = c5 = _mm256_setzero_ps();
    const float *a0 = a, *a1 = a + a_rs, *a2 = a + 2 * a_rs, *a3 = a + 3 * a_rs;
    const float *a4 = a + 4 * a_rs, *a5 = a + 5 * a_rs;
    for (size_t p = 0, off = 0; p < kc; p++, off += a_cs, b += ldb) {
        const __m256 b0 = _mm256_loadu_ps(b);
        c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a0 + off), b0, c0);
        c1 = _mm256_fmadd_ps(_mm256_broadcast_ss(a1 + off), b0, c1);
        c2 = _mm256_fmadd_ps(_mm256_broadcast_ss(a2 + off), b0, c2);
        c3 = _mm256_fmadd_ps(_mm256_broadcast_ss(a3 + off), b0, c3);
        c4 = _mm256_fmadd_ps(_mm256_broadcast_ss(a4 + off), b0, c4);
        c5 = _mm256_fmadd_ps(_mm256_broadcast_ss(a5 + off), b0, c5);
    }
    if (accumulate) {
        c0 = _mm256_add_ps(_mm256_loadu_ps(c), c0);
        c1 = _mm256_add_ps(_mm256_loadu_ps(c + ldc), c1);
        c2 = _mm256_add_ps(_mm256_loadu_ps(c + 2 * ldc), c2);
        c3 = _mm256_add_ps(_mm256_loadu_ps(c + 3 * ldc), c3);
        c4 = _mm256_add_ps(_mm256_loadu_ps(c + 4 * ldc), c4);
        c5 = _mm256_add_ps(_mm256_loadu_ps(c + 5 * ldc), c5);
    }
    _mm256_storeu_ps(c, c0), _mm256_storeu_ps(c + ldc, c1);
    _mm256_storeu_ps(c + 2 * ldc, c2), _mm256_storeu_ps(c + 3 * ldc, c3);
    _mm256_storeu_ps(c + 4 * ldc, c4), _mm256_storeu_ps(c + 5 * ldc, c5);
}

void ck_wino_gemm__avx2(size_t kc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                        size_t ldb, float *c, size_t ldc, int nr, int accumulate)
{
    if (nr == 16)
        gemm_6x16(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
    else
        gemm_6x8(kc, a, a_rs, a_cs, b, ldb, c, ldc, accumulate);
}
