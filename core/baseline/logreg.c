/* Linear classifiers: logistic regression and multiclass SVM (see logreg.h for the losses, the layout and the
 * training rules). */
#include "core/baseline/logreg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/base/rng.h"
#include "io/h5.h"

logreg_options logreg_defaults(void) {
    return (logreg_options){.loss = LINEAR_SOFTMAX, .epochs = 200, .batch_size = 0, .lr = 0.01f, .l2 = 1e-4f,
                            .optim = optim_defaults(OPTIM_ADAM), .schedule = {.kind = LR_CONSTANT},
                            .seed = 0, .standardize = 1, .class_weight = NULL};
}

/* Scores z = W x + b of one sample, in double. */
static void scores_row(double *z, const float *params, const float *x, int D, int K) {
    const float *b = params + (size_t)K * D;
    for (int k = 0; k < K; k++) {
        const float *w = params + (size_t)k * D;
        double s = b[k];
        for (int d = 0; d < D; d++) s += (double)w[d] * x[d];
        z[k] = s;
    }
}

/* Scores, then softmax in place (max subtracted for range). */
static void softmax_row(double *z, const float *params, const float *x, int D, int K) {
    scores_row(z, params, x, D, K);
    double zmax = -INFINITY;
    for (int k = 0; k < K; k++)
        if (z[k] > zmax) zmax = z[k];
    double sum = 0;
    for (int k = 0; k < K; k++) sum += z[k] = exp(z[k] - zmax);
    for (int k = 0; k < K; k++) z[k] /= sum;
}

/* One sample's loss l_i, and into p its dl_i/dz (the class weight not applied). */
static double sample_loss(double *p, const float *params, const float *x, int64_t c, int D, int K, linear_loss kind) {
    if (kind == LINEAR_SOFTMAX) {
        softmax_row(p, params, x, D, K);
        const double l = -log(fmax(p[c], 1e-300));
        p[c] -= 1;
        return l;
    }
    scores_row(p, params, x, D, K);
    int best = -1;
    for (int k = 0; k < K; k++)
        if (k != c && (best < 0 || p[k] > p[best])) best = k;
    const double l = 1 + p[best] - p[c];
    for (int k = 0; k < K; k++) p[k] = 0;
    if (l <= 0) return 0;
    p[best] = 1;
    p[c] = -1;
    return l;
}

int logreg_loss_grad(double *loss, float *grad, const float *params, const float *X, const int64_t *y,
                     const size_t *idx, size_t n, int D, int K, linear_loss kind, float l2, const float *class_weight,
                     mer_err *err) {
    if (n == 0 || D < 1 || K < 2) return mer_errf(err, "logreg: %zu samples, %d features, %d classes", n, D, K);
    const size_t np = (size_t)K * D + K;
    double *p = mer_malloc((size_t)K * sizeof *p, err);
    double *g = grad ? mer_calloc(np, sizeof *g, err) : NULL;
    if (!p || (grad && !g)) {
        free(p);
        free(g);
        return -1;
    }
    double sum_l = 0, wsum = 0;
    for (size_t j = 0; j < n; j++) {
        const size_t i = idx ? idx[j] : j;
        const int64_t c = y[i];
        if (c < 0 || c >= K) {
            free(p);
            free(g);
            return mer_errf(err, "logreg: sample %zu has label %lld, outside 0..%d", i, (long long)c, K - 1);
        }
        const float *x = X + i * (size_t)D;
        const double cw = class_weight ? class_weight[c] : 1.0;
        sum_l += cw * sample_loss(p, params, x, c, D, K, kind);
        wsum += cw;
        if (!g) continue;
        for (int k = 0; k < K; k++) {
            const double dz = cw * p[k];
            double *gw = g + (size_t)k * D;
            for (int d = 0; d < D; d++) gw[d] += dz * x[d];
            g[(size_t)K * D + k] += dz;
        }
    }
    if (!(wsum > 0)) {
        free(p);
        free(g);
        return mer_errf(err, "logreg: the class weights of the batch sum to %g", wsum);
    }
    double reg = 0;
    for (size_t q = 0; q < (size_t)K * D; q++) reg += (double)params[q] * params[q];
    *loss = sum_l / wsum + 0.5 * l2 * reg;
    if (g) {
        for (size_t q = 0; q < np; q++) g[q] /= wsum;
        for (size_t q = 0; q < (size_t)K * D; q++) g[q] += (double)l2 * params[q];
        for (size_t q = 0; q < np; q++) grad[q] = (float)g[q];
    }
    free(p);
    free(g);
    return 0;
}

void logreg_free(logreg_model *m) {
    free(m->params);
    free(m->mean);
    free(m->sd);
    memset(m, 0, sizeof *m);
}

/* x standardised with the model's statistics into out (or copied). */
static void standardise_row(float *out, const logreg_model *m, const float *x) {
    for (int d = 0; d < m->dim; d++) out[d] = m->mean ? (x[d] - m->mean[d]) / m->sd[d] : x[d];
}

int logreg_train(logreg_model *m, double *final_loss, const float *X, const int64_t *y, size_t n, int D, int K,
                 const logreg_options *o, mer_err *err) {
    memset(m, 0, sizeof *m);
    if (n == 0 || D < 1 || K < 2) return mer_errf(err, "logreg: %zu samples, %d features, %d classes", n, D, K);
    if (o->epochs < 1 || !(o->lr > 0) || o->batch_size < 0 || !(o->l2 >= 0))
        return mer_errf(err, "logreg: epochs %d, lr %g, batch size %d, l2 %g", o->epochs, o->lr, o->batch_size,
                        o->l2);
    if (o->optim.weight_decay != 0)
        return mer_errf(err, "logreg: the L2 penalty is l2; the optimiser's weight decay must be 0");
    const size_t np = (size_t)K * D + K;
    m->n_classes = K;
    m->dim = D;
    float *Xs = NULL, *grad = NULL;
    size_t *order = NULL;
    optimizer opt = {0};
    int rc = -1;
    m->params = mer_calloc(np, sizeof *m->params, err);
    grad = mer_malloc(np * sizeof *grad, err);
    Xs = mer_malloc(n * (size_t)D * sizeof *Xs, err);
    order = mer_malloc(n * sizeof *order, err);
    if (!m->params || !grad || !Xs || !order || optim_init(&opt, &o->optim, np, err) < 0) goto done;
    if (o->standardize) {
        m->mean = mer_calloc((size_t)D, sizeof *m->mean, err);
        m->sd = mer_malloc((size_t)D * sizeof *m->sd, err);
        if (!m->mean || !m->sd) goto done;
        for (int d = 0; d < D; d++) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) s += X[i * D + d];
            const double mu = s / (double)n;
            for (size_t i = 0; i < n; i++) s2 += (X[i * D + d] - mu) * (X[i * D + d] - mu);
            const double sd = sqrt(s2 / (double)n);
            m->mean[d] = (float)mu;
            m->sd[d] = sd > 0 ? (float)sd : 1.0f;
        }
    }
    for (size_t i = 0; i < n; i++) standardise_row(Xs + i * D, m, X + i * (size_t)D);
    for (size_t i = 0; i < n; i++) order[i] = i;
    const size_t bs = o->batch_size == 0 || (size_t)o->batch_size > n ? n : (size_t)o->batch_size;
    mer_rng rng = rng_derive(o->seed, 0x6c6f67726567ULL /* "logreg" */);
    double loss = 0;
    for (int e = 0; e < o->epochs; e++) {
        const float lr = lr_at_epoch(&o->schedule, o->lr, e, o->epochs);
        if (bs < n) /* Fisher-Yates with rng_below, as rng_shuffle does for int indices */
            for (size_t i = n - 1; i > 0; i--) {
                const size_t j = rng_below(&rng, (uint32_t)(i + 1));
                const size_t t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        for (size_t b0 = 0; b0 < n; b0 += bs) {
            const size_t nb = n - b0 < bs ? n - b0 : bs;
            if (logreg_loss_grad(&loss, grad, m->params, Xs, y, order + b0, nb, D, K, o->loss, o->l2, o->class_weight,
                                 err) < 0)
                goto done;
            optim_step(&opt, m->params, grad, lr);
        }
    }
    if (final_loss && logreg_loss_grad(final_loss, NULL, m->params, Xs, y, NULL, n, D, K, o->loss, o->l2,
                                       o->class_weight, err) < 0)
        goto done;
    rc = 0;
done:
    optim_free(&opt);
    free(Xs);
    free(grad);
    free(order);
    if (rc < 0) logreg_free(m);
    return rc;
}

void logreg_predict_proba(float *prob, const logreg_model *m, const float *X, size_t n) {
    const int D = m->dim, K = m->n_classes;
    float *xs = malloc((size_t)D * sizeof *xs);
    double *p = malloc((size_t)K * sizeof *p);
    for (size_t i = 0; xs && p && i < n; i++) {
        standardise_row(xs, m, X + i * (size_t)D);
        softmax_row(p, m->params, xs, D, K);
        for (int k = 0; k < K; k++) prob[i * K + k] = (float)p[k];
    }
    free(xs);
    free(p);
}

void logreg_predict(int64_t *pred, const logreg_model *m, const float *X, size_t n) {
    const int K = m->n_classes;
    float *prob = malloc((size_t)K * sizeof *prob);
    for (size_t i = 0; prob && i < n; i++) {
        logreg_predict_proba(prob, m, X + i * (size_t)m->dim, 1);
        int best = 0;
        for (int k = 1; k < K; k++)
            if (prob[k] > prob[best]) best = k;
        pred[i] = best;
    }
    free(prob);
}

int logreg_save(const logreg_model *m, hid_t loc, const char *prefix, mer_err *err) {
    char path[512];
    const int64_t shape[2] = {m->n_classes, m->dim};
    size_t dims[1] = {(size_t)m->n_classes * m->dim + m->n_classes}, two[1] = {2}, d1[1] = {(size_t)m->dim};
    snprintf(path, sizeof path, "%sparams", prefix);
    if (h5_write_f32(loc, path, m->params, 1, dims, err) < 0) return -1;
    snprintf(path, sizeof path, "%sshape", prefix);
    if (h5_write_i64(loc, path, shape, 1, two, err) < 0) return -1;
    if (!m->mean) return 0;
    snprintf(path, sizeof path, "%smean", prefix);
    if (h5_write_f32(loc, path, m->mean, 1, d1, err) < 0) return -1;
    snprintf(path, sizeof path, "%ssd", prefix);
    return h5_write_f32(loc, path, m->sd, 1, d1, err);
}

int logreg_load(logreg_model *m, hid_t loc, const char *prefix, mer_err *err) {
    char path[512];
    int nd;
    size_t dims[H5_MAX_DIMS];
    int64_t *shape = NULL;
    memset(m, 0, sizeof *m);
    snprintf(path, sizeof path, "%sshape", prefix);
    if (h5_read_i64(loc, path, &shape, &nd, dims, err) < 0) return -1;
    const int ok = nd == 1 && dims[0] == 2 && shape[0] >= 2 && shape[1] >= 1;
    if (ok) {
        m->n_classes = (int)shape[0];
        m->dim = (int)shape[1];
    }
    free(shape);
    if (!ok) return mer_errf(err, "logreg: %s is not (classes >= 2, features >= 1)", path);
    snprintf(path, sizeof path, "%sparams", prefix);
    if (h5_read_f32(loc, path, &m->params, &nd, dims, err) < 0) goto fail;
    if (nd != 1 || dims[0] != (size_t)m->n_classes * m->dim + m->n_classes) {
        mer_errf(err, "logreg: %s has %zu values for %d classes x %d features", path, dims[0], m->n_classes, m->dim);
        goto fail;
    }
    snprintf(path, sizeof path, "%smean", prefix);
    if (!h5_exists(loc, path)) return 0;
    if (h5_read_f32(loc, path, &m->mean, &nd, dims, err) < 0) goto fail;
    if (dims[0] != (size_t)m->dim) goto bad_stats;
    snprintf(path, sizeof path, "%ssd", prefix);
    if (h5_read_f32(loc, path, &m->sd, &nd, dims, err) < 0) goto fail;
    if (dims[0] != (size_t)m->dim) goto bad_stats;
    return 0;
bad_stats:
    mer_errf(err, "logreg: %s does not have %d values", path, m->dim);
fail:
    logreg_free(m);
    return -1;
}
