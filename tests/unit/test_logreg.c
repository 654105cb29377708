/* Multinomial logistic regression (core/baseline/logreg.h): the analytic gradient against central finite
 * differences, convergence to the optimum of the convex loss, determinism, save/load. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/baseline/logreg.h"
#include "io/base/rng.h"
#include "io/h5.h"
#include "tests/check.h"

enum { N = 60, D = 6, K = 3 };

/* Three Gaussian clusters in D dimensions, offset so standardisation has something to do. */
static void make_data(float *X, int64_t *y, uint64_t seed) {
    mer_rng r = rng_seeded(seed);
    for (int i = 0; i < N; i++) {
        y[i] = i % K;
        for (int d = 0; d < D; d++)
            X[i * D + d] = 5.0f + 0.5f * rng_normal(&r) + (d % K == y[i] ? 2.0f : 0.0f) + (d == 0 ? 40.0f : 0.0f);
    }
}

static void gradient_check(const float *X, const int64_t *y) {
    mer_err err = {0};
    const size_t np = (size_t)K * D + K;
    float params[K * D + K], grad[K * D + K];
    mer_rng r = rng_seeded(7);
    for (size_t q = 0; q < np; q++) params[q] = 0.3f * rng_normal(&r);
    const float cw[K] = {1.0f, 2.5f, 0.5f};
    const size_t idx[] = {3, 17, 4, 40, 41, 9, 22}; /* a minibatch, in shuffled order */
    const size_t nb = sizeof idx / sizeof *idx;
    const float l2 = 0.05f;
    double loss;
    /* unscaled features (x ~ 45 on dimension 0) make the check sharper */
    CHECK(logreg_loss_grad(&loss, grad, params, X, y, idx, nb, D, K, l2, cw, &err) == 0, "loss: %s", err.msg);
    double worst = 0;
    for (size_t q = 0; q < np; q++) {
        const float p0 = params[q], h = 1e-3f;
        double lp, lm;
        params[q] = p0 + h;
        const float up = params[q];
        logreg_loss_grad(&lp, NULL, params, X, y, idx, nb, D, K, l2, cw, &err);
        params[q] = p0 - h;
        const float dn = params[q];
        logreg_loss_grad(&lm, NULL, params, X, y, idx, nb, D, K, l2, cw, &err);
        params[q] = p0;
        const double fd = (lp - lm) / ((double)up - (double)dn); /* the step actually taken in float */
        const double rel = fabs(fd - grad[q]) / fmax(1.0, fabs(fd));
        worst = fmax(worst, rel);
        CHECK(rel < 1e-3, "parameter %zu: analytic %.8g, finite difference %.8g", q, grad[q], fd);
    }
    printf("gradient check: %zu parameters, worst relative difference %.3g\n", np, worst);
}

int main(void) {
    mer_err err = {0};
    float X[N * D];
    int64_t y[N], pred[N];
    make_data(X, y, 1);
    gradient_check(X, y);

    /* full batch to convergence: the gradient of the (convex) loss vanishes at the fit */
    logreg_options o = logreg_defaults();
    o.epochs = 3000;
    o.lr = 0.05f;
    o.l2 = 0.01f;
    logreg_model m;
    double loss0, loss;
    CHECK(logreg_train(&m, &loss, X, y, N, D, K, &o, &err) == 0, "train: %s", err.msg);
    float grad[K * D + K], zero[K * D + K] = {0};
    float *Xs = malloc(sizeof X);
    for (int i = 0; i < N; i++)
        for (int d = 0; d < D; d++) Xs[i * D + d] = (X[i * D + d] - m.mean[d]) / m.sd[d];
    logreg_loss_grad(&loss0, NULL, zero, Xs, y, NULL, N, D, K, o.l2, NULL, &err);
    double gnorm = 0, g2;
    logreg_loss_grad(&g2, grad, m.params, Xs, y, NULL, N, D, K, o.l2, NULL, &err);
    for (int q = 0; q < K * D + K; q++) gnorm = fmax(gnorm, fabs(grad[q]));
    CHECK(fabs(loss0 - log(K)) < 1e-9, "loss at zero parameters is log K: %.12g", loss0);
    CHECK(loss < 0.5 * loss0 && fabs(g2 - loss) < 1e-12, "loss %.6g from %.6g", loss, loss0);
    CHECK(gnorm < 1e-3, "gradient at the fit: max |g| %.3g", gnorm);
    printf("full batch: loss %.6f (start %.6f), max |gradient| %.3g\n", loss, loss0, gnorm);
    logreg_predict(pred, &m, X, N);
    int correct = 0;
    for (int i = 0; i < N; i++) correct += pred[i] == y[i];
    CHECK(correct >= N - 2, "training accuracy %d/%d on separated clusters", correct, N);

    /* save / load: same predictions and probabilities */
    char path[] = "/tmp/mer_test_logreg_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    hid_t f;
    logreg_model m2;
    CHECK(h5_create(path, &f, &err) == 0 && logreg_save(&m, f, "head/", &err) == 0 && h5_close(f, &err) == 0,
          "save: %s", err.msg);
    CHECK(h5_open(path, 0, &f, &err) == 0 && logreg_load(&m2, f, "head/", &err) == 0, "load: %s", err.msg);
    h5_close(f, &err);
    unlink(path);
    float p1[N * K], p2[N * K];
    logreg_predict_proba(p1, &m, X, N);
    logreg_predict_proba(p2, &m2, X, N);
    CHECK(!memcmp(p1, p2, sizeof p1), "probabilities after save/load");
    logreg_free(&m2);
    logreg_free(&m);

    /* minibatch SGD: deterministic for a seed, a different order for another seed */
    o = logreg_defaults();
    o.optim = optim_defaults(OPTIM_SGD);
    o.optim.momentum = 0.9f;
    o.batch_size = 8;
    o.epochs = 20;
    o.seed = 11;
    logreg_model a, b, c;
    CHECK(logreg_train(&a, NULL, X, y, N, D, K, &o, &err) == 0 && logreg_train(&b, NULL, X, y, N, D, K, &o, &err) == 0,
          "sgd: %s", err.msg);
    o.seed = 12;
    CHECK(logreg_train(&c, &loss, X, y, N, D, K, &o, &err) == 0, "sgd: %s", err.msg);
    const size_t nbytes = (size_t)(K * D + K) * sizeof(float);
    CHECK(!memcmp(a.params, b.params, nbytes), "same seed, same parameters");
    CHECK(memcmp(a.params, c.params, nbytes) != 0, "another seed, another minibatch order");
    CHECK(loss < 0.5 * loss0, "minibatch sgd fits: loss %.4g", loss);
    logreg_free(&a);
    logreg_free(&b);
    logreg_free(&c);

    /* errors */
    y[5] = K;
    CHECK(logreg_train(&a, NULL, X, y, N, D, K, &o, &err) < 0 && strstr(err.msg, "label 3"), "bad label: %s", err.msg);
    y[5] = 5 % K;
    o.optim.weight_decay = 0.1f;
    CHECK(logreg_train(&a, NULL, X, y, N, D, K, &o, &err) < 0 && strstr(err.msg, "weight decay"), "%s", err.msg);
    free(Xs);
    return check_summary();
}
