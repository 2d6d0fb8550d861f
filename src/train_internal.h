/* train_internal.h - what train.c and train_mpi.c share (not a public API).
 *
 * train.c runs chunks and adds their gradients; train_mpi.c spreads the chunks of a
 * step over MPI ranks and calls the same two functions, so one process and P
 * processes do the same float operations in the same order. Without MPI the
 * ck__dist_* functions are stubs that are never reached (t->dist stays NULL).
 */
#ifndef CONVKIT_TRAIN_INTERNAL_H
#define CONVKIT_TRAIN_INTERNAL_H

#include <stddef.h>

#include "convkit/train.h"

/* Forward + backward of global chunk c of a step of n images on replica r; sets
 * t->chunk_status/loss/correct[c]. x, labels: the whole batch (chunk c read only). */
void ck__run_chunk(struct ck_trainer *t, int r, int c, const float *x, const int *labels,
                   int n);
/* ck__run_chunk for global chunks c0 .. c0+L-1 on replicas 0 .. L-1, workers in parallel
 * (replicas sharing a worker's buffers one after another). */
void ck__run_chunks(struct ck_trainer *t, int c0, int L, const float *x, const int *labels,
                    int n);
/* dst[i] = sum_c w[c] * src[c][i], c = 0..chunks-1 in order; 1 if a sum is not finite. */
int ck__sum_chunks(float *dst, float *const *src, const float *w, int chunks, size_t len);
/* Chunk weights w[c] = nc / n, mean loss, correct count and the step's status from the
 * per-chunk results of all chunks, in chunk order. */
enum ck_status ck__step_totals(struct ck_trainer *t, int chunks, int n, float *w,
                               double *loss, int *correct);

/* ---- train_mpi.c (only reached when t->dist != NULL) ---------------------------- */
enum ck_status ck__dist_step(struct ck_trainer *t, const float *x, const int *labels, int n,
                             double *loss, int *correct);
void ck__dist_local_images(const struct ck_trainer *t, int n, int *lo, int *hi);
/* rank and number of ranks (0 and 1 without t->dist) */
void ck__dist_rank(const struct ck_trainer *t, int *rank, int *ranks);
/* collective element-wise sums over the ranks, in place */
enum ck_status ck__dist_sum_f64(struct ck_trainer *t, double *v, size_t n);
enum ck_status ck__dist_sum_i64(struct ck_trainer *t, long long *v, size_t n);
/* the largest status code of any rank (CK_OK if all are) */
enum ck_status ck__dist_max_status(struct ck_trainer *t, enum ck_status st);
/* why the communicator broke ("" if it did not) */
const char *ck__dist_error(const struct ck_trainer *t);
void ck__dist_free(struct ck_train_dist *d);

#endif
