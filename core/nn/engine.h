/* The convolution engine of the networks (ResNet-18, MagNet).
 *
 * NN_ENGINE_DNNL: oneDNN (Intel's CPU library, the one PyTorch links), when mer is built with it (CMake option
 * MER_DNNL, defines MER_HAVE_DNNL). Tensors stay in oneDNN's blocked layouts between layers; BatchNorm is
 * folded into the inference convolutions and runs as oneDNN's batch normalization in training.
 * NN_ENGINE_REFERENCE: im2col + OpenBLAS sgemm (core/nn/conv2d.h), the reference the tests compare against and
 * the engine of builds without oneDNN.
 * Every rank of a run uses the same binary, hence the same engine.
 */
#pragma once
#include <stddef.h>

typedef enum { NN_ENGINE_REFERENCE = 0, NN_ENGINE_DNNL = 1 } nn_engine;

/* oneDNN when built with it, else the reference. */
nn_engine nn_engine_default(void);
/* 1 if this build can run engine e. */
int nn_engine_available(nn_engine e);
/* "oneDNN 2.6.3" or "im2col+OpenBLAS" into buf. */
void nn_engine_describe(char *buf, size_t size, nn_engine e);
