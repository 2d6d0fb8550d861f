/* bench_util.c - small helpers every convkit-bench file uses: a monotonic clock, a sleep,
 * thread control with or without OpenMP, allocation that exits on failure (bench only,
 * never library code), and the count of cases that failed (as opposed to being
 * unsupported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench.h"

static int failures;

double ckb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ckb_sleep(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (nanosleep(&ts, &ts) != 0) /* interrupted: sleep the rest */
        ;
}

void ckb_set_threads(int t)
{
#ifdef _OPENMP
    omp_set_num_threads(t);
#else
    (void)t;
#endif
}

int ckb_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_procs();
#else
    return 1;
#endif
}

void *ckb_xalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "convkit-bench: out of memory allocating %zu bytes\n", bytes);
        exit(1);
    }
    return p;
}

void ckb_note_failure(void)
{
    failures++;
}

int ckb_failure_count(void)
{
    return failures;
}
