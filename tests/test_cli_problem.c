/* test_cli_problem.c - `convkit conv --problem DESC` and `--list-backends`: the problem
 * described by the descriptor is the one run (checked through the .npy it writes: its
 * shape, and its values against the fp64 reference on the same seeded data), every
 * backend's line reports a small error, and misuse exits 2 with one line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "check.h"
#include "files.h"
#include "ref.h"

static char dir[64];
static void make_dir(void) { cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_prob"), 0); }
static void remove_dir(void) { ckt_tmpdir_remove(dir); }
TestSuite(cli_problem, .init = make_dir, .fini = remove_dir, .timeout = 120);

static struct ckt_run run;

static const struct ckt_run *cli(const char *const *args)
{
    const char *argv[32] = {CK_CLI_PATH};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    cr_assert_eq(ckt_run_capture(argv, dir, &run), 0);
    return &run;
}

Test(cli_problem, list_backends_names_every_registered_backend)
{
    const char *args[] = {"conv", "--list-backends", NULL};
    const struct ckt_run *r = cli(args);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    size_t lines = 0;
    for (const char *c = r->out; *c; c++)
        lines += *c == '\n';
    cr_expect_eq(lines, ck_backend_count());
    for (size_t i = 0; i < ck_backend_count(); i++)
        cr_expect(strstr(r->out, ck_backend_get(i)->name), "%s missing", ck_backend_get(i)->name);
}

/* Same seeded data as the CLI: x from (seed, stream 1), w from seed+1 (conv_problem_run.c) */
static void fill(float *a, size_t n, uint64_t seed)
{
    struct ck_rng r;
    ck_rng_init(&r, seed, CK_RNG_STREAM_INIT);
    for (size_t i = 0; i < n; i++)
        a[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
}

Test(cli_problem, forward_runs_the_described_problem_on_every_backend)
{
    /* mb2ic5ih9iw7oc6kh3sh2ph1: N=2 C=5 9x7, K=6 3x3 stride 2 pad 1 -> P=(9+2-3)/2+1=5, Q=4 */
    struct ck_conv_params p;
    cr_assert_eq(ck_conv_problem_parse("mb2ic5ih9iw7oc6kh3sh2ph1", &p, NULL, 0), CK_OK);
    size_t nx = ck_conv_x_numel(&p), nw = ck_conv_w_numel(&p), ny = ck_conv_y_numel(&p);
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *bias = malloc(6 * sizeof *bias);
    double *want = malloc(ny * sizeof *want);
    fill(x, nx, 7);
    fill(w, nw, 8);
    fill(bias, 6, 9);
    ckt_ref_forward(&p, x, w, bias, want);
    char out[128];
    snprintf(out, sizeof out, "%s/y.npy", dir);
    for (size_t i = 0; i < ck_backend_count(); i++) {
        const char *b = ck_backend_get(i)->name;
        if (ck_backend_supports(ck_backend_get(i), &p, CK_PASS_FORWARD, NULL, 0) != CK_OK)
            continue; /* refusals are covered by the backend tests */
        const char *args[] = {"conv", "--problem", "mb2ic5ih9iw7oc6kh3sh2ph1", "--backend", b,
                              "--seed", "7", "--repeat", "1", "--output", out, NULL};
        const struct ckt_run *r = cli(args);
        cr_assert_eq(r->rc, 0, "%s: %s", b, r->err);
        cr_expect(strstr(r->out, "GFLOP/s") && strstr(r->out, "max_rel_err"), "%s", r->out);
        struct ck_array y;
        cr_assert_eq(ck_npy_read(out, &y, NULL, 0), CK_OK);
        cr_assert_eq(y.ndim, 4);
        cr_expect(y.shape[0] == 2 && y.shape[1] == 6 && y.shape[2] == 5 && y.shape[3] == 4,
                  "%s: shape %zux%zux%zux%zu", b, y.shape[0], y.shape[1], y.shape[2], y.shape[3]);
        char rep[512];
        double err = ckt_max_rel_err(y.data, want, ny, rep, sizeof rep, 1e-4);
        cr_expect(err <= 1e-4, "%s: %s", b, rep);
        ck_array_free(&y);
    }
    free(x), free(w), free(bias), free(want);
}

Test(cli_problem, misuse_exits_2_with_one_line)
{
    const char *cases[][8] = {
        {"conv", "--problem", "mb1ic3ih5oc1kh7", NULL},            /* filter > input */
        {"conv", "--problem", "mb1ic3zz5oc1kh3", NULL},            /* unknown key */
        {"conv", "--problem", "mb1ic3ih5oc1kh3", "--input", "x.npy", NULL},
        {"conv", "--problem", "mb1ic3ih5oc1kh3", "--backend", "nosuch", NULL},
        {"conv", "--problem", "mb1ic3ih5oc1kh3", "--repeat", "0", NULL},
        {"conv", "--problem", "mb1ic3ih5oc1kh3", "--pass", "sideways", NULL},
        {"conv", "--seed", "3", "--input", "a", "--weights", "b", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct ckt_run *r = cli(cases[i]);
        cr_expect_eq(r->rc, 2, "case %zu: rc %d (%s)", i, r->rc, r->err);
        size_t nl = 0;
        for (const char *c = r->err; *c; c++)
            nl += *c == '\n';
        cr_expect_eq(nl, 1, "case %zu: stderr '%s'", i, r->err);
        cr_expect(strncmp(r->err, "convkit conv: ", 14) == 0, "case %zu: '%s'", i, r->err);
    }
}
