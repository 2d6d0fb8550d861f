/* ref.c - fp64 reference convolution (see ref.h). Plain loops in double, one thread.
 *
 * The helper tap() maps (output pixel, filter tap) to an input pixel once, and all three
 * passes use it: forward gathers over taps, backward-data and backward-weights walk the
 * same (n, k, p, q, c, r, s) space and scatter into dx / dw. Not used by the library.
 */
#include "ref.h"

#include <string.h>

/* Extents of one problem, in size_t to keep index arithmetic overflow-free. */
struct ref_dims {
    size_t N, C, H, W, K, R, S, P, Q, G, Cg, Kg;
};

static struct ref_dims ref_dims_of(const struct ck_conv_params *p)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    struct ref_dims d = {
        .N = (size_t)p->N, .C = (size_t)p->C, .H = (size_t)p->H, .W = (size_t)p->W,
        .K = (size_t)p->K, .R = (size_t)p->R, .S = (size_t)p->S, .P = (size_t)P,
        .Q = (size_t)Q, .G = (size_t)p->groups,
    };
    d.Cg = d.C / d.G;
    d.Kg = d.K / d.G;
    return d;
}

/* Input pixel read by output (op, oq) at filter tap (r, s); 0 if it lies in the padding,
 * else 1 with *ih, *iw set. Padded coordinates: top-left of the window is (op*sh, oq*sw),
 * tap (r, s) is dilation*(r, s) further, and the unpadded image starts at (pt, pl). */
static int tap(const struct ck_conv_params *p, size_t op, size_t oq, size_t r, size_t s,
               size_t *ih, size_t *iw)
{
    long h = (long)op * p->stride_h + (long)r * p->dilation_h - p->pad_top;
    long v = (long)oq * p->stride_w + (long)s * p->dilation_w - p->pad_left;
    if (h < 0 || h >= p->H || v < 0 || v >= p->W)
        return 0;
    *ih = (size_t)h;
    *iw = (size_t)v;
    return 1;
}

/* y is (N,K,P,Q): for each output, gather over the (C/G, R, S) taps of its group. */
void ckt_ref_forward(const struct ck_conv_params *p, const float *x, const float *w,
                     const float *bias, double *y)
{
    const struct ref_dims d = ref_dims_of(p);
    for (size_t n = 0; n < d.N; n++)
        for (size_t k = 0; k < d.K; k++) {
            const size_t c0 = (k / d.Kg) * d.Cg; /* first input channel of k's group */
            for (size_t op = 0; op < d.P; op++)
                for (size_t oq = 0; oq < d.Q; oq++) {
                    double sum = bias ? (double)bias[k] : 0.0;
                    for (size_t c = 0; c < d.Cg; c++)
                        for (size_t r = 0; r < d.R; r++)
                            for (size_t s = 0; s < d.S; s++) {
                                size_t ih, iw;
                                if (!tap(p, op, oq, r, s, &ih, &iw))
                                    continue;
                                double xv = x[((n * d.C + c0 + c) * d.H + ih) * d.W + iw];
                                double wv = w[((k * d.Cg + c) * d.R + r) * d.S + s];
                                sum += xv * wv;
                            }
                    y[((n * d.K + k) * d.P + op) * d.Q + oq] = sum;
                }
        }
}

/* dx is (N,C,H,W): zero it, then every dy[n][k][op][oq] adds dy * w[k][c][r][s] to the
 * input pixel that tap (r, s) of output (op, oq) read in the forward pass. */
void ckt_ref_backward_data(const struct ck_conv_params *p, const float *dy, const float *w,
                           double *dx)
{
    const struct ref_dims d = ref_dims_of(p);
    memset(dx, 0, d.N * d.C * d.H * d.W * sizeof *dx);
    for (size_t n = 0; n < d.N; n++)
        for (size_t k = 0; k < d.K; k++) {
            const size_t c0 = (k / d.Kg) * d.Cg;
            for (size_t op = 0; op < d.P; op++)
                for (size_t oq = 0; oq < d.Q; oq++) {
                    const double g = dy[((n * d.K + k) * d.P + op) * d.Q + oq];
                    for (size_t c = 0; c < d.Cg; c++)
                        for (size_t r = 0; r < d.R; r++)
                            for (size_t s = 0; s < d.S; s++) {
                                size_t ih, iw;
                                if (!tap(p, op, oq, r, s, &ih, &iw))
                                    continue;
                                dx[((n * d.C + c0 + c) * d.H + ih) * d.W + iw] +=
                                    g * w[((k * d.Cg + c) * d.R + r) * d.S + s];
                            }
                }
        }
}

/* dw is (K,C/G,R,S), db is (K): zero them, then every dy[n][k][op][oq] adds dy * x at each
 * tap into dw[k][c][r][s], and dy itself into db[k]. */
void ckt_ref_backward_weights(const struct ck_conv_params *p, const float *x,
                              const float *dy, double *dw, double *db)
{
    const struct ref_dims d = ref_dims_of(p);
    memset(dw, 0, d.K * d.Cg * d.R * d.S * sizeof *dw);
    if (db)
        memset(db, 0, d.K * sizeof *db);
    for (size_t n = 0; n < d.N; n++)
        for (size_t k = 0; k < d.K; k++) {
            const size_t c0 = (k / d.Kg) * d.Cg;
            for (size_t op = 0; op < d.P; op++)
                for (size_t oq = 0; oq < d.Q; oq++) {
                    const double g = dy[((n * d.K + k) * d.P + op) * d.Q + oq];
                    if (db)
                        db[k] += g;
                    for (size_t c = 0; c < d.Cg; c++)
                        for (size_t r = 0; r < d.R; r++)
                            for (size_t s = 0; s < d.S; s++) {
                                size_t ih, iw;
                                if (!tap(p, op, oq, r, s, &ih, &iw))
                                    continue;
                                dw[((k * d.Cg + c) * d.R + r) * d.S + s] +=
                                    g * x[((n * d.C + c0 + c) * d.H + ih) * d.W + iw];
                            }
                }
        }
}
