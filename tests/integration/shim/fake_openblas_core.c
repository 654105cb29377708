/* LD_PRELOAD shim for test_blas_kernels.sh: makes openblas_get_corename() report the generic family
 * "Prescott", as OpenBLAS 0.3.21 does on CPUs it does not know, unless OPENBLAS_CORETYPE names one. */
#include <stdlib.h>

char *openblas_get_corename(void) {
    char *c = getenv("OPENBLAS_CORETYPE");
    return c && *c ? c : "Prescott";
}
