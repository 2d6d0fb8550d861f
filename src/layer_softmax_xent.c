/* layer_softmax_xent.c - the loss head: softmax over each image's outputs, then mean
 * cross-entropy against integer labels.
 *
 * Forward writes the probabilities p = softmax(z) (max-subtracted, so exp never
 * overflows) and, given labels, loss = mean_n (log sum_j exp(z_j - m) + m - z_label),
 * computed from the logits so it stays finite even when p_label underflows to 0, and
 * the count of images whose first argmax equals the label. Backward (labels required):
 * dz = (p - onehot(label)) / n. No parameters. Not usable in the middle of a net.
 */
#include <math.h>

#include "internal.h"
#include "layers.h"

/* z is (n,K) logits, y is (n,K) probabilities. */
static enum ck_status xent_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const int K = (int)ck_shape_numel(l->in), N = ctx->n;
    if (ctx->labels)
        for (int n = 0; n < N; n++)
            if (ctx->labels[n] < 0 || ctx->labels[n] >= K)
                return CK_ERR_INVALID_ARGUMENT;
    double loss = 0.0;
    int correct = 0;
    for (int n = 0; n < N; n++) {
        const float *z = l->x + (size_t)n * K;
        float *p = l->y + (size_t)n * K;
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (z[k] > z[arg])
                arg = k;
        const float m = z[arg];
        double sum = 0.0;
        for (int k = 0; k < K; k++) {
            p[k] = expf(z[k] - m);
            sum += p[k];
        }
        const float inv = (float)(1.0 / sum);
        for (int k = 0; k < K; k++)
            p[k] *= inv;
        if (ctx->labels) {
            const int t = ctx->labels[n];
            loss += log(sum) + (double)m - (double)z[t];
            correct += arg == t;
        }
    }
    ctx->loss = ctx->labels ? loss / N : 0.0;
    ctx->correct = correct;
    return CK_OK;
}

static enum ck_status xent_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const int K = (int)ck_shape_numel(l->in), N = ctx->n;
    if (!ctx->labels)
        return CK_ERR_INVALID_ARGUMENT;
    if (!l->dx)
        return CK_OK;
    const float inv_n = 1.0f / (float)N;
    for (int n = 0; n < N; n++) {
        const float *p = l->y + (size_t)n * K;
        float *dz = l->dx + (size_t)n * K;
        for (int k = 0; k < K; k++)
            dz[k] = (p[k] - (k == ctx->labels[n] ? 1.0f : 0.0f)) * inv_n;
    }
    return CK_OK;
}

/* exp, sum and divide per logit, roughly. */
static double xent_flops(const struct ck_layer *l)
{
    return 3.0 * (double)ck_shape_numel(l->in);
}

static const struct ck_layer_ops xent_ops = {
    .name = "softmax_xent",
    .forward = xent_forward,
    .backward = xent_backward,
    .flops = xent_flops,
};

enum ck_status ck__layer_softmax_xent_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    (void)msg, (void)msg_len;
    l->ops = &xent_ops;
    return CK_OK;
}
