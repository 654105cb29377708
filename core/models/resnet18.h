/* ResNet-18 in torchvision's exact layout (tests/ref/torch_resnet18.py compares), forward and backward on CPU.
 *
 * Tensors: input x (N, 3, H, W) float32 NCHW; features (N, 512) = global average pool of layer4;
 * logits (N, n_classes) = fc(features) when the model has an fc (n_classes > 0).
 * Parameters are named by the torchvision state_dict keys (`conv1.weight`, `layer2.0.downsample.1.running_var`,
 * `fc.bias`, ...) with PyTorch shapes (OIHW); trainable tensors sit in one arena (llm.c style) with a
 * gradient arena of the same layout, BatchNorm running statistics in a buffer arena.
 * HDF5 weights files hold one float32 dataset per key at the root; `num_batches_tracked` is ignored.
 *
 * Modes: eval (BatchNorm with running statistics; only a few rotating activation buffers) and train
 * (batch statistics, running-stat update with momentum 0.1 and the unbiased variance; every activation
 * the backward pass needs is kept until the next forward). Memory grows to the largest batch seen;
 * resnet18_release_activations() gives it back.
 *
 * Engines (core/nn/engine.h): in builds with oneDNN both passes run on it by default. Eval: BatchNorm folded
 * into the convolutions, ReLU and the residual add fused, blocked layouts between layers, one plan of
 * primitives per input shape for the two most recent shapes. Training: core/models/resnet18_train_dnnl.h
 * (batch-statistics BatchNorm, backward, weights reordered from the plain arena once per forward, weight
 * gradients reordered back once per backward). Otherwise, or with resnet18_set_engine(NN_ENGINE_REFERENCE),
 * both run on the im2col + OpenBLAS reference.
 * The oneDNN plans hold the weights folded and reordered; they are refreshed when the weights may have
 * changed: after resnet18_table(), loading, initialising, a training-mode forward, or
 * resnet18_weights_changed() (call it after writing through a table pointer obtained earlier).
 *
 * Threads: the convolutions run on OpenMP threads (oneDNN) or call OpenBLAS (set the thread count with
 * nn_set_threads(), core/nn/threads.h). Not thread-safe: one model per thread of control.
 */
#pragma once
#include <stdint.h>

#include "core/nn/conv2d.h"
#include "core/nn/engine.h"
#include "io/base/err.h"
#include "core/nn/tensors.h"

typedef struct resnet18 resnet18;

#define RESNET18_FEATURES 512

/* A model with zeroed parameters (running_var 0 too: initialise or load before use).
 * n_classes = 0: no fc layer (a feature extractor). */
int resnet18_create(resnet18 **out, int n_classes, mer_err *err);
void resnet18_free(resnet18 *m);
int resnet18_n_classes(const resnet18 *m);
/* The parameter table: params/grads arenas (trainable), buffers (running stats), names and shapes.
 * Marks the weights as changed (see Engines above). */
nn_table *resnet18_table(resnet18 *m);
void resnet18_weights_changed(resnet18 *m);
/* The engine of both passes (default nn_engine_default()); fails if this build lacks it. Set it before a
 * training forward: its backward runs on the engine of that forward. */
int resnet18_set_engine(resnet18 *m, nn_engine e, mer_err *err);
nn_engine resnet18_engine(const resnet18 *m);

/* torchvision's initialisation from a seed: conv weights kaiming-normal (fan_out, ReLU gain), BN
 * weight 1 / bias 0 / running mean 0 / running var 1, fc weight and bias uniform(+-1/sqrt(512)). */
void resnet18_init_kaiming(resnet18 *m, uint64_t seed);
/* The test-fixture pattern (reproduced in tests/ref/nn_common.py): one rng_seeded(seed) stream, one
 * rng_uniform draw per element, tensors in state_dict order, element v = lo + (hi - lo) * u with
 *   conv weights: lo = -b, hi = b, b = (float)sqrt(6 / fan_in)   (fan_in = C*KH*KW)
 *   bn weight (0.5, 1.5), bn bias (-0.2, 0.2), running_mean (-0.2, 0.2), running_var (0.5, 1.5)
 *   fc weight and bias: b = (float)(1 / sqrt(512)). */
void resnet18_init_pattern(resnet18 *m, uint64_t seed);

/* Load weights from an HDF5 file into an existing model. With n_classes = 0 the file's fc.* are ignored;
 * otherwise they must be present with matching shapes. */
int resnet18_load_weights(resnet18 *m, const char *path, mer_err *err);
/* Create a model from a file; the class count comes from the file's fc.weight (0 if it has none). */
int resnet18_load(resnet18 **out, const char *path, mer_err *err);
/* Write every tensor (parameters and running statistics) to an open HDF5 location. */
int resnet18_save_to(const resnet18 *m, hid_t loc, mer_err *err);
int resnet18_save(const resnet18 *m, const char *path, mer_err *err); /* atomic file write */

/* Forward pass of N images of H x W (H, W >= 32 is sensible; any size works down to 1x1 at layer4).
 * features (N,512) may be NULL; logits (N,n_classes) may be NULL (ignored without fc).
 * train != 0: training mode (batch statistics, running-stat update, activations kept for backward). */
int resnet18_forward(resnet18 *m, float *features, float *logits, const float *x, int N, int H, int W, int train,
                     mer_err *err);
/* AdaBN, exactly: every BatchNorm's running mean and variance become the mean and the variance (over all
 * n*h*w values, i.e. biased) of its input over the n images x (n,3,H,W), layer by layer in forward order,
 * each measured with the layers before it already adapted, so that the eval forward equals a
 * training-mode forward of all n images as one batch. 17 partial eval passes over x on the reference
 * path (about 9 forward passes' work), `chunk` images at a time; sums in double in a fixed order, so
 * the result depends only on x and chunk. No gradient, labels or fc. Refolds the oneDNN plans.
 * Returns 1 (statistics partly updated) when should_stop(user) (may be NULL), polled between chunks, says so. */
int resnet18_adapt_bn(resnet18 *m, const float *x, size_t n, int H, int W, int chunk,
                      int (*should_stop)(const void *user), const void *user, mer_err *err);
/* Backward of the last training-mode forward: accumulates parameter gradients into the grads arena from
 * dfeatures (N,512) and/or dlogits (N,n_classes) (either may be NULL). dx (N,3,H,W) may be NULL. */
int resnet18_backward(resnet18 *m, float *dx, const float *dfeatures, const float *dlogits, mer_err *err);
void resnet18_zero_grad(resnet18 *m);
void resnet18_release_activations(resnet18 *m);
/* Bytes currently held for activations, gradients of activations and convolution workspace. */
size_t resnet18_activation_bytes(const resnet18 *m);

/* Run only the convolutions of the last pass on the engine's cached primitives (train: the last training
 * forward and backward), on whatever their buffers hold: how long the engine's convolutions alone take, for
 * benchmarks. Returns 1 if done, 0 when the engine is the reference (time conv2d's GEMMs instead), -1 on error. */
int resnet18_run_convs(resnet18 *m, int train, mer_err *err);

/* Multiply-accumulates of one forward pass on an H x W image (convolutions + fc). */
double resnet18_forward_macs(int H, int W, int n_classes);

/* The convolutions of one forward pass of N images of H x W, in execution order (20 of them), for
 * benchmarks and cost breakdowns. Returns the count written (at most max). */
int resnet18_conv_shapes(conv2d_shape *out, int max, int N, int H, int W);

/* ImageNet input normalisation in place: x (N,3,H,W) RGB in [0,1] -> (x - mean) / std per channel,
 * mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). */
void imagenet_normalize(float *x, int N, int H, int W);
