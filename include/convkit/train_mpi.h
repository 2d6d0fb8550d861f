/* train_mpi.h - data-parallel training across MPI processes (ranks), one or many machines.
 *
 * Available when convkit was built with CONVKIT_MPI (CMake found MPI); the caller owns
 * MPI_Init/MPI_Finalize. A step's fixed micro-batch chunks (train.h) are split into P
 * contiguous runs, one per rank; each rank forms and runs only its chunks. Gradients
 * are exchanged as a reduce-scatter (rank q receives every chunk's slice q of the
 * parameter vector and adds the chunks in chunk order, with the same code as one
 * process) and an all-gather of the summed slices; every rank then applies the same
 * optimiser update. So the weights are the same bits for 1, 2 or P ranks and any
 * thread count. Waits are bounded by a timeout; MPI errors are returned, not fatal.
 * Not here: launching, checkpoints (rank 0 writes them: checkpoint.h), printing.
 */
#ifndef CONVKIT_TRAIN_MPI_H
#define CONVKIT_TRAIN_MPI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "convkit/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @brief Make t train over comm (collective: every rank of comm calls it with a trainer
 * built from the same spec, recipe and state). comm is duplicated (errors return).
 * Checks that every rank holds the same parameters and optimiser state.
 * @param timeout_s seconds a rank waits for the others in one exchange before the call
 *        fails with CK_ERR_IO (<= 0: wait forever).
 * @return CK_OK; CK_ERR_CORRUPT_DATA if the ranks' states differ; CK_ERR_UNSUPPORTED
 *         if the exchange would exceed MPI's int counts; CK_ERR_IO (MPI error or
 *         timeout); CK_ERR_OUT_OF_MEMORY. Message in msg.
 */
enum ck_status ck_trainer_set_comm(struct ck_trainer *t, MPI_Comm comm, double timeout_s,
                                   char *msg, size_t msg_len);

/**
 * @brief Collective check that every rank holds the same training state: CRC-32 of the
 * parameters, optimiser state and step, progress and dropout counter, compared over
 * all ranks. crc (optional): this rank's CRC.
 * @return CK_OK; CK_ERR_CORRUPT_DATA naming the first differing rank; CK_ERR_IO.
 */
enum ck_status ck_trainer_check_replicas(struct ck_trainer *t, uint32_t *crc, char *msg,
                                         size_t msg_len);

/** @brief Rank and number of ranks of a distributed trainer (0 and 1 otherwise). */
void ck_trainer_comm_rank(const struct ck_trainer *t, int *rank, int *ranks);

/**
 * @brief Why the last collective call failed ("" if none). A non-empty answer means
 * the communicator is unusable (peers may be waiting): the job should be aborted.
 */
const char *ck_trainer_comm_error(const struct ck_trainer *t);

/** @brief Seconds spent and steps done in the gradient exchange since ck_trainer_set_comm
 *  (waiting for slower ranks included). */
void ck_trainer_comm_time(const struct ck_trainer *t, double *seconds, long long *steps);

#ifdef __cplusplus
}
#endif
#endif
