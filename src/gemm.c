/* gemm.c - the SGEMM driver: cache blocking, the macro-kernel, thread partitioning and
 * micro-kernel selection; the packers it calls are in gemm_pack.c.
 *
 * The arithmetic is done by an MR x NR micro-kernel (gemm_ukernel_ref.c, or
 * simd/gemm_avx2.c when the CPU has AVX2+FMA); everything around it is here. It does
 * not allocate: packed blocks live in the caller's workspace. Tiny problems, and a
 * long K with a small C, take the unpacked paths of gemm_small.c instead (packing
 * would cost more than it saves); helpers the files share are in gemm_impl.h.
 *
 * ---- Micro-kernel contract (the one place it is written down) ------------------------
 *
 *   void ukernel(size_t kc, const float *a, const float *b, float *c, size_t ldc,
 *                float alpha, float beta);
 *
 *   computes, for the full MR x NR = 6 x 16 tile,
 *       c[i*ldc + j] = alpha * sum_{k<kc} a[k*MR + i] * b[k*NR + j]  +  beta * c[i*ldc + j]
 *   and never reads c when beta == 0 (C may hold NaN then).
 *
 *        packed B panel: kc rows of NR=16 floats, 32-byte aligned
 *                      +------------------------------+
 *                 k=0  | b0  b1  b2  ...          b15 |  <- 2 ymm loads per k
 *                 k=1  | b16 b17 ...                  |
 *                  ... |                              |
 *                      +------------------------------+
 *   packed A sliver:
 *   kc columns of MR=6    +------------------------------+
 *   k=0 k=1 ...           |                              |
 *   +---+---+---          |  C tile, 6 rows x 16 columns |
 *   |a0 |a6 |             |  = 12 ymm accumulators       |
 *   |a1 |a7 |  ...        |  (row i: c_i0 = cols 0..7,   |
 *   |.. |.. |             |          c_i1 = cols 8..15)  |
 *   |a5 |a11|             |                              |
 *   +---+---+---          +------------------------------+
 *   (one broadcast per a element; a[k*6 + i] is row i, step k)
 *
 *   Edges: the packers zero-pad a partial sliver (fewer than MR rows) and a partial
 *   panel (fewer than NR columns). A block whose rows leave 1..3 over splits its last
 *   6 + r rows into two tiles of about equal height (tile_rows: M = 32 is 4 x 6 + 4 + 4).
 *   A partial tile of plain row-strided C goes to the AVX2 kernel's variant that
 *   computes only its mr rows (the FMAs of the padding rows are compiled out) and
 *   stores its nr columns by masked stores. Any other partial tile, or one that is not
 *   a plain row-strided block of C (a column-block boundary of a view runs through it),
 *   is computed into a 6x16 stack tile with alpha=1, beta=0 and the valid part merged:
 *   one extra pass over <= 96 floats per tile per kc block, never a scalar k loop.
 *
 * ---- Cache blocking (timed on AMD Zen 4: 32 KiB L1d, 1 MiB L2, 2 ymm FMAs a cycle) ----
 *   KC = 320: one B micro-panel is at most KC*NR*4 = 20 KiB of L1d and survives while
 *             the kernel streams A slivers past it. K is split into equal blocks of at
 *             most KC - a function of K only, so every thread count sums the same
 *             partial products in the same order. 320 rather than 256 keeps K = 288 (a
 *             3x3 layer with 32 channels) in one block (not 2 x 144, which stores and
 *             reloads every C tile twice): im2col conv2 82.7 -> 93.9 GFLOP/s by CPU
 *             time, 1024^3 and 2048^3 unchanged.
 *   MC = 144: a packed A block is MC*KC*4 = 180 KiB, in L2 (BLIS's Zen value).
 *   NC = 4080 (BLIS Zen) for a stored B: long rows keep the hardware prefetcher busy
 *             while B is packed row by row (768 made 64x16384x288 ~15% slower, because
 *             its B rows were then 3 KiB runs 64 KiB apart). A computed B (bsrc: im2col
 *             from x) uses NC = 768 instead: the packer writes the block itself, and a
 *             KC*768*4 block stays in L2 for the kernel to read back - or, when a
 *             thread's rows fit one MC block and all of its A (rows x K, at most MC*KC
 *             floats) is packed once up front, NC = 48: three panels written by the
 *             packer and read back by the kernel while still in L1.
 *   Workspace per thread: MC*KC + KC*NC floats at most (180 KiB + 5.1 MiB), shrunk to
 *   the problem (CK_GEMM_WS_PER_THREAD). The 6x16 kernel alone reaches ~97% of the
 *   FMA peak with its operands in L1; 1024^3 and 2048^3 reach ~90%.
 *
 * ---- Packing ----------------------------------------------------------------------------
 *   B panels of 16 unit-stride columns are copied 8 rows at a time across the whole
 *   block (each panel gets 512 contiguous bytes a visit, the source 8 row streams);
 *   k-contiguous columns (transposed B) and k-contiguous A rows (row-major A) go through
 *   8x8 register transposes (simd/gemm_avx2.c); anything else is gathered. A bsrc
 *   packer produces B panels itself (never stored B). row_add (a bias) is added to each
 *   C tile by the AVX2 kernel's store after its last k block (a variant), or else right
 *   after it, while the tile is still in L1.
 *
 * ---- Stores ----------------------------------------------------------------------------
 *   With K <= NT_K_MAX (one k block), beta = 0, no row_add and a plain row-major C of
 *   at least NT_MIN_BYTES, every C element is written exactly once, so full-width tiles
 *   (any mr) store by non-temporal stores: no read for ownership of C's lines, and the
 *   packed B block keeps L2. Each thread fences its stores before the region ends.
 *
 * ---- Threads ---------------------------------------------------------------------------
 *   C is cut into a tm x tn grid of rectangles aligned to MR rows / NR columns, one per
 *   thread, each with private packed blocks. K is never split, and a C element's value
 *   does not depend on which rectangle or block computes it, so results are
 *   bit-identical for any thread count.
 */
#include <stdint.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

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
    MC = 144,
    NC = CK_GEMM_NC,
    NC_BSRC = 768,
    NC_BSRC_SHORT = 48,
    A_ALL_MAX = MC * KC, /* keeps the workspace bound of gemm.h */
    PF_B_K_MAX = 64,
    PF_B_FLOATS = 64 * 1024,
    PF_C_L1_KC = 128,
};
/* C of at least this many bytes (beyond both cores' L2) may be stored non-temporally
 * when K is at most NT_K_MAX (one k block). */
#define NT_MIN_BYTES ((size_t)4 << 20)
#define NT_K_MAX 64
_Static_assert(MC % MR == 0 && NC % NR == 0 && NC_BSRC % NR == 0 && NC_BSRC <= NC &&
                   NC_BSRC_SHORT % NR == 0,
               "blocks hold whole tiles");

typedef void (*ukernel_fn)(size_t kc, const float *a, const float *b, float *c, size_t ldc,
                           float alpha, float beta);

struct ck_gemm_layout ck_gemm_layout_rm(enum ck_gemm_trans t, size_t ld)
{
    struct ck_gemm_layout l = {{0, 0, 0}, {0, 0, 0}};
    l.row.stride = t == CK_GEMM_TRANS ? 1 : ld;
    l.col.stride = t == CK_GEMM_TRANS ? ld : 1;
    return l;
}

/* ---- macro-kernel ---------------------------------------------------------------------- */

/* C[r][j] = alpha*t[r][j] + beta*C[r][j] for the valid mr x nr part of a stack tile. */
void ck_gemm_merge_tile(const struct ck_gemm_args *g, const float *t, const size_t *roff,
                       const size_t *coff, size_t mr, size_t nr, float alpha, float beta)
{
    const int cols_unit = ck_gemm_unit_run(coff, nr);
    for (size_t r = 0; r < mr; r++) {
        const float *t_r = t + r * NR;
        if (cols_unit) { /* the common edge: a run of columns (vectorisable) */
            float *c_r = g->c + roff[r] + coff[0];
            if (beta == 0.0f)
                for (size_t j = 0; j < nr; j++)
                    c_r[j] = alpha * t_r[j];
            else
                for (size_t j = 0; j < nr; j++)
                    c_r[j] = alpha * t_r[j] + beta * c_r[j];
            continue;
        }
        float *c_r = g->c + roff[r];
        for (size_t j = 0; j < nr; j++) {
            float v = alpha * t_r[j];
            if (beta != 0.0f)
                v += beta * c_r[coff[j]];
            c_r[coff[j]] = v;
        }
    }
}

/* C[r][j] += add[r] over a finished mr x nr tile (cols_unit: its columns are a run). */
void ck_gemm_add_rows(const struct ck_gemm_args *g, const float *add, const size_t *roff,
                     const size_t *coff, size_t mr, size_t nr, int cols_unit)
{
    for (size_t r = 0; r < mr; r++) {
        float *c_r = g->c + roff[r];
        if (cols_unit)
            for (size_t j = 0; j < nr; j++)
                c_r[coff[0] + j] += add[r];
        else
            for (size_t j = 0; j < nr; j++)
                c_r[coff[j]] += add[r];
    }
}

/* One packed A block (mc x kc) times one packed B block (kc x nc) into C at (ic, jc);
 * row_add is g->row_add on the last k block, else NULL. b_next (plan pf_b, else NULL):
 * row pc of the next column block of B, whose first nc_next columns are prefetched. */
static void macro_kernel(const struct ck_gemm_args *g, ukernel_fn ukernel, size_t ic,
                         size_t mc, size_t jc, size_t nc, size_t kc, const float *ap,
                         const float *bp, float beta, const float *row_add,
                         const float *b_next, size_t nc_next, int nt)
{
    /* C prefetches only without plan pf_b (b_next is NULL then): with both, 32x65536x27
     * was slower (45/56 vs 57/59 GFLOP/s), the misses in flight already at their limit */
    const int pf_c = b_next == NULL && !nt;
    size_t roff[MC], coff[NR];
    ck_gemm_fill_offsets(&g->lc.row, ic, mc, roff);
    _Alignas(32) float tile[MR * NR];
#ifdef CONVKIT_HAVE_AVX2
    const int part_ok = ukernel == ck_sgemm_ukernel_6x16__avx2;
#else
    const int part_ok = 0;
#endif
    /* The block's tiles, the same for every panel: rows, C's row stride in each and
     * whether its rows are equally spaced (not where a view's row block ends). */
    size_t t_mr[MC / MR], t_ldc[MC / MR], n_t = 0;
    unsigned char t_even[MC / MR];
    for (size_t ir = 0, mr; ir < mc; ir += mr, n_t++) {
        mr = ck_gemm_tile_rows(mc, ir);
        const size_t *ro = roff + ir, ldc = mr > 1 ? ro[1] - ro[0] : NR;
        int even = 1;
        for (size_t r = 2; even && r < mr; r++)
            even = ro[r] - ro[r - 1] == ldc;
        t_mr[n_t] = mr, t_ldc[n_t] = ldc, t_even[n_t] = (unsigned char)even;
    }
    const int cols_plain = g->lc.col.stride == 1 && g->lc.col.blk == 0;
    /* Loop 2: the NR-wide micro-panels of packed B; each stays in L1 for loop 1. */
    for (size_t jr = 0; jr < nc; jr += NR) {
        const size_t nr = CK_MIN((size_t)NR, nc - jr);
        ck_gemm_fill_offsets(&g->lc.col, jc + jr, nr, coff);
        const int cols_unit = cols_plain || ck_gemm_unit_run(coff, nr);
        const int cols_ok = nr == NR && cols_unit;
        const float *b_p = bp + jr * kc;
        if (jr < nc_next) /* B of the next column block, into L2 for its pack_b */
            for (size_t k = 0; k < kc; k++)
                __builtin_prefetch(b_next + k * g->lb.row.stride + jr, 0, 2);
        /* C of the next panel: each tile's kernel is too short to hide a miss on its C
         * rows when kc is small. Into L1 for kc < PF_C_L1_KC (conv1's K = 27: into L2
         * was slower); into L2 above, where in L1 it pushed out lines of the B panel
         * (64x16384x288 1 thread 86.5 -> 89.0 GFLOP/s, 2048^3 108.1 -> 108.7, best of
         * interleaved calls) */
        if (pf_c && jr + NR < nc) {
            const size_t c1 = ck_gemm_idx_off(&g->lc.col, jc + jr + NR);
            if (kc < PF_C_L1_KC)
                for (size_t r = 0; r < mc; r++)
                    __builtin_prefetch(g->c + roff[r] + c1, 1, 3);
            else
                for (size_t r = 0; r < mc; r++)
                    __builtin_prefetch(g->c + roff[r] + c1, 1, 2);
        }
        /* Loop 1: the MR-tall slivers of packed A (from L2) against that panel. */
        const float *a_s = ap;
        for (size_t t = 0, ir = 0; t < n_t; ir += t_mr[t], t++, a_s += kc * MR) {
            const size_t mr = t_mr[t], ldc = t_ldc[t], *ro = roff + ir;
            /* C's rows of this tile equally spaced, its columns one run */
            const int even = cols_unit && t_even[t];
            int added = 0; /* row_add done by the kernel */
            if (nt && even && nr == NR && !row_add) {
#ifdef CONVKIT_HAVE_AVX2
                ck_sgemm_ukernel_6x16_nt__avx2(kc, a_s, b_p, g->c + ro[0] + coff[0], ldc,
                                               g->alpha, mr);
#endif
            } else if (even && mr == MR && nr == NR && !(row_add && part_ok)) {
                ukernel(kc, a_s, b_p, g->c + ro[0] + coff[0], ldc, g->alpha, beta);
#ifdef CONVKIT_HAVE_AVX2
            } else if (even && part_ok && row_add) { /* the last k block, with the bias */
                ck_sgemm_ukernel_6x16_add__avx2(kc, a_s, b_p, g->c + ro[0] + coff[0], ldc,
                                                g->alpha, beta, row_add + ic + ir, mr, nr);
                added = 1;
            } else if (even && part_ok) { /* bottom and right edges */
                ck_sgemm_ukernel_6x16_part__avx2(kc, a_s, b_p, g->c + ro[0] + coff[0], ldc,
                                                 g->alpha, beta, mr, nr);
#endif
            } else {
                ukernel(kc, a_s, b_p, tile, NR, 1.0f, 0.0f);
                ck_gemm_merge_tile(g, tile, ro, coff, mr, nr, g->alpha, beta);
            }
            if (row_add && !added) /* the last k block: the tile is final and in L1 */
                ck_gemm_add_rows(g, row_add + ic + ir, ro, coff, mr, nr, cols_ok);
        }
    }
}

/* ---- blocking plan and threads -------------------------------------------------------- */

struct plan {
    int T, tm, tn;         /* threads and their tm x tn grid over C */
    size_t mt, nt;         /* MR-row / NR-column tiles of C */
    size_t kcb, mcb, ncb;  /* block sizes */
    size_t a_fl, b_fl;     /* packed floats per thread (multiples of 16) */
    int a_all;             /* 1: a thread's rows fit one MC block, packed for all of K */
    int pf_b;              /* 1: the macro-kernel prefetches the next B block (tiny K) */
    int c_nt;              /* 1: full tiles store C by non-temporal stores */
};

int ck_gemm_omp_threads(void)
{
#ifdef _OPENMP
    return omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    return 1;
#endif
}

static size_t round_up(size_t x, size_t m)
{
    return (x + m - 1) / m * m;
}

static struct plan make_plan(const struct ck_gemm_args *g, int T)
{
    struct plan pl;
    const size_t M = (size_t)g->M, N = (size_t)g->N, K = (size_t)g->K;
    pl.mt = (M + MR - 1) / MR;
    pl.nt = (N + NR - 1) / NR;
    const double flops = 2.0 * M * N * K;
    if (T > 1 && flops / T < CK_GEMM_MIN_FLOPS_PER_THREAD)
        T = (int)CK_MAX(1.0, flops / CK_GEMM_MIN_FLOPS_PER_THREAD);
    T = (int)CK_MIN((size_t)T, pl.mt * pl.nt);
    /* Grid tm x tn = T minimising the largest rectangle (in tiles); ties split N. */
    pl.T = T, pl.tm = 1, pl.tn = T;
    size_t best = SIZE_MAX;
    for (int tm = T; tm >= 1; tm--) {
        if (T % tm)
            continue;
        const int tn = T / tm;
        if ((size_t)tm > pl.mt || (size_t)tn > pl.nt)
            continue;
        const size_t cost = ((pl.mt + tm - 1) / tm) * ((pl.nt + tn - 1) / tn);
        if (cost <= best)
            best = cost, pl.tm = tm, pl.tn = tn;
    }
    const size_t rows = (pl.mt + pl.tm - 1) / pl.tm * MR;
    const size_t cols = (pl.nt + pl.tn - 1) / pl.tn * NR;
    const size_t nkb = (K + KC - 1) / KC;
    pl.kcb = (K + nkb - 1) / nkb;
    pl.mcb = CK_MIN((size_t)MC, rows);
    if (rows > MC) /* balance MC blocks, in whole tiles */
        pl.mcb = round_up((rows + (rows + MC - 1) / MC - 1) / ((rows + MC - 1) / MC), MR);
    /* A thread's whole A (one MC block, all k blocks) packed once, if small: then the
     * column blocks can be short without repacking A for each of them. */
    pl.a_all = rows <= MC && rows * K <= A_ALL_MAX;
    pl.ncb = CK_MIN((size_t)(g->bsrc ? (pl.a_all ? NC_BSRC_SHORT : NC_BSRC) : NC), cols);
    /* K <= PF_B_K_MAX with a plain row-major B: the B pack is a copy that waits on
     * memory, as long as the arithmetic on the block (32x65536x27: pack_b was a quarter
     * of the time). Blocks of at most PF_B_FLOATS, and the kernels prefetch the next
     * block's rows into L2 while they work on this one. Not with all of A packed once
     * (a_all: each B block serves one MC block): there NC blocks and the C prefetch
     * were faster (paired in-process A/B, medians of 100-120 alternating 20 ms
     * samples, both orders: 32x65536x27 1 thread +0..3%, 2 threads +2.5..4.7%;
     * 27x65536x32_tn +3.7% and +2.5..4.2%), while 288x16384x64_tn (two MC blocks
     * per B block) keeps the prefetch, 10% faster with it. */
    pl.pf_b = !pl.a_all && !g->bsrc && K <= PF_B_K_MAX && g->lb.col.stride == 1 &&
              g->lb.col.blk == 0 && g->lb.row.blk == 0;
    if (pl.pf_b)
        pl.ncb = CK_MIN(pl.ncb, CK_MAX((size_t)NR, PF_B_FLOATS / pl.kcb / NR * NR));
    /* A short K (at most NT_K_MAX: a C element costs few FMAs), beta = 0, a large plain
     * C: each C element is written once and not read again by this call, so full-width
     * tiles go to memory by non-temporal stores (no read for ownership of the line
     * first, no eviction of the packed B block from L2). convkit-bench medians of 3,
     * two alternating rounds, regular -> NT stores, GFLOP/s 1 / 2 threads:
     * 32x65536x27 62.1, 62.8 -> 73.1, 73.3 / 128.5, 128.5 -> 146.1, 125.8;
     * 288x16384x64_tn 92.7, 89.7 -> 97.1, 97.9 / 174.7, 187.5 -> 196.8, 184.8; but
     * 64x16384x288 (K = 288) 82.5, 86.6 -> 80.7, 81.7 / 160.5, 157.1 -> 154.7, 151.5. */
    pl.c_nt = g->beta == 0.0f && K <= NT_K_MAX && !g->row_add &&
              M * N * sizeof(float) >= NT_MIN_BYTES &&
              g->kernel != CK_GEMM_KERNEL_PORTABLE && ck_gemm_have_avx2() &&
              g->lc.col.stride == 1 && g->lc.col.blk == 0 && g->lc.row.blk == 0 &&
              g->lc.row.stride % 8 == 0 && ((uintptr_t)g->c & 31) == 0;
    pl.a_fl = round_up(pl.mcb * (pl.a_all ? K : pl.kcb), 16);
    pl.b_fl = round_up(pl.kcb * pl.ncb, 16);
    return pl;
}

/* The serial blocked algorithm on rectangle t of the plan's grid. */
static void run_rect(const struct ck_gemm_args *g, const struct plan *pl, int t,
                     ukernel_fn ukernel, float *ap, float *bp)
{
    const int im = t / pl->tn, in = t % pl->tn;
    const size_t m0 = CK_MIN((size_t)g->M, pl->mt * im / pl->tm * MR);
    const size_t m1 = CK_MIN((size_t)g->M, pl->mt * (im + 1) / pl->tm * MR);
    const size_t n0 = CK_MIN((size_t)g->N, pl->nt * in / pl->tn * NR);
    const size_t n1 = CK_MIN((size_t)g->N, pl->nt * (in + 1) / pl->tn * NR);
    const size_t K = (size_t)g->K, mr_all = round_up(m1 - m0, MR);
    if (pl->a_all) /* k block pc at ap + pc*mr_all (all blocks but the last are kcb) */
        for (size_t pc = 0; pc < K; pc += pl->kcb)
            ck_gemm_pack_a(g, m0, m1 - m0, pc, CK_MIN(pl->kcb, K - pc), ap + pc * mr_all);
    for (size_t jc = n0; jc < n1; jc += pl->ncb) {
        const size_t nc = CK_MIN(pl->ncb, n1 - jc);
        for (size_t pc = 0; pc < K; pc += pl->kcb) {
            const size_t kc = CK_MIN(pl->kcb, K - pc);
            const float beta = pc == 0 ? g->beta : 1.0f;
            ck_gemm_pack_b(g, pc, kc, jc, nc, bp);
            for (size_t ic = m0; ic < m1; ic += pl->mcb) {
                const size_t mc = CK_MIN(pl->mcb, m1 - ic);
                if (!pl->a_all)
                    ck_gemm_pack_a(g, ic, mc, pc, kc, ap);
                /* plan pf_b: prefetch the next column block's B on the last ic block */
                const size_t nc_next = pl->pf_b && ic + mc == m1 && jc + nc < n1
                                           ? CK_MIN(pl->ncb, n1 - jc - nc) : 0;
                const float *b_next = pl->pf_b ? g->b + pc * g->lb.row.stride + jc + nc : NULL;
                macro_kernel(g, ukernel, ic, mc, jc, nc, kc, pl->a_all ? ap + pc * mr_all : ap,
                             bp, beta, pc + kc == K ? g->row_add : NULL, b_next, nc_next,
                             pl->c_nt);
            }
        }
    }
}

static enum ck_status pick_kernel(enum ck_gemm_kernel want, ukernel_fn *out)
{
    *out = ck_sgemm_ukernel_6x16__ref;
    if (want == CK_GEMM_KERNEL_PORTABLE)
        return CK_OK;
#ifdef CONVKIT_HAVE_AVX2
    const unsigned need = CK_CPU_AVX2 | CK_CPU_FMA;
    if ((ck_cpu_features() & need) == need) {
        *out = ck_sgemm_ukernel_6x16__avx2;
        return CK_OK;
    }
#endif
    return want == CK_GEMM_KERNEL_AVX2 ? CK_ERR_CPU_FEATURE : CK_OK;
}

/* ---- entry points ---------------------------------------------------------------------- */

static size_t plan_bytes(const struct plan *pl)
{
    return (size_t)pl->T * (pl->a_fl + pl->b_fl) * sizeof(float);
}

static int trivial(const struct ck_gemm_args *g)
{
    return g->M == 0 || g->N == 0 || g->K == 0 || g->alpha == 0.0f;
}

size_t ck_sgemm_ex_workspace_size(const struct ck_gemm_args *g)
{
    if (!g || g->M < 0 || g->N < 0 || g->K < 0 || trivial(g) || ck_gemm_use_small(g) ||
        ck_gemm_use_dot(g))
        return 0;
    const struct plan pl = make_plan(g, ck_gemm_omp_threads());
    return plan_bytes(&pl);
}

enum ck_status ck_sgemm_ex(const struct ck_gemm_args *g, void *ws, size_t ws_size)
{
    if (!g || g->M < 0 || g->N < 0 || g->K < 0)
        return CK_ERR_INVALID_ARGUMENT;
    if (g->M == 0 || g->N == 0)
        return CK_OK;
    if (!g->c || (g->K > 0 && g->alpha != 0.0f && (!g->a || (!g->b && !g->bsrc))))
        return CK_ERR_INVALID_ARGUMENT;
    ukernel_fn ukernel;
    enum ck_status st = pick_kernel(g->kernel, &ukernel);
    if (st != CK_OK)
        return st;
    if (trivial(g)) {
        ck_gemm_scale_c(g);
        return CK_OK;
    }
    if (ck_gemm_use_small(g)) {
        ck_gemm_small(g);
        return CK_OK;
    }
    if (ck_gemm_use_dot(g)) {
        ck_gemm_dot(g);
        return CK_OK;
    }
    /* Packed blocks need 32-byte alignment: skip to it inside ws. */
    const size_t skip = ws ? (size_t)(-(uintptr_t)ws & 63) : 0;
    const size_t avail = ws && ws_size > skip ? ws_size - skip : 0;
    struct plan pl = make_plan(g, ck_gemm_omp_threads());
    while (pl.T > 1 && plan_bytes(&pl) > avail)
        pl = make_plan(g, pl.T - 1);
    if (plan_bytes(&pl) > avail)
        return CK_ERR_WORKSPACE_TOO_SMALL;
    float *base = (float *)((char *)ws + skip);
    #pragma omp parallel num_threads(pl.T) if (pl.T > 1)
    {
        const int tid = ck__thread_num(), nth = ck__num_threads();
        float *ap = base + (size_t)tid * (pl.a_fl + pl.b_fl), *bp = ap + pl.a_fl;
        for (int t = tid; t < pl.T; t += nth)
            run_rect(g, &pl, t, ukernel, ap, bp);
#ifdef CONVKIT_HAVE_AVX2
        if (pl.c_nt)
            ck_sgemm_store_fence__avx2();
#endif
    }
    return CK_OK;
}

size_t ck_sgemm_workspace_size(int M, int N, int K)
{
    struct ck_gemm_args g = {.M = M, .N = N, .K = K, .alpha = 1.0f};
    return ck_sgemm_ex_workspace_size(&g);
}

enum ck_status ck_sgemm(enum ck_gemm_trans transa, enum ck_gemm_trans transb, int M, int N,
                        int K, float alpha, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc, void *ws, size_t ws_size)
{
    /* Stored shapes: A is M x K (K x M if transposed), B is K x N (N x K), C is M x N. */
    if (M < 0 || N < 0 || K < 0 || lda < CK_MAX(1, transa ? M : K) ||
        ldb < CK_MAX(1, transb ? K : N) || ldc < CK_MAX(1, N))
        return CK_ERR_INVALID_ARGUMENT;
    struct ck_gemm_args g = {
        .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
        .a = a, .la = ck_gemm_layout_rm(transa, (size_t)lda),
        .b = b, .lb = ck_gemm_layout_rm(transb, (size_t)ldb),
        .c = c, .lc = ck_gemm_layout_rm(CK_GEMM_NOTRANS, (size_t)ldc),
    };
    return ck_sgemm_ex(&g, ws, ws_size);
}
