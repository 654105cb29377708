/* Classification metrics for pooled LOSO predictions (README, "Reports").
 *
 * Layout: a confusion matrix is int64 [C][C], row-major, rows = truth, columns = prediction:
 * conf[t*C + p] = number of samples of true class t predicted as p. Labels are 0..C-1.
 *
 * Pool first, then score: accumulate the predictions of every fold of one (point, seed) into ONE
 * matrix (metrics_confusion_add), then call metrics_from_confusion. Never average per-fold or
 * per-subject scores.
 *
 * Definitions, from the pooled matrix, for class c:
 *   TP = conf[c][c], FN = row sum - TP, FP = column sum - TP
 *   recall_c = TP / (TP + FN)               defined when the class has a true sample
 *   F1_c     = 2TP / (2TP + FP + FN)        defined when the class has a true sample OR a prediction
 *   accuracy = trace / total
 *   UAR      = mean of recall_c over classes where recall_c is defined
 *   UF1      = mean of F1_c     over classes where F1_c     is defined
 * Rule for absent classes: a per-class score enters its mean only when its denominator is non-zero.
 * So a class with no true sample and no prediction is excluded from both UF1 and UAR; a class with no
 * true sample but some (necessarily wrong) predictions counts in UF1 with F1 = 0 (the false alarms
 * are penalised) and is excluded from UAR (its recall is 0/0). Undefined per-class values are NAN.
 * With no sample at all, accuracy, UF1 and UAR are NAN (not an error: a point whose tasks all
 * failed still gets a row).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef struct {
    double accuracy;   /* trace / total, NAN when total = 0 */
    double uf1;        /* unweighted mean F1 over the classes where F1 is defined */
    double uar;        /* unweighted mean recall over the classes with a true sample */
    int64_t n;         /* total samples in the matrix */
    int n_f1_classes;  /* classes that entered the UF1 mean */
    int n_uar_classes; /* classes that entered the UAR mean */
} mer_metrics;

/* conf[C][C] += one count per (truth[i], pred[i]). Fails (naming the index) on a label outside
 * 0..C-1; conf is left unchanged on failure. */
int metrics_confusion_add(int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n, int n_classes,
                          mer_err *err);
/* Same, after zeroing conf. */
int metrics_confusion(int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n, int n_classes,
                      mer_err *err);

/* Scores of a (pooled) confusion matrix. recall, precision and f1 are optional [C] outputs (NULL to
 * skip); undefined entries are NAN (precision_c is defined when class c was predicted at least once).
 * Fails only on n_classes < 1 or a negative count. */
int metrics_from_confusion(mer_metrics *m, double *recall, double *precision, double *f1, const int64_t *conf,
                           int n_classes, mer_err *err);

/* Convenience: confusion (optional output conf[C][C], may be NULL) + scores of n predictions. */
int metrics_from_predictions(mer_metrics *m, int64_t *conf, const int64_t *truth, const int64_t *pred, size_t n,
                             int n_classes, mer_err *err);

/* Mean and sample standard deviation (divisor n-1) of the finite values of x; NAN values are skipped
 * (a seed whose metric is undefined). std = 0 with one value; mean = std = NAN with none.
 * Returns the number of finite values used. */
size_t metrics_mean_std(double *mean, double *std, const double *x, size_t n);
