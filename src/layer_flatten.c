/* layer_flatten.c - Flatten: (C, H, W) per image becomes (C*H*W, 1, 1), NCHW order kept
 * (PyTorch's torch.flatten(x, 1); Keras flattens NHWC, so its dense weights differ by a
 * permutation). A copy, or nothing when y is x; no parameters. */
#include <string.h>

#include "layers.h"

/* The net points y at x (and dx at dy) unless flatten is its first layer: no copy. */
static enum ck_status flatten_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    if (l->y != l->x)
        memcpy(l->y, l->x, (size_t)ctx->n * ck_shape_numel(l->out) * sizeof *l->y);
    return CK_OK;
}

static enum ck_status flatten_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    if (l->dx && l->dx != l->dy)
        memcpy(l->dx, l->dy, (size_t)ctx->n * ck_shape_numel(l->out) * sizeof *l->dx);
    return CK_OK;
}

static double flatten_flops(const struct ck_layer *l)
{
    (void)l;
    return 0.0;
}

static const struct ck_layer_ops flatten_ops = {
    .name = "flatten",
    .forward = flatten_forward,
    .backward = flatten_backward,
    .flops = flatten_flops,
};

enum ck_status ck__layer_flatten_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    (void)msg, (void)msg_len;
    l->ops = &flatten_ops;
    return CK_OK;
}
