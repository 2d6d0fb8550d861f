/* conv_params.c - convolution problem rules: padding modes, validation, sizes.
 *
 * All problem validation lives here (ck_conv_check), once, at the public boundary;
 * backends may assume a checked problem. Does not run any convolution.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/conv.h"
#include "internal.h"

void ck__msg(char *msg, size_t msg_len, const char *fmt, ...)
{
    if (!msg || msg_len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
}

static const char *const pass_names[CK_PASS_COUNT] = {
    [CK_PASS_FORWARD] = "forward",
    [CK_PASS_BACKWARD_DATA] = "backward-data",
    [CK_PASS_BACKWARD_WEIGHTS] = "backward-weights",
};

const char *ck_conv_pass_name(enum ck_conv_pass pass)
{
    return (unsigned)pass < CK_PASS_COUNT ? pass_names[pass] : "unknown-pass";
}

enum ck_status ck_conv_pass_parse(const char *text, enum ck_conv_pass *out)
{
    for (int i = 0; text && i < CK_PASS_COUNT; i++) {
        if (strcmp(text, pass_names[i]) == 0) {
            *out = (enum ck_conv_pass)i;
            return CK_OK;
        }
    }
    return CK_ERR_INVALID_ARGUMENT;
}

/* Parse a decimal int in [0, INT_MAX] spanning exactly [s, end). */
static int parse_nonneg(const char *s, const char *end, int *out)
{
    if (s == end)
        return 0;
    long v = 0;
    for (const char *c = s; c < end; c++) {
        if (*c < '0' || *c > '9')
            return 0;
        if (v > (INT_MAX - (*c - '0')) / 10)
            return 0; /* checked before multiplying: long may be 32 bits */
        v = v * 10 + (*c - '0');
    }
    *out = (int)v;
    return 1;
}

enum ck_status ck_padding_parse(const char *text, struct ck_padding *out, char *msg,
                                size_t msg_len)
{
    if (!text || !out) {
        ck__msg(msg, msg_len, "padding: missing value");
        return CK_ERR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    if (strcmp(text, "valid") == 0) {
        out->mode = CK_PADDING_VALID;
        return CK_OK;
    }
    if (strcmp(text, "same") == 0) {
        out->mode = CK_PADDING_SAME;
        return CK_OK;
    }
    int v[4];
    int n = 0;
    const char *s = text;
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        if (n == 4 || !parse_nonneg(s, end, &v[n])) {
            ck__msg(msg, msg_len,
                    "padding '%s': expected valid, same, P or T,L,B,R with integers >= 0",
                    text);
            return CK_ERR_INVALID_ARGUMENT;
        }
        n++;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (n != 1 && n != 4) {
        ck__msg(msg, msg_len, "padding '%s': give 1 value (P) or 4 values (T,L,B,R), not %d",
                text, n);
        return CK_ERR_INVALID_ARGUMENT;
    }
    out->mode = CK_PADDING_EXPLICIT;
    out->top = v[0];
    out->left = n == 4 ? v[1] : v[0];
    out->bottom = n == 4 ? v[2] : v[0];
    out->right = n == 4 ? v[3] : v[0];
    return CK_OK;
}

void ck_conv_params_init(struct ck_conv_params *p)
{
    memset(p, 0, sizeof *p);
    p->N = p->C = p->H = p->W = 1;
    p->K = p->R = p->S = 1;
    p->stride_h = p->stride_w = 1;
    p->dilation_h = p->dilation_w = 1;
    p->groups = 1;
}

/* TensorFlow/Keras "same": total pad along one axis; needs in, stride, dil >= 1. */
static int same_total(int in, int filter, int stride, int dil)
{
    long eff = (long)(filter - 1) * dil + 1;
    long out = ((long)in + stride - 1) / stride;
    long total = (out - 1) * stride + eff - in;
    return total > 0 ? (int)CK_MIN(total, INT_MAX) : 0;
}

enum ck_status ck_conv_apply_padding(struct ck_conv_params *p, const struct ck_padding *pad)
{
    if (!p || !pad)
        return CK_ERR_INVALID_ARGUMENT;
    switch (pad->mode) {
    case CK_PADDING_VALID:
        p->pad_top = p->pad_left = p->pad_bottom = p->pad_right = 0;
        return CK_OK;
    case CK_PADDING_SAME: {
        if (p->H < 1 || p->W < 1 || p->R < 1 || p->S < 1 || p->stride_h < 1 ||
            p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1)
            return CK_ERR_INVALID_ARGUMENT;
        int th = same_total(p->H, p->R, p->stride_h, p->dilation_h);
        int tw = same_total(p->W, p->S, p->stride_w, p->dilation_w);
        p->pad_top = th / 2;
        p->pad_bottom = th - th / 2;
        p->pad_left = tw / 2;
        p->pad_right = tw - tw / 2;
        return CK_OK;
    }
    case CK_PADDING_EXPLICIT:
        if (pad->top < 0 || pad->left < 0 || pad->bottom < 0 || pad->right < 0)
            return CK_ERR_INVALID_ARGUMENT;
        p->pad_top = pad->top;
        p->pad_left = pad->left;
        p->pad_bottom = pad->bottom;
        p->pad_right = pad->right;
        return CK_OK;
    }
    return CK_ERR_INVALID_ARGUMENT;
}

void ck_conv_output_size(const struct ck_conv_params *p, int *P, int *Q)
{
    long eff_r = (long)p->dilation_h * (p->R - 1) + 1;
    long eff_s = (long)p->dilation_w * (p->S - 1) + 1;
    long ph = (long)p->H + p->pad_top + p->pad_bottom - eff_r;
    long pw = (long)p->W + p->pad_left + p->pad_right - eff_s;
    /* floor division; a negative span means the filter does not fit: size 0 */
    *P = ph < 0 || p->stride_h < 1 ? 0 : (int)(ph / p->stride_h + 1);
    *Q = pw < 0 || p->stride_w < 1 ? 0 : (int)(pw / p->stride_w + 1);
}

/* a*b*c*d fits in size_t and in 2^62 bytes of float? */
static int product_ok(long a, long b, long c, long d)
{
    const uint64_t lim = ((uint64_t)1 << 60) / sizeof(float);
    uint64_t v = (uint64_t)a;
    long f[3] = {b, c, d};
    for (int i = 0; i < 3; i++) {
        if (f[i] != 0 && v > lim / (uint64_t)f[i])
            return 0;
        v *= (uint64_t)f[i];
    }
    return v <= SIZE_MAX / sizeof(float);
}

enum ck_status ck_conv_check(const struct ck_conv_params *p, char *msg, size_t msg_len)
{
    if (!p) {
        ck__msg(msg, msg_len, "conv: NULL parameters");
        return CK_ERR_INVALID_ARGUMENT;
    }
    const struct {
        const char *name;
        int value;
        int min;
    } rules[] = {
        {"batch N", p->N, 1},          {"input channels C", p->C, 1},
        {"input height H", p->H, 1},   {"input width W", p->W, 1},
        {"output channels K", p->K, 1}, {"filter height R", p->R, 1},
        {"filter width S", p->S, 1},   {"stride height", p->stride_h, 1},
        {"stride width", p->stride_w, 1}, {"dilation height", p->dilation_h, 1},
        {"dilation width", p->dilation_w, 1}, {"groups", p->groups, 1},
        {"padding top", p->pad_top, 0}, {"padding left", p->pad_left, 0},
        {"padding bottom", p->pad_bottom, 0}, {"padding right", p->pad_right, 0},
    };
    for (size_t i = 0; i < CK_COUNT_OF(rules); i++) {
        if (rules[i].value < rules[i].min) {
            ck__msg(msg, msg_len, "conv: %s must be >= %d (got %d)", rules[i].name,
                    rules[i].min, rules[i].value);
            return CK_ERR_INVALID_ARGUMENT;
        }
    }
    if (p->C % p->groups != 0 || p->K % p->groups != 0) {
        ck__msg(msg, msg_len,
                "conv: groups (%d) must divide input channels (%d) and output channels (%d)",
                p->groups, p->C, p->K);
        return CK_ERR_INVALID_ARGUMENT;
    }
    long eff_r = (long)p->dilation_h * (p->R - 1) + 1;
    long eff_s = (long)p->dilation_w * (p->S - 1) + 1;
    long hp = (long)p->H + p->pad_top + p->pad_bottom;
    long wp = (long)p->W + p->pad_left + p->pad_right;
    if (eff_r > hp || eff_s > wp) {
        ck__msg(msg, msg_len,
                "conv: filter %ldx%ld (with dilation) is larger than the padded input %ldx%ld",
                eff_r, eff_s, hp, wp);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (hp > INT_MAX || wp > INT_MAX || eff_r > INT_MAX || eff_s > INT_MAX) {
        ck__msg(msg, msg_len, "conv: padded input or dilated filter too large");
        return CK_ERR_INVALID_ARGUMENT;
    }
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    if (!product_ok(p->N, p->C, p->H, p->W) || !product_ok(p->K, p->C / p->groups, p->R, p->S) ||
        !product_ok(p->N, p->K, P, Q) || !product_ok((long)p->C / p->groups * p->R, p->S, P, Q)) {
        ck__msg(msg, msg_len, "conv: tensors too large for this machine");
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

size_t ck_conv_x_numel(const struct ck_conv_params *p)
{
    return (size_t)p->N * p->C * p->H * p->W;
}

size_t ck_conv_w_numel(const struct ck_conv_params *p)
{
    return (size_t)p->K * (p->C / p->groups) * p->R * p->S;
}

size_t ck_conv_y_numel(const struct ck_conv_params *p)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    return (size_t)p->N * p->K * P * Q;
}

double ck_conv_flops(const struct ck_conv_params *p)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    return 2.0 * p->N * p->K * P * Q * (double)(p->C / p->groups) * p->R * p->S;
}
