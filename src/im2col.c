/* im2col.c - im2col / col2im on single planes (definitions in im2col.h).
 *
 * Each (r, s) row is built output row by output row: the range of q whose input
 * column falls inside the image is computed once, the padding on either side is
 * zero-filled and the inside is a memcpy (stride 1) or a strided copy. Threads are
 * the caller's business: planes are independent, so callers split over (n, c).
 */
#include <string.h>

#include "im2col.h"
#include "internal.h"

/* q range [*lo, *hi) for which 0 <= q*sw - pl + off < W. */
static void valid_q(int Q, int W, int sw, int start, int *lo, int *hi)
{
    /* iw = q*sw + start; need iw >= 0 and iw <= W-1 */
    int l = start >= 0 ? 0 : (-start + sw - 1) / sw;
    int h = start > W - 1 ? 0 : (W - 1 - start) / sw + 1;
    if (h > Q)
        h = Q;
    if (l > h)
        l = h;
    *lo = l, *hi = h;
}

void ck_im2col_plane(const struct ck_conv_params *p, const float *x_c, float *cols, size_t ld)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const int H = p->H, W = p->W, sh = p->stride_h, sw = p->stride_w;
    for (int r = 0; r < p->R; r++) {
        for (int s = 0; s < p->S; s++) {
            float *row = cols + (size_t)(r * p->S + s) * ld;
            const int w_start = s * p->dilation_w - p->pad_left;
            int lo, hi;
            valid_q(Q, W, sw, w_start, &lo, &hi);
            for (int op = 0; op < P; op++) {
                float *dst = row + (size_t)op * Q;
                const int ih = op * sh - p->pad_top + r * p->dilation_h;
                if (ih < 0 || ih >= H) {
                    memset(dst, 0, (size_t)Q * sizeof(float));
                    continue;
                }
                const float *x_row = x_c + (size_t)ih * W;
                for (int q = 0; q < lo; q++)
                    dst[q] = 0.0f;
                if (sw == 1) {
                    memcpy(dst + lo, x_row + (lo + w_start), (size_t)(hi - lo) * sizeof(float));
                } else {
                    for (int q = lo; q < hi; q++)
                        dst[q] = x_row[q * sw + w_start];
                }
                for (int q = hi; q < Q; q++)
                    dst[q] = 0.0f;
            }
        }
    }
}

void ck_col2im_plane(const struct ck_conv_params *p, const float *cols, size_t ld, float *dx_c)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const int H = p->H, W = p->W, sh = p->stride_h, sw = p->stride_w;
    memset(dx_c, 0, (size_t)H * W * sizeof(float));
    for (int r = 0; r < p->R; r++) {
        for (int s = 0; s < p->S; s++) {
            const float *row = cols + (size_t)(r * p->S + s) * ld;
            const int w_start = s * p->dilation_w - p->pad_left;
            int lo, hi;
            valid_q(Q, W, sw, w_start, &lo, &hi);
            for (int op = 0; op < P; op++) {
                const int ih = op * sh - p->pad_top + r * p->dilation_h;
                if (ih < 0 || ih >= H)
                    continue;
                const float *src = row + (size_t)op * Q;
                float *dx_row = dx_c + (size_t)ih * W;
                for (int q = lo; q < hi; q++)
                    dx_row[q * sw + w_start] += src[q];
            }
        }
    }
}

void ck_im2col(const struct ck_conv_params *p, const float *x_n, int g, float *cols, size_t ld)
{
    const int Cg = p->C / p->groups;
    const size_t RS = (size_t)p->R * p->S, HW = (size_t)p->H * p->W;
    for (int c = 0; c < Cg; c++)
        ck_im2col_plane(p, x_n + ((size_t)g * Cg + c) * HW, cols + c * RS * ld, ld);
}

void ck_col2im(const struct ck_conv_params *p, const float *cols, size_t ld, int g, float *dx_n)
{
    const int Cg = p->C / p->groups;
    const size_t RS = (size_t)p->R * p->S, HW = (size_t)p->H * p->W;
    for (int c = 0; c < Cg; c++)
        ck_col2im_plane(p, cols + c * RS * ld, ld, dx_n + ((size_t)g * Cg + c) * HW);
}
