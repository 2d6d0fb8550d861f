/* conv_problem.c - oneDNN benchdnn convolution descriptors ("mb64ic32ih16oc64kh3ph1").
 *
 * The descriptor is the stable name of a problem in benchmarks, scripts and the CLI
 * (`convkit conv --problem`). Parsing accepts benchdnn's 2-D keys in any order;
 * formatting writes the canonical form with defaults omitted. No 3-D keys (id, kd, ...).
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "convkit/conv.h"
#include "internal.h"

enum key { MB, G, IC, IH, IW, OC, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW, NKEYS };
static const char *const key_names[NKEYS] = {"mb", "g",  "ic", "ih", "iw", "oc", "oh", "ow",
                                             "kh", "kw", "sh", "sw", "ph", "pw", "dh", "dw"};

enum ck_status ck_conv_problem_parse(const char *desc, struct ck_conv_params *p, char *msg,
                                     size_t msg_len)
{
    long v[NKEYS];
    int seen[NKEYS] = {0};
    if (!desc || !p) {
        ck__msg(msg, msg_len, "problem: missing descriptor");
        return CK_ERR_INVALID_ARGUMENT;
    }
    const char *s = desc;
    while (*s && *s != '_') {
        if (*s == 'n' && !isdigit((unsigned char)s[1]))
            break; /* "nNAME": the problem's name, ignored */
        int k = -1;
        for (int i = 0; i < NKEYS && k < 0; i++) {
            size_t len = strlen(key_names[i]);
            if (strncmp(s, key_names[i], len) == 0 && isdigit((unsigned char)s[len]))
                k = i;
        }
        if (k < 0) {
            ck__msg(msg, msg_len, "problem '%s': unknown key at '%.8s' (keys: mb g ic ih iw oc "
                    "oh ow kh kw sh sw ph pw dh dw)", desc, s);
            return CK_ERR_INVALID_ARGUMENT;
        }
        if (seen[k]) {
            ck__msg(msg, msg_len, "problem '%s': key '%s' given twice", desc, key_names[k]);
            return CK_ERR_INVALID_ARGUMENT;
        }
        s += strlen(key_names[k]);
        long val = 0;
        while (isdigit((unsigned char)*s)) {
            val = val * 10 + (*s++ - '0');
            if (val > INT_MAX / 2) {
                ck__msg(msg, msg_len, "problem '%s': value of '%s' too large", desc,
                        key_names[k]);
                return CK_ERR_INVALID_ARGUMENT;
            }
        }
        v[k] = val;
        seen[k] = 1;
    }
    if (*s == '_' && s[1] != 'n') {
        ck__msg(msg, msg_len, "problem '%s': unexpected '%s'", desc, s);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (!seen[IC] || !seen[OC] || !seen[IH] || !seen[KH]) {
        ck__msg(msg, msg_len, "problem '%s': needs at least ic, ih, oc and kh", desc);
        return CK_ERR_INVALID_ARGUMENT;
    }
#define DEF(k, d) (seen[k] ? v[k] : (d))
    ck_conv_params_init(p);
    p->N = (int)DEF(MB, 2);
    p->groups = (int)DEF(G, 1);
    p->C = (int)v[IC];
    p->K = (int)v[OC];
    p->H = (int)v[IH];
    p->W = (int)DEF(IW, v[IH]);
    p->R = (int)v[KH];
    p->S = (int)DEF(KW, v[KH]);
    p->stride_h = (int)DEF(SH, 1);
    p->stride_w = (int)DEF(SW, p->stride_h);
    p->pad_top = p->pad_bottom = (int)DEF(PH, 0);
    p->pad_left = p->pad_right = (int)DEF(PW, p->pad_top);
    p->dilation_h = (int)DEF(DH, 0) + 1;
    p->dilation_w = (int)DEF(DW, p->dilation_h - 1) + 1;
#undef DEF
    /* oh/ow given: the bottom/right padding is whatever makes the output that size */
    const int given[2] = {seen[OH], seen[OW]};
    const long want[2] = {seen[OH] ? v[OH] : 0, seen[OW] ? v[OW] : 0};
    for (int axis = 0; axis < 2; axis++) {
        if (!given[axis])
            continue;
        long in = axis ? p->W : p->H, stride = axis ? p->stride_w : p->stride_h;
        long eff = (long)((axis ? p->S : p->R) - 1) * (axis ? p->dilation_w : p->dilation_h) + 1;
        long lead = axis ? p->pad_left : p->pad_top;
        long trail = (want[axis] - 1) * stride + eff - in - lead;
        /* floor() may already drop leftover rows: then no trailing pad is needed; the
         * output size is verified below either way */
        if (trail < 0)
            trail = 0;
        if (want[axis] < 1 || trail > INT_MAX / 2) {
            ck__msg(msg, msg_len, "problem '%s': %s%ld is impossible for this input, filter "
                    "and padding", desc, axis ? "ow" : "oh", want[axis]);
            return CK_ERR_INVALID_ARGUMENT;
        }
        if (axis)
            p->pad_right = (int)trail;
        else
            p->pad_bottom = (int)trail;
    }
    enum ck_status st = ck_conv_check(p, msg, msg_len);
    if (st != CK_OK)
        return st;
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    if ((given[0] && P != want[0]) || (given[1] && Q != want[1])) {
        ck__msg(msg, msg_len, "problem '%s': output would be %dx%d, not the oh/ow given", desc,
                P, Q);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

const char *ck_conv_problem_format(const struct ck_conv_params *p, char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return "";
    char tmp[256];
    int n = 0;
#define PUT(...) n += snprintf(tmp + n, sizeof tmp - (size_t)n, __VA_ARGS__)
    PUT("mb%d", p->N);
    if (p->groups != 1)
        PUT("g%d", p->groups);
    PUT("ic%dih%d", p->C, p->H);
    if (p->W != p->H)
        PUT("iw%d", p->W);
    PUT("oc%d", p->K);
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    if (p->pad_bottom != p->pad_top)
        PUT("oh%d", P);
    if (p->pad_right != p->pad_left)
        PUT("ow%d", Q);
    PUT("kh%d", p->R);
    if (p->S != p->R)
        PUT("kw%d", p->S);
    if (p->stride_h != 1)
        PUT("sh%d", p->stride_h);
    if (p->stride_w != p->stride_h)
        PUT("sw%d", p->stride_w);
    if (p->pad_top != 0)
        PUT("ph%d", p->pad_top);
    if (p->pad_left != p->pad_top)
        PUT("pw%d", p->pad_left);
    if (p->dilation_h != 1)
        PUT("dh%d", p->dilation_h - 1);
    if (p->dilation_w != p->dilation_h)
        PUT("dw%d", p->dilation_w - 1);
#undef PUT
    snprintf(buf, buf_len, "%s", tmp);
    return buf;
}
