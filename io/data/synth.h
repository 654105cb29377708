/* Synthetic micro-expression data: procedurally rendered faces with action-unit-like motions.
 *
 * Purpose: exercise the whole pipeline (face detection, landmarks, alignment, magnification, training,
 * LOSO) without the licensed datasets. The output is a dataset in the CASME II layout:
 *     OUT/sub01/EP03_07/img1234.jpg ... (frames onset..offset, numbered from a random start)
 *     OUT/coding.csv   Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion
 * so the CASME II reader reads it back unchanged.
 *
 * Rendering model (everything analytic, no image is shipped):
 * - Per subject an identity (face ellipse, feature positions and sizes, skin tone, hair, background,
 *   light direction, a skin texture of value noise) rendered once as a neutral face at 2x resolution.
 * - Each frame is an inverse warp of that neutral image with bilinear sampling: a head pose (sub-pixel
 *   translation jitter and a tiny rotation) composed with a smooth displacement field (sum of Gaussian
 *   bumps at facial landmarks, the "action units"), scaled by the temporal profile: raised cosine from 0
 *   at onset to 1 at apex and back to 0 at offset. Motion is therefore sub-pixel and continuous.
 * - Then a global illumination flicker (gain ~ +-1 %) and Gaussian sensor noise (sigma ~ 1.5 grey levels).
 * - The class is only the motion pattern (see synth_class_table in synth.c). Apex displacement is
 *   0.5-3 px: base 1.6 px x per-subject intensity (0.6-1.4) x per-sample intensity (0.75-1.25), clamped.
 *
 * Determinism: one small PRNG (splitmix64) seeded per subject and per clip from (seed, subject, clip),
 * so the same seed gives byte-identical files (JPEG through FFmpeg at a fixed quality is deterministic).
 *
 * Image layout: row-major HWC uint8 RGB (io/media/image.h mer_image).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef struct {
    int subjects;            /* number of subjects (sub01, ..., sub99, sub100, ...; at most 999) */
    int per_class;           /* clips per class per subject */
    int width, height;       /* frame size in px */
    int fps;                 /* nominal frame rate (metadata for video output) */
    uint64_t seed;
    const char *const *classes; /* class names (must be known to the generator); NULL = default set */
    size_t n_classes;
    int video;               /* 0: frame folders imgN.jpg; 1: one video per clip, SUBJ/CLIP.avi (Motion-JPEG 4:4:4,
                                quality 2), annotated with 0-based frame indices as io/media/video.h numbers them */
    int threads;             /* <= 1: serial (output is identical for any thread count) */
} synth_opts;

/* The defaults used by `mer synth` and dataset.format = synth: 8 subjects x 5 classes x 4 clips,
 * 320x240, 100 fps, seed 1, the CASME II 5-class set (happiness, disgust, repression, surprise, others). */
void synth_opts_default(synth_opts *o);

/* Generate the dataset into out_dir (created; must not already hold a coding.csv). The coding CSV is
 * written to annotations_path (NULL = OUT/coding.csv) after all frames, so a present CSV means complete. */
int synth_generate(const char *out_dir, const char *annotations_path, const synth_opts *o, mer_err *err);

/* One line describing the options that determine the generated data ("subjects=8 per_class=4 size=320x240
 * fps=100 seed=1 format=frames classes=happiness,..."); synth_generate writes it to OUT/synth.params so a
 * reader can tell whether existing data was generated with the same parameters. */
void synth_params_text(char *buf, size_t n, const synth_opts *o);

/* Names of all motion classes the generator knows and the default set. */
size_t synth_known_classes(const char *const **names);
size_t synth_default_classes(const char *const **names);
int synth_class_index(const char *name); /* -1 when unknown; case-insensitive */

/* ---- lower level, for tests and the face-detection check ---------------------------------------- */

typedef struct synth_subject synth_subject; /* opaque: identity + neutral face at 2x */

/* Build subject `index` (0-based) of a seed for a w x h frame. */
int synth_subject_new(synth_subject **s, uint64_t seed, int index, int w, int h, mer_err *err);
void synth_subject_free(synth_subject *s);

/* One frame description: motion class, apex amplitude in px, progress in [0,1] of the motion (0 neutral,
 * 1 apex), head pose offset in px and rotation in radians, gain, noise sigma and noise seed. */
typedef struct {
    int cls;              /* synth_class_index, -1 = neutral */
    int variant;          /* for "others": which single action (any int, taken modulo the pool) */
    double amplitude_px;  /* peak displacement at the apex */
    double progress;      /* 0..1 */
    double dx, dy, rot;   /* head pose */
    double gain;          /* illumination multiplier (1 = none) */
    double noise_sigma;   /* grey levels */
    uint64_t noise_seed;
} synth_frame_desc;

/* Render into rgb (w*h*3 bytes, HWC). Pure function of (subject, desc); fails only when out of memory. */
int synth_render(uint8_t *rgb, const synth_subject *s, const synth_frame_desc *f, mer_err *err);
/* Displacement (px) by which the motion of f moves the content at each pixel centre: uxy[(y*w+x)*2 + {0,1}]
 * (w*h*2 floats). Head pose not included. Used by tests to check amplitudes. */
void synth_displacement_field(float *uxy, const synth_subject *s, const synth_frame_desc *f);
/* Face box of the subject in the frame (x, y, w, h px): the rendered face ellipse's bounding box. */
void synth_face_box(double box[4], const synth_subject *s);
/* Ground-truth points at rest (no pose, no motion), px, as (x, y) pairs in iBUG-68 terms: [0] centre of the
 * subject's right eye (image left; compare with mean of landmarks 36-41), [1] left eye (42-47), [2] nose tip
 * (30), [3] right mouth corner (48), [4] left mouth corner (54). */
void synth_face_points(double pts[10], const synth_subject *s);
