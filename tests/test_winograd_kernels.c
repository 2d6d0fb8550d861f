/* test_winograd_kernels.c - the Winograd F(m x m, 3x3) matrices and kernels, below the
 * backend (tests/test_winograd.c tests whole passes).
 *
 * The matrices in src/winograd.h are checked against their definition (exact 1-D and
 * 2-D identities in double, rows/columns as powers of the documented points); every
 * kernel (portable and AVX2 when the CPU has it) against an fp64 evaluation of its
 * contract. No timing.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "convkit/convkit.h"
#include "winograd.h"

/* splitmix64 -> uniform double in [-1, 1) */
static double urand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* ---------------------------------------------------------------------------------------
 * The matrices, from their definition.
 * ------------------------------------------------------------------------------------- */

Test(winograd, matrices_compute_correlation_exactly_in_1d_and_2d)
{
    uint64_t seed = 1;
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_wino_spec *s = ck_wino_spec_get((enum ck_wino_variant)v);
        cr_assert_not_null(s);
        const int m = s->m, al = s->alpha;
        cr_assert_eq(al, m + 2, "%s: alpha = m + r - 1", s->name);
        for (int trial = 0; trial < 20; trial++) {
            double g[3], d[8], gg[8], bd[8];
            for (int i = 0; i < 3; i++)
                g[i] = urand(&seed);
            for (int i = 0; i < al; i++)
                d[i] = urand(&seed);
            for (int j = 0; j < al; j++) {
                gg[j] = bd[j] = 0;
                for (int k = 0; k < 3; k++)
                    gg[j] += s->g[j * 3 + k] * g[k];
                for (int i = 0; i < al; i++)
                    bd[j] += s->bt[j * al + i] * d[i];
            }
            for (int i = 0; i < m; i++) {
                double y = 0, ref = 0;
                for (int j = 0; j < al; j++)
                    y += s->at[i * al + j] * gg[j] * bd[j];
                for (int k = 0; k < 3; k++)
                    ref += g[k] * d[i + k];
                cr_assert(fabs(y - ref) <= 1e-12, "%s 1-D: y[%d] = %.17g, correlation %.17g",
                          s->name, i, y, ref);
            }
        }
        /* 2-D: Y = A^T [(G g G^T) .* (B^T d B)] A against the direct 3x3 correlation */
        double g2[9], d2[64], u[64], vv[64];
        for (int i = 0; i < 9; i++)
            g2[i] = urand(&seed);
        for (int i = 0; i < al * al; i++)
            d2[i] = urand(&seed);
        for (int a = 0; a < al; a++)
            for (int b = 0; b < al; b++) {
                double su = 0, sv = 0;
                for (int r = 0; r < 3; r++)
                    for (int c = 0; c < 3; c++)
                        su += s->g[a * 3 + r] * g2[r * 3 + c] * s->g[b * 3 + c];
                for (int i = 0; i < al; i++)
                    for (int j = 0; j < al; j++)
                        sv += s->bt[a * al + i] * d2[i * al + j] * s->bt[b * al + j];
                u[a * al + b] = su, vv[a * al + b] = sv;
            }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                double y = 0, ref = 0;
                for (int a = 0; a < al; a++)
                    for (int b = 0; b < al; b++)
                        y += s->at[i * al + a] * u[a * al + b] * vv[a * al + b] * s->at[j * al + b];
                for (int r = 0; r < 3; r++)
                    for (int c = 0; c < 3; c++)
                        ref += g2[r * 3 + c] * d2[(i + r) * al + j + c];
                cr_assert(fabs(y - ref) <= 1e-11, "%s 2-D: y[%d][%d] = %.17g, direct %.17g",
                          s->name, i, j, y, ref);
            }
    }
}

/* A^T's columns evaluate the data polynomial at the documented points (last: infinity),
 * and G's rows are the filter's evaluations at the same points up to a scale. */
Test(winograd, matrices_use_the_documented_points)
{
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_wino_spec *s = ck_wino_spec_get((enum ck_wino_variant)v);
        const int m = s->m, al = s->alpha;
        for (int j = 0; j < al; j++) {
            const int inf = j == al - 1;
            const double pj = inf ? 0 : s->points[j];
            for (int i = 0; i < m; i++) {
                const double want = inf ? (i == m - 1) : pow(pj, i);
                cr_expect(s->at[i * al + j] == want, "%s A^T[%d][%d] = %g, point %g^%d = %g",
                          s->name, i, j, s->at[i * al + j], pj, i, want);
            }
            const double scale = inf ? s->g[j * 3 + 2] : s->g[j * 3];
            cr_expect(scale != 0, "%s G row %d has no scale", s->name, j);
            for (int k = 0; k < 3; k++) {
                const double want = scale * (inf ? (k == 2) : pow(pj, k));
                cr_expect(fabs(s->g[j * 3 + k] - want) <= 1e-15, "%s G[%d][%d] = %.17g, want %.17g",
                          s->name, j, k, s->g[j * 3 + k], want);
            }
        }
        for (int j = 0; j + 1 < al - 1; j++)
            for (int l = j + 1; l < al - 1; l++)
                cr_expect(s->points[j] != s->points[l], "%s repeats point %g", s->name,
                          s->points[j]);
    }
    /* never the unstable integer +-3 points */
    const struct ck_wino_spec *f6 = ck_wino_spec_get(CK_WINO_F6);
    for (int j = 0; j < f6->alpha - 1; j++)
        cr_expect(fabs(f6->points[j]) != 3.0, "F(6x6,3x3) uses the point %g", f6->points[j]);
}

Test(winograd, filter_transforms_match_their_definition)
{
    uint64_t seed = 7;
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_wino_spec *s = ck_wino_spec_get((enum ck_wino_variant)v);
        const int al = s->alpha;
        float uf[64];
        /* the filter kernels (8 filters in lanes, tap-major) of every ISA */
        for (int simd = 0; simd < 2; simd++) {
            const struct ck_wino_kernels *kn = ck_wino_kernels_get((enum ck_wino_variant)v, simd);
            if (!kn)
                continue;
            float g[9 * 8], u[64 * 11];
            for (int i = 0; i < 9 * 8; i++)
                g[i] = (float)urand(&seed);
            kn->filter(g, u, 11);
            double err = 0, mx = 0;
            for (int a = 0; a < al; a++)
                for (int b = 0; b < al; b++)
                    for (int l = 0; l < 8; l++) {
                        double want = 0;
                        for (int r = 0; r < 3; r++)
                            for (int c = 0; c < 3; c++)
                                want += s->g[a * 3 + r] * g[(r * 3 + c) * 8 + l] * s->g[b * 3 + c];
                        mx = fmax(mx, fabs(want));
                        err = fmax(err, fabs(u[(a * al + b) * 11 + l] - want));
                    }
            cr_expect(err <= 1e-6 * mx, "%s %s filter transform: err %.3g of %.3g", kn->isa,
                      s->name, err, mx);
        }
        /* gradient back-transform: G^T U G with U read at a stride */
        for (int i = 0; i < al * al; i++)
            uf[i] = (float)urand(&seed);
        double dg[9];
        float strided[64 * 3];
        for (int i = 0; i < al * al; i++)
            strided[i * 3] = uf[i];
        ck_wino_filter_gradient(s, strided, 3, dg);
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++) {
                double want = 0;
                for (int a = 0; a < al; a++)
                    for (int b = 0; b < al; b++)
                        want += s->g[a * 3 + r] * uf[a * al + b] * s->g[b * 3 + c];
                cr_expect(fabs(dg[r * 3 + c] - want) <= 1e-12, "%s G^T U G [%d][%d]", s->name,
                          r, c);
            }
    }
}

/* ---------------------------------------------------------------------------------------
 * Kernels (portable and AVX2) against an fp64 evaluation of their contracts.
 * ------------------------------------------------------------------------------------- */

enum { LN = CK_WINO_LANES };

static void check_close(const float *got, const double *want, size_t n, double tol,
                        const char *what)
{
    double mx = 1e-30, err = 0;
    for (size_t i = 0; i < n; i++)
        mx = fmax(mx, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        err = fmax(err, fabs(got[i] - want[i]) / mx);
    cr_expect(err <= tol, "%s: max rel err %.3g > %.1g", what, err, tol);
}

/* The fp64 reference of a two-sided tile transform, lane by lane: want[a][b] = sum over
 * i, j < n of T[a][i] * d[i][j] * T[b][j], with T[a][i] = t[a*sa + i*si] (d a tile of the
 * blocked plane 11 pixels wide); got[a][b] gathers the kernel's v (planes 24 apart). */
static void two_sided(const double *t, int sa, int si, int n, int al, const float *d,
                      const float *v, double *want, float *got)
{
    for (int a = 0; a < al; a++)
        for (int b = 0; b < al; b++)
            for (int l = 0; l < LN; l++) {
                double acc = 0;
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                        acc += t[a * sa + i * si] * d[i * 11 * LN + j * LN + l] * t[b * sa + j * si];
                want[(a * al + b) * LN + l] = acc;
                got[(a * al + b) * LN + l] = v[(a * al + b) * 24 + l];
            }
}

static void check_transforms(const struct ck_wino_kernels *kn, const struct ck_wino_spec *s)
{
    const int m = s->m, al = s->alpha;
    uint64_t seed = 99;
    char what[96];
    /* input: tile in a wider blocked plane (d_rs = 11 pixels), planes v_xs = 24 apart */
    float d[8 * 11 * LN], v[64 * 24];
    double want[64 * LN] = {0};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        d[i] = (float)urand(&seed);
    kn->input(d, 11 * LN, v, 24);
    float got[64 * LN] = {0};
    two_sided(s->bt, al, 1, al, al, d, v, want, got); /* B^T d B */
    snprintf(what, sizeof what, "%s %s input transform", kn->isa, s->name);
    check_close(got, want, (size_t)al * al * LN, 1e-6, what);

    /* weight-gradient transform of an m x m dy tile */
    kn->dy(d, 11 * LN, v, 24);
    two_sided(s->at, 1, al, m, al, d, v, want, got); /* A d A^T */
    snprintf(what, sizeof what, "%s %s dy transform", kn->isa, s->name);
    check_close(got, want, (size_t)al * al * LN, 1e-6, what);

    /* output: full and edge tiles, fewer lanes, with and without bias; every element
     * outside the rows x cols x lanes box must stay NaN */
    float mm[64 * 16], bias[LN];
    for (int i = 0; i < 64 * 16; i++)
        mm[i] = (float)urand(&seed);
    for (int l = 0; l < LN; l++)
        bias[l] = (float)urand(&seed);
    const int cases[][4] = {{m, m, LN, 1}, {m, m, LN, 0}, {m - 1, m, LN, 1}, {m, 1, 5, 0},
                            {1, m - 1, 3, 1}, {m, m, 1, 0}};
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const int rows = cases[ci][0], cols = cases[ci][1], lanes = cases[ci][2];
        const float *bp = cases[ci][3] ? bias : NULL;
        enum { YCS = 80, YRS = 9 };
        float y[LN * YCS];
        ckt_fill_nan(y, LN * YCS);
        kn->output(mm, 16, bp, y, YCS, YRS, rows, cols, lanes);
        double mx = 1e-30, err = 0;
        int stray = 0;
        for (int l = 0; l < LN; l++)
            for (int i = 0; i < YCS / YRS; i++)
                for (int j = 0; j < YRS; j++) {
                    const float got_v = y[l * YCS + i * YRS + j];
                    if (l >= lanes || i >= rows || j >= cols) {
                        stray += !isnan(got_v);
                        continue;
                    }
                    double acc = bp ? bp[l] : 0.0;
                    for (int a = 0; a < al; a++)
                        for (int b = 0; b < al; b++)
                            acc += s->at[i * al + a] * mm[(a * al + b) * 16 + l] * s->at[j * al + b];
                    mx = fmax(mx, fabs(acc));
                    err = fmax(err, fabs(got_v - acc));
                }
        cr_expect(stray == 0, "%s %s output %dx%dx%d: %d stray writes", kn->isa, s->name, rows,
                  cols, lanes, stray);
        cr_expect(err / mx <= 1e-6, "%s %s output %dx%dx%d bias %d: rel err %.3g", kn->isa,
                  s->name, rows, cols, lanes, cases[ci][3], err / mx);
    }
}

static void check_gemm(const struct ck_wino_kernels *kn)
{
    uint64_t seed = 5;
    enum { A_N = 6 * 40 * 3, B_N = 40 * 24, C_LD = 21 };
    float a[A_N], b[B_N], c[6 * C_LD], c0[6 * C_LD];
    for (int i = 0; i < A_N; i++)
        a[i] = (float)urand(&seed);
    for (int i = 0; i < B_N; i++)
        b[i] = (float)urand(&seed);
    const size_t kcs[] = {1, 7, 33};
    for (size_t ki = 0; ki < 3; ki++)
        for (int nr = 8; nr <= 16; nr += 8)
            for (int acc = 0; acc < 2; acc++)
                for (int layout = 0; layout < 2; layout++) {
                    const size_t kc = kcs[ki];
                    /* row-strided A (forward) or column-strided A (weight gradient) */
                    const size_t a_rs = layout ? 1 : 40, a_cs = layout ? 7 : 1;
                    for (int i = 0; i < 6 * C_LD; i++)
                        c[i] = c0[i] = (float)urand(&seed);
                    kn->gemm(kc, a, a_rs, a_cs, b, 24, c, C_LD, nr, acc);
                    double err = 0;
                    int stray = 0;
                    for (int i = 0; i < 6; i++)
                        for (int j = 0; j < C_LD; j++) {
                            if (j >= nr) {
                                stray += c[i * C_LD + j] != c0[i * C_LD + j];
                                continue;
                            }
                            double want = acc ? c0[i * C_LD + j] : 0.0;
                            for (size_t p = 0; p < kc; p++)
                                want += (double)a[i * a_rs + p * a_cs] * b[p * 24 + j];
                            err = fmax(err, fabs(c[i * C_LD + j] - want));
                        }
                    cr_expect(stray == 0, "%s gemm nr %d wrote past its tile", kn->isa, nr);
                    cr_expect(err <= 1e-5 * (double)(kc + 1), "%s gemm kc %zu nr %d acc %d layout %d: err %.3g",
                              kn->isa, kc, nr, acc, layout, err);
                }
}

static void check_pack(const struct ck_wino_kernels *kn)
{
    uint64_t seed = 3;
    const int shapes[][4] = {/* h_in, w_in, pt, pl */
                             {5, 19, 1, 1}, {7, 5, 3, 2}, {9, 16, -2, -1}, {4, 8, 0, 0},
                             {3, 30, 2, -3}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const int h_in = shapes[si][0], w_in = shapes[si][1];
        const int pt = shapes[si][2], pl = shapes[si][3];
        const int hb = h_in + 4, wb = w_in + 5;
        const size_t cs = (size_t)h_in * w_in + 3;
        float *src = malloc(cs * LN * sizeof *src), *dst = malloc((size_t)hb * wb * LN * sizeof *dst);
        cr_assert(src && dst);
        for (size_t i = 0; i < cs * LN; i++)
            src[i] = (float)urand(&seed);
        for (int lanes = 1; lanes <= LN; lanes += 7) {
            ckt_fill_nan(dst, (size_t)hb * wb * LN);
            kn->pack(src, cs, h_in, w_in, lanes, pt, pl, dst, hb, wb);
            int bad = 0;
            for (int i = 0; i < hb; i++)
                for (int j = 0; j < wb; j++)
                    for (int l = 0; l < LN; l++) {
                        const int h = i - pt, w = j - pl;
                        const float want = l < lanes && h >= 0 && h < h_in && w >= 0 && w < w_in
                                               ? src[l * cs + (size_t)h * w_in + w]
                                               : 0.0f;
                        bad += memcmp(&dst[((size_t)i * wb + j) * LN + l], &want, sizeof want) != 0;
                    }
            cr_expect(bad == 0, "%s pack %dx%d pads %d,%d lanes %d: %d wrong", kn->isa, h_in,
                      w_in, pt, pl, lanes, bad);
        }
        free(src), free(dst);
    }
}

Test(winograd, kernels_match_their_contracts)
{
    int isas = 0;
    for (int simd = 0; simd < 2; simd++) {
        for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
            const struct ck_wino_kernels *kn = ck_wino_kernels_get((enum ck_wino_variant)v, simd);
            if (!kn)
                continue;
            check_transforms(kn, ck_wino_spec_get((enum ck_wino_variant)v));
            if (v == 0) {
                check_gemm(kn);
                check_pack(kn);
                isas++;
            }
        }
    }
    cr_log_info("kernels checked for %d instruction set(s)", isas);
    cr_expect(isas >= 1);
}
