/* conv.h - convolution problem description: parameters, padding modes, sizes.
 *
 * Dimension legend used everywhere in convkit (llm.c style):
 *   N = batch, C = input channels, H,W = input height/width,
 *   K = output channels, R,S = filter height/width, P,Q = output height/width,
 *   G = groups (each group maps C/G input channels to K/G output channels).
 * Layouts at every public boundary: x[N][C][H][W], w[K][C/G][R][S] (PyTorch order),
 * bias[K], y[N][K][P][Q], all float32, C order, densely packed.
 *
 * This header only describes problems; running them is backend.h.
 */
#ifndef CONVKIT_CONV_H
#define CONVKIT_CONV_H

#include <stddef.h>

#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One 2-D convolution problem. Fill with ck_conv_params_init() then set fields. */
struct ck_conv_params {
    int N, C, H, W;         /**< input x[N][C][H][W] */
    int K, R, S;            /**< filters w[K][C/groups][R][S] */
    int stride_h, stride_w; /**< >= 1 */
    int pad_top, pad_left, pad_bottom, pad_right; /**< >= 0, zero padding */
    int dilation_h, dilation_w; /**< >= 1; effective filter (R-1)*dil+1 */
    int groups;                 /**< >= 1, divides C and K */
};

/** The three passes every backend implements. */
enum ck_conv_pass {
    CK_PASS_FORWARD = 0,      /**< y = conv(x, w) + bias */
    CK_PASS_BACKWARD_DATA,    /**< dx = conv_transpose(dy, w) */
    CK_PASS_BACKWARD_WEIGHTS, /**< dw = corr(x, dy), db = sum(dy) */
    CK_PASS_COUNT
};

/** @brief "forward", "backward-data" or "backward-weights". */
const char *ck_conv_pass_name(enum ck_conv_pass pass);
/** @brief Parse a pass name (the strings above); CK_ERR_INVALID_ARGUMENT if unknown. */
enum ck_status ck_conv_pass_parse(const char *text, enum ck_conv_pass *out);

/** How padding is given. */
enum ck_padding_mode {
    CK_PADDING_VALID = 0, /**< no padding */
    CK_PADDING_SAME,      /**< TensorFlow/Keras rule, see ck_conv_apply_padding */
    CK_PADDING_EXPLICIT,  /**< top/left/bottom/right as given */
};

struct ck_padding {
    enum ck_padding_mode mode;
    int top, left, bottom, right; /**< used when mode == CK_PADDING_EXPLICIT */
};

/**
 * @brief Parse "valid", "same", "P" (symmetric) or "T,L,B,R" (asymmetric).
 * @return CK_OK, or CK_ERR_INVALID_ARGUMENT with a reason in msg (may be NULL).
 */
enum ck_status ck_padding_parse(const char *text, struct ck_padding *out, char *msg,
                                size_t msg_len);

/** @brief N,C,H,W,K,R,S = 1, stride 1, no padding, dilation 1, groups 1. */
void ck_conv_params_init(struct ck_conv_params *p);

/**
 * @brief Resolve a padding mode into p's four pad fields.
 * Needs H, W, R, S, strides and dilations already set. "same" follows TensorFlow/Keras:
 * total = max((ceil(H/stride) - 1)*stride + (R-1)*dil + 1 - H, 0), top = total/2,
 * bottom = total - top (the odd pixel goes to the bottom/right).
 * @return CK_ERR_INVALID_ARGUMENT for negative explicit pads or a bad mode.
 */
enum ck_status ck_conv_apply_padding(struct ck_conv_params *p, const struct ck_padding *pad);

/**
 * @brief Check every rule a problem must satisfy; on failure write one line naming the
 * field and its value into msg (may be NULL).
 * Rules: N,C,H,W,K,R,S >= 1; strides, dilations >= 1; pads >= 0; groups >= 1 dividing
 * C and K; effective filter no larger than the padded input; output size >= 1;
 * tensor sizes fit in size_t and every extent fits in int.
 */
enum ck_status ck_conv_check(const struct ck_conv_params *p, char *msg, size_t msg_len);

/** @brief Output size: P = floor((H + pt + pb - dil_h*(R-1) - 1) / stride_h) + 1. */
void ck_conv_output_size(const struct ck_conv_params *p, int *P, int *Q);

/** @brief Element counts of x, w, bias, y for a (checked) problem. */
size_t ck_conv_x_numel(const struct ck_conv_params *p);
size_t ck_conv_w_numel(const struct ck_conv_params *p);
size_t ck_conv_y_numel(const struct ck_conv_params *p);

/** @brief Direct-convolution FLOPs of one pass: 2*N*K*P*Q*(C/G)*R*S (all passes equal). */
double ck_conv_flops(const struct ck_conv_params *p);

/**
 * @brief Parse a oneDNN benchdnn convolution descriptor into p (e.g.
 * "mb64ic32ih16oc64kh3ph1", "mb8ic64ih56oc128kh3sh2ph1", "g32mb1ic32ih28oc32kh3ph1").
 * Keys: mb g ic ih iw oc oh ow kh kw sh sw ph pw dh dw, any order, each once; an optional
 * trailing "_nNAME" or "nNAME" is ignored. Defaults as in benchdnn: mb 2, g 1, iw = ih,
 * kw = kh, sw = sh (1), pw = ph (0), dw = dh. Dilation uses oneDNN's convention:
 * dh0 is a dense filter, dh1 skips one pixel (dilation_h = dh + 1). oh/ow, when given,
 * set the bottom/right padding so the output has that size (asymmetric padding).
 * The result is checked with ck_conv_check.
 */
enum ck_status ck_conv_problem_parse(const char *desc, struct ck_conv_params *p, char *msg,
                                     size_t msg_len);

/** @brief The canonical descriptor of p (defaults omitted), the inverse of the parser. */
const char *ck_conv_problem_format(const struct ck_conv_params *p, char *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif
#endif
