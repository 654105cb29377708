/* One training loop for head and network, epoch selection and the training maths (see train.h). */
#include "core/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "io/base/hash.h"
#include "io/base/log.h"
#include "io/h5.h"

/* RNG streams derived from the seed: the head trainer and the fine-tuning loop had one each before
 * they became this loop, and keeping both keeps every result bit-identical. */
enum { STREAM_HEAD = 0x7261696e, STREAM_NETWORK = 2 };

/* ---- the model ------------------------------------------------------------------------------- */

static int n_classes_of(const train_model *m) {
    int C;
    lsh_head_dims(m->head, NULL, NULL, &C);
    return C;
}

static int finetunes_backbone(const train_model *m) { return m->net && m->net->mode == BACKBONE_FINETUNE; }

size_t train_model_sample_floats(const train_model *m) {
    int d_in, T;
    lsh_head_dims(m->head, &d_in, &T, NULL);
    return m->net ? (size_t)T * 3 * (size_t)m->H * (size_t)m->W : (size_t)T * (size_t)d_in;
}

int train_model_predict(const train_model *m, float *probs, const float *x, int N, mer_err *err) {
    if (N == 0) return 0;
    if (m->net) return recnet_predict(m->net, probs, x, N, m->H, m->W, 8, err);
    return lsh_head_predict(m->head, probs, x, N, err);
}

double train_model_accuracy(const train_model *m, const float *x, const int *y, int N, int C, mer_err *err) {
    if (N == 0) return 0;
    float *prob = mer_malloc((size_t)N * (size_t)C * sizeof *prob, err);
    if (!prob || train_model_predict(m, prob, x, N, err) < 0) {
        free(prob);
        return -1;
    }
    int correct = 0;
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (prob[(size_t)i * C + c] > prob[(size_t)i * C + best]) best = c;
        correct += best == y[i];
    }
    free(prob);
    return (double)correct / N;
}

static int model_forward(const train_model *m, float *logits, const float *x, int n, mer_rng *rng, mer_err *err) {
    if (m->net) return recnet_forward(m->net, logits, x, n, m->H, m->W, 1, rng, err);
    return lsh_head_forward(m->head, logits, NULL, x, n, 1, rng, err);
}

static int model_backward(const train_model *m, const float *dlogits, mer_err *err) {
    if (m->net) return recnet_backward(m->net, dlogits, err);
    return lsh_head_backward(m->head, NULL, dlogits, err);
}

/* ---- the loop -------------------------------------------------------------------------------- */

train_options train_defaults(void) {
    train_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 30, o.batch_size = 16, o.lr = 1e-3f;
    o.optim = optim_defaults(OPTIM_ADAM);
    o.schedule = (lr_schedule){LR_CONSTANT, 0, 10, 0.1f};
    return o;
}

int trainer_init(trainer *tr, const train_model *m, const train_options *opt, mer_err *err) {
    memset(tr, 0, sizeof *tr);
    if (opt->epochs < 0 || opt->batch_size <= 0 || !(opt->lr > 0.0f))
        return mer_errf(err, "training: bad options (epochs %d, batch size %d, lr %g)", opt->epochs, opt->batch_size,
                        opt->lr);
    tr->model = *m;
    tr->opt = *opt;
    tr->rng = rng_derive(opt->seed, m->net ? STREAM_NETWORK : STREAM_HEAD);
    tr->tables[tr->n_tables++] = lsh_head_table(m->head);
    if (finetunes_backbone(m)) tr->tables[tr->n_tables++] = resnet18_table(m->net->backbone);
    for (int i = 0; i < tr->n_tables; i++)
        if (optim_init(&tr->optim[i], &opt->optim, tr->tables[i]->n_params, err) < 0) {
            trainer_free(tr);
            return -1;
        }
    return 0;
}

void trainer_free(trainer *tr) {
    for (int i = 0; i < tr->n_tables; i++) optim_free(&tr->optim[i]);
    free(tr->order);
    tr->order = NULL;
    tr->order_n = 0;
}

int trainer_epoch(trainer *tr, const float *x, const int *y, int N, double *mean_loss, mer_err *err) {
    const train_model *m = &tr->model;
    const int C = n_classes_of(m);
    if (N <= 0) return mer_errf(err, "training: no samples");
    for (int i = 0; i < N; i++)
        if (y[i] < 0 || y[i] >= C) return mer_errf(err, "training: label %d of sample %d not in [0, %d)", y[i], i, C);
    if (tr->order_n < N) {
        free(tr->order);
        tr->order_n = 0;
        if (!(tr->order = mer_malloc(sizeof(int) * N, err))) return -1;
        tr->order_n = N;
    }
    for (int i = 0; i < N; i++) tr->order[i] = i;
    rng_shuffle(&tr->rng, tr->order, N);
    const int B = tr->opt.batch_size < N ? tr->opt.batch_size : N;
    const size_t row = train_model_sample_floats(m);
    float *xb = mer_malloc(sizeof(float) * row * B, err), *logits = mer_malloc(sizeof(float) * B * C, err);
    float *probs = mer_malloc(sizeof(float) * B * C, err);
    int *yb = mer_malloc(sizeof(int) * B, err);
    int rc = -1;
    if (!xb || !logits || !probs || !yb) goto done;
    const float lr = lr_at_epoch(&tr->opt.schedule, tr->opt.lr, tr->epoch, tr->opt.epochs);
    double loss_sum = 0.0;
    for (int s = 0; s < N; s += B) {
        const int n = N - s < B ? N - s : B;
        for (int i = 0; i < n; i++) {
            memcpy(xb + i * row, x + (size_t)tr->order[s + i] * row, sizeof(float) * row);
            yb[i] = y[tr->order[s + i]];
        }
        for (int t = 0; t < tr->n_tables; t++) memset(tr->tables[t]->grads, 0, tr->tables[t]->n_params * sizeof(float));
        if (model_forward(m, logits, xb, n, &tr->rng, err) < 0) goto done;
        const double loss = softmax_ce_forward(probs, logits, yb, tr->opt.class_weights, n, C);
        memset(logits, 0, sizeof(float) * n * C); /* reused as dlogits */
        softmax_ce_backward(logits, probs, yb, tr->opt.class_weights, n, C, 1.0f);
        if (model_backward(m, logits, err) < 0) goto done;
        for (int t = 0; t < tr->n_tables; t++) optim_step(&tr->optim[t], tr->tables[t]->params, tr->tables[t]->grads, lr);
        loss_sum += loss * n;
    }
    tr->epoch++;
    if (mean_loss) *mean_loss = loss_sum / N;
    rc = 0;
done:
    free(xb), free(logits), free(probs), free(yb);
    return rc;
}

int trainer_run(trainer *tr, const float *x, const int *y, int N, mer_err *err) {
    while (tr->epoch < tr->opt.epochs) {
        double loss;
        if (trainer_epoch(tr, x, y, N, &loss, err) < 0) return mer_err_prefix(err, "epoch %d", tr->epoch);
        if (tr->opt.on_epoch && tr->opt.on_epoch(tr->opt.user, tr->epoch - 1, loss)) break;
    }
    return 0;
}

int train_linear(logreg_model *m, const float *X, const int *y, int N, int D, int C, linear_loss loss,
                 const train_options *opt, mer_err *err) {
    if (N <= 0) return mer_errf(err, "training: no samples");
    int64_t *y64 = mer_malloc((size_t)N * sizeof *y64, err);
    if (!y64) return -1;
    for (int i = 0; i < N; i++) y64[i] = y[i];
    logreg_options lo = logreg_defaults();
    lo.loss = loss;
    lo.epochs = opt->epochs;
    lo.batch_size = opt->batch_size;
    lo.lr = opt->lr;
    lo.optim = opt->optim;
    lo.l2 = opt->optim.weight_decay;
    lo.optim.weight_decay = 0;
    lo.schedule = opt->schedule;
    lo.seed = opt->seed;
    lo.standardize = 0;
    lo.class_weight = opt->class_weights;
    const int rc = logreg_train(m, NULL, X, y64, (size_t)N, D, C, &lo, err);
    free(y64);
    return rc < 0 ? mer_err_prefix(err, "training the linear classifier") : 0;
}

static const char *const OPTIM_PREFIX[TRAIN_MAX_TABLES] = {"train/optim_head/", "train/optim_backbone/"};

int trainer_save(const trainer *tr, const char *path, mer_err *err) {
    hid_t f;
    if (h5_create_tmp(path, &f, err) < 0) return -1;
    int rc = lsh_head_save_to(tr->model.head, f, err);
    if (rc == 0 && tr->model.net) rc = nn_table_save(resnet18_table(tr->model.net->backbone), f, "backbone/", 0, err);
    for (int i = 0; rc == 0 && i < tr->n_tables; i++) rc = optim_save(&tr->optim[i], f, OPTIM_PREFIX[i], err);
    if (rc == 0) rc = h5_write_scalar_i64(f, "train/rng_state", (int64_t)tr->rng.state, err);
    if (rc == 0) rc = h5_write_scalar_i64(f, "train/epoch", tr->epoch, err);
    if (rc < 0) {
        h5_abort(f, path);
        return mer_err_prefix(err, "training checkpoint");
    }
    return h5_commit(f, path, err);
}

int trainer_restore(trainer *tr, const char *path, mer_err *err) {
    hid_t f;
    int64_t state = 0, epoch = 0;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    int rc = nn_table_load(lsh_head_table(tr->model.head), f, "", NULL, err);
    if (rc == 0 && tr->model.net) rc = nn_table_load(resnet18_table(tr->model.net->backbone), f, "backbone/", NULL, err);
    for (int i = 0; rc == 0 && i < tr->n_tables; i++) rc = optim_load(&tr->optim[i], f, OPTIM_PREFIX[i], err);
    if (rc == 0) rc = h5_read_scalar_i64(f, "train/rng_state", &state, err);
    if (rc == 0) rc = h5_read_scalar_i64(f, "train/epoch", &epoch, err);
    h5_close(f, NULL);
    if (rc < 0) return mer_err_prefix(err, "restoring training checkpoint %s", path);
    tr->rng.state = (uint64_t)state;
    tr->epoch = (int)epoch;
    return 0;
}

/* ---- epoch selection ------------------------------------------------------------------------- */

static size_t snapshot_floats(const train_selection *s) {
    size_t n = 0;
    for (int i = 0; i < s->n_tables; i++) n += s->tables[i]->n_params + s->tables[i]->n_buffers;
    return n;
}

/* save != 0: model -> snap; else snap -> model */
static void snapshot(const train_selection *s, float *snap, int save) {
    for (int i = 0; i < s->n_tables; i++) {
        nn_table *t = s->tables[i];
        float *parts[2] = {t->params, t->buffers};
        const size_t sizes[2] = {t->n_params, t->n_buffers};
        for (int k = 0; k < 2; k++) {
            if (save)
                memcpy(snap, parts[k], sizes[k] * sizeof *snap);
            else
                memcpy(parts[k], snap, sizes[k] * sizeof *snap);
            snap += sizes[k];
        }
    }
}

int train_selection_init(train_selection *s, const train_model *m, int C, const train_rows *val,
                         const train_rows *oracle, mer_err *err) {
    memset(s, 0, sizeof *s);
    s->model = *m;
    s->C = C;
    s->err = err;
    s->rows[TRAIN_PICK_VAL] = val && val->n > 0 ? val : NULL;
    s->rows[TRAIN_PICK_ORACLE] = oracle && oracle->n > 0 ? oracle : NULL;
    s->tables[s->n_tables++] = lsh_head_table(m->head);
    if (m->net) s->tables[s->n_tables++] = resnet18_table(m->net->backbone); /* BatchNorm statistics move too */
    const size_t n = snapshot_floats(s);
    for (int k = 0; k < 2; k++) {
        s->best[k] = -1;
        s->best_epoch[k] = -1;
        if (s->rows[k] && !(s->snap[k] = mer_malloc(n * sizeof(float), err))) goto fail;
    }
    if (s->rows[TRAIN_PICK_ORACLE] && !(s->snap[TRAIN_PICK_LAST] = mer_malloc(n * sizeof(float), err))) goto fail;
    return 0;
fail:
    train_selection_free(s);
    return -1;
}

void train_selection_free(train_selection *s) {
    for (int k = 0; k < TRAIN_PICK_COUNT; k++) {
        free(s->snap[k]);
        s->snap[k] = NULL;
    }
}

int train_selection_on_epoch(void *user, int epoch, double train_loss) {
    train_selection *s = user;
    for (int k = 0; k < 2; k++) {
        const train_rows *r = s->rows[k];
        if (!r) continue;
        const double a = train_model_accuracy(&s->model, r->x, r->y, r->n, s->C, s->err);
        if (a > s->best[k]) {
            s->best[k] = a;
            s->best_epoch[k] = epoch;
            snapshot(s, s->snap[k], 1);
        }
    }
    log_debug("epoch %d: loss %.4f", epoch, train_loss);
    if (s->should_stop && s->should_stop(s->stop_user)) {
        s->stopped = 1;
        return 1;
    }
    return 0;
}

void train_selection_keep_last(train_selection *s) {
    if (s->snap[TRAIN_PICK_LAST]) snapshot(s, s->snap[TRAIN_PICK_LAST], 1);
}

void train_selection_use(train_selection *s, train_pick pick) {
    if (s->snap[pick]) snapshot(s, s->snap[pick], 0);
}

/* ---- training maths -------------------------------------------------------------------------- */

int train_standardize(float *X, size_t n_rows, int D, const uint8_t *train_mask, int T, double *mean_out,
                      double *sd_out, mer_err *err) {
    double *mean = mer_calloc((size_t)D, sizeof *mean, err), *var = mer_calloc((size_t)D, sizeof *var, err);
    if (!mean || !var) {
        free(mean);
        free(var);
        return mer_err_prefix(err, "standardising the features");
    }
    double cnt = 0;
    for (size_t r = 0; r < n_rows; r++) {
        if (!train_mask[r / (size_t)T]) continue;
        cnt++;
        for (int d = 0; d < D; d++) mean[d] += X[r * (size_t)D + d];
    }
    if (cnt < 2) { /* too few rows: the identity (mean 0, sd 1) */
        for (int d = 0; d < D; d++) mean[d] = 0, var[d] = 1;
    } else {
        for (int d = 0; d < D; d++) mean[d] /= cnt;
        for (size_t r = 0; r < n_rows; r++) {
            if (!train_mask[r / (size_t)T]) continue;
            for (int d = 0; d < D; d++) {
                double e = X[r * (size_t)D + d] - mean[d];
                var[d] += e * e;
            }
        }
        for (int d = 0; d < D; d++) { /* var becomes the sd applied */
            double sd = sqrt(var[d] / (cnt - 1));
            var[d] = sd > 1e-8 ? sd : 1.0;
        }
    }
    train_standardize_apply(X, n_rows, D, mean, var);
    if (mean_out) memcpy(mean_out, mean, (size_t)D * sizeof *mean);
    if (sd_out) memcpy(sd_out, var, (size_t)D * sizeof *var);
    free(mean);
    free(var);
    return 0;
}

void train_standardize_apply(float *X, size_t n_rows, int D, const double *mean, const double *sd) {
    for (size_t r = 0; r < n_rows; r++)
        for (int d = 0; d < D; d++) X[r * (size_t)D + d] = (float)((X[r * (size_t)D + d] - mean[d]) / sd[d]);
}

void train_subtract_reference(float *X, size_t n, int T, int D, const float *ref) {
    for (size_t i = 0; i < n; i++) {
        float *x = X + i * (size_t)T * D;
        for (int d = 0; d < D; d++) {
            double r = 0.0;
            if (ref)
                r = ref[i * (size_t)D + d];
            else {
                for (int t = 0; t < T; t++) r += x[(size_t)t * D + d];
                r /= T;
            }
            for (int t = 0; t < T; t++) x[(size_t)t * D + d] = (float)(x[(size_t)t * D + d] - r);
        }
    }
}

typedef struct {
    uint64_t h;
    const char *subject;
} subject_rank;

static int by_rank(const void *a, const void *b) {
    const subject_rank *x = a, *y = b;
    if (x->h != y->h) return x->h < y->h ? -1 : 1;
    return strcmp(x->subject, y->subject);
}

int train_inner_split(uint8_t *train, uint8_t *val, const char *const *subject, size_t n_samples,
                      const uint8_t *outer_train, double frac, uint64_t seed, mer_err *err) {
    subject_rank *r = mer_calloc(n_samples ? n_samples : 1, sizeof *r, err);
    if (!r) return -1;
    size_t n = 0;
    for (size_t i = 0; i < n_samples; i++) {
        if (!outer_train[i]) continue;
        int seen = 0;
        for (size_t k = 0; k < n && !seen; k++) seen = !strcmp(r[k].subject, subject[i]);
        if (seen) continue;
        r[n].subject = subject[i];
        r[n].h = fnv1a64(subject[i], strlen(subject[i]), FNV1A64_INIT ^ seed);
        n++;
    }
    qsort(r, n, sizeof *r, by_rank);
    size_t n_val = 0;
    if (n >= 2) {
        n_val = (size_t)(frac * (double)n + 0.5);
        if (n_val < 1) n_val = 1;
        if (n_val > n - 1) n_val = n - 1;
    }
    for (size_t i = 0; i < n_samples; i++) {
        int is_val = 0;
        for (size_t k = 0; outer_train[i] && k < n_val && !is_val; k++) is_val = !strcmp(r[k].subject, subject[i]);
        val[i] = (uint8_t)is_val;
        train[i] = (uint8_t)(outer_train[i] && !is_val);
    }
    free(r);
    return 0;
}

float *train_class_weights(const int *y, int n, int C, mer_err *err) {
    float *cw = mer_calloc((size_t)C, sizeof *cw, err);
    if (!cw) return NULL;
    int present = 0;
    for (int i = 0; i < n; i++) cw[y[i]] += 1;
    for (int c = 0; c < C; c++) present += cw[c] > 0;
    for (int c = 0; c < C; c++) cw[c] = cw[c] > 0 ? (float)n / ((float)present * cw[c]) : 0.0f;
    return cw;
}
