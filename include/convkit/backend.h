/* backend.h - the convolution backend interface and registry.
 *
 * A backend is one static const struct ck_conv_backend, defined in its own file
 * (src/conv_<name>.c), listed once in src/registry.c. It implements the three passes
 * on NCHW/KCRS float32 tensors (see conv.h). It never allocates: the caller asks
 * workspace_size() and passes a buffer at least that large (64-byte aligned, e.g.
 * from ck_aligned_alloc). Callers should use the ck_conv_* entry points below, which
 * validate the problem, check CPU features, support and workspace before calling.
 *
 * Threads: a backend may use OpenMP inside a call, but its results must be bit-identical
 * for any thread count (each thread owns disjoint outputs; fixed reduction order).
 */
#ifndef CONVKIT_BACKEND_H
#define CONVKIT_BACKEND_H

#include <stddef.h>

#include "convkit/conv.h"
#include "convkit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ck_conv_backend {
    const char *name;        /**< "naive", "im2col", "winograd", "avx2", ... */
    const char *description; /**< one line for `convkit --help` / summary */
    unsigned required_cpu;   /**< mask of enum ck_cpu_feature */

    /** CK_OK, or CK_ERR_UNSUPPORTED with a reason in why (may be NULL). The problem is
     *  already checked (ck_conv_check) when this is called. */
    enum ck_status (*supports)(const struct ck_conv_params *p, enum ck_conv_pass pass,
                               char *why, size_t why_len);

    /** Bytes of workspace the pass needs (0 allowed). */
    size_t (*workspace_size)(const struct ck_conv_params *p, enum ck_conv_pass pass);

    /** y[N][K][P][Q] = x * w (+ bias[K] if bias != NULL). Overwrites y. */
    enum ck_status (*forward)(const struct ck_conv_params *p, const float *x, const float *w,
                              const float *bias, float *y, void *ws, size_t ws_size);

    /** dx[N][C][H][W] = gradient of the loss w.r.t. x given dy. Overwrites dx. */
    enum ck_status (*backward_data)(const struct ck_conv_params *p, const float *dy,
                                    const float *w, float *dx, void *ws, size_t ws_size);

    /** dw[K][C/G][R][S] (and db[K] if db != NULL) given x and dy. Overwrites dw, db. */
    enum ck_status (*backward_weights)(const struct ck_conv_params *p, const float *x,
                                       const float *dy, float *dw, float *db, void *ws,
                                       size_t ws_size);
};

/* ---- registry ---------------------------------------------------------------------- */

/** @brief Number of backends compiled in (including ones this CPU cannot run). */
size_t ck_backend_count(void);
/** @brief The i-th backend (0 <= i < count), or NULL. The order is fixed. */
const struct ck_conv_backend *ck_backend_get(size_t i);
/** @brief Backend by exact name, or NULL. */
const struct ck_conv_backend *ck_backend_find(const char *name);
/** @brief "naive, im2col, ..." into buf (for error messages and --help). Returns buf. */
const char *ck_backend_names(char *buf, size_t buf_len);

/**
 * @brief Can backend b run pass on problem p on this CPU?
 * CK_OK; CK_ERR_INVALID_ARGUMENT (problem fails ck_conv_check); CK_ERR_CPU_FEATURE
 * (CPU lacks required_cpu); CK_ERR_UNSUPPORTED (backend refuses). why gets one line.
 */
enum ck_status ck_backend_supports(const struct ck_conv_backend *b,
                                   const struct ck_conv_params *p, enum ck_conv_pass pass,
                                   char *why, size_t why_len);

/* ---- checked entry points ---------------------------------------------------------- */

/** @brief Workspace bytes b needs for pass on p (0 if p is invalid). */
size_t ck_conv_workspace_size(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                              enum ck_conv_pass pass);

enum ck_status ck_conv_forward(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                               const float *x, const float *w, const float *bias, float *y,
                               void *ws, size_t ws_size);
enum ck_status ck_conv_backward_data(const struct ck_conv_backend *b,
                                     const struct ck_conv_params *p, const float *dy,
                                     const float *w, float *dx, void *ws, size_t ws_size);
enum ck_status ck_conv_backward_weights(const struct ck_conv_backend *b,
                                        const struct ck_conv_params *p, const float *x,
                                        const float *dy, float *dw, float *db, void *ws,
                                        size_t ws_size);

/* ---- memory -------------------------------------------------------------------------- */

/** @brief 64-byte aligned allocation (size rounded up); NULL on failure or size 0. */
void *ck_aligned_alloc(size_t size);
void ck_aligned_free(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
