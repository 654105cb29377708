/* Thread count and OpenBLAS kernel family of the numerical code (see threads.h). */
#include "core/nn/threads.h"

#include "core/nn/engine.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* OpenBLAS families by the vector width of their sgemm kernels. A DYNAMIC_ARCH OpenBLAS that does not
 * know a CPU model falls back to a generic family (0.3.21 runs Prescott's SSE3 kernels on an AVX-512 Xeon of
 * family 6 model 207: 3-4x slower GEMMs). */
static int family_in(const char *core, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (core && !strcasecmp(core, names[i])) return 1;
    return 0;
}

const char *nn_blas_core_choice(const char *core, int avx512, int avx2) {
    static const char *const wide[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2_ok[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    if (avx512) return family_in(core, wide, 3) ? NULL : "SkylakeX"; /* measured fastest of the three here */
    if (avx2) return family_in(core, avx2_ok, 5) ? NULL : "Haswell";
    return NULL;
}

/* The features the kernels need, as enabled by the OS (libgcc checks XCR0, so no AVX-512 family is chosen
 * where the kernel does not save its registers). */
static void cpu_vector_features(int *avx512, int *avx2) {
    *avx512 = *avx2 = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    *avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512cd");
    *avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
}

const char *nn_blas_better_core(void) {
    int avx512, avx2;
    cpu_vector_features(&avx512, &avx2);
    return nn_blas_core_choice(openblas_get_corename(), avx512, avx2);
}

static int nn_blas_uses_openmp(void) { return openblas_get_parallel() == 2; /* 0 sequential, 1 pthreads, 2 OpenMP */ }

static int nn_loop_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *nn_blas_corename(void) { return openblas_get_corename(); }

const char *nn_blas_advice(void) {
    const char *user = getenv("OPENBLAS_CORETYPE");
    if (!user || !*user || getenv(NN_BLAS_REEXEC_ENV) || !nn_blas_better_core()) return NULL;
    return "OPENBLAS_CORETYPE keeps OpenBLAS on narrower kernels than this CPU runs: unset it (mer then "
           "chooses) or set SkylakeX (AVX-512) / Haswell (AVX2) for 2-3x faster GEMMs";
}

void nn_describe_threads(char *buf, size_t size, int threads) {
    static const char *const builds[3] = {"sequential", "pthreads", "OpenMP"};
    const int p = openblas_get_parallel();
    const char *fallback = getenv(NN_BLAS_REEXEC_ENV);
    char chosen[96] = "";
    if (fallback && *fallback) snprintf(chosen, sizeof chosen, " chosen by mer, OpenBLAS picked %s", fallback);
    char engine[48];
    nn_engine_describe(engine, sizeof engine, nn_engine_default());
    snprintf(buf, size, "%d thread%s (convolutions: %s; GEMMs: OpenBLAS %s build, %s kernels%s; own loops: %d)",
             threads, threads == 1 ? "" : "s", engine, p >= 0 && p <= 2 ? builds[p] : "?", nn_blas_corename(), chosen,
             nn_loop_threads());
}

int nn_threads_default(void) {
    const char *names[2] = {"SLURM_CPUS_PER_TASK", "MER_THREADS"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        char *end;
        if (v && *v) {
            const long n = strtol(v, &end, 10);
            if (!*end && n > 0 && n < 4096) return (int)n;
        }
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int nn_threads_in_use(void) { return openblas_get_num_threads(); }

int nn_set_threads(int n) {
    if (n <= 0) n = nn_threads_default();
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(nn_blas_uses_openmp() ? n : 1);
#endif
    return n;
}

