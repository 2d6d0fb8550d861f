/* test_mpi.c - `mpirun -np 2 convkit train` against the single-process run of the same
 * recipe on a tiny synthetic problem: identical checkpoint bytes and log values, a
 * weight check across ranks that catches one flipped bit, resume with 1 and 2 ranks,
 * and a rank that exits or hangs ending the job with an error instead of a hang.
 * The reference is always a plain `convkit train` (one process), which defines the
 * expected bits. Skipped, with the reason, when convkit was built without MPI.
 */
#define _POSIX_C_SOURCE 200809L
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files.h"

/* 5 micro-batches of a batch of 24 (5,5,5,5,4): ranks get 2 and 3 chunks; dropout and
 * augmentation draw from the RNG streams the ranks must address like one process. */
#define TINY "input 8x8x1; conv2d 4 3x3 padding=same activation=relu; flatten; " \
             "dropout 0.25; dense 10"
#define RECIPE "--dataset", "synthetic", "--batch", "24", "--micro-batch", "5", \
               "--optimizer", "adam", "--augment", "--epochs", "1"

static char dir[64], session[64];

static void make_dir(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_mpi"), 0);
    /* Open MPI's session directory in a directory of this test's own: by default every
     * mpirun makes /tmp/ompi.HOST.UID, and two tests starting at once (--jobs 2) raced
     * on it ("mkdir ... File exists", orte_init failed) */
    cr_assert_eq(ckt_tmpdir_make(session, sizeof session, "ck_ompi"), 0);
    setenv("TMPDIR", session, 1);
    /* one thread per rank: two ranks share this machine's cores */
    setenv("OMP_NUM_THREADS", "1", 1);
    setenv("OMP_WAIT_POLICY", "passive", 1);
    setenv("CONVKIT_MPI_TEST_FAIL", "", 1); /* test hooks off unless a test sets them */
    setenv("CONVKIT_MPI_TEST_CORRUPT", "", 1);
}

static void remove_dir(void)
{
    ckt_tmpdir_remove(dir);
    ckt_tmpdir_remove(session);
}

TestSuite(mpi, .init = make_dir, .fini = remove_dir, .timeout = 120);

static const char *P(const char *name)
{
    return ckt_path(dir, name);
}

#ifdef CK_MPIEXEC
#define NEED_MPI() ((void)0)
#else
#define CK_MPIEXEC "mpirun"
#define NEED_MPI()                                                                    \
    cr_skip_test("convkit was built without MPI (CONVKIT_MPI=OFF or CMake found no MPI): " \
                 "nothing to run under mpirun")
#endif

/* Run `convkit train ARGS` with ranks processes (0: directly, no launcher), under
 * timeout(1) so that a hang fails the test instead of stalling the suite. */
static struct ckt_run *train(int ranks, const char *a0, ...)
{
    static struct ckt_run r;
    const char *argv[64] = {"/usr/bin/timeout", "-k", "5", "60"};
    int argc = 4;
    char np[16], asan[512];
    snprintf(np, sizeof np, "%d", ranks);
    /* Under ASan, Open MPI's own allocations that it never frees (in plugins it has
     * unloaded, so no suppression can name them) would fail every rank at exit: leak
     * checking is off for the ranks only; memory errors and UBSan stay on, and the
     * single-process runs keep leak checking. */
    const char *asan_env = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sdetect_leaks=0", asan_env ? asan_env : "",
             asan_env && *asan_env ? ":" : "");
    if (ranks > 0) {
        const char *launch[] = {CK_MPIEXEC, "--allow-run-as-root", "--oversubscribe",
                                "--bind-to", "none", "-x", "OMP_NUM_THREADS", "-x",
                                "OMP_WAIT_POLICY", "-x", "CONVKIT_MPI_TEST_FAIL", "-x",
                                "CONVKIT_MPI_TEST_CORRUPT", "-x", asan, "-np", np};
        for (size_t i = 0; i < sizeof launch / sizeof launch[0]; i++)
            argv[argc++] = launch[i];
    }
    argv[argc++] = CK_CLI_PATH;
    argv[argc++] = "train";
    argv[argc++] = a0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a; (a = va_arg(ap, const char *));)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert_eq(ckt_run_capture(argv, dir, &r), 0, "could not start %s", argv[0]);
    cr_assert_neq(r.rc, 124, "timed out after 60 s (a hang); stderr: %s", r.err);
    return &r;
}

static void expect_ok(const struct ckt_run *r, const char *what)
{
    cr_assert_eq(r->rc, 0, "%s: exit %d; stderr: %s", what, r->rc, r->err);
}

/* Whole file into a malloc'ed buffer; *n its length. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s missing", path);
    unsigned char *b = malloc(1 << 20);
    cr_assert_not_null(b);
    *n = fread(b, 1, 1 << 20, f);
    cr_assert_eq(fgetc(f), EOF, "%s larger than 1 MiB", path);
    fclose(f);
    return b;
}

static void expect_same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = slurp(a, &na), *y = slurp(b, &nb);
    cr_expect_eq(na, nb, "%s has %zu bytes, %s %zu", a, na, b, nb);
    size_t i = 0;
    while (i < na && i < nb && x[i] == y[i])
        i++;
    cr_expect(na == nb && i == na, "%s and %s differ first at byte %zu", a, b, i);
    free(x);
    free(y);
}

/* The log rows without their last two fields (images/s and seconds are timings). */
static void log_values(const char *path, char *out, size_t len)
{
    size_t n;
    unsigned char *b = slurp(path, &n);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t end = i, commas = 0, cut = 0;
        while (end < n && b[end] != '\n') {
            if (b[end] == ',' && ++commas == 5)
                cut = end;
            end++;
        }
        for (size_t k = i; k < (cut ? cut : end) && o + 2 < len; k++)
            out[o++] = (char)b[k];
        out[o++] = '\n';
        i = end + 1;
    }
    out[o] = '\0';
    free(b);
}

Test(mpi, two_ranks_give_the_single_process_bits)
{
    NEED_MPI();
    expect_ok(train(0, "--model", TINY, RECIPE, "--steps", "12", "--checkpoint", P("one.ck"),
                    "--log", P("one.csv"), NULL), "one process");
    struct ckt_run *r = train(2, "--model", TINY, RECIPE, "--steps", "12", "--checkpoint",
                              P("two.ck"), "--log", P("two.csv"), NULL);
    expect_ok(r, "mpirun -np 2");
    /* rank 0 compared every rank's CRC-32 of the state and says so (checked, not assumed) */
    cr_expect_not_null(strstr(r->out, "mpi: 2 ranks hold identical weights"), "%s", r->out);
    expect_same_file(P("one.ck"), P("two.ck"));
    char a[1024], b[1024]; /* loss, accuracy and test accuracy (evaluation split too) */
    log_values(P("one.csv"), a, sizeof a);
    log_values(P("two.csv"), b, sizeof b);
    cr_expect_str_eq(a, b);
    /* one header line, one row: only rank 0 wrote the log */
    cr_expect_eq(strchr(strchr(b, '\n') + 1, '\n')[1], '\0', "%s", b);
}

Test(mpi, default_micro_batch_gives_every_rank_a_chunk)
{
    NEED_MPI();
    /* batch 24 and no --micro-batch: one process runs one chunk of 24; two ranks default
     * to chunks of 12 (one each) and name the micro-batch that gives one process their bits */
    struct ckt_run *r = train(2, "--model", TINY, "--dataset", "synthetic", "--batch", "24",
                              "--epochs", "1", "--steps", "3", "--checkpoint", P("two.ck"), NULL);
    expect_ok(r, "mpirun -np 2, default micro-batch");
    cr_expect_not_null(strstr(r->out, "batch 24 (micro-batch 12)"), "%s", r->out);
    cr_expect_not_null(strstr(r->out, "the 2 micro-batches of a batch (one process gives the "
                                      "same bits with --micro-batch 12)"), "%s", r->out);
    expect_ok(train(0, "--model", TINY, "--dataset", "synthetic", "--batch", "24", "--epochs",
                    "1", "--steps", "3", "--micro-batch", "12", "--checkpoint", P("one.ck"), NULL),
              "one process, --micro-batch 12");
    expect_same_file(P("one.ck"), P("two.ck"));
    r = train(0, "--model", TINY, "--dataset", "synthetic", "--batch", "24", "--epochs", "1",
              "--steps", "1", NULL);
    expect_ok(r, "one process, default micro-batch");
    cr_expect_not_null(strstr(r->out, "batch 24 (micro-batch 24)"), "%s", r->out);
}

Test(mpi, a_rank_with_different_weights_is_caught)
{
    NEED_MPI();
    /* test hook: the last rank flips one bit of its first parameter before the check */
    setenv("CONVKIT_MPI_TEST_CORRUPT", "1", 1);
    struct ckt_run *r = train(2, "--model", TINY, RECIPE,
                              "--steps", "3", "--checkpoint", P("bad.ck"), NULL);
    cr_expect_eq(r->rc, 1, "exit %d; stderr: %s", r->rc, r->err);
    cr_expect_not_null(strstr(r->err, "convkit train: the training state differs between "
                                      "ranks: rank 1"), "%s", r->err);
    cr_expect_eq(ckt_dir_count(dir, "bad.ck"), 0, "no checkpoint of a split state");
}

Test(mpi, resume_with_one_and_two_ranks)
{
    NEED_MPI();
    expect_ok(train(0, "--model", TINY, RECIPE, "--steps", "14", "--checkpoint", P("ref.ck"),
                    NULL), "reference");
    /* stop at step 6 with 2 ranks, continue with 1 and with 2 (--epochs is not in the
     * checkpoint and shapes the cosine schedule, so every run names it) */
    expect_ok(train(2, "--model", TINY, RECIPE, "--steps", "6", "--checkpoint", P("a.ck"), NULL),
              "first half on 2 ranks");
    expect_ok(train(2, "--resume", P("a.ck"), "--epochs", "1", "--steps", "14", "--checkpoint",
                    P("a2.ck"), NULL), "resume on 2 ranks");
    expect_ok(train(0, "--resume", P("a.ck"), "--epochs", "1", "--steps", "14", "--checkpoint",
                    P("a1.ck"), NULL), "resume on 1 process");
    /* stop with 1 process, continue with 2 ranks */
    expect_ok(train(0, "--model", TINY, RECIPE, "--steps", "6", "--checkpoint", P("b.ck"), NULL),
              "first half on 1 process");
    expect_same_file(P("a.ck"), P("b.ck"));
    expect_ok(train(2, "--resume", P("b.ck"), "--epochs", "1", "--steps", "14", NULL),
              "resume 1 -> 2 ranks");
    expect_same_file(P("ref.ck"), P("a2.ck"));
    expect_same_file(P("ref.ck"), P("a1.ck"));
    expect_same_file(P("ref.ck"), P("b.ck"));
}

Test(mpi, a_rank_that_exits_ends_the_job)
{
    NEED_MPI();
    /* test hook: the last rank calls _exit(3) after step 3, without MPI_Finalize */
    setenv("CONVKIT_MPI_TEST_FAIL", "exit:3", 1);
    struct ckt_run *r = train(2, "--model", TINY, RECIPE,
                              "--steps", "40", "--checkpoint", P("dead.ck"), NULL);
    cr_expect_neq(r->rc, 0, "a dead rank must fail the job; stderr: %s", r->err);
    cr_expect_not_null(strstr(r->err, "rank 1: test fault"), "%s", r->err);
    cr_expect_eq(ckt_dir_count(dir, "dead.ck"), 0, "no checkpoint after a lost rank");
}

Test(mpi, a_rank_that_hangs_times_out)
{
    NEED_MPI();
    /* test hook: the last rank stops answering after step 3; rank 0 gives up after 2 s */
    setenv("CONVKIT_MPI_TEST_FAIL", "hang:3", 1);
    struct ckt_run *r = train(2, "--model", TINY, RECIPE,
                              "--steps", "40", "--mpi-timeout", "2", NULL);
    cr_expect_eq(r->rc, 1, "exit %d; stderr: %s", r->rc, r->err);
    cr_expect_not_null(strstr(r->err, "convkit train: step 4: rank 0: no answer from the other "
                                      "ranks for 2 s"), "%s", r->err);
}

Test(mpi, usage_errors_still_exit_2)
{
    NEED_MPI();
    struct ckt_run *r = train(2, "--model", TINY, RECIPE, "--mpi-timeout", "soon", NULL);
    cr_expect_eq(r->rc, 2, "exit %d; stderr: %s", r->rc, r->err);
    cr_expect_not_null(strstr(r->err, "convkit train: --mpi-timeout"), "%s", r->err);
}
