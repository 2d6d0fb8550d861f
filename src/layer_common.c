/* layer_common.c - what every layer kind shares: creation by kind, shape inference,
 * parameter descriptors, the default conv backend.
 *
 * The kind-specific work is in src/layer_<family>.c; this file only dispatches on
 * spec->kind. It allocates nothing itself (family inits may allocate their impl).
 */
#include <string.h>

#include "convkit/layer.h"
#include "internal.h"
#include "layers.h"

enum ck_status ck__layer_output_shape(const struct ck_layer_spec *s, struct ck_shape in,
                                      struct ck_shape *out, char *msg, size_t msg_len)
{
    struct ck_conv_params p;
    enum ck_status st = CK_OK;
    switch (s->kind) {
    case CK_LAYER_CONV2D:
    case CK_LAYER_MAXPOOL2D:
    case CK_LAYER_AVGPOOL2D:
        st = s->kind == CK_LAYER_CONV2D ? ck__conv_geometry(s, 1, in, &p, msg, msg_len)
                                        : ck__pool_geometry(s, 1, in, &p, msg, msg_len);
        if (st == CK_OK) {
            out->c = p.K;
            ck_conv_output_size(&p, &out->h, &out->w);
        }
        return st;
    case CK_LAYER_FLATTEN:
        *out = (struct ck_shape){(int)ck_shape_numel(in), 1, 1};
        return CK_OK;
    case CK_LAYER_DENSE:
        if (in.h != 1 || in.w != 1) {
            ck__msg(msg, msg_len,
                    "needs a flat input but gets %dx%dx%d: add 'flatten' before it", in.h,
                    in.w, in.c);
            return CK_ERR_INVALID_ARGUMENT;
        }
        if (s->units < 1) {
            ck__msg(msg, msg_len, "units must be >= 1 (got %d)", s->units);
            return CK_ERR_INVALID_ARGUMENT;
        }
        *out = (struct ck_shape){s->units, 1, 1};
        return CK_OK;
    case CK_LAYER_RELU:
    case CK_LAYER_LEAKY_RELU:
    case CK_LAYER_SIGMOID:
    case CK_LAYER_TANH:
    case CK_LAYER_DROPOUT:
    case CK_LAYER_SOFTMAX_XENT:
        *out = in;
        return CK_OK;
    case CK_LAYER_KIND_COUNT:
        break;
    }
    ck__msg(msg, msg_len, "unknown layer kind %d", (int)s->kind);
    return CK_ERR_INVALID_ARGUMENT;
}

enum ck_status ck_layer_create(const struct ck_layer_spec *spec, int batch, struct ck_shape in,
                               const struct ck_conv_backend *default_backend,
                               struct ck_layer *l, char *msg, size_t msg_len)
{
    if (!spec || !l || batch < 1 || in.c < 1 || in.h < 1 || in.w < 1) {
        ck__msg(msg, msg_len, "layer: bad arguments (batch %d, input %dx%dx%d)", batch, in.h,
                in.w, in.c);
        return CK_ERR_INVALID_ARGUMENT;
    }
    memset(l, 0, sizeof *l);
    l->spec = *spec;
    l->batch = batch;
    l->in = in;
    enum ck_status st = ck__layer_output_shape(spec, in, &l->out, msg, msg_len);
    if (st != CK_OK)
        return st;
    switch (spec->kind) {
    case CK_LAYER_CONV2D:
        return ck__layer_conv_init(l, default_backend, msg, msg_len);
    case CK_LAYER_MAXPOOL2D:
    case CK_LAYER_AVGPOOL2D:
        return ck__layer_pool_init(l, msg, msg_len);
    case CK_LAYER_RELU:
    case CK_LAYER_LEAKY_RELU:
    case CK_LAYER_SIGMOID:
    case CK_LAYER_TANH:
        return ck__layer_activation_init(l, msg, msg_len);
    case CK_LAYER_FLATTEN:
        return ck__layer_flatten_init(l, msg, msg_len);
    case CK_LAYER_DENSE:
        return ck__layer_dense_init(l, msg, msg_len);
    case CK_LAYER_DROPOUT:
        return ck__layer_dropout_init(l, msg, msg_len);
    case CK_LAYER_SOFTMAX_XENT:
        return ck__layer_softmax_xent_init(l, msg, msg_len);
    case CK_LAYER_KIND_COUNT:
        break;
    }
    return CK_ERR_INVALID_ARGUMENT;
}

void ck_layer_destroy(struct ck_layer *l)
{
    if (l && l->ops && l->ops->destroy)
        l->ops->destroy(l);
    if (l)
        l->impl = NULL;
}

size_t ck_layer_param_count(const struct ck_layer *l)
{
    return l->ops->param_count ? l->ops->param_count(l) : 0;
}

void ck_layer_param(const struct ck_layer *l, size_t i, struct ck_param *out)
{
    memset(out, 0, sizeof *out);
    if (i < ck_layer_param_count(l))
        l->ops->param(l, i, out);
}

size_t ck_layer_workspace_size(const struct ck_layer *l)
{
    return l->ops->workspace_size ? l->ops->workspace_size(l) : 0;
}

void ck__param_fill(const struct ck_layer *l, struct ck_param *out, const char *name,
                    size_t off, size_t numel, int ndim, const int *dims, int fan_in,
                    int fan_out)
{
    out->name = name;
    out->value = l->params ? l->params + off : NULL;
    out->grad = l->grads ? l->grads + off : NULL;
    out->numel = numel;
    out->ndim = ndim;
    for (int d = 0; d < 4; d++)
        out->dims[d] = d < ndim ? dims[d] : 1;
    out->fan_in = fan_in;
    out->fan_out = fan_out;
}

const struct ck_conv_backend *ck__default_backend(const struct ck_conv_params *p)
{
    /* `auto` picks per pass (wisdom, else heuristic); naive if auto cannot run it all */
    static const struct ck_conv_backend *const preference[] = {&ck_backend_auto,
                                                               &ck_backend_naive};
    for (size_t i = 0; i < CK_COUNT_OF(preference); i++) {
        const struct ck_conv_backend *b = preference[i];
        int ok = 1;
        for (int pass = 0; ok && pass < CK_PASS_COUNT; pass++)
            ok = ck_backend_supports(b, p, (enum ck_conv_pass)pass, NULL, 0) == CK_OK;
        if (ok)
            return b;
    }
    return NULL;
}
