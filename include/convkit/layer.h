/* layer.h - one layer of a net: a const ops table plus per-layer state.
 *
 * A layer maps x[n][in.c][in.h][in.w] to y[n][out.c][out.h][out.w] (float32, NCHW) for
 * 1 <= n <= batch images. It owns only a small impl struct (made by ck_layer_create);
 * activations, gradients, parameters and workspace are pointers into arenas owned by
 * the caller (ck_net_build carves them), so forward/backward never allocate.
 * Gradient convention: backward OVERWRITES dx and the parameter gradients (no
 * accumulation, so no zero_grad), and may overwrite dy (fused activations reuse it).
 * Layers with a parameter: conv2d (w[K][C/G][R][S], bias[K]), dense (w[U][in], bias[U]).
 */
#ifndef CONVKIT_LAYER_H
#define CONVKIT_LAYER_H

#include <stddef.h>

#include "convkit/backend.h"
#include "convkit/model.h"
#include "convkit/rng.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What one forward/backward call needs besides the layer's own buffers. */
struct ck_layer_ctx {
    int n;              /**< images in this call, 1 <= n <= layer batch */
    int training;       /**< 1: dropout active; 0: inference */
    void *ws;           /**< shared workspace, 64-byte aligned */
    size_t ws_size;     /**< its size in bytes (>= every layer's workspace_size) */
    struct ck_rng *rng; /**< dropout stream; dropout advances counter by n*numel */
    const int *labels;  /**< softmax_xent: n labels in [0, classes), or NULL (no loss) */
    double loss;        /**< out (softmax_xent forward with labels): mean cross-entropy */
    int correct;        /**< out (same): images whose argmax equals the label */
};

/** One parameter tensor of a layer, for optimisers, initialisers and checkpoints. */
struct ck_param {
    const char *name; /**< "weight" or "bias" */
    float *value;     /**< numel floats inside the layer's params block */
    float *grad;      /**< matching gradient */
    size_t numel;
    int ndim;         /**< 1 (bias), 2 (dense weight) or 4 (conv weight) */
    int dims[4];      /**< PyTorch shape: conv (K, C/G, R, S), dense (U, in), bias (K) */
    int fan_in, fan_out; /**< as torch.nn.init computes them (weights only) */
};

struct ck_layer;

/** The interface every layer kind implements (one static const table per file). */
struct ck_layer_ops {
    const char *name; /**< spec word, e.g. "conv2d" */
    /** y = f(x) for ctx->n images. */
    enum ck_status (*forward)(struct ck_layer *l, struct ck_layer_ctx *ctx);
    /** From dy (and x, y): dx (skipped if l->dx is NULL) and parameter gradients. */
    enum ck_status (*backward)(struct ck_layer *l, struct ck_layer_ctx *ctx);
    /** Number of parameter tensors (0, 1 or 2); optional (NULL means 0). */
    size_t (*param_count)(const struct ck_layer *l);
    /** Describe tensor i < param_count; pointers are valid once l->params is set. */
    void (*param)(const struct ck_layer *l, size_t i, struct ck_param *out);
    /** Workspace bytes needed for a full batch; optional (NULL means 0). */
    size_t (*workspace_size)(const struct ck_layer *l);
    /** Forward FLOPs for ONE image (a multiply-add counts 2). */
    double (*flops)(const struct ck_layer *l);
    /** Free impl; optional. */
    void (*destroy)(struct ck_layer *l);
};

/** A layer instance. Buffers are set by the owner (the net) after ck_layer_create. */
struct ck_layer {
    const struct ck_layer_ops *ops;
    struct ck_layer_spec spec; /**< the spec line it was built from */
    int batch;                 /**< maximum images per call */
    struct ck_shape in, out;   /**< per-image shapes */
    size_t n_params;           /**< floats in params (and grads); 0 for most layers */
    const float *x;            /**< input, batch * numel(in) */
    float *y;                  /**< output, batch * numel(out) */
    float *dx;                 /**< input gradient, or NULL (first layer of a net) */
    float *dy;                 /**< output gradient (unused by softmax_xent) */
    float *params, *grads;     /**< n_params floats each: [weight][bias] */
    void *impl;                /**< kind-specific state (e.g. conv params + backend) */
};

/**
 * @brief Make layer l from spec for input shape in and up to batch images.
 * Checks the shape rules (model.h) and, for conv2d, the backend: spec->backend, else
 * default_backend, else the library default (see ck_net_build); it must support all
 * three passes. Buffers are left NULL.
 * @return CK_OK, CK_ERR_INVALID_ARGUMENT (bad shape/unknown backend), CK_ERR_UNSUPPORTED
 *         (backend cannot run this conv), CK_ERR_OUT_OF_MEMORY; one line in msg.
 */
enum ck_status ck_layer_create(const struct ck_layer_spec *spec, int batch, struct ck_shape in,
                               const struct ck_conv_backend *default_backend,
                               struct ck_layer *l, char *msg, size_t msg_len);
/** @brief Free what ck_layer_create allocated (not the buffers). Safe on a zeroed layer. */
void ck_layer_destroy(struct ck_layer *l);

/** @brief Number of parameter tensors of l. */
size_t ck_layer_param_count(const struct ck_layer *l);
/** @brief Parameter tensor i of l (see struct ck_param). */
void ck_layer_param(const struct ck_layer *l, size_t i, struct ck_param *out);
/** @brief Workspace bytes l needs for a full batch. */
size_t ck_layer_workspace_size(const struct ck_layer *l);

/** @brief The conv backend of a conv2d layer (NULL for other kinds). */
const struct ck_conv_backend *ck_layer_backend(const struct ck_layer *l);
/** @brief The conv geometry of a conv2d layer with N = batch (NULL for other kinds). */
const struct ck_conv_params *ck_layer_conv_params(const struct ck_layer *l);
/**
 * @brief Switch a conv2d layer to backend b (checks all three passes). The caller must
 * then provide a workspace of ck_layer_workspace_size(l) bytes (ck_net_set_backend does).
 */
enum ck_status ck_layer_set_backend(struct ck_layer *l, const struct ck_conv_backend *b,
                                    char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif
#endif
