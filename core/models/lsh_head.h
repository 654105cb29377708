/* The recognition head of CN114743235A: LSH-sparsified self-attention over the frames of a sample,
 * concatenation with the spatial features, temporal pooling, FC1 - ReLU - dropout - FC2.
 *
 * Tensors (row-major): input features X (N, T, d_in) (one row per frame, e.g. ResNet-18 features);
 *   Q = X Wq, K = X Wk, V = X Wv with Wq, Wk, Wv (d_in, d)        [attn.wq, attn.wk, attn.wv]
 *   bucket(x) = sum_j [x . plane_j > 0] 2^j, planes (n_rounds, d)   [attn.planes, not trained]
 *   A_u = sum_{v: bucket(q_u) = bucket(k_v)} softmax_v(q_u . k_v / sqrt(d)) V_v   (A: N, T, d)
 *       the softmax runs over the kept entries of row u only; a row with no kept entry is zero and
 *       passes no gradient (never NaN). Hashing carries no gradient.
 *   Z = concat(X, A) per frame (N, T, d_in + d)  (attention none: Z = X)
 *   pooled = mean over T (N, D) or flatten (N, T*D)
 *   logits = fc2(dropout(relu(fc1(pooled))))   fc1.weight (hidden, D or T*D), fc2.weight (C, hidden)
 * attention dense = the same with every pair kept.
 * normalize (shared-QK, Reformer): no Wk; q_u <- q_u / |q_u| and k_u = q_u, so hashing puts every query in
 *   its own key's bucket; logits sqrt(d) q_u . k_v (cosines at the scale unit-RMS entries would give); a
 *   query attends to its own key only when its bucket holds no other frame's key (an "empty" row then).
 * Planes: `fixed` uses attn.planes always; `resample` draws fresh planes (standard normal) from the
 * training RNG at every training forward pass (Reformer style) and uses attn.planes at inference.
 *
 * HDF5: the tensors above at the root under those names, plus the architecture under `config/`
 * (d_in, T, n_classes, attention, n_rounds, d, planes, hidden, dropout, pooling, normalize; a file
 * without normalize is read as 0), and the training statistic stats/empty_query_share, so a file alone
 * recreates the head.
 *
 * Training: core/train.h (the same loop trains the head alone and the whole network).
 */
#pragma once
#include <stdint.h>

#include "io/base/err.h"
#include "core/nn/tensors.h"
#include "io/base/rng.h"

typedef enum { ATTN_LSH = 0, ATTN_DENSE, ATTN_NONE } attn_kind;
typedef enum { POOL_MEAN = 0, POOL_FLATTEN } pool_kind;
typedef enum { PLANES_FIXED = 0, PLANES_RESAMPLE } planes_kind;

typedef struct {
    attn_kind attention; /* lsh */
    int n_rounds;        /* 3 (the patent requires > 2) */
    int d;               /* 1024 */
    planes_kind planes;  /* fixed */
    int hidden;          /* 256 */
    float dropout;       /* 0.5 */
    pool_kind pooling;   /* mean */
    int normalize;       /* 0; 1: shared-QK (see below) */
} lsh_head_options;

lsh_head_options lsh_head_defaults(void);
/* Name <-> enum for configs and files; parse returns -1 on an unknown name. */
int attn_kind_parse(const char *s, attn_kind *v);
int pool_kind_parse(const char *s, pool_kind *v);
int planes_kind_parse(const char *s, planes_kind *v);
const char *attn_kind_name(attn_kind v);
const char *pool_kind_name(pool_kind v);
const char *planes_kind_name(planes_kind v);

typedef struct lsh_head lsh_head;

/* Parameters initialised from seed: Wq/Wk/Wv and fc weights and biases uniform(+-1/sqrt(fan_in)) as
 * PyTorch's nn.Linear, planes standard normal. */
int lsh_head_create(lsh_head **out, int d_in, int T, int n_classes, const lsh_head_options *opt, uint64_t seed,
                    mer_err *err);
void lsh_head_free(lsh_head *h);
nn_table *lsh_head_table(lsh_head *h);
const lsh_head_options *lsh_head_opts(const lsh_head *h);
void lsh_head_dims(const lsh_head *h, int *d_in, int *T, int *n_classes);

int lsh_head_save_to(const lsh_head *h, hid_t loc, mer_err *err);
int lsh_head_save(const lsh_head *h, const char *path, mer_err *err); /* atomic */
int lsh_head_load(lsh_head **out, const char *path, mer_err *err);
int lsh_head_load_from(lsh_head **out, hid_t loc, mer_err *err);

/* Forward of N samples X (N,T,d_in) -> logits (N,C). attn (N,T,d) receives the attention output if not
 * NULL. train != 0: dropout on, resampled planes (if configured), activations kept for backward; rng
 * is then required (dropout masks, planes). Inference: train = 0, rng may be NULL.
 * The head keeps a pointer to X for the backward pass: X must stay valid until lsh_head_backward. */
int lsh_head_forward(lsh_head *h, float *logits, float *attn, const float *X, int N, int train, mer_rng *rng,
                     mer_err *err);
/* Backward of the last training forward: accumulates parameter gradients (table grads) from dlogits
 * (N,C) and, if dX is not NULL, accumulates the gradient with respect to X (N,T,d_in) (fine-tuning). */
int lsh_head_backward(lsh_head *h, float *dX, const float *dlogits, mer_err *err);
void lsh_head_zero_grad(lsh_head *h);
/* Change the dropout probability / planes mode of an existing head (e.g. gradient checks with dropout 0). */
void lsh_head_set_dropout(lsh_head *h, float p);
void lsh_head_set_planes(lsh_head *h, planes_kind planes);
/* Class probabilities (N,C) in inference mode (batches internally). */
int lsh_head_predict(lsh_head *h, float *probs, const float *X, int N, mer_err *err);
/* Fraction of (query, key) pairs kept by the last forward (1 for dense). */
double lsh_head_last_density(const lsh_head *h);
/* Empty query rows in the last forward: rows with no kept key (patent form), or with normalize rows
 * whose only kept key is their own. */
long lsh_head_last_empty_rows(const lsh_head *h);
/* The share of empty query rows over every training-mode forward (LSH) since the head was created; NAN
 * without one. Saved with the head as stats/empty_query_share (and stats/query_rows). */
double lsh_head_train_empty_share(const lsh_head *h);
