/* LBP-TOP: local binary patterns on three orthogonal planes (Zhao and Pietikainen, PAMI 2007), the
 * classical micro-expression baseline of MEGC2019 and of the patent's comparison row.
 *
 * Layout: a grey volume is float [T][H][W], row-major (t slowest, x fastest), any value range.
 *
 * One plane's operator, at a centre pixel g_c, with P neighbours on an ellipse of radii (Rr, Rc) along
 * the plane's (row, column) axes, exactly as skimage.feature.local_binary_pattern (0.19) samples a circle:
 *   neighbour i (0..P-1):  row offset dr_i = round5(-Rr sin(2 pi i / P)), column offset
 *                          dc_i = round5(Rc cos(2 pi i / P)), round5 = rounding to 5 decimals;
 *   its value g_i by bilinear interpolation in double (skimage's operation order), bit s_i = g_i >= g_c.
 * The planes (row axis, column axis, radii):
 *   XY  (y, x), (Ry, Rx), one plane per frame t      XT  (t, x), (Rt, Rx), one plane per row y
 *   YT  (t, y), (Rt, Ry), one plane per column x
 * With Rr = Rc the XY operator is skimage's local_binary_pattern(frame, P, R, method) on that frame, and
 * XT/YT are the same call on vol[:, y, :] and vol[:, :, x] (tests/ref/lbptop_ref.py checks this).
 *
 * Code mappings (s_0 is the least significant bit of the raw pattern):
 *   LBPTOP_U2   skimage 'nri_uniform', the classic 59-bin u2 histogram at P = 8 (P(P-1)+3 codes):
 *               0 = all zeros, P(P-1)+1 = all ones, P(P-1)+2 = every non-uniform pattern (more than two
 *               0/1 transitions), else 1 + (ones-1) P + rot (rot: the pattern's rotation index).
 *               The same 59 bins as Ojala's getmapping(8,'u2'), numbered in another order.
 *   LBPTOP_RIU2 skimage 'uniform', rotation invariant (P+2 codes): number of ones if uniform, else P+1.
 *
 * Which pixels count: only centres whose whole neighbourhood lies inside the volume in all three
 * dimensions, x in [ceil Rx, W - ceil Rx), y in [ceil Ry, H - ceil Ry), t in [ceil Rt, T - ceil Rt), the
 * same centre set on every plane (as Zhao's LBPTOP.m); so interpolation never reads outside the volume.
 *
 * Features: the volume is cut into grid_t x grid_rows x grid_cols blocks, block (s, r, c) covering
 * t in [s T / grid_t, (s+1) T / grid_t) (integer division), likewise y and x. Each block has three
 * histograms (XY, XT, YT) of the codes at its counted centres, each normalised to sum 1 (all zeros when
 * the block has no counted centre). Order of the feature vector:
 *   for s in time segments, for r in block rows, for c in block columns: XY bins, XT bins, YT bins
 * so its length is grid_t grid_rows grid_cols (bins(P_xy) + bins(P_xt) + bins(P_yt)).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

typedef enum { LBPTOP_U2 = 0, LBPTOP_RIU2, LBPTOP_MAPPING_COUNT } lbptop_mapping;

typedef enum { LBPTOP_XY = 0, LBPTOP_XT, LBPTOP_YT, LBPTOP_PLANE_COUNT } lbptop_plane;

typedef struct {
    int grid_rows, grid_cols, grid_t; /* blocks along y, x and t (grid_t = 1: the whole clip) */
    double rx, ry, rt;                /* radii along x, y (pixels) and t (frames), > 0 */
    int p_xy, p_xt, p_yt;             /* neighbours per plane, 3..32 */
    lbptop_mapping mapping;
} lbptop_options;

/* MEGC2019's baseline settings: 5x5 blocks, one time segment, radii 1, 1, 1, 8 neighbours, u2. */
lbptop_options lbptop_defaults(void);
/* "u2" | "riu2" -> mapping; -1 if unknown. */
int lbptop_mapping_parse(const char *s, lbptop_mapping *m);
const char *lbptop_mapping_name(lbptop_mapping m);

/* Number of codes of one plane's mapping with P neighbours: P(P-1)+3 (u2) or P+2 (riu2). */
int lbptop_bins(int p, lbptop_mapping m);
/* Length of the feature vector of o (see the order above). */
size_t lbptop_feature_len(const lbptop_options *o);
/* Checks o against a T x H x W volume: positive grid and radii, P in 3..32, at least one counted
 * centre, no more blocks than pixels along any axis. Fills err naming the setting. */
int lbptop_check(const lbptop_options *o, int T, int H, int W, mer_err *err);

/* The code of every counted centre of one plane: codes is int16 [T][H][W], -1 where the pixel is not
 * a counted centre. */
int lbptop_codes(int16_t *codes, const float *vol, int T, int H, int W, lbptop_plane plane,
                 const lbptop_options *o, mer_err *err);

/* The LBP-TOP feature vector of vol: feat has lbptop_feature_len(o) floats. */
int lbptop_features(float *feat, const float *vol, int T, int H, int W, const lbptop_options *o, mer_err *err);

/* Grey volume from T planar RGB frames (T, 3, H, W) as the FEATURES stage holds them:
 * grey = 0.299 R + 0.587 G + 0.114 B (ITU-R BT.601, as OpenCV's and MATLAB's rgb2gray). */
void lbptop_grey_from_planar_rgb(float *grey, const float *rgb, int T, int H, int W);
