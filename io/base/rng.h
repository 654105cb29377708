/* Deterministic random numbers for the neural-network code: splitmix64.
 *
 * The generator is one 64-bit word, so it is trivially checkpointed (store `state`) and reproduced
 * bit-identically in Python for test fixtures (tests/ref/nn_common.py implements the same three
 * functions):
 *   next_u64:  state += 0x9E3779B97F4A7C15; z = state;
 *              z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9; z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
 *              return z ^ (z >> 31)
 *   uniform:   (next_u64 >> 40) * 2^-24, a float in [0, 1) that is exact in float32
 *   normal:    Box-Muller from two draws, u1 = ((a >> 11) + 1) * 2^-53, u2 = (b >> 11) * 2^-53,
 *              sqrt(-2 ln u1) * cos(2 pi u2) (the sine half is discarded to keep the state one word)
 */
#pragma once
#include <stdint.h>

typedef struct {
    uint64_t state;
} mer_rng;

static inline mer_rng rng_seeded(uint64_t seed) {
    mer_rng r = {seed};
    return r;
}
uint64_t rng_u64(mer_rng *r);
float rng_uniform(mer_rng *r);                    /* [0, 1) */
float rng_uniform_range(mer_rng *r, float lo, float hi); /* lo + (hi - lo) * uniform, computed in double */
float rng_normal(mer_rng *r);                     /* standard normal */
uint32_t rng_below(mer_rng *r, uint32_t n);       /* uniform integer in [0, n), n > 0 (rejection, unbiased) */
/* Fisher-Yates shuffle of idx[0..n) using rng_below. */
void rng_shuffle(mer_rng *r, int *idx, int n);
/* An independent stream derived from (seed, stream id), e.g. one per purpose (init, data order, dropout). */
mer_rng rng_derive(uint64_t seed, uint64_t stream);
