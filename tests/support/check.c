/* check.c - fills and the fp64-relative comparison used by every numeric test. */
#include "check.h"

#include <math.h>
#include <stdio.h>

void ckt_fill_nan(float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        a[i] = NAN;
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void ckt_fill_uniform(float *a, size_t n, uint64_t seed, float lo, float hi)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(splitmix64(&s) >> 11) * 0x1.0p-53;
        a[i] = (float)(lo + (hi - lo) * u);
    }
}

double ckt_max_rel_err(const float *got, const double *ref, size_t n, char *report,
                       size_t report_len, double tol)
{
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(ref[i]));
    if (scale < 1e-30)
        scale = 1e-30;
    double worst = 0.0;
    size_t worst_i = 0, first_bad = n, n_bad = 0;
    for (size_t i = 0; i < n; i++) {
        double e = isfinite(got[i]) ? fabs((double)got[i] - ref[i]) / scale : INFINITY;
        if (e > tol || isnan(e)) {
            n_bad++;
            if (first_bad == n)
                first_bad = i;
        }
        if (!(e <= worst)) {
            worst = e;
            worst_i = i;
        }
    }
    if (report && report_len) {
        if (n_bad)
            snprintf(report, report_len,
                     "%zu of %zu elements off: max rel err %.3g at [%zu] (got %.9g, want %.9g), "
                     "first bad [%zu] (got %.9g, want %.9g), scale %.3g, tol %.3g",
                     n_bad, n, worst, worst_i, (double)got[worst_i], ref[worst_i], first_bad,
                     (double)got[first_bad], ref[first_bad], scale, tol);
        else
            snprintf(report, report_len, "ok: max rel err %.3g (tol %.3g)", worst, tol);
    }
    return worst;
}
