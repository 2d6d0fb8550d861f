/* conv_winograd_wg.c - the backward-weights pass of the winograd backends:
 *   dU[xi][k][c] = sum over tiles of (A^T-adjoint dy)[xi][k] * (B^T x B)[xi][c],
 *   dw = G^T dU G (fp64), db = sum of dy.
 * Tiles go a block of tile rows at a time: x and dy packed band by band, transformed by
 * all threads, then each (point, 16 columns of dU) piece sums the block's tiles in tile
 * order, whichever thread owns it (no result depends on the thread count). Not here:
 * planning and workspace layout (conv_winograd.c), kernels (winograd.c, simd/).
 */
#include <string.h>

#include "conv_winograd.h"
#include "internal.h"

enum { L = CK_WINO_LANES, MR = CK_WINO_MR, NR = CK_WINO_NR };

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
static void wg_segment(const struct ck_wino_plan *pl, const struct wg_block *b, int n, int *tha,
                       int *thb, size_t *before)
{
    const size_t first = (size_t)n * pl->TH;
    const size_t lo = CK_MAX(first, b->r0), hi = CK_MIN(first + pl->TH, b->r1);
    *tha = (int)(lo - first), *thb = (int)(hi - first), *before = lo - b->r0;
}

/* Floats before segment n's x band (each earlier segment: rows*m + 2 blocked rows). */
static size_t wg_xoff(const struct ck_wino_plan *pl, const struct wg_block *b, int n, size_t before)
{
    return (size_t)pl->CB * pl->Wb * L * (before * pl->m + 2 * (size_t)(n - b->n0));
}

/* Pack channel block cb of segment n of x into xb. */
static void wg_pack_x(const struct ck_wino_plan *pl, const struct wg_block *b, const float *x,
                      int g, int n, int cb, float *xb)
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
static void wg_pack_dy(const struct ck_wino_plan *pl, const struct wg_block *b, const float *dy,
                       int g, int n, int kb, float *dyb, float *dbp)
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
static void wg_transform(const struct ck_wino_plan *pl, const struct wg_block *b, int t,
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
static void wg_products(const struct ck_wino_plan *pl, int xi, int c0, int nt, int first,
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
static void wg_back_transform(const struct ck_wino_plan *pl, const float *dU, int k, float *dw_k)
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

enum ck_status ck__wino_weights(const struct ck_wino_plan *pl, const float *x,
                                const float *dy, float *dw, float *db, void *ws)
{
    char *base = ws;
    float *dU = (float *)(base + pl->off_u), *xb = (float *)(base + pl->off_xb);
    float *dyb = (float *)(base + pl->off_dyb), *V = (float *)(base + pl->off_blk);
    float *Mdy = V + pl->A2 * pl->vs;
    float *dbp = db ? (float *)(base + pl->off_bias) : NULL;
    const size_t rows = (size_t)pl->N * pl->TH, R = (size_t)pl->Tb / pl->TW;
    const int npan = ck__ceil_div(pl->Cp, NR);
    for (int g = 0; g < pl->G; g++) {
        if (dbp)
            memset(dbp, 0, (size_t)pl->N * pl->Kp * sizeof(float));
        #pragma omp parallel num_threads(pl->nthr)
        {
            for (size_t r0 = 0; r0 < rows; r0 += R) {
                struct wg_block b = {r0, CK_MIN(rows, r0 + R), 0, 0};
                b.n0 = (int)(b.r0 / pl->TH), b.n1 = (int)((b.r1 - 1) / pl->TH);
                const int nseg = b.n1 - b.n0 + 1, nt = (int)(b.r1 - b.r0) * pl->TW;
                /* channel-block-major: each thread packs whole channel blocks of every
                 * segment (segments differ in size, channel blocks do not) */
                #pragma omp for schedule(static) nowait
                for (int j = 0; j < nseg * pl->CB; j++)
                    wg_pack_x(pl, &b, x, g, b.n0 + j % nseg, j / nseg, xb);
                #pragma omp for schedule(static)
                for (int j = 0; j < nseg * pl->KB; j++)
                    wg_pack_dy(pl, &b, dy, g, b.n0 + j % nseg, j / nseg, dyb, dbp);
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
