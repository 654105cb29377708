/* LBP-TOP (see lbptop.h for the definitions and the layout). */
#include "core/baseline/lbptop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LBPTOP_P_MAX 32

static const char *const mapping_names[] = {"u2", "riu2"};
_Static_assert(sizeof mapping_names / sizeof *mapping_names == LBPTOP_MAPPING_COUNT, "one name per mapping");

lbptop_options lbptop_defaults(void) {
    return (lbptop_options){.grid_rows = 5, .grid_cols = 5, .grid_t = 1, .rx = 1, .ry = 1, .rt = 1,
                            .p_xy = 8, .p_xt = 8, .p_yt = 8, .mapping = LBPTOP_U2};
}

int lbptop_mapping_parse(const char *s, lbptop_mapping *m) {
    for (int i = 0; i < LBPTOP_MAPPING_COUNT; i++)
        if (!strcmp(s, mapping_names[i])) {
            *m = (lbptop_mapping)i;
            return 0;
        }
    return -1;
}

const char *lbptop_mapping_name(lbptop_mapping m) {
    return (unsigned)m < LBPTOP_MAPPING_COUNT ? mapping_names[m] : "?";
}

int lbptop_bins(int p, lbptop_mapping m) { return m == LBPTOP_RIU2 ? p + 2 : p * (p - 1) + 3; }

size_t lbptop_feature_len(const lbptop_options *o) {
    size_t per_block = (size_t)lbptop_bins(o->p_xy, o->mapping) + (size_t)lbptop_bins(o->p_xt, o->mapping) +
                       (size_t)lbptop_bins(o->p_yt, o->mapping);
    return (size_t)o->grid_t * (size_t)o->grid_rows * (size_t)o->grid_cols * per_block;
}

/* First counted centre along an axis of radius r: the whole neighbourhood must be inside. */
static int margin(double r) { return (int)ceil(r); }

int lbptop_check(const lbptop_options *o, int T, int H, int W, mer_err *err) {
    if (o->grid_rows < 1 || o->grid_cols < 1 || o->grid_t < 1)
        return mer_errf(err, "lbptop: grid %dx%d, %d time segments: each must be >= 1", o->grid_rows,
                        o->grid_cols, o->grid_t);
    if (!(o->rx > 0) || !(o->ry > 0) || !(o->rt > 0))
        return mer_errf(err, "lbptop: radii (x %g, y %g, t %g) must be > 0", o->rx, o->ry, o->rt);
    const int ps[3] = {o->p_xy, o->p_xt, o->p_yt};
    static const char *const pn[3] = {"xy", "xt", "yt"};
    for (int i = 0; i < 3; i++)
        if (ps[i] < 3 || ps[i] > LBPTOP_P_MAX)
            return mer_errf(err, "lbptop: %d neighbours on the %s plane: must be in 3..%d", ps[i], pn[i],
                            LBPTOP_P_MAX);
    if ((unsigned)o->mapping >= LBPTOP_MAPPING_COUNT) return mer_errf(err, "lbptop: unknown mapping %d", o->mapping);
    if (T < 1 || H < 1 || W < 1) return mer_errf(err, "lbptop: empty volume %dx%dx%d", T, H, W);
    if (W - 2 * margin(o->rx) < 1 || H - 2 * margin(o->ry) < 1 || T - 2 * margin(o->rt) < 1)
        return mer_errf(err,
                        "lbptop: a %d x %d x %d volume (T x H x W) has no pixel at radii x %g, y %g, t %g from "
                        "its borders",
                        T, H, W, o->rx, o->ry, o->rt);
    if (o->grid_rows > H || o->grid_cols > W || o->grid_t > T)
        return mer_errf(err, "lbptop: %d x %d x %d blocks (t x rows x cols) for a %d x %d x %d volume", o->grid_t,
                        o->grid_rows, o->grid_cols, T, H, W);
    return 0;
}

/* numpy.round(x, 5): scale, round half to even, unscale (as skimage rounds its sample offsets). */
static double round5(double x) { return rint(x * 1e5) / 1e5; }

/* One plane's sampling pattern: offsets along (row, column) of the plane and along (t, y, x) of the
 * volume, and the code mapping. */
typedef struct {
    int p;
    lbptop_mapping mapping;
    double dr[LBPTOP_P_MAX], dc[LBPTOP_P_MAX];
} sampler;

static void sampler_init(sampler *s, int p, double r_row, double r_col, lbptop_mapping m) {
    s->p = p;
    s->mapping = m;
    for (int i = 0; i < p; i++) {
        /* skimage: 2 * np.pi * np.arange(P) / P, in that operation order */
        double a = 2 * M_PI * (double)i / (double)p;
        s->dr[i] = round5(-r_row * sin(a));
        s->dc[i] = round5(r_col * cos(a));
    }
}

/* A 2-D view into the volume: pixel (row, col) at base[row * rs + col * cs]. */
typedef struct {
    const float *base;
    ptrdiff_t rs, cs;
} plane_view;

static double px(const plane_view *v, long r, long c) { return (double)v->base[r * v->rs + c * v->cs]; }

/* skimage's bilinear_interpolation (mode 'C'; never outside here, see the counted centres). */
static double bilinear(const plane_view *v, double r, double c) {
    long minr = (long)floor(r), minc = (long)floor(c), maxr = (long)ceil(r), maxc = (long)ceil(c);
    double dr = r - (double)minr, dc = c - (double)minc;
    double top = (1 - dc) * px(v, minr, minc) + dc * px(v, minr, maxc);
    double bottom = (1 - dc) * px(v, maxr, minc) + dc * px(v, maxr, maxc);
    return (1 - dr) * top + dr * bottom;
}

/* The code at (row, col) of a plane: skimage's _local_binary_pattern, methods 'N' (u2) and 'U' (riu2). */
static int lbp_code(const sampler *s, const plane_view *v, long row, long col) {
    const double centre = px(v, row, col);
    unsigned char bit[LBPTOP_P_MAX];
    const int P = s->p;
    for (int i = 0; i < P; i++)
        bit[i] = bilinear(v, (double)row + s->dr[i], (double)col + s->dc[i]) - centre >= 0;
    /* transitions of the open chain 0..P-1: <= 2 exactly when the circular pattern is uniform */
    int changes = 0, ones = 0, first_one = -1, first_zero = -1;
    for (int i = 0; i < P - 1; i++) changes += bit[i] != bit[i + 1];
    for (int i = 0; i < P; i++) {
        if (bit[i]) {
            ones++;
            if (first_one < 0) first_one = i;
        } else if (first_zero < 0) {
            first_zero = i;
        }
    }
    if (s->mapping == LBPTOP_RIU2) return changes <= 2 ? ones : P + 1;
    if (changes > 2) return P * (P - 1) + 2;
    if (ones == 0) return 0;
    if (ones == P) return P * (P - 1) + 1;
    const int rot = first_one == 0 ? ones - first_zero : P - first_one;
    return 1 + (ones - 1) * P + rot;
}

/* The plane's sampler and the view of the 2-D slice through centre (t, y, x), with (row, col) of the
 * centre in that slice. */
static void plane_setup(sampler *s, const lbptop_options *o, lbptop_plane plane) {
    switch (plane) {
    case LBPTOP_XY: sampler_init(s, o->p_xy, o->ry, o->rx, o->mapping); break;
    case LBPTOP_XT: sampler_init(s, o->p_xt, o->rt, o->rx, o->mapping); break;
    default: sampler_init(s, o->p_yt, o->rt, o->ry, o->mapping); break;
    }
}

static int code_at(const sampler *s, const float *vol, int H, int W, lbptop_plane plane, int t, int y, int x) {
    const ptrdiff_t fs = (ptrdiff_t)H * W;
    plane_view v;
    switch (plane) {
    case LBPTOP_XY: v = (plane_view){vol + (ptrdiff_t)t * fs, W, 1}; return lbp_code(s, &v, y, x);
    case LBPTOP_XT: v = (plane_view){vol + (ptrdiff_t)y * W, fs, 1}; return lbp_code(s, &v, t, x);
    default: v = (plane_view){vol + x, fs, W}; return lbp_code(s, &v, t, y);
    }
}

int lbptop_codes(int16_t *codes, const float *vol, int T, int H, int W, lbptop_plane plane,
                 const lbptop_options *o, mer_err *err) {
    if ((unsigned)plane >= LBPTOP_PLANE_COUNT) return mer_errf(err, "lbptop: unknown plane %d", plane);
    if (lbptop_check(o, T, H, W, err) < 0) return -1;
    sampler s;
    plane_setup(&s, o, plane);
    const int mt = margin(o->rt), my = margin(o->ry), mx = margin(o->rx);
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                const int inside = t >= mt && t < T - mt && y >= my && y < H - my && x >= mx && x < W - mx;
                codes[((size_t)t * H + y) * W + x] = (int16_t)(inside ? code_at(&s, vol, H, W, plane, t, y, x) : -1);
            }
    return 0;
}

/* The block b of n blocks along an axis of length len that holds i: b len / n <= i < (b+1) len / n. */
static int block_of(int i, int len, int n) {
    int b = (int)((long)i * n / len);
    while (b + 1 < n && (long)(b + 1) * len / n <= i) b++;
    while (b > 0 && (long)b * len / n > i) b--;
    return b;
}

int lbptop_features(float *feat, const float *vol, int T, int H, int W, const lbptop_options *o, mer_err *err) {
    if (lbptop_check(o, T, H, W, err) < 0) return -1;
    sampler s[LBPTOP_PLANE_COUNT];
    int bins[LBPTOP_PLANE_COUNT], per_block = 0;
    for (int p = 0; p < LBPTOP_PLANE_COUNT; p++) {
        plane_setup(&s[p], o, (lbptop_plane)p);
        bins[p] = lbptop_bins(s[p].p, o->mapping);
        per_block += bins[p];
    }
    const size_t n = lbptop_feature_len(o);
    double *acc = mer_calloc(n, sizeof *acc, err);
    if (!acc) return -1;
    const int mt = margin(o->rt), my = margin(o->ry), mx = margin(o->rx);
    for (int t = mt; t < T - mt; t++) {
        const int bs = block_of(t, T, o->grid_t);
        for (int y = my; y < H - my; y++) {
            const int br = block_of(y, H, o->grid_rows);
            for (int x = mx; x < W - mx; x++) {
                const int bc = block_of(x, W, o->grid_cols);
                double *h = acc + (((size_t)bs * o->grid_rows + br) * o->grid_cols + bc) * per_block;
                for (int p = 0; p < LBPTOP_PLANE_COUNT; p++) {
                    h[code_at(&s[p], vol, H, W, (lbptop_plane)p, t, y, x)] += 1;
                    h += bins[p];
                }
            }
        }
    }
    for (size_t b = 0; b < n / per_block; b++)
        for (int p = 0, off = 0; p < LBPTOP_PLANE_COUNT; off += bins[p], p++) {
            const double *h = acc + b * per_block + off;
            double sum = 0;
            for (int k = 0; k < bins[p]; k++) sum += h[k];
            for (int k = 0; k < bins[p]; k++) feat[b * per_block + off + k] = sum > 0 ? (float)(h[k] / sum) : 0.0f;
        }
    free(acc);
    return 0;
}

void lbptop_grey_from_planar_rgb(float *grey, const float *rgb, int T, int H, int W) {
    const size_t hw = (size_t)H * W;
    for (int t = 0; t < T; t++) {
        const float *f = rgb + (size_t)t * 3 * hw;
        for (size_t k = 0; k < hw; k++) grey[t * hw + k] = 0.299f * f[k] + 0.587f * f[hw + k] + 0.114f * f[2 * hw + k];
    }
}
