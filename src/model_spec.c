/* model_spec.c - parse, shape-check and format model specs (grammar in model.h).
 *
 * The text is split into statements at newlines and ';', '#' comments are dropped,
 * and each statement into whitespace-separated words that remember their line and
 * column, so every error can say "line L, column C: what is wrong". Shapes are checked
 * with the same geometry helpers the layers use. Nothing here allocates except the
 * file buffer of ck_model_spec_load.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/model.h"
#include "internal.h"
#include "layers.h"

#define MAX_WORDS 16

/* The lecture's CIFAR-10 network (DESIGN section 3): 545,098 parameters. */
static const char seed_cnn_text[] =
    "input 32x32x3\n"
    "conv2d 32 3x3 stride=1 padding=same activation=relu\n"
    "maxpool2d 2x2 stride=2\n"
    "conv2d 64 3x3 padding=same activation=relu\n"
    "maxpool2d 2x2\n"
    "flatten\n"
    "dense 128 activation=relu\n"
    "dense 10\n";

static const struct {
    const char *name, *text;
} presets[] = {{"seed-cnn", seed_cnn_text}};

static const char *const kind_names[CK_LAYER_KIND_COUNT] = {
    [CK_LAYER_CONV2D] = "conv2d",       [CK_LAYER_MAXPOOL2D] = "maxpool2d",
    [CK_LAYER_AVGPOOL2D] = "avgpool2d", [CK_LAYER_RELU] = "relu",
    [CK_LAYER_LEAKY_RELU] = "leaky_relu", [CK_LAYER_SIGMOID] = "sigmoid",
    [CK_LAYER_TANH] = "tanh",           [CK_LAYER_FLATTEN] = "flatten",
    [CK_LAYER_DENSE] = "dense",         [CK_LAYER_DROPOUT] = "dropout",
    [CK_LAYER_SOFTMAX_XENT] = "softmax_xent",
};

static const char *const act_names[CK_ACT_COUNT] = {
    [CK_ACT_NONE] = "none", [CK_ACT_RELU] = "relu", [CK_ACT_LEAKY_RELU] = "leaky_relu",
    [CK_ACT_SIGMOID] = "sigmoid", [CK_ACT_TANH] = "tanh",
};

/* Options each kind accepts, as a space-separated list (checked word by word). */
static const char *allowed_options(enum ck_layer_kind k)
{
    switch (k) {
    case CK_LAYER_CONV2D:
        return " stride padding dilation groups activation alpha backend bias ";
    case CK_LAYER_MAXPOOL2D:
    case CK_LAYER_AVGPOOL2D:
        return " stride padding ";
    case CK_LAYER_LEAKY_RELU:
        return " alpha ";
    case CK_LAYER_DENSE:
        return " activation alpha bias ";
    default:
        return " ";
    }
}

const char *ck_layer_kind_name(enum ck_layer_kind kind)
{
    return (unsigned)kind < CK_LAYER_KIND_COUNT ? kind_names[kind] : "unknown";
}

const char *ck_activation_name(enum ck_activation act)
{
    return (unsigned)act < CK_ACT_COUNT ? act_names[act] : "unknown";
}

size_t ck_shape_numel(struct ck_shape s)
{
    return (size_t)s.c * s.h * s.w;
}

const char *ck_model_preset(const char *name)
{
    for (size_t i = 0; name && i < CK_COUNT_OF(presets); i++)
        if (strcmp(presets[i].name, name) == 0)
            return presets[i].text;
    return NULL;
}

const char *ck_model_preset_names(char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return "";
    buf[0] = '\0';
    for (size_t i = 0; i < CK_COUNT_OF(presets); i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, buf_len - used, "%s%s", i ? ", " : "", presets[i].name);
    }
    return buf;
}

/* ---------------------------------------------------------------------------------- */
/* words and errors                                                                     */

struct word {
    const char *s;
    int len, line, col;
};

static enum ck_status fail(char *msg, size_t msg_len, int line, int col, const char *fmt, ...)
    CK_PRINTF(5, 6);

static enum ck_status fail(char *msg, size_t msg_len, int line, int col, const char *fmt, ...)
{
    if (msg && msg_len > 0) {
        int k = snprintf(msg, msg_len, "line %d, column %d: ", line, col);
        if (k >= 0 && (size_t)k < msg_len) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg + k, msg_len - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return CK_ERR_INVALID_ARGUMENT;
}

static int word_is(const struct word *w, const char *s)
{
    return (size_t)w->len == strlen(s) && memcmp(w->s, s, (size_t)w->len) == 0;
}

/* Decimal int in [lo, INT_MAX] spanning exactly [s, s+len). */
static int parse_int(const char *s, int len, int lo, int *out)
{
    long v = 0;
    if (len <= 0)
        return 0;
    for (int i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
        if (v > INT_MAX)
            return 0;
    }
    if (v < lo)
        return 0;
    *out = (int)v;
    return 1;
}

/* Finite float spanning exactly [s, s+len). */
static int parse_float(const char *s, int len, float *out)
{
    char buf[48];
    if (len <= 0 || len >= (int)sizeof buf)
        return 0;
    memcpy(buf, s, (size_t)len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end != '\0' || errno != 0 || !isfinite(v) || fabs(v) > 1e30)
        return 0;
    *out = (float)v;
    return 1;
}

/* "A" or "AsepB" (sep = 'x' or ','), each a positive int; A alone means A,A. */
static int parse_pair(const char *s, int len, char sep, int *a, int *b)
{
    const char *p = memchr(s, sep, (size_t)len);
    if (!p)
        return parse_int(s, len, 1, a) && (*b = *a, 1);
    int la = (int)(p - s);
    return parse_int(s, la, 1, a) && parse_int(p + 1, len - la - 1, 1, b);
}

/* ---------------------------------------------------------------------------------- */
/* one statement                                                                        */

struct ctx {
    char *msg;
    size_t msg_len;
};

static enum ck_status parse_option(struct ctx *c, struct ck_layer_spec *ls, const struct word *w)
{
    const char *eq = memchr(w->s, '=', (size_t)w->len);
    int klen = (int)(eq - w->s);
    const char *v = eq + 1;
    int vlen = w->len - klen - 1;
    int vcol = w->col + klen + 1;
    const struct word val = {v, vlen, w->line, vcol};
    char key[24];
    if (klen == 0 || klen >= (int)sizeof key)
        return fail(c->msg, c->msg_len, w->line, w->col, "bad option '%.*s' (expected name=value)",
                    w->len, w->s);
    memcpy(key, w->s, (size_t)klen);
    key[klen] = '\0';
    char pattern[32];
    snprintf(pattern, sizeof pattern, " %s ", key);
    if (!strstr(allowed_options(ls->kind), pattern))
        return fail(c->msg, c->msg_len, w->line, w->col,
                    "unknown option '%s' for %s (accepted:%s)", key, kind_names[ls->kind],
                    strcmp(allowed_options(ls->kind), " ") ? allowed_options(ls->kind) : " none ");
    if (vlen <= 0)
        return fail(c->msg, c->msg_len, w->line, vcol, "option '%s' needs a value", key);
    if (strcmp(key, "stride") == 0) {
        if (!parse_pair(v, vlen, ',', &ls->stride_h, &ls->stride_w))
            goto bad_pair;
    } else if (strcmp(key, "dilation") == 0) {
        if (!parse_pair(v, vlen, ',', &ls->dilation_h, &ls->dilation_w))
            goto bad_pair;
    } else if (strcmp(key, "groups") == 0) {
        if (!parse_int(v, vlen, 1, &ls->groups))
            goto bad_int;
    } else if (strcmp(key, "padding") == 0) {
        char buf[64], why[160];
        if (vlen >= (int)sizeof buf)
            return fail(c->msg, c->msg_len, w->line, vcol, "padding value too long");
        memcpy(buf, v, (size_t)vlen);
        buf[vlen] = '\0';
        if (ck_padding_parse(buf, &ls->padding, why, sizeof why) != CK_OK)
            return fail(c->msg, c->msg_len, w->line, vcol, "%s", why);
    } else if (strcmp(key, "activation") == 0) {
        int a = 0;
        while (a < CK_ACT_COUNT && !word_is(&val, act_names[a]))
            a++;
        ls->activation = (enum ck_activation)a;
        if (a == CK_ACT_COUNT)
            return fail(c->msg, c->msg_len, w->line, vcol,
                        "unknown activation '%.*s' (relu, leaky_relu, sigmoid, tanh, none)",
                        vlen, v);
    } else if (strcmp(key, "alpha") == 0) {
        if (!parse_float(v, vlen, &ls->alpha) || ls->alpha < 0.0f)
            return fail(c->msg, c->msg_len, w->line, vcol,
                        "bad number '%.*s' for alpha (expected a number >= 0)", vlen, v);
    } else if (strcmp(key, "bias") == 0) {
        if (word_is(&val, "true") || word_is(&val, "false"))
            ls->bias = word_is(&val, "true");
        else
            return fail(c->msg, c->msg_len, w->line, vcol, "bias must be true or false, not '%.*s'",
                        vlen, v);
    } else { /* backend */
        char names[256];
        if (vlen >= CK_BACKEND_NAME_MAX)
            return fail(c->msg, c->msg_len, w->line, vcol, "backend name too long");
        memcpy(ls->backend, v, (size_t)vlen);
        ls->backend[vlen] = '\0';
        if (strcmp(ls->backend, "auto") != 0 && !ck_backend_find(ls->backend))
            return fail(c->msg, c->msg_len, w->line, vcol, "unknown backend '%s' (known: %s)",
                        ls->backend, ck_backend_names(names, sizeof names));
    }
    return CK_OK;
bad_pair:
    return fail(c->msg, c->msg_len, w->line, vcol,
                "bad number '%.*s' for %s (expected N or N,M with integers >= 1)", vlen, v, key);
bad_int:
    return fail(c->msg, c->msg_len, w->line, vcol,
                "bad number '%.*s' for %s (expected an integer >= 1)", vlen, v, key);
}

static void layer_defaults(struct ck_layer_spec *ls, enum ck_layer_kind k, const struct word *w)
{
    memset(ls, 0, sizeof *ls);
    ls->kind = k;
    ls->line = w->line;
    ls->column = w->col;
    ls->kh = ls->kw = (k == CK_LAYER_MAXPOOL2D || k == CK_LAYER_AVGPOOL2D) ? 2 : 0;
    ls->stride_h = ls->stride_w = 0; /* 0 = default, resolved below */
    ls->padding.mode = CK_PADDING_VALID;
    ls->dilation_h = ls->dilation_w = 1;
    ls->groups = 1;
    ls->alpha = 0.01f;
    ls->bias = 1;
}

/* Parse the words of one layer statement (w[0] is the layer word). */
static enum ck_status parse_layer(struct ctx *c, const struct word *w, int n,
                                  struct ck_layer_spec *ls)
{
    int kind = -1;
    for (int k = 0; k < CK_LAYER_KIND_COUNT; k++)
        if (k != CK_LAYER_SOFTMAX_XENT && word_is(&w[0], kind_names[k]))
            kind = k;
    if (kind < 0)
        return fail(c->msg, c->msg_len, w[0].line, w[0].col,
                    "unknown layer '%.*s' (expected conv2d, maxpool2d, avgpool2d, relu, "
                    "leaky_relu, sigmoid, tanh, flatten, dense or dropout)",
                    w[0].len, w[0].s);
    layer_defaults(ls, (enum ck_layer_kind)kind, &w[0]);
    const int pools = kind == CK_LAYER_MAXPOOL2D || kind == CK_LAYER_AVGPOOL2D;
    const int counted = kind == CK_LAYER_CONV2D || kind == CK_LAYER_DENSE;
    /* positional arguments: conv2d K RxS, dense U, dropout RATE, pool [PxQ] */
    int want = kind == CK_LAYER_CONV2D ? 2 : 0;
    if (kind == CK_LAYER_DENSE || kind == CK_LAYER_DROPOUT || pools)
        want = 1;
    int npos = 0, i = 1;
    for (; i < n && !memchr(w[i].s, '=', (size_t)w[i].len); i++, npos++) {
        const struct word *a = &w[i];
        if (npos >= want)
            return fail(c->msg, c->msg_len, a->line, a->col, "unexpected word '%.*s' after %s",
                        a->len, a->s, kind_names[kind]);
        if (kind == CK_LAYER_DROPOUT) {
            if (!parse_float(a->s, a->len, &ls->rate) || ls->rate < 0.0f || ls->rate >= 1.0f)
                return fail(c->msg, c->msg_len, a->line, a->col,
                            "bad number '%.*s' for the dropout rate (expected 0 <= rate < 1)",
                            a->len, a->s);
        } else if (counted && npos == 0) {
            if (!parse_int(a->s, a->len, 1, &ls->units))
                return fail(c->msg, c->msg_len, a->line, a->col,
                            "bad number '%.*s' for %s %s (expected an integer >= 1)", a->len,
                            a->s, kind_names[kind], kind == CK_LAYER_DENSE ? "units" : "filters");
        } else if (!parse_pair(a->s, a->len, 'x', &ls->kh, &ls->kw)) {
            return fail(c->msg, c->msg_len, a->line, a->col,
                        "bad size '%.*s' (expected K or RxS with integers >= 1)", a->len, a->s);
        }
    }
    if (npos < want && !pools) {
        const struct word *last = &w[i - 1];
        const char *example = kind == CK_LAYER_CONV2D  ? "filters and a size, e.g. 'conv2d 32 3x3'"
                              : kind == CK_LAYER_DENSE ? "a unit count, e.g. 'dense 128'"
                                                       : "a rate, e.g. 'dropout 0.5'";
        return fail(c->msg, c->msg_len, last->line, last->col + last->len, "%s needs %s",
                    kind_names[kind], example);
    }
    unsigned seen = 0;
    for (; i < n; i++) {
        const char *eq = memchr(w[i].s, '=', (size_t)w[i].len);
        if (!eq)
            return fail(c->msg, c->msg_len, w[i].line, w[i].col,
                        "unexpected word '%.*s' (options are name=value)", w[i].len, w[i].s);
        /* an option given twice is an error: one bit per option name */
        static const char *const opts[] = {"stride", "padding", "dilation", "groups",
                                           "activation", "alpha", "backend", "bias"};
        char key[24];
        snprintf(key, sizeof key, "%.*s", (int)(eq - w[i].s), w[i].s);
        for (unsigned o = 0; o < CK_COUNT_OF(opts); o++) {
            if (strcmp(key, opts[o]) == 0) {
                if (seen & (1u << o))
                    return fail(c->msg, c->msg_len, w[i].line, w[i].col, "option '%s' given twice",
                                key);
                seen |= 1u << o;
            }
        }
        enum ck_status st = parse_option(c, ls, &w[i]);
        if (st != CK_OK)
            return st;
    }
    if (ls->stride_h == 0) { /* not given: conv 1, pool = window (Keras) */
        ls->stride_h = pools ? ls->kh : 1;
        ls->stride_w = pools ? ls->kw : 1;
    }
    if (kind == CK_LAYER_LEAKY_RELU)
        ls->activation = CK_ACT_LEAKY_RELU;
    return CK_OK;
}

static enum ck_status parse_input(struct ctx *c, const struct word *w, int n, struct ck_shape *in)
{
    if (n < 2)
        return fail(c->msg, c->msg_len, w[0].line, w[0].col + w[0].len,
                    "input needs a shape HxWxC, e.g. 'input 32x32x3'");
    if (n > 2)
        return fail(c->msg, c->msg_len, w[2].line, w[2].col, "unexpected word '%.*s' after input",
                    w[2].len, w[2].s);
    const char *s = w[1].s, *x1 = memchr(s, 'x', (size_t)w[1].len);
    const char *x2 = x1 ? memchr(x1 + 1, 'x', (size_t)(s + w[1].len - x1 - 1)) : NULL;
    if (!x1 || !x2 || !parse_int(s, (int)(x1 - s), 1, &in->h) ||
        !parse_int(x1 + 1, (int)(x2 - x1 - 1), 1, &in->w) ||
        !parse_int(x2 + 1, (int)(s + w[1].len - x2 - 1), 1, &in->c))
        return fail(c->msg, c->msg_len, w[1].line, w[1].col,
                    "bad input shape '%.*s' (expected HxWxC with integers >= 1)", w[1].len, s);
    return CK_OK;
}

/* ---------------------------------------------------------------------------------- */
/* the whole text                                                                       */

static enum ck_status check_shapes(struct ctx *c, struct ck_model_spec *m)
{
    struct ck_shape cur = m->input;
    if ((double)cur.c * cur.h * cur.w > (double)INT_MAX)
        return fail(c->msg, c->msg_len, m->input_line, 1, "input shape too large");
    for (int i = 0; i < m->n_layers; i++) {
        char why[200];
        const struct ck_layer_spec *ls = &m->layers[i];
        if (ck__layer_output_shape(ls, cur, &m->shapes[i], why, sizeof why) != CK_OK)
            return fail(c->msg, c->msg_len, ls->line, ls->column, "%s: %s", kind_names[ls->kind],
                        why);
        cur = m->shapes[i];
    }
    return CK_OK;
}

enum ck_status ck_model_spec_parse(const char *text, const struct ck_shape *input_override,
                                   struct ck_model_spec *out, char *msg, size_t msg_len)
{
    struct ctx c = {msg, msg_len};
    if (!text || !out)
        return fail(msg, msg_len, 1, 1, "no model spec given");
    const char *preset = ck_model_preset(text);
    if (preset)
        text = preset;
    memset(out, 0, sizeof *out);
    int have_input = 0, line = 1, col = 1;
    const char *p = text;
    while (*p) {
        /* collect the words of one statement (up to '\n', ';' or end) */
        struct word w[MAX_WORDS];
        int n = 0;
        while (*p && *p != '\n' && *p != ';') {
            if (*p == '#') { /* comment: skip to end of line */
                while (*p && *p != '\n')
                    p++, col++;
                break;
            }
            if (*p == ' ' || *p == '\t' || *p == '\r') {
                p++, col++;
                continue;
            }
            if (n == MAX_WORDS)
                return fail(msg, msg_len, line, col, "too many words in one layer (max %d)",
                            MAX_WORDS);
            w[n] = (struct word){p, 0, line, col};
            while (*p && !strchr(" \t\r\n;#", *p))
                p++, col++, w[n].len++;
            n++;
        }
        int stmt_line = line;
        if (*p == '\n')
            line++, col = 1, p++;
        else if (*p == ';')
            col++, p++;
        if (n == 0)
            continue;
        if (word_is(&w[0], "input")) {
            if (have_input)
                return fail(msg, msg_len, w[0].line, w[0].col, "input given twice");
            enum ck_status st = parse_input(&c, w, n, &out->input);
            if (st != CK_OK)
                return st;
            have_input = 1;
            out->input_line = stmt_line;
            continue;
        }
        if (!have_input)
            return fail(msg, msg_len, w[0].line, w[0].col,
                        "missing input line: the spec must start with 'input HxWxC'");
        if (out->n_layers == CK_MODEL_MAX_LAYERS)
            return fail(msg, msg_len, w[0].line, w[0].col, "too many layers (max %d)",
                        CK_MODEL_MAX_LAYERS);
        enum ck_status st = parse_layer(&c, w, n, &out->layers[out->n_layers]);
        if (st != CK_OK)
            return st;
        out->n_layers++;
    }
    if (!have_input)
        return fail(msg, msg_len, line, col, "missing input line: expected 'input HxWxC'");
    if (out->n_layers == 0)
        return fail(msg, msg_len, out->input_line, 1, "no layers after the input line");
    if (input_override) {
        if (input_override->c < 1 || input_override->h < 1 || input_override->w < 1)
            return fail(msg, msg_len, out->input_line, 1, "input override %dx%dx%d is invalid",
                        input_override->h, input_override->w, input_override->c);
        out->input = *input_override;
    }
    return check_shapes(&c, out);
}

enum ck_status ck_model_spec_load(const char *path, const struct ck_shape *input_override,
                                  struct ck_model_spec *out, char *msg, size_t msg_len)
{
    if (!path) {
        ck__msg(msg, msg_len, "no model file given");
        return CK_ERR_INVALID_ARGUMENT;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        ck__msg(msg, msg_len, "%s: %s", path, strerror(errno));
        return CK_ERR_IO;
    }
    enum ck_status st = CK_OK;
    const size_t cap = 1u << 20; /* a spec is a few hundred bytes; 1 MiB is plenty */
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return CK_ERR_OUT_OF_MEMORY;
    }
    size_t len = fread(buf, 1, cap + 1, f);
    if (ferror(f)) {
        ck__msg(msg, msg_len, "%s: read error", path);
        st = CK_ERR_IO;
    } else if (len > cap || memchr(buf, '\0', len)) {
        ck__msg(msg, msg_len, "%s: not a model spec (binary data or larger than 1 MiB)", path);
        st = CK_ERR_INVALID_ARGUMENT;
    } else {
        char why[300];
        buf[len] = '\0';
        st = ck_model_spec_parse(buf, input_override, out, why, sizeof why);
        if (st != CK_OK)
            ck__msg(msg, msg_len, "%s: %s", path, why);
    }
    free(buf);
    fclose(f);
    return st;
}

enum ck_status ck_model_spec_resolve(const char *arg, const struct ck_shape *input_override,
                                     struct ck_model_spec *out, char *msg, size_t msg_len)
{
    if (arg && !ck_model_preset(arg) && !strpbrk(arg, " \t\n;"))
        return ck_model_spec_load(arg, input_override, out, msg, msg_len);
    return ck_model_spec_parse(arg, input_override, out, msg, msg_len);
}

/* ---------------------------------------------------------------------------------- */
/* canonical text                                                                       */

static void fmt_padding(const struct ck_padding *pd, char *buf, size_t len)
{
    if (pd->mode == CK_PADDING_VALID)
        snprintf(buf, len, "valid");
    else if (pd->mode == CK_PADDING_SAME)
        snprintf(buf, len, "same");
    else
        snprintf(buf, len, "%d,%d,%d,%d", pd->top, pd->left, pd->bottom, pd->right);
}

enum ck_status ck_model_spec_format(const struct ck_model_spec *m, char *buf, size_t buf_len)
{
    if (!m || !buf || buf_len == 0)
        return CK_ERR_INVALID_ARGUMENT;
    size_t used = 0;
    int k = snprintf(buf, buf_len, "input %dx%dx%d\n", m->input.h, m->input.w, m->input.c);
    for (int i = 0; k >= 0 && (used += (size_t)k) < buf_len && i <= m->n_layers; i++) {
        if (i == m->n_layers)
            return CK_OK;
        const struct ck_layer_spec *s = &m->layers[i];
        char *o = buf + used;
        size_t room = buf_len - used;
        char pad[48];
        fmt_padding(&s->padding, pad, sizeof pad);
        switch (s->kind) {
        case CK_LAYER_CONV2D:
            k = snprintf(o, room,
                         "conv2d %d %dx%d stride=%d,%d padding=%s dilation=%d,%d groups=%d "
                         "activation=%s alpha=%.9g bias=%s%s%s\n",
                         s->units, s->kh, s->kw, s->stride_h, s->stride_w, pad, s->dilation_h,
                         s->dilation_w, s->groups, act_names[s->activation], s->alpha,
                         s->bias ? "true" : "false", s->backend[0] ? " backend=" : "", s->backend);
            break;
        case CK_LAYER_MAXPOOL2D:
        case CK_LAYER_AVGPOOL2D:
            k = snprintf(o, room, "%s %dx%d stride=%d,%d padding=%s\n", kind_names[s->kind], s->kh,
                         s->kw, s->stride_h, s->stride_w, pad);
            break;
        case CK_LAYER_LEAKY_RELU:
            k = snprintf(o, room, "leaky_relu alpha=%.9g\n", s->alpha);
            break;
        case CK_LAYER_DENSE:
            k = snprintf(o, room, "dense %d activation=%s alpha=%.9g bias=%s\n", s->units,
                         act_names[s->activation], s->alpha, s->bias ? "true" : "false");
            break;
        case CK_LAYER_DROPOUT:
            k = snprintf(o, room, "dropout %.9g\n", s->rate);
            break;
        default:
            k = snprintf(o, room, "%s\n", kind_names[s->kind]);
            break;
        }
    }
    return CK_ERR_INVALID_ARGUMENT;
}
