/* layer_dense.c - Dense (fully connected) layer with optional fused activation.
 *
 * Parameters as PyTorch's nn.Linear: w[U][I] then bias[U]; y[n][u] = b[u] + w[u] . x[n].
 * Input must be flat (I = C, H = W = 1; the spec checker insists on `flatten` first).
 * Plain loops over contiguous rows (the compiler vectorises the dot products and
 * axpys); a packed GEMM replaces them later. Each OpenMP thread owns whole output rows,
 * so results are bit-identical for any thread count.
 */
#include <stdlib.h>
#include <string.h>

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
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *x_n = l->x + (size_t)n * I;
        for (int u = 0; u < U; u++) {
            const float *w_u = w + (size_t)u * I;
            float acc = 0.0f;
            for (int i = 0; i < I; i++)
                acc += w_u[i] * x_n[i];
            l->y[(size_t)n * U + u] = acc + (b ? b[u] : 0.0f);
        }
    }
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
    #pragma omp parallel for schedule(static)
    for (int u = 0; u < U; u++) {
        float *dw_u = dw + (size_t)u * I;
        float bsum = 0.0f;
        memset(dw_u, 0, sizeof(float) * (size_t)I);
        for (int n = 0; n < N; n++) {
            const float g = l->dy[(size_t)n * U + u];
            const float *x_n = l->x + (size_t)n * I;
            bsum += g;
            for (int i = 0; i < I; i++)
                dw_u[i] += g * x_n[i];
        }
        if (db)
            db[u] = bsum;
    }
    if (!l->dx)
        return CK_OK;
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *dx_n = l->dx + (size_t)n * I;
        memset(dx_n, 0, sizeof(float) * (size_t)I);
        for (int u = 0; u < U; u++) {
            const float g = l->dy[(size_t)n * U + u];
            const float *w_u = w + (size_t)u * I;
            for (int i = 0; i < I; i++)
                dx_n[i] += g * w_u[i];
        }
    }
    return CK_OK;
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
    .flops = dense_flops,
};

enum ck_status ck__layer_dense_init(struct ck_layer *l, char *msg, size_t msg_len)
{
    (void)msg, (void)msg_len;
    l->ops = &dense_ops;
    l->n_params = (size_t)l->spec.units * in_dim(l) + (l->spec.bias ? (size_t)l->spec.units : 0);
    return CK_OK;
}
