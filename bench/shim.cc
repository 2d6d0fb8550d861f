// shim.cc - the C API of bench/shim.h over Google Benchmark 1.7.1 (the only C++ in
// convkit). Each function is a one-line forward to benchmark::State / Benchmark; no
// benchmark logic lives here. Uses only APIs present in 1.7.1 (no BENCHMARK_NAMED, no
// MaybeReenterWithoutASLR, no State::SkipWithMessage).
#include "shim.h"

#include <benchmark/benchmark.h>

#include <cstdarg>
#include <cstdio>
#include <string>

struct ckb_state {
    benchmark::State *s;
};

namespace {

void (*g_usage)(void) = nullptr;

void print_help()
{
    if (g_usage)
        g_usage();
    benchmark::PrintDefaultHelp();
}

} // namespace

extern "C" {

struct ckb_case *ckb_register(const char *name, ckb_fn fn, void *arg)
{
    benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(
        name, [fn, arg](benchmark::State &s) {
            ckb_state st{&s};
            fn(&st, arg);
        });
    return reinterpret_cast<struct ckb_case *>(b);
}

void ckb_case_real_time(struct ckb_case *c)
{
    reinterpret_cast<benchmark::internal::Benchmark *>(c)->UseRealTime();
}

void ckb_case_manual_time(struct ckb_case *c)
{
    reinterpret_cast<benchmark::internal::Benchmark *>(c)->UseManualTime();
}

void ckb_case_iterations(struct ckb_case *c, int64_t n)
{
    reinterpret_cast<benchmark::internal::Benchmark *>(c)->Iterations(n);
}

int ckb_keep_running(struct ckb_state *st)
{
    return st->s->KeepRunning() ? 1 : 0;
}

void ckb_pause_timing(struct ckb_state *st)
{
    st->s->PauseTiming();
}

void ckb_resume_timing(struct ckb_state *st)
{
    st->s->ResumeTiming();
}

void ckb_set_iteration_time(struct ckb_state *st, double seconds)
{
    st->s->SetIterationTime(seconds);
}

int64_t ckb_iterations(const struct ckb_state *st)
{
    return static_cast<int64_t>(st->s->iterations());
}

void ckb_counter_rate(struct ckb_state *st, const char *name, double per_iteration)
{
    st->s->counters[name] =
        benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

void ckb_counter_value(struct ckb_state *st, const char *name, double value)
{
    st->s->counters[name] = benchmark::Counter(value, benchmark::Counter::kDefaults);
}

void ckb_set_label(struct ckb_state *st, const char *label)
{
    st->s->SetLabel(label);
}

void ckb_skip(struct ckb_state *st, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st->s->SkipWithError(msg);
}

int ckb_skipped(const struct ckb_state *st)
{
    return st->s->error_occurred() ? 1 : 0;
}

void ckb_do_not_optimize(const void *p)
{
    benchmark::DoNotOptimize(p);
    benchmark::ClobberMemory();
}

void ckb_add_context(const char *key, const char *value)
{
    benchmark::AddCustomContext(key, value);
}

int ckb_run(int *argc, char **argv, void (*usage)(void))
{
    g_usage = usage;
    benchmark::Initialize(argc, argv, print_help);
    if (benchmark::ReportUnrecognizedArguments(*argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}

} // extern "C"
