/* gemm_pack.c - the SGEMM driver's packers: blocks of op(A) and op(B) copied into the
 * packed sliver and panel layouts of the micro-kernel (the contract is documented once in
 * gemm.c), with the AVX2 transposing packers of simd/gemm_avx2.c where the CPU has them.
 * Also the row heights of a block's tiles, which the packed A slivers follow. No
 * blocking decisions, no threads and no arithmetic on the values here.
 */
#include <string.h>

#include "convkit/cpu.h"
#include "gemm_impl.h"
#include "internal.h"
#ifdef CONVKIT_HAVE_AVX2
#include "simd.h"
#endif

enum {
    MR = CK_GEMM_MR,
    NR = CK_GEMM_NR,
    KC = CK_GEMM_KC_MAX,
    PACK_B_ROWS = 8,      /* B rows copied per visit of a panel */
    PACK_B_PF_PANELS = 8, /* short K: prefetch distance of the row copies, in panels */
    PACK_B_PF_K_MAX = 64, /* "short K" */
};

/* Any strides: dst[k*width + j] = base[koff[k] + off[j]] for k < kc, j < nv; zero for
 * nv <= j < width (a packed panel of B, or sliver of A, element by element). */
static void gather(const float *base, const size_t *koff, size_t kc, const size_t *off,
                   size_t nv, size_t width, float *dst)
{
    for (size_t k = 0; k < kc; k++) {
        const float *src = base + koff[k];
        for (size_t j = 0; j < nv; j++)
            dst[k * width + j] = src[off[j]];
        for (size_t j = nv; j < width; j++)
            dst[k * width + j] = 0.0f;
    }
}

/* 1 if the AVX2 packers may run (they only move data: results do not depend on it). */
int ck_gemm_have_avx2(void)
{
#ifdef CONVKIT_HAVE_AVX2
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA;
    return (ck_cpu_features() & need) == need;
#else
    return 0;
#endif
}

void ck_gemm_pack_panel_t(size_t kc, const float *const cols[NR], float *bp)
{
#ifdef CONVKIT_HAVE_AVX2
    if (ck_gemm_have_avx2()) {
        ck_sgemm_pack_t16__avx2(kc, cols, bp);
        return;
    }
#endif
    for (size_t j = 0; j < NR; j++) {
        if (cols[j])
            for (size_t k = 0; k < kc; k++)
                bp[k * NR + j] = cols[j][k];
        else
            for (size_t k = 0; k < kc; k++)
                bp[k * NR + j] = 0.0f;
    }
}

/* Packed B: rows pc..pc+kc, columns jc..jc+nc of op(B) as ceil(nc/NR) panels; panel p
 * holds element (k, j) at bp[p*kc*NR + k*NR + j], columns past nc are zero.
 * Panels whose 16 columns are one unit-stride run (row-major B, or pixels of one image)
 * are filled a few rows at a time across all of them, so each source row is read as
 * one long stream (a panel at a time would touch kc rows a cache line each). Columns that are
 * contiguous along k (transposed B) go through 8x8 transposes; anything else is a gather. */
void ck_gemm_pack_b(const struct ck_gemm_args *g, size_t pc, size_t kc, size_t jc, size_t nc,
                   float *bp)
{
    if (g->bsrc) {
        g->bsrc->pack(g->bsrc->ctx, pc, kc, jc, nc, bp);
        return;
    }
    enum { NP = CK_GEMM_NC / NR };
    size_t koff[KC], coff[NR], run0[NP];
    unsigned char is_run[NP];
    ck_gemm_fill_offsets(&g->lb.row, pc, kc, koff);
    const int k_unit = ck_gemm_unit_run(koff, kc);
    size_t n_runs = 0;
    for (size_t jp = 0, p = 0; jp < nc; jp += NR, p++) {
        const size_t nv = CK_MIN((size_t)NR, nc - jp);
        ck_gemm_fill_offsets(&g->lb.col, jc + jp, nv, coff);
        is_run[p] = nv == NR && ck_gemm_unit_run(coff, NR);
        run0[p] = coff[0];
        n_runs += is_run[p];
        if (is_run[p])
            continue;
        float *bq = bp + p * kc * NR;
        if (k_unit) {
            const float *cols[NR];
            for (size_t j = 0; j < NR; j++)
                cols[j] = j < nv ? g->b + coff[j] + koff[0] : NULL;
            ck_gemm_pack_panel_t(kc, cols, bq);
        } else {
            gather(g->b, koff, kc, coff, nv, NR, bq);
        }
    }
    if (n_runs == 0)
        return;
    /* Rows in groups of PACK_B_ROWS, and within a group panel by panel: each panel
     * gets 8 consecutive 64-byte rows (512 contiguous bytes, one page) per visit
     * instead of 1, while the source is still read as 8 sequential streams.
     * 64x16384x288 (a 4.7 MiB block, panels 18 KiB apart) 1 thread: 77 -> 89 GFLOP/s
     * best of ~200 interleaved calls; 16 rows was slower again (79), 6 and 12 ~86. */
    const size_t np = (nc + NR - 1) / NR;
    /* A short K: each row's line PACK_B_PF_PANELS panels ahead is prefetched (the copy
     * otherwise waits on memory). convkit-bench medians of 3, alternating rounds,
     * GFLOP/s: 32x65536x27 1T 67.3/72.0/68.5/72.9 -> 71.8/71.5/74.5/71.5, 2T
     * 145.0/151.4/151.0/149.4 -> 154.1/150.8/156.7/151.4; 27x65536x32_tn 1T
     * 63.4/65.0/70.4 -> 68.1/69.8/74.7. Longer K left alone (64x16384x288 level to
     * noisy). */
    const size_t pfd = kc <= PACK_B_PF_K_MAX ? PACK_B_PF_PANELS * NR : 0;
    for (size_t k0 = 0; k0 < kc; k0 += PACK_B_ROWS) {
        const size_t k1 = CK_MIN(kc, k0 + PACK_B_ROWS);
        for (size_t p = 0; p < np; p++)
            if (is_run[p])
                for (size_t k = k0; k < k1; k++) {
                    if (pfd)
                        __builtin_prefetch(g->b + koff[k] + run0[p] + pfd, 0, 3);
                    memcpy(bp + p * kc * NR + k * NR, g->b + koff[k] + run0[p],
                           NR * sizeof(float));
                }
    }
}

/* Rows of the tile (and packed A sliver) that starts at row ir of an mc-row block:
 * MR, except that a remainder of 1..3 rows is merged with the last full tile and the
 * two split evenly (32 = 4 x 6 + 4 + 4, not 5 x 6 + 2): a tile of mr rows has 2*mr
 * independent FMA chains, and fewer than 8 leave the two FMA pipes waiting on the
 * 4-cycle latency. ceil(mc / MR) tiles either way. 32x65536x27 1 thread, medians of 3
 * in two alternating rounds: 73.6, 74.2 -> 77.8, 77.9 GFLOP/s (2 threads level). */
size_t ck_gemm_tile_rows(size_t mc, size_t ir)
{
    const size_t r = mc % MR;
    if (r == 0 || r > 3 || mc < MR || ir + MR + r < mc)
        return CK_MIN((size_t)MR, mc - ir);
    const size_t last_full = mc - r - MR;
    return ir == last_full ? (MR + r + 1) / 2 : (MR + r) / 2;
}

/* Packed A: rows ic..ic+mc, columns pc..pc+kc of op(A) as ceil(mc/MR) slivers, one per
 * tile (ck_gemm_tile_rows); sliver s holds element (i, k) of its tile at ap[s*kc*MR + k*MR + i],
 * rows past the tile's height are zero. */
void ck_gemm_pack_a(const struct ck_gemm_args *g, size_t ic, size_t mc, size_t pc, size_t kc,
                   float *ap)
{
    size_t koff[KC], roff[MR], run_at[KC + 1];
    ck_gemm_fill_offsets(&g->la.col, pc, kc, koff);
    /* runs of k with unit stride (one run for row-major A; several when k crosses the
     * images of a pixel view): each run of each row is one stream */
    size_t n_runs = 0;
    for (size_t k = 0; k < kc; k++)
        if (k == 0 || koff[k] != koff[k - 1] + 1)
            run_at[n_runs++] = k;
    run_at[n_runs] = kc;
    const int by_rows = n_runs * 8 <= kc, avx2 = ck_gemm_have_avx2();
    for (size_t ip = 0, mv; ip < mc; ip += mv, ap += kc * MR) {
        mv = ck_gemm_tile_rows(mc, ip);
        ck_gemm_fill_offsets(&g->la.row, ic + ip, mv, roff);
        if (by_rows) {
            /* rows contiguous along k (row-major A): transposes, or one stream a row */
            for (size_t t = 0; t < n_runs; t++) {
                const size_t k0 = run_at[t], kn = run_at[t + 1] - k0;
                const float *rows[MR];
                for (size_t i = 0; i < MR; i++)
                    rows[i] = i < mv ? g->a + roff[i] + koff[k0] : NULL;
                if (avx2) {
#ifdef CONVKIT_HAVE_AVX2
                    ck_sgemm_pack_a6__avx2(kn, rows, ap + k0 * MR);
#endif
                    continue;
                }
                for (size_t i = 0; i < MR; i++)
                    for (size_t k = 0; k < kn; k++)
                        ap[(k0 + k) * MR + i] = i < mv ? rows[i][k] : 0.0f;
            }
            continue;
        }
        gather(g->a, koff, kc, roff, mv, MR, ap);
    }
}
