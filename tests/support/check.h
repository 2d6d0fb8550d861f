/* check.h - test helpers: deterministic fills, NaN pre-fill, and allclose against an
 * fp64 reference with a report of the worst and first mismatches. Tests only. */
#ifndef CK_TEST_CHECK_H
#define CK_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>

/* Fill with quiet NaN so that an element a kernel forgot to write fails the check. */
void ckt_fill_nan(float *a, size_t n);

/* Uniform values in [lo, hi) from a seeded splitmix64 stream (same seed, same data). */
void ckt_fill_uniform(float *a, size_t n, uint64_t seed, float lo, float hi);

/*
 * Compare got (float) with ref (double). Error is measured relative to the reference's
 * magnitude: err_i = |got_i - ref_i| / max(max_j |ref_j|, 1e-30). Passes when every
 * err_i <= tol and no got_i is NaN/Inf. On failure, report (if not NULL) gets one line
 * with the max error, its index, and the first bad index.
 * Returns the max relative error (INFINITY if any value is non-finite).
 */
double ckt_max_rel_err(const float *got, const double *ref, size_t n, char *report,
                       size_t report_len, double tol);

#endif
