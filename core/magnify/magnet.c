/* MagNet forward pass (static mode) on top of core/conv2d: every convolution here is an explicit pad
 * (reflect, or TF-SAME zero padding for the stride-2 convs) followed by a VALID conv2d_forward, run in
 * row strips so the im2col scratch stays under a fixed budget at any image size. Layouts: see magnet.h. */
#include "core/magnify/magnet.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/magnify/magnet_dnnl.h"
#include "core/nn/conv2d.h"
#include "core/nn/simd.h"
#include "io/base/rng.h"
#include "io/h5.h"


const magnet_layer_spec MAGNET_LAYERS[MAGNET_N_CONVS] = {
    {"encoder/enc_conv1_c", 7, 3, 16},
    {"encoder/enc_conv2_c", 3, 16, 32},
    {"encoder/encoder_resblk0_c1", 3, 32, 32},
    {"encoder/encoder_resblk0_c2", 3, 32, 32},
    {"encoder/encoder_resblk1_c1", 3, 32, 32},
    {"encoder/encoder_resblk1_c2", 3, 32, 32},
    {"encoder/encoder_resblk2_c1", 3, 32, 32},
    {"encoder/encoder_resblk2_c2", 3, 32, 32},
    {"encoder/enc_texture_conv", 3, 32, 32},
    {"encoder/texture_enc_c1", 3, 32, 32},
    {"encoder/texture_enc_c2", 3, 32, 32},
    {"encoder/texture_enc_1_c1", 3, 32, 32},
    {"encoder/texture_enc_1_c2", 3, 32, 32},
    {"encoder/shape_enc_c1", 3, 32, 32},
    {"encoder/shape_enc_c2", 3, 32, 32},
    {"encoder/shape_enc_1_c1", 3, 32, 32},
    {"encoder/shape_enc_1_c2", 3, 32, 32},
    {"manipulator/mani_conv0c", 7, 32, 32},
    {"manipulator/mani_aft_conv0c", 3, 32, 32},
    {"manipulator/mani_resblk0_c1", 3, 32, 32},
    {"manipulator/mani_resblk0_c2", 3, 32, 32},
    {"decoder/texture_upsample", 3, 32, 32},
    {"decoder/decoder_resblk0_c1", 3, 64, 64},
    {"decoder/decoder_resblk0_c2", 3, 64, 64},
    {"decoder/decoder_resblk1_c1", 3, 64, 64},
    {"decoder/decoder_resblk1_c2", 3, 64, 64},
    {"decoder/decoder_resblk2_c1", 3, 64, 64},
    {"decoder/decoder_resblk2_c2", 3, 64, 64},
    {"decoder/decoder_resblk3_c1", 3, 64, 64},
    {"decoder/decoder_resblk3_c2", 3, 64, 64},
    {"decoder/decoder_resblk4_c1", 3, 64, 64},
    {"decoder/decoder_resblk4_c2", 3, 64, 64},
    {"decoder/decoder_resblk5_c1", 3, 64, 64},
    {"decoder/decoder_resblk5_c2", 3, 64, 64},
    {"decoder/decoder_resblk6_c1", 3, 64, 64},
    {"decoder/decoder_resblk6_c2", 3, 64, 64},
    {"decoder/decoder_resblk7_c1", 3, 64, 64},
    {"decoder/decoder_resblk7_c2", 3, 64, 64},
    {"decoder/decoder_resblk8_c1", 3, 64, 64},
    {"decoder/decoder_resblk8_c2", 3, 64, 64},
    {"decoder/dec_conv2_c", 3, 64, 32},
    {"decoder/pred_conv", 7, 32, 3},
};

static size_t layer_numel(int i) {
    const magnet_layer_spec *s = &MAGNET_LAYERS[i];
    return (size_t)s->k * s->k * s->in * s->out;
}

void magnet_var_name(char *buf, size_t n, int layer) {
    snprintf(buf, n, "ynet_3frames/%s/Conv/weights", MAGNET_LAYERS[layer].name);
}

int magnet_alloc(magnet_model *m, mer_err *err) {
    memset(m, 0, sizeof *m);
    m->engine = nn_engine_default();
    m->params = mer_calloc(MAGNET_N_PARAMS, sizeof *m->params, err);
    if (!m->params) return -1;
    size_t off = 0;
    for (int i = 0; i < MAGNET_N_CONVS; i++) {
        m->w[i] = m->params + off;
        off += layer_numel(i);
    }
    return 0;
}

void magnet_free(magnet_model *m) {
    if (!m) return;
#ifdef MER_HAVE_DNNL
    magnet_dnnl_free(m->dnnl);
#endif
    free(m->params);
    memset(m, 0, sizeof *m);
}

/* (KH, KW, I, O) -> (O, I, KH, KW) */
static void hwio_to_oihw(float *oihw, const float *hwio, int k, int in, int out) {
    for (int h = 0; h < k; h++)
        for (int w = 0; w < k; w++)
            for (int i = 0; i < in; i++)
                for (int o = 0; o < out; o++)
                    oihw[(((size_t)o * in + i) * k + h) * k + w] = hwio[(((size_t)h * k + w) * in + i) * out + o];
}

static void oihw_to_hwio(float *hwio, const float *oihw, int k, int in, int out) {
    for (int h = 0; h < k; h++)
        for (int w = 0; w < k; w++)
            for (int i = 0; i < in; i++)
                for (int o = 0; o < out; o++)
                    hwio[(((size_t)h * k + w) * in + i) * out + o] = oihw[(((size_t)o * in + i) * k + h) * k + w];
}

int magnet_load_from(magnet_model *m, hid_t loc, const char *where, mer_err *err) {
    if (magnet_alloc(m, err) < 0) return -1;
    for (int i = 0; i < MAGNET_N_CONVS; i++) {
        const magnet_layer_spec *s = &MAGNET_LAYERS[i];
        char name[256];
        magnet_var_name(name, sizeof name, i);
        float *hwio;
        int nd;
        size_t d[H5_MAX_DIMS];
        if (!h5_exists(loc, name)) {
            mer_errf(err, "%s: MagNet weights: kernel '%s' is missing (is this a converted MagNet checkpoint?)",
                     where, name);
            goto fail;
        }
        if (h5_read_f32(loc, name, &hwio, &nd, d, err) < 0) goto fail;
        if (nd != 4 || d[0] != (size_t)s->k || d[1] != (size_t)s->k || d[2] != (size_t)s->in ||
            d[3] != (size_t)s->out) {
            free(hwio);
            mer_errf(err, "%s: MagNet weights: '%s' has the wrong shape (want HWIO %d,%d,%d,%d)", where, name,
                     s->k, s->k, s->in, s->out);
            goto fail;
        }
        hwio_to_oihw(m->w[i], hwio, s->k, s->in, s->out);
        free(hwio);
    }
    return 0;
fail:
    magnet_free(m);
    return -1;
}

int magnet_load(magnet_model *m, const char *h5_path, mer_err *err) {
    hid_t f;
    if (h5_open(h5_path, 0, &f, err) < 0) return mer_err_prefix(err, "MagNet weights");
    int rc = magnet_load_from(m, f, h5_path, err);
    h5_close(f, NULL);
    return rc;
}

int magnet_save(const magnet_model *m, const char *h5_path, mer_err *err) {
    hid_t f;
    if (h5_create_tmp(h5_path, &f, err) < 0) return -1;
    float *hwio = mer_malloc(50176 * sizeof *hwio, err); /* largest kernel: 7*7*32*32 */
    if (!hwio) {
        h5_abort(f, h5_path);
        return -1;
    }
    for (int i = 0; i < MAGNET_N_CONVS; i++) {
        const magnet_layer_spec *s = &MAGNET_LAYERS[i];
        char name[256];
        magnet_var_name(name, sizeof name, i);
        oihw_to_hwio(hwio, m->w[i], s->k, s->in, s->out);
        size_t dims[4] = {(size_t)s->k, (size_t)s->k, (size_t)s->in, (size_t)s->out};
        if (h5_write_f32(f, name, hwio, 4, dims, err) < 0) {
            free(hwio);
            h5_abort(f, h5_path);
            return -1;
        }
    }
    free(hwio);
    return h5_commit(f, h5_path, err);
}

int magnet_init_random(magnet_model *m, uint64_t seed, mer_err *err) {
    if (magnet_alloc(m, err) < 0) return -1;
    float *hwio = mer_malloc(50176 * sizeof *hwio, err);
    if (!hwio) {
        magnet_free(m);
        return -1;
    }
    mer_rng rng = rng_seeded(seed);
    for (int i = 0; i < MAGNET_N_CONVS; i++) {
        const magnet_layer_spec *s = &MAGNET_LAYERS[i];
        size_t len = strlen(s->name);
        double gain = len > 3 && !strcmp(s->name + len - 3, "_c2") ? 0.3 : 0.7;
        float lim = (float)(gain * sqrt(6.0 / (double)(s->k * s->k * s->in)));
        for (size_t j = 0; j < layer_numel(i); j++) hwio[j] = rng_uniform_range(&rng, -lim, lim);
        hwio_to_oihw(m->w[i], hwio, s->k, s->in, s->out);
    }
    free(hwio);
    return 0;
}

/* ---- forward --------------------------------------------------------------------------------- */

/* Growable scratch buffers of one forward call. */
typedef struct {
    float *pad, *ws, *sin, *sout, *t1, *t2;
    size_t pad_n, ws_n, sin_n, sout_n, t1_n, t2_n;
    size_t ws_budget; /* floats of im2col + GEMM scratch one convolution may use */
    mer_err *err;
} fwd_ctx;

static float *ensure(float **buf, size_t *cap, size_t n, mer_err *err) {
    if (n > *cap) {
        free(*buf);
        *buf = mer_malloc(n * sizeof **buf, err);
        *cap = *buf ? n : 0;
    }
    return *buf;
}

static void ctx_free(fwd_ctx *c) {
    free(c->pad);
    free(c->ws);
    free(c->sin);
    free(c->sout);
    free(c->t1);
    free(c->t2);
}

static inline int reflect(int i, int n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

void magnet_pad(float *out, const float *in, int P, int H, int W, int v, int t, int l, int b, int r, int reflect_mode) {
    const int Ho = H + t + b, Wo = W + l + r;
    const size_t vb = (size_t)v * sizeof(float);
    MER_PARALLEL_FOR_IF((size_t)P * Ho * Wo * v >= MER_PARALLEL_MIN)
    for (int p = 0; p < P; p++) {
        const float *src = in + (size_t)p * H * W * v;
        float *dst = out + (size_t)p * Ho * Wo * v;
        for (int y = 0; y < Ho; y++) {
            float *row = dst + (size_t)y * Wo * v;
            int sy = y - t;
            if (!reflect_mode && (sy < 0 || sy >= H)) {
                memset(row, 0, (size_t)Wo * vb);
                continue;
            }
            const float *srow = src + (size_t)reflect(sy, H) * W * v;
            for (int x = 0; x < l; x++)
                if (reflect_mode) memcpy(row + (size_t)x * v, srow + (size_t)reflect(x - l, W) * v, vb);
                else memset(row + (size_t)x * v, 0, vb);
            memcpy(row + (size_t)l * v, srow, (size_t)W * vb);
            for (int x = l + W; x < Wo; x++)
                if (reflect_mode) memcpy(row + (size_t)x * v, srow + (size_t)reflect(x - l, W) * v, vb);
                else memset(row + (size_t)x * v, 0, vb);
        }
    }
}

static void pad_planes(float *out, const float *in, int P, int H, int W, int t, int l, int b, int r, int reflect_mode) {
    magnet_pad(out, in, P, H, W, 1, t, l, b, r, reflect_mode);
}

/* VALID convolution of one image in (C, Hi, Wi) -> out (OC, Ho, Wo), in row strips when the whole image's
 * im2col scratch would exceed c->ws_budget. */
static int conv_valid(fwd_ctx *c, float *out, const float *in, const float *w, int C, int Hi, int Wi, int OC, int K,
                      int stride) {
    const int Ho = (Hi - K) / stride + 1, Wo = (Wi - K) / stride + 1;
    conv2d_shape s = {1, C, Hi, Wi, OC, K, K, stride, 0, 0, 0, 0};
    size_t need = conv2d_workspace_floats(&s);
    if (need <= c->ws_budget) {
        if (!ensure(&c->ws, &c->ws_n, need, c->err)) return -1;
        conv2d_forward(out, in, w, NULL, &s, c->ws);
        return 0;
    }
    size_t per_row = ((size_t)C * K * K + OC) * Wo;
    int rows = (int)(c->ws_budget / per_row);
    if (rows < 1) rows = 1;
    const int hin_max = (rows - 1) * stride + K;
    if (!ensure(&c->sin, &c->sin_n, (size_t)C * hin_max * Wi, c->err) ||
        !ensure(&c->sout, &c->sout_n, (size_t)OC * rows * Wo, c->err))
        return -1;
    for (int r0 = 0; r0 < Ho; r0 += rows) {
        const int n = Ho - r0 < rows ? Ho - r0 : rows, hin = (n - 1) * stride + K;
        for (int ch = 0; ch < C; ch++)
            memcpy(c->sin + (size_t)ch * hin * Wi, in + ((size_t)ch * Hi + (size_t)r0 * stride) * Wi,
                   (size_t)hin * Wi * sizeof(float));
        conv2d_shape st = {1, C, hin, Wi, OC, K, K, stride, 0, 0, 0, 0};
        if (!ensure(&c->ws, &c->ws_n, conv2d_workspace_floats(&st), c->err)) return -1;
        conv2d_forward(c->sout, c->sin, w, NULL, &st, c->ws);
        for (int o = 0; o < OC; o++)
            memcpy(out + ((size_t)o * Ho + r0) * Wo, c->sout + (size_t)o * n * Wo, (size_t)n * Wo * sizeof(float));
    }
    return 0;
}

static void relu_inplace(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* out (OC, H, W) = [ReLU] conv_k(reflect-pad k/2 (in)), in (IC, H, W). */
static int conv_reflect(fwd_ctx *c, float *out, const float *in, int H, int W, const magnet_model *m, int layer,
                        int relu) {
    const magnet_layer_spec *s = &MAGNET_LAYERS[layer];
    const int p = s->k / 2;
    if (!ensure(&c->pad, &c->pad_n, (size_t)s->in * (H + 2 * p) * (W + 2 * p), c->err)) return -1;
    pad_planes(c->pad, in, s->in, H, W, p, p, p, p, 1);
    if (conv_valid(c, out, c->pad, m->w[layer], s->in, H + 2 * p, W + 2 * p, s->out, s->k, 1) < 0) return -1;
    if (relu) relu_inplace(out, (size_t)s->out * H * W);
    return 0;
}

/* out (OC, H/2, W/2) = ReLU(conv3x3 stride 2, TF-SAME: zero pad 0 top/left, 1 bottom/right (H, W even)). */
static int conv_same_s2_relu(fwd_ctx *c, float *out, const float *in, int H, int W, const magnet_model *m, int layer) {
    const magnet_layer_spec *s = &MAGNET_LAYERS[layer];
    if (!ensure(&c->pad, &c->pad_n, (size_t)s->in * (H + 1) * (W + 1), c->err)) return -1;
    pad_planes(c->pad, in, s->in, H, W, 0, 0, 1, 1, 0);
    if (conv_valid(c, out, c->pad, m->w[layer], s->in, H + 1, W + 1, s->out, s->k, 2) < 0) return -1;
    relu_inplace(out, (size_t)s->out * (H / 2) * (W / 2));
    return 0;
}

/* x (C, H, W) += conv_c2(ReLU(conv_c1(x))), both with reflect-pad 1; no activation after the add. */
static int resblock(fwd_ctx *c, float *x, int H, int W, const magnet_model *m, int layer) {
    const size_t n = (size_t)MAGNET_LAYERS[layer].out * H * W;
    if (!ensure(&c->t1, &c->t1_n, n, c->err) || !ensure(&c->t2, &c->t2_n, n, c->err)) return -1;
    if (conv_reflect(c, c->t1, x, H, W, m, layer, 1) < 0 || conv_reflect(c, c->t2, c->t1, H, W, m, layer + 1, 0) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) x[i] += c->t2[i];
    return 0;
}

void magnet_upsample2(float *out, const float *in, int P, int H, int W, int v) {
    MER_PARALLEL_FOR_IF((size_t)P * H * W * v * 4 >= MER_PARALLEL_MIN)
    for (int p = 0; p < P; p++)
        for (int y = 0; y < 2 * H; y++) {
            const float *src = in + ((size_t)p * H + y / 2) * W * v;
            float *dst = out + ((size_t)p * 2 * H + y) * 2 * W * v;
            for (int x = 0; x < 2 * W; x++) memcpy(dst + (size_t)x * v, src + (size_t)(x / 2) * v, (size_t)v * sizeof(float));
        }
}

static void upsample2(float *out, const float *in, int P, int H, int W) { magnet_upsample2(out, in, P, H, W, 1); }

/* Encoder: shape M (32, H/2, W/2) and, when V != NULL, texture V (32, H/4, W/4) of x (3, H, W).
 * f16: (16, H, W) scratch; trunk: (32, H/2, W/2) scratch. */
static int encode(fwd_ctx *c, float *M, float *V, float *f16, float *trunk, const float *x, int H, int W,
                  const magnet_model *m) {
    const int h2 = H / 2, w2 = W / 2;
    if (conv_reflect(c, f16, x, H, W, m, L_ENC_CONV1, 1) < 0) return -1;
    if (conv_same_s2_relu(c, trunk, f16, H, W, m, L_ENC_CONV2) < 0) return -1;
    for (int b = 0; b < 3; b++)
        if (resblock(c, trunk, h2, w2, m, L_ENC_RES + 2 * b) < 0) return -1;
    if (V) {
        if (conv_same_s2_relu(c, V, trunk, h2, w2, m, L_ENC_TEX_CONV) < 0) return -1;
        for (int b = 0; b < 2; b++)
            if (resblock(c, V, h2 / 2, w2 / 2, m, L_TEX_RES + 2 * b) < 0) return -1;
    }
    memcpy(M, trunk, (size_t)32 * h2 * w2 * sizeof *M);
    for (int b = 0; b < 2; b++)
        if (resblock(c, M, h2, w2, m, L_SHAPE_RES + 2 * b) < 0) return -1;
    return 0;
}

enum { B_XA, B_XB, B_F16, B_TRUNK, B_MA, B_MB, B_VB, B_H0, B_TEXUP, B_D, B_X64, B_UP, B_DEC2, B_PRED, B_COUNT };

int magnet_forward(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                   const magnet_model *m, mer_err *err) {
    return magnet_forward_budget(out, a, b, H, W, factors, T, m, MAGNET_CONV_WS_BUDGET, err);
}

int magnet_forward_budget(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                          const magnet_model *m, size_t ws_budget_floats, mer_err *err) {
    if (H < MAGNET_MIN_SIDE || W < MAGNET_MIN_SIDE)
        return mer_errf(err, "MagNet: image %dx%d is too small (each side must be >= %d)", W, H, MAGNET_MIN_SIDE);
    if (T < 0) return mer_errf(err, "MagNet: negative factor count %d", T);
    for (int t = 0; t < T; t++)
        if (!isfinite(factors[t])) return mer_errf(err, "MagNet: factor %d is not finite", t);
#ifdef MER_HAVE_DNNL
    if (m->engine == NN_ENGINE_DNNL) return magnet_forward_dnnl(out, a, b, H, W, factors, T, m, ws_budget_floats, err);
#endif
    const int Hp = (H + 3) / 4 * 4, Wp = (W + 3) / 4 * 4, h2 = Hp / 2, w2 = Wp / 2;
    const size_t full = (size_t)Hp * Wp, half = (size_t)h2 * w2, quarter = half / 4;
    const size_t sizes[B_COUNT] = {3 * full, 3 * full, 16 * full, 32 * half, 32 * half, 32 * half, 32 * quarter,
                                   32 * half, 32 * half, 32 * half, 64 * half, 64 * full, 32 * full, 3 * full};
    float *buf[B_COUNT] = {0};
    fwd_ctx c = {.err = err, .ws_budget = ws_budget_floats};
    int rc = -1;
    for (int i = 0; i < B_COUNT; i++)
        if (!(buf[i] = mer_malloc(sizes[i] * sizeof(float), err))) goto done;

    /* pad the pair to a multiple of 4 by reflection at the bottom/right */
    pad_planes(buf[B_XA], a, 3, H, W, 0, 0, Hp - H, Wp - W, 1);
    pad_planes(buf[B_XB], b, 3, H, W, 0, 0, Hp - H, Wp - W, 1);

    /* once per pair */
    if (encode(&c, buf[B_MA], NULL, buf[B_F16], buf[B_TRUNK], buf[B_XA], Hp, Wp, m) < 0) goto done;
    if (encode(&c, buf[B_MB], buf[B_VB], buf[B_F16], buf[B_TRUNK], buf[B_XB], Hp, Wp, m) < 0) goto done;
    float *d = buf[B_D];
    for (size_t i = 0; i < 32 * half; i++) d[i] = buf[B_MB][i] - buf[B_MA][i];
    if (conv_reflect(&c, buf[B_TRUNK], d, h2, w2, m, L_MANI_CONV0, 1) < 0) goto done; /* g */
    if (conv_reflect(&c, buf[B_H0], buf[B_TRUNK], h2, w2, m, L_MANI_AFT, 0) < 0) goto done;
    upsample2(buf[B_TRUNK], buf[B_VB], 32, h2 / 2, w2 / 2);
    if (conv_reflect(&c, buf[B_TEXUP], buf[B_TRUNK], h2, w2, m, L_DEC_TEX_UP, 1) < 0) goto done;

    /* per factor */
    for (int t = 0; t < T; t++) {
        const float s = (float)(factors[t] - 1.0);
        for (size_t i = 0; i < 32 * half; i++) d[i] = s * buf[B_H0][i];
        if (resblock(&c, d, h2, w2, m, L_MANI_RES) < 0) goto done;
        float *x = buf[B_X64];
        memcpy(x, buf[B_TEXUP], 32 * half * sizeof *x);
        for (size_t i = 0; i < 32 * half; i++) x[32 * half + i] = buf[B_MB][i] + d[i];
        for (int k = 0; k < 9; k++)
            if (resblock(&c, x, h2, w2, m, L_DEC_RES + 2 * k) < 0) goto done;
        upsample2(buf[B_UP], x, 64, h2, w2);
        if (conv_reflect(&c, buf[B_DEC2], buf[B_UP], Hp, Wp, m, L_DEC_CONV2, 1) < 0) goto done;
        if (conv_reflect(&c, buf[B_PRED], buf[B_DEC2], Hp, Wp, m, L_PRED, 0) < 0) goto done;
        float *o = out + (size_t)t * 3 * H * W;
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < H; y++) {
                const float *src = buf[B_PRED] + ((size_t)ch * Hp + y) * Wp;
                float *dst = o + ((size_t)ch * H + y) * W;
                for (int xx = 0; xx < W; xx++) dst[xx] = src[xx] < -1.0f ? -1.0f : src[xx] > 1.0f ? 1.0f : src[xx];
            }
    }
    rc = 0;
done:
    for (int i = 0; i < B_COUNT; i++) free(buf[i]);
    ctx_free(&c);
    return rc;
}

double magnet_macs(int H, int W, int T) {
    const double Hp = (H + 3) / 4 * 4, Wp = (W + 3) / 4 * 4;
    const double full = Hp * Wp, half = full / 4, quarter = full / 16, c33 = 9.0 * 32 * 32;
    const double trunk = 49.0 * 3 * 16 * full + 9.0 * 16 * 32 * half + 6 * c33 * half;
    const double encoders = 2 * trunk + 2 * 4 * c33 * half /* shape, both */ + 5 * c33 * quarter /* texture, B */;
    const double pair = 49.0 * 32 * 32 * half + c33 * half + c33 * half; /* g, h0, texture upsample */
    const double per_factor = 2 * c33 * half + 18 * 9.0 * 64 * 64 * half + 9.0 * 64 * 32 * full + 49.0 * 32 * 3 * full;
    return encoders + pair + T * per_factor;
}
