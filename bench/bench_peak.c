/* bench_peak.c - measure this machine's floating-point peak (the FMA-chain probe of
 * peak.c, or a portable mul+add chain on CPUs without AVX2/FMA) for 1..T threads, and
 * register peak/fma/threads:T cases that run the same probe inside the benchmark run, so
 * a report can tell a slow kernel from a busy host; a shorter local probe that each
 * conv/gemm/net case runs before its timed loop, and the peak counters of those cases.
 * Not a kernel: nothing here is used by convkit itself.
 */
#include <stdio.h>

#include "bench.h"
#include "convkit/cpu.h"
#include "shim.h"

double ckb_peak_for(const struct ckb_config *cfg, int t)
{
    return t >= 1 && t <= CKB_MAX_THREADS ? cfg->peak_gflops[t] : 0.0;
}

/* The portable probe: 12 chains of 4-wide mul + add (2 FLOPs a lane, like an FMA). */
typedef float ckb_v4 __attribute__((vector_size(16)));
#define CKB_GENERIC_FLOPS_PER_ITER (12.0 * 4.0 * 2.0)

static float fma_chains__generic(long iters)
{
    const ckb_v4 m = {0.999999f, 0.999998f, 0.999997f, 0.999996f};
    const ckb_v4 a = {1e-3f, 2e-3f, 3e-3f, 4e-3f};
    /* Distinct start values and no -ffast-math: GCC cannot merge the chains. */
    ckb_v4 c0 = a, c1 = a * 2, c2 = a * 3, c3 = a * 4, c4 = a * 5, c5 = a * 6;
    ckb_v4 c6 = a * 7, c7 = a * 8, c8 = a * 9, c9 = a * 10, c10 = a * 11, c11 = a * 12;
    for (long i = 0; i < iters; i++) {
        c0 = c0 * m + a;
        c1 = c1 * m + a;
        c2 = c2 * m + a;
        c3 = c3 * m + a;
        c4 = c4 * m + a;
        c5 = c5 * m + a;
        c6 = c6 * m + a;
        c7 = c7 * m + a;
        c8 = c8 * m + a;
        c9 = c9 * m + a;
        c10 = c10 * m + a;
        c11 = c11 * m + a;
    }
    ckb_v4 s = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11));
    return s[0] + s[1] + s[2] + s[3];
}

static int have_fma(void)
{
    unsigned need = CK_CPU_AVX2 | CK_CPU_FMA;
    return (ck_cpu_features() & need) == need;
}

/* One parallel run of iters rounds per thread; returns GFLOP/s. */
static double peak_run(int threads, long iters)
{
    int fma = have_fma();
    double per_iter = fma ? CKB_PEAK_FLOPS_PER_ITER : CKB_GENERIC_FLOPS_PER_ITER;
    volatile float sink = 0.0f;
    double t0 = ckb_now();
#pragma omp parallel num_threads(threads)
    {
        float r = fma ? ckb_fma_chains__avx2(iters) : fma_chains__generic(iters);
        if (r == 0.0f) /* never true; keeps the result alive */
            sink = r;
    }
    double dt = ckb_now() - t0;
    (void)sink;
#ifndef _OPENMP
    threads = 1;
#endif
    return (double)threads * (double)iters * per_iter / dt * 1e-9;
}

/* Window size: rounds taking >= 2 ms on one thread (calibrated alone, so that waiting
 * for a descheduled thread cannot shrink it). */
static long window_iters(void)
{
    long iters = 1 << 10;
    while (iters < (1L << 30)) {
        double t0 = ckb_now();
        peak_run(1, iters);
        if (ckb_now() - t0 >= 2e-3)
            break;
        iters *= 2;
    }
    return iters;
}

/* Many windows of iters rounds with all threads for about `seconds` (at least 5), keeping
 * the best: on a shared host one of them usually runs undisturbed, and the peak is a
 * property of the hardware. */
static double best_window(int threads, long iters, double seconds)
{
    peak_run(threads, iters); /* starts the OpenMP team: not counted */
    double best = 0.0, spent = 0.0;
    for (int windows = 0; (spent < seconds || windows < 5) && spent < 10 * seconds; windows++) {
        double t0 = ckb_now();
        double g = peak_run(threads, iters);
        spent += ckb_now() - t0;
        if (g > best)
            best = g;
    }
    return best;
}

double ckb_peak_measure(int threads, double seconds)
{
    return best_window(threads, window_iters(), seconds);
}

/* Four rounds over the thread counts, each thread count seconds_each / 4 per round,
 * keeping the best: a neighbour on the shared host that takes a core for a while (seen:
 * the whole of a 0.15 s 2-thread measurement at one core's speed) then costs one round,
 * not the figure every % of peak of the run is divided by. */
void ckb_peak_measure_all(struct ckb_config *cfg, double seconds_each)
{
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < cfg->n_threads; i++) {
            int t = cfg->threads[i];
            if (t > CKB_MAX_THREADS)
                continue;
            double g = ckb_peak_measure(t, seconds_each / 4);
            if (round == 0 || g > cfg->peak_gflops[t])
                cfg->peak_gflops[t] = g;
        }
    }
}

/* The local probe: 20 ms of windows whose size is calibrated once per process, not at
 * every call. A value younger than LOCAL_REUSE_S seconds for the same thread count is
 * reused: Google Benchmark calls a case function about three times while it sizes the
 * iteration count, and probing at every call made the quick preset take 47 s instead of
 * 26; the drift this follows takes minutes. A reading below LOCAL_LOW of the start-up
 * probe is taken again after LOCAL_SETTLE_S, keeping the better: right after an OpenBLAS
 * case its threads go on spinning for a while, and a 2-thread probe then read half the
 * machine (101 of 230 GFLOP/s) although the next case ran at full speed. */
#define LOCAL_PROBE_S 0.02
#define LOCAL_REUSE_S 1.0
#define LOCAL_LOW 0.8
#define LOCAL_SETTLE_S 0.3

double ckb_peak_local(const struct ckb_config *cfg, int threads)
{
    static long iters;
    static double measured_at[CKB_MAX_THREADS + 1], gflops[CKB_MAX_THREADS + 1];
    if (ckb_peak_for(cfg, threads) <= 0)
        return 0.0;
    double now = ckb_now();
    if (gflops[threads] > 0 && now - measured_at[threads] < LOCAL_REUSE_S)
        return gflops[threads];
    if (!iters)
        iters = window_iters();
    gflops[threads] = best_window(threads, iters, LOCAL_PROBE_S);
    if (gflops[threads] < LOCAL_LOW * ckb_peak_for(cfg, threads)) {
        ckb_sleep(LOCAL_SETTLE_S);
        const double again = best_window(threads, iters, LOCAL_PROBE_S);
        gflops[threads] = again > gflops[threads] ? again : gflops[threads];
    }
    measured_at[threads] = ckb_now();
    return gflops[threads];
}

void ckb_peak_counters(struct ckb_state *st, const struct ckb_config *cfg, int threads,
                       double gflop, double local)
{
    double peak = ckb_peak_for(cfg, threads);
    if (peak > 0)
        ckb_counter_rate(st, "peak_pct", gflop / peak * 100.0);
    if (local > 0) {
        ckb_counter_rate(st, "local_peak_pct", gflop / local * 100.0);
        ckb_counter_value(st, "local_peak_gflops", local);
    }
}

/* Case peak/fma/threads:T - the probe as a benchmark, arg is the thread count. */
static void case_peak(struct ckb_state *st, void *arg)
{
    int t = (int)(size_t)arg;
    int fma = have_fma();
    long iters = 1 << 16;
    double per_iter = fma ? CKB_PEAK_FLOPS_PER_ITER : CKB_GENERIC_FLOPS_PER_ITER;
    volatile float sink = 0.0f;
    while (ckb_keep_running(st)) {
#pragma omp parallel num_threads(t)
        {
            float r = fma ? ckb_fma_chains__avx2(iters) : fma_chains__generic(iters);
            if (r == 0.0f)
                sink = r;
        }
    }
    (void)sink;
#ifndef _OPENMP
    t = 1;
#endif
    ckb_counter_rate(st, "GFLOPS", (double)t * (double)iters * per_iter * 1e-9);
    ckb_set_label(st, fma ? "avx2+fma, 12 chains" : "portable mul+add, 12 chains");
}

void ckb_register_peak(const struct ckb_config *cfg)
{
    for (int i = 0; i < cfg->n_threads; i++) {
        char name[64];
        snprintf(name, sizeof name, "peak/fma/threads:%d", cfg->threads[i]);
        ckb_case_real_time(ckb_register(name, case_peak, (void *)(size_t)cfg->threads[i]));
    }
}
