/* test_conv_avx2.c - backend "avx2" on real-network layer shapes, against backend "naive".
 *
 * The shared corpus (test_conv_backends.c) covers odd small shapes; this file runs the
 * layer shapes the avx2 kernels are tuned for (channel counts 32..256, 3x3/5x5/1x1,
 * stride 2, the 3-channel first layer; batch cut to 1-2 to stay fast) plus channel
 * counts that are not multiples of 8, dilation and groups, in all three passes. Also:
 * 1, 2, 3 and 4 OpenMP threads give bit-identical results, and the refusals carry reasons.
 * The reference is naive (fp64 accumulation) rounded to float; tolerance 1e-4 of the
 * output magnitude. Nothing here measures time.
 */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "check.h"
#include "convkit/convkit.h"

#define TOL 1e-4

/* Real layers (benchdnn descriptors), batch reduced. */
static const char *const layers[] = {
    "mb2ic32ih16oc64kh3ph1",         /* seed conv2 */
    "mb1ic128ih14oc128kh3ph1",       /* 128 -> 128 */
    "mb2ic32ih16oc64kh5ph2",         /* 5x5 */
    "mb1ic64ih28oc128kh3sh2ph1",     /* stride 2 */
    "mb2ic3ih32oc32kh3ph1",          /* first layer, C = 3 */
    "mb2ic3ih13iw21oc20kh3ph1",      /* first layer forward, pixels in lanes: 16 + 5 */
                                     /* pixels a row, rows 6+6+4+4 */
    "g2mb1ic6ih9oc14kh3ph1dh1",      /* the same with groups and dilation 2 */
    "mb1ic5ih11iw9oc9kh2kw4pw2",     /* the same, 2x4 filter: 10 pixels, rows 5+4 */
    "mb2ic2ih7oc5kh3ph3",            /* the same, padding wider than the filter */
    "mb1ic3ih6iw19oc7kh1ph1",        /* the same, a padded 1x1 */
    "mb2ic2ih5iw40oc4kh3ph1",        /* 2 rows (backward-data): 32-pixel tile + 8 */
    "mb1ic1ih4iw70oc3kh3ph1",        /* 1 and 3 rows: two 32-pixel tiles + 6 */
    "mb2ic16ih6iw11oc3kh1",          /* 1x1 in place with 3 output channels: 2x32 + 2 */
    "mb16ic3ih9iw20oc5kh3ph1",       /* first layer, 16 images: planes padded per image */
    "g3mb6ic6ih5oc9kh3ph1",          /* the same with groups (18 image-groups) */
    "mb1ic3ih32oc64kh7sh2ph3",       /* 7x7/2 stem */
    "mb1ic64ih28oc256kh1",           /* 1x1 */
    "mb1ic64ih15oc32kh1sh2",         /* 1x1 stride 2, odd size */
    "g2mb2ic16ih4iw7oc20kh1",        /* 1x1 in place: 16 + 12 pixels, 6 + 4 rows, groups */
    "mb1ic24ih17oc30kh1",            /* 1x1 in place: 256 + 33 pixels per image */
    "mb1ic264ih5oc264kh1",           /* 1x1 with a long reduction: blocked copies */
    "mb2ic24ih32oc40kh1",            /* 1x1 in place on 4 KiB planes */
    "mb2ic13ih9oc15kh1",             /* 1x1 in place: rows 6+5+4 (fwd), 6+4+3 (bwd-data) */
    "mb1ic7ih6oc14kh1",              /* 1x1 in place: rows 6+4+4 (fwd), 4+3 (bwd-data) */
    "g3mb1ic15ih5oc27kh1",           /* 1x1 in place, groups: rows 5+4 (fwd), 5 (bwd) */
    "mb2ic20ih13oc36kh3ph1",         /* C, K not multiples of 8 */
    "mb1ic40ih17iw19oc24kh3kw5sh2sw3ph2pw1oh9ow6", /* asymmetric pad/stride/filter */
    "mb1ic32ih20oc48kh3ph2dh1",      /* dilation 2 */
    "g2mb2ic64ih12oc64kh3ph1",       /* groups, 32 channels each */
    "g3mb1ic36ih11oc12kh3sh2ph1",    /* groups, 12 -> 4 channels each */
    "g16mb1ic16ih14oc16kh3ph1",      /* depthwise */
    "mb3ic9ih10oc17kh2sh3",          /* stride larger than the filter */
    "g2mb2ic32ih9oc16kh3",           /* unpadded, Cg % 8 == 0: x read in place, groups */
    "mb1ic16ih11oc24kh3sh2dh1",      /* unpadded in place, stride 2, dilation 2 */
    "mb8ic24ih9oc40kh3ph1",          /* 8 images: forward work items per image */
    "mb8ic3ih12oc16kh5sh2ph2",       /* the same, first layer */
    "mb3ic32ih16oc64kh3ph1",         /* weight gradient image by image in two slots */
    "mb8ic16ih28oc512kh3sh2ph1",     /* stride 2, dy copy over BWD_BAND_BYTES: backward- */
                                     /* data in bands of input rows */
    "mb1ic8ih20oc8kh17ph8",          /* 289 taps: a kernel call's steps in two groups */
};

struct problem {
    struct ck_conv_params p;
    size_t nx, nw, ny, ws_size;
    float *x, *w, *bias, *y, *out, *db;
    void *ws;
};

static void problem_init(struct problem *t, const char *desc, uint64_t seed)
{
    char msg[256];
    cr_assert_eq(ck_conv_problem_parse(desc, &t->p, msg, sizeof msg), CK_OK, "%s: %s", desc,
                 msg);
    t->nx = ck_conv_x_numel(&t->p), t->nw = ck_conv_w_numel(&t->p);
    t->ny = ck_conv_y_numel(&t->p);
    size_t most = t->nx > t->nw ? t->nx : t->nw;
    most = most > t->ny ? most : t->ny;
    t->x = malloc(t->nx * sizeof(float)), t->w = malloc(t->nw * sizeof(float));
    t->y = malloc(t->ny * sizeof(float)), t->bias = malloc(t->p.K * sizeof(float));
    t->db = malloc(t->p.K * sizeof(float)), t->out = malloc(most * sizeof(float));
    cr_assert(t->x && t->w && t->y && t->bias && t->db && t->out);
    ckt_fill_uniform(t->x, t->nx, seed, -1.0f, 1.0f);
    ckt_fill_uniform(t->w, t->nw, seed + 1, -1.0f, 1.0f);
    ckt_fill_uniform(t->y, t->ny, seed + 2, -1.0f, 1.0f); /* dy for the backward passes */
    ckt_fill_uniform(t->bias, t->p.K, seed + 3, -1.0f, 1.0f);
    t->ws = NULL, t->ws_size = 0;
}

static void problem_free(struct problem *t)
{
    free(t->x), free(t->w), free(t->y), free(t->bias), free(t->db), free(t->out);
    ck_aligned_free(t->ws);
}

static size_t out_numel(const struct problem *t, enum ck_conv_pass pass)
{
    return pass == CK_PASS_FORWARD ? t->ny : pass == CK_PASS_BACKWARD_DATA ? t->nx : t->nw;
}

/* Run pass with backend be into t->out (NaN-prefilled, workspace 0xA5-filled). */
static enum ck_status run(struct problem *t, const struct ck_conv_backend *be,
                          enum ck_conv_pass pass)
{
    size_t need = ck_conv_workspace_size(be, &t->p, pass);
    ck_aligned_free(t->ws);
    t->ws = need ? ck_aligned_alloc(need) : NULL;
    t->ws_size = need;
    cr_assert(need == 0 || t->ws, "workspace of %zu bytes", need);
    if (t->ws)
        memset(t->ws, 0xFF, need);
    ckt_fill_nan(t->out, out_numel(t, pass));
    ckt_fill_nan(t->db, (size_t)t->p.K);
    switch (pass) {
    case CK_PASS_FORWARD:
        return ck_conv_forward(be, &t->p, t->x, t->w, t->bias, t->out, t->ws, t->ws_size);
    case CK_PASS_BACKWARD_DATA:
        return ck_conv_backward_data(be, &t->p, t->y, t->w, t->out, t->ws, t->ws_size);
    default:
        return ck_conv_backward_weights(be, &t->p, t->x, t->y, t->out, t->db, t->ws,
                                        t->ws_size);
    }
}

static const struct ck_conv_backend *avx2_or_skip(void)
{
    const struct ck_conv_backend *be = ck_backend_find("avx2");
    cr_assert_not_null(be, "backend avx2 is not registered");
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    char why[256] = "";
    if (ck_backend_supports(be, &p, CK_PASS_FORWARD, why, sizeof why) != CK_OK)
        cr_skip_test("avx2 unavailable here: %s", why);
    return be;
}

static double *to_double(const float *a, size_t n)
{
    double *d = malloc(n * sizeof *d);
    cr_assert_not_null(d);
    for (size_t i = 0; i < n; i++)
        d[i] = a[i];
    return d;
}

Test(conv_avx2, real_layers_match_naive_in_all_passes, .timeout = 300)
{
    const struct ck_conv_backend *be = avx2_or_skip(), *naive = ck_backend_find("naive");
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct problem t;
            problem_init(&t, layers[l], 100 + 10 * l);
            const char *pn = ck_conv_pass_name((enum ck_conv_pass)pass);
            cr_assert_eq(run(&t, naive, (enum ck_conv_pass)pass), CK_OK);
            const size_t n = out_numel(&t, (enum ck_conv_pass)pass);
            double *ref = to_double(t.out, n), *ref_db = to_double(t.db, (size_t)t.p.K);
            enum ck_status st = run(&t, be, (enum ck_conv_pass)pass);
            cr_assert_eq(st, CK_OK, "%s %s: %s", layers[l], pn, ck_status_str(st));
            char rep[256] = "";
            double e = ckt_max_rel_err(t.out, ref, n, rep, sizeof rep, TOL);
            cr_expect(e <= TOL, "%s %s: %s", layers[l], pn, rep);
            if (pass == CK_PASS_BACKWARD_WEIGHTS) {
                e = ckt_max_rel_err(t.db, ref_db, (size_t)t.p.K, rep, sizeof rep, TOL);
                cr_expect(e <= TOL, "%s bias gradient: %s", layers[l], rep);
            }
            free(ref), free(ref_db);
            problem_free(&t);
        }
    }
}

Test(conv_avx2, results_do_not_depend_on_the_thread_count)
{
#ifndef _OPENMP
    cr_skip_test("built without OpenMP");
#else
    const struct ck_conv_backend *be = avx2_or_skip();
    static const char *const shapes[] = {
        "mb2ic32ih16oc64kh3ph1", "mb1ic64ih15oc40kh1sh2", "g3mb1ic36ih11oc12kh3sh2ph1",
        "mb2ic3ih20oc24kh5ph2", "mb2ic64ih14oc48kh1",
        /* 8 images: forward per image-group with 1-2 threads, per row block with 3 */
        "mb8ic16ih9oc24kh3ph1", "mb8ic3ih10oc16kh3ph1", "mb3ic32ih16oc64kh3ph1",
        /* stride 2, x copy larger than dy: backward-weights splits the items over threads
         * that copy their own x blocks (thread ranges across k-block groups, groups) */
        "mb4ic24ih13oc24kh3sh2ph1", "g2mb4ic32ih13oc32kh3sh2ph1",
        /* backward-weights sums two image chunks into partials: 6 + 7 images (at 3
         * threads one owns tiles of both chunks; private copies), 1 + 2 images of 100x100
         * (private copies at 2 threads, shared ones at 3 and 4) */
        "mb13ic8ih12oc8kh3ph1", "mb3ic3ih100oc8kh3ph1",
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct problem t;
            problem_init(&t, shapes[s], 7 + s);
            const size_t n = out_numel(&t, (enum ck_conv_pass)pass);
            float *first = malloc(n * sizeof(float)), *first_db = malloc(t.p.K * sizeof(float));
            cr_assert(first && first_db);
            for (int threads = 1; threads <= 4; threads++) {
                omp_set_num_threads(threads);
                cr_assert_eq(run(&t, be, (enum ck_conv_pass)pass), CK_OK);
                if (threads == 1) {
                    memcpy(first, t.out, n * sizeof(float));
                    memcpy(first_db, t.db, t.p.K * sizeof(float));
                    continue;
                }
                cr_expect(memcmp(first, t.out, n * sizeof(float)) == 0,
                          "%s %s: 1 and %d threads differ", shapes[s],
                          ck_conv_pass_name((enum ck_conv_pass)pass), threads);
                if (pass == CK_PASS_BACKWARD_WEIGHTS)
                    cr_expect(memcmp(first_db, t.db, t.p.K * sizeof(float)) == 0,
                              "%s db: 1 and %d threads differ", shapes[s], threads);
            }
            free(first), free(first_db);
            problem_free(&t);
        }
    }
#endif
}

/* A problem whose zero-padded input copy (forward, backward-weights) would not fit in size_t
 * although the input itself is tiny: huge padding, and a stride as large so the output
 * stays 2x2. */
Test(conv_avx2, refuses_with_a_reason_what_it_cannot_hold)
{
    const struct ck_conv_backend *be = ck_backend_find("avx2");
    cr_assert_not_null(be);
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.C = 3;
    p.pad_top = p.pad_bottom = p.pad_left = p.pad_right = (1 << 30) - 1;
    p.stride_h = p.stride_w = 1 << 30;
    cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "the test problem itself must be valid");
    char why[256] = "";
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        why[0] = '\0';
        enum ck_status st = ck_backend_supports(be, &p, (enum ck_conv_pass)pass, why, sizeof why);
        if (st == CK_ERR_CPU_FEATURE || !ck_cpu_simd_compiled())
            break; /* covered below and by generic_cpu_is_refused_with_a_reason */
        if (pass == CK_PASS_BACKWARD_DATA) {
            /* only dy (2x2) and dx (1x1) are copied: nothing large, so it must run */
            cr_expect_eq(st, CK_OK, "backward-data: %s (%s)", ck_status_str(st), why);
            continue;
        }
        cr_expect_eq(st, CK_ERR_UNSUPPORTED, "%s: %s", ck_conv_pass_name((enum ck_conv_pass)pass),
                     ck_status_str(st));
        cr_expect(strstr(why, "avx2") != NULL, "reason names the backend: '%s'", why);
        cr_expect_eq(ck_conv_workspace_size(be, &p, (enum ck_conv_pass)pass), SIZE_MAX);
    }
    if (!ck_cpu_simd_compiled()) {
        ck_conv_params_init(&p);
        cr_expect_eq(ck_backend_supports(be, &p, CK_PASS_FORWARD, why, sizeof why),
                     CK_ERR_UNSUPPORTED);
        cr_expect(strstr(why, "AVX2") != NULL, "reason without kernels: '%s'", why);
    }
}

/* CONVKIT_CPU=generic hides AVX2/FMA; Criterion runs each test in its own process, so
 * setting it before the first ck_cpu_features() call of this process takes effect. */
Test(conv_avx2, generic_cpu_is_refused_with_a_reason)
{
    cr_assert_eq(setenv("CONVKIT_CPU", "generic", 1), 0);
    const struct ck_conv_backend *be = ck_backend_find("avx2");
    cr_assert_not_null(be);
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    char why[256] = "";
    cr_expect_eq(ck_backend_supports(be, &p, CK_PASS_FORWARD, why, sizeof why),
                 CK_ERR_CPU_FEATURE);
    cr_expect(strstr(why, "avx2") != NULL, "reason: '%s'", why);
    float x = 1.0f, w = 2.0f, y = 0.0f;
    cr_expect_eq(ck_conv_forward(be, &p, &x, &w, NULL, &y, NULL, 0), CK_ERR_CPU_FEATURE);
    cr_expect_eq(y, 0.0f, "a refused call must not write its output");
}
