/* The whole network learns: ResNet-18 (random init, fine-tuned) on each frame + LSH head, trained with
 * Adam on a small synthetic problem (which quadrant a blob appears in between the onset and the second
 * frame, on a noise texture), reaches >= 90 % held-out accuracy; the frozen-backbone mode leaves the
 * backbone untouched. */
#include <unistd.h>

#include "core/nn/layers.h"
#include "core/nn/threads.h"
#include "core/models/recnet.h"
#include "core/train.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

enum { T = 2, S = 16, C = 3 };

/* frames (N,T,3,S,S), onset (N,3,S,S) = frame 0 */
static void make_data(float *frames, float *onset, int *y, int N, mer_rng *r) {
    const size_t HW = (size_t)S * S, frame = 3 * HW;
    for (int n = 0; n < N; n++) {
        y[n] = (int)rng_below(r, C);
        float *f0 = frames + (size_t)n * T * frame, *f1 = f0 + frame;
        for (size_t i = 0; i < frame; i++) f0[i] = f1[i] = 0.3f * rng_normal(r);
        const int cy = (y[n] == 2 ? 10 : 2) + (int)rng_below(r, 3), cx = (y[n] == 1 ? 10 : 2) + (int)rng_below(r, 3);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) f1[c * HW + (size_t)(cy + i) * S + cx + j] += 1.5f;
        memcpy(onset + (size_t)n * frame, f0, sizeof(float) * frame);
    }
}

static double accuracy(recnet *net, const float *x, const int *y, int N) {
    mer_err err = {0};
    float *p = malloc(sizeof(float) * N * C);
    if (recnet_predict(net, p, x, N, S, S, 16, &err) < 0) fprintf(stderr, "%s\n", err.msg);
    int ok = 0;
    for (int n = 0; n < N; n++) {
        int b = 0;
        for (int c = 1; c < C; c++) b = p[n * C + c] > p[n * C + b] ? c : b;
        ok += b == y[n];
    }
    free(p);
    return (double)ok / N;
}

/* Fine-tuning resumed from a checkpoint continues bit-identically: 2 epochs straight == 1 epoch,
 * checkpoint, scramble the live state, restore, 1 epoch. */
static void test_resume(const float *x, const int *y, int N) {
    mer_err err = {0};
    lsh_head_options ho = lsh_head_defaults();
    ho.d = 16, ho.hidden = 16, ho.dropout = 0.3f, ho.planes = PLANES_RESAMPLE;
    train_options to = train_defaults();
    to.optim = (optim_options){OPTIM_SGD, 0.9f, 1e-4f, 0, 0, 0};
    to.epochs = 2, to.batch_size = 8, to.lr = 0.01f;
    resnet18 *b[2];
    lsh_head *h[2];
    recnet net[2];
    trainer tr[2];
    for (int k = 0; k < 2; k++) {
        resnet18_create(&b[k], 0, &err);
        resnet18_init_pattern(b[k], 10); /* cheaper than kaiming under ASan; any init will do */
        lsh_head_create(&h[k], RESNET18_FEATURES, T, C, &ho, 20, &err);
        recnet_init(&net[k], b[k], h[k], BACKBONE_FINETUNE, &err);
        CHECK(trainer_init(&tr[k], &(train_model){h[k], &net[k], S, S}, &to, &err) == 0, "trainer: %s", err.msg);
        tr[k].rng = rng_seeded(99);
    }
    for (int e = 0; e < 2; e++) trainer_epoch(&tr[0], x, y, N, NULL, &err);
    trainer_epoch(&tr[1], x, y, N, NULL, &err);
    char tmp[] = "/tmp/mer_nn_recnet_XXXXXX";
    close(mkstemp(tmp));
    CHECK(trainer_save(&tr[1], tmp, &err) == 0, "checkpoint: %s", err.msg);
    /* wreck the live state: the restore must bring everything back */
    resnet18_init_pattern(b[1], 555);
    optimizer *ob = &tr[1].optim[1]; /* the backbone's */
    memset(ob->m, 0, ob->n * sizeof(float));
    tr[1].rng = rng_seeded(1);
    tr[1].epoch = 0;
    CHECK(trainer_restore(&tr[1], tmp, &err) == 0, "restore: %s", err.msg);
    CHECK(tr[1].epoch == 1, "epoch restored");
    trainer_epoch(&tr[1], x, y, N, NULL, &err);
    nn_table *t0 = resnet18_table(b[0]), *t1 = resnet18_table(b[1]);
    CHECK(!memcmp(t0->params, t1->params, t0->n_params * 4) && !memcmp(t0->buffers, t1->buffers, t0->n_buffers * 4),
          "resumed backbone (parameters and running statistics) bit-identical");
    CHECK(!memcmp(lsh_head_table(h[0])->params, lsh_head_table(h[1])->params, lsh_head_table(h[0])->n_params * 4),
          "resumed head bit-identical");
    unlink(tmp);
    for (int k = 0; k < 2; k++) {
        trainer_free(&tr[k]);
        recnet_free(&net[k]);
        resnet18_free(b[k]);
        lsh_head_free(h[k]);
    }
}

/* Identity-free head inputs: minus the reference rows (the row equal to the reference becomes 0, every
 * other row moves by the reference), minus the mean over frames (per-sample means become 0, the
 * differences between frames stay). */
static void test_subtract_reference(void) {
    enum { n = 3, TT = 4, D = 5 };
    mer_rng r = rng_seeded(9);
    float X[n * TT * D], X0[n * TT * D], ref[n * D];
    for (int i = 0; i < n * TT * D; i++) X0[i] = X[i] = rng_normal(&r) + 3.0f;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) ref[i * D + d] = X0[(i * TT + 2) * D + d]; /* frame 2 as the "onset" */
    train_subtract_reference(X, n, TT, D, ref);
    int ok = 1;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < TT; t++)
            for (int d = 0; d < D; d++) {
                const int k = (i * TT + t) * D + d;
                ok &= fabsf(X[k] - (X0[k] - ref[i * D + d])) < 1e-6f && (t != 2 || X[k] == 0.0f);
            }
    CHECK(ok, "minus_onset: every row minus its sample's reference; the reference frame becomes 0");
    memcpy(X, X0, sizeof X);
    train_subtract_reference(X, n, TT, D, NULL);
    double worst_mean = 0, worst_diff = 0;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) {
            double m = 0;
            for (int t = 0; t < TT; t++) m += X[(i * TT + t) * D + d];
            worst_mean = fmax(worst_mean, fabs(m / TT));
            const int a = (i * TT) * D + d, b = (i * TT + 3) * D + d;
            worst_diff = fmax(worst_diff, fabs((X[b] - X[a]) - (X0[b] - X0[a])));
        }
    CHECK(worst_mean < 1e-6, "minus_mean: per-sample means over frames are 0 (worst %g)", worst_mean);
    CHECK(worst_diff < 1e-5, "minus_mean keeps the differences between frames (worst %g)", worst_diff);
}

int main(void) {
    nn_set_threads(1); /* deterministic timing on a shared CI machine */
    test_subtract_reference();
    const int N = 96, NT = 48;
    mer_rng r = rng_seeded(2024);
    const size_t sample = (size_t)T * 3 * S * S;
    float *fr = malloc(sizeof(float) * N * sample), *on = malloc(sizeof(float) * N * 3 * S * S);
    float *frt = malloc(sizeof(float) * NT * sample), *ont = malloc(sizeof(float) * NT * 3 * S * S);
    float *x = malloc(sizeof(float) * N * sample), *xt = malloc(sizeof(float) * NT * sample);
    int *y = malloc(sizeof(int) * N), *yt = malloc(sizeof(int) * NT);
    make_data(fr, on, y, N, &r);
    make_data(frt, ont, yt, NT, &r);
    recnet_prepare_input(x, fr, on, N, T, S, S, INPUT_DIFFERENCE, 0);
    recnet_prepare_input(xt, frt, ont, NT, T, S, S, INPUT_DIFFERENCE, 0);
    CHECK_NEAR(x[sample - 1], fr[sample - 1] - on[3 * S * S - 1], 1e-6, "difference input = frame - onset");
    CHECK(x[0] == 0.0f, "difference of the onset frame itself is 0");

    mer_err err = {0};
    resnet18 *bb;
    lsh_head *head;
    CHECK(resnet18_create(&bb, 0, &err) == 0, "backbone: %s", err.msg);
    resnet18_init_kaiming(bb, 1);
    lsh_head_options ho = lsh_head_defaults();
    ho.d = 32, ho.hidden = 32, ho.dropout = 0.1f;
    CHECK(lsh_head_create(&head, RESNET18_FEATURES, T, C, &ho, 2, &err) == 0, "head: %s", err.msg);

    /* frozen: the backbone parameters and running statistics do not move */
    recnet net;
    CHECK(recnet_init(&net, bb, head, BACKBONE_FROZEN, &err) == 0, "init: %s", err.msg);
    nn_table *bt = resnet18_table(bb);
    float *keep = malloc(sizeof(float) * bt->n_params), *keep_buf = malloc(sizeof(float) * bt->n_buffers);
    memcpy(keep, bt->params, sizeof(float) * bt->n_params);
    memcpy(keep_buf, bt->buffers, sizeof(float) * bt->n_buffers);
    /* the trainer draws from the test's stream r (its numbers predate the trainer's seeded streams) */
    train_options to = train_defaults(); /* adam */
    to.batch_size = 16, to.lr = 1e-3f;
    trainer tr;
    CHECK(trainer_init(&tr, &(train_model){head, &net, S, S}, &to, &err) == 0, "trainer: %s", err.msg);
    CHECK(tr.n_tables == 1, "frozen: the head's optimizer only");
    tr.rng = r;
    double loss;
    CHECK(trainer_epoch(&tr, x, y, 32, &loss, &err) == 0, "frozen epoch: %s", err.msg);
    r = tr.rng;
    trainer_free(&tr);
    CHECK(!memcmp(keep, bt->params, sizeof(float) * bt->n_params) &&
              !memcmp(keep_buf, bt->buffers, sizeof(float) * bt->n_buffers),
          "frozen backbone unchanged");
    recnet_free(&net);

    /* fine-tune the whole network */
    CHECK(recnet_init(&net, bb, head, BACKBONE_FINETUNE, &err) == 0, "init: %s", err.msg);
    to.batch_size = 8;
    CHECK(trainer_init(&tr, &(train_model){head, &net, S, S}, &to, &err) == 0, "trainer: %s", err.msg);
    tr.rng = r;
    const double before = accuracy(&net, xt, yt, NT);
    double first = 0;
    for (int e = 0; e < 4; e++) {
        CHECK(trainer_epoch(&tr, x, y, N, &loss, &err) == 0, "epoch: %s", err.msg);
        if (e == 0) first = loss;
    }
    const double after = accuracy(&net, xt, yt, NT);
    printf("full network: held-out accuracy %.2f before, %.2f after 4 epochs; loss %.3f -> %.3f\n", before, after,
           first, loss);
    CHECK(memcmp(keep, bt->params, sizeof(float) * bt->n_params) != 0, "fine-tuning moves the backbone");
    CHECK(after >= 0.9, "the network learns the synthetic problem: %.2f", after);
    CHECK(loss < first, "training loss decreases: %.3f -> %.3f", first, loss);
    trainer_free(&tr);
    recnet_free(&net);
    test_resume(x, y, 16);
    resnet18_free(bb);
    lsh_head_free(head);
    free(fr), free(on), free(frt), free(ont), free(x), free(xt), free(y), free(yt), free(keep), free(keep_buf);
    return check_summary();
}
