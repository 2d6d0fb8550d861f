/* conv_winograd.c - backends "winograd" (picks F(4x4,3x3) or F(2x2,3x3) per shape),
 * "winograd-f2", "winograd-f4" and "winograd-f6" (opt-in, less accurate).
 *
 * 3x3 filters, stride 1, dilation 1, any padding (asymmetric too), groups. Each pass is
 * run as Winograd products over tile blocks; matrices, layouts and kernel contracts are
 * in winograd.h, the kernels in winograd.c / simd/winograd_avx2.c. Here: planning
 * (tile blocks sized for L2), the workspace (incl. the filter-transform cache), the
 * three drivers and OpenMP. Everything else (other filters, strides) is refused with a
 * reason.
 *
 *   forward          y  = Winograd(x padded by (pt, pl), U = G w G^T)
 *   backward-data    dx = Winograd(dy padded by (2-pt, 2-pl), U = G rot180(w)^T G^T)
 *   backward-weights dU[xi][k][c] = sum over tiles of (A dy A^T)[xi][k] * (B^T x B)[xi][c]
 *                    (the adjoint of forward, tile by tile), dw = G^T dU G; tiles are
 *                    transformed a block at a time, then summed in tile order.
 * Threads own whole tile blocks (forward, backward-data) or, in the weights pass, tiles to
 * transform and then (point, 16 columns) pieces of dU: no atomics, and no result depends
 * on the thread count.
 */
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"
#include "winograd.h"

enum {
    L = CK_WINO_LANES,
    MR = CK_WINO_MR,
    NR = CK_WINO_NR,
    /* forward/backward-data: one thread's transformed tiles + products (half of L2) */
    BLOCK_BYTES = 448 * 1024,
    /* backward-weights: transformed tiles of one block (all threads share them) */
    WG_BLOCK_BYTES = 4 * 1024 * 1024,
    MAX_TB = 240,
    HDR_BYTES = 128,
};

/* One pass seen as a Winograd convolution of src (Ci channels, Hi x Wi) into an
 * Ho x Wo output with Co channels, per group. */
struct plan {
    enum ck_wino_variant v;
    const struct ck_wino_spec *s;
    const struct ck_wino_kernels *kern;
    enum ck_conv_pass pass;
    int N, G;
    int Ci, Hi, Wi, Co, Ho, Wo;
    int Cti, Cto;          /* channels of the whole src / dst tensors */
    int pt, pl;            /* src row/col = blocked row/col - (pt, pl); may be negative */
    int m, al, A2;
    int TH, TW;            /* tiles per image */
    size_t tiles;          /* N * TH * TW */
    int Hb, Wb;            /* blocked (padded) src plane */
    int Hd, Wd;            /* backward-weights: blocked dy plane TH*m x TW*m */
    int CB, Cp, KB, Kp;    /* 8-channel blocks of Ci and Co, rounded channel counts */
    int Tb;                /* tiles per block */
    int nthr;              /* threads the workspace is laid out for */
    size_t vs, ms;         /* plane strides (floats) of the tile block buffers */
    size_t u_floats;       /* transformed filters, all groups (fwd/bwd-data); dU (wg) */
    /* workspace byte offsets */
    size_t off_u, off_w, off_bias, off_xb, off_dyb, off_blk, blk_bytes, total;
};

static int cdiv(int a, int b)
{
    return (a + b - 1) / b;
}

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

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static void plan_init(struct plan *pl, const struct ck_conv_params *p, enum ck_conv_pass pass,
                      enum ck_wino_variant v, int nthr)
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
    pl->TH = cdiv(pl->Ho, pl->m), pl->TW = cdiv(pl->Wo, pl->m);
    pl->tiles = (size_t)pl->N * pl->TH * pl->TW;
    pl->Hb = pl->TH * pl->m + 2, pl->Wb = pl->TW * pl->m + 2;
    pl->CB = cdiv(pl->Ci, L), pl->Cp = pl->CB * L, pl->KB = cdiv(pl->Co, L), pl->Kp = pl->KB * L;
    const size_t per_tile = (size_t)pl->A2 * (pl->Cp + pl->Kp) * sizeof(float);
    const size_t xb = (size_t)pl->N * pl->CB * pl->Hb * pl->Wb * L * sizeof(float);
    if (pass == CK_PASS_BACKWARD_WEIGHTS) {
        /* blocks of R whole tile rows, their transforms shared by all threads (sized
         * for L3: each point's slice of them, Tb x (Cp + Kp), is what one product reads) */
        const size_t rows = (size_t)pl->N * pl->TH, row_bytes = (size_t)pl->TW * per_tile;
        const size_t R = CK_MIN(rows, CK_MAX((size_t)1, (size_t)WG_BLOCK_BYTES / row_bytes));
        pl->Tb = (int)(R * pl->TW);
        pl->Hd = pl->TH * pl->m, pl->Wd = pl->TW * pl->m;
        pl->vs = plane_stride((size_t)pl->Tb * pl->Cp), pl->ms = plane_stride((size_t)pl->Tb * pl->Kp);
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
    /* forward / backward-data: per-thread blocks of Tb tiles (a multiple of MR), as
     * many blocks as keeps every thread equally busy */
    size_t tb_max = BLOCK_BYTES / per_tile / MR * MR;
    tb_max = CK_MAX((size_t)MR, CK_MIN(tb_max, (size_t)MAX_TB));
    size_t nblk = (pl->tiles + tb_max - 1) / tb_max;
    nblk = (nblk + nthr - 1) / nthr * nthr;
    size_t tb = (pl->tiles + nblk - 1) / nblk;
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
static int plan_for_call(struct plan *pl, const struct ck_conv_params *p,
                         enum ck_conv_pass pass, enum ck_wino_variant v, size_t ws_size)
{
    for (int t = max_threads(); t >= 1; t--) {
        plan_init(pl, p, pass, v, t);
        if (pl->total <= ws_size)
            return 1;
    }
    return 0;
}

/* Tile t of the batch: image n, tile row th, tile column tw. */
static void tile_pos(const struct plan *pl, size_t t, int *n, int *th, int *tw)
{
    const size_t per_img = (size_t)pl->TH * pl->TW;
    *n = (int)(t / per_img);
    const int r = (int)(t % per_img);
    *th = r / pl->TW, *tw = r % pl->TW;
}

/* ---- filter transform and its cache ------------------------------------------------- */

/* U of group g, plane xi: element (k, c) at k0*Cp + c*nr + (k - k0), k0 = k/16*16,
 * nr = min(16, Kp - k0): the product kernel's B panels. Zero outside Co x Ci. */
static void filter_transform(const struct plan *pl, const float *w, float *U)
{
    const int npanel = cdiv(pl->Kp, NR), Cg = pl->pass == CK_PASS_FORWARD ? pl->Ci : pl->Co;
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
static const float *filters(const struct plan *pl, const struct ck_conv_params *p,
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

/* Channel block cb of image n of group g in src, packed into xb. */
static void pack_src(const struct plan *pl, const float *src, int g, int n, int cb, float *xb)
{
    const size_t hw = (size_t)pl->Hi * pl->Wi;
    pl->kern->pack(src + ((size_t)n * pl->Cti + (size_t)g * pl->Ci + (size_t)cb * L) * hw, hw,
                   pl->Hi, pl->Wi, CK_MIN(L, pl->Ci - cb * L), pl->pt, pl->pl,
                   xb + ((size_t)n * pl->CB + cb) * pl->Hb * pl->Wb * L, pl->Hb, pl->Wb);
}

/* Block b: transform its tiles into V, multiply by U into M, transform M into dst. */
static void conv_block(const struct plan *pl, size_t b, const float *xb, const float *U,
                       const float *bias, float *dst, int g, float *V, float *M)
{
    const struct ck_wino_kernels *kn = pl->kern;
    const size_t t0 = b * pl->Tb, plane = (size_t)pl->Hb * pl->Wb * L;
    const int nt = (int)CK_MIN((size_t)pl->Tb, pl->tiles - t0);
    for (int t = 0; t < pl->Tb; t++) {
        if (t >= nt) { /* rows past the last tile: zeros, never stored */
            for (int xi = 0; xi < pl->A2; xi++)
                memset(V + xi * pl->vs + (size_t)t * pl->Cp, 0, pl->Cp * sizeof(float));
            continue;
        }
        int n, th, tw;
        tile_pos(pl, t0 + t, &n, &th, &tw);
        const float *d = xb + (size_t)n * pl->CB * plane +
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
            for (int t = 0; t < pl->Tb; t += MR)
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

/* dst = Winograd convolution of src (forward: x -> y with bias; backward-data: dy -> dx). */
static enum ck_status run_conv(const struct plan *pl, const struct ck_conv_params *p,
                               const float *src, const float *w, const float *bias, float *dst,
                               void *ws)
{
    char *base = ws;
    const float *U = filters(pl, p, w, base);
    float *bias_p = (float *)(base + pl->off_bias), *xb = (float *)(base + pl->off_xb);
    const size_t nblk = (pl->tiles + pl->Tb - 1) / pl->Tb;
    for (int g = 0; g < pl->G; g++) {
        for (int k = 0; bias && k < pl->Kp; k++)
            bias_p[k] = k < pl->Co ? bias[g * pl->Co + k] : 0.0f;
        const float *U_g = U + (size_t)g * pl->A2 * pl->Kp * pl->Cp;
        #pragma omp parallel num_threads(pl->nthr)
        {
            #pragma omp for collapse(2) schedule(static)
            for (int n = 0; n < pl->N; n++)
                for (int cb = 0; cb < pl->CB; cb++)
                    pack_src(pl, src, g, n, cb, xb);
            float *V = (float *)(base + pl->off_blk + (size_t)thread_id() * pl->blk_bytes);
            float *M = V + pl->A2 * pl->vs;
            #pragma omp for schedule(static)
            for (size_t b = 0; b < nblk; b++)
                conv_block(pl, b, xb, U_g, bias ? bias_p : NULL, dst, g, V, M);
        }
    }
    return CK_OK;
}

/* ---- backward-weights ---------------------------------------------------------------- */

/* Blocks are ranges of R tile rows (row r = image r / TH, tile row r % TH), read as
 * "segments", one per image the range touches. Block buffers (layouts):
 *   x   [segment][cb][(rows*m + 2) x Wb][8]   the segment's rows with their 2-row halo
 *   dy  [segment][kb][(rows*m) x Wd][8]
 *   V   [xi][t][Cp], Mdy [xi][t][Kp]          t = tile of the block (row-major)
 *   dU  [xi][k][c]                            Kp x Cp per point, summed over every tile */
struct wg_block {
    size_t r0, r1;  /* tile rows [r0, r1) */
    int n0, n1;     /* images [n0, n1] */
};

/* Segment of image n in block b: tile rows [*tha, *thb) of n, rows of the block before it. */
static void wg_segment(const struct plan *pl, const struct wg_block *b, int n, int *tha,
                       int *thb, size_t *before)
{
    const size_t first = (size_t)n * pl->TH;
    const size_t lo = CK_MAX(first, b->r0), hi = CK_MIN(first + pl->TH, b->r1);
    *tha = (int)(lo - first), *thb = (int)(hi - first), *before = lo - b->r0;
}

/* Floats before segment n's x band (each earlier segment: rows*m + 2 blocked rows). */
static size_t wg_xoff(const struct plan *pl, const struct wg_block *b, int n, size_t before)
{
    return (size_t)pl->CB * pl->Wb * L * (before * pl->m + 2 * (size_t)(n - b->n0));
}

/* Pack channel block cb of segment n of x into xb. */
static void wg_pack_x(const struct plan *pl, const struct wg_block *b, const float *x, int g,
                      int n, int cb, float *xb)
{
    int tha, thb;
    size_t before;
    wg_segment(pl, b, n, &tha, &thb, &before);
    const int hb = (thb - tha) * pl->m + 2;
    const size_t hw = (size_t)pl->Hi * pl->Wi;
    pl->kern->pack(x + ((size_t)n * pl->Cti + (size_t)g * pl->Ci + (size_t)cb * L) * hw, hw,
                   pl->Hi, pl->Wi, CK_MIN(L, pl->Ci - cb * L), pl->pt - tha * pl->m, pl->pl,
                   xb + wg_xoff(pl, b, n, before) + (size_t)cb * hb * pl->Wb * L, hb, pl->Wb);
}

/* Pack channel block kb of segment n of dy into dyb; with dbp, add the band's sums per
 * channel to dbp[n*Kp + kb*8 + l] (4 interleaved pixel sums, then added in order). */
static void wg_pack_dy(const struct plan *pl, const struct wg_block *b, const float *dy, int g,
                       int n, int kb, float *dyb, float *dbp)
{
    int tha, thb;
    size_t before;
    wg_segment(pl, b, n, &tha, &thb, &before);
    const int hb = (thb - tha) * pl->m;
    const size_t pq = (size_t)pl->Ho * pl->Wo, band = (size_t)hb * pl->Wd * L;
    float *d = dyb + (size_t)pl->KB * pl->Wd * L * before * pl->m + (size_t)kb * band;
    pl->kern->pack(dy + ((size_t)n * pl->Cto + (size_t)g * pl->Co + (size_t)kb * L) * pq, pq,
                   pl->Ho, pl->Wo, CK_MIN(L, pl->Co - kb * L), -tha * pl->m, 0, d, hb, pl->Wd);
    if (!dbp)
        return;
    float s[4][L] = {{0}};
    size_t i = 0;
    for (; i + 4 * L <= band; i += 4 * L)
        for (int q = 0; q < 4; q++)
            for (int l = 0; l < L; l++)
                s[q][l] += d[i + q * L + l];
    for (; i < band; i += L)
        for (int l = 0; l < L; l++)
            s[0][l] += d[i + l];
    for (int l = 0; l < L; l++)
        dbp[(size_t)n * pl->Kp + kb * L + l] += (s[0][l] + s[1][l]) + (s[2][l] + s[3][l]);
}

/* Transform tile t of the block (tile row b->r0 + t / TW, column t % TW). */
static void wg_transform(const struct plan *pl, const struct wg_block *b, int t,
                         const float *xb, const float *dyb, float *V, float *Mdy)
{
    const struct ck_wino_kernels *kn = pl->kern;
    const size_t r = b->r0 + (size_t)(t / pl->TW);
    const int n = (int)(r / pl->TH), tw = t % pl->TW;
    int tha, thb;
    size_t before;
    wg_segment(pl, b, n, &tha, &thb, &before);
    const int th = (int)(r % pl->TH) - tha; /* tile row within the segment */
    const int hb = (thb - tha) * pl->m + 2;
    const size_t xplane = (size_t)hb * pl->Wb * L, dplane = (size_t)(hb - 2) * pl->Wd * L;
    const float *d = xb + wg_xoff(pl, b, n, before) +
                     ((size_t)th * pl->m * pl->Wb + (size_t)tw * pl->m) * L;
    for (int cb = 0; cb < pl->CB; cb++)
        kn->input(d + cb * xplane, (size_t)pl->Wb * L, V + (size_t)t * pl->Cp + cb * L, pl->vs);
    const float *e = dyb + (size_t)pl->KB * pl->Wd * L * before * pl->m +
                     ((size_t)th * pl->m * pl->Wd + (size_t)tw * pl->m) * L;
    for (int kb = 0; kb < pl->KB; kb++)
        kn->dy(e + kb * dplane, (size_t)pl->Wd * L, Mdy + (size_t)t * pl->Kp + kb * L, pl->ms);
}

/* dU[xi][k][c0 .. c0+nr) (+)= sum over the block's nt tiles of Mdy[xi][t][k] * V[xi][t][c]
 * for every k < Kp, 6 rows at a time (a short last sliver is computed on a copy). The
 * kernel forms the block's sum from zero and adds it to dU: float sums of one block's
 * tiles, not of all tiles (about half the error). */
static void wg_products(const struct plan *pl, int xi, int c0, int nt, int first,
                        const float *V, const float *Mdy, float *dU)
{
    const float *V_x = V + xi * pl->vs + c0, *M_x = Mdy + xi * pl->ms;
    float *dU_x = dU + (size_t)xi * pl->Kp * pl->Cp + c0;
    const int nr = CK_MIN(NR, pl->Cp - c0);
    for (int k0 = 0; k0 < pl->Kp; k0 += MR) {
        if (k0 + MR <= pl->Kp) {
            pl->kern->gemm(nt, M_x + k0, 1, pl->Kp, V_x, pl->Cp, dU_x + (size_t)k0 * pl->Cp,
                           pl->Cp, nr, !first);
            continue;
        }
        const int ks = pl->Kp - MR; /* rows ks .. k0-1 belong to the previous sliver */
        float tmp[MR][NR];
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < nr; j++)
                tmp[i][j] = ks + i >= k0 && !first ? dU_x[(size_t)(ks + i) * pl->Cp + j] : 0;
        pl->kern->gemm(nt, M_x + ks, 1, pl->Kp, V_x, pl->Cp, &tmp[0][0], NR, nr, 1);
        for (int i = k0 - ks; i < MR; i++)
            for (int j = 0; j < nr; j++)
                dU_x[(size_t)(ks + i) * pl->Cp + j] = tmp[i][j];
    }
}

/* dw[k][c] = G^T dU[.][k][c] G for c < Ci (double), filters of output channel k. */
static void wg_back_transform(const struct plan *pl, const float *dU, int k, float *dw_k)
{
    enum { CC = 32 };
    const int al = pl->al;
    const double *G = pl->s->g; /* alpha x 3 */
    const size_t xs = (size_t)pl->Kp * pl->Cp;
    for (int c0 = 0; c0 < pl->Ci; c0 += CC) {
        const int nc = CK_MIN(CC, pl->Ci - c0);
        double T[8][3][CC] = {{{0}}}; /* T[a][s] = sum_b U[a][b] G[b][s] */
        for (int a = 0; a < al; a++)
            for (int b = 0; b < al; b++) {
                const float *u = dU + (size_t)(a * al + b) * xs + (size_t)k * pl->Cp + c0;
                for (int s = 0; s < 3; s++) {
                    const double gbs = G[b * 3 + s];
                    if (gbs == 0.0)
                        continue;
                    for (int c = 0; c < nc; c++)
                        T[a][s][c] += gbs * u[c];
                }
            }
        for (int r = 0; r < 3; r++)
            for (int s = 0; s < 3; s++) {
                double o[CC] = {0};
                for (int a = 0; a < al; a++) {
                    const double gar = G[a * 3 + r];
                    if (gar == 0.0)
                        continue;
                    for (int c = 0; c < nc; c++)
                        o[c] += gar * T[a][s][c];
                }
                for (int c = 0; c < nc; c++)
                    dw_k[(size_t)(c0 + c) * 9 + r * 3 + s] = (float)o[c];
            }
    }
}

static enum ck_status run_wg(const struct plan *pl, const float *x, const float *dy, float *dw,
                             float *db, void *ws)
{
    char *base = ws;
    float *dU = (float *)(base + pl->off_u), *xb = (float *)(base + pl->off_xb);
    float *dyb = (float *)(base + pl->off_dyb), *V = (float *)(base + pl->off_blk);
    float *Mdy = V + pl->A2 * pl->vs;
    float *dbp = db ? (float *)(base + pl->off_bias) : NULL;
    const size_t rows = (size_t)pl->N * pl->TH, R = (size_t)pl->Tb / pl->TW;
    const int npan = cdiv(pl->Cp, NR);
    for (int g = 0; g < pl->G; g++) {
        if (dbp)
            memset(dbp, 0, (size_t)pl->N * pl->Kp * sizeof(float));
        #pragma omp parallel num_threads(pl->nthr)
        {
            for (size_t r0 = 0; r0 < rows; r0 += R) {
                struct wg_block b = {r0, CK_MIN(rows, r0 + R), 0, 0};
                b.n0 = (int)(b.r0 / pl->TH), b.n1 = (int)((b.r1 - 1) / pl->TH);
                const int nseg = b.n1 - b.n0 + 1, nt = (int)(b.r1 - b.r0) * pl->TW;
                #pragma omp for schedule(static) nowait
                for (int j = 0; j < nseg * pl->CB; j++)
                    wg_pack_x(pl, &b, x, g, b.n0 + j / pl->CB, j % pl->CB, xb);
                #pragma omp for schedule(static)
                for (int j = 0; j < nseg * pl->KB; j++)
                    wg_pack_dy(pl, &b, dy, g, b.n0 + j / pl->KB, j % pl->KB, dyb, dbp);
                #pragma omp for schedule(static)
                for (int t = 0; t < nt; t++)
                    wg_transform(pl, &b, t, xb, dyb, V, Mdy);
                /* each (point, 16 columns of dU) sums its tiles in tile order, whichever
                 * thread owns it: results do not depend on the thread count. No barrier
                 * after it: the next block's packing writes only xb and dyb. */
                #pragma omp for collapse(2) schedule(static) nowait
                for (int xi = 0; xi < pl->A2; xi++)
                    for (int cp = 0; cp < npan; cp++)
                        wg_products(pl, xi, cp * NR, nt, r0 == 0, V, Mdy, dU);
            }
            #pragma omp barrier
            #pragma omp for schedule(static) nowait
            for (int k = 0; k < pl->Co; k++)
                wg_back_transform(pl, dU, k, dw + (size_t)(g * pl->Co + k) * pl->Ci * 9);
            if (dbp) {
                #pragma omp for schedule(static)
                for (int k = 0; k < pl->Co; k++) {
                    double acc = 0.0;
                    for (int n = 0; n < pl->N; n++)
                        acc += dbp[(size_t)n * pl->Kp + k];
                    db[g * pl->Co + k] = (float)acc;
                }
            }
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
    const double tiles = (double)p->N * cdiv(P, s->m) * cdiv(Q, s->m);
    const double cp = cdiv(p->C / p->groups, L) * L, kp = cdiv(p->K / p->groups, L) * L;
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
    struct plan pl;
    plan_init(&pl, p, pass, variant_of(v, p), max_threads());
    return pl.total;
}

static enum ck_status fwd(int v, const struct ck_conv_params *p, const float *x,
                          const float *w, const float *bias, float *y, void *ws, size_t wsz)
{
    struct plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_FORWARD, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return run_conv(&pl, p, x, w, bias, y, ws);
}

static enum ck_status bwd_data(int v, const struct ck_conv_params *p, const float *dy,
                               const float *w, float *dx, void *ws, size_t wsz)
{
    struct plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_BACKWARD_DATA, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return run_conv(&pl, p, dy, w, NULL, dx, ws);
}

static enum ck_status bwd_weights(int v, const struct ck_conv_params *p, const float *x,
                                  const float *dy, float *dw, float *db, void *ws, size_t wsz)
{
    struct plan pl;
    if (!plan_for_call(&pl, p, CK_PASS_BACKWARD_WEIGHTS, variant_of(v, p), wsz))
        return CK_ERR_WORKSPACE_TOO_SMALL;
    return run_wg(&pl, x, dy, dw, db, ws);
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
