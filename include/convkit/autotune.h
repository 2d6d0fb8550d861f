/* autotune.h - the `auto` backend: which backend runs a problem, and why.
 *
 * The registry has a backend named "auto" that forwards each call to a concrete backend
 * chosen per (problem, pass):
 *   1. if a wisdom table holds an entry for the problem's descriptor and pass (measured
 *      by ck_auto_tune or loaded from a file), that backend;
 *   2. otherwise a fixed heuristic (see src/conv_auto.c for the rules and the figures
 *      behind them).
 * The choice is a pure function of (problem, pass, wisdom table), so results are
 * deterministic for a given cache. Measuring is explicit (ck_auto_tune), like FFTW's
 * planner: nothing is timed behind the caller's back.
 *
 * The wisdom table is process-global. Loading, tuning and clearing it must not run
 * concurrently with convolutions that use `auto` (tune first, then train).
 *
 * Wisdom file: text, '#' comments, one line per entry:
 *   <descriptor> <pass> <backend> <median_ms>
 * e.g. "mb64ic32ih16oc64kh3ph1 forward winograd-f4 1.234". Written atomically.
 */
#ifndef CONVKIT_AUTOTUNE_H
#define CONVKIT_AUTOTUNE_H

#include <stddef.h>

#include "convkit/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What `auto` picks for one problem and pass. */
struct ck_auto_choice {
    const struct ck_conv_backend *backend; /**< never the auto backend itself */
    char reason[192];                      /**< one line: why this backend */
};

/**
 * @brief The backend `auto` uses for pass on p (wisdom first, then the heuristic).
 * @return CK_OK; CK_ERR_INVALID_ARGUMENT if p fails ck_conv_check.
 */
enum ck_status ck_auto_choose(const struct ck_conv_params *p, enum ck_conv_pass pass,
                              struct ck_auto_choice *out);

/**
 * @brief Time every backend this CPU can run on p (one warm-up call each, then `repeats`
 * rounds of one call per backend, round-robin, on seeded random data; each backend's
 * fastest call counts), store the fastest in the wisdom table and in out.
 * Allocates its own buffers (it is a planning call, not a hot-path call). The naive
 * backend is timed only when nothing else supports the problem.
 */
enum ck_status ck_auto_tune(const struct ck_conv_params *p, enum ck_conv_pass pass,
                            int repeats, struct ck_auto_choice *out, char *msg,
                            size_t msg_len);

/** @brief Merge a wisdom file into the table (entries for unknown backends are skipped). */
enum ck_status ck_auto_wisdom_load(const char *path, char *msg, size_t msg_len);
/** @brief Write the table to path atomically (sorted, so equal tables give equal files). */
enum ck_status ck_auto_wisdom_save(const char *path, char *msg, size_t msg_len);
/** @brief Forget every entry. */
void ck_auto_wisdom_clear(void);
/** @brief Number of entries in the table. */
size_t ck_auto_wisdom_count(void);

#ifdef __cplusplus
}
#endif
#endif
