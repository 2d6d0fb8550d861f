/* winograd.c - the portable half of Winograd F(m x m, 3x3): variant specs, the
 * portable C kernels (layout packing, input/output/gradient tile transforms, the 6 x nr
 * product kernel) written straight from the matrices in winograd.h, the fp64 filter
 * transforms, and the kernel tables (AVX2 ones from simd/winograd_avx2.c when compiled
 * and supported). No tiling, threads or workspace here: see src/conv_winograd.c.
 */
#include "winograd.h"

#include <string.h>

#include "convkit/cpu.h"
#ifdef CONVKIT_HAVE_AVX2
#include "winograd_avx2.h"
#endif

enum { L = CK_WINO_LANES, AMAX = 8 };

static const double points_f2[] = {0, 1, -1};
static const double points_f4[] = {0, 1, -1, 2, -2};
static const double points_f6[] = {0, 1, -1, 2, -2, 0.5, -0.5};

static const struct ck_wino_spec specs[CK_WINO_VARIANT_COUNT] = {
    {"F(2x2,3x3)", 2, 4, points_f2, ck_wino_f2_at, ck_wino_f2_g, ck_wino_f2_bt},
    {"F(4x4,3x3)", 4, 6, points_f4, ck_wino_f4_at, ck_wino_f4_g, ck_wino_f4_bt},
    {"F(6x6,3x3)", 6, 8, points_f6, ck_wino_f6_at, ck_wino_f6_g, ck_wino_f6_bt},
};

const struct ck_wino_spec *ck_wino_spec_get(enum ck_wino_variant v)
{
    return (unsigned)v < CK_WINO_VARIANT_COUNT ? &specs[v] : NULL;
}

/* ---- portable kernels (float arithmetic, so they behave like the SIMD ones) ---------- */

static void pack_portable(const float *src, size_t src_cs, int h_in, int w_in, int lanes,
                          int pt, int pl, float *dst, int hb, int wb)
{
    for (int i = 0; i < hb; i++) {
        const int h = i - pt;
        for (int j = 0; j < wb; j++) {
            const int w = j - pl;
            float *d = dst + ((size_t)i * wb + j) * L;
            const int inside = h >= 0 && h < h_in && w >= 0 && w < w_in;
            for (int l = 0; l < L; l++)
                d[l] = inside && l < lanes ? src[l * src_cs + (size_t)h * w_in + w] : 0.0f;
        }
    }
}

/* v(a, b) = sum_{i,j < n} c(a, i) d(i, j) c(b, j) over alpha x alpha, with
 * c(a, i) = mat[a * sa + i * si] and d(i, j) = d[i * d_rs + j * L]: the input
 * (c = BT, n = alpha), output-gradient (c = AT transposed, n = m) and filter
 * (c = G, n = 3) transforms are all this one separable product. */
static void sandwich(const double *mat, int sa, int si, int al, int n, const float *d,
                     size_t d_rs, float *v, size_t v_xs)
{
    float t[AMAX][AMAX][L]; /* t[a][j] = sum_i c(a, i) d(i, j) */
    for (int a = 0; a < al; a++)
        for (int j = 0; j < n; j++) {
            float acc[L] = {0};
            for (int i = 0; i < n; i++) {
                const float c = (float)mat[a * sa + i * si];
                for (int l = 0; l < L; l++)
                    acc[l] += c * d[(size_t)i * d_rs + (size_t)j * L + l];
            }
            memcpy(t[a][j], acc, sizeof acc);
        }
    for (int a = 0; a < al; a++)
        for (int b = 0; b < al; b++) {
            float acc[L] = {0};
            for (int j = 0; j < n; j++) {
                const float c = (float)mat[b * sa + j * si];
                for (int l = 0; l < L; l++)
                    acc[l] += c * t[a][j][l];
            }
            memcpy(v + (size_t)(a * al + b) * v_xs, acc, sizeof acc);
        }
}

/* v(a, b) = sum_{i,j} BT[a][i] d(i, j) BT[b][j] over alpha x alpha. */
static void input_generic(const struct ck_wino_spec *s, const float *d, size_t d_rs,
                          float *v, size_t v_xs)
{
    sandwich(s->bt, s->alpha, 1, s->alpha, s->alpha, d, d_rs, v, v_xs);
}

/* o(i, j) = sum_{a,b} AT[i][a] M(a, b) AT[j][b] (+ bias), stored to NCHW. */
static void output_generic(const struct ck_wino_spec *s, const float *mm, size_t m_xs,
                           const float *bias, float *y, size_t y_cs, size_t y_rs, int rows,
                           int cols, int lanes)
{
    const int al = s->alpha, m = s->m;
    float t[AMAX][AMAX][L]; /* t[a][j] = sum_b M(a, b) AT[j][b] */
    for (int a = 0; a < al; a++)
        for (int j = 0; j < m; j++) {
            float acc[L] = {0};
            for (int b = 0; b < al; b++) {
                const float c = (float)s->at[j * al + b];
                const float *m_ab = mm + (size_t)(a * al + b) * m_xs;
                for (int l = 0; l < L; l++)
                    acc[l] += c * m_ab[l];
            }
            memcpy(t[a][j], acc, sizeof acc);
        }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            float acc[L] = {0};
            for (int a = 0; a < al; a++) {
                const float c = (float)s->at[i * al + a];
                for (int l = 0; l < L; l++)
                    acc[l] += c * t[a][j][l];
            }
            for (int l = 0; l < lanes; l++)
                y[l * y_cs + (size_t)i * y_rs + j] = bias ? acc[l] + bias[l] : acc[l];
        }
}

/* v(a, b) = sum_{i,j < m} AT[i][a] d(i, j) AT[j][b]. */
static void dy_generic(const struct ck_wino_spec *s, const float *d, size_t d_rs, float *v,
                       size_t v_xs)
{
    sandwich(s->at, 1, s->alpha, s->alpha, s->m, d, d_rs, v, v_xs);
}

/* u(a, b) = sum_{r,s} G[a][r] g(r, s) G[b][s] for 8 filters in lanes; g is 3x3 x L. */
static void filter_generic(const struct ck_wino_spec *s, const float *g, float *u, size_t u_xs)
{
    sandwich(s->g, 3, 1, s->alpha, 3, g, 3 * L, u, u_xs);
}

static void gemm_portable(size_t kc, const float *a, size_t a_rs, size_t a_cs, const float *b,
                          size_t ldb, float *c, size_t ldc, int nr, int accumulate)
{
    enum { MR = CK_WINO_MR, NR = CK_WINO_NR };
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < nr; j++)
            acc[i][j] = 0.0f;
    for (size_t p = 0; p < kc; p++) {
        const float *b_p = b + p * ldb;
        for (int i = 0; i < MR; i++) {
            const float a_ip = a[i * a_rs + p * a_cs];
            for (int j = 0; j < nr; j++)
                acc[i][j] += a_ip * b_p[j];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

/* One set of portable wrappers per variant (the table needs plain function pointers). */
#define CK_WINO_PORTABLE(V, IDX)                                                            \
    static void input_##V(const float *d, size_t d_rs, float *v, size_t v_xs)              \
    {                                                                                       \
        input_generic(&specs[IDX], d, d_rs, v, v_xs);                                       \
    }                                                                                       \
    static void output_##V(const float *mm, size_t m_xs, const float *bias, float *y,      \
                           size_t y_cs, size_t y_rs, int rows, int cols, int lanes)        \
    {                                                                                       \
        output_generic(&specs[IDX], mm, m_xs, bias, y, y_cs, y_rs, rows, cols, lanes);     \
    }                                                                                       \
    static void dy_##V(const float *d, size_t d_rs, float *v, size_t v_xs)                 \
    {                                                                                       \
        dy_generic(&specs[IDX], d, d_rs, v, v_xs);                                          \
    }                                                                                       \
    static void filter_##V(const float *g, float *u, size_t u_xs)                          \
    {                                                                                       \
        filter_generic(&specs[IDX], g, u, u_xs);                                            \
    }
CK_WINO_PORTABLE(f2, CK_WINO_F2)
CK_WINO_PORTABLE(f4, CK_WINO_F4)
CK_WINO_PORTABLE(f6, CK_WINO_F6)
#undef CK_WINO_PORTABLE

static const struct ck_wino_kernels portable[CK_WINO_VARIANT_COUNT] = {
    {"portable", pack_portable, filter_f2, input_f2, output_f2, dy_f2, gemm_portable},
    {"portable", pack_portable, filter_f4, input_f4, output_f4, dy_f4, gemm_portable},
    {"portable", pack_portable, filter_f6, input_f6, output_f6, dy_f6, gemm_portable},
};

#ifdef CONVKIT_HAVE_AVX2
static const struct ck_wino_kernels avx2[CK_WINO_VARIANT_COUNT] = {
    {"avx2", ck_wino_pack__avx2, ck_wino_filter_f2__avx2, ck_wino_input_f2__avx2, ck_wino_output_f2__avx2,
     ck_wino_dy_f2__avx2, ck_wino_gemm__avx2},
    {"avx2", ck_wino_pack__avx2, ck_wino_filter_f4__avx2, ck_wino_input_f4__avx2, ck_wino_output_f4__avx2,
     ck_wino_dy_f4__avx2, ck_wino_gemm__avx2},
    {"avx2", ck_wino_pack__avx2, ck_wino_filter_f6__avx2, ck_wino_input_f6__avx2, ck_wino_output_f6__avx2,
     ck_wino_dy_f6__avx2, ck_wino_gemm__avx2},
};
#endif

const struct ck_wino_kernels *ck_wino_kernels_get(enum ck_wino_variant v, int simd)
{
    if ((unsigned)v >= CK_WINO_VARIANT_COUNT)
        return NULL;
    if (!simd)
        return &portable[v];
#ifdef CONVKIT_HAVE_AVX2
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA;
    if ((ck_cpu_features() & need) == need)
        return &avx2[v];
#endif
    return NULL;
}

const struct ck_wino_kernels *ck_wino_kernels_best(enum ck_wino_variant v)
{
    const struct ck_wino_kernels *k = ck_wino_kernels_get(v, 1);
    return k ? k : ck_wino_kernels_get(v, 0);
}

/* ---- weight-gradient back-transform (fp64: once per weight, accuracy is free) -------- */

void ck_wino_filter_gradient(const struct ck_wino_spec *s, const float *u, size_t u_xs,
                             double *g)
{
    const int al = s->alpha;
    double t[AMAX][3]; /* t[a][c] = sum_b U[a][b] G[b][c] */
    for (int a = 0; a < al; a++)
        for (int c = 0; c < 3; c++) {
            double acc = 0.0;
            for (int b = 0; b < al; b++)
                acc += (double)u[(size_t)(a * al + b) * u_xs] * s->g[b * 3 + c];
            t[a][c] = acc;
        }
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            double acc = 0.0;
            for (int a = 0; a < al; a++)
                acc += s->g[a * 3 + r] * t[a][c];
            g[r * 3 + c] = acc;
        }
}
