/* conv_avx2.c - backend "avx2": direct convolution with AVX2/FMA micro-kernels.
 *
 * The driver: it converts NCHW/KCRS at the backend boundary (conversions in
 * conv_avx2_layout.c) into blocked layouts in the caller's workspace (activations NCHW8c
 * with the convolution padding materialised as zeros, weights blocked 8x8), runs the
 * register-blocked kernels of simd/conv_avx2_*.c under OpenMP, and converts the result
 * back; backward-weights' work split is in conv_avx2_wgrad.c. Any filter, stride,
 * asymmetric padding, dilation and groups (channel counts padded to 8 per group).
 * 1x1 stride-1 unpadded layers and stride-1 layers with fewer than 8 input channels a
 * group (forward, backward-data) keep pixels in the vector lanes and need no blocked
 * layouts: conv_avx2_lanes.c. Backward-weights of unpadded problems with
 * Cg % 8 == 0 reads x in place.
 * Compiled without vector flags: the kernels are only called when CONVKIT_HAVE_AVX2 is
 * defined.
 */
#include <stdint.h>
#include <string.h>

#include "convkit/cpu.h"
#include "internal.h"
#include "conv_avx2_layout.h"
#ifdef CONVKIT_HAVE_AVX2
#include "conv_avx2.h"
#endif
static void geom_init(struct ck_dconv_geom *g, const struct ck_conv_params *p,
                      enum ck_conv_pass pass)
{
    memset(g, 0, sizeof *g);
    g->N = p->N, g->C = p->C, g->H = p->H, g->W = p->W, g->K = p->K, g->R = p->R;
    g->S = p->S, g->G = p->groups, g->Cg = p->C / p->groups, g->Kg = p->K / p->groups;
    g->sh = p->stride_h, g->sw = p->stride_w, g->pt = p->pad_top, g->pl = p->pad_left;
    g->dh = p->dilation_h, g->dw = p->dilation_w;
    ck_conv_output_size(p, &g->P, &g->Q);
    g->T = g->R * g->S;
    g->CB = ck__ceil_div(g->Cg, 8), g->KB = ck__ceil_div(g->Kg, 8);
    g->flat = g->Cg < 8;
    g->XB = g->flat ? 1 : g->CB, g->RL = g->flat ? g->Cg : 8;
    g->fnob = CK_MIN(g->flat ? FWD_NOB_FLAT : FWD_NOB, g->KB);
    g->bnob = CK_MIN(BWD_NOB, g->CB);
    g->Hp = g->H + p->pad_top + p->pad_bottom, g->Wp = g->W + p->pad_left + p->pad_right;
    /* Forward stays blocked: its kernel reads 8+ channels of a few pixels at a time, and
     * planes of 2^k floats map those into a handful of L1 sets (1x1 ran slower). */
    /* backward-weights copies batches of wg_batch images (at least WG_SLOT_MIN_MACS of
     * work, so the barrier per batch is cheap) into two alternating halves of its slots */
    const double macs = (double)g->G * g->Kg * g->Cg * g->R * g->S * g->P * g->Q;
    const double per_min = (double)WG_SLOT_MIN_MACS / CK_MAX(macs, 1.0);
    g->wg_batch = per_min <= 1.0 ? 1 : (int)CK_MIN((double)CK_MAX(g->N, 1), per_min + 1.0);
    g->wg_slots = CK_MIN(g->N, 2 * g->wg_batch);
    g->planar = pass == CK_PASS_BACKWARD_WEIGHTS && !g->flat && g->Cg % 8 == 0 &&
                g->Hp == g->H && g->Wp == g->W;
    g->xpix = g->flat || g->planar ? 1 : 8;
    g->xch = g->flat || g->planar ? (size_t)g->Hp * g->Wp : 1;
    g->xblk = (size_t)g->Hp * g->Wp * (size_t)g->RL;
    g->items = (size_t)g->XB * g->T * g->RL;
    /* backward-weights sums the images in wg_chunks chunks, each into its own partial dw,
     * so threads can split the images (each copying only its own x and dy) rather than the
     * weights (each copying all of x). Each partial past the first costs its dw twice in
     * memory traffic (written, then added), so there are only as many as the copies of
     * all images outweigh WG_CHUNK_COST times. Fixed by the problem, not the thread count. */
    const double dwb = (double)g->G * g->KB * g->items * 8 * sizeof(float);
    const double copies = (double)g->N * g->G * sizeof(float) *
                          ((g->planar ? 0.0 : (double)g->XB * g->xblk) +
                           (double)g->KB * g->P * g->Q * 8);
    g->wg_chunks = 1; /* a power of two: even thread counts then split no chunk */
    while (2 * g->wg_chunks <= CK_MIN(g->N, WG_CHUNKS_MAX) &&
           (2 * g->wg_chunks - 1) * dwb * WG_CHUNK_COST <= copies)
        g->wg_chunks *= 2;
    g->dpt = ck__ceil_div((g->R - 1) * g->dh, g->sh);
    g->dpl = ck__ceil_div((g->S - 1) * g->dw, g->sw);
    g->Pp = g->dpt + CK_MAX(g->P, (g->H - 1 + g->pt) / g->sh + 1);
    g->Qp = g->dpl + CK_MAX(g->Q, (g->W - 1 + g->pl) / g->sw + 1);
}

/* ---- workspace ------------------------------------------------------------------ */

/* Lay out the workspace of pass; with base == NULL only the size is computed. Returns the
 * bytes needed (64 extra so a misaligned base can be aligned), SIZE_MAX on overflow. */
static size_t carve(const struct ck_dconv_geom *g, enum ck_conv_pass pass, void *base,
                    struct ck_dconv_bufs *b)
{
    const size_t f = sizeof(float), nx = (size_t)g->N * g->G;
    size_t x = 0, dy = 0, w = 0, out = 0, bias = 0, ts = 0, tw = 0, item = 0, ph = 0, bs = 0;
    size_t pix = 0, wpart = 0;
    size_t off = 0;
    const size_t pq = (size_t)g->P * g->Q, pi = sizeof(ptrdiff_t);
    if (pass == CK_PASS_FORWARD || pass == CK_PASS_BACKWARD_WEIGHTS) {
        /* backward-weights copies two images at a time (slots), the forward all of them */
        const size_t nxi = pass == CK_PASS_FORWARD ? nx : (size_t)g->wg_slots * g->G;
        x = ck_dconv_take(&off, g->planar ? 0 : ck_dconv_size(nxi, g->XB, g->xblk, f));
        w = ck_dconv_take(&off, ck_dconv_size((size_t)g->G * g->KB, g->items, 8, f));
    }
    if (pass == CK_PASS_FORWARD) {
        out = ck_dconv_take(&off, ck_dconv_size(nx * g->KB, pq, 8, f));
        bias = ck_dconv_take(&off, ck_dconv_size(g->G, g->KB, 8, f));
        ts = ck_dconv_take(&off, ck_dconv_size(g->T, pi, 1, 1));
        tw = ck_dconv_take(&off, ck_dconv_size(g->T, pi, 1, 1));
    } else if (pass == CK_PASS_BACKWARD_DATA) {
        dy = ck_dconv_take(&off, ck_dconv_size(nx * g->KB, (size_t)g->Pp * g->Qp, 8, f));
        w = ck_dconv_take(&off, ck_dconv_size((size_t)g->G * g->CB, (size_t)g->KB * g->T, 64, f));
        out = ck_dconv_take(&off, ck_dconv_size(nx * g->CB, (size_t)g->H * g->W, 8, f));
        ts = ck_dconv_take(&off, ck_dconv_size(g->T, pi, 1, 1));
        tw = ck_dconv_take(&off, ck_dconv_size(g->T, pi, 1, 1));
        ph = ck_dconv_take(&off, ck_dconv_size((size_t)g->sh * g->sw + 1, sizeof(int), 1, 1));
    } else {
        dy = ck_dconv_take(&off, ck_dconv_size((size_t)g->wg_slots * g->G * g->KB, pq, 8, f));
        item = ck_dconv_take(&off, ck_dconv_size(g->items, pi, 1, 1));
        pix = ck_dconv_take(&off, ck_dconv_size(CK_MAX(WG_TILE_PIXELS, g->Q), pi, 1, 1));
        bs = ck_dconv_take(&off, ck_dconv_size(nx, g->KB, 32, sizeof(double)));
        wpart = ck_dconv_take(&off, ck_dconv_size((size_t)g->wg_chunks - 1, (size_t)g->G * g->KB,
                                                  g->items, 8 * f));
    }
    if (off == SIZE_MAX || off > SIZE_MAX - 64)
        return SIZE_MAX;
    if (base && b) {
        char *a = ck_dconv_align64(base);
        memset(b, 0, sizeof *b);
        if (pass == CK_PASS_FORWARD || pass == CK_PASS_BACKWARD_WEIGHTS)
            b->x = (float *)(a + x), b->w = (float *)(a + w);
        if (pass == CK_PASS_FORWARD)
            b->out = (float *)(a + out), b->bias = (float *)(a + bias);
        if (pass == CK_PASS_BACKWARD_DATA) {
            b->dy = (float *)(a + dy), b->w = (float *)(a + w), b->out = (float *)(a + out);
            b->phase = (int *)(a + ph);
        }
        if (pass != CK_PASS_BACKWARD_WEIGHTS)
            b->tap_src = (ptrdiff_t *)(a + ts), b->tap_w = (ptrdiff_t *)(a + tw);
        else
            b->dy = (float *)(a + dy), b->item = (ptrdiff_t *)(a + item),
            b->pix = (ptrdiff_t *)(a + pix),
            b->bsum = (double *)(a + bs), b->wpart = (float *)(a + wpart);
    }
    return off + 64;
}

static size_t avx2_workspace_size(const struct ck_conv_params *p, enum ck_conv_pass pass)
{
    struct ck_dconv_geom g;
    geom_init(&g, p, pass);
    if (ck_dconv_lanes(&g, pass))
        return ck_dconv_lanes_workspace(&g, pass);
    return carve(&g, pass, NULL, NULL);
}

static enum ck_status avx2_supports(const struct ck_conv_params *p, enum ck_conv_pass pass,
                                    char *why, size_t why_len)
{
#ifndef CONVKIT_HAVE_AVX2
    (void)p, (void)pass;
    ck__msg(why, why_len, "backend 'avx2': this build has no AVX2/FMA kernels "
                          "(configured with CONVKIT_AVX2=OFF or the compiler lacks -mavx2 -mfma)");
    return CK_ERR_UNSUPPORTED;
#else
    if (avx2_workspace_size(p, pass) == SIZE_MAX) {
        ck__msg(why, why_len, "backend 'avx2': the blocked copies of this problem would not "
                              "fit in the address space");
        return CK_ERR_UNSUPPORTED;
    }
    (void)why, (void)why_len;
    return CK_OK;
#endif
}

#ifdef CONVKIT_HAVE_AVX2

/* ---- per-image work split (forward and backward-data) ------------------------------ */

/* Memory the kernel calls of one image prefetch into L2, spread over ncalls calls. */
struct pf_plan {
    const char *p[2];
    size_t bytes[2];
    int ncalls, next;
};

/* With at least 4 image-groups per thread, each thread takes a contiguous range of them;
 * for each, image() copies its input into the thread's slot (in_slots + tid*in_slot, the
 * regions of image-group tid, so no extra workspace) and computes every output block
 * from there while the copy is in L2, its kernel calls prefetching the thread's next
 * input image and this output image (pf). */
struct img_split {
    const struct ck_dconv_geom *g;
    const struct ck_dconv_bufs *b;
    const float *in;        /* NCHW input and output of the pass */
    float *out;
    size_t in_img, out_img; /* floats per image-group */
    float *in_slots, *out_slots;
    size_t in_slot, out_slot; /* floats per thread */
    int ncalls;             /* kernel calls per image */
    int pf_out;             /* whether the calls also prefetch the image's output (else the
                             * image function prefetches what it writes itself) */
    void (*image)(const struct img_split *sp, long ng, float *in_slot, float *out_slot,
                  struct pf_plan *pf);
};

static void split_images(const struct img_split *sp, long nimg)
{
    #pragma omp parallel
    {
        const int tid = ck__thread_num(), nth = ck__num_threads();
        float *is = sp->in_slots + (size_t)tid * sp->in_slot;
        float *os = sp->out_slots + (size_t)tid * sp->out_slot;
        const long ng0 = nimg * tid / nth, ng1 = nimg * (tid + 1) / nth;
        for (long ng = ng0; ng < ng1; ng++) {
            struct pf_plan pf = {
                .p = {ng + 1 < ng1 ? (const char *)(sp->in + (size_t)(ng + 1) * sp->in_img)
                                   : NULL,
                      sp->pf_out ? (const char *)(sp->out + (size_t)ng * sp->out_img) : NULL},
                .bytes = {sp->in_img * sizeof(float), sp->out_img * sizeof(float)},
                .ncalls = sp->ncalls,
            };
            sp->image(sp, ng, is, os, &pf);
        }
    }
}

/* Fill a kernel job's prefetch share: the plan's next of ncalls even slices. */
static void pf_take(struct pf_plan *pf, struct ck_dconv_row *job)
{
    if (!pf)
        return;
    for (int r = 0; r < 2; r++) {
        const int live = pf->p[r] && pf->next < pf->ncalls; /* (more calls than planned) */
        const size_t lo = live ? pf->bytes[r] * pf->next / pf->ncalls : 0;
        job->pf[r] = live ? pf->p[r] + lo : NULL;
        job->pf_bytes[r] = live ? pf->bytes[r] * (pf->next + 1) / pf->ncalls - lo : 0;
    }
    pf->next++;
}

/* ---- forward ------------------------------------------------------------------------ */

/* Forward of output blocks kb0..kb0+nob-1 of image-group ng (group gi), output rows
 * p0..p1-1, over the reduction chunks of input blocks c0..c1-1 (c0 a chunk start): xi is
 * that image's x copy from block c0 on, yb its blocked output [nob][P][Q][8] from block
 * kb0 on. A chunk carries the sums on through yb and the chunks are fixed by the problem,
 * so the sums do not depend on the work split; after the last chunk (c1 == XB) yb goes
 * to y. */
static void fwd_piece(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b, const float *xi,
                      float *yb, float *y, size_t ng, int gi, int kb0, int nob, int p0, int p1,
                      int c0, int c1, struct pf_plan *pf)
{
    const size_t wblk = (size_t)g->T * g->RL * 8; /* weight floats per (kb, xb) */
    const int chunk = ck_dconv_fwd_chunk(g);
    const size_t pq8 = (size_t)g->P * g->Q * 8;
    for (int cb0 = c0; cb0 < c1; cb0 += chunk) {
        struct ck_dconv_row job = {
            .src = xi + (cb0 - c0) * g->xblk + (size_t)p0 * g->sh * g->Wp * g->xpix,
            .w = b->w + ((size_t)gi * g->KB + kb0) * g->items * 8 + cb0 * wblk * nob,
            .bias = b->bias + ((size_t)gi * g->KB + kb0) * 8,
            .dst = yb + (size_t)p0 * g->Q * 8,
            .tap_src = b->tap_src, .tap_w = b->tap_w,
            .ntap = g->T, .nblk = CK_MIN(chunk, c1 - cb0), .blk_len = g->RL,
            .npix = g->Q, .nrow = p1 - p0, .nob = nob, .accumulate = cb0 > 0,
            .src_blk = (ptrdiff_t)g->xblk, .src_ch = (ptrdiff_t)g->xch,
            .src_pix = (ptrdiff_t)(g->sw * g->xpix),
            .src_row = (ptrdiff_t)((size_t)g->sh * g->Wp * g->xpix),
            .w_blk = (ptrdiff_t)(wblk * nob), .dst_pix = 8,
            .dst_row = (ptrdiff_t)g->Q * 8, .dst_ob = (ptrdiff_t)pq8,
        };
        pf_take(pf, &job);
        ck_dconv_row__avx2(&job);
    }
    for (int ob = 0; ob < nob && c1 == g->XB; ob++) {
        const int k0 = (kb0 + ob) * 8;
        ck_dconv_unpack_block8(yb + ob * pq8, CK_MIN(8, g->Kg - k0), g->P, g->Q, p0, p1,
                      y + (ng * g->Kg + k0) * (pq8 / 8));
    }
}

/* Forward of image-group ng for split_images, one reduction chunk at a time: copy its x
 * blocks (flat: all of x) to the start of the thread's slot, then run it for every output
 * block group while the copy is in L2; meanwhile the next chunk's x (after the last, the
 * thread's next image's first) and a share of this image's output are prefetched. Every
 * chunk is copied to the same place, which the chunk before left in L2: side by side, as
 * before 2026-12-07, the copies' writes missed L2 and the stride-2 layer's copies took
 * twice as long as copying again onto data already there (rdtsc, scratch build). */
static void fwd_image(const struct img_split *sp, long ng, float *xs, float *ys,
                      struct pf_plan *pf)
{
    const struct ck_dconv_geom *g = sp->g;
    const int nu = ck_dconv_x_units(g), nob_max = g->fnob;
    const int chunk = ck_dconv_fwd_chunk(g), nchunk = ck__ceil_div(g->XB, chunk);
    const size_t pq8 = (size_t)g->P * g->Q * 8, hw = (size_t)g->H * g->W;
    for (int c0 = 0, ci = 0; c0 < g->XB; c0 += chunk, ci++) {
        const int c1 = CK_MIN(g->XB, c0 + chunk), last = c1 == g->XB;
        const int ch1 = CK_MIN(c1 * 8, g->Cg); /* the next chunk's x: nch channels from ch1 */
        const int nch = last ? CK_MIN(chunk * 8, g->Cg) : CK_MIN((c1 + chunk) * 8, g->Cg) - ch1;
        const float *next = sp->in + ((size_t)ng * g->Cg + ch1) * hw;
        struct pf_plan cp = {
            .p = {last && !pf->p[0] ? NULL : (const char *)next,
                  pf->p[1] + pf->bytes[1] * ci / nchunk},
            .bytes = {nch * hw * sizeof(float),
                      pf->bytes[1] * (ci + 1) / nchunk - pf->bytes[1] * ci / nchunk},
            .ncalls = ck__ceil_div(g->KB, nob_max),
        };
        const int u0 = g->flat ? 0 : c0;
        for (int u = u0; u < (g->flat ? nu : c1); u++)
            ck_dconv_pack_x_unit(g, sp->in, (int)ng * nu + u,
                                 xs + (u - u0) * ck_dconv_x_unit_size(g));
        for (int kb0 = 0; kb0 < g->KB; kb0 += nob_max)
            fwd_piece(g, sp->b, xs, ys + kb0 * pq8, sp->out, (size_t)ng, (int)(ng % g->G),
                      kb0, CK_MIN(nob_max, g->KB - kb0), 0, g->P, c0, c1, &cp);
    }
}

/* x is (N,C,H,W), w is (K,C/G,R,S), bias is (K) or NULL, y is (N,K,P,Q).
 * With at least 4 image-groups per thread, split_images (fwd_image); otherwise x is
 * copied up front and a work item is (image, group, NOB output blocks, block of output
 * rows). */
static enum ck_status avx2_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size)
{
    (void)ws_size;
    struct ck_dconv_geom g;
    struct ck_dconv_bufs b;
    geom_init(&g, p, CK_PASS_FORWARD);
    if (ck_dconv_lanes(&g, CK_PASS_FORWARD)) {
        ck_dconv_lanes_run(&g, CK_PASS_FORWARD, x, w, bias, y, ws);
        return CK_OK;
    }
    carve(&g, CK_PASS_FORWARD, ws, &b);
    ck_dconv_pack_w_fwd(&g, w, b.w);
    for (int i = 0; i < g.G * g.KB * 8; i++) {
        const int kg = i % (g.KB * 8);
        b.bias[i] = (bias && kg < g.Kg) ? bias[i / (g.KB * 8) * g.Kg + kg] : 0.0f;
    }
    for (int t = 0; t < g.T; t++) {
        b.tap_src[t] = (ptrdiff_t)(((size_t)(t / g.S) * g.dh * g.Wp + (size_t)(t % g.S) * g.dw) * g.xpix);
        b.tap_w[t] = (ptrdiff_t)t * g.RL;
    }
    const int nob_max = g.fnob, ngrp = ck__ceil_div(g.KB, nob_max);
    const size_t pq8 = (size_t)g.P * g.Q * 8, ximg = (size_t)g.XB * g.xblk;
    const int nchunk = ck__ceil_div(g.XB, ck_dconv_fwd_chunk(&g));
    const long nimg = (long)g.N * g.G;
    if (nimg >= 4L * ck__max_threads()) {
        const struct img_split sp = {
            .g = &g, .b = &b, .in = x, .out = y,
            .in_img = (size_t)g.Cg * g.H * g.W, .out_img = (size_t)g.Kg * g.P * g.Q,
            .in_slots = b.x, .out_slots = b.out, .in_slot = ximg, .out_slot = g.KB * pq8,
            .ncalls = ngrp * nchunk, .pf_out = 1, .image = fwd_image,
        };
        split_images(&sp, nimg);
        return CK_OK;
    }
    ck_dconv_pack_x(&g, x, b.x);
    const int nrb = ck_dconv_row_blocks(g.N * g.G * ngrp, g.P), rpb = ck__ceil_div(g.P, nrb);
    const long items = nimg * ngrp * nrb;
    #pragma omp parallel for schedule(dynamic, 1)
    for (long it = 0; it < items; it++) {
        const int rb = (int)(it % nrb), kgp = (int)(it / nrb % ngrp);
        const long ng = it / ((long)nrb * ngrp);
        const int kb0 = kgp * nob_max, p0 = rb * rpb;
        fwd_piece(&g, &b, b.x + (size_t)ng * ximg, b.out + ((size_t)ng * g.KB + kb0) * pq8, y,
                  (size_t)ng, (int)(ng % g.G), kb0, CK_MIN(nob_max, g.KB - kb0), p0,
                  CK_MIN(g.P, p0 + rpb), 0, g.XB, NULL);
    }
    return CK_OK;
}

/* ---- backward-data ---------------------------------------------------------------- */

/* dy is (N,K,P,Q), w is (K,C/G,R,S), dx is (N,C,H,W).
 * dx[h][w] gathers dy[p][q] * w[r][s] over taps with h + pt = p*sh + r*dh (same for
 * columns). Input rows h with (h + pt) % sh == rho and columns with (w + pl) % sw == phi
 * see the same taps ("phase" rho*sw + phi) at fixed offsets from dy pixel
 * ((h + pt) / sh, (w + pl) / sw); one kernel call computes one phase: its rows sh apart
 * and its pixels sw apart in dx, both adjacent in dy. dy is zero padded so that taps
 * falling outside [0,P) x [0,Q) read zeros. Work split as in the forward: per image-group (dy
 * copied by the thread that consumes it) with >= 4 of them per thread, else per (image,
 * group, NOB input blocks, block of input rows) after copying dy up front. */
/* The first i >= lo with (i + pad) % s == phase (pad >= 0, 0 <= phase < s): where row
 * phase rho (columns: phi) of dx starts. */
static int phase_start(int lo, int pad, int s, int phase)
{
    return lo + ((phase - (lo + pad) % s) % s + s) % s;
}

/* Kernel calls of one bwd_piece over rows h0..h1-1 (as its loops make them). */
static int bwd_piece_calls(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b, int h0,
                           int h1)
{
    int n = 0;
    for (int rho = 0; rho < g->sh; rho++)
        for (int phi = 0; phi < g->sw && phase_start(h0, g->pt, g->sh, rho) < h1; phi++)
            if (phase_start(0, g->pl, g->sw, phi) < g->W)
                n += ck__ceil_div(g->KB, ck_dconv_bwd_chunk(g, b->phase, rho));
    return n;
}

/* Backward-data of input blocks cb0..cb0+nob-1 of image-group ng (group gi), rows h0..h1-1:
 * dyi is that image's padded dy copy, dxb the piece's blocked dx, [nob][h1-h0][W][8] with
 * its blocks dxb_ob floats apart; then dxb goes to dx. One call per phase and reduction
 * chunk: the rows h0 <= h < h1 of row phase rho (sh apart in dx, adjacent in dy), the
 * pixels of column phase phi. The chunks of a row phase run in order, each over its column
 * phases (which share dxb's cache lines); a chunk carries the sums on through dxb, so every
 * sum's order is fixed. Each call also fetches into L2 a share of the dx rows the piece
 * then writes (rather than a share of the whole image's dx: the stride-2 layer ran about
 * 1% faster, three 80-round runs of scripts/ab-conv.sh each way). */
static void bwd_piece(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b, const float *dyi,
                      float *dxb, size_t dxb_ob, float *dx, size_t ng, int gi, int cb0, int nob,
                      int h0, int h1, struct pf_plan *pf)
{
    const ptrdiff_t row8 = (ptrdiff_t)g->Qp * 8;
    const size_t wblk = (size_t)g->T * 64; /* weight floats per (cb, kb) */
    const size_t hw8 = (size_t)g->H * g->W * 8, dyplane = (size_t)g->Pp * g->Qp * 8;
    struct ck_dconv_row job = {
        .blk_len = 8, .nob = nob, .src_blk = (ptrdiff_t)dyplane, .src_ch = 1, .src_pix = 8,
        .w_blk = (ptrdiff_t)(wblk * nob), .dst_pix = (ptrdiff_t)g->sw * 8,
        .dst_ob = (ptrdiff_t)dxb_ob, .src_row = row8, .dst_row = (ptrdiff_t)g->sh * g->W * 8,
    };
    /* the dx rows this piece unpacks to, a share of their planes a call: nseg planes of
     * (h1 - h0) rows, one plane apart */
    const int ncall = bwd_piece_calls(g, b, h0, h1), nseg = CK_MIN(8 * nob, g->Cg - cb0 * 8);
    const size_t plane = hw8 / 8 * sizeof(float);
    const char *rows = (const char *)(dx + (ng * g->Cg + (size_t)cb0 * 8) * (hw8 / 8) +
                                      (size_t)h0 * g->W);
    int call = 0;
    for (int rho = 0; rho < g->sh; rho++) {
        const int h = phase_start(h0, g->pt, g->sh, rho);
        const int chunk = ck_dconv_bwd_chunk(g, b->phase, rho);
        if (h >= h1)
            continue;
        const int hb = (h + g->pt) / g->sh;
        job.nrow = (h1 - 1 - h) / g->sh + 1;
        for (int kb0 = 0; kb0 < g->KB; kb0 += chunk) {
            job.w = b->w + ((size_t)gi * g->CB + cb0) * g->KB * wblk + kb0 * wblk * nob;
            job.nblk = CK_MIN(chunk, g->KB - kb0), job.accumulate = kb0 > 0;
            for (int phi = 0; phi < g->sw; phi++) {
                const int w0 = phase_start(0, g->pl, g->sw, phi);
                if (w0 >= g->W)
                    continue;
                const int ph = rho * g->sw + phi, wb0 = (w0 + g->pl) / g->sw;
                job.tap_src = b->tap_src + b->phase[ph];
                job.tap_w = b->tap_w + b->phase[ph];
                job.ntap = b->phase[ph + 1] - b->phase[ph];
                job.npix = (g->W - 1 - w0) / g->sw + 1;
                job.src = dyi + kb0 * dyplane + (size_t)(hb + g->dpt) * row8 +
                          (size_t)(wb0 + g->dpl) * 8;
                job.dst = dxb + ((size_t)(h - h0) * g->W + w0) * 8;
                pf_take(pf, &job);
                const int s0 = nseg * call / ncall, s1 = nseg * (call + 1) / ncall;
                call++;
                job.pf[1] = s1 > s0 ? rows + (size_t)s0 * plane : NULL;
                job.pf_bytes[1] = (size_t)(h1 - h0) * g->W * sizeof(float);
                job.pf_nseg[1] = (size_t)(s1 - s0), job.pf_stride[1] = (ptrdiff_t)plane;
                ck_dconv_row__avx2(&job);
            }
        }
    }
    for (int ob = 0; ob < nob; ob++) {
        const int c0 = (cb0 + ob) * 8;
        ck_dconv_unpack8__avx2(dxb + ob * dxb_ob, CK_MIN(8, g->Cg - c0), (h1 - h0) * g->W,
                               dx + (ng * g->Cg + c0) * (hw8 / 8) + (size_t)h0 * g->W,
                               (ptrdiff_t)(hw8 / 8));
    }
}

/* Input rows per band of bwd_image: with a strided layer (phases, each of whose calls
 * reads all of dy) whose dy copy is larger than BWD_BAND_BYTES, H split into that many
 * bands, a multiple of sh rows each; else H (one band). */
static int bwd_band_rows(const struct ck_dconv_geom *g)
{
    const size_t dy = (size_t)g->KB * g->Pp * g->Qp * 8 * sizeof(float);
    const int nband = (int)((dy + BWD_BAND_BYTES - 1) / BWD_BAND_BYTES);
    if (g->sh * g->sw == 1 || nband <= 1)
        return g->H;
    return CK_MIN(g->H, ck__ceil_div(ck__ceil_div(g->H, nband), g->sh) * g->sh);
}

/* Backward-data of image-group ng for split_images: copy dy, then, band of input rows by
 * band, every input block group, so the dy rows of a band are read from L2 (or L1) by
 * all of its kernel calls; a whole large dy (stride 2 at 56x56) would not stay there.
 * Every piece's blocked dx goes to the same place, dxs (a band of nob_max blocks), which
 * the piece before left in L2 (or L1) and which is unpacked before the next piece.
 * Bands change who computes when, not any sum. */
static void bwd_image(const struct img_split *sp, long ng, float *dys, float *dxs,
                      struct pf_plan *pf)
{
    const struct ck_dconv_geom *g = sp->g;
    const int nob_max = g->bnob, band = bwd_band_rows(g);
    const size_t dyplane = (size_t)g->Pp * g->Qp * 8;
    for (int kb = 0; kb < g->KB; kb++)
        ck_dconv_pack_dy_block(g, sp->in, (int)ng * g->KB + kb, dys + kb * dyplane, g->Pp,
                               g->Qp, g->dpt, g->dpl, NULL);
    for (int h0 = 0; h0 < g->H; h0 += band)
        for (int cb0 = 0; cb0 < g->CB; cb0 += nob_max)
            bwd_piece(g, sp->b, dys, dxs, (size_t)band * g->W * 8, sp->out, (size_t)ng,
                      (int)(ng % g->G), cb0, CK_MIN(nob_max, g->CB - cb0), h0,
                      CK_MIN(g->H, h0 + band), pf);
}

static enum ck_status avx2_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size)
{
    (void)ws_size;
    struct ck_dconv_geom g;
    struct ck_dconv_bufs b;
    geom_init(&g, p, CK_PASS_BACKWARD_DATA);
    if (ck_dconv_lanes(&g, CK_PASS_BACKWARD_DATA)) {
        ck_dconv_lanes_run(&g, CK_PASS_BACKWARD_DATA, dy, w, NULL, dx, ws);
        return CK_OK;
    }
    carve(&g, CK_PASS_BACKWARD_DATA, ws, &b);
    ck_dconv_pack_w_bwd(&g, w, b.w);
    const ptrdiff_t row8 = (ptrdiff_t)g.Qp * 8;
    int nt = 0;
    for (int rho = 0; rho < g.sh; rho++)
        for (int phi = 0; phi < g.sw; phi++) {
            b.phase[rho * g.sw + phi] = nt;
            for (int t = 0; t < g.T; t++) {
                const int r = t / g.S, s = t % g.S;
                if ((r * g.dh) % g.sh != rho || (s * g.dw) % g.sw != phi)
                    continue;
                b.tap_src[nt] = -(ptrdiff_t)((r * g.dh - rho) / g.sh) * row8 -
                                (ptrdiff_t)((s * g.dw - phi) / g.sw) * 8;
                b.tap_w[nt++] = (ptrdiff_t)t * 8;
            }
        }
    b.phase[g.sh * g.sw] = nt;
    const int nob_max = g.bnob, ngrp = ck__ceil_div(g.CB, nob_max);
    const size_t hw8 = (size_t)g.H * g.W * 8, dyplane = (size_t)g.Pp * g.Qp * 8;
    const int band = bwd_band_rows(&g);
    int ncalls = 0; /* per input block group and image: its pieces' calls, band by band */
    for (int h0 = 0; h0 < g.H; h0 += band)
        ncalls += bwd_piece_calls(&g, &b, h0, CK_MIN(g.H, h0 + band));
    const long nimg = (long)g.N * g.G;
    if (nimg >= 4L * ck__max_threads()) {
        const struct img_split sp = {
            .g = &g, .b = &b, .in = dy, .out = dx,
            .in_img = (size_t)g.Kg * g.P * g.Q, .out_img = (size_t)g.Cg * g.H * g.W,
            .in_slots = b.dy, .out_slots = b.out, .in_slot = g.KB * dyplane,
            .out_slot = (size_t)g.bnob * band * g.W * 8,
            .ncalls = ngrp * ncalls,
            .image = bwd_image,
        };
        split_images(&sp, nimg);
        return CK_OK;
    }
    ck_dconv_pack_dy(&g, dy, b.dy, g.Pp, g.Qp, g.dpt, g.dpl, NULL);
    const int nrb = ck_dconv_row_blocks(g.N * g.G * ngrp, g.H), rpb = ck__ceil_div(g.H, nrb);
    const long items = nimg * ngrp * nrb;
    #pragma omp parallel for schedule(dynamic, 1)
    for (long it = 0; it < items; it++) {
        const int rb = (int)(it % nrb), cgp = (int)(it / nrb % ngrp);
        const long ng = it / ((long)nrb * ngrp);
        const int cb0 = cgp * nob_max, h0 = rb * rpb;
        bwd_piece(&g, &b, b.dy + (size_t)ng * g.KB * dyplane,
                  b.out + ((size_t)ng * g.CB + cb0) * hw8 + (size_t)h0 * g.W * 8, hw8, dx,
                  (size_t)ng, (int)(ng % g.G), cb0, CK_MIN(nob_max, g.CB - cb0), h0,
                  CK_MIN(g.H, h0 + rpb), NULL);
    }
    return CK_OK;
}

/* ---- backward-weights (the work split is in conv_avx2_wgrad.c) ---------------------- */

static enum ck_status avx2_backward_weights(const struct ck_conv_params *p, const float *x,
                                           const float *dy, float *dw, float *db, void *ws,
                                           size_t ws_size)
{
    (void)ws_size;
    struct ck_dconv_geom g;
    struct ck_dconv_bufs b;
    geom_init(&g, p, CK_PASS_BACKWARD_WEIGHTS);
    carve(&g, CK_PASS_BACKWARD_WEIGHTS, ws, &b);
    ck_dconv_backward_weights(&g, &b, x, dy, dw, db);
    return CK_OK;
}

#endif /* CONVKIT_HAVE_AVX2 */

#ifndef CONVKIT_HAVE_AVX2
/* Never called: supports() refuses every problem in a build without the kernels. */
static enum ck_status avx2_forward(const struct ck_conv_params *p, const float *x,
                                   const float *w, const float *bias, float *y, void *ws,
                                   size_t ws_size)
{
    (void)p, (void)x, (void)w, (void)bias, (void)y, (void)ws, (void)ws_size;
    return CK_ERR_UNSUPPORTED;
}

static enum ck_status avx2_backward_data(const struct ck_conv_params *p, const float *dy,
                                         const float *w, float *dx, void *ws, size_t ws_size)
{
    (void)p, (void)dy, (void)w, (void)dx, (void)ws, (void)ws_size;
    return CK_ERR_UNSUPPORTED;
}

static enum ck_status avx2_backward_weights(const struct ck_conv_params *p, const float *x,
                                           const float *dy, float *dw, float *db, void *ws,
                                           size_t ws_size)
{
    (void)p, (void)x, (void)dy, (void)dw, (void)db, (void)ws, (void)ws_size;
    return CK_ERR_UNSUPPORTED;
}
#endif

const struct ck_conv_backend ck_backend_avx2 = {
    .name = "avx2",
    .description = "direct convolution, AVX2/FMA register-blocked kernels on NCHW8c",
    .required_cpu = CK_CPU_AVX2 | CK_CPU_FMA,
    .supports = avx2_supports,
    .workspace_size = avx2_workspace_size,
    .forward = avx2_forward,
    .backward_data = avx2_backward_data,
    .backward_weights = avx2_backward_weights,
};
