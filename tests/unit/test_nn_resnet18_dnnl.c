/* ResNet-18 training on oneDNN against the im2col + OpenBLAS reference: two models with the same weights,
 * three SGD steps on batches of 3, 2 and 3 images (a new plan for the smaller last minibatch, then the
 * cached first plan again with updated weights). Each step compares the logits and loss, every parameter
 * gradient, the input gradient, and after the step every parameter and running statistic (rel. L2 <= 1e-4);
 * then the eval forward after training. After each comparison the oneDNN model takes the reference's
 * tensors: with BatchNorm over 2-3 images float rounding differences grow from step to step, and (with
 * Adam, whose first step is lr * sign(g)) a gradient near zero may flip its update, so later steps would
 * measure that growth instead of the engine. Skips in builds without oneDNN. */
#include "core/models/resnet18.h"
#include "core/nn/layers.h"
#include "core/nn/optim.h"
#include "core/nn/threads.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

enum { C = 10, HW = 48, NMAX = 3 };

/* Worst relative L2 over the tensors of two tables, of the values (grad 0) or gradients (grad 1). */
static double worst_tensor(const nn_table *a, const nn_table *b, int grad, const char **name) {
    double worst = 0;
    for (int i = 0; i < a->n; i++) {
        const float *x = grad ? nn_table_grad(a, i) : nn_table_data(a, i);
        const float *y = grad ? nn_table_grad(b, i) : nn_table_data(b, i);
        if (!x) continue;
        const double e = nn_test_rel_l2(x, y, a->t[i].numel);
        if (e > worst) worst = e, *name = a->t[i].name;
    }
    return worst;
}

int main(void) {
    if (!nn_engine_available(NN_ENGINE_DNNL)) SKIP_ALL("built without oneDNN");
    nn_set_threads(1);
    mer_err err = {0};
    resnet18 *m[2];
    optimizer opt[2];
    optim_options oo = optim_defaults(OPTIM_SGD);
    oo.momentum = 0.9f;
    for (int k = 0; k < 2; k++) {
        CHECK(resnet18_create(&m[k], C, &err) == 0, "create: %s", err.msg);
        resnet18_init_pattern(m[k], 11);
        CHECK(resnet18_set_engine(m[k], k ? NN_ENGINE_DNNL : NN_ENGINE_REFERENCE, &err) == 0, "engine: %s", err.msg);
        CHECK(optim_init(&opt[k], &oo, resnet18_table(m[k])->n_params, &err) == 0, "optimizer: %s", err.msg);
    }
    mer_rng r = rng_seeded(5);
    float *x = nn_test_randn((size_t)NMAX * 3 * HW * HW, &r, 1.0f);
    float *dfeat = nn_test_randn((size_t)NMAX * RESNET18_FEATURES, &r, 0.01f);
    float logits[2][NMAX * C], probs[NMAX * C], dlogits[NMAX * C], *dx[2];
    for (int k = 0; k < 2; k++) dx[k] = calloc((size_t)NMAX * 3 * HW * HW, sizeof(float));
    const int labels[NMAX] = {1, 7, 3}, batches[3] = {3, 2, 3};
    for (int step = 0; step < 3; step++) {
        const int N = batches[step];
        double loss[2];
        for (int k = 0; k < 2; k++) {
            resnet18_zero_grad(m[k]);
            memset(dx[k], 0, sizeof(float) * (size_t)N * 3 * HW * HW);
            CHECK(resnet18_forward(m[k], NULL, logits[k], x, N, HW, HW, 1, &err) == 0, "forward: %s", err.msg);
            loss[k] = softmax_ce_forward(probs, logits[k], labels, NULL, N, C);
            memset(dlogits, 0, sizeof dlogits); /* softmax_ce_backward accumulates */
            softmax_ce_backward(dlogits, probs, labels, NULL, N, C, 1.0f);
            /* both entry points: the logits' gradient and a gradient at the features */
            CHECK(resnet18_backward(m[k], dx[k], dfeat, dlogits, &err) == 0, "backward: %s", err.msg);
        }
        const double e_logits = nn_test_rel_l2(logits[1], logits[0], (size_t)N * C);
        const char *gname = "", *pname = "";
        nn_table *t0 = resnet18_table(m[0]), *t1 = resnet18_table(m[1]);
        const double e_grad = worst_tensor(t1, t0, 1, &gname);
        const double e_dx = nn_test_rel_l2(dx[1], dx[0], (size_t)N * 3 * HW * HW);
        for (int k = 0; k < 2; k++) optim_step(&opt[k], resnet18_table(m[k])->params, resnet18_table(m[k])->grads, 0.05f);
        const double e_after = worst_tensor(t1, t0, 0, &pname);
        const double e_stats = nn_test_rel_l2(t1->buffers, t0->buffers, t0->n_buffers);
        printf("step %d, batch %d: logits %.3g, loss %.7f vs %.7f, worst gradient %.3g (%s), dx %.3g, "
               "after the step worst tensor %.3g (%s), running stats %.3g\n",
               step, N, e_logits, loss[1], loss[0], e_grad, gname, e_dx, e_after, pname, e_stats);
        CHECK(e_logits <= 1e-4, "step %d: logits rel L2 %g", step, e_logits);
        CHECK_NEAR(loss[1], loss[0], 1e-5 * loss[0], "step %d: loss", step);
        CHECK(e_grad <= 1e-4, "step %d: gradient of %s rel L2 %g", step, gname, e_grad);
        CHECK(e_dx <= 1e-4, "step %d: input gradient rel L2 %g", step, e_dx);
        CHECK(e_after <= 1e-4, "step %d: %s after the step rel L2 %g", step, pname, e_after);
        CHECK(e_stats <= 1e-4, "step %d: running statistics rel L2 %g", step, e_stats);
        memcpy(t1->params, t0->params, t0->n_params * sizeof(float));
        memcpy(t1->buffers, t0->buffers, t0->n_buffers * sizeof(float));
        memcpy(opt[1].m, opt[0].m, t0->n_params * sizeof(float));
    }
    /* eval after training: the oneDNN eval plan sees the trained weights and statistics */
    float feat[2][NMAX * RESNET18_FEATURES];
    for (int k = 0; k < 2; k++)
        CHECK(resnet18_forward(m[k], feat[k], NULL, x, NMAX, HW, HW, 0, &err) == 0, "eval: %s", err.msg);
    const double e = nn_test_rel_l2(feat[1], feat[0], (size_t)NMAX * RESNET18_FEATURES);
    printf("eval features after training: rel L2 %.3g\n", e);
    CHECK(e <= 1e-4, "eval features after training rel L2 %g", e);
    /* a backward needs a training forward on its engine */
    CHECK(resnet18_backward(m[1], NULL, dfeat, NULL, &err) < 0, "backward after an eval forward is refused");
    for (int k = 0; k < 2; k++) resnet18_free(m[k]), optim_free(&opt[k]), free(dx[k]);
    free(x), free(dfeat);
    return check_summary();
}
