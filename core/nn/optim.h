/* Optimisers over one flat parameter arena (nn_table.params / .grads) and learning-rate schedules.
 *
 * Update rules follow PyTorch 1.13 exactly (same operation order, float32 state):
 *   sgd:   g = grad + wd p;  buf = momentum buf + g (buf starts at 0; no dampening, no Nesterov);  p -= lr buf
 *          (momentum 0: p -= lr g)
 *   adam:  g = grad + wd p (L2);  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *          p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *   adamw: p *= 1 - lr wd (decoupled), then the adam update with g = grad
 */
#pragma once
#include <hdf5.h>
#include <stddef.h>

#include "io/base/err.h"

typedef enum { OPTIM_SGD = 0, OPTIM_ADAM, OPTIM_ADAMW, OPTIM_COUNT } optim_kind;

typedef struct {
    optim_kind kind;
    float momentum;     /* sgd */
    float weight_decay;
    float beta1, beta2, eps; /* adam/adamw: 0.9, 0.999, 1e-8 */
} optim_options;

optim_options optim_defaults(optim_kind kind);
/* The kinds are chosen by train.optimizer (runner/core_options.c maps the config's enum). */
const char *optim_kind_name(optim_kind kind);

typedef struct {
    optim_options o;
    size_t n;
    float *m, *v; /* sgd: m is the momentum buffer; adam: first and second moments */
    long step;    /* updates done */
} optimizer;

int optim_init(optimizer *opt, const optim_options *o, size_t n_params, mer_err *err);
void optim_free(optimizer *opt);
void optim_step(optimizer *opt, float *params, const float *grads, float lr);
/* State as datasets under prefix (e.g. "optim/"): kind, step, m, v. load checks kind and size. */
int optim_save(const optimizer *opt, hid_t loc, const char *prefix, mer_err *err);
int optim_load(optimizer *opt, hid_t loc, const char *prefix, mer_err *err);

/* ---- learning-rate schedules, evaluated once per epoch (epoch counts from 0) ---------------------
 * warmup (epochs e < warmup): lr * (e + 1) / warmup.  After warmup, with e' = e - warmup and
 * E' = epochs - warmup:  constant: lr;  step: lr * gamma^floor(e' / step_epochs);
 * cosine: lr * 0.5 * (1 + cos(pi * e' / E')). The config's train.lr_schedule `none` is LR_CONSTANT
 * (runner/core_options.c). */
typedef enum { LR_CONSTANT = 0, LR_STEP, LR_COSINE } lr_schedule_kind;
typedef struct {
    lr_schedule_kind kind;
    int warmup_epochs;
    int step_epochs; /* step */
    float gamma;     /* step */
} lr_schedule;
float lr_at_epoch(const lr_schedule *s, float base_lr, int epoch, int epochs);
