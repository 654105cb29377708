/* CLI of the neural-network engine: `mer nn forward|train-step|grad|bench|init`, for checking weights
 * files against PyTorch, debugging, and benchmarking. Only this file prints and picks exit codes. */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/nn/layers.h"
#include "core/models/lsh_head.h"
#include "core/nn/optim.h"
#include "core/nn/threads.h"
#include "core/models/resnet18.h"
#include "io/h5.h"
#include "io/base/log.h"
#include "runner/cli/commands.h"

static void nn_usage(FILE *f) {
    fprintf(f,
            "usage: mer nn ACTION [OPTIONS]\n\n"
            "Check, debug and benchmark the CPU neural-network engine (ResNet-18, LSH attention head).\n\n"
            "Actions:\n"
            "  forward    --model resnet18|head --weights W.h5 --input X.h5 --output Y.h5\n"
            "             resnet18: X.h5 `x` (N,3,H,W) float32 -> `features` (N,512), `logits` (N,C) (eval mode;\n"
            "             logits only if W.h5 has fc.*). head: X.h5 `x` (N,T,d_in) -> `attn` (N,T,d), `logits` (N,C)\n"
            "             (dropout off).\n"
            "  train-step --model resnet18 --weights W.h5 --input X.h5 --lr LR --output W2.h5\n"
            "             X.h5 also holds `y` (N,) labels: one plain SGD step (no momentum, no weight decay) on the\n"
            "             mean cross-entropy with BatchNorm in training mode (running statistics updated). W2.h5 holds\n"
            "             every tensor after the step under the same names and the scalar `loss`.\n"
            "  grad       --model head --weights H.h5 --input F.h5 --output G.h5\n"
            "             `grad/<name>` of every trained head tensor and `loss` for the mean cross-entropy with the\n"
            "             labels `y` of F.h5 (dropout off, the stored planes).\n"
            "  bench      --model resnet18 --size S --batch B --threads T [--train] [--iters K]\n"
            "             images/s and GFLOP/s of eval or training passes on random data (after one warm-up pass),\n"
            "             the OpenBLAS sgemm rate on the same threads, and the time the engine's convolutions take\n"
            "             alone (oneDNN's primitives, or the reference's GEMMs) (batch 32, 3 passes by default).\n"
            "  bench      --model head --train [--batch B] [--threads T] [--iters K]\n"
            "             samples/s of the LSH head's training steps (forward, backward, Adam) at the patent's\n"
            "             sizes: T 32, d_in 512, d 1024, n_rounds 4, hidden 256 (batch 16, median of 50 steps).\n"
            "  init       --model resnet18 --output W.h5 [--seed S] [--classes C] [--pattern]\n"
            "             write torchvision-style random weights (kaiming, from the seed), or with --pattern the\n"
            "             deterministic test pattern of the fixtures (resnet18_init_pattern).\n\n"
            "Common options:\n"
            "  --threads T    OpenBLAS/OpenMP threads (default: SLURM_CPUS_PER_TASK, MER_THREADS, or all CPUs)\n"
            "  --chunk N      forward: images (resnet18) per pass (default 32), bounds memory\n"
            "  --engine E     resnet18: onednn (the default in builds with oneDNN) or reference (im2col + OpenBLAS)\n"
            "  -h, --help     this help\n");
}

typedef struct {
    const char *action, *model, *weights, *input, *output;
    double lr;
    int size, batch, threads, train, iters, classes, pattern, chunk;
    nn_engine engine;
    uint64_t seed;
} nn_args;

static int fail(const char *action, const mer_err *err) {
    fprintf(stderr, "mer nn %s: %s\n", action, err->msg);
    return 1;
}

/* Read dataset `name` as float32 with the expected rank; dims filled. */
static int read_tensor(const char *path, const char *name, int rank, float **data, size_t dims[H5_MAX_DIMS],
                       mer_err *err) {
    hid_t f;
    int nd;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    int rc = h5_read_f32(f, name, data, &nd, dims, err);
    h5_close(f, NULL);
    if (rc == 0 && nd != rank) {
        free(*data);
        *data = NULL;
        return mer_errf(err, "%s: dataset %s has rank %d, expected %d", path, name, nd, rank);
    }
    return rc;
}

static int read_labels(const char *path, int **y, size_t n, mer_err *err) {
    hid_t f;
    int64_t *v = NULL;
    int nd;
    size_t dims[H5_MAX_DIMS];
    if (h5_open(path, 0, &f, err) < 0) return -1;
    int rc = h5_read_i64(f, "y", &v, &nd, dims, err);
    h5_close(f, NULL);
    if (rc < 0) return -1;
    if (nd != 1 || dims[0] != n) {
        free(v);
        return mer_errf(err, "%s: y must have shape (%zu,)", path, n);
    }
    *y = malloc(sizeof(int) * n);
    for (size_t i = 0; i < n; i++) (*y)[i] = (int)v[i];
    free(v);
    return 0;
}

static int check_labels(const int *y, size_t n, int C, const char *path, mer_err *err) {
    for (size_t i = 0; i < n; i++)
        if (y[i] < 0 || y[i] >= C) return mer_errf(err, "%s: label y[%zu] = %d not in [0, %d)", path, i, y[i], C);
    return 0;
}

/* ---- forward ---------------------------------------------------------------------------------- */

static int forward_resnet18(const nn_args *a, mer_err *err) {
    resnet18 *m = NULL;
    float *x = NULL, *feat = NULL, *logits = NULL;
    size_t dims[H5_MAX_DIMS];
    int rc = -1;
    hid_t f;
    if (resnet18_load(&m, a->weights, err) < 0 || resnet18_set_engine(m, a->engine, err) < 0 ||
        read_tensor(a->input, "x", 4, &x, dims, err) < 0)
        goto done;
    if (dims[1] != 3) {
        mer_errf(err, "%s: x must be (N,3,H,W), got %zu channels", a->input, dims[1]);
        goto done;
    }
    const int N = (int)dims[0], H = (int)dims[2], W = (int)dims[3], C = resnet18_n_classes(m);
    feat = malloc(sizeof(float) * N * RESNET18_FEATURES);
    logits = malloc(sizeof(float) * N * (C > 0 ? C : 1));
    for (int s = 0; s < N; s += a->chunk) {
        const int n = N - s < a->chunk ? N - s : a->chunk;
        if (resnet18_forward(m, feat + (size_t)s * RESNET18_FEATURES, logits + (size_t)s * (C > 0 ? C : 1),
                             x + (size_t)s * 3 * H * W, n, H, W, 0, err) < 0)
            goto done;
    }
    if (h5_create_tmp(a->output, &f, err) < 0) goto done;
    const size_t fd[2] = {(size_t)N, RESNET18_FEATURES}, ld[2] = {(size_t)N, (size_t)C};
    if (h5_write_f32(f, "features", feat, 2, fd, err) < 0 || (C > 0 && h5_write_f32(f, "logits", logits, 2, ld, err) < 0)) {
        h5_abort(f, a->output);
        goto done;
    }
    rc = h5_commit(f, a->output, err);
    log_info("nn forward: %d images of %dx%d -> %s", N, H, W, a->output);
done:
    resnet18_free(m);
    free(x), free(feat), free(logits);
    return rc;
}

static int forward_head(const nn_args *a, int grad, mer_err *err) {
    lsh_head *h = NULL;
    float *x = NULL, *logits = NULL, *attn = NULL, *probs = NULL;
    int *y = NULL;
    size_t dims[H5_MAX_DIMS];
    int rc = -1, d_in, T, C;
    hid_t f;
    if (lsh_head_load(&h, a->weights, err) < 0 || read_tensor(a->input, "x", 3, &x, dims, err) < 0) goto done;
    lsh_head_dims(h, &d_in, &T, &C);
    if ((int)dims[1] != T || (int)dims[2] != d_in) {
        mer_errf(err, "%s: x has shape (%zu,%zu,%zu), the head expects (N,%d,%d)", a->input, dims[0], dims[1], dims[2], T,
                 d_in);
        goto done;
    }
    const int N = (int)dims[0];
    const lsh_head_options *o = lsh_head_opts(h);
    const int d = o->attention != ATTN_NONE ? o->d : 0;
    logits = calloc((size_t)N * C, sizeof(float));
    attn = malloc(sizeof(float) * N * T * (d ? d : 1));
    probs = malloc(sizeof(float) * N * C);
    double loss = 0;
    if (grad) {
        mer_rng r = rng_seeded(0);
        if (read_labels(a->input, &y, (size_t)N, err) < 0 || check_labels(y, N, C, a->input, err) < 0) goto done;
        lsh_head_set_dropout(h, 0.0f);
        lsh_head_set_planes(h, PLANES_FIXED);
        lsh_head_zero_grad(h);
        if (lsh_head_forward(h, logits, attn, x, N, 1, &r, err) < 0) goto done;
        loss = softmax_ce_forward(probs, logits, y, NULL, N, C);
        float *dl = calloc((size_t)N * C, sizeof(float));
        softmax_ce_backward(dl, probs, y, NULL, N, C, 1.0f);
        const int brc = lsh_head_backward(h, NULL, dl, err);
        free(dl);
        if (brc < 0) goto done;
    } else if (lsh_head_forward(h, logits, attn, x, N, 0, NULL, err) < 0) {
        goto done;
    }
    if (h5_create_tmp(a->output, &f, err) < 0) goto done;
    const size_t ad[3] = {(size_t)N, (size_t)T, (size_t)d}, ld[2] = {(size_t)N, (size_t)C};
    int wrc = 0;
    if (grad)
        wrc = nn_table_save(lsh_head_table(h), f, "grad/", 1, err) < 0 || h5_write_scalar_f64(f, "loss", loss, err) < 0;
    else
        wrc = (d && h5_write_f32(f, "attn", attn, 3, ad, err) < 0) || h5_write_f32(f, "logits", logits, 2, ld, err) < 0;
    if (wrc) {
        h5_abort(f, a->output);
        goto done;
    }
    rc = h5_commit(f, a->output, err);
done:
    lsh_head_free(h);
    free(x), free(logits), free(attn), free(probs), free(y);
    return rc;
}

/* ---- train-step ------------------------------------------------------------------------------- */

static int train_step_resnet18(const nn_args *a, mer_err *err) {
    resnet18 *m = NULL;
    float *x = NULL, *logits = NULL, *probs = NULL, *dl = NULL;
    int *y = NULL;
    size_t dims[H5_MAX_DIMS];
    int rc = -1;
    hid_t f;
    if (resnet18_load(&m, a->weights, err) < 0 || resnet18_set_engine(m, a->engine, err) < 0 ||
        read_tensor(a->input, "x", 4, &x, dims, err) < 0)
        goto done;
    const int N = (int)dims[0], H = (int)dims[2], W = (int)dims[3], C = resnet18_n_classes(m);
    if (C < 2 || dims[1] != 3) {
        mer_errf(err, "train-step needs an fc layer (%s) and x of shape (N,3,H,W)", a->weights);
        goto done;
    }
    if (read_labels(a->input, &y, (size_t)N, err) < 0 || check_labels(y, N, C, a->input, err) < 0) goto done;
    logits = malloc(sizeof(float) * N * C), probs = malloc(sizeof(float) * N * C), dl = calloc((size_t)N * C, sizeof(float));
    resnet18_zero_grad(m);
    if (resnet18_forward(m, NULL, logits, x, N, H, W, 1, err) < 0) goto done;
    const double loss = softmax_ce_forward(probs, logits, y, NULL, N, C);
    softmax_ce_backward(dl, probs, y, NULL, N, C, 1.0f);
    if (resnet18_backward(m, NULL, NULL, dl, err) < 0) goto done;
    optimizer opt;
    const optim_options oo = optim_defaults(OPTIM_SGD);
    nn_table *tab = resnet18_table(m);
    if (optim_init(&opt, &oo, tab->n_params, err) < 0) goto done;
    optim_step(&opt, tab->params, tab->grads, (float)a->lr);
    optim_free(&opt);
    if (h5_create_tmp(a->output, &f, err) < 0) goto done;
    if (resnet18_save_to(m, f, err) < 0 || h5_write_scalar_f64(f, "loss", loss, err) < 0) {
        h5_abort(f, a->output);
        goto done;
    }
    rc = h5_commit(f, a->output, err);
    log_info("nn train-step: loss %.6f, %d images of %dx%d -> %s", loss, N, H, W, a->output);
done:
    resnet18_free(m);
    free(x), free(logits), free(probs), free(dl), free(y);
    return rc;
}

/* ---- bench ------------------------------------------------------------------------------------ */

static double sgemm_rate(int n) {
    float *A = malloc(sizeof(float) * n * n), *B = malloc(sizeof(float) * n * n), *Cm = malloc(sizeof(float) * n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) A[i] = 0.001f * (float)(i % 97), B[i] = 0.002f * (float)(i % 89);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, Cm, n);
    int reps = 0;
    const double t0 = now_seconds();
    double t;
    do {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, Cm, n);
        reps++;
    } while ((t = now_seconds() - t0) < 0.5);
    free(A), free(B), free(Cm);
    return 2.0 * n * (double)n * n * reps / t / 1e9;
}

/* Time of the convolution GEMMs alone (same shapes as the network; forward, and for training the two
 * backward GEMMs), for "where does the time go". */
static double conv_gemm_seconds(int N, int S, int train) {
    conv2d_shape s[32];
    const int n = resnet18_conv_shapes(s, 32, N, S, S);
    size_t big = 0;
    for (int i = 0; i < n; i++) {
        const size_t P = (size_t)conv2d_images_per_gemm(&s[i]) * conv2d_out_h(&s[i]) * conv2d_out_w(&s[i]);
        const size_t K = (size_t)s[i].C * s[i].KH * s[i].KW, need = K * P + (size_t)s[i].OC * P + (size_t)s[i].OC * K;
        if (need > big) big = need;
    }
    float *buf = calloc(big, sizeof(float));
    if (!buf) return 0.0;
    const double t0 = now_seconds();
    for (int i = 0; i < n; i++) { /* the GEMMs conv2d_forward/backward issue, same sizes and counts */
        const int nb = conv2d_images_per_gemm(&s[i]), P = nb * conv2d_out_h(&s[i]) * conv2d_out_w(&s[i]);
        const int K = s[i].C * s[i].KH * s[i].KW, OC = s[i].OC;
        float *col = buf, *res = buf + (size_t)K * P, *w = res + (size_t)OC * P;
        for (int n0 = 0; n0 < N; n0 += nb) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, P, K, 1.0f, w, K, col, P, 0.0f, res, P);
            if (train) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, K, P, 1.0f, res, P, col, P, 1.0f, w, K);
                if (i > 0) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, P, OC, 1.0f, w, K, res, P, 0.0f, col, P);
            }
        }
    }
    const double t = now_seconds() - t0;
    free(buf);
    return t;
}

static int bench_resnet18(const nn_args *a, mer_err *err) {
    const int N = a->batch, S = a->size;
    resnet18 *m = NULL;
    if (resnet18_create(&m, 1000, err) < 0) return -1;
    if (resnet18_set_engine(m, a->engine, err) < 0) {
        resnet18_free(m);
        return -1;
    }
    resnet18_init_kaiming(m, 1);
    float *x = malloc(sizeof(float) * N * 3 * S * S), *logits = malloc(sizeof(float) * N * 1000);
    float *dl = malloc(sizeof(float) * N * 1000);
    mer_rng r = rng_seeded(2);
    for (size_t i = 0; i < (size_t)N * 3 * S * S; i++) x[i] = rng_normal(&r);
    for (int i = 0; i < N * 1000; i++) dl[i] = 1e-3f * rng_normal(&r);
    char engine[48];
    nn_engine_describe(engine, sizeof engine, a->engine);
    printf("engine: %s\n", engine);
    const double peak = sgemm_rate(1024);
    printf("sgemm 1024^3, %d threads, OpenBLAS %s kernels: %.1f GFLOP/s\n", a->threads, nn_blas_corename(), peak);
    int rc = -1;
    double t_total = 0.0;
    for (int it = 0; it <= a->iters; it++) { /* iteration 0 is the warm-up (allocation, page faults) */
        const double t0 = now_seconds();
        if (resnet18_forward(m, NULL, logits, x, N, S, S, a->train, err) < 0) goto done;
        if (a->train) {
            resnet18_zero_grad(m);
            if (resnet18_backward(m, NULL, NULL, dl, err) < 0) goto done;
        }
        const double t = now_seconds() - t0;
        if (it > 0) t_total += t;
    }
    const double per_iter = t_total / a->iters;
    /* the convolutions the engine runs: oneDNN's primitives of the passes above, else conv2d's GEMMs */
    const char *conv_what = "oneDNN convolutions alone";
    double gemm = now_seconds();
    const int on_dnnl = resnet18_run_convs(m, a->train, err);
    if (on_dnnl < 0) goto done;
    gemm = now_seconds() - gemm;
    if (!on_dnnl) gemm = conv_gemm_seconds(N, S, a->train), conv_what = "convolution GEMMs alone";
    const double flops = 2.0 * resnet18_forward_macs(S, S, 1000) * N * (a->train ? 3.0 : 1.0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("per pass %.3f s; %s %.3f s (%.0f%%); activations+workspace %.0f MB; peak RSS %.0f MB\n", per_iter,
           conv_what, gemm, 100.0 * gemm / per_iter, resnet18_activation_bytes(m) / 1e6, ru.ru_maxrss / 1e3);
    printf("achieved %.0f%% of the sgemm rate\n", 100.0 * flops / per_iter / 1e9 / peak);
    printf("resnet18 %s %dx%d batch %d threads %d: %.1f img/s, %.1f GFLOP/s\n", a->train ? "train" : "eval", S, S, N,
           a->threads, N / per_iter, flops / per_iter / 1e9);
    rc = 0;
done:
    resnet18_free(m);
    free(x), free(logits), free(dl);
    return rc;
}

/* The LSH head's training at the patent's sizes (T 32, d_in 512, d 1024, n_rounds 4, hidden 256, 5 classes) on
 * random frozen features: forward, cross-entropy, backward, Adam step; median step time over --iters steps
 * after one warm-up step. The peer: tests/ref/torch_head_bench.py. */
static int bench_head(const nn_args *a, mer_err *err) {
    enum { T = 32, D_IN = 512, C = 5 };
    const int N = a->batch;
    lsh_head_options o = lsh_head_defaults();
    o.n_rounds = 4, o.d = 1024, o.hidden = 256;
    lsh_head *h = NULL;
    if (lsh_head_create(&h, D_IN, T, C, &o, 1, err) < 0) return -1;
    nn_table *tab = lsh_head_table(h);
    optimizer opt;
    optim_options oo = optim_defaults(OPTIM_ADAM);
    float *x = malloc(sizeof(float) * N * T * D_IN), *logits = malloc(sizeof(float) * N * C);
    float *probs = malloc(sizeof(float) * N * C), *dl = malloc(sizeof(float) * N * C);
    double *step = malloc(sizeof(double) * a->iters);
    int *y = malloc(sizeof(int) * N), rc = -1;
    mer_rng r = rng_seeded(2);
    if (optim_init(&opt, &oo, tab->n_params, err) < 0) goto free_head;
    if (!x || !logits || !probs || !dl || !step || !y) {
        mer_errf(err, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < (size_t)N * T * D_IN; i++) x[i] = rng_normal(&r);
    for (int i = 0; i < N; i++) y[i] = i % C;
    printf("sgemm 1024^3, %d threads, OpenBLAS %s kernels: %.1f GFLOP/s\n", a->threads, nn_blas_corename(),
           sgemm_rate(1024));
    for (int it = 0; it <= a->iters; it++) { /* step 0 is the warm-up */
        const double t0 = now_seconds();
        lsh_head_zero_grad(h);
        if (lsh_head_forward(h, logits, NULL, x, N, 1, &r, err) < 0) goto done;
        softmax_ce_forward(probs, logits, y, NULL, N, C);
        memset(dl, 0, sizeof(float) * N * C);
        softmax_ce_backward(dl, probs, y, NULL, N, C, 1.0f);
        if (lsh_head_backward(h, NULL, dl, err) < 0) goto done;
        optim_step(&opt, tab->params, tab->grads, 1e-3f);
        if (it > 0) step[it - 1] = now_seconds() - t0;
    }
    for (int i = 1; i < a->iters; i++) /* insertion sort for the median */
        for (int j = i; j > 0 && step[j - 1] > step[j]; j--) {
            const double t = step[j];
            step[j] = step[j - 1], step[j - 1] = t;
        }
    const double med = step[a->iters / 2];
    /* multiply-adds of one sample: q, k, v projections, scores and attention (dense bound), fc1, fc2; x3 for training */
    const double macs = 3.0 * T * D_IN * o.d + 2.0 * T * T * o.d + (D_IN + o.d) * (double)o.hidden + o.hidden * C;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("median step %.2f ms; at most %.1f GFLOP/s (dense-attention bound); peak RSS %.0f MB\n", med * 1e3,
           2.0 * 3.0 * macs * N / med / 1e9, ru.ru_maxrss / 1e3);
    printf("head train T%d d_in%d d%d batch %d threads %d: %.1f samples/s\n", T, D_IN, o.d, N, a->threads, N / med);
    rc = 0;
done:
    optim_free(&opt);
free_head:
    lsh_head_free(h);
    free(x), free(logits), free(probs), free(dl), free(step), free(y);
    return rc;
}

/* ---- init ------------------------------------------------------------------------------------- */

static int init_resnet18(const nn_args *a, mer_err *err) {
    resnet18 *m;
    if (resnet18_create(&m, a->classes, err) < 0) return -1;
    if (a->pattern)
        resnet18_init_pattern(m, a->seed);
    else
        resnet18_init_kaiming(m, a->seed);
    const int rc = resnet18_save(m, a->output, err);
    resnet18_free(m);
    return rc;
}

/* ---- dispatch --------------------------------------------------------------------------------- */

int cmd_nn(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        nn_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"weights", required_argument, 0, 'w'}, {"input", required_argument, 0, 'i'},
        {"output", required_argument, 0, 'o'}, {"lr", required_argument, 0, 'l'},     {"size", required_argument, 0, 's'},
        {"batch", required_argument, 0, 'b'}, {"threads", required_argument, 0, 't'}, {"train", no_argument, 0, 'T'},
        {"iters", required_argument, 0, 'n'}, {"seed", required_argument, 0, 'S'},   {"classes", required_argument, 0, 'c'},
        {"pattern", no_argument, 0, 'p'},     {"chunk", required_argument, 0, 'k'},   {"help", no_argument, 0, 'h'},
        {"engine", required_argument, 0, 'e'},
        {0, 0, 0, 0},
    };
    nn_args a = {.action = argv[1], .model = NULL, .lr = -1, .size = 112, .batch = 0, .threads = 0, .iters = 0,
                 .classes = 1000, .chunk = 32, .engine = nn_engine_default(), .seed = 1};
    int c;
    long v;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a.model = optarg; break;
        case 'w': a.weights = optarg; break;
        case 'i': a.input = optarg; break;
        case 'o': a.output = optarg; break;
        case 'l':
            if (cli_double(optarg, nextafter(0.0, 1.0), INFINITY, &a.lr))
                return usage_error("nn", "--lr must be a positive number, got '%s'", optarg);
            break;
        case 's':
            if (cli_long(optarg, 16, 4096, &v)) return usage_error("nn", "--size must be 16..4096, got '%s'", optarg);
            a.size = (int)v;
            break;
        case 'b':
            if (cli_long(optarg, 1, 4096, &v)) return usage_error("nn", "--batch must be 1..4096, got '%s'", optarg);
            a.batch = (int)v;
            break;
        case 't':
            if (cli_long(optarg, 1, 1024, &v)) return usage_error("nn", "--threads must be 1..1024, got '%s'", optarg);
            a.threads = (int)v;
            break;
        case 'T': a.train = 1; break;
        case 'n':
            if (cli_long(optarg, 1, 10000, &v)) return usage_error("nn", "--iters must be 1..10000, got '%s'", optarg);
            a.iters = (int)v;
            break;
        case 'S':
            if (cli_u64(optarg, &a.seed)) return usage_error("nn", "--seed must be a non-negative integer");
            break;
        case 'c':
            if (cli_long(optarg, 0, 1000000, &v)) return usage_error("nn", "--classes must be 0..1000000, got '%s'", optarg);
            a.classes = (int)v;
            break;
        case 'p': a.pattern = 1; break;
        case 'k':
            if (cli_long(optarg, 1, 100000, &v)) return usage_error("nn", "--chunk must be 1..100000, got '%s'", optarg);
            a.chunk = (int)v;
            break;
        case 'e':
            if (!strcmp(optarg, "onednn"))
                a.engine = NN_ENGINE_DNNL;
            else if (!strcmp(optarg, "reference"))
                a.engine = NN_ENGINE_REFERENCE;
            else
                return usage_error("nn", "--engine must be onednn or reference, got '%s'", optarg);
            break;
        case 'h': nn_usage(stdout); return 0;
        default: return usage_error("nn", "unknown or incomplete option '%s'", argv[optind]);
        }
    }
    if (optind != argc - 1) return usage_error("nn", "unexpected argument '%s'", argv[optind + 1]);
    if (!a.model) return usage_error("nn", "%s needs --model resnet18|head", a.action);
    const int is_resnet = !strcmp(a.model, "resnet18"), is_head = !strcmp(a.model, "head");
    if (!is_resnet && !is_head) return usage_error("nn", "--model must be resnet18 or head, got '%s'", a.model);
    if (!a.batch) a.batch = is_head ? 16 : 32;
    if (!a.iters) a.iters = is_head ? 50 : 3;
    a.threads = nn_set_threads(a.threads);
    char desc[160];
    nn_describe_threads(desc, sizeof desc, a.threads);
    log_info("nn %s: %s", a.action, desc);
    if (nn_blas_advice()) log_warn("%s", nn_blas_advice());
    mer_err err = {0};
    int rc;
    if (!strcmp(a.action, "forward") || !strcmp(a.action, "grad")) {
        const int grad = a.action[0] == 'g';
        if (!a.weights || !a.input || !a.output) return usage_error("nn", "%s needs --weights, --input and --output", a.action);
        if (grad && !is_head) return usage_error("nn", "grad supports --model head");
        rc = is_head ? forward_head(&a, grad, &err) : forward_resnet18(&a, &err);
    } else if (!strcmp(a.action, "train-step")) {
        if (!is_resnet) return usage_error("nn", "train-step supports --model resnet18");
        if (!a.weights || !a.input || !a.output || a.lr <= 0)
            return usage_error("nn", "train-step needs --weights, --input, --lr and --output");
        rc = train_step_resnet18(&a, &err);
    } else if (!strcmp(a.action, "bench")) {
        if (is_head && !a.train) return usage_error("nn", "bench --model head needs --train");
        rc = is_head ? bench_head(&a, &err) : bench_resnet18(&a, &err);
    } else if (!strcmp(a.action, "init")) {
        if (!is_resnet || !a.output) return usage_error("nn", "init needs --model resnet18 and --output");
        rc = init_resnet18(&a, &err);
    } else {
        return usage_error("nn", "unknown action '%s' (forward, train-step, grad, bench, init)", a.action);
    }
    return rc < 0 ? fail(a.action, &err) : 0;
}
