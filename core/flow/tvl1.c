/* TV-L1 optical flow, OpenCV's CPU numerics (see core/flow/tvl1.h). Per pyramid level and warp:
 *   I1w, I1wx, I1wy = I1 and its centred gradient warped by the current flow (bicubic);
 *   rho_c = I1w - I1wx u1 - I1wy u2 - I0,  grad = |grad I1w|^2;
 *   outer loop: median-filter (u1, u2), then inner loop until the squared update < epsilon^2 * area:
 *     v = u + threshold step of the data term            (estimate_v)
 *     u = v + theta div p                                (estimate_u)
 *     p = (p + tau/theta grad u) / (1 + tau/theta |grad u|)   (dual update, forward differences)
 * All images of a level are row-major w x h float arrays. */
#include "core/flow/tvl1.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define TAB 32 /* OpenCV's remap samples positions on a 1/32-pixel grid */

tvl1_options tvl1_defaults(void) {
    return (tvl1_options){.tau = 0.25, .lambda = 0.15, .theta = 0.3, .gamma = 0.0, .epsilon = 0.01,
                          .scale_step = 0.8, .nscales = 5, .warps = 5, .inner_iterations = 30,
                          .outer_iterations = 10, .median_filtering = 5};
}

int tvl1_check(const tvl1_options *o, mer_err *err) {
    if (!(o->tau > 0)) return mer_errf(err, "flow.tau must be > 0 (got %g)", o->tau);
    if (!(o->lambda > 0)) return mer_errf(err, "flow.lambda must be > 0 (got %g)", o->lambda);
    if (!(o->theta > 0)) return mer_errf(err, "flow.theta must be > 0 (got %g)", o->theta);
    if (!(o->gamma >= 0)) return mer_errf(err, "flow.gamma must be >= 0 (got %g)", o->gamma);
    if (!(o->epsilon >= 0)) return mer_errf(err, "flow.epsilon must be >= 0 (got %g)", o->epsilon);
    if (!(o->scale_step > 0 && o->scale_step < 1))
        return mer_errf(err, "flow.scale_step must be in (0, 1) (got %g)", o->scale_step);
    if (o->nscales < 1 || o->nscales > 64) return mer_errf(err, "flow.nscales must be 1..64 (got %d)", o->nscales);
    if (o->warps < 1) return mer_errf(err, "flow.warps must be >= 1 (got %d)", o->warps);
    if (o->inner_iterations < 1 || o->outer_iterations < 1)
        return mer_errf(err, "flow.inner_iterations and flow.outer_iterations must be >= 1");
    if (o->median_filtering != 0 && o->median_filtering != 1 && o->median_filtering != 3 && o->median_filtering != 5)
        return mer_errf(err, "flow.median_filtering must be 1 (off), 3 or 5 (got %d)", o->median_filtering);
    return 0;
}

/* ---- pyramid: bilinear resize with OpenCV's sample positions --------------------------------- */

/* dst (dw x dh) from src (sw x sh); scale = source pixels per destination pixel on each axis. Columns
 * are clamped with a zero weight at the border, rows by repeating the edge row (as cv::resize does). */
static void resize_linear(float *dst, int dw, int dh, const float *src, int sw, int sh, double scale_x,
                          double scale_y, int *xofs, float *ax, float *row0, float *row1) {
    for (int dx = 0; dx < dw; dx++) {
        float fx = (float)((dx + 0.5) * scale_x - 0.5);
        int sx = (int)floorf(fx);
        fx -= (float)sx;
        if (sx < 0) fx = 0, sx = 0;
        if (sx >= sw - 1) fx = 0, sx = sw - 1;
        xofs[dx] = sx;
        ax[dx] = fx;
    }
    for (int dy = 0; dy < dh; dy++) {
        float fy = (float)((dy + 0.5) * scale_y - 0.5);
        int sy = (int)floorf(fy);
        fy -= (float)sy;
        int r0 = sy < 0 ? 0 : sy > sh - 1 ? sh - 1 : sy;
        int r1 = sy + 1 < 0 ? 0 : sy + 1 > sh - 1 ? sh - 1 : sy + 1;
        const float *s0 = src + (size_t)r0 * sw, *s1 = src + (size_t)r1 * sw;
        for (int dx = 0; dx < dw; dx++) {
            int sx = xofs[dx];
            if (sx + 1 < sw) {
                float a1 = ax[dx], a0 = 1.f - a1;
                row0[dx] = s0[sx] * a0 + s0[sx + 1] * a1;
                row1[dx] = s1[sx] * a0 + s1[sx + 1] * a1;
            } else {
                row0[dx] = s0[sx];
                row1[dx] = s1[sx];
            }
        }
        float b0 = 1.f - fy, b1 = fy;
        float *d = dst + (size_t)dy * dw;
        for (int dx = 0; dx < dw; dx++) d[dx] = row0[dx] * b0 + row1[dx] * b1;
    }
}

/* ---- derivatives ------------------------------------------------------------------------------ */

/* Centred differences; on the border half of the one-sided difference (OpenCV's convention). */
static void centered_gradient(float *dx, float *dy, const float *s, int w, int h) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const float *r = s + (size_t)y * w;
            int xl = x > 0 ? x - 1 : 0, xr = x < w - 1 ? x + 1 : w - 1;
            int yu = y > 0 ? y - 1 : 0, yd = y < h - 1 ? y + 1 : h - 1;
            dx[(size_t)y * w + x] = 0.5f * (r[xr] - r[xl]);
            dy[(size_t)y * w + x] = 0.5f * (s[(size_t)yd * w + x] - s[(size_t)yu * w + x]);
        }
}

/* Forward differences, 0 on the last column / row. Row loops without branches, so they vectorise. */
static void forward_gradient(float *restrict dx, float *restrict dy, const float *restrict s, int w, int h) {
    for (int y = 0; y < h; y++) {
        const float *r = s + (size_t)y * w;
        float *ox = dx + (size_t)y * w, *oy = dy + (size_t)y * w;
        for (int x = 0; x < w - 1; x++) ox[x] = r[x + 1] - r[x];
        ox[w - 1] = 0.f;
        if (y < h - 1)
            for (int x = 0; x < w; x++) oy[x] = r[x + w] - r[x];
        else
            for (int x = 0; x < w; x++) oy[x] = 0.f;
    }
}

/* Backward-difference divergence, the adjoint of forward_gradient (OpenCV's order of the additions). */
static void divergence(float *restrict div, const float *restrict v1, const float *restrict v2, int w, int h) {
    div[0] = v1[0] + v2[0];
    for (int x = 1; x < w; x++) div[x] = v1[x] - v1[x - 1] + v2[x];
    for (int y = 1; y < h; y++) {
        size_t o = (size_t)y * w;
        const float *a = v1 + o, *b = v2 + o, *bu = v2 + o - w;
        float *d = div + o;
        d[0] = a[0] + b[0] - bu[0];
        for (int x = 1; x < w; x++) d[x] = (a[x] - a[x - 1]) + (b[x] - bu[x]);
    }
}

/* ---- warping: bicubic (a = -0.75) on a 1/32-pixel grid, zero outside the image ---------------- */

static void cubic_weights(float t, float c[4]) {
    const float A = -0.75f;
    c[0] = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
    c[1] = ((A + 2) * t - (A + 3)) * t * t + 1;
    c[2] = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
}

/* dst(x, y) = src(x + u, y + v) for the three images at once (same sample positions). */
static void warp3(float *const dst[3], const float *const src[3], const float *u, const float *v, int w, int h,
                  const float tab[TAB][4]) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            float mx = (float)x + u[i], my = (float)y + v[i];
            long qx = lrintf(mx * TAB), qy = lrintf(my * TAB);
            int sx = (int)(qx >> 5) - 1, sy = (int)(qy >> 5) - 1; /* top-left of the 4 x 4 window */
            const float *wx = tab[qx & (TAB - 1)], *wy = tab[qy & (TAB - 1)];
            float wgt[16];
            for (int k = 0; k < 4; k++)
                for (int j = 0; j < 4; j++) wgt[k * 4 + j] = wy[k] * wx[j];
            for (int c = 0; c < 3; c++) {
                const float *s = src[c];
                float sum = 0.f;
                if (sx >= 0 && sx < w - 3 && sy >= 0 && sy < h - 3) {
                    const float *p = s + (size_t)sy * w + sx;
                    for (int k = 0; k < 4; k++, p += w) {
                        float r = p[0] * wgt[k * 4] + p[1] * wgt[k * 4 + 1] + p[2] * wgt[k * 4 + 2] + p[3] * wgt[k * 4 + 3];
                        sum = k ? sum + r : r;
                    }
                } else if (!(sx >= w || sx + 4 <= 0 || sy >= h || sy + 4 <= 0)) {
                    for (int k = 0; k < 4; k++) {
                        int yy = sy + k;
                        if (yy < 0 || yy >= h) continue;
                        for (int j = 0; j < 4; j++) {
                            int xx = sx + j;
                            if (xx >= 0 && xx < w) sum += s[(size_t)yy * w + xx] * wgt[k * 4 + j];
                        }
                    }
                }
                dst[c][i] = sum;
            }
        }
}

/* ---- median of the flow (replicated border) --------------------------------------------------- */

/* The exact median of a k x k window (k = 3 or 5) as a sorting network applied to whole rows, so it
 * vectorises: Batcher's odd-even merge sort of 16 or 32 values (the window padded with +inf), pruned to the
 * comparators that reach the middle output. */
#define MED_N 32
#define MED_MAX_CMP 200

typedef struct {
    int n, mid, n_cmp;
    unsigned char a[MED_MAX_CMP], b[MED_MAX_CMP];
} median_net;

static void median_net_init(median_net *m, int k) {
    int n = k * k <= 16 ? 16 : 32, count = 0;
    unsigned char a[MED_MAX_CMP], b[MED_MAX_CMP];
    for (int p = 1; p < n; p <<= 1)
        for (int kk = p; kk >= 1; kk >>= 1)
            for (int j = kk % p; j + kk < n; j += 2 * kk)
                for (int i = 0; i < kk && i < n - j - kk; i++)
                    if ((i + j) / (2 * p) == (i + j + kk) / (2 * p)) {
                        a[count] = (unsigned char)(i + j);
                        b[count++] = (unsigned char)(i + j + kk);
                    }
    /* keep, from the last comparator backwards, those whose outputs something kept still reads */
    int need[MED_N] = {0}, keep[MED_MAX_CMP] = {0};
    m->n = n;
    m->mid = k * k / 2;
    need[m->mid] = 1;
    for (int c = count - 1; c >= 0; c--)
        if (need[a[c]] || need[b[c]]) keep[c] = need[a[c]] = need[b[c]] = 1;
    m->n_cmp = 0;
    for (int c = 0; c < count; c++)
        if (keep[c]) {
            m->a[m->n_cmp] = a[c];
            m->b[m->n_cmp++] = b[c];
        }
}

static void compare_exchange(float *restrict lo, float *restrict hi, int w) {
    int x = 0;
#ifdef __SSE2__
    for (; x + 4 <= w; x += 4) { /* minps/maxps: GCC does not vectorise the scalar form below */
        __m128 p = _mm_loadu_ps(lo + x), q = _mm_loadu_ps(hi + x);
        _mm_storeu_ps(lo + x, _mm_min_ps(q, p));
        _mm_storeu_ps(hi + x, _mm_max_ps(q, p));
    }
#endif
    for (; x < w; x++) {
        float p = lo[x], q = hi[x];
        lo[x] = q < p ? q : p;
        hi[x] = q < p ? p : q;
    }
}

/* rows: MED_N * w floats of workspace. */
static void median_filter(float *dst, const float *src, int w, int h, const median_net *m, int k, float *rows) {
    int r = k / 2;
    for (int y = 0; y < h; y++) {
        int slot = 0;
        for (int dy = -r; dy <= r; dy++) {
            const float *s = src + (size_t)(y + dy < 0 ? 0 : y + dy >= h ? h - 1 : y + dy) * w;
            for (int dx = -r; dx <= r; dx++, slot++) {
                float *o = rows + (size_t)slot * w;
                int x0 = dx < 0 ? -dx : 0, x1 = dx > 0 ? w - dx : w; /* [x0, x1): no clamping needed */
                for (int x = 0; x < x0; x++) o[x] = s[0];
                memcpy(o + x0, s + x0 + dx, (size_t)(x1 - x0) * sizeof(float));
                for (int x = x1; x < w; x++) o[x] = s[w - 1];
            }
        }
        for (; slot < m->n; slot++)
            for (int x = 0; x < w; x++) rows[(size_t)slot * w + x] = INFINITY;
        for (int c = 0; c < m->n_cmp; c++)
            compare_exchange(rows + (size_t)m->a[c] * w, rows + (size_t)m->b[c] * w, w);
        memcpy(dst + (size_t)y * w, rows + (size_t)m->mid * w, (size_t)w * sizeof(float));
    }
}

/* ---- the iteration's steps ------------------------------------------------------------------- */

/* v = u + the thresholding step of the linearised data term (the closed-form minimiser of
 * |rho(v)| lambda + |v - u|^2 / (2 theta), rho(v) = rho_c + grad I1w . v [+ gamma v3]). */
static void estimate_v(float *restrict v1, float *restrict v2, float *restrict v3, const float *restrict u1,
                       const float *restrict u2, const float *restrict u3, const float *restrict gx,
                       const float *restrict gy, const float *restrict grad, const float *restrict rho_c, float l_t,
                       float gamma, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float rho = rho_c[i] + (gx[i] * u1[i] + gy[i] * u2[i]);
        if (gamma != 0) rho += gamma * u3[i];
        float fac = rho < -l_t * g ? l_t : rho > l_t * g ? -l_t : g > FLT_EPSILON ? -rho / g : 0.f;
        v1[i] = u1[i] + fac * gx[i];
        v2[i] = u2[i] + fac * gy[i];
        if (gamma != 0) v3[i] = u3[i] + fac * gamma;
    }
}

/* p = (p + taut grad u) / (1 + taut |grad u|). |grad u| in double from float squares (exact products, one
 * rounding of the sum and of the root): hypot's result, without libm's slow hypot. */
static void dual_update(float *restrict px, float *restrict py, const float *restrict gx, const float *restrict gy,
                        float taut, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float ng = 1.f + taut * (float)sqrt((double)gx[i] * gx[i] + (double)gy[i] * gy[i]);
        px[i] = (px[i] + taut * gx[i]) / ng;
        py[i] = (py[i] + taut * gy[i]) / ng;
    }
}

/* ---- one level -------------------------------------------------------------------------------- */

enum { I1X, I1Y, I1W, I1WX, I1WY, GRAD, RHO, V1, V2, V3, P11, P12, P21, P22, P31, P32, DIV1, DIV2, DIV3,
       U1X, U1Y, U2X, U2Y, U3X, U3Y, TMP, N_BUF };

static void one_level(const float *I0, const float *I1, float *u1, float *u2, float *u3, int w, int h,
                      const tvl1_options *o, float *const b[N_BUF], const float tab[TAB][4], const median_net *med,
                      float *med_rows) {
    const size_t n = (size_t)w * h;
    const int use_gamma = o->gamma != 0;
    const float gamma = (float)o->gamma, theta = (float)o->theta;
    const float l_t = (float)(o->lambda * o->theta), taut = (float)(o->tau / o->theta);
    const float eps2 = (float)(o->epsilon * o->epsilon * (double)n);
    centered_gradient(b[I1X], b[I1Y], I1, w, h);
    for (int k = P11; k <= P32; k++) memset(b[k], 0, n * sizeof(float));
    for (int warp = 0; warp < o->warps; warp++) {
        float *const wd[3] = {b[I1W], b[I1WX], b[I1WY]};
        const float *const ws[3] = {I1, b[I1X], b[I1Y]};
        warp3(wd, ws, u1, u2, w, h, tab);
        for (size_t i = 0; i < n; i++) {
            float gx = b[I1WX][i], gy = b[I1WY][i];
            b[GRAD][i] = gx * gx + gy * gy;
            b[RHO][i] = b[I1W][i] - gx * u1[i] - gy * u2[i] - I0[i];
        }
        float error = FLT_MAX;
        for (int outer = 0; error > eps2 && outer < o->outer_iterations; outer++) {
            if (o->median_filtering > 1) {
                median_filter(b[TMP], u1, w, h, med, o->median_filtering, med_rows);
                memcpy(u1, b[TMP], n * sizeof(float));
                median_filter(b[TMP], u2, w, h, med, o->median_filtering, med_rows);
                memcpy(u2, b[TMP], n * sizeof(float));
            }
            for (int inner = 0; error > eps2 && inner < o->inner_iterations; inner++) {
                estimate_v(b[V1], b[V2], b[V3], u1, u2, u3, b[I1WX], b[I1WY], b[GRAD], b[RHO], l_t, gamma, n);
                divergence(b[DIV1], b[P11], b[P12], w, h);
                divergence(b[DIV2], b[P21], b[P22], w, h);
                if (use_gamma) divergence(b[DIV3], b[P31], b[P32], w, h);
                /* u = v + theta div p, and the squared change (summed in OpenCV's order, in float) */
                error = 0.f;
                for (size_t i = 0; i < n; i++) {
                    float a = u1[i], c = u2[i];
                    u1[i] = b[V1][i] + theta * b[DIV1][i];
                    u2[i] = b[V2][i] + theta * b[DIV2][i];
                    if (use_gamma) {
                        float e = u3[i];
                        u3[i] = b[V3][i] + theta * b[DIV3][i];
                        error += (u1[i] - a) * (u1[i] - a) + (u2[i] - c) * (u2[i] - c) + (u3[i] - e) * (u3[i] - e);
                    } else error += (u1[i] - a) * (u1[i] - a) + (u2[i] - c) * (u2[i] - c);
                }
                /* dual variables: projected gradient ascent */
                forward_gradient(b[U1X], b[U1Y], u1, w, h);
                forward_gradient(b[U2X], b[U2Y], u2, w, h);
                if (use_gamma) forward_gradient(b[U3X], b[U3Y], u3, w, h);
                dual_update(b[P11], b[P12], b[U1X], b[U1Y], taut, n);
                dual_update(b[P21], b[P22], b[U2X], b[U2Y], taut, n);
                if (use_gamma) dual_update(b[P31], b[P32], b[U3X], b[U3Y], taut, n);
            }
        }
    }
}

/* ---- the pyramid ------------------------------------------------------------------------------ */

int tvl1_flow(float *u, float *v, const float *i0, const float *i1, int H, int W, const tvl1_options *o,
              mer_err *err) {
    if (tvl1_check(o, err) < 0) return -1;
    if (H < 3 || W < 3) return mer_errf(err, "tvl1_flow: images of %dx%d; at least 3x3 needed", W, H);
    const size_t n = (size_t)W * H;
    int ws[64], hs[64], levels = 1;
    ws[0] = W, hs[0] = H;
    size_t total = 0;
    for (int s = 1; s < o->nscales; s++) {
        /* cv::resize sizes: round(w * scale_step), half to even */
        int w = (int)lrint(ws[s - 1] * o->scale_step), h = (int)lrint(hs[s - 1] * o->scale_step);
        if (w < 16 || h < 16) break;
        ws[s] = w, hs[s] = h;
        levels = s + 1;
    }
    for (int s = 0; s < levels; s++) total += (size_t)ws[s] * hs[s];
    /* per level: I0, I1, u1, u2, u3; shared: N_BUF level-0 buffers and the resize rows */
    size_t floats = 5 * total + N_BUF * n + 4 * (size_t)(W > H ? W : H) + (size_t)MED_N * W + 16;
    float *mem = calloc(floats, sizeof(float));
    int *xofs = malloc((size_t)(W > H ? W : H) * sizeof(int));
    if (!mem || !xofs) {
        free(mem);
        free(xofs);
        return mer_errk(err, MER_ERR_NOMEM, "tvl1_flow: out of memory for %dx%d images", W, H);
    }
    float *p = mem, *I0s[64], *I1s[64], *u1s[64], *u2s[64], *u3s[64], *b[N_BUF];
    for (int s = 0; s < levels; s++) {
        size_t m = (size_t)ws[s] * hs[s];
        I0s[s] = p, p += m;
        I1s[s] = p, p += m;
        u1s[s] = p, p += m;
        u2s[s] = p, p += m;
        u3s[s] = p, p += m;
    }
    for (int k = 0; k < N_BUF; k++) b[k] = p, p += n;
    float *ax = p, *row0 = p + (W > H ? W : H), *row1 = row0 + (W > H ? W : H);
    float *med_rows = row1 + (W > H ? W : H);
    median_net med;
    median_net_init(&med, o->median_filtering > 1 ? o->median_filtering : 3);
    float tab[TAB][4];
    for (int i = 0; i < TAB; i++) cubic_weights((float)i * (1.f / TAB), tab[i]);

    for (size_t i = 0; i < n; i++) {
        I0s[0][i] = i0[i] * 255.f;
        I1s[0][i] = i1[i] * 255.f;
    }
    const double down = 1.0 / o->scale_step;
    for (int s = 1; s < levels; s++) {
        resize_linear(I0s[s], ws[s], hs[s], I0s[s - 1], ws[s - 1], hs[s - 1], down, down, xofs, ax, row0, row1);
        resize_linear(I1s[s], ws[s], hs[s], I1s[s - 1], ws[s - 1], hs[s - 1], down, down, xofs, ax, row0, row1);
    }
    /* u1s etc. start at zero (calloc) on the coarsest level */
    const float up = (float)(1.0 / o->scale_step);
    for (int s = levels - 1; s >= 0; s--) {
        one_level(I0s[s], I1s[s], u1s[s], u2s[s], u3s[s], ws[s], hs[s], o, b, tab, &med, med_rows);
        if (s == 0) break;
        double sx = 1.0 / ((double)ws[s - 1] / ws[s]), sy = 1.0 / ((double)hs[s - 1] / hs[s]);
        resize_linear(u1s[s - 1], ws[s - 1], hs[s - 1], u1s[s], ws[s], hs[s], sx, sy, xofs, ax, row0, row1);
        resize_linear(u2s[s - 1], ws[s - 1], hs[s - 1], u2s[s], ws[s], hs[s], sx, sy, xofs, ax, row0, row1);
        if (o->gamma != 0)
            resize_linear(u3s[s - 1], ws[s - 1], hs[s - 1], u3s[s], ws[s], hs[s], sx, sy, xofs, ax, row0, row1);
        size_t m = (size_t)ws[s - 1] * hs[s - 1];
        for (size_t i = 0; i < m; i++) {
            u1s[s - 1][i] *= up;
            u2s[s - 1][i] *= up;
        }
    }
    memcpy(u, u1s[0], n * sizeof(float));
    memcpy(v, u2s[0], n * sizeof(float));
    free(mem);
    free(xofs);
    return 0;
}

/* ---- optical strain --------------------------------------------------------------------------- */

/* d/dx and d/dy of f at (x, y): central inside, one-sided on the border. */
static float ddx(const float *f, int x, int y, int w) {
    const float *r = f + (size_t)y * w;
    if (w < 2) return 0.f;
    if (x == 0) return r[1] - r[0];
    if (x == w - 1) return r[w - 1] - r[w - 2];
    return 0.5f * (r[x + 1] - r[x - 1]);
}
static float ddy(const float *f, int x, int y, int w, int h) {
    if (h < 2) return 0.f;
    if (y == 0) return f[(size_t)w + x] - f[x];
    if (y == h - 1) return f[(size_t)(h - 1) * w + x] - f[(size_t)(h - 2) * w + x];
    return 0.5f * (f[(size_t)(y + 1) * w + x] - f[(size_t)(y - 1) * w + x]);
}

void optical_strain(float *strain, const float *u, const float *v, int H, int W) {
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            float exx = ddx(u, x, y, W), eyy = ddy(v, x, y, W, H);
            float exy = 0.5f * (ddy(u, x, y, W, H) + ddx(v, x, y, W));
            strain[(size_t)y * W + x] = sqrtf(exx * exx + eyy * eyy + 2.f * exy * exy);
        }
}
