/* Apex spotting on aligned face crops (core/spot/apex.h). */
#include "core/spot/apex.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define REG_ITERS 12     /* Lucas-Kanade iterations per frame (converges in 2-4 from the previous estimate) */
#define REG_TOL 0.005    /* px: stop when an update is smaller */
#define FLAT_EPS 1e-6f   /* a curve whose maximum is below this has no apex */

apex_spot_options apex_spot_defaults(void) {
    return (apex_spot_options){.method = APEX_SPOT_DIFF, .blur = 0.015, .smooth = 1.0, .reg = 1, .grid = 6,
                               .top = 0.34, .eye_y = 0.35, .eye_dist = 0.40, .eyes = 0.3, .mask = NULL};
}

const char *apex_spot_method_name(apex_spot_method m) { return m == APEX_SPOT_DIFF ? "diff" : "?"; }

int apex_spot_check(const apex_spot_options *o, mer_err *err) {
    if ((int)o->method < 0 || o->method >= APEX_SPOT_METHOD_COUNT)
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: unknown method %d", (int)o->method);
    if (!(o->blur >= 0 && o->blur <= 0.25))
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: blur %g is not in [0, 0.25] (a fraction of the width)", o->blur);
    if (!(o->smooth >= 0 && o->smooth <= 100))
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: smooth %g is not in [0, 100] frames", o->smooth);
    if (o->grid < 1 || o->grid > 64)
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: grid %d is not in [1, 64]", o->grid);
    if (!(o->top > 0 && o->top <= 1)) return mer_errk(err, MER_ERR_CONFIG, "apex spotting: top %g is not in (0, 1]", o->top);
    if (!(o->eyes >= 0 && o->eyes <= 1))
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: eyes %g is not in [0, 1] (a fraction of the eye distance)",
                        o->eyes);
    if (!o->mask && !(o->eye_y > 0 && o->eye_y < 1 && o->eye_dist > 0 && o->eye_dist < 1))
        return mer_errk(err, MER_ERR_CONFIG, "apex spotting: template eye_y %g / eye_dist %g not in (0, 1)", o->eye_y,
                        o->eye_dist);
    return 0;
}

/* 1 inside 85 % of the radius r (in units of the ellipse), a cosine taper to 0 at r = 1. */
static double taper(double r) { return r <= 0.85 ? 1 : r >= 1 ? 0 : 0.5 + 0.5 * cos(M_PI * (r - 0.85) / 0.15); }

void apex_spot_mask_template(float *mask, int h, int w, double eye_y, double eye_dist, double eyes) {
    /* In units of the inter-ocular distance d: brows ~0.8 d above the eye line, chin ~1.7 d below it, cheeks
     * ~1 d either side of the centre. An eye opening is ~0.5 d wide and ~0.15 d high; the holes are
     * `eyes` d wide and 0.6 of that high (half-axes), so the lids' sweep during a blink falls inside. */
    double d = eye_dist * w, cx = 0.5 * (w - 1), cy = eye_y * h + 0.45 * d, rx = 1.0 * d, ry = 1.25 * d;
    double ex[2] = {(0.5 - eye_dist / 2) * w, (0.5 + eye_dist / 2) * w}, ey = eye_y * h;
    double erx = eyes * d, ery = 0.6 * eyes * d;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double m = taper(hypot((x - cx) / rx, (y - cy) / ry));
            for (int k = 0; k < 2 && eyes > 0; k++) m *= 1 - taper(hypot((x - ex[k]) / erx, (y - ey) / ery) / 1.15);
            mask[(size_t)y * w + x] = (float)m;
        }
}

struct apex_spotter {
    apex_spot_options o;
    int h, w, kr;        /* kr: blur kernel radius */
    float *kernel;       /* 2 kr + 1 taps */
    float *mask;         /* h x w */
    float *tmp, *cur;    /* blur scratch, blurred current frame */
    float *ref, *gx, *gy; /* normalised blurred onset and its gradients */
    float *warp;         /* current frame, shifted and normalised */
    double hxx, hxy, hyy; /* Lucas-Kanade normal matrix of the onset */
    double dx, dy;       /* residual translation of the last frame */
    double *cell_s, *cell_w, *cell_mean;
    float *scores;
    int n, cap;
};

void apex_spotter_free(apex_spotter *s) {
    if (!s) return;
    free(s->kernel);
    free(s->mask);
    free(s->tmp);
    free(s->cur);
    free(s->ref);
    free(s->gx);
    free(s->gy);
    free(s->warp);
    free(s->cell_s);
    free(s->cell_w);
    free(s->cell_mean);
    free(s->scores);
    free(s);
}

int apex_spotter_new(apex_spotter **out, int h, int w, const apex_spot_options *o, mer_err *err) {
    *out = NULL;
    apex_spot_options def = apex_spot_defaults();
    if (!o) o = &def;
    if (apex_spot_check(o, err) < 0) return -1;
    if (h < 8 || w < 8) return mer_errk(err, MER_ERR_DATA, "apex spotting: frames of %dx%d px (at least 8x8 needed)", w, h);
    apex_spotter *s = mer_calloc(1, sizeof *s, err);
    if (!s) return -1;
    s->o = *o;
    s->o.mask = NULL; /* copied below: the caller's buffer need not outlive the call */
    s->h = h;
    s->w = w;
    double sigma = o->blur * w;
    s->kr = sigma > 0.2 ? (int)ceil(3 * sigma) : 0;
    size_t px = (size_t)h * w, cells = (size_t)o->grid * o->grid;
    s->kernel = mer_malloc((size_t)(2 * s->kr + 1) * sizeof *s->kernel, err);
    s->mask = mer_malloc(px * sizeof(float), err);
    s->tmp = mer_malloc(px * sizeof(float), err);
    s->cur = mer_malloc(px * sizeof(float), err);
    s->ref = mer_malloc(px * sizeof(float), err);
    s->gx = mer_malloc(px * sizeof(float), err);
    s->gy = mer_malloc(px * sizeof(float), err);
    s->warp = mer_malloc(px * sizeof(float), err);
    s->cell_s = mer_malloc(cells * sizeof(double), err);
    s->cell_w = mer_malloc(cells * sizeof(double), err);
    s->cell_mean = mer_malloc(cells * sizeof(double), err);
    if (!s->kernel || !s->mask || !s->tmp || !s->cur || !s->ref || !s->gx || !s->gy || !s->warp || !s->cell_s ||
        !s->cell_w || !s->cell_mean) {
        apex_spotter_free(s);
        return -1;
    }
    double ksum = 0;
    for (int k = -s->kr; k <= s->kr; k++) ksum += s->kernel[k + s->kr] = s->kr ? (float)exp(-0.5 * k * k / (sigma * sigma)) : 1;
    for (int k = 0; k <= 2 * s->kr; k++) s->kernel[k] = (float)(s->kernel[k] / ksum);
    if (o->mask) {
        double sum = 0;
        for (size_t i = 0; i < px; i++) {
            if (!(o->mask[i] >= 0) || !isfinite(o->mask[i])) {
                apex_spotter_free(s);
                return mer_errk(err, MER_ERR_CONFIG, "apex spotting: mask weight %zu is %g (weights must be >= 0)", i,
                                (double)o->mask[i]);
            }
            sum += o->mask[i];
        }
        if (sum <= 0) {
            apex_spotter_free(s);
            return mer_errk(err, MER_ERR_CONFIG, "apex spotting: the mask is all zero");
        }
        memcpy(s->mask, o->mask, px * sizeof(float));
    } else {
        apex_spot_mask_template(s->mask, h, w, o->eye_y, o->eye_dist, o->eyes);
    }
    *out = s;
    return 0;
}

/* out = Gaussian blur of in (clamp to edge); in may not alias out. */
static void blur(apex_spotter *s, float *out, const float *in) {
    const int h = s->h, w = s->w, r = s->kr;
    if (!r) {
        memcpy(out, in, (size_t)h * w * sizeof *out);
        return;
    }
    const float *k = s->kernel + r;
    for (int y = 0; y < h; y++) {
        const float *row = in + (size_t)y * w;
        float *t = s->tmp + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            float acc = 0;
            for (int j = -r; j <= r; j++) {
                int xx = x + j < 0 ? 0 : x + j >= w ? w - 1 : x + j;
                acc += k[j] * row[xx];
            }
            t[x] = acc;
        }
    }
    for (int y = 0; y < h; y++) {
        float *o = out + (size_t)y * w;
        for (int x = 0; x < w; x++) o[x] = 0;
        for (int j = -r; j <= r; j++) {
            int yy = y + j < 0 ? 0 : y + j >= h ? h - 1 : y + j;
            const float *t = s->tmp + (size_t)yy * w;
            const float kj = k[j];
            for (int x = 0; x < w; x++) o[x] += kj * t[x];
        }
    }
}

/* x <- (x - mean) / std within the mask (a constant frame becomes 0). */
static void normalise(const apex_spotter *s, float *x) {
    const size_t px = (size_t)s->h * s->w;
    double sw = 0, sx = 0, sxx = 0;
    for (size_t i = 0; i < px; i++) {
        double m = s->mask[i];
        sw += m;
        sx += m * x[i];
    }
    double mean = sx / sw;
    for (size_t i = 0; i < px; i++) {
        double d = x[i] - mean;
        sxx += s->mask[i] * d * d;
    }
    double sd = sqrt(sxx / sw);
    float scale = sd > 1e-9 * (fabs(mean) + 1) ? (float)(1 / sd) : 0.0f;
    for (size_t i = 0; i < px; i++) x[i] = (float)(x[i] - mean) * scale;
}

/* warp(x, y) = cur(x + dx, y + dy), bilinear, clamped to the frame; then normalised. */
static void shift_normalise(apex_spotter *s, double dx, double dy) {
    const int h = s->h, w = s->w;
    for (int y = 0; y < h; y++) {
        double sy = y + dy;
        sy = sy < 0 ? 0 : sy > h - 1 ? h - 1 : sy;
        int y0 = (int)sy, y1 = y0 + 1 < h ? y0 + 1 : y0;
        float fy = (float)(sy - y0);
        const float *r0 = s->cur + (size_t)y0 * w, *r1 = s->cur + (size_t)y1 * w;
        float *o = s->warp + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            double sx = x + dx;
            sx = sx < 0 ? 0 : sx > w - 1 ? w - 1 : sx;
            int x0 = (int)sx, x1 = x0 + 1 < w ? x0 + 1 : x0;
            float fx = (float)(sx - x0);
            float a = r0[x0] + fx * (r0[x1] - r0[x0]), b = r1[x0] + fx * (r1[x1] - r1[x0]);
            o[x] = a + fy * (b - a);
        }
    }
    normalise(s, s->warp);
}

/* The onset frame: reference, its gradients and the Lucas-Kanade normal matrix. */
static void set_reference(apex_spotter *s, const float *frame) {
    const int h = s->h, w = s->w;
    blur(s, s->ref, frame);
    normalise(s, s->ref);
    double hxx = 0, hxy = 0, hyy = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int xl = x > 0 ? x - 1 : x, xr = x + 1 < w ? x + 1 : x, yu = y > 0 ? y - 1 : y, yd = y + 1 < h ? y + 1 : y;
            float gx = (s->ref[(size_t)y * w + xr] - s->ref[(size_t)y * w + xl]) / (float)(xr - xl);
            float gy = (s->ref[(size_t)yd * w + x] - s->ref[(size_t)yu * w + x]) / (float)(yd - yu);
            s->gx[i] = gx;
            s->gy[i] = gy;
            double m = s->mask[i];
            hxx += m * gx * gx;
            hxy += m * gx * gy;
            hyy += m * gy * gy;
        }
    s->hxx = hxx;
    s->hxy = hxy;
    s->hyy = hyy;
    s->dx = s->dy = 0;
}

/* Translation of s->cur against the reference, from the previous frame's estimate (Lucas-Kanade with the
 * reference's gradients; photometric normalisation inside every step, so flicker does not bias it). */
static void register_frame(apex_spotter *s) {
    const size_t px = (size_t)s->h * s->w;
    double det = s->hxx * s->hyy - s->hxy * s->hxy;
    if (!(det > 1e-12 * (s->hxx + s->hyy) * (s->hxx + s->hyy)) || !(s->hxx + s->hyy > 0)) return; /* no texture */
    const double lim = 0.2 * (s->w < s->h ? s->w : s->h);
    double dx = s->dx, dy = s->dy;
    for (int it = 0; it < REG_ITERS; it++) {
        shift_normalise(s, dx, dy);
        double bx = 0, by = 0;
        for (size_t i = 0; i < px; i++) {
            double e = s->mask[i] * (s->warp[i] - s->ref[i]);
            bx += e * s->gx[i];
            by += e * s->gy[i];
        }
        double ux = -(s->hyy * bx - s->hxy * by) / det, uy = -(s->hxx * by - s->hxy * bx) / det;
        dx += ux;
        dy += uy;
        if (!isfinite(dx) || !isfinite(dy) || fabs(dx) > lim || fabs(dy) > lim) { /* diverged: keep the last */
            dx = s->dx;
            dy = s->dy;
            break;
        }
        if (hypot(ux, uy) < REG_TOL) break;
    }
    s->dx = dx;
    s->dy = dy;
}

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Score of s->warp against the reference: mean of the top share of grid cells' masked mean |difference|. */
static float score_frame(apex_spotter *s) {
    const int h = s->h, w = s->w, g = s->o.grid, nc = g * g;
    for (int c = 0; c < nc; c++) s->cell_s[c] = s->cell_w[c] = 0;
    for (int y = 0; y < h; y++) {
        int cy = y * g / h;
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            double m = s->mask[i];
            if (m <= 0) continue;
            int c = cy * g + x * g / w;
            s->cell_s[c] += m * fabsf(s->warp[i] - s->ref[i]);
            s->cell_w[c] += m;
        }
    }
    /* cells with less than a quarter of their area in the mask are mostly background: left out */
    double full = (double)h * w / nc, wmax = 0;
    for (int c = 0; c < nc; c++) wmax = s->cell_w[c] > wmax ? s->cell_w[c] : wmax;
    double need = 0.25 * full < wmax ? 0.25 * full : wmax;
    int k = 0;
    for (int c = 0; c < nc; c++)
        if (s->cell_w[c] >= need && s->cell_w[c] > 0) s->cell_mean[k++] = s->cell_s[c] / s->cell_w[c];
    if (!k) return 0;
    qsort(s->cell_mean, (size_t)k, sizeof *s->cell_mean, cmp_desc);
    int top = (int)lround(s->o.top * k);
    top = top < 1 ? 1 : top;
    double sum = 0;
    for (int c = 0; c < top; c++) sum += s->cell_mean[c];
    return (float)(sum / top);
}

int apex_spotter_add(apex_spotter *s, const float *frame, mer_err *err) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        float *p = realloc(s->scores, (size_t)cap * sizeof *p);
        if (!p) return mer_errk(err, MER_ERR_NOMEM, "apex spotting: out of memory (%d frames)", cap);
        s->scores = p;
        s->cap = cap;
    }
    const size_t px = (size_t)s->h * s->w;
    for (size_t i = 0; i < px; i++)
        if (!isfinite(frame[i]))
            return mer_errk(err, MER_ERR_DATA, "apex spotting: frame %d has a non-finite value at pixel %zu", s->n, i);
    if (s->n == 0) {
        set_reference(s, frame);
        s->scores[s->n++] = 0;
        return 0;
    }
    blur(s, s->cur, frame);
    if (s->o.reg) register_frame(s);
    shift_normalise(s, s->dx, s->dy);
    s->scores[s->n++] = score_frame(s);
    return 0;
}

int apex_spotter_count(const apex_spotter *s) { return s->n; }

int apex_spotter_finish(apex_spotter *s, apex_spot_result *r, float *curve, mer_err *err) {
    memset(r, 0, sizeof *r);
    const int n = s->n;
    if (n < 2) return mer_errk(err, MER_ERR_DATA, "apex spotting needs the onset and at least one later frame (%d given)", n);
    float *sm = mer_malloc((size_t)n * sizeof *sm, err);
    if (!sm) return -1;
    /* smooth frames 1..n-1 (the onset's 0 is not a measurement) with a truncated, renormalised Gaussian */
    const double sig = s->o.smooth;
    const int rad = sig > 0.05 ? (int)ceil(3 * sig) : 0;
    sm[0] = 0;
    for (int t = 1; t < n; t++) {
        double acc = 0, ws = 0;
        for (int j = -rad; j <= rad; j++) {
            int u = t + j;
            if (u < 1 || u >= n) continue;
            double k = rad ? exp(-0.5 * j * j / (sig * sig)) : 1;
            acc += k * s->scores[u];
            ws += k;
        }
        sm[t] = (float)(acc / ws);
    }
    int best = 1;
    for (int t = 2; t < n; t++)
        if (sm[t] > sm[best]) best = t;
    if (!(sm[best] >= FLAT_EPS)) {
        r->flat = 1;
        best = 1 + (n - 2) / 2; /* the middle of frames 1..n-1 */
    }
    r->apex = best;
    r->peak = sm[best];
    if (curve) memcpy(curve, sm, (size_t)n * sizeof *curve);
    free(sm);
    return 0;
}

int apex_spot(apex_spot_result *r, float *curve, const float *frames, int n, int h, int w, int onset,
              const apex_spot_options *o, mer_err *err) {
    memset(r, 0, sizeof *r);
    if (n < 2) return mer_errk(err, MER_ERR_DATA, "apex spotting needs at least 2 frames (%d given)", n);
    if (onset < 0 || onset > n - 2)
        return mer_errk(err, MER_ERR_DATA, "apex spotting: onset index %d not in [0, %d] (%d frames)", onset, n - 2, n);
    if (!frames) return mer_errk(err, MER_ERR_DATA, "apex spotting: no frames");
    apex_spotter *s;
    if (apex_spotter_new(&s, h, w, o, err) < 0) return -1;
    const size_t px = (size_t)h * w;
    int rc = 0;
    for (int t = onset; t < n && !rc; t++) rc = apex_spotter_add(s, frames + (size_t)t * px, err);
    if (!rc) rc = apex_spotter_finish(s, r, curve ? curve + onset : NULL, err);
    apex_spotter_free(s);
    if (rc) return -1;
    if (curve)
        for (int t = 0; t < onset; t++) curve[t] = 0;
    r->apex += onset;
    return 0;
}
