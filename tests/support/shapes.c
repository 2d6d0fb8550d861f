/* shapes.c - the shape corpus table (see shapes.h).
 *
 * Each row is written as the user would say it (padding as text: "valid", "same", "P" or
 * "T,L,B,R") and resolved once with ck_padding_parse + ck_conv_apply_padding, so "same"
 * pads come from the library's TF/Keras rule. The name is generated from the resolved
 * problem with ck_conv_problem_format, so it always matches the numbers. The tag says why
 * the row exists. A row that fails to resolve is left with groups = 0, so ck_conv_check
 * rejects it and the corpus test names it.
 */
#include "shapes.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct row {
    const char *tag;
    int N, C, H, W, K, R, S, sh, sw;
    const char *pad;
    int dh, dw, groups;
};

/* clang-format off */
static const struct row rows[] = {
    /* tag                  N   C   H   W   K  R  S sh sw  pad        dh dw  g */
    /* ---- kernel size 1..7, square ---- */
    {"k1",                  1,  3,  5,  7,  5, 1, 1, 1, 1, "valid",    1, 1, 1},
    {"k1-c17-k13",          2, 17,  6,  5, 13, 1, 1, 1, 1, "valid",    1, 1, 1},
    {"k2",                  1,  2,  6,  6,  3, 2, 2, 1, 1, "valid",    1, 1, 1},
    {"k3-c1-k1",            3,  1,  6,  6,  1, 3, 3, 1, 1, "valid",    1, 1, 1},
    {"k3",                  2,  5,  7,  9,  7, 3, 3, 2, 2, "1",        1, 1, 1},
    {"k4",                  1,  3,  8,  8,  4, 4, 4, 1, 1, "valid",    1, 1, 1},
    {"k5",                  1,  3,  9, 11,  5, 5, 5, 1, 1, "2",        1, 1, 1},
    {"k6",                  1,  2, 10,  9,  3, 6, 6, 1, 1, "valid",    1, 1, 1},
    {"k7-stem",             1,  3, 13, 13,  5, 7, 7, 2, 2, "3",        1, 1, 1},
    {"k7-whole-input",      2,  3,  7,  7,  4, 7, 7, 1, 1, "valid",    1, 1, 1},
    /* ---- non-square kernels ---- */
    {"k1x3",                1,  3,  6,  8,  5, 1, 3, 1, 1, "valid",    1, 1, 1},
    {"k3x1",                1,  5,  8,  6,  3, 3, 1, 1, 1, "valid",    1, 1, 1},
    {"k5x2",                2,  3,  9,  7,  5, 5, 2, 1, 1, "valid",    1, 1, 1},
    {"k2x5",                1,  4,  7,  9,  3, 2, 5, 1, 1, "1",        1, 1, 1},
    {"k1x7-same",           1,  2,  5, 13,  3, 1, 7, 1, 1, "same",     1, 1, 1},
    {"k7x1-same-s2x1",      1,  2, 13,  5,  3, 7, 1, 2, 1, "same",     1, 1, 1},
    {"k3x5",                1,  3,  7,  9,  4, 3, 5, 1, 1, "valid",    1, 1, 1},
    {"k4x3-same",           1,  3,  8,  7,  5, 4, 3, 1, 1, "same",     1, 1, 1},
    /* ---- strides 1..3, sh != sw, stride > kernel (dx pixels no output reads) ---- */
    {"s2",                  1,  3,  9,  9,  4, 3, 3, 2, 2, "valid",    1, 1, 1},
    {"s3",                  1,  3, 10, 11,  5, 3, 3, 3, 3, "valid",    1, 1, 1},
    {"s3-k5",               2,  2, 13, 13,  3, 5, 5, 3, 3, "2",        1, 1, 1},
    {"s2x1",                1,  3,  9,  7,  4, 3, 3, 2, 1, "1",        1, 1, 1},
    {"s1x3",                1,  3,  7, 11,  5, 3, 3, 1, 3, "1",        1, 1, 1},
    {"s3x2-k3x2",           1,  2, 11,  9,  3, 3, 2, 3, 2, "valid",    1, 1, 1},
    {"s2-k1-dx-gaps",       2,  5,  7,  9,  3, 1, 1, 2, 2, "valid",    1, 1, 1},
    {"s3-k2-dx-gaps",       1,  3, 11, 10,  4, 2, 2, 3, 3, "valid",    1, 1, 1},
    {"s2-k2-pool-like",     1,  4,  8,  8,  5, 2, 2, 2, 2, "valid",    1, 1, 1},
    {"s3-tail-unread",      1,  2,  8,  8,  3, 3, 3, 3, 3, "valid",    1, 1, 1},
    /* ---- TF "same": odd totals split top < bottom ---- */
    {"same-k3",             1,  3,  7,  9,  4, 3, 3, 1, 1, "same",     1, 1, 1},
    {"same-k4-asym",        1,  3,  8,  8,  3, 4, 4, 1, 1, "same",     1, 1, 1},
    {"same-s2-even",        2,  3,  8, 10,  5, 3, 3, 2, 2, "same",     1, 1, 1},
    {"same-s2-odd",         1,  3,  7,  7,  4, 3, 3, 2, 2, "same",     1, 1, 1},
    {"same-s3-k5",          1,  2, 10, 11,  3, 5, 5, 3, 3, "same",     1, 1, 1},
    {"same-s2x3-k3x4",      1,  3,  9, 13,  3, 3, 4, 2, 3, "same",     1, 1, 1},
    {"same-k2",             1,  3,  5,  6,  4, 2, 2, 1, 1, "same",     1, 1, 1},
    {"same-k6-s2",          1,  2, 11, 11,  3, 6, 6, 2, 2, "same",     1, 1, 1},
    {"same-zero-total",     1,  3,  8,  8,  3, 1, 1, 2, 2, "same",     1, 1, 1},
    /* ---- explicit padding, symmetric and T,L,B,R ---- */
    {"pad2",                1,  3,  6,  7,  4, 3, 3, 1, 1, "2",        1, 1, 1},
    {"pad3-s2-k5",          2,  3,  7,  9,  3, 5, 5, 2, 2, "3",        1, 1, 1},
    {"pad-0120",            1,  3,  7,  9,  5, 3, 3, 1, 1, "0,1,2,0",  1, 1, 1},
    {"pad-2013-s2",         2,  3,  9,  8,  4, 3, 3, 2, 2, "2,0,1,3",  1, 1, 1},
    {"pad-1201-k5x2-s1x2",  1,  2,  7,  6,  3, 5, 2, 1, 2, "1,2,0,1",  1, 1, 1},
    {"pad-top-only",        1,  3,  5,  5,  3, 3, 3, 1, 1, "3,0,0,0",  1, 1, 1},
    {"pad-only-outputs",    1,  3,  4,  5,  3, 2, 2, 1, 1, "3",        1, 1, 1},
    {"pad-4125-s3",         1,  2,  5,  5,  3, 3, 3, 3, 3, "4,1,2,5",  1, 1, 1},
    {"pad1-k1",             1,  3,  5,  6,  4, 1, 1, 1, 1, "1",        1, 1, 1},
    /* ---- dilation 2 and 3 ---- */
    {"d2",                  1,  3,  9,  9,  4, 3, 3, 1, 1, "valid",    2, 2, 1},
    {"d3",                  1,  3, 11, 12,  3, 3, 3, 1, 1, "valid",    3, 3, 1},
    {"d2-same",             1,  3,  8,  9,  5, 3, 3, 1, 1, "same",     2, 2, 1},
    {"d2-s2-pad2",          2,  3, 11, 11,  4, 3, 3, 2, 2, "2",        2, 2, 1},
    {"d3-k2-same",          1,  2,  9, 10,  3, 2, 2, 1, 1, "same",     3, 3, 1},
    {"d2x3-k3x2-asym",      1,  3, 10,  9,  3, 3, 2, 1, 1, "1,0,0,2",  2, 3, 1},
    {"d3x2-s3x2-asym",      1,  2, 13, 11,  4, 3, 3, 3, 2, "1,2,0,1",  3, 2, 1},
    {"d2-k5",               1,  2, 12, 12,  3, 5, 5, 1, 1, "valid",    2, 2, 1},
    {"d2-k1x3-same",        1,  3,  7,  9,  4, 1, 3, 1, 1, "same",     2, 2, 1},
    /* ---- groups and depthwise ---- */
    {"g2",                  1,  4,  7,  7,  6, 3, 3, 1, 1, "1",        1, 1, 2},
    {"g3",                  2,  9,  6,  7,  6, 3, 3, 1, 1, "valid",    1, 1, 3},
    {"g3-expand",           1,  3,  7,  6,  9, 3, 3, 2, 2, "1",        1, 1, 3},
    {"g2-s2x1-asym",        1,  6,  9,  8,  4, 3, 2, 2, 1, "0,1,1,0",  1, 1, 2},
    {"g3-d2-same",          1,  6,  9,  9,  9, 3, 3, 1, 1, "same",     2, 2, 3},
    {"g4-k1",               2,  8,  5,  5, 12, 1, 1, 1, 1, "valid",    1, 1, 4},
    {"dw5",                 2,  5,  7,  9,  5, 3, 3, 1, 1, "1",        1, 1, 5},
    {"dw8-s2",              1,  8,  9,  9,  8, 3, 3, 2, 2, "1",        1, 1, 8},
    {"dw3-k5-same",         1,  3,  8,  7,  3, 5, 5, 1, 1, "same",     1, 1, 3},
    {"dw4-d2",              1,  4,  9,  9,  4, 3, 3, 1, 1, "2",        2, 2, 4},
    {"dw4-mult2",           1,  4,  6,  6,  8, 3, 3, 1, 1, "valid",    1, 1, 4},
    /* ---- batch and channel counts ---- */
    {"mb3-c7-k9",           3,  7,  6,  6,  9, 3, 3, 1, 1, "1",        1, 1, 1},
    {"mb4-c9-k5",           4,  9,  5,  5,  5, 3, 3, 1, 1, "valid",    1, 1, 1},
    {"mb4-c13-k17",         4, 13,  5,  6, 17, 2, 3, 1, 1, "valid",    1, 1, 1},
    {"c17-k1",              1, 17,  7,  7,  1, 3, 3, 1, 1, "1",        1, 1, 1},
    {"c1-k17-s2",           2,  1,  9,  9, 17, 3, 3, 2, 2, "same",     1, 1, 1},
    /* ---- odd and degenerate sizes ---- */
    {"odd-7x9",             1,  3,  7,  9,  5, 3, 3, 1, 1, "valid",    1, 1, 1},
    {"odd-13x5",            2,  5, 13,  5,  7, 3, 3, 1, 1, "1",        1, 1, 1},
    {"odd-17x3-s2x1",       1,  3, 17,  3,  4, 5, 3, 2, 1, "same",     1, 1, 1},
    {"row-1x11",            2,  3,  1, 11,  5, 1, 3, 1, 1, "valid",    1, 1, 1},
    {"col-11x1",            1,  3, 11,  1,  4, 3, 1, 1, 1, "valid",    1, 1, 1},
    {"pixel-k1",            4, 17,  1,  1, 13, 1, 1, 1, 1, "valid",    1, 1, 1},
    {"pixel-k3-pad1",       2,  3,  1,  1,  5, 3, 3, 1, 1, "1",        1, 1, 1},
    {"2x2-k3-same-s2",      1,  3,  2,  2,  3, 3, 3, 2, 2, "same",     1, 1, 1},
    {"k3x5-fills-input",    1,  2,  3,  5,  3, 3, 5, 1, 1, "valid",    1, 1, 1},
    /* ---- medium shapes (also used for the 1-vs-2-thread test) ---- */
    {"mid-c16-k24",         2, 16, 14, 14, 24, 3, 3, 1, 1, "1",        1, 1, 1},
    {"mid-g2-s2-same",      2, 12, 15, 13, 16, 3, 3, 2, 2, "same",     1, 1, 2},
    {"mid-k1",              2, 24, 12, 12, 32, 1, 1, 1, 1, "valid",    1, 1, 1},
    {"mid-k5",              1,  8, 16, 16, 12, 5, 5, 1, 1, "2",        1, 1, 1},
    /* ---- real layers in small batch ---- */
    {"seed-conv1",          1,  3, 32, 32, 32, 3, 3, 1, 1, "same",     1, 1, 1},
    {"seed-conv2",          1, 32, 16, 16, 64, 3, 3, 1, 1, "same",     1, 1, 1},
    {"seed-conv2-mb2",      2, 32, 16, 16, 64, 3, 3, 1, 1, "same",     1, 1, 1},
    {"fmnist-conv1",        1,  1, 28, 28, 32, 3, 3, 1, 1, "same",     1, 1, 1},
    {"lenet-conv2",         2,  6, 14, 14, 16, 5, 5, 1, 1, "valid",    1, 1, 1},
    {"resnet-stem-small",   1,  3, 24, 24,  8, 7, 7, 2, 2, "3",        1, 1, 1},
    {"resnet-down-k1-s2",   2, 16,  8,  8, 32, 1, 1, 2, 2, "valid",    1, 1, 1},
    {"vgg-block-small",     2, 16,  8,  8, 16, 3, 3, 1, 1, "1",        1, 1, 1},
    {"mobilenet-dw-small",  2, 16, 10, 10, 16, 3, 3, 2, 2, "same",     1, 1, 16},
};
/* clang-format on */

#define NSHAPES (sizeof rows / sizeof rows[0])

static struct ckt_shape shapes[NSHAPES];
static char names[NSHAPES][128];
static pthread_once_t resolved = PTHREAD_ONCE_INIT;

static void resolve_row(size_t i)
{
    const struct row *r = &rows[i];
    struct ck_conv_params *p = &shapes[i].p;
    ck_conv_params_init(p);
    p->N = r->N, p->C = r->C, p->H = r->H, p->W = r->W;
    p->K = r->K, p->R = r->R, p->S = r->S;
    p->stride_h = r->sh, p->stride_w = r->sw;
    p->dilation_h = r->dh, p->dilation_w = r->dw;
    p->groups = r->groups;
    struct ck_padding pad;
    if (ck_padding_parse(r->pad, &pad, NULL, 0) != CK_OK ||
        ck_conv_apply_padding(p, &pad) != CK_OK)
        p->groups = 0; /* invalid on purpose: the corpus test reports this row */
    char desc[100];
    ck_conv_problem_format(p, desc, sizeof desc);
    snprintf(names[i], sizeof names[i], "%s_n%s", desc, r->tag);
    shapes[i].name = names[i];
}

static void resolve_all(void)
{
    for (size_t i = 0; i < NSHAPES; i++)
        resolve_row(i);
}

size_t ckt_corpus_count(void)
{
    return NSHAPES;
}

const struct ckt_shape *ckt_corpus_get(size_t i)
{
    if (i >= NSHAPES)
        return NULL;
    pthread_once(&resolved, resolve_all);
    return &shapes[i];
}

const struct ckt_shape *ckt_corpus_find(const char *tag)
{
    for (size_t i = 0; tag && i < NSHAPES; i++)
        if (strcmp(rows[i].tag, tag) == 0)
            return ckt_corpus_get(i);
    return NULL;
}
