/* test_problem.c - benchdnn descriptor parsing/formatting (ck_conv_problem_*). Expected
 * fields are read off the descriptor grammar by hand (see conv.h for the rules). */
#include <criterion/criterion.h>
#include <string.h>

#include "convkit/convkit.h"

static struct ck_conv_params parse_ok(const char *desc)
{
    struct ck_conv_params p;
    char msg[256] = "";
    enum ck_status st = ck_conv_problem_parse(desc, &p, msg, sizeof msg);
    cr_assert_eq(st, CK_OK, "%s: %s", desc, msg);
    return p;
}

Test(problem, seed_conv2)
{
    struct ck_conv_params p = parse_ok("mb64ic32ih16oc64kh3ph1");
    cr_expect_eq(p.N, 64);
    cr_expect_eq(p.C, 32);
    cr_expect_eq(p.H, 16);
    cr_expect_eq(p.W, 16);
    cr_expect_eq(p.K, 64);
    cr_expect_eq(p.R, 3);
    cr_expect_eq(p.S, 3);
    cr_expect_eq(p.stride_h, 1);
    cr_expect_eq(p.pad_top + p.pad_left + p.pad_bottom + p.pad_right, 4);
    cr_expect_eq(p.dilation_h, 1);
    cr_expect_eq(p.groups, 1);
}

Test(problem, defaults_strides_groups_dilation)
{
    struct ck_conv_params p = parse_ok("ic3ih5oc1kh3dh1");
    cr_expect_eq(p.N, 2, "benchdnn's default minibatch is 2");
    cr_expect_eq(p.dilation_h, 2, "dh1 means one skipped pixel");
    cr_expect_eq(p.dilation_w, 2);
    p = parse_ok("g4mb1ic8ih9iw11oc12kh3kw5sh2sw3ph1pw2");
    cr_expect_eq(p.groups, 4);
    cr_expect_eq(p.W, 11);
    cr_expect_eq(p.S, 5);
    cr_expect_eq(p.stride_w, 3);
    cr_expect_eq(p.pad_left, 2);
    cr_expect_eq(p.pad_right, 2);
}

Test(problem, oh_sets_bottom_padding)
{
    /* H=7, 3x3, stride 2, no top pad: oh4 needs (4-1)*2 + 3 - 7 - 0 = 2 rows at the bottom */
    struct ck_conv_params p = parse_ok("mb1ic3ih7oc2oh4kh3sh2");
    cr_expect_eq(p.pad_top, 0);
    cr_expect_eq(p.pad_bottom, 2);
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    cr_expect_eq(P, 4);
    cr_expect_eq(Q, 3);
}

Test(problem, oh_with_rows_dropped_by_floor)
{
    /* H=13, R=3 with dh2 (dilation 3): effective 7; stride 3, top pad 1.
     * oh3 asks for (3-1)*3 + 7 - 13 - 1 = -1 bottom rows: floor already drops a row, so the
     * bottom pad is 0 and P = floor((13+1+0-7)/3) + 1 = 3. W=11, S=3 with dw1 (dilation 2):
     * effective 5; stride 2, left pad 2: ow5 needs (5-1)*2 + 5 - 11 - 2 = 0 right columns. */
    struct ck_conv_params p = parse_ok("mb1ic2ih13iw11oc4oh3ow5kh3sh3sw2ph1pw2dh2dw1");
    cr_expect_eq(p.pad_bottom, 0);
    cr_expect_eq(p.pad_right, 0);
    /* W=11, S=3, stride 2, left pad 2, no right pad would give Q = floor(10/2)+1 = 6; ow4
     * asks for (4-1)*2 + 3 - 11 - 2 = -4 columns: impossible to shrink, so it is refused */
    struct ck_conv_params q;
    cr_expect_eq(ck_conv_problem_parse("mb1ic2ih13iw11oc4ow4kh3sw2pw2", &q, NULL, 0),
                 CK_ERR_INVALID_ARGUMENT);
}

Test(problem, format_round_trips)
{
    const char *canon[] = {"mb64ic32ih16oc64kh3ph1", "mb8ic64ih56oc128kh3sh2ph1",
                           "mb1g32ic32ih28oc32kh3ph1", "mb1ic3ih7oc2oh4kh3sh2",
                           "mb2ic3ih9iw13oc5kh3kw1sh2sw1ph1pw0dh1dw0", "mb64ic3ih224oc64kh7sh2ph3"};
    for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
        struct ck_conv_params p = parse_ok(canon[i]);
        char buf[128];
        cr_expect_str_eq(ck_conv_problem_format(&p, buf, sizeof buf), canon[i]);
    }
}

Test(problem, name_suffix_ignored)
{
    struct ck_conv_params p = parse_ok("mb1ic3ih9oc2kh3_nconv1");
    cr_expect_eq(p.K, 2);
}

Test(problem, rejects_malformed)
{
    const char *bad[] = {"", "mb", "mbic3", "mb1ic3ih9oc2kh3zz1", "mb1ic3ih9kh3",
                         "mb1ic3ih5oc1kh7", "mb1ic3ic4ih5oc1kh3", "mb0ic3ih5oc1kh3",
                         "mb1ic3ih5oc1kh3oh0", "mb1ic5ih9oc1kh3sh2ph2oh2", "mb1g2ic3ih5oc2kh3", "mb1ic3ih5oc1kh3sh0",
                         "mb1ic3ih99999999999oc1kh3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ck_conv_params p;
        char msg[256] = "";
        cr_expect_eq(ck_conv_problem_parse(bad[i], &p, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT,
                     "'%s' should be refused", bad[i]);
        cr_expect(strlen(msg) > 0, "'%s': no message", bad[i]);
    }
}

#include "shapes.h"

Test(problem, every_corpus_shape_round_trips_to_the_same_sizes)
{
    for (size_t i = 0; i < ckt_corpus_count(); i++) {
        const struct ck_conv_params *p = &ckt_corpus_get(i)->p;
        char buf[128];
        ck_conv_problem_format(p, buf, sizeof buf);
        struct ck_conv_params back = parse_ok(buf);
        int P1, Q1, P2, Q2;
        ck_conv_output_size(p, &P1, &Q1);
        ck_conv_output_size(&back, &P2, &Q2);
        cr_expect(P1 == P2 && Q1 == Q2 && back.N == p->N && back.C == p->C && back.K == p->K &&
                      back.groups == p->groups && back.pad_top == p->pad_top &&
                      back.pad_left == p->pad_left && back.dilation_w == p->dilation_w,
                  "%s (%s): sizes or fields differ after the round trip", ckt_corpus_get(i)->name,
                  buf);
    }
}
