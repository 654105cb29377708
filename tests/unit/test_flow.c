/* TV-L1 optical flow (core/flow/tvl1.c) against OpenCV 4.6's DualTVL1OpticalFlow on two 48x48 face-like crops
 * with a known sub-pixel motion (tests/fixtures/flow/tvl1_48.h5, written by tests/ref/flow_fixture.py), with
 * OpenCV's defaults and with every option changed; the optical strain on flows whose strain is known exactly;
 * option checks; the network's flow input (recnet_prepare_flow) against direct calls. Prints the endpoint errors
 * reached and the time per flow. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/flow/tvl1.h"
#include "core/models/recnet.h"
#include "core/nn/threads.h"
#include "io/h5.h"
#include "tests/check.h"

/* Parity tolerances (pixels of endpoint error between mer's flow and OpenCV's). */
#define TOL_MEAN 1e-3
#define TOL_MAX 2e-2

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Endpoint error of (u, v) against an interleaved (H, W, 2) flow. */
static void epe(const float *u, const float *v, const float *ref, size_t n, double *mean, double *max) {
    *mean = *max = 0;
    for (size_t i = 0; i < n; i++) {
        double e = hypot((double)u[i] - ref[2 * i], (double)v[i] - ref[2 * i + 1]);
        *mean += e / (double)n;
        if (e > *max) *max = e;
    }
}

static void parity(hid_t f, const float *i0, const float *i1, int H, int W, const char *name, const tvl1_options *o) {
    mer_err err = {0};
    size_t n = (size_t)H * W;
    float *ref = NULL, *truth = NULL, *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v);
    char path[64];
    snprintf(path, sizeof path, "flow_%s", name);
    CHECK(h5_read_f32(f, path, &ref, NULL, NULL, &err) == 0 && h5_read_f32(f, "true_flow", &truth, NULL, NULL, &err) == 0,
          "read %s: %s", path, err.msg);
    double t0 = now();
    int reps = 5;
    for (int r = 0; r < reps; r++) CHECK(tvl1_flow(u, v, i0, i1, H, W, o, &err) == 0, "tvl1_flow: %s", err.msg);
    double ms = (now() - t0) / reps * 1e3;
    if (ref && truth) {
        double mean, max, tmean, tmax;
        epe(u, v, ref, n, &mean, &max);
        epe(u, v, truth, n, &tmean, &tmax);
        printf("%s settings: endpoint error vs OpenCV mean %.2e max %.2e px; vs the true motion mean %.3f max %.3f px;"
               " %.2f ms per %dx%d flow (1 thread)\n", name, mean, max, tmean, tmax, ms, W, H);
        CHECK(mean <= TOL_MEAN && max <= TOL_MAX, "%s: flow equals OpenCV's (mean %.3g <= %g, max %.3g <= %g)", name,
              mean, TOL_MEAN, max, TOL_MAX);
        double zmean, zmax;
        float *zero = calloc(n, sizeof *zero);
        epe(zero, zero, truth, n, &zmean, &zmax);
        CHECK(tmean < 0.25 * zmean, "%s: the flow recovers the motion (error %.3f vs %.3f for no flow)", name, tmean,
              zmean);
        free(zero);
    }
    free(ref);
    free(truth);
    free(u);
    free(v);
}

static void test_strain(void) {
    enum { H = 9, W = 11 };
    float u[H * W], v[H * W], s[H * W];
    const float a = 0.03f, b = -0.02f, c = 0.05f, d = 0.01f; /* u = a x + b y, v = c x + d y */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            u[y * W + x] = a * x + b * y + 0.7f;
            v[y * W + x] = c * x + d * y - 0.2f;
        }
    optical_strain(s, u, v, H, W);
    double exy = 0.5 * (b + c), want = sqrt(a * a + d * d + 2 * exy * exy);
    double worst = 0;
    for (int i = 0; i < H * W; i++) worst = fmax(worst, fabs(s[i] - want));
    CHECK(worst < 1e-6, "strain of a linear flow is sqrt(exx^2 + eyy^2 + 2 exy^2) = %.6f everywhere (worst %.2g)", want,
          worst);
    /* a rotation has no strain; a translation neither */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            u[y * W + x] = -0.04f * (y - 4);
            v[y * W + x] = 0.04f * (x - 5);
        }
    optical_strain(s, u, v, H, W);
    worst = 0;
    for (int i = 0; i < H * W; i++) worst = fmax(worst, fabs(s[i]));
    CHECK(worst < 1e-6, "a small rotation has zero strain (worst %.2g)", worst);
}

static void test_options(void) {
    mer_err err;
    tvl1_options o = tvl1_defaults();
    CHECK(tvl1_check(&o, &err) == 0, "defaults are valid");
    CHECK(o.tau == 0.25 && o.lambda == 0.15 && o.theta == 0.3 && o.nscales == 5 && o.warps == 5 && o.epsilon == 0.01 &&
              o.inner_iterations == 30 && o.outer_iterations == 10 && o.scale_step == 0.8 && o.gamma == 0 &&
              o.median_filtering == 5,
          "OpenCV's defaults");
    o.scale_step = 1.0;
    CHECK(tvl1_check(&o, &err) < 0 && strstr(err.msg, "scale_step"), "scale_step 1 refused: %s", err.msg);
    o = tvl1_defaults();
    o.median_filtering = 4;
    CHECK(tvl1_check(&o, &err) < 0 && strstr(err.msg, "median"), "median 4 refused: %s", err.msg);
    o = tvl1_defaults();
    float img[4] = {0};
    CHECK(tvl1_flow(img, img, img, img, 2, 2, &o, &err) < 0, "2x2 images refused");
}

/* A smooth textured pattern moved by (dx, dy) px, in [0, 1]. */
static float pattern(int x, int y, float dx, float dy) {
    float fx = (float)x - dx, fy = (float)y - dy;
    return 0.5f + 0.2f * sinf(0.45f * fx + 0.2f * fy) * cosf(0.3f * fy - 0.1f * fx) + 0.1f * sinf(0.13f * fx * fy / 8);
}

/* recnet_prepare_flow = per frame: grey (luma), tvl1_flow from the onset, u, v, gain x optical_strain, bit for
 * bit; ImageNet scaling divides by the std; any thread count gives the same bits. */
static void test_flow_input(void) {
    enum { N = 2, T = 2, H = 24, W = 28 };
    const size_t HW = (size_t)H * W;
    float *frames = malloc((size_t)N * T * 3 * HW * sizeof *frames), *onset = malloc((size_t)N * 3 * HW * sizeof *onset);
    float *x = malloc((size_t)N * T * 3 * HW * sizeof *x), *x2 = malloc((size_t)N * T * 3 * HW * sizeof *x2);
    float *xi = malloc((size_t)N * T * 3 * HW * sizeof *xi), *g0 = malloc(HW * sizeof *g0), *g1 = malloc(HW * sizeof *g1);
    float *u = malloc(HW * sizeof *u), *v = malloc(HW * sizeof *v), *e = malloc(HW * sizeof *e);
    /* sample 0 grey (3 equal channels), sample 1 in colour; frame t moves by (t + 1) x (0.6, -0.4) px */
    for (int n = 0; n < N; n++)
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < H; y++)
                for (int xx = 0; xx < W; xx++) {
                    const float tint = n == 0 ? 1.f : 0.8f + 0.2f * (float)c;
                    onset[((size_t)n * 3 + c) * HW + (size_t)y * W + xx] = tint * pattern(xx, y, 0, 0);
                    for (int t = 0; t < T; t++)
                        frames[(((size_t)n * T + t) * 3 + c) * HW + (size_t)y * W + xx] =
                            tint * pattern(xx, y, 0.6f * (float)(t + 1), -0.4f * (float)(t + 1));
                }
    flow_input_options o = {.tvl1 = tvl1_defaults(), .strain_gain = 8.f};
    mer_err err = {0};
    nn_set_threads(1);
    CHECK(recnet_prepare_flow(x, frames, onset, N, T, H, W, &o, 0, &err) == 0, "flow input: %s", err.msg);
    nn_set_threads(2);
    CHECK(recnet_prepare_flow(x2, frames, onset, N, T, H, W, &o, 0, &err) == 0, "flow input, 2 threads: %s", err.msg);
    CHECK(recnet_prepare_flow(xi, frames, onset, N, T, H, W, &o, 1, &err) == 0, "flow input, ImageNet: %s", err.msg);
    nn_set_threads(1);
    CHECK(!memcmp(x, x2, (size_t)N * T * 3 * HW * sizeof *x), "flow input: 1 and 2 threads give the same bits");
    static const float std[3] = {0.229f, 0.224f, 0.225f};
    size_t bad = 0, bad_in = 0;
    double mean_u = 0;
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++) {
            const float *f = frames + ((size_t)n * T + t) * 3 * HW, *on = onset + (size_t)n * 3 * HW;
            for (size_t i = 0; i < HW; i++) {
                /* sample 0: the grey is the channel itself; sample 1: BT.601 luma */
                g0[i] = n == 0 ? on[i] : (float)(0.299 * on[i] + 0.587 * on[HW + i] + 0.114 * on[2 * HW + i]);
                g1[i] = n == 0 ? f[i] : (float)(0.299 * f[i] + 0.587 * f[HW + i] + 0.114 * f[2 * HW + i]);
            }
            CHECK(tvl1_flow(u, v, g0, g1, H, W, &o.tvl1, &err) == 0, "tvl1_flow: %s", err.msg);
            optical_strain(e, u, v, H, W);
            const float *d = x + ((size_t)n * T + t) * 3 * HW, *di = xi + ((size_t)n * T + t) * 3 * HW;
            for (size_t i = 0; i < HW; i++) {
                bad += d[i] != u[i] || d[HW + i] != v[i] || d[2 * HW + i] != 8.f * e[i];
                bad_in += di[i] != u[i] / std[0] || di[HW + i] != v[i] / std[1] || di[2 * HW + i] != 8.f * e[i] / std[2];
                if (t == 1 && n == 0) mean_u += u[i] / (double)HW;
            }
        }
    CHECK(bad == 0, "flow input channels = tvl1_flow u, v and 8 x optical_strain (%zu pixels differ)", bad);
    CHECK(bad_in == 0, "ImageNet scaling divides each channel by its std (%zu pixels differ)", bad_in);
    CHECK(mean_u > 0.8 && mean_u < 1.6, "the flow sees the motion (mean u %.3f px for a 1.2 px shift)", mean_u);
    o.tvl1.warps = 0;
    CHECK(recnet_prepare_flow(x, frames, onset, N, T, H, W, &o, 0, &err) < 0 && strstr(err.msg, "warps"),
          "bad TV-L1 settings refused: %s", err.msg);
    free(frames), free(onset), free(x), free(x2), free(xi), free(g0), free(g1), free(u), free(v), free(e);
}

int main(void) {
    test_flow_input();
    test_strain();
    test_options();
    const char *fx = getenv("MER_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/flow/tvl1_48.h5", fx ? fx : "tests/fixtures");
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) SKIP_ALL("%s", err.msg);
    float *i0 = NULL, *i1 = NULL;
    int nd;
    size_t dims[H5_MAX_DIMS];
    CHECK(h5_read_f32(f, "onset", &i0, &nd, dims, &err) == 0 && h5_read_f32(f, "apex", &i1, NULL, NULL, &err) == 0,
          "read the crops: %s", err.msg);
    if (i0 && i1) {
        int H = (int)dims[0], W = (int)dims[1];
        tvl1_options o = tvl1_defaults();
        parity(f, i0, i1, H, W, "default", &o);
        double x;
        tvl1_options p = tvl1_defaults();
        h5_read_scalar_f64(f, "other/tau", &p.tau, &err);
        h5_read_scalar_f64(f, "other/lambda", &p.lambda, &err);
        h5_read_scalar_f64(f, "other/theta", &p.theta, &err);
        h5_read_scalar_f64(f, "other/epsilon", &p.epsilon, &err);
        h5_read_scalar_f64(f, "other/scaleStep", &p.scale_step, &err);
        h5_read_scalar_f64(f, "other/gamma", &p.gamma, &err);
        if (h5_read_scalar_f64(f, "other/nscales", &x, &err) == 0) p.nscales = (int)x;
        if (h5_read_scalar_f64(f, "other/warps", &x, &err) == 0) p.warps = (int)x;
        if (h5_read_scalar_f64(f, "other/innnerIterations", &x, &err) == 0) p.inner_iterations = (int)x;
        if (h5_read_scalar_f64(f, "other/outerIterations", &x, &err) == 0) p.outer_iterations = (int)x;
        if (h5_read_scalar_f64(f, "other/medianFiltering", &x, &err) == 0) p.median_filtering = (int)x;
        CHECK(p.gamma > 0 && p.nscales == 3 && p.median_filtering == 3, "the other settings were read");
        parity(f, i0, i1, H, W, "other", &p);
    }
    free(i0);
    free(i1);
    h5_close(f, &err);
    return check_summary();
}
