/* im2col_avx2.c - im2col rows and packed GEMM panels for stride_w == 1 with AVX2.
 *
 * Contracts of ck_im2col_row and ck_im2col_pack_cols (src/im2col.h); the portable
 * versions there handle every other case. With stride_w 1 the pixels q of one output
 * row read the consecutive input pixels q + s*dw - pl, so 8 of them are one masked
 * load: lanes that fall into the padding are masked off (vmaskmovps reads nothing
 * there, so the address may point outside x) and come back as 0. No threading here.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "avx2_util.h"
#include "im2col.h"
#include "simd.h"

/* Lanes l of 0..7 with lo <= l < hi, as a vmaskmovps mask. */
static inline __m256i lane_mask(int lo, int hi)
{
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32(lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32(hi), lane));
}

/* 8 floats at x + off (off may be negative: only masked-in lanes are read). */
static inline __m256 load_masked(const float *x, ptrdiff_t off, __m256i m)
{
    const float *at = (const float *)((uintptr_t)x + (uintptr_t)(off * (ptrdiff_t)sizeof(float)));
    return _mm256_maskload_ps(at, m);
}

void ck_im2col_row_s1__avx2(const struct ck_im2col_src *s, size_t crs, size_t j0, size_t len,
                            float *out)
{
    const size_t RS = (size_t)s->R * s->S, PQ = (size_t)s->P * s->Q;
    const int c = (int)(crs / RS), r = (int)(crs % RS) / s->S, sx = (int)(crs % RS) % s->S;
    const int h_start = r * s->dh - s->pt, w_start = sx * s->dw - s->pl;
    const int qlo = -w_start, qhi = s->W - w_start; /* q whose input pixel is inside */
    const float *x_c = s->x_g + (j0 / PQ) * s->img_stride + (size_t)c * s->HW;
    int op = (int)(j0 % PQ) / s->Q, q = (int)(j0 % PQ) % s->Q;
    size_t done = 0;
    while (done < len) {
        /* output row op, pixels q .. q+run-1; lanes past run are rewritten by the next row */
        const int run = (int)(len - done < (size_t)(s->Q - q) ? len - done : (size_t)(s->Q - q));
        const int ih = op * s->sh + h_start;
        const int inside = ih >= 0 && ih < s->H;
        const int a = q > qlo ? q : qlo, b = q + run < qhi ? q + run : qhi;
        const float *x_row = x_c + (inside ? (size_t)ih * s->W : 0);
        for (int t = 0; t < run; t += 8) {
            __m256 v = _mm256_setzero_ps();
            if (inside && a < b)
                v = load_masked(x_row, (ptrdiff_t)q + t + w_start, lane_mask(a - q - t, b - q - t));
            float *dst = out + done + t;
            if (done + t + 8 <= len) {
                _mm256_storeu_ps(dst, v);
            } else { /* the row's last, partial vector */
                float tmp[8];
                _mm256_storeu_ps(tmp, v);
                memcpy(dst, tmp, (len - done - (size_t)t) * sizeof(float));
            }
        }
        done += (size_t)run;
        q += run;
        if (q == s->Q) {
            q = 0;
            if (++op == s->P) {
                op = 0;
                x_c += s->img_stride;
            }
        }
    }
}

/* One output-row piece of a 16-column panel: panel lanes lane .. lane+len-1 are pixels
 * q0 .. q0+len-1 of output row p of image n; x_p is that image's x at input row p*sh-pt
 * (channel 0, column q0 - lane), so lane l of kernel row k reads x_p[xoff[k] + l]. */
struct seg {
    const float *x_p;
    int ih0, lane, len, q0;
};

void ck_im2col_pack_cols_s1__avx2(const struct ck_im2col_src *s, size_t k0, size_t kc,
                                  size_t j0, size_t nc, float *bp)
{
    enum { NR = 16 };
    const size_t PQ = (size_t)s->P * s->Q, RS = (size_t)s->R * s->S;
    /* Per row k of the block (c, r, sx): the input row offset r*dh, the x offset
     * c*HW + r*dh*W + sx*dw - pl, and sx. Shared by every panel. */
    int hoff[CK_GEMM_KC_MAX], sidx[CK_GEMM_KC_MAX];
    ptrdiff_t xoff[CK_GEMM_KC_MAX];
    size_t c = k0 / RS;
    int r = (int)(k0 % RS) / s->S, sx = (int)(k0 % RS) % s->S;
    ptrdiff_t xoff_lo = PTRDIFF_MAX, xoff_hi = PTRDIFF_MIN;
    for (size_t k = 0; k < kc; k++) {
        hoff[k] = r * s->dh, sidx[k] = sx;
        xoff[k] = (ptrdiff_t)(c * s->HW) + (ptrdiff_t)hoff[k] * s->W + sx * s->dw - s->pl;
        xoff_lo = xoff[k] < xoff_lo ? xoff[k] : xoff_lo;
        xoff_hi = xoff[k] > xoff_hi ? xoff[k] : xoff_hi;
        if (++sx == s->S) {
            sx = 0;
            if (++r == s->R)
                r = 0, c++;
        }
    }
    /* x of the images these columns read (the group's channels): a panel whose loads
     * all fall inside it may use plain loads and clear the padding lanes by the mask
     * (the same values as a masked load, which is slower) */
    const uintptr_t x_lo = (uintptr_t)(s->x_g + j0 / PQ * s->img_stride);
    const uintptr_t x_hi = (uintptr_t)(s->x_g + (j0 + nc - 1) / PQ * s->img_stride +
                                       (size_t)(s->p->C / s->p->groups) * s->HW);
    for (size_t t = 0; t < nc; t += NR) {
        /* the panel's columns j0+t .. as pieces of output rows (1 if Q is a multiple of
         * 16, up to 16 for tiny images); columns past nc get no piece and stay 0 */
        struct seg segs[NR];
        int ns = 0;
        const size_t end = j0 + t + (nc - t < NR ? nc - t : NR);
        for (size_t j = j0 + t; j < end; ns++) {
            const size_t n = j / PQ, pq = j % PQ;
            const int q = (int)(pq % (size_t)s->Q), ih0 = (int)(pq / (size_t)s->Q) * s->sh - s->pt;
            const int len = (int)((size_t)(s->Q - q) < end - j ? (size_t)(s->Q - q) : end - j);
            const int lane = (int)(j - j0 - t);
            segs[ns] = (struct seg){(const float *)((uintptr_t)(s->x_g + n * s->img_stride) +
                                                    (uintptr_t)(((ptrdiff_t)ih0 * s->W + q - lane) *
                                                                (ptrdiff_t)sizeof(float))),
                                    ih0, lane, len, q};
            j += (size_t)len;
        }
        /* masks per piece and sx: lanes whose input column q + sx*dw - pl is in 0 .. W-1 */
        __m256i m0[NR][CK_IM2COL_AVX2_MAX_S], m1[NR][CK_IM2COL_AVX2_MAX_S];
        for (int i = 0; i < ns; i++)
            for (int v = 0; v < s->S; v++) {
                const int w_start = v * s->dw - s->pl;
                const int qa = segs[i].q0 > -w_start ? segs[i].q0 : -w_start;
                const int qe = segs[i].q0 + segs[i].len, qb = qe < s->W - w_start ? qe : s->W - w_start;
                const int la = segs[i].lane + qa - segs[i].q0, lb = segs[i].lane + qb - segs[i].q0;
                m0[i][v] = lane_mask(la, lb);
                m1[i][v] = lane_mask(la - 8, lb - 8);
            }
        float *dst = bp + t * kc;
        if (ns == 1) { /* the common case: the panel is part of one output row */
            const struct seg g = segs[0];
            const uintptr_t lo = (uintptr_t)g.x_p + (uintptr_t)(xoff_lo * (ptrdiff_t)sizeof(float));
            const uintptr_t hi = (uintptr_t)g.x_p + (uintptr_t)((xoff_hi + NR) * (ptrdiff_t)sizeof(float));
            if (lo >= x_lo && hi <= x_hi && lo <= hi) {
                for (size_t k = 0; k < kc; k++, dst += NR) {
                    __m256 v0 = _mm256_setzero_ps(), v1 = v0;
                    if ((unsigned)(g.ih0 + hoff[k]) < (unsigned)s->H) {
                        const float *at = g.x_p + xoff[k];
                        v0 = _mm256_and_ps(_mm256_loadu_ps(at), _mm256_castsi256_ps(m0[0][sidx[k]]));
                        v1 = _mm256_and_ps(_mm256_loadu_ps(at + 8),
                                           _mm256_castsi256_ps(m1[0][sidx[k]]));
                    }
                    _mm256_store_ps(dst, v0);
                    _mm256_store_ps(dst + 8, v1);
                }
                continue;
            }
            for (size_t k = 0; k < kc; k++, dst += NR) {
                __m256 v0 = _mm256_setzero_ps(), v1 = v0;
                if ((unsigned)(g.ih0 + hoff[k]) < (unsigned)s->H) {
                    const float *at = g.x_p + xoff[k];
                    v0 = _mm256_maskload_ps(at, m0[0][sidx[k]]);
                    v1 = _mm256_maskload_ps(at + 8, m1[0][sidx[k]]);
                }
                _mm256_store_ps(dst, v0);
                _mm256_store_ps(dst + 8, v1);
            }
            continue;
        }
        for (size_t k = 0; k < kc; k++, dst += NR) {
            __m256 v0 = _mm256_setzero_ps(), v1 = v0;
            for (int i = 0; i < ns; i++) {
                if ((unsigned)(segs[i].ih0 + hoff[k]) >= (unsigned)s->H)
                    continue;
                const float *at = segs[i].x_p + xoff[k];
                v0 = _mm256_or_ps(v0, _mm256_maskload_ps(at, m0[i][sidx[k]]));
                v1 = _mm256_or_ps(v1, _mm256_maskload_ps(at + 8, m1[i][sidx[k]]));
            }
            _mm256_store_ps(dst, v0);
            _mm256_store_ps(dst + 8, v1);
        }
    }
}

void ck_col2im_add_s1__avx2(const struct ck_im2col_src *s, const float *cols, size_t ld,
                            size_t pix0, size_t npix, float *dx_c)
{
    /* Gather form: 8 pixels of a dx row collect their R*S contributions in a register,
     * in (r, s) order - the order of the portable scatter loop, so results match it -
     * and are stored once (no store-to-load forwarding across shifted rows). */
    for (int ih = 0; ih < s->H; ih++) {
        float *d = dx_c + (size_t)ih * s->W;
        for (int iw0 = 0; iw0 < s->W; iw0 += 8) {
            const int nw = s->W - iw0 < 8 ? s->W - iw0 : 8;
            const __m256i m_row = lane_mask(0, nw);
            __m256 acc = _mm256_maskload_ps(d + iw0, m_row);
            for (int r = 0; r < s->R; r++) {
                const int num = ih + s->pt - r * s->dh;
                if (num < 0 || num % s->sh)
                    continue;
                const int op = num / s->sh;
                /* pixels q of output row op that lie in this range */
                const ptrdiff_t row0 = (ptrdiff_t)op * s->Q - (ptrdiff_t)pix0;
                const ptrdiff_t qa = row0 < 0 ? -row0 : 0;
                const ptrdiff_t qb = (ptrdiff_t)npix - row0 < s->Q ? (ptrdiff_t)npix - row0 : s->Q;
                if (op >= s->P || qa >= qb)
                    continue;
                for (int sx = 0; sx < s->S; sx++) {
                    const int w_start = sx * s->dw - s->pl; /* lane l: q = iw0 + l - w_start */
                    const int la = (int)qa + w_start - iw0, lb = (int)qb + w_start - iw0;
                    if (la >= nw || lb <= 0)
                        continue;
                    const float *src = cols + (size_t)(r * s->S + sx) * ld;
                    const __m256i m = _mm256_and_si256(lane_mask(la, lb), m_row);
                    acc = _mm256_add_ps(acc, load_masked(src, row0 + iw0 - w_start, m));
                }
            }
            if (nw == 8)
                _mm256_storeu_ps(d + iw0, acc);
            else
                _mm256_maskstore_ps(d + iw0, m_row, acc);
        }
    }
}

void ck_im2col_pack_cols_t_s1__avx2(const struct ck_im2col_src *s, size_t k0, size_t kc,
                                    size_t j0, size_t nc, float *bp)
{
    enum { NR = 16 };
    const size_t PQ = (size_t)s->P * s->Q, RS = (size_t)s->R * s->S;
    for (size_t t = 0; t < nc; t += NR, bp += kc * NR) {
        /* the panel's 16 columns crs = (c, r, sx): x offset, input row and column shifts */
        ptrdiff_t xoff[NR];
        int hoff[NR], wst[NR];
        for (int jj = 0; jj < NR; jj++) {
            const size_t crs = j0 + t + (size_t)jj;
            const int c = (int)(crs / RS), r = (int)(crs % RS) / s->S, sx = (int)(crs % RS) % s->S;
            hoff[jj] = r * s->dh;
            wst[jj] = sx * s->dw - s->pl;
            xoff[jj] = (ptrdiff_t)c * (ptrdiff_t)s->HW + wst[jj];
        }
        const int nv = nc - t < NR ? (int)(nc - t) : NR;
        /* pixels k0 .. k0+kc-1, up to 8 of one output row at a time: 16 masked loads
         * (one a column) and two 8x8 transposes give those pixels' panel rows */
        size_t n = k0 / PQ, done = 0;
        int op = (int)(k0 % PQ) / s->Q, q = (int)(k0 % PQ) % s->Q;
        while (done < kc) {
            const int gq = s->Q - q < 8 ? s->Q - q : 8;
            const int g = kc - done < (size_t)gq ? (int)(kc - done) : gq;
            const float *x_n = s->x_g + n * s->img_stride;
            const int ih0 = op * s->sh - s->pt;
            __m256 v[2][8];
            for (int jj = 0; jj < NR; jj++) {
                const int ih = ih0 + hoff[jj];
                __m256 val = _mm256_setzero_ps();
                if (jj < nv && ih >= 0 && ih < s->H) {
                    /* lane l: pixel q + l, input column q + l + wst, inside if 0 .. W-1 */
                    const int lo = -wst[jj] - q, hi = s->W - wst[jj] - q;
                    val = load_masked(x_n + (size_t)ih * s->W, xoff[jj] + q,
                                      lane_mask(lo > 0 ? lo : 0, hi < g ? hi : g));
                }
                v[jj >> 3][jj & 7] = val;
            }
            ck_avx2_transpose8x8(v[0]);
            ck_avx2_transpose8x8(v[1]);
            for (int l = 0; l < g; l++) {
                _mm256_store_ps(bp + (done + (size_t)l) * NR, v[0][l]);
                _mm256_store_ps(bp + (done + (size_t)l) * NR + 8, v[1][l]);
            }
            done += (size_t)g;
            q += g;
            if (q == s->Q) {
                q = 0;
                if (++op == s->P)
                    op = 0, n++;
            }
        }
    }
}
