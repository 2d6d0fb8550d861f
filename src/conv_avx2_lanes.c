/* conv_avx2_lanes.c - the paths of backend "avx2" that keep pixels in the vector lanes,
 * on the kernel of simd/conv_avx2_1x1.c: 1x1 stride-1 unpadded forward and backward-data
 * on NCHW planes in place, and the forward of stride-1 layers with fewer than 8 input
 * channels a group (first layers) on padded input planes, writing NCHW output directly.
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

/* A layer with fewer than 8 input channels a group (a first layer: x kept as padded
 * planes) at stride 1 runs its forward on ck_dconv_1x1__avx2, one reduction item per
 * (channel, tap) at that tap's offset in the planes: 16 output pixels in two vectors
 * times 6 output channels, the output rows written straight to NCHW. The blocked path
 * wrote 8-channel pixels and then converted them, which took 17% of its time on
 * mb64ic3ih32oc32kh3ph1 (rdtsc, scratch build). */
static int planar_fwd(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return pass == CK_PASS_FORWARD && g->flat && g->sh == 1 && g->sw == 1;
}

/* Its workspace: x planes [N][G][Cg][Hp][Wp], the weights packed per group, the item
 * offsets; returns the bytes (64 extra to align base), SIZE_MAX on overflow. */
static size_t planar_carve(const struct ck_dconv_geom *g, void *base, float **x, float **w,
                           ptrdiff_t **item)
{
    const size_t nit = (size_t)g->Cg * g->T;
    size_t off = 0;
    const size_t plane = (size_t)g->Hp * g->Wp;
    const size_t xo = ck_dconv_take(&off, ck_dconv_size((size_t)g->N * g->G, g->Cg, plane,
                                                        sizeof(float)));
    const size_t wo = ck_dconv_take(&off, ck_dconv_size(g->G, g->Kg, nit, sizeof(float)));
    const size_t io = ck_dconv_take(&off, ck_dconv_size(nit, sizeof(ptrdiff_t), 1, 1));
    if (off == SIZE_MAX || off > SIZE_MAX - 64)
        return SIZE_MAX;
    if (base) {
        char *a = (char *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
        *x = (float *)(a + xo), *w = (float *)(a + wo), *item = (ptrdiff_t *)(a + io);
    }
    return off + 64;
}

int ck_dconv_lanes(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return plain_1x1(g, pass) || planar_fwd(g, pass);
}

size_t ck_dconv_lanes_workspace(const struct ck_dconv_geom *g, enum ck_conv_pass pass)
{
    return plain_1x1(g, pass) ? ws_1x1(g) : planar_carve(g, NULL, NULL, NULL, NULL);
}

#ifdef CONVKIT_HAVE_AVX2

static int ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

/* out (N,G*nm,H,W) from in (N,G*nr,H,W) with ck_dconv_1x1__avx2; group gi's weights at
 * w + gi*Kg*Cg with strides w_m, w_r, packed into the workspace ws first. Work items are
 * (image-group, PIX_1X1 pixels). */
static void run_1x1(const struct ck_dconv_geom *g, const float *in, const float *w,
                    const float *bias, float *out, int nm, int nr, ptrdiff_t w_m, ptrdiff_t w_r,
                    void *ws)
{
    const int hw = g->H * g->W, nch = ceil_div(hw, PIX_1X1);
    const long items = (long)g->N * g->G * nch;
    const size_t wtile = (size_t)nm * nr; /* packed floats per group */
    float *wp = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    ck_dconv_pack_w_1x1(g, w, nm, nr, w_m, w_r, wp);
    #pragma omp parallel for schedule(static)
    for (long it = 0; it < items; it++) {
        const long ng = it / nch;
        const int gi = (int)(ng % g->G), j0 = (int)(it % nch) * PIX_1X1;
        const struct ck_dconv_1x1 job = {
            .in = in + (size_t)ng * nr * hw + j0, .w = wp + gi * wtile,
            .bias = bias ? bias + (size_t)gi * nm : NULL,
            .out = out + (size_t)ng * nm * hw + j0,
            .nm = nm, .nr = nr, .npix = CK_MIN(PIX_1X1, hw - j0),
            .in_r = hw, .out_m = hw,
        };
        ck_dconv_1x1__avx2(&job);
    }
}

/* y (N,K,P,Q) from x (N,C,H,W) and w (K,C/G,R,S): x copied to padded planes, then work
 * items of (image-group, block of output rows), one kernel call per output row. */
static void planar_forward(const struct ck_dconv_geom *g, const float *x, const float *w,
                           const float *bias, float *y, void *ws)
{
    float *xs, *wp;
    ptrdiff_t *item;
    planar_carve(g, ws, &xs, &wp, &item);
    const int nit = g->Cg * g->T;
    const size_t plane = (size_t)g->Hp * g->Wp, pq = (size_t)g->P * g->Q;
    for (int i = 0; i < nit; i++) {
        const int t = i % g->T;
        item[i] = (ptrdiff_t)((size_t)(i / g->T) * plane + (size_t)(t / g->S) * g->dh * g->Wp +
                              (size_t)(t % g->S) * g->dw);
    }
    ck_dconv_pack_w_1x1(g, w, g->Kg, nit, nit, 1, wp);
    ck_dconv_pack_x(g, x, xs);
    const long nimg = (long)g->N * g->G;
    const int nrb = ck_dconv_row_blocks((int)CK_MIN(nimg, MIN_WORK_ITEMS), g->P);
    const int rpb = ceil_div(g->P, nrb);
    const long items = nimg * nrb;
    #pragma omp parallel for schedule(static)
    for (long it = 0; it < items; it++) {
        const long ng = it / nrb;
        const int gi = (int)(ng % g->G), p0 = (int)(it % nrb) * rpb;
        for (int p = p0; p < CK_MIN(g->P, p0 + rpb); p++) {
            const struct ck_dconv_1x1 job = {
                .in = xs + (size_t)ng * g->Cg * plane + (size_t)p * g->Wp,
                .w = wp + (size_t)gi * g->Kg * nit,
                .bias = bias ? bias + (size_t)gi * g->Kg : NULL,
                .out = y + (size_t)ng * g->Kg * pq + (size_t)p * g->Q,
                .item = item, .nm = g->Kg, .nr = nit, .npix = g->Q, .out_m = (ptrdiff_t)pq,
            };
            ck_dconv_1x1__avx2(&job);
        }
    }
}

void ck_dconv_lanes_run(const struct ck_dconv_geom *g, enum ck_conv_pass pass, const float *in,
                        const float *w, const float *bias, float *out, void *ws)
{
    if (!plain_1x1(g, pass))
        planar_forward(g, in, w, bias, out, ws);
    else if (pass == CK_PASS_FORWARD)
        run_1x1(g, in, w, bias, out, g->Kg, g->Cg, g->Cg, 1, ws);
    else
        run_1x1(g, in, w, NULL, out, g->Cg, g->Kg, 1, g->Cg, ws);
}

#endif
