/* LSH sparse-attention head: forward/backward, HDF5 I/O and training (see lsh_head.h for the math). */
#include "core/models/lsh_head.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "io/h5.h"

static const char *const ATTN_NAMES[] = {"lsh", "dense", "none"};
static const char *const POOL_NAMES[] = {"mean", "flatten"};
static const char *const PLANES_NAMES[] = {"fixed", "resample"};

#define N_NAMES(names) ((int)(sizeof names / sizeof *names))

static int parse_name(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}
int attn_kind_parse(const char *s, attn_kind *v) {
    const int i = parse_name(s, ATTN_NAMES, N_NAMES(ATTN_NAMES));
    return i < 0 ? -1 : (*v = (attn_kind)i, 0);
}
int pool_kind_parse(const char *s, pool_kind *v) {
    const int i = parse_name(s, POOL_NAMES, N_NAMES(POOL_NAMES));
    return i < 0 ? -1 : (*v = (pool_kind)i, 0);
}
int planes_kind_parse(const char *s, planes_kind *v) {
    const int i = parse_name(s, PLANES_NAMES, N_NAMES(PLANES_NAMES));
    return i < 0 ? -1 : (*v = (planes_kind)i, 0);
}
const char *attn_kind_name(attn_kind v) { return ATTN_NAMES[v]; }
const char *pool_kind_name(pool_kind v) { return POOL_NAMES[v]; }
const char *planes_kind_name(planes_kind v) { return PLANES_NAMES[v]; }

lsh_head_options lsh_head_defaults(void) {
    lsh_head_options o = {ATTN_LSH, 3, 1024, PLANES_FIXED, 256, 0.5f, POOL_MEAN, 0};
    return o;
}

struct lsh_head {
    lsh_head_options o;
    int d_in, T, C, Dz, Dp; /* Dz: per-frame width after concat; Dp: fc1 input width */
    nn_table tab;
    int wq, wk, wv, planes, fc1_w, fc1_b, fc2_w, fc2_b;
    /* activations of the last forward (capacity cap_n samples) */
    int cap_n, N, train_ready;
    const float *X;
    float *Q, *K, *V, *P, *A, *Z, *pooled, *h1, *drop_mask, *h2, *planes_cur, *qnorm;
    unsigned char *keep;
    int *code_q, *code_k;
    long kept_pairs, empty_rows;
    int64_t train_rows, train_empty; /* query rows of every training forward since creation, and the empty ones */
    /* backward scratch */
    float *dZ, *dA, *dQ, *dK, *dV, *dpooled, *dh1, *dh2, *dP;
};

/* ---- construction ----------------------------------------------------------------------------- */

static int check_opts(int d_in, int T, int C, const lsh_head_options *o, mer_err *err) {
    if (d_in <= 0 || T <= 0 || C <= 1) return mer_errf(err, "lsh_head: bad sizes d_in %d, T %d, classes %d", d_in, T, C);
    if (o->hidden <= 0) return mer_errf(err, "lsh_head: hidden width must be positive, got %d", o->hidden);
    if (!(o->dropout >= 0.0f && o->dropout < 1.0f)) return mer_errf(err, "lsh_head: dropout %g not in [0, 1)", o->dropout);
    if (o->attention != ATTN_NONE && o->d <= 0) return mer_errf(err, "lsh_head: attention width d must be positive");
    if (o->attention == ATTN_LSH && (o->n_rounds < 1 || o->n_rounds > 30))
        return mer_errf(err, "lsh_head: n_rounds %d out of range 1..30", o->n_rounds);
    return 0;
}

static void init_uniform(float *v, size_t n, float bound, mer_rng *r) {
    for (size_t i = 0; i < n; i++) v[i] = rng_uniform_range(r, -bound, bound);
}

int lsh_head_create(lsh_head **out, int d_in, int T, int n_classes, const lsh_head_options *opt, uint64_t seed,
                    mer_err *err) {
    *out = NULL;
    if (check_opts(d_in, T, n_classes, opt, err) < 0) return -1;
    lsh_head *h = mer_calloc(1, sizeof *h, err);
    if (!h) return -1;
    h->o = *opt;
    h->d_in = d_in, h->T = T, h->C = n_classes;
    const int attn = opt->attention != ATTN_NONE, d = attn ? opt->d : 0;
    h->Dz = d_in + d;
    h->Dp = opt->pooling == POOL_MEAN ? h->Dz : T * h->Dz;
    h->wq = h->wk = h->wv = h->planes = -1;
    const size_t wd[2] = {(size_t)d_in, (size_t)d}, pd[2] = {(size_t)(opt->attention == ATTN_LSH ? opt->n_rounds : 0), (size_t)d};
    const size_t f1[2] = {(size_t)opt->hidden, (size_t)h->Dp}, b1[1] = {(size_t)opt->hidden};
    const size_t f2[2] = {(size_t)n_classes, (size_t)opt->hidden}, b2[1] = {(size_t)n_classes};
    /* shared-QK (normalize) has no key projection: keys are the normalised queries */
    if (attn && ((h->wq = nn_table_add(&h->tab, "attn.wq", 2, wd, 1, err)) < 0 ||
                 (!opt->normalize && (h->wk = nn_table_add(&h->tab, "attn.wk", 2, wd, 1, err)) < 0) ||
                 (h->wv = nn_table_add(&h->tab, "attn.wv", 2, wd, 1, err)) < 0))
        goto fail;
    if (opt->attention == ATTN_LSH && (h->planes = nn_table_add(&h->tab, "attn.planes", 2, pd, 0, err)) < 0) goto fail;
    if ((h->fc1_w = nn_table_add(&h->tab, "fc1.weight", 2, f1, 1, err)) < 0 ||
        (h->fc1_b = nn_table_add(&h->tab, "fc1.bias", 1, b1, 1, err)) < 0 ||
        (h->fc2_w = nn_table_add(&h->tab, "fc2.weight", 2, f2, 1, err)) < 0 ||
        (h->fc2_b = nn_table_add(&h->tab, "fc2.bias", 1, b2, 1, err)) < 0)
        goto fail;
    if (nn_table_alloc(&h->tab, err) < 0) goto fail;
    mer_rng r = rng_seeded(seed);
    for (int i = 0; i < h->tab.n; i++) {
        const nn_tensor *t = &h->tab.t[i];
        float *v = nn_table_data(&h->tab, i);
        if (i == h->planes) {
            for (size_t k = 0; k < t->numel; k++) v[k] = rng_normal(&r);
        } else {
            const size_t fan_in = (i == h->wq || i == h->wk || i == h->wv) ? (size_t)d_in
                                  : (i == h->fc1_w || i == h->fc1_b)       ? (size_t)h->Dp
                                                                           : (size_t)opt->hidden;
            init_uniform(v, t->numel, (float)(1.0 / sqrt((double)fan_in)), &r);
        }
    }
    *out = h;
    return 0;
fail:
    free(h);
    return mer_err_prefix(err, "lsh_head_create");
}

static void free_acts(lsh_head *h) {
    float **f[] = {&h->Q, &h->K, &h->V, &h->P, &h->A, &h->Z, &h->pooled, &h->h1, &h->drop_mask, &h->h2, &h->planes_cur,
                   &h->qnorm, &h->dZ, &h->dA, &h->dQ, &h->dK, &h->dV, &h->dpooled, &h->dh1, &h->dh2, &h->dP};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) free(*f[i]), *f[i] = NULL;
    free(h->keep), free(h->code_q), free(h->code_k);
    h->keep = NULL, h->code_q = h->code_k = NULL;
    h->cap_n = 0;
}

void lsh_head_free(lsh_head *h) {
    if (!h) return;
    free_acts(h);
    nn_table_free(&h->tab);
    free(h);
}

nn_table *lsh_head_table(lsh_head *h) { return &h->tab; }
const lsh_head_options *lsh_head_opts(const lsh_head *h) { return &h->o; }
void lsh_head_dims(const lsh_head *h, int *d_in, int *T, int *n_classes) {
    if (d_in) *d_in = h->d_in;
    if (T) *T = h->T;
    if (n_classes) *n_classes = h->C;
}
void lsh_head_zero_grad(lsh_head *h) { memset(h->tab.grads, 0, h->tab.n_params * sizeof(float)); }
void lsh_head_set_dropout(lsh_head *h, float p) { h->o.dropout = p; }
void lsh_head_set_planes(lsh_head *h, planes_kind planes) { h->o.planes = planes; }
double lsh_head_last_density(const lsh_head *h) {
    return h->N > 0 ? (double)h->kept_pairs / ((double)h->N * h->T * h->T) : 0.0;
}
long lsh_head_last_empty_rows(const lsh_head *h) { return h->empty_rows; }
double lsh_head_train_empty_share(const lsh_head *h) {
    return h->train_rows > 0 ? (double)h->train_empty / (double)h->train_rows : NAN;
}

static int ensure_acts(lsh_head *h, int N, mer_err *err) {
    if (N <= h->cap_n) return 0;
    free_acts(h);
    const size_t NT = (size_t)N * h->T, d = h->o.attention != ATTN_NONE ? (size_t)h->o.d : 1, TT = NT * h->T;
    const size_t H = (size_t)h->o.hidden;
    struct { float **p; size_t n; } f[] = {
        {&h->Q, NT * d}, {&h->K, NT * d}, {&h->V, NT * d}, {&h->P, TT}, {&h->A, NT * d}, {&h->Z, NT * h->Dz},
        {&h->pooled, (size_t)N * h->Dp}, {&h->h1, N * H}, {&h->drop_mask, N * H}, {&h->h2, N * H},
        {&h->planes_cur, (size_t)(h->o.n_rounds > 0 ? h->o.n_rounds : 1) * d}, {&h->qnorm, NT}, {&h->dZ, NT * h->Dz}, {&h->dA, NT * d},
        {&h->dQ, NT * d}, {&h->dK, NT * d}, {&h->dV, NT * d}, {&h->dpooled, (size_t)N * h->Dp}, {&h->dh1, N * H},
        {&h->dh2, N * H}, {&h->dP, (size_t)h->T * h->T}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (!(*f[i].p = mer_malloc(f[i].n * sizeof(float), err))) goto fail;
    if (!(h->keep = mer_malloc(TT, err)) || !(h->code_q = mer_malloc(NT * sizeof(int), err)) ||
        !(h->code_k = mer_malloc(NT * sizeof(int), err)))
        goto fail;
    h->cap_n = N;
    return 0;
fail:
    free_acts(h);
    return mer_err_prefix(err, "lsh_head: activations for %d samples", N);
}

/* ---- forward ---------------------------------------------------------------------------------- */

#define NORM_EPS 1e-12

/* Logit scale: q.k / sqrt(d) (the patent); with unit q and k (normalize) sqrt(d) q.k, the logits that
 * unit-RMS entries would give, so a cosine difference still separates keys. */
static float attn_scale(int d, int normalize) {
    return normalize ? (float)sqrt((double)d) : (float)(1.0 / sqrt((double)d));
}

/* bucket codes of n rows x (n, d) against planes (R, d): bit j = [x . plane_j > 0] */
static void hash_rows(int *code, const float *x, const float *planes, int R, size_t n, int d) {
    for (size_t i = 0; i < n; i++) {
        int c = 0;
        for (int j = 0; j < R; j++) {
            double dot = 0.0;
            for (int k = 0; k < d; k++) dot += (double)x[i * d + k] * planes[(size_t)j * d + k];
            if (dot > 0.0) c |= 1 << j;
        }
        code[i] = c;
    }
}

int lsh_head_forward(lsh_head *h, float *logits, float *attn, const float *X, int N, int train, mer_rng *rng,
                     mer_err *err) {
    if (N <= 0) return mer_errf(err, "lsh_head_forward: no samples");
    if (train && !rng) return mer_errf(err, "lsh_head_forward: training mode needs an rng");
    h->train_ready = 0;
    if (ensure_acts(h, N, err) < 0) return -1;
    const int T = h->T, d = h->o.d, d_in = h->d_in, H = h->o.hidden;
    const int NT = N * T;
    h->N = N, h->X = X;
    h->kept_pairs = 0, h->empty_rows = 0;
    if (h->o.attention != ATTN_NONE) {
        const float *P = nn_table_data(&h->tab, h->wq);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NT, d, d_in, 1.0f, X, d_in, P, d, 0.0f, h->Q, d);
        if (h->o.normalize) { /* shared-QK: q <- q / |q|, k = q */
            for (size_t r = 0; r < (size_t)NT; r++) {
                float *q = h->Q + r * d;
                double ss = 0.0;
                for (int k = 0; k < d; k++) ss += (double)q[k] * q[k];
                const double nrm = sqrt(ss) > NORM_EPS ? sqrt(ss) : NORM_EPS;
                h->qnorm[r] = (float)nrm;
                for (int k = 0; k < d; k++) q[k] = (float)(q[k] / nrm);
            }
            memcpy(h->K, h->Q, sizeof(float) * (size_t)NT * d);
        } else {
            P = nn_table_data(&h->tab, h->wk);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NT, d, d_in, 1.0f, X, d_in, P, d, 0.0f, h->K, d);
        }
        P = nn_table_data(&h->tab, h->wv);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NT, d, d_in, 1.0f, X, d_in, P, d, 0.0f, h->V, d);
        const size_t TT = (size_t)NT * T;
        if (h->o.attention == ATTN_LSH) {
            const int R = h->o.n_rounds;
            const float *planes = nn_table_data(&h->tab, h->planes);
            if (train && h->o.planes == PLANES_RESAMPLE) {
                for (size_t k = 0; k < (size_t)R * d; k++) h->planes_cur[k] = rng_normal(rng);
                planes = h->planes_cur;
            }
            hash_rows(h->code_q, h->Q, planes, R, NT, d);
            hash_rows(h->code_k, h->K, planes, R, NT, d);
            for (int n = 0; n < N; n++)
                for (int u = 0; u < T; u++)
                    for (int v = 0; v < T; v++)
                        h->keep[((size_t)n * T + u) * T + v] = h->code_q[n * T + u] == h->code_k[n * T + v];
        } else {
            memset(h->keep, 1, TT);
        }
        if (h->o.normalize) /* shared-QK: a query attends to its own key only when no other key is kept */
            for (size_t r = 0; r < (size_t)NT; r++) {
                unsigned char *kp = h->keep + r * T;
                int others = 0;
                for (int v = 0; v < T; v++) others += kp[v] && v != (int)(r % T);
                if (others) kp[r % T] = 0;
                else h->empty_rows++; /* only its own key: no other frame in its bucket */
            }
        const float scale = attn_scale(d, h->o.normalize);
        for (int n = 0; n < N; n++) {
            float *S = h->P + (size_t)n * T * T;
            const float *Qn = h->Q + (size_t)n * T * d, *Kn = h->K + (size_t)n * T * d;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, scale, Qn, d, Kn, d, 0.0f, S, T);
            for (int u = 0; u < T; u++) { /* masked softmax over the kept entries of row u */
                float *row = S + (size_t)u * T;
                const unsigned char *kp = h->keep + ((size_t)n * T + u) * T;
                float mx = -INFINITY;
                int kept = 0;
                for (int v = 0; v < T; v++)
                    if (kp[v]) mx = row[v] > mx ? row[v] : mx, kept++;
                h->kept_pairs += kept;
                if (!kept) { /* never with normalize: the own key is always kept there */
                    h->empty_rows++;
                    memset(row, 0, sizeof(float) * T);
                    continue;
                }
                double sum = 0.0;
                for (int v = 0; v < T; v++) {
                    row[v] = kp[v] ? expf(row[v] - mx) : 0.0f;
                    sum += row[v];
                }
                const float inv = (float)(1.0 / sum);
                for (int v = 0; v < T; v++) row[v] *= inv;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, S, T, h->V + (size_t)n * T * d, d, 0.0f,
                        h->A + (size_t)n * T * d, d);
        }
        concat_forward(h->Z, X, h->A, NT, d_in, d);
        if (attn) memcpy(attn, h->A, sizeof(float) * (size_t)NT * d);
    } else {
        memcpy(h->Z, X, sizeof(float) * (size_t)NT * d_in);
    }
    if (h->o.pooling == POOL_MEAN)
        mean_time_forward(h->pooled, h->Z, N, T, h->Dz);
    else
        flatten_forward(h->pooled, h->Z, N, T, h->Dz);
    linear_forward(h->h1, h->pooled, nn_table_data(&h->tab, h->fc1_w), nn_table_data(&h->tab, h->fc1_b), N, h->Dp, H);
    relu_forward(h->h1, h->h1, (size_t)N * H);
    if (train)
        dropout_forward(h->h2, h->drop_mask, h->h1, (size_t)N * H, h->o.dropout, rng);
    else
        memcpy(h->h2, h->h1, sizeof(float) * (size_t)N * H);
    linear_forward(logits, h->h2, nn_table_data(&h->tab, h->fc2_w), nn_table_data(&h->tab, h->fc2_b), N, H, h->C);
    if (train && h->o.attention == ATTN_LSH) h->train_rows += NT, h->train_empty += h->empty_rows;
    h->train_ready = train;
    return 0;
}

/* ---- backward --------------------------------------------------------------------------------- */

int lsh_head_backward(lsh_head *h, float *dX, const float *dlogits, mer_err *err) {
    if (!h->train_ready) return mer_errf(err, "lsh_head_backward: no training-mode forward pass to differentiate");
    const int N = h->N, T = h->T, d = h->o.d, d_in = h->d_in, H = h->o.hidden, NT = N * T;
    nn_table *tab = &h->tab;
    memset(h->dh2, 0, sizeof(float) * (size_t)N * H);
    linear_backward(h->dh2, nn_table_grad(tab, h->fc2_w), nn_table_grad(tab, h->fc2_b), dlogits, h->h2,
                    nn_table_data(tab, h->fc2_w), N, H, h->C);
    memset(h->dh1, 0, sizeof(float) * (size_t)N * H);
    dropout_backward(h->dh1, h->dh2, h->drop_mask, (size_t)N * H);
    relu_backward(h->dh1, h->dh1, h->h1, (size_t)N * H);
    memset(h->dpooled, 0, sizeof(float) * (size_t)N * h->Dp);
    linear_backward(h->dpooled, nn_table_grad(tab, h->fc1_w), nn_table_grad(tab, h->fc1_b), h->dh1, h->pooled,
                    nn_table_data(tab, h->fc1_w), N, h->Dp, H);
    memset(h->dZ, 0, sizeof(float) * (size_t)NT * h->Dz);
    if (h->o.pooling == POOL_MEAN)
        mean_time_backward(h->dZ, h->dpooled, N, T, h->Dz);
    else
        flatten_backward(h->dZ, h->dpooled, N, T, h->Dz);
    if (h->o.attention == ATTN_NONE) {
        if (dX) add_inplace(dX, h->dZ, (size_t)NT * d_in);
        return 0;
    }
    memset(h->dA, 0, sizeof(float) * (size_t)NT * d);
    concat_backward(dX, h->dA, h->dZ, NT, d_in, d);
    const float scale = attn_scale(d, h->o.normalize);
    for (int n = 0; n < N; n++) {
        const size_t off = (size_t)n * T * d;
        const float *Pn = h->P + (size_t)n * T * T, *dAn = h->dA + off;
        /* dV = P^T dA; dP = dA V^T */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, Pn, T, dAn, d, 0.0f, h->dV + off, d);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d, 1.0f, dAn, d, h->V + off, d, 0.0f, h->dP, T);
        /* softmax backward on kept entries (masked and empty rows have P = 0, hence dS = 0) */
        for (int u = 0; u < T; u++) {
            const float *p = Pn + (size_t)u * T;
            float *g = h->dP + (size_t)u * T;
            double s = 0.0;
            for (int v = 0; v < T; v++) s += (double)p[v] * g[v];
            for (int v = 0; v < T; v++) g[v] = p[v] * (g[v] - (float)s) * scale;
        }
        /* dQ = dS K; dK = dS^T Q */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d, T, 1.0f, h->dP, T, h->K + off, d, 0.0f, h->dQ + off, d);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d, T, 1.0f, h->dP, T, h->Q + off, d, 0.0f, h->dK + off, d);
    }
    if (h->o.normalize) /* q-hat is both query and key; then back through q-hat = q / |q| */
        for (size_t r = 0; r < (size_t)NT; r++) {
            float *g = h->dQ + r * d;
            const float *q = h->Q + r * d, *gk = h->dK + r * d;
            double dot = 0.0;
            for (int k = 0; k < d; k++) g[k] += gk[k], dot += (double)g[k] * q[k];
            for (int k = 0; k < d; k++) g[k] = (float)((g[k] - dot * q[k]) / h->qnorm[r]);
        }
    const int w_idx[3] = {h->wq, h->wk, h->wv};
    float *const dproj[3] = {h->dQ, h->dK, h->dV};
    for (int i = 0; i < 3; i++) {
        if (w_idx[i] < 0) continue; /* no key projection (normalize) */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d_in, d, NT, 1.0f, h->X, d_in, dproj[i], d, 1.0f,
                    nn_table_grad(tab, w_idx[i]), d);
        if (dX)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NT, d_in, d, 1.0f, dproj[i], d,
                        nn_table_data(tab, w_idx[i]), d, 1.0f, dX, d_in);
    }
    return 0;
}

int lsh_head_predict(lsh_head *h, float *probs, const float *X, int N, mer_err *err) {
    const int chunk = 64;
    for (int s = 0; s < N; s += chunk) {
        const int n = N - s < chunk ? N - s : chunk;
        if (lsh_head_forward(h, probs + (size_t)s * h->C, NULL, X + (size_t)s * h->T * h->d_in, n, 0, NULL, err) < 0)
            return -1;
        softmax_forward(probs + (size_t)s * h->C, probs + (size_t)s * h->C, n, h->C);
    }
    return 0;
}

/* ---- HDF5 ------------------------------------------------------------------------------------- */

int lsh_head_save_to(const lsh_head *h, hid_t loc, mer_err *err) {
    const lsh_head_options *o = &h->o;
    if (h5_write_scalar_i64(loc, "config/d_in", h->d_in, err) < 0 || h5_write_scalar_i64(loc, "config/T", h->T, err) < 0 ||
        h5_write_scalar_i64(loc, "config/n_classes", h->C, err) < 0 ||
        h5_write_str(loc, "config/attention", ATTN_NAMES[o->attention], err) < 0 ||
        h5_write_scalar_i64(loc, "config/n_rounds", o->n_rounds, err) < 0 ||
        h5_write_scalar_i64(loc, "config/d", o->d, err) < 0 ||
        h5_write_str(loc, "config/planes", PLANES_NAMES[o->planes], err) < 0 ||
        h5_write_scalar_i64(loc, "config/hidden", o->hidden, err) < 0 ||
        h5_write_scalar_f64(loc, "config/dropout", o->dropout, err) < 0 ||
        h5_write_str(loc, "config/pooling", POOL_NAMES[o->pooling], err) < 0 ||
        h5_write_scalar_i64(loc, "config/normalize", o->normalize, err) < 0)
        return -1;
    /* the empty-row statistic of training (LSH only; read by runner/results.c and `mer report`) */
    if (h->train_rows > 0 && (h5_write_scalar_i64(loc, "stats/query_rows", h->train_rows, err) < 0 ||
                              h5_write_scalar_f64(loc, "stats/empty_query_share", lsh_head_train_empty_share(h), err) < 0))
        return -1;
    return nn_table_save(&h->tab, loc, "", 0, err);
}

int lsh_head_save(const lsh_head *h, const char *path, mer_err *err) {
    hid_t f;
    if (h5_create_tmp(path, &f, err) < 0) return -1;
    if (lsh_head_save_to(h, f, err) < 0) {
        h5_abort(f, path);
        return -1;
    }
    return h5_commit(f, path, err);
}

static int read_int(hid_t loc, const char *path, int *v, mer_err *err) {
    int64_t x;
    if (h5_read_scalar_i64(loc, path, &x, err) < 0) return -1;
    *v = (int)x;
    return 0;
}

static int read_enum(hid_t loc, const char *path, int (*parse)(const char *, void *), void *v, mer_err *err) {
    char *s;
    if (h5_read_str(loc, path, &s, err) < 0) return -1;
    const int rc = parse(s, v);
    if (rc < 0) mer_errf(err, "%s: unknown value '%s'", path, s);
    free(s);
    return rc;
}
static int parse_attn(const char *s, void *v) { return attn_kind_parse(s, v); }
static int parse_pool(const char *s, void *v) { return pool_kind_parse(s, v); }
static int parse_planes(const char *s, void *v) { return planes_kind_parse(s, v); }

int lsh_head_load_from(lsh_head **out, hid_t loc, mer_err *err) {
    *out = NULL;
    lsh_head_options o;
    int d_in, T, C;
    double dropout;
    char fname[512];
    if (read_int(loc, "config/d_in", &d_in, err) < 0 || read_int(loc, "config/T", &T, err) < 0 ||
        read_int(loc, "config/n_classes", &C, err) < 0 || read_enum(loc, "config/attention", parse_attn, &o.attention, err) < 0 ||
        read_int(loc, "config/n_rounds", &o.n_rounds, err) < 0 || read_int(loc, "config/d", &o.d, err) < 0 ||
        read_enum(loc, "config/planes", parse_planes, &o.planes, err) < 0 ||
        read_int(loc, "config/hidden", &o.hidden, err) < 0 || h5_read_scalar_f64(loc, "config/dropout", &dropout, err) < 0 ||
        read_enum(loc, "config/pooling", parse_pool, &o.pooling, err) < 0)
        return mer_err_prefix(err, "%s: head configuration", h5_filename(loc, fname, sizeof fname));
    o.dropout = (float)dropout;
    o.normalize = 0; /* absent in files written before the option existed */
    if (h5_exists(loc, "config/normalize") && read_int(loc, "config/normalize", &o.normalize, err) < 0)
        return mer_err_prefix(err, "%s: head configuration", h5_filename(loc, fname, sizeof fname));
    lsh_head *h;
    if (lsh_head_create(&h, d_in, T, C, &o, 0, err) < 0) return mer_err_prefix(err, "%s", h5_filename(loc, fname, sizeof fname));
    if (nn_table_load(&h->tab, loc, "", NULL, err) < 0) {
        lsh_head_free(h);
        return -1;
    }
    *out = h;
    return 0;
}

int lsh_head_load(lsh_head **out, const char *path, mer_err *err) {
    hid_t f;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    const int rc = lsh_head_load_from(out, f, err);
    h5_close(f, NULL);
    return rc;
}
