/* MagNet with deterministic random weights (the official checkpoint cannot be committed):
 * parity with the independent numpy reference tests/ref/magnet_ref.py (fixture parity_random.h5) both
 * in-process and through `mer magnify`, odd sizes, the row-strip path, alpha = 1 as identity in shape space,
 * weight file errors, and the magnify_sequence stage (network / linear / none). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/magnify/magnet.h"
#include "core/magnify/magnify.h"
#include "io/h5.h"
#include "tests/check.h"

static double rel_l2(const float *x, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)x[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
    }
    return sqrt(num / (den > 0 ? den : 1));
}

/* (H, W, 3) dataset -> (3, H, W) */
static float *read_chw(hid_t f, const char *name, int *H, int *W) {
    float *hwc;
    int nd;
    size_t d[H5_MAX_DIMS];
    mer_err err = {0};
    if (h5_read_f32(f, name, &hwc, &nd, d, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    size_t plane = d[nd - 3] * d[nd - 2], n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    *H = (int)d[nd - 3];
    *W = (int)d[nd - 2];
    float *chw = malloc(n * sizeof *chw);
    for (size_t img = 0; img < n / (3 * plane); img++)
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) chw[img * 3 * plane + c * plane + i] = hwc[img * 3 * plane + 3 * i + c];
    free(hwc);
    return chw;
}

static double read_scalar(hid_t f, const char *name) {
    double v = NAN;
    mer_err err = {0};
    if (h5_read_scalar_f64(f, name, &v, &err) < 0) fprintf(stderr, "%s\n", err.msg);
    return v;
}

/* magnet_forward on fixture pair `prefix`{a,b} at `alpha_name`, compared with `y_name`. */
static void check_case(hid_t f, const magnet_model *m, const char *pa, const char *pb, const char *alpha_name,
                       const char *y_name, const char *what) {
    int H, W, H2, W2;
    float *a = read_chw(f, pa, &H, &W), *b = read_chw(f, pb, &H2, &W2), *y = read_chw(f, y_name, &H2, &W2);
    double alpha = read_scalar(f, alpha_name);
    float *out = malloc((size_t)3 * H * W * sizeof *out);
    mer_err err = {0};
    int rc = magnet_forward(out, a, b, H, W, &alpha, 1, m, &err);
    CHECK(rc == 0, "%s: magnet_forward: %s", what, err.msg);
    double e = rel_l2(out, y, (size_t)3 * H * W);
    printf("%s (%dx%d, alpha %g): relative L2 error %.3g\n", what, W, H, alpha, e);
    CHECK(e <= 1e-4, "%s: relative L2 error %.3g > 1e-4", what, e);
    free(a);
    free(b);
    free(y);
    free(out);
}

int main(void) {
    const char *fx = getenv("MER_FIXTURES");
    if (!fx) SKIP_ALL("MER_FIXTURES not set (run through ctest)");
    char path[4096];
    snprintf(path, sizeof path, "%s/magnet/parity_random.h5", fx);
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int64_t seed;
    CHECK(h5_read_scalar_i64(f, "seed", &seed, &err) == 0, "seed: %s", err.msg);
    magnet_model m;
    CHECK(magnet_init_random(&m, (uint64_t)seed, &err) == 0, "init: %s", err.msg);

    /* the random-weight generator matches the reference bit for bit (HWIO order) */
    {
        float *w_first, *w_last;
        h5_read_f32(f, "w_first", &w_first, NULL, NULL, &err);
        h5_read_f32(f, "w_last", &w_last, NULL, NULL, &err);
        /* enc_conv1_c HWIO (7,7,3,16): element j of the flat HWIO array is OIHW (o=j%16, i=(j/16)%3, h=0, w=0) */
        int bad = 0;
        for (int j = 0; j < 8; j++) bad += m.w[0][((size_t)(j % 16) * 3 + (j / 16) % 3) * 49] != w_first[j];
        /* pred_conv HWIO (7,7,32,3): last 8 elements are h=w=6, i=29..31 */
        for (int j = 0; j < 8; j++) {
            int flat = 7 * 7 * 32 * 3 - 8 + j, o = flat % 3, i = (flat / 3) % 32;
            bad += m.w[41][(((size_t)o * 32 + i) * 7 + 6) * 7 + 6] != w_last[j];
        }
        CHECK(bad == 0, "random weights differ from the reference generator (%d of 16 values)", bad);
        free(w_first);
        free(w_last);
    }

    check_case(f, &m, "a", "b", "alpha", "y", "64x64 parity");
    check_case(f, &m, "odd_a", "odd_b", "odd_alpha", "odd_y", "odd size parity");
    check_case(f, &m, "big_a", "big_b", "big_alpha", "big_y", "row-strip parity");

    /* a tiny scratch budget forces every convolution, stride 1 and stride 2, into row strips (down to one
     * output row per call): same result */
    {
        int H0, W0, H1, W1;
        float *oa = read_chw(f, "odd_a", &H0, &W0), *ob = read_chw(f, "odd_b", &H1, &W1);
        float *oy = read_chw(f, "odd_y", &H1, &W1);
        double alpha = read_scalar(f, "odd_alpha");
        float *out = malloc((size_t)3 * H0 * W0 * sizeof *out);
        const size_t budgets[2] = {1, 20000};
        for (int k = 0; k < 2; k++) {
            CHECK(magnet_forward_budget(out, oa, ob, H0, W0, &alpha, 1, &m, budgets[k], &err) == 0, "budget: %s",
                  err.msg);
            double e = rel_l2(out, oy, (size_t)3 * H0 * W0);
            CHECK(e <= 1e-4, "scratch budget %zu floats: relative L2 error %.3g", budgets[k], e);
        }
        free(oa);
        free(ob);
        free(oy);
        free(out);
    }

    /* several factors in one call (encoder once, decoder per factor) */
    int H, W;
    float *a = read_chw(f, "a", &H, &W), *b = read_chw(f, "b", &H, &W);
    {
        double *factors;
        int nd;
        size_t d[H5_MAX_DIMS];
        h5_read_f64(f, "factors", &factors, &nd, d, &err);
        int T = (int)d[0], H2, W2;
        float *ys = read_chw(f, "ys", &H2, &W2);
        float *out = malloc((size_t)T * 3 * H * W * sizeof *out);
        CHECK(magnet_forward(out, a, b, H, W, factors, T, &m, &err) == 0, "multi: %s", err.msg);
        double e = rel_l2(out, ys, (size_t)T * 3 * H * W);
        printf("%d factors: relative L2 error %.3g\n", T, e);
        CHECK(e <= 1e-4, "multi-factor relative L2 error %.3g", e);
        free(ys);
        free(out);
        free(factors);
    }

    /* the reference engine against the fixtures, and oneDNN (when built in) against the reference with the
     * factors in batches of 1, 2 and all (scratch budgets in units of one factor's largest activation) */
    {
        double *factors;
        int nd, H2, W2;
        size_t d[H5_MAX_DIMS];
        h5_read_f64(f, "factors", &factors, &nd, d, &err);
        const int T = (int)d[0];
        float *ys = read_chw(f, "ys", &H2, &W2);
        float *ref = malloc((size_t)T * 3 * H * W * sizeof *ref), *out = malloc((size_t)T * 3 * H * W * sizeof *out);
        m.engine = NN_ENGINE_REFERENCE;
        check_case(f, &m, "a", "b", "alpha", "y", "reference engine: 64x64 parity");
        CHECK(magnet_forward(ref, a, b, H, W, factors, T, &m, &err) == 0, "reference multi: %s", err.msg);
        double e = rel_l2(ref, ys, (size_t)T * 3 * H * W);
        printf("reference engine, %d factors: relative L2 error %.3g\n", T, e);
        CHECK(e <= 1e-4, "reference engine multi-factor relative L2 error %.3g", e);
        m.engine = nn_engine_default();
        if (m.engine == NN_ENGINE_DNNL) {
            const size_t per = (size_t)64 * (((H + 3) / 4 * 4) + 2) * (((W + 3) / 4 * 4) + 2);
            const size_t budgets[3] = {1, 2 * per, MAGNET_CONV_WS_BUDGET};
            for (int k = 0; k < 3; k++) {
                CHECK(magnet_forward_budget(out, a, b, H, W, factors, T, &m, budgets[k], &err) == 0, "oneDNN: %s",
                      err.msg);
                e = rel_l2(out, ref, (size_t)T * 3 * H * W);
                printf("oneDNN vs reference, %d factors, budget %zu: relative L2 %.3g\n", T, budgets[k], e);
                CHECK(e <= 1e-5, "oneDNN vs reference (budget %zu): relative L2 %.3g", budgets[k], e);
            }
        }
        free(ys), free(ref), free(out), free(factors);
    }

    /* alpha = 1 is the identity in shape space: f(a, b, 1) == f(b, b, any alpha) (both decode V_b, M_b);
     * on a 24x24 crop of the pair to keep the test short */
    {
        const int h = 24, w = 24;
        size_t n = (size_t)3 * h * w;
        float *ca = malloc(n * sizeof *ca), *cb = malloc(n * sizeof *cb);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    ca[((size_t)c * h + y) * w + x] = a[((size_t)c * H + y + 20) * W + x + 20];
                    cb[((size_t)c * h + y) * w + x] = b[((size_t)c * H + y + 20) * W + x + 20];
                }
        float *y1 = malloc(n * sizeof *y1), *yb = malloc(n * sizeof *yb);
        double one = 1.0, big = 37.0;
        magnet_forward(y1, ca, cb, h, w, &one, 1, &m, &err);
        magnet_forward(yb, cb, cb, h, w, &big, 1, &m, &err);
        double e = rel_l2(y1, yb, n);
        CHECK(e <= 1e-6, "f(a,b,1) vs f(b,b,37): relative difference %.3g", e);
        /* and a factor != 1 does change the output of a moving pair */
        magnet_forward(yb, ca, cb, h, w, &big, 1, &m, &err);
        CHECK(rel_l2(y1, yb, n) > 1e-2, "alpha 37 should differ from alpha 1 (%.3g)", rel_l2(y1, yb, n));
        free(ca);
        free(cb);
        free(y1);
        free(yb);
    }

    /* shapes: odd and minimal sizes, errors */
    {
        const int sizes[][2] = {{8, 8}, {9, 13}, {15, 10}};
        for (int s = 0; s < 3; s++) {
            int h = sizes[s][0], w = sizes[s][1];
            size_t n = (size_t)3 * h * w;
            float *x = malloc(n * sizeof *x), *o = malloc(2 * n * sizeof *o);
            for (size_t i = 0; i < n; i++) x[i] = (float)sin(0.37 * (double)i);
            double fs[2] = {2.0, 5.0};
            for (size_t i = 0; i < 2 * n; i++) o[i] = NAN;
            int rc = magnet_forward(o, x, x, h, w, fs, 2, &m, &err);
            int finite = 1;
            for (size_t i = 0; i < 2 * n; i++) finite &= o[i] >= -1.0f && o[i] <= 1.0f;
            CHECK(rc == 0 && finite, "%dx%d: rc %d, every output in [-1,1]: %d (%s)", w, h, rc, finite, err.msg);
            free(x);
            free(o);
        }
        float x[3 * 7 * 9];
        double one = 1.0, bad = NAN;
        CHECK(magnet_forward(x, x, x, 7, 9, &one, 1, &m, &err) < 0 && strstr(err.msg, "too small"),
              "7x9 must fail: %s", err.msg);
        CHECK(magnet_forward(x, x, x, 8, 8, &bad, 1, &m, &err) < 0 && strstr(err.msg, "finite"),
              "NaN factor must fail: %s", err.msg);
    }

    /* weight files: save/load round trip, `mer magnify` parity, missing kernel, wrong shape */
    char dir[] = "/tmp/mer_test_magnet_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char wpath[512], ppath[512], qpath[512], cmd[2048];
    snprintf(wpath, sizeof wpath, "%s/w.h5", dir);
    snprintf(ppath, sizeof ppath, "%s/p.h5", dir);
    snprintf(qpath, sizeof qpath, "%s/q.h5", dir);
    CHECK(magnet_save(&m, wpath, &err) == 0, "save: %s", err.msg);
    {
        magnet_model m2;
        CHECK(magnet_load(&m2, wpath, &err) == 0, "load: %s", err.msg);
        CHECK(memcmp(m.params, m2.params, MAGNET_N_PARAMS * sizeof(float)) == 0, "save/load round trip");
        magnet_free(&m2);
    }
    const char *mer = getenv("MER_BIN");
    CHECK(mer != NULL, "MER_BIN not set");
    if (mer) {
        float *ha, *hb, *hy;
        size_t d[H5_MAX_DIMS];
        int nd;
        h5_read_f32(f, "a", &ha, &nd, d, &err);
        h5_read_f32(f, "b", &hb, NULL, NULL, &err);
        h5_read_f32(f, "y", &hy, NULL, NULL, &err);
        hid_t p;
        h5_create(ppath, &p, &err);
        h5_write_f32(p, "a", ha, 3, d, &err);
        h5_write_f32(p, "b", hb, 3, d, &err);
        h5_write_scalar_f64(p, "alpha", read_scalar(f, "alpha"), &err);
        h5_close(p, &err);
        snprintf(cmd, sizeof cmd, "'%s' magnify --weights '%s' --input '%s' --output '%s'", mer, wpath, ppath, qpath);
        CHECK(system(cmd) == 0, "%s", cmd);
        hid_t q;
        float *y = NULL;
        if (h5_open(qpath, 0, &q, &err) == 0) {
            h5_read_f32(q, "y", &y, NULL, NULL, &err);
            h5_close(q, &err);
        }
        CHECK(y != NULL, "mer magnify wrote no y: %s", err.msg);
        if (y) {
            double e = rel_l2(y, hy, d[0] * d[1] * 3);
            printf("mer magnify 64x64: relative L2 error %.3g\n", e);
            CHECK(e <= 1e-4, "mer magnify parity: relative L2 error %.3g", e);
        }
        free(y);
        /* usage errors exit 2; missing weights file exits 1 */
        snprintf(cmd, sizeof cmd, "'%s' magnify --bogus >/dev/null 2>&1", mer);
        int st = system(cmd);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2, "unknown option must exit 2");
        snprintf(cmd, sizeof cmd, "'%s' magnify --weights '%s/none.h5' --input '%s' --output '%s' 2>/dev/null", mer,
                 dir, ppath, qpath);
        st = system(cmd);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "missing weights must exit 1");
        free(ha);
        free(hb);
        free(hy);
    }
    {
        hid_t w;
        h5_open(wpath, 1, &w, &err);
        float k[3 * 3 * 32 * 33] = {0};
        size_t dims[4] = {3, 3, 32, 33};
        h5_write_f32(w, "ynet_3frames/decoder/texture_upsample/Conv/weights", k, 4, dims, &err);
        h5_close(w, &err);
        magnet_model m3;
        CHECK(magnet_load(&m3, wpath, &err) < 0 && strstr(err.msg, "texture_upsample") && strstr(err.msg, "shape"),
              "wrong shape must be reported: %s", err.msg);
        snprintf(path, sizeof path, "%s/empty.h5", dir);
        hid_t e;
        h5_create(path, &e, &err);
        h5_write_scalar_f64(e, "x", 1.0, &err);
        h5_close(e, &err);
        CHECK(magnet_load(&m3, path, &err) < 0 && strstr(err.msg, "enc_conv1_c") && strstr(err.msg, "missing"),
              "missing kernel must be reported: %s", err.msg);
    }

    /* magnify_sequence: the pipeline stage */
    {
        const int h = 16, w = 20;
        const size_t plane = (size_t)h * w;
        uint8_t on[16 * 20 * 3], ap[16 * 20 * 3];
        for (size_t i = 0; i < 3 * plane; i++) {
            on[i] = (uint8_t)(i * 7 % 256);
            ap[i] = (uint8_t)(i * 13 % 256);
        }
        double fs[3] = {1.0, 2.0, 0.5};
        float *o = malloc(3 * 3 * plane * sizeof *o);
        CHECK(magnify_sequence(o, on, ap, h, w, fs, 3, MAGNIFY_LINEAR, NULL, &err) == 0, "linear: %s", err.msg);
        int bad = 0;
        for (int t = 0; t < 3; t++)
            for (size_t i = 0; i < plane; i++)
                for (int c = 0; c < 3; c++) {
                    double a0 = on[3 * i + c] / 255.0, b0 = ap[3 * i + c] / 255.0, v = a0 + fs[t] * (b0 - a0);
                    v = v < 0 ? 0 : v > 1 ? 1 : v;
                    bad += fabs(o[(size_t)t * 3 * plane + c * plane + i] - v) > 1e-6;
                }
        CHECK(bad == 0, "linear magnification: %d wrong values", bad);
        CHECK(magnify_sequence(o, on, ap, h, w, fs, 3, MAGNIFY_NONE, NULL, &err) == 0, "none: %s", err.msg);
        bad = 0;
        for (int t = 0; t < 3; t++)
            for (size_t i = 0; i < plane; i++)
                for (int c = 0; c < 3; c++) bad += o[(size_t)t * 3 * plane + c * plane + i] != ap[3 * i + c] / 255.0f;
        CHECK(bad == 0, "none: apex repeated (%d wrong)", bad);
        CHECK(magnify_sequence(o, on, ap, h, w, fs, 3, MAGNIFY_NETWORK, NULL, &err) < 0 &&
                  strstr(err.msg, "convert-tf") && strstr(err.msg, "deep_motion_mag"),
              "network without weights must say where to get them: %s", err.msg);
        /* network: the same as magnet_forward on x / 127.5 - 1, mapped to [0, 1] */
        CHECK(magnify_sequence(o, on, ap, h, w, fs, 3, MAGNIFY_NETWORK, &m, &err) == 0, "network: %s", err.msg);
        float *ca = malloc(3 * plane * sizeof *ca), *cb = malloc(3 * plane * sizeof *cb);
        float *ref = malloc(3 * 3 * plane * sizeof *ref);
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) {
                ca[c * plane + i] = on[3 * i + c] / 127.5f - 1.0f;
                cb[c * plane + i] = ap[3 * i + c] / 127.5f - 1.0f;
            }
        magnet_forward(ref, ca, cb, h, w, fs, 3, &m, &err);
        bad = 0;
        for (size_t i = 0; i < 3 * 3 * plane; i++) bad += fabsf(o[i] - (ref[i] + 1.0f) * 0.5f) > 1e-6f;
        CHECK(bad == 0, "network stage vs magnet_forward: %d values differ", bad);
        magnify_method mm;
        CHECK(magnify_method_parse(&mm, "linear", &err) == 0 && mm == MAGNIFY_LINEAR, "parse linear");
        CHECK(magnify_method_parse(&mm, "bogus", &err) < 0 && strstr(err.msg, "network"), "parse bogus");
        free(ca);
        free(cb);
        free(ref);
        free(o);
    }

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(a);
    free(b);
    magnet_free(&m);
    h5_close(f, &err);
    return check_summary();
}
