/* test_autotune.c - the `auto` backend: choices are real backends that run the problem,
 * carry a reason, follow the wisdom table when it has an entry, and wisdom files
 * round-trip exactly; malformed files are refused with the line number. (Its numerics
 * are covered by test_conv_backends, which runs `auto` over the whole corpus.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "files.h"
#include "shapes.h"

static char dir[64];
static void setup(void)
{
    cr_assert_eq(ckt_tmpdir_make(dir, sizeof dir, "ck_auto"), 0);
    ck_auto_wisdom_clear();
}
static void teardown(void)
{
    ck_auto_wisdom_clear();
    ckt_tmpdir_remove(dir);
}
TestSuite(autotune, .init = setup, .fini = teardown, .timeout = 120);

static struct ck_conv_params problem(const char *desc)
{
    struct ck_conv_params p;
    cr_assert_eq(ck_conv_problem_parse(desc, &p, NULL, 0), CK_OK, "%s", desc);
    return p;
}

Test(autotune, every_choice_is_a_real_backend_that_runs_the_problem)
{
    for (size_t i = 0; i < ckt_corpus_count(); i++) {
        const struct ck_conv_params *p = &ckt_corpus_get(i)->p;
        for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
            struct ck_auto_choice c;
            cr_assert_eq(ck_auto_choose(p, (enum ck_conv_pass)pass, &c), CK_OK);
            cr_assert_not_null(c.backend);
            cr_expect_str_neq(c.backend->name, "auto");
            cr_expect(strncmp(c.reason, "heuristic: ", 11) == 0, "%s", c.reason);
            cr_expect_eq(ck_backend_supports(c.backend, p, (enum ck_conv_pass)pass, NULL, 0),
                         CK_OK, "%s: %s picked but refuses", ckt_corpus_get(i)->name,
                         c.backend->name);
        }
    }
}

Test(autotune, heuristic_prefers_winograd_then_avx2_then_im2col)
{
    /* 3x3 stride 1 with 32->64 channels: Winograd when it is built in */
    struct ck_conv_params p = problem("mb8ic32ih16oc64kh3ph1");
    struct ck_auto_choice c;
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_OK);
    const struct ck_conv_backend *wino = ck_backend_find("winograd");
    const struct ck_conv_backend *avx2 = ck_backend_find("avx2");
    int avx2_runs = avx2 && ck_backend_supports(avx2, &p, CK_PASS_FORWARD, NULL, 0) == CK_OK;
    if (wino && ck_backend_supports(wino, &p, CK_PASS_FORWARD, NULL, 0) == CK_OK)
        cr_expect_str_eq(c.backend->name, "winograd");
    else if (avx2_runs)
        cr_expect_str_eq(c.backend->name, "avx2");
    else
        cr_expect_str_eq(c.backend->name, "im2col");
    /* stride 2: never Winograd */
    p = problem("mb8ic32ih16oc64kh3sh2ph1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    /* 1x1 stride 1 on images above 16x16: backward-data is one GEMM (im2col); forward
     * and weights stay direct */
    p = problem("mb8ic64ih28oc32kh1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, "im2col");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_WEIGHTS, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    /* 1x1 stride 1 on 16x16 or smaller images, or with < 8 channels: the direct
     * kernel's in-place 1x1 path in every pass */
    p = problem("mb8ic64ih14oc32kh1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    p = problem("mb8ic3ih32oc32kh1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    /* stride 2: not a plain GEMM, so the direct kernel in every pass */
    p = problem("mb8ic64ih14oc32kh1sh2");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    /* a 3-channel first layer at stride 1: the direct kernel (pixels in lanes) in both
     * passes; at stride 2, or with 1 channel, backward-data goes to im2col */
    p = problem("mb8ic3ih32oc32kh3ph1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, avx2_runs ? "avx2" : "im2col");
    p = problem("mb8ic3ih32oc32kh3sh2ph1");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, "im2col");
    p = problem("mb8ic1ih28oc32kh5ph2");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, "im2col");
}

Test(autotune, invalid_problem_is_refused)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.stride_h = 0;
    struct ck_auto_choice c;
    cr_expect_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_auto_tune(&p, CK_PASS_FORWARD, 1, &c, NULL, 0), CK_ERR_INVALID_ARGUMENT);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    char *buf = calloc(1, 65536);
    fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

Test(autotune, tuning_fills_wisdom_and_files_round_trip)
{
    struct ck_conv_params p = problem("mb2ic8ih10oc8kh3ph1");
    struct ck_auto_choice tuned[CK_PASS_COUNT];
    char msg[256];
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        cr_assert_eq(ck_auto_tune(&p, (enum ck_conv_pass)pass, 1, &tuned[pass], msg, sizeof msg),
                     CK_OK, "%s", msg);
        cr_expect_str_neq(tuned[pass].backend->name, "auto");
        cr_expect_str_neq(tuned[pass].backend->name, "naive", "naive is timed only as a last resort");
    }
    cr_expect_eq(ck_auto_wisdom_count(), 3);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a.wisdom", dir);
    snprintf(b, sizeof b, "%s/b.wisdom", dir);
    cr_assert_eq(ck_auto_wisdom_save(a, msg, sizeof msg), CK_OK, "%s", msg);
    ck_auto_wisdom_clear();
    cr_expect_eq(ck_auto_wisdom_count(), 0);
    cr_assert_eq(ck_auto_wisdom_load(a, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(ck_auto_wisdom_count(), 3);
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        struct ck_auto_choice c;
        cr_assert_eq(ck_auto_choose(&p, (enum ck_conv_pass)pass, &c), CK_OK);
        cr_expect_eq(c.backend, tuned[pass].backend);
        cr_expect(strncmp(c.reason, "wisdom: ", 8) == 0, "%s", c.reason);
    }
    cr_assert_eq(ck_auto_wisdom_save(b, msg, sizeof msg), CK_OK, "%s", msg);
    char *ta = read_text(a), *tb = read_text(b);
    cr_expect_str_eq(ta, tb, "the same table must give the same file");
    free(ta), free(tb);
}

Test(autotune, wisdom_overrides_the_heuristic_and_stale_entries_fall_back)
{
    char path[128], msg[256];
    snprintf(path, sizeof path, "%s/w", dir);
    /* naive is never the heuristic's pick for this problem; wisdom says naive */
    write_text(path, "# hand-written\n\nmb1ic4ih6oc4kh3 forward naive 0.5\n"
                     "mb1ic4ih6oc4kh3 forward nosuch-backend 0.1\n");
    cr_assert_eq(ck_auto_wisdom_load(path, msg, sizeof msg), CK_OK, "%s", msg);
    cr_expect_eq(ck_auto_wisdom_count(), 1, "lines naming unknown backends are skipped");
    struct ck_conv_params p = problem("mb1ic4ih6oc4kh3");
    struct ck_auto_choice c;
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_FORWARD, &c), CK_OK);
    cr_expect_str_eq(c.backend->name, "naive");
    cr_assert_eq(ck_auto_choose(&p, CK_PASS_BACKWARD_DATA, &c), CK_OK);
    cr_expect_str_neq(c.backend->name, "naive", "no entry for this pass: heuristic");
    /* auto itself follows the table when it runs */
    cr_expect_eq(ck_backend_supports(ck_backend_find("auto"), &p, CK_PASS_FORWARD, NULL, 0), CK_OK);
}

Test(autotune, malformed_wisdom_is_refused_with_its_line)
{
    const char *bad[] = {"mb1ic4ih6oc4kh3 forward naive\n",
                         "# ok\nmb1ic4ih6oc4kh3 sideways naive 1.0\n",
                         "mbX forward naive 1.0\n",
                         "mb1ic4ih6oc4kh3 forward naive -1\n",
                         "mb1ic4ih6oc4kh3 forward naive 1.0 extra\n"};
    const int line[] = {1, 2, 1, 1, 1};
    char path[128], msg[256], want[32];
    snprintf(path, sizeof path, "%s/bad", dir);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(path, bad[i]);
        cr_expect_eq(ck_auto_wisdom_load(path, msg, sizeof msg), CK_ERR_CORRUPT_DATA, "case %zu", i);
        snprintf(want, sizeof want, "line %d", line[i]);
        cr_expect(strstr(msg, want), "case %zu: '%s' should name %s", i, msg, want);
    }
    snprintf(path, sizeof path, "%s/missing", dir);
    cr_expect_eq(ck_auto_wisdom_load(path, msg, sizeof msg), CK_ERR_IO);
}
