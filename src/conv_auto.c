/* conv_auto.c - backend "auto": per (problem, pass), forward to the backend a wisdom
 * table or a fixed heuristic picks, and say why.
 *
 * The heuristic's order comes from convkit-bench on the project machine (see the README's
 * benchmark section): Winograd F(4x4,3x3) beats every direct method on 3x3 stride-1
 * layers with enough channels; im2col+GEMM wins the backward-data pass of first layers
 * and of 1x1 stride-1 layers on images above 16x16; the AVX2 direct backend beats
 * im2col+GEMM almost everywhere else; im2col is the portable fallback; naive only if
 * nothing else runs.
 * Measuring (ck_auto_tune) is explicit and fills the wisdom table. Does not itself
 * compute any convolution.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convkit/autotune.h"
#include "convkit/io.h"
#include "convkit/rng.h"
#include "fileutil.h"
#include "internal.h"

/* ---- wisdom table ---------------------------------------------------------------------- */

struct wisdom {
    char desc[96];
    enum ck_conv_pass pass;
    const struct ck_conv_backend *backend;
    double ms;
};

static struct wisdom *table;
static size_t table_len, table_cap;

void ck_auto_wisdom_clear(void)
{
    free(table);
    table = NULL;
    table_len = table_cap = 0;
}

size_t ck_auto_wisdom_count(void)
{
    return table_len;
}

static struct wisdom *wisdom_find(const char *desc, enum ck_conv_pass pass)
{
    for (size_t i = 0; i < table_len; i++)
        if (table[i].pass == pass && strcmp(table[i].desc, desc) == 0)
            return &table[i];
    return NULL;
}

static enum ck_status wisdom_put(const char *desc, enum ck_conv_pass pass,
                                 const struct ck_conv_backend *b, double ms)
{
    struct wisdom *w = wisdom_find(desc, pass);
    if (!w) {
        if (table_len == table_cap) {
            size_t cap = table_cap ? 2 * table_cap : 32;
            struct wisdom *t = realloc(table, cap * sizeof *t);
            if (!t)
                return CK_ERR_OUT_OF_MEMORY;
            table = t;
            table_cap = cap;
        }
        w = &table[table_len++];
        snprintf(w->desc, sizeof w->desc, "%s", desc);
        w->pass = pass;
    }
    w->backend = b;
    w->ms = ms;
    return CK_OK;
}

/* ---- the heuristic ------------------------------------------------------------------------ */

/* First backend of `names` that exists and supports the problem; NULL if none. */
static const struct ck_conv_backend *first_supporting(const char *const *names, size_t n,
                                                      const struct ck_conv_params *p,
                                                      enum ck_conv_pass pass)
{
    for (size_t i = 0; i < n; i++) {
        const struct ck_conv_backend *b = ck_backend_find(names[i]);
        if (b && ck_backend_supports(b, p, pass, NULL, 0) == CK_OK)
            return b;
    }
    return NULL;
}

static void heuristic(const struct ck_conv_params *p, enum ck_conv_pass pass,
                      struct ck_auto_choice *out)
{
    const int cg = p->C / p->groups, kg = p->K / p->groups;
    const int wino_shape = p->R == 3 && p->S == 3 && p->stride_h == 1 && p->stride_w == 1 &&
                           p->dilation_h == 1 && p->dilation_w == 1;
    /* Winograd's transforms cost O(C+K) per tile against O(C*K) saved multiplies: it pays
     * once both channel counts are moderate; below that the direct kernel wins. */
    if (wino_shape && cg >= 16 && kg >= 16) {
        static const char *const w[] = {"winograd"};
        if ((out->backend = first_supporting(w, 1, p, pass))) {
            ck__msg(out->reason, sizeof out->reason,
                    "heuristic: 3x3 stride 1 with %d->%d channels per group: Winograd does "
                    "fewer multiplies than any direct method", cg, kg);
            return;
        }
    }
    /* Measured on the project machine (docs/bench/sweep.md, 2026-11-25): backward-data
     * goes to im2col for layers with fewer than 8 input channels per group, whose 8-wide
     * channel blocks the direct kernel would mostly waste (im2col won all 40 such layers
     * with batch >= 8 that are not 1x1 stride-1, by 1.6x or more), and for 1x1 stride-1
     * layers on images above 16x16 with >= 8 channels (one plain GEMM, no col2im: it won
     * or tied 6 of 9 at 1 thread). The direct kernel's in-place 1x1 path wins the smaller
     * images (all 5 at 16x16 or less, by 19-69%) and the 1x1 layers with < 8 channels
     * (all 3, 1.4-2.7x). Forward and backward-weights of 1x1 layers stay direct. Since
     * 2026-12-07 the direct kernel runs the stride-1 layers with 2-7 channels per group
     * with pixels in the vector lanes and wins their backward-data (Intel host, 9 layers,
     * 1.1-2.3x over im2col at 1 thread); with 1 channel it still loses (0.5x). */
    const int pointwise = p->R == 1 && p->S == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                          p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 &&
                          p->pad_right == 0;
    const int big_pointwise = pointwise && cg >= 8 && (long long)p->H * p->W > 256;
    const int lanes = cg >= 2 && p->stride_h == 1 && p->stride_w == 1;
    if (pass == CK_PASS_BACKWARD_DATA && (big_pointwise || (!pointwise && cg < 8 && !lanes))) {
        static const char *const g[] = {"im2col"};
        if ((out->backend = first_supporting(g, 1, p, pass))) {
            if (big_pointwise)
                ck__msg(out->reason, sizeof out->reason,
                        "heuristic: backward-data of a 1x1 stride-1 layer on %dx%d images is "
                        "one packed GEMM, no col2im", p->H, p->W);
            else
                ck__msg(out->reason, sizeof out->reason,
                        "heuristic: backward-data with %d input channels per group: the GEMM "
                        "keeps its tiles full, the direct kernel's 8-wide channel blocks would "
                        "be mostly empty", cg);
            return;
        }
    }
    static const char *const direct[] = {"avx2"};
    if ((out->backend = first_supporting(direct, 1, p, pass))) {
        ck__msg(out->reason, sizeof out->reason,
                "heuristic: AVX2 direct convolution (no lowering, register-blocked)");
        return;
    }
    static const char *const gemm[] = {"im2col"};
    if ((out->backend = first_supporting(gemm, 1, p, pass))) {
        ck__msg(out->reason, sizeof out->reason,
                "heuristic: im2col + packed GEMM (the AVX2 direct backend is unavailable%s)",
                ck_backend_find("avx2") ? " here or refuses this problem" : "");
        return;
    }
    out->backend = &ck_backend_naive;
    ck__msg(out->reason, sizeof out->reason, "heuristic: no faster backend runs this problem");
}

enum ck_status ck_auto_choose(const struct ck_conv_params *p, enum ck_conv_pass pass,
                              struct ck_auto_choice *out)
{
    if (!out || (unsigned)pass >= CK_PASS_COUNT || ck_conv_check(p, NULL, 0) != CK_OK)
        return CK_ERR_INVALID_ARGUMENT;
    char desc[96];
    ck_conv_problem_format(p, desc, sizeof desc);
    const struct wisdom *w = wisdom_find(desc, pass);
    if (w && ck_backend_supports(w->backend, p, pass, NULL, 0) == CK_OK) {
        out->backend = w->backend;
        ck__msg(out->reason, sizeof out->reason, "wisdom: measured fastest (%.3f ms)", w->ms);
        return CK_OK;
    }
    heuristic(p, pass, out);
    return CK_OK;
}

/* ---- measuring ------------------------------------------------------------------------------ */

#define CK_AUTO_MAX_CANDIDATES 16 /* backends raced by ck_auto_tune (the registry has 9) */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static enum ck_status run_pass(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                               enum ck_conv_pass pass, const float *x, const float *w,
                               const float *dy, float *out, float *db, void *ws, size_t ws_size)
{
    if (pass == CK_PASS_FORWARD)
        return ck_conv_forward(b, p, x, w, db, out, ws, ws_size);
    if (pass == CK_PASS_BACKWARD_DATA)
        return ck_conv_backward_data(b, p, dy, w, out, ws, ws_size);
    return ck_conv_backward_weights(b, p, x, dy, out, db, ws, ws_size);
}

enum ck_status ck_auto_tune(const struct ck_conv_params *p, enum ck_conv_pass pass,
                            int repeats, struct ck_auto_choice *out, char *msg,
                            size_t msg_len)
{
    const struct ck_conv_backend *cand[CK_AUTO_MAX_CANDIDATES];
    void *ws[CK_AUTO_MAX_CANDIDATES] = {0};
    size_t ws_size[CK_AUTO_MAX_CANDIDATES];
    double ms[CK_AUTO_MAX_CANDIDATES];
    int n = 0;
    enum ck_status st = ck_conv_check(p, msg, msg_len);
    if (st != CK_OK)
        return st;
    if (!out || (unsigned)pass >= CK_PASS_COUNT || repeats < 1) {
        ck__msg(msg, msg_len, "autotune: bad arguments");
        return CK_ERR_INVALID_ARGUMENT;
    }
    const size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    const size_t nout = CK_MAX(CK_MAX(nx, nw), ny);
    float *x = ck_aligned_alloc(nx * sizeof(float)), *w = ck_aligned_alloc(nw * sizeof(float));
    float *dy = ck_aligned_alloc(ny * sizeof(float)), *o = ck_aligned_alloc(nout * sizeof(float));
    float *db = ck_aligned_alloc((size_t)p->K * sizeof(float));
    if (!x || !w || !dy || !o || !db) {
        ck__msg(msg, msg_len, "autotune: out of memory");
        st = CK_ERR_OUT_OF_MEMORY;
        goto done;
    }
    struct ck_rng r;
    ck_rng_init(&r, 0x5eed, CK_RNG_STREAM_INIT);
    for (size_t i = 0; i < nx; i++)
        x[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < nw; i++)
        w[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
    for (size_t i = 0; i < ny; i++)
        dy[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
    for (int k = 0; k < p->K; k++)
        db[k] = 0.0f;

    /* Candidates: every real backend but naive that supports p (naive only if none
     * does). Each gets its workspace and one warm-up call; then the timed calls go
     * round-robin, one per candidate per round, so a burst of load on a shared host
     * hits them all alike, and each keeps its fastest call. */
    for (int round = 0; round < 2 && n == 0; round++)
        for (size_t i = 0; i < ck_backend_count() && n < CK_AUTO_MAX_CANDIDATES; i++) {
            const struct ck_conv_backend *b = ck_backend_get(i);
            int is_naive = b == &ck_backend_naive;
            if (b == &ck_backend_auto || is_naive != (round == 1) ||
                ck_backend_supports(b, p, pass, NULL, 0) != CK_OK)
                continue;
            ws_size[n] = ck_conv_workspace_size(b, p, pass);
            ws[n] = ws_size[n] ? ck_aligned_alloc(ws_size[n]) : NULL;
            if (ws_size[n] && !ws[n]) {
                ck__msg(msg, msg_len, "autotune: out of memory for %s's workspace", b->name);
                st = CK_ERR_OUT_OF_MEMORY;
                goto done;
            }
            cand[n] = b;
            ms[n] = run_pass(b, p, pass, x, w, dy, o, db, ws[n], ws_size[n]) == CK_OK
                        ? INFINITY : -1.0; /* < 0: failed, out of the race */
            n++;
        }
    for (int rep = 0; rep < repeats; rep++)
        for (int i = 0; i < n; i++) {
            if (ms[i] < 0.0)
                continue;
            double t0 = now_s();
            run_pass(cand[i], p, pass, x, w, dy, o, db, ws[i], ws_size[i]);
            ms[i] = CK_MIN(ms[i], 1e3 * (now_s() - t0));
        }
    const struct ck_conv_backend *best = NULL;
    double best_ms = INFINITY;
    for (int i = 0; i < n; i++)
        if (ms[i] >= 0.0 && ms[i] < best_ms) {
            best_ms = ms[i];
            best = cand[i];
        }
    if (!best) {
        ck__msg(msg, msg_len, "autotune: no backend could run the problem");
        st = CK_ERR_UNSUPPORTED;
        goto done;
    }
    char desc[96];
    ck_conv_problem_format(p, desc, sizeof desc);
    if ((st = wisdom_put(desc, pass, best, best_ms)) != CK_OK) {
        ck__msg(msg, msg_len, "autotune: out of memory");
        goto done;
    }
    out->backend = best;
    ck__msg(out->reason, sizeof out->reason, "autotune: measured fastest (%.3f ms)", best_ms);
done:
    for (int i = 0; i < n; i++)
        ck_aligned_free(ws[i]);
    ck_aligned_free(x);
    ck_aligned_free(w);
    ck_aligned_free(dy);
    ck_aligned_free(o);
    ck_aligned_free(db);
    return st;
}

/* ---- wisdom files ------------------------------------------------------------------------------ */

enum ck_status ck_auto_wisdom_load(const char *path, char *msg, size_t msg_len)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) {
        ck__msg(msg, msg_len, "wisdom '%s': cannot open", path ? path : "(null)");
        return CK_ERR_IO;
    }
    char line[512];
    int lineno = 0;
    enum ck_status st = CK_OK;
    while (st == CK_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line + strspn(line, " \t");
        if (*s == '#' || *s == '\n' || *s == '\0')
            continue;
        char desc[96], pass_name[32], bname[64], extra[2];
        double ms;
        struct ck_conv_params p;
        enum ck_conv_pass pass;
        if (sscanf(s, "%95s %31s %63s %lf %1s", desc, pass_name, bname, &ms, extra) != 4 ||
            ck_conv_problem_parse(desc, &p, NULL, 0) != CK_OK ||
            ck_conv_pass_parse(pass_name, &pass) != CK_OK || !(ms >= 0.0)) {
            ck__msg(msg, msg_len, "wisdom '%s' line %d: expected '<descriptor> <pass> "
                    "<backend> <ms>'", path, lineno);
            st = CK_ERR_CORRUPT_DATA;
            break;
        }
        const struct ck_conv_backend *b = ck_backend_find(bname);
        if (b && b != &ck_backend_auto)
            st = wisdom_put(desc, pass, b, ms);
    }
    if (st == CK_OK && ferror(f)) {
        ck__msg(msg, msg_len, "wisdom '%s': read error", path);
        st = CK_ERR_IO;
    }
    fclose(f);
    return st;
}

static int cmp_wisdom(const void *a, const void *b)
{
    const struct wisdom *x = a, *y = b;
    int c = strcmp(x->desc, y->desc);
    return c ? c : (int)x->pass - (int)y->pass;
}

enum ck_status ck_auto_wisdom_save(const char *path, char *msg, size_t msg_len)
{
    if (!path) {
        ck__msg(msg, msg_len, "wisdom: no file name");
        return CK_ERR_INVALID_ARGUMENT;
    }
    qsort(table, table_len, sizeof *table, cmp_wisdom);
    size_t tmp_len = strlen(path) + 64;
    char *tmp = malloc(tmp_len);
    if (!tmp)
        return CK_ERR_OUT_OF_MEMORY;
    FILE *f;
    enum ck_status st = ck__stage_open(path, &f, tmp, tmp_len, msg, msg_len);
    if (st == CK_OK) {
        fprintf(f, "# convkit wisdom: <descriptor> <pass> <backend> <fastest_ms>\n");
        for (size_t i = 0; i < table_len; i++)
            fprintf(f, "%s %s %s %.4f\n", table[i].desc, ck_conv_pass_name(table[i].pass),
                    table[i].backend->name, table[i].ms);
        st = ck__stage_close(f, path, tmp, msg, msg_len);
    }
    if (st == CK_OK)
        st = ck_file_commit(tmp, path, msg, msg_len);
    free(tmp);
    return st;
}

/* ---- the backend table ------------------------------------------------------------------------ */

static const struct ck_conv_backend *chosen(const struct ck_conv_params *p,
                                            enum ck_conv_pass pass)
{
    struct ck_auto_choice c;
    return ck_auto_choose(p, pass, &c) == CK_OK ? c.backend : NULL;
}

static enum ck_status auto_supports(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                    char *why, size_t why_len)
{
    const struct ck_conv_backend *b = chosen(p, pass);
    return b ? ck_backend_supports(b, p, pass, why, why_len) : CK_ERR_UNSUPPORTED;
}

static size_t auto_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    const struct ck_conv_backend *b = chosen(p, pass);
    return b ? b->workspace_size(p, pass) : 0;
}

static enum ck_status auto_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size)
{
    return chosen(p, CK_PASS_FORWARD)->forward(p, x, w, bias, y, ws, ws_size);
}

static enum ck_status auto_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size)
{
    return chosen(p, CK_PASS_BACKWARD_DATA)->backward_data(p, dy, w, dx, ws, ws_size);
}

static enum ck_status auto_backward_weights(const struct ck_conv_params *p, const float *x,
                                            const float *dy, float *dw, float *db, void *ws,
                                            size_t ws_size)
{
    return chosen(p, CK_PASS_BACKWARD_WEIGHTS)->backward_weights(p, x, dy, dw, db, ws, ws_size);
}

const struct ck_conv_backend ck_backend_auto = {
    .name = "auto",
    .description = "per problem and pass: measured wisdom if any, else a heuristic",
    .required_cpu = 0,
    .supports = auto_supports,
    .workspace_size = auto_workspace_size,
    .forward = auto_forward,
    .backward_data = auto_backward_data,
    .backward_weights = auto_backward_weights,
};
