/* shim.h - a C interface to Google Benchmark (>= 1.7.1) for convkit-bench.
 *
 * Benchmark cases are plain C functions `void fn(struct ckb_state *st, void *arg)`
 * registered by name; inside, `while (ckb_keep_running(st)) { ... }` is the timed loop
 * and everything before or after it is untimed. Counters, skip-with-error, timing
 * modes and the global context are thin wrappers over the C++ API (bench/shim.cc, the
 * only C++ in the repo). This header knows nothing about convolutions.
 */
#ifndef CONVKIT_BENCH_SHIM_H
#define CONVKIT_BENCH_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ckb_state; /* a benchmark::State, opaque to C */
struct ckb_case;  /* a registered benchmark::internal::Benchmark, opaque to C */

typedef void (*ckb_fn)(struct ckb_state *st, void *arg);

/** @brief Register case `name` running fn(st, arg); arg is borrowed for the whole run.
 *  Cases run in registration order. Returns a handle for the ckb_case_* options. */
struct ckb_case *ckb_register(const char *name, ckb_fn fn, void *arg);

/** @brief Time with the wall clock (needed for OpenMP code; Google Benchmark then
 *  appends "/real_time" to the reported name). */
void ckb_case_real_time(struct ckb_case *c);
/** @brief Time each iteration with ckb_set_iteration_time (name gets "/manual_time"). */
void ckb_case_manual_time(struct ckb_case *c);
/** @brief Run exactly n iterations (overrides --benchmark_min_time for this case). */
void ckb_case_iterations(struct ckb_case *c, int64_t n);

/** @brief The timed loop condition: `while (ckb_keep_running(st)) { work }`. */
int ckb_keep_running(struct ckb_state *st);
/** @brief Stop / restart the clock inside the timed loop (costly: not per tiny op). */
void ckb_pause_timing(struct ckb_state *st);
void ckb_resume_timing(struct ckb_state *st);
/** @brief Seconds the current iteration took (cases registered with manual time). */
void ckb_set_iteration_time(struct ckb_state *st, double seconds);
/** @brief Iterations run so far (after the loop: the total). */
int64_t ckb_iterations(const struct ckb_state *st);

/** @brief A rate counter: `per_iteration` units of work per iteration, reported as units
 *  per second (e.g. GFLOP per call -> "GFLOPS"). Set it after (or before) the loop. */
void ckb_counter_rate(struct ckb_state *st, const char *name, double per_iteration);
/** @brief A plain value reported as is (bytes, error, ...). */
void ckb_counter_value(struct ckb_state *st, const char *name, double value);
/** @brief Free text shown next to the result ("label" in JSON). */
void ckb_set_label(struct ckb_state *st, const char *label);

/** @brief Mark the case as skipped with a one-line reason (printf-style). Call it before
 *  the timed loop, or break out of the loop right after calling it. */
void ckb_skip(struct ckb_state *st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/** @brief 1 once ckb_skip was called for this run. */
int ckb_skipped(const struct ckb_state *st);

/** @brief Keep the compiler from dropping a computation whose result is unused. */
void ckb_do_not_optimize(const void *p);

/** @brief Add key: value to the "context" block of every report (call before ckb_run). */
void ckb_add_context(const char *key, const char *value);

/**
 * @brief Hand argv to Google Benchmark (it consumes its --benchmark_* flags), report any
 * argument left over, run the selected cases and shut down. usage (may be NULL) is
 * printed before Google Benchmark's own text for --help.
 * @return 0 after a run, 2 for an unrecognised argument.
 */
int ckb_run(int *argc, char **argv, void (*usage)(void));

#ifdef __cplusplus
}
#endif
#endif
