/* optim.h - optimisers over a flat parameter array: SGD (momentum, Nesterov) and Adam.
 *
 * Semantics follow PyTorch's torch.optim.SGD and torch.optim.Adam exactly, including
 * L2 weight decay added to the gradient (g += wd * p, every parameter, biases too)
 * and SGD's first momentum step buf = g. State (momentum buffer, or Adam's m and v)
 * is one arena allocated by ck_optim_init; ck_optim_step never allocates.
 * The learning rate is a field: change it between steps (schedules live elsewhere).
 */
#ifndef CONVKIT_OPTIM_H
#define CONVKIT_OPTIM_H

#include <stddef.h>

#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

enum ck_optim_kind { CK_OPTIM_SGD = 0, CK_OPTIM_ADAM };

/** Hyper-parameters. ck_optim_config_default gives PyTorch's defaults. */
struct ck_optim_config {
    enum ck_optim_kind kind;
    double lr;           /**< learning rate (SGD 0.01, Adam 0.001 by default) */
    double momentum;     /**< SGD, >= 0 (0 = plain SGD) */
    double dampening;    /**< SGD, default 0 */
    int nesterov;        /**< SGD, needs momentum > 0 and dampening 0 */
    double beta1, beta2; /**< Adam, default 0.9, 0.999 */
    double eps;          /**< Adam, default 1e-8 */
    double weight_decay; /**< L2 coefficient, >= 0 */
};

/** An optimiser with its state. Fields are readable (checkpoints save state/step). */
struct ck_optim {
    struct ck_optim_config cfg;
    double lr;         /**< current learning rate; set freely between steps */
    size_t n;          /**< parameters handled */
    long long step;    /**< steps done so far */
    float *state;      /**< SGD: momentum buffer [n]; Adam: m [n] then v [n] */
    size_t state_len;  /**< floats in state (0 for plain SGD) */
};

/** @brief PyTorch defaults for kind (SGD lr 0.01, Adam lr 1e-3, betas, eps 1e-8). */
struct ck_optim_config ck_optim_config_default(enum ck_optim_kind kind);

/** @brief Check cfg, allocate state for n parameters, zero it. */
enum ck_status ck_optim_init(struct ck_optim *o, const struct ck_optim_config *cfg, size_t n,
                             char *msg, size_t msg_len);
/** @brief Free the state (o may be zeroed). */
void ck_optim_free(struct ck_optim *o);

/** @brief One update of params[n] with grads[n] at learning rate o->lr. */
void ck_optim_step(struct ck_optim *o, float *params, const float *grads);

#ifdef __cplusplus
}
#endif
#endif
