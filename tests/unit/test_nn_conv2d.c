/* conv2d: the im2col+sgemm path against the naive kernel on odd shapes, strides and asymmetric
 * paddings (forward and backward), and the naive backward against finite differences. */
#include "core/nn/conv2d.h"
#include "core/nn/threads.h"
#include "tests/check.h"
#include "tests/unit/nn_testutil.h"

static void compare_fast_naive(conv2d_shape s, mer_rng *r) {
    const size_t nin = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.OC * s.C * s.KH * s.KW;
    const size_t nout = (size_t)s.N * s.OC * conv2d_out_h(&s) * conv2d_out_w(&s);
    float *x = nn_test_randn(nin, r, 1.0f), *w = nn_test_randn(nw, r, 0.3f), *b = nn_test_randn(s.OC, r, 1.0f);
    float *g = nn_test_randn(nout, r, 1.0f);
    float *y1 = calloc(nout, 4), *y2 = calloc(nout, 4);
    float *ws = malloc(conv2d_workspace_floats(&s) * sizeof(float) + 4);
    float *dx1 = nn_test_randn(nin, r, 1.0f), *dx2 = malloc(nin * 4); /* non-zero start: backward accumulates */
    memcpy(dx2, dx1, nin * 4);
    float *dw1 = calloc(nw, 4), *dw2 = calloc(nw, 4), *db1 = calloc(s.OC, 4), *db2 = calloc(s.OC, 4);

    conv2d_forward(y1, x, w, b, &s, ws);
    conv2d_forward_naive(y2, x, w, b, &s);
    const char *fmt = "N%d C%d %dx%d OC%d k%dx%d s%d pad %d,%d,%d,%d";
    char desc[128];
    snprintf(desc, sizeof desc, fmt, s.N, s.C, s.H, s.W, s.OC, s.KH, s.KW, s.stride, s.pad_t, s.pad_l, s.pad_b, s.pad_r);
    CHECK(nn_test_rel_l2(y1, y2, nout) < 1e-5, "forward fast vs naive %s: %g", desc, nn_test_rel_l2(y1, y2, nout));

    conv2d_backward(dx1, dw1, db1, g, x, w, &s, ws);
    conv2d_backward_naive(dx2, dw2, db2, g, x, w, &s);
    CHECK(nn_test_rel_l2(dx1, dx2, nin) < 1e-5, "dinput fast vs naive %s: %g", desc, nn_test_rel_l2(dx1, dx2, nin));
    CHECK(nn_test_rel_l2(dw1, dw2, nw) < 1e-5, "dweight fast vs naive %s: %g", desc, nn_test_rel_l2(dw1, dw2, nw));
    CHECK(nn_test_rel_l2(db1, db2, s.OC) < 1e-5, "dbias fast vs naive %s", desc);
    free(x), free(w), free(b), free(g), free(y1), free(y2), free(ws);
    free(dx1), free(dx2), free(dw1), free(dw2), free(db1), free(db2);
}

/* Loss L = sum(g * conv(x)); check dL/dx and dL/dw of the naive backward by central differences. */
static void finite_difference(conv2d_shape s, mer_rng *r) {
    const size_t nin = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.OC * s.C * s.KH * s.KW;
    const size_t nout = (size_t)s.N * s.OC * conv2d_out_h(&s) * conv2d_out_w(&s);
    float *x = nn_test_randn(nin, r, 1.0f), *w = nn_test_randn(nw, r, 0.5f), *g = nn_test_randn(nout, r, 1.0f);
    float *y = malloc(nout * 4), *dx = calloc(nin, 4), *dw = calloc(nw, 4);
    conv2d_backward_naive(dx, dw, NULL, g, x, w, &s);
    double worst = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        float *p = pass ? w : x, *d = pass ? dw : dx;
        const size_t n = pass ? nw : nin;
        for (size_t i = 0; i < n; i++) {
            const float keep = p[i], h = 1e-2f;
            double lp = 0, lm = 0;
            p[i] = keep + h;
            conv2d_forward_naive(y, x, w, NULL, &s);
            for (size_t k = 0; k < nout; k++) lp += (double)g[k] * y[k];
            p[i] = keep - h;
            conv2d_forward_naive(y, x, w, NULL, &s);
            for (size_t k = 0; k < nout; k++) lm += (double)g[k] * y[k];
            p[i] = keep;
            const double fd = (lp - lm) / (2.0 * h), err = fabs(fd - d[i]) / (1.0 + fabs(fd));
            if (err > worst) worst = err;
        }
    }
    CHECK(worst < 1e-3, "naive conv backward vs finite differences: worst %g", worst);
    free(x), free(w), free(g), free(y), free(dx), free(dw);
}

int main(void) {
    nn_set_threads(1);
    mer_rng r = rng_seeded(42);
    const conv2d_shape cases[] = {
        {2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, 1},  /* 3x3 same */
        {3, 4, 10, 8, 6, 3, 3, 2, 0, 0, 1, 1},  /* TF-SAME stride 2 (MagNet) */
        {2, 3, 13, 7, 4, 7, 7, 2, 3, 3, 3, 3},  /* ResNet stem-like */
        {2, 5, 7, 9, 3, 1, 1, 2, 0, 0, 0, 0},   /* 1x1 stride 2 (downsample) */
        {2, 5, 7, 9, 3, 1, 1, 1, 0, 0, 0, 0},   /* 1x1 pointwise path */
        {1, 2, 6, 5, 3, 2, 3, 3, 2, 0, 1, 2},   /* rectangular kernel, stride 3, odd paddings */
        {3, 1, 5, 5, 2, 5, 5, 1, 0, 0, 0, 0},   /* valid conv, 1x1 output */
        {2, 3, 4, 4, 2, 3, 3, 1, 4, 4, 4, 4},   /* padding wider than the kernel reach: zero rows */
        {3, 2, 34, 34, 3, 3, 3, 1, 1, 1, 1, 1}, /* large planes: one image per GEMM, straight into NCHW */
        {2, 2, 47, 46, 3, 3, 3, 1, 0, 1, 2, 0}, /* stride 1 with OW != W: gather table */
        {11, 2, 9, 9, 3, 3, 3, 1, 1, 1, 1, 1}, /* 81 px planes: GEMMs of 4, 4, then 3 images; shifted rows */
        {2, 2, 9, 10, 3, 3, 3, 1, 0, 2, 2, 0},  /* shifted rows, asymmetric padding (dw -2..0, dh 0..2) */
        {1, 1, 1, 12, 2, 3, 3, 1, 1, 1, 1, 1},  /* one-row plane: shifted rows, only the middle kernel row */
        {1, 1, 3, 8, 2, 9, 9, 1, 4, 8, 4, 0},   /* shifted rows whose offset leaves the plane (|dw| = W) */
        {2, 3, 6, 7, 4, 3, 3, 1, 1, 1, 1, 1},   /* narrow plane (W < 8): gather table, stride 1 */
        {1, 2, 80, 80, 2, 7, 7, 2, 3, 3, 3, 3}, /* table too large: row-by-row path, stride 2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(conv2d_shape_ok(&cases[i]) == 0, "case %zu valid", i);
        compare_fast_naive(cases[i], &r);
    }
    /* mer's loops split outputs, never a sum: im2col and col2im give identical bits on 1 and 2 threads. The
     * whole convolution only agrees closely, since OpenBLAS may partition its sums by thread count. */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv2d_shape s = cases[i];
        const size_t nin = (size_t)s.N * s.C * s.H * s.W, nw = (size_t)s.OC * s.C * s.KH * s.KW;
        const size_t nout = (size_t)s.N * s.OC * conv2d_out_h(&s) * conv2d_out_w(&s);
        const size_t ncol = (size_t)s.C * s.KH * s.KW * s.N * conv2d_out_h(&s) * conv2d_out_w(&s);
        float *x = nn_test_randn(nin, &r, 1.0f), *w = nn_test_randn(nw, &r, 0.3f), *g = nn_test_randn(nout, &r, 1.0f);
        float *ws = malloc(conv2d_workspace_floats(&s) * sizeof(float) + 4), *y[2], *dx[2], *dw[2], *col[2], *din[2];
        for (int t = 0; t < 2; t++) {
            nn_set_threads(t + 1);
            y[t] = calloc(nout, 4), dx[t] = calloc(nin, 4), dw[t] = calloc(nw, 4);
            col[t] = calloc(ncol, 4), din[t] = calloc(nin, 4);
            conv2d_forward(y[t], x, w, NULL, &s, ws);
            conv2d_backward(dx[t], dw[t], NULL, g, x, w, &s, ws);
            if (conv2d_workspace_floats(&s)) conv2d_im2col(col[t], x, &s, ws);
        }
        if (conv2d_workspace_floats(&s)) {
            CHECK(!memcmp(col[1], col[0], ncol * 4), "case %zu: im2col on 1 and 2 threads gives the same bits", i);
            for (int t = 0; t < 2; t++) {
                nn_set_threads(t + 1);
                conv2d_col2im_add(din[t], col[t], &s, ws);
            }
            CHECK(!memcmp(din[1], din[0], nin * 4), "case %zu: col2im on 1 and 2 threads gives the same bits", i);
        }
        CHECK(nn_test_rel_l2(y[1], y[0], nout) < 1e-6 && nn_test_rel_l2(dx[1], dx[0], nin) < 1e-6 &&
                  nn_test_rel_l2(dw[1], dw[0], nw) < 1e-6,
              "case %zu: 1 and 2 threads agree (relative L2 < 1e-6)", i);
        for (int t = 0; t < 2; t++) free(y[t]), free(dx[t]), free(dw[t]), free(col[t]), free(din[t]);
        free(x), free(w), free(g), free(ws);
    }
    nn_set_threads(1);
    finite_difference((conv2d_shape){2, 2, 5, 6, 3, 3, 3, 2, 0, 1, 1, 0}, &r);
    conv2d_shape bad = {1, 1, 2, 2, 1, 5, 5, 1, 0, 0, 0, 0};
    CHECK(conv2d_shape_ok(&bad) != 0, "kernel larger than padded input rejected");
    return check_summary();
}
