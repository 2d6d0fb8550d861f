/* rng.h - the one seeded, counter-based random number generator of convkit.
 *
 * Every draw is a pure function of (seed, stream, counter): value = hash(seed, stream,
 * counter++), a splitmix64-style mix (not cryptographic). So a generator is three
 * integers that can be saved in a checkpoint and restored exactly, any draw can be
 * recomputed from its counter (dropout masks are regenerated in backward instead of
 * stored), and separate streams (init, shuffling, dropout, augmentation) stay
 * reproducible independently of each other and of the thread count.
 */
#ifndef CONVKIT_RNG_H
#define CONVKIT_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The streams convkit uses; any other uint64 value is a valid stream too. */
enum ck_rng_stream {
    CK_RNG_STREAM_INIT = 1,    /**< parameter initialisation */
    CK_RNG_STREAM_SHUFFLE = 2, /**< epoch shuffling */
    CK_RNG_STREAM_DROPOUT = 3, /**< dropout masks */
    CK_RNG_STREAM_AUGMENT = 4, /**< data augmentation */
};

/** Generator state: draw i of (seed, stream) is ck_rng_hash(seed, stream, i). */
struct ck_rng {
    uint64_t seed;
    uint64_t stream;
    uint64_t counter; /**< index of the next draw */
};

/** @brief Start stream `stream` of seed `seed` at counter 0. */
void ck_rng_init(struct ck_rng *r, uint64_t seed, uint64_t stream);

/** @brief The pure function behind every draw: 64 well-mixed bits. */
uint64_t ck_rng_hash(uint64_t seed, uint64_t stream, uint64_t counter);

/** @brief Next 64 random bits (advances counter by 1). */
uint64_t ck_rng_u64(struct ck_rng *r);
/** @brief Next 32 random bits (the high half of one u64 draw). */
uint32_t ck_rng_u32(struct ck_rng *r);
/** @brief Uniform in [0, 1) with 24 random bits (one draw). */
float ck_rng_uniform(struct ck_rng *r);
/** @brief Uniform in [0, 1) with 53 random bits (one draw). */
double ck_rng_uniform_double(struct ck_rng *r);
/** @brief Normal(mean, std) by Box-Muller (two draws; the second variate is dropped). */
double ck_rng_normal(struct ck_rng *r, double mean, double std);
/**
 * @brief Uniform integer in [0, n), exactly unbiased (Lemire's multiply-and-reject).
 * n == 0 returns 0. Usually one draw, occasionally more (rejection).
 */
uint32_t ck_rng_below(struct ck_rng *r, uint32_t n);

/** @brief Uniform [0,1) float (24 bits) of a single hash value, for kernels that
 *  compute draw i directly: ck_rng_unit_float(ck_rng_hash(seed, stream, i)). */
static inline float ck_rng_unit_float(uint64_t bits)
{
    return (float)(bits >> 40) * 0x1.0p-24f;
}

#ifdef __cplusplus
}
#endif
#endif
