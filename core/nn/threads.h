/* Thread and BLAS-kernel control of the numerical code.
 *
 * One thread count for the GEMMs (OpenBLAS) and mer's own loops (im2col, BatchNorm, pooling, ...; OpenMP,
 * core/nn/simd.h). mer links the OpenMP build of OpenBLAS when it is installed (CMakeLists.txt), so both run
 * on one OpenMP pool. With the pthread build the two pools spin-wait against each other for the same
 * cores, so then
 * mer's loops stay on one thread and only the GEMMs are parallel (measured before 1c840d6: ResNet-18
 * training at 2 threads fell from ~14-22 to ~3.5 img/s). */
#pragma once
#include <stddef.h>

/* n <= 0 picks nn_threads_default(). Returns the count set. */
int nn_set_threads(int n);
/* The thread count last set (the GEMMs'). */
int nn_threads_in_use(void);
/* OpenBLAS's kernel family (e.g. "Haswell", "SkylakeX"). OpenBLAS picks it when the library loads, from the
 * CPU or from OPENBLAS_CORETYPE. A DYNAMIC_ARCH build that does not know the CPU model falls back to a generic
 * family (0.3.21 on an AVX-512 Xeon of family 6 model 207: Prescott, SSE3, 3-4x slower GEMMs).
 * nn_blas_core_choice: the family to force for a CPU with these (OS-enabled) features when `core` is
 * narrower than they allow (AVX-512 -> SkylakeX, AVX2+FMA -> Haswell), else NULL.
 * nn_blas_better_core: that choice for this process's CPU and OpenBLAS.
 * Since OpenBLAS reads OPENBLAS_CORETYPE only when it loads, `mer` re-executes itself once with it set
 * (runner/cli/main.c, before MPI starts) and records the family OpenBLAS had picked in NN_BLAS_REEXEC_ENV;
 * an OPENBLAS_CORETYPE the user set is kept, and nn_blas_advice() is then the one-line warning when it is
 * narrower than the CPU allows, or NULL. */
#define NN_BLAS_REEXEC_ENV "MER_OPENBLAS_FALLBACK"
const char *nn_blas_corename(void);
const char *nn_blas_core_choice(const char *core, int avx512, int avx2);
const char *nn_blas_better_core(void);
const char *nn_blas_advice(void);
/* "2 threads (convolutions: oneDNN 2.6.3; GEMMs: OpenBLAS OpenMP build, SkylakeX kernels; own loops: 2)"
 * into buf (the engine: core/nn/engine.h), plus
 * "SkylakeX kernels chosen by mer, OpenBLAS picked Prescott" after a re-execution. */
void nn_describe_threads(char *buf, size_t size, int threads);
/* SLURM_CPUS_PER_TASK if set and valid, else MER_THREADS, else the number of online CPUs. */
int nn_threads_default(void);
