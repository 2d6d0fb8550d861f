/* gemm.h - convkit's own packed single-precision GEMM (internal, not public API).
 *
 * C = alpha * op(A) * op(B) + beta * C in the BLIS style: op(B) and op(A) are copied
 * into cache-sized packed blocks in the caller's workspace and an MR x NR register-
 * blocked micro-kernel (AVX2+FMA when the CPU has it, portable C otherwise) does the
 * arithmetic. The micro-kernel contract is documented once, in gemm.c. This header
 * does not do convolution lowering (im2col.h) and allocates nothing.
 */
#ifndef CONVKIT_GEMM_H
#define CONVKIT_GEMM_H

#include <stddef.h>

#include "convkit/status.h"

/* Register tile of every micro-kernel (the packed layouts depend on it). */
#define CK_GEMM_MR 6
#define CK_GEMM_NR 16
/* The largest k block the driver packs (its KC): the kc of every packer call. */
#define CK_GEMM_KC_MAX 320
/* Upper bound of the workspace one thread needs: (MC*KC + KC*NC) floats (gemm.c). */
#define CK_GEMM_WS_PER_THREAD ((size_t)(144 + 4080) * CK_GEMM_KC_MAX * 4)

enum ck_gemm_trans { CK_GEMM_NOTRANS = 0, CK_GEMM_TRANS = 1 };

/* Which micro-kernel (tests force one; AUTO = AVX2 if compiled and the CPU has it). */
enum ck_gemm_kernel { CK_GEMM_KERNEL_AUTO = 0, CK_GEMM_KERNEL_PORTABLE, CK_GEMM_KERNEL_AVX2 };

/* Which algorithm (tests force one; AUTO = unpacked loops for tiny problems, dot
 * products for a long K with a small C). DOT needs the AVX2 kernel, a stored A with rows
 * and a stored B with columns contiguous along k (plain strides); otherwise, or with the
 * portable kernel, it is PACKED. */
enum ck_gemm_path {
    CK_GEMM_PATH_AUTO = 0,
    CK_GEMM_PATH_PACKED,
    CK_GEMM_PATH_SMALL,
    CK_GEMM_PATH_DOT
};

/* One index of a matrix view. offset(i) = (i % blk) * stride + (i / blk) * blk_stride,
 * or i * stride when blk == 0. Blocks let the convolution backend treat "pixel p of
 * image n" as one index over several NCHW images without copying them. */
struct ck_gemm_index {
    size_t stride, blk, blk_stride;
};

/* Element (i, j) of a matrix lives at data + offset_row(i) + offset_col(j). */
struct ck_gemm_layout {
    struct ck_gemm_index row, col;
};

/* An op(B) that is computed while packing instead of stored (a convolution's im2col
 * columns, never materialised). pack fills rows k0..k0+kc-1 and columns j0..j0+nc-1
 * of op(B) into bp in the packed panel layout: panel t holds columns j0+t*NR.., element
 * (k, j) at bp[t*kc*NR + (k-k0)*NR + (j-j0-t*NR)], zeros in columns past j0+nc; bp is
 * 32-byte aligned, kc <= CK_GEMM_KC_MAX and nc <= 4080. Called by several threads at once (disjoint
 * bp); must not allocate. */
struct ck_gemm_bsource {
    void (*pack)(const void *ctx, size_t k0, size_t kc, size_t j0, size_t nc, float *bp);
    const void *ctx;
};

/* Everything one GEMM needs. op(A) is M x K, op(B) is K x N, C is M x N (logical
 * shapes: transposition is expressed by the layouts). */
struct ck_gemm_args {
    int M, N, K;
    float alpha, beta; /* beta == 0: C is write-only (may hold NaN) */
    const float *a;
    struct ck_gemm_layout la;
    const float *b;
    struct ck_gemm_layout lb;
    const struct ck_gemm_bsource *bsrc; /* non-NULL: op(B) comes from here; b, lb unused */
    float *c;
    struct ck_gemm_layout lc;
    const float *row_add; /* non-NULL: then C[i][j] += row_add[i] (a bias), M floats */
    enum ck_gemm_kernel kernel;
    enum ck_gemm_path path;
};

/* Layout of a row-major matrix with leading dimension ld, read as op(X):
 * NOTRANS: (i, j) at i*ld + j;  TRANS: (i, j) at j*ld + i. */
struct ck_gemm_layout ck_gemm_layout_rm(enum ck_gemm_trans t, size_t ld);

/* Workspace (bytes) ck_sgemm_ex needs with the current omp_get_max_threads(). It is
 * 0 for problems taking the small or the dot path; otherwise per thread one packed A block
 * (<= MC x KC floats) and one packed B block (<= KC x NC floats), each shrunk to the
 * problem. Bounded by threads * (MC*KC + KC*NC) * 4 bytes = threads * 5,406,720 bytes
 * (CK_GEMM_WS_PER_THREAD, about 5.2 MiB a thread).
 * A smaller workspace makes the call use fewer threads (results do not change). */
size_t ck_sgemm_ex_workspace_size(const struct ck_gemm_args *g);

/* Run one GEMM. CK_ERR_INVALID_ARGUMENT for negative sizes or NULL operands,
 * CK_ERR_WORKSPACE_TOO_SMALL if even one thread's blocks do not fit in ws.
 * Results are bit-identical for any thread count. */
enum ck_status ck_sgemm_ex(const struct ck_gemm_args *g, void *ws, size_t ws_size);

/* BLAS-like row-major entry point: op(A) is M x K with leading dimension lda, op(B)
 * is K x N (ldb), C is M x N (ldc). */
size_t ck_sgemm_workspace_size(int M, int N, int K);
enum ck_status ck_sgemm(enum ck_gemm_trans transa, enum ck_gemm_trans transb, int M, int N,
                        int K, float alpha, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc, void *ws, size_t ws_size);

/* One packed B panel from NR columns that are each contiguous along k: bp[k*NR + j] =
 * cols[j][k] for k < kc; a NULL cols[j] gives a zero column. (8x8 register transposes
 * when the CPU has AVX2; for B packers.) */
void ck_gemm_pack_panel_t(size_t kc, const float *const cols[CK_GEMM_NR], float *bp);

/* The portable micro-kernel (contract in gemm.c). */
void ck_sgemm_ukernel_6x16__ref(size_t kc, const float *a, const float *b, float *c,
                                size_t ldc, float alpha, float beta);

#endif
