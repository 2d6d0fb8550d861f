/* conv_im2col.c - backend "im2col": lower to columns, multiply with convkit's GEMM.
 *
 * Per group g and per chunk of nb images (cols is (Cg*R*S) x (nb*P*Q), images side by
 * side; the GEMM views address NCHW tensors directly, so nothing else is copied):
 *   forward           y_g[Kg x nb*PQ]   = W_g[Kg x CgRS] * cols            (+ bias after)
 *   backward-data     cols              = W_g^T * dy_g[Kg x nb*PQ], then col2im into dx
 *   backward-weights  dW_g[Kg x CgRS]  += dy_g * cols^T, chunks in image order (the first
 *                     chunk overwrites), db[k] = sum of dy[., k] in double
 * 1x1 filters with stride 1 and no padding skip the lowering: cols is x itself.
 * Supports every valid problem. Not here: the GEMM itself (gemm.c), im2col (im2col.c).
 */
#include "gemm.h"
#include "im2col.h"
#include "internal.h"

/* The column buffer holds at most this many bytes, or one image-group's columns
 * (Cg*R*S*P*Q floats) when that alone is larger: nb = clamp(bound / one, 1, N). */
#define CK_IM2COL_CHUNK_BYTES ((size_t)4 << 20)

struct lowering {
    int N, C, H, W, K, R, S, P, Q, G, Cg, Kg;
    size_t HW, PQ, RS, CRS; /* CRS = Cg*R*S: rows of cols for one group */
    int direct;             /* 1x1, stride 1, no padding: cols would equal x */
    int nb;                 /* images per chunk */
    size_t cols_floats;     /* column buffer, a multiple of 16 floats (0 if direct) */
};

static struct lowering lowering_of(const struct ck_conv_params *p)
{
    struct lowering l = {
        .N = p->N, .C = p->C, .H = p->H, .W = p->W, .K = p->K, .R = p->R, .S = p->S,
        .G = p->groups, .Cg = p->C / p->groups, .Kg = p->K / p->groups,
    };
    ck_conv_output_size(p, &l.P, &l.Q);
    l.HW = (size_t)l.H * l.W;
    l.PQ = (size_t)l.P * l.Q;
    l.RS = (size_t)l.R * l.S;
    l.CRS = (size_t)l.Cg * l.RS;
    l.direct = l.R == 1 && l.S == 1 && p->stride_h == 1 && p->stride_w == 1 &&
               p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 && p->pad_right == 0;
    const size_t one = l.CRS * l.PQ * sizeof(float);
    l.nb = (int)CK_MAX((size_t)1, CK_MIN((size_t)l.N, CK_IM2COL_CHUNK_BYTES / one));
    l.cols_floats = l.direct ? 0 : (l.CRS * l.nb * l.PQ + 15) / 16 * 16;
    return l;
}

/* Index "pixel j of the chunk" = image j / PQ, pixel j % PQ, in a tensor whose images
 * are img_stride floats apart. */
static struct ck_gemm_index pixels(const struct lowering *l, size_t img_stride)
{
    struct ck_gemm_index ix = {1, l->PQ, img_stride};
    return ix;
}

static struct ck_gemm_index strided(size_t stride)
{
    struct ck_gemm_index ix = {stride, 0, 0};
    return ix;
}

/* The GEMM of one pass for group g, images n0 .. n0+nbc-1. Tensors may be NULL for a
 * workspace query. cols has row stride nbc*PQ. */
static struct ck_gemm_args pass_gemm(const struct lowering *l, enum ck_conv_pass pass, int g,
                                     int n0, int nbc, const float *x, const float *w,
                                     const float *dy, float *out, float *cols)
{
    const size_t npix = (size_t)nbc * l->PQ;
    const size_t x_off = ((size_t)n0 * l->C + (size_t)g * l->Cg) * l->HW;
    const size_t y_off = ((size_t)n0 * l->K + (size_t)g * l->Kg) * l->PQ;
    const float *w_g = w ? w + (size_t)g * l->Kg * l->CRS : NULL;
    /* The column matrix (CRS x npix): our buffer, or x itself for 1x1 filters. */
    const float *cm = cols;
    struct ck_gemm_layout lcols = {strided(npix), strided(1)};
    if (l->direct) {
        cm = x ? x + x_off : NULL;
        lcols.row = strided(l->HW);
        lcols.col = pixels(l, (size_t)l->C * l->HW);
    }
    /* dy_g or y_g as a (Kg x npix) matrix. */
    const struct ck_gemm_layout ly = {strided(l->PQ), pixels(l, (size_t)l->K * l->PQ)};
    struct ck_gemm_args a = {.alpha = 1.0f, .beta = 0.0f};
    switch (pass) {
    case CK_PASS_FORWARD:
        a.M = l->Kg, a.N = (int)npix, a.K = (int)l->CRS;
        a.a = w_g, a.la = ck_gemm_layout_rm(CK_GEMM_NOTRANS, l->CRS);
        a.b = cm, a.lb = lcols;
        a.c = out ? out + y_off : NULL, a.lc = ly;
        break;
    case CK_PASS_BACKWARD_DATA:
        a.M = (int)l->CRS, a.N = (int)npix, a.K = l->Kg;
        a.a = w_g, a.la = ck_gemm_layout_rm(CK_GEMM_TRANS, l->CRS);
        a.b = dy ? dy + y_off : NULL, a.lb = ly;
        a.c = l->direct ? (out ? out + x_off : NULL) : cols;
        a.lc = lcols;
        break;
    default: /* CK_PASS_BACKWARD_WEIGHTS: dW_g (Kg x CRS) = dy_g * cols^T */
        a.M = l->Kg, a.N = (int)l->CRS, a.K = (int)npix;
        a.a = dy ? dy + y_off : NULL, a.la = ly;
        a.b = cm, a.lb.row = lcols.col, a.lb.col = lcols.row;
        a.c = out ? out + (size_t)g * l->Kg * l->CRS : NULL;
        a.lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, l->CRS);
        a.beta = n0 == 0 ? 0.0f : 1.0f;
        break;
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
    const struct lowering l = lowering_of(p);
    const struct ck_gemm_args a = pass_gemm(&l, pass, 0, 0, l.nb, NULL, NULL, NULL, NULL, NULL);
    return l.cols_floats * sizeof(float) + ck_sgemm_ex_workspace_size(&a);
}

/* The GEMM's part of the workspace, after the column buffer. */
static void *gemm_ws(void *ws, size_t cols_bytes)
{
    return ws ? (char *)ws + cols_bytes : NULL;
}

/* Lower images n0 .. n0+nbc-1 of group g into cols (row stride nbc*PQ). */
static void lower(const struct lowering *l, const struct ck_conv_params *p, const float *x,
                  int g, int n0, int nbc, float *cols)
{
    const size_t ld = (size_t)nbc * l->PQ;
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < nbc; n++)
        for (int c = 0; c < l->Cg; c++)
            ck_im2col_plane(p, x + ((size_t)(n0 + n) * l->C + (size_t)g * l->Cg + c) * l->HW,
                            cols + (size_t)c * l->RS * ld + (size_t)n * l->PQ, ld);
}

static enum ck_status im2col_forward(const struct ck_conv_params *p, const float *x,
                                     const float *w, const float *bias, float *y, void *ws,
                                     size_t ws_size)
{
    const struct lowering l = lowering_of(p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    for (int g = 0; g < l.G; g++) {
        for (int n0 = 0; n0 < l.N; n0 += l.nb) {
            const int nbc = CK_MIN(l.nb, l.N - n0);
            if (!l.direct)
                lower(&l, p, x, g, n0, nbc, cols);
            const struct ck_gemm_args a =
                pass_gemm(&l, CK_PASS_FORWARD, g, n0, nbc, x, w, NULL, y, cols);
            enum ck_status st = ck_sgemm_ex(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
        }
    }
    if (bias) {
        #pragma omp parallel for collapse(2) schedule(static)
        for (int n = 0; n < l.N; n++)
            for (int k = 0; k < l.K; k++) {
                float *y_nk = y + ((size_t)n * l.K + k) * l.PQ;
                for (size_t i = 0; i < l.PQ; i++)
                    y_nk[i] += bias[k];
            }
    }
    return CK_OK;
}

static enum ck_status im2col_backward_data(const struct ck_conv_params *p, const float *dy,
                                           const float *w, float *dx, void *ws, size_t ws_size)
{
    const struct lowering l = lowering_of(p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    for (int g = 0; g < l.G; g++) {
        for (int n0 = 0; n0 < l.N; n0 += l.nb) {
            const int nbc = CK_MIN(l.nb, l.N - n0);
            const struct ck_gemm_args a =
                pass_gemm(&l, CK_PASS_BACKWARD_DATA, g, n0, nbc, NULL, w, dy, dx, cols);
            enum ck_status st = ck_sgemm_ex(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
            if (l.direct)
                continue;
            const size_t ld = (size_t)nbc * l.PQ;
            #pragma omp parallel for collapse(2) schedule(static)
            for (int n = 0; n < nbc; n++)
                for (int c = 0; c < l.Cg; c++)
                    ck_col2im_plane(p, cols + (size_t)c * l.RS * ld + (size_t)n * l.PQ, ld,
                                    dx + ((size_t)(n0 + n) * l.C + (size_t)g * l.Cg + c) * l.HW);
        }
    }
    return CK_OK;
}

static enum ck_status im2col_backward_weights(const struct ck_conv_params *p, const float *x,
                                              const float *dy, float *dw, float *db, void *ws,
                                              size_t ws_size)
{
    const struct lowering l = lowering_of(p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    for (int g = 0; g < l.G; g++) {
        /* Chunks in image order: the sum over images has one fixed association. */
        for (int n0 = 0; n0 < l.N; n0 += l.nb) {
            const int nbc = CK_MIN(l.nb, l.N - n0);
            if (!l.direct)
                lower(&l, p, x, g, n0, nbc, cols);
            const struct ck_gemm_args a =
                pass_gemm(&l, CK_PASS_BACKWARD_WEIGHTS, g, n0, nbc, x, NULL, dy, dw, cols);
            enum ck_status st = ck_sgemm_ex(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
        }
    }
    if (db) {
        #pragma omp parallel for schedule(static)
        for (int k = 0; k < l.K; k++) {
            double acc = 0.0;
            for (int n = 0; n < l.N; n++) {
                const float *dy_nk = dy + ((size_t)n * l.K + k) * l.PQ;
                for (size_t i = 0; i < l.PQ; i++)
                    acc += dy_nk[i];
            }
            db[k] = (float)acc;
        }
    }
    return CK_OK;
}

const struct ck_conv_backend ck_backend_im2col = {
    .name = "im2col",
    .description = "im2col/col2im + convkit's packed GEMM (AVX2/FMA micro-kernel if available)",
    .required_cpu = 0,
    .supports = im2col_supports,
    .workspace_size = im2col_workspace_size,
    .forward = im2col_forward,
    .backward_data = im2col_backward_data,
    .backward_weights = im2col_backward_weights,
};
