/* TV-L1 optical flow (Zach, Pock and Bischof 2007, "A duality based approach for realtime TV-L1 optical
 * flow"; the dual formulation and numerics of Sánchez, Meinhardt-Llopis and Facciolo 2013 as implemented in
 * OpenCV's DualTVL1OpticalFlow), and the optical strain used as a third input channel in micro-expression work.
 *
 * Images are grey, row-major H x W float32 in [0, 1]; like OpenCV's float input they are scaled by 255
 * inside, so lambda means what it means for 8-bit images. The flow (u, v) maps I0 onto I1:
 * I1(x + u, y + v) ~ I0(x, y), in pixels, x to the right and y down.
 *
 * Numerics follow OpenCV 4.x's CPU path step by step (bilinear pyramid with OpenCV's sampling and sizes,
 * bicubic warping on a 1/32-pixel grid with zero outside, half-difference gradients at the border, 5x5 median
 * of the flow before each outer iteration), so results match cv::optflow::DualTVL1OpticalFlow to float
 * rounding (tests/unit/test_flow.c states the tolerance reached).
 */
#pragma once
#include "io/base/err.h"

typedef struct {
    double tau;            /* time step of the dual update (0.25; < 0.25 for guaranteed convergence) */
    double lambda;         /* weight of the data term (0.15): smaller = smoother flow */
    double theta;          /* coupling of u and v (0.3) */
    double gamma;          /* weight of the illumination term (0: none) */
    double epsilon;        /* stopping tolerance (0.01) */
    double scale_step;     /* pyramid ratio (0.8) */
    int nscales;           /* pyramid levels (5); coarser ones under 16 px are dropped */
    int warps;             /* warps per level (5) */
    int inner_iterations;  /* (30) */
    int outer_iterations;  /* (10) */
    int median_filtering;  /* median window over the flow (5; 1 = off, else 3 or 5) */
} tvl1_options;

/* OpenCV's defaults, listed above. */
tvl1_options tvl1_defaults(void);
/* Check the settings; err names the first bad one. */
int tvl1_check(const tvl1_options *o, mer_err *err);

/* Flow from i0 to i1, both H x W (H, W >= 3), into u and v (H x W each). Allocates its own workspace. */
int tvl1_flow(float *u, float *v, const float *i0, const float *i1, int H, int W, const tvl1_options *o,
              mer_err *err);

/* Optical strain magnitude of a flow, H x W:
 *   e_xx = du/dx, e_yy = dv/dy, e_xy = (du/dy + dv/dx) / 2,  |e| = sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)
 * (the symmetric strain tensor's Frobenius norm, as in Liong et al. / STSTNet), with central differences
 * inside and one-sided differences on the border (numpy.gradient's convention). */
void optical_strain(float *strain, const float *u, const float *v, int H, int W);
