/* conv_im2col.c - backend "im2col": the convolution as convkit's own packed GEMM.
 *
 * Forward and backward-weights never store the column matrix: the GEMM's B packer
 * builds its panels straight from x (ck_im2col_pack_cols / _cols_t in im2col.c), one
 * GEMM per group over the whole batch (batch folded into the pixel dimension):
 *   forward           y_g  (Kg x N*P*Q) = W_g (Kg x Cg*R*S) * cols  (+ bias, added to
 *                     each finished C tile by the GEMM while it is in L1)
 *   backward-weights  dW_g (Kg x Cg*R*S) = dy_g * cols^T; db (ck_lowering_bias_grad)
 *   backward-data     the explicit lowering of conv_lowering.c (col2im needs the columns)
 * 1x1 filters with stride 1 and no padding read x directly. Workspace: forward and
 * backward-weights need only the GEMM's packed blocks (at most threads x
 * CK_GEMM_WS_PER_THREAD bytes, about 5.2 MiB a thread); backward-data adds a column
 * buffer of at most CK_LOWERING_CHUNK_BYTES (4 MiB; more only if Cg*R*S > 65536).
 * Supports every valid problem; bit-identical results for any thread count.
 */
#include <limits.h>

#include "conv_lowering.h"
#include "gemm.h"
#include "im2col.h"
#include "internal.h"

static const struct ck_lowering_gemm own_gemm = {ck_sgemm_ex, ck_sgemm_ex_workspace_size};

/* Images per fused GEMM: all of them unless N*P*Q would overflow the GEMM's int sizes. */
static size_t fused_images(const struct ck_lowering *l)
{
    return CK_MAX((size_t)1, CK_MIN((size_t)l->N, (size_t)INT_MAX / CK_MAX(l->PQ, (size_t)1)));
}

/* The fused GEMM of `pass` (forward or backward-weights) for group g, images n0 ..
 * n0+nb-1: the explicit lowering's GEMM with B packed from x by src/bs. */
static struct ck_gemm_args fused_args(const struct ck_lowering *l, const struct ck_conv_params *p,
                                      enum ck_conv_pass pass, int g, size_t n0, size_t nb,
                                      const float *x, const float *w, const float *dy,
                                      float *out, struct ck_im2col_src *src,
                                      struct ck_gemm_bsource *bs)
{
    struct ck_gemm_args a =
        ck_lowering_gemm_args(l, pass, g, n0 * l->PQ, nb * l->PQ, x, w, dy, out, NULL);
    if (!l->direct) {
        if (x)
            ck_im2col_src_init(src, p, x + n0 * (size_t)l->C * l->HW, g);
        bs->pack = pass == CK_PASS_FORWARD ? ck_im2col_pack_cols : ck_im2col_pack_cols_t;
        bs->ctx = src;
        a.bsrc = bs;
    }
    return a;
}

static enum ck_status im2col_supports(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                      char *why, size_t why_len)
{
    (void)p, (void)pass, (void)why, (void)why_len;
    return CK_OK;
}

static size_t im2col_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    if (pass == CK_PASS_BACKWARD_DATA)
        return ck_lowering_workspace_size(p, pass, &own_gemm);
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    struct ck_im2col_src src;
    struct ck_gemm_bsource bs;
    /* every fused GEMM has nb images but the last (N % nb) */
    const size_t nb = fused_images(&l), rest = (size_t)l.N % nb;
    struct ck_gemm_args a = fused_args(&l, p, pass, 0, 0, nb, NULL, NULL, NULL, NULL, &src, &bs);
    size_t most = ck_sgemm_ex_workspace_size(&a);
    if (rest) {
        a = fused_args(&l, p, pass, 0, 0, rest, NULL, NULL, NULL, NULL, &src, &bs);
        most = CK_MAX(most, ck_sgemm_ex_workspace_size(&a));
    }
    return most;
}

static enum ck_status im2col_forward(const struct ck_conv_params *p, const float *x,
                                     const float *w, const float *bias, float *y, void *ws,
                                     size_t ws_size)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    const size_t nb = fused_images(&l);
    for (int g = 0; g < l.G; g++) {
        for (size_t n0 = 0; n0 < (size_t)l.N; n0 += nb) {
            struct ck_im2col_src src;
            struct ck_gemm_bsource bs;
            struct ck_gemm_args a = fused_args(&l, p, CK_PASS_FORWARD, g, n0,
                                               CK_MIN(nb, l.N - n0), x, w, NULL, y, &src, &bs);
            a.row_add = bias ? bias + (size_t)g * l.Kg : NULL; /* added to each finished tile */
            enum ck_status st = ck_sgemm_ex(&a, ws, ws_size);
            if (st != CK_OK)
                return st;
        }
    }
    return CK_OK;
}

static enum ck_status im2col_backward_data(const struct ck_conv_params *p, const float *dy,
                                           const float *w, float *dx, void *ws, size_t ws_size)
{
    return ck_lowering_backward_data(p, dy, w, dx, ws, ws_size, &own_gemm);
}

static enum ck_status im2col_backward_weights(const struct ck_conv_params *p, const float *x,
                                              const float *dy, float *dw, float *db, void *ws,
                                              size_t ws_size)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    const size_t nb = fused_images(&l);
    for (int g = 0; g < l.G; g++) {
        /* image blocks in order (normally one): a fixed association of the sum */
        for (size_t n0 = 0; n0 < (size_t)l.N; n0 += nb) {
            struct ck_im2col_src src;
            struct ck_gemm_bsource bs;
            struct ck_gemm_args a = fused_args(&l, p, CK_PASS_BACKWARD_WEIGHTS, g, n0,
                                               CK_MIN(nb, l.N - n0), x, NULL, dy, dw, &src, &bs);
            a.beta = n0 == 0 ? 0.0f : 1.0f;
            enum ck_status st = ck_sgemm_ex(&a, ws, ws_size);
            if (st != CK_OK)
                return st;
        }
    }
    if (db)
        ck_lowering_bias_grad(&l, dy, db);
    return CK_OK;
}

const struct ck_conv_backend ck_backend_im2col = {
    .name = "im2col",
    .description = "im2col packed straight into convkit's GEMM (AVX2/FMA micro-kernel if "
                   "available); col2im for backward-data",
    .required_cpu = 0,
    .supports = im2col_supports,
    .workspace_size = im2col_workspace_size,
    .forward = im2col_forward,
    .backward_data = im2col_backward_data,
    .backward_weights = im2col_backward_weights,
};
