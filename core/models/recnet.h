/* The whole recognition network of CN114743235A: ResNet-18 on every frame -> per-frame features
 * F (T x 512) -> LSH attention head -> logits.
 *
 * Tensors: frames x (N, T, 3, H, W) float32 (already prepared: `frames`, `difference` or `flow` input and
 * any normalisation are the caller's choice, see recnet_prepare_input and recnet_prepare_flow); logits (N, C).
 * The network borrows a resnet18 (n_classes may be 0: its fc is unused) and an lsh_head with
 * d_in = 512; it owns only scratch.
 * Backbone `frozen`: the backbone always runs in eval mode (running BatchNorm statistics) and gets no
 * gradient, so its features can equally be cached once and the head trained alone (core/train.h).
 * Backbone `finetune`: in training mode the backbone runs in training mode (batch statistics over the
 * N*T frames of the mini-batch) and receives gradients through the head's dX.
 */
#pragma once
#include "io/base/err.h"
#include "core/flow/tvl1.h"
#include "core/models/lsh_head.h"
#include "core/models/resnet18.h"
#include "io/base/rng.h"

typedef enum { BACKBONE_FROZEN = 0, BACKBONE_FINETUNE } backbone_mode;
typedef enum { INPUT_FRAMES = 0, INPUT_DIFFERENCE, INPUT_FLOW } input_mode;

/* The flow input: TV-L1 settings and the gain of the strain channel. */
typedef struct {
    tvl1_options tvl1;
    float strain_gain;
} flow_input_options;

typedef struct {
    resnet18 *backbone; /* borrowed */
    lsh_head *head;     /* borrowed */
    backbone_mode mode;
    int N, T, train_ready;
    float *feat, *dfeat; /* (N*T, 512) */
    size_t cap;
} recnet;

int recnet_init(recnet *net, resnet18 *backbone, lsh_head *head, backbone_mode mode, mer_err *err);
void recnet_free(recnet *net); /* frees scratch only */

/* dst (N,T,3,H,W) from the enhanced frames (N,T,3,H,W) and onset (N,3,H,W):
 * INPUT_FRAMES copies the frames, INPUT_DIFFERENCE writes frame - onset. imagenet != 0 then applies the
 * ImageNet normalisation (frames: (x - mean)/std; difference: x/std, a difference has no mean).
 * onset may be NULL for INPUT_FRAMES. INPUT_FLOW is recnet_prepare_flow's. */
void recnet_prepare_input(float *dst, const float *frames, const float *onset, int N, int T, int H, int W,
                          input_mode mode, int imagenet);

/* The INPUT_FLOW network input: dst (N,T,3,H,W) from frames (N,T,3,H,W) and onset (N,3,H,W), all RGB in [0, 1].
 * Per frame, onset and frame are made grey (BT.601 luma; a grey frame replicated to 3 channels gives its
 * grey exactly), TV-L1 runs from the onset to the frame (core/flow/tvl1.h), and the channels are
 *   0: u, 1: v (pixels of the H x W crop, x right, y down), 2: strain_gain x optical_strain(u, v).
 * A fixed scale, not a per-image one: the T frames of a magnification ramp keep their growing motion, and a
 * subtle sample stays subtle. imagenet != 0 then divides by the ImageNet std, as for a difference (no mean).
 * The frames are independent, computed in parallel on the OpenMP pool; results do not depend on the thread
 * count. */
int recnet_prepare_flow(float *dst, const float *frames, const float *onset, int N, int T, int H, int W,
                        const flow_input_options *o, int imagenet, mer_err *err);

/* Forward N samples; train != 0 needs rng (dropout, resampled planes). */
int recnet_forward(recnet *net, float *logits, const float *x, int N, int H, int W, int train, mer_rng *rng,
                   mer_err *err);
/* Accumulates head gradients and, in finetune mode, backbone gradients, from dlogits (N,C). */
int recnet_backward(recnet *net, const float *dlogits, mer_err *err);

/* Class probabilities (N,C) in inference mode, `chunk` samples per pass. */
int recnet_predict(recnet *net, float *probs, const float *x, int N, int H, int W, int chunk, mer_err *err);
