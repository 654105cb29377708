/* Neural-network layers on CPU, float32: forward/backward pairs in the llm.c style.
 *
 * Conventions
 * - Activations are NCHW for images ((N, C, H*W) is written "(N,C,HW)") and row-major (rows, features)
 *   for vectors; sequences are (N, T, D).
 * - Outputs come first, then const inputs, then parameters, then a small shape struct or sizes.
 * - Every *_backward ACCUMULATES (+=) into its input-gradient and parameter-gradient arguments, so a
 *   training step zeroes its gradient arena once. Any gradient pointer documented "may be NULL" is skipped.
 * - No function allocates; scratch comes from the caller.
 * Convolution lives in core/nn/conv2d.h.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/rng.h"

/* ---- batch normalisation over (N, C, HW): statistics per channel C ----------------------------- */
typedef struct {
    int N, C, HW;
    float eps;      /* 1e-5 in torchvision */
    float momentum; /* 0.1: running = (1 - momentum) running + momentum batch */
} batchnorm_shape;

/* What the forward sweep does after normalising, fused (one pass over the data instead of three):
 * out = relu?(gamma * xhat + beta + residual). NULL means plain BatchNorm. */
typedef struct {
    const float *residual; /* (N, C, HW) added, or NULL */
    int relu;              /* then max(0, .) */
} bn_post;

/* Training mode: normalise with the biased batch variance, save mean and 1/sqrt(var+eps) per channel
 * (C floats each) for the backward pass, and update running_mean / running_var (unbiased variance)
 * unless they are NULL. out may equal in (and residual). */
void batchnorm_forward_train(float *out, float *save_mean, float *save_invstd, const float *in,
                             const float *gamma, const float *beta, float *running_mean, float *running_var,
                             const batchnorm_shape *s, const bn_post *post);
/* Eval mode: normalise with the running statistics. out may equal in. */
void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, const batchnorm_shape *s,
                            const bn_post *post);
/* Backward of the training-mode forward (without post's residual, whose gradient is dout itself).
 * `in` is the forward input (the normalised value is recomputed from it and the saved statistics).
 * relu_out: the output of a ReLU that followed (post->relu): dout counts only where relu_out > 0; NULL
 * if none. Accumulates into dinput, or overwrites it when `overwrite` (dinput is scratch: no memset).
 * dinput must not alias dout. dgamma/dbeta may be NULL (they always accumulate). */
void batchnorm_backward(float *dinput, float *dgamma, float *dbeta, const float *dout, const float *relu_out,
                        const float *in, const float *save_mean, const float *save_invstd, const float *gamma,
                        const batchnorm_shape *s, int overwrite);

/* ---- ReLU (n elements) ------------------------------------------------------------------------- */
void relu_forward(float *out, const float *in, size_t n); /* out may equal in */
/* dinput += dout where out > 0. `out` is the forward OUTPUT. dinput may equal dout (in-place masking:
 * then the values are overwritten, not accumulated). */
void relu_backward(float *dinput, const float *dout, const float *out, size_t n);

/* ---- max pooling (N, C, H, W) -> (N, C, OH, OW); padded cells never win ----------------------- */
typedef struct {
    int N, C, H, W;
    int K, stride, pad; /* square window, symmetric padding; padding cells are -inf (PyTorch) */
} maxpool_shape;
static inline int maxpool_out_h(const maxpool_shape *s) { return (s->H + 2 * s->pad - s->K) / s->stride + 1; }
static inline int maxpool_out_w(const maxpool_shape *s) { return (s->W + 2 * s->pad - s->K) / s->stride + 1; }
/* argmax (same size as out) receives the flat index within the (H, W) plane of each winner. */
void maxpool_forward(float *out, int32_t *argmax, const float *in, const maxpool_shape *s);
void maxpool_backward(float *dinput, const float *dout, const int32_t *argmax, const maxpool_shape *s);

/* ---- global average pooling (N, C, HW) -> (N, C) ------------------------------------------------ */
void avgpool_forward(float *out, const float *in, int N, int C, int HW);
void avgpool_backward(float *dinput, const float *dout, int N, int C, int HW);

/* ---- linear: out (B, O) = in (B, I) W^T + b, W (O, I) as PyTorch, b (O) may be NULL --------------- */
void linear_forward(float *out, const float *in, const float *weight, const float *bias, int B, int n_in, int n_out);
/* dinput (B,I), dweight (O,I), dbias (O): each may be NULL. Uses sgemm. */
void linear_backward(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, int B, int n_in, int n_out);

/* ---- inverted dropout: out = in * mask, mask = 0 with probability p else 1/(1-p) ------------------- */
/* mask (n floats) is drawn from rng and kept for the backward pass. p = 0 copies. out may equal in. */
void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, mer_rng *rng);
void dropout_backward(float *dinput, const float *dout, const float *mask, size_t n);

/* ---- softmax cross-entropy over (B, C) logits --------------------------------------------------- */
/* probs (B, C) receives the softmax. Returns the loss as PyTorch's CrossEntropyLoss(weight, 'mean'):
 * sum_b w[y_b] * (-log p_b[y_b]) / sum_b w[y_b]; class_weights (C) may be NULL (all 1).
 * Labels must lie in [0, C). */
double softmax_ce_forward(float *probs, const float *logits, const int *labels, const float *class_weights,
                          int B, int C);
/* dlogits += d(loss)/d(logits) * dloss, from the probs of the forward pass. */
void softmax_ce_backward(float *dlogits, const float *probs, const int *labels, const float *class_weights,
                         int B, int C, float dloss);
/* Row-wise softmax only (inference). out may equal logits. */
void softmax_forward(float *out, const float *logits, int B, int C);

/* ---- concatenation along the last axis: out (R, A+B) = [a (R,A), b (R,B)] ------------------------- */
void concat_forward(float *out, const float *a, const float *b, int R, int A, int B);
void concat_backward(float *da, float *db, const float *dout, int R, int A, int B); /* da/db may be NULL */

/* ---- temporal reduction of (N, T, D) ------------------------------------------------------------ */
/* mean over T: out (N, D) */
void mean_time_forward(float *out, const float *in, int N, int T, int D);
void mean_time_backward(float *dinput, const float *dout, int N, int T, int D);
/* flatten: out (N, T*D) is the same memory order as (N, T, D); provided as a pair so the head can
 * swap poolings without special cases. */
void flatten_forward(float *out, const float *in, int N, int T, int D);
void flatten_backward(float *dinput, const float *dout, int N, int T, int D);

/* ---- elementwise helpers ------------------------------------------------------------------------ */
void add_inplace(float *y, const float *x, size_t n); /* y += x */
