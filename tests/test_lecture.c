/* test_lecture.c - the seed lecture's worked convolution example, through every backend.
 *
 * The 6x6 image and the 3x3 filter [1 2 1; 0 0 0; 1 2 1] from
 * /work/shared/seed/cnn-intuition-slides.txt, valid / stride 1 (4x4), stride 2 (2x2) and
 * padding 1 (6x6, and 3x3 at stride 2). Expected values are worked out by hand from the
 * definition (cross-correlation, as CNN libraries compute it) and written as literals; the
 * slide's own feature map is NOT used because five of its sixteen numbers are wrong.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/convkit.h"
#include "ref.h"

static const float image[36] = {
    2, 4, 5, 6, 2,  3, /* row 0 */
    3, 1, 2, 3, 5,  7, /* row 1 */
    2, 3, 1, 3, 6,  0, /* row 2 */
    7, 7, 8, 4, 6,  2, /* row 3 */
    8, 4, 6, 9, 4,  8, /* row 4 */
    3, 4, 6, 8, 10, 4, /* row 5 */
};
static const float filter[9] = {1, 2, 1, 0, 0, 0, 1, 2, 1};

/*
 * Valid, stride 1: y[i][j] = sum_{r,s} x[i+r][j+s] * f[r][s]. The filter's middle row is
 * zero, so y[i][j] = T(i, j) + T(i+2, j) with T(r, j) = x[r][j] + 2 x[r][j+1] + x[r][j+2]:
 *
 *   T(0,.) = 2+8+5=15   4+10+6=20   5+12+2=19   6+4+3=13
 *   T(1,.) = 3+2+2=7    1+4+3=8     2+6+5=13    3+10+7=20
 *   T(2,.) = 2+6+1=9    3+2+3=8     1+6+6=13    3+12+0=15
 *   T(3,.) = 7+14+8=29  7+16+4=27   8+8+6=22    4+12+2=18
 *   T(4,.) = 8+8+6=22   4+12+9=25   6+18+4=28   9+8+8=25
 *   T(5,.) = 3+8+6=17   4+12+8=24   6+16+10=32  8+20+4=32
 *
 * The filter is symmetric under a 180-degree turn, so true convolution (flipped filter)
 * gives the same numbers: none of the slide's errors come from flip conventions.
 *
 * The slide's map is 23 28 32 28 / 36 35 35 36 / 31 33 33 41 / 44 51 54 50, and it shows
 * the products behind each entry. Five entries are wrong:
 *   y[0][0]: slide 23, true 24. Its own products (1x2)+(2x4)+(5x1)+(2x1)+(3x2)+(1x1) add
 *            up to 24: an addition slip.
 *   y[1][3]: slide 36, true 20 + 18 = 38. Its products use (2x4) for x[1][4], which is 5:
 *            a misread pixel (3+8+7+4+12+2 = 36 instead of 3+10+7+4+12+2 = 38).
 *   y[2][2]: slide 33, true 13 + 28 = 41. Its products (1x1)+(2x3)+(6x1)+(6x1)+(9x2)+(4x1)
 *            give 41, but 33 (the neighbour's value) was written.
 *   y[2][3]: slide 41, true 15 + 25 = 40. Its products (1x3)+(2x6)+(0x1)+(9x1)+(4x2)+(8x1)
 *            give 40, but 41 was written: the row "31 33 33 41" is the true "31 33 41 40"
 *            with 33 repeated and 41 pushed one column right.
 *   y[3][0]: slide 44, true 29 + 17 = 46. Its products (1x7)+(2x7)+(8x1)+(3x1)+(4x2)+(6x1)
 *            add up to 46: another addition slip.
 * The other eleven entries (28 32 28 / 36 35 35 / 31 33 / 51 54 50) are right.
 */
static const float expect_valid[16] = {
    24, /* y00 = 15 + 9  */ 28, /* y01 = 20 + 8  */ 32, /* y02 = 19 + 13 */ 28, /* y03 = 13 + 15 */
    36, /* y10 = 7 + 29  */ 35, /* y11 = 8 + 27  */ 35, /* y12 = 13 + 22 */ 38, /* y13 = 20 + 18 */
    31, /* y20 = 9 + 22  */ 33, /* y21 = 8 + 25  */ 41, /* y22 = 13 + 28 */ 40, /* y23 = 15 + 25 */
    46, /* y30 = 29 + 17 */ 51, /* y31 = 27 + 24 */ 54, /* y32 = 22 + 32 */ 50, /* y33 = 18 + 32 */
};

/* Valid, stride 2: P = floor((6 - 3) / 2) + 1 = 2; y2[i][j] = y[2i][2j] of the map above. */
static const float expect_stride2[4] = {
    24, /* y[0][0] = 15 + 9  */ 32, /* y[0][2] = 19 + 13 */
    31, /* y[2][0] = 9 + 22  */ 41, /* y[2][2] = 13 + 28 */
};

/*
 * Padding 1, stride 1: 6x6 output, o[i][j] reads x[i-1+r][j-1+s] (zero outside). The inner
 * 4x4 (o[1..4][1..4]) is the valid map; hand-derived border entries (top filter row hits
 * image row i-1, bottom filter row hits image row i+1):
 *   o[0][0] = (row -1: 0) + (row 1, cols -1..1: 0 + 2*3 + 1) = 7
 *   o[0][2] = 0 + (row 1, cols 1..3: 1 + 2*2 + 3) = 8
 *   o[0][5] = 0 + (row 1, cols 4..6: 5 + 2*7 + 0) = 19
 *   o[2][0] = (row 1: 0 + 2*3 + 1) + (row 3: 0 + 2*7 + 7) = 7 + 21 = 28
 *   o[5][0] = (row 4: 0 + 2*8 + 4) + (row 6: 0) = 20
 *   o[5][5] = (row 4, cols 4..6: 4 + 2*8 + 0) + 0 = 20
 * Every entry is also compared with the fp64 reference.
 */
struct known {
    int i, j;
    float v;
};
static const struct known expect_pad1[] = {
    {0, 0, 7},  {0, 2, 8},  {0, 5, 19}, {2, 0, 28}, {5, 0, 20}, {5, 5, 20},
    {1, 1, 24}, {2, 4, 38}, {4, 1, 46}, {4, 4, 50}, /* the valid map, shifted by one */
};
/* Padding 1, stride 2: P = floor((6 + 2 - 3) / 2) + 1 = 3; o2[i][j] = o[2i][2j]:
 *   o2[0][0] = o[0][0] = 7, o2[0][1] = o[0][2] = 8, o2[1][0] = o[2][0] = 28,
 *   o2[1][1] = o[2][2] = y[1][1] = 35, o2[2][2] = o[4][4] = y[3][3] = 50. */
static const struct known expect_pad1_s2[] = {
    {0, 0, 7}, {0, 1, 8}, {1, 0, 28}, {1, 1, 35}, {2, 2, 50},
};

/* Any wrong tap moves an entry by at least 1 (integer data); 0.05 leaves room for the
 * rounding of every fp32 algorithm (Winograd transforms included) on values <= 54. */
#define ABS_TOL 0.05

static struct ck_conv_params lecture_problem(int stride, int pad)
{
    struct ck_conv_params p;
    ck_conv_params_init(&p);
    p.H = p.W = 6;
    p.R = p.S = 3;
    p.stride_h = p.stride_w = stride;
    p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = pad;
    return p;
}

/* Run forward on backend b into y (NaN-prefilled); 0 if b does not support the problem. */
static int run(const struct ck_conv_backend *b, const struct ck_conv_params *p, float *y,
               size_t ny)
{
    char why[256] = "";
    enum ck_status st = ck_backend_supports(b, p, CK_PASS_FORWARD, why, sizeof why);
    if (st != CK_OK) {
        cr_expect(st == CK_ERR_UNSUPPORTED || st == CK_ERR_CPU_FEATURE, "%s: %s", b->name,
                  ck_status_str(st));
        cr_expect(strcmp(b->name, "naive") != 0, "naive refused the lecture example: %s", why);
        cr_log_info("%s skips the lecture example: %s", b->name, why);
        return 0;
    }
    for (size_t i = 0; i < ny; i++)
        y[i] = NAN;
    size_t ws_size = ck_conv_workspace_size(b, p, CK_PASS_FORWARD);
    void *ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    cr_assert(ws_size == 0 || ws != NULL);
    st = ck_conv_forward(b, p, image, filter, NULL, y, ws, ws_size);
    ck_aligned_free(ws);
    cr_assert_eq(st, CK_OK, "%s: %s", b->name, ck_status_str(st));
    return 1;
}

Test(lecture, valid_stride1_is_the_hand_computed_4x4_map)
{
    struct ck_conv_params p = lecture_problem(1, 0);
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    cr_assert_eq(P, 4, "FM = (6 - 3)/1 + 1 = 4");
    cr_assert_eq(Q, 4);
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *b = ck_backend_get(bi);
        float y[16];
        if (!run(b, &p, y, 16))
            continue;
        for (int i = 0; i < 16; i++)
            cr_expect(fabs(y[i] - expect_valid[i]) <= ABS_TOL, "%s: y[%d][%d] = %g, want %g",
                      b->name, i / 4, i % 4, y[i], expect_valid[i]);
    }
}

Test(lecture, valid_stride2_is_2x2)
{
    struct ck_conv_params p = lecture_problem(2, 0);
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    cr_assert_eq(P, 2, "FM = floor((6 - 3)/2) + 1 = 2");
    cr_assert_eq(Q, 2);
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *b = ck_backend_get(bi);
        float y[4];
        if (!run(b, &p, y, 4))
            continue;
        for (int i = 0; i < 4; i++)
            cr_expect(fabs(y[i] - expect_stride2[i]) <= ABS_TOL, "%s: y[%d][%d] = %g, want %g",
                      b->name, i / 2, i % 2, y[i], expect_stride2[i]);
    }
}

/* Padded cases: hand values at the listed entries, every entry against the reference. */
static void check_padded(int stride, int want_p, const struct known *k, size_t nk)
{
    struct ck_conv_params p = lecture_problem(stride, 1);
    int P, Q;
    ck_conv_output_size(&p, &P, &Q);
    cr_assert_eq(P, want_p);
    cr_assert_eq(Q, want_p);
    double ref[36];
    ckt_ref_forward(&p, image, filter, NULL, ref);
    for (size_t t = 0; t < nk; t++)
        cr_assert_eq(ref[k[t].i * Q + k[t].j], k[t].v, "reference disagrees with the hand "
                     "value at [%d][%d]", k[t].i, k[t].j);
    for (size_t bi = 0; bi < ck_backend_count(); bi++) {
        const struct ck_conv_backend *b = ck_backend_get(bi);
        float y[36];
        if (!run(b, &p, y, (size_t)P * Q))
            continue;
        for (size_t t = 0; t < nk; t++)
            cr_expect(fabs(y[k[t].i * Q + k[t].j] - k[t].v) <= ABS_TOL,
                      "%s stride %d pad 1: y[%d][%d] = %g, want %g", b->name, stride, k[t].i,
                      k[t].j, y[k[t].i * Q + k[t].j], k[t].v);
        for (int i = 0; i < P * Q; i++)
            cr_expect(fabs(y[i] - ref[i]) <= ABS_TOL, "%s stride %d pad 1: y[%d][%d] = %g, "
                      "reference %g", b->name, stride, i / Q, i % Q, y[i], ref[i]);
    }
}

Test(lecture, padding1_stride1_is_6x6)
{
    check_padded(1, 6, expect_pad1, sizeof expect_pad1 / sizeof expect_pad1[0]);
}

Test(lecture, padding1_stride2_is_3x3)
{
    check_padded(2, 3, expect_pad1_s2, sizeof expect_pad1_s2 / sizeof expect_pad1_s2[0]);
}

/* The reference itself reproduces the hand-computed valid map exactly (integers in fp64). */
Test(lecture, reference_matches_hand_values)
{
    struct ck_conv_params p = lecture_problem(1, 0);
    double ref[16];
    ckt_ref_forward(&p, image, filter, NULL, ref);
    for (int i = 0; i < 16; i++)
        cr_expect_eq(ref[i], expect_valid[i], "ref y[%d][%d] = %g, want %g", i / 4, i % 4,
                     ref[i], expect_valid[i]);
}
