/* shapes.h - the shared convolution shape corpus (tests and bench/), plain C.
 *
 * About a hundred small problems covering kernel 1..7 (square and not), stride 1..3
 * (sh != sw too), every padding mode (valid, TF "same" with asymmetric splits, explicit
 * symmetric and T,L,B,R), dilation 2/3, groups and depthwise, batch 1..4, odd sizes and
 * channel counts, plus a few real layers in small batch. Sized so naive + fp64 reference
 * over the whole corpus in all three passes takes seconds even under ASan. No Criterion.
 */
#ifndef CK_TEST_SHAPES_H
#define CK_TEST_SHAPES_H

#include <stddef.h>

#include "convkit/conv.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ckt_shape {
    /* ck_conv_problem_format(p) plus "_n" and a purpose tag, e.g.
     * "mb2ic5ih7iw9oc7kh3sh2ph1_nk3". Symmetric problems parse back exactly; for asymmetric
     * padding the descriptor only carries oh/ow, so a parse may give other bottom/right pads
     * with the same output size. */
    const char *name;
    struct ck_conv_params p; /* resolved (pads filled in); passes ck_conv_check */
};

/* Number of shapes in the corpus (fixed at compile time). */
size_t ckt_corpus_count(void);

/* The i-th shape, or NULL if i >= count. The first call resolves the table (thread-safe). */
const struct ckt_shape *ckt_corpus_get(size_t i);

/* The shape whose tag (the part after "_n") is tag, or NULL. */
const struct ckt_shape *ckt_corpus_find(const char *tag);

#ifdef __cplusplus
}
#endif
#endif
