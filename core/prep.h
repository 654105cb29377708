/* Preprocessing of one sample (step 2 of the method): find the face and its 68 landmarks on the ONSET frame,
 * compute one similarity transform (core/face/align.h), and apply it to the onset and apex frames.
 *
 * Output per sample (prep_result): aligned onset and apex frames, S x S x C uint8 (HWC; C = 1 when
 * preprocess.grey, else 3 RGB), the 2x3 transform (source px -> aligned px), the 68 onset landmarks and the
 * face box in source pixel coordinates, and the frame numbers used.
 *
 * HDF5 layout written by prep_result_write under GROUP (io/h5.h):
 *   GROUP/onset       u8  (S,S,C)
 *   GROUP/apex        u8  (S,S,C)
 *   GROUP/transform   f64 (2,3)     source pixel (x,y,1) -> aligned pixel
 *   GROUP/landmarks   f32 (68,2)    onset frame, source pixels (x,y), iBUG-68 order
 *   GROUP/box         i64 (4)       face box x,y,w,h (source pixels) the landmarks were fitted in
 *   GROUP/frames      i64 (2)       onset and apex frame numbers (io/media/video.h numbering)
 */
#pragma once
#include <hdf5.h>

#include "core/face/align.h"
#include "io/base/err.h"
#include "io/media/image.h"

typedef struct {
    align_opts align;     /* size, eye_y, eye_dist, grey */
    double scale_factor;  /* cascade pyramid step */
    int min_neighbors;    /* cascade grouping */
    int min_face;         /* smallest face searched, px */
    int threads;          /* video decoder threads (0 = 1) */
} prep_opts;

typedef struct {
    mer_image onset, apex;   /* aligned frames */
    double transform[6];
    float landmarks[136];    /* 68 x (x,y) */
    int box[4];              /* x, y, w, h */
    int onset_frame, apex_frame;
} prep_result;

void prep_result_free(prep_result *r);

typedef struct face_models face_models; /* core/face/face.h: cascade + dlib shape predictor, loaded once */

/* The per-sample stage: decode the onset frame of the clip, find the largest face and its 68 landmarks
 * (face_find on the OpenCV-grey onset frame), compute the transform, warp the onset and apex frames.
 * Fails (err names the clip and frame) when the clip or a frame cannot be read or no face is found. */
int prep_sample(prep_result *out, const char *clip_path, int onset, int apex, const prep_opts *o,
                const face_models *m, mer_err *err);
/* The same for one image (mer face align): out->onset is the aligned crop, out->apex stays empty. */
int prep_image(prep_result *out, const mer_image *img, const prep_opts *o, const face_models *m, mer_err *err);

/* Alignment part, with the onset landmarks already known (tests; callers with their own landmarks). */
int prep_sample_landmarks(prep_result *out, const char *clip_path, int onset, int apex, const prep_opts *o,
                          const float *landmarks68, const int box[4], mer_err *err);

int prep_result_write(hid_t loc, const char *group, const prep_result *r, mer_err *err);
int prep_result_read(prep_result *r, hid_t loc, const char *group, mer_err *err);
