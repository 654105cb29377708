/* dlib's shape predictor (ensemble of regression trees, Kazemi & Sullivan 2014) in plain C:
 * reads dlib's serialised shape_predictor (shape_predictor_68_face_landmarks.dat, package
 * libdlib-data) and predicts landmarks exactly as dlib::shape_predictor::operator() does
 * (checked against dlib by tests/unit/test_landmarks.c on tests/fixtures/face/dlib_landmarks.txt).
 *
 * Layout: the image is 8-bit grey, row-major, w x h (grey[y*w + x]); pixel intensities are read
 * at the nearest pixel, no interpolation. A rectangle is dlib's: inclusive corners
 * {left, top, right, bottom}, so right = left + width - 1. Points are {x, y} in image pixels.
 *
 * Memory: the 68-point model holds 15 x 500 trees with 16 leaves of 136 floats: ~65 MB.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef struct shape_model shape_model;

/* Read a dlib shape_predictor file. Errors name the file, the byte offset and what was expected. */
int shape_model_load(shape_model **m, const char *path, mer_err *err);
/* Same from memory (used by the fuzzer); `path` only appears in messages. */
int shape_model_load_mem(shape_model **m, const uint8_t *data, size_t len, const char *path, mer_err *err);
void shape_model_free(shape_model *m);
int shape_model_parts(const shape_model *m); /* number of landmarks (68) */
/* The mean shape in box-normalised units: x = pts[2i], y = pts[2i+1]. */
const float *shape_model_mean(const shape_model *m);

/* pts[i] = (x, y) of landmark i before dlib's final rounding: dlib's integer point is
 * (floor(x + 0.5), floor(y + 0.5)). pts must hold shape_model_parts(m) points.
 * rect = {L, T, R, B} inclusive. Never fails for a loaded model and a non-empty image (except out of memory
 * for models with > 256 parts or > 1024 feature pixels per level, which dlib's are not: points are NaN then). */
void shape_predict(double (*pts)[2], const shape_model *m, const uint8_t *grey, int w, int h, const long rect[4]);
