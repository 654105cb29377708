/* libFuzzer harness: PyTorch checkpoint reader (io/zip.c, io/pth.c) on arbitrary bytes (tests/fuzz/README.md).
 * Every checkpoint that opens also has each float32 tensor read, so accepted-but-malformed files cannot
 * read out of bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "io/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mer_err err;
    pth_file f;
    if (pth_open_mem(&f, data, size, "fuzz.pth", &err) == 0) {
        for (size_t i = 0; i < f.n_tensors; i++) {
            float *v = NULL;
            if (pth_tensor_numel(&f.tensors[i]) <= (1u << 20)) pth_read_f32(&f, &f.tensors[i], &v, &err);
            free(v);
        }
        pth_close(&f);
    }
    return 0;
}
