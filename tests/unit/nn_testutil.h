/* Helpers shared by the tests/unit/test_nn_*.c tests: random tensors and error measures. */
#pragma once
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "io/base/rng.h"

static inline float *nn_test_randn(size_t n, mer_rng *r, float scale) {
    float *x = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) x[i] = scale * rng_normal(r);
    return x;
}

/* ||a - b|| / max(||b||, tiny) */
static inline double nn_test_rel_l2(const float *a, const float *b, size_t n) {
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    return sqrt(num) / (den > 1e-30 ? sqrt(den) : 1e-15);
}
