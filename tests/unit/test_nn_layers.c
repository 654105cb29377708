/* Every layer of core/nn/layers.h: backward against central finite differences of L = sum(g * forward),
 * plus the closed forms that FD cannot see (BatchNorm running statistics, weighted cross-entropy value,
 * dropout mask statistics, backward accumulation). */
#include "core/nn/layers.h"
#include "core/nn/threads.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

typedef double (*loss_fn)(void *ctx);

/* Central differences of fn over p[0..n) against the analytic gradient; returns the rel. L2 error. */
static double fd_error(loss_fn fn, void *ctx, float *p, const float *analytic, size_t n, float h) {
    float *fd = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        const float keep = p[i];
        p[i] = keep + h;
        const double lp = fn(ctx);
        p[i] = keep - h;
        const double lm = fn(ctx);
        p[i] = keep;
        fd[i] = (float)((lp - lm) / (2.0 * (double)h));
    }
    const double e = nn_test_rel_l2(analytic, fd, n);
    free(fd);
    return e;
}

static double dot(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* ---- batchnorm ---- */
typedef struct { batchnorm_shape s; float *x, *gamma, *beta, *g, *out, *mean, *invstd; const bn_post *post; } bn_ctx;
static double bn_loss(void *c) {
    bn_ctx *b = c;
    batchnorm_forward_train(b->out, b->mean, b->invstd, b->x, b->gamma, b->beta, NULL, NULL, &b->s, b->post);
    return dot(b->out, b->g, (size_t)b->s.N * b->s.C * b->s.HW);
}
static void test_batchnorm(mer_rng *r) {
    bn_ctx b = {{3, 4, 5, 1e-5f, 0.1f}, 0, 0, 0, 0, 0, 0, 0, NULL};
    const size_t n = 3 * 4 * 5;
    b.x = nn_test_randn(n, r, 2.0f), b.g = nn_test_randn(n, r, 1.0f), b.out = malloc(n * 4);
    b.gamma = nn_test_randn(4, r, 1.0f), b.beta = nn_test_randn(4, r, 1.0f);
    b.mean = malloc(16), b.invstd = malloc(16);
    float *dx = nn_test_randn(n, r, 1.0f), *dx0 = malloc(n * 4), dg[4] = {0}, db[4] = {0};
    memcpy(dx0, dx, n * 4);
    bn_loss(&b);
    batchnorm_backward(dx, dg, db, b.g, NULL, b.x, b.mean, b.invstd, b.gamma, &b.s, 0);
    for (size_t i = 0; i < n; i++) dx[i] -= dx0[i]; /* backward accumulated onto a non-zero start */
    CHECK(fd_error(bn_loss, &b, b.x, dx, n, 1e-2f) < 2e-3, "batchnorm dinput vs FD");
    CHECK(fd_error(bn_loss, &b, b.gamma, dg, 4, 1e-2f) < 2e-3, "batchnorm dgamma vs FD");
    CHECK(fd_error(bn_loss, &b, b.beta, db, 4, 1e-2f) < 2e-3, "batchnorm dbeta vs FD");
    /* running statistics: momentum 0.1, unbiased variance */
    float rm[4] = {1, 2, 3, 4}, rv[4] = {1, 1, 2, 2};
    batchnorm_forward_train(b.out, b.mean, b.invstd, b.x, b.gamma, b.beta, rm, rv, &b.s, NULL);
    for (int c = 0; c < 4; c++) {
        double s = 0, sq = 0;
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 5; i++) s += b.x[(k * 4 + c) * 5 + i];
        const double mean = s / 15;
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 5; i++) sq += pow(b.x[(k * 4 + c) * 5 + i] - mean, 2);
        CHECK_NEAR(rm[c], 0.9 * (c + 1) + 0.1 * mean, 1e-5, "running mean c%d", c);
        CHECK_NEAR(rv[c], 0.9 * (c < 2 ? 1 : 2) + 0.1 * sq / 14, 1e-5, "running var (unbiased) c%d", c);
        CHECK_NEAR(b.invstd[c], 1.0 / sqrt(sq / 15 + 1e-5), 1e-4, "normalised with the biased variance c%d", c);
    }
    /* eval mode uses the running statistics */
    batchnorm_forward_eval(b.out, b.x, b.gamma, b.beta, rm, rv, &b.s, NULL);
    CHECK_NEAR(b.out[7], (b.x[7] - rm[1]) / sqrt(rv[1] + 1e-5) * b.gamma[1] + b.beta[1], 1e-5, "eval batchnorm");
    /* fused epilogue: out = relu(bn(x) + residual); its backward masks dout by out > 0 and overwrites */
    float *res = nn_test_randn(n, r, 1.0f);
    const bn_post post = {res, 1};
    batchnorm_forward_eval(b.out, b.x, b.gamma, b.beta, rm, rv, &b.s, &post);
    for (int i = 0; i < 60; i += 7) {
        const double v = (b.x[i] - rm[i / 5 % 4]) / sqrt(rv[i / 5 % 4] + 1e-5) * b.gamma[i / 5 % 4] + b.beta[i / 5 % 4] + res[i];
        CHECK_NEAR(b.out[i], v > 0 ? v : 0, 1e-5, "eval batchnorm + residual + relu [%d]", i);
    }
    b.post = &post;
    bn_loss(&b);
    float *mask = malloc(n * 4);
    memcpy(mask, b.out, n * 4);
    for (size_t i = 0; i < n; i++) dx[i] = 1e6f; /* overwritten, not accumulated */
    memset(dg, 0, sizeof dg), memset(db, 0, sizeof db);
    batchnorm_backward(dx, dg, db, b.g, mask, b.x, b.mean, b.invstd, b.gamma, &b.s, 1);
    CHECK(fd_error(bn_loss, &b, b.x, dx, n, 1e-3f) < 2e-3, "fused batchnorm+residual+relu dinput vs FD");
    CHECK(fd_error(bn_loss, &b, b.gamma, dg, 4, 1e-3f) < 2e-3, "fused dgamma vs FD");
    CHECK(fd_error(bn_loss, &b, b.beta, db, 4, 1e-3f) < 2e-3, "fused dbeta vs FD");
    free(res), free(mask);
    free(b.x), free(b.g), free(b.out), free(b.gamma), free(b.beta), free(b.mean), free(b.invstd), free(dx), free(dx0);
}

/* ---- relu / maxpool / avgpool / mean-time / flatten / concat: input-only layers ---- */
typedef struct { int kind; float *x, *x2, *g, *out; int32_t *am; maxpool_shape mp; size_t n_out; } simple_ctx;
enum { K_RELU, K_MAXPOOL, K_AVGPOOL, K_MEANT, K_FLAT, K_CONCAT };
static double simple_loss(void *c) {
    simple_ctx *s = c;
    switch (s->kind) {
    case K_RELU: relu_forward(s->out, s->x, s->n_out); break;
    case K_MAXPOOL: maxpool_forward(s->out, s->am, s->x, &s->mp); break;
    case K_AVGPOOL: avgpool_forward(s->out, s->x, 2, 3, 7); break;
    case K_MEANT: mean_time_forward(s->out, s->x, 2, 5, 3); break;
    case K_FLAT: flatten_forward(s->out, s->x, 2, 5, 3); break;
    case K_CONCAT: concat_forward(s->out, s->x, s->x2, 4, 3, 2); break;
    }
    return dot(s->out, s->g, s->n_out);
}
static void test_simple(mer_rng *r) {
    /* inputs kept away from the kinks (0 for ReLU, ties for max pooling) */
    const size_t n = 2 * 3 * 7 * 7;
    simple_ctx s = {0};
    s.x = malloc(n * 4), s.x2 = nn_test_randn(8, r, 1.0f), s.g = nn_test_randn(n, r, 1.0f), s.out = malloc(n * 4);
    s.am = malloc(n * 4);
    for (size_t i = 0; i < n; i++) s.x[i] = (rng_uniform(r) < 0.5f ? -1.0f : 1.0f) * (0.2f + (float)i * 0.01f);
    rng_shuffle(r, (int *)s.x, (int)n); /* a permutation of distinct values (bit patterns swap as ints) */
    float *dx = calloc(n, 4), *dx2 = calloc(8, 4);
    const char *names[] = {"relu", "maxpool", "avgpool", "mean over time", "flatten", "concat"};
    for (int kind = 0; kind <= K_CONCAT; kind++) {
        s.kind = kind;
        size_t n_in = n;
        memset(dx, 0, n * 4), memset(dx2, 0, 8 * 4);
        switch (kind) {
        case K_RELU: s.n_out = n; break;
        case K_MAXPOOL:
            s.mp = (maxpool_shape){2, 3, 7, 7, 3, 2, 1};
            s.n_out = 2 * 3 * maxpool_out_h(&s.mp) * maxpool_out_w(&s.mp);
            break;
        case K_AVGPOOL: s.n_out = 6, n_in = 42; break;
        case K_MEANT: s.n_out = 6, n_in = 30; break;
        case K_FLAT: s.n_out = 30, n_in = 30; break;
        case K_CONCAT: s.n_out = 20, n_in = 12; break;
        }
        simple_loss(&s);
        switch (kind) {
        case K_RELU: relu_backward(dx, s.g, s.out, n); break;
        case K_MAXPOOL: maxpool_backward(dx, s.g, s.am, &s.mp); break;
        case K_AVGPOOL: avgpool_backward(dx, s.g, 2, 3, 7); break;
        case K_MEANT: mean_time_backward(dx, s.g, 2, 5, 3); break;
        case K_FLAT: flatten_backward(dx, s.g, 2, 5, 3); break;
        case K_CONCAT: concat_backward(dx, dx2, s.g, 4, 3, 2); break;
        }
        const double e = fd_error(simple_loss, &s, s.x, dx, n_in, 1e-3f);
        CHECK(e < 1e-3, "%s dinput vs FD: %g", names[kind], e);
        if (kind == K_CONCAT) CHECK(fd_error(simple_loss, &s, s.x2, dx2, 8, 1e-3f) < 1e-3, "concat second input");
    }
    /* max pooling: padding never wins even when every input is negative */
    for (size_t i = 0; i < n; i++) s.x[i] = -1.0f - (float)i;
    maxpool_forward(s.out, s.am, s.x, &s.mp);
    CHECK(s.out[0] == s.x[0], "maxpool ignores padding (zero padding would give 0): %g", s.out[0]);
    /* in-place relu backward masks */
    float d[4] = {1, 2, 3, 4}, o[4] = {0, 1, 0, 2};
    relu_backward(d, d, o, 4);
    CHECK(d[0] == 0 && d[1] == 2 && d[2] == 0 && d[3] == 4, "in-place relu backward");
    free(s.x), free(s.x2), free(s.g), free(s.out), free(s.am), free(dx), free(dx2);
}

/* ---- linear ---- */
typedef struct { float *x, *w, *b, *g, *out; } lin_ctx;
static double lin_loss(void *c) {
    lin_ctx *l = c;
    linear_forward(l->out, l->x, l->w, l->b, 3, 5, 4);
    return dot(l->out, l->g, 12);
}
static void test_linear(mer_rng *r) {
    lin_ctx l = {nn_test_randn(15, r, 1), nn_test_randn(20, r, 1), nn_test_randn(4, r, 1), nn_test_randn(12, r, 1),
                 malloc(48)};
    float *dx = calloc(15, 4), *dw = calloc(20, 4), *db = calloc(4, 4);
    linear_backward(dx, dw, db, l.g, l.x, l.w, 3, 5, 4);
    CHECK(fd_error(lin_loss, &l, l.x, dx, 15, 1e-2f) < 1e-3, "linear dinput");
    CHECK(fd_error(lin_loss, &l, l.w, dw, 20, 1e-2f) < 1e-3, "linear dweight");
    CHECK(fd_error(lin_loss, &l, l.b, db, 4, 1e-2f) < 1e-3, "linear dbias");
    free(l.x), free(l.w), free(l.b), free(l.g), free(l.out), free(dx), free(dw), free(db);
}

/* ---- dropout ---- */
typedef struct { float *x, *g, *out, *mask; } drop_ctx;
static double drop_loss(void *c) {
    drop_ctx *d = c;
    mer_rng r = rng_seeded(5); /* the same mask every call */
    dropout_forward(d->out, d->mask, d->x, 1000, 0.3f, &r);
    return dot(d->out, d->g, 1000);
}
static void test_dropout(mer_rng *r) {
    drop_ctx d = {nn_test_randn(1000, r, 1), nn_test_randn(1000, r, 1), malloc(4000), malloc(4000)};
    float *dx = calloc(1000, 4);
    drop_loss(&d);
    dropout_backward(dx, d.g, d.mask, 1000);
    CHECK(fd_error(drop_loss, &d, d.x, dx, 1000, 1e-2f) < 1e-3, "dropout dinput");
    int zeros = 0, scaled = 0;
    for (int i = 0; i < 1000; i++) zeros += d.mask[i] == 0.0f, scaled += fabsf(d.mask[i] - 1.0f / 0.7f) < 1e-6f;
    CHECK(zeros + scaled == 1000 && zeros > 250 && zeros < 350, "dropout mask: %d zeros of 1000 at p=0.3", zeros);
    mer_rng r2 = rng_seeded(1);
    dropout_forward(d.out, d.mask, d.x, 1000, 0.0f, &r2);
    CHECK(!memcmp(d.out, d.x, 4000) && r2.state == rng_seeded(1).state, "p = 0 copies and draws nothing");
    free(d.x), free(d.g), free(d.out), free(d.mask), free(dx);
}

/* ---- softmax cross-entropy (with class weights) ---- */
typedef struct { float *z, *p, *w; int *y; } ce_ctx;
static double ce_loss(void *c) {
    ce_ctx *e = c;
    return softmax_ce_forward(e->p, e->z, e->y, e->w, 4, 3);
}
static void test_ce(mer_rng *r) {
    int y[4] = {0, 2, 1, 2};
    float w[3] = {0.5f, 2.0f, 1.0f};
    ce_ctx e = {nn_test_randn(12, r, 2), malloc(48), w, y};
    double want = 0, wsum = 0;
    for (int b = 0; b < 4; b++) {
        double s = 0;
        for (int c = 0; c < 3; c++) s += exp(e.z[b * 3 + c]);
        want += w[y[b]] * -log(exp(e.z[b * 3 + y[b]]) / s);
        wsum += w[y[b]];
    }
    CHECK_NEAR(ce_loss(&e), want / wsum, 1e-6, "weighted mean cross-entropy value");
    float *dz = calloc(12, 4);
    softmax_ce_backward(dz, e.p, y, w, 4, 3, 1.0f);
    CHECK(fd_error(ce_loss, &e, e.z, dz, 12, 1e-2f) < 1e-3, "weighted CE dlogits");
    e.w = NULL;
    memset(dz, 0, 48);
    ce_loss(&e);
    softmax_ce_backward(dz, e.p, y, NULL, 4, 3, 1.0f);
    CHECK(fd_error(ce_loss, &e, e.z, dz, 12, 1e-2f) < 1e-3, "unweighted CE dlogits");
    float big[3] = {1000.0f, 0.0f, -1000.0f}, pb[3];
    int yb = 2;
    const double l = softmax_ce_forward(pb, big, &yb, NULL, 1, 3);
    CHECK(isfinite(l) && fabs(l - 2000.0) < 1e-3, "stable for large logits: %g", l);
    free(e.z), free(e.p), free(dz);
}

/* ---- max pooling against a plain window scan ----
 * Rows then columns, the first maximum wins, padding never wins, the first NaN wins (PyTorch propagates
 * NaN). Inputs on a coarse grid (many ties), with -inf and NaN sprinkled in; widths above the 64-column
 * chunk of the fast path; 1 and 2 threads. */
static void maxpool_reference(float *out, int32_t *am, const float *x, const maxpool_shape *s) {
    const int OH = maxpool_out_h(s), OW = maxpool_out_w(s);
    for (int nc = 0; nc < s->N * s->C; nc++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float *p = x + (size_t)nc * s->H * s->W;
                float best = 0.0f;
                int32_t where = -1;
                for (int kh = 0; kh < s->K; kh++)
                    for (int kw = 0; kw < s->K; kw++) {
                        const int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                        if (ih < 0 || ih >= s->H || iw < 0 || iw >= s->W) continue;
                        const float v = p[ih * s->W + iw];
                        if (where >= 0 && isnan(best)) continue;
                        if (where < 0 || v > best || isnan(v)) best = v, where = ih * s->W + iw;
                    }
                out[((size_t)nc * OH + oh) * OW + ow] = best;
                am[((size_t)nc * OH + oh) * OW + ow] = where;
            }
}

static void test_maxpool_exact(mer_rng *r) {
    const maxpool_shape shapes[] = {{2, 3, 13, 17, 3, 2, 1}, {1, 2, 9, 150, 3, 2, 1}, {1, 1, 8, 8, 2, 2, 0},
                                    {1, 2, 7, 9, 3, 1, 1}, {3, 64, 28, 28, 3, 2, 1}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        const maxpool_shape *s = &shapes[k];
        const size_t n = (size_t)s->N * s->C * s->H * s->W, m = (size_t)s->N * s->C * maxpool_out_h(s) * maxpool_out_w(s);
        float *x = malloc(n * 4), *o1 = malloc(m * 4), *o2 = malloc(m * 4);
        int32_t *a1 = malloc(m * 4), *a2 = malloc(m * 4);
        for (size_t i = 0; i < n; i++) {
            const double u = rng_uniform(r);
            x[i] = u < 0.01 ? NAN : u < 0.03 ? -INFINITY : (float)(int)(rng_uniform(r) * 5.0) - 2.0f;
        }
        maxpool_reference(o2, a2, x, s);
        for (int t = 1; t <= 2; t++) {
            nn_set_threads(t);
            maxpool_forward(o1, a1, x, s);
            int same = !memcmp(a1, a2, m * 4);
            for (size_t i = 0; i < m && same; i++) same = isnan(o2[i]) ? isnan(o1[i]) : o1[i] == o2[i];
            CHECK(same, "maxpool %d threads, shape %zu: values and argmax equal the window scan", t, k);
        }
        free(x), free(o1), free(o2), free(a1), free(a2);
    }
    nn_set_threads(1);
}

int main(void) {
    nn_set_threads(1);
    mer_rng r = rng_seeded(3);
    test_batchnorm(&r);
    test_simple(&r);
    test_maxpool_exact(&r);
    test_linear(&r);
    test_dropout(&r);
    test_ce(&r);
    return check_summary();
}
