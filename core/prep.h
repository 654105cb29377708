/* Preprocessing of one sample (step 2 of the method): find the face and its 68 landmarks on the ONSET frame,
 * compute one similarity transform (core/face/align.h), and apply it to the onset and apex frames.
 * Without an apex (apex < 0), or with one outside the clip (or before the onset) when o->spot_fallback is set,
 * the apex is SPOTTED: every frame of the span is aligned with the same transform (grey) and
 * core/spot/apex.h picks the frame that moved most against the onset.
 *
 * Output per sample (prep_result): aligned onset and apex frames, S x S x C uint8 (HWC; C = 1 when
 * preprocess.grey, else 3 RGB), the 2x3 transform (source px -> aligned px), the 68 onset landmarks and the
 * face box in source pixel coordinates, and the frame numbers used. With o->sequence = n > 0 also n frames
 * sampled evenly from the onset to the apex (the first is the onset, the last the apex; a span shorter than
 * n repeats frames), warped the same way: the unmagnified frames LBP-TOP reads with magnify.method none.
 *
 * HDF5 layout written by prep_result_write under GROUP (io/h5.h):
 *   GROUP/onset       u8  (S,S,C)
 *   GROUP/apex        u8  (S,S,C)
 *   GROUP/transform   f64 (2,3)     source pixel (x,y,1) -> aligned pixel
 *   GROUP/landmarks   f32 (68,2)    onset frame, source pixels (x,y), iBUG-68 order
 *   GROUP/box         i64 (4)       face box x,y,w,h (source pixels) the landmarks were fitted in
 *   GROUP/frames      i64 (2)       onset and apex frame numbers (io/media/video.h numbering)
 *   GROUP/spot/given  i64 ()        only when the apex was spotted: the apex asked for (-1 = none)
 *   GROUP/spot/frames i64 (n)       the frame numbers of the span searched (onset first)
 *   GROUP/spot/curve  f32 (n)       the smoothed motion score of each of them (core/spot/apex.h)
 *   GROUP/sequence        u8  (n,S,S,C)  only with o->sequence = n: the onset->apex frames
 *   GROUP/sequence_frames i64 (n)        their frame numbers
 */
#pragma once
#include <hdf5.h>

#include "core/face/align.h"
#include "core/spot/apex.h"
#include "io/base/err.h"
#include "io/media/image.h"

typedef struct {
    align_opts align;     /* size, eye_y, eye_dist, grey */
    double scale_factor;  /* cascade pyramid step */
    int min_neighbors;    /* cascade grouping */
    int min_face;         /* smallest face searched, px */
    int threads;          /* video decoder threads (0 = 1) */
    apex_spot_options spot; /* apex spotting (its eye_y/eye_dist/mask are ignored: align's template is used) */
    int spot_fallback;    /* 1: an apex given outside the clip's onset..offset frames is spotted (else an error) */
    int sequence;         /* > 0: also this many aligned frames from the onset to the apex (0: none) */
} prep_opts;

typedef struct {
    mer_image onset, apex;   /* aligned frames */
    double transform[6];
    float landmarks[136];    /* 68 x (x,y) */
    int box[4];              /* x, y, w, h */
    int onset_frame, apex_frame;
    int apex_spotted;        /* 1: apex_frame was spotted (apex_given < 0, or outside the clip) */
    int apex_given;          /* the apex asked for (-1: none) */
    int n_spot;              /* spotted: frames searched, with their numbers and scores (else 0, NULL) */
    int *spot_frames;
    float *spot_curve;
    int n_seq;               /* o->sequence: the onset->apex frames, n_seq x (S,S,C) like onset, and */
    uint8_t *seq;            /* their frame numbers (else 0, NULL) */
    int *seq_frames;
} prep_result;

void prep_result_free(prep_result *r);

typedef struct face_models face_models; /* core/face/face.h: cascade + dlib shape predictor, loaded once */

/* The per-sample stage: decode the onset frame of the clip, find the largest face and its 68 landmarks
 * (face_find on the OpenCV-grey onset frame), compute the transform, warp the onset and apex frames.
 * apex < 0: spot it among the frames onset..offset (offset < 0: up to the last frame of the clip); an apex
 * that is not a frame of the clip or lies before the onset is spotted as well when o->spot_fallback is set
 * (out->apex_spotted tells; out->apex_given keeps what was asked).
 * This is the one call for a whole clip (mer run's PREP stage, mer predict): decoded, aligned, apex chosen.
 * Fails (err names the clip and frame) when the clip or a frame cannot be read, no face is found, or a clip
 * to spot in has fewer than 2 frames from the onset on. */
int prep_sample(prep_result *out, const char *clip_path, int onset, int apex, int offset, const prep_opts *o,
                const face_models *m, mer_err *err);
/* The same for one image (mer face align): out->onset is the aligned crop, out->apex stays empty. */
int prep_image(prep_result *out, const mer_image *img, const prep_opts *o, const face_models *m, mer_err *err);

/* Alignment part, with the onset landmarks already known (tests; callers with their own landmarks). */
int prep_sample_landmarks(prep_result *out, const char *clip_path, int onset, int apex, int offset,
                          const prep_opts *o, const float *landmarks68, const int box[4], mer_err *err);

int prep_result_write(hid_t loc, const char *group, const prep_result *r, mer_err *err);
int prep_result_read(prep_result *r, hid_t loc, const char *group, mer_err *err);
