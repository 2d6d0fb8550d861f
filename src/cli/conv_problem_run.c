/* conv_problem_run.c - `convkit conv --problem DESC`: one pass of a benchdnn-described
 * problem on seeded random data, timed, and checked against the naive backend.
 *
 * Prints one line: backend, pass, descriptor, median time of --repeat runs, effective
 * GFLOP/s (direct-convolution FLOPs / time) and the max error relative to naive's output
 * magnitude. With --output it also writes the result as .npy. It is a quick look, not a
 * benchmark: convkit-bench is the measuring tool.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convkit/convkit.h"
#include "conv_problem_run.h"

#define CMD "conv"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void fill(float *a, size_t n, uint64_t seed, enum ck_rng_stream stream)
{
    struct ck_rng r;
    ck_rng_init(&r, seed, (uint64_t)stream);
    for (size_t i = 0; i < n; i++)
        a[i] = 2.0f * ck_rng_uniform(&r) - 1.0f;
}

/* Run pass on backend b; out has the pass's output size, db is K floats or NULL. */
static enum ck_status run_pass(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                               enum ck_conv_pass pass, const float *x, const float *w,
                               const float *bias, const float *dy, float *out, float *db,
                               void *ws, size_t ws_size)
{
    switch (pass) {
    case CK_PASS_FORWARD:
        return ck_conv_forward(b, p, x, w, bias, out, ws, ws_size);
    case CK_PASS_BACKWARD_DATA:
        return ck_conv_backward_data(b, p, dy, w, out, ws, ws_size);
    default:
        return ck_conv_backward_weights(b, p, x, dy, out, db, ws, ws_size);
    }
}

int ck_conv_problem_run(const struct ck_conv_problem_job *job)
{
    const struct ck_conv_params *p = &job->params;
    const struct ck_conv_backend *b = job->backend, *ref = ck_backend_find("naive");
    char msg[512], desc[128];
    enum ck_status st = ck_backend_supports(b, p, job->pass, msg, sizeof msg);
    if (st != CK_OK) {
        ck_cli_error(CMD, "backend '%s' cannot run %s %s: %s", b->name,
                     ck_conv_pass_name(job->pass), ck_conv_problem_format(p, desc, sizeof desc),
                     msg);
        return -1;
    }
    const size_t nx = ck_conv_x_numel(p), nw = ck_conv_w_numel(p), ny = ck_conv_y_numel(p);
    const size_t nout = job->pass == CK_PASS_FORWARD         ? ny
                        : job->pass == CK_PASS_BACKWARD_DATA ? nx
                                                             : nw;
    size_t ws_size = ck_conv_workspace_size(b, p, job->pass);
    float *x = ck_aligned_alloc(nx * sizeof(float)), *w = ck_aligned_alloc(nw * sizeof(float));
    float *bias = ck_aligned_alloc((size_t)p->K * sizeof(float));
    float *dy = ck_aligned_alloc(ny * sizeof(float));
    float *out = ck_aligned_alloc(nout * sizeof(float));
    float *want = ck_aligned_alloc(nout * sizeof(float));
    float *db = ck_aligned_alloc((size_t)p->K * sizeof(float));
    void *ws = ws_size ? ck_aligned_alloc(ws_size) : NULL;
    double *times = calloc((size_t)job->repeat, sizeof(double));
    int rc = -1;
    if (!x || !w || !bias || !dy || !out || !want || !db || (ws_size && !ws) || !times) {
        ck_cli_error(CMD, "out of memory for problem %s", ck_conv_problem_format(p, desc, sizeof desc));
        goto cleanup;
    }
    fill(x, nx, job->seed, CK_RNG_STREAM_INIT);
    fill(w, nw, job->seed + 1, CK_RNG_STREAM_INIT);
    fill(bias, (size_t)p->K, job->seed + 2, CK_RNG_STREAM_INIT);
    fill(dy, ny, job->seed + 3, CK_RNG_STREAM_INIT);
    for (int i = 0; i < job->repeat; i++) {
        double t0 = now_s();
        st = run_pass(b, p, job->pass, x, w, bias, dy, out, db, ws, ws_size);
        times[i] = now_s() - t0;
        if (st != CK_OK) {
            ck_cli_error(CMD, "backend '%s' failed in %s: %s", b->name,
                         ck_conv_pass_name(job->pass), ck_status_str(st));
            goto cleanup;
        }
    }
    qsort(times, (size_t)job->repeat, sizeof(double), cmp_double);
    const double median = times[job->repeat / 2];

    /* accuracy against naive (fp64 accumulation), relative to the output's magnitude */
    double max_err = 0.0, scale = 0.0;
    st = run_pass(ref, p, job->pass, x, w, bias, dy, want, NULL, NULL, 0);
    if (st != CK_OK) {
        ck_cli_error(CMD, "naive reference failed: %s", ck_status_str(st));
        goto cleanup;
    }
    for (size_t i = 0; i < nout; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < nout; i++)
        max_err = fmax(max_err, isfinite(out[i]) ? fabs((double)out[i] - want[i]) : INFINITY);
    max_err /= scale > 0 ? scale : 1.0;

    if (job->out_path) {
        size_t shape[4] = {(size_t)p->K, (size_t)(p->C / p->groups), (size_t)p->R, (size_t)p->S};
        int P, Q;
        ck_conv_output_size(p, &P, &Q);
        if (job->pass == CK_PASS_FORWARD)
            shape[0] = (size_t)p->N, shape[1] = (size_t)p->K, shape[2] = (size_t)P, shape[3] = (size_t)Q;
        else if (job->pass == CK_PASS_BACKWARD_DATA)
            shape[0] = (size_t)p->N, shape[1] = (size_t)p->C, shape[2] = (size_t)p->H, shape[3] = (size_t)p->W;
        if (ck_npy_write(job->out_path, out, 4, shape, msg, sizeof msg) != CK_OK) {
            ck_cli_error(CMD, "%s", msg);
            goto cleanup;
        }
    }
    printf("%-10s %-16s %-28s %9.3f ms %8.2f GFLOP/s  max_rel_err %.2e%s%s\n", b->name,
           ck_conv_pass_name(job->pass), ck_conv_problem_format(p, desc, sizeof desc),
           1e3 * median, ck_conv_flops(p) / median * 1e-9, max_err,
           job->out_path ? "  -> " : "", job->out_path ? job->out_path : "");
    rc = 0;
cleanup:
    ck_aligned_free(x);
    ck_aligned_free(w);
    ck_aligned_free(bias);
    ck_aligned_free(dy);
    ck_aligned_free(out);
    ck_aligned_free(want);
    ck_aligned_free(db);
    ck_aligned_free(ws);
    free(times);
    return rc;
}

void ck_conv_list_backends(void)
{
    for (size_t i = 0; i < ck_backend_count(); i++)
        printf("%s\n", ck_backend_get(i)->name);
}
