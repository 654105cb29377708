/* OpenCV cascade classifier (new XML format, BOOST stages, HAAR or LBP features) and a
 * detectMultiScale that returns the same rectangles as OpenCV 4.x's CascadeClassifier on the
 * same 8-bit grey image (cascade.c says how; tests/integration/test_face_parity.sh checks every fixture case).
 *
 * Layout: images are 8-bit grey, row-major, w x h, stride w (grey[y*w + x]).
 * Boxes are {x, y, w, h} in image pixels, as cv::Rect.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef struct cascade cascade;

/* Load a cascade XML (haarcascade_*.xml, lbpcascade_*.xml). Errors name the file and the reason. */
int cascade_load(cascade **c, const char *path, mer_err *err);
/* Same from an in-memory XML document (used by the fuzzer); `path` only appears in messages. */
int cascade_load_mem(cascade **c, const char *xml, size_t len, const char *path, mer_err *err);
void cascade_free(cascade *c);
/* Window size the cascade was trained on (e.g. 24x24). */
void cascade_window(const cascade *c, int *win_w, int *win_h);

typedef struct {
    double scale_factor; /* > 1, OpenCV default 1.1 */
    int min_neighbors;   /* OpenCV default 3; <= 0 returns the raw candidates (no grouping) */
    int min_w, min_h;    /* minimum object size, 0 = none */
    int max_w, max_h;    /* maximum object size, 0 = image size */
} cascade_opts;

/* boxes: malloc'ed array of n {x,y,w,h} (NULL when n == 0), owned by the caller.
 * Equivalent to cv::CascadeClassifier::detectMultiScale(grey, boxes, scale_factor, min_neighbors,
 * 0, (min_w,min_h), (max_w,max_h)). Boxes are in OpenCV's grouping order (class order of first
 * appearance), candidates themselves scanned scale by scale, row by row. */
int cascade_detect(int (**boxes)[4], int *n, const cascade *c, const uint8_t *grey, int w, int h,
                   const cascade_opts *o, mer_err *err);

/* Building blocks, exposed for tests. */
/* OpenCV's cv::resize(src, dst, Size(dw,dh), 0, 0, INTER_LINEAR_EXACT) for 8-bit single channel
 * (the interpolation OpenCV's cascade pyramid uses). */
int cv_resize_linear_exact_u8(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh, mer_err *err);
/* cv::groupRectangles(rects, min_neighbors, 0.2) in place; *n is updated. */
int cv_group_rectangles(int (*rects)[4], int *n, int min_neighbors, mer_err *err);
