/* layer_dense.c - Dense (fully connected) layer with optional fused activation.
 *
 * Parameters as PyTorch's nn.Linear: w[U][I] then bias[U]; y[n][u] = b[u] + w[u] . x[n].
 * Input must be flat (I = C, H = W = 1; the spec checker insists on `flatten` first).
 * The products run on the project's packed GEMM (gemm.h; its results are bit-identical
 * for any thread count; workspace from the net): y = x w^T, dw = dy^T x, dx = dy w.
 * (Changed from plain loops by the training helper: the scalar dot products were a
 * third of a seed-cnn training step.) Bias and its gradient are plain loops.
 */
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "internal.h"
#include "layers.h"

static int in_dim(const struct ck_layer *l)
{
    return (int)ck_shape_numel(l->in);
}

/* x is (n,I), w is (U,I), y is (n,U) */
static enum ck_status dense_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const int I = in_dim(l), U = l->spec.units, N = ctx->n;
    const float *w = l->params, *b = l->spec.bias ? l->params + (size_t)U * I : NULL;
    enum ck_status st = ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_TRANS, N, U, I, 1.0f, l->x, I, w, I,
                                 0.0f, l->y, U, ctx->ws, ctx->ws_size);
    if (st != CK_OK)
        return st;
    for (int n = 0; b && n < N; n++)
        for (int u = 0; u < U; u++)
            l->y[(size_t)n * U + u] += b[u];
    if (l->spec.activation != CK_ACT_NONE)
        ck__act_forward(l->spec.activation, l->spec.alpha, l->y, l->y, (size_t)N * U);
    return CK_OK;
}

/* dy is (n,U): dw[u][i] = sum_n dy[n][u] x[n][i], db[u] = sum_n dy[n][u],
 * dx[n][i] = sum_u dy[n][u] w[u][i]. */
static enum ck_status dense_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const int I = in_dim(l), U = l->spec.units, N = ctx->n;
    const float *w = l->params;
    float *dw = l->grads, *db = l->spec.bias ? l->grads + (size_t)U * I : NULL;
    if (l->spec.activation != CK_ACT_NONE)
        ck__act_backward(l->spec.activation, l->spec.alpha, l->y, l->dy, (size_t)N * U);
    enum ck_status st = ck_sgemm(CK_GEMM_TRANS, CK_GEMM_NOTRANS, U, I, N, 1.0f, l->dy, U, l->x,
                                 I, 0.0f, dw, I, ctx->ws, ctx->ws_size);
    if (st != CK_OK)
        return st;
    if (db) {
        for (int u = 0; u < U; u++)
            db[u] = 0.0f;
        for (int n = 0; n < N; n++)
            for (int u = 0; u < U; u++)
                db[u] += l->dy[(size_t)n * U + u];
    }
    if (!l->dx)
        return CK_OK;
    return ck_sgemm(CK_GEMM_NOTRANS, CK_GEMM_NOTRANS, N, I, U, 1.0f, l->dy, U, w, I, 0.0f,
                    l->dx, I, ctx->ws, ctx->ws_size);
}

/* The largest of the three GEMMs' workspaces for a full batch. */
static size_t dense_workspace_size(const struct ck_layer *l)
{
    const int I = in_dim(l), U = l->spec.units, N = l->batch;
    size_t a = ck_sgemm_workspace_size(N, U, I), b = ck_sgemm_workspace_size(U, I, N);
    size_t c = ck_sgemm_workspace_size(N, I, U);
    return CK_MAX(a, CK_MAX(b, c));
}

static size_t dense_param_count(const struct ck_layer *l)
{
    return l->spec.bias ? 2 : 1;
}

static void dense_param(const struct ck_layer *l, size_t i, struct ck_param *out)
{
    const int I = in_dim(l), U = l->spec.units;
    if (i == 0) {
        const int dims[2] = {U, I};
        ck__param_fill(l, out, "weight", 0, (size_t)U * I, 2, dims, I, U);
    } else {
        const int dims[1] = {U};
        ck__param_fill(l, out, "bias", (size_t)U * I, (size_t)U, 1, dims, 0, 0);
    }
}

static double dense_flops(const struct ck_layer *l)
{
    return 2.0 * in_dim(l) * l->spec.units;
}

static const struct ck_layer_ops dense_ops = {
    .name = "dense",
    .forward = dense_forward,
    .backward = dense_backward,
    .param_count = dense_param_count,
    .param = dense_param,
    .workspace_size = dense_workspace_size,
    .flops = dense_flops,
};

enum ck_status ck__layer_dense_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    (void)msg, (void)msg_len;
    l->ops = &dense_ops;
    l->n_params = (size_t)l->spec.units * in_dim(l) + (l->spec.bias ? (size_t)l->spec.units : 0);
    return CK_OK;
}
