/* The versions of mer and of the libraries actually linked (not the headers compiled against): printed by
 * `mer version` and stored in results.h5 /meta/libraries. */
#include "runner/versions.h"

#include <cblas.h>
#include <hdf5.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
#include <mpi.h>
#include <stdlib.h>
#include <yaml.h>

#include "core/nn/engine.h"
#include "core/nn/threads.h"
#include "mer_version.h"

/* Declared by OpenBLAS's cblas.h on Debian, repeated in case another CBLAS header is found first. */
char *openblas_get_config(void);
char *openblas_get_corename(void);

static void av_ver(FILE *f, const char *name, unsigned v) {
    fprintf(f, "  %-12s %u.%u.%u\n", name, v >> 16, (v >> 8) & 0xff, v & 0xff);
}

void fprint_versions(FILE *f) {
    fprintf(f, "mer %s\n", MER_VERSION);
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpi, &len);
    for (int i = 0; i < len; i++)
        if (mpi[i] == '\n' || mpi[i] == ',') {
            mpi[i] = 0;
            break;
        }
    fprintf(f, "  %-12s %s\n", "MPI", mpi);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    fprintf(f, "  %-12s %u.%u.%u\n", "HDF5", maj, min, rel);
    const char *fallback = getenv(NN_BLAS_REEXEC_ENV);
    fprintf(f, "  %-12s %s (core %s%s%s)\n", "OpenBLAS", openblas_get_config(), openblas_get_corename(),
            fallback ? ", chosen by mer; OpenBLAS picked " : "", fallback ? fallback : "");
    char engine[48];
    nn_engine_describe(engine, sizeof engine, nn_engine_default());
    fprintf(f, "  %-12s %s\n", "conv engine", engine);
    av_ver(f, "libavformat", avformat_version());
    av_ver(f, "libavcodec", avcodec_version());
    av_ver(f, "libswscale", swscale_version());
    av_ver(f, "libavutil", avutil_version());
    fprintf(f, "  %-12s %s\n", "libyaml", yaml_get_version_string());
}
