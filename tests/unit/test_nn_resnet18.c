/* ResNet-18 against torchvision (fixture tests/fixtures/nn/resnet18_ref.h5 from tests/ref/torch_resnet18.py):
 * the real 11.7M-parameter layout filled with the deterministic resnet18_init_pattern() weights, eval
 * forward (features, logits: rel. L2 <= 1e-4), one training step (loss, gradients and updated weights and
 * running statistics: rel. L2 <= 1e-3), and an HDF5 save/load round trip. */
#include <unistd.h>

#include "core/nn/layers.h"
#include "core/models/resnet18.h"
#include "io/h5.h"
#include "core/nn/threads.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

static float *read_f32(hid_t f, const char *path, size_t *n) {
    mer_err err = {0};
    float *v = NULL;
    int nd;
    size_t dims[H5_MAX_DIMS];
    if (h5_read_f32(f, path, &v, &nd, dims, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return NULL;
    }
    *n = 1;
    for (int i = 0; i < nd; i++) *n *= dims[i];
    return v;
}

int main(void) {
    nn_set_threads(1); /* deterministic timing on a shared CI machine */
    const char *fx = getenv("MER_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/nn/resnet18_ref.h5", fx ? fx : "tests/fixtures");
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) SKIP_ALL("fixture missing: %s", err.msg);

    resnet18 *m;
    CHECK(resnet18_create(&m, 1000, &err) == 0, "create: %s", err.msg);
    nn_table *tab = resnet18_table(m);
    int trainable = 0;
    for (int i = 0; i < tab->n; i++) trainable += tab->t[i].trainable;
    CHECK(tab->n_params == 11689512, "11,689,512 parameters, got %zu", tab->n_params);
    CHECK(trainable == 62, "62 trainable tensors, got %d", trainable);
    CHECK_NEAR(resnet18_forward_macs(224, 224, 1000) / 1e9, 1.814, 0.001, "MACs at 224");
    CHECK_NEAR(resnet18_forward_macs(112, 112, 1000) / 1e9, 0.485, 0.002, "MACs at 112");

    double seed = 0, lr = 0, loss_ref = 0;
    h5_read_scalar_f64(f, "seed", &seed, &err);
    h5_read_scalar_f64(f, "lr", &lr, &err);
    h5_read_scalar_f64(f, "train/loss", &loss_ref, &err);
    resnet18_init_pattern(m, (uint64_t)seed);

    size_t nx, ny, n;
    float *x = read_f32(f, "x", &nx), *yf = read_f32(f, "y", &ny);
    const int N = (int)ny, HW = 64;
    int labels[16];
    for (int i = 0; i < N; i++) labels[i] = (int)yf[i];

    /* eval forward on each engine of this build against PyTorch, and oneDNN against the reference */
    float *feat = malloc(sizeof(float) * N * 512), *logits = malloc(sizeof(float) * N * 1000);
    float *feat_ref = malloc(sizeof(float) * N * 512);
    float *ref = read_f32(f, "eval/features", &n), *ref_logits = read_f32(f, "eval/logits", &n);
    for (int e_i = 0; e_i < 2; e_i++) {
        const nn_engine eng = e_i ? NN_ENGINE_DNNL : NN_ENGINE_REFERENCE;
        if (!nn_engine_available(eng)) {
            printf("engine %d not in this build\n", e_i);
            continue;
        }
        char name[48];
        nn_engine_describe(name, sizeof name, eng);
        CHECK(resnet18_set_engine(m, eng, &err) == 0, "set engine: %s", err.msg);
        CHECK(resnet18_forward(m, feat, logits, x, N, HW, HW, 0, &err) == 0, "eval forward: %s", err.msg);
        double e = nn_test_rel_l2(feat, ref, (size_t)N * 512);
        printf("%s: eval features rel L2 %.3g\n", name, e);
        CHECK(e <= 1e-4, "%s: eval features rel L2 %g", name, e);
        e = nn_test_rel_l2(logits, ref_logits, (size_t)N * 1000);
        printf("%s: eval logits rel L2 %.3g\n", name, e);
        CHECK(e <= 1e-4, "%s: eval logits rel L2 %g", name, e);
        if (eng == NN_ENGINE_REFERENCE) {
            memcpy(feat_ref, feat, sizeof(float) * N * 512);
        } else {
            e = nn_test_rel_l2(feat, feat_ref, (size_t)N * 512);
            printf("%s vs reference: eval features rel L2 %.3g\n", name, e);
            CHECK(e <= 1e-5, "%s vs reference: features rel L2 %g", name, e);
        }
    }
    free(ref), free(ref_logits), free(feat_ref);

    /* one SGD training step on each engine of this build (the default last), from the same weights */
    float *probs = malloc(sizeof(float) * N * 1000), *dlogits = malloc(sizeof(float) * N * 1000);
    for (int e_i = 0; e_i < 2; e_i++) {
        const nn_engine eng = e_i ? nn_engine_default() : NN_ENGINE_REFERENCE;
        if (e_i && eng == NN_ENGINE_REFERENCE) break;
        char ename[48];
        nn_engine_describe(ename, sizeof ename, eng);
        resnet18_set_engine(m, eng, &err);
        resnet18_init_pattern(m, (uint64_t)seed);
        memset(dlogits, 0, sizeof(float) * N * 1000);
        resnet18_zero_grad(m);
        CHECK(resnet18_forward(m, NULL, logits, x, N, HW, HW, 1, &err) == 0, "train forward: %s", err.msg);
        const double loss = softmax_ce_forward(probs, logits, labels, NULL, N, 1000);
        CHECK_NEAR(loss, loss_ref, 1e-4 * fabs(loss_ref), "training loss");
        softmax_ce_backward(dlogits, probs, labels, NULL, N, 1000, 1.0f);
        CHECK(resnet18_backward(m, NULL, NULL, dlogits, &err) == 0, "backward: %s", err.msg);
        for (size_t i = 0; i < tab->n_params; i++) tab->params[i] -= (float)lr * tab->grads[i];

        double e, worst_grad = 0, worst_after = 0;
        const char *worst_grad_name = "", *worst_after_name = "";
        char p1[256], p2[256], p3[256];
        for (int i = 0; i < tab->n; i++) {
            const nn_tensor *t = &tab->t[i];
            const float *val = nn_table_data(tab, i), *grad = nn_table_grad(tab, i);
            if (t->numel <= 4096) {
                snprintf(p1, sizeof p1, "after/%s", t->name);
                float *a = read_f32(f, p1, &n);
                CHECK(a && n == t->numel, "%s present", p1);
                if (!a) continue;
                e = nn_test_rel_l2(val, a, n);
                if (e > worst_after) worst_after = e, worst_after_name = t->name;
                free(a);
                if (grad) {
                    snprintf(p1, sizeof p1, "grad/%s", t->name);
                    float *g = read_f32(f, p1, &n);
                    e = g ? nn_test_rel_l2(grad, g, n) : 1.0;
                    if (e > worst_grad) worst_grad = e, worst_grad_name = t->name;
                    free(g);
                }
            } else {
                snprintf(p1, sizeof p1, "sample/%s/index", t->name);
                snprintf(p2, sizeof p2, "sample/%s/grad", t->name);
                snprintf(p3, sizeof p3, "sample/%s/after", t->name);
                int64_t *idx = NULL;
                int nd;
                size_t dims[H5_MAX_DIMS];
                size_t ng, na;
                float *g = read_f32(f, p2, &ng), *a = read_f32(f, p3, &na);
                CHECK(h5_read_i64(f, p1, &idx, &nd, dims, &err) == 0 && g && a, "%s present", p1);
                if (!idx || !g || !a) continue;
                float *mine_g = malloc(sizeof(float) * dims[0]), *mine_a = malloc(sizeof(float) * dims[0]);
                for (size_t k = 0; k < dims[0]; k++) mine_g[k] = grad[idx[k]], mine_a[k] = val[idx[k]];
                e = nn_test_rel_l2(mine_g, g, dims[0]);
                if (e > worst_grad) worst_grad = e, worst_grad_name = t->name;
                e = nn_test_rel_l2(mine_a, a, dims[0]);
                if (e > worst_after) worst_after = e, worst_after_name = t->name;
                free(idx), free(g), free(a), free(mine_g), free(mine_a);
            }
        }
        printf("%s: train step: loss %.6f (torch %.6f), worst gradient rel L2 %.3g (%s), worst updated tensor %.3g (%s)\n",
               ename, loss, loss_ref, worst_grad, worst_grad_name, worst_after, worst_after_name);
        CHECK(worst_grad <= 1e-3, "%s: gradients rel L2 %g at %s", ename, worst_grad, worst_grad_name);
        CHECK(worst_after <= 1e-3, "%s: updated tensors rel L2 %g at %s", ename, worst_after, worst_after_name);
    }

    /* save / load round trip */
    char tmp[] = "/tmp/mer_nn_resnet18_XXXXXX";
    int fd = mkstemp(tmp);
    close(fd);
    CHECK(resnet18_save(m, tmp, &err) == 0, "save: %s", err.msg);
    resnet18 *m2;
    CHECK(resnet18_load(&m2, tmp, &err) == 0, "load: %s", err.msg);
    if (m2) {
        nn_table *t2 = resnet18_table(m2);
        CHECK(resnet18_n_classes(m2) == 1000, "classes from file");
        CHECK(!memcmp(t2->params, tab->params, tab->n_params * 4), "params round trip");
        CHECK(!memcmp(t2->buffers, tab->buffers, tab->n_buffers * 4), "running stats round trip");
        resnet18_free(m2);
    }
    resnet18 *m3;
    resnet18_create(&m3, 0, &err);
    CHECK(resnet18_load_weights(m3, tmp, &err) == 0, "backbone-only load ignores fc: %s", err.msg);
    resnet18_free(m3);
    resnet18_create(&m3, 7, &err);
    CHECK(resnet18_load_weights(m3, tmp, &err) < 0 && strstr(err.msg, "fc.weight"), "fc shape mismatch named: %s",
          err.msg);
    resnet18_free(m3);
    unlink(tmp);

    free(x), free(yf), free(feat), free(logits), free(probs), free(dlogits);
    resnet18_free(m);
    h5_close(f, NULL);
    return check_summary();
}
