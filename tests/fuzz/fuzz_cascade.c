/* libFuzzer harness: the XML reader and the cascade loader on arbitrary bytes (tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/face/cascade.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mer_err err;
    cascade *c = NULL;
    if (cascade_load_mem(&c, (const char *)data, size, "fuzz.xml", &err) == 0) {
        /* a loaded cascade must also run: one small detection on a fixed image */
        uint8_t img[48 * 40];
        for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 37 + (i >> 5) * 11);
        cascade_opts o = {1.3, 1, 0, 0, 0, 0};
        int(*boxes)[4] = NULL, n = 0;
        cascade_detect(&boxes, &n, c, img, 48, 40, &o, &err);
        free(boxes);
        cascade_free(c);
    }
    return 0;
}
