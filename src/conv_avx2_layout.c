/* conv_avx2_layout.c - layout conversion for backend "avx2": NCHW activations and KCRS
 * weights to the blocked layouts of the kernels (padding materialised as zeros, channel
 * counts padded to 8 per group) and blocked outputs back to NCHW, plus the bias gradient
 * from the per-block sums taken while packing dy, and the small arithmetic the drivers
 * share (workspace sizes, row blocks). Vector work is in simd/conv_avx2_pack.c; no
 * kernels and no work splitting beyond OpenMP loops here.
 */
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "conv_avx2_layout.h"

/* ---- workspace arithmetic and work items --------------------------------------------- */

static size_t mul_sat(size_t a, size_t b)
{
    return (a != 0 && b > SIZE_MAX / a) ? SIZE_MAX : a * b;
}

size_t ck_dconv_size(size_t a, size_t b, size_t c, size_t d)
{
    return mul_sat(mul_sat(a, b), mul_sat(c, d));
}

size_t ck_dconv_take(size_t *off, size_t n)
{
    size_t at = *off;
    if (at == SIZE_MAX || n >= SIZE_MAX - 128 - at) {
        *off = SIZE_MAX;
        return 0;
    }
    *off = (at + n + 63) & ~(size_t)63;
    return at;
}

int ck_dconv_row_blocks(int items, int rows)
{
    return CK_MAX(1, CK_MIN(rows, ck__ceil_div(MIN_WORK_ITEMS, CK_MAX(items, 1))));
}

#ifdef CONVKIT_HAVE_AVX2
#include "conv_avx2.h"

/* ---- layout conversion (NCHW <-> blocked) ---------------------------------------- */

/* dst[Hp][Wp][8] = channels c < nc of src[c][H][W] (plane stride H*W) placed at
 * (top, left); zero everywhere else, including lanes nc..7. */
static void pack_block8(const float *src, int nc, int H, int W, float *dst, int Hp, int Wp,
                        int top, int left)
{
    const size_t hw = (size_t)H * W;
    memset(dst, 0, (size_t)top * Wp * 8 * sizeof(float));
    if (left == 0 && Wp == W) /* rows are contiguous: one call for the whole plane */
        ck_dconv_pack8__avx2(src, (ptrdiff_t)hw, nc, H * W, dst + (size_t)top * W * 8);
    for (int h = 0; h < H && !(left == 0 && Wp == W); h++) {
        float *d = dst + ((size_t)(top + h) * Wp) * 8;
        memset(d, 0, (size_t)left * 8 * sizeof(float));
        float *di = d + (size_t)left * 8;
        ck_dconv_pack8__avx2(src + (size_t)h * W, (ptrdiff_t)hw, nc, W, di);
        memset(di + (size_t)W * 8, 0, (size_t)(Wp - left - W) * 8 * sizeof(float));
    }
    memset(dst + (size_t)(top + H) * Wp * 8, 0,
           (size_t)(Hp - top - H) * Wp * 8 * sizeof(float));
}

/* Rows p0..p1-1 of channels c < nc: dst[c][P][Q] (plane stride P*Q) = src[P][Q][8]. */
void ck_dconv_unpack_block8(const float *src, int nc, int P, int Q, int p0, int p1, float *dst)
{
    ck_dconv_unpack8__avx2(src + (size_t)p0 * Q * 8, nc, (p1 - p0) * Q, dst + (size_t)p0 * Q,
                           (ptrdiff_t)P * Q);
}

/* The x copy is made of units: 8-channel blocks [Hp][Wp][8] (blocked) or channel planes
 * [Hp][Wp] (flat); the units of image-group ng are ng*ck_dconv_x_units(g) and the
 * following ones. */
int ck_dconv_x_units(const struct ck_dconv_geom *g)
{
    return g->flat ? g->Cg : g->CB;
}

size_t ck_dconv_x_unit_size(const struct ck_dconv_geom *g)
{
    return g->flat ? (size_t)g->Hp * g->Wp : g->xblk;
}

/* Unit i of the copy of x (N,C,H,W), padding materialised, into d. */
void ck_dconv_pack_x_unit(const struct ck_dconv_geom *g, const float *x, int i, float *d)
{
    const size_t hw = (size_t)g->H * g->W;
    if (!g->flat) {
        const int cb = i % g->CB, ng = i / g->CB; /* ng = n*G + group */
        const int c0 = cb * 8, nc = CK_MIN(8, g->Cg - c0);
        pack_block8(x + ((size_t)ng * g->Cg + c0) * hw, nc, g->H, g->W, d, g->Hp, g->Wp, g->pt,
                    g->pl);
        return;
    }
    ck_dconv_pad_plane(x + i * hw, g->H, g->W, d, g->Hp, g->Wp, g->pt, g->pl);
}

void ck_dconv_pad_plane(const float *src, int H, int W, float *dst, int rows, int cols,
                        int top, int left)
{
    const int right = cols - left - W; /* each row: left zeros, W values, right zeros */
    memset(dst, 0, (size_t)top * cols * sizeof(float));
    for (int h = 0; h < H; h++) {
        float *d = dst + (size_t)(top + h) * cols;
        memset(d, 0, (size_t)left * sizeof(float));
        memcpy(d + left, src + (size_t)h * W, (size_t)W * sizeof(float));
        memset(d + left + W, 0, (size_t)right * sizeof(float));
    }
    memset(dst + (size_t)(top + H) * cols, 0, (size_t)(rows - top - H) * cols * sizeof(float));
}

/* xb = x (N,C,H,W) blocked per group with the padding materialised:
 * [N][G][XB][Hp][Wp][8] (blocked) or [N][G][Cg][Hp][Wp] (flat). */
void ck_dconv_pack_x(const struct ck_dconv_geom *g, const float *x, float *xb)
{
    const int n = g->N * g->G * ck_dconv_x_units(g);
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++)
        ck_dconv_pack_x_unit(g, x, i, xb + (size_t)i * ck_dconv_x_unit_size(g));
}

/* dyb = dy (N,K,P,Q) blocked per group, [N][G][KB][rows][cols][8] with the dy pixel (0,0)
 * at (top, left) of a rows x cols plane (ck_dconv_pack_dy_block: block i of that, into d).
 * With bsum, each block's [4][8] partial bias-gradient sums (ck_dconv_bias_sum__avx2 over
 * the whole plane) are stored there (32 doubles a block) while the block is in cache. */
void ck_dconv_pack_dy_block(const struct ck_dconv_geom *g, const float *dy, int i, float *d,
                            int rows, int cols, int top, int left, double *bsum)
{
    const size_t pq = (size_t)g->P * g->Q;
    const int kb = i % g->KB, ng = i / g->KB, k0 = kb * 8;
    pack_block8(dy + ((size_t)ng * g->Kg + k0) * pq, CK_MIN(8, g->Kg - k0), g->P, g->Q, d, rows,
                cols, top, left);
    if (bsum) {
        double(*acc)[8] = (double(*)[8])bsum;
        memset(acc, 0, 32 * sizeof(double));
        ck_dconv_bias_sum__avx2(d, (size_t)rows * cols, acc);
    }
}

void ck_dconv_pack_dy(const struct ck_dconv_geom *g, const float *dy, float *dyb, int rows,
                      int cols, int top, int left, double *bsum)
{
    const size_t plane = (size_t)rows * cols * 8;
    const int nblk = g->N * g->G * g->KB;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < nblk; i++)
        ck_dconv_pack_dy_block(g, dy, i, dyb + i * plane, rows, cols, top, left,
                               bsum ? bsum + (size_t)i * 32 : NULL);
}

/* Input blocks per forward reduction chunk: their weights for fnob output blocks stay
 * in L1. Fixed by the problem (so are the sums' chunks). */
int ck_dconv_fwd_chunk(const struct ck_dconv_geom *g)
{
    const size_t wblk = (size_t)g->fnob * g->T * g->RL * 8 * sizeof(float);
    return CK_MAX(1, (int)(L1_WEIGHT_BYTES / wblk));
}

/* Output-channel blocks per backward-data reduction chunk of row phase rho: the weights of
 * its column phases' taps (one kernel call touches those of one phase; phase[] as in
 * struct ck_dconv_bufs) stay in L1. Balanced chunks, fixed by the problem. */
int ck_dconv_bwd_chunk(const struct ck_dconv_geom *g, const int *phase, int rho)
{
    int ntap = 1;
    for (int ph = rho * g->sw; ph < (rho + 1) * g->sw; ph++)
        ntap = CK_MAX(ntap, phase[ph + 1] - phase[ph]);
    const size_t wph = (size_t)g->bnob * ntap * 64 * sizeof(float);
    const int most = CK_MAX(1, (int)(L1_WEIGHT_BYTES / wph));
    const int n = (g->KB + most - 1) / most;
    return (g->KB + n - 1) / n;
}

/* Output blocks are processed nob_max (fnob, bnob) at a time; the weights of such a group
 * are interleaved per reduction channel (the kernel loads them at constant offsets). The
 * group of block blk (of nblk) has this many blocks. */
static int group_nob(int blk, int nblk, int nob_max)
{
    return CK_MIN(nob_max, nblk - blk / nob_max * nob_max);
}

/* Forward weights from w (K,Cg,R,S), zero where k or c pads: per group and per group of
 * nob k-blocks starting at kb0, [XB][T][RL][nob][8k] at offset (gi*KB + kb0)*items*8. */
void ck_dconv_pack_w_fwd(const struct ck_dconv_geom *g, const float *w, float *wf)
{
    const int n = g->G * g->KB;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const int gi = i / g->KB, kb = i % g->KB, nob = group_nob(kb, g->KB, g->fnob);
        const int kb0 = kb - kb % g->fnob;
        float *d = wf + ((size_t)gi * g->KB + kb0) * g->items * 8 + (size_t)(kb - kb0) * 8;
        const int nk = CK_MIN(8, g->Kg - kb * 8); /* k lanes nk..7 stay zero */
        const float *wk = w + ((size_t)gi * g->Kg + kb * 8) * g->Cg * g->T;
        const size_t kstride = (size_t)g->Cg * g->T;
        /* items in order (xb, t, ci); flat: one block of RL = Cg channels */
        for (int xb = 0; xb < g->XB; xb++)
            for (int t = 0; t < g->T; t++)
                for (int ci = 0; ci < g->RL; ci++, d += nob * 8) {
                    const int c = xb * 8 + ci;
                    const size_t at = (size_t)c * g->T + t;
                    if (nk == 8 && c < g->Cg) /* (no padding: the common case, branch-free) */
                        for (int kl = 0; kl < 8; kl++)
                            d[kl] = wk[at + kl * kstride];
                    else
                        for (int kl = 0; kl < 8; kl++)
                            d[kl] = kl < nk && c < g->Cg ? wk[at + kl * kstride] : 0.0f;
                }
    }
}

/* Backward-data weights from w (K,Cg,R,S), zero padded: per group and per group of nob
 * c-blocks starting at cb0, [KB][T][8k][nob][8c] at offset (gi*CB + cb0)*KB*T*64. */
void ck_dconv_pack_w_bwd(const struct ck_dconv_geom *g, const float *w, float *wd)
{
    const int n = g->G * g->CB;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const int gi = i / g->CB, cb = i % g->CB, nob = group_nob(cb, g->CB, g->bnob);
        const int cb0 = cb - cb % g->bnob;
        float *d = wd + ((size_t)gi * g->CB + cb0) * g->KB * g->T * 64 + (size_t)(cb - cb0) * 8;
        const int nc = CK_MIN(8, g->Cg - cb * 8); /* c lanes nc..7 stay zero */
        for (int kb = 0; kb < g->KB; kb++)
            for (int t = 0; t < g->T; t++)
                for (int kl = 0; kl < 8; kl++, d += nob * 8) {
                    const int kg = kb * 8 + kl;
                    const size_t at = (((size_t)gi * g->Kg + kg) * g->Cg + cb * 8) * g->T + t;
                    if (nc == 8 && kg < g->Kg) /* (no padding: the common case, branch-free) */
                        for (int cl = 0; cl < 8; cl++)
                            d[cl] = w[at + cl * g->T];
                    else
                        for (int cl = 0; cl < 8; cl++)
                            d[cl] = cl < nc && kg < g->Kg ? w[at + cl * g->T] : 0.0f;
                }
    }
}

/* Weights packed for ck_dconv_1x1__avx2: per group gi (source w + gi*Kg*Cg*T, element
 * (m, r) at m*w_m + (r / per)*w_rb + (r % per)*w_r; packed at wp + gi*nm*nr), row tiles
 * as ck_dconv_1x1_rows lays them out, the tile of rows m0..m0+rows-1 at m0*nr with its
 * rows' weights for one r side by side: [r][m - m0]. */
void ck_dconv_pack_w_1x1(const struct ck_dconv_geom *g, const float *w, int nm, int nr,
                         ptrdiff_t w_m, ptrdiff_t w_r, int per, ptrdiff_t w_rb, float *wp)
{
    const int n = g->G * nr;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < n; i++) {
        const int gi = i / nr, r = i % nr;
        const float *src = w + (size_t)gi * g->Kg * g->Cg * g->T + (r / per) * w_rb +
                           (r % per) * w_r;
        float *d = wp + (size_t)gi * nm * nr;
        for (int m0 = 0, rows; m0 < nm; m0 += rows) {
            rows = ck_dconv_1x1_rows(nm, m0);
            for (int m = m0; m < m0 + rows; m++)
                d[(size_t)m0 * nr + r * rows + m - m0] = src[m * w_m];
        }
    }
}

/* db[k] = sum of dy over (n, p, q), from the per-block partial sums of ck_dconv_pack_dy
 * (bsum[N][G][KB][4][8], double): summed over n in order, then the 4 chains combined in a
 * fixed order, so the result does not depend on the thread count. */
void ck_dconv_bias_grad(const struct ck_dconv_geom *g, const double *bsum, float *db)
{
    const int nblk = g->G * g->KB;
    #pragma omp parallel for schedule(static)
    for (int i = 0; i < nblk; i++) {
        const int gi = i / g->KB, kb = i % g->KB;
        double acc[4][8] = {{0.0}};
        for (int n = 0; n < g->N; n++) {
            const double *s = bsum + (((size_t)n * g->G + gi) * g->KB + kb) * 32;
            for (int u = 0; u < 4; u++)
                for (int l = 0; l < 8; l++)
                    acc[u][l] += s[u * 8 + l];
        }
        for (int l = 0; l < 8 && kb * 8 + l < g->Kg; l++)
            db[gi * g->Kg + kb * 8 + l] = (float)((acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]));
    }
}

#else
/* Nothing to convert in a build without the kernels (ISO C wants a declaration). */
typedef int ck_dconv_layout_unused;
#endif
