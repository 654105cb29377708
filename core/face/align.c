/* Eye-template similarity alignment and bilinear warping (see core/face/align.h). */
#include "core/face/align.h"

#include <math.h>
#include <string.h>

void align_eye_centres(double eyes[4], const float *p) {
    memset(eyes, 0, 4 * sizeof *eyes);
    for (int i = 36; i <= 41; i++) {
        eyes[0] += p[2 * i] / 6.0;
        eyes[1] += p[2 * i + 1] / 6.0;
    }
    for (int i = 42; i <= 47; i++) {
        eyes[2] += p[2 * i] / 6.0;
        eyes[3] += p[2 * i + 1] / 6.0;
    }
}

int align_similarity_2pt(double M[6], const double p0[2], const double p1[2], const double q0[2], const double q1[2],
                         mer_err *err) {
    /* As complex numbers: q = c*p + t with c = (q1-q0)/(p1-p0), t = q0 - c*p0. */
    double dx = p1[0] - p0[0], dy = p1[1] - p0[1], ex = q1[0] - q0[0], ey = q1[1] - q0[1];
    double n = dx * dx + dy * dy;
    if (!(n > 1e-12) || !isfinite(n) || !isfinite(ex) || !isfinite(ey))
        return mer_errk(err, MER_ERR_DATA, "cannot align: the two reference points coincide or are not finite");
    double a = (ex * dx + ey * dy) / n, b = (ey * dx - ex * dy) / n;
    M[0] = a;
    M[1] = -b;
    M[2] = q0[0] - (a * p0[0] - b * p0[1]);
    M[3] = b;
    M[4] = a;
    M[5] = q0[1] - (b * p0[0] + a * p0[1]);
    return 0;
}

int align_transform(double M[6], const float *landmarks68, const align_opts *o, mer_err *err) {
    if (o->size < 1 || !(o->eye_dist > 0 && o->eye_dist < 1) || !(o->eye_y > 0 && o->eye_y < 1))
        return mer_errk(err, MER_ERR_CONFIG,
                        "bad alignment template: size %d, eye_dist %g, eye_y %g (fractions must be in (0,1))", o->size,
                        o->eye_dist, o->eye_y);
    double e[4];
    align_eye_centres(e, landmarks68);
    double S = o->size;
    double q0[2] = {(0.5 - o->eye_dist / 2) * S, o->eye_y * S}, q1[2] = {(0.5 + o->eye_dist / 2) * S, o->eye_y * S};
    if (align_similarity_2pt(M, e, e + 2, q0, q1, err) < 0)
        return mer_err_prefix(err, "eye centres (%.2f,%.2f) and (%.2f,%.2f)", e[0], e[1], e[2], e[3]);
    return 0;
}

int affine_invert(double inv[6], const double M[6], mer_err *err) {
    double det = M[0] * M[4] - M[1] * M[3];
    if (!(fabs(det) > 1e-15) || !isfinite(det)) return mer_errk(err, MER_ERR_DATA, "transform is not invertible (det %g)", det);
    double a = M[4] / det, b = -M[1] / det, c = -M[3] / det, d = M[0] / det;
    inv[0] = a;
    inv[1] = b;
    inv[2] = -(a * M[2] + b * M[5]);
    inv[3] = c;
    inv[4] = d;
    inv[5] = -(c * M[2] + d * M[5]);
    return 0;
}

void affine_apply_points(float *dst, const float *src, size_t n, const double M[6]) {
    for (size_t i = 0; i < n; i++) {
        double x = src[2 * i], y = src[2 * i + 1];
        dst[2 * i] = (float)(M[0] * x + M[1] * y + M[2]);
        dst[2 * i + 1] = (float)(M[3] * x + M[4] * y + M[5]);
    }
}

int align_warp(mer_image *out, const mer_image *src, const double M[6], const align_opts *o, mer_err *err) {
    memset(out, 0, sizeof *out);
    double inv[6] = {0};
    if (affine_invert(inv, M, err) < 0) return -1;
    mer_image grey = {0};
    const mer_image *in = src;
    if (o->grey && src->c != 1) {
        if (image_convert(&grey, src, 1, err) < 0) return -1;
        in = &grey;
    }
    int S = o->size, C = in->c, W = in->w, H = in->h;
    if (image_alloc(out, S, S, C, err) < 0) {
        image_free(&grey);
        return -1;
    }
    for (int v = 0; v < S; v++) {
        for (int u = 0; u < S; u++) {
            double x = inv[0] * u + inv[1] * v + inv[2], y = inv[3] * u + inv[4] * v + inv[5];
            double fx0 = floor(x), fy0 = floor(y);
            uint8_t *q = out->px + ((size_t)v * S + u) * C;
            if (!(fx0 >= -1 && fx0 < W && fy0 >= -1 && fy0 < H)) continue; /* all four neighbours outside: 0 */
            int x0 = (int)fx0, y0 = (int)fy0;
            double ax = x - fx0, ay = y - fy0;
            double w4[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
            int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
            for (int k = 0; k < C; k++) {
                double acc = 0;
                for (int j = 0; j < 4; j++)
                    if (xs[j] >= 0 && xs[j] < W && ys[j] >= 0 && ys[j] < H && w4[j] != 0)
                        acc += w4[j] * in->px[((size_t)ys[j] * W + xs[j]) * C + k];
                long r = lround(acc);
                q[k] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
            }
        }
    }
    image_free(&grey);
    return 0;
}
