/* train.h - the training loop: data-parallel steps, epochs, schedules, evaluation.
 *
 * A trainer owns one net per micro-batch ("replica"): replica 0 owns the parameters,
 * the others read them in place and keep their own activations, gradients and
 * workspace. A step of B images is cut into ceil(B / micro_batch) chunks of at most
 * micro_batch images - a cut fixed by the configuration, never by the thread count -
 * which OpenMP threads run concurrently (one chunk per replica); the chunk gradients
 * are then summed, weighted by chunk size, in chunk order, element by element. So the
 * same seed gives the same weights bit for bit for any number of threads. With
 * micro_batch == batch there is one chunk and the parallelism is inside the layers
 * (intra-op) instead. Shuffling, augmentation and dropout use the counter-based RNG
 * addressed by (seed, epoch, step), so a run resumed from a checkpoint continues
 * exactly. The library never prints: progress goes through a callback.
 * Across processes (convkit/train_mpi.h, builds with CONVKIT_MPI) the chunks of a step
 * are spread over the ranks and summed in the same chunk order, so the weights are
 * still the same bits for any number of ranks.
 */
#ifndef CONVKIT_TRAIN_H
#define CONVKIT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "convkit/data.h"
#include "convkit/model.h"
#include "convkit/net.h"
#include "convkit/optim.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_TRAIN_MAX_CHUNKS 64 /**< ceil(batch / micro_batch) may not exceed this */

/** Learning-rate schedules, applied before every optimiser step. */
enum ck_lr_schedule_kind {
    CK_LR_CONSTANT = 0, /**< lr */
    CK_LR_STEP,         /**< lr * gamma^floor(epoch / step_epochs) */
    CK_LR_COSINE,       /**< lr * (1 + cos(pi * step / total_steps)) / 2, per step */
};

struct ck_lr_schedule {
    enum ck_lr_schedule_kind kind;
    int step_epochs; /**< CK_LR_STEP: epochs between decays (>= 1) */
    double gamma;    /**< CK_LR_STEP: decay factor (0, 1] */
};

/**
 * @brief Learning rate for global step `step` (0-based) of a run of total_epochs
 * epochs of steps_per_epoch steps. Cosine reaches 0 after the last step.
 */
double ck_lr_at(const struct ck_lr_schedule *s, double base_lr, long long step,
                long long steps_per_epoch, int total_epochs);
/** @brief "constant", "step", "cosine". */
const char *ck_lr_schedule_name(enum ck_lr_schedule_kind kind);

/** The recipe: everything that determines the weights (a checkpoint stores it all). */
struct ck_train_config {
    struct ck_optim_config optim;
    struct ck_lr_schedule schedule;
    int batch;            /**< images per optimiser step, >= 1 */
    int micro_batch;      /**< images per chunk, 1..batch (see above) */
    uint64_t seed;        /**< initialisation, shuffling, augmentation, dropout */
    enum ck_init init;    /**< weight initialiser */
    struct ck_augment augment; /**< crop_pad 0 and flip 0: no augmentation */
    struct ck_normalize norm;  /**< per-channel normalisation of the inputs */
};

/** @brief A sensible recipe: SGD lr 0.01 momentum 0.9, batch 64, micro-batch 32,
 *  seed 1, constant schedule, auto init, no augmentation, identity normalisation. */
struct ck_train_config ck_train_config_default(void);

/** Where training stands (saved in checkpoints). */
struct ck_train_progress {
    int epoch;            /**< completed epochs */
    long long epoch_step; /**< steps done in the current epoch */
    long long step;       /**< optimiser steps done in total */
};

struct ck_train_dist; /* the MPI side of a trainer (src/train_mpi.c); opaque */

/** A trainer. Fields are readable; change them only through the functions below. */
struct ck_trainer {
    struct ck_train_config cfg;
    struct ck_model_spec spec;     /**< as given (formatted into checkpoints) */
    int n_replicas;                /**< ceil(batch / micro_batch) */
    int n_workers;                 /**< replicas with their own activation buffers:
                                        min(n_replicas, OpenMP threads at creation);
                                        replica r uses worker r % n_workers's */
    struct ck_net *nets[CK_TRAIN_MAX_CHUNKS]; /**< nets[0] owns the parameters */
    struct ck_optim opt;
    struct ck_rng dropout;         /**< dropout stream; chunk c draws at counter + c*D */
    uint64_t dropout_per_chunk;    /**< D: dropout draws of one full chunk */
    struct ck_train_progress progress;
    float *x;                      /**< batch input buffer [batch][C][H][W] */
    int *labels;                   /**< batch labels */
    uint32_t *perm;                /**< epoch order of the training set (perm_n records) */
    size_t perm_n;
    int perm_epoch;                /**< epoch perm was made for (-1: none) */
    int *pred;                     /**< evaluation: argmax per image of a block [batch] */
    uint32_t *idx;                 /**< evaluation: record indices of a block [batch] */
    enum ck_status chunk_status[CK_TRAIN_MAX_CHUNKS];
    double chunk_loss[CK_TRAIN_MAX_CHUNKS];
    int chunk_correct[CK_TRAIN_MAX_CHUNKS];
    struct ck_train_dist *dist;    /**< NULL: one process; else ck_trainer_set_comm's */
};

/**
 * @brief Build a trainer for spec and recipe cfg; parameters initialised from cfg->seed.
 * @param backend conv backend for layers without backend= (NULL or "auto": default).
 * @return CK_OK; CK_ERR_INVALID_ARGUMENT (bad recipe or spec/backend, one line in msg),
 *         CK_ERR_UNSUPPORTED, CK_ERR_OUT_OF_MEMORY. On failure *out is NULL.
 */
enum ck_status ck_trainer_create(const struct ck_model_spec *spec,
                                 const struct ck_train_config *cfg, const char *backend,
                                 struct ck_trainer **out, char *msg, size_t msg_len);
void ck_trainer_free(struct ck_trainer *t);

/**
 * @brief One optimiser step on n images x[n][C][H][W] with labels (1 <= n <= batch) at
 * learning rate t->opt.lr. loss/correct (optional): mean loss, correct predictions.
 * A distributed trainer (t->dist) reads only its own chunks' images of x and labels
 * (ck_trainer_local_images) and the call is collective over its communicator.
 * @return CK_ERR_DIVERGED if the loss or any gradient is NaN/Inf (parameters are then
 *         left unchanged); other errors from the layers.
 */
enum ck_status ck_trainer_step(struct ck_trainer *t, const float *x, const int *labels, int n,
                               double *loss, int *correct);

/**
 * @brief The images [*lo, *hi) of a step of n images that this process computes:
 * [0, n) without MPI, else the chunks ck_trainer_step assigns to this rank.
 */
void ck_trainer_local_images(const struct ck_trainer *t, int n, int *lo, int *hi);

/** Called after every step of ck_train_epoch (may be NULL). */
struct ck_train_hooks {
    /** step_in_epoch is 1-based; loss/accuracy are running means over this epoch. */
    void (*on_step)(void *user, const struct ck_trainer *t, long long step_in_epoch,
                    long long steps_per_epoch, double loss, double accuracy, int images);
    void *user;
};

/** Running totals of one (possibly partial) epoch of ck_train_epoch. */
struct ck_epoch_stats {
    double loss_sum;  /**< sum of per-image losses */
    long long correct;
    long long images;
    long long steps;
};

/**
 * @brief Train from t->progress to the end of the current epoch, or until
 * t->progress.step == max_steps (0: no limit). Batches follow the epoch's shuffled
 * order; the schedule sets the learning rate from (step, total_epochs). On the end of
 * the epoch t->progress.epoch is incremented. stats (optional) accumulates.
 * @return CK_OK, CK_ERR_DIVERGED (with "step S: loss is nan" in msg), others.
 */
enum ck_status ck_train_epoch(struct ck_trainer *t, const struct ck_dataset *train,
                              int total_epochs, long long max_steps,
                              const struct ck_train_hooks *hooks, struct ck_epoch_stats *stats,
                              char *msg, size_t msg_len);

/** @brief Steps in one epoch of n records: ceil(n / batch). */
long long ck_train_steps_per_epoch(const struct ck_trainer *t, size_t n);

/**
 * @brief Inference over a dataset (normalised with t->cfg.norm, no augmentation):
 * mean loss and accuracy (optional) and, if confusion is not NULL, the counts
 * confusion[true * classes + predicted] (classes = the net's outputs), zeroed first.
 * A distributed trainer splits the set over the ranks (collective; same results).
 */
enum ck_status ck_trainer_evaluate(struct ck_trainer *t, const struct ck_dataset *d,
                                   double *loss, double *accuracy, long long *confusion);

#ifdef __cplusplus
}
#endif
#endif
