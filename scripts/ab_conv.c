/* ab_conv.c - an in-process A/B timing of one convolution in two builds of libconvkit.so.
 *
 *   ab_conv LIB_A.so LIB_B.so DESC fwd|bwd_data|bwd_weights THREADS ROUNDS [BACKEND]
 *
 * THREADS is one count for both sides, or TA:TB for a count each: with the same library
 * on both sides, 1:2 times one thread against two, pair by pair (B/A is then 1 over the
 * 2-thread speedup).
 *
 * Both libraries are loaded into one process (RTLD_LOCAL | RTLD_DEEPBIND, so their
 * symbols stay apart) and called alternately on the same tensors, A then B, then B then A,
 * ROUNDS times after two warm-up rounds; each call is timed. Prints each side's median and
 * minimum and the median (and quartiles) of the per-round ratio B/A: calls milliseconds
 * apart see the same host, so a 2% difference shows through load that moves separate runs
 * by 10%. With AB_CONV_RAW set it prints every round's two times instead, for
 * scripts/ab-conv.sh to combine several processes. Only timing: no correctness check (the
 * test suite does that), and no allocation inside the timed calls (workspaces are sized
 * and allocated up front). A development tool, not part of the library or the benchmark
 * suite.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "convkit/convkit.h"

typedef enum ck_status (*parse_fn)(const char *, struct ck_conv_params *, char *, size_t);
typedef size_t (*numel_fn)(const struct ck_conv_params *);
typedef const struct ck_conv_backend *(*find_fn)(const char *);
typedef size_t (*ws_fn)(const struct ck_conv_backend *, const struct ck_conv_params *,
                        enum ck_conv_pass);
typedef enum ck_status (*fwd_fn)(const struct ck_conv_backend *, const struct ck_conv_params *,
                                 const float *, const float *, const float *, float *, void *,
                                 size_t);
typedef enum ck_status (*bd_fn)(const struct ck_conv_backend *, const struct ck_conv_params *,
                                const float *, const float *, float *, void *, size_t);
typedef enum ck_status (*bw_fn)(const struct ck_conv_backend *, const struct ck_conv_params *,
                                const float *, const float *, float *, float *, void *, size_t);

struct side {
    fwd_fn fwd;
    bd_fn bd;
    bw_fn bw;
    const struct ck_conv_backend *be;
    void *ws;
    size_t ws_size;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void *need(void *p, const char *what)
{
    if (!p) {
        fprintf(stderr, "ab_conv: %s\n", what);
        exit(1);
    }
    return p;
}

static float *filled(size_t n, unsigned mul)
{
    float *a = need(aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64), "out of memory");
    for (size_t i = 0; i < n; i++)
        a[i] = (float)((i * mul) % 1000) / 1000.0f - 0.5f;
    return a;
}

static void *open_lib(const char *path)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!h) {
        fprintf(stderr, "ab_conv: %s: %s\n", path, dlerror());
        exit(2);
    }
    return h;
}

static void load(struct side *s, void *h, const char *path, const char *backend,
                 const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    find_fn find = (find_fn)dlsym(h, "ck_backend_find");
    ws_fn ws = (ws_fn)dlsym(h, "ck_conv_workspace_size");
    s->fwd = (fwd_fn)dlsym(h, "ck_conv_forward");
    s->bd = (bd_fn)dlsym(h, "ck_conv_backward_data");
    s->bw = (bw_fn)dlsym(h, "ck_conv_backward_weights");
    if (!find || !ws || !s->fwd || !s->bd || !s->bw) {
        fprintf(stderr, "ab_conv: %s: not a convkit library\n", path);
        exit(2);
    }
    s->be = find(backend);
    if (!s->be) {
        fprintf(stderr, "ab_conv: %s: no backend '%s'\n", path, backend);
        exit(2);
    }
    s->ws_size = ws(s->be, p, pass);
    s->ws = s->ws_size ? need(aligned_alloc(64, (s->ws_size + 63) / 64 * 64), "out of memory")
                       : NULL;
    if (s->ws)
        memset(s->ws, 0, s->ws_size);
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: ab_conv LIB_A.so LIB_B.so DESC fwd|bwd_data|bwd_weights "
                        "THREADS ROUNDS [BACKEND]\n");
        return 2;
    }
    void *h[2] = {open_lib(argv[1]), open_lib(argv[2])};
    /* problem parsing and tensor sizes: library A's */
    parse_fn parse = (parse_fn)dlsym(h[0], "ck_conv_problem_parse");
    numel_fn x_numel = (numel_fn)dlsym(h[0], "ck_conv_x_numel");
    numel_fn w_numel = (numel_fn)dlsym(h[0], "ck_conv_w_numel");
    numel_fn y_numel = (numel_fn)dlsym(h[0], "ck_conv_y_numel");
    if (!parse || !x_numel || !w_numel || !y_numel) {
        fprintf(stderr, "ab_conv: %s: not a convkit library\n", argv[1]);
        return 2;
    }
    struct ck_conv_params p;
    char msg[256];
    if (parse(argv[3], &p, msg, sizeof msg) != CK_OK) {
        fprintf(stderr, "ab_conv: %s: %s\n", argv[3], msg);
        return 2;
    }
    const int pass = !strcmp(argv[4], "fwd") ? 0 : !strcmp(argv[4], "bwd_data") ? 1
                     : !strcmp(argv[4], "bwd_weights") ? 2 : -1;
    int threads[2] = {0, 0}, used = 0;
    const int nthr = sscanf(argv[5], "%d%n:%d%n", &threads[0], &used, &threads[1], &used);
    if (nthr == 1)
        threads[1] = threads[0];
    const int rounds = atoi(argv[6]);
    if (pass < 0 || nthr < 1 || argv[5][used] || threads[0] < 1 || threads[1] < 1 ||
        rounds < 1) {
        fprintf(stderr, "ab_conv: the pass is fwd, bwd_data or bwd_weights; THREADS (T or "
                        "TA:TB) and ROUNDS are positive\n");
        return 2;
    }
    struct side s[2];
    for (int i = 0; i < 2; i++)
        load(&s[i], h[i], argv[1 + i], argc > 7 ? argv[7] : "avx2", &p, (enum ck_conv_pass)pass);
    const size_t nx = x_numel(&p), nw = w_numel(&p), ny = y_numel(&p);
    float *x = filled(nx, 7919), *w = filled(nw, 104729), *dy = filled(ny, 7877);
    float *bias = filled((size_t)p.K, 3), *db = filled((size_t)p.K, 5);
    float *out = filled(nx > ny ? (nx > nw ? nx : nw) : (ny > nw ? ny : nw), 1);
    double *t[2], *ratio = need(malloc(sizeof(double) * rounds), "out of memory");
    for (int i = 0; i < 2; i++)
        t[i] = need(malloc(sizeof(double) * rounds), "out of memory");
    for (int r = -2; r < rounds; r++)
        for (int k = 0; k < 2; k++) {
            const int i = (r & 1) ? 1 - k : k; /* A B, B A, A B, ... */
            const struct side *v = &s[i];
#ifdef _OPENMP
            omp_set_num_threads(threads[i]);
#endif
            const double t0 = now();
            enum ck_status st =
                pass == 0   ? v->fwd(v->be, &p, x, w, bias, out, v->ws, v->ws_size)
                : pass == 1 ? v->bd(v->be, &p, dy, w, out, v->ws, v->ws_size)
                            : v->bw(v->be, &p, x, dy, out, db, v->ws, v->ws_size);
            const double dt = now() - t0;
            if (st != CK_OK) {
                fprintf(stderr, "ab_conv: %s: %s failed (status %d)\n", argv[1 + i], argv[4],
                        (int)st);
                return 1;
            }
            if (r >= 0)
                t[i][r] = dt;
        }
    for (int r = 0; r < rounds; r++)
        ratio[r] = t[1][r] / t[0][r];
    const double gflop = 2.0 * (double)ny * (p.C / p.groups) * p.R * p.S * 1e-9;
    if (getenv("AB_CONV_RAW")) { /* for ab-conv.sh --procs: every round, then no summary */
        printf("gflop %.9g\n", gflop);
        for (int r = 0; r < rounds; r++)
            printf("round %.9g %.9g\n", t[0][r], t[1][r]);
        return 0;
    }
    qsort(t[0], rounds, sizeof(double), cmp);
    qsort(t[1], rounds, sizeof(double), cmp);
    qsort(ratio, rounds, sizeof(double), cmp);
    printf("%s %s %sT: A %.3f ms (%.1f GFLOP/s, min %.3f) | B %.3f ms (%.1f GFLOP/s, min %.3f)"
           " | B/A %.4f [%.4f, %.4f]\n",
           argv[3], argv[4], argv[5], t[0][rounds / 2] * 1e3, gflop / t[0][rounds / 2],
           t[0][0] * 1e3, t[1][rounds / 2] * 1e3, gflop / t[1][rounds / 2], t[1][0] * 1e3,
           ratio[rounds / 2], ratio[rounds / 4], ratio[3 * rounds / 4]);
    return 0;
}
