/* Optimisers over one flat parameter arena (nn_table.params / .grads), learning-rate schedules, and the
 * thread-count control of the numerical code.
 *
 * Update rules follow PyTorch 1.13 exactly (same operation order, float32 state):
 *   sgd:   g = grad + wd p;  buf = momentum buf + g (buf starts at 0; no dampening, no Nesterov);  p -= lr buf
 *          (momentum 0: p -= lr g)
 *   adam:  g = grad + wd p (L2);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *          p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   adamw: p *= 1 - lr wd (decoupled), then the adam update with g = grad
 */
#pragma once
#include <hdf5.h>
#include <stddef.h>

#include "core/err.h"

typedef enum { OPTIM_SGD = 0, OPTIM_ADAM, OPTIM_ADAMW } optim_kind;

typedef struct {
    optim_kind kind;
    float momentum;     /* sgd */
    float weight_decay;
    float beta1, beta2, eps; /* adam/adamw: 0.9, 0.999, 1e-8 */
} optim_options;

optim_options optim_defaults(optim_kind kind);
/* "sgd" | "adam" | "adamw" -> kind; -1 if unknown. */
int optim_kind_parse(const char *s, optim_kind *kind);
const char *optim_kind_name(optim_kind kind);

typedef struct {
    optim_options o;
    size_t n;
    float *m, *v; /* sgd: m is the momentum buffer; adam: first and second moments */
    long step;    /* updates done */
} optimizer;

int optim_init(optimizer *opt, const optim_options *o, size_t n_params, mer_err *err);
void optim_free(optimizer *opt);
void optim_step(optimizer *opt, float *params, const float *grads, float lr);
/* State as datasets under prefix (e.g. "optim/"): kind, step, m, v. load checks kind and size. */
int optim_save(const optimizer *opt, hid_t loc, const char *prefix, mer_err *err);
int optim_load(optimizer *opt, hid_t loc, const char *prefix, mer_err *err);

/* ---- learning-rate schedules, evaluated once per epoch (epoch counts from 0) ---------------------
 * warmup (epochs e < warmup): lr * (e + 1) / warmup.  After warmup, with e' = e - warmup and
 * E' = epochs - warmup:  constant: lr;  step: lr * gamma^floor(e' / step_epochs);
 * cosine: lr * 0.5 * (1 + cos(pi * e' / E')). */
typedef enum { LR_CONSTANT = 0, LR_STEP, LR_COSINE } lr_schedule_kind;
typedef struct {
    lr_schedule_kind kind;
    int warmup_epochs;
    int step_epochs; /* step */
    float gamma;     /* step */
} lr_schedule;
int lr_schedule_parse(const char *s, lr_schedule_kind *kind); /* "constant" | "step" | "cosine" */
const char *lr_schedule_name(lr_schedule_kind kind);
float lr_at_epoch(const lr_schedule *s, float base_lr, int epoch, int epochs);

/* ---- threads ------------------------------------------------------------------------------------
 * One thread count for the GEMMs (OpenBLAS) and mer's own loops (im2col, BatchNorm, pooling, ...; OpenMP,
 * core/simd.h). mer links the OpenMP build of OpenBLAS when it is installed (CMakeLists.txt), so both run
 * on one OpenMP pool. With the pthread build the two pools spin-wait against each other for the same
 * cores (session 1 measured ResNet-18 training at 2 threads fall from ~14-22 to ~3.5 img/s), so then
 * mer's loops stay on one thread and only the GEMMs are parallel.
 * n <= 0 picks nn_threads_default(). Returns the count set. */
int nn_set_threads(int n);
/* OpenBLAS's kernel family (e.g. "Haswell", "SkylakeX"). OpenBLAS picks it when the library loads, from the
 * CPU or from OPENBLAS_CORETYPE. A DYNAMIC_ARCH build that does not know the CPU model falls back to a generic
 * family (0.3.21 on an AVX-512 Xeon of family 6 model 207: Prescott, SSE3, 3-4x slower GEMMs).
 * nn_blas_core_choice: the family to force for a CPU with these (OS-enabled) features when `core` is
 * narrower than they allow (AVX-512 -> SkylakeX, AVX2+FMA -> Haswell), else NULL.
 * nn_blas_better_core: that choice for this process's CPU and OpenBLAS.
 * Since OpenBLAS reads OPENBLAS_CORETYPE only when it loads, `mer` re-executes itself once with it set
 * (runner/main.c, before MPI starts) and records the family OpenBLAS had picked in NN_BLAS_REEXEC_ENV;
 * an OPENBLAS_CORETYPE the user set is kept, and nn_blas_advice() is then the one-line warning when it is
 * narrower than the CPU allows, or NULL. */
#define NN_BLAS_REEXEC_ENV "MER_OPENBLAS_FALLBACK"
const char *nn_blas_corename(void);
const char *nn_blas_core_choice(const char *core, int avx512, int avx2);
const char *nn_blas_better_core(void);
const char *nn_blas_advice(void);
/* "2 threads (GEMMs: OpenBLAS OpenMP build, SkylakeX kernels; own loops: 2)" into buf, plus
 * "SkylakeX kernels chosen by mer, OpenBLAS picked Prescott" after a re-execution. */
void nn_describe_threads(char *buf, size_t size, int threads);
/* SLURM_CPUS_PER_TASK if set and valid, else MER_THREADS, else the number of online CPUs. */
int nn_threads_default(void);
