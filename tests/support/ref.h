/* ref.h - the fp64 test oracle for the three convolution passes.
 *
 * Written independently of src/conv_naive.c: forward is a direct sum per output, the two
 * backward passes are *scatters* (every dy element pushes its contribution into dx or dw),
 * so a shared indexing mistake would have to be made twice in two different algorithms.
 * Layouts: x (N,C,H,W), w (K,C/G,R,S), bias (K), y/dy (N,K,P,Q); stride, asymmetric
 * padding, dilation and groups are all supported. Tests only: slow, no threads, and it
 * assumes p passed ck_conv_check.
 */
#ifndef CK_TEST_REF_H
#define CK_TEST_REF_H

#include "convkit/conv.h"

/* y[N][K][P][Q] = bias[k] + sum_{c,r,s} x * w; bias may be NULL. Overwrites y. */
void ckt_ref_forward(const struct ck_conv_params *p, const float *x, const float *w,
                     const float *bias /* may be NULL */, double *y);

/* dx[N][C][H][W] = dL/dx given dy, by scattering dy[n][k][p][q] * w into dx. */
void ckt_ref_backward_data(const struct ck_conv_params *p, const float *dy, const float *w,
                           double *dx);

/* dw[K][C/G][R][S] = dL/dw and db[K] = dL/dbias (db may be NULL), by scattering dy * x. */
void ckt_ref_backward_weights(const struct ck_conv_params *p, const float *x,
                              const float *dy, double *dw, double *db /* may be NULL */);

#endif
