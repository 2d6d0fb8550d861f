/* conv_avx2_1x1.c - the AVX2/FMA kernel of backend "avx2" that keeps pixels in the
 * vector lanes: 1x1 stride-1 unpadded convolutions (forward and backward-data), reading
 * and writing NCHW planes in place, and stride-1 layers with few input channels (first
 * layers, forward and backward-data), reading padded planes at one offset per (channel,
 * tap) and writing NCHW output rows; contract in conv_avx2.h (struct ck_dconv_1x1).
 *
 * Pixels are in the lanes: a register tile is up to 6 rows x 2 vectors of 8 pixels
 * (12 FMA accumulators), or 1-3 rows x 4 vectors when there are no more rows; per
 * reduction row 2 loads of the input row and one broadcast weight per row (side by side
 * in the packed weights) feed 12 FMAs, like a GEMM micro-kernel on a packed A and an
 * unpacked B. The last vector of a row may be partial
 * (masked loads and stores). In place, the first row tile of each 16-pixel tile also
 * copies the input it loads next to each other (16 floats a row), and the other row tiles
 * read that copy: planes of 2^k floats put a tile's rows in a few L1 sets, and other rows
 * evict them before the next row tile reads them again. First layers need no copy: their
 * few input rows (channels x filter rows) stay in L1. No layout conversion of
 * activations, no weight packing, no threading here.
 */
#include <immintrin.h>

#include "avx2_util.h"

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

/* One register tile: rows w..w+NM-1 of the packed weights (NM side by side per r) times
 * 8*NV pixels of the input rows x[r*x_r] (with ITEM: x[item[r]]; the last vector masked
 * if MASK), written to o[m*o_m]. With COPY, also stores every input vector it loads to
 * xt[r*16 + 8v]. */
struct tile_job {
    const float *x, *w, *bias;
    float *o, *xt;
    const ptrdiff_t *item;
    ptrdiff_t x_r, o_m;
    int nr;
    __m256i mask;
};

CK_INLINE void tile(const struct tile_job *t, const int NM, const int NV, const int MASK,
                    const int COPY, const int ITEM)
{
    __m256 acc[6][4];
#pragma GCC unroll 6
    for (int m = 0; m < NM; m++) {
        const __m256 b = t->bias ? _mm256_broadcast_ss(t->bias + m) : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++)
            acc[m][v] = b;
    }
    const float *x = t->x, *w = t->w;
    float *xt = t->xt;
    for (int r = 0; r < t->nr; r++, x += t->x_r, w += NM) {
        const float *xr = ITEM ? t->x + t->item[r] : x;
        if (NV > 2) { /* wide tile (1-3 rows, no mask, no copy): weights first, then one */
            __m256 wv[3]; /* input vector at a time, so 12 sums + 4 fit in 16 registers */
#pragma GCC unroll 3
            for (int m = 0; m < NM; m++)
                wv[m] = _mm256_broadcast_ss(w + m);
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                const __m256 xv = _mm256_loadu_ps(xr + 8 * v);
#pragma GCC unroll 3
                for (int m = 0; m < NM; m++)
                    acc[m][v] = _mm256_fmadd_ps(wv[m], xv, acc[m][v]);
            }
            continue;
        }
        __m256 xv[2];
#pragma GCC unroll 2
        for (int v = 0; v < NV; v++) {
            xv[v] = MASK && v == NV - 1 ? _mm256_maskload_ps(xr + 8 * v, t->mask)
                                        : _mm256_loadu_ps(xr + 8 * v);
            if (COPY)
                _mm256_store_ps(xt + r * 16 + 8 * v, xv[v]);
        }
#pragma GCC unroll 6
        for (int m = 0; m < NM; m++) {
            const __m256 wv = _mm256_broadcast_ss(w + m);
#pragma GCC unroll 2
            for (int v = 0; v < NV; v++)
                acc[m][v] = _mm256_fmadd_ps(wv, xv[v], acc[m][v]);
        }
    }
#pragma GCC unroll 6
    for (int m = 0; m < NM; m++) {
        float *o = t->o + m * t->o_m;
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            if (MASK && v == NV - 1)
                _mm256_maskstore_ps(o + 8 * v, t->mask, acc[m][v]);
            else
                _mm256_storeu_ps(o + 8 * v, acc[m][v]);
        }
    }
}

typedef void (*tile_fn)(const struct tile_job *);

/* kinds: full = 16 pixels, one = up to 8 (masked), two = 9..16 (masked); modes: 0 in
 * place, 1 = COPY, 2 = ITEM */
#define TILE_FN(nm, c)                                                                    \
    static void full##c##_##nm(const struct tile_job *t) { tile(t, nm, 2, 0, c == 1, c == 2); } \
    static void one##c##_##nm(const struct tile_job *t) { tile(t, nm, 1, 1, c == 1, c == 2); }  \
    static void two##c##_##nm(const struct tile_job *t) { tile(t, nm, 2, 1, c == 1, c == 2); }
#define TILE_FNS(c) TILE_FN(1, c) TILE_FN(2, c) TILE_FN(3, c) TILE_FN(4, c) TILE_FN(5, c) TILE_FN(6, c)
TILE_FNS(0)
TILE_FNS(1)
TILE_FNS(2)

/* wide tiles: 1-3 rows x 32 pixels, in place or ITEM */
#define WIDE_FN(nm, c) \
    static void wide##c##_##nm(const struct tile_job *t) { tile(t, nm, 4, 0, 0, c == 2); }
WIDE_FN(1, 0) WIDE_FN(2, 0) WIDE_FN(3, 0) WIDE_FN(1, 2) WIDE_FN(2, 2) WIDE_FN(3, 2)
static const tile_fn wide_fns[2][3] = {{wide0_1, wide0_2, wide0_3}, {wide2_1, wide2_2, wide2_3}};

#define ROW_FNS(kind, c) {kind##c##_1, kind##c##_2, kind##c##_3, kind##c##_4, kind##c##_5, kind##c##_6}
/* [mode][kind][rows - 1]: kind 0 = 16 full pixels, 1 = up to 8 (masked), 2 = 9..16 */
static const tile_fn tile_fns[3][3][6] = {
    {ROW_FNS(full, 0), ROW_FNS(one, 0), ROW_FNS(two, 0)},
    {ROW_FNS(full, 1), ROW_FNS(one, 1), ROW_FNS(two, 1)},
    {ROW_FNS(full, 2), ROW_FNS(one, 2), ROW_FNS(two, 2)},
};

/* The tile_fns kind of a pixel tile of n (1..16) pixels, and the mask of its last vector's
 * valid lanes. */
static inline int tile_kind(int n, __m256i *mask)
{
    const int kind = n == 16 ? 0 : n <= 8 ? 1 : 2;
    *mask = ck_avx2_first_lanes(n - (kind == 2 ? 8 : 0));
    return kind;
}

/* Pixel tiles of 16; in each, row tiles as ck_dconv_1x1_rows lays them out. In place with
 * more than one row tile, the first copies the input (see the header). Before each tile, a
 * share of a->pf goes to L2: with the next call's input there, the copying tiles read L2,
 * not memory (they took 15% of the time of mb64ic128ih16oc128kh1's forward, 3.2 times
 * a tile that reads the copy; perf record, 2026-12-07). */
void ck_dconv_1x1__avx2(const struct ck_dconv_1x1 *a)
{
    float xt[CK_DCONV_1X1_COPY_ROWS * 16] __attribute__((aligned(32)));
    const int copy = !a->item && a->nm > 6 && a->nr <= CK_DCONV_1X1_COPY_ROWS;
    int j0 = 0;
    if (a->nm <= 3) { /* one tile of 1-3 rows: 32 pixels wide it has 4-12 FMA chains */
        struct tile_job t = {.x = a->in, .w = a->w, .bias = a->bias, .o = a->out,
                             .item = a->item, .x_r = a->in_r, .o_m = a->out_m, .nr = a->nr};
        for (; j0 + 32 <= a->npix; j0 += 32, t.x += 32, t.o += 32)
            wide_fns[a->item != NULL][a->nm - 1](&t);
    }
    struct ck_avx2_pf pf; /* a->pf's rows, spread over the tiles below */
    int ntile = 0; /* row tiles a pixel tile */
    for (int m0 = 0; m0 < a->nm && a->pf; m0 += ck_dconv_1x1_rows(a->nm, m0))
        ntile++;
    const size_t len = a->pf_len > 0 ? (size_t)a->pf_len : 0;
    ck_avx2_pf_init(&pf, a->pf, (len * sizeof(float) + 63) / 64,
                    a->pf_rows > 0 ? (size_t)a->pf_rows : 0, a->pf_r * (ptrdiff_t)sizeof(float),
                    (size_t)ntile * (size_t)((a->npix - j0 + 15) / 16));
    for (; j0 < a->npix; j0 += 16) {
        struct tile_job t = {.xt = xt, .o_m = a->out_m, .nr = a->nr, .item = a->item};
        const int kind = tile_kind(a->npix - j0 < 16 ? a->npix - j0 : 16, &t.mask);
        for (int m0 = 0, rows; m0 < a->nm; m0 += rows) {
            rows = ck_dconv_1x1_rows(a->nm, m0);
            const int from_copy = copy && m0 > 0;
            t.x = from_copy ? xt : a->in + j0;
            t.x_r = from_copy ? 16 : a->in_r;
            t.w = a->w + (ptrdiff_t)m0 * a->nr;
            t.bias = a->bias ? a->bias + m0 : NULL;
            t.o = a->out + m0 * a->out_m + j0;
            ck_avx2_pf_step(&pf);
            tile_fns[a->item ? 2 : copy && m0 == 0][kind][rows - 1](&t);
        }
    }
}
