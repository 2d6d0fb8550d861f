/* test_winograd.c - the Winograd F(m x m, 3x3) backends beyond the shared corpus test.
 *
 * The matrices in src/winograd.h are checked against their definition (exact 1-D and
 * 2-D identities in double, rows/columns as powers of the documented points); every
 * kernel (portable and AVX2 when the CPU has it) against an fp64 evaluation of its
 * contract; each variant's error on real layers against the fp64 reference, with
 * F(6x6,3x3)'s error required to be honestly larger; 1/2/3 threads bit-identical (also
 * for a batch packed through the per-thread ring of image slots); the
 * filter-transform cache never stale; refusals and the F4/F2 choice explained.
 * No timing.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/convkit.h"
#include "ref.h"
#include "winograd.h"

/* Documented tolerances (max |err| / max |ref|), also in tests/test_conv_backends.c. */
static const double tol_of[CK_WINO_VARIANT_COUNT] = {1e-5, 5e-5, 1e-4};
static const char *const backend_of[CK_WINO_VARIANT_COUNT] = {"winograd-f2", "winograd-f4",
                                                              "winograd-f6"};

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
    for (int a = 0; a < al; a++)
        for (int b = 0; b < al; b++)
            for (int l = 0; l < LN; l++) {
                double acc = 0;
                for (int i = 0; i < al; i++)
                    for (int j = 0; j < al; j++)
                        acc += s->bt[a * al + i] * d[i * 11 * LN + j * LN + l] * s->bt[b * al + j];
                want[(a * al + b) * LN + l] = acc;
                got[(a * al + b) * LN + l] = v[(a * al + b) * 24 + l];
            }
    snprintf(what, sizeof what, "%s %s input transform", kn->isa, s->name);
    check_close(got, want, (size_t)al * al * LN, 1e-6, what);

    /* weight-gradient transform of an m x m dy tile */
    kn->dy(d, 11 * LN, v, 24);
    for (int a = 0; a < al; a++)
        for (int b = 0; b < al; b++)
            for (int l = 0; l < LN; l++) {
                double acc = 0;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < m; j++)
                        acc += s->at[i * al + a] * d[i * 11 * LN + j * LN + l] * s->at[j * al + b];
                want[(a * al + b) * LN + l] = acc;
                got[(a * al + b) * LN + l] = v[(a * al + b) * 24 + l];
            }
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

/* ---------------------------------------------------------------------------------------
 * Whole passes: error on real layers, thread counts, the cache, refusals.
 * ------------------------------------------------------------------------------------- */

struct prob {
    struct ck_conv_params p;
    size_t nx, nw, ny;
    float *x, *w, *b, *dy, *out, *db;
    double *ref, *rdb;
    void *ws;
};

static void prob_init(struct prob *q, const char *desc, uint64_t seed)
{
    memset(q, 0, sizeof *q);
    char msg[128];
    cr_assert_eq(ck_conv_problem_parse(desc, &q->p, msg, sizeof msg), CK_OK, "%s: %s", desc, msg);
    q->nx = ck_conv_x_numel(&q->p), q->nw = ck_conv_w_numel(&q->p), q->ny = ck_conv_y_numel(&q->p);
    const size_t big = q->nx + q->nw + q->ny;
    q->x = malloc(q->nx * 4), q->w = malloc(q->nw * 4), q->dy = malloc(q->ny * 4);
    q->b = malloc(q->p.K * 4), q->db = malloc(q->p.K * 4), q->out = malloc(big * 4);
    q->ref = malloc(big * 8), q->rdb = malloc(q->p.K * 8);
    cr_assert(q->x && q->w && q->dy && q->b && q->db && q->out && q->ref && q->rdb);
    ckt_fill_uniform(q->x, q->nx, seed, -1, 1);
    ckt_fill_uniform(q->w, q->nw, seed + 1, -1, 1);
    ckt_fill_uniform(q->dy, q->ny, seed + 2, -1, 1);
    ckt_fill_uniform(q->b, q->p.K, seed + 3, -1, 1);
}

static void prob_free(struct prob *q)
{
    free(q->x), free(q->w), free(q->dy), free(q->b), free(q->db), free(q->out);
    free(q->ref), free(q->rdb);
    ck_aligned_free(q->ws);
}

/* Run pass with a fresh workspace; returns the output element count. */
static size_t run(struct prob *q, const struct ck_conv_backend *be, enum ck_conv_pass pass)
{
    ck_aligned_free(q->ws);
    const size_t wsz = ck_conv_workspace_size(be, &q->p, pass);
    q->ws = ck_aligned_alloc(wsz);
    cr_assert(q->ws || wsz == 0);
    enum ck_status st;
    size_t n;
    if (pass == CK_PASS_FORWARD) {
        n = q->ny, ckt_fill_nan(q->out, n);
        st = ck_conv_forward(be, &q->p, q->x, q->w, q->b, q->out, q->ws, wsz);
    } else if (pass == CK_PASS_BACKWARD_DATA) {
        n = q->nx, ckt_fill_nan(q->out, n);
        st = ck_conv_backward_data(be, &q->p, q->dy, q->w, q->out, q->ws, wsz);
    } else {
        n = q->nw, ckt_fill_nan(q->out, n), ckt_fill_nan(q->db, q->p.K);
        st = ck_conv_backward_weights(be, &q->p, q->x, q->dy, q->out, q->db, q->ws, wsz);
    }
    cr_assert_eq(st, CK_OK, "%s %s: %s", be->name, ck_conv_pass_name(pass), ck_status_str(st));
    return n;
}

static double pass_error(struct prob *q, const struct ck_conv_backend *be, enum ck_conv_pass pass)
{
    const size_t n = run(q, be, pass);
    if (pass == CK_PASS_FORWARD)
        ckt_ref_forward(&q->p, q->x, q->w, q->b, q->ref);
    else if (pass == CK_PASS_BACKWARD_DATA)
        ckt_ref_backward_data(&q->p, q->dy, q->w, q->ref);
    else
        ckt_ref_backward_weights(&q->p, q->x, q->dy, q->ref, q->rdb);
    double e = ckt_max_rel_err(q->out, q->ref, n, NULL, 0, INFINITY);
    if (pass == CK_PASS_BACKWARD_WEIGHTS)
        e = fmax(e, ckt_max_rel_err(q->db, q->rdb, (size_t)q->p.K, NULL, 0, INFINITY));
    return e;
}

/* Real layers (small batch): the seed's conv2, a VGG-style 64-channel layer, a 3-channel
 * first layer, an odd-sized grouped layer with asymmetric padding. */
static const char *const layers[] = {"mb2ic32ih16oc64kh3ph1", "mb1ic64ih14oc64kh3ph1",
                                     "mb2ic3ih20oc16kh3ph1", "g2mb2ic24ih11iw13oc20kh3ph1oh12"};

Test(winograd, error_per_variant_on_real_layers_within_documented_tolerance)
{
    double worst[CK_WINO_VARIANT_COUNT] = {0};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        cr_assert_not_null(be, "%s is not registered", backend_of[v]);
        for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
            struct prob q;
            prob_init(&q, layers[li], 40 + li);
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                const double e = pass_error(&q, be, (enum ck_conv_pass)pass);
                cr_expect(e <= tol_of[v], "%s %s %s: max_rel_err %.3g > %.0e", be->name,
                          ck_conv_pass_name((enum ck_conv_pass)pass), layers[li], e, tol_of[v]);
                worst[v] = fmax(worst[v], e);
            }
            prob_free(&q);
        }
        cr_log_info("%s: worst max_rel_err %.2e over %zu layers x 3 passes (tolerance %.0e)",
                    be->name, worst[v], sizeof layers / sizeof layers[0], tol_of[v]);
    }
}

/* Root-mean-square error relative to the reference's RMS: steadier than the max. */
static double rms_rel_err(const float *got, const double *ref, size_t n)
{
    double se = 0, sr = 0;
    for (size_t i = 0; i < n; i++) {
        se += (got[i] - ref[i]) * (got[i] - ref[i]);
        sr += ref[i] * ref[i];
    }
    return sqrt(se / fmax(sr, 1e-300));
}

/* F(6x6,3x3) trades accuracy for speed: its forward and backward-data errors on layers
 * with many channels must come out larger than F(4x4,3x3)'s, and those larger than
 * F(2x2,3x3)'s - if not, the points or the measurement are not what we document. */
Test(winograd, f6_error_is_honestly_larger_than_f4_and_f2)
{
    double e[CK_WINO_VARIANT_COUNT] = {0}, mx[CK_WINO_VARIANT_COUNT] = {0};
    const char *descs[] = {"mb2ic64ih24oc32kh3ph1", "mb1ic128ih12oc16kh3ph1",
                           "mb2ic32ih16oc64kh3ph1"};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        for (size_t i = 0; i < sizeof descs / sizeof descs[0]; i++) {
            struct prob q;
            prob_init(&q, descs[i], 7 + i);
            for (int pass = 0; pass < 2; pass++) {
                mx[v] = fmax(mx[v], pass_error(&q, be, (enum ck_conv_pass)pass));
                e[v] += rms_rel_err(q.out, q.ref, pass == 0 ? q.ny : q.nx);
            }
            prob_free(&q);
        }
    }
    cr_log_info("forward + backward-data on 3 layers: summed rms rel err F2 %.2e, F4 %.2e, "
                "F6 %.2e; max rel err F2 %.2e, F4 %.2e, F6 %.2e",
                e[0], e[1], e[2], mx[0], mx[1], mx[2]);
    cr_expect(e[CK_WINO_F6] > 1.2 * e[CK_WINO_F4], "F6 %.3g not above F4 %.3g", e[2], e[1]);
    cr_expect(e[CK_WINO_F4] > 2.0 * e[CK_WINO_F2], "F4 %.3g not above F2 %.3g", e[1], e[0]);
    const struct ck_conv_backend *f6 = ck_backend_find("winograd-f6");
    cr_expect(strstr(f6->description, "LESS accurate") != NULL,
              "winograd-f6 must say it is less accurate: \"%s\"", f6->description);
}

Test(winograd, one_two_and_three_threads_bit_identical)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    /* odd sizes, groups, partial tiles, a tile count that splits unevenly */
    const char *desc = "g2mb3ic18ih13iw10oc22kh3ph1oh13ow11";
    const int saved = omp_get_max_threads();
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct prob q;
            prob_init(&q, desc, 11);
            float *first = NULL, *first_db = NULL;
            for (int t = 1; t <= 3; t++) {
                omp_set_num_threads(t);
                const size_t n = run(&q, be, (enum ck_conv_pass)pass);
                if (!first) {
                    first = malloc(n * 4), first_db = malloc(q.p.K * 4);
                    memcpy(first, q.out, n * 4), memcpy(first_db, q.db, q.p.K * 4);
                    continue;
                }
                cr_expect(memcmp(first, q.out, n * 4) == 0, "%s %s: 1 and %d threads differ",
                          be->name, ck_conv_pass_name((enum ck_conv_pass)pass), t);
                if (pass == CK_PASS_BACKWARD_WEIGHTS)
                    cr_expect(memcmp(first_db, q.db, q.p.K * 4) == 0, "%s db: 1 vs %d threads",
                              be->name, t);
            }
            free(first), free(first_db);
            prob_free(&q);
        }
    }
    omp_set_num_threads(saved);
#endif
}

/* The weights pass sums its tiles in blocks of whole tile rows (4 MiB of transformed
 * tiles per block, src/conv_winograd.c): on this layer every variant needs 2-3 blocks,
 * and a block starts in the middle of an image (e.g. F(4): 99 tile rows per group, 58
 * per block). The result must still match the fp64 reference, and 1 and 2 threads agree. */
Test(winograd, weights_pass_blocks_split_images_and_stay_accurate)
{
    const char *desc = "g2mb3ic10ih130iw122oc14kh3ph1";
    for (int v = 0; v < CK_WINO_VARIANT_COUNT; v++) {
        const struct ck_conv_backend *be = ck_backend_find(backend_of[v]);
        struct prob q;
        prob_init(&q, desc, 29);
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
#endif
        const double e = pass_error(&q, be, CK_PASS_BACKWARD_WEIGHTS);
        cr_expect(e <= tol_of[v], "%s: max_rel_err %.3g > %.0e", be->name, e, tol_of[v]);
#ifdef _OPENMP
        float *one = malloc(q.nw * 4), *one_db = malloc(q.p.K * 4);
        cr_assert(one && one_db);
        memcpy(one, q.out, q.nw * 4), memcpy(one_db, q.db, q.p.K * 4);
        omp_set_num_threads(2);
        run(&q, be, CK_PASS_BACKWARD_WEIGHTS);
        cr_expect(memcmp(one, q.out, q.nw * 4) == 0, "%s: 1 and 2 threads differ", be->name);
        cr_expect(memcmp(one_db, q.db, q.p.K * 4) == 0, "%s db: 1 and 2 threads differ",
                  be->name);
        free(one), free(one_db);
        omp_set_num_threads(saved);
#endif
        prob_free(&q);
    }
}

/* Forward and backward-data pack a batch whose packed copy is above 8 MiB
 * (4 x 258 x 258 x 8 floats here) through a ring of a few image slots per thread when the
 * thread count divides N (1 and 2 threads: 4096 tiles an image, so a ring of 2 that wraps)
 * and into one slot per image otherwise (3 threads). Accurate at 1 thread, and the same
 * bits at 1, 2 and 3 threads. */
Test(winograd, large_batch_packs_through_a_ring_of_image_slots)
{
    const struct ck_conv_backend *be = ck_backend_find("winograd-f4");
    for (int pi = 0; pi < 2; pi++) {
        const enum ck_conv_pass pass = (enum ck_conv_pass)pi;
        struct prob q;
        prob_init(&q, "mb4ic8ih256oc8kh3ph1", 31 + pi);
#ifdef _OPENMP
        const int saved = omp_get_max_threads();
        omp_set_num_threads(1);
#endif
        const double e = pass_error(&q, be, pass);
        cr_expect(e <= tol_of[CK_WINO_F4], "%s: max_rel_err %.3g", ck_conv_pass_name(pass), e);
#ifdef _OPENMP
        const size_t n = pass == CK_PASS_FORWARD ? q.ny : q.nx;
        float *one = malloc(n * 4);
        cr_assert(one);
        memcpy(one, q.out, n * 4);
        for (int t = 2; t <= 3; t++) {
            omp_set_num_threads(t);
            run(&q, be, pass);
            cr_expect(memcmp(one, q.out, n * 4) == 0, "%s: 1 and %d threads differ",
                      ck_conv_pass_name(pass), t);
        }
        free(one);
        omp_set_num_threads(saved);
#endif
        prob_free(&q);
    }
}

/* The transformed filters are cached in the workspace. Reusing the workspace must never
 * give results for old weights: not when the weights change in place (same pointer), not
 * when something else overwrote the cached transform, not across passes or variants. */
Test(winograd, filter_cache_is_never_stale)
{
    struct prob q;
    prob_init(&q, "mb1ic16ih10oc24kh3ph1", 21);
    const struct ck_conv_backend *f4 = ck_backend_find("winograd-f4");
    const struct ck_conv_backend *f2 = ck_backend_find("winograd-f2");
    size_t wsz = ck_conv_workspace_size(f4, &q.p, CK_PASS_FORWARD);
    if (ck_conv_workspace_size(f4, &q.p, CK_PASS_BACKWARD_DATA) > wsz)
        wsz = ck_conv_workspace_size(f4, &q.p, CK_PASS_BACKWARD_DATA);
    if (ck_conv_workspace_size(f2, &q.p, CK_PASS_FORWARD) > wsz)
        wsz = ck_conv_workspace_size(f2, &q.p, CK_PASS_FORWARD);
    unsigned char *ws = ck_aligned_alloc(wsz);
    float *y = malloc(q.nx * 4 + q.ny * 4);
    cr_assert(ws && y);
    memset(ws, 0, wsz);
    for (int round = 0; round < 5; round++) {
        const struct ck_conv_backend *be = round == 3 ? f2 : f4;
        if (round == 1)
            q.w[q.nw / 2] += 0.25f; /* same pointer, new weights */
        if (round == 2)             /* clobber the cached transform, keep header + copy */
            memset(ws + 128 + (q.nw * 4 + 63) / 64 * 64, 0x3c, 4096);
        cr_assert_eq(ck_conv_forward(be, &q.p, q.x, q.w, q.b, y, ws, wsz), CK_OK);
        ckt_ref_forward(&q.p, q.x, q.w, q.b, q.ref);
        char rep[256];
        const double e = ckt_max_rel_err(y, q.ref, q.ny, rep, sizeof rep, 5e-5);
        cr_expect(e <= 5e-5, "round %d (%s): %s", round, be->name, rep);
        /* backward-data with the same workspace must not take the forward transform */
        cr_assert_eq(ck_conv_backward_data(f4, &q.p, q.dy, q.w, y, ws, wsz), CK_OK);
        ckt_ref_backward_data(&q.p, q.dy, q.w, q.ref);
        const double e2 = ckt_max_rel_err(y, q.ref, q.nx, rep, sizeof rep, 5e-5);
        cr_expect(e2 <= 5e-5, "round %d backward-data after forward: %s", round, rep);
    }
    free(y);
    ck_aligned_free(ws);
    prob_free(&q);
}

Test(winograd, refusals_name_the_reason_and_auto_says_which_tile)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.N = 1, p.C = 4, p.H = p.W = 12, p.K = 4, p.R = p.S = 3;
    struct {
        int R, S, sh, dh;
        const char *word;
    } bad[] = {{5, 5, 1, 1, "3x3"}, {3, 1, 1, 1, "3x3"}, {3, 3, 2, 1, "stride"},
               {3, 3, 1, 2, "dilation"}};
    for (int v = 0; v < CK_WINO_VARIANT_COUNT + 1; v++) {
        const struct ck_conv_backend *be =
            ck_backend_find(v < CK_WINO_VARIANT_COUNT ? backend_of[v] : "winograd");
        cr_assert_not_null(be);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            struct ck_conv_params q = p;
            q.R = bad[i].R, q.S = bad[i].S, q.stride_h = q.stride_w = bad[i].sh;
            q.dilation_h = q.dilation_w = bad[i].dh;
            for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
                char why[200] = "";
                const enum ck_status st =
                    ck_backend_supports(be, &q, (enum ck_conv_pass)pass, why, sizeof why);
                cr_expect_eq(st, CK_ERR_UNSUPPORTED, "%s accepted case %zu", be->name, i);
                cr_expect(strstr(why, bad[i].word) != NULL, "%s: reason \"%s\" lacks \"%s\"",
                          be->name, why, bad[i].word);
            }
        }
    }
    /* auto: F(4x4,3x3) for a real layer, F(2x2,3x3) when 4x4 tiles would mostly be
     * padding (2x2 output) - and the reason says so */
    const struct ck_conv_backend *wa = ck_backend_find("winograd");
    char why[200] = "";
    p.C = 32, p.K = 64, p.H = p.W = 16, p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
    cr_assert_eq(ck_backend_supports(wa, &p, CK_PASS_FORWARD, why, sizeof why), CK_OK);
    cr_expect(strstr(why, "picks F(4x4,3x3)") != NULL, "seed conv2: \"%s\"", why);
    p.H = p.W = 2;
    cr_assert_eq(ck_backend_supports(wa, &p, CK_PASS_FORWARD, why, sizeof why), CK_OK);
    cr_expect(strstr(why, "picks F(2x2,3x3)") != NULL, "2x2 output: \"%s\"", why);
}
