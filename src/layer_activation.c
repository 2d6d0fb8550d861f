/* layer_activation.c - element-wise activations: ReLU, leaky ReLU, sigmoid, tanh.
 *
 * The helpers ck__act_forward/ck__act_backward are also used for the activations fused
 * into conv2d and dense. Every derivative is computed from the OUTPUT y (relu: y > 0,
 * leaky: y > 0 ? 1 : alpha, sigmoid: y(1-y), tanh: 1-y^2), so no input copy is kept.
 * At x == 0 ReLU's derivative is taken as 0 (PyTorch's choice). NaN inputs stay NaN
 * (as in PyTorch), so a diverging net is seen at the loss. No parameters.
 */
#include <math.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

/* Overflow-free logistic function. */
static float sigmoidf(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* y[0..n) = act(x[0..n)) on one thread. */
static void act_forward_span(enum ck_activation act, float alpha, const float *x, float *y,
                             size_t n)
{
    switch (act) {
    case CK_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0.0f ? 0.0f : x[i]; /* NaN stays NaN */
        break;
    case CK_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = x[i] < 0.0f ? alpha * x[i] : x[i];
        break;
    case CK_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = sigmoidf(x[i]);
        break;
    case CK_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case CK_ACT_NONE:
    case CK_ACT_COUNT:
        if (x != y)
            memmove(y, x, n * sizeof *y);
        break;
    }
}

/* g[0..n) *= act'(from y[0..n)) on one thread. */
static void act_backward_span(enum ck_activation act, float alpha, const float *y, float *g,
                              size_t n)
{
    switch (act) {
    case CK_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : 0.0f;
        break;
    case CK_ACT_LEAKY_RELU: /* alpha >= 0, so y > 0 exactly when x > 0 */
        for (size_t i = 0; i < n; i++)
            g[i] = y[i] > 0.0f ? g[i] : alpha * g[i];
        break;
    case CK_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            g[i] *= y[i] * (1.0f - y[i]);
        break;
    case CK_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            g[i] *= 1.0f - y[i] * y[i];
        break;
    case CK_ACT_NONE:
    case CK_ACT_COUNT:
        break;
    }
}

/* span over [0, n) in blocks split among the threads. Element-wise, so nothing depends on
 * how many threads there are; small arrays stay on the calling thread. */
typedef void act_span_fn(enum ck_activation act, float alpha, const float *in, float *out,
                         size_t n);
enum { ACT_BLOCK = 16384 };

static void over_blocks(act_span_fn *span, enum ck_activation act, float alpha,
                        const float *in, float *out, size_t n)
{
    const long long nb = (long long)((n + ACT_BLOCK - 1) / ACT_BLOCK);
    #pragma omp parallel for schedule(static) if (nb >= 4)
    for (long long b = 0; b < nb; b++) {
        const size_t lo = (size_t)b * ACT_BLOCK;
        span(act, alpha, in + lo, out + lo, CK_MIN((size_t)ACT_BLOCK, n - lo));
    }
}

void ck__act_forward(enum ck_activation act, float alpha, const float *x, float *y, size_t n)
{
    over_blocks(act_forward_span, act, alpha, x, y, n);
}

void ck__act_backward(enum ck_activation act, float alpha, const float *y, float *g, size_t n)
{
    over_blocks(act_backward_span, act, alpha, y, g, n);
}

static enum ck_activation act_of(const struct ck_layer *l)
{
    switch (l->spec.kind) {
    case CK_LAYER_RELU:
        return CK_ACT_RELU;
    case CK_LAYER_LEAKY_RELU:
        return CK_ACT_LEAKY_RELU;
    case CK_LAYER_SIGMOID:
        return CK_ACT_SIGMOID;
    default:
        return CK_ACT_TANH;
    }
}

static enum ck_status act_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    ck__act_forward(act_of(l), l->spec.alpha, l->x, l->y,
                    (size_t)ctx->n * ck_shape_numel(l->out));
    return CK_OK;
}

/* dx = dy * f'(y) */
static enum ck_status act_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    if (!l->dx)
        return CK_OK;
    size_t n = (size_t)ctx->n * ck_shape_numel(l->out);
    memcpy(l->dx, l->dy, n * sizeof *l->dx);
    ck__act_backward(act_of(l), l->spec.alpha, l->y, l->dx, n);
    return CK_OK;
}

static double act_flops(const struct ck_layer *l)
{
    return (double)ck_shape_numel(l->out);
}

static const struct ck_layer_ops relu_ops = {
    .name = "relu", .forward = act_forward, .backward = act_backward, .flops = act_flops};
static const struct ck_layer_ops leaky_relu_ops = {
    .name = "leaky_relu", .forward = act_forward, .backward = act_backward, .flops = act_flops};
static const struct ck_layer_ops sigmoid_ops = {
    .name = "sigmoid", .forward = act_forward, .backward = act_backward, .flops = act_flops};
static const struct ck_layer_ops tanh_ops = {
    .name = "tanh", .forward = act_forward, .backward = act_backward, .flops = act_flops};

enum ck_status ck__layer_activation_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    (void)msg, (void)msg_len;
    static const struct ck_layer_ops *const ops[] = {&relu_ops, &leaky_relu_ops, &sigmoid_ops,
                                                     &tanh_ops};
    l->ops = ops[act_of(l) - CK_ACT_RELU];
    return CK_OK;
}
