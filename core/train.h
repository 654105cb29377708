/* Training of the recognition model: one loop for the LSH head on cached features (frozen backbone) and
 * for the whole network, ResNet-18 + head, on the frames (fine-tuning), plus the training maths around
 * it: feature standardisation, the inner validation split, class weights, and epoch selection.
 *
 * Tensors (row-major): the head alone takes X (N, T, d_in) features; the network takes frames
 * (N, T, 3, H, W) prepared by recnet_prepare_input. Labels y (N) in [0, C).
 *
 * An epoch: the sample order is shuffled with the trainer's RNG, then for each mini-batch of
 * batch_size samples (the last one smaller): zero the gradients, training-mode forward (dropout masks and
 * resampled planes drawn from the same RNG), weighted cross-entropy, backward, one optimizer step per
 * parameter table (head, then backbone when fine-tuned) at the epoch's learning rate (lr_at_epoch).
 * The seed fixes everything random; a checkpoint (trainer_save) resumes bit-identically.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "core/baseline/logreg.h"
#include "core/models/lsh_head.h"
#include "core/models/recnet.h"
#include "core/nn/optim.h"
#include "io/base/err.h"
#include "io/base/rng.h"

/* What is trained: the head alone (net NULL), or the network net, whose head is `head`. A network in
 * BACKBONE_FROZEN mode trains only its head (on features computed every pass). */
typedef struct {
    lsh_head *head;
    recnet *net;
    int H, W; /* frame size (network only) */
} train_model;

/* Floats per sample of the model's input: T*d_in (head) or T*3*H*W (network). */
size_t train_model_sample_floats(const train_model *m);
/* Class probabilities (N, C) in inference mode. */
int train_model_predict(const train_model *m, float *probs, const float *x, int N, mer_err *err);
/* Fraction of the N samples whose most probable class is y (0 for N = 0; -1 on error). */
double train_model_accuracy(const train_model *m, const float *x, const int *y, int N, int C, mer_err *err);

typedef struct {
    int epochs;                 /* 30 */
    int batch_size;             /* 16 */
    float lr;                   /* 1e-3 */
    optim_options optim;        /* adam; the same settings for head and backbone */
    lr_schedule schedule;       /* constant, no warmup */
    const float *class_weights; /* (C) or NULL: weighted cross-entropy */
    uint64_t seed;              /* data order, dropout masks, resampled planes */
    /* Called after every epoch (epoch counts from 0) with the mean training loss; return non-zero to
     * stop training (after the checkpointable state is complete). May predict with the model. */
    int (*on_epoch)(void *user, int epoch, double train_loss);
    void *user;
} train_options;

train_options train_defaults(void);

enum { TRAIN_MAX_TABLES = 2 };

typedef struct {
    train_model model;
    train_options opt;
    int n_tables;                        /* 1 (head) or 2 (head, fine-tuned backbone) */
    nn_table *tables[TRAIN_MAX_TABLES];  /* what the optimizers update */
    optimizer optim[TRAIN_MAX_TABLES];   /* one per table */
    mer_rng rng;                         /* data order, dropout, planes: one stream, checkpointed */
    int epoch;                           /* epochs completed */
    int *order;                          /* scratch: sample permutation */
    int order_n;
} trainer;

int trainer_init(trainer *tr, const train_model *m, const train_options *opt, mer_err *err);
void trainer_free(trainer *tr);
/* One epoch over x (N, sample floats), y (N). *mean_loss (if not NULL) gets the mean training loss. */
int trainer_epoch(trainer *tr, const float *x, const int *y, int N, double *mean_loss, mer_err *err);
/* Epochs from tr->epoch up to opt.epochs, calling on_epoch after each. */
int trainer_run(trainer *tr, const float *x, const int *y, int N, mer_err *err);
/* Checkpoint: the head file contents at the root, the backbone under `backbone/` (network), and under
 * `train/`: optim_head/, optim_backbone/ (fine-tuned), rng_state, epoch. Restoring into a trainer made
 * for the same architecture and options continues bit-identically. */
int trainer_save(const trainer *tr, const char *path, mer_err *err);
int trainer_restore(trainer *tr, const char *path, mer_err *err);

/* The linear baseline (model.backbone.kind lbptop): multinomial logistic regression or the multiclass linear
 * SVM (loss; core/baseline/logreg.h) on X (N, D) under the same options as the loop above: epochs,
 * batch_size, lr, optimizer, schedule, seed and class_weights as given; optim.weight_decay becomes logreg's
 * L2 penalty on W (for adamw too: a decoupled decay and an L2 penalty differ only in how Adam scales them).
 * X is taken as it is: standardise it first with train_standardize, as for the head. on_epoch is not called
 * (logreg has no per-epoch hook). m is filled (logreg_free). */
int train_linear(logreg_model *m, const float *X, const int *y, int N, int D, int C, linear_loss loss,
                 const train_options *opt, mer_err *err);

/* ---- epoch selection ---------------------------------------------------------------------------
 * After each epoch the model is scored on a validation set (leak-free: inner validation subjects) and
 * optionally on the test set itself (the LEAKY oracle); a snapshot of every trainable tensor and buffer
 * (BatchNorm running statistics, LSH planes) is kept at the best epoch of each (first best on ties). */
typedef struct {
    const float *x;
    const int *y;
    int n;
} train_rows;

typedef enum { TRAIN_PICK_VAL = 0, TRAIN_PICK_ORACLE, TRAIN_PICK_LAST, TRAIN_PICK_COUNT } train_pick;

typedef struct {
    train_model model;
    const train_rows *rows[2]; /* TRAIN_PICK_VAL, TRAIN_PICK_ORACLE; NULL: not selected */
    int C;
    int n_tables;
    nn_table *tables[TRAIN_MAX_TABLES];
    float *snap[TRAIN_PICK_COUNT];
    double best[2];
    int best_epoch[2]; /* -1 until an epoch scored */
    /* polled after every epoch: non-zero stops training (an interrupted run) */
    int (*should_stop)(const void *user);
    const void *stop_user;
    int stopped;
    mer_err *err; /* a failed prediction is reported here and the epoch is not selected */
} train_selection;

int train_selection_init(train_selection *s, const train_model *m, int C, const train_rows *val,
                         const train_rows *oracle, mer_err *err);
void train_selection_free(train_selection *s);
/* The on_epoch callback (user = the selection). */
int train_selection_on_epoch(void *user, int epoch, double train_loss);
/* Save the model as it is now as TRAIN_PICK_LAST (call once after training when switching back). */
void train_selection_keep_last(train_selection *s);
/* Load the snapshot of `pick` into the model (it must exist: rows set, an epoch scored / kept). */
void train_selection_use(train_selection *s, train_pick pick);

/* ---- training maths ------------------------------------------------------------------------- */

/* Standardise X (n_rows, D), rows grouped T per sample, with the mean and standard deviation per
 * dimension over the rows of the samples with train_mask[sample] set (needs >= 2 rows, else X stays).
 * mean_out, sd_out (D, may be NULL) get what was applied (sd 1 where it was ~0; with < 2 rows mean 0, sd 1):
 * train_standardize_apply with them standardises new rows identically (a trained model's inputs). */
int train_standardize(float *X, size_t n_rows, int D, const uint8_t *train_mask, int T, double *mean_out,
                      double *sd_out, mer_err *err);
void train_standardize_apply(float *X, size_t n_rows, int D, const double *mean, const double *sd);

/* Identity-free head inputs: from the T rows of every sample of X (n, T, D) subtract ref (n, D), the
 * sample's onset-frame features, or (ref NULL) the sample's mean over its T rows. What is constant within
 * a clip (who the person is, the lighting) cancels; what changes between frames remains. */
void train_subtract_reference(float *X, size_t n, int T, int D, const float *ref);

/* Inner validation: round(frac x n) of the n distinct subjects among the samples with outer_train set,
 * at least 1 and at most n - 1 (n >= 2), chosen by ranking the subjects by a hash of (seed, subject):
 * deterministic, never a split without training or validation subjects; with one subject val is empty.
 * train, val (n_samples) get 1 for the samples on each side. */
int train_inner_split(uint8_t *train, uint8_t *val, const char *const *subject, size_t n_samples,
                      const uint8_t *outer_train, double frac, uint64_t seed, mer_err *err);

/* Inverse class frequency of the labels y (n), normalised to mean 1 over the classes present (absent
 * classes 0). Returns a (C) array to free, or NULL on error. */
float *train_class_weights(const int *y, int n, int C, mer_err *err);
