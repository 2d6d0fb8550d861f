/* test_conv_params.c - the problem rules of conv.h: output size, TF/Keras "same" padding,
 * padding text, ck_conv_check messages, element counts and FLOPs.
 *
 * Expected numbers come from the lecture's rule FM = floor((N + 2P - F) / S) + 1 (with
 * dilation, F = (R - 1) * d + 1) and from the TF "same" definition, worked by hand in the
 * comments. No convolution is run here (see test_conv_backends.c / test_lecture.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "convkit/convkit.h"

static struct ck_conv_params square(int H, int R, int stride, int pad, int dil)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.H = p.W = H;
    p.R = p.S = R;
    p.stride_h = p.stride_w = stride;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
    p.dilation_h = p.dilation_w = dil;
    return p;
}

static void expect_out(struct ck_conv_params p, int want_p, int want_q, const char *why)
{
    int P = -1, Q = -1;
    cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "%s: problem should be valid", why);
    ck_conv_output_size(&p, &P, &Q);
    cr_expect_eq(P, want_p, "%s: P = %d, want %d", why, P, want_p);
    cr_expect_eq(Q, want_q, "%s: Q = %d, want %d", why, Q, want_q);
}

/* ---- output size -------------------------------------------------------------------- */

Test(conv_params, output_size_lecture_examples)
{
    /* the lecture: 7x7 image, 3x3 filter */
    expect_out(square(7, 3, 1, 0, 1), 5, 5, "7x7 k3 s1: (7-3)/1+1 = 5");
    expect_out(square(7, 3, 2, 0, 1), 3, 3, "7x7 k3 s2: (7-3)/2+1 = 3");
    expect_out(square(7, 3, 3, 0, 1), 2, 2, "7x7 k3 s3: floor(4/3)+1 = 2");
    expect_out(square(6, 3, 1, 0, 1), 4, 4, "6x6 k3 s1: (6-3)/1+1 = 4 (the worked example)");
    /* with padding: (N + 2P - F)/S + 1 */
    expect_out(square(7, 3, 1, 1, 1), 7, 7, "7x7 k3 p1: (7+2-3)/1+1 = 7");
    expect_out(square(32, 5, 1, 2, 1), 32, 32, "32x32 k5 p2: (32+4-5)/1+1 = 32");
    expect_out(square(5, 3, 2, 1, 1), 3, 3, "5x5 k3 s2 p1: (5+2-3)/2+1 = 3");
    expect_out(square(6, 3, 2, 1, 1), 3, 3, "6x6 k3 s2 p1: floor((6+2-3)/2)+1 = 3");
    expect_out(square(1, 3, 1, 1, 1), 1, 1, "1x1 k3 p1: (1+2-3)/1+1 = 1");
    /* dilation: effective filter F = (R-1)*d + 1 */
    expect_out(square(9, 3, 1, 0, 2), 5, 5, "9x9 k3 d2: F=5, 9-5+1 = 5");
    expect_out(square(11, 3, 1, 0, 3), 5, 5, "11x11 k3 d3: F=7, 11-7+1 = 5");
    expect_out(square(11, 3, 2, 2, 2), 6, 6, "11x11 k3 d2 s2 p2: (11+4-5)/2+1 = 6");
    expect_out(square(7, 7, 1, 0, 1), 1, 1, "filter as large as the image: 1");
    /* asymmetric: H=7 k3 s2 top 0 bottom 1: floor((7+1-3)/2)+1 = 3; W=9 s1 left 2 right 0:
     * (9+2-3)/1+1 = 9 */
    struct ck_conv_params p = square(7, 3, 2, 0, 1);
    p.W = 9, p.stride_w = 1, p.pad_bottom = 1, p.pad_left = 2;
    expect_out(p, 3, 9, "7x9 asymmetric");
    /* non-square filter and strides: H=13 R=5 sh=3 -> floor(8/3)+1 = 3; W=5 S=2 sw=1 -> 4 */
    p = square(13, 5, 3, 0, 1);
    p.W = 5, p.S = 2, p.stride_w = 1;
    expect_out(p, 3, 4, "13x5 k5x2 s3x1");
}

/* ---- TF/Keras "same" padding --------------------------------------------------------- */

/* Apply "same" to an HxW input with an RxS filter, strides and dilations. */
static struct ck_conv_params same(int H, int W, int R, int S, int sh, int sw, int dh, int dw)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.H = H, p.W = W, p.R = R, p.S = S;
    p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
    struct ck_padding pad = {.mode = CK_PADDING_SAME};
    cr_assert_eq(ck_conv_apply_padding(&p, &pad), CK_OK);
    return p;
}

static void expect_pads(const struct ck_conv_params *p, int t, int l, int b, int r,
                        const char *why)
{
    cr_expect(p->pad_top == t && p->pad_left == l && p->pad_bottom == b && p->pad_right == r,
              "%s: pads T,L,B,R = %d,%d,%d,%d, want %d,%d,%d,%d", why, p->pad_top,
              p->pad_left, p->pad_bottom, p->pad_right, t, l, b, r);
}

Test(conv_params, same_padding_tf_rule_by_hand)
{
    /* total = max((ceil(in/s) - 1)*s + F - in, 0), top = total/2, bottom = the rest */
    struct ck_conv_params p;
    p = same(7, 7, 3, 3, 1, 1, 1, 1); /* out 7: 6+3-7 = 2 -> 1,1 */
    expect_pads(&p, 1, 1, 1, 1, "7x7 k3 s1");
    p = same(7, 7, 3, 3, 2, 2, 1, 1); /* out 4: 3*2+3-7 = 2 -> 1,1 */
    expect_pads(&p, 1, 1, 1, 1, "7x7 k3 s2");
    p = same(8, 10, 3, 3, 2, 2, 1, 1); /* H: out 4: 6+3-8 = 1 -> 0,1; W: out 5: 8+3-10 = 1 */
    expect_pads(&p, 0, 0, 1, 1, "8x10 k3 s2 (even size: the odd pixel goes bottom/right)");
    p = same(6, 6, 4, 4, 1, 1, 1, 1); /* out 6: 5+4-6 = 3 -> 1,2 */
    expect_pads(&p, 1, 1, 2, 2, "6x6 k4 s1");
    p = same(10, 11, 5, 5, 3, 3, 1, 1); /* H: out 4: 9+5-10 = 4 -> 2,2; W: out 4: 9+5-11 = 3 */
    expect_pads(&p, 2, 1, 2, 2, "10x11 k5 s3");
    p = same(9, 9, 3, 3, 1, 1, 2, 2); /* F = 5: 8+5-9 = 4 -> 2,2 */
    expect_pads(&p, 2, 2, 2, 2, "9x9 k3 d2");
    p = same(9, 10, 2, 2, 1, 1, 3, 3); /* F = 4: 3 -> 1,2 */
    expect_pads(&p, 1, 1, 2, 2, "9x10 k2 d3");
    p = same(8, 8, 1, 1, 2, 2, 1, 1); /* out 4: 3*2+1-8 = -1 -> 0 */
    expect_pads(&p, 0, 0, 0, 0, "8x8 k1 s2 (negative total clamps to 0)");
    p = same(2, 2, 3, 3, 2, 2, 1, 1); /* out 1: 0+3-2 = 1 -> 0,1 */
    expect_pads(&p, 0, 0, 1, 1, "2x2 k3 s2");
    p = same(9, 13, 3, 4, 2, 3, 1, 1); /* H: out 5: 8+3-9 = 2 -> 1,1; W: out 5: 12+4-13 = 3 */
    expect_pads(&p, 1, 1, 1, 2, "9x13 k3x4 s2x3");
}

Test(conv_params, same_padding_gives_ceil_in_over_stride)
{
    /* The defining property of "same": output = ceil(input / stride), pads differ by <= 1
     * with the extra one at the bottom/right. */
    for (int H = 1; H <= 20; H++)
        for (int R = 1; R <= 7; R++)
            for (int s = 1; s <= 3; s++)
                for (int d = 1; d <= 3; d++) {
                    struct ck_conv_params p = same(H, H + 1, R, R, s, s, d, d);
                    int P, Q;
                    ck_conv_output_size(&p, &P, &Q);
                    cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK, "H%d R%d s%d d%d", H, R, s, d);
                    cr_assert_eq(P, (H + s - 1) / s, "H%d R%d s%d d%d: P %d", H, R, s, d, P);
                    cr_assert_eq(Q, (H + 1 + s - 1) / s, "W%d R%d s%d d%d", H + 1, R, s, d);
                    int dt = p.pad_bottom - p.pad_top, dl = p.pad_right - p.pad_left;
                    cr_assert(dt == 0 || dt == 1, "H%d R%d s%d d%d: top %d bottom %d", H, R, s,
                              d, p.pad_top, p.pad_bottom);
                    cr_assert(dl == 0 || dl == 1);
                }
}

Test(conv_params, apply_padding_valid_and_explicit)
{
    struct ck_conv_params p = square(7, 3, 1, 2, 1);
    struct ck_padding pad = {.mode = CK_PADDING_VALID};
    cr_assert_eq(ck_conv_apply_padding(&p, &pad), CK_OK);
    expect_pads(&p, 0, 0, 0, 0, "valid resets pads");
    pad = (struct ck_padding){.mode = CK_PADDING_EXPLICIT, .top = 1, .left = 2, .bottom = 3,
                              .right = 4};
    cr_assert_eq(ck_conv_apply_padding(&p, &pad), CK_OK);
    expect_pads(&p, 1, 2, 3, 4, "explicit");
    pad.right = -1;
    cr_expect_eq(ck_conv_apply_padding(&p, &pad), CK_ERR_INVALID_ARGUMENT);
    pad.mode = (enum ck_padding_mode)42;
    cr_expect_eq(ck_conv_apply_padding(&p, &pad), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_conv_apply_padding(NULL, &pad), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_conv_apply_padding(&p, NULL), CK_ERR_INVALID_ARGUMENT);
    p.stride_h = 0;
    pad.mode = CK_PADDING_SAME;
    cr_expect_eq(ck_conv_apply_padding(&p, &pad), CK_ERR_INVALID_ARGUMENT, "same with stride 0");
}

/* ---- padding text ------------------------------------------------------------------------ */

Test(conv_params, padding_parse_accepts)
{
    struct ck_padding pad;
    cr_assert_eq(ck_padding_parse("valid", &pad, NULL, 0), CK_OK);
    cr_expect_eq(pad.mode, CK_PADDING_VALID);
    cr_assert_eq(ck_padding_parse("same", &pad, NULL, 0), CK_OK);
    cr_expect_eq(pad.mode, CK_PADDING_SAME);
    cr_assert_eq(ck_padding_parse("2", &pad, NULL, 0), CK_OK);
    cr_expect(pad.mode == CK_PADDING_EXPLICIT && pad.top == 2 && pad.left == 2 &&
              pad.bottom == 2 && pad.right == 2);
    cr_assert_eq(ck_padding_parse("1,2,3,4", &pad, NULL, 0), CK_OK);
    cr_expect(pad.mode == CK_PADDING_EXPLICIT && pad.top == 1 && pad.left == 2 &&
              pad.bottom == 3 && pad.right == 4, "T,L,B,R order");
    cr_assert_eq(ck_padding_parse("0", &pad, NULL, 0), CK_OK);
    cr_expect(pad.top == 0 && pad.right == 0);
    cr_assert_eq(ck_padding_parse("2147483647", &pad, NULL, 0), CK_OK, "INT_MAX fits");
}

Test(conv_params, padding_parse_rejects)
{
    static const char *const bad[] = {
        "-1", "1,2", "a", "1,,2", "", "1,2,3,4,5", "1,2,3", ",1", "1,", "1,2,3,4,",
        " 1", "1 ", "Same", "valid ", "1.5", "2147483648", "99999999999999999999", "+1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ck_padding pad;
        char msg[256] = "";
        cr_expect_eq(ck_padding_parse(bad[i], &pad, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT,
                     "'%s' accepted", bad[i]);
        cr_expect(msg[0] != '\0', "'%s': no message", bad[i]);
        cr_expect(strstr(msg, "padding") != NULL, "'%s': message '%s' does not say padding",
                  bad[i], msg);
    }
    struct ck_padding pad;
    cr_expect_eq(ck_padding_parse(NULL, &pad, NULL, 0), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_padding_parse("1", NULL, NULL, 0), CK_ERR_INVALID_ARGUMENT);
}

/* ---- ck_conv_check ------------------------------------------------------------------------- */

/* Expect p to be rejected with a one-line message containing word1 (and word2 if given). */
static void expect_rejected(const struct ck_conv_params *p, const char *why, const char *word1,
                            const char *word2)
{
    char msg[256] = "";
    cr_expect_eq(ck_conv_check(p, msg, sizeof msg), CK_ERR_INVALID_ARGUMENT, "%s accepted", why);
    cr_expect(strstr(msg, word1) != NULL, "%s: message '%s' does not name '%s'", why, msg,
              word1);
    if (word2)
        cr_expect(strstr(msg, word2) != NULL, "%s: message '%s' does not name '%s'", why, msg,
                  word2);
    cr_expect(strchr(msg, '\n') == NULL, "%s: message is not one line", why);
    cr_expect_eq(ck_conv_check(p, NULL, 0), CK_ERR_INVALID_ARGUMENT, "%s (no msg buffer)", why);
}

Test(conv_params, check_names_the_offending_field)
{
    struct ck_conv_params good = square(8, 3, 1, 1, 1);
    good.C = 6, good.K = 4, good.N = 2;
    cr_assert_eq(ck_conv_check(&good, NULL, 0), CK_OK);
    struct ck_conv_params p;

    p = good, p.stride_h = 0;
    expect_rejected(&p, "stride_h 0", "stride", "height");
    p = good, p.stride_w = 0;
    expect_rejected(&p, "stride_w 0", "stride", "width");
    p = good, p.pad_top = -1;
    expect_rejected(&p, "pad_top -1", "padding", "top");
    p = good, p.pad_right = -2;
    expect_rejected(&p, "pad_right -2", "padding", "right");
    p = good, p.groups = 4; /* divides K=4 but not C=6 */
    expect_rejected(&p, "groups 4 with C 6", "groups", NULL);
    p = good, p.groups = 3; /* divides C=6 but not K=4 */
    expect_rejected(&p, "groups 3 with K 4", "groups", NULL);
    p = good, p.groups = 0;
    expect_rejected(&p, "groups 0", "groups", NULL);
    p = good, p.dilation_h = 0;
    expect_rejected(&p, "dilation_h 0", "dilation", NULL);
    p = good, p.dilation_w = 0;
    expect_rejected(&p, "dilation_w 0", "dilation", NULL);
    p = good, p.R = 11; /* padded height 8 + 2 = 10 < 11 */
    expect_rejected(&p, "R 11 on a padded 10-row input", "filter", NULL);
    p = good, p.dilation_w = 5; /* F = 11 > 10 */
    expect_rejected(&p, "dilated filter 11 wide", "filter", NULL);
    p = good, p.N = 0;
    expect_rejected(&p, "N 0", "batch", NULL);
    p = good, p.C = 0;
    expect_rejected(&p, "C 0", "channels", NULL);
    p = good, p.K = -3;
    expect_rejected(&p, "K -3", "channels", NULL);
    p = good, p.S = 0;
    expect_rejected(&p, "S 0", "filter", NULL);
    p = good, p.H = 0;
    expect_rejected(&p, "H 0", "height", NULL);
    p = good, p.N = 1 << 30, p.C = 1 << 30, p.H = 1 << 20, p.W = 1 << 20;
    expect_rejected(&p, "2^100 elements", "large", NULL);
    cr_expect_eq(ck_conv_check(NULL, NULL, 0), CK_ERR_INVALID_ARGUMENT);

    /* just fitting is fine: the filter may equal the padded input */
    p = good, p.R = 10;
    cr_expect_eq(ck_conv_check(&p, NULL, 0), CK_OK, "R 10 on a padded 10-row input");
    p = square(5, 3, 1, 1, 3); /* F = 7 = 5 + 2 */
    cr_expect_eq(ck_conv_check(&p, NULL, 0), CK_OK, "dilated 7 on padded 7");
    p = square(5, 3, 1, 0, 3);
    expect_rejected(&p, "dilated 7 on unpadded 5", "filter", NULL);
    p = good, p.groups = 2;
    cr_expect_eq(ck_conv_check(&p, NULL, 0), CK_OK, "groups 2 divides 6 and 4");
}

/* ---- counts and FLOPs -------------------------------------------------------------------- */

Test(conv_params, numel_and_flops_by_hand)
{
    /* N=2 C=4 H=W=5 K=6 g=2 3x3 p1: P=Q=5; x 2*4*25 = 200, w 6*2*9 = 108, y 2*6*25 = 300;
     * flops = 2 * N*K*P*Q * (C/G)*R*S = 2 * 300 * 18 = 10800 */
    struct ck_conv_params p = square(5, 3, 1, 1, 1);
    p.N = 2, p.C = 4, p.K = 6, p.groups = 2;
    cr_assert_eq(ck_conv_check(&p, NULL, 0), CK_OK);
    cr_expect_eq(ck_conv_x_numel(&p), (size_t)200);
    cr_expect_eq(ck_conv_w_numel(&p), (size_t)108);
    cr_expect_eq(ck_conv_y_numel(&p), (size_t)300);
    cr_expect_eq(ck_conv_flops(&p), 10800.0);
    /* the lecture: 6x6 k3 valid, one channel: 16 outputs x 9 MACs x 2 = 288 */
    p = square(6, 3, 1, 0, 1);
    cr_expect_eq(ck_conv_flops(&p), 288.0);
    /* seed conv2: N=1 32->64 16x16 k3 same: 2 * 64*256 * 32*9 = 9437184 */
    p = square(16, 3, 1, 1, 1);
    p.C = 32, p.K = 64;
    cr_expect_eq(ck_conv_flops(&p), 9437184.0);
    /* stride 2 and non-square: H=9 W=7 R=3 S=2 s2 valid: P = 4, Q = 3; N1 C3 K5:
     * 2 * 5*12 * 3*6 = 2160 */
    p = square(9, 3, 2, 0, 1);
    p.W = 7, p.S = 2, p.C = 3, p.K = 5;
    cr_expect_eq(ck_conv_flops(&p), 2160.0);
}

Test(conv_params, pass_names_round_trip)
{
    static const char *const names[CK_PASS_COUNT] = {"forward", "backward-data",
                                                     "backward-weights"};
    for (int i = 0; i < CK_PASS_COUNT; i++) {
        cr_expect_str_eq(ck_conv_pass_name((enum ck_conv_pass)i), names[i]);
        enum ck_conv_pass out = CK_PASS_COUNT;
        cr_expect_eq(ck_conv_pass_parse(names[i], &out), CK_OK);
        cr_expect_eq(out, (enum ck_conv_pass)i);
    }
    enum ck_conv_pass out;
    cr_expect_eq(ck_conv_pass_parse("backward", &out), CK_ERR_INVALID_ARGUMENT);
    cr_expect_eq(ck_conv_pass_parse(NULL, &out), CK_ERR_INVALID_ARGUMENT);
    cr_expect_str_eq(ck_conv_pass_name(CK_PASS_COUNT), "unknown-pass");
}
