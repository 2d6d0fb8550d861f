/* layers.h - internals shared by the layer files, the spec parser and the net.
 *
 * Each layer family (src/layer_<family>.c) exports one init function that fills in
 * ops, out shape, n_params and impl of a layer whose spec, batch and in shape are set.
 * Shape rules live in the families' geometry helpers so that the parser and
 * ck_layer_create agree. Not public API.
 */
#ifndef CONVKIT_LAYERS_H
#define CONVKIT_LAYERS_H

#include <stddef.h>

#include "convkit/layer.h"

/* ---- geometry (also used by the model-spec shape check) ---------------------------- */

/* Conv geometry of a conv2d spec: N = batch, C,H,W from in; checked. */
enum ck_status ck__conv_geometry(const struct ck_layer_spec *s, int batch, struct ck_shape in,
                                 struct ck_conv_params *p, char *msg, size_t msg_len);
/* Pool geometry reusing ck_conv_params (K = C = groups, R x S = window); checked, and
 * every pad must be smaller than the window so no window is all padding. */
enum ck_status ck__pool_geometry(const struct ck_layer_spec *s, int batch, struct ck_shape in,
                                 struct ck_conv_params *p, char *msg, size_t msg_len);
/* Output shape of spec s on input in, or INVALID_ARGUMENT with a message (no prefix). */
enum ck_status ck__layer_output_shape(const struct ck_layer_spec *s, struct ck_shape in,
                                      struct ck_shape *out, char *msg, size_t msg_len);

/* ---- activations (layer_activation.c), also fused into conv2d and dense ------------- */

/* y[i] = act(x[i]) for i < n (x may equal y). */
void ck__act_forward(enum ck_activation act, float alpha, const float *x, float *y, size_t n);
/* g[i] *= act'(.) computed from the OUTPUT y[i] (all supported activations allow it). */
void ck__act_backward(enum ck_activation act, float alpha, const float *y, float *g, size_t n);

/* ---- in-place gradients (layer_pool.c, used by net.c) ---------------------------------- */

/* 1 if l is a max pool whose backward can write dx over x (2x2, stride 2, no padding:
 * disjoint windows). The net gives it dx == x only after a conv2d with a fused ReLU; the
 * pool then applies the ReLU to its inputs in forward (the conv, seeing dy == y, skips
 * it when training: y stays pre-ReLU) and writes the ReLU-masked gradient in backward
 * (x > 0 ? g : 0 at each window's first maximum, 0 elsewhere; the same values as with
 * post-ReLU x), and the conv skips its own mask. Without training the conv applies its
 * ReLU as usual (feature maps stay post-ReLU), which the pool's ReLU leaves unchanged. */
int ck__pool_backward_in_place(const struct ck_layer *l);

/* ---- per-family init ------------------------------------------------------------------ */

enum ck_status ck__layer_conv_init(struct ck_layer *l, const struct ck_conv_backend *dflt,
                                   char *msg, size_t msg_len);
enum ck_status ck__layer_pool_init(struct ck_layer *l, char *msg, size_t msg_len);
enum ck_status ck__layer_activation_init(struct ck_layer *l, char *msg, size_t msg_len);
enum ck_status ck__layer_flatten_init(struct ck_layer *l, char *msg, size_t msg_len);
enum ck_status ck__layer_dense_init(struct ck_layer *l, char *msg, size_t msg_len);
enum ck_status ck__layer_dropout_init(struct ck_layer *l, char *msg, size_t msg_len);
enum ck_status ck__layer_softmax_xent_init(struct ck_layer *l, char *msg, size_t msg_len);

/* The library's default conv backend for p: `auto` (src/conv_auto.c) if it supports all
 * three passes on this CPU, else naive (NULL if neither). */
const struct ck_conv_backend *ck__default_backend(const struct ck_conv_params *p);

/* Fill *out for a tensor of a layer's params block at float offset off. */
void ck__param_fill(const struct ck_layer *l, struct ck_param *out, const char *name,
                    size_t off, size_t numel, int ndim, const int *dims, int fan_in,
                    int fan_out);

#endif
