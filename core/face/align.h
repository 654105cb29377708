/* Face alignment for micro-expression clips: ONE similarity transform per clip, computed from the onset
 * frame's 68 landmarks (iBUG-68, 0-based), applied to every frame needed. Per-frame landmarks
 * would add jitter larger than the motions we study.
 *
 * Coordinates: pixel centres at integer positions (OpenCV and dlib convention); x right, y down.
 * Transform: a 2x3 row-major matrix M = {m0,m1,m2, m3,m4,m5} mapping a SOURCE pixel (x,y) to the ALIGNED pixel
 *     x' = m0*x + m1*y + m2,   y' = m3*x + m4*y + m5
 * (the matrix cv2.warpAffine takes). A similarity has m0 = m4 = s*cos(a), m3 = -m1 = s*sin(a).
 *
 * Template (output size S): the eye centres — left = mean(p36..p41) (image-left, the subject's right eye) and
 * right = mean(p42..p47) — go to ((0.5 - eye_dist/2)*S, eye_y*S) and ((0.5 + eye_dist/2)*S, eye_y*S): eye line
 * horizontal, inter-ocular distance eye_dist*S, centred horizontally.
 *
 * Warp: out(u,v) = bilinear sample of src at M^-1 (u,v), in double precision, rounded to nearest; source
 * pixels outside the image count as 0 (black, like OpenCV's BORDER_CONSTANT). Grey output converts the
 * source with OpenCV's formula (io/media/image.h) BEFORE warping.
 * Images: io/media/image.h layout (HWC uint8).
 */
#pragma once
#include <stddef.h>

#include "io/base/err.h"
#include "io/media/image.h"

#define ALIGN_N_LANDMARKS 68

typedef struct {
    int size;        /* output side S in px (square) */
    double eye_y;    /* eye line height as a fraction of S (e.g. 0.40) */
    double eye_dist; /* inter-ocular distance as a fraction of S (e.g. 0.35) */
    int grey;        /* 1: single-channel output */
} align_opts;

/* Eye centres from 68 landmarks {x0,y0,x1,y1,...}: eyes[0..1] = left (p36..41), eyes[2..3] = right (p42..47). */
void align_eye_centres(double eyes[4], const float *landmarks68);
/* M from the landmarks and the template. Fails when the eyes coincide or values are not finite. */
int align_transform(double M[6], const float *landmarks68, const align_opts *o, mer_err *err);
/* The similarity mapping two source points exactly onto two target points (p0->q0, p1->q1). */
int align_similarity_2pt(double M[6], const double p0[2], const double p1[2], const double q0[2], const double q1[2],
                         mer_err *err);
int affine_invert(double inv[6], const double M[6], mer_err *err);
/* dst[i] = M applied to src[i], for n points {x,y} (dst may equal src). */
void affine_apply_points(float *dst, const float *src, size_t n, const double M[6]);
/* out (allocated, S x S x (grey ? 1 : src->c)) = src warped by M. */
int align_warp(mer_image *out, const mer_image *src, const double M[6], const align_opts *o, mer_err *err);
