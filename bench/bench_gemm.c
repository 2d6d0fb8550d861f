/* bench_gemm.c - single-precision GEMM cases gemm/<library>/<M>x<N>x<K>[_tn|_nt]/threads:<T>:
 * C[M][N] = op(A)[M][K] * op(B)[K][N], row-major, alpha 1, beta 0; "_tn" stores A
 * transposed (K x M, the backward-data GEMM of a lowered convolution), "_nt" stores B
 * transposed (N x K, the backward-weights GEMM); no suffix: no transposes.
 *
 * convkit's own ck_sgemm (src/gemm.h) is benchmarked when the build found it
 * (CKB_HAVE_CONVKIT_GEMM). OpenBLAS and BLIS are reference points only: their paths are
 * found at configure time (CKB_OPENBLAS_PATH / CKB_BLIS_PATH) and they are dlopen'ed at
 * run time with private symbols, because both export the same cblas_sgemm. They are
 * loaded with RTLD_DEEPBIND: libconvkit links OpenBLAS for im2col-blas, so without it
 * BLIS's cblas_sgemm would call OpenBLAS's sgemm_ through the global namespace (and
 * "blis" would time OpenBLAS at OpenBLAS's thread count). A library that fails to load
 * is registered anyway and skipped with the loader's message.
 */
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "check.h"
#include "convkit/backend.h"
#include "shim.h"
#ifdef CKB_HAVE_CONVKIT_GEMM
#include "gemm.h"
#endif

/* cblas_sgemm(order, transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc). */
typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

enum gemm_lib { LIB_CONVKIT, LIB_OPENBLAS, LIB_BLIS, LIB_COUNT };
static const char *const lib_names[LIB_COUNT] = {"convkit", "openblas", "blis"};

struct blas_lib {
    int tried;
    void *handle;
    cblas_sgemm_fn sgemm;
    void (*set_threads_int)(int);     /* openblas_set_num_threads */
    void (*set_threads_i64)(int64_t); /* bli_thread_set_num_threads (dim_t) */
    char error[256];
};
static struct blas_lib libs[LIB_COUNT];

struct gemm_case {
    int M, N, K, threads;
    int ta, tb; /* A stored K x M / B stored N x K */
    enum gemm_lib lib;
    const struct ckb_config *cfg;
    struct gemm_case *next;
};
static struct gemm_case *all_cases;

static const char *lib_path(enum gemm_lib lib)
{
#ifdef CKB_OPENBLAS_PATH
    if (lib == LIB_OPENBLAS)
        return CKB_OPENBLAS_PATH;
#endif
#ifdef CKB_BLIS_PATH
    if (lib == LIB_BLIS)
        return CKB_BLIS_PATH;
#endif
    (void)lib;
    return NULL;
}

/* Load lib (openblas or blis) once; on failure l->error says why. */
static struct blas_lib *load(enum gemm_lib lib)
{
    if (lib != LIB_OPENBLAS && lib != LIB_BLIS)
        return NULL;
    struct blas_lib *l = &libs[lib];
    if (l->tried)
        return l;
    l->tried = 1;
    const char *path = lib_path(lib);
    l->handle = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND) : NULL;
    if (!l->handle) {
        snprintf(l->error, sizeof l->error, "cannot load %s: %s", lib_names[lib],
                 path ? dlerror() : "not found at configure time");
        return l;
    }
    *(void **)&l->sgemm = dlsym(l->handle, "cblas_sgemm");
    if (!l->sgemm)
        snprintf(l->error, sizeof l->error, "%s has no cblas_sgemm", path);
    if (lib == LIB_OPENBLAS)
        *(void **)&l->set_threads_int = dlsym(l->handle, "openblas_set_num_threads");
    else
        *(void **)&l->set_threads_i64 = dlsym(l->handle, "bli_thread_set_num_threads");
    return l;
}

/* fp64 reference of the first `rows` rows of C, and their max relative error. */
static double gemm_error(const struct gemm_case *g, const float *a, const float *b,
                         const float *c, int rows)
{
    size_t n = (size_t)rows * (size_t)g->N;
    double *ref = ckb_xalloc(n * sizeof(double));
    const size_t M = (size_t)g->M, N = (size_t)g->N, K = (size_t)g->K;
    for (size_t i = 0; i < (size_t)rows; i++) {
        double *r = ref + i * N;
        for (size_t j = 0; j < N; j++)
            r[j] = 0.0;
        for (size_t k = 0; k < K; k++) {
            double aik = g->ta ? a[k * M + i] : a[i * K + k];
            if (g->tb)
                for (size_t j = 0; j < N; j++)
                    r[j] += aik * b[j * K + k];
            else
                for (size_t j = 0; j < N; j++)
                    r[j] += aik * b[k * N + j];
        }
    }
    double err = ckt_max_rel_err(c, ref, n, NULL, 0, INFINITY);
    free(ref);
    return err;
}

/* C = A * B with the case's library. */
static enum ck_status gemm_call(const struct gemm_case *g, const struct blas_lib *l,
                                const float *a, const float *b, float *c, void *ws,
                                size_t ws_size)
{
    const int lda = g->ta ? g->M : g->K, ldb = g->tb ? g->K : g->N;
    if (l) {
        l->sgemm(CBLAS_ROW_MAJOR, g->ta ? CBLAS_TRANS : CBLAS_NO_TRANS,
                 g->tb ? CBLAS_TRANS : CBLAS_NO_TRANS, g->M, g->N, g->K, 1.0f, a, lda, b, ldb,
                 0.0f, c, g->N);
        return CK_OK;
    }
#ifdef CKB_HAVE_CONVKIT_GEMM
    return ck_sgemm(g->ta ? CK_GEMM_TRANS : CK_GEMM_NOTRANS,
                    g->tb ? CK_GEMM_TRANS : CK_GEMM_NOTRANS, g->M, g->N, g->K, 1.0f, a, lda, b,
                    ldb, 0.0f, c, g->N, ws, ws_size);
#else
    (void)ws;
    (void)ws_size;
    return CK_ERR_UNSUPPORTED;
#endif
}

/* Rows of C checked against fp64: about ref_max_gflop of reference work. */
static int ref_rows(const struct gemm_case *g)
{
    double per_row = 2.0 * g->N * (double)g->K * 1e-9;
    int rows = (int)(g->cfg->ref_max_gflop / per_row);
    return rows < 1 ? 1 : rows > g->M ? g->M : rows;
}

static void case_gemm(struct ckb_state *st, void *arg)
{
    const struct gemm_case *g = arg;
    struct blas_lib *l = NULL;
    ckb_set_threads(g->threads);
    if (g->lib != LIB_CONVKIT) {
        l = load(g->lib);
        if (!l || !l->sgemm) {
            ckb_skip(st, "%s", l ? l->error : "unknown library");
            return;
        }
        if (l->set_threads_int)
            l->set_threads_int(g->threads);
        if (l->set_threads_i64)
            l->set_threads_i64(g->threads);
    }
    size_t na = (size_t)g->M * g->K, nb = (size_t)g->K * g->N, nc = (size_t)g->M * g->N;
    float *a = ck_aligned_alloc(na * sizeof(float)), *b = ck_aligned_alloc(nb * sizeof(float));
    float *c = ck_aligned_alloc(nc * sizeof(float));
    size_t ws_size = 0;
    void *ws = NULL;
#ifdef CKB_HAVE_CONVKIT_GEMM
    if (g->lib == LIB_CONVKIT) {
        ws_size = ck_sgemm_workspace_size(g->M, g->N, g->K);
        ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    }
#endif
    if (!a || !b || !c || (ws_size && !ws)) {
        ckb_skip(st, "out of memory");
        goto cleanup;
    }
    ckt_fill_uniform(a, na, 21, -1.0f, 1.0f);
    ckt_fill_uniform(b, nb, 22, -1.0f, 1.0f);
    ckt_fill_nan(c, nc);

    /* One untimed call (warm-up; its result is checked below), then the timed loop. */
    enum ck_status s = gemm_call(g, l, a, b, c, ws, ws_size);
    if (s != CK_OK) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: ck_sgemm returned %s", ck_status_str(s));
        goto cleanup;
    }
    double err = gemm_error(g, a, b, c, ref_rows(g));
    if (!isfinite(err)) {
        ckb_note_failure();
        ckb_skip(st, "FAILED: the result has NaN/Inf or unwritten elements");
        goto cleanup;
    }
    double local = ckb_peak_local(g->cfg, g->threads);
    while (ckb_keep_running(st)) {
        gemm_call(g, l, a, b, c, ws, ws_size);
        ckb_do_not_optimize(c);
    }

    double gflop = 2.0 * g->M * g->N * (double)g->K * 1e-9;
    ckb_counter_rate(st, "GFLOPS", gflop);
    ckb_peak_counters(st, g->cfg, g->threads, gflop, local);
    ckb_counter_value(st, "workspace_bytes", (double)ws_size);
    ckb_counter_value(st, "max_rel_err", err);

cleanup:
    ck_aligned_free(ws);
    ck_aligned_free(a);
    ck_aligned_free(b);
    ck_aligned_free(c);
}

void ckb_gemm_context(void)
{
    char text[128] = "";
#ifdef CKB_HAVE_CONVKIT_GEMM
    strcat(text, "convkit ");
#endif
    if (lib_path(LIB_OPENBLAS))
        strcat(text, "openblas ");
    if (lib_path(LIB_BLIS))
        strcat(text, "blis ");
    ckb_add_context("gemm_libraries", text[0] ? text : "none");
}

void ckb_register_gemm(const struct ckb_config *cfg)
{
    /* {M, N, K, A transposed, B transposed}. Square sizes, then convolution-shaped ones:
     * the seed CNN's conv2 (mb64ic32ih16oc64kh3ph1) and conv1 (mb64ic3ih32oc32kh3ph1)
     * lowered with the batch folded into N - forward Kout x (N*P*Q) x (C*R*S),
     * backward-data (C*R*S) x (N*P*Q) x Kout with A transposed, backward-weights
     * Kout x (C*R*S) x (N*P*Q) with B transposed - and a ResNet 3x3 per image. */
    static const int quick_shapes[][5] = {{256, 256, 256, 0, 0}, {64, 4096, 288, 0, 0}};
    static const int full_shapes[][5] = {
        {256, 256, 256, 0, 0},    {512, 512, 512, 0, 0},     {1024, 1024, 1024, 0, 0},
        {2048, 2048, 2048, 0, 0}, {64, 16384, 288, 0, 0},    {288, 16384, 64, 1, 0},
        {64, 288, 16384, 0, 1},   {32, 65536, 27, 0, 0},     {27, 65536, 32, 1, 0},
        {32, 27, 65536, 0, 1},    {128, 784, 1152, 0, 0}};
    int quick = cfg->preset == CKB_PRESET_QUICK;
    size_t n_shapes = quick ? sizeof quick_shapes / sizeof quick_shapes[0]
                            : sizeof full_shapes / sizeof full_shapes[0];
    for (size_t si = 0; si < n_shapes; si++) {
        const int *s = quick ? quick_shapes[si] : full_shapes[si];
        for (int lib = 0; lib < LIB_COUNT; lib++) {
#ifndef CKB_HAVE_CONVKIT_GEMM
            if (lib == LIB_CONVKIT)
                continue;
#endif
            if (lib != LIB_CONVKIT && !lib_path((enum gemm_lib)lib))
                continue; /* not found at configure time: not part of this build */
            for (int ti = 0; ti < cfg->n_threads; ti++) {
                struct gemm_case *g = ckb_xalloc(sizeof *g);
                *g = (struct gemm_case){s[0], s[1], s[2], cfg->threads[ti], s[3], s[4],
                                        (enum gemm_lib)lib, cfg, all_cases};
                all_cases = g;
                char name[128];
                snprintf(name, sizeof name, "gemm/%s/%dx%dx%d%s/threads:%d", lib_names[lib],
                         s[0], s[1], s[2], s[3] ? "_tn" : s[4] ? "_nt" : "", g->threads);
                ckb_case_real_time(ckb_register(name, case_gemm, g));
            }
        }
    }
}

void ckb_gemm_cleanup(void)
{
    while (all_cases) {
        struct gemm_case *next = all_cases->next;
        free(all_cases);
        all_cases = next;
    }
    /* The BLAS libraries stay loaded: unloading OpenBLAS while its threads live is unsafe. */
}
