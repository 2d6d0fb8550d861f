/* conv_lowering.h - the explicit im2col lowering shared by the GEMM backends: a chunk of
 * the column matrix is built in the caller's workspace, multiplied by a GEMM passed in
 * as functions, and (backward-data) scattered back with col2im.
 *
 * Backend "im2col" uses it for backward-data only (its forward and weight-gradient
 * passes pack the columns straight into the GEMM, conv_im2col.c); "im2col-blas" uses
 * it for all three passes. Not here: any GEMM, the fused packers (im2col.c).
 */
#ifndef CONVKIT_CONV_LOWERING_H
#define CONVKIT_CONV_LOWERING_H

#include <stddef.h>

#include "convkit/backend.h"
#include "gemm.h"

/* The column buffer holds at most this many bytes, or 16 pixels' columns
 * (Cg*R*S*16 floats) when that alone is larger (Cg*R*S > 65536). */
#define CK_LOWERING_CHUNK_BYTES ((size_t)1 << 20)

/* Dimensions of a lowered problem (letters as in conv.h; Cg, Kg per group) and its
 * chunking. Pixel index j = n*P*Q + p*Q + q runs over all images; a chunk is a range
 * of j that is either whole images or part of one image. */
struct ck_lowering {
    int N, C, H, W, K, R, S, P, Q, G, Cg, Kg;
    size_t HW, PQ, RS, CRS; /* CRS = Cg*R*S: rows of the column matrix of one group */
    int direct;             /* 1x1, stride 1, no padding: the column matrix is x itself */
    size_t chunk;           /* pixels a chunk: a multiple of PQ, or < PQ */
    size_t cols_floats;     /* column buffer, a multiple of 16 floats (0 if direct) */
};

/* A GEMM to run the lowered products with. workspace_size may be NULL (needs none). */
struct ck_lowering_gemm {
    enum ck_status (*run)(const struct ck_gemm_args *a, void *ws, size_t ws_size);
    size_t (*workspace_size)(const struct ck_gemm_args *a);
};

void ck_lowering_init(struct ck_lowering *l, const struct ck_conv_params *p);

/* Advance (*j0, *len) to the next chunk (start with *j0 = *len = 0); 0 at the end. */
int ck_lowering_next_chunk(const struct ck_lowering *l, size_t *j0, size_t *len);

/* The GEMM of `pass` for group g over pixels j0 .. j0+len-1 (one chunk; whole images
 * if it spans several), with the column matrix at cols (row stride len) or, if the
 * lowering is direct, x itself:
 *   forward           y_g  (Kg x len)  = W_g (Kg x CRS) * cols
 *   backward-data     cols (CRS x len) = W_g^T * dy_g, or dx_g directly if direct
 *   backward-weights  dW_g (Kg x CRS)  = dy_g * cols^T (beta 0; callers accumulate)
 * Pointers may be NULL for a workspace-size query. */
struct ck_gemm_args ck_lowering_gemm_args(const struct ck_lowering *l, enum ck_conv_pass pass,
                                          int g, size_t j0, size_t len, const float *x,
                                          const float *w, const float *dy, float *out,
                                          float *cols);

/* Workspace of a pass: the column buffer, then the GEMM's own workspace. */
size_t ck_lowering_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                  const struct ck_lowering_gemm *gemm);

/* The three passes (same contracts as struct ck_conv_backend). Results are
 * bit-identical for any OpenMP thread count if the GEMM's are. */
enum ck_status ck_lowering_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size, const struct ck_lowering_gemm *gemm);
enum ck_status ck_lowering_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size,
                                         const struct ck_lowering_gemm *gemm);
enum ck_status ck_lowering_backward_weights(const struct ck_conv_params *p, const float *x,
                                            const float *dy, float *dw, float *db, void *ws,
                                            size_t ws_size, const struct ck_lowering_gemm *gemm);

/* y[n][k][.] += bias[k]; db[k] = sum over n, pixels of dy[n][k][.] (16 float partial
 * sums per plane, double across planes). */
void ck_lowering_add_bias(const struct ck_lowering *l, const float *bias, float *y);
void ck_lowering_bias_grad(const struct ck_lowering *l, const float *dy, float *db);

#endif
