/* Thread and BLAS-kernel control: which OpenBLAS family mer forces for which CPU (core/nn/threads.h). */
#include <string.h>

#include "core/nn/threads.h"
#include "tests/check.h"

int main(void) {
    static const struct {
        const char *core;
        int avx512, avx2;
        const char *want; /* NULL: keep OpenBLAS's choice */
    } cases[] = {
        {"Prescott", 1, 1, "SkylakeX"},  /* 0.3.21 on an unknown AVX-512 Xeon */
        {"Haswell", 1, 1, "SkylakeX"},   /* AVX2 family on an AVX-512 CPU */
        {"Zen", 1, 1, "SkylakeX"},       /* AVX-512 Zen 4 taken for an AVX2 Zen */
        {"SkylakeX", 1, 1, NULL},        {"Cooperlake", 1, 1, NULL}, {"SapphireRapids", 1, 1, NULL},
        {"skylakex", 1, 1, NULL},        /* case-insensitive */
        {"Prescott", 0, 1, "Haswell"},   {"Sandybridge", 0, 1, "Haswell"}, {"Nehalem", 0, 1, "Haswell"},
        {"Haswell", 0, 1, NULL},         {"Zen", 0, 1, NULL},
        {"Prescott", 0, 0, NULL},        /* SSE-only CPU: nothing better exists */
        {"Sandybridge", 0, 0, NULL},     {NULL, 1, 1, "SkylakeX"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = nn_blas_core_choice(cases[i].core, cases[i].avx512, cases[i].avx2);
        CHECK(cases[i].want ? got && !strcmp(got, cases[i].want) : !got, "case %zu (%s, avx512 %d, avx2 %d): got %s",
              i, cases[i].core ? cases[i].core : "(null)", cases[i].avx512, cases[i].avx2, got ? got : "(keep)");
    }
    CHECK(nn_set_threads(2) == 2 && nn_set_threads(1) == 1, "thread count set and returned");
    return check_summary();
}
