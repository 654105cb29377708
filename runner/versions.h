#ifndef MER_RUNNER_VERSIONS_H
#define MER_RUNNER_VERSIONS_H
#include <stdio.h>

/* mer's version, then each linked library as loaded (MPI, HDF5, OpenBLAS and its kernel family, the
 * convolution engine, FFmpeg, libyaml), one per line. */
void fprint_versions(FILE *f);

#endif
