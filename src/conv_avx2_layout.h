/* conv_avx2_layout.h - what the two halves of backend "avx2" share: the problem geometry
 * (struct ck_dconv_geom), the tuning knobs, and the NCHW <-> blocked conversions of
 * conv_avx2_layout.c used by the driver conv_avx2.c. Internal to the library; the
 * conversions exist only in builds with the AVX2 kernels (CONVKIT_HAVE_AVX2).
 */
#ifndef CONVKIT_CONV_AVX2_LAYOUT_H
#define CONVKIT_CONV_AVX2_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "convkit/conv.h"
#include "conv_avx2.h" /* (declarations only: safe in a build without the kernels) */

/* Tuning knobs, measured on the 2-core AVX2 test VM (see the commit log for figures). */
enum {
    FWD_NOB = 2,          /* output blocks per forward register tile (2x6): 4x3 tiles */
                          /* ran 3-8% slower on the Intel host (register spills) */
    FWD_NOB_FLAT = 4,     /* the same with few input channels (first layer): 4x3 ran 7% */
                          /* faster (each x broadcast feeds 4 FMAs) */
    BWD_NOB = 2,          /* input blocks per backward-data register tile (2x6; 4x3 */
                          /* ran 2-4% slower at stride 1, level at stride 2) */
    WG_NKB = 2,           /* weight-gradient tile: 2 blocks of 8 k x 6 items */
    WG_NIT = 6,
    L1_WEIGHT_BYTES = 20480, /* weights kept hot per reduction chunk (of 32 KiB L1d) */
    BWD_BAND_BYTES = 409600, /* backward-data: dy rows a band of input rows reads */
    WG_TILE_PIXELS = 256, /* output pixels per weight-gradient kernel call */
    MIN_WORK_ITEMS = 16,  /* split output rows until there are this many work items */
    WG_PREFETCH_MAX_BYTES = 262144, /* weight gradient: most next-image data to prefetch */
    PIX_1X1 = 256,        /* 1x1 stride-1 layers in place: pixels per work item, */
    MAX_1X1_ROWS = CK_DCONV_1X1_COPY_ROWS, /* most input or output channels of an */
                          /* in-place 1x1 layer (else blocked copies) */
    WG_SLOT_MIN_MACS = 2000000, /* weight gradient: least work of a batch of images copied
                                 * together (one barrier a batch) */
    WG_CHUNKS_MAX = 2,    /* weight gradient: most image chunks with their own partial */
                          /* sums (4 ran 1-2% slower at 1 thread, no faster at 2) */
    WG_CHUNK_COST = 16,   /* each partial's traffic at most 1/16 of the x and dy copies' */
};

/* Everything derived from one problem. Blocked tensors are [..][blocks][rows][cols][8]. */
struct ck_dconv_geom {
    int N, C, H, W, K, R, S, P, Q, G, Cg, Kg;
    int sh, sw, pt, pl, dh, dw;
    int T;          /* filter taps R*S */
    int CB, KB;     /* 8-channel blocks per group of input / output channels */
    int flat;       /* x kept as padded planes: few input channels (first layer) */
    int planar;     /* backward-weights reads x in place as NCHW planes: no padding, Cg % 8 == 0 */
    int wg_batch, wg_slots; /* backward-weights: images copied at a time, copies held */
    int wg_chunks;  /* backward-weights: image chunks, each summed into its own partial dw */
    int XB, RL;     /* x blocks per group, channels per block: (CB, 8) or (1, Cg) */
    int fnob, bnob; /* blocks per register tile group: forward (of KB), backward-data (of CB) */
    int Hp, Wp;     /* x with the convolution padding materialised */
    size_t xpix, xch, xblk; /* x strides (floats): pixel, channel, block */
    size_t items;   /* reduction items per output block: XB*T*RL */
    int dpt, dpl, Pp, Qp; /* dy padded so backward-data needs no bounds checks */
};

/* The pieces of one pass's workspace (carved by conv_avx2.c); unused ones stay NULL. */
struct ck_dconv_bufs {
    float *x, *dy, *w, *out, *bias;
    ptrdiff_t *tap_src, *tap_w, *item;
    ptrdiff_t *pix; /* backward-weights: x offset of each pixel of a tile (row-major) */
    double *bsum; /* backward-weights: per dy block, [4][8] partial bias-gradient sums */
    float *wpart; /* backward-weights: partial dw of image chunks 1..wg_chunks-1 */
    int *phase; /* backward-data: taps of phase ph are [phase[ph], phase[ph+1]) */
};

/* A workspace base rounded up to 64 bytes (the layouts ask for 64 bytes more than they
 * use, so a misaligned base still fits). */
static inline char *ck_dconv_align64(void *base)
{
    return (char *)(((uintptr_t)base + 63) & ~(uintptr_t)63);
}

/* Saturating workspace arithmetic (SIZE_MAX: does not fit): ck_dconv_size is a*b*c*d;
 * ck_dconv_take appends a 64-byte aligned region of n bytes at *off and returns its
 * offset. ck_dconv_row_blocks: blocks to split rows into so that there are at least
 * MIN_WORK_ITEMS work items of items x blocks; fixed by the problem, never by the thread
 * count. */
size_t ck_dconv_size(size_t a, size_t b, size_t c, size_t d);
size_t ck_dconv_take(size_t *off, size_t n);
int ck_dconv_row_blocks(int items, int rows);

/* Paths with pixels in the vector lanes (conv_avx2_lanes.c, on ck_dconv_1x1__avx2): 1x1
 * stride-1 unpadded forward and backward-data on NCHW planes in place, and the forward
 * and backward-data of stride-1 layers with fewer than 8 input channels a group on
 * padded planes.
 * ck_dconv_lanes: whether the pass of g runs there; _workspace: its bytes (SIZE_MAX: too
 * large); _run: the pass, from in (x or dy) to out (y or dx), bias forward only. */
int ck_dconv_lanes(const struct ck_dconv_geom *g, enum ck_conv_pass pass);
size_t ck_dconv_lanes_workspace(const struct ck_dconv_geom *g, enum ck_conv_pass pass);
void ck_dconv_lanes_run(const struct ck_dconv_geom *g, enum ck_conv_pass pass, const float *in,
                        const float *w, const float *bias, float *out, void *ws);

/* Backward-weights (conv_avx2_wgrad.c) of the problem of g with workspace b: x is
 * (N,C,H,W), dy is (N,K,P,Q), dw is (K,C/G,R,S), db is (K) or NULL. */
void ck_dconv_backward_weights(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b,
                               const float *x, const float *dy, float *dw, float *db);

/* Blocked x: [N][G][XB][Hp][Wp][8] (blocked) or [N][G][Cg][Hp][Wp] (flat), padding
 * materialised. It is made of units, 8-channel blocks [Hp][Wp][8] or planes [Hp][Wp];
 * the units of image-group ng are ng*ck_dconv_x_units(g) and the following ones. */
int ck_dconv_x_units(const struct ck_dconv_geom *g);
size_t ck_dconv_x_unit_size(const struct ck_dconv_geom *g);
void ck_dconv_pack_x_unit(const struct ck_dconv_geom *g, const float *x, int i, float *d);
void ck_dconv_pack_x(const struct ck_dconv_geom *g, const float *x, float *xb); /* all units */

/* Blocked dy: [N][G][KB][rows][cols][8], dy pixel (0,0) at (top, left) of each plane;
 * _block packs block i only, into d. With bsum they also store each block's [4][8]
 * partial bias-gradient sums (double): _block at bsum, pack_dy at bsum + 32*i (the layout
 * ck_dconv_bias_grad reads). */
void ck_dconv_pack_dy_block(const struct ck_dconv_geom *g, const float *dy, int i, float *d,
                            int rows, int cols, int top, int left, double *bsum);
void ck_dconv_pack_dy(const struct ck_dconv_geom *g, const float *dy, float *dyb, int rows,
                      int cols, int top, int left, double *bsum);

/* Rows p0..p1-1 of channels c < nc: dst[c][P][Q] (plane stride P*Q) = src[P][Q][8]. */
void ck_dconv_unpack_block8(const float *src, int nc, int P, int Q, int p0, int p1,
                            float *dst);

/* Weights w (K,Cg,R,S), blocked for the forward ([XB][T][RL][nob][8k] per group of nob
 * k-blocks) and for backward-data ([KB][T][8k][nob][8c] per group of nob c-blocks). */
void ck_dconv_pack_w_fwd(const struct ck_dconv_geom *g, const float *w, float *wf);
void ck_dconv_pack_w_bwd(const struct ck_dconv_geom *g, const float *w, float *wd);

/* Weights for ck_dconv_1x1__avx2 (rows m < nm, reductions r < nr; per group at
 * w + gi*Kg*Cg*T, element (m, r) at m*w_m + (r / per)*w_rb + (r % per)*w_r) packed as it
 * reads them: per group nm*nr floats, row tiles as ck_dconv_1x1_rows lays them out, each
 * [nr][rows]. */
void ck_dconv_pack_w_1x1(const struct ck_dconv_geom *g, const float *w, int nm, int nr,
                         ptrdiff_t w_m, ptrdiff_t w_r, int per, ptrdiff_t w_rb, float *wp);

/* dst[rows][cols] = the plane src[H][W] placed at (top, left), zeros around it. */
void ck_dconv_pad_plane(const float *src, int H, int W, float *dst, int rows, int cols,
                        int top, int left);

/* Reduction chunks (blocks whose weights stay in L1): forward input blocks per chunk;
 * backward-data output-channel blocks per chunk of row phase rho. */
int ck_dconv_fwd_chunk(const struct ck_dconv_geom *g);
int ck_dconv_bwd_chunk(const struct ck_dconv_geom *g, const int *phase, int rho);

/* db (K) from the partial sums of ck_dconv_pack_dy. */
void ck_dconv_bias_grad(const struct ck_dconv_geom *g, const double *bsum, float *db);

#endif
