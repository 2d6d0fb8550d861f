/* bench.h - what the C files of convkit-bench share: the run configuration (preset,
 * thread counts, measured peaks) and each file's registration entry point.
 *
 * Case names are a contract with scripts/bench-report.sh and compare-pytorch.sh:
 *   conv/<fwd|bwd_data|bwd_weights>/<backend>/<benchdnn descriptor>/threads:<T>
 *       (<backend> is a convkit backend, or onednn / onednn-blocked: reference points)
 *   gemm/<convkit|openblas|blis>/<M>x<N>x<K>[_tn|_nt]/threads:<T>  (_tn: op(A) = A^T,
 *       _nt: op(B) = B^T)
 *   net/<model>/<train|infer>/<backend>/mb<B>/threads:<T>
 *   peak/fma/threads:<T>
 * (Google Benchmark appends "/real_time" because every case uses the wall clock.)
 */
#ifndef CONVKIT_BENCH_H
#define CONVKIT_BENCH_H

#include <stddef.h>

#include "convkit/conv.h"

#define CKB_MAX_THREADS 256

enum ckb_preset { CKB_PRESET_QUICK = 0, CKB_PRESET_FULL };

struct ckb_config {
    enum ckb_preset preset;
    int threads[64];      /* thread counts every case is registered for, ascending */
    int n_threads;
    double peak_gflops[CKB_MAX_THREADS + 1]; /* measured FMA peak by thread count, 0 = not measured */
    double naive_max_gflop; /* naive backend: skip problems above this many GFLOP a call */
    double ref_max_gflop;   /* fp64 accuracy check: shrink the batch to about this much */
    const char *backend_only; /* --backend NAME: register only this backend, or NULL */
    const char *problems[64]; /* --problem DESC (repeatable): these instead of the preset's */
    int n_problems;
};

/* Peak of the FMA probe for t threads (0 if not measured). */
double ckb_peak_for(const struct ckb_config *cfg, int t);

/* bench_peak.c: measure the FMA-chain peak for every configured thread count (about
 * seconds_each seconds each) and register the peak/fma cases. */
void ckb_peak_measure_all(struct ckb_config *cfg, double seconds_each);
void ckb_register_peak(const struct ckb_config *cfg);
/* GFLOP/s of `threads` threads running the FMA chains for about `seconds`. */
double ckb_peak_measure(int threads, double seconds);

/* The local peak of a case: the same probe for `threads` threads, about 20 ms, measured
 * when a case calls this (after its warm-up, right before its timed loop), because the
 * host's sustainable FMA rate drifts by about 10% over minutes. A value measured less
 * than a second ago for the same thread count is reused. 0 when the run has no start-up
 * peak (--no-peak). */
double ckb_peak_local(const struct ckb_config *cfg, int threads);
/* A case's peak counters, gflop being its GFLOP per iteration: peak_pct (against the
 * start-up peak, when measured), local_peak_pct and local_peak_gflops (when local > 0,
 * local from ckb_peak_local). */
struct ckb_state;
void ckb_peak_counters(struct ckb_state *st, const struct ckb_config *cfg, int threads,
                       double gflop, double local);

/* peak.c (built with -mavx2 -mfma; call only when the CPU has both): run iters rounds of
 * 12 independent 8-wide FMA chains; returns a value the caller must consume.
 * FLOPs = iters * CKB_PEAK_FLOPS_PER_ITER. */
#define CKB_PEAK_FLOPS_PER_ITER (12.0 * 8.0 * 2.0)
float ckb_fma_chains__avx2(long iters);

/* bench_conv.c: register the three passes x every backend x thread count of problem p
 * (a benchdnn descriptor is derived from p); one_thread_only: only the smallest count. */
void ckb_register_conv_problem(const struct ckb_config *cfg, const struct ck_conv_params *p,
                               int one_thread_only);
/* Free everything bench_conv.c allocated (call after the run). */
void ckb_conv_cleanup(void);

/* Helpers of bench_conv.c that every conv case uses (bench_onednn.c too):
 * "fwd", "bwd_data" or "bwd_weights"; the inputs of p filled from fixed seeds (x, w,
 * bias, dy, all of p's sizes); the problem whose accuracy a case checks (p with the
 * batch shrunk to about cfg->ref_max_gflop); and the max relative error of a pass's
 * output on q (y | dx | dw, plus db for bwd_weights) against the fp64 reference (cached
 * per problem and pass; the inputs must come from ckb_conv_fill_inputs). */
const char *ckb_conv_pass_tag(enum ck_conv_pass pass);
void ckb_conv_fill_inputs(const struct ck_conv_params *p, float *x, float *w, float *bias,
                          float *dy);
struct ck_conv_params ckb_conv_ref_problem(const struct ckb_config *cfg,
                                           const struct ck_conv_params *p);
double ckb_conv_max_rel_err(const struct ck_conv_params *q, enum ck_conv_pass pass,
                            const float *x, const float *w, const float *bias,
                            const float *dy, const float *out, const float *db);

/* bench_onednn.c (built when oneDNN was found, CKB_HAVE_ONEDNN): register the onednn
 * and onednn-blocked cases of one pass of problem p (desc: its descriptor); context
 * lines (onednn version and ISA) for the report. */
void ckb_register_onednn(const struct ckb_config *cfg, const struct ck_conv_params *p,
                         enum ck_conv_pass pass, const char *desc, int one_thread_only);
void ckb_onednn_context(void);
void ckb_onednn_cleanup(void);

/* bench_sweep.c: register every conv problem of the preset. */
void ckb_register_conv_sweeps(const struct ckb_config *cfg);

/* bench_gemm.c / bench_net.c: register the GEMM and network cases of the preset. */
void ckb_register_gemm(const struct ckb_config *cfg);
void ckb_register_net(const struct ckb_config *cfg);
void ckb_gemm_cleanup(void);
void ckb_net_cleanup(void);
/* Context lines ("gemm_libraries", ...) from those files. */
void ckb_gemm_context(void);

/* Thread control that works with and without OpenMP. */
void ckb_set_threads(int t);
int ckb_max_threads(void);

/* Seconds from a monotonic clock; sleep for seconds. */
double ckb_now(void);
void ckb_sleep(double seconds);

/* Allocation that never returns NULL (prints and exits: bench only). */
void *ckb_xalloc(size_t bytes);

/* A case whose run failed (an error status, a non-finite result) calls this before
 * skipping itself; main exits 1 when the count is not zero. */
void ckb_note_failure(void);
int ckb_failure_count(void);

#endif
