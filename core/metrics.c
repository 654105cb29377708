/* Classification metrics from a pooled confusion matrix; definitions and the absent-class rule are in
 * core/metrics.h. */
#include "core/metrics.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int metrics_confusion_add(int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n, int n_classes,
                          mer_err *err) {
    if (n_classes < 1) return mer_errf(err, "confusion matrix: %d classes (need at least 1)", n_classes);
    /* validate everything first so a bad label leaves conf untouched */
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= n_classes)
            return mer_errf(err, "confusion matrix: truth label %" PRId64 " of row %zu is outside 0..%d", truth[i], i,
                            n_classes - 1);
        if (pred[i] < 0 || pred[i] >= n_classes)
            return mer_errf(err, "confusion matrix: predicted label %" PRId64 " of row %zu is outside 0..%d", pred[i],
                            i, n_classes - 1);
    }
    for (size_t i = 0; i < n; i++) conf[truth[i] * n_classes + pred[i]]++;
    return 0;
}

int metrics_confusion(int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n, int n_classes,
                      mer_err *err) {
    if (n_classes < 1) return mer_errf(err, "confusion matrix: %d classes (need at least 1)", n_classes);
    memset(conf, 0, (size_t)n_classes * (size_t)n_classes * sizeof *conf);
    return metrics_confusion_add(conf, truth, pred, n, n_classes, err);
}

int metrics_from_confusion(mer_metrics *m, double *recall, double *precision, double *f1, const int64_t *conf,
                           int n_classes, mer_err *err) {
    if (n_classes < 1) return mer_errf(err, "metrics: %d classes (need at least 1)", n_classes);
    const int C = n_classes;
    for (int i = 0; i < C * C; i++)
        if (conf[i] < 0)
            return mer_errf(err, "metrics: negative count %" PRId64 " at confusion[%d][%d]", conf[i], i / C, i % C);
    int64_t total = 0, trace = 0;
    double sum_recall = 0, sum_f1 = 0;
    int n_recall = 0, n_f1 = 0;
    for (int c = 0; c < C; c++) {
        int64_t tp = conf[c * C + c], row = 0, col = 0;
        for (int k = 0; k < C; k++) {
            row += conf[c * C + k];
            col += conf[k * C + c];
        }
        int64_t fn = row - tp, fp = col - tp;
        total += row;
        trace += tp;
        double r = row > 0 ? (double)tp / (double)row : NAN;
        double p = col > 0 ? (double)tp / (double)col : NAN;
        double f = (2 * tp + fp + fn) > 0 ? 2.0 * (double)tp / (double)(2 * tp + fp + fn) : NAN;
        if (row > 0) {
            sum_recall += r;
            n_recall++;
        }
        if (!isnan(f)) {
            sum_f1 += f;
            n_f1++;
        }
        if (recall) recall[c] = r;
        if (precision) precision[c] = p;
        if (f1) f1[c] = f;
    }
    m->n = total;
    m->accuracy = total > 0 ? (double)trace / (double)total : NAN;
    m->uar = n_recall > 0 ? sum_recall / n_recall : NAN;
    m->uf1 = n_f1 > 0 ? sum_f1 / n_f1 : NAN;
    m->n_uar_classes = n_recall;
    m->n_f1_classes = n_f1;
    return 0;
}

int metrics_from_predictions(mer_metrics *m, int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n,
                             int n_classes, mer_err *err) {
    if (n_classes < 1) return mer_errf(err, "metrics: %d classes (need at least 1)", n_classes);
    int64_t *c = conf;
    if (!c && !(c = mer_calloc((size_t)n_classes * (size_t)n_classes, sizeof *c, err))) return -1;
    int rc = metrics_confusion(c, truth, pred, n, n_classes, err);
    if (rc == 0) rc = metrics_from_confusion(m, NULL, NULL, NULL, c, n_classes, err);
    if (c != conf) free(c);
    return rc;
}

size_t metrics_mean_std(double *mean, double *std, const double *x, size_t n) {
    size_t k = 0;
    double s = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) {
            s += x[i];
            k++;
        }
    if (k == 0) {
        *mean = *std = NAN;
        return 0;
    }
    double mu = s / (double)k, ss = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i])) ss += (x[i] - mu) * (x[i] - mu);
    *mean = mu;
    *std = k > 1 ? sqrt(ss / (double)(k - 1)) : 0.0;
    return k;
}
