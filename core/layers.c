/* Layer forward/backward pairs; conventions and tensor layouts in layers.h. */
#include "core/layers.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* ---- batch normalisation ----------------------------------------------------------------------- */

void batchnorm_forward_train(float *out, float *save_mean, float *save_invstd, const float *in,
                             const float *gamma, const float *beta, float *running_mean, float *running_var,
                             const batchnorm_shape *s) {
    const size_t HW = (size_t)s->HW, M = (size_t)s->N * HW;
    for (int c = 0; c < s->C; c++) {
        double sum = 0.0;
        for (int n = 0; n < s->N; n++) {
            const float *x = in + ((size_t)n * s->C + c) * HW;
            for (size_t i = 0; i < HW; i++) sum += x[i];
        }
        const double mean = sum / (double)M;
        double sq = 0.0;
        for (int n = 0; n < s->N; n++) {
            const float *x = in + ((size_t)n * s->C + c) * HW;
            for (size_t i = 0; i < HW; i++) {
                const double d = x[i] - mean;
                sq += d * d;
            }
        }
        const double var = sq / (double)M; /* biased: used to normalise */
        const float invstd = (float)(1.0 / sqrt(var + s->eps));
        save_mean[c] = (float)mean;
        save_invstd[c] = invstd;
        if (running_mean && running_var) {
            const double unbiased = M > 1 ? sq / (double)(M - 1) : var;
            running_mean[c] = (float)((1.0 - s->momentum) * running_mean[c] + s->momentum * mean);
            running_var[c] = (float)((1.0 - s->momentum) * running_var[c] + s->momentum * unbiased);
        }
        const float scale = gamma[c] * invstd, shift = beta[c] - (float)mean * scale;
        for (int n = 0; n < s->N; n++) {
            const float *x = in + ((size_t)n * s->C + c) * HW;
            float *y = out + ((size_t)n * s->C + c) * HW;
            for (size_t i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
        }
    }
}

void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, const batchnorm_shape *s) {
    const size_t HW = (size_t)s->HW;
    const int planes = s->N * s->C;
    for (int nc = 0; nc < planes; nc++) {
        const int c = nc % s->C;
        const float invstd = (float)(1.0 / sqrt((double)running_var[c] + s->eps));
        const float scale = gamma[c] * invstd, shift = beta[c] - running_mean[c] * scale;
        const float *x = in + (size_t)nc * HW;
        float *y = out + (size_t)nc * HW;
        for (size_t i = 0; i < HW; i++) y[i] = x[i] * scale + shift;
    }
}

void batchnorm_backward(float *dinput, float *dgamma, float *dbeta, const float *dout, const float *in,
                        const float *save_mean, const float *save_invstd, const float *gamma,
                        const batchnorm_shape *s) {
    const size_t HW = (size_t)s->HW, M = (size_t)s->N * HW;
    for (int c = 0; c < s->C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < s->N; n++) {
            const float *x = in + ((size_t)n * s->C + c) * HW, *g = dout + ((size_t)n * s->C + c) * HW;
            for (size_t i = 0; i < HW; i++) {
                sum_dy += g[i];
                sum_dy_xhat += (double)g[i] * ((x[i] - mean) * invstd);
            }
        }
        if (dgamma) dgamma[c] += (float)sum_dy_xhat;
        if (dbeta) dbeta[c] += (float)sum_dy;
        if (!dinput) continue;
        const float k = gamma[c] * invstd, mdy = (float)(sum_dy / (double)M), mdyx = (float)(sum_dy_xhat / (double)M);
        for (int n = 0; n < s->N; n++) {
            const float *x = in + ((size_t)n * s->C + c) * HW, *g = dout + ((size_t)n * s->C + c) * HW;
            float *dx = dinput + ((size_t)n * s->C + c) * HW;
            for (size_t i = 0; i < HW; i++) dx[i] += k * (g[i] - mdy - (x[i] - mean) * invstd * mdyx);
        }
    }
}

/* ---- ReLU -------------------------------------------------------------------------------------- */

void relu_forward(float *out, const float *in, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward(float *dinput, const float *dout, const float *out, size_t n) {
    if (dinput == dout) { /* branch-free so the loop vectorises */
        for (size_t i = 0; i < n; i++) dinput[i] = out[i] > 0.0f ? dinput[i] : 0.0f;
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] > 0.0f) dinput[i] += dout[i];
}

/* ---- max pooling ------------------------------------------------------------------------------- */

void maxpool_forward(float *out, int32_t *argmax, const float *in, const maxpool_shape *s) {
    const int OH = maxpool_out_h(s), OW = maxpool_out_w(s), planes = s->N * s->C;
    for (int nc = 0; nc < planes; nc++) {
        const float *x = in + (size_t)nc * s->H * s->W;
        float *y = out + (size_t)nc * OH * OW;
        int32_t *am = argmax + (size_t)nc * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                float best = -FLT_MAX;
                int32_t where = -1;
                for (int ih = h0 > 0 ? h0 : 0; ih < h0 + s->K && ih < s->H; ih++)
                    for (int iw = w0 > 0 ? w0 : 0; iw < w0 + s->K && iw < s->W; iw++) {
                        const float v = x[ih * s->W + iw];
                        if (where < 0 || v > best || isnan(v)) {
                            best = v;
                            where = ih * s->W + iw;
                            if (isnan(v)) goto done; /* PyTorch propagates NaN */
                        }
                    }
            done:
                y[oh * OW + ow] = best;
                am[oh * OW + ow] = where;
            }
    }
}

void maxpool_backward(float *dinput, const float *dout, const int32_t *argmax, const maxpool_shape *s) {
    const int P = maxpool_out_h(s) * maxpool_out_w(s), planes = s->N * s->C;
    for (int nc = 0; nc < planes; nc++) {
        float *dx = dinput + (size_t)nc * s->H * s->W;
        const float *g = dout + (size_t)nc * P;
        const int32_t *am = argmax + (size_t)nc * P;
        for (int p = 0; p < P; p++)
            if (am[p] >= 0) dx[am[p]] += g[p];
    }
}

/* ---- global average pooling -------------------------------------------------------------------- */

void avgpool_forward(float *out, const float *in, int N, int C, int HW) {
    const int planes = N * C;
    for (int nc = 0; nc < planes; nc++) {
        const float *x = in + (size_t)nc * HW;
        double acc = 0.0;
        for (int i = 0; i < HW; i++) acc += x[i];
        out[nc] = (float)(acc / HW);
    }
}

void avgpool_backward(float *dinput, const float *dout, int N, int C, int HW) {
    const int planes = N * C;
    for (int nc = 0; nc < planes; nc++) {
        float *dx = dinput + (size_t)nc * HW;
        const float g = dout[nc] / (float)HW;
        for (int i = 0; i < HW; i++) dx[i] += g;
    }
}

/* ---- linear ------------------------------------------------------------------------------------ */

void linear_forward(float *out, const float *in, const float *weight, const float *bias, int B, int n_in, int n_out) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n_out, n_in, 1.0f, in, n_in, weight, n_in, 0.0f, out, n_out);
    if (bias)
        for (int b = 0; b < B; b++)
            for (int o = 0; o < n_out; o++) out[(size_t)b * n_out + o] += bias[o];
}

void linear_backward(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, int B, int n_in, int n_out) {
    if (dweight)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n_out, n_in, B, 1.0f, dout, n_out, in, n_in, 1.0f, dweight, n_in);
    if (dinput)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, n_in, n_out, 1.0f, dout, n_out, weight, n_in, 1.0f, dinput, n_in);
    if (dbias)
        for (int b = 0; b < B; b++)
            for (int o = 0; o < n_out; o++) dbias[o] += dout[(size_t)b * n_out + o];
}

/* ---- dropout ----------------------------------------------------------------------------------- */

void dropout_forward(float *out, float *mask, const float *in, size_t n, float p, mer_rng *rng) {
    const float keep_scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    for (size_t i = 0; i < n; i++) {
        mask[i] = p > 0.0f ? (rng_uniform(rng) < p ? 0.0f : keep_scale) : 1.0f;
        out[i] = in[i] * mask[i];
    }
}

void dropout_backward(float *dinput, const float *dout, const float *mask, size_t n) {
    for (size_t i = 0; i < n; i++) dinput[i] += dout[i] * mask[i];
}

/* ---- softmax cross-entropy --------------------------------------------------------------------- */

void softmax_forward(float *out, const float *logits, int B, int C) {
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float *p = out + (size_t)b * C;
        float mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        for (int c = 0; c < C; c++) p[c] = (float)(exp((double)z[c] - mx) / sum);
    }
}

double softmax_ce_forward(float *probs, const float *logits, const int *labels, const float *class_weights,
                          int B, int C) {
    double loss = 0.0, wsum = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * C;
        float mx = z[0];
        for (int c = 1; c < C; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0.0;
        for (int c = 0; c < C; c++) sum += exp((double)z[c] - mx);
        for (int c = 0; c < C; c++) probs[(size_t)b * C + c] = (float)(exp((double)z[c] - mx) / sum);
        const double w = class_weights ? class_weights[labels[b]] : 1.0;
        loss += w * (log(sum) - ((double)z[labels[b]] - mx)); /* -log softmax, computed stably */
        wsum += w;
    }
    return wsum > 0.0 ? loss / wsum : 0.0;
}

void softmax_ce_backward(float *dlogits, const float *probs, const int *labels, const float *class_weights,
                         int B, int C, float dloss) {
    double wsum = 0.0;
    for (int b = 0; b < B; b++) wsum += class_weights ? class_weights[labels[b]] : 1.0;
    if (wsum <= 0.0) return;
    for (int b = 0; b < B; b++) {
        const float w = (float)((class_weights ? class_weights[labels[b]] : 1.0) / wsum) * dloss;
        for (int c = 0; c < C; c++)
            dlogits[(size_t)b * C + c] += w * (probs[(size_t)b * C + c] - (c == labels[b] ? 1.0f : 0.0f));
    }
}

/* ---- concat, temporal pooling, flatten --------------------------------------------------------- */

void concat_forward(float *out, const float *a, const float *b, int R, int A, int B) {
    for (int r = 0; r < R; r++) {
        memcpy(out + (size_t)r * (A + B), a + (size_t)r * A, sizeof(float) * A);
        memcpy(out + (size_t)r * (A + B) + A, b + (size_t)r * B, sizeof(float) * B);
    }
}

void concat_backward(float *da, float *db, const float *dout, int R, int A, int B) {
    for (int r = 0; r < R; r++) {
        const float *g = dout + (size_t)r * (A + B);
        if (da)
            for (int i = 0; i < A; i++) da[(size_t)r * A + i] += g[i];
        if (db)
            for (int i = 0; i < B; i++) db[(size_t)r * B + i] += g[A + i];
    }
}

void mean_time_forward(float *out, const float *in, int N, int T, int D) {
    for (int n = 0; n < N; n++)
        for (int d = 0; d < D; d++) {
            double acc = 0.0;
            for (int t = 0; t < T; t++) acc += in[((size_t)n * T + t) * D + d];
            out[(size_t)n * D + d] = (float)(acc / T);
        }
}

void mean_time_backward(float *dinput, const float *dout, int N, int T, int D) {
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            for (int d = 0; d < D; d++) dinput[((size_t)n * T + t) * D + d] += dout[(size_t)n * D + d] / (float)T;
}

void flatten_forward(float *out, const float *in, int N, int T, int D) {
    memcpy(out, in, sizeof(float) * (size_t)N * T * D);
}

void flatten_backward(float *dinput, const float *dout, int N, int T, int D) {
    add_inplace(dinput, dout, (size_t)N * T * D);
}

void add_inplace(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}
