/* layer_dropout.c - inverted dropout: in training y = x * keep / (1 - rate), identity at
 * inference (so no rescaling is needed there).
 *
 * keep_i = (uniform of draw base+i of the dropout stream) >= rate, where base is the
 * stream's counter when the forward starts; the forward advances the counter by the
 * number of elements. Backward regenerates the same mask from base (counter-based RNG),
 * so no mask is stored and results do not depend on the thread count.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

struct dropout_impl {
    struct ck_rng at;  /* seed, stream and base counter of the last training forward */
    int trained;       /* 1 if the last forward applied a mask */
};

/* out[i] = keep_i ? in[i] * scale : 0 over n elements from draw r->counter on. */
static void apply_mask(const struct ck_rng *r, float rate, const float *in, float *out,
                       size_t n)
{
    const float scale = 1.0f / (1.0f - rate);
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float u = ck_rng_unit_float(ck_rng_hash(r->seed, r->stream, r->counter + i));
        out[i] = u >= rate ? in[i] * scale : 0.0f;
    }
}

static enum ck_status dropout_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    struct dropout_impl *d = l->impl;
    size_t n = (size_t)ctx->n * ck_shape_numel(l->out);
    d->trained = ctx->training && l->spec.rate > 0.0f;
    if (!d->trained) {
        memcpy(l->y, l->x, n * sizeof *l->y);
        return CK_OK;
    }
    if (!ctx->rng)
        return CK_ERR_INVALID_ARGUMENT;
    d->at = *ctx->rng;
    ctx->rng->counter += n;
    apply_mask(&d->at, l->spec.rate, l->x, l->y, n);
    return CK_OK;
}

static enum ck_status dropout_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const struct dropout_impl *d = l->impl;
    size_t n = (size_t)ctx->n * ck_shape_numel(l->out);
    if (!l->dx)
        return CK_OK;
    if (d->trained)
        apply_mask(&d->at, l->spec.rate, l->dy, l->dx, n);
    else
        memcpy(l->dx, l->dy, n * sizeof *l->dx);
    return CK_OK;
}

static double dropout_flops(const struct ck_layer *l)
{
    (void)l;
    return 0.0; /* identity at inference */
}

static void dropout_destroy(struct ck_layer *l)
{
    free(l->impl);
}

static const struct ck_layer_ops dropout_ops = {
    .name = "dropout",
    .forward = dropout_forward,
    .backward = dropout_backward,
    .flops = dropout_flops,
    .destroy = dropout_destroy,
};

enum ck_status ck__layer_dropout_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    if (!(l->spec.rate >= 0.0f && l->spec.rate < 1.0f)) {
        ck__msg(msg, msg_len, "dropout rate must be in [0, 1) (got %g)", (double)l->spec.rate);
        return CK_ERR_INVALID_ARGUMENT;
    }
    l->impl = calloc(1, sizeof(struct dropout_impl));
    if (!l->impl)
        return CK_ERR_OUT_OF_MEMORY;
    l->ops = &dropout_ops;
    return CK_OK;
}
