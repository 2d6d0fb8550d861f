/* conv_avx2.h - the AVX2/FMA direct-convolution micro-kernels of backend "avx2".
 *
 * Included by the portable driver src/conv_avx2.c, so no vector types appear here:
 * each kernel takes one job struct of pointers, strides and counts. Only call them
 * when CONVKIT_HAVE_AVX2 is defined and the CPU has AVX2 and FMA. The kernels never
 * allocate, never thread, and do not know about NCHW: all layouts are blocked by 8
 * channels (one ymm) and described by the strides below; the driver converts.
 */
#ifndef CONVKIT_CONV_AVX2_H
#define CONVKIT_CONV_AVX2_H

#include <stddef.h>

/*
 * Row kernel (forward and backward-data): nrow rows of npix output pixels, for nob
 * (1..4) output blocks of 8 channels. Register tile: nob x ur accumulators (4x3, 3x4,
 * 2x6, 1x12), 8 output channels in the lanes of each. Pixel (i, j) (i < nrow, j < npix)
 * is at src + i*src_row + j*src_pix and dst + i*dst_row + j*dst_pix:
 *
 *   dst[ob*dst_ob + (i,j) + lane] (=|+=) sum over b < nblk, t < ntap, ch < blk_len of
 *       src[b*src_blk + tap_src[t] + (i,j) + ch*src_ch]                      (broadcast)
 *     * w  [b*w_blk + ((tap_w[t] + ch)*nob + ob)*8 + lane]                    (vector)
 *
 * so the weights of the nob output blocks are interleaved per reduction channel and
 * tap_w counts channels. Register tiles run over the pixels in row-major order and may
 * span the end of one row and the start of the next, so short rows (Q = 16, 28) do not
 * leave narrow remainder tiles. Every src element named above must be readable (the
 * driver pads the input, so no bounds checks). accumulate = 0 overwrites dst with
 * bias[ob*8 + lane] (or 0 if bias is NULL) plus the sum; accumulate = 1 adds the sum to
 * dst. ntap = 0 is allowed; nrow >= 1. Prefetching (pf) never changes results.
 */
struct ck_dconv_row {
    const float *src, *w, *bias;
    float *dst;
    const ptrdiff_t *tap_src, *tap_w; /* per tap: src offset (floats), w offset (channels) */
    int ntap, nblk, blk_len, npix, nrow, nob, accumulate;
    ptrdiff_t src_blk, src_ch, src_pix, src_row;
    ptrdiff_t w_blk;
    ptrdiff_t dst_pix, dst_row, dst_ob;
    const char *pf[2];   /* optional (NULL): memory to prefetch into L2 during the call, */
    size_t pf_bytes[2];  /* spread evenly over its tiles (data a later step will need): */
    size_t pf_nseg[2];   /* pf_nseg segments (0 or 1: one) of pf_bytes each, */
    ptrdiff_t pf_stride[2]; /* pf_stride bytes apart */
};
void ck_dconv_row__avx2(const struct ck_dconv_row *job);

/*
 * Weight-gradient kernel: for nkb (1..4) blocks of 8 output channels and nitem (<= 12/nkb)
 * "items" (an item is one input channel at one filter tap), accumulate over npix output
 * pixels the outer product of dy (8 channels, vector) and x (broadcast):
 *
 *   dw[kb*dw_kb + i*8 + lane] (=|+=) sum over p < npix of
 *       dy[kb*dy_kb + p*8 + lane] * src[item[i] + pix[p]]
 *
 * dy is contiguous over the pixels; pix[p] is where pixel p's input sits (the driver's
 * table of row-major pixels, so the kernel runs one loop over the tile whatever the row
 * length). The sum runs in the fixed order of p, so results never depend on threading.
 */
struct ck_dconv_wgrad {
    const float *dy, *src;
    float *dw;
    const ptrdiff_t *item; /* nitem offsets (floats) into src */
    const ptrdiff_t *pix;  /* npix offsets (floats) into src, one a pixel */
    int nkb, nitem, npix, accumulate;
    ptrdiff_t dy_kb;
    ptrdiff_t dw_kb;
    const char *pf;  /* optional (NULL): memory to prefetch into L2 during the tile */
    size_t pf_bytes;
};
void ck_dconv_wgrad__avx2(const struct ck_dconv_wgrad *job);

/*
 * Pixels-in-lanes kernel (1x1 stride-1 unpadded layers on NCHW planes in place; the
 * forward and backward-data of stride-1 layers with few input channels on padded
 * planes): for m < nm output rows and j < npix pixels,
 *
 *   out[m*out_m + j] = bias[m] (0 if bias is NULL) + sum over r < nr (in order) of
 *       w[m0*nr + r*rows + m - m0] * in[off(r) + j],  off(r) = item ? item[r] : r*in_r
 *
 * where row m lies in the row tile of rows m0..m0+rows-1 that ck_dconv_1x1_rows lays out:
 * the weights come packed per row tile, its rows' weights for one r side by side
 * (ck_dconv_pack_w_1x1 makes them from the forward's [m][r] or backward-data's [r][m]
 * layout). 1x1 forward: rows are output channels, r input channels; backward-data: rows
 * are input channels, r output channels. With item (first layers), r is a (channel,
 * tap) pair and item[r] that tap's offset in the padded planes. Each output is
 * one FMA chain over r, so any split of m or j gives the same bits.
 */
struct ck_dconv_1x1 {
    const float *in, *w, *bias;
    float *out;
    const ptrdiff_t *item; /* NULL: in place, reduction rows in_r apart */
    int nm, nr, npix;
    ptrdiff_t in_r, out_m;
    const float *pf; /* optional (NULL): pf_rows rows of pf_len floats, pf_r apart, to */
    int pf_rows, pf_len; /* prefetch into L2 during the call, spread evenly over its */
    ptrdiff_t pf_r;      /* tiles (the next call's input); never changes results */
};
void ck_dconv_1x1__avx2(const struct ck_dconv_1x1 *job);

/* Most reduction rows (nr) that ck_dconv_1x1__avx2 copies to its stack tile when reading
 * in place (16 pixels x 256 rows = 16 KiB); with more it reads them in place every time.
 * The driver's bound on in-place 1x1 layers (MAX_1X1_ROWS) is this. */
#define CK_DCONV_1X1_COPY_ROWS 256

/* Rows of the 1x1 kernel's row tile that starts at row m0 of nm: tiles of 6 from row 0,
 * except that when nm > 6 leaves 1-3 rows over, the last 6 + (nm % 6) rows are two tiles
 * of 4 and 3, 4 and 4 or 5 and 4 (a tile of 1-3 rows holds too few FMA chains to hide
 * the FMA latency). */
static inline int ck_dconv_1x1_rows(int nm, int m0)
{
    const int left = nm - m0, rem = nm % 6;
    if (left > 6 && left < 12 && rem >= 1 && rem <= 3)
        return (left + 1) / 2;
    return left < 6 ? left : 6;
}

/* Bias-gradient sums over npix blocked pixels d[npix][8]: the pixels in runs of 32 (from
 * px 0), the rest one by one. A run's pixels px go to float chain px % 4, summed in
 * increasing px, and each chain u is then added to acc[u][lane] in double; each pixel
 * after the last run is added to acc[0][lane] in double. */
void ck_dconv_bias_sum__avx2(const float *d, size_t npix, double acc[4][8]);

/* Layout conversion of npix pixels, one 8x8 transpose per 8 pixels:
 * pack:   dst[i*8 + c] = c < nc ? src[c*src_ch + i] : 0      (planes -> NCHW8c)
 * unpack: dst[c*dst_ch + i] = src[i*8 + c] for c < nc        (NCHW8c -> planes) */
void ck_dconv_pack8__avx2(const float *src, ptrdiff_t src_ch, int nc, int npix, float *dst);
void ck_dconv_unpack8__avx2(const float *src, int nc, int npix, float *dst, ptrdiff_t dst_ch);

/* Largest register tile width for a given number of 8-channel blocks (1..4). */
#define CK_DCONV_UR(nb) ((nb) == 1 ? 12 : (nb) == 2 ? 6 : (nb) == 3 ? 4 : 3)

#endif
