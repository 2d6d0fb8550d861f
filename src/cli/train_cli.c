/* train_cli.c - helpers shared by the training-related commands (see train_cli.h). */
#define _POSIX_C_SOURCE 200809L
#include "train_cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "args.h"
#include "cli.h"

int ck_cli_double(const char *opt, const char *text, double lo, double hi, double *out,
                  char *msg, size_t msg_len)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(v) || v < lo || v > hi) {
        snprintf(msg, msg_len, "--%s '%s': expected a number in [%g, %g]", opt, text, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int ck_cli_u64(const char *opt, const char *text, unsigned long long *out, char *msg,
               size_t msg_len)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || text[0] == '-') {
        snprintf(msg, msg_len, "--%s '%s': expected a non-negative integer", opt, text);
        return -1;
    }
    *out = v;
    return 0;
}

int ck_cli_threads(const char *text, char *msg, size_t msg_len)
{
    if (!text)
        return 0;
    int t;
    if (ck_args_int("threads", text, 1, 1024, &t, msg, msg_len) != 0)
        return -1;
#ifdef _OPENMP
    omp_set_num_threads(t);
#endif
    return 0;
}

int ck_cli_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int ck_cli_shape(const char *text, struct ck_shape *s)
{
    char tail;
    return sscanf(text, "%dx%dx%d%c", &s->h, &s->w, &s->c, &tail) == 3 && s->h > 0 &&
                   s->w > 0 && s->c > 0
               ? 0
               : -1;
}

int ck_cli_load_dataset(const char *cmd, const char *name, const char *dir, int train,
                        const struct ck_shape *synth, struct ck_dataset *out)
{
    char msg[512];
    enum ck_status st = ck_dataset_load(name, dir, train, synth, out, msg, sizeof msg);
    if (st == CK_OK)
        return CK_EXIT_OK;
    ck_cli_error(cmd, "%s%s", st == CK_ERR_INVALID_ARGUMENT ? "--dataset: " : "", msg);
    return st == CK_ERR_INVALID_ARGUMENT ? CK_EXIT_USAGE : CK_EXIT_RUNTIME;
}

int ck_cli_load_checkpoint(const char *cmd, const char *path, const char *backend,
                           struct ck_checkpoint *ck, struct ck_trainer **t)
{
    char msg[512];
    enum ck_status st = ck_checkpoint_read(path, ck, msg, sizeof msg);
    if (st == CK_OK && t) {
        st = ck_checkpoint_restore(ck, backend, t, msg, sizeof msg);
        if (st != CK_OK)
            ck_checkpoint_free(ck);
    }
    if (st == CK_OK)
        return CK_EXIT_OK;
    if (st == CK_ERR_INVALID_ARGUMENT)
        ck_cli_error(cmd, "--backend: %s", msg);
    else if (strncmp(msg, path, strlen(path)) == 0)
        ck_cli_error(cmd, "%s", msg);
    else
        ck_cli_error(cmd, "%s: %s", path, msg);
    return st == CK_ERR_INVALID_ARGUMENT ? CK_EXIT_USAGE : CK_EXIT_RUNTIME;
}

double ck_cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
