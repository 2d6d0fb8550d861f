/* conv_winograd.c - backends "winograd" (picks F(4x4,3x3) or F(2x2,3x3) per shape),
 * "winograd-f2", "winograd-f4" and "winograd-f6" (opt-in, less accurate).
 *
 * 3x3 filters, stride 1, dilation 1, any padding (asymmetric too), groups. Each pass is
 * run as Winograd products over tile blocks; matrices, layouts and kernel contracts are
 * in winograd.h, the kernels in winograd.c / simd/winograd_avx2.c. Here: planning
 * (tile blocks sized for L2), the workspace (incl. the filter-transform cache), the
 * forward / backward-data driver and OpenMP; the weights driver is conv_winograd_wg.c.
 * Everything else (other filters, strides) is refused with a reason.
 *
 *   forward          y  = Winograd(x padded by (pt, pl), U = G w G^T)
 *   backward-data    dx = Winograd(dy padded by (2-pt, 2-pl), U = G rot180(w)^T G^T)
 *   backward-weights dU[xi][k][c] = sum over tiles of (A dy A^T)[xi][k] * (B^T x B)[xi][c]
 *                    (the adjoint of forward, tile by tile), dw = G^T dU G; tiles are
 *                    transformed a block at a time, then summed in tile order.
 * Threads own equal tile ranges (forward, backward-data: whole images, which the owner
 * packs itself, when the thread count divides N) or, in the weights pass, tiles to
 * transform and then (point, 16 columns) pieces of dU: no atomics, and no result depends
 * on the thread count.
 */
#include <stdint.h>
#include <string.h>
#include "conv_winograd.h"
#include "internal.h"
#include "winograd.h"

enum {
    L = CK_WINO_LANES,
    MR = CK_WINO_MR,
    NR = CK_WINO_NR,
    /* forward/backward-data: one thread's transformed tiles + products (half of L2) */
    BLOCK_BYTES = 448 * 1024,
    MAX_TB = 240,
    /* forward/backward-data: packed batches above this go through a per-thread ring */
    RING_ABOVE = 8 << 20,
    HDR_BYTES = 128,
};

static size_t round64(size_t bytes)
{
    return (bytes + 63) / 64 * 64;
}

/* An odd number of cache lines between planes: the 36..64 planes a tile touches then
 * fall into different L1 sets instead of fighting over one. */
static size_t plane_stride(size_t floats)
{
    size_t lines = (floats + 15) / 16;
    return (lines | 1) * 16;
}

static void plan_init(struct ck_wino_plan *pl, const struct ck_conv_params *p,
                      enum ck_conv_pass pass, enum ck_wino_variant v, int nthr)
{
    memset(pl, 0, sizeof *pl);
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const int Cg = p->C / p->groups, Kg = p->K / p->groups;
    pl->v = v, pl->s = ck_wino_spec_get(v), pl->kern = ck_wino_kernels_best(v);
    pl->pass = pass, pl->N = p->N, pl->G = p->groups, pl->nthr = nthr;
    pl->m = pl->s->m, pl->al = pl->s->alpha, pl->A2 = pl->al * pl->al;
    if (pass == CK_PASS_BACKWARD_DATA) {
        pl->Ci = Kg, pl->Hi = P, pl->Wi = Q, pl->Cti = p->K;
        pl->Co = Cg, pl->Ho = p->H, pl->Wo = p->W, pl->Cto = p->C;
        pl->pt = 2 - p->pad_top, pl->pl = 2 - p->pad_left;
    } else { /* forward; backward-weights reads x the same way and dy like y */
        pl->Ci = Cg, pl->Hi = p->H, pl->Wi = p->W, pl->Cti = p->C;
        pl->Co = Kg, pl->Ho = P, pl->Wo = Q, pl->Cto = p->K;
        pl->pt = p->pad_top, pl->pl = p->pad_left;
    }
    pl->TH = ck__ceil_div(pl->Ho, pl->m), pl->TW = ck__ceil_div(pl->Wo, pl->m);
    pl->tiles = (size_t)pl->N * pl->TH * pl->TW;
    pl->Hb = pl->TH * pl->m + 2, pl->Wb = pl->TW * pl->m + 2;
    pl->CB = ck__ceil_div(pl->Ci, L), pl->Cp = pl->CB * L;
    pl->KB = ck__ceil_div(pl->Co, L), pl->Kp = pl->KB * L;
    const size_t per_tile = (size_t)pl->A2 * (pl->Cp + pl->Kp) * sizeof(float);
    const size_t xb = (size_t)pl->N * pl->CB * pl->Hb * pl->Wb * L * sizeof(float);
    if (pass == CK_PASS_BACKWARD_WEIGHTS) {
        /* blocks of R whole tile rows, their transforms shared by all threads (sized
         * for L3: each point's slice of them, Tb x (Cp + Kp), is what one product reads) */
        const size_t rows = (size_t)pl->N * pl->TH, row_bytes = (size_t)pl->TW * per_tile;
        const size_t R = CK_MIN(rows, CK_MAX((size_t)1, CK_WINO_WG_BLOCK_BYTES / row_bytes));
        pl->Tb = (int)(R * pl->TW);
        pl->Hd = pl->TH * pl->m, pl->Wd = pl->TW * pl->m;
        pl->vs = plane_stride((size_t)pl->Tb * pl->Cp);
        pl->ms = plane_stride((size_t)pl->Tb * pl->Kp);
        pl->u_floats = (size_t)pl->A2 * pl->Cp * pl->Kp; /* dU of one group */
        pl->off_u = 0;
        pl->off_bias = round64(pl->u_floats * sizeof(float));
        pl->off_xb = pl->off_bias + round64((size_t)pl->N * pl->Kp * sizeof(float));
        pl->off_dyb = pl->off_xb +
                      round64((size_t)pl->CB * pl->Wb * L * R * (pl->m + 2) * sizeof(float));
        pl->off_blk = pl->off_dyb +
                      round64((size_t)pl->KB * pl->Wd * L * R * pl->m * sizeof(float));
        pl->blk_bytes = round64((size_t)pl->A2 * (pl->vs + pl->ms) * sizeof(float));
        pl->total = pl->off_blk + pl->blk_bytes;
        return;
    }
    /* forward / backward-data: each thread owns an equal range of tiles (whole images
     * when nthr divides N) and runs it in blocks of at most Tb tiles (a multiple of MR) */
    size_t tb_max = BLOCK_BYTES / per_tile / MR * MR;
    tb_max = CK_MAX((size_t)MR, CK_MIN(tb_max, (size_t)MAX_TB));
    const size_t per_thr = (pl->tiles + nthr - 1) / nthr;
    const size_t nblk = (per_thr + tb_max - 1) / tb_max, tb = (per_thr + nblk - 1) / nblk;
    pl->Tb = (int)CK_MAX((size_t)MR, (tb + MR - 1) / MR * MR);
    pl->vs = plane_stride((size_t)pl->Tb * pl->Cp), pl->ms = plane_stride((size_t)pl->Tb * pl->Kp);
    pl->u_floats = (size_t)pl->G * pl->A2 * pl->Kp * pl->Cp;
    pl->off_w = HDR_BYTES;
    pl->off_u = pl->off_w + round64((size_t)p->K * Cg * 9 * sizeof(float));
    pl->off_bias = pl->off_u + round64(pl->u_floats * sizeof(float));
    pl->off_xb = pl->off_bias + round64((size_t)pl->Kp * sizeof(float));
    pl->off_blk = pl->off_xb + round64(xb);
    pl->blk_bytes = round64((size_t)pl->A2 * (pl->vs + pl->ms) * sizeof(float));
    pl->total = pl->off_blk + (size_t)nthr * pl->blk_bytes;
}

/* The plan for a call with workspace ws_size: as many threads as OpenMP offers and the
 * workspace holds (results do not depend on it). 0 if not even one thread fits. */
static int plan_for_call(struct ck_wino_plan *pl, const struct ck_conv_params *p,
                         enum ck_conv_pass pass, enum ck_wino_variant v, size_t ws_size)
{
    for (int t = ck__max_threads(); t >= 1; t--) {
        plan_init(pl, p, pass, v, t);
        if (pl->total <= ws_size)
            return 1;
    }
    return 0;
}

/* Tile t of the batch: image n, tile row th, tile column tw. */
static void tile_pos(const struct ck_wino_plan *pl, size_t t, int *n, int *th, int *tw)
{
    const size_t per_img = (size_t)pl->TH * pl->TW;
    *n = (int)(t / per_img);
    const int r = (int)(t % per_img);
    *th = r / pl->TW, *tw = r % pl->TW;
}

/* ---- filter transform and its cache ------------------------------------------------- */

/* U of group g, plane xi: element (k, c) at k0*Cp + c*nr + (k - k0), k0 = k/16*16,
 * nr = min(16, Kp - k0): the product kernel's B panels. Zero outside Co x Ci. */
static void filter_transform(const struct ck_wino_plan *pl, const float *w, float *U)
{
    const int npanel = ck__ceil_div(pl->Kp, NR), Cg = pl->pass == CK_PASS_FORWARD ? pl->Ci : pl->Co;
    const int Kg = pl->pass == CK_PASS_FORWARD ? pl->Co : pl->Ci;
    const int flip = pl->pass == CK_PASS_BACKWARD_DATA;
    const size_t uplane = (size_t)pl->Kp * pl->Cp;
    #pragma omp parallel for collapse(2) schedule(static) num_threads(pl->nthr)
    for (int g = 0; g < pl->G; g++) {
        for (int kp = 0; kp < npanel; kp++) {
            const int k0 = kp * NR, nr = CK_MIN(NR, pl->Kp - k0);
            float *U_g = U + (size_t)g * pl->A2 * uplane + (size_t)k0 * pl->Cp;
            for (int c = 0; c < pl->Cp; c++) {
                for (int j0 = 0; j0 < nr; j0 += L) {
                    /* 8 filters (outputs k0+j0 .. +7, input c) gathered tap-major */
                    float g9[9 * L];
                    for (int l = 0; l < L; l++) {
                        const int k = k0 + j0 + l;
                        /* forward: out k, in c is w[k][c]; backward-data: out k is the
                         * x channel, in c the dy channel: w[c][k] rotated by 180 */
                        const int kw = flip ? c : k, cw = flip ? k : c;
                        if (k >= pl->Co || c >= pl->Ci) {
                            for (int t = 0; t < 9; t++)
                                g9[t * L + l] = 0.0f;
                            continue;
                        }
                        const float *w9 = w + ((size_t)(g * Kg + kw) * Cg + cw) * 9;
                        if (flip)
                            for (int t = 0; t < 9; t++)
                                g9[t * L + l] = w9[8 - t];
                        else
                            for (int t = 0; t < 9; t++)
                                g9[t * L + l] = w9[t];
                    }
                    pl->kern->filter(g9, U_g + (size_t)c * nr + j0, uplane);
                }
            }
        }
    }
}

struct cache_hdr {
    uint64_t magic;
    struct ck_conv_params p;
    int pass, variant;
    uint64_t sum;
};
#define CACHE_MAGIC 0x636b77696e6f3031ull /* "ckwino01" */

/* Fletcher-style sum over 8 interleaved 32-bit lanes: any changed word changes it. */
static uint64_t checksum(const void *data, size_t bytes)
{
    const uint32_t *d = data;
    uint32_t a[8] = {0}, b[8] = {0};
    size_t n = bytes / 4 / 8 * 8;
    for (size_t i = 0; i < n; i += 8)
        for (int l = 0; l < 8; l++) {
            a[l] += d[i + l];
            b[l] += a[l];
        }
    uint64_t h = bytes;
    for (int l = 0; l < 8; l++)
        h = h * 1000003u ^ ((uint64_t)a[l] << 32 | b[l]);
    for (size_t i = n; i < bytes / 4; i++)
        h = h * 31 + d[i];
    return h;
}

/* The transformed filters in ws. Reused from the previous call when the header says the
 * same problem, pass and variant wrote them, the weights equal the copy stored next to
 * them byte for byte, and U's checksum still matches (nothing else wrote into it);
 * otherwise recomputed. */
static const float *filters(const struct ck_wino_plan *pl, const struct ck_conv_params *p,
                            const float *w, char *ws)
{
    struct cache_hdr *h = (struct cache_hdr *)ws;
    float *wcopy = (float *)(ws + pl->off_w), *U = (float *)(ws + pl->off_u);
    const size_t wbytes = ck_conv_w_numel(p) * sizeof(float);
    const size_t ubytes = pl->u_floats * sizeof(float);
    if (h->magic == CACHE_MAGIC && memcmp(&h->p, p, sizeof *p) == 0 &&
        h->pass == (int)pl->pass && h->variant == (int)pl->v &&
        memcmp(wcopy, w, wbytes) == 0 && h->sum == checksum(U, ubytes))
        return U;
    filter_transform(pl, w, U);
    memcpy(wcopy, w, wbytes);
    memset(h, 0, sizeof *h);
    h->p = *p, h->pass = (int)pl->pass, h->variant = (int)pl->v;
    h->sum = checksum(U, ubytes);
    h->magic = CACHE_MAGIC;
    return U;
}

/* ---- forward / backward-data --------------------------------------------------------- */

/* Channel block cb of image n of group g in src, packed into image slot `slot` of xb. */
static void pack_src(const struct ck_wino_plan *pl, const float *src, int g, int n, size_t slot,
                     int cb, float *xb)
{
    const size_t hw = (size_t)pl->Hi * pl->Wi;
    pl->kern->pack(src + ((size_t)n * pl->Cti + (size_t)g * pl->Ci + (size_t)cb * L) * hw, hw,
                   pl->Hi, pl->Wi, CK_MIN(L, pl->Ci - cb * L), pl->pt, pl->pl,
                   xb + (slot * pl->CB + cb) * pl->Hb * pl->Wb * L, pl->Hb, pl->Wb);
}

/* Tiles [t0, t0 + nt), nt <= Tb: transform them into V, multiply by U into M, transform
 * M into dst. Image n is in slot n % S of xb (S = 0: slot n). Each tile's result depends
 * on that tile alone (not on the block). */
static void conv_block(const struct ck_wino_plan *pl, size_t t0, int nt, const float *xb,
                       size_t S, const float *U, const float *bias, float *dst, int g, float *V,
                       float *M)
{
    const struct ck_wino_kernels *kn = pl->kern;
    const size_t plane = (size_t)pl->Hb * pl->Wb * L;
    const int rows_mr = (nt + MR - 1) / MR * MR;
    for (int t = 0; t < rows_mr; t++) {
        if (t >= nt) { /* rows past the last tile: zeros, never stored */
            for (int xi = 0; xi < pl->A2; xi++)
                memset(V + xi * pl->vs + (size_t)t * pl->Cp, 0, pl->Cp * sizeof(float));
            continue;
        }
        int n, th, tw;
        tile_pos(pl, t0 + t, &n, &th, &tw);
        const float *d = xb + (S ? (size_t)n % S : (size_t)n) * pl->CB * plane +
                         ((size_t)th * pl->m * pl->Wb + (size_t)tw * pl->m) * L;
        for (int cb = 0; cb < pl->CB; cb++)
            kn->input(d + cb * plane, (size_t)pl->Wb * L, V + (size_t)t * pl->Cp + cb * L, pl->vs);
    }
    const size_t uplane = (size_t)pl->Kp * pl->Cp;
    for (int xi = 0; xi < pl->A2; xi++) {
        const float *V_x = V + xi * pl->vs, *U_x = U + xi * uplane;
        float *M_x = M + xi * pl->ms;
        for (int k0 = 0; k0 < pl->Kp; k0 += NR) {
            const int nr = CK_MIN(NR, pl->Kp - k0);
            for (int t = 0; t < rows_mr; t += MR)
                kn->gemm(pl->Cp, V_x + (size_t)t * pl->Cp, pl->Cp, 1, U_x + (size_t)k0 * pl->Cp,
                         nr, M_x + (size_t)t * pl->Kp + k0, pl->Kp, nr, 0);
        }
    }
    const size_t howo = (size_t)pl->Ho * pl->Wo;
    for (int t = 0; t < nt; t++) {
        int n, th, tw;
        tile_pos(pl, t0 + t, &n, &th, &tw);
        const int rows = CK_MIN(pl->m, pl->Ho - th * pl->m);
        const int cols = CK_MIN(pl->m, pl->Wo - tw * pl->m);
        float *y = dst + ((size_t)n * pl->Cto + (size_t)g * pl->Co) * howo +
                   (size_t)th * pl->m * pl->Wo + (size_t)tw * pl->m;
        for (int kb = 0; kb < pl->KB; kb++)
            kn->output(M + (size_t)t * pl->Kp + kb * L, pl->ms, bias ? bias + kb * L : NULL,
                       y + (size_t)kb * L * howo, howo, pl->Wo, rows, cols,
                       CK_MIN(L, pl->Co - kb * L));
    }
}

/* Tiles [lo, hi) in blocks of at most Tb. S > 0: this thread packs the images the range
 * touches (whole images), each just before its first block, into a ring of S image slots
 * of xb (a block spans at most S images). S = 0: xb holds every image, packed already. */
static void conv_range(const struct ck_wino_plan *pl, size_t lo, size_t hi, size_t S,
                       const float *src, float *xb, const float *U, const float *bias,
                       float *dst, int g, float *V, float *M)
{
    const size_t per_img = (size_t)pl->TH * pl->TW;
    size_t next_img = lo / per_img;
    for (size_t t0 = lo; t0 < hi; t0 += pl->Tb) {
        const int nt = (int)CK_MIN((size_t)pl->Tb, hi - t0);
        for (; S && next_img <= (t0 + nt - 1) / per_img; next_img++)
            for (int cb = 0; cb < pl->CB; cb++)
                pack_src(pl, src, g, (int)next_img, next_img % S, cb, xb);
        conv_block(pl, t0, nt, xb, S, U, bias, dst, g, V, M);
    }
}

/* dst = Winograd convolution of src (forward: x -> y with bias; backward-data: dy -> dx).
 * Thread i of nth multiplies tiles [i T / nth, (i+1) T / nth); each tile's result depends
 * on that tile alone, so any split gives the same bits. When nth divides N the ranges
 * hold whole images and each thread packs its own just before multiplying them, into a
 * ring of its own image slots in xb (no barrier; the packed data stays in cache and is
 * never written back to memory); otherwise all pack the batch, then all multiply. */
static enum ck_status run_conv(const struct ck_wino_plan *pl, const struct ck_conv_params *p,
                               const float *src, const float *w, const float *bias, float *dst,
                               void *ws)
{
    char *base = ws;
    const float *U = filters(pl, p, w, base);
    float *bias_p = (float *)(base + pl->off_bias), *xb = (float *)(base + pl->off_xb);
    for (int g = 0; g < pl->G; g++) {
        for (int k = 0; bias && k < pl->Kp; k++)
            bias_p[k] = k < pl->Co ? bias[g * pl->Co + k] : 0.0f;
        const float *U_g = U + (size_t)g * pl->A2 * pl->Kp * pl->Cp;
        const float *bg = bias ? bias_p : NULL;
        #pragma omp parallel num_threads(pl->nthr)
        {
            const int i = ck__thread_num(), nth = ck__num_threads(), own = pl->N % nth == 0;
            float *V = (float *)(base + pl->off_blk + (size_t)i * pl->blk_bytes);
            float *M = V + pl->A2 * pl->vs;
            if (!own) {
                #pragma omp for collapse(2) schedule(static)
                for (int n = 0; n < pl->N; n++)
                    for (int cb = 0; cb < pl->CB; cb++)
                        pack_src(pl, src, g, n, (size_t)n, cb, xb);
            }
            /* a ring of slots when the packed batch would not stay in cache (a block
             * spans at most Tb / per_img + 2 images); else one slot per image */
            const size_t per_img = (size_t)pl->TH * pl->TW;
            const size_t img = (size_t)pl->CB * pl->Hb * pl->Wb * L, mine = pl->N / nth;
            const size_t S = !own ? 0
                             : img * pl->N * sizeof(float) > RING_ABOVE
                                 ? CK_MIN(mine, pl->Tb / per_img + 2)
                                 : mine;
            conv_range(pl, pl->tiles * i / nth, pl->tiles * (i + 1) / nth, S, src,
                       xb + (size_t)i * S * img, U_g, bg, dst, g, V, M);
        }
    }
    return CK_OK;
}

/* ---- the backend tables ------------------------------------------------------------------ */

static enum ck_status check_shape(const struct ck_conv_params *p, char *why, size_t why_len)
{
    if (p->R != 3 || p->S != 3) {
        ck__msg(why, why_len, "winograd handles 3x3 filters only (got %dx%d)", p->R, p->S);
        return CK_ERR_UNSUPPORTED;
    }
    if (p->stride_h != 1 || p->stride_w != 1) {
        ck__msg(why, why_len, "winograd needs stride 1 (got %dx%d)", p->stride_h, p->stride_w);
        return CK_ERR_UNSUPPORTED;
    }
    if (p->dilation_h != 1 || p->dilation_w != 1) {
        ck__msg(why, why_len, "winograd needs dilation 1 (got %dx%d)", p->dilation_h,
                p->dilation_w);
        return CK_ERR_UNSUPPORTED;
    }
    return CK_OK;
}

/* Relative cost of variant v on p: tiles x (products + transforms per tile). */
static double est_cost(const struct ck_conv_params *p, enum ck_wino_variant v)
{
    int P, Q;
    ck_conv_output_size(p, &P, &Q);
    const struct ck_wino_spec *s = ck_wino_spec_get(v);
    const double tiles = (double)p->N * ck__ceil_div(P, s->m) * ck__ceil_div(Q, s->m);
    const double cp = ck__ceil_div(p->C / p->groups, L) * L;
    const double kp = ck__ceil_div(p->K / p->groups, L) * L;
    /* a product costs one FMA lane; a transform output about a dozen lane operations */
    return tiles * p->groups * s->alpha * s->alpha * (cp * kp + 12.0 * (cp + kp));
}

/* The variant `winograd` uses for p, and why (one line into why). */
static enum ck_wino_variant choose(const struct ck_conv_params *p, char *why, size_t why_len)
{
    const double c2 = est_cost(p, CK_WINO_F2), c4 = est_cost(p, CK_WINO_F4);
    const enum ck_wino_variant v = c4 <= c2 ? CK_WINO_F4 : CK_WINO_F2;
    ck__msg(why, why_len, "winograd picks %s: estimated cost %.2fx that of %s (%d->%d channels, "
            "%dx%d input)", ck_wino_spec_get(v)->name, (v == CK_WINO_F4 ? c4 / c2 : c2 / c4),
            ck_wino_spec_get(v == CK_WINO_F4 ? CK_WINO_F2 : CK_WINO_F4)->name,
            p->C / p->groups, p->K / p->groups, p->H, p->W);
    return v;
}

#define VARIANT_AUTO (-1)

static enum ck_wino_variant variant_of(int v, const struct ck_conv_params *p)
{
    return v == VARIANT_AUTO ? choose(p, NULL, 0) : (enum ck_wino_variant)v;
}

static size_t ws_size(int v, const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    if (check_shape(p, NULL, 0) != CK_OK)
        return 0;
    struct ck_wino_plan pl;
    plan_init(&pl, p, pass, variant_of(v, p), ck__max_threads());
    return pl.total;
}

static enum ck_status fwd(int v, const struct ck_conv_params *p, const float *x,
                          const float *w, const float *bias, float *y, void *ws, size_t wsz)
{
    struct ck_wino_plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_FORWARD, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return run_conv(&pl, p, x, w, bias, y, ws);
}

static enum ck_status bwd_data(int v, const struct ck_conv_params *p, const float *dy,
                               const float *w, float *dx, void *ws, size_t wsz)
{
    struct ck_wino_plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_BACKWARD_DATA, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return run_conv(&pl, p, dy, w, NULL, dx, ws);
}

static enum ck_status bwd_weights(int v, const struct ck_conv_params *p, const float *x,
                                  const float *dy, float *dw, float *db, void *ws, size_t wsz)
{
    struct ck_wino_plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_BACKWARD_WEIGHTS, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return ck__wino_weights(&pl, x, dy, dw, db, ws);
}

/* One backend table per variant: thin wrappers binding the variant. */
#define WINO_BACKEND(SYM, NAME, V, DESC)                                                    \
    static enum ck_status SYM##_supports(const struct ck_conv_params *p,                    \
                                         enum ck_conv_pass pass, char *why, size_t why_len) \
    {                                                                                       \
        (void)pass;                                                                         \
        enum ck_status st = check_shape(p, why, why_len);                                   \
        if (st == CK_OK && (V) == VARIANT_AUTO)                                             \
            choose(p, why, why_len);                                                        \
        return st;                                                                          \
    }                                                                                       \
    static size_t SYM##_ws(const struct ck_conv_params *p, enum ck_conv_pass pass)          \
    {                                                                                       \
        return ws_size(V, p, pass);                                                         \
    }                                                                                       \
    static enum ck_status SYM##_fwd(const struct ck_conv_params *p, const float *x,         \
                                    const float *w, const float *bias, float *y, void *ws,  \
                                    size_t wsz)                                             \
    {                                                                                       \
        return fwd(V, p, x, w, bias, y, ws, wsz);                                           \
    }                                                                                       \
    static enum ck_status SYM##_bwd_data(const struct ck_conv_params *p, const float *dy,   \
                                         const float *w, float *dx, void *ws, size_t wsz)   \
    {                                                                                       \
        return bwd_data(V, p, dy, w, dx, ws, wsz);                                          \
    }                                                                                       \
    static enum ck_status SYM##_bwd_weights(const struct ck_conv_params *p, const float *x, \
                                            const float *dy, float *dw, float *db, void *ws, \
                                            size_t wsz)                                     \
    {                                                                                       \
        return bwd_weights(V, p, x, dy, dw, db, ws, wsz);                                   \
    }                                                                                       \
    const struct ck_conv_backend SYM = {                                                    \
        .name = NAME,                                                                       \
        .description = DESC,                                                                \
        .required_cpu = 0,                                                                  \
        .supports = SYM##_supports,                                                         \
        .workspace_size = SYM##_ws,                                                         \
        .forward = SYM##_fwd,                                                               \
        .backward_data = SYM##_bwd_data,                                                    \
        .backward_weights = SYM##_bwd_weights,                                              \
    };

WINO_BACKEND(ck_backend_winograd, "winograd", VARIANT_AUTO,
             "Winograd F(4x4,3x3) or F(2x2,3x3) chosen per shape; 3x3 stride-1 only")
WINO_BACKEND(ck_backend_winograd_f2, "winograd-f2", CK_WINO_F2,
             "Winograd F(2x2,3x3): 2.25x fewer multiplies, about direct-fp32 accuracy")
WINO_BACKEND(ck_backend_winograd_f4, "winograd-f4", CK_WINO_F4,
             "Winograd F(4x4,3x3): 4x fewer multiplies, ~1 digit less accurate than direct")
WINO_BACKEND(ck_backend_winograd_f6, "winograd-f6", CK_WINO_F6,
             "Winograd F(6x6,3x3), points 0,+-1,+-2,+-1/2: 5.06x fewer multiplies, LESS "
             "accurate (opt-in)")
