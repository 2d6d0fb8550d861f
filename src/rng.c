/* rng.c - counter-based RNG: draw = mix(key(seed, stream) + counter * golden ratio).
 *
 * This is splitmix64 made addressable: the splitmix64 sequence of a per-stream key,
 * where the key itself is a mixed (seed, stream) pair, so streams of one seed and
 * seeds of one stream give unrelated sequences. Statistical quality is that of
 * splitmix64 (passes BigCrush per stream); it is not a cryptographic generator.
 */
#include <math.h>

#include "convkit/rng.h"

#define CK_GOLDEN 0x9E3779B97F4A7C15ull

/* The splitmix64 / murmur3 finaliser: a bijection on 64-bit words. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t ck_rng_hash(uint64_t seed, uint64_t stream, uint64_t counter)
{
    uint64_t key = mix64(seed + CK_GOLDEN) ^
                   mix64(stream * 0xD1B54A32D192ED03ull + 0x632BE59BD9B4E019ull);
    return mix64(key + (counter + 1) * CK_GOLDEN);
}

void ck_rng_init(struct ck_rng *r, uint64_t seed, uint64_t stream)
{
    r->seed = seed;
    r->stream = stream;
    r->counter = 0;
}

uint64_t ck_rng_u64(struct ck_rng *r)
{
    return ck_rng_hash(r->seed, r->stream, r->counter++);
}

uint32_t ck_rng_u32(struct ck_rng *r)
{
    return (uint32_t)(ck_rng_u64(r) >> 32);
}

float ck_rng_uniform(struct ck_rng *r)
{
    return ck_rng_unit_float(ck_rng_u64(r));
}

double ck_rng_uniform_double(struct ck_rng *r)
{
    return (double)(ck_rng_u64(r) >> 11) * 0x1.0p-53;
}

double ck_rng_normal(struct ck_rng *r, double mean, double std)
{
    /* u1 in (0, 1] so that log(u1) is finite */
    double u1 = 1.0 - ck_rng_uniform_double(r);
    double u2 = ck_rng_uniform_double(r);
    return mean + std * sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

uint32_t ck_rng_below(struct ck_rng *r, uint32_t n)
{
    if (n == 0)
        return 0;
    /* Lemire: m = x * n; the high word is the result unless the low word falls in the
     * biased zone [0, 2^32 mod n), which is rejected. */
    uint64_t m = (uint64_t)ck_rng_u32(r) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)ck_rng_u32(r) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}
