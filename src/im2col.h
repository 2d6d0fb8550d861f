/* im2col.h - lowering a convolution to a matrix product, and its exact adjoint.
 *
 * im2col turns one input plane into R*S rows of a column matrix: row (r*S + s),
 * column (p*Q + q) holds x[p*sh - pt + r*dh][q*sw - pl + s*dw], or 0 where that pixel
 * lies in the padding. Stacking the rows of the Cg channels of a group gives the
 * (Cg*R*S) x (P*Q) matrix that the filters W_g (Kg x Cg*R*S) multiply; several images
 * side by side give (Cg*R*S) x (N*P*Q). col2im is the transpose of that linear map (a
 * scatter-add). Also here: packers that write that matrix (or its transpose) straight
 * into the GEMM's packed-B layout, so it never exists in memory. No GEMM, no allocation.
 */
#ifndef CONVKIT_IM2COL_H
#define CONVKIT_IM2COL_H

#include <stddef.h>

#include "convkit/conv.h"
#include "gemm.h"

/* x_c is one (H,W) plane; writes the R*S rows cols[(r*S+s)*ld + p*Q + q], p < P, q < Q.
 * Every one of those R*S*P*Q elements is written (zeros for padding). */
void ck_im2col_plane(const struct ck_conv_params *p, const float *x_c, float *cols, size_t ld);

/* The adjoint of ck_im2col_plane: dx_c (H,W) = sum over the R*S rows of cols of each
 * element added back to the pixel it was copied from. Overwrites all of dx_c (pixels no
 * window touches get 0). Summation order is fixed: (r, s), then p, then q. */
void ck_col2im_plane(const struct ck_conv_params *p, const float *cols, size_t ld, float *dx_c);

/* Whole group of one image: x_n is (C,H,W); cols is (Cg*R*S) x (P*Q) with row stride ld,
 * built from channels g*Cg .. g*Cg+Cg-1. */
void ck_im2col(const struct ck_conv_params *p, const float *x_n, int g, float *cols, size_t ld);

/* Adjoint of ck_im2col: overwrites channels g*Cg .. g*Cg+Cg-1 of dx_n (C,H,W). */
void ck_col2im(const struct ck_conv_params *p, const float *cols, size_t ld, int g, float *dx_n);

/* The AVX2 im2col packers handle stride_w == 1 and filters up to this wide. */
#define CK_IM2COL_AVX2_MAX_S 16

/* Group g's column matrix over all images of x, as a source of rows or packed panels.
 * Row index crs = (c*R + r)*S + s (c within the group), column index j = n*P*Q + p*Q + q. */
struct ck_im2col_src {
    const struct ck_conv_params *p;
    const float *x_g;  /* channel g*Cg of image 0 */
    size_t img_stride; /* C*H*W */
    size_t HW;
    int H, W, P, Q, R, S;
    int sh, sw, pt, pl, dh, dw; /* strides, top/left padding, dilations */
};

void ck_im2col_src_init(struct ck_im2col_src *s, const struct ck_conv_params *p, const float *x,
                        int g);

/* out[t] = cols[crs][j0 + t] for t < len (the range may span images). */
void ck_im2col_row(const struct ck_im2col_src *s, size_t crs, size_t j0, size_t len,
                   float *out);

/* ck_gemm_bsource packers (ctx is a struct ck_im2col_src):
 *   ck_im2col_pack_cols:   op(B) = cols    (k = crs, j = pixel), the forward pass
 *   ck_im2col_pack_cols_t: op(B) = cols^T  (k = pixel, j = crs), the weight gradient */
void ck_im2col_pack_cols(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc,
                         float *bp);
void ck_im2col_pack_cols_t(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc,
                           float *bp);

/* dx_c += the adjoint of ck_im2col_plane restricted to pixels pix0 .. pix0+npix-1 of
 * the plane (pixel p*Q + q), whose R*S rows are cols[(r*S+s)*ld + pixel - pix0].
 * Order: (r, s), then pixel. ck_col2im_plane = zero dx_c, then this over all pixels. */
void ck_col2im_plane_add(const struct ck_conv_params *p, const float *cols, size_t ld,
                         size_t pix0, size_t npix, float *dx_c);

#endif
