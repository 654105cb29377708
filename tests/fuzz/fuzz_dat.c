/* libFuzzer harness: dlib shape_predictor deserialisation on arbitrary bytes (tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/face/landmarks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mer_err err;
    shape_model *m = NULL;
    if (shape_model_load_mem(&m, data, size, "fuzz.dat", &err) == 0) {
        /* a loaded model must also predict, inside and partly outside a small image */
        uint8_t img[32 * 24];
        for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 13);
        double(*pts)[2] = malloc(sizeof *pts * (size_t)shape_model_parts(m));
        long r1[4] = {2, 2, 20, 20}, r2[4] = {-10, 15, 40, 60};
        if (pts) {
            shape_predict(pts, m, img, 32, 24, r1);
            shape_predict(pts, m, img, 32, 24, r2);
        }
        free(pts);
        shape_model_free(m);
    }
    return 0;
}
