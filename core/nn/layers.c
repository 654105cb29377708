/* Layer forward/backward pairs; conventions and tensor layouts in layers.h. */
#include "core/nn/layers.h"

#include "core/nn/simd.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

/* ---- batch normalisation ----------------------------------------------------------------------- */

/* Sums with MER_LANES partial sums combined in a fixed order (core/nn/simd.h), written with GCC vector
 * types so that they vectorise for sure (SSE pairs in the baseline clone, one zmm in the AVX-512 one)
 * and give the same result on every CPU. Each plane's float sum is then added up in double. */
typedef float lanes_f __attribute__((vector_size(MER_LANES * sizeof(float))));
typedef int32_t lanes_i __attribute__((vector_size(MER_LANES * sizeof(int32_t))));

/* (macros, not functions: a vector-typed argument or return value would change the ABI per clone) */
#define LANES_LOAD(v, p) memcpy(&(v), (p), sizeof(v))
#define LANES_TOTAL(v, t)                                             \
    do {                                                              \
        for (int l_ = 0; l_ < MER_LANES; l_++) (t) += (v)[l_];        \
    } while (0)

static inline float lanes_sum(const float *restrict x, size_t n) {
    lanes_f acc = {0}, v;
    size_t i = 0;
    for (; i + MER_LANES <= n; i += MER_LANES) {
        LANES_LOAD(v, x + i);
        acc += v;
    }
    float t = 0.0f;
    for (; i < n; i++) t += x[i];
    LANES_TOTAL(acc, t);
    return t;
}

/* sum (x - mean)^2 */
static inline float lanes_sumsq_dev(const float *restrict x, size_t n, float mean) {
    lanes_f acc = {0}, v;
    size_t i = 0;
    for (; i + MER_LANES <= n; i += MER_LANES) {
        LANES_LOAD(v, x + i);
        v -= mean;
        acc += v * v;
    }
    float t = 0.0f;
    for (; i < n; i++) t += (x[i] - mean) * (x[i] - mean);
    LANES_TOTAL(acc, t);
    return t;
}

/* sum g and sum g * (x - mean), g taken as 0 where relu_out <= 0 if relu_out is not NULL */
static inline void lanes_sum_g_gx(const float *restrict g, const float *restrict relu_out, const float *restrict x,
                                  size_t n, float mean, float *sg, float *sgx) {
    lanes_f a = {0}, b = {0}, gi, xi, ri;
    size_t i = 0;
    for (; i + MER_LANES <= n; i += MER_LANES) {
        LANES_LOAD(gi, g + i);
        LANES_LOAD(xi, x + i);
        if (relu_out) {
            LANES_LOAD(ri, relu_out + i);
            gi = (lanes_f)((lanes_i)gi & (ri > 0.0f)); /* g where relu_out > 0, else +0 */
        }
        a += gi;
        b += gi * (xi - mean);
    }
    float ta = 0.0f, tb = 0.0f;
    for (; i < n; i++) {
        const float gs = !relu_out || relu_out[i] > 0.0f ? g[i] : 0.0f;
        ta += gs, tb += gs * (x[i] - mean);
    }
    LANES_TOTAL(a, ta);
    LANES_TOTAL(b, tb);
    *sg = ta, *sgx = tb;
}

/* y = relu?(x * scale + shift + residual) */
static inline void bn_apply(float *y, const float *x, const float *res, size_t n, float scale, float shift, int relu) {
    if (res && relu)
        for (size_t i = 0; i < n; i++) {
            const float v = x[i] * scale + shift + res[i];
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else if (res)
        for (size_t i = 0; i < n; i++) y[i] = x[i] * scale + shift + res[i];
    else if (relu)
        for (size_t i = 0; i < n; i++) {
            const float v = x[i] * scale + shift;
            y[i] = v > 0.0f ? v : 0.0f;
        }
    else
        for (size_t i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

MER_VECTOR_CLONES
void batchnorm_forward_train(float *out, float *save_mean, float *save_invstd, const float *in,
                             const float *gamma, const float *beta, float *running_mean, float *running_var,
                             const batchnorm_shape *s, const bn_post *post) {
    const size_t HW = (size_t)s->HW, M = (size_t)s->N * HW;
    const float *res = post ? post->residual : NULL;
    const int relu = post && post->relu;
    MER_PARALLEL_FOR_IF(M * s->C >= MER_PARALLEL_MIN)
    for (int c = 0; c < s->C; c++) {
        double sum = 0.0;
        for (int n = 0; n < s->N; n++) sum += lanes_sum(in + ((size_t)n * s->C + c) * HW, HW);
        const double mean = sum / (double)M;
        double sq = 0.0;
        for (int n = 0; n < s->N; n++) sq += lanes_sumsq_dev(in + ((size_t)n * s->C + c) * HW, HW, (float)mean);
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
            const size_t o = ((size_t)n * s->C + c) * HW;
            bn_apply(out + o, in + o, res ? res + o : NULL, HW, scale, shift, relu);
        }
    }
}

MER_VECTOR_CLONES
void batchnorm_forward_eval(float *out, const float *in, const float *gamma, const float *beta,
                            const float *running_mean, const float *running_var, const batchnorm_shape *s,
                            const bn_post *post) {
    const size_t HW = (size_t)s->HW;
    const int planes = s->N * s->C;
    const float *res = post ? post->residual : NULL;
    const int relu = post && post->relu;
    MER_PARALLEL_FOR_IF(HW * planes >= MER_PARALLEL_MIN)
    for (int nc = 0; nc < planes; nc++) {
        const int c = nc % s->C;
        const float invstd = (float)(1.0 / sqrt((double)running_var[c] + s->eps));
        const float scale = gamma[c] * invstd, shift = beta[c] - running_mean[c] * scale;
        const size_t o = (size_t)nc * HW;
        bn_apply(out + o, in + o, res ? res + o : NULL, HW, scale, shift, relu);
    }
}

MER_VECTOR_CLONES
void batchnorm_backward(float *dinput, float *dgamma, float *dbeta, const float *dout, const float *relu_out,
                        const float *in, const float *save_mean, const float *save_invstd, const float *gamma,
                        const batchnorm_shape *s, int overwrite) {
    const size_t HW = (size_t)s->HW, M = (size_t)s->N * HW;
    MER_PARALLEL_FOR_IF(M * s->C >= MER_PARALLEL_MIN)
    for (int c = 0; c < s->C; c++) {
        const float mean = save_mean[c], invstd = save_invstd[c];
        double sum_dy = 0.0, sum_dy_xc = 0.0; /* sum g, sum g * (x - mean) */
        for (int n = 0; n < s->N; n++) {
            const size_t o = ((size_t)n * s->C + c) * HW;
            float sg, sgx;
            lanes_sum_g_gx(dout + o, relu_out ? relu_out + o : NULL, in + o, HW, mean, &sg, &sgx);
            sum_dy += sg, sum_dy_xc += sgx;
        }
        const double sum_dy_xhat = sum_dy_xc * invstd;
        if (dgamma) dgamma[c] += (float)sum_dy_xhat;
        if (dbeta) dbeta[c] += (float)sum_dy;
        if (!dinput) continue;
        /* dx (+)= k (g - mean(g) - xhat mean(g xhat)), xhat = (x - mean) invstd */
        const float k = gamma[c] * invstd, mdy = (float)(sum_dy / (double)M),
                    mdyx = (float)(sum_dy_xhat / (double)M) * invstd;
        for (int n = 0; n < s->N; n++) {
            const size_t o = ((size_t)n * s->C + c) * HW;
            const float *restrict x = in + o, *restrict g = dout + o, *restrict ro = relu_out ? relu_out + o : NULL;
            float *restrict dx = dinput + o;
            if (ro && overwrite)
                for (size_t i = 0; i < HW; i++) dx[i] = k * ((ro[i] > 0.0f ? g[i] : 0.0f) - mdy - (x[i] - mean) * mdyx);
            else if (ro)
                for (size_t i = 0; i < HW; i++) dx[i] += k * ((ro[i] > 0.0f ? g[i] : 0.0f) - mdy - (x[i] - mean) * mdyx);
            else if (overwrite)
                for (size_t i = 0; i < HW; i++) dx[i] = k * (g[i] - mdy - (x[i] - mean) * mdyx);
            else
                for (size_t i = 0; i < HW; i++) dx[i] += k * (g[i] - mdy - (x[i] - mean) * mdyx);
        }
    }
}

/* ---- ReLU -------------------------------------------------------------------------------------- */

MER_VECTOR_CLONES
void relu_forward(float *out, const float *in, size_t n) {
    MER_PARALLEL_FOR_IF(n >= MER_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

MER_VECTOR_CLONES
void relu_backward(float *dinput, const float *dout, const float *out, size_t n) {
    if (dinput == dout) { /* branch-free so the loop vectorises */
        MER_PARALLEL_FOR_IF(n >= MER_PARALLEL_MIN)
        for (size_t i = 0; i < n; i++) dinput[i] = out[i] > 0.0f ? dinput[i] : 0.0f;
        return;
    }
    MER_PARALLEL_FOR_IF(n >= MER_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) dinput[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- max pooling ------------------------------------------------------------------------------- */

/* One window, in scan order (rows, then columns): the first maximum wins, padding never does, and
 * the first NaN wins and stops the scan (PyTorch propagates NaN). */
static void maxpool_window(const float *x, int W, int ih0, int ih1, int iw0, int iw1, float *best, int32_t *where) {
    float b = -FLT_MAX;
    int32_t w = -1;
    for (int ih = ih0; ih < ih1; ih++)
        for (int iw = iw0; iw < iw1; iw++) {
            const float v = x[ih * W + iw];
            if (w < 0 || v > b || isnan(v)) {
                b = v, w = ih * W + iw;
                if (isnan(v)) goto done;
            }
        }
done:
    *best = b, *where = w;
}

#define MAXPOOL_CHUNK 64
/* Output columns [ow0, ow1) of one output row whose windows lie inside the plane horizontally: the
 * window is swept position by position over a chunk of columns at once, branch-free (vectorises);
 * a chunk where a NaN appeared is redone by maxpool_window. */
MER_VECTOR_CLONES
static void maxpool_row_interior(float *y, int32_t *am, const float *x, const maxpool_shape *s, int ih0, int ih1,
                                 int ow0, int ow1) {
    const int st = s->stride, W = s->W;
    for (int c0 = ow0; c0 < ow1; c0 += MAXPOOL_CHUNK) {
        const int n = ow1 - c0 < MAXPOOL_CHUNK ? ow1 - c0 : MAXPOOL_CHUNK;
        float best[MAXPOOL_CHUNK];
        int32_t where[MAXPOOL_CHUNK];
        int nan = 0;
        const int base0 = ih0 * W + c0 * st - s->pad; /* window corner of the chunk's first column */
        for (int j = 0; j < n; j++) best[j] = x[base0 + j * st], where[j] = base0 + j * st;
        for (int ih = ih0; ih < ih1; ih++)
            for (int kw = 0; kw < s->K; kw++) {
                const int base = ih * W + c0 * st - s->pad + kw;
                for (int j = 0; j < n; j++) {
                    const float v = x[base + j * st];
                    const int take = v > best[j];
                    best[j] = take ? v : best[j];
                    where[j] = take ? base + j * st : where[j];
                    nan |= v != v;
                }
            }
        if (nan)
            for (int j = 0; j < n; j++) {
                const int iw = (c0 + j) * st - s->pad;
                maxpool_window(x, W, ih0, ih1, iw, iw + s->K, &best[j], &where[j]);
            }
        memcpy(y + c0, best, sizeof(float) * n);
        memcpy(am + c0, where, sizeof(int32_t) * n);
    }
}

MER_VECTOR_CLONES
void maxpool_forward(float *out, int32_t *argmax, const float *in, const maxpool_shape *s) {
    const int OH = maxpool_out_h(s), OW = maxpool_out_w(s), planes = s->N * s->C;
    /* output columns whose window lies inside [0, W) */
    int ow0 = 0, ow1 = OW;
    while (ow0 < OW && ow0 * s->stride - s->pad < 0) ow0++;
    while (ow1 > ow0 && (ow1 - 1) * s->stride - s->pad + s->K > s->W) ow1--;
    MER_PARALLEL_FOR_IF((size_t)planes * s->H * s->W >= MER_PARALLEL_MIN)
    for (int nc = 0; nc < planes; nc++) {
        const float *x = in + (size_t)nc * s->H * s->W;
        float *y = out + (size_t)nc * OH * OW;
        int32_t *am = argmax + (size_t)nc * OH * OW;
        for (int oh = 0; oh < OH; oh++) {
            const int h0 = oh * s->stride - s->pad;
            const int ih0 = h0 > 0 ? h0 : 0, ih1 = h0 + s->K < s->H ? h0 + s->K : s->H;
            float *yr = y + (size_t)oh * OW;
            int32_t *ar = am + (size_t)oh * OW;
            for (int ow = 0; ow < OW; ow++) {
                if (ow == ow0 && ow1 > ow0) {
                    maxpool_row_interior(yr, ar, x, s, ih0, ih1, ow0, ow1);
                    ow = ow1 - 1;
                    continue;
                }
                const int w0 = ow * s->stride - s->pad;
                maxpool_window(x, s->W, ih0, ih1, w0 > 0 ? w0 : 0, w0 + s->K < s->W ? w0 + s->K : s->W, &yr[ow], &ar[ow]);
            }
        }
    }
}

void maxpool_backward(float *dinput, const float *dout, const int32_t *argmax, const maxpool_shape *s) {
    const int P = maxpool_out_h(s) * maxpool_out_w(s), planes = s->N * s->C;
    MER_PARALLEL_FOR_IF((size_t)planes * P >= MER_PARALLEL_MIN)
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

MER_VECTOR_CLONES
void add_inplace(float *y, const float *x, size_t n) {
    MER_PARALLEL_FOR_IF(n >= MER_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}
