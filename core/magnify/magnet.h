/* MagNet: learning-based motion magnification (Oh et al., ECCV 2018), static mode, the officially released
 * architecture (tests/ref/magnet_ref.py is its reference implementation), forward pass only.
 *
 * Layouts: images are float32 (3, H, W) planar RGB with pixels in [-1, 1] (x / 127.5 - 1); feature maps are
 * (C, H, W); kernels are stored OIHW (converted from the checkpoint's HWIO on load). No conv has a bias.
 * Any H, W >= 8: the pair is reflect-padded at the bottom/right to a multiple of 4 and the output is cropped
 * back to H x W.
 *
 * For one pair (A = onset, B = apex) and T factors m_1..m_T, the work that does not depend on the factor
 * runs once: both encoders, g = ReLU(conv7(M_b - M_a)), h0 = conv3(g) (linear, so (m-1) * conv3(g) ==
 * conv3((m-1) * g)), and the decoder's texture upsampling of V_b. Per factor only the manipulator's residual
 * block and the decoder's residual/upsampling/prediction layers run. Output is clipped to [-1, 1].
 *
 * Engines (core/nn/engine.h): on oneDNN (default in builds with it) the factors run in batches and the
 * activations stay in oneDNN's blocked layout; the reference is im2col + OpenBLAS one factor at a time. The
 * oneDNN state is created by the first forward and holds reordered weights: the weights must not change after
 * that (load or init into a fresh model instead). Not thread-safe: one model per thread of control.
 *
 * Weights: HDF5 datasets named like the TensorFlow variables, e.g.
 * "ynet_3frames/encoder/enc_conv1_c/Conv/weights" with HWIO shape (7, 7, 3, 16) — what `mer convert-tf`
 * writes from the official checkpoint.
 */
#pragma once
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "core/nn/engine.h"
#include "io/base/err.h"

#define MAGNET_N_CONVS 42
#define MAGNET_N_PARAMS 918928
#define MAGNET_MIN_SIDE 8

typedef struct {
    const char *name; /* TF scope below ynet_3frames/, e.g. "encoder/enc_conv1_c" */
    int k, in, out;   /* square kernel size, input and output channels */
} magnet_layer_spec;

/* The 42 convolutions in architecture order (encoder, manipulator, decoder). */
extern const magnet_layer_spec MAGNET_LAYERS[MAGNET_N_CONVS];

typedef struct {
    float *params;                  /* one arena of MAGNET_N_PARAMS floats */
    float *w[MAGNET_N_CONVS];       /* OIHW kernel of MAGNET_LAYERS[i], pointing into params */
    nn_engine engine;               /* of magnet_forward; nn_engine_default() after alloc/load/init */
    struct magnet_dnnl *dnnl;       /* oneDNN primitives and reordered weights, made by the first forward */
} magnet_model;

/* Full TF variable name of layer i ("ynet_3frames/<scope>/Conv/weights") into buf. */
void magnet_var_name(char *buf, size_t n, int layer);

int magnet_alloc(magnet_model *m, mer_err *err);
void magnet_free(magnet_model *m);
/* Load from HDF5 (TF names, HWIO); every kernel must be present with its exact shape. */
int magnet_load(magnet_model *m, const char *h5_path, mer_err *err);
/* The same from an open HDF5 location (a group of a model file); `where` names it in messages. */
int magnet_load_from(magnet_model *m, hid_t loc, const char *where, mer_err *err);
/* Save in the same format (TF names, HWIO), atomically. */
int magnet_save(const magnet_model *m, const char *h5_path, mer_err *err);
/* Deterministic random weights for tests (the checkpoint cannot be committed): layers in MAGNET_LAYERS order,
 * each HWIO kernel filled in memory order with rng_uniform_range(-s, s), s = gain * sqrt(6 / (k*k*in)),
 * gain = 0.3 for the second conv of a residual block and 0.7 otherwise (keeps random outputs mostly
 * unclipped), from one splitmix64 stream rng_seeded(seed). tests/ref/magnet_ref.py reproduces it bit for bit. */
int magnet_init_random(magnet_model *m, uint64_t seed, mer_err *err);

/* out (T, 3, H, W): B's motion relative to A magnified by factors[t] (1 = B unchanged in shape space),
 * clipped to [-1, 1]. a, b: (3, H, W) in [-1, 1]. */
int magnet_forward(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                   const magnet_model *m, mer_err *err);

/* Same with an explicit scratch budget (floats). Reference engine: for one convolution's im2col + GEMM result;
 * convolutions that would need more run in row strips. oneDNN: for the largest activation of one batch of
 * factors (the padded upsampled decoder input, 64 x (H+2) x (W+2) floats per factor). Any budget >= 1 works;
 * smaller = less memory, more calls. */
#define MAGNET_CONV_WS_BUDGET ((size_t)8 << 20) /* 32 MB */
int magnet_forward_budget(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                          const magnet_model *m, size_t ws_budget_floats, mer_err *err);

/* Multiply-accumulates magnet_forward executes for one pair of size H x W and T factors. */
double magnet_macs(int H, int W, int T);
