/* net.h - a sequential network built from a model spec, plus training helpers.
 *
 * ck_net_build allocates everything once: one arena each for parameters, parameter
 * gradients, activations, activation gradients, and one workspace sized for the
 * hungriest layer; forward, backward, optimiser steps, ck_train_step and ck_evaluate
 * never allocate. The net is the spec's layers followed by a softmax + cross-entropy
 * head; its output is the class probabilities. Single-threaded driver: layers and conv
 * backends may use OpenMP inside, deterministically.
 * Not here: data loading, epochs, schedules, checkpoints (see the training loop).
 */
#ifndef CONVKIT_NET_H
#define CONVKIT_NET_H

#include <stddef.h>

#include "convkit/layer.h"
#include "convkit/model.h"
#include "convkit/rng.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ck_optim;

/** A built net. Fields are readable; change them only through the functions below. */
struct ck_net {
    struct ck_model_spec spec;
    int batch;                 /**< images per full forward */
    int n_layers;              /**< spec.n_layers + 1 (the softmax_xent head) */
    struct ck_layer *layers;   /**< n_layers layers */
    size_t n_params;           /**< real parameter count (the summary's total) */
    size_t params_len;         /**< floats in params/grads incl. 64-byte alignment gaps
                                    (kept zero); optimisers walk all params_len */
    float *params, *grads;     /**< parameter and gradient arenas */
    float *acts, *act_grads;   /**< activation and activation-gradient arenas */
    size_t acts_len;           /**< floats in acts (flatten layers reuse their input's
                                    slice: no copy) */
    size_t act_grads_len;      /**< floats in act_grads: two slots that layers take in
                                    turn (a layer's dy is dead once its backward ran) */
    int borrows;               /**< CK_NET_BORROWS_*: arenas that belong to another net */
    void *ws;                  /**< shared workspace (64-byte aligned) */
    size_t ws_size;            /**< bytes */
    struct ck_rng dropout_rng; /**< stream CK_RNG_STREAM_DROPOUT of the init seed */
    int classes;               /**< outputs per image of the last spec layer */
    int last_n;                /**< images in the last forward */
    const int *last_labels;    /**< labels of the last forward (borrowed) */
    double loss;               /**< mean cross-entropy of the last forward with labels */
    int correct;               /**< correct argmax predictions of that forward */
};

/** Bits of ck_net.borrows (training replicas, ck_net_build_replica). */
enum {
    CK_NET_BORROWS_PARAMS = 1,  /**< params are the owner's */
    CK_NET_BORROWS_BUFFERS = 2, /**< acts, act_grads and workspace are the owner's */
};

/** Per-layer facts for `convkit summary`. */
struct ck_layer_info {
    const char *type;        /**< "conv2d", "maxpool2d", ... */
    struct ck_shape out;     /**< per-image output shape */
    size_t params;           /**< parameter count */
    double flops;            /**< forward FLOPs per image (multiply-add = 2) */
    const char *backend;     /**< conv2d: backend name; else NULL */
    enum ck_activation activation; /**< fused activation (conv2d, dense) */
};

/**
 * @brief Build a net for up to batch images per forward.
 * @param default_backend conv backend for layers without backend=, by name ("auto" or
 *        NULL: the library's choice, the first of im2col, naive that supports the layer).
 * Parameters start at zero: call ck_net_init_params. Dropout is seeded 0 until then.
 * @return CK_OK; CK_ERR_INVALID_ARGUMENT (batch < 1, unknown backend: msg lists the
 *         known names; "line L, column C:" for a layer problem), CK_ERR_UNSUPPORTED,
 *         CK_ERR_OUT_OF_MEMORY. On failure *out is NULL.
 */
enum ck_status ck_net_build(const struct ck_model_spec *spec, int batch,
                            const char *default_backend, struct ck_net **out, char *msg,
                            size_t msg_len);
/** @brief Free a net and its arenas (NULL is fine). */
void ck_net_free(struct ck_net *net);

/**
 * @brief Data-parallel replicas (added for the training loop, train.h): make net read
 * its parameters from owner's arena instead of its own, which is freed. owner must be
 * built from the same spec and outlive net; net keeps its own gradients, activations
 * and workspace, so replicas can run forward/backward on different images at once.
 * @return CK_ERR_INVALID_ARGUMENT if the two nets' parameter layouts differ.
 */
enum ck_status ck_net_share_params(struct ck_net *net, const struct ck_net *owner);

/**
 * @brief A replica of owner (same spec, batch and conv backends) that allocates only
 * its own parameter gradients: it reads owner's parameters and, if share_buffers,
 * also uses owner's activations, activation gradients and workspace, so it must never
 * run forward/backward at the same time as owner or another net sharing them (the
 * training loop gives each such group to one thread). Nothing is allocated and then
 * freed, so a replica costs no transient memory. owner must outlive the replica and
 * must not grow its workspace (ck_net_set_backend) while replicas borrow it.
 * @return CK_ERR_INVALID_ARGUMENT, CK_ERR_OUT_OF_MEMORY; on failure *out is NULL.
 */
enum ck_status ck_net_build_replica(const struct ck_net *owner, int share_buffers,
                                    struct ck_net **out, char *msg, size_t msg_len);

/** Initialisers. Biases always start at zero; normal variants are untruncated. */
enum ck_init {
    CK_INIT_AUTO = 0,     /**< He normal before ReLU/leaky ReLU, Glorot uniform otherwise */
    CK_INIT_HE_NORMAL,    /**< N(0, 2/fan_in) */
    CK_INIT_HE_UNIFORM,   /**< U(-sqrt(6/fan_in), +) */
    CK_INIT_GLOROT_UNIFORM, /**< U(-sqrt(6/(fan_in+fan_out)), +) */
    CK_INIT_GLOROT_NORMAL,  /**< N(0, 2/(fan_in+fan_out)) */
};

/** @brief Initialise all parameters from stream CK_RNG_STREAM_INIT of seed, and seed
 *  the dropout stream. Same seed, same weights. */
enum ck_status ck_net_init_params(struct ck_net *net, enum ck_init scheme, unsigned long long seed);

/**
 * @brief Forward n images x[n][C][H][W] (1 <= n <= batch). With labels (n ints in
 * [0, classes)) also sets net->loss (mean cross-entropy) and net->correct. training=1
 * enables dropout. x and labels are borrowed until the next ck_net_backward.
 * Read feature maps (layers[i].y) after a training=0 forward: with training=1 a ReLU
 * conv2d followed by a 2x2 stride-2 max pool keeps its output pre-ReLU (the pool applies
 * the ReLU), and ck_net_backward overwrites that output with its gradient.
 */
enum ck_status ck_net_forward(struct ck_net *net, const float *x, int n, const int *labels,
                              int training);
/** @brief Gradients of the last forward's mean loss (which needs labels) into net->grads. */
enum ck_status ck_net_backward(struct ck_net *net);
/** @brief Class probabilities of the last forward: [last_n][classes]. */
const float *ck_net_output(const struct ck_net *net);

/** @brief Real parameter count (545,098 for seed-cnn). */
size_t ck_net_param_count(const struct ck_net *net);
/** @brief Number of parameter tensors over all layers. */
size_t ck_net_param_tensor_count(const struct ck_net *net);
/** @brief Parameter tensor i (layer order, weight before bias); *layer_index optional. */
enum ck_status ck_net_param(const struct ck_net *net, size_t i, struct ck_param *out,
                            int *layer_index);
/** @brief Summary facts of layer i (0 <= i < n_layers). */
enum ck_status ck_net_layer_info(const struct ck_net *net, int i, struct ck_layer_info *out);

/**
 * @brief Change the conv backend of layer layer_index (a conv2d) by name, growing the
 * shared workspace if needed. Not for the hot loop (may allocate).
 * @return CK_ERR_INVALID_ARGUMENT (not a conv2d layer / unknown name, msg lists names),
 *         CK_ERR_UNSUPPORTED, CK_ERR_CPU_FEATURE, CK_ERR_OUT_OF_MEMORY.
 */
enum ck_status ck_net_set_backend(struct ck_net *net, int layer_index, const char *name,
                                  char *msg, size_t msg_len);

/**
 * @brief One SGD/Adam step on a full batch: forward (training), backward, update.
 * x is [batch][C][H][W], labels [batch]; opt must be ck_optim_init'ed for
 * net->params_len values. loss/correct (optional) get the batch's mean loss and
 * correct count. CK_ERR_DIVERGED (and no update) if the loss is NaN/Inf.
 */
enum ck_status ck_train_step(struct ck_net *net, struct ck_optim *opt, const float *x,
                             const int *labels, double *loss, int *correct);
/**
 * @brief Inference over n images in chunks of net->batch; mean loss and accuracy in
 * [0, 1] (both optional).
 */
enum ck_status ck_evaluate(struct ck_net *net, const float *x, const int *labels, size_t n,
                           double *loss, double *accuracy);

#ifdef __cplusplus
}
#endif
#endif
