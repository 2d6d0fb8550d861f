/* conv_avx2_wgrad.c - backward-weights of backend "avx2": the work split over threads,
 * the per-image blocked copies of x and dy, and the L2 prefetch of the next image, around
 * the weight-gradient kernel of simd/conv_avx2_bwd.c. The workspace is carved and the
 * geometry derived by conv_avx2.c; the layout conversions are in conv_avx2_layout.c.
 * No kernels here.
 */
#include <stdint.h>

#include "internal.h"
#include "conv_avx2_layout.h"

#ifdef CONVKIT_HAVE_AVX2
#include "conv_avx2.h"

/* The NCHW source of copy unit u of image n: per group, its x units (ck_dconv_x_units
 * of them, none when planar) then its KB dy blocks. */
static const char *unit_src(const struct ck_dconv_geom *g, const float *x, const float *dy,
                            int n, int u, int nu, size_t *bytes)
{
    const int per = nu + g->KB, gi = u / per, r = u % per;
    const size_t ng = (size_t)n * g->G + gi, hw = (size_t)g->H * g->W;
    if (r < nu) {
        const int c0 = g->flat ? r : r * 8, nc = g->flat ? 1 : CK_MIN(8, g->Cg - c0);
        *bytes = (size_t)nc * hw * sizeof(float);
        return (const char *)(x + (ng * g->Cg + c0) * hw);
    }
    const int k0 = (r - nu) * 8;
    const size_t pq = (size_t)g->P * g->Q;
    *bytes = (size_t)CK_MIN(8, g->Kg - k0) * pq * sizeof(float);
    return (const char *)(dy + (ng * g->Kg + k0) * pq);
}

/* The tiles of the blocked gradient dwb[G][KB][items][8k]: WG_NKB k-blocks x WG_NIT
 * items each, ordered (group, k-block group, items), or with xmajor (group, items,
 * k-block group); a thread owns tiles [t0, t1). xmajor is taken when an image's x copy
 * is larger than its dy (stride 2): split by items, the threads copy disjoint x blocks
 * and share dy, the smaller, rather than each copying all of x. The order decides only
 * who computes a tile, never how a tile is summed. */
struct tiling {
    int nkb_max, nkg, nit, rows, xmajor;
    long tiles;
};

/* Group, k-block group and item tile of tile t. */
static void tile_at(const struct tiling *tl, long t, int *gi, int *kg, int *ti)
{
    const long per_g = (long)tl->nit * tl->nkg, r = t % per_g;
    *gi = (int)(t / per_g);
    *kg = (int)(tl->xmajor ? r % tl->nkg : r / tl->nit);
    *ti = (int)(tl->xmajor ? r / tl->nkg : r % tl->nit);
}

/* The tile after (gi, kg, ti) in the order of tile_at, without its divisions (64-bit
 * divisions a tile were half of the driver's time between kernel calls). */
static void tile_next(const struct tiling *tl, int *gi, int *kg, int *ti)
{
    int *minor = tl->xmajor ? kg : ti, *major = tl->xmajor ? ti : kg;
    if (++*minor < (tl->xmajor ? tl->nkg : tl->nit))
        return;
    *minor = 0;
    if (++*major < (tl->xmajor ? tl->nit : tl->nkg))
        return;
    *major = 0;
    ++*gi;
}

/* Tiles [lo, hi) of one group (indices within the group, lo < hi) are nminor-long runs of
 * minor indices under each major one (major k-block group and minor item tile, or the
 * other way round with xmajor). Whether they include a major index in [a, b]: */
static int has_major(long nminor, long lo, long hi, long a, long b)
{
    return lo / nminor <= b && (hi - 1) / nminor >= a;
}

/* Whether they include the minor index m (a run of nminor or more holds every one): */
static int has_minor(long nminor, long lo, long hi, long m)
{
    return hi - lo >= nminor || (m - lo % nminor + nminor) % nminor < hi - lo;
}

/* Copy units of one image (unit u = gi*per + r as in unit_src). A thread that makes its
 * own copies needs, of the groups its tiles touch, the x units its item tiles read (every
 * one unless xmajor) and the dy blocks of the k-block groups its tiles touch. Returns
 * whether thread [t0, t1) needs unit u; *bias says whether it also takes the bias sums of
 * a dy block (the thread owning the first tile of that block's k-block group, so exactly
 * one). */
static int needs_unit(const struct ck_dconv_geom *g, const struct tiling *tl, int nu, long t0,
                      long t1, int u, int *bias)
{
    const int per = nu + g->KB, gi = u / per, r = u % per;
    const long per_g = (long)tl->nit * tl->nkg;
    *bias = 0;
    const long lo = CK_MAX(t0, gi * per_g) - gi * per_g;
    const long hi = CK_MIN(t1, (gi + 1) * per_g) - gi * per_g;
    if (lo >= hi)
        return 0;
    if (r < nu) { /* x block r holds item tiles [a, b] */
        if (!tl->xmajor)
            return 1;
        const long per_blk = (long)g->T * g->RL;
        const long a = r * per_blk / WG_NIT, b = ((r + 1) * per_blk - 1) / WG_NIT;
        return has_major(tl->nkg, lo, hi, a, b);
    }
    const long kg = (r - nu) / tl->nkb_max;
    const long first = tl->xmajor ? kg : kg * tl->nit; /* within the group */
    *bias = first >= lo && first < hi;
    return tl->xmajor ? has_minor(tl->nkg, lo, hi, kg) : has_major(tl->nit, lo, hi, kg, kg);
}

/* Prefetch of this thread's units of the next image into L2, spread over the kernel calls
 * of the current one: units [u, u1) (those with need set), bytes quota per call. */
struct pf_walk {
    int u, u1, need;
    size_t off, quota;
    const char *src; /* unit u's source once found (NULL: not looked up yet) */
    size_t ub;       /* and its bytes */
};

/* Tiles [t0, t1) of one image into the partial dw dwb (first: the image is its chunk's
 * first, so the tiles start from zero): dsl and xim are that image's dy and x copies (x
 * read in place when planar); pw feeds the prefetch of the next image (n1). */
static void image_tiles(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b,
                        const struct tiling *tl, const float *dsl, const float *xim,
                        float *dwb, int first, long t0, long t1, const float *x,
                        const float *dy, int nu, int n1, struct pf_walk *pw)
{
    const size_t pq8 = (size_t)g->P * g->Q * 8, ximg = (size_t)g->XB * g->xblk;
    for (int p0 = 0; p0 < g->P; p0 += tl->rows) {
        int gi, kg, ti;
        tile_at(tl, t0, &gi, &kg, &ti);
        for (long t = t0; t < t1; t++, tile_next(tl, &gi, &kg, &ti)) {
            const int kb0 = kg * tl->nkb_max, i0 = ti * WG_NIT;
            struct ck_dconv_wgrad job = {
                .dy = dsl + ((size_t)gi * g->KB + kb0) * pq8 + (size_t)p0 * g->Q * 8,
                .src = xim + gi * ximg + (size_t)p0 * g->sh * g->Wp * g->xpix,
                .dw = dwb + ((size_t)gi * g->KB + kb0) * g->items * 8 + (size_t)i0 * 8,
                .item = b->item + i0, .pix = b->pix,
                .nkb = CK_MIN(tl->nkb_max, g->KB - kb0),
                .nitem = (int)CK_MIN((size_t)WG_NIT, g->items - i0),
                .npix = CK_MIN(tl->rows, g->P - p0) * g->Q,
                .accumulate = !first || p0 > 0,
                .dy_kb = (ptrdiff_t)pq8, .dw_kb = (ptrdiff_t)(g->items * 8),
            };
            if (!pw->src && pw->u < pw->u1) { /* the next unit to prefetch, once a unit */
                int bias;
                while (pw->u < pw->u1 && pw->need &&
                       !needs_unit(g, tl, nu, t0, t1, pw->u, &bias))
                    pw->u++;
                if (pw->u < pw->u1)
                    pw->src = unit_src(g, x, dy, n1, pw->u, nu, &pw->ub);
            }
            if (pw->src) {
                job.pf = pw->src + pw->off, job.pf_bytes = CK_MIN(pw->quota, pw->ub - pw->off);
                pw->off += job.pf_bytes;
                if (pw->off >= pw->ub)
                    pw->u++, pw->off = 0, pw->src = NULL;
            }
            ck_dconv_wgrad__avx2(&job);
        }
    }
}

/* Bytes of an image's units [u0, u1) (with need, only those tiles [t0, t1) need). */
static size_t units_bytes(const struct ck_dconv_geom *g, const struct tiling *tl,
                          const float *x, const float *dy, int nu, int u0, int u1, int need,
                          long t0, long t1)
{
    size_t total = 0, ub;
    int bias;
    for (int u = u0; u < u1; u++)
        if (!need || needs_unit(g, tl, nu, t0, t1, u, &bias))
            (void)unit_src(g, x, dy, 0, u, nu, &ub), total += ub;
    return total;
}

/* Set up the prefetch of units [u0, u1) of image n1 (none if n1 is past the batch) during
 * tiles [t0, t1): about twice the even share per kernel call, so it is done in time. */
static struct pf_walk pf_start(const struct ck_dconv_geom *g, const struct tiling *tl,
                               const float *x, const float *dy, int nu, int n1, int u0,
                               int u1, int need, long t0, long t1)
{
    struct pf_walk pw = {.u = n1 < g->N ? u0 : u1, .u1 = u1, .need = need, .quota = 64};
    const size_t total = units_bytes(g, tl, x, dy, nu, pw.u, u1, need, t0, t1);
    const long ncalls = (long)ck__ceil_div(g->P, tl->rows) * (t1 - t0);
    if (ncalls > 0)
        pw.quota += 2 * total / (size_t)ncalls;
    if (total > WG_PREFETCH_MAX_BYTES) /* would push the current image out of L2 */
        pw.u = u1;
    return pw;
}

/* The units [*u0, *u1) of an image (per units a group) that tiles [t0, t1) touch. */
static void units_of(const struct tiling *tl, long t0, long t1, int per, int *u0, int *u1)
{
    const long per_g = (long)tl->nit * tl->nkg;
    *u0 = (int)(t0 / per_g) * per, *u1 = (int)((t1 - 1) / per_g + 1) * per;
}

/* Units per group that the prefetch of a thread with its own copies (nu of them per group)
 * and tiles [t0, t1) walks: its copy units, or, when x is read in place (planar) and its
 * blocks of 8 planes fit under WG_PREFETCH_MAX_BYTES together with the dy blocks, those
 * blocks as x units too. The same for every image. Fetching x as well ran a 1x1 layer's
 * weights pass 2-4% faster at 1 thread and level at 2 (mb64ic128ih16oc128kh1,
 * scripts/ab-conv.sh both ways round); one with half the MACs per fetched byte
 * (mb64ic64ih16oc64kh1) about 1% slower. */
static int pf_units(const struct ck_dconv_geom *g, const struct tiling *tl, const float *x,
                    const float *dy, int nu, long t0, long t1)
{
    if (!g->planar)
        return nu;
    int u0, u1;
    units_of(tl, t0, t1, g->XB + g->KB, &u0, &u1);
    return units_bytes(g, tl, x, dy, g->XB, u0, u1, 1, t0, t1) <= WG_PREFETCH_MAX_BYTES ? g->XB
                                                                                           : nu;
}

/* Copy unit u = gi*per + r of image m into the slot whose x and dy copies are xm and dm. */
static void copy_unit(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b,
                      const float *x, const float *dy, int m, int u, int nu, float *xm,
                      float *dm, int with_bias)
{
    const int per = nu + g->KB, gi = u / per, r = u % per, ng = m * g->G + gi;
    const size_t pq8 = (size_t)g->P * g->Q * 8, ximg = (size_t)g->XB * g->xblk;
    if (r < nu) {
        ck_dconv_pack_x_unit(g, x, ng * nu + r, xm + gi * ximg + r * ck_dconv_x_unit_size(g));
        return;
    }
    const int kb = r - nu;
    ck_dconv_pack_dy_block(g, dy, ng * g->KB + kb, dm + ((size_t)gi * g->KB + kb) * pq8, g->P,
                           g->Q, 0, 0,
                           with_bias ? b->bsum + ((size_t)ng * g->KB + kb) * 32 : NULL);
}

/* The first image of chunk c of the wg_chunks (c == wg_chunks: N), and chunk c's partial dw. */
static int chunk_first(const struct ck_dconv_geom *g, int c)
{
    return (int)((long)g->N * c / g->wg_chunks);
}

static float *chunk_dw(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b, int c)
{
    return c == 0 ? b->w : b->wpart + (size_t)(c - 1) * g->G * g->KB * g->items * 8;
}

/* Tiles [t0, t1) of chunk c, by a thread with its own copy slot (xsl, dsl): image by
 * image, it copies the units its tiles read (no barrier), and fetches those of the next
 * image during this one's kernel calls. */
static void chunk_tiles(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b,
                        const struct tiling *tl, const float *x, const float *dy, float *db,
                        int c, long t0, long t1, float *xsl, float *dsl)
{
    const size_t ximg = (size_t)g->XB * g->xblk;
    const int nu = g->planar ? 0 : ck_dconv_x_units(g);
    const int nup = pf_units(g, tl, x, dy, nu, t0, t1); /* the prefetch's (see pf_units) */
    int u0, u1, u0p, u1p;
    units_of(tl, t0, t1, nu + g->KB, &u0, &u1);
    units_of(tl, t0, t1, nup + g->KB, &u0p, &u1p);
    const int n0 = chunk_first(g, c), n1 = chunk_first(g, c + 1);
    for (int n = n0; n < n1; n++) {
        int bias;
        for (int u = u0; u < u1; u++)
            if (needs_unit(g, tl, nu, t0, t1, u, &bias))
                copy_unit(g, b, x, dy, n, u, nu, xsl, dsl, bias && db);
        const int next = n + 1 < n1 ? n + 1 : g->N; /* (the next chunk's tiles differ) */
        struct pf_walk pw = pf_start(g, tl, x, dy, nup, next, u0p, u1p, 1, t0, t1);
        const float *xim = g->planar ? x + (size_t)n * g->G * ximg : xsl;
        image_tiles(g, b, tl, dsl, xim, chunk_dw(g, b, c), n == n0, t0, t1, x, dy, nup, next,
                    &pw);
    }
}

/* The blocked gradient dwb is cut into tiles, and the images into g->wg_chunks chunks; every
 * tile of every chunk is summed over that chunk's (n, p, q) in that order into the chunk's
 * partial dw, and dw is the partials added in chunk order, so dw is bit-identical for any
 * thread count. With no more threads than copy slots, each thread owns a fixed share of
 * the (image, tile) pairs, as whole tiles of one or more chunks, and copies (into its own
 * slot) just the units its tiles read, image by image, with no barrier: threads on
 * different chunks copy nothing twice; within a chunk x may be copied by several threads,
 * but nothing crosses cores. Otherwise all threads copy batches of images into two
 * alternating halves of the slots, one barrier a batch, and each computes its range of
 * tiles of every image. */
void ck_dconv_backward_weights(const struct ck_dconv_geom *g, const struct ck_dconv_bufs *b,
                               const float *x, const float *dy, float *dw, float *db)
{
    for (size_t i = 0; i < g->items; i++) {
        const int ci = (int)(i % g->RL), t = (int)(i / g->RL % g->T);
        const int xb = (int)(i / ((size_t)g->RL * g->T));
        b->item[i] = (ptrdiff_t)(xb * g->xblk + ci * g->xch +
                                 ((size_t)(t / g->S) * g->dh * g->Wp + (size_t)(t % g->S) * g->dw) *
                                     g->xpix);
    }
    struct tiling tl = {.nkb_max = CK_MIN(WG_NKB, g->KB)};
    tl.nkg = ck__ceil_div(g->KB, tl.nkb_max);
    tl.nit = (int)((g->items + WG_NIT - 1) / WG_NIT);
    tl.tiles = (long)g->G * tl.nkg * tl.nit;
    tl.rows = CK_MAX(1, CK_MIN(g->P, WG_TILE_PIXELS / g->Q));
    for (int p = 0; p < tl.rows * g->Q; p++) /* a tile's pixels, row-major, in x */
        b->pix[p] = (ptrdiff_t)(((size_t)(p / g->Q) * g->sh * g->Wp +
                                 (size_t)(p % g->Q) * g->sw) * g->xpix);
    tl.xmajor = !g->flat && !g->planar &&
                (size_t)g->XB * g->xblk > (size_t)g->KB * g->P * g->Q * 8;
    const size_t pq8 = (size_t)g->P * g->Q * 8, ximg = (size_t)g->XB * g->xblk;
    const int nu = g->planar ? 0 : ck_dconv_x_units(g), per = nu + g->KB;
    const int nslot = g->wg_slots, batch = g->wg_batch, nchunk = g->wg_chunks;
    #pragma omp parallel
    {
        const int tid = ck__thread_num(), nth = ck__num_threads();
        if (nth <= nslot) { /* private copies: slot tid */
            float *xsl = b->x + (size_t)tid * g->G * ximg;
            float *dsl = b->dy + (size_t)tid * g->G * g->KB * pq8;
            /* the thread's share of the N*tiles (image, tile) pairs, in chunk order: in a
             * chunk of m images, pair v (from the chunk's start) belongs to tile v / m */
            const long all = (long)g->N * tl.tiles;
            const long v0 = all * tid / nth, v1 = all * (tid + 1) / nth;
            for (int c = 0; c < nchunk; c++) {
                const long m = chunk_first(g, c + 1) - chunk_first(g, c);
                const long at = chunk_first(g, c) * tl.tiles;
                const long t0 = CK_MIN(CK_MAX(v0 - at, 0) / m, tl.tiles);
                const long t1 = CK_MIN(CK_MAX(v1 - at, 0) / m, tl.tiles);
                if (t0 < t1)
                    chunk_tiles(g, b, &tl, x, dy, db, c, t0, t1, xsl, dsl);
            }
        } else {
            const long t0 = tl.tiles * tid / nth, t1 = tl.tiles * (tid + 1) / nth;
            const int u0 = g->G * per * tid / nth, u1 = g->G * per * (tid + 1) / nth;
            for (int n = 0, c = 0; n < g->N; n++) {
                while (chunk_first(g, c + 1) <= n)
                    c++;
                /* image n is in slot n % nslot. All threads copy a batch of images n ..
                 * n + batch - 1 into one half of the slots; the barrier that ends the copy
                 * also ends every thread's use of that half for the batch before last. */
                float *xsl = b->x + (size_t)(n % nslot) * g->G * ximg;
                float *dsl = b->dy + (size_t)(n % nslot) * g->G * g->KB * pq8;
                if (n % batch == 0) {
                    const long nv = (long)CK_MIN(batch, g->N - n) * g->G * per;
                    for (long v = nv * tid / nth; v < nv * (tid + 1) / nth; v++) {
                        const int m = n + (int)(v / (g->G * per));
                        copy_unit(g, b, x, dy, m, (int)(v % (g->G * per)), nu,
                                  b->x + (size_t)(m % nslot) * g->G * ximg,
                                  b->dy + (size_t)(m % nslot) * g->G * g->KB * pq8, db != NULL);
                    }
                    #pragma omp barrier
                }
                /* fetch the sources of this thread's copy units of image n + 1 */
                struct pf_walk pw = pf_start(g, &tl, x, dy, nu, batch == 1 ? n + 1 : g->N, u0,
                                             u1, 0, t0, t1);
                const float *xim = g->planar ? x + (size_t)n * g->G * ximg : xsl;
                if (t0 < t1)
                    image_tiles(g, b, &tl, dsl, xim, chunk_dw(g, b, c),
                                n == chunk_first(g, c), t0, t1, x, dy, nu, n + 1, &pw);
            }
        }
    }
    /* dwb: the chunks' partials added in chunk order (chunk 0's is dwb itself) */
    const long ndw = (long)g->G * g->KB * (long)g->items * 8;
    if (nchunk > 1) {
        #pragma omp parallel for schedule(static)
        for (long i = 0; i < ndw; i++) {
            float sum = b->w[i];
            for (int c = 1; c < nchunk; c++)
                sum += chunk_dw(g, b, c)[i];
            b->w[i] = sum;
        }
    }
    /* dw (K,Cg,R,S) from dwb, dropping the channel padding */
    #pragma omp parallel for schedule(static)
    for (int k = 0; k < g->K; k++) {
        const int gi = k / g->Kg, kg = k % g->Kg;
        const float *src = b->w + ((size_t)gi * g->KB + kg / 8) * g->items * 8 + kg % 8;
        for (int c = 0; c < g->Cg; c++)
            for (int t = 0; t < g->T; t++) {
                const size_t i = ((size_t)(c / g->RL) * g->T + t) * g->RL + c % g->RL;
                dw[((size_t)k * g->Cg + c) * g->T + t] = src[i * 8];
            }
    }
    if (db)
        ck_dconv_bias_grad(g, b->bsum, db);
}

#else
/* Nothing here in a build without the kernels (ISO C wants a declaration). */
typedef int ck_dconv_wgrad_unused;
#endif
