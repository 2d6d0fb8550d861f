/* net.c - build a sequential net from a model spec; forward, backward, introspection.
 *
 * ck_net_build creates the layers (spec layers + the softmax_xent head), then makes
 * exactly five allocations: parameters, parameter gradients, activations, activation
 * gradients (each layer's slice starts on a 64-byte boundary, gaps stay zero; flatten
 * reuses its input's slice; output gradients take turns in two slots, except a
 * ReLU-conv's before a 2x2 max pool, which the pool writes over the conv's output) and the
 * workspace (max over layers). Layer i reads layer i-1's output and writes its input
 * gradient into layer i-1's output-gradient slice; layer 0 has no input gradient.
 * Training replicas (ck_net_build_replica) borrow the owner's arenas but the gradients.
 * Forward/backward only walk the layers: no allocation. Initialisation is init.c,
 * training/evaluation loops are train_step.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/net.h"
#include "internal.h"
#include "layers.h"

/* floats rounded up to a multiple of 16 (64 bytes) */
static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* Zeroed 64-byte aligned floats; *ok = 0 on failure (n == 0 gives NULL and ok). */
static float *zalloc_floats(size_t n, int *ok)
{
    if (n == 0)
        return NULL;
    float *p = ck_aligned_alloc(n * sizeof(float));
    if (!p)
        *ok = 0;
    else
        memset(p, 0, n * sizeof(float));
    return p;
}

static enum ck_status find_backend(const char *name, const struct ck_conv_backend **out,
                                   char *msg, size_t msg_len)
{
    *out = NULL;
    if (!name || !name[0] || strcmp(name, "auto") == 0)
        return CK_OK;
    *out = ck_backend_find(name);
    if (!*out) {
        char names[256];
        ck__msg(msg, msg_len, "unknown backend '%s' (known: %s)", name,
                ck_backend_names(names, sizeof names));
        return CK_ERR_INVALID_ARGUMENT;
    }
    return CK_OK;
}

static enum ck_status make_layers(struct ck_net *net, const struct ck_conv_backend *dflt,
                                  char *msg, size_t msg_len)
{
    const struct ck_model_spec *spec = &net->spec;
    struct ck_shape in = spec->input;
    for (int i = 0; i < net->n_layers; i++) {
        struct ck_layer_spec head = {.kind = CK_LAYER_SOFTMAX_XENT, .line = 0};
        const struct ck_layer_spec *ls = i < spec->n_layers ? &spec->layers[i] : &head;
        char why[300];
        enum ck_status st = ck_layer_create(ls, net->batch, in, dflt, &net->layers[i], why,
                                            sizeof why);
        if (st != CK_OK) {
            if (ls->line > 0)
                ck__msg(msg, msg_len, "line %d, column %d: %s: %s", ls->line, ls->column,
                        ck_layer_kind_name(ls->kind), why);
            else
                ck__msg(msg, msg_len, "%s: %s", ck_layer_kind_name(ls->kind), why);
            return st;
        }
        in = net->layers[i].out;
    }
    return CK_OK;
}

static size_t max_workspace(const struct ck_net *net)
{
    size_t ws = 0;
    for (int i = 0; i < net->n_layers; i++)
        ws = CK_MAX(ws, ck_layer_workspace_size(&net->layers[i]));
    return ws;
}

/* Layer i's output reuses its input's slice (no copy): flatten, except as the first
 * layer (its input is the caller's). */
static int reuses_input(const struct ck_net *net, int i)
{
    return i > 0 && net->layers[i].spec.kind == CK_LAYER_FLATTEN;
}

/* Layer i's output gradient lives in its own output slice: layer i+1 is a 2x2 stride-2
 * max pool right after i's fused ReLU, and the pool's backward writes the ReLU-masked
 * gradient over x in place (layer_pool.c; conv2d then skips its own mask because
 * dy == y). Saves the largest gradient buffer of a conv net. */
static int grad_in_output(const struct ck_net *net, int i)
{
    if (i + 1 >= net->n_layers)
        return 0;
    const struct ck_layer *l = &net->layers[i], *next = &net->layers[i + 1];
    return l->spec.kind == CK_LAYER_CONV2D && l->spec.activation == CK_ACT_RELU &&
           ck__pool_backward_in_place(next);
}

/* Lay out the arenas: outputs stacked in acts; output gradients alternate between two
 * slots of act_grads (layer i's backward reads its dy and writes layer i-1's, which is
 * in the other slot; a dy is dead once its layer's backward ran). A layer that reuses
 * its input shares the input's slice and slot. Offsets in floats, -1 slot: none.
 * Returns where slot 1 starts in act_grads. */
static size_t plan_arenas(struct ck_net *net, size_t *act_off, int *slot)
{
    size_t slot_len[2] = {0, 0};
    net->acts_len = 0;
    for (int i = 0; i < net->n_layers; i++) {
        const size_t len = round16((size_t)net->batch * ck_shape_numel(net->layers[i].out));
        if (reuses_input(net, i)) {
            act_off[i] = act_off[i - 1];
            slot[i] = slot[i - 1];
            continue;
        }
        act_off[i] = net->acts_len;
        net->acts_len += len;
        if (grad_in_output(net, i)) {
            slot[i] = -1;
            continue;
        }
        slot[i] = i > 0 && slot[i - 1] == 0 ? 1 : 0;
        slot_len[slot[i]] = CK_MAX(slot_len[slot[i]], len);
    }
    net->act_grads_len = slot_len[0] + slot_len[1];
    return slot_len[0];
}

/* Allocate the arenas (those not borrowed from owner) and point every layer into them. */
static enum ck_status make_arenas(struct ck_net *net, const struct ck_net *owner)
{
    size_t act_off[CK_MODEL_MAX_LAYERS + 1];
    int slot[CK_MODEL_MAX_LAYERS + 1];
    for (int i = 0; i < net->n_layers; i++) {
        net->params_len += round16(net->layers[i].n_params);
        net->n_params += net->layers[i].n_params;
    }
    const size_t slot1 = plan_arenas(net, act_off, slot);
    net->ws_size = max_workspace(net);
    int ok = 1;
    net->grads = zalloc_floats(net->params_len, &ok);
    if (net->borrows & CK_NET_BORROWS_PARAMS)
        net->params = owner->params;
    else
        net->params = zalloc_floats(net->params_len, &ok);
    if (net->borrows & CK_NET_BORROWS_BUFFERS) {
        net->acts = owner->acts;
        net->act_grads = owner->act_grads;
        net->ws = owner->ws;
        net->ws_size = owner->ws_size;
    } else {
        net->acts = zalloc_floats(net->acts_len, &ok);
        net->act_grads = zalloc_floats(net->act_grads_len, &ok);
        if (net->ws_size > 0 && !(net->ws = ck_aligned_alloc(net->ws_size)))
            ok = 0;
    }
    if (!ok)
        return CK_ERR_OUT_OF_MEMORY;
    size_t po = 0;
    for (int i = 0; i < net->n_layers; i++) {
        struct ck_layer *l = &net->layers[i];
        l->params = net->params + po;
        l->grads = net->grads + po;
        po += round16(l->n_params);
        l->y = net->acts + act_off[i];
        l->dy = slot[i] < 0 ? l->y : net->act_grads + (slot[i] ? slot1 : 0);
        l->x = i > 0 ? net->layers[i - 1].y : NULL;
        l->dx = i > 0 ? net->layers[i - 1].dy : NULL;
    }
    return CK_OK;
}

enum ck_status ck_net_build(const struct ck_model_spec *spec, int batch,
                            const char *default_backend, struct ck_net **out, char *msg,
                            size_t msg_len)
{
    if (out)
        *out = NULL;
    if (!spec || !out || batch < 1 || spec->n_layers < 1 ||
        spec->n_layers > CK_MODEL_MAX_LAYERS) {
        ck__msg(msg, msg_len, "net: need a parsed spec and a batch size >= 1 (got %d)", batch);
        return CK_ERR_INVALID_ARGUMENT;
    }
    const struct ck_conv_backend *dflt;
    enum ck_status st = find_backend(default_backend, &dflt, msg, msg_len);
    if (st != CK_OK)
        return st;
    struct ck_net *net = calloc(1, sizeof *net);
    if (!net)
        return CK_ERR_OUT_OF_MEMORY;
    net->spec = *spec;
    net->batch = batch;
    net->n_layers = spec->n_layers + 1;
    net->layers = calloc((size_t)net->n_layers, sizeof *net->layers);
    ck_rng_init(&net->dropout_rng, 0, CK_RNG_STREAM_DROPOUT);
    st = net->layers ? make_layers(net, dflt, msg, msg_len) : CK_ERR_OUT_OF_MEMORY;
    if (st == CK_OK)
        st = make_arenas(net, NULL);
    if (st != CK_OK) {
        if (st == CK_ERR_OUT_OF_MEMORY)
            ck__msg(msg, msg_len, "net: out of memory (batch %d)", batch);
        ck_net_free(net);
        return st;
    }
    net->classes = (int)ck_shape_numel(net->layers[spec->n_layers - 1].out);
    *out = net;
    return CK_OK;
}

void ck_net_free(struct ck_net *net)
{
    if (!net)
        return;
    for (int i = 0; net->layers && i < net->n_layers; i++)
        ck_layer_destroy(&net->layers[i]);
    free(net->layers);
    if (!(net->borrows & CK_NET_BORROWS_PARAMS))
        ck_aligned_free(net->params);
    ck_aligned_free(net->grads);
    if (!(net->borrows & CK_NET_BORROWS_BUFFERS)) {
        ck_aligned_free(net->acts);
        ck_aligned_free(net->act_grads);
        ck_aligned_free(net->ws);
    }
    free(net);
}

enum ck_status ck_net_forward(struct ck_net *net, const float *x, int n, const int *labels,
                              int training)
{
    if (!net || !x || n < 1 || n > net->batch)
        return CK_ERR_INVALID_ARGUMENT;
    struct ck_layer_ctx ctx = {.n = n, .training = training, .ws = net->ws,
                               .ws_size = net->ws_size, .rng = &net->dropout_rng,
                               .labels = labels};
    net->last_n = 0;
    net->layers[0].x = x;
    for (int i = 0; i < net->n_layers; i++) {
        enum ck_status st = net->layers[i].ops->forward(&net->layers[i], &ctx);
        if (st != CK_OK)
            return st;
    }
    net->last_n = n;
    net->last_labels = labels;
    net->loss = ctx.loss;
    net->correct = ctx.correct;
    return CK_OK;
}

enum ck_status ck_net_backward(struct ck_net *net)
{
    if (!net || net->last_n < 1 || !net->last_labels)
        return CK_ERR_INVALID_ARGUMENT;
    struct ck_layer_ctx ctx = {.n = net->last_n, .training = 1, .ws = net->ws,
                               .ws_size = net->ws_size, .rng = &net->dropout_rng,
                               .labels = net->last_labels};
    for (int i = net->n_layers - 1; i >= 0; i--) {
        enum ck_status st = net->layers[i].ops->backward(&net->layers[i], &ctx);
        if (st != CK_OK)
            return st;
    }
    return CK_OK;
}

const float *ck_net_output(const struct ck_net *net)
{
    return net ? net->layers[net->n_layers - 1].y : NULL;
}

size_t ck_net_param_count(const struct ck_net *net)
{
    return net ? net->n_params : 0;
}

size_t ck_net_param_tensor_count(const struct ck_net *net)
{
    size_t n = 0;
    for (int i = 0; net && i < net->n_layers; i++)
        n += ck_layer_param_count(&net->layers[i]);
    return n;
}

enum ck_status ck_net_param(const struct ck_net *net, size_t i, struct ck_param *out,
                            int *layer_index)
{
    for (int l = 0; net && out && l < net->n_layers; l++) {
        size_t k = ck_layer_param_count(&net->layers[l]);
        if (i < k) {
            ck_layer_param(&net->layers[l], i, out);
            if (layer_index)
                *layer_index = l;
            return CK_OK;
        }
        i -= k;
    }
    return CK_ERR_INVALID_ARGUMENT;
}

enum ck_status ck_net_layer_info(const struct ck_net *net, int i, struct ck_layer_info *out)
{
    if (!net || !out || i < 0 || i >= net->n_layers)
        return CK_ERR_INVALID_ARGUMENT;
    const struct ck_layer *l = &net->layers[i];
    const struct ck_conv_backend *b = ck_layer_backend(l);
    out->type = l->ops->name;
    out->out = l->out;
    out->params = l->n_params;
    out->flops = l->ops->flops ? l->ops->flops(l) : 0.0;
    out->backend = b ? b->name : NULL;
    out->activation = (l->spec.kind == CK_LAYER_CONV2D || l->spec.kind == CK_LAYER_DENSE)
                          ? l->spec.activation
                          : CK_ACT_NONE;
    return CK_OK;
}

enum ck_status ck_net_set_backend(struct ck_net *net, int layer_index, const char *name,
                                  char *msg, size_t msg_len)
{
    if (!net || layer_index < 0 || layer_index >= net->n_layers ||
        !ck_layer_conv_params(&net->layers[layer_index])) {
        ck__msg(msg, msg_len, "layer %d is not a conv2d layer", layer_index);
        return CK_ERR_INVALID_ARGUMENT;
    }
    struct ck_layer *l = &net->layers[layer_index];
    const struct ck_conv_backend *b, *old = ck_layer_backend(l);
    enum ck_status st = find_backend(name, &b, msg, msg_len);
    if (st != CK_OK)
        return st;
    if (!b && !(b = ck__default_backend(ck_layer_conv_params(l)))) {
        ck__msg(msg, msg_len, "no conv backend supports layer %d", layer_index);
        return CK_ERR_UNSUPPORTED;
    }
    if ((st = ck_layer_set_backend(l, b, msg, msg_len)) != CK_OK)
        return st;
    size_t need = max_workspace(net);
    if (need > net->ws_size && (net->borrows & CK_NET_BORROWS_BUFFERS)) {
        ck_layer_set_backend(l, old, NULL, 0);
        ck__msg(msg, msg_len, "layer %d: a replica cannot grow its owner's workspace",
                layer_index);
        return CK_ERR_INVALID_ARGUMENT;
    }
    if (need > net->ws_size) {
        void *ws = ck_aligned_alloc(need);
        if (!ws) {
            ck_layer_set_backend(l, old, NULL, 0);
            ck__msg(msg, msg_len, "out of memory for a %zu-byte workspace", need);
            return CK_ERR_OUT_OF_MEMORY;
        }
        ck_aligned_free(net->ws);
        net->ws = ws;
        net->ws_size = need;
    }
    /* keep the spec in step, so that a saved spec text names the backend in use */
    snprintf(l->spec.backend, sizeof l->spec.backend, "%s", b->name);
    if (layer_index < net->spec.n_layers)
        snprintf(net->spec.layers[layer_index].backend, CK_BACKEND_NAME_MAX, "%s", b->name);
    return CK_OK;
}

/* Added for data-parallel training (train.c): replicas read the owner's parameters. */
enum ck_status ck_net_share_params(struct ck_net *net, const struct ck_net *owner)
{
    if (!net || !owner || net == owner || net->n_layers != owner->n_layers ||
        net->params_len != owner->params_len)
        return CK_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < net->n_layers; i++)
        if (net->layers[i].n_params != owner->layers[i].n_params)
            return CK_ERR_INVALID_ARGUMENT;
    for (int i = 0; i < net->n_layers; i++)
        net->layers[i].params = owner->layers[i].params;
    if (!(net->borrows & CK_NET_BORROWS_PARAMS))
        ck_aligned_free(net->params);
    net->params = owner->params;
    net->borrows |= CK_NET_BORROWS_PARAMS; /* ck_net_free must not free owner's arena */
    return CK_OK;
}

enum ck_status ck_net_build_replica(const struct ck_net *owner, int share_buffers,
                                    struct ck_net **out, char *msg, size_t msg_len)
{
    if (out)
        *out = NULL;
    if (!owner || !out)
        return CK_ERR_INVALID_ARGUMENT;
    struct ck_net *net = calloc(1, sizeof *net);
    if (!net)
        return CK_ERR_OUT_OF_MEMORY;
    net->spec = owner->spec;
    net->batch = owner->batch;
    net->n_layers = owner->n_layers;
    net->dropout_rng = owner->dropout_rng;
    net->borrows = CK_NET_BORROWS_PARAMS | (share_buffers ? CK_NET_BORROWS_BUFFERS : 0);
    net->layers = calloc((size_t)net->n_layers, sizeof *net->layers);
    enum ck_status st = net->layers ? make_layers(net, NULL, msg, msg_len) : CK_ERR_OUT_OF_MEMORY;
    for (int i = 0; st == CK_OK && i < net->n_layers; i++) /* the owner's backends */
        if (ck_layer_backend(&owner->layers[i]))
            st = ck_layer_set_backend(&net->layers[i], ck_layer_backend(&owner->layers[i]),
                                      msg, msg_len);
    if (st == CK_OK)
        st = make_arenas(net, owner);
    if (st == CK_OK && (net->params_len != owner->params_len ||
                        (share_buffers && (net->acts_len != owner->acts_len ||
                                           net->act_grads_len != owner->act_grads_len ||
                                           max_workspace(net) > owner->ws_size)))) {
        ck__msg(msg, msg_len, "net: replica layout differs from its owner's");
        st = CK_ERR_INVALID_ARGUMENT;
    }
    if (st != CK_OK) {
        if (st == CK_ERR_OUT_OF_MEMORY)
            ck__msg(msg, msg_len, "net: out of memory for a replica (batch %d)", net->batch);
        ck_net_free(net);
        return st;
    }
    net->classes = owner->classes;
    *out = net;
    return CK_OK;
}
