/* The convolution engine of the networks (see engine.h). */
#include "core/nn/engine.h"

#include <stdio.h>

#ifdef MER_HAVE_DNNL
#include <dnnl.h>
#endif

nn_engine nn_engine_default(void) {
#ifdef MER_HAVE_DNNL
    return NN_ENGINE_DNNL;
#else
    return NN_ENGINE_REFERENCE;
#endif
}

int nn_engine_available(nn_engine e) { return e == NN_ENGINE_REFERENCE || e == nn_engine_default(); }

void nn_engine_describe(char *buf, size_t size, nn_engine e) {
#ifdef MER_HAVE_DNNL
    if (e == NN_ENGINE_DNNL) {
        const dnnl_version_t *v = dnnl_version(); /* the library loaded, not the header */
        snprintf(buf, size, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
        return;
    }
#endif
    snprintf(buf, size, "%s", e == NN_ENGINE_DNNL ? "oneDNN (not built in)" : "im2col+OpenBLAS");
}
