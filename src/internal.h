/* internal.h - helpers shared by src/ files; not part of the public API. */
#ifndef CONVKIT_INTERNAL_H
#define CONVKIT_INTERNAL_H

#include <stddef.h>

#include "convkit/backend.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#define CK_COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define CK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ceil(a / b) for a >= 0, b > 0. */
static inline int ck__ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

#if defined(__GNUC__)
#define CK_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CK_PRINTF(f, a)
#endif

/* Write a formatted one-line message into msg if msg != NULL and msg_len > 0. */
void ck__msg(char *msg, size_t msg_len, const char *fmt, ...) CK_PRINTF(3, 4);

/* Threads a parallel region started here would get (1 without OpenMP). */
static inline int ck__max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* This thread's number in the enclosing parallel region (0 outside one, or without
 * OpenMP). */
static inline int ck__thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Threads in the enclosing parallel region (1 outside one, or without OpenMP). */
static inline int ck__num_threads(void)
{
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Backends compiled into the library, each defined in its own src/conv_<name>.c. */
extern const struct ck_conv_backend ck_backend_naive;
extern const struct ck_conv_backend ck_backend_auto;
extern const struct ck_conv_backend ck_backend_im2col;
extern const struct ck_conv_backend ck_backend_avx2;
#ifdef CONVKIT_HAVE_BLAS
extern const struct ck_conv_backend ck_backend_im2col_blas; /* only when OpenBLAS was found */
#endif
extern const struct ck_conv_backend ck_backend_winograd;
extern const struct ck_conv_backend ck_backend_winograd_f2;
extern const struct ck_conv_backend ck_backend_winograd_f4;
extern const struct ck_conv_backend ck_backend_winograd_f6;

#endif
