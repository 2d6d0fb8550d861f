/* im2col.c - im2col / col2im (definitions in im2col.h) and the packers that lower
 * straight into the GEMM's packed-B panels.
 *
 * Each (r, s) row is built output row by output row: the range of q whose input
 * column falls inside the image is computed once, the padding on either side is
 * zero-filled and the inside is a memcpy (stride 1) or a strided copy. Threads are
 * the caller's business: planes (or packed blocks) are independent.
 */
#include <string.h>

#include "convkit/cpu.h"
#include "im2col.h"
#include "internal.h"
#ifdef CONVKIT_HAVE_AVX2
#include "simd.h"
#endif

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

#ifdef CONVKIT_HAVE_AVX2
static int use_avx2(const struct ck_im2col_src *s);
#endif

void ck_col2im_plane_add(const struct ck_conv_params *p, const float *cols, size_t ld,
                         size_t pix0, size_t npix, float *dx_c)
{
#ifdef CONVKIT_HAVE_AVX2
    struct ck_im2col_src geo;
    ck_im2col_src_init(&geo, p, NULL, 0);
    if (use_avx2(&geo)) {
        ck_col2im_add_s1__avx2(&geo, cols, ld, pix0, npix, dx_c);
        return;
    }
#endif
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const int H = p->H, W = p->W, sh = p->stride_h, sw = p->stride_w;
    for (int r = 0; r < p->R; r++) {
        for (int s = 0; s < p->S; s++) {
            const float *row = cols + (size_t)(r * p->S + s) * ld;
            const int w_start = s * p->dilation_w - p->pad_left;
            int lo, hi;
            valid_q(Q, W, sw, w_start, &lo, &hi);
            /* output rows op, each the q range [q0, q1) of this pixel range */
            int op = (int)(pix0 / (size_t)Q), q0 = (int)(pix0 % (size_t)Q);
            for (size_t j = 0; j < npix; op++, q0 = 0) {
                const int q1 = (int)CK_MIN((size_t)Q, q0 + (npix - j));
                const int ih = op * sh - p->pad_top + r * p->dilation_h;
                if (ih >= 0 && ih < H) {
                    const float *src = row + j; /* pixel (op, q0) */
                    float *dx_row = dx_c + (size_t)ih * W;
                    const int a = CK_MAX(lo, q0), b = CK_MIN(hi, q1);
                    if (sw == 1) { /* contiguous: vectorisable */
                        float *d = dx_row + (a + w_start);
                        const float *v = src + (a - q0);
                        for (int t = 0; t < b - a; t++)
                            d[t] += v[t];
                    } else {
                        for (int q = a; q < b; q++)
                            dx_row[q * sw + w_start] += src[q - q0];
                    }
                }
                j += (size_t)(q1 - q0);
            }
        }
    }
}

void ck_col2im_plane(const struct ck_conv_params *p, const float *cols, size_t ld, float *dx_c)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    memset(dx_c, 0, (size_t)p->H * p->W * sizeof(float));
    ck_col2im_plane_add(p, cols, ld, 0, (size_t)P * Q, dx_c);
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

/* ---- column rows and packed panels straight from x ------------------------------------ */

void ck_im2col_src_init(struct ck_im2col_src *s, const struct ck_conv_params *p, const float *x,
                        int g)
{
    s->p = p;
    s->HW = (size_t)p->H * p->W;
    s->img_stride = (size_t)p->C * s->HW;
    s->x_g = x ? x + (size_t)g * (p->C / p->groups) * s->HW : NULL;
    ck_conv_output_size(p, &s->P, &s->Q);
    s->H = p->H, s->W = p->W, s->R = p->R, s->S = p->S;
    s->sh = p->stride_h, s->sw = p->stride_w, s->pt = p->pad_top, s->pl = p->pad_left;
    s->dh = p->dilation_h, s->dw = p->dilation_w;
}

#ifdef CONVKIT_HAVE_AVX2
/* 1 if the AVX2 versions below may run (stride_w 1, the CPU has AVX2 and FMA). */
static int use_avx2(const struct ck_im2col_src *s)
{
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA;
    return s->sw == 1 && s->S <= CK_IM2COL_AVX2_MAX_S && (ck_cpu_features() & need) == need;
}
#endif

void ck_im2col_row(const struct ck_im2col_src *s, size_t crs, size_t j0, size_t len, float *out)
{
#ifdef CONVKIT_HAVE_AVX2
    if (use_avx2(s)) {
        ck_im2col_row_s1__avx2(s, crs, j0, len, out);
        return;
    }
#endif
    const struct ck_conv_params *p = s->p;
    const int Q = s->Q, H = p->H, W = p->W, sh = p->stride_h, sw = p->stride_w;
    const size_t RS = (size_t)p->R * p->S, PQ = (size_t)s->P * Q;
    const int c = (int)(crs / RS), r = (int)(crs % RS) / p->S, sx = (int)(crs % RS) % p->S;
    const int h_start = r * p->dilation_h - p->pad_top, w_start = sx * p->dilation_w - p->pad_left;
    int lo, hi;
    valid_q(Q, W, sw, w_start, &lo, &hi);
    const float *x_c = s->x_g + (j0 / PQ) * s->img_stride + (size_t)c * H * W;
    int op = (int)(j0 % PQ / (size_t)Q), q = (int)(j0 % PQ % (size_t)Q);
    while (len > 0) {
        /* output row op, columns q .. q+run-1: zeros | x row | zeros */
        const int run = (int)CK_MIN((size_t)(Q - q), len);
        const int ih = op * sh + h_start;
        if (ih < 0 || ih >= H) {
            memset(out, 0, (size_t)run * sizeof(float));
        } else {
            const float *x_row = x_c + (size_t)ih * W;
            const int a = CK_MIN(CK_MAX(lo, q), q + run), b = CK_MAX(CK_MIN(hi, q + run), a);
            for (int t = q; t < a; t++)
                out[t - q] = 0.0f;
            if (sw == 1 && b > a)
                memcpy(out + (a - q), x_row + a + w_start, (size_t)(b - a) * sizeof(float));
            else if (sw != 1)
                for (int t = a; t < b; t++)
                    out[t - q] = x_row[t * sw + w_start];
            for (int t = b; t < q + run; t++)
                out[t - q] = 0.0f;
        }
        out += run;
        len -= (size_t)run;
        q += run;
        if (q == Q) {
            q = 0;
            if (++op == s->P) {
                op = 0;
                x_c += s->img_stride;
            }
        }
    }
}

void ck_im2col_pack_cols(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc, float *bp)
{
    enum { NR = CK_GEMM_NR, CB = 16 * NR };
    const struct ck_im2col_src *s = ctx;
#ifdef CONVKIT_HAVE_AVX2
    if (use_avx2(s)) {
        ck_im2col_pack_cols_s1__avx2(s, k0, kc, j0, nc, bp);
        return;
    }
#endif
    _Alignas(32) float row[CB];
    /* CB columns at a time: build each of the kc rows, then deal it out to CB/NR panels */
    for (size_t cb = 0; cb < nc; cb += CB) {
        const size_t len = CK_MIN((size_t)CB, nc - cb);
        float *bq = bp + cb * kc;
        for (size_t k = 0; k < kc; k++) {
            ck_im2col_row(s, k0 + k, j0 + cb, len, row);
            for (size_t t = 0; t < len; t += NR) {
                float *dst = bq + t * kc + k * NR;
                const size_t w = CK_MIN((size_t)NR, len - t);
                memcpy(dst, row + t, w * sizeof(float));
                for (size_t j = w; j < NR; j++)
                    dst[j] = 0.0f;
            }
        }
    }
}

void ck_im2col_pack_cols_t(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc,
                           float *bp)
{
    enum { NR = CK_GEMM_NR };
    const struct ck_im2col_src *s = ctx;
#ifdef CONVKIT_HAVE_AVX2
    if (use_avx2(s)) {
        ck_im2col_pack_cols_t_s1__avx2(s, k0, kc, j0, nc, bp);
        return;
    }
#endif
    _Alignas(32) float rows[NR][CK_GEMM_KC_MAX];
    /* panel t: columns crs = j0+t .. j0+t+15, each a column-matrix row over pixels
     * k0 .. k0+kc-1, built contiguous and then transposed into the panel */
    for (size_t t = 0; t < nc; t += NR) {
        const float *cols[NR];
        for (size_t j = 0; j < NR; j++) {
            cols[j] = NULL;
            if (t + j < nc) {
                ck_im2col_row(s, j0 + t + j, k0, kc, rows[j]);
                cols[j] = rows[j];
            }
        }
        ck_gemm_pack_panel_t(kc, cols, bp + t * kc);
    }
}
