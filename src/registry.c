/* registry.c - the list of convolution backends and the checked entry points.
 *
 * Adding a backend: define its static const table in src/conv_<name>.c (or simd/),
 * declare it in internal.h and add one line to `backends` below. The ck_conv_* entry
 * points validate the problem, CPU features, support and workspace size once, so
 * backends can assume all of that. Automatic selection (`auto`) is not here yet.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convkit/backend.h"
#include "convkit/cpu.h"
#include "internal.h"

/* `auto` goes last: it forwards to one of the others (src/conv_auto.c). */
static const struct ck_conv_backend *const backends[] = {
    &ck_backend_naive,
    &ck_backend_im2col,
    &ck_backend_avx2,
#ifdef CONVKIT_HAVE_BLAS
    &ck_backend_im2col_blas, /* only when CMake found OpenBLAS (CONVKIT_BLAS) */
#endif
    &ck_backend_winograd,
    &ck_backend_winograd_f2,
    &ck_backend_winograd_f4,
    &ck_backend_winograd_f6,
    &ck_backend_auto, /* last: it forwards to one of the above */
};

size_t ck_backend_count(void)
{
    return CK_COUNT_OF(backends);
}

const struct ck_conv_backend *ck_backend_get(size_t i)
{
    return i < CK_COUNT_OF(backends) ? backends[i] : NULL;
}

const struct ck_conv_backend *ck_backend_find(const char *name)
{
    for (size_t i = 0; name && i < CK_COUNT_OF(backends); i++)
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i];
    return NULL;
}

const char *ck_backend_names(char *buf, size_t buf_len)
{
    if (!buf || buf_len == 0)
        return "";
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < CK_COUNT_OF(backends); i++) {
        const char *sep = i ? ", " : "";
        size_t need = strlen(sep) + strlen(backends[i]->name);
        if (used + need + 1 > buf_len)
            break;
        strcat(buf, sep);
        strcat(buf, backends[i]->name);
        used += need;
    }
    return buf;
}

enum ck_status ck_backend_supports(const struct ck_conv_backend *b,
                                   const struct ck_conv_params *p, enum ck_conv_pass pass,
                                   char *why, size_t why_len)
{
    if (!b) {
        ck__msg(why, why_len, "no backend given");
        return CK_ERR_INVALID_ARGUMENT;
    }
    if ((unsigned)pass >= CK_PASS_COUNT) {
        ck__msg(why, why_len, "unknown pass %d", (int)pass);
        return CK_ERR_INVALID_ARGUMENT;
    }
    enum ck_status st = ck_conv_check(p, why, why_len);
    if (st != CK_OK)
        return st;
    unsigned have = ck_cpu_features();
    if ((b->required_cpu & have) != b->required_cpu) {
        char need[32];
        ck__msg(why, why_len, "backend '%s' needs a CPU with %s", b->name,
                ck_cpu_features_str(b->required_cpu, need, sizeof need));
        return CK_ERR_CPU_FEATURE;
    }
    return b->supports(p, pass, why, why_len);
}

size_t ck_conv_workspace_size(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                              enum ck_conv_pass pass)
{
    if (!b || ck_conv_check(p, NULL, 0) != CK_OK || (unsigned)pass >= CK_PASS_COUNT)
        return 0;
    return b->workspace_size(p, pass);
}

/* Everything the three entry points check before calling the backend. */
static enum ck_status precheck(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                               enum ck_conv_pass pass, const void *a, const void *c,
                               const void *out, void *ws, size_t ws_size)
{
    enum ck_status st = ck_backend_supports(b, p, pass, NULL, 0);
    if (st != CK_OK)
        return st;
    if (!a || !c || !out)
        return CK_ERR_INVALID_ARGUMENT;
    size_t need = b->workspace_size(p, pass);
    if (need > 0 && (!ws || ws_size < need))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return CK_OK;
}

enum ck_status ck_conv_forward(const struct ck_conv_backend *b, const struct ck_conv_params *p,
                               const float *x, const float *w, const float *bias, float *y,
                               void *ws, size_t ws_size)
{
    enum ck_status st = precheck(b, p, CK_PASS_FORWARD, x, w, y, ws, ws_size);
    return st != CK_OK ? st : b->forward(p, x, w, bias, y, ws, ws_size);
}

enum ck_status ck_conv_backward_data(const struct ck_conv_backend *b,
                                     const struct ck_conv_params *p, const float *dy,
                                     const float *w, float *dx, void *ws, size_t ws_size)
{
    enum ck_status st = precheck(b, p, CK_PASS_BACKWARD_DATA, dy, w, dx, ws, ws_size);
    return st != CK_OK ? st : b->backward_data(p, dy, w, dx, ws, ws_size);
}

enum ck_status ck_conv_backward_weights(const struct ck_conv_backend *b,
                                        const struct ck_conv_params *p, const float *x,
                                        const float *dy, float *dw, float *db, void *ws,
                                        size_t ws_size)
{
    enum ck_status st = precheck(b, p, CK_PASS_BACKWARD_WEIGHTS, x, dy, dw, ws, ws_size);
    return st != CK_OK ? st : b->backward_weights(p, x, dy, dw, db, ws, ws_size);
}

void *ck_aligned_alloc(size_t size)
{
    if (size == 0 || size > SIZE_MAX - 63)
        return NULL;
    return aligned_alloc(64, (size + 63) & ~(size_t)63);
}

void ck_aligned_free(void *ptr)
{
    free(ptr);
}
