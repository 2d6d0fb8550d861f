/* test_rng.c - the counter-based RNG: determinism, addressability, independent
 * streams, and rough distribution checks (fixed seeds: these cannot flake). */
#include <criterion/criterion.h>
#include <math.h>

#include "convkit/convkit.h"

Test(rng, same_seed_same_sequence_and_draws_are_addressable)
{
    struct ck_rng a, b;
    ck_rng_init(&a, 42, CK_RNG_STREAM_INIT);
    ck_rng_init(&b, 42, CK_RNG_STREAM_INIT);
    for (uint64_t i = 0; i < 1000; i++) {
        uint64_t va = ck_rng_u64(&a);
        cr_assert_eq(va, ck_rng_u64(&b));
        cr_assert_eq(va, ck_rng_hash(42, CK_RNG_STREAM_INIT, i));
    }
    cr_assert_eq(a.counter, 1000);
    /* saving (seed, stream, counter) and restoring continues the same sequence */
    struct ck_rng saved = a;
    uint64_t next = ck_rng_u64(&a);
    cr_assert_eq(ck_rng_u64(&saved), next);
}

Test(rng, streams_and_seeds_are_independent)
{
    struct ck_rng s[4];
    for (int k = 0; k < 4; k++)
        ck_rng_init(&s[k], k < 3 ? 7 : 8, (uint64_t)(k < 3 ? k + 1 : 1));
    int equal = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t v[4];
        for (int k = 0; k < 4; k++)
            v[k] = ck_rng_u64(&s[k]);
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < k; j++)
                equal += v[k] == v[j];
    }
    cr_expect_eq(equal, 0);
    /* drawing from one stream does not move another */
    struct ck_rng d, e;
    ck_rng_init(&d, 1, CK_RNG_STREAM_DROPOUT);
    ck_rng_init(&e, 1, CK_RNG_STREAM_SHUFFLE);
    uint64_t first = ck_rng_hash(1, CK_RNG_STREAM_SHUFFLE, 0);
    for (int i = 0; i < 10; i++)
        ck_rng_u64(&d);
    cr_expect_eq(ck_rng_u64(&e), first);
}

Test(rng, uniform_is_in_range_with_flat_histogram)
{
    struct ck_rng r;
    ck_rng_init(&r, 123, 9);
    enum { N = 100000, BINS = 10 };
    long hist[BINS] = {0};
    double sum = 0;
    for (int i = 0; i < N; i++) {
        float u = ck_rng_uniform(&r);
        double d = ck_rng_uniform_double(&r);
        cr_assert(u >= 0.0f && u < 1.0f);
        cr_assert(d >= 0.0 && d < 1.0);
        hist[(int)(u * BINS)]++;
        sum += d;
    }
    double chi2 = 0;
    for (int b = 0; b < BINS; b++)
        chi2 += (hist[b] - N / BINS) * (double)(hist[b] - N / BINS) / (N / BINS);
    cr_expect(chi2 < 27.9, "chi-square %.2f over 9 degrees of freedom (p < 0.001)", chi2);
    cr_expect(fabs(sum / N - 0.5) < 0.005, "mean %.4f", sum / N);
}

Test(rng, normal_has_mean_zero_and_unit_variance)
{
    struct ck_rng r;
    ck_rng_init(&r, 5, CK_RNG_STREAM_INIT);
    enum { N = 50000 };
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double v = ck_rng_normal(&r, 0.0, 1.0);
        cr_assert(isfinite(v));
        s += v;
        s2 += v * v;
    }
    double mean = s / N, var = s2 / N - mean * mean;
    cr_expect(fabs(mean) < 0.03, "mean %.4f", mean); /* ~6 standard errors */
    cr_expect(fabs(var - 1.0) < 0.04, "variance %.4f", var);
    cr_expect_eq(r.counter, 2 * N); /* Box-Muller: two draws per variate */
    /* mean/std are applied */
    ck_rng_init(&r, 5, CK_RNG_STREAM_INIT);
    double v0 = ck_rng_normal(&r, 0.0, 1.0);
    ck_rng_init(&r, 5, CK_RNG_STREAM_INIT);
    cr_expect(fabs(ck_rng_normal(&r, 3.0, 2.0) - (3.0 + 2.0 * v0)) < 1e-12);
}

Test(rng, below_is_in_range_and_unbiased)
{
    struct ck_rng r;
    ck_rng_init(&r, 99, 3);
    cr_expect_eq(ck_rng_below(&r, 0), 0);
    cr_expect_eq(ck_rng_below(&r, 1), 0);
    long c3[3] = {0};
    for (int i = 0; i < 30000; i++) {
        uint32_t v = ck_rng_below(&r, 3);
        cr_assert(v < 3);
        c3[v]++;
    }
    for (int k = 0; k < 3; k++)
        cr_expect(labs(c3[k] - 10000) < 400, "count of %d: %ld", k, c3[k]);
    /* n = 3*2^30: plain `u32 % n` would put [0, 2^30) at probability 1/2; the unbiased
     * answer is 1/3 */
    const uint32_t n = 3u << 30;
    long low = 0;
    for (int i = 0; i < 30000; i++) {
        uint32_t v = ck_rng_below(&r, n);
        cr_assert(v < n);
        low += v < (1u << 30);
    }
    cr_expect(fabs(low / 30000.0 - 1.0 / 3.0) < 0.015, "fraction below 2^30: %.4f",
              low / 30000.0);
}

Test(rng, u32_bits_are_balanced)
{
    struct ck_rng r;
    ck_rng_init(&r, 2024, 11);
    long ones[32] = {0};
    for (int i = 0; i < 20000; i++) {
        uint32_t v = ck_rng_u32(&r);
        for (int b = 0; b < 32; b++)
            ones[b] += (v >> b) & 1u;
    }
    for (int b = 0; b < 32; b++)
        cr_expect(labs(ones[b] - 10000) < 500, "bit %d set %ld times of 20000", b, ones[b]);
}
