/* conv_winograd.h - what the Winograd backend's two files share (internal): the plan of
 * one pass (sizes, blocking, workspace offsets; made by plan_init in conv_winograd.c) and
 * the weight-gradient driver (conv_winograd_wg.c). Not here: matrices and kernels
 * (winograd.h), the backend tables (conv_winograd.c).
 */
#ifndef CONVKIT_CONV_WINOGRAD_H
#define CONVKIT_CONV_WINOGRAD_H

#include <stddef.h>

#include "convkit/backend.h"
#include "winograd.h"

/* Backward-weights: bytes of transformed tiles in one block (shared by all threads). */
#define CK_WINO_WG_BLOCK_BYTES ((size_t)4 << 20)

/* One pass seen as a Winograd convolution of src (Ci channels, Hi x Wi) into an
 * Ho x Wo output with Co channels, per group. */
struct ck_wino_plan {
    enum ck_wino_variant v;
    const struct ck_wino_spec *s;
    const struct ck_wino_kernels *kern;
    enum ck_conv_pass pass;
    int N, G;
    int Ci, Hi, Wi, Co, Ho, Wo;
    int Cti, Cto;          /* channels of the whole src / dst tensors */
    int pt, pl;            /* src row/col = blocked row/col - (pt, pl); may be negative */
    int m, al, A2;
    int TH, TW;            /* tiles per image */
    size_t tiles;          /* N * TH * TW */
    int Hb, Wb;            /* blocked (padded) src plane */
    int Hd, Wd;            /* backward-weights: blocked dy plane TH*m x TW*m */
    int CB, Cp, KB, Kp;    /* 8-channel blocks of Ci and Co, rounded channel counts */
    int Tb;                /* tiles per block */
    int nthr;              /* threads the workspace is laid out for */
    size_t vs, ms;         /* plane strides (floats) of the tile block buffers */
    size_t u_floats;       /* transformed filters, all groups (fwd/bwd-data); dU (wg) */
    /* workspace byte offsets */
    size_t off_u, off_w, off_bias, off_xb, off_dyb, off_blk, blk_bytes, total;
};

/* Backward-weights of every group with the plan's workspace ws: dw (K, C/G, 3, 3) and,
 * if db != NULL, db (K). Results do not depend on pl->nthr. */
enum ck_status ck__wino_weights(const struct ck_wino_plan *pl, const float *x,
                                const float *dy, float *dw, float *db, void *ws);

#endif
