/* layer_pool.c - MaxPool2D and AvgPool2D (window, stride, padding; no parameters).
 *
 * Padding never contributes: max pooling ignores padded cells (PyTorch pads with -inf)
 * and average pooling divides by the number of REAL input pixels in the window
 * (Keras/TensorFlow; PyTorch's default count_include_pad=True would divide by the
 * full window). Pads must be smaller than the window, so every window sees at least
 * one real pixel. Max-pool ties go to the first maximum in row-major window order, in
 * forward and backward alike; backward recomputes the argmax from x (no stored mask).
 * A 2x2 stride-2 max pool after a fused ReLU may get dx == x from the net: its forward
 * then applies the ReLU itself (the conv skips it in training) and its backward writes
 * the ReLU-masked gradient over x in place (layers.h, ck__pool_backward_in_place).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

enum ck_status ck__pool_geometry(const struct ck_layer_spec *s, int batch, struct ck_shape in,
                                 struct ck_conv_params *p, char *msg, size_t msg_len)
{
    ck_conv_params_init(p);
    p->N = batch;
    p->C = p->K = p->groups = in.c;
    p->H = in.h, p->W = in.w;
    p->R = s->kh, p->S = s->kw;
    p->stride_h = s->stride_h, p->stride_w = s->stride_w;
    if (ck_conv_apply_padding(p, &s->padding) != CK_OK) {
        ck__msg(msg, msg_len, "bad padding, window or stride");
        return CK_ERR_INVALID_ARGUMENT;
    }
    char why[200];
    if (ck_conv_check(p, why, sizeof why) != CK_OK) {
        ck__msg(msg, msg_len, "%s", strncmp(why, "conv: ", 6) == 0 ? why + 6 : why);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (p->pad_top >= p->R || p->pad_bottom >= p->R || p->pad_left >= p->S ||
        p->pad_right >= p->S) {
        ck__msg(msg, msg_len, "padding %d,%d,%d,%d must be smaller than the pool window %dx%d",
                p->pad_top, p->pad_left, p->pad_bottom, p->pad_right, p->R, p->S);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

/* Window of output (op, oq) clipped to the input: rows [h0, h1), cols [w0, w1). */
struct window {
    int h0, h1, w0, w1;
};

static struct window window_of(const struct ck_conv_params *p, int op, int oq)
{
    struct window w;
    w.h0 = op * p->stride_h - p->pad_top;
    w.w0 = oq * p->stride_w - p->pad_left;
    w.h1 = CK_MIN(w.h0 + p->R, p->H);
    w.w1 = CK_MIN(w.w0 + p->S, p->W);
    w.h0 = CK_MAX(w.h0, 0);
    w.w0 = CK_MAX(w.w0, 0);
    return w;
}

/* Index (in the H*W plane) of the first maximum of x_plane inside window w; the first
 * NaN wins over any number, so that NaN propagates as in PyTorch. */
static int argmax_in(const float *x_plane, int W, struct window w)
{
    int best = w.h0 * W + w.w0;
    float bv = x_plane[best];
    for (int h = w.h0; h < w.h1; h++) {
        for (int c = w.w0; c < w.w1; c++) {
            const float v = x_plane[h * W + c];
            if (v > bv || (isnan(v) && !isnan(bv))) {
                best = h * W + c;
                bv = v;
            }
        }
    }
    return best;
}

static const struct ck_conv_params *geom(const struct ck_layer *l)
{
    return (const struct ck_conv_params *)l->impl;
}

/* The 2x2 stride-2 max pool without padding (seed-cnn's pools) has its own loops: the
 * general window walk above cost 45% of a seed-cnn training step. Same tie and NaN
 * rules: index 0..3 (row-major in the window) of the first maximum of a, b, c, d. */
static int is_max2x2(const struct ck_conv_params *p, int is_max)
{
    return is_max && p->R == 2 && p->S == 2 && p->stride_h == 2 && p->stride_w == 2 &&
           p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
}

static int first_max4(float a, float b, float c, float d)
{
    int k = 0;
    float bv = a;
    if (b > bv || (isnan(b) && !isnan(bv)))
        k = 1, bv = b;
    if (c > bv || (isnan(c) && !isnan(bv)))
        k = 2, bv = c;
    if (d > bv || (isnan(d) && !isnan(bv)))
        k = 3;
    return k;
}

/* lo = 0: ck__act_forward's ReLU (v < 0 ? 0 : v; NaN stays NaN); lo = -inf: v itself.
 * One select, no branch (a branch on the ReLU flag made GCC branch per value). */
static float clamp_below(float lo, float v)
{
    return v < lo ? lo : v;
}

/* One (n, c) plane: x is (H,W), y is (P,Q) with 2P <= H, 2Q <= W. Branch-free for
 * data without NaN (an unpredictable branch per window was most of the time): with no
 * NaN, "b > m ? b : m" in window order is the first maximum. A plane that holds a NaN
 * is redone with first_max4. relu: the values pass through clamp_below(0, v) first
 * (the fused ReLU). */
static void max2x2_forward(const float *x, int W, float *y, int P, int Q, int relu)
{
    const float lo = relu ? 0.0f : -INFINITY;
    int nan = 0;
    for (int op = 0; op < P; op++) {
        const float *r0 = x + (size_t)2 * op * W, *r1 = r0 + W;
        float *yr = y + (size_t)op * Q;
        for (int oq = 0; oq < Q; oq++) {
            const float a = clamp_below(lo, r0[2 * oq]), b = clamp_below(lo, r0[2 * oq + 1]);
            const float c = clamp_below(lo, r1[2 * oq]), d = clamp_below(lo, r1[2 * oq + 1]);
            float m = a;
            m = b > m ? b : m;
            m = c > m ? c : m;
            m = d > m ? d : m;
            yr[oq] = m;
            nan |= (a != a) | (b != b) | (c != c) | (d != d);
        }
    }
    for (int op = 0; nan && op < P; op++) {
        const float *r0 = x + (size_t)2 * op * W, *r1 = r0 + W;
        for (int oq = 0; oq < Q; oq++) {
            const float v[4] = {clamp_below(lo, r0[2 * oq]), clamp_below(lo, r0[2 * oq + 1]),
                                clamp_below(lo, r1[2 * oq]), clamp_below(lo, r1[2 * oq + 1])};
            y[(size_t)op * Q + oq] = v[first_max4(v[0], v[1], v[2], v[3])];
        }
    }
}

/* Bit masks instead of float selects: GCC turned "e ? g : 0" into branches. */
static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* dx is (H,W): each window gets g at its first maximum and 0 elsewhere; rows and
 * columns no window covers (odd H or W) are zeroed. Without NaN the first maximum is
 * the first element equal to the window's maximum m (-0 == +0 ties go first, as in
 * first_max4); a row pair with a NaN takes first_max4 window by window. Every window
 * is read before it is written, so dx may be x: then (relu) the
 * gradient is ReLU-masked, x_k > 0 ? g : 0, as the ReLU's own backward would do. */
static void max2x2_backward(const float *x, int H, int W, const float *dy, float *dx, int P,
                            int Q, int relu)
{
    for (int op = 0; op < P; op++) {
        const float *r0 = x + (size_t)2 * op * W, *r1 = r0 + W;
        float *d0 = dx + (size_t)2 * op * W, *d1 = d0 + W;
        const float *gr = dy + (size_t)op * Q;
        int nan = 0;
        for (int w = 0; w < 2 * Q; w++)
            nan |= (r0[w] != r0[w]) | (r1[w] != r1[w]);
        for (int oq = 0; !nan && oq < Q; oq++) { /* branch-free */
            const float a = r0[2 * oq], b = r0[2 * oq + 1], c = r1[2 * oq], d = r1[2 * oq + 1];
            const float gv = gr[oq];
            float m = a;
            m = b > m ? b : m;
            m = c > m ? c : m;
            m = d > m ? d : m;
            const int e0 = a == m, e1 = !e0 & (b == m), e2 = !e0 & !e1 & (c == m);
            const int e3 = !e0 & !e1 & !e2;
            const uint32_t g = bits_of(gv) & -(uint32_t)(!relu | (m > 0.0f));
            d0[2 * oq] = float_of(g & -(uint32_t)e0);
            d0[2 * oq + 1] = float_of(g & -(uint32_t)e1);
            d1[2 * oq] = float_of(g & -(uint32_t)e2);
            d1[2 * oq + 1] = float_of(g & -(uint32_t)e3);
        }
        for (int oq = 0; nan && oq < Q; oq++) {
            const float v[4] = {r0[2 * oq], r0[2 * oq + 1], r1[2 * oq], r1[2 * oq + 1]};
            const int k = first_max4(v[0], v[1], v[2], v[3]);
            const float g = relu && !(v[k] > 0.0f) ? 0.0f : gr[oq];
            d0[2 * oq] = k == 0 ? g : 0.0f;
            d0[2 * oq + 1] = k == 1 ? g : 0.0f;
            d1[2 * oq] = k == 2 ? g : 0.0f;
            d1[2 * oq + 1] = k == 3 ? g : 0.0f;
        }
        for (int w = 2 * Q; w < W; w++)
            d0[w] = d1[w] = 0.0f;
    }
    if (2 * P < H)
        memset(dx + (size_t)2 * P * W, 0, sizeof(float) * (size_t)(H - 2 * P) * W);
}

int ck__pool_backward_in_place(const struct ck_layer *l)
{
    return l->spec.kind == CK_LAYER_MAXPOOL2D && is_max2x2(l->impl, 1);
}

/* x is (n,C,H,W), y is (n,C,P,Q); one (n, c) plane per iteration. */
static enum ck_status pool_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const struct ck_conv_params *p = geom(l);
    const int P = l->out.h, Q = l->out.w, is_max = l->spec.kind == CK_LAYER_MAXPOOL2D;
    const int planes = ctx->n * p->C, fast = is_max2x2(p, is_max);
    #pragma omp parallel for schedule(static)
    for (int nc = 0; nc < planes; nc++) {
        const float *x_nc = l->x + (size_t)nc * p->H * p->W;
        float *y_nc = l->y + (size_t)nc * P * Q;
        if (fast) {
            max2x2_forward(x_nc, p->W, y_nc, P, Q, l->dx == l->x);
            continue;
        }
        for (int op = 0; op < P; op++) {
            for (int oq = 0; oq < Q; oq++) {
                struct window w = window_of(p, op, oq);
                if (is_max) {
                    y_nc[op * Q + oq] = x_nc[argmax_in(x_nc, p->W, w)];
                    continue;
                }
                float sum = 0.0f;
                for (int h = w.h0; h < w.h1; h++)
                    for (int c = w.w0; c < w.w1; c++)
                        sum += x_nc[h * p->W + c];
                y_nc[op * Q + oq] = sum / (float)((w.h1 - w.h0) * (w.w1 - w.w0));
            }
        }
    }
    return CK_OK;
}

/* dx is (n,C,H,W): zeroed, then each dy is routed to its argmax (max) or spread evenly
 * over the real pixels of its window (avg). Planes are disjoint across threads. */
static enum ck_status pool_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    if (!l->dx)
        return CK_OK;
    const struct ck_conv_params *p = geom(l);
    const int P = l->out.h, Q = l->out.w, is_max = l->spec.kind == CK_LAYER_MAXPOOL2D;
    const int planes = ctx->n * p->C, fast = is_max2x2(p, is_max);
    #pragma omp parallel for schedule(static)
    for (int nc = 0; nc < planes; nc++) {
        const float *x_nc = l->x + (size_t)nc * p->H * p->W;
        const float *dy_nc = l->dy + (size_t)nc * P * Q;
        float *dx_nc = l->dx + (size_t)nc * p->H * p->W;
        if (fast) {
            max2x2_backward(x_nc, p->H, p->W, dy_nc, dx_nc, P, Q, dx_nc == x_nc);
            continue;
        }
        memset(dx_nc, 0, sizeof(float) * (size_t)p->H * p->W);
        for (int op = 0; op < P; op++) {
            for (int oq = 0; oq < Q; oq++) {
                struct window w = window_of(p, op, oq);
                const float g = dy_nc[op * Q + oq];
                if (is_max) {
                    dx_nc[argmax_in(x_nc, p->W, w)] += g;
                    continue;
                }
                const float share = g / (float)((w.h1 - w.h0) * (w.w1 - w.w0));
                for (int h = w.h0; h < w.h1; h++)
                    for (int c = w.w0; c < w.w1; c++)
                        dx_nc[h * p->W + c] += share;
            }
        }
    }
    return CK_OK;
}

/* One comparison or addition per window element. */
static double pool_flops(const struct ck_layer *l)
{
    return (double)ck_shape_numel(l->out) * l->spec.kh * l->spec.kw;
}

static void pool_destroy(struct ck_layer *l)
{
    free(l->impl);
}

static const struct ck_layer_ops maxpool_ops = {
    .name = "maxpool2d",
    .forward = pool_forward,
    .backward = pool_backward,
    .flops = pool_flops,
    .destroy = pool_destroy,
};

static const struct ck_layer_ops avgpool_ops = {
    .name = "avgpool2d",
    .forward = pool_forward,
    .backward = pool_backward,
    .flops = pool_flops,
    .destroy = pool_destroy,
};

enum ck_status ck__layer_pool_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    struct ck_conv_params *p = malloc(sizeof *p);
    if (!p)
        return CK_ERR_OUT_OF_MEMORY;
    enum ck_status st = ck__pool_geometry(&l->spec, l->batch, l->in, p, msg, msg_len);
    if (st != CK_OK) {
        free(p);
        return st;
    }
    l->impl = p;
    l->ops = l->spec.kind == CK_LAYER_MAXPOOL2D ? &maxpool_ops : &avgpool_ops;
    return CK_OK;
}
