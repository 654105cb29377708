/* Face registration front end: cascade boxes -> dlib-style boxes -> refined 68 landmarks. */
#include "core/face/face.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct face_models {
    cascade *cas;
    shape_model *shape;
};

int face_models_load(face_models **out, const char *cascade_xml, const char *landmarks_dat, mer_err *err) {
    *out = NULL;
    face_models *m = mer_calloc(1, sizeof *m, err);
    if (!m) return -1;
    if (cascade_load(&m->cas, cascade_xml, err) < 0) {
        free(m);
        return -1;
    }
    if (landmarks_dat) {
        if (shape_model_load(&m->shape, landmarks_dat, err) < 0) {
            face_models_free(m);
            return -1;
        }
        if (shape_model_parts(m->shape) != FACE_NPTS) {
            int np = shape_model_parts(m->shape);
            face_models_free(m);
            return mer_errk(err, MER_ERR_CONFIG, "%s: shape predictor has %d landmarks, expected %d", landmarks_dat, np,
                            FACE_NPTS);
        }
    }
    *out = m;
    return 0;
}

void face_models_free(face_models *m) {
    if (!m) return;
    cascade_free(m->cas);
    shape_model_free(m->shape);
    free(m);
}

const cascade *face_models_cascade(const face_models *m) { return m->cas; }
const shape_model *face_models_shape(const face_models *m) { return m->shape; }

void face_box_from_cascade(long rect[4], const int box[4]) {
    double x = box[0], y = box[1], w = box[2], h = box[3];
    long side = lrint(0.926 * (w + h) / 2.0);
    rect[0] = lrint(x + 0.022 * w);
    rect[1] = lrint(y + 0.098 * h);
    rect[2] = rect[0] + side - 1;
    rect[3] = rect[1] + side - 1;
}

void face_box_refit(long rect[4], const double (*pts)[2], const shape_model *sm) {
    int n = shape_model_parts(sm);
    const float *mean = shape_model_mean(sm);
    /* dlib's integer points, like the reference (tests/ref/dlib_ref.cpp refit()) */
    double px = 0, py = 0, mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        px += floor(pts[i][0] + 0.5), py += floor(pts[i][1] + 0.5);
        mx += mean[2 * i], my += mean[2 * i + 1];
    }
    px /= n, py /= n, mx /= n, my /= n;
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) {
        double ax = floor(pts[i][0] + 0.5) - px, ay = floor(pts[i][1] + 0.5) - py;
        double bx = mean[2 * i] - mx, by = mean[2 * i + 1] - my;
        num += ax * bx + ay * by;
        den += bx * bx + by * by;
    }
    double s = num / den;
    long L = (long)floor(px - s * mx + 0.5), T = (long)floor(py - s * my + 0.5), side = (long)floor(s + 0.5);
    rect[0] = L, rect[1] = T, rect[2] = L + side, rect[3] = T + side;
}

static int check_image(const uint8_t *grey, int w, int h, mer_err *err) {
    if (!grey || w < 1 || h < 1) return mer_errf(err, "empty image (%dx%d)", w, h);
    return 0;
}

static void predict_into(face_result *r, const shape_model *sm, const uint8_t *grey, int w, int h, const long rect[4]) {
    double pts[FACE_NPTS][2];
    shape_predict(pts, sm, grey, w, h, rect);
    for (int i = 0; i < FACE_NPTS; i++) r->pts[i][0] = (float)pts[i][0], r->pts[i][1] = (float)pts[i][1];
    for (int i = 0; i < 4; i++) r->rect[i] = (double)rect[i];
    r->has_landmarks = 1;
}

/* Landmarks for one cascade box: convert, predict, refine. */
static void landmarks_for_box(face_result *r, const shape_model *sm, const uint8_t *grey, int w, int h) {
    long rect[4];
    face_box_from_cascade(rect, r->box);
    for (int i = 0; i < 4; i++) r->rect[i] = (double)rect[i];
    if (!sm) return;
    double pts[FACE_NPTS][2];
    shape_predict(pts, sm, grey, w, h, rect);
    for (int k = 0; k < FACE_REFINE_ROUNDS; k++) {
        face_box_refit(rect, (const double(*)[2])pts, sm);
        shape_predict(pts, sm, grey, w, h, rect);
    }
    for (int i = 0; i < FACE_NPTS; i++) r->pts[i][0] = (float)pts[i][0], r->pts[i][1] = (float)pts[i][1];
    for (int i = 0; i < 4; i++) r->rect[i] = (double)rect[i];
    r->has_landmarks = 1;
}

static int detect(int (**boxes)[4], int *n, const face_models *m, const uint8_t *grey, int w, int h,
                  const face_opts *o, mer_err *err) {
    cascade_opts co = {1.1, 3, 0, 0, 0, 0};
    if (o) {
        if (o->scale_factor != 0) co.scale_factor = o->scale_factor;
        if (o->min_neighbors != 0) co.min_neighbors = o->min_neighbors < 0 ? 0 : o->min_neighbors;
        co.min_w = co.min_h = o->min_size;
        co.max_w = co.max_h = o->max_size;
    }
    return cascade_detect(boxes, n, m->cas, grey, w, h, &co, err);
}

int face_find_all(face_result **faces, int *nfaces, const face_models *m, const uint8_t *grey, int w, int h,
                  const face_opts *o, mer_err *err) {
    *faces = NULL;
    *nfaces = 0;
    if (check_image(grey, w, h, err) < 0) return -1;
    int(*boxes)[4] = NULL, n = 0;
    if (detect(&boxes, &n, m, grey, w, h, o, err) < 0) return -1;
    if (n == 0) return 0;
    face_result *r = mer_calloc((size_t)n, sizeof *r, err);
    if (!r) {
        free(boxes);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        memcpy(r[i].box, boxes[i], sizeof r[i].box);
        landmarks_for_box(&r[i], m->shape, grey, w, h);
    }
    free(boxes);
    *faces = r;
    *nfaces = n;
    return 0;
}

int face_find(face_result *best, const face_models *m, const uint8_t *grey, int w, int h, const face_opts *o,
              mer_err *err) {
    memset(best, 0, sizeof *best);
    if (check_image(grey, w, h, err) < 0) return -1;
    int(*boxes)[4] = NULL, n = 0;
    if (detect(&boxes, &n, m, grey, w, h, o, err) < 0) return -1;
    if (n == 0) return 1;
    int k = 0;
    for (int i = 1; i < n; i++)
        if ((long)boxes[i][2] * boxes[i][3] > (long)boxes[k][2] * boxes[k][3]) k = i;
    memcpy(best->box, boxes[k], sizeof best->box);
    free(boxes);
    landmarks_for_box(best, m->shape, grey, w, h);
    return 0;
}

int face_landmarks(face_result *r, const face_models *m, const uint8_t *grey, int w, int h, const long rect[4],
                   mer_err *err) {
    memset(r, 0, sizeof *r);
    if (check_image(grey, w, h, err) < 0) return -1;
    if (!m->shape) return mer_errf(err, "no shape predictor loaded");
    if (rect[2] < rect[0] || rect[3] < rect[1])
        return mer_errf(err, "invalid box %ld,%ld,%ld,%ld (need right >= left and bottom >= top)", rect[0], rect[1],
                        rect[2], rect[3]);
    predict_into(r, m->shape, grey, w, h, rect);
    return 0;
}
