/* BatchNorm adaptation (resnet18_adapt_bn): after adapting on a set of images, the eval forward equals a
 * training-mode forward of the whole set as one batch (the definition of exact, layer-by-layer AdaBN),
 * on the reference engine and, re-folded, on oneDNN; the statistics do not depend on the chunk size
 * beyond float rounding; random and "pretrained" (pattern) weights alike; no parameter moves. */
#include "core/models/resnet18.h"
#include "core/nn/threads.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

enum { N = 5, HW = 40 };

static resnet18 *model(int pattern) {
    mer_err err = {0};
    resnet18 *m;
    if (resnet18_create(&m, 0, &err) < 0) return NULL;
    if (pattern)
        resnet18_init_pattern(m, 7);
    else
        resnet18_init_kaiming(m, 7);
    return m;
}

static double max_rel_diff(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]) / (1.0 + fabs((double)b[i])));
    return w;
}

static void check_weights(int pattern, const float *x) {
    const char *what = pattern ? "pattern weights" : "random init";
    mer_err err = {0};
    resnet18 *a = model(pattern), *b = model(pattern), *c = model(pattern);
    CHECK(a && b && c, "models");
    if (!a || !b || !c) return;
    float fa[N * 512], fb[N * 512], fd[N * 512];
    const nn_table *ta = resnet18_table(a);
    float *params = malloc(sizeof(float) * ta->n_params);
    memcpy(params, ta->params, sizeof(float) * ta->n_params);
    /* oneDNN: a plan folded with the old statistics exists before the adaptation */
    const int dnnl = nn_engine_available(NN_ENGINE_DNNL);
    if (dnnl) {
        resnet18_set_engine(a, NN_ENGINE_DNNL, &err);
        CHECK(resnet18_forward(a, fd, NULL, x, N, HW, HW, 0, &err) == 0, "oneDNN forward: %s", err.msg);
    }
    CHECK(resnet18_adapt_bn(a, x, N, HW, HW, 2, NULL, NULL, &err) == 0, "adapt: %s", err.msg);
    CHECK(!memcmp(params, resnet18_table(a)->params, sizeof(float) * ta->n_params), "%s: no parameter moves", what);
    resnet18_set_engine(a, NN_ENGINE_REFERENCE, &err);
    CHECK(resnet18_forward(a, fa, NULL, x, N, HW, HW, 0, &err) == 0, "eval: %s", err.msg);
    CHECK(resnet18_forward(b, fb, NULL, x, N, HW, HW, 1, &err) == 0, "train-mode forward: %s", err.msg);
    double e = nn_test_rel_l2(fa, fb, (size_t)N * 512);
    printf("%s: adapted eval vs one-batch training forward: rel L2 %.3g\n", what, e);
    CHECK(e < 1e-4, "%s: adapted eval = training-mode forward of the whole set (rel L2 %g)", what, e);
    if (dnnl) {
        resnet18_set_engine(a, NN_ENGINE_DNNL, &err);
        CHECK(resnet18_forward(a, fd, NULL, x, N, HW, HW, 0, &err) == 0, "oneDNN forward: %s", err.msg);
        e = nn_test_rel_l2(fd, fa, (size_t)N * 512);
        printf("%s: oneDNN (re-folded) vs reference after adaptation: rel L2 %.3g\n", what, e);
        CHECK(e < 1e-4, "%s: oneDNN re-folds the adapted statistics (rel L2 %g)", what, e);
    }
    /* other chunkings: the same statistics up to float rounding */
    CHECK(resnet18_adapt_bn(c, x, N, HW, HW, N, NULL, NULL, &err) == 0, "adapt: %s", err.msg);
    const nn_table *tc = resnet18_table(c);
    e = max_rel_diff(tc->buffers, ta->buffers, ta->n_buffers);
    CHECK(e < 1e-5, "%s: chunk 2 and chunk %d give the same statistics (worst %g)", what, N, e);
    /* adapting again changes nothing: the statistics are a function of the data, not of the old ones */
    CHECK(resnet18_adapt_bn(c, x, N, HW, HW, 3, NULL, NULL, &err) == 0, "adapt: %s", err.msg);
    e = max_rel_diff(tc->buffers, ta->buffers, ta->n_buffers);
    CHECK(e < 1e-5, "%s: a second adaptation gives the same statistics (worst %g)", what, e);
    free(params);
    resnet18_free(a), resnet18_free(b), resnet18_free(c);
}

static int stop_now(const void *user) { return *(const int *)user; }

int main(void) {
    nn_set_threads(1);
    mer_rng r = rng_seeded(3);
    const size_t nx = (size_t)N * 3 * HW * HW;
    float *x = nn_test_randn(nx, &r, 0.7f);
    for (size_t i = 0; i < nx; i++) x[i] += 0.4f; /* far from the init's mean-0 assumption */
    check_weights(0, x);
    check_weights(1, x);
    mer_err err = {0};
    resnet18 *m = model(0);
    int yes = 1;
    CHECK(resnet18_adapt_bn(m, x, N, HW, HW, 2, stop_now, &yes, &err) == 1, "a stop request interrupts");
    CHECK(resnet18_adapt_bn(m, x, 0, HW, HW, 2, NULL, NULL, &err) < 0, "no images: an error");
    resnet18_free(m);
    free(x);
    return check_summary();
}
