/* Apex spotting: which frame of a clip shows the micro-expression at its strongest, measured on the clip's
 * ALIGNED face crops (core/prep.h warps every frame with the onset frame's transform).
 *
 * Method (APEX_SPOT_DIFF, the default), per frame t after the onset frame 0:
 *   1. blur: separable Gaussian, sigma = blur * w px (sensor noise, JPEG blocks);
 *   2. register: a residual translation of frame t against the onset is estimated by Lucas-Kanade on the
 *      face mask and undone (alignment uses one transform per clip, so head motion after the onset is left);
 *      each iteration starts from the previous frame's estimate, so slow drift of several px is followed;
 *   3. normalise: subtract the mean and divide by the standard deviation within the face mask (global flicker:
 *      a change of gain and offset leaves the normalised frame as it was);
 *   4. score: |frame t - onset| weighted by the face mask, averaged per cell of a grid x grid grid; the frame's
 *      score is the mean of the `top` share of cells that changed most (a micro-expression moves a few regions
 *      - brows, eyes, mouth corners - while noise spreads evenly over all cells);
 *   5. the curve of scores is smoothed over time (Gaussian, sigma `smooth` frames) and the apex is its argmax
 *      after the onset (the earliest on ties).
 * A clip without any change (every score below 1e-6) has no maximum: the apex is then the middle frame after
 * the onset and r->flat is set.
 *
 * Face mask: an ellipse placed by the alignment template (eye_y, eye_dist as in core/face/align.h), full weight
 * inside 85 % of its radius and a cosine taper to 0 at the rim; the border of the crop (background, hair, the
 * black fill of the warp) gets none. The eyes themselves are left out (an ellipse of half-width `eyes` x the
 * eye distance around each template eye centre, tapered): a blink changes them more than any micro-expression
 * and is not one; brows, lids' surroundings, cheeks and mouth stay. Or a caller-given h x w weight map.
 *
 * Frames: grey, row-major h x w float32, any scale (e.g. [0,1] or 0..255; scores are scale-free). The onset
 * frame comes first in the streaming API; apex_spot takes a whole clip with the onset at any index.
 * No globals; workspace is allocated per spotter. A 150-frame clip at 112 px takes about 0.2 s of one core.
 */
#pragma once
#include "io/base/err.h"

typedef enum { APEX_SPOT_DIFF = 0, APEX_SPOT_METHOD_COUNT } apex_spot_method;

typedef struct {
    apex_spot_method method; /* APEX_SPOT_DIFF (default) */
    double blur;             /* spatial Gaussian sigma as a fraction of the crop width (0.015: 1.7 px at 112) */
    double smooth;           /* temporal Gaussian sigma of the curve, frames (1.0; 0 = none) */
    int reg;                 /* 1: undo residual translation against the onset (default 1) */
    int grid;                /* cells per side of the scoring grid (6) */
    double top;              /* share of cells averaged into a frame's score, (0, 1] (0.34) */
    double eye_y, eye_dist;  /* alignment template of the crops (0.35, 0.40: preprocess.* defaults) */
    double eyes;             /* half-width of the left-out eye regions / eye distance (0.3; 0 = keep the eyes) */
    const float *mask;       /* h x w weights >= 0, or NULL: the template ellipse */
} apex_spot_options;

/* The defaults listed above. */
apex_spot_options apex_spot_defaults(void);
/* Check the settings; err names the first bad one (kind MER_ERR_CONFIG). */
int apex_spot_check(const apex_spot_options *o, mer_err *err);
/* "diff" (or "?"): the name written in configs and results. */
const char *apex_spot_method_name(apex_spot_method m);

typedef struct {
    int apex;    /* index into the frames given (apex_spot) or frames added (streaming: 0 = onset), > onset */
    int flat;    /* 1: nothing changed; apex = the middle frame after the onset */
    float peak;  /* smoothed score at the apex (mask-normalised units: ~0.05 noise, 0.2-1 expressions) */
} apex_spot_result;

/* The whole clip: frames (n, h, w), onset index in [0, n-2]. curve (optional, n floats, caller-owned) gets the
 * smoothed score of every frame (0 up to and including the onset). Fails on n < 2, onset out of range, h or
 * w < 8, bad options, out of memory. */
int apex_spot(apex_spot_result *r, float *curve, const float *frames, int n, int h, int w, int onset,
              const apex_spot_options *o, mer_err *err);

/* Streaming form (frames decoded one at a time, e.g. core/prep.c): add the onset frame, then every later
 * frame in order; finish spots among the frames added. curve (optional) gets apex_spotter_count() floats. */
typedef struct apex_spotter apex_spotter;
int apex_spotter_new(apex_spotter **s, int h, int w, const apex_spot_options *o, mer_err *err);
int apex_spotter_add(apex_spotter *s, const float *frame, mer_err *err);
int apex_spotter_count(const apex_spotter *s);
int apex_spotter_finish(apex_spotter *s, apex_spot_result *r, float *curve, mer_err *err);
void apex_spotter_free(apex_spotter *s); /* NULL-safe */

/* The template mask (h x w) used when options give none: face ellipse minus the eye regions. */
void apex_spot_mask_template(float *mask, int h, int w, double eye_y, double eye_dist, double eyes);
