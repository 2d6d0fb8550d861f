/* conv_naive.c - backend "naive": the convolution definition as plain loops.
 *
 * Supports every valid problem (any filter, stride, asymmetric padding, dilation,
 * groups) in all three passes, needs no workspace, and accumulates in double so it is
 * also a good second opinion next to the fp64 test reference. It is slow on purpose:
 * no blocking, no vectorisation. Each pass is a *gather*: every output element is
 * computed by one loop nest in a fixed order, so OpenMP over outer output indices
 * gives bit-identical results for any thread count.
 */
#include "internal.h"

/* Precomputed extents of one problem. */
struct dims {
    int N, C, H, W, K, R, S, P, Q, G, Cg, Kg;
    int sh, sw, pt, pl, dh, dw;
};

static struct dims dims_of(const struct ck_conv_params *p)
{
    struct dims d = {
        .N = p->N, .C = p->C, .H = p->H, .W = p->W, .K = p->K, .R = p->R, .S = p->S,
        .G = p->groups, .Cg = p->C / p->groups, .Kg = p->K / p->groups,
        .sh = p->stride_h, .sw = p->stride_w, .pt = p->pad_top, .pl = p->pad_left,
        .dh = p->dilation_h, .dw = p->dilation_w,
    };
    ck_conv_output_size(p, &d.P, &d.Q);
    return d;
}

static enum ck_status naive_supports(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                     char *why, size_t why_len)
{
    (void)p, (void)pass, (void)why, (void)why_len;
    return CK_OK;
}

static size_t naive_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    (void)p, (void)pass;
    return 0;
}

/* x is (N,C,H,W), w is (K,C/G,R,S), bias is (K) or NULL, y is (N,K,P,Q).
 * y[n][k][p][q] = bias[k] + sum_{c,r,s} x[n][g*Cg+c][p*sh-pt+r*dh][q*sw-pl+s*dw] * w[k][c][r][s]
 * where g = k / Kg and out-of-range input pixels are zero. */
static enum ck_status naive_forward(const struct ck_conv_params *p, const float *x,
                                    const float *w, const float *bias, float *y, void *ws,
                                    size_t ws_size)
{
    (void)ws, (void)ws_size;
    const struct dims d = dims_of(p);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < d.N; n++) {
        for (int k = 0; k < d.K; k++) {
            const int g = k / d.Kg;
            const float *w_k = w + (size_t)k * d.Cg * d.R * d.S;
            float *y_nk = y + ((size_t)n * d.K + k) * d.P * d.Q;
            for (int op = 0; op < d.P; op++) {
                for (int oq = 0; oq < d.Q; oq++) {
                    double acc = bias ? bias[k] : 0.0;
                    for (int c = 0; c < d.Cg; c++) {
                        const float *x_nc = x + ((size_t)n * d.C + g * d.Cg + c) * d.H * d.W;
                        for (int r = 0; r < d.R; r++) {
                            const int ih = op * d.sh - d.pt + r * d.dh;
                            if (ih < 0 || ih >= d.H)
                                continue;
                            for (int s = 0; s < d.S; s++) {
                                const int iw = oq * d.sw - d.pl + s * d.dw;
                                if (iw < 0 || iw >= d.W)
                                    continue;
                                acc += (double)x_nc[(size_t)ih * d.W + iw] *
                                       w_k[((size_t)c * d.R + r) * d.S + s];
                            }
                        }
                    }
                    y_nk[(size_t)op * d.Q + oq] = (float)acc;
                }
            }
        }
    }
    return CK_OK;
}

/* dy is (N,K,P,Q), w is (K,C/G,R,S), dx is (N,C,H,W).
 * dx[n][c][h][w] = sum over k in c's group, r, s with h = p*sh - pt + r*dh and
 * w = q*sw - pl + s*dw for integer p in [0,P), q in [0,Q) of dy[n][k][p][q] * w[k][c'][r][s]. */
static enum ck_status naive_backward_data(const struct ck_conv_params *p, const float *dy,
                                          const float *w, float *dx, void *ws, size_t ws_size)
{
    (void)ws, (void)ws_size;
    const struct dims d = dims_of(p);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < d.N; n++) {
        for (int c = 0; c < d.C; c++) {
            const int g = c / d.Cg, cg = c % d.Cg;
            float *dx_nc = dx + ((size_t)n * d.C + c) * d.H * d.W;
            for (int ih = 0; ih < d.H; ih++) {
                for (int iw = 0; iw < d.W; iw++) {
                    double acc = 0.0;
                    for (int kg = 0; kg < d.Kg; kg++) {
                        const int k = g * d.Kg + kg;
                        const float *dy_nk = dy + ((size_t)n * d.K + k) * d.P * d.Q;
                        const float *w_kc = w + ((size_t)k * d.Cg + cg) * d.R * d.S;
                        for (int r = 0; r < d.R; r++) {
                            const int th = ih + d.pt - r * d.dh; /* = op * sh */
                            if (th < 0 || th % d.sh != 0 || th / d.sh >= d.P)
                                continue;
                            const int op = th / d.sh;
                            for (int s = 0; s < d.S; s++) {
                                const int tw = iw + d.pl - s * d.dw; /* = oq * sw */
                                if (tw < 0 || tw % d.sw != 0 || tw / d.sw >= d.Q)
                                    continue;
                                acc += (double)dy_nk[(size_t)op * d.Q + tw / d.sw] *
                                       w_kc[(size_t)r * d.S + s];
                            }
                        }
                    }
                    dx_nc[(size_t)ih * d.W + iw] = (float)acc;
                }
            }
        }
    }
    return CK_OK;
}

/* x is (N,C,H,W), dy is (N,K,P,Q), dw is (K,C/G,R,S), db is (K) or NULL.
 * dw[k][c][r][s] = sum_{n,p,q} dy[n][k][p][q] * x[n][g*Cg+c][p*sh-pt+r*dh][q*sw-pl+s*dw];
 * db[k] = sum_{n,p,q} dy[n][k][p][q]. */
static enum ck_status naive_backward_weights(const struct ck_conv_params *p, const float *x,
                                             const float *dy, float *dw, float *db, void *ws,
                                             size_t ws_size)
{
    (void)ws, (void)ws_size;
    const struct dims d = dims_of(p);
    #pragma omp parallel for collapse(2) schedule(static)
    for (int k = 0; k < d.K; k++) {
        for (int c = 0; c < d.Cg; c++) {
            const int g = k / d.Kg;
            for (int r = 0; r < d.R; r++) {
                for (int s = 0; s < d.S; s++) {
                    double acc = 0.0;
                    for (int n = 0; n < d.N; n++) {
                        const float *x_nc = x + ((size_t)n * d.C + g * d.Cg + c) * d.H * d.W;
                        const float *dy_nk = dy + ((size_t)n * d.K + k) * d.P * d.Q;
                        for (int op = 0; op < d.P; op++) {
                            const int ih = op * d.sh - d.pt + r * d.dh;
                            if (ih < 0 || ih >= d.H)
                                continue;
                            for (int oq = 0; oq < d.Q; oq++) {
                                const int iw = oq * d.sw - d.pl + s * d.dw;
                                if (iw < 0 || iw >= d.W)
                                    continue;
                                acc += (double)dy_nk[(size_t)op * d.Q + oq] *
                                       x_nc[(size_t)ih * d.W + iw];
                            }
                        }
                    }
                    dw[(((size_t)k * d.Cg + c) * d.R + r) * d.S + s] = (float)acc;
                }
            }
        }
    }
    if (db) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < d.K; k++) {
            double acc = 0.0;
            for (int n = 0; n < d.N; n++) {
                const float *dy_nk = dy + ((size_t)n * d.K + k) * d.P * d.Q;
                for (size_t i = 0; i < (size_t)d.P * d.Q; i++)
                    acc += dy_nk[i];
            }
            db[k] = (float)acc;
        }
    }
    return CK_OK;
}

const struct ck_conv_backend ck_backend_naive = {
    .name = "naive",
    .description = "direct loops, any problem, fp64 accumulation (slow reference)",
    .required_cpu = 0,
    .supports = naive_supports,
    .workspace_size = naive_workspace_size,
    .forward = naive_forward,
    .backward_data = naive_backward_data,
    .backward_weights = naive_backward_weights,
};
