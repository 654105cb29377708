/* splitmix64 random numbers; the exact algorithm is documented in rng.h. */
#include "io/base/rng.h"

#include <math.h>

uint64_t rng_u64(mer_rng *r) {
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

float rng_uniform(mer_rng *r) { return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f); }

float rng_uniform_range(mer_rng *r, float lo, float hi) {
    return (float)((double)lo + ((double)hi - (double)lo) * (double)rng_uniform(r));
}

float rng_normal(mer_rng *r) {
    const double u1 = (double)((rng_u64(r) >> 11) + 1) * (1.0 / 9007199254740992.0);
    const double u2 = (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint32_t rng_below(mer_rng *r, uint32_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the biased tail */
    uint64_t x;
    do x = rng_u64(r);
    while (x >= limit);
    return (uint32_t)(x % n);
}

void rng_shuffle(mer_rng *r, int *idx, int n) {
    for (int i = n - 1; i > 0; i--) {
        const int j = (int)rng_below(r, (uint32_t)i + 1);
        const int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}

mer_rng rng_derive(uint64_t seed, uint64_t stream) {
    mer_rng r = {seed ^ (0xD1B54A32D192ED03ULL * (stream + 1))};
    (void)rng_u64(&r);
    mer_rng out = {rng_u64(&r)};
    return out;
}
