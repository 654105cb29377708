/* LSH sparse-attention head: forward and gradients against torch (fixtures from tests/ref/torch_lsh_head.py,
 * lsh / dense / none attention, mean / flatten pooling; rel. L2 <= 1e-4 forward, <= 1e-3 gradients),
 * finite differences of every parameter and of the input (including rows with empty buckets: zero rows,
 * zero gradients, no NaN), save/load, a learning test, and bit-identical checkpoint/resume. */
#include <unistd.h>

#include "core/nn/layers.h"
#include "core/nn/threads.h"
#include "core/models/lsh_head.h"
#include "core/train.h"
#include "io/h5.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

static float *read_all(hid_t f, const char *path, size_t *n) {
    mer_err err = {0};
    float *v = NULL;
    int nd;
    size_t dims[H5_MAX_DIMS];
    if (h5_read_f32(f, path, &v, &nd, dims, &err) < 0) return NULL;
    *n = 1;
    for (int i = 0; i < nd; i++) *n *= dims[i];
    return v;
}

static double batch_loss(lsh_head *h, const float *x, const int *y, int N, float *logits, float *probs) {
    mer_err err;
    mer_rng r = rng_seeded(1);
    lsh_head_forward(h, logits, NULL, x, N, 1, &r, &err);
    int C;
    lsh_head_dims(h, NULL, NULL, &C);
    return softmax_ce_forward(probs, logits, y, NULL, N, C);
}

/* Finite differences (float32, h = 2e-3 on a loss of order 1) of every trainable tensor (an evenly spread
 * subset) and of the input against the analytic gradients in the head's grads and dx. Input perturbations
 * can flip LSH buckets (a discontinuity): the input is compared only when check_input is set. */
static void fd_check(lsh_head *h, const char *name, float *x, size_t nx, const int *y, int N, const float *dx,
                     int check_input) {
    nn_table *tab = lsh_head_table(h);
    int C;
    lsh_head_dims(h, NULL, NULL, &C);
    float *logits = malloc(sizeof(float) * N * C), *probs = malloc(sizeof(float) * N * C);
    float *analytic = malloc(sizeof(float) * (tab->n_params > nx ? tab->n_params : nx));
    float *fd = malloc(sizeof(float) * (tab->n_params > nx ? tab->n_params : nx));
    double e;
    for (int pass = 0; pass < 2; pass++) {
        float *p = pass ? x : tab->params;
        const size_t cnt = pass ? nx : tab->n_params;
        const float *grad_all = pass ? dx : tab->grads;
        const size_t stride = cnt > 500 ? cnt / 500 : 1; /* an evenly spread subset keeps ASan runs short */
        size_t m = 0;
        for (size_t i = 0; i < cnt; i += stride, m++) {
            analytic[m] = grad_all[i];
            const float keep = p[i], step = 2e-3f;
            p[i] = keep + step;
            const double lp = batch_loss(h, x, y, N, logits, probs);
            p[i] = keep - step;
            const double lm = batch_loss(h, x, y, N, logits, probs);
            p[i] = keep;
            fd[m] = (float)((lp - lm) / (2.0 * step));
        }
        e = nn_test_rel_l2(analytic, fd, m);
        printf("  %s finite differences (%s): rel L2 %.3g\n", name, pass ? "input" : "parameters", e);
        if (pass == 0 || check_input)
            CHECK(e < 5e-3, "%s finite differences (%s): rel L2 %g", name, pass ? "input" : "parameters", e);
    }
    free(analytic), free(fd), free(logits), free(probs);
}

static void check_fixture(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/nn/%s", dir, name);
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) {
        CHECK(0, "fixture %s: %s", path, err.msg);
        return;
    }
    lsh_head *h;
    if (lsh_head_load_from(&h, f, &err) < 0) {
        CHECK(0, "load %s: %s", name, err.msg);
        h5_close(f, NULL);
        return;
    }
    int d_in, T, C;
    lsh_head_dims(h, &d_in, &T, &C);
    const lsh_head_options *o = lsh_head_opts(h);
    size_t nx, ny, n;
    float *x = read_all(f, "x", &nx), *yf = read_all(f, "y", &ny);
    const int N = (int)ny;
    int y[64];
    for (int i = 0; i < N; i++) y[i] = (int)yf[i];
    float *logits = malloc(sizeof(float) * N * C), *probs = malloc(sizeof(float) * N * C);
    float *attn = malloc(sizeof(float) * N * T * (o->d > 0 ? o->d : 1));

    CHECK(lsh_head_forward(h, logits, attn, x, N, 0, NULL, &err) == 0, "%s forward: %s", name, err.msg);
    float *ref = read_all(f, "logits", &n);
    double e = nn_test_rel_l2(logits, ref, n);
    printf("%s: logits rel L2 %.3g", name, e);
    CHECK(e <= 1e-4, "%s logits rel L2 %g", name, e);
    free(ref);
    if (o->attention != ATTN_NONE) {
        ref = read_all(f, "attn", &n);
        e = nn_test_rel_l2(attn, ref, n);
        printf(", attention rel L2 %.3g", e);
        CHECK(e <= 1e-4, "%s attention rel L2 %g", name, e);
        free(ref);
    }
    double empty_ref = 0;
    h5_read_scalar_f64(f, "empty_rows", &empty_ref, &err);
    CHECK(lsh_head_last_empty_rows(h) == (long)empty_ref, "%s empty rows %ld, torch %g", name,
          lsh_head_last_empty_rows(h), empty_ref);
    if (o->attention == ATTN_LSH) {
        CHECK(empty_ref > 0, "%s fixture has empty-bucket rows", name);
        /* empty rows are exact zeros */
        int zero_rows = 0;
        for (int r = 0; r < N * T; r++) {
            int z = 1;
            for (int k = 0; k < o->d; k++) z &= attn[(size_t)r * o->d + k] == 0.0f;
            zero_rows += z;
        }
        CHECK(zero_rows == (int)empty_ref, "%s: %d all-zero attention rows, want %g", name, zero_rows, empty_ref);
    }

    /* gradients of the mean cross-entropy (dropout 0 in the fixture) */
    double loss_ref = 0;
    h5_read_scalar_f64(f, "loss", &loss_ref, &err);
    nn_table *tab = lsh_head_table(h);
    lsh_head_zero_grad(h);
    const double loss = batch_loss(h, x, y, N, logits, probs);
    CHECK_NEAR(loss, loss_ref, 1e-5, "%s loss", name);
    float *dlogits = calloc((size_t)N * C, sizeof(float)), *dx = calloc(nx, sizeof(float));
    softmax_ce_backward(dlogits, probs, y, NULL, N, C, 1.0f);
    CHECK(lsh_head_backward(h, dx, dlogits, &err) == 0, "%s backward: %s", name, err.msg);
    double worst = 0;
    for (int i = 0; i < tab->n; i++) {
        if (!tab->t[i].trainable) continue;
        char gp[128];
        snprintf(gp, sizeof gp, "grad/%s", tab->t[i].name);
        ref = read_all(f, gp, &n);
        CHECK(ref && n == tab->t[i].numel, "%s %s present", name, gp);
        if (!ref) continue;
        e = nn_test_rel_l2(nn_table_grad(tab, i), ref, n);
        if (e > worst) worst = e;
        CHECK(e <= 1e-3, "%s %s rel L2 %g", name, gp, e);
        free(ref);
    }
    printf(", worst gradient rel L2 %.3g\n", worst);
    for (size_t i = 0; i < tab->n_params; i++)
        if (!isfinite(tab->grads[i])) {
            CHECK(0, "%s: non-finite gradient", name);
            break;
        }

    fd_check(h, name, x, nx, y, N, dx, o->attention != ATTN_LSH);

    /* save / load round trip */
    char tmp[] = "/tmp/mer_nn_head_XXXXXX";
    close(mkstemp(tmp));
    lsh_head *h2 = NULL;
    CHECK(lsh_head_save(h, tmp, &err) == 0 && lsh_head_load(&h2, tmp, &err) == 0, "%s save/load: %s", name, err.msg);
    if (h2) {
        CHECK(!memcmp(lsh_head_table(h2)->params, tab->params, tab->n_params * 4), "%s params round trip", name);
        CHECK(!memcmp(lsh_head_table(h2)->buffers, tab->buffers, tab->n_buffers * 4), "%s planes round trip", name);
        lsh_head_free(h2);
    }
    unlink(tmp);
    free(x), free(yf), free(logits), free(probs), free(attn), free(dlogits), free(dx);
    lsh_head_free(h);
    h5_close(f, NULL);
}

/* A synthetic sequence problem: class c has a characteristic direction that appears in the second half of
 * the frames; noise elsewhere. */
static void make_problem(float *X, int *y, int N, int T, int d_in, int C, mer_rng *r) {
    for (int n = 0; n < N; n++) {
        y[n] = (int)rng_below(r, (uint32_t)C);
        for (int t = 0; t < T; t++)
            for (int k = 0; k < d_in; k++) {
                float v = 0.5f * rng_normal(r);
                if (t >= T / 2 && k % C == y[n]) v += 1.0f;
                X[((size_t)n * T + t) * d_in + k] = v;
            }
    }
}

typedef struct { int calls; double last_loss; } cb_state;
static int on_epoch(void *user, int epoch, double loss) {
    cb_state *s = user;
    s->calls++;
    s->last_loss = loss;
    return epoch >= 1000; /* never stops early here */
}

static void test_training_and_resume(void) {
    const int N = 96, T = 8, d_in = 24, C = 3;
    mer_rng r = rng_seeded(77);
    float *X = malloc(sizeof(float) * N * T * d_in), *Xt = malloc(sizeof(float) * N * T * d_in);
    int *y = malloc(sizeof(int) * N), *yt = malloc(sizeof(int) * N);
    make_problem(X, y, N, T, d_in, C, &r);
    make_problem(Xt, yt, N, T, d_in, C, &r);
    lsh_head_options o = lsh_head_defaults();
    o.d = 32, o.hidden = 32, o.dropout = 0.2f, o.planes = PLANES_RESAMPLE;
    train_options to = train_defaults();
    to.epochs = 30, to.batch_size = 16, to.lr = 3e-3f, to.seed = 5;
    to.schedule = (lr_schedule){LR_COSINE, 2, 0, 0};
    cb_state cs = {0, 0};
    to.on_epoch = on_epoch, to.user = &cs;
    mer_err err = {0};
    lsh_head *h;
    CHECK(lsh_head_create(&h, d_in, T, C, &o, 9, &err) == 0, "create: %s", err.msg);
    const train_model m = {h, NULL, 0, 0};
    trainer tr;
    CHECK(trainer_init(&tr, &m, &to, &err) == 0 && trainer_run(&tr, X, y, N, &err) == 0, "train: %s", err.msg);
    trainer_free(&tr);
    CHECK(cs.calls == 30, "callback once per epoch: %d", cs.calls);
    float *probs = malloc(sizeof(float) * N * C);
    lsh_head_predict(h, probs, Xt, N, &err);
    int correct = 0;
    for (int n = 0; n < N; n++) {
        int best = 0;
        for (int c = 1; c < C; c++) best = probs[n * C + c] > probs[n * C + best] ? c : best;
        correct += best == yt[n];
    }
    printf("head training: held-out accuracy %d/%d, final train loss %.4f\n", correct, N, cs.last_loss);
    CHECK(correct >= 0.9 * N, "head learns the synthetic problem: %d/%d", correct, N);
    lsh_head_free(h);

    /* resume: 6 epochs straight == 3 epochs, checkpoint, fresh objects, restore, 3 more (bit-identical) */
    to.epochs = 6, to.on_epoch = NULL;
    to.optim = optim_defaults(OPTIM_SGD);
    to.optim.momentum = 0.9f, to.optim.weight_decay = 1e-3f;
    for (int kind = 0; kind < 2; kind++) {
        if (kind) to.optim = optim_defaults(OPTIM_ADAMW), to.optim.weight_decay = 0.01f;
        lsh_head *a, *b;
        lsh_head_create(&a, d_in, T, C, &o, 9, &err);
        lsh_head_create(&b, d_in, T, C, &o, 9, &err);
        const train_model ma = {a, NULL, 0, 0}, mb = {b, NULL, 0, 0};
        trainer ta, tb;
        trainer_init(&ta, &ma, &to, &err);
        CHECK(trainer_run(&ta, X, y, N, &err) == 0, "straight run: %s", err.msg);
        trainer_init(&tb, &mb, &to, &err);
        for (int e = 0; e < 3; e++) trainer_epoch(&tb, X, y, N, NULL, &err);
        char tmp[] = "/tmp/mer_nn_ckpt_XXXXXX";
        close(mkstemp(tmp));
        CHECK(trainer_save(&tb, tmp, &err) == 0, "checkpoint: %s", err.msg);
        trainer_free(&tb);
        lsh_head_free(b);
        lsh_head *c;
        lsh_head_create(&c, d_in, T, C, &o, 12345, &err); /* different init: everything must come from the file */
        const train_model mc = {c, NULL, 0, 0};
        trainer tc;
        trainer_init(&tc, &mc, &to, &err);
        CHECK(trainer_restore(&tc, tmp, &err) == 0, "restore: %s", err.msg);
        CHECK(tc.epoch == 3, "restored epoch %d", tc.epoch);
        CHECK(trainer_run(&tc, X, y, N, &err) == 0, "resumed run: %s", err.msg);
        nn_table *ta_tab = lsh_head_table(a), *tc_tab = lsh_head_table(c);
        CHECK(!memcmp(ta_tab->params, tc_tab->params, ta_tab->n_params * 4), "%s resume is bit-identical",
              optim_kind_name(to.optim.kind));
        CHECK(!memcmp(ta.optim[0].m, tc.optim[0].m, ta.optim[0].n * 4) && ta.rng.state == tc.rng.state,
              "%s optimizer and rng state identical", optim_kind_name(to.optim.kind));
        unlink(tmp);
        trainer_free(&ta), trainer_free(&tc);
        lsh_head_free(a), lsh_head_free(c);
    }
    free(X), free(Xt), free(y), free(yt), free(probs);
}

/* Many hash rounds: every query lands in a bucket without keys -> all-zero attention, exactly zero
 * gradients for Wq, Wk, Wv, no NaN anywhere. */
static void test_all_empty(void) {
    const int N = 3, T = 6, d_in = 5, C = 2;
    lsh_head_options o = lsh_head_defaults();
    o.n_rounds = 30, o.d = 8, o.hidden = 6, o.dropout = 0.0f;
    mer_err err = {0};
    lsh_head *h;
    CHECK(lsh_head_create(&h, d_in, T, C, &o, 3, &err) == 0, "create: %s", err.msg);
    mer_rng r = rng_seeded(4);
    float *x = nn_test_randn((size_t)N * T * d_in, &r, 1.0f), logits[6], probs[6], dlogits[6] = {0};
    int y[3] = {0, 1, 1};
    lsh_head_zero_grad(h);
    const double loss = batch_loss(h, x, y, N, logits, probs);
    CHECK(lsh_head_last_empty_rows(h) == N * T, "30 rounds: all %d rows empty (%ld)", N * T, lsh_head_last_empty_rows(h));
    softmax_ce_backward(dlogits, probs, y, NULL, N, C, 1.0f);
    lsh_head_backward(h, NULL, dlogits, &err);
    nn_table *tab = lsh_head_table(h);
    int finite = isfinite(loss), zero_attn = 1;
    for (size_t i = 0; i < tab->n_params; i++) finite &= isfinite(tab->grads[i]) != 0;
    for (int i = 0; i < tab->n; i++)
        if (!strncmp(tab->t[i].name, "attn.", 5) && tab->t[i].trainable)
            for (size_t k = 0; k < tab->t[i].numel; k++) zero_attn &= nn_table_grad(tab, i)[k] == 0.0f;
    CHECK(finite, "no NaN/inf with all buckets empty");
    CHECK(zero_attn, "attention weights get exactly zero gradient when every row is empty");
    CHECK(lsh_head_last_density(h) == 0.0, "density 0");
    free(x);
    lsh_head_free(h);
}

/* normalize (shared-QK): finite differences through the normalisation, the shared projection and the
 * self mask (dense: no hashing, input checked too; lsh: parameters); no key projection; with 30 rounds
 * every bucket holds one frame, so every row attends to its own key only: A = V exactly, all rows empty;
 * the training statistic and its round trip through a file. */
static void test_normalize(void) {
    const int N = 3, T = 5, d_in = 6, C = 3;
    const int y[3] = {0, 2, 1};
    static const struct { attn_kind kind; int rounds; const char *name; } CASES[] = {
        {ATTN_DENSE, 3, "normalize dense"}, {ATTN_LSH, 1, "normalize lsh"}};
    for (size_t c = 0; c < sizeof CASES / sizeof *CASES; c++) {
        lsh_head_options o = lsh_head_defaults();
        o.attention = CASES[c].kind, o.n_rounds = CASES[c].rounds, o.d = 8, o.hidden = 7, o.dropout = 0.0f;
        o.normalize = 1;
        mer_err err = {0};
        lsh_head *h;
        CHECK(lsh_head_create(&h, d_in, T, C, &o, 11 + c, &err) == 0, "create: %s", err.msg);
        nn_table *tab = lsh_head_table(h);
        int has_wk = 0;
        for (int i = 0; i < tab->n; i++) has_wk |= !strcmp(tab->t[i].name, "attn.wk");
        CHECK(!has_wk, "%s: no key projection", CASES[c].name);
        mer_rng r = rng_seeded(5 + c);
        const size_t nx = (size_t)N * T * d_in;
        float *x = nn_test_randn(nx, &r, 1.0f), logits[9], probs[9], dlogits[9] = {0}; /* backward accumulates */
        float *dx = calloc(nx, sizeof(float));
        lsh_head_zero_grad(h);
        batch_loss(h, x, y, N, logits, probs);
        softmax_ce_backward(dlogits, probs, y, NULL, N, C, 1.0f);
        CHECK(lsh_head_backward(h, dx, dlogits, &err) == 0, "%s backward: %s", CASES[c].name, err.msg);
        fd_check(h, CASES[c].name, x, nx, y, N, dx, CASES[c].kind != ATTN_LSH);
        free(x), free(dx);
        lsh_head_free(h);
    }

    lsh_head_options o = lsh_head_defaults();
    o.n_rounds = 30, o.d = 8, o.hidden = 6, o.dropout = 0.0f, o.normalize = 1;
    mer_err err = {0};
    lsh_head *h;
    CHECK(lsh_head_create(&h, d_in, T, C, &o, 3, &err) == 0, "create: %s", err.msg);
    CHECK(isnan(lsh_head_train_empty_share(h)), "no statistic before training");
    mer_rng r = rng_seeded(4);
    float *x = nn_test_randn((size_t)N * T * d_in, &r, 1.0f), logits[9];
    float *attn = malloc(sizeof(float) * N * T * o.d), *V = malloc(sizeof(float) * N * T * o.d);
    CHECK(lsh_head_forward(h, logits, attn, x, N, 1, &r, &err) == 0, "forward: %s", err.msg);
    CHECK(lsh_head_last_empty_rows(h) == N * T, "30 rounds: every row only has its own key (%ld of %d)",
          lsh_head_last_empty_rows(h), N * T);
    nn_table *tab = lsh_head_table(h);
    int wv = -1;
    for (int i = 0; i < tab->n; i++)
        if (!strcmp(tab->t[i].name, "attn.wv")) wv = i;
    for (int i = 0; i < N * T; i++) /* V = X Wv, row by row */
        for (int k = 0; k < o.d; k++) {
            double v = 0;
            for (int j = 0; j < d_in; j++) v += (double)x[i * d_in + j] * nn_table_data(tab, wv)[j * o.d + k];
            V[i * o.d + k] = (float)v;
        }
    CHECK(nn_test_rel_l2(attn, V, (size_t)N * T * o.d) < 1e-5, "a row that keeps only its own key returns its V");
    CHECK(lsh_head_train_empty_share(h) == 1.0, "empty share 1 (%g)", lsh_head_train_empty_share(h));
    char tmp[] = "/tmp/mer_nn_head_XXXXXX";
    close(mkstemp(tmp));
    lsh_head *h2 = NULL;
    CHECK(lsh_head_save(h, tmp, &err) == 0 && lsh_head_load(&h2, tmp, &err) == 0, "save/load: %s", err.msg);
    hid_t f;
    double share = -1;
    if (h5_open(tmp, 0, &f, &err) == 0) {
        h5_read_scalar_f64(f, "stats/empty_query_share", &share, &err);
        h5_close(f, NULL);
    }
    CHECK(share == 1.0, "stats/empty_query_share saved (%g)", share);
    CHECK(h2 && lsh_head_opts(h2)->normalize == 1, "normalize round trip");
    lsh_head_free(h2);
    unlink(tmp);
    free(x), free(attn), free(V);
    lsh_head_free(h);
}

int main(void) {
    nn_set_threads(1); /* deterministic timing on a shared CI machine */
    const char *fx = getenv("MER_FIXTURES");
    char path[1024];
    snprintf(path, sizeof path, "%s/nn/head_lsh_mean.h5", fx ? fx : "tests/fixtures");
    if (access(path, R_OK) != 0) SKIP_ALL("fixture missing: %s", path);
    check_fixture(fx ? fx : "tests/fixtures", "head_lsh_mean.h5");
    check_fixture(fx ? fx : "tests/fixtures", "head_dense_flatten.h5");
    check_fixture(fx ? fx : "tests/fixtures", "head_none_mean.h5");
    test_all_empty();
    test_normalize();
    test_training_and_resume();
    return check_summary();
}
