/* conv_avx2_lanes.c - the paths of backend "avx2" that keep pixels in the vector lanes,
 * on the kernel of simd/conv_avx2_1x1.c: 1x1 stride-1 unpadded forward and backward-data
 * on NCHW planes in place, and the forward and backward-data of stride-1 layers with
 * fewer than 8 input channels a group (first layers) on padded planes, writing NCHW
 * output directly.
 * The driver conv_avx2.c asks ck_dconv_lanes which passes run here; the blocked paths
 * are there. Compiled without vector flags, like the driver.
 */
#include <stdint.h>

#include "internal.h"
#include "conv_avx2_layout.h"
#ifdef CONVKIT_HAVE_AVX2
#include "conv_avx2.h"
#endif

/* 1x1 stride-1 unpadded forward and backward-data need no copies (ck_dconv_1x1__avx2),
 * unless the reduction or the output has many rows: the kernel keeps the input rows of a
 * pixel tile in L1 (16 pixels x 256 rows = 16 KiB) and writes one stream per output row;
 * above 256 the blocked path was faster (ic512 forward 7%, backward-data 5%) */
static int plain_1x1(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return pass != CK_PASS_BACKWARD_WEIGHTS && g->R == 1 && g->S == 1 && g->sh == 1 &&
           g->sw == 1 && g->Hp == g->H && g->Wp == g->W && g->Cg <= MAX_1X1_ROWS &&
           g->Kg <= MAX_1X1_ROWS;
}

/* The 1x1 path's workspace: its packed weights (as many as the layer's), 64 extra bytes
 * so a misaligned base can be aligned. */
static size_t ws_1x1(const struct ck_dconv_geom *g)
{
    return (size_t)g->G * g->Kg * g->Cg * sizeof(float) + 64;
}

/* A layer with fewer than 8 input channels a group (a first layer) at stride 1 runs its
 * forward and backward-data on ck_dconv_1x1__avx2, one reduction item per (channel, tap)
 * at that tap's offset in zero-padded planes: 16 output pixels in two vectors times up to
 * 6 output channels, the output rows written straight to NCHW. The blocked path spent
 * 17% of its forward on mb64ic3ih32oc32kh3ph1 converting 8-channel output pixels (rdtsc,
 * scratch build), and its backward-data filled 3 of 8 lanes with the 3 input channels. */
static int planar(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return pass != CK_PASS_BACKWARD_WEIGHTS && g->flat && g->sh == 1 && g->sw == 1;
}

/* The n planes per image-group that the pass reads, each rows x cols with the source
 * plane at (top, left): forward, x padded as the convolution pads it; backward-data, dy
 * with zeros around it so that dx pixel (h, w) finds tap (r, s)'s dy value, or a zero, at
 * (h + pt + top - r*dh, w + pl + left - s*dw). */
struct planes {
    int n, rows, cols, top, left;
};

static struct planes planes_of(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    struct planes pl = {g->Cg, g->Hp, g->Wp, g->pt, g->pl};
    if (pass == CK_PASS_BACKWARD_DATA) {
        pl.n = g->Kg;
        pl.top = CK_MAX(0, g->dh * (g->R - 1) - g->pt);
        pl.left = CK_MAX(0, g->dw * (g->S - 1) - g->pl);
        pl.rows = pl.top + CK_MAX(g->P, g->H + g->pt);
        pl.cols = pl.left + CK_MAX(g->Q, g->W + g->pl);
    }
    return pl;
}

/* Its workspace: the planes [N][G][n][rows][cols], the weights packed per group, the item
 * offsets; returns the bytes (64 extra to align base), SIZE_MAX on overflow. */
static size_t planar_carve(const struct ck_dconv_geom *g, enum ck_conv_pass pass, void *base,
                           float **xs, float **w, ptrdiff_t **item)
{
    const struct planes pl = planes_of(g, pass);
    const size_t nit = (size_t)pl.n * g->T, plane = (size_t)pl.rows * pl.cols;
    size_t off = 0;
    const size_t xo = ck_dconv_take(&off, ck_dconv_size((size_t)g->N * g->G, pl.n, plane,
                                                        sizeof(float)));
    const size_t wo = ck_dconv_take(&off, ck_dconv_size((size_t)g->G * g->Cg, g->Kg, g->T,
                                                        sizeof(float)));
    const size_t io = ck_dconv_take(&off, ck_dconv_size(nit, sizeof(ptrdiff_t), 1, 1));
    if (off == SIZE_MAX || off > SIZE_MAX - 64)
        return SIZE_MAX;
    if (base) {
        char *a = ck_dconv_align64(base);
        *xs = (float *)(a + xo), *w = (float *)(a + wo), *item = (ptrdiff_t *)(a + io);
    }
    return off + 64;
}

int ck_dconv_lanes(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return plain_1x1(g, pass) || planar(g, pass);
}

size_t ck_dconv_lanes_workspace(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return plain_1x1(g, pass) ? ws_1x1(g) : planar_carve(g, pass, NULL, NULL, NULL, NULL);
}

#ifdef CONVKIT_HAVE_AVX2

/* out (N,G*nm,H,W) from in (N,G*nr,H,W) with ck_dconv_1x1__avx2; group gi's weights at
 * w + gi*Kg*Cg with strides w_m, w_r, packed into the workspace ws first. Work items are
 * (image-group, PIX_1X1 pixels), a contiguous range of them a thread; each call
 * prefetches the input of the thread's next item into L2. */
static void run_1x1(const struct ck_dconv_geom *g, const float *in, const float *w,
                    const float *bias, float *out, int nm, int nr, ptrdiff_t w_m, ptrdiff_t w_r,
                    void *ws)
{
    const int hw = g->H * g->W, nch = ck__ceil_div(hw, PIX_1X1);
    const long items = (long)g->N * g->G * nch;
    const size_t wtile = (size_t)nm * nr; /* packed floats per group */
    float *wp = (float *)ck_dconv_align64(ws);
    ck_dconv_pack_w_1x1(g, w, nm, nr, w_m, w_r, nr, 0, wp);
    #pragma omp parallel
    {
        const int tid = ck__thread_num(), nth = ck__num_threads();
        const long it0 = items * tid / nth, it1 = items * (tid + 1) / nth;
        for (long it = it0; it < it1; it++) {
            const long ng = it / nch, nng = (it + 1) / nch;
            const int gi = (int)(ng % g->G), j0 = (int)(it % nch) * PIX_1X1;
            const int nj0 = (int)((it + 1) % nch) * PIX_1X1;
            const struct ck_dconv_1x1 job = {
                .in = in + (size_t)ng * nr * hw + j0, .w = wp + gi * wtile,
                .bias = bias ? bias + (size_t)gi * nm : NULL,
                .out = out + (size_t)ng * nm * hw + j0,
                .nm = nm, .nr = nr, .npix = CK_MIN(PIX_1X1, hw - j0),
                .in_r = hw, .out_m = hw,
                .pf = it + 1 < it1 ? in + (size_t)nng * nr * hw + nj0 : NULL,
                .pf_rows = nr, .pf_len = CK_MIN(PIX_1X1, hw - nj0), .pf_r = hw,
            };
            ck_dconv_1x1__avx2(&job);
        }
    }
}

/* What one kernel call a row needs: the item offsets, packed weights, bias, the output
 * (nm planes of orows x ocols per image-group), reduction items, plane size and org,
 * where output pixel (0, 0)'s tap (0, 0) reads in an image-group's planes. */
struct planar_job {
    const ptrdiff_t *item;
    const float *wp, *bias;
    float *out;
    int nm, nit, ocols, cols;
    size_t oplane;
    ptrdiff_t org;
};

/* Output rows p0..p1-1 of image-group ng (group gi) from its planes xi. */
static void planar_rows(const struct planar_job *j, const float *xi, long ng, int gi, int p0,
                        int p1)
{
    for (int p = p0; p < p1; p++) {
        const struct ck_dconv_1x1 job = {
            .in = xi + j->org + (size_t)p * j->cols,
            .w = j->wp + (size_t)gi * j->nm * j->nit,
            .bias = j->bias ? j->bias + (size_t)gi * j->nm : NULL,
            .out = j->out + (size_t)ng * j->nm * j->oplane + (size_t)p * j->ocols,
            .item = j->item, .nm = j->nm, .nr = j->nit, .npix = j->ocols,
            .out_m = (ptrdiff_t)j->oplane,
        };
        ck_dconv_1x1__avx2(&job);
    }
}

/* Forward (y from x) or backward-data (dx from dy) of such a layer, w (K,C/G,R,S): the
 * source copied to padded planes, then work items of (image-group, block of output
 * rows), one kernel call per output row; its rows are the output channels. */
static void planar_run(const struct ck_dconv_geom *g, enum ck_conv_pass pass, const float *in,
                       const float *w, const float *bias, float *out, void *ws)
{
    const struct planes pl = planes_of(g, pass);
    const int fwd = pass == CK_PASS_FORWARD, nit = pl.n * g->T, nm = fwd ? g->Kg : g->Cg;
    const int irows = fwd ? g->H : g->P, icols = fwd ? g->W : g->Q; /* source planes */
    const int orows = fwd ? g->P : g->H, ocols = fwd ? g->Q : g->W; /* output planes */
    const size_t plane = (size_t)pl.rows * pl.cols, oplane = (size_t)orows * ocols;
    float *xs = NULL, *wp = NULL; /* set by planar_carve (ws is never NULL here) */
    ptrdiff_t *item = NULL;
    planar_carve(g, pass, ws, &xs, &wp, &item);
    /* forward: output pixel (p, q) reads (p + r*dh, q + s*dw) of its plane; backward-data:
     * dx pixel (h, w) reads (h + pt + top - r*dh, w + pl + left - s*dw) */
    const ptrdiff_t sgn = fwd ? 1 : -1;
    const ptrdiff_t org = fwd ? 0 : (ptrdiff_t)(g->pt + pl.top) * pl.cols + g->pl + pl.left;
    for (int i = 0; i < nit; i++) {
        const int t = i % g->T;
        item[i] = (ptrdiff_t)(i / g->T) * (ptrdiff_t)plane +
                  sgn * ((ptrdiff_t)(t / g->S) * g->dh * pl.cols + (ptrdiff_t)(t % g->S) * g->dw);
    }
    if (fwd) /* row k, item (c, t): w[k][c][t] */
        ck_dconv_pack_w_1x1(g, w, nm, nit, nit, 1, nit, 0, wp);
    else /* row c, item (k, t): w[k][c][t] */
        ck_dconv_pack_w_1x1(g, w, nm, nit, g->T, 1, g->T, (ptrdiff_t)g->Cg * g->T, wp);
    const struct planar_job j = {item, wp, bias, out, nm, nit, ocols, pl.cols, oplane, org};
    const long nimg = (long)g->N * g->G;
    const int nrb = ck_dconv_row_blocks((int)CK_MIN(nimg, MIN_WORK_ITEMS), orows);
    const int rpb = ck__ceil_div(orows, nrb);
    if (nrb == 1 && nimg >= ck__max_threads()) {
        /* an image-group a work item: each thread pads its image's planes into its own slot
         * (the planes of image-group tid) just before reading them, so they are read from
         * L2; padding all of them first sent the copies through L3 and back (first-layer
         * backward-data: 8 MiB of dy) */
        #pragma omp parallel
        {
            float *slot = xs + (size_t)ck__thread_num() * pl.n * plane;
            #pragma omp for schedule(static)
            for (long ng = 0; ng < nimg; ng++) {
                for (int i = 0; i < pl.n; i++)
                    ck_dconv_pad_plane(in + ((size_t)ng * pl.n + i) * irows * icols, irows,
                                       icols, slot + (size_t)i * plane, pl.rows, pl.cols,
                                       pl.top, pl.left);
                planar_rows(&j, slot, ng, (int)(ng % g->G), 0, orows);
            }
        }
        return;
    }
    const long np = nimg * pl.n;
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < np; i++)
        ck_dconv_pad_plane(in + (size_t)i * irows * icols, irows, icols, xs + (size_t)i * plane,
                           pl.rows, pl.cols, pl.top, pl.left);
    const long items = nimg * nrb;
    #pragma omp parallel for schedule(static)
    for (long it = 0; it < items; it++) {
        const long ng = it / nrb;
        const int p0 = (int)(it % nrb) * rpb;
        planar_rows(&j, xs + (size_t)ng * pl.n * plane, ng, (int)(ng % g->G), p0,
                    CK_MIN(orows, p0 + rpb));
    }
}

void ck_dconv_lanes_run(const struct ck_dconv_geom *g, enum ck_conv_pass pass, const float *in,
                        const float *w, const float *bias, float *out, void *ws)
{
    if (!plain_1x1(g, pass))
        planar_run(g, pass, in, w, bias, out, ws);
    else if (pass == CK_PASS_FORWARD)
        run_1x1(g, in, w, bias, out, g->Kg, g->Cg, g->Cg, 1, ws);
    else
        run_1x1(g, in, w, NULL, out, g->Cg, g->Kg, 1, g->Cg, ws);
}

#endif
