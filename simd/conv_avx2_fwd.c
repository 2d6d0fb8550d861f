/* conv_avx2_fwd.c - the AVX2/FMA row kernel of the direct convolution (forward and
 * backward-data); contract in conv_avx2.h (struct ck_dconv_row).
 *
 * One register tile is NOB output blocks x UR pixels of 8-lane FMA accumulators
 * (NOB*UR <= 12), kept in ymm registers over the whole reduction: per reduction channel
 * NOB weight loads and UR broadcasts feed NOB*UR FMAs. Every (NOB, UR) pair is a
 * separate function generated from one always-inline template, so the compiler sees
 * constant trip counts, unrolls fully and keeps the accumulators in registers; blocked
 * input at stride 1 or 2 and strided output (backward-data) get variants with constant
 * pixel offsets. Tiles follow the pixels across row ends (a tile may cover the last
 * pixels of one row and the first of the next). It does no layout conversion, no bounds
 * checks and no threading. A call's reduction is walked as one flat list of (input
 * block, tap) steps built on entry, so a tile's loop has two loads of scalar work a step.
 * The 2x6 tile (the usual one) and the 1x12 tile have their own loops with the
 * accumulators pinned to registers.
 */
#include <immintrin.h>

#include "avx2_util.h"

#include "conv_avx2.h"

#define CK_INLINE static inline __attribute__((always_inline))

/* One reduction channel: w points at the NOB x 8 interleaved weights, s + so[j] at pixel j. */
CK_INLINE void fma_channel(__m256 acc[4][12], const float *w, const float *s,
                           const ptrdiff_t *so, const int NOB, const int UR)
{
    if (NOB <= UR) {
        __m256 wv[4];
#pragma GCC unroll 4
        for (int ob = 0; ob < NOB; ob++)
            wv[ob] = _mm256_loadu_ps(w + 8 * ob);
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++) {
            const __m256 xj = _mm256_broadcast_ss(s + so[j]);
#pragma GCC unroll 4
            for (int ob = 0; ob < NOB; ob++)
                acc[ob][j] = _mm256_fmadd_ps(wv[ob], xj, acc[ob][j]);
        }
    } else {
        __m256 xv[12];
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            xv[j] = _mm256_broadcast_ss(s + so[j]);
#pragma GCC unroll 4
        for (int ob = 0; ob < NOB; ob++) {
            const __m256 wv = _mm256_loadu_ps(w + 8 * ob);
#pragma GCC unroll 12
            for (int j = 0; j < UR; j++)
                acc[ob][j] = _mm256_fmadd_ps(wv, xv[j], acc[ob][j]);
        }
    }
}

/* The reduction of a 12-accumulator tile with NOB = 2 (2x6, the usual tile; see row_tile)
 * or NOB = 1 (1x12: the odd block of a layer with an odd block count): the same FMAs as
 * fma_channel over the 8 channels of each step, with the accumulators held in named
 * registers ymm0-ymm11 (c[ob*UR + j] = acc[ob][j]) and tied to them by an empty asm after
 * every channel. Left to itself, GCC rotates the accumulators through the broadcast's
 * register (vfmadd132ps) and spills: 2-4 stack accesses a step in 2x6, 10 in 1x12. */
#define CK_PIN12                                                                          \
    __asm__("" : "+x"(c0), "+x"(c1), "+x"(c2), "+x"(c3), "+x"(c4), "+x"(c5), "+x"(c6),    \
                 "+x"(c7), "+x"(c8), "+x"(c9), "+x"(c10), "+x"(c11))
#define CK_X(j) _mm256_broadcast_ss(((j) < N1 ? s : s2) + ch + (j) * SP) /* pixel j */
#define CK_PIX_2X6(cw0, cw1, j)                                                           \
    do {                                                                                  \
        const __m256 xj = CK_X(j);                                                        \
        cw0 = _mm256_fmadd_ps(w0, xj, cw0);                                               \
        cw1 = _mm256_fmadd_ps(w1, xj, cw1);                                               \
    } while (0)
#define CK_PIX_1X12(cw, j) cw = _mm256_fmadd_ps(w0, CK_X(j), cw)
#define CK_ACC(i) acc[(i) / (12 / NOB)][(i) % (12 / NOB)]
CK_INLINE void steps_pinned(__m256 acc[4][12], const float *src, const ptrdiff_t *soff,
                            const float *const *wp, int n, ptrdiff_t sjump, const int SP,
                            const int N1, const int NOB)
{
    register __m256 c0 __asm__("ymm0") = CK_ACC(0), c1 __asm__("ymm1") = CK_ACC(1);
    register __m256 c2 __asm__("ymm2") = CK_ACC(2), c3 __asm__("ymm3") = CK_ACC(3);
    register __m256 c4 __asm__("ymm4") = CK_ACC(4), c5 __asm__("ymm5") = CK_ACC(5);
    register __m256 c6 __asm__("ymm6") = CK_ACC(6), c7 __asm__("ymm7") = CK_ACC(7);
    register __m256 c8 __asm__("ymm8") = CK_ACC(8), c9 __asm__("ymm9") = CK_ACC(9);
    register __m256 c10 __asm__("ymm10") = CK_ACC(10), c11 __asm__("ymm11") = CK_ACC(11);
    for (int k = 0; k < n; k++) {
        const float *s = src + soff[k], *s2 = s + sjump;
        const float *w = wp[k];
#pragma GCC unroll 8
        for (int ch = 0; ch < 8; ch++) {
            const __m256 w0 = _mm256_loadu_ps(w + 8 * NOB * ch);
            if (NOB == 2) {
                const __m256 w1 = _mm256_loadu_ps(w + 16 * ch + 8);
                CK_PIX_2X6(c0, c6, 0);
                CK_PIX_2X6(c1, c7, 1);
                CK_PIX_2X6(c2, c8, 2);
                CK_PIX_2X6(c3, c9, 3);
                CK_PIX_2X6(c4, c10, 4);
                CK_PIX_2X6(c5, c11, 5);
            } else {
                CK_PIX_1X12(c0, 0), CK_PIX_1X12(c1, 1), CK_PIX_1X12(c2, 2);
                CK_PIX_1X12(c3, 3), CK_PIX_1X12(c4, 4), CK_PIX_1X12(c5, 5);
                CK_PIX_1X12(c6, 6), CK_PIX_1X12(c7, 7), CK_PIX_1X12(c8, 8);
                CK_PIX_1X12(c9, 9), CK_PIX_1X12(c10, 10), CK_PIX_1X12(c11, 11);
            }
            CK_PIN12;
        }
    }
    CK_ACC(0) = c0, CK_ACC(1) = c1, CK_ACC(2) = c2, CK_ACC(3) = c3, CK_ACC(4) = c4;
    CK_ACC(5) = c5, CK_ACC(6) = c6, CK_ACC(7) = c7, CK_ACC(8) = c8, CK_ACC(9) = c9;
    CK_ACC(10) = c10, CK_ACC(11) = c11;
}

/* The reduction as one flat list of (input block, tap) steps, in the order of the
 * contract (blocks outer, taps inner): step k reads src + src[k] (from the tile's pixel
 * 0) and the weights at w[k]. Built once per call, so a tile's loop carries two loads of
 * scalar work per step instead of the nested block and tap bookkeeping. */
enum { MAX_STEPS = 256 };
struct steps {
    ptrdiff_t src[MAX_STEPS];
    const float *w[MAX_STEPS];
    int n;
};

/* One tile of UR pixels starting at src/dst (already offset to the tile's pixel 0).
 * SP != 0: blocked input read at src_pix == SP (8: stride 1, 16: stride 2) with blk_len
 * 8 and src_ch 1, so the pixel offsets are compile-time constants; SP == 0 reads
 * src_pix, src_ch and blk_len from the job. DP != 0 is dst_pix as a constant (else the
 * job's). WRAP: pixels j >= n1 lie on the next row, sjump/djump floats further on than a
 * straight continuation of the row; N1 != 0 is n1 as a constant (2x6 tiles only), so
 * steps_pinned reads those pixels at constant offsets from a second pointer (no address
 * arithmetic per broadcast). */
CK_INLINE void row_tile(const struct ck_dconv_row *a, const struct steps *st, const float *src,
                        float *dst, int n1, ptrdiff_t sjump, ptrdiff_t djump, const int NOB,
                        const int UR, const int SP, const int DP, const int WRAP, const int N1)
{
    const ptrdiff_t sp = SP ? SP : a->src_pix, dp = DP ? DP : a->dst_pix;
    ptrdiff_t so[12], dof[12];
#pragma GCC unroll 12
    for (int j = 0; j < UR; j++) {
        so[j] = j * sp + (WRAP && j >= n1 ? sjump : 0);
        dof[j] = j * dp + (WRAP && j >= (N1 ? N1 : n1) ? djump : 0);
    }
    __m256 acc[4][12];
#pragma GCC unroll 4
    for (int ob = 0; ob < NOB; ob++) {
        __m256 init = _mm256_setzero_ps();
        if (!a->accumulate && a->bias)
            init = _mm256_loadu_ps(a->bias + 8 * ob);
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            acc[ob][j] = a->accumulate ? _mm256_loadu_ps(dst + ob * a->dst_ob + dof[j]) : init;
    }
    const ptrdiff_t w_ch = 8 * NOB;
    const ptrdiff_t *soff = st->src;
    const float *const *wp = st->w;
    const int n = st->n;
    /* (steps_pinned reads the second row's pixels at constant offsets: no run-time n1) */
    if (SP && (!WRAP || N1) && NOB * UR == 12 && NOB <= 2)
        steps_pinned(acc, src, soff, wp, n, sjump, SP, N1 ? N1 : UR, NOB);
    else
        for (int k = 0; k < n; k++) {
            const float *s = src + soff[k];
            const float *w = wp[k];
            if (SP) {
                /* blocked input: the 8 channels of a pixel are adjacent */
#pragma GCC unroll 8
                for (int ch = 0; ch < 8; ch++)
                    fma_channel(acc, w + w_ch * ch, s + ch, so, NOB, UR);
            } else {
                for (int ch = 0; ch < a->blk_len; ch++)
                    fma_channel(acc, w + w_ch * ch, s + ch * a->src_ch, so, NOB, UR);
            }
        }
#pragma GCC unroll 4
    for (int ob = 0; ob < NOB; ob++)
#pragma GCC unroll 12
        for (int j = 0; j < UR; j++)
            _mm256_storeu_ps(dst + ob * a->dst_ob + dof[j], acc[ob][j]);
}

/* Prefetch progress over a call's tiles: a share of each of the job's two regions a tile. */
struct pf_state {
    struct ck_avx2_pf r[2];
};

CK_INLINE void pf_step(struct pf_state *st)
{
    ck_avx2_pf_step(&st->r[0]);
    ck_avx2_pf_step(&st->r[1]);
}

/* ntile straight full-width tiles (UR pixels each) one after the other along a row, in
 * one call: the job's fields are read once, not once a tile. */
CK_INLINE void row_run(const struct ck_dconv_row *a, const struct steps *sp, const float *src,
                       float *dst, int ntile, struct pf_state *st, const int NOB, const int UR,
                       const int SP, const int DP)
{
    const ptrdiff_t sstep = UR * (SP ? SP : a->src_pix), dstep = UR * (DP ? DP : a->dst_pix);
    for (int k = 0; k < ntile; k++, src += sstep, dst += dstep) {
        pf_step(st);
        row_tile(a, sp, src, dst, UR, 0, 0, NOB, UR, SP, DP, 0, 0);
    }
}

/* Families of tiles by (SP, DP) (see row_tile): f88 (stride 1), f168 (forward stride 2:
 * input pixels 16 floats apart), f80 (backward-data stride > 1: output pixels sw*8
 * apart), gen (everything else: strided or flat input). Each has straight tiles of any
 * width (s_) and full-width tiles spanning two rows (w_); gen's straight tiles also span. */
typedef void (*row_fn)(const struct ck_dconv_row *, const struct steps *, const float *,
                       float *, int, ptrdiff_t, ptrdiff_t);

#define ROW_FN_N1(name, sp, dp, wrap, nob, ur, n1c)                                       \
    static void name(const struct ck_dconv_row *a, const struct steps *st, const float *src, \
                     float *dst, int n1, ptrdiff_t sj, ptrdiff_t dj)                        \
    {                                                                                     \
        row_tile(a, st, src, dst, n1, sj, dj, nob, ur, sp, dp, wrap, n1c);                \
    }
#define ROW_FN(fam, sp, dp, wrap, nob, ur)                                                \
    ROW_FN_N1(fam##_##nob##x##ur, sp, dp, wrap, nob, ur, 0)
#define ROW_FNS(fam, sp, dp, wrap)                                                        \
    ROW_FN(fam, sp, dp, wrap, 1, 1) ROW_FN(fam, sp, dp, wrap, 1, 2)                       \
    ROW_FN(fam, sp, dp, wrap, 1, 3) ROW_FN(fam, sp, dp, wrap, 1, 4)                       \
    ROW_FN(fam, sp, dp, wrap, 1, 5) ROW_FN(fam, sp, dp, wrap, 1, 6)                       \
    ROW_FN(fam, sp, dp, wrap, 1, 7) ROW_FN(fam, sp, dp, wrap, 1, 8)                       \
    ROW_FN(fam, sp, dp, wrap, 1, 9) ROW_FN(fam, sp, dp, wrap, 1, 10)                      \
    ROW_FN(fam, sp, dp, wrap, 1, 11) ROW_FN(fam, sp, dp, wrap, 1, 12)                     \
    ROW_FN(fam, sp, dp, wrap, 2, 1) ROW_FN(fam, sp, dp, wrap, 2, 2)                       \
    ROW_FN(fam, sp, dp, wrap, 2, 3) ROW_FN(fam, sp, dp, wrap, 2, 4)                       \
    ROW_FN(fam, sp, dp, wrap, 2, 5) ROW_FN(fam, sp, dp, wrap, 2, 6)                       \
    ROW_FN(fam, sp, dp, wrap, 3, 1) ROW_FN(fam, sp, dp, wrap, 3, 2)                       \
    ROW_FN(fam, sp, dp, wrap, 3, 3) ROW_FN(fam, sp, dp, wrap, 3, 4)                       \
    ROW_FN(fam, sp, dp, wrap, 4, 1) ROW_FN(fam, sp, dp, wrap, 4, 2)                       \
    ROW_FN(fam, sp, dp, wrap, 4, 3)
#define WRAP_FNS(fam, sp, dp)                                                             \
    ROW_FN(fam, sp, dp, 1, 1, 12) ROW_FN(fam, sp, dp, 1, 2, 6) ROW_FN(fam, sp, dp, 1, 3, 4) \
    ROW_FN(fam, sp, dp, 1, 4, 3)
/* 2x6 tiles over two rows with n1 = 1..5 pixels on the first (the usual tile) */
#define WRAP2_FNS(fam, sp, dp)                                                            \
    ROW_FN_N1(fam##_1, sp, dp, 1, 2, 6, 1) ROW_FN_N1(fam##_2, sp, dp, 1, 2, 6, 2)          \
    ROW_FN_N1(fam##_3, sp, dp, 1, 2, 6, 3) ROW_FN_N1(fam##_4, sp, dp, 1, 2, 6, 4)          \
    ROW_FN_N1(fam##_5, sp, dp, 1, 2, 6, 5)
ROW_FNS(s88, 8, 8, 0) ROW_FNS(s168, 16, 8, 0) ROW_FNS(s80, 8, 0, 0) ROW_FNS(gen, 0, 0, 1)
WRAP_FNS(w88, 8, 8) WRAP_FNS(w168, 16, 8) WRAP_FNS(w80, 8, 0)
WRAP2_FNS(v88, 8, 8) WRAP2_FNS(v168, 16, 8) WRAP2_FNS(v80, 8, 0)

typedef void (*run_fn)(const struct ck_dconv_row *, const struct steps *, const float *,
                       float *, int, struct pf_state *);
#define RUN_FN(fam, sp, dp, nob, ur)                                                      \
    static void fam##_##nob##x##ur(const struct ck_dconv_row *a, const struct steps *stp, \
                                   const float *src, float *dst, int ntile,              \
                                   struct pf_state *st)                                  \
    {                                                                                     \
        row_run(a, stp, src, dst, ntile, st, nob, ur, sp, dp);                            \
    }
#define RUN_FNS(fam, sp, dp)                                                              \
    RUN_FN(fam, sp, dp, 1, 12) RUN_FN(fam, sp, dp, 2, 6) RUN_FN(fam, sp, dp, 3, 4)        \
    RUN_FN(fam, sp, dp, 4, 3)
RUN_FNS(r88, 8, 8) RUN_FNS(r168, 16, 8) RUN_FNS(r80, 8, 0) RUN_FNS(rgen, 0, 0)

/* [nob-1][ur-1]; NULL where nob*ur > 12 (never used). */
#define ROW_TABLE(pre)                                                                    \
    {                                                                                     \
        {pre##1x1, pre##1x2, pre##1x3, pre##1x4, pre##1x5, pre##1x6, pre##1x7, pre##1x8,  \
         pre##1x9, pre##1x10, pre##1x11, pre##1x12},                                      \
        {pre##2x1, pre##2x2, pre##2x3, pre##2x4, pre##2x5, pre##2x6},                     \
        {pre##3x1, pre##3x2, pre##3x3, pre##3x4},                                         \
        {pre##4x1, pre##4x2, pre##4x3},                                                   \
    }
#define WRAP_TABLE(pre) {pre##1x12, pre##2x6, pre##3x4, pre##4x3}
/* [family][nob-1][ur-1] and [family][nob-1]; family 3 is gen */
static const row_fn straight_fns[4][4][12] = {ROW_TABLE(s88_), ROW_TABLE(s168_),
                                              ROW_TABLE(s80_), ROW_TABLE(gen_)};
static const row_fn wrap_fns[4][4] = {WRAP_TABLE(w88_), WRAP_TABLE(w168_), WRAP_TABLE(w80_),
                                      WRAP_TABLE(gen_)};
#define WRAP2_TABLE(pre) {pre##1, pre##2, pre##3, pre##4, pre##5}
static const row_fn wrap2_fns[3][5] = {WRAP2_TABLE(v88_), WRAP2_TABLE(v168_),
                                       WRAP2_TABLE(v80_)};
static const run_fn run_fns[4][4] = {WRAP_TABLE(r88_), WRAP_TABLE(r168_), WRAP_TABLE(r80_),
                                     WRAP_TABLE(rgen_)};

/* The tiles of one call whose reduction is the step list sp (see ck_dconv_row__avx2). */
static void row_call(const struct ck_dconv_row *a, const struct steps *sp)
{
    const int nob = a->nob, ur = CK_DCONV_UR(nob), npix = a->npix;
    const int blk8 = a->blk_len == 8 && a->src_ch == 1;
    const int fam = !blk8 ? 3
                    : a->src_pix == 8 && a->dst_pix == 8 ? 0
                    : a->src_pix == 16 && a->dst_pix == 8 ? 1
                    : a->src_pix == 8 ? 2 : 3;
    const row_fn *straight = straight_fns[fam][nob - 1];
    const ptrdiff_t sjump = a->src_row - npix * a->src_pix;
    const ptrdiff_t djump = a->dst_row - npix * a->dst_pix;
    const long total = (long)a->nrow * npix, ntile = (total + ur - 1) / ur;
    struct pf_state st;
    for (int r = 0; r < 2; r++) /* one segment of the job's bytes */
        ck_avx2_pf_init(&st.r[r], a->pf[r], (a->pf_bytes[r] + 63) / 64,
                        a->pf_nseg[r] > 1 ? a->pf_nseg[r] : 1, a->pf_stride[r], (size_t)ntile);
    int i = 0, j = 0; /* row and pixel of the next tile */
    for (long done = 0; done < total;) {
        const float *s = a->src + i * a->src_row + j * a->src_pix;
        float *d = a->dst + i * a->dst_row + j * a->dst_pix;
        const int left = npix - j;
        int n = (int)(total - done < ur ? total - done : ur);
        const int nrun = (int)((n == ur ? left : 0) / ur);
        if (nrun > 1 && (long)nrun * ur <= total - done) { /* straight full tiles */
            run_fns[fam][nob - 1](a, sp, s, d, nrun, &st);
            n = nrun * ur;
        } else if (n <= left) { /* straight tile */
            pf_step(&st);
            straight[n - 1](a, sp, s, d, n, 0, 0);
        } else if (n == ur && n - left <= npix) { /* full tile over two rows */
            pf_step(&st);
            if (nob == 2 && fam < 3)
                wrap2_fns[fam][left - 1](a, sp, s, d, left, sjump, djump);
            else
                wrap_fns[fam][nob - 1](a, sp, s, d, left, sjump, djump);
        } else { /* the row's rest as a narrow straight tile */
            pf_step(&st);
            n = left;
            straight[n - 1](a, sp, s, d, n, 0, 0);
        }
        done += n, j += n;
        while (j >= npix)
            j -= npix, i++;
    }
}

/* The (block, tap) steps go in groups of at most MAX_STEPS, in order; a later group adds
 * to dst (the partial sums pass through dst as the float32 values the accumulators hold,
 * so every sum is the same as in one pass), and the prefetch share goes with the first. */
void ck_dconv_row__avx2(const struct ck_dconv_row *a)
{
    struct steps sp;
    struct ck_dconv_row part = *a;
    int b = 0, t = 0; /* the next step's block and tap (no divisions: they cost more than
                       * a short call's tiles) */
    do {
        for (sp.n = 0; sp.n < MAX_STEPS && b < a->nblk && t < a->ntap; sp.n++) {
            sp.src[sp.n] = b * a->src_blk + a->tap_src[t];
            sp.w[sp.n] = a->w + b * a->w_blk + a->tap_w[t] * 8 * a->nob;
            if (++t == a->ntap)
                t = 0, b++;
        }
        row_call(&part, &sp);
        part.accumulate = 1;
        part.pf[0] = part.pf[1] = NULL;
    } while (b < a->nblk && t < a->ntap);
}
