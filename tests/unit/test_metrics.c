/* core/metrics: confusion matrix, accuracy, UF1, UAR and per-class scores against values computed by
 * hand (the arithmetic is written next to each check), including classes absent from a fold and from
 * the whole pool, and pooling versus (wrong) per-fold averaging. */
#include <stdint.h>

#include "core/metrics.h"
#include "tests/check.h"

#define TOL 1e-12

int main(void) {
    mer_err err = {0};
    mer_metrics m;

    /* 3 classes, every class present.
     * truth: 0 0 0 0 1 1 1 2 2 2
     * pred:  0 0 1 2 1 1 0 2 2 1
     * confusion rows (truth) = [2 1 1], [1 2 0], [0 1 2] */
    int64_t t1[10] = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2};
    int64_t p1[10] = {0, 0, 1, 2, 1, 1, 0, 2, 2, 1};
    int64_t conf[16];
    CHECK(metrics_confusion(conf, t1, p1, 10, 3, &err) == 0, "confusion: %s", err.msg);
    int64_t want1[9] = {2, 1, 1, 1, 2, 0, 0, 1, 2};
    for (int i = 0; i < 9; i++) CHECK(conf[i] == want1[i], "confusion[%d][%d] = %lld", i / 3, i % 3, (long long)conf[i]);
    double rec[4], prec[4], f1[4];
    CHECK(metrics_from_confusion(&m, rec, prec, f1, conf, 3, &err) == 0, "metrics: %s", err.msg);
    CHECK(m.n == 10, "n");
    CHECK_NEAR(m.accuracy, 6.0 / 10, TOL, "accuracy = trace 6 / 10");
    /* class 0: TP 2 FN 2 FP 1; class 1: TP 2 FN 1 FP 2; class 2: TP 2 FN 1 FP 1 */
    CHECK_NEAR(rec[0], 2.0 / 4, TOL, "recall 0");
    CHECK_NEAR(rec[1], 2.0 / 3, TOL, "recall 1");
    CHECK_NEAR(rec[2], 2.0 / 3, TOL, "recall 2");
    CHECK_NEAR(prec[0], 2.0 / 3, TOL, "precision 0");
    CHECK_NEAR(prec[1], 2.0 / 4, TOL, "precision 1");
    CHECK_NEAR(f1[0], 4.0 / 7, TOL, "F1 0 = 2TP/(2TP+FP+FN) = 4/7");
    CHECK_NEAR(f1[1], 4.0 / 7, TOL, "F1 1 = 4/7");
    CHECK_NEAR(f1[2], 4.0 / 6, TOL, "F1 2 = 4/6");
    CHECK_NEAR(m.uar, 11.0 / 18, TOL, "UAR = (1/2 + 2/3 + 2/3) / 3 = 11/18");
    CHECK_NEAR(m.uf1, 38.0 / 63, TOL, "UF1 = (4/7 + 4/7 + 2/3) / 3 = 38/63");
    CHECK(m.n_f1_classes == 3 && m.n_uar_classes == 3, "all classes scored");

    /* The convenience wrapper agrees (with and without a confusion output). */
    mer_metrics m2;
    CHECK(metrics_from_predictions(&m2, NULL, t1, p1, 10, 3, &err) == 0, "from predictions: %s", err.msg);
    CHECK(m2.accuracy == m.accuracy && m2.uf1 == m.uf1 && m2.uar == m.uar, "wrapper equals two-step result");

    /* 4 classes pooled over two LOSO folds; class 3 never occurs (no truth, no prediction), class 2 has
     * no true sample but is predicted once.
     *   fold A (subject a): truth 0 0   pred 0 2   (class 1 absent from this fold)
     *   fold B (subject b): truth 1 1 1 pred 1 1 0 (class 0 absent from this fold's truth) */
    int64_t ta[2] = {0, 0}, pa[2] = {0, 2}, tb[3] = {1, 1, 1}, pb[3] = {1, 1, 0};
    int64_t pooled[16] = {0};
    CHECK(metrics_confusion_add(pooled, ta, pa, 2, 4, &err) == 0, "add fold A: %s", err.msg);
    CHECK(metrics_confusion_add(pooled, tb, pb, 3, 4, &err) == 0, "add fold B: %s", err.msg);
    int64_t want2[16] = {1, 0, 1, 0, /**/ 1, 2, 0, 0, /**/ 0, 0, 0, 0, /**/ 0, 0, 0, 0};
    for (int i = 0; i < 16; i++) CHECK(pooled[i] == want2[i], "pooled[%d][%d]", i / 4, i % 4);
    CHECK(metrics_from_confusion(&m, rec, prec, f1, pooled, 4, &err) == 0, "pooled metrics: %s", err.msg);
    CHECK(m.n == 5, "pooled n");
    CHECK_NEAR(m.accuracy, 3.0 / 5, TOL, "pooled accuracy 3/5 (the mean of fold accuracies would be 7/12)");
    /* c0: TP1 FN1 FP1 -> R 1/2, F1 2/4; c1: TP2 FN1 FP0 -> R 2/3, F1 4/5; c2: TP0 FN0 FP1 -> R undefined,
     * F1 0/1 = 0; c3: everything 0 -> excluded */
    CHECK_NEAR(rec[0], 0.5, TOL, "recall 0");
    CHECK_NEAR(rec[1], 2.0 / 3, TOL, "recall 1");
    CHECK(isnan(rec[2]) && isnan(rec[3]), "recall of classes without a true sample is NAN");
    CHECK(prec[2] == 0.0 && isnan(prec[3]), "precision 2 = 0/1, precision 3 undefined");
    CHECK_NEAR(f1[0], 0.5, TOL, "F1 0");
    CHECK_NEAR(f1[1], 0.8, TOL, "F1 1");
    CHECK(f1[2] == 0.0, "F1 of a class only predicted (false alarms) is 0 and counts");
    CHECK(isnan(f1[3]), "F1 of a class never seen nor predicted is NAN");
    CHECK(m.n_uar_classes == 2 && m.n_f1_classes == 3, "UAR over 2 classes, UF1 over 3");
    CHECK_NEAR(m.uar, (0.5 + 2.0 / 3) / 2, TOL, "UAR = (1/2 + 2/3) / 2 = 7/12");
    CHECK_NEAR(m.uf1, (0.5 + 0.8 + 0.0) / 3, TOL, "UF1 = (1/2 + 4/5 + 0) / 3");
    /* Pooling is not averaging: per-fold UF1 would be A: (2/3 + 0)/2 = 1/3, B: (0 + 4/5)/2 = 2/5, mean 11/30. */
    mer_metrics fa, fb;
    CHECK(metrics_from_predictions(&fa, NULL, ta, pa, 2, 4, &err) == 0, "fold A");
    CHECK(metrics_from_predictions(&fb, NULL, tb, pb, 3, 4, &err) == 0, "fold B");
    CHECK_NEAR(fa.uf1, 1.0 / 3, TOL, "fold A UF1 = (F1_0 2/3 + F1_2 0) / 2");
    CHECK_NEAR(fb.uf1, 2.0 / 5, TOL, "fold B UF1 = (F1_0 0 + F1_1 4/5) / 2");
    CHECK(fabs((fa.uf1 + fb.uf1) / 2 - m.uf1) > 0.05, "pooled UF1 differs from the mean of fold UF1");

    /* One class predicted for everything (the MEGC2019 "all negative" baseline): truth 0 0 0 1 2,
     * pred 0 0 0 0 0 -> accuracy 3/5, recalls 1, 0, 0 -> UAR 1/3; F1_0 = 6/(6+2+0) = 3/4, F1_1 = F1_2 = 0. */
    int64_t t3[5] = {0, 0, 0, 1, 2}, p3[5] = {0, 0, 0, 0, 0};
    CHECK(metrics_from_predictions(&m, conf, t3, p3, 5, 3, &err) == 0, "baseline");
    CHECK_NEAR(m.accuracy, 0.6, TOL, "baseline accuracy");
    CHECK_NEAR(m.uar, 1.0 / 3, TOL, "baseline UAR");
    CHECK_NEAR(m.uf1, 0.75 / 3, TOL, "baseline UF1 = (3/4 + 0 + 0) / 3");

    /* No sample at all: NAN, not an error. */
    CHECK(metrics_from_predictions(&m, conf, t3, p3, 0, 3, &err) == 0, "empty pool is not an error");
    CHECK(m.n == 0 && isnan(m.accuracy) && isnan(m.uf1) && isnan(m.uar), "empty pool gives NAN");

    /* Bad labels are rejected with the row named, and the matrix is left unchanged. */
    int64_t tbad[3] = {0, 1, 3}, pbad[3] = {0, 1, 1};
    CHECK(metrics_confusion(conf, t1, p1, 10, 3, &err) == 0, "refill");
    CHECK(metrics_confusion_add(conf, tbad, pbad, 3, 3, &err) < 0, "truth 3 of 3 classes rejected");
    CHECK(strstr(err.msg, "truth label 3") && strstr(err.msg, "row 2"), "message: %s", err.msg);
    for (int i = 0; i < 9; i++) CHECK(conf[i] == want1[i], "unchanged after a rejected add");
    int64_t pneg[3] = {0, -1, 0};
    CHECK(metrics_confusion_add(conf, t1, pneg, 3, 3, &err) < 0 && strstr(err.msg, "predicted label -1"),
          "negative prediction rejected: %s", err.msg);
    CHECK(metrics_from_confusion(&m, NULL, NULL, NULL, conf, 0, &err) < 0, "0 classes rejected");
    int64_t negc[4] = {1, -2, 0, 1};
    CHECK(metrics_from_confusion(&m, NULL, NULL, NULL, negc, 2, &err) < 0 && strstr(err.msg, "[0][1]"),
          "negative count rejected: %s", err.msg);

    /* Mean and sample std over seeds, NAN skipped: 0.5 0.7 NAN 0.9 -> mean 0.7, std sqrt(0.08/2) = 0.2. */
    double xs[4] = {0.5, 0.7, NAN, 0.9}, mu, sd;
    CHECK(metrics_mean_std(&mu, &sd, xs, 4) == 3, "3 finite values");
    CHECK_NEAR(mu, 0.7, TOL, "mean");
    CHECK_NEAR(sd, 0.2, TOL, "sample std");
    CHECK(metrics_mean_std(&mu, &sd, xs, 1) == 1 && mu == 0.5 && sd == 0.0, "one value: std 0");
    CHECK(metrics_mean_std(&mu, &sd, xs + 2, 1) == 0 && isnan(mu) && isnan(sd), "no value: NAN");
    return check_summary();
}
