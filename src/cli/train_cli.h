/* train_cli.h - helpers shared by `convkit train`, `eval`, `export` and `visualize`
 * (CLI only): number parsing, --threads, loading a dataset or a checkpoint with one
 * clear error line. */
#ifndef CONVKIT_CLI_TRAIN_CLI_H
#define CONVKIT_CLI_TRAIN_CLI_H

#include <stddef.h>

#include "convkit/checkpoint.h"
#include "convkit/data.h"
#include "convkit/train.h"

/* Parse text as a finite double in [lo, hi]. 0 ok; -1 with a message naming --opt. */
int ck_cli_double(const char *opt, const char *text, double lo, double hi, double *out,
                  char *msg, size_t msg_len);
/* Parse an unsigned 64-bit integer. 0 ok; -1 with a message naming --opt. */
int ck_cli_u64(const char *opt, const char *text, unsigned long long *out, char *msg,
               size_t msg_len);
/* --threads T (NULL: leave OpenMP's default). 0 ok; -1 with a message. */
int ck_cli_threads(const char *text, char *msg, size_t msg_len);
/* Threads OpenMP will use (1 without OpenMP). */
int ck_cli_max_threads(void);
/* "HxWxC" -> shape; 0 ok. */
int ck_cli_shape(const char *text, struct ck_shape *s);

/* Load split `train` of dataset name (dir may be NULL); synthetic images get shape
 * synth. Prints one error line for cmd and returns the exit code (0 ok). */
int ck_cli_load_dataset(const char *cmd, const char *name, const char *dir, int train,
                        const struct ck_shape *synth, struct ck_dataset *out);

/* Read a checkpoint and build its trainer (backend may be NULL). Prints one error line
 * and returns the exit code (0 ok). */
int ck_cli_load_checkpoint(const char *cmd, const char *path, const char *backend,
                           struct ck_checkpoint *ck, struct ck_trainer **t);

/* Monotonic seconds. */
double ck_cli_now(void);

#endif
