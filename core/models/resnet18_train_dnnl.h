/* ResNet-18 training on oneDNN (builds with MER_HAVE_DNNL; used by resnet18.c, which owns the weights).
 *
 * A plan per input shape: the forward in training mode (convolutions forward_training, BatchNorm with batch
 * statistics and the ReLU fused where it follows directly, max pool with its workspace, residual add with
 * the ReLU as a post-op) and its backward (BatchNorm backward, convolution backward-data and
 * backward-weights, pooling backward, ReLU backward from the block outputs), all with activations in the
 * primitives' blocked layouts. The global average pool and the fc stay in mer's code on plain tensors.
 *
 * Weights stay in resnet18's plain OIHW arena (the optimiser's); each forward reorders them once into the
 * layouts the convolutions want, and each backward reorders the weight gradients back, accumulating into
 * the gradient arena. All large buffers (activations, blocked weights, gradient buffers) live in one arena
 * the caller owns and shares between the plans of different shapes: only one plan runs at a time, and a
 * backward must use the arena of its forward with no other plan's pass in between.
 */
#pragma once
#ifdef MER_HAVE_DNNL
#include <stddef.h>

#include "io/base/err.h"

#define R18T_MAX_UNITS 20

/* One convolution + BatchNorm unit: geometry, and where its tensors live at the time of a call (plain
 * layouts: conv weight (cout, cin, k, k), BN vectors (cout)). */
typedef struct {
    int cin, cout, k, stride, pad;
    const float *w, *gamma, *beta;
    float *dw, *dgamma, *dbeta, *running_mean, *running_var;
} r18t_unit;

typedef struct r18t r18t;

/* A plan for N images of H x W. units: the stem, then for each of the 8 blocks conv1, conv2 and, when
 * has_ds[b], the downsample (the geometry is read now; the pointers at each call). */
int r18t_create(r18t **out, const r18t_unit *units, int n_units, const int has_ds[8], int N, int H, int W,
                float bn_eps, mer_err *err);
void r18t_free(r18t *p);
int r18t_is_shape(const r18t *p, int N, int H, int W);
/* Bytes of the shared arena this plan needs (pass an arena at least this large, 64-byte aligned). */
size_t r18t_arena_bytes(const r18t *p);

/* Training forward: feat (N,512) = global average pool of layer4; running statistics updated with
 * `momentum` and the unbiased batch variance (as the reference). x must stay valid until the backward. */
int r18t_forward(r18t *p, void *arena, float *feat, const float *x, const r18t_unit *units, float momentum,
                 mer_err *err);
/* Backward of the last forward from dfeat (N,512): accumulates the weight and BN gradients into the units'
 * gradient arrays, and into dx (N,3,H,W) when not NULL. */
int r18t_backward(r18t *p, void *arena, float *dx, const float *dfeat, const r18t_unit *units, mer_err *err);
/* Run only the convolution primitives (forward; with backward 1 also backward-data and -weights) of the
 * last passes, on their current buffers: how long the engine's convolutions alone take (benchmarks). */
int r18t_run_convs(r18t *p, int backward, mer_err *err);
#endif
