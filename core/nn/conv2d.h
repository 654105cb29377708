/* 2-D convolution, float32, zero padding (any kernel, stride and asymmetric padding).
 *
 * Layouts: input (N, C, H, W), output (N, OC, OH, OW), weight (OC, C, KH, KW) = PyTorch OIHW,
 * bias (OC) or NULL. OH = (H + pad_t + pad_b - KH) / stride + 1, likewise OW.
 *
 * The fast path folds the batch into the GEMM: im2col builds the column matrix
 * (C*KH*KW, nb*OH*OW) of nb images, cblas_sgemm multiplies it by the weight matrix (OC, C*KH*KW), and the
 * (OC, nb*OH*OW) result is scattered into NCHW. nb is the smallest image count giving >= 256 GEMM
 * columns (several images for small planes, e.g. ResNet layer2-4; one image for large planes, which then
 * GEMMs straight into the output), which keeps the column matrix near the L2 cache.
 * im2col fills a column-matrix row as one shifted flat copy when stride is 1 and OW == W (the 3x3
 * "same" convolutions), through a per-kernel-offset gather table for small planes, else row by row.
 * A 1x1 stride-1 unpadded convolution skips im2col (per-image GEMM directly on the input).
 * The naive kernels are the reference the fast ones are tested against.
 *
 * Backward functions ACCUMULATE into dinput / dweight / dbias (llm.c convention: zero the
 * gradient arena once per step). Any of dinput, dweight, dbias may be NULL to skip it.
 *
 * Threads: the GEMMs run on OpenBLAS threads and im2col/col2im/transposes on OpenMP threads, one pool
 * when OpenBLAS is its OpenMP build (nn_set_threads, core/nn/threads.h). mer's loops split outputs, never a
 * sum, so their results do not depend on the thread count. The GEMMs' may: OpenBLAS partitions the sum
 * differently per thread count for some kernel families (0.3.21's generic Prescott kernels: 1 and 2
 * threads differ in the last bits), so a run's results are reproducible for a fixed thread count.
 */
#pragma once
#include <stddef.h>

typedef struct {
    int N, C, H, W;     /* input */
    int OC, KH, KW;     /* output channels, kernel */
    int stride;         /* same in both directions */
    int pad_t, pad_l, pad_b, pad_r; /* zero padding; TF-SAME stride 2 on even sizes is 0,0,1,1 */
} conv2d_shape;

static inline int conv2d_out_h(const conv2d_shape *s) { return (s->H + s->pad_t + s->pad_b - s->KH) / s->stride + 1; }
static inline int conv2d_out_w(const conv2d_shape *s) { return (s->W + s->pad_l + s->pad_r - s->KW) / s->stride + 1; }

/* Convenience: symmetric padding `pad` on all sides. */
static inline conv2d_shape conv2d_make(int N, int C, int H, int W, int OC, int K, int stride, int pad) {
    conv2d_shape s = {N, C, H, W, OC, K, K, stride, pad, pad, pad, pad};
    return s;
}

/* 0 if the shape is valid (positive sizes, non-negative padding, output at least 1x1). */
int conv2d_shape_ok(const conv2d_shape *s);

/* Multiply-accumulates of one forward pass (for GFLOP/s reports: 2 flops per MAC). */
double conv2d_macs(const conv2d_shape *s);

/* Images folded into one GEMM by the fast path (see above). */
int conv2d_images_per_gemm(const conv2d_shape *s);

/* Scratch floats needed by conv2d_forward and conv2d_backward (the same for both). */
size_t conv2d_workspace_floats(const conv2d_shape *s);

/* The fast path's column matrix (C*KH*KW, N*OH*OW) of all N images, and its adjoint (accumulates into din,
 * clobbers col); workspace as below (only its gather table is used). For tests of mer's own loops. */
void conv2d_im2col(float *col, const float *in, const conv2d_shape *s, float *workspace);
void conv2d_col2im_add(float *din, float *col, const conv2d_shape *s, float *workspace);

/* out (N,OC,OH,OW) = conv(in, weight) + bias. workspace: conv2d_workspace_floats(s) floats. */
void conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                    const conv2d_shape *s, float *workspace);
void conv2d_forward_naive(float *out, const float *in, const float *weight, const float *bias,
                          const conv2d_shape *s);

/* Accumulates dinput (N,C,H,W), dweight (OC,C,KH,KW), dbias (OC) from dout (N,OC,OH,OW). */
void conv2d_backward(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const conv2d_shape *s, float *workspace);
void conv2d_backward_naive(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                           const float *weight, const conv2d_shape *s);
