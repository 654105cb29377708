/* Linear classifiers on fixed feature vectors: the classifier on top of LBP-TOP (core/baseline/lbptop.h),
 * multinomial logistic regression or a multiclass linear SVM, trained with the same optimisers and
 * schedules as the network (core/nn/optim.h).
 *
 * Layout: features X float [n][D], labels y int64 in 0..K-1. Parameters in one float arena
 * params = W [K][D] then b [K]; scores z = W x + b. Loss of a batch B, with class weights c (1 when not
 * given; the bias is not penalised):
 *   L = sum_{i in B} c_{y_i} l_i / sum_{i in B} c_{y_i}  +  (l2 / 2) ||W||^2
 * LINEAR_SOFTMAX (logistic regression): l_i = -log p_i[y_i], p = softmax(z);
 *   dz_i = c_{y_i} (p_i - onehot(y_i)) / sum c.
 * LINEAR_HINGE (Crammer and Singer's multiclass SVM, JMLR 2001): l_i = max(0, 1 + z_i[k] - z_i[y_i]) with
 *   k the best-scoring other class (the lowest index on a tie); where l_i > 0, dz_i[k] = c_{y_i} / sum c and
 *   dz_i[y_i] = -c_{y_i} / sum c, else 0 (a subgradient at the kinks). l2 is then 1 / (C n) of the usual C.
 * Both: dW = sum_i dz_i x_i^T + l2 W, db = sum_i dz_i. The loss and gradient are accumulated in double, so
 * a finite-difference check is meaningful (away from the hinge's kinks).
 * Prediction: the highest score; the probabilities are softmax(z), for the SVM a monotone map of its
 * scores (they rank the classes like the scores do, but are not calibrated).
 *
 * Training: parameters start at zero (the problem is convex; no random start to seed), then `epochs`
 * passes over the training set, full batch (batch_size 0) or minibatches in an order shuffled per epoch
 * from `seed` (io/base/rng.h); the learning rate follows the schedule per epoch. Deterministic: the same
 * inputs and options give the same bits. With standardize, each feature is centred and scaled by the
 * training set's mean and standard deviation (std 0 -> 1) and the model keeps both for prediction.
 */
#pragma once
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "core/nn/optim.h"
#include "io/base/err.h"

typedef enum { LINEAR_SOFTMAX, LINEAR_HINGE } linear_loss;

typedef struct {
    linear_loss loss;
    int epochs;
    int batch_size;       /* 0: the full training set */
    float lr;
    float l2;             /* penalty on W (the optimiser's own weight decay is not used) */
    optim_options optim;  /* sgd / adam; its weight_decay must be 0 */
    lr_schedule schedule;
    uint64_t seed;        /* minibatch order */
    int standardize;
    const float *class_weight; /* [K] or NULL */
} logreg_options;

typedef struct {
    int n_classes, dim;
    float *params;    /* W [K][D] then b [K] */
    float *mean, *sd; /* [D] each when standardised, else NULL */
} logreg_model;

/* Logistic regression, Adam at lr 0.01, 200 full-batch epochs, l2 1e-4, constant schedule, standardised. */
logreg_options logreg_defaults(void);

/* Loss and gradient (grad: K*D+K floats, may be NULL) at params, on the samples idx[0..n) of X (idx NULL:
 * the first n samples). */
int logreg_loss_grad(double *loss, float *grad, const float *params, const float *X, const int64_t *y,
                     const size_t *idx, size_t n, int D, int K, linear_loss kind, float l2, const float *class_weight,
                     mer_err *err);

/* Fit m on (X, y). m is filled (free with logreg_free); on failure it holds nothing. The final
 * training loss (full set) goes to *final_loss when not NULL. */
int logreg_train(logreg_model *m, double *final_loss, const float *X, const int64_t *y, size_t n, int D, int K,
                 const logreg_options *o, mer_err *err);
/* prob [n][K] (softmax) of X [n][D]. */
void logreg_predict_proba(float *prob, const logreg_model *m, const float *X, size_t n);
/* The most probable class of each sample (the lowest index on a tie). */
void logreg_predict(int64_t *pred, const logreg_model *m, const float *X, size_t n);
void logreg_free(logreg_model *m);

/* The model as datasets under prefix (e.g. "weights/head/"): params f32 (K*D+K), shape i64 (K, D), and
 * mean, sd f32 (D) when standardised. */
int logreg_save(const logreg_model *m, hid_t loc, const char *prefix, mer_err *err);
int logreg_load(logreg_model *m, hid_t loc, const char *prefix, mer_err *err);
