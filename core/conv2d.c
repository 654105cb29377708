/* 2-D convolution: im2col + sgemm with the batch folded into the GEMM, and naive reference kernels.
 * Layouts in conv2d.h (NCHW input/output, OIHW weight). */
#include "core/conv2d.h"

#include <cblas.h>
#include <string.h>

int conv2d_shape_ok(const conv2d_shape *s) {
    if (s->N <= 0 || s->C <= 0 || s->H <= 0 || s->W <= 0 || s->OC <= 0 || s->KH <= 0 || s->KW <= 0 ||
        s->stride <= 0 || s->pad_t < 0 || s->pad_l < 0 || s->pad_b < 0 || s->pad_r < 0)
        return -1;
    if (s->H + s->pad_t + s->pad_b < s->KH || s->W + s->pad_l + s->pad_r < s->KW) return -1;
    return 0;
}

double conv2d_macs(const conv2d_shape *s) {
    return (double)s->N * s->OC * conv2d_out_h(s) * conv2d_out_w(s) * s->C * s->KH * s->KW;
}

/* 1x1 stride-1 unpadded convolutions are a plain per-image GEMM on the input: no column matrix. */
static int is_pointwise(const conv2d_shape *s) {
    return s->KH == 1 && s->KW == 1 && s->stride == 1 && !s->pad_t && !s->pad_l && !s->pad_b && !s->pad_r;
}

/* Images per GEMM: enough that the GEMM has >= CONV2D_GEMM_COLS columns (small planes, deep layers: the whole
 * batch is folded in), but no more, so large planes keep a cache-sized column matrix and GEMM straight into
 * the NCHW output (one image per GEMM needs no scatter). */
#define CONV2D_GEMM_COLS 2048
int conv2d_images_per_gemm(const conv2d_shape *s) {
    const int P = conv2d_out_h(s) * conv2d_out_w(s);
    int nb = (CONV2D_GEMM_COLS + P - 1) / P;
    return nb < 1 ? 1 : nb > s->N ? s->N : nb;
}

size_t conv2d_workspace_floats(const conv2d_shape *s) {
    if (is_pointwise(s)) return 0;
    const int nb = conv2d_images_per_gemm(s);
    const size_t np = (size_t)nb * conv2d_out_h(s) * conv2d_out_w(s), k = (size_t)s->C * s->KH * s->KW;
    return k * np + (nb > 1 ? (size_t)s->OC * np : 0); /* column matrix + the (OC, nb*P) GEMM result */
}

/* col (C*KH*KW, N*OH*OW): row (c,kh,kw), column (n,oh,ow) holds in[n][c][oh*st-pt+kh][ow*st-pl+kw]
 * or 0 in the padding. */
static void im2col(float *col, const float *in, const conv2d_shape *s) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s), st = s->stride;
    const size_t P = (size_t)OH * OW, NP = (size_t)s->N * P, HW = (size_t)s->H * s->W;
    const int rows = s->C * s->KH * s->KW;
    for (int r = 0; r < rows; r++) {
        const int c = r / (s->KH * s->KW), kh = (r / s->KW) % s->KH, kw = r % s->KW;
        /* output columns ow whose input column iw = ow*st - pl + kw lies inside [0, W) */
        int ow0 = 0, ow1 = OW;
        while (ow0 < OW && ow0 * st - s->pad_l + kw < 0) ow0++;
        while (ow1 > ow0 && (ow1 - 1) * st - s->pad_l + kw >= s->W) ow1--;
        for (int n = 0; n < s->N; n++) {
            const float *plane = in + ((size_t)n * s->C + c) * HW;
            float *dst = col + (size_t)r * NP + (size_t)n * P;
            for (int oh = 0; oh < OH; oh++, dst += OW) {
                const int ih = oh * st - s->pad_t + kh;
                if (ih < 0 || ih >= s->H) {
                    memset(dst, 0, sizeof(float) * OW);
                    continue;
                }
                const float *src = plane + (size_t)ih * s->W - s->pad_l + kw;
                for (int ow = 0; ow < ow0; ow++) dst[ow] = 0.0f;
                if (st == 1) {
                    if (ow1 > ow0) memcpy(dst + ow0, src + ow0, sizeof(float) * (ow1 - ow0));
                } else {
                    for (int ow = ow0; ow < ow1; ow++) dst[ow] = src[ow * st];
                }
                for (int ow = ow1; ow < OW; ow++) dst[ow] = 0.0f;
            }
        }
    }
}

/* din[n][c] += scatter of col rows (c, *, *), the adjoint of im2col. Parallel over (n, c) planes,
 * which no two iterations share. */
static void col2im_add(float *din, const float *col, const conv2d_shape *s) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s), st = s->stride;
    const size_t P = (size_t)OH * OW, NP = (size_t)s->N * P, HW = (size_t)s->H * s->W;
    const int planes = s->N * s->C;
    for (int nc = 0; nc < planes; nc++) {
        const int n = nc / s->C, c = nc % s->C;
        float *plane = din + (size_t)nc * HW;
        for (int kh = 0; kh < s->KH; kh++) {
            for (int kw = 0; kw < s->KW; kw++) {
                const int r = (c * s->KH + kh) * s->KW + kw;
                int ow0 = 0, ow1 = OW;
                while (ow0 < OW && ow0 * st - s->pad_l + kw < 0) ow0++;
                while (ow1 > ow0 && (ow1 - 1) * st - s->pad_l + kw >= s->W) ow1--;
                const float *srow = col + (size_t)r * NP + (size_t)n * P;
                for (int oh = 0; oh < OH; oh++, srow += OW) {
                    const int ih = oh * st - s->pad_t + kh;
                    if (ih < 0 || ih >= s->H) continue;
                    float *restrict drow = plane + (size_t)ih * s->W - s->pad_l + kw;
                    const float *restrict src = srow;
                    if (st == 1)
                        for (int ow = ow0; ow < ow1; ow++) drow[ow] += src[ow];
                    else
                        for (int ow = ow0; ow < ow1; ow++) drow[ow * st] += src[ow];
                }
            }
        }
    }
}

void conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                    const conv2d_shape *s, float *workspace) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s);
    const int P = OH * OW, K = s->C * s->KH * s->KW;
    const size_t in_img = (size_t)s->C * s->H * s->W, out_img = (size_t)s->OC * P;
    if (is_pointwise(s)) {
        for (int n = 0; n < s->N; n++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, P, s->C, 1.0f, weight, s->C,
                        in + n * in_img, P, 0.0f, out + n * out_img, P);
    } else {
        const int nb = conv2d_images_per_gemm(s);
        float *col = workspace, *res = workspace + (size_t)K * nb * P;
        for (int n0 = 0; n0 < s->N; n0 += nb) {
            conv2d_shape c = *s;
            c.N = s->N - n0 < nb ? s->N - n0 : nb;
            const int NP = c.N * P;
            im2col(col, in + n0 * in_img, &c);
            float *dst = out + n0 * out_img;
            if (c.N == 1) { /* (OC, P) is already the NCHW layout of one image */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, P, K, 1.0f, weight, K, col, P, 0.0f, dst, P);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, NP, K, 1.0f, weight, K, col, NP, 0.0f, res, NP);
            const int rows = c.N * s->OC;
            for (int i = 0; i < rows; i++) { /* (OC, nb*P) -> (nb, OC, P) */
                const int n = i / s->OC, oc = i % s->OC;
                memcpy(dst + (size_t)i * P, res + (size_t)oc * NP + (size_t)n * P, sizeof(float) * P);
            }
        }
    }
    if (bias) {
        const int rows = s->N * s->OC;
        for (int i = 0; i < rows; i++) {
            float *o = out + (size_t)i * P;
            const float b = bias[i % s->OC];
            for (int p = 0; p < P; p++) o[p] += b;
        }
    }
}

void conv2d_backward(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                     const float *weight, const conv2d_shape *s, float *workspace) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s);
    const int P = OH * OW, K = s->C * s->KH * s->KW;
    const size_t in_img = (size_t)s->C * s->H * s->W, out_img = (size_t)s->OC * P;
    if (dbias)
        for (int oc = 0; oc < s->OC; oc++) {
            double acc = 0.0;
            for (int n = 0; n < s->N; n++) {
                const float *g = dout + n * out_img + (size_t)oc * P;
                for (int p = 0; p < P; p++) acc += g[p];
            }
            dbias[oc] += (float)acc;
        }
    if (is_pointwise(s)) {
        for (int n = 0; n < s->N; n++) {
            const float *g = dout + n * out_img, *x = in + n * in_img;
            if (dweight)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, s->C, P, 1.0f, g, P, x, P, 1.0f,
                            dweight, s->C);
            if (dinput)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->C, P, s->OC, 1.0f, weight, s->C, g, P,
                            1.0f, dinput + n * in_img, P);
        }
        return;
    }
    if (!dweight && !dinput) return;
    const int nb = conv2d_images_per_gemm(s);
    float *col = workspace, *gbuf = workspace + (size_t)K * nb * P;
    for (int n0 = 0; n0 < s->N; n0 += nb) {
        conv2d_shape c = *s;
        c.N = s->N - n0 < nb ? s->N - n0 : nb;
        const int NP = c.N * P;
        const float *g = dout + n0 * out_img; /* one image: (OC, P) as stored */
        if (c.N > 1) {
            const int rows = c.N * s->OC;
            for (int i = 0; i < rows; i++) { /* (nb, OC, P) -> (OC, nb*P) */
                const int n = i / s->OC, oc = i % s->OC;
                memcpy(gbuf + (size_t)oc * NP + (size_t)n * P, g + (size_t)i * P, sizeof(float) * P);
            }
            g = gbuf;
        }
        if (dweight) {
            im2col(col, in + n0 * in_img, &c);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, K, NP, 1.0f, g, NP, col, NP, 1.0f, dweight, K);
        }
        if (dinput) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, NP, s->OC, 1.0f, weight, K, g, NP, 0.0f, col, NP);
            col2im_add(dinput + n0 * in_img, col, &c);
        }
    }
}

/* ---- naive reference kernels (double accumulation) ------------------------------------------- */

void conv2d_forward_naive(float *out, const float *in, const float *weight, const float *bias,
                          const conv2d_shape *s) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s);
    for (int n = 0; n < s->N; n++)
        for (int oc = 0; oc < s->OC; oc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double acc = bias ? bias[oc] : 0.0;
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++) {
                            const int ih = oh * s->stride - s->pad_t + kh;
                            if (ih < 0 || ih >= s->H) continue;
                            for (int kw = 0; kw < s->KW; kw++) {
                                const int iw = ow * s->stride - s->pad_l + kw;
                                if (iw < 0 || iw >= s->W) continue;
                                acc += (double)in[(((size_t)n * s->C + c) * s->H + ih) * s->W + iw] *
                                       weight[(((size_t)oc * s->C + c) * s->KH + kh) * s->KW + kw];
                            }
                        }
                    out[(((size_t)n * s->OC + oc) * OH + oh) * OW + ow] = (float)acc;
                }
}

void conv2d_backward_naive(float *dinput, float *dweight, float *dbias, const float *dout, const float *in,
                           const float *weight, const conv2d_shape *s) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s);
    for (int n = 0; n < s->N; n++)
        for (int oc = 0; oc < s->OC; oc++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    const float g = dout[(((size_t)n * s->OC + oc) * OH + oh) * OW + ow];
                    if (dbias) dbias[oc] += g;
                    for (int c = 0; c < s->C; c++)
                        for (int kh = 0; kh < s->KH; kh++) {
                            const int ih = oh * s->stride - s->pad_t + kh;
                            if (ih < 0 || ih >= s->H) continue;
                            for (int kw = 0; kw < s->KW; kw++) {
                                const int iw = ow * s->stride - s->pad_l + kw;
                                if (iw < 0 || iw >= s->W) continue;
                                const size_t xi = (((size_t)n * s->C + c) * s->H + ih) * s->W + iw;
                                const size_t wi = (((size_t)oc * s->C + c) * s->KH + kh) * s->KW + kw;
                                if (dweight) dweight[wi] += g * in[xi];
                                if (dinput) dinput[xi] += g * weight[wi];
                            }
                        }
                }
}
