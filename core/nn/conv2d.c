/* 2-D convolution: im2col + sgemm with the batch folded into the GEMM, and naive reference kernels.
 * Layouts in conv2d.h (NCHW input/output, OIHW weight). */
#include "core/nn/conv2d.h"

#include <cblas.h>
#include <stdint.h>
#include <string.h>

#include "core/nn/simd.h"

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
#define CONV2D_GEMM_COLS 256
int conv2d_images_per_gemm(const conv2d_shape *s) {
    const int P = conv2d_out_h(s) * conv2d_out_w(s);
    int nb = (CONV2D_GEMM_COLS + P - 1) / P;
    return nb < 1 ? 1 : nb > s->N ? s->N : nb;
}

/* Small output planes use a gather table: for each kernel offset (kh, kw), the input offset of every
 * output pixel within its (H, W) plane, or -1 in the padding. A column-matrix row is then one flat
 * gather of P elements instead of OH short row copies (7x7 and 4x4 planes ran at 2-3 GB/s that way). */
#define CONV2D_TABLE_MAX 32768 /* int32 entries (KH*KW*OH*OW) */
static size_t table_entries(const conv2d_shape *s) {
    const size_t n = (size_t)s->KH * s->KW * conv2d_out_h(s) * conv2d_out_w(s);
    return n <= CONV2D_TABLE_MAX ? n : 0;
}

static void build_table(int32_t *tab, const conv2d_shape *s) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s);
    for (int kh = 0; kh < s->KH; kh++)
        for (int kw = 0; kw < s->KW; kw++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    const int ih = oh * s->stride - s->pad_t + kh, iw = ow * s->stride - s->pad_l + kw;
                    *tab++ = ih >= 0 && ih < s->H && iw >= 0 && iw < s->W ? ih * s->W + iw : -1;
                }
}

/* The workspace: column matrix (C*KH*KW, nb*P) | the (OC, nb*P) GEMM result, or the gathered gradient
 * (nb > 1 only) | the gather table (int32 in float slots, small planes only). ws_layout(s, NULL) only
 * sizes it; with a base it also fills the table. */
typedef struct {
    float *col, *res;
    int32_t *tab; /* NULL without a table */
    size_t total; /* floats */
} conv_ws;

static conv_ws ws_layout(const conv2d_shape *s, float *base) {
    const int nb = conv2d_images_per_gemm(s);
    const size_t np = (size_t)nb * conv2d_out_h(s) * conv2d_out_w(s), k = (size_t)s->C * s->KH * s->KW;
    const size_t n_col = k * np, n_res = nb > 1 ? (size_t)s->OC * np : 0, n_tab = table_entries(s);
    conv_ws w = {base, base ? base + n_col : NULL, base && n_tab ? (int32_t *)(base + n_col + n_res) : NULL,
                 n_col + n_res + n_tab};
    if (w.tab) build_table(w.tab, s);
    return w;
}

size_t conv2d_workspace_floats(const conv2d_shape *s) { return is_pointwise(s) ? 0 : ws_layout(s, NULL).total; }

/* Stride 1 with OW == W: the column-matrix row of kernel offset (kh, kw) is the input plane shifted by
 * dh*W + dw (dh = kh - pad_t, dw = kw - pad_l) as one flat run, with the rows outside the plane and the
 * |dw| columns that wrapped around from the neighbouring row set to zero. One long copy per row instead
 * of OH short ones (the 3x3 convolutions of ResNet-18). [q0, q1): the flat range whose source lies in
 * the plane; false if the offset leaves nothing. */
static int shift_range(const conv2d_shape *s, int OH, int kh, int kw, long *off, long *q0, long *q1) {
    const long W = s->W, dh = kh - s->pad_t, dw = kw - s->pad_l, P = (long)OH * W;
    if (dw >= W || -dw >= W) return 0;
    *off = dh * W + dw;
    long lo = dh < 0 ? -dh * W : 0, hi = (s->H - dh) * W;
    if (lo < -*off) lo = -*off;
    if (hi > (long)s->H * W - *off) hi = (long)s->H * W - *off;
    if (hi > P) hi = P;
    *q0 = lo, *q1 = hi;
    return hi > lo;
}

/* Zero the wrapped-around columns of rows [q0, q1) of a shifted row (see shift_range). */
static void zero_wrapped(float *dst, long W, int dw, long q0, long q1) {
    const long c0 = dw > 0 ? W - dw : 0, c1 = dw > 0 ? W : -dw;
    for (long row = q0 / W * W; row < q1; row += W)
        for (long c = c0; c < c1; c++)
            if (row + c >= q0 && row + c < q1) dst[row + c] = 0.0f;
}

/* Planes narrower than 8 are faster through the gather table. */
static int shifts(const conv2d_shape *s) { return s->stride == 1 && conv2d_out_w(s) == s->W && s->W >= 8; }

MER_VECTOR_CLONES
static void im2col_shift(float *restrict dst, const float *restrict plane, const conv2d_shape *s, int OH, int kh, int kw) {
    const long P = (long)OH * s->W;
    long off, q0, q1;
    if (!shift_range(s, OH, kh, kw, &off, &q0, &q1)) {
        memset(dst, 0, sizeof(float) * P);
        return;
    }
    for (long q = 0; q < q0; q++) dst[q] = 0.0f;
    for (long q = q0; q < q1; q++) dst[q] = plane[q + off];
    for (long q = q1; q < P; q++) dst[q] = 0.0f;
    zero_wrapped(dst, s->W, kw - s->pad_l, q0, q1);
}

/* The adjoint of im2col_shift: plane[q + off] += src[q] over the same range; src (scratch) has its
 * wrapped columns zeroed first. */
MER_VECTOR_CLONES
static void col2im_shift(float *restrict plane, float *restrict src, const conv2d_shape *s, int OH, int kh, int kw) {
    long off, q0, q1;
    if (!shift_range(s, OH, kh, kw, &off, &q0, &q1)) return;
    zero_wrapped(src, s->W, kw - s->pad_l, q0, q1);
    for (long q = q0; q < q1; q++) plane[q + off] += src[q];
}

/* col (C*KH*KW, N*OH*OW): row (c,kh,kw), column (n,oh,ow) holds in[n][c][oh*st-pt+kh][ow*st-pl+kw]
 * or 0 in the padding. tab: the gather table of build_table, or NULL (row by row). */
MER_VECTOR_CLONES
static void im2col(float *col, const float *in, const conv2d_shape *s, const int32_t *tab) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s), st = s->stride;
    const size_t P = (size_t)OH * OW, NP = (size_t)s->N * P, HW = (size_t)s->H * s->W;
    const int rows = s->C * s->KH * s->KW, KK = s->KH * s->KW;
    const int par = (size_t)rows * NP >= MER_PARALLEL_MIN;
    if (shifts(s)) {
        MER_PARALLEL_FOR_IF(par)
        for (int r = 0; r < rows; r++)
            for (int n = 0; n < s->N; n++)
                im2col_shift(col + (size_t)r * NP + (size_t)n * P, in + ((size_t)n * s->C + r / KK) * HW, s, OH,
                             r % KK / s->KW, r % s->KW);
        return;
    }
    if (tab) {
        MER_PARALLEL_FOR_IF(par)
        for (int r = 0; r < rows; r++) {
            const int32_t *restrict t = tab + (size_t)(r % KK) * P;
            for (int n = 0; n < s->N; n++) {
                const float *restrict plane = in + ((size_t)n * s->C + r / KK) * HW;
                float *restrict dst = col + (size_t)r * NP + (size_t)n * P;
                for (size_t p = 0; p < P; p++) dst[p] = t[p] >= 0 ? plane[t[p]] : 0.0f;
            }
        }
        return;
    }
    MER_PARALLEL_FOR_IF(par)
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
                if (st == 1)
                    for (int ow = ow0; ow < ow1; ow++) dst[ow] = src[ow];
                else if (st == 2)
                    for (int ow = ow0; ow < ow1; ow++) dst[ow] = src[2 * ow];
                else
                    for (int ow = ow0; ow < ow1; ow++) dst[ow] = src[ow * st];
                for (int ow = ow1; ow < OW; ow++) dst[ow] = 0.0f;
            }
        }
    }
}

/* din[n][c] += scatter of col rows (c, *, *), the adjoint of im2col (tab as there). col is scratch
 * and gets clobbered (im2col_shift's wrapped columns). Each (n, c) plane is written by one iteration
 * only. */
MER_VECTOR_CLONES
static void col2im_add(float *din, float *col, const conv2d_shape *s, const int32_t *tab) {
    const int OH = conv2d_out_h(s), OW = conv2d_out_w(s), st = s->stride;
    const size_t P = (size_t)OH * OW, NP = (size_t)s->N * P, HW = (size_t)s->H * s->W;
    const int planes = s->N * s->C, KK = s->KH * s->KW;
    MER_PARALLEL_FOR_IF((size_t)planes * HW >= MER_PARALLEL_MIN)
    for (int nc = 0; nc < planes; nc++) {
        const int n = nc / s->C, c = nc % s->C;
        float *plane = din + (size_t)nc * HW;
        if (shifts(s)) {
            for (int k = 0; k < KK; k++)
                col2im_shift(plane, col + (size_t)(c * KK + k) * NP + (size_t)n * P, s, OH, k / s->KW, k % s->KW);
            continue;
        }
        if (tab) { /* one kernel offset never maps two outputs to one input */
            for (int k = 0; k < KK; k++) {
                const int32_t *restrict t = tab + (size_t)k * P;
                const float *restrict src = col + (size_t)(c * KK + k) * NP + (size_t)n * P;
                for (size_t p = 0; p < P; p++)
                    if (t[p] >= 0) plane[t[p]] += src[p];
            }
            continue;
        }
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
                    else if (st == 2)
                        for (int ow = ow0; ow < ow1; ow++) drow[2 * ow] += src[ow];
                    else
                        for (int ow = ow0; ow < ow1; ow++) drow[ow * st] += src[ow];
                }
            }
        }
    }
}

void conv2d_im2col(float *col, const float *in, const conv2d_shape *s, float *workspace) {
    im2col(col, in, s, ws_layout(s, workspace).tab);
}

void conv2d_col2im_add(float *din, float *col, const conv2d_shape *s, float *workspace) {
    col2im_add(din, col, s, ws_layout(s, workspace).tab);
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
        const conv_ws w = ws_layout(s, workspace);
        float *col = w.col, *res = w.res;
        const int32_t *tab = w.tab;
        for (int n0 = 0; n0 < s->N; n0 += nb) {
            conv2d_shape c = *s;
            c.N = s->N - n0 < nb ? s->N - n0 : nb;
            const int NP = c.N * P;
            im2col(col, in + n0 * in_img, &c, tab);
            float *dst = out + n0 * out_img;
            if (c.N == 1) { /* (OC, P) is already the NCHW layout of one image */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, P, K, 1.0f, weight, K, col, P, 0.0f, dst, P);
                continue;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->OC, NP, K, 1.0f, weight, K, col, NP, 0.0f, res, NP);
            const int rows = c.N * s->OC;
            MER_PARALLEL_FOR_IF((size_t)rows * P >= MER_PARALLEL_MIN)
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
    const conv_ws w = ws_layout(s, workspace);
    float *col = w.col, *gbuf = w.res;
    const int32_t *tab = w.tab;
    for (int n0 = 0; n0 < s->N; n0 += nb) {
        conv2d_shape c = *s;
        c.N = s->N - n0 < nb ? s->N - n0 : nb;
        const int NP = c.N * P;
        const float *g = dout + n0 * out_img; /* one image: (OC, P) as stored */
        if (c.N > 1) {
            const int rows = c.N * s->OC;
            MER_PARALLEL_FOR_IF((size_t)rows * P >= MER_PARALLEL_MIN)
            for (int i = 0; i < rows; i++) { /* (nb, OC, P) -> (OC, nb*P) */
                const int n = i / s->OC, oc = i % s->OC;
                memcpy(gbuf + (size_t)oc * NP + (size_t)n * P, g + (size_t)i * P, sizeof(float) * P);
            }
            g = gbuf;
        }
        if (dweight) {
            im2col(col, in + n0 * in_img, &c, tab);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->OC, K, NP, 1.0f, g, NP, col, NP, 1.0f, dweight, K);
        }
        if (dinput) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, NP, s->OC, 1.0f, weight, K, g, NP, 0.0f, col, NP);
            col2im_add(dinput + n0 * in_img, col, &c, tab);
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
