/* The official MagNet checkpoint (not shipped: $MER_MAGNET_CKPT = checkpoint prefix, or
 * $MER_SHARED/magnet/o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002; skipped when absent):
 *  - the reader sees 42 float32 kernels with 918,928 parameters, names and HWIO shapes of the released
 *    architecture (core/magnify/magnet.h),
 *    plus the int32 global step; `mer convert-tf` converts it and magnet_load accepts the result;
 *  - functional: a 0.25 px horizontal shift of a real face crop (fixture shift_pair.h5, NASA astronaut,
 *    public domain) magnified at alpha 4, 8, 16 gives an output shift within 35 % of alpha * 0.25 px,
 *    measured by iterative Lucas-Kanade on blurred luminance (the estimator is checked on the input pair). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/magnify/magnet.h"
#include "io/h5.h"
#include "io/tfckpt.h"
#include "tests/check.h"

#define CKPT_NAME "o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002"

/* out[i] = sum_k g(k) in[i + k*step] over one line of n samples (clamped at the ends), Gaussian sigma 1. */
static void blur_line(double *out, const double *in, int n, int step) {
    double k[9], ks = 0;
    for (int i = -4; i <= 4; i++) ks += k[i + 4] = exp(-0.5 * i * i);
    for (int x = 0; x < n; x++) {
        double s = 0;
        for (int i = -4; i <= 4; i++) {
            int xx = x + i < 0 ? 0 : x + i >= n ? n - 1 : x + i;
            s += k[i + 4] * in[(size_t)xx * step];
        }
        out[(size_t)x * step] = s / ks;
    }
}

/* Luminance (mean of RGB) of a (3, H, W) image, blurred with a Gaussian of sigma 1 (radius 4, clamped). */
static void luma_blur(double *out, const float *chw, int H, int W) {
    double *l = malloc((size_t)H * W * sizeof *l);
    for (int i = 0; i < H * W; i++) l[i] = (chw[i] + chw[H * W + i] + chw[2 * H * W + i]) / 3.0;
    for (int y = 0; y < H; y++) blur_line(out + (size_t)y * W, l + (size_t)y * W, W, 1);
    for (int x = 0; x < W; x++) blur_line(l + x, out + x, H, W);
    memcpy(out, l, (size_t)H * W * sizeof *out);
    free(l);
}

/* Global translation (dx, dy) such that Y(p) ~ A(p - d), on the interior (margin 12 px). */
static void estimate_shift(double d[2], const float *a, const float *y, int H, int W) {
    const int m = 12;
    double *A = malloc((size_t)H * W * sizeof *A), *Y = malloc((size_t)H * W * sizeof *Y);
    luma_blur(A, a, H, W);
    luma_blur(Y, y, H, W);
    d[0] = d[1] = 0;
    for (int it = 0; it < 50; it++) {
        double sxx = 0, sxy = 0, syy = 0, bx = 0, by = 0;
        for (int r = m; r < H - m; r++)
            for (int c = m; c < W - m; c++) {
                double gx = (A[r * W + c + 1] - A[r * W + c - 1]) / 2, gy = (A[(r + 1) * W + c] - A[(r - 1) * W + c]) / 2;
                double sy = r + d[1], sx = c + d[0];
                int y0 = (int)floor(sy), x0 = (int)floor(sx);
                double fy = sy - y0, fx = sx - x0;
                double yw = (1 - fy) * ((1 - fx) * Y[y0 * W + x0] + fx * Y[y0 * W + x0 + 1]) +
                            fy * ((1 - fx) * Y[(y0 + 1) * W + x0] + fx * Y[(y0 + 1) * W + x0 + 1]);
                double res = yw - A[r * W + c];
                sxx += gx * gx;
                sxy += gx * gy;
                syy += gy * gy;
                bx += gx * res;
                by += gy * res;
            }
        double det = sxx * syy - sxy * sxy;
        double ux = (syy * bx - sxy * by) / det, uy = (sxx * by - sxy * bx) / det;
        d[0] -= ux;
        d[1] -= uy;
        if (fabs(d[0]) > m - 2 || fabs(d[1]) > m - 2) break; /* diverged; the check below fails */
        if (fabs(ux) + fabs(uy) < 1e-7) break;
    }
    free(A);
    free(Y);
}

static float *read_chw(hid_t f, const char *name, int *H, int *W) {
    float *hwc;
    int nd;
    size_t d[H5_MAX_DIMS];
    mer_err err = {0};
    if (h5_read_f32(f, name, &hwc, &nd, d, &err) < 0 || nd != 3 || d[2] != 3) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        exit(1);
    }
    *H = (int)d[0];
    *W = (int)d[1];
    size_t plane = d[0] * d[1];
    float *chw = malloc(3 * plane * sizeof *chw);
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) chw[c * plane + i] = hwc[3 * i + c];
    free(hwc);
    return chw;
}

int main(void) {
    char prefix[4096], path[4200];
    const char *env = getenv("MER_MAGNET_CKPT"), *shared = getenv("MER_SHARED");
    if (env && *env) snprintf(prefix, sizeof prefix, "%s", env);
    else snprintf(prefix, sizeof prefix, "%s/magnet/" CKPT_NAME, shared ? shared : "../shared");
    size_t pl = strlen(prefix);
    if (pl > 6 && !strcmp(prefix + pl - 6, ".index")) prefix[pl - 6] = 0;
    snprintf(path, sizeof path, "%s.index", prefix);
    if (access(path, R_OK) != 0)
        SKIP_ALL("official MagNet checkpoint not found at %s (set MER_MAGNET_CKPT to its prefix; it is not shipped: "
                 "see README, Motion magnification)", path);

    mer_err err = {0};
    tfckpt ck;
    if (tfckpt_open(&ck, prefix, &err) < 0) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    size_t n_float = 0, n_params = 0;
    for (size_t i = 0; i < ck.n_entries; i++)
        if (ck.entries[i].dtype == TF_DT_FLOAT) {
            n_float++;
            n_params += tfckpt_numel(&ck.entries[i]);
        }
    printf("%zu tensors, %zu float32 with %zu parameters\n", ck.n_entries, n_float, n_params);
    CHECK(n_float == 42, "42 float kernels, got %zu", n_float);
    CHECK(n_params == MAGNET_N_PARAMS, "918,928 parameters, got %zu", n_params);
    CHECK(ck.n_entries == 43, "43 tensors (42 kernels + the global step), got %zu", ck.n_entries);
    const tfckpt_entry *step = tfckpt_find(&ck, "Variable");
    CHECK(step && step->ndim == 0 && (step->dtype == TF_DT_INT32 || step->dtype == TF_DT_INT64), "global step");
    for (int i = 0; i < MAGNET_N_CONVS; i++) {
        char name[256];
        magnet_var_name(name, sizeof name, i);
        const tfckpt_entry *e = tfckpt_find(&ck, name);
        const magnet_layer_spec *s = &MAGNET_LAYERS[i];
        CHECK(e && e->dtype == TF_DT_FLOAT && e->ndim == 4 && e->dims[0] == s->k && e->dims[1] == s->k &&
                  e->dims[2] == s->in && e->dims[3] == s->out,
              "%s: present with HWIO shape (%d,%d,%d,%d)", name, s->k, s->k, s->in, s->out);
    }
    tfckpt_close(&ck);

    /* convert with the CLI, load */
    char dir[] = "/tmp/mer_test_magnet_ckpt_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char h5path[512], cmd[8192];
    snprintf(h5path, sizeof h5path, "%s/magnet.h5", dir);
    const char *mer = getenv("MER_BIN");
    CHECK(mer != NULL, "MER_BIN not set");
    snprintf(cmd, sizeof cmd, "'%s' convert-tf '%s' '%s'", mer ? mer : "mer", prefix, h5path);
    int st = system(cmd);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", cmd);
    magnet_model m;
    if (magnet_load(&m, h5path, &err) < 0) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }

    /* functional shift test */
    const char *fx = getenv("MER_FIXTURES");
    snprintf(path, sizeof path, "%s/magnet/shift_pair.h5", fx ? fx : "tests/fixtures");
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    int H, W;
    float *a = read_chw(f, "a", &H, &W), *b = read_chw(f, "b", &H, &W);
    double shift = 0;
    h5_read_scalar_f64(f, "shift_x", &shift, &err);
    h5_close(f, &err);
    double d[2];
    estimate_shift(d, a, b, H, W);
    printf("input pair: measured shift %.3f px (true %.3f), vertical %.3f\n", d[0], shift, d[1]);
    CHECK(fabs(d[0] - shift) < 0.03 && fabs(d[1]) < 0.03, "the shift estimator must recover the input shift");
    double alphas[3] = {4, 8, 16};
    float *y = malloc((size_t)3 * 3 * H * W * sizeof *y);
    CHECK(magnet_forward(y, a, b, H, W, alphas, 3, &m, &err) == 0, "forward: %s", err.msg);
    for (int t = 0; t < 3; t++) {
        estimate_shift(d, a, y + (size_t)t * 3 * H * W, H, W);
        double want = alphas[t] * shift;
        printf("alpha %2.0f: output shift %.3f px (alpha x input = %.2f, ratio %.2f), vertical %.3f\n", alphas[t], d[0],
               want, d[0] / want, d[1]);
        CHECK(fabs(d[0] - want) <= 0.35 * want, "alpha %g: shift %.3f not within 35 %% of %.3f", alphas[t], d[0], want);
    }
    free(y);
    free(a);
    free(b);
    magnet_free(&m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return check_summary();
}
