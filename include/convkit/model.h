/* model.h - model specs: a network described in Keras words, parsed and shape-checked.
 *
 * Grammar (one layer per line or ';'-separated, '#' starts a comment, blank lines ok):
 *   input HxWxC                              must come first, exactly once
 *   conv2d K RxS [stride=S|SH,SW] [padding=valid|same|P|T,L,B,R] [dilation=D|DH,DW]
 *          [groups=G] [activation=A] [alpha=F] [backend=NAME] [bias=true|false]
 *   maxpool2d [PxQ] [stride=S|SH,SW] [padding=...]   (pool 2x2 and stride = pool if omitted)
 *   avgpool2d [PxQ] [stride=...] [padding=...]       (padded zeros are NOT counted: Keras)
 *   relu | sigmoid | tanh | leaky_relu [alpha=0.01] | flatten | dropout RATE
 *   dense U [activation=A] [alpha=F] [bias=true|false]
 * Sizes are "KxK", "RxS" or a single "K". A = relu | leaky_relu | sigmoid | tanh | none.
 * Rules checked with the shapes: dense needs a flat input, H = W = 1 (put `flatten`
 * before it: dense never flattens implicitly, so Keras' and PyTorch's different
 * meanings of dense-on-an-image cannot be confused); flatten makes (C*H*W) x 1 x 1;
 * every filter/pool window fits its padded input; pool padding < pool size.
 * Every net built from a spec ends with an implicit softmax + cross-entropy head over
 * the last layer's outputs (so `dense 10` last means 10 classes).
 * This header parses and describes; building a runnable net is net.h.
 */
#ifndef CONVKIT_MODEL_H
#define CONVKIT_MODEL_H

#include <stddef.h>

#include "convkit/conv.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_MODEL_MAX_LAYERS 64 /**< layers after the input line */
#define CK_BACKEND_NAME_MAX 24 /**< bytes for a backend name, with the NUL */

/** Per-image tensor shape (c, h, w): NCHW without N. A flat vector is (n, 1, 1). */
struct ck_shape {
    int c, h, w;
};

/** Layer kinds. CK_LAYER_SOFTMAX_XENT is never written in a spec: nets append it. */
enum ck_layer_kind {
    CK_LAYER_CONV2D = 0,
    CK_LAYER_MAXPOOL2D,
    CK_LAYER_AVGPOOL2D,
    CK_LAYER_RELU,
    CK_LAYER_LEAKY_RELU,
    CK_LAYER_SIGMOID,
    CK_LAYER_TANH,
    CK_LAYER_FLATTEN,
    CK_LAYER_DENSE,
    CK_LAYER_DROPOUT,
    CK_LAYER_SOFTMAX_XENT,
    CK_LAYER_KIND_COUNT
};

/** Activations that conv2d and dense can apply to their output (fused). */
enum ck_activation {
    CK_ACT_NONE = 0,
    CK_ACT_RELU,
    CK_ACT_LEAKY_RELU, /**< y = x > 0 ? x : alpha * x, alpha >= 0 */
    CK_ACT_SIGMOID,
    CK_ACT_TANH,
    CK_ACT_COUNT
};

/** One parsed layer line. Fields not used by a kind keep their defaults. */
struct ck_layer_spec {
    enum ck_layer_kind kind;
    int line, column;          /**< position of the layer word in the spec text (1-based) */
    int units;                 /**< conv2d filters K, dense units U */
    int kh, kw;                /**< conv filter R x S, pool window */
    int stride_h, stride_w;    /**< conv default 1; pool default = window */
    struct ck_padding padding; /**< default valid */
    int dilation_h, dilation_w; /**< default 1 */
    int groups;                /**< default 1 */
    enum ck_activation activation; /**< fused activation (conv2d, dense) */
    float alpha;               /**< leaky ReLU slope, default 0.01 */
    float rate;                /**< dropout rate in [0, 1) */
    int bias;                  /**< conv2d/dense: 1 (default) or 0 */
    char backend[CK_BACKEND_NAME_MAX]; /**< conv2d backend name, "" = net default */
};

/** A parsed, shape-checked model. Plain data: copy it freely. */
struct ck_model_spec {
    struct ck_shape input;    /**< from `input HxWxC` (or the override) */
    int input_line;           /**< line of the input statement */
    int n_layers;             /**< layers after input, 1..CK_MODEL_MAX_LAYERS */
    struct ck_layer_spec layers[CK_MODEL_MAX_LAYERS];
    struct ck_shape shapes[CK_MODEL_MAX_LAYERS]; /**< output shape of each layer */
};

/** @brief Text of a preset ("seed-cnn"), or NULL if name is not a preset. */
const char *ck_model_preset(const char *name);
/** @brief Names of all presets, ", "-separated, into buf. Returns buf. */
const char *ck_model_preset_names(char *buf, size_t buf_len);

/**
 * @brief Parse and shape-check a spec (or a preset name such as "seed-cnn").
 * @param input_override if not NULL, replaces the shape on the spec's input line
 *        (e.g. seed-cnn on 28x28x1 Fashion-MNIST); shapes are checked with it.
 * @return CK_OK; CK_ERR_INVALID_ARGUMENT with "line L, column C: what is wrong" in msg.
 */
enum ck_status ck_model_spec_parse(const char *text, const struct ck_shape *input_override,
                                   struct ck_model_spec *out, char *msg, size_t msg_len);

/**
 * @brief Read a spec file and parse it (as ck_model_spec_parse).
 * @return CK_ERR_IO ("PATH: No such file ...") if it cannot be read; parse errors are
 *         CK_ERR_INVALID_ARGUMENT prefixed with "PATH: ".
 */
enum ck_status ck_model_spec_load(const char *path, const struct ck_shape *input_override,
                                  struct ck_model_spec *out, char *msg, size_t msg_len);

/**
 * @brief The CLI's --model argument: a preset name, spec text (anything containing a
 * space, ';' or newline) or else a file path.
 */
enum ck_status ck_model_spec_resolve(const char *arg, const struct ck_shape *input_override,
                                     struct ck_model_spec *out, char *msg, size_t msg_len);

/**
 * @brief Canonical spec text (one layer per line, every option spelled out) that
 * parses back to the same spec; for checkpoints and logs.
 * @return CK_ERR_INVALID_ARGUMENT if buf is too small (buf then holds a prefix).
 */
enum ck_status ck_model_spec_format(const struct ck_model_spec *spec, char *buf,
                                    size_t buf_len);

/** @brief Spec word of a kind ("conv2d", ..., "softmax_xent"). */
const char *ck_layer_kind_name(enum ck_layer_kind kind);
/** @brief Spec word of an activation ("none", "relu", ...). */
const char *ck_activation_name(enum ck_activation act);
/** @brief c*h*w. */
size_t ck_shape_numel(struct ck_shape s);

#ifdef __cplusplus
}
#endif
#endif
