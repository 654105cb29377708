/* Face registration front end: OpenCV cascade detection + dlib 68-point landmarks, in our own C.
 *
 *   face_models *m;
 *   face_models_load(&m, "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
 *                    "/usr/share/dlib/shape_predictor_68_face_landmarks.dat", &err);
 *   face_result r;
 *   int rc = face_find(&r, m, grey, w, h, NULL, &err);   // 0 found, 1 no face, -1 error
 *
 * Images are 8-bit grey, row-major, w x h, stride w (grey[y*w + x]); for colour input convert with
 * OpenCV's BGR2GRAY formula (io/media/image.h does, image_load(..., 1, ...)).
 *
 * Pipeline for each face:
 * 1. cascade_detect: the boxes OpenCV's CascadeClassifier::detectMultiScale returns (x, y, w, h).
 * 2. face_box_from_cascade: a square dlib-style box (inclusive corners L, T, R, B) from the cascade
 *    box: L = x + 0.022 w, T = y + 0.098 h, side = 0.926 (w + h) / 2 (all rounded half-even).
 * 3. shape_predict on that box, then FACE_REFINE_ROUNDS times: refit the square box to the
 *    landmarks (face_box_refit: least-squares scale + translation of the model's mean shape onto
 *    dlib's integer points) and predict again, as dlib's author recommends.
 * Everything is deterministic and thread-safe for a shared, loaded face_models.
 */
#pragma once
#include <stdint.h>

#include "core/face/cascade.h"
#include "io/base/err.h"
#include "core/face/landmarks.h"

#define FACE_NPTS 68
#define FACE_REFINE_ROUNDS 2

typedef struct face_models face_models;

/* Load a cascade XML and, unless landmarks_dat is NULL, dlib's 68-point shape predictor (~1 s, 65 MB). */
int face_models_load(face_models **m, const char *cascade_xml, const char *landmarks_dat, mer_err *err);
void face_models_free(face_models *m);
const cascade *face_models_cascade(const face_models *m);
const shape_model *face_models_shape(const face_models *m); /* NULL if loaded without landmarks */

/* Detector options; zero fields take OpenCV's defaults (scale 1.1, 3 neighbours, no min/max size).
 * min_neighbors < 0 means 0 (raw boxes, no grouping). A NULL face_opts* means all defaults. */
typedef struct {
    double scale_factor;
    int min_neighbors, min_size, max_size;
} face_opts;

typedef struct {
    int box[4];                 /* x, y, w, h: the cascade's box as OpenCV returns it */
    double rect[4];             /* dlib-style box l, t, r, b (inclusive) the landmarks were predicted in */
    float pts[FACE_NPTS][2];    /* landmarks (x, y) in pixels, iBUG-68 order, before dlib's rounding */
    int has_landmarks;          /* 0 if the models were loaded without a shape predictor */
} face_result;

/* The largest face (by cascade box area; ties: the first in OpenCV's output order).
 * Returns 0 found, 1 no face (best is zeroed), -1 error (empty image, bad options). */
int face_find(face_result *best, const face_models *m, const uint8_t *grey, int w, int h, const face_opts *o,
              mer_err *err);
/* Every face, in OpenCV's output order: *faces malloc'ed (NULL if *n == 0), caller frees. */
int face_find_all(face_result **faces, int *n, const face_models *m, const uint8_t *grey, int w, int h,
                  const face_opts *o, mer_err *err);
/* Landmarks for a given dlib rectangle (no detection, no refinement): face_result with has_landmarks. */
int face_landmarks(face_result *r, const face_models *m, const uint8_t *grey, int w, int h, const long rect[4],
                   mer_err *err);

/* Step 2 and the refit of step 3, exposed for tests and for reuse across video frames. */
void face_box_from_cascade(long rect[4], const int box[4]);
void face_box_refit(long rect[4], const double (*pts)[2], const shape_model *sm);
