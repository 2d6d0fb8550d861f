/* test_cli.c - the `convkit` binary end to end: conv and filter results, exit codes,
 * one-line errors, and that a failed command never leaves an output file.
 *
 * Runs CK_CLI_PATH with posix_spawn, stdout/stderr redirected to files in a per-test
 * temporary directory. Conv results are compared with the fp64 oracle (support/ref.h);
 * filter results with values worked out by hand from each kernel's definition on tiny
 * images (zero padding, cross-correlation). Inputs are written with ck_npy_write /
 * ck_png_write, which test_npy.c and test_png.c check independently.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "convkit/convkit.h"
#include "files.h"
#include "ref.h"

#define CK_COUNT_OF_T(a) (sizeof(a) / sizeof((a)[0]))

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_cli"), 0);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(cli, .init = make_dir, .fini = remove_dir, .timeout = 120);

static const char *P(const char *name)
{
    return ckt_path(dir, name);
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Run `convkit a0 a1 ... NULL`; capture exit code, stdout and stderr. */
static struct ckt_run *cli(const char *a0, ...)
{
    static struct ckt_run r;
    const char *argv[64] = {CK_CLI_PATH, a0};
    int argc = a0 ? 2 : 1;
    va_list ap;
    va_start(ap, a0);
    for (const char *a; a0 && (a = va_arg(ap, const char *));)
        argv[argc++] = a;
    va_end(ap);
    cr_assert(argc < 64);
    argv[argc] = NULL;
    cr_assert_eq(ckt_run_capture(argv, dir, &r), 0, "cannot run %s", CK_CLI_PATH);
    cr_assert_eq(r.signal, 0, "convkit %s died with signal %d", a0 ? a0 : "", r.signal);
    return &r;
}

/* A failed run: exit code rc, exactly one stderr line "convkit CMD: ..." containing
 * needle, and the output file(s) absent, with no temporary files left. */
static void expect_fail(const struct ckt_run *r, int rc, const char *cmd, const char *needle,
                        const char *out1, const char *out2)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "convkit %s: ", cmd);
    cr_expect_eq(r->rc, rc, "exit %d, want %d; stderr: %s", r->rc, rc, r->err);
    size_t len = strlen(r->err);
    const char *nl = strchr(r->err, '\n');
    cr_expect(len > 0 && nl == r->err + len - 1, "exactly one line on stderr: [%s]", r->err);
    cr_expect_eq(strncmp(r->err, prefix, strlen(prefix)), 0, "starts with '%s': %s", prefix,
                 r->err);
    cr_expect_not_null(strstr(r->err, needle), "mentions '%s': %s", needle, r->err);
    if (out1)
        cr_expect(!exists(out1), "%s must not exist after a failure (%s)", out1, r->err);
    if (out2)
        cr_expect(!exists(out2), "%s must not exist after a failure", out2);
    cr_expect_eq(ckt_dir_count(dir, ".tmp-"), 0, "no temporary file left behind");
}

static void save(const char *path, const float *data, int ndim, size_t d0, size_t d1,
                 size_t d2, size_t d3)
{
    size_t shape[4] = {d0, d1, d2, d3};
    char msg[256];
    cr_assert_eq(ck_npy_write(path, data, ndim, shape, msg, sizeof msg), CK_OK, "%s", msg);
}

static struct ck_array load(const char *path)
{
    struct ck_array a;
    char msg[256] = "";
    cr_assert_eq(ck_npy_read(path, &a, msg, sizeof msg), CK_OK, "%s", msg);
    return a;
}

static void expect_shape(const struct ck_array *a, int ndim, const size_t *shape)
{
    cr_assert_eq(a->ndim, ndim, "ndim %d, want %d", a->ndim, ndim);
    for (int i = 0; i < ndim; i++)
        cr_assert_eq(a->shape[i], shape[i], "dim %d: %zu, want %zu", i, a->shape[i], shape[i]);
}

static void expect_close(const float *got, const double *ref, size_t n, const char *what)
{
    char report[256] = "";
    double err = ckt_max_rel_err(got, ref, n, report, sizeof report, 1e-5);
    cr_expect(err <= 1e-5, "%s: %s", what, report);
}

/* ---- help, version ---------------------------------------------------------------------- */

Test(cli, help_and_version)
{
    const char *cmds[] = {"conv", "filter", "summary"};
    for (int i = 0; i < 3; i++) {
        struct ckt_run *r = cli(cmds[i], "--help", NULL);
        cr_expect_eq(r->rc, 0, "%s --help: %s", cmds[i], r->err);
        cr_expect_not_null(strstr(r->out, "usage: convkit"), "%s --help prints usage", cmds[i]);
        cr_expect_str_empty(r->err, "%s --help: nothing on stderr", cmds[i]);
    }
    struct ckt_run *r = cli("conv", "--input", "x.npy", "-h", NULL);
    cr_expect_eq(r->rc, 0, "-h anywhere is help");
    cr_expect_not_null(strstr(r->out, "(C,H,W)"), "conv --help mentions 3-D input");
    r = cli("--help", NULL);
    cr_expect_eq(r->rc, 0);
    cr_expect_not_null(strstr(r->out, "filter"));
    r = cli("--version", NULL);
    cr_expect_eq(r->rc, 0);
    const char *want = "convkit " CONVKIT_VERSION_STRING;
    cr_expect_eq(strncmp(r->out, want, strlen(want)), 0, "%s", r->out);
    r = cli("frobnicate", NULL);
    cr_expect_eq(r->rc, 2);
}

/* ---- conv: results vs the fp64 oracle ------------------------------------------------- */

/* A grouped, strided, dilated problem with asymmetric padding:
 * x (2,4,9,8), w (6,2,3,2), G = 2, stride (2,1), pad T,L,B,R = 1,0,2,1, dilation (1,2).
 * P = (9+1+2 - 1*2 - 1)/2 + 1 = 5, Q = (8+0+1 - 2*1 - 1)/1 + 1 = 7. */
static struct ck_conv_params odd_problem(void)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.N = 2, p.C = 4, p.H = 9, p.W = 8, p.K = 6, p.R = 3, p.S = 2, p.groups = 2;
    p.stride_h = 2, p.stride_w = 1;
    p.pad_top = 1, p.pad_left = 0, p.pad_bottom = 2, p.pad_right = 1;
    p.dilation_h = 1, p.dilation_w = 2;
    return p;
}
#define ODD_OPTS "--groups", "2", "--stride", "2,1", "--padding", "1,0,2,1", "--dilation", "1,2"

Test(cli, conv_forward_matches_reference)
{
    struct ck_conv_params p = odd_problem();
    float x[2 * 4 * 9 * 8], w[6 * 2 * 3 * 2], b[6];
    ckt_fill_uniform(x, CK_COUNT_OF_T(x), 1, -1, 1);
    ckt_fill_uniform(w, CK_COUNT_OF_T(w), 2, -1, 1);
    ckt_fill_uniform(b, 6, 3, -1, 1);
    save(P("x.npy"), x, 4, 2, 4, 9, 8);
    save(P("w.npy"), w, 4, 6, 2, 3, 2);
    save(P("b.npy"), b, 1, 6, 0, 0, 0);
    struct ckt_run *r = cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), "--bias",
                        P("b.npy"), ODD_OPTS, "--output", P("y.npy"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_array y = load(P("y.npy"));
    const size_t want[4] = {2, 6, 5, 7};
    expect_shape(&y, 4, want);
    double ref[2 * 6 * 5 * 7];
    ckt_ref_forward(&p, x, w, b, ref);
    expect_close(y.data, ref, CK_COUNT_OF_T(ref), "forward");
    ck_array_free(&y);

    /* --name=value spelling, explicit backend and pass give the same file content */
    r = cli("conv", "--input=" , NULL); /* empty value is a usage error */
    cr_expect_eq(r->rc, 2);
}

Test(cli, conv_forward_3d_input_same_padding_float64)
{
    /* x (3,9,8) read as N=1; w (4,3,3,2); stride 2; "same": out = ceil(9/2) = 5 rows,
     * total pad = (5-1)*2 + 3 - 9 = 2 -> top 1, bottom 1; out = ceil(8/2) = 4 columns,
     * total = (4-1)*2 + 2 - 8 = 0. Inputs are float64 files. */
    float x[3 * 9 * 8], w[4 * 3 * 3 * 2];
    ckt_fill_uniform(x, CK_COUNT_OF_T(x), 11, -2, 2);
    ckt_fill_uniform(w, CK_COUNT_OF_T(w), 12, -1, 1);
    /* float64 .npy, built by hand: header + doubles */
    const char *names[2] = {"x64.npy", "w64.npy"};
    const float *src[2] = {x, w};
    const char *hdr[2] = {"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 9, 8), }",
                          "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 3, 3, 2), }"};
    const size_t cnt[2] = {CK_COUNT_OF_T(x), CK_COUNT_OF_T(w)};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(P(names[i]), "wb");
        cr_assert_not_null(f);
        size_t dl = strlen(hdr[i]), total = (10 + dl + 1 + 63) / 64 * 64, hlen = total - 10;
        unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)hlen, 0};
        fwrite(pre, 1, 10, f);
        fwrite(hdr[i], 1, dl, f);
        for (size_t k = 0; k < hlen - dl - 1; k++)
            fputc(' ', f);
        fputc('\n', f);
        for (size_t k = 0; k < cnt[i]; k++) {
            double d = src[i][k];
            fwrite(&d, sizeof d, 1, f);
        }
        cr_assert_eq(fclose(f), 0);
    }
    struct ckt_run *r = cli("conv", "--input", P("x64.npy"), "--weights", P("w64.npy"), "--stride",
                        "2", "--padding", "same", "--backend", "naive", "--pass", "forward",
                        "--output", P("y.npy"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_array y = load(P("y.npy"));
    const size_t want[3] = {4, 5, 4};
    expect_shape(&y, 3, want);
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.C = 3, p.H = 9, p.W = 8, p.K = 4, p.R = 3, p.S = 2, p.stride_h = p.stride_w = 2;
    p.pad_top = p.pad_bottom = 1;
    double ref[4 * 5 * 4];
    ckt_ref_forward(&p, x, w, NULL, ref);
    expect_close(y.data, ref, CK_COUNT_OF_T(ref), "forward from float64 files");
    ck_array_free(&y);
}

Test(cli, conv_backward_data_matches_reference)
{
    struct ck_conv_params p = odd_problem();
    float x[2 * 4 * 9 * 8], w[6 * 2 * 3 * 2], dy[2 * 6 * 5 * 7];
    ckt_fill_nan(x, CK_COUNT_OF_T(x)); /* x's values are not used, only its shape */
    ckt_fill_uniform(w, CK_COUNT_OF_T(w), 4, -1, 1);
    ckt_fill_uniform(dy, CK_COUNT_OF_T(dy), 5, -1, 1);
    save(P("x.npy"), x, 4, 2, 4, 9, 8);
    save(P("w.npy"), w, 4, 6, 2, 3, 2);
    save(P("dy.npy"), dy, 4, 2, 6, 5, 7);
    struct ckt_run *r = cli("conv", "--pass", "backward-data", "--input", P("x.npy"), "--weights",
                        P("w.npy"), "--grad-output", P("dy.npy"), ODD_OPTS, "--output",
                        P("dx.npy"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_array dx = load(P("dx.npy"));
    const size_t want[4] = {2, 4, 9, 8};
    expect_shape(&dx, 4, want);
    double ref[2 * 4 * 9 * 8];
    ckt_ref_backward_data(&p, dy, w, ref);
    expect_close(dx.data, ref, CK_COUNT_OF_T(ref), "backward-data");
    ck_array_free(&dx);
}

Test(cli, conv_backward_weights_matches_reference)
{
    struct ck_conv_params p = odd_problem();
    float x[2 * 4 * 9 * 8], w[6 * 2 * 3 * 2], dy[2 * 6 * 5 * 7];
    ckt_fill_uniform(x, CK_COUNT_OF_T(x), 6, -1, 1);
    ckt_fill_nan(w, CK_COUNT_OF_T(w)); /* only w's shape is used */
    ckt_fill_uniform(dy, CK_COUNT_OF_T(dy), 7, -1, 1);
    save(P("x.npy"), x, 4, 2, 4, 9, 8);
    save(P("w.npy"), w, 4, 6, 2, 3, 2);
    save(P("dy.npy"), dy, 4, 2, 6, 5, 7);
    struct ckt_run *r = cli("conv", "--pass=backward-weights", "--input", P("x.npy"), "--weights",
                        P("w.npy"), "--grad-output", P("dy.npy"), ODD_OPTS, "--output",
                        P("dw.npy"), "--bias-grad", P("db.npy"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_array dw = load(P("dw.npy")), db = load(P("db.npy"));
    const size_t want_w[4] = {6, 2, 3, 2}, want_b[1] = {6};
    expect_shape(&dw, 4, want_w);
    expect_shape(&db, 1, want_b);
    double ref_w[6 * 2 * 3 * 2], ref_b[6];
    ckt_ref_backward_weights(&p, x, dy, ref_w, ref_b);
    expect_close(dw.data, ref_w, CK_COUNT_OF_T(ref_w), "backward-weights dw");
    expect_close(db.data, ref_b, 6, "backward-weights db");
    ck_array_free(&dw);
    ck_array_free(&db);
}

/* ---- conv: bad input ------------------------------------------------------------------- */

/* x (1,4,6,6), w (4,2,3,3) with groups 2, bias (4), dy (1,4,4,4) for valid padding. */
static void write_good_inputs(void)
{
    float buf[1 * 4 * 6 * 6];
    ckt_fill_uniform(buf, CK_COUNT_OF_T(buf), 9, -1, 1);
    save(P("x.npy"), buf, 4, 1, 4, 6, 6);
    save(P("x2d.npy"), buf, 2, 4, 36, 0, 0);
    save(P("w.npy"), buf, 4, 4, 2, 3, 3);
    save(P("w3.npy"), buf, 4, 3, 2, 3, 3); /* K = 3: groups 2 does not divide it */
    save(P("b.npy"), buf, 1, 4, 0, 0, 0);
    save(P("b5.npy"), buf, 1, 5, 0, 0, 0);
    save(P("dy.npy"), buf, 4, 1, 4, 4, 4);
    save(P("dy_bad.npy"), buf, 4, 1, 4, 5, 4);
    FILE *f = fopen(P("junk.npy"), "wb");
    fputs("definitely not numpy", f);
    fclose(f);
    /* a valid '<i4' file */
    f = fopen(P("int.npy"), "wb");
    const char *h = "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }";
    size_t dl = strlen(h), total = (10 + dl + 1 + 63) / 64 * 64;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(total - 10), 0};
    fwrite(pre, 1, 10, f);
    fwrite(h, 1, dl, f);
    for (size_t k = 0; k < total - 10 - dl - 1; k++)
        fputc(' ', f);
    fputc('\n', f);
    fwrite(buf, 4, 4, f);
    fclose(f);
}

#define GOOD "--input", P("x.npy"), "--weights", P("w.npy"), "--groups", "2"

Test(cli, conv_usage_errors_exit_2)
{
    write_good_inputs();
    char o[256];
    snprintf(o, sizeof o, "%s", P("out.npy"));
    expect_fail(cli("conv", NULL), 2, "conv", "--input", o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--output", o, NULL), 2, "conv", "--weights",
                o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), NULL), 2, "conv",
                "--output", NULL, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--frobnicate", "1", NULL), 2, "conv",
                "unknown option '--frobnicate'", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--input", P("x.npy"), NULL), 2, "conv",
                "more than once", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "stray", NULL), 2, "conv", "'stray'", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--stride", NULL), 2, "conv", "needs a value",
                o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--stride", "0", NULL), 2, "conv", "--stride",
                o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--stride", "two", NULL), 2, "conv",
                "not an integer", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--stride", "1,2,3", NULL), 2, "conv",
                "at most 2", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--dilation", "0", NULL), 2, "conv",
                "--dilation", o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), "--groups", "0",
                    "--output", o, NULL), 2, "conv", "--groups", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--padding", "-1", NULL), 2, "conv", "padding",
                o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--padding", "1,2", NULL), 2, "conv",
                "padding", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--padding", "full", NULL), 2, "conv",
                "padding", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--pass", "sideways", NULL), 2, "conv",
                "--pass 'sideways'", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--backend", "quantum", NULL), 2, "conv",
                "naive", o, NULL); /* lists the known backends */
    expect_fail(cli("conv", GOOD, "--output", o, "--pass", "backward-data", NULL), 2, "conv",
                "--grad-output", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--grad-output", P("dy.npy"), NULL), 2, "conv",
                "--grad-output", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--pass", "backward-data", "--grad-output",
                    P("dy.npy"), "--bias", P("b.npy"), NULL), 2, "conv", "--bias", o, NULL);
    expect_fail(cli("conv", GOOD, "--output", o, "--bias-grad", P("db.npy"), NULL), 2, "conv",
                "--bias-grad", o, P("db.npy"));
}

Test(cli, conv_file_and_shape_errors_exit_1)
{
    write_good_inputs();
    char o[256];
    snprintf(o, sizeof o, "%s", P("out.npy"));
    expect_fail(cli("conv", "--input", P("nope.npy"), "--weights", P("w.npy"), "--output", o,
                    NULL), 1, "conv", "nope.npy", o, NULL);
    expect_fail(cli("conv", "--input", P("junk.npy"), "--weights", P("w.npy"), "--output", o,
                    NULL), 1, "conv", "bad magic", o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("int.npy"), "--output", o,
                    NULL), 1, "conv", "'<i4'", o, NULL);
    expect_fail(cli("conv", "--input", P("x2d.npy"), "--weights", P("w.npy"), "--output", o,
                    NULL), 1, "conv", "(4, 36)", o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("b.npy"), "--output", o, NULL),
                1, "conv", "4-D", o, NULL);
    /* w's second dim is 2 but C/groups = 4/1 = 4: say expected and got */
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), "--output", o, NULL),
                1, "conv", "expected C/groups = 4/1 = 4", o, NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), "--groups", "3",
                    "--output", o, NULL), 1, "conv", "does not divide the input channels", o,
                NULL);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w3.npy"), "--groups", "2",
                    "--output", o, NULL), 1, "conv", "does not divide the output channels", o,
                NULL);
    expect_fail(cli("conv", GOOD, "--bias", P("b5.npy"), "--output", o, NULL), 1, "conv",
                "expected shape (4,), got (5,)", o, NULL);
    expect_fail(cli("conv", GOOD, "--pass", "backward-data", "--grad-output", P("dy_bad.npy"),
                    "--output", o, NULL), 1, "conv", "expected shape (1, 4, 4, 4)", o, NULL);
    expect_fail(cli("conv", GOOD, "--dilation", "3", "--output", o, NULL), 1, "conv",
                "larger than the padded input", o, NULL);
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/missing/out.npy", dir);
    expect_fail(cli("conv", GOOD, "--output", nodir, NULL), 1, "conv", nodir, nodir, NULL);
    /* two outputs: the second cannot be written, so neither may appear */
    expect_fail(cli("conv", GOOD, "--pass", "backward-weights", "--grad-output", P("dy.npy"),
                    "--output", o, "--bias-grad", nodir, NULL), 1, "conv", nodir, o, nodir);
}

Test(cli, conv_failure_keeps_existing_output)
{
    write_good_inputs();
    const float old[2] = {7, 8};
    save(P("keep.npy"), old, 1, 2, 0, 0, 0);
    struct ckt_run *r = cli("conv", "--input", P("junk.npy"), "--weights", P("w.npy"), "--output",
                        P("keep.npy"), NULL);
    cr_expect_eq(r->rc, 1);
    struct ck_array a = load(P("keep.npy"));
    cr_expect_eq(a.ndim, 1);
    cr_expect_eq(a.shape[0], 2);
    cr_expect_eq(a.data[1], 8.0f, "the old output is untouched");
    ck_array_free(&a);
}

Test(cli, conv_backend_refusal_is_reported)
{
    /* Find a backend that refuses a 5x5, stride-3, dilated problem (e.g. winograd). */
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.C = 2, p.H = p.W = 12, p.K = 2, p.R = p.S = 5, p.stride_h = p.stride_w = 3;
    p.dilation_h = p.dilation_w = 2;
    const struct ck_conv_backend *refuser = NULL;
    char why[256];
    for (size_t i = 0; i < ck_backend_count() && !refuser; i++)
        if (ck_backend_supports(ck_backend_get(i), &p, CK_PASS_FORWARD, why, sizeof why) != CK_OK)
            refuser = ck_backend_get(i);
    if (!refuser) {
        remove_dir(); /* a skipped test does not run .fini */
        cr_skip_test("every compiled-in backend runs this problem");
    }
    float x[2 * 12 * 12], w[2 * 2 * 5 * 5];
    ckt_fill_uniform(x, CK_COUNT_OF_T(x), 1, -1, 1);
    ckt_fill_uniform(w, CK_COUNT_OF_T(w), 2, -1, 1);
    save(P("x.npy"), x, 4, 1, 2, 12, 12);
    save(P("w.npy"), w, 4, 2, 2, 5, 5);
    expect_fail(cli("conv", "--input", P("x.npy"), "--weights", P("w.npy"), "--stride", "3",
                    "--dilation", "2", "--backend", refuser->name, "--output", P("y.npy"), NULL),
                1, "conv", "cannot run", P("y.npy"), NULL);
}

/* ---- filter ------------------------------------------------------------------------------ */

static struct ck_image read_png(const char *path)
{
    struct ck_image img;
    char msg[256] = "";
    cr_assert_eq(ck_png_read(path, &img, msg, sizeof msg), CK_OK, "%s", msg);
    return img;
}

static void write_png(const char *path, const float *planes, int c, int h, int w)
{
    char msg[256];
    cr_assert_eq(ck_png_write(path, planes, c, h, w, msg, sizeof msg), CK_OK, "%s", msg);
}

static void expect_pixels(const struct ck_image *img, int c, const float *want, const char *what)
{
    size_t plane = (size_t)img->width * img->height;
    for (size_t i = 0; i < plane; i++)
        cr_expect_eq(img->data[c * plane + i], want[i], "%s: channel %d pixel %zu = %g, want %g",
                     what, c, i, img->data[c * plane + i], want[i]);
}

Test(cli, filter_real_images_keep_their_size)
{
    struct ckt_run *r = cli("filter", "--kernel", "edge", "--input",
                            CK_SOURCE_DIR "/assets/camera.png", "--output", P("cam.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_image img = read_png(P("cam.png"));
    cr_expect_eq(img.channels, 1);
    cr_expect_eq(img.width, 512);
    cr_expect_eq(img.height, 512);
    ck_image_free(&img);

    r = cli("filter", "--kernel", "blur", "--input", CK_SOURCE_DIR "/assets/chelsea.png",
            "--output", P("cat.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("cat.png"));
    cr_expect_eq(img.channels, 3, "RGB stays RGB (depthwise)");
    cr_expect_eq(img.width, 451);
    cr_expect_eq(img.height, 300);
    ck_image_free(&img);

    /* --gray and stride 2 with "same": ceil(451/2) x ceil(300/2) = 226 x 150 */
    r = cli("filter", "--kernel", "sobel-y", "--gray", "--stride", "2", "--input",
            CK_SOURCE_DIR "/assets/chelsea.png", "--output", P("cat2.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("cat2.png"));
    cr_expect_eq(img.channels, 1);
    cr_expect_eq(img.width, 226);
    cr_expect_eq(img.height, 150);
    ck_image_free(&img);
}

/* 3x3 images, zero padding ("same" = 1 pixel each side); out = sum k[i][j] * x[.+i-1][.+j-1].
 * Uniform 20 + a centre spike of 10 (centre 30):
 *   edge (8*centre - sum of the in-image neighbours): corner 8*20 - (20+20+30) = 90,
 *   edge pixel 8*20 - (20+20+30+20+20) = 50, centre 8*30 - 8*20 = 80.
 * Uniform 9, blur (1/9 each): corner 4*9/9 = 4, edge 6*9/9 = 6, centre 9.
 * Columns 0,10,20 in every row, sobel-x [-1 0 1; -2 0 2; -1 0 1]: the row part is
 *   x[j+1] - x[j-1] = 10, 20, -10; weighted by 1+2 (top/bottom row) or 1+2+1 (middle):
 *   rows 30 60 -30 / 40 80 -40 / 30 60 -30. */
Test(cli, filter_values_by_hand)
{
    const float spike[9] = {20, 20, 20, 20, 30, 20, 20, 20, 20};
    write_png(P("spike.png"), spike, 1, 3, 3);
    struct ckt_run *r = cli("filter", "--kernel", "edge", "--input", P("spike.png"), "--output",
                        P("e.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_image img = read_png(P("e.png"));
    const float edge_want[9] = {90, 50, 90, 50, 80, 50, 90, 50, 90};
    expect_pixels(&img, 0, edge_want, "edge");
    ck_image_free(&img);

    /* --map normalize: (v - 50) * 255 / 40 -> 255, 0, 191.25 -> 191 */
    r = cli("filter", "--kernel", "edge", "--map", "normalize", "--input", P("spike.png"),
            "--output", P("n.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("n.png"));
    const float norm_want[9] = {255, 0, 255, 0, 191, 0, 255, 0, 255};
    expect_pixels(&img, 0, norm_want, "edge normalize");
    ck_image_free(&img);

    const float ramp[9] = {0, 10, 20, 0, 10, 20, 0, 10, 20};
    write_png(P("ramp.png"), ramp, 1, 3, 3);
    r = cli("filter", "--kernel", "sobel-x", "--input", P("ramp.png"), "--output", P("sx.png"),
            NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("sx.png"));
    const float sx_abs[9] = {30, 60, 30, 40, 80, 40, 30, 60, 30};
    expect_pixels(&img, 0, sx_abs, "sobel-x abs");
    ck_image_free(&img);
    r = cli("filter", "--kernel", "sobel-x", "--map", "clamp", "--input", P("ramp.png"),
            "--output", P("sxc.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("sxc.png"));
    const float sx_clamp[9] = {30, 60, 0, 40, 80, 0, 30, 60, 0};
    expect_pixels(&img, 0, sx_clamp, "sobel-x clamp");
    ck_image_free(&img);
}

Test(cli, filter_rgb_is_depthwise_and_npy_kernels_work)
{
    /* R uniform 9, G the spike image, B zero: each channel filtered on its own */
    float rgb[27];
    const float spike[9] = {20, 20, 20, 20, 30, 20, 20, 20, 20};
    for (int i = 0; i < 9; i++) {
        rgb[i] = 9;
        rgb[9 + i] = spike[i];
        rgb[18 + i] = 0;
    }
    write_png(P("rgb.png"), rgb, 3, 3, 3);
    struct ckt_run *r = cli("filter", "--kernel", "blur", "--input", P("rgb.png"), "--output",
                        P("b.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    struct ck_image img = read_png(P("b.png"));
    cr_assert_eq(img.channels, 3);
    const float blur9[9] = {4, 6, 4, 6, 9, 6, 4, 6, 4};
    /* spike blurred: corner (20*3+30)/9 = 10, edge (20*5+30)/9 = 14.4 -> 14,
     * centre (20*8+30)/9 = 21.1 -> 21 */
    const float blur_spike[9] = {10, 14, 10, 14, 21, 14, 10, 14, 10};
    const float zero[9] = {0};
    expect_pixels(&img, 0, blur9, "blur R");
    expect_pixels(&img, 1, blur_spike, "blur G");
    expect_pixels(&img, 2, zero, "blur B");
    ck_image_free(&img);

    /* a (1,1) kernel [[3]] from a .npy file, valid padding, default map clamp */
    const float k3 = 3.0f;
    save(P("k.npy"), &k3, 2, 1, 1, 0, 0);
    r = cli("filter", "--kernel", P("k.npy"), "--padding", "valid", "--input", P("rgb.png"),
            "--output", P("k.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("k.png"));
    const float r27[9] = {27, 27, 27, 27, 27, 27, 27, 27, 27};
    const float g3[9] = {60, 60, 60, 60, 90, 60, 60, 60, 60};
    expect_pixels(&img, 0, r27, "x3 R");
    expect_pixels(&img, 1, g3, "x3 G");
    ck_image_free(&img);

    /* --gray: luma 0.299 R + 0.587 G + 0.114 B of (100,100,100) is 100; blur of uniform 100
     * gives corner 400/9 = 44.4 -> 44, edge 600/9 = 66.7 -> 67, centre 100 */
    for (int i = 0; i < 27; i++)
        rgb[i] = 100;
    write_png(P("grey.png"), rgb, 3, 3, 3);
    r = cli("filter", "--kernel", "blur", "--gray", "--input", P("grey.png"), "--output",
            P("g.png"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    img = read_png(P("g.png"));
    cr_assert_eq(img.channels, 1);
    const float gray_want[9] = {44, 67, 44, 67, 100, 67, 44, 67, 44};
    expect_pixels(&img, 0, gray_want, "gray blur");
    ck_image_free(&img);
}

Test(cli, filter_bad_input)
{
    const float px[9] = {0};
    write_png(P("in.png"), px, 1, 3, 3);
    const float k3d[8] = {0};
    save(P("k3d.npy"), k3d, 3, 2, 2, 2, 0);
    const float k5[25] = {0};
    save(P("k5.npy"), k5, 2, 5, 5, 0, 0);
    char o[256], in[256];
    snprintf(o, sizeof o, "%s", P("out.png"));
    snprintf(in, sizeof in, "%s", P("in.png"));
    expect_fail(cli("filter", "--input", in, "--output", o, NULL), 2, "filter", "--kernel", o,
                NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, NULL), 2, "filter", "--output",
                NULL, NULL);
    expect_fail(cli("filter", "--kernel", "emboss", "--input", in, "--output", o, NULL), 2,
                "filter", "'emboss'", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, "--output", o, "--map", "log",
                    NULL), 2, "filter", "--map 'log'", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, "--output", o, "--stride", "0",
                    NULL), 2, "filter", "--stride", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, "--output", o, "--gray=yes",
                    NULL), 2, "filter", "--gray", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, "--output", o, "--backend",
                    "gpu", NULL), 2, "filter", "naive", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", P("none.png"), "--output", o, NULL),
                1, "filter", "none.png", o, NULL);
    expect_fail(cli("filter", "--kernel", "edge", "--input", P("k5.npy"), "--output", o, NULL), 1,
                "filter", "not a PNG", o, NULL);
    expect_fail(cli("filter", "--kernel", P("k3d.npy"), "--input", in, "--output", o, NULL), 1,
                "filter", "2-D", o, NULL);
    expect_fail(cli("filter", "--kernel", P("missing.npy"), "--input", in, "--output", o, NULL),
                1, "filter", "missing.npy", o, NULL);
    expect_fail(cli("filter", "--kernel", P("k5.npy"), "--padding", "valid", "--input", in,
                    "--output", o, NULL), 1, "filter", "larger than the padded input", o, NULL);
    char nodir[300];
    snprintf(nodir, sizeof nodir, "%s/missing/out.png", dir);
    expect_fail(cli("filter", "--kernel", "edge", "--input", in, "--output", nodir, NULL), 1,
                "filter", nodir, nodir, NULL);
}
