/* im2col.h - lowering a convolution to a matrix product, and its exact adjoint.
 *
 * im2col turns one input plane into R*S rows of a column matrix: row (r*S + s),
 * column (p*Q + q) holds x[p*sh - pt + r*dh][q*sw - pl + s*dw], or 0 where that pixel
 * lies in the padding. Stacking the rows of the Cg channels of a group gives the
 * (Cg*R*S) x (P*Q) matrix that the filters W_g (Kg x Cg*R*S) multiply. col2im is the
 * transpose of that linear map (a scatter-add). No GEMM here, no allocation.
 */
#ifndef CONVKIT_IM2COL_H
#define CONVKIT_IM2COL_H

#include <stddef.h>

#include "convkit/conv.h"

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

#endif
