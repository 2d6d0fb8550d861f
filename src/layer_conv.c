/* layer_conv.c - Conv2D layer: any conv backend from the registry, fused activation.
 *
 * Parameters: w[K][C/G][R][S] then bias[K] (if bias=true). Forward calls the layer's
 * backend (switchable after build, ck_layer_set_backend) and applies the activation in
 * place; backward turns dy into the pre-activation gradient in place (the activation
 * derivative is computed from y), then asks the backend for dw, db and dx.
 * The convolution arithmetic itself lives in the backends, never here.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "layers.h"

struct conv_impl {
    struct ck_conv_params p; /* N = layer batch */
    const struct ck_conv_backend *b;
};

enum ck_status ck__conv_geometry(const struct ck_layer_spec *s, int batch, struct ck_shape in,
                                 struct ck_conv_params *p, char *msg, size_t msg_len)
{
    ck_conv_params_init(p);
    p->N = batch;
    p->C = in.c, p->H = in.h, p->W = in.w;
    p->K = s->units, p->R = s->kh, p->S = s->kw;
    p->stride_h = s->stride_h, p->stride_w = s->stride_w;
    p->dilation_h = s->dilation_h, p->dilation_w = s->dilation_w;
    p->groups = s->groups;
    if (ck_conv_apply_padding(p, &s->padding) != CK_OK) {
        ck__msg(msg, msg_len, "bad padding, filter, stride or dilation");
        return CK_ERR_INVALID_ARGUMENT;
    }
    char why[200];
    if (ck_conv_check(p, why, sizeof why) != CK_OK) {
        /* drop the checker's own "conv: " prefix: callers name the layer */
        ck__msg(msg, msg_len, "%s", strncmp(why, "conv: ", 6) == 0 ? why + 6 : why);
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

static struct conv_impl *impl_of(const struct ck_layer *l)
{
    return (struct conv_impl *)l->impl;
}

/* x is (n,C,H,W), w is (K,C/G,R,S), y is (n,K,P,Q). */
static enum ck_status conv_forward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const struct conv_impl *c = impl_of(l);
    struct ck_conv_params p = c->p;
    p.N = ctx->n;
    const float *bias = l->spec.bias ? l->params + ck_conv_w_numel(&p) : NULL;
    enum ck_status st = ck_conv_forward(c->b, &p, l->x, l->params, bias, l->y, ctx->ws,
                                        ctx->ws_size);
    /* dy == y: a max pool follows that applies this ReLU in training (layers.h) */
    const int pool_applies = ctx->training && l->dy == l->y;
    if (st == CK_OK && l->spec.activation != CK_ACT_NONE && !pool_applies)
        ck__act_forward(l->spec.activation, l->spec.alpha, l->y, l->y,
                        (size_t)ctx->n * ck_shape_numel(l->out));
    return st;
}

static enum ck_status conv_backward(struct ck_layer *l, struct ck_layer_ctx *ctx)
{
    const struct conv_impl *c = impl_of(l);
    struct ck_conv_params p = c->p;
    p.N = ctx->n;
    if (l->spec.activation != CK_ACT_NONE && l->dy != l->y) /* dy == y: masked (layers.h) */
        ck__act_backward(l->spec.activation, l->spec.alpha, l->y, l->dy,
                         (size_t)ctx->n * ck_shape_numel(l->out));
    float *db = l->spec.bias ? l->grads + ck_conv_w_numel(&p) : NULL;
    enum ck_status st = ck_conv_backward_weights(c->b, &p, l->x, l->dy, l->grads, db, ctx->ws,
                                                 ctx->ws_size);
    if (st == CK_OK && l->dx)
        st = ck_conv_backward_data(c->b, &p, l->dy, l->params, l->dx, ctx->ws, ctx->ws_size);
    return st;
}

static size_t conv_param_count(const struct ck_layer *l)
{
    return l->spec.bias ? 2 : 1;
}

static void conv_param(const struct ck_layer *l, size_t i, struct ck_param *out)
{
    const struct ck_conv_params *p = &impl_of(l)->p;
    const int cg = p->C / p->groups;
    if (i == 0) {
        const int dims[4] = {p->K, cg, p->R, p->S};
        ck__param_fill(l, out, "weight", 0, ck_conv_w_numel(p), 4, dims, cg * p->R * p->S,
                       p->K * p->R * p->S);
    } else {
        const int dims[1] = {p->K};
        ck__param_fill(l, out, "bias", ck_conv_w_numel(p), (size_t)p->K, 1, dims, 0, 0);
    }
}

static size_t conv_workspace_size(const struct ck_layer *l)
{
    const struct conv_impl *c = impl_of(l);
    size_t ws = 0;
    for (int pass = 0; pass < CK_PASS_COUNT; pass++)
        ws = CK_MAX(ws, ck_conv_workspace_size(c->b, &c->p, (enum ck_conv_pass)pass));
    return ws;
}

static double conv_flops(const struct ck_layer *l)
{
    struct ck_conv_params p = impl_of(l)->p;
    p.N = 1;
    return ck_conv_flops(&p);
}

static void conv_destroy(struct ck_layer *l)
{
    free(l->impl);
}

static const struct ck_layer_ops conv_ops = {
    .name = "conv2d",
    .forward = conv_forward,
    .backward = conv_backward,
    .param_count = conv_param_count,
    .param = conv_param,
    .workspace_size = conv_workspace_size,
    .flops = conv_flops,
    .destroy = conv_destroy,
};

/* b must run all three passes of p on this CPU (training needs them all). */
static enum ck_status check_backend(const struct ck_conv_backend *b,
                                    const struct ck_conv_params *p, char *msg, size_t msg_len)
{
    for (int pass = 0; pass < CK_PASS_COUNT; pass++) {
        char why[200] = "";
        enum ck_status st = ck_backend_supports(b, p, (enum ck_conv_pass)pass, why, sizeof why);
        if (st != CK_OK) {
            ck__msg(msg, msg_len, "backend '%s' cannot run %s: %s", b->name,
                    ck_conv_pass_name((enum ck_conv_pass)pass), why);
            return st;
        }
    }
    return CK_OK;
}

enum ck_status ck__layer_conv_init(struct ck_layer *l, const struct ck_conv_backend *dflt,
                                   char *msg, size_t msg_len)
{
    struct conv_impl *c = calloc(1, sizeof *c);
    if (!c)
        return CK_ERR_OUT_OF_MEMORY;
    enum ck_status st = ck__conv_geometry(&l->spec, l->batch, l->in, &c->p, msg, msg_len);
    const char *name = l->spec.backend;
    if (st == CK_OK && name[0] && strcmp(name, "auto") != 0) {
        c->b = ck_backend_find(name);
        if (!c->b) {
            char names[256];
            ck__msg(msg, msg_len, "unknown backend '%s' (known: %s)", name,
                    ck_backend_names(names, sizeof names));
            st = CK_ERR_INVALID_ARGUMENT;
        }
    } else if (st == CK_OK) {
        c->b = dflt ? dflt : ck__default_backend(&c->p);
        if (!c->b) {
            ck__msg(msg, msg_len, "no conv backend supports this layer");
            st = CK_ERR_UNSUPPORTED;
        }
    }
    if (st == CK_OK)
        st = check_backend(c->b, &c->p, msg, msg_len);
    if (st != CK_OK) {
        free(c);
        return st;
    }
    l->impl = c;
    l->ops = &conv_ops;
    l->n_params = ck_conv_w_numel(&c->p) + (l->spec.bias ? (size_t)c->p.K : 0);
    return CK_OK;
}

const struct ck_conv_backend *ck_layer_backend(const struct ck_layer *l)
{
    return l && l->ops == &conv_ops ? impl_of(l)->b : NULL;
}

const struct ck_conv_params *ck_layer_conv_params(const struct ck_layer *l)
{
    return l && l->ops == &conv_ops ? &impl_of(l)->p : NULL;
}

enum ck_status ck_layer_set_backend(struct ck_layer *l, const struct ck_conv_backend *b,
                                    char *msg, size_t msg_len)
{
    if (!l || l->ops != &conv_ops || !b) {
        ck__msg(msg, msg_len, "not a conv2d layer, or no backend given");
        return CK_ERR_INVALID_ARGUMENT;
    }
    enum ck_status st = check_backend(b, &impl_of(l)->p, msg, msg_len);
    if (st == CK_OK)
        impl_of(l)->b = b;
    return st;
}
