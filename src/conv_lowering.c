/* conv_lowering.c - the explicit im2col lowering (contract in conv_lowering.h).
 *
 * Per group g and per chunk of pixels (cols is (Cg*R*S) x len, the chunk's pixels side
 * by side; the GEMM views address NCHW tensors directly, so nothing else is copied):
 *   forward           y_g  = W_g * cols                      (+ bias after)
 *   backward-data     cols = W_g^T * dy_g, then col2im adds it into dx (zeroed first)
 *   backward-weights  dW_g = sum over chunks, in pixel order, of dy_g * cols^T (the first
 *                     chunk overwrites), db[k] = sum of dy[., k] (float within a plane,
 *                     double across planes)
 * 1x1 filters with stride 1 and no padding skip the lowering: cols is x itself.
 * Threads: im2col rows, col2im planes and the GEMM's C blocks each have one owner, and
 * the chunking depends only on the problem, so results do not depend on the count.
 */
#include <string.h>

#include "conv_lowering.h"
#include "im2col.h"
#include "internal.h"

void ck_lowering_init(struct ck_lowering *l, const struct ck_conv_params *p)
{
    memset(l, 0, sizeof *l);
    l->N = p->N, l->C = p->C, l->H = p->H, l->W = p->W, l->K = p->K, l->R = p->R;
    l->S = p->S, l->G = p->groups, l->Cg = p->C / p->groups, l->Kg = p->K / p->groups;
    ck_conv_output_size(p, &l->P, &l->Q);
    l->HW = (size_t)l->H * l->W;
    l->PQ = (size_t)l->P * l->Q;
    l->RS = (size_t)l->R * l->S;
    l->CRS = (size_t)l->Cg * l->RS;
    l->direct = l->R == 1 && l->S == 1 && p->stride_h == 1 && p->stride_w == 1 &&
                p->pad_top == 0 && p->pad_left == 0 && p->pad_bottom == 0 &&
                p->pad_right == 0;
    /* Whole images while one image's columns fit the bound, else slices of an image. */
    const size_t one = l->CRS * l->PQ * sizeof(float);
    if (one <= CK_LOWERING_CHUNK_BYTES || l->direct) {
        const size_t nb = CK_MAX((size_t)1, CK_MIN((size_t)l->N, CK_LOWERING_CHUNK_BYTES / one));
        l->chunk = nb * l->PQ;
    } else {
        const size_t px = CK_LOWERING_CHUNK_BYTES / (l->CRS * sizeof(float));
        l->chunk = CK_MIN(l->PQ, CK_MAX((size_t)16, px));
    }
    l->cols_floats = l->direct ? 0 : (l->CRS * l->chunk + 15) / 16 * 16;
}

int ck_lowering_next_chunk(const struct ck_lowering *l, size_t *j0, size_t *len)
{
    const size_t j = *j0 + *len, total = (size_t)l->N * l->PQ;
    if (j >= total)
        return 0;
    *j0 = j;
    if (l->chunk >= l->PQ) /* whole images */
        *len = CK_MIN(l->chunk, total - j);
    else /* a slice that ends at the image's end at the latest */
        *len = CK_MIN(l->chunk, l->PQ - j % l->PQ);
    return 1;
}

static struct ck_gemm_index strided(size_t stride)
{
    struct ck_gemm_index ix = {stride, 0, 0};
    return ix;
}

/* The chunk's pixels in a tensor whose images are img floats apart: one run within an
 * image, blocks of P*Q when the chunk spans several images. */
static struct ck_gemm_index pixels(const struct ck_lowering *l, size_t len, size_t img)
{
    struct ck_gemm_index ix = {1, 0, 0};
    if (len > l->PQ)
        ix.blk = l->PQ, ix.blk_stride = img;
    return ix;
}

struct ck_gemm_args ck_lowering_gemm_args(const struct ck_lowering *l, enum ck_conv_pass pass,
                                          int g, size_t j0, size_t len, const float *x,
                                          const float *w, const float *dy, float *out,
                                          float *cols)
{
    const size_t n0 = j0 / l->PQ, pix0 = j0 % l->PQ;
    const size_t x_off = (n0 * l->C + (size_t)g * l->Cg) * l->HW + pix0; /* direct: HW == PQ */
    const size_t y_off = (n0 * l->K + (size_t)g * l->Kg) * l->PQ + pix0;
    const float *w_g = w ? w + (size_t)g * l->Kg * l->CRS : NULL;
    /* The column matrix (CRS x len): the buffer, or x itself for 1x1 filters. */
    const float *cm = cols;
    struct ck_gemm_layout lcols = {strided(len), strided(1)};
    if (l->direct) {
        cm = x ? x + x_off : NULL;
        lcols.row = strided(l->HW);
        lcols.col = pixels(l, len, (size_t)l->C * l->HW);
    }
    /* dy_g or y_g as a (Kg x len) matrix. */
    const struct ck_gemm_layout ly = {strided(l->PQ), pixels(l, len, (size_t)l->K * l->PQ)};
    struct ck_gemm_args a = {.alpha = 1.0f, .beta = 0.0f};
    switch (pass) {
    case CK_PASS_FORWARD:
        a.M = l->Kg, a.N = (int)len, a.K = (int)l->CRS;
        a.a = w_g, a.la = ck_gemm_layout_rm(CK_GEMM_NOTRANS, l->CRS);
        a.b = cm, a.lb = lcols;
        a.c = out ? out + y_off : NULL, a.lc = ly;
        break;
    case CK_PASS_BACKWARD_DATA:
        a.M = (int)l->CRS, a.N = (int)len, a.K = l->Kg;
        a.a = w_g, a.la = ck_gemm_layout_rm(CK_GEMM_TRANS, l->CRS);
        a.b = dy ? dy + y_off : NULL, a.lb = ly;
        a.c = l->direct ? (out ? out + x_off : NULL) : cols;
        a.lc = lcols;
        break;
    default: /* CK_PASS_BACKWARD_WEIGHTS: dW_g (Kg x CRS) = dy_g * cols^T */
        a.M = l->Kg, a.N = (int)l->CRS, a.K = (int)len;
        a.a = dy ? dy + y_off : NULL, a.la = ly;
        a.b = cm, a.lb.row = lcols.col, a.lb.col = lcols.row;
        a.c = out ? out + (size_t)g * l->Kg * l->CRS : NULL;
        a.lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, l->CRS);
        break;
    }
    return a;
}

size_t ck_lowering_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                  const struct ck_lowering_gemm *gemm)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    size_t most = 0, j0 = 0, len = 0, last_len = 0;
    /* chunks differ only in length (the last one, image slices): ask for each length */
    while (gemm->workspace_size && ck_lowering_next_chunk(&l, &j0, &len)) {
        if (len == last_len)
            continue;
        last_len = len;
        const struct ck_gemm_args a =
            ck_lowering_gemm_args(&l, pass, 0, j0, len, NULL, NULL, NULL, NULL, NULL);
        most = CK_MAX(most, gemm->workspace_size(&a));
    }
    return l.cols_floats * sizeof(float) + most;
}

/* The GEMM's part of the workspace, after the column buffer. */
static void *gemm_ws(void *ws, size_t cols_bytes)
{
    return ws ? (char *)ws + cols_bytes : NULL;
}

/* cols (CRS x len) = group g's column matrix over pixels j0 .. j0+len-1. */
static void lower(const struct ck_lowering *l, const struct ck_conv_params *p, const float *x,
                  int g, size_t j0, size_t len, float *cols)
{
    struct ck_im2col_src src;
    ck_im2col_src_init(&src, p, x, g);
    const long rows = (long)l->CRS;
    #pragma omp parallel for schedule(static)
    for (long crs = 0; crs < rows; crs++)
        ck_im2col_row(&src, (size_t)crs, j0, len, cols + (size_t)crs * len);
}

void ck_lowering_add_bias(const struct ck_lowering *l, const float *bias, float *y)
{
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < l->N; n++)
        for (int k = 0; k < l->K; k++) {
            float *y_nk = y + ((size_t)n * l->K + k) * l->PQ;
            for (size_t i = 0; i < l->PQ; i++)
                y_nk[i] += bias[k];
        }
}

void ck_lowering_bias_grad(const struct ck_lowering *l, const float *dy, float *db)
{
    /* Per plane: 16 float partial sums (vectorisable, no long add chain), summed in
     * double; planes accumulate in double in image order. Fixed order: no thread count
     * dependence. */
    enum { CHAINS = 16 };
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < l->K; k++) {
        double sum = 0.0;
        for (int n = 0; n < l->N; n++) {
            const float *dy_nk = dy + ((size_t)n * l->K + k) * l->PQ;
            float acc[CHAINS] = {0};
            size_t i = 0;
            for (; i + CHAINS <= l->PQ; i += CHAINS)
                for (int c = 0; c < CHAINS; c++)
                    acc[c] += dy_nk[i + c];
            for (; i < l->PQ; i++)
                acc[i % CHAINS] += dy_nk[i];
            double plane = 0.0;
            for (int c = 0; c < CHAINS; c++)
                plane += acc[c];
            sum += plane;
        }
        db[k] = (float)sum;
    }
}

enum ck_status ck_lowering_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size, const struct ck_lowering_gemm *gemm)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    for (int g = 0; g < l.G; g++) {
        for (size_t j0 = 0, len = 0; ck_lowering_next_chunk(&l, &j0, &len);) {
            if (!l.direct)
                lower(&l, p, x, g, j0, len, cols);
            const struct ck_gemm_args a =
                ck_lowering_gemm_args(&l, CK_PASS_FORWARD, g, j0, len, x, w, NULL, y, cols);
            enum ck_status st = gemm->run(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
        }
    }
    if (bias)
        ck_lowering_add_bias(&l, bias, y);
    return CK_OK;
}

enum ck_status ck_lowering_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size,
                                         const struct ck_lowering_gemm *gemm)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    if (!l.direct) { /* col2im adds every chunk's contribution */
        const long planes = (long)l.N * l.C;
        #pragma omp parallel for schedule(static)
        for (long i = 0; i < planes; i++)
            memset(dx + (size_t)i * l.HW, 0, l.HW * sizeof(float));
    }
    for (int g = 0; g < l.G; g++) {
        for (size_t j0 = 0, len = 0; ck_lowering_next_chunk(&l, &j0, &len);) {
            const struct ck_gemm_args a = ck_lowering_gemm_args(&l, CK_PASS_BACKWARD_DATA, g, j0,
                                                                len, NULL, w, dy, dx, cols);
            enum ck_status st = gemm->run(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
            if (l.direct)
                continue;
            /* images n_first .. n_last of the chunk, each plane owned by one thread */
            const int n_first = (int)(j0 / l.PQ), n_count = (int)((j0 + len - 1) / l.PQ) - n_first + 1;
            #pragma omp parallel for collapse(2) schedule(static)
            for (int i = 0; i < n_count; i++)
                for (int c = 0; c < l.Cg; c++) {
                    const size_t n = (size_t)(n_first + i);
                    const size_t from = CK_MAX(j0, n * l.PQ), to = CK_MIN(j0 + len, (n + 1) * l.PQ);
                    ck_col2im_plane_add(p, cols + (size_t)c * l.RS * len + (from - j0), len,
                                        from - n * l.PQ, to - from,
                                        dx + (n * l.C + (size_t)g * l.Cg + c) * l.HW);
                }
        }
    }
    return CK_OK;
}

enum ck_status ck_lowering_backward_weights(const struct ck_conv_params *p, const float *x,
                                            const float *dy, float *dw, float *db, void *ws,
                                            size_t ws_size, const struct ck_lowering_gemm *gemm)
{
    struct ck_lowering l;
    ck_lowering_init(&l, p);
    float *cols = ws;
    const size_t cols_bytes = l.cols_floats * sizeof(float);
    for (int g = 0; g < l.G; g++) {
        /* Chunks in pixel order: the sum over pixels has one fixed association. */
        for (size_t j0 = 0, len = 0; ck_lowering_next_chunk(&l, &j0, &len);) {
            if (!l.direct)
                lower(&l, p, x, g, j0, len, cols);
            struct ck_gemm_args a = ck_lowering_gemm_args(&l, CK_PASS_BACKWARD_WEIGHTS, g, j0,
                                                          len, x, NULL, dy, dw, cols);
            a.beta = j0 == 0 ? 0.0f : 1.0f;
            enum ck_status st = gemm->run(&a, gemm_ws(ws, cols_bytes), ws_size - cols_bytes);
            if (st != CK_OK)
                return st;
        }
    }
    if (db)
        ck_lowering_bias_grad(&l, dy, db);
    return CK_OK;
}
