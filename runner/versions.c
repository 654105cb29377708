/* Versions of mer and of the libraries actually linked (not the headers compiled against). */
#include <cblas.h>
#include <hdf5.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libswscale/swscale.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <yaml.h>

#include "mer_version.h"
#include "runner/commands.h"

/* Declared by OpenBLAS's cblas.h on Debian, repeated in case another CBLAS header is found first. */
char *openblas_get_config(void);
char *openblas_get_corename(void);

static void av_ver(const char *name, unsigned v) {
    printf("  %-12s %u.%u.%u\n", name, v >> 16, (v >> 8) & 0xff, v & 0xff);
}

void print_versions(void) {
    printf("mer %s\n", MER_VERSION);
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(mpi, &len);
    for (int i = 0; i < len; i++)
        if (mpi[i] == '\n' || mpi[i] == ',') {
            mpi[i] = 0;
            break;
        }
    printf("  %-12s %s\n", "MPI", mpi);
    unsigned maj, min, rel;
    H5get_libversion(&maj, &min, &rel);
    printf("  %-12s %u.%u.%u\n", "HDF5", maj, min, rel);
    printf("  %-12s %s (core %s)\n", "OpenBLAS", openblas_get_config(), openblas_get_corename());
    av_ver("libavformat", avformat_version());
    av_ver("libavcodec", avcodec_version());
    av_ver("libswscale", swscale_version());
    av_ver("libavutil", avutil_version());
    printf("  %-12s %s\n", "libyaml", yaml_get_version_string());
}

int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mer %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mer %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}
