/* main.c - convkit-bench: parse the preset flags, measure the FMA peak, register every
 * case of the preset, hand the rest of argv to Google Benchmark and run.
 *
 * Own flags (removed before Google Benchmark sees argv): --quick | --full,
 * --threads=LIST, --backend=NAME, --problem=DESC, --naive-max-gflop=X, --no-peak. Every --benchmark_*
 * flag works as usual; a preset only supplies a default --benchmark_min_time.
 * Exit status: 0, 1 if a case FAILED (error status or NaN output; unsupported and
 * too-slow cases are skipped, not failed), 2 for a usage error.
 * The case functions live in bench_*.c; the C++ shim in shim.cc.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "convkit/backend.h"
#include "convkit/convkit.h"
#include "convkit/cpu.h"
#include "shim.h"

static void usage(void)
{
    printf("convkit-bench: convolution, GEMM and network benchmarks of convkit\n"
           "\n"
           "  --quick               a handful of small cases (about a minute on 2 cores)\n"
           "  --full                everything (the default; long: see bench/bench_sweep.c)\n"
           "  --threads=LIST        thread counts, e.g. 1,2 (default: quick 1 and all cores,\n"
           "                        full 1..cores, or powers of two and all cores above 8)\n"
           "  --backend=NAME        only this conv backend (and net backend)\n"
           "  --problem=DESC        benchdnn descriptor, e.g. mb64ic32ih16oc64kh5ph2; repeatable;\n"
           "                        these conv problems instead of the preset's\n"
           "  --naive-max-gflop=X   skip naive problems above X GFLOP a call\n"
           "                        (default: quick 0.1, full 0.7)\n"
           "  --no-peak             do not measure the FMA peak (no peak_pct, local_peak_pct)\n"
           "\n"
           "Case names: conv/<fwd|bwd_data|bwd_weights>/<backend>/<descriptor>/threads:<T>,\n"
           "gemm/<lib>/<M>x<N>x<K>[_tn|_nt]/threads:<T>,\n"
           "net/<model>/<train|infer>/<backend>/mb<B>/threads:<T>,\n"
           "peak/fma/threads:<T> (Google Benchmark appends /real_time).\n"
           "\n");
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "convkit-bench: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see --help)\n");
    return 2;
}

/* "1,2,4" -> ascending unique thread counts. Returns 0 on success. */
static int parse_threads(const char *text, struct ckb_config *cfg)
{
    int have[CKB_MAX_THREADS + 1] = {0};
    const char *s = text;
    while (*s) {
        char *end;
        errno = 0;
        long t = strtol(s, &end, 10);
        if (end == s || errno || t < 1 || t > CKB_MAX_THREADS || (*end && *end != ','))
            return -1;
        have[t] = 1;
        s = *end ? end + 1 : end;
    }
    cfg->n_threads = 0;
    for (int t = 1; t <= CKB_MAX_THREADS && cfg->n_threads < 64; t++)
        if (have[t])
            cfg->threads[cfg->n_threads++] = t;
    return cfg->n_threads > 0 ? 0 : -1;
}

static void default_threads(struct ckb_config *cfg)
{
    int max = ckb_max_threads();
    if (max > CKB_MAX_THREADS)
        max = CKB_MAX_THREADS;
    cfg->n_threads = 0;
    for (int t = 1; t <= max; t++) {
        int pow2 = (t & (t - 1)) == 0;
        int take = cfg->preset == CKB_PRESET_QUICK ? (t == 1 || t == max)
                                                   : (max <= 8 || pow2 || t == max);
        if (take)
            cfg->threads[cfg->n_threads++] = t;
    }
}

static void add_context(const struct ckb_config *cfg)
{
    char buf[256], key[64];
    ckb_add_context("convkit_version", ck_version());
    ckb_add_context("convkit_preset", cfg->preset == CKB_PRESET_QUICK ? "quick" : "full");
    ckb_add_context("convkit_backends", ck_backend_names(buf, sizeof buf));
    ckb_add_context("cpu_features", ck_cpu_features_str(ck_cpu_features(), buf, sizeof buf));
    buf[0] = '\0';
    for (int i = 0; i < cfg->n_threads; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%d", i ? "," : "", cfg->threads[i]);
    }
    ckb_add_context("convkit_threads", buf);
    for (int i = 0; i < cfg->n_threads; i++) {
        int t = cfg->threads[i];
        if (ckb_peak_for(cfg, t) <= 0)
            continue;
        snprintf(key, sizeof key, "peak_gflops_%dt", t);
        snprintf(buf, sizeof buf, "%.1f", ckb_peak_for(cfg, t));
        ckb_add_context(key, buf);
    }
    ckb_gemm_context();
#ifdef CKB_HAVE_ONEDNN
    ckb_onednn_context();
#endif
}

int main(int argc, char **argv)
{
    struct ckb_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.preset = CKB_PRESET_FULL;
    const char *threads_arg = NULL;
    double naive_max = -1.0;
    int peak = 1, listing = 0, has_min_time = 0;

    /* Our flags out, Google Benchmark's (and unknown ones, which it reports) kept. */
    char **gargv = ckb_xalloc(((size_t)argc + 2) * sizeof *gargv);
    int gargc = 0;
    gargv[gargc++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--quick") == 0) {
            cfg.preset = CKB_PRESET_QUICK;
        } else if (strcmp(a, "--full") == 0) {
            cfg.preset = CKB_PRESET_FULL;
        } else if (strncmp(a, "--threads=", 10) == 0) {
            threads_arg = a + 10;
        } else if (strncmp(a, "--backend=", 10) == 0) {
            cfg.backend_only = a + 10;
            if (strcmp(cfg.backend_only, "auto") != 0 && !ck_backend_find(cfg.backend_only))
                return usage_error("--backend: unknown backend '%s'", cfg.backend_only);
        } else if (strncmp(a, "--naive-max-gflop=", 18) == 0) {
            char *end;
            naive_max = strtod(a + 18, &end);
            if (end == a + 18 || *end || !(naive_max >= 0))
                return usage_error("--naive-max-gflop: '%s' is not a number >= 0", a + 18);
        } else if (strncmp(a, "--problem=", 10) == 0) {
            struct ck_conv_params p;
            char msg[256];
            if (ck_conv_problem_parse(a + 10, &p, msg, sizeof msg) != CK_OK)
                return usage_error("--problem: %s", msg);
            if (cfg.n_problems == (int)(sizeof cfg.problems / sizeof cfg.problems[0]))
                return usage_error("--problem: at most 64 problems (%s)", a + 10);
            cfg.problems[cfg.n_problems++] = a + 10;
        } else if (strcmp(a, "--no-peak") == 0) {
            peak = 0;
        } else {
            if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
                strncmp(a, "--benchmark_list_tests", 22) == 0)
                listing = 1;
            if (strncmp(a, "--benchmark_min_time", 20) == 0)
                has_min_time = 1;
            gargv[gargc++] = argv[i];
        }
    }
    if (threads_arg && parse_threads(threads_arg, &cfg) != 0)
        return usage_error("--threads: '%s' is not a list of counts in 1..256", threads_arg);
    if (!threads_arg)
        default_threads(&cfg);
    int quick = cfg.preset == CKB_PRESET_QUICK;
    cfg.naive_max_gflop = naive_max >= 0 ? naive_max : quick ? 0.1 : 0.7;
    cfg.ref_max_gflop = quick ? 0.02 : 0.05;
    /* Presets choose a shorter default measuring time than Google Benchmark's 0.5 s. */
    if (!has_min_time)
        gargv[gargc++] = quick ? "--benchmark_min_time=0.05" : "--benchmark_min_time=0.2";
    gargv[gargc] = NULL;

    if (peak && !listing) { /* not for --help or a listing */
        ckb_peak_measure_all(&cfg, 0.4);
        for (int i = 0; i < cfg.n_threads; i++)
            fprintf(stderr, "convkit-bench: FMA peak %d thread%s: %.1f GFLOP/s\n",
                    cfg.threads[i], cfg.threads[i] > 1 ? "s" : "",
                    ckb_peak_for(&cfg, cfg.threads[i]));
    }
    add_context(&cfg);
    ckb_register_conv_sweeps(&cfg);
    ckb_register_gemm(&cfg);
    ckb_register_net(&cfg);
    ckb_register_peak(&cfg); /* last: a busy host shows as a lower peak than at start */

    int rc = ckb_run(&gargc, gargv, usage);
    if (rc == 0 && ckb_failure_count() > 0) {
        fprintf(stderr, "convkit-bench: %d case(s) FAILED (see their error messages)\n",
                ckb_failure_count());
        rc = 1;
    }
    ckb_conv_cleanup();
#ifdef CKB_HAVE_ONEDNN
    ckb_onednn_cleanup();
#endif
    ckb_gemm_cleanup();
    ckb_net_cleanup();
    free(gargv);
    return rc;
}
