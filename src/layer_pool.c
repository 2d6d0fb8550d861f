/* layer_pool.c - MaxPool2D and AvgPool2D (window, stride, padding; no parameters).
 *
 * Padding never contributes: max pooling ignores padded cells (PyTorch pads with -inf)
 * and average pooling divides by the number of REAL input pixels in the window
 * (Keras/TensorFlow; PyTorch's default count_include_pad=True would divide by the
 * full window). Pads must be smaller than the window, so every window sees at least
 * one real pixel. Max-pool ties go to the first maximum in row-major window order, in
 * forward and backward alike; backward recomputes the argmax from x (no stored mask).
 */
#include <math.h>
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

/* x is (n,C,H,W), y is (n,C,P,Q); one (n, c) plane per iteration. */
static enum ck_status pool_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const struct ck_conv_params *p = geom(l);
    const int P = l->out.h, Q = l->out.w, is_max = l->spec.kind == CK_LAYER_MAXPOOL2D;
    const int planes = ctx->n * p->C;
    #pragma omp parallel for schedule(static)
    for (int nc = 0; nc < planes; nc++) {
        const float *x_nc = l->x + (size_t)nc * p->H * p->W;
        float *y_nc = l->y + (size_t)nc * P * Q;
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
    const int planes = ctx->n * p->C;
    #pragma omp parallel for schedule(static)
    for (int nc = 0; nc < planes; nc++) {
        const float *x_nc = l->x + (size_t)nc * p->H * p->W;
        const float *dy_nc = l->dy + (size_t)nc * P * Q;
        float *dx_nc = l->dx + (size_t)nc * p->H * p->W;
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
