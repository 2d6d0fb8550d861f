/* test_cli_train.c - `convkit train`, `eval`, `export` and `visualize` end to end on
 * tiny generated IDX datasets: logs, checkpoints, resume and thread-count identity of
 * the files, divergence keeping the last checkpoint, one-line errors and exit codes,
 * exported .npy values against the checkpoint, PNG outputs.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "convkit/convkit.h"
#include "convkit/checkpoint.h"
#include "convkit/io.h"
#include "files.h"

#define TINY "input 8x8x1; conv2d 4 3x3 padding=same activation=relu; maxpool2d 2x2; flatten; dense 10"

static char dir[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_clitrain"), 0);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
}

TestSuite(cli_train, .init = make_dir, .fini = remove_dir, .timeout = 120);

static const char *P(const char *name)
{
    return ckt_path(dir, name);
}

static struct ckt_run *cli(const char *a0, ...)
{
    static struct ckt_run r;
    const char *argv[64] = {CK_CLI_PATH, a0};
    int argc = 2;
    va_list ap;
    va_start(ap, a0);
    for (const char *a; (a = va_arg(ap, const char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert_eq(ckt_run_capture(argv, dir, &r), 0);
    cr_assert_eq(r.signal, 0, "convkit %s died with signal %d", a0, r.signal);
    return &r;
}

static void expect_fail(const struct ckt_run *r, int rc, const char *cmd, const char *needle)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "convkit %s: ", cmd);
    cr_expect_eq(r->rc, rc, "exit %d, want %d; stderr: %s", r->rc, rc, r->err);
    size_t len = strlen(r->err);
    const char *nl = strchr(r->err, '\n');
    cr_expect(len > 0 && nl == r->err + len - 1, "exactly one line on stderr: [%s]", r->err);
    cr_expect_eq(strncmp(r->err, prefix, strlen(prefix)), 0, "%s", r->err);
    cr_expect_not_null(strstr(r->err, needle), "mentions '%s': %s", needle, r->err);
}

static void write_file(const char *path, const uint8_t *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(b, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* An IDX pair of n 8x8 images in dir/<prefix>-{images-idx3,labels-idx1}-ubyte; image i
 * has label i % 10 and a bright row at y = label (so it is learnable). */
static void write_idx(const char *prefix, int n)
{
    static uint8_t img[16 + 200 * 64], lab[8 + 200];
    const uint8_t ih[16] = {0, 0, 8, 3, 0, 0, 0, (uint8_t)n, 0, 0, 0, 8, 0, 0, 0, 8};
    const uint8_t lh[8] = {0, 0, 8, 1, 0, 0, 0, (uint8_t)n};
    memcpy(img, ih, 16);
    memcpy(lab, lh, 8);
    for (int i = 0; i < n; i++) {
        lab[8 + i] = (uint8_t)(i % 10);
        for (int k = 0; k < 64; k++)
            img[16 + i * 64 + k] = (uint8_t)(k / 8 == (i % 10) % 8 ? 200 + (i % 3) * 20 : (k * 7 + i) % 40);
    }
    char name[128];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte", prefix);
    write_file(P(name), img, 16 + (size_t)n * 64);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte", prefix);
    write_file(P(name), lab, 8 + (size_t)n);
}

static void write_dataset(void)
{
    write_idx("train", 48);
    write_idx("t10k", 20);
}

static uint8_t *slurp(const char *p, size_t *len)
{
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f, "%s missing", p);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len + 1);
    cr_assert_eq(fread(b, 1, *len, f), *len);
    b[*len] = 0;
    fclose(f);
    return b;
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    uint8_t *x = slurp(a, &la), *y = slurp(b, &lb);
    int same = la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* train TINY on the generated set (6 steps per epoch); steps NULL: no --steps */
static struct ckt_run *train(const char *ckpt, const char *threads, const char *epochs,
                             const char *schedule, const char *steps)
{
    return cli("train", "--model", TINY, "--dataset", "fashion-mnist", "--data-dir", dir,
               "--batch", "8", "--micro-batch", "4", "--augment", "--epochs", epochs,
               "--threads", threads, "--checkpoint", ckpt, "--backend", "naive", "--schedule",
               schedule, steps ? "--steps" : NULL, steps, NULL);
}

Test(cli_train, log_progress_and_checkpoint)
{
    write_dataset();
    struct ckt_run *r = cli("train", "--model", TINY, "--dataset", "fashion-mnist", "--data-dir",
                            dir, "--batch", "8", "--epochs", "2", "--optimizer", "sgd", "--lr",
                            "0.05", "--schedule", "step:1:0.5", "--log", P("log.csv"), "--threads",
                            "1",
                            "--checkpoint", P("c.ckpt"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_not_null(strstr(r->out, "epoch 2/2"), "%s", r->out);
    cr_assert_not_null(strstr(r->out, "test_acc"), "%s", r->out);
    size_t n;
    char *log = (char *)slurp(P("log.csv"), &n);
    cr_assert_eq(strncmp(log, "epoch,step,loss,accuracy,test_accuracy,images_per_s,seconds\n1,6,",
                         63), 0, "%s", log);
    cr_assert_not_null(strstr(log, "\n2,12,"), "%s", log);
    int lines = 0;
    for (char *c = log; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 3);
    free(log);
    /* --steps stops early (3 of 6 steps) and still logs and evaluates */
    r = cli("train", "--model", TINY, "--dataset", "synthetic", "--batch", "8", "--steps", "3",
            "--log", P("s.csv"), "--threads", "1", NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_not_null(strstr(r->out, "stopped by --steps"), "%s", r->out);
    log = (char *)slurp(P("s.csv"), &n);
    cr_assert_not_null(strstr(log, "\n1,3,"), "%s", log);
    free(log);
}

Test(cli_train, resume_and_thread_count_give_identical_files)
{
    write_dataset();
    /* constant schedule: 2 epochs straight == 1 epoch, then resumed to 2 */
    cr_assert_eq(train(P("straight.ckpt"), "1", "2", "constant", NULL)->rc, 0);
    cr_assert_eq(train(P("two.ckpt"), "2", "2", "constant", NULL)->rc, 0);
    cr_assert(same_file(P("straight.ckpt"), P("two.ckpt")), "1 vs 2 threads differ");
    cr_assert_eq(train(P("half.ckpt"), "2", "1", "constant", NULL)->rc, 0);
    struct ckt_run *r = cli("train", "--resume", P("half.ckpt"), "--epochs", "2", "--data-dir",
                            dir, "--threads", "1", "--batch", "8", "--backend", "naive", NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_not_null(strstr(r->out, "resumed at epoch 1"), "%s", r->out);
    cr_assert(same_file(P("straight.ckpt"), P("half.ckpt")), "resumed run differs");
    /* cosine spans --epochs: split it with --steps (9 = mid-epoch 2) */
    cr_assert_eq(train(P("cos.ckpt"), "1", "2", "cosine", NULL)->rc, 0);
    cr_assert_eq(train(P("cos2.ckpt"), "1", "2", "cosine", "9")->rc, 0);
    r = cli("train", "--resume", P("cos2.ckpt"), "--epochs", "2", "--data-dir", dir, "--threads",
            "2", "--backend", "naive", NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert(same_file(P("cos.ckpt"), P("cos2.ckpt")), "run resumed mid-epoch differs");
    /* nothing left to do */
    r = cli("train", "--resume", P("half.ckpt"), "--epochs", "2", "--data-dir", dir, NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_not_null(strstr(r->out, "nothing to do"), "%s", r->out);
    /* a recipe change on resume is refused */
    r = cli("train", "--resume", P("half.ckpt"), "--epochs", "3", "--data-dir", dir, "--lr",
            "0.5", NULL);
    expect_fail(r, 2, "train", "--lr");
}

Test(cli_train, divergence_keeps_the_last_checkpoint)
{
    write_dataset();
    cr_assert_eq(train(P("good.ckpt"), "1", "1", "constant", NULL)->rc, 0);
    size_t n0;
    uint8_t *before = slurp(P("good.ckpt"), &n0);
    struct ckt_run *r = cli("train", "--model", TINY, "--dataset", "fashion-mnist", "--data-dir",
                            dir, "--batch", "8", "--optimizer", "sgd", "--lr", "1e30",
                            "--threads", "1", "--checkpoint", P("good.ckpt"), NULL);
    expect_fail(r, 1, "train", "not finite");
    cr_expect_not_null(strstr(r->err, "good.ckpt"), "%s", r->err);
    size_t n1;
    uint8_t *after = slurp(P("good.ckpt"), &n1);
    cr_assert(n0 == n1 && memcmp(before, after, n0) == 0, "checkpoint was overwritten");
    free(before);
    free(after);
}

Test(cli_train, usage_and_data_errors)
{
    write_dataset();
    expect_fail(cli("train", "--dataset", "synthetic", NULL), 2, "train", "--model");
    expect_fail(cli("train", "--model", TINY, "--dataset", "imagenet", NULL), 2, "train",
                "imagenet");
    expect_fail(cli("train", "--model", TINY, "--dataset", "synthetic", "--schedule", "linear",
                    NULL), 2, "train", "--schedule");
    expect_fail(cli("train", "--model", TINY, "--dataset", "synthetic", "--backend", "gpu", NULL),
                2, "train", "gpu");
    expect_fail(cli("train", "--model", TINY, "--dataset", "synthetic", "--micro-batch", "100",
                    NULL), 2, "train", "--micro-batch");
    expect_fail(cli("train", "--model", TINY, "--dataset", "mnist", "--data-dir", P("none"),
                    NULL), 1, "train", "none");
    expect_fail(cli("train", "--model", "input 8x8x1; dense 10", "--dataset", "fashion-mnist",
                    "--data-dir", dir, NULL), 2, "train", "flatten");
    write_file(P("bad.ckpt"), (const uint8_t *)"CKPT\r\n\x1a\nxx", 10);
    expect_fail(cli("eval", "--checkpoint", P("bad.ckpt"), NULL), 1, "eval", "bad.ckpt");
    expect_fail(cli("train", "--resume", P("bad.ckpt"), NULL), 1, "train", "bad.ckpt");
    expect_fail(cli("export", "--checkpoint", P("bad.ckpt"), "--npy-dir", P("npy"), NULL), 1,
                "export", "truncated");
    cr_expect_neq(access(P("npy"), F_OK), 0);
}

Test(cli_train, eval_export_visualize)
{
    write_dataset();
    cr_assert_eq(train(P("m.ckpt"), "1", "2", "cosine", NULL)->rc, 0);
    struct ckt_run *r = cli("eval", "--checkpoint", P("m.ckpt"), "--data-dir", dir, "--threads",
                            "1", NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_not_null(strstr(r->out, "accuracy:"), "%s", r->out);
    cr_assert_not_null(strstr(r->out, "Ankle boot"), "%s", r->out);
    cr_assert_not_null(strstr(r->out, "confusion matrix"), "%s", r->out);

    char out[64];
    cr_assert_eq(ckt_tmpdir_make(out, sizeof out, "ck_export"), 0);
    r = cli("export", "--checkpoint", P("m.ckpt"), "--npy-dir", out, NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_eq(ckt_dir_count(out, ".npy"), 4);
    struct ck_checkpoint ck;
    char msg[256], f[128];
    cr_assert_eq(ck_checkpoint_read(P("m.ckpt"), &ck, msg, sizeof msg), CK_OK, "%s", msg);
    struct ck_array a, b;
    snprintf(f, sizeof f, "%s/layer0_conv2d.weight.npy", out);
    cr_assert_eq(ck_npy_read(f, &a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(a.ndim, 4);
    cr_assert(a.shape[0] == 4 && a.shape[1] == 1 && a.shape[2] == 3 && a.shape[3] == 3);
    cr_assert_eq(memcmp(a.data, ck.params, 36 * sizeof(float)), 0); /* first tensor of the arena */
    snprintf(f, sizeof f, "%s/layer3_dense.weight.npy", out);
    cr_assert_eq(ck_npy_read(f, &b, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert(b.ndim == 2 && b.shape[0] == 10 && b.shape[1] == 64);
    ck_array_free(&a);
    ck_array_free(&b);
    ck_checkpoint_free(&ck);
    ckt_tmpdir_remove(out);

    cr_assert_eq(ckt_tmpdir_make(out, sizeof out, "ck_vis"), 0);
    r = cli("visualize", "--checkpoint", P("m.ckpt"), "--data-dir", dir, "--index", "99",
            "--out", out, NULL);
    expect_fail(r, 2, "visualize", "--index 99");
    cr_assert_eq(ckt_dir_count(out, NULL), 0);
    r = cli("visualize", "--checkpoint", P("m.ckpt"), "--data-dir", dir, "--index", "3",
            "--out", out, NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_assert_eq(ckt_dir_count(out, ".png"), 3, "%s", r->out); /* input, filters, features */
    struct ck_image img;
    snprintf(f, sizeof f, "%s/layer0_conv2d_features.png", out);
    cr_assert_eq(ck_png_read(f, &img, msg, sizeof msg), CK_OK, "%s", msg);
    cr_assert_eq(img.channels, 1);
    ck_image_free(&img);
    ckt_tmpdir_remove(out);
}

Test(cli_train, auto_choices_are_shown_and_wisdom_overrides_them)
{
    /* TINY's conv layer at micro-batch 4 on synthetic 8x8x1 images: the heuristic, shown
     * with its reason; then a wisdom file naming naive for that exact layer and pass */
    const char *spec = "input 8x8x1; conv2d 4 3x3 padding=same activation=relu; flatten; dense 10";
    struct ckt_run *r = cli("train", "--model", spec, "--dataset", "synthetic", "--batch", "8",
                            "--micro-batch", "4", "--steps", "1", "--threads", "1", NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    cr_expect_not_null(strstr(r->out, "auto picks"), "%s", r->out);
    cr_expect_not_null(strstr(r->out, "layer 0 (mb4ic1ih8oc4kh3ph1)"), "%s", r->out);
    cr_expect_not_null(strstr(r->out, "heuristic: "), "%s", r->out);
    FILE *f = fopen(P("w.wisdom"), "w");
    cr_assert_not_null(f);
    fprintf(f, "mb4ic1ih8oc4kh3ph1 forward naive 0.5\n");
    fclose(f);
    r = cli("train", "--model", spec, "--dataset", "synthetic", "--batch", "8", "--micro-batch",
            "4", "--steps", "1", "--threads", "1", "--wisdom", P("w.wisdom"), NULL);
    cr_assert_eq(r->rc, 0, "%s", r->err);
    const char *fw = strstr(r->out, "forward ");
    cr_assert_not_null(fw, "%s", r->out);
    static const char want[] = "forward           naive        wisdom: measured fastest";
    cr_expect_eq(strncmp(fw, want, sizeof want - 1), 0, "%s", r->out);
    /* a missing or malformed wisdom file is a usage error naming the option */
    r = cli("train", "--model", spec, "--dataset", "synthetic", "--steps", "1", "--wisdom",
            P("missing.wisdom"), NULL);
    expect_fail(r, 2, "train", "--wisdom");
    f = fopen(P("bad.wisdom"), "w");
    cr_assert_not_null(f);
    fprintf(f, "mb4ic1ih8oc4kh3ph1 sideways naive 0.5\n");
    fclose(f);
    r = cli("train", "--model", spec, "--dataset", "synthetic", "--steps", "1", "--wisdom",
            P("bad.wisdom"), NULL);
    expect_fail(r, 2, "train", "--wisdom");
}
