/* Vector code paths for the elementwise loops of the nn engine (BatchNorm, pooling, im2col, ...).
 *
 * mer is compiled for baseline x86-64 (it must run on every node of a cluster), which gives GCC only
 * SSE2 to vectorise with. MER_VECTOR_CLONES asks GCC for AVX-512 and AVX2 versions of a hot function
 * next to the baseline one; the dynamic loader picks the best the CPU has (ifunc), once.
 *
 * Results do not depend on the clone: no clone enables FMA (so no a*b+c is contracted differently),
 * and reductions are written with explicit lanes (MER_LANES partial sums, combined in a fixed order),
 * so every clone performs the same float operations in the same order.
 * Disabled under the sanitizers (ifunc resolvers run before their runtime is set up) and off x86-64. */
#pragma once
#include <stddef.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define MER_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MER_VECTOR_CLONES
#endif

#define MER_LANES 16

/* Parallel loops over independent outputs (channels, planes, column-matrix rows): every output is
 * computed by one thread with the same operations as on one thread, so results do not depend on the
 * thread count. `if (cond)` keeps small loops on the calling thread. The GEMMs use the same OpenMP
 * pool when mer links the OpenMP build of OpenBLAS (CMakeLists.txt); no BLAS call is made inside
 * these loops. */
#ifdef _OPENMP
#define MER_PRAGMA(x) _Pragma(#x)
#define MER_PARALLEL_FOR_IF(cond) MER_PRAGMA(omp parallel for schedule(static) if (cond))
#else
#define MER_PARALLEL_FOR_IF(cond)
#endif
/* Elements below which a loop is not worth waking threads for. */
#define MER_PARALLEL_MIN 32768
