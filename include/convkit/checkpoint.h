/* checkpoint.h - training checkpoints: one self-describing, checksummed file.
 *
 * Layout (all integers little-endian):
 *   magic "CKPT\r\n\x1a\n" (8 bytes) | version u32 (1) | payload length u64 |
 *   payload | CRC-32 (zlib) of the payload u32
 * The payload holds, in order: the model spec text (canonical, ck_model_spec_format),
 * the dataset name, the recipe (struct ck_train_config: optimiser, schedule, batch,
 * micro-batch, seed, initialiser, augmentation, normalisation), the progress (epoch,
 * step in epoch, global step), the dropout RNG counter, the optimiser's step and
 * learning rate, every parameter (the net's arena, params_len floats) and the
 * optimiser state. No timestamps or paths, so equal training gives equal files. The
 * run length (--epochs) is not stored: a resumed run is told how far to go.
 * Files are written atomically: temporary file, fsync, rename. A truncated, corrupt
 * or inconsistent file is refused with CK_ERR_CORRUPT_DATA and one line naming it.
 */
#ifndef CONVKIT_CHECKPOINT_H
#define CONVKIT_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "convkit/status.h"
#include "convkit/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_CHECKPOINT_VERSION 1

/** A decoded checkpoint (free with ck_checkpoint_free). */
struct ck_checkpoint {
    char *spec_text;                  /**< canonical model spec, NUL-terminated */
    char dataset[32];                 /**< dataset the run trained on ("" if unknown) */
    struct ck_train_config cfg;       /**< the recipe */
    struct ck_train_progress progress;
    uint64_t dropout_counter;         /**< next draw of the dropout stream */
    long long optim_step;             /**< optimiser steps (Adam bias correction) */
    double optim_lr;                  /**< learning rate of the last step */
    size_t n_params;                  /**< floats in params (the net's params_len) */
    float *params;
    size_t n_state;                   /**< floats in state (the optimiser's state_len) */
    float *state;
};

/** @brief Free what a reader allocated and zero *c (safe on a zeroed checkpoint). */
void ck_checkpoint_free(struct ck_checkpoint *c);

/**
 * @brief Write t's recipe, progress, parameters and optimiser state to path atomically.
 * @param dataset name stored for eval/visualize (may be NULL).
 * @return CK_OK, CK_ERR_IO (msg names path), CK_ERR_OUT_OF_MEMORY.
 */
enum ck_status ck_checkpoint_save(const char *path, const struct ck_trainer *t,
                                  const char *dataset, char *msg, size_t msg_len);

/**
 * @brief Decode a checkpoint held in memory; name is used in messages. Checks magic,
 * version, length, CRC and every field's range; does not build a net.
 */
enum ck_status ck_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                                   struct ck_checkpoint *out, char *msg, size_t msg_len);

/** @brief Read and decode a checkpoint file (as ck_checkpoint_parse). */
enum ck_status ck_checkpoint_read(const char *path, struct ck_checkpoint *out, char *msg,
                                  size_t msg_len);

/**
 * @brief Build a trainer from a checkpoint and restore its state exactly, so that
 * training continues as if it had never stopped.
 * @param backend conv backend for layers without backend= (NULL: default).
 * @return CK_ERR_CORRUPT_DATA if the spec does not parse or the parameter/state
 *         counts do not match the net it describes; errors of ck_trainer_create.
 */
enum ck_status ck_checkpoint_restore(const struct ck_checkpoint *c, const char *backend,
                                     struct ck_trainer **out, char *msg, size_t msg_len);

#ifdef __cplusplus
}
#endif
#endif
