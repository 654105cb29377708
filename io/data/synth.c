/* Synthetic micro-expression renderer and dataset writer (see synth.h for the model).
 *
 * Coordinates: output pixel (i, j) covers the continuous square [i, i+1) x [j, j+1); its centre is
 * (i+0.5, j+0.5). Face coordinates (u, v) are in units of the face half-width `a` (px) around the face
 * centre (cx, cy), v pointing down. The neutral face is rendered at SS x the output resolution. */
#include "io/data/synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/base/rng.h"
#include "io/base/fs.h"
#include "io/media/image.h"
#include "io/media/video.h"
#include "io/base/log.h"

#define SS 2 /* neutral face supersampling factor */

/* ---- random numbers: io/base/rng.h splitmix64, streams derived from (seed, purpose, index) ----------- */

static mer_rng stream3(uint64_t seed, uint64_t a, uint64_t b) { return rng_derive(rng_derive(seed, a).state, b); }
static double unif(mer_rng *r) { return (double)(rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }
static double urange(mer_rng *r, double lo, double hi) { return lo + (hi - lo) * unif(r); }
/* Approximately standard normal: sum of 4 uniforms from one draw, scaled to unit variance (cheap:
 * sensor noise needs ~10^5 draws per frame). */
static double gauss_fast(mer_rng *r) {
    uint64_t x = rng_u64(r);
    double t = (double)(x & 0xFFFF) + (double)((x >> 16) & 0xFFFF) + (double)((x >> 32) & 0xFFFF) +
               (double)(x >> 48);
    return (t / 65536.0 - 2.0) * 1.7320508075688772; /* var of sum of 4 U(0,1) = 1/3 */
}

/* ---- value noise (for skin texture and background) ------------------------------------------- */

static double lattice(uint64_t seed, long ix, long iy) {
    mer_rng r = stream3(seed, (uint64_t)ix, (uint64_t)iy);
    return unif(&r) * 2.0 - 1.0;
}
static double vnoise(uint64_t seed, double x, double y) {
    double fx = floor(x), fy = floor(y);
    long ix = (long)fx, iy = (long)fy;
    double tx = x - fx, ty = y - fy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    double a = lattice(seed, ix, iy), b = lattice(seed, ix + 1, iy);
    double c = lattice(seed, ix, iy + 1), d = lattice(seed, ix + 1, iy + 1);
    return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}
static double fbm(uint64_t seed, double x, double y, int octaves) {
    double sum = 0, amp = 0.5, f = 1;
    for (int o = 0; o < octaves; o++) {
        sum += amp * vnoise(seed + (uint64_t)o * 7919, x * f, y * f);
        f *= 2.03;
        amp *= 0.5;
    }
    return sum;
}

static double smoothstep(double e0, double e1, double x) {
    double t = (x - e0) / (e1 - e0);
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return t * t * (3 - 2 * t);
}
static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }
static void mix_rgb(double c[3], const double d[3], double t) {
    for (int k = 0; k < 3; k++) c[k] += (d[k] - c[k]) * t;
}

/* ---- identity --------------------------------------------------------------------------------- */

struct synth_subject {
    int w, h;
    uint64_t seed;
    double a, cx, cy, bv;          /* face half-width px, centre px, half-height in units of a */
    double ex, ey, erx, ery;       /* eye centre (+-ex, ey) and radii */
    double bx, by, bl, bt, barch;  /* brow centre (+-bx, by), half-length, thickness, arch */
    double ny, nw;                 /* nose tip height and half-width */
    double my, mw, lt;             /* mouth line height, half-width, lip thickness */
    double hairline, hair_side;    /* hairline height at u=0; how far hair comes down the sides */
    double skin[3], hair[3], lip[3], iris[3], bg0[3], bg1[3], cloth[3];
    double lx, ly, ambient;        /* light direction, ambient fraction */
    double tex_amp;                /* skin texture amplitude */
    double intensity;              /* per-subject motion intensity factor */
    uint64_t tex_seed, bg_seed;
    int nw2, nh2;                  /* neutral image size (SS x) */
    float *neutral;                /* nh2*nw2*3, values 0..255 */
};

/* Shade of the face at face coordinates (u, v) -> rgb 0..255. `px` = size of one neutral pixel in
 * face units (edge softness). */
static void face_colour(double rgb[3], const synth_subject *s, double u, double v, double px) {
    double aa = 1.2 * px; /* anti-aliasing width */
    /* background: vertical gradient + low-frequency blotches */
    double t = clampd(0.5 + v / 4.0, 0, 1);
    double c[3];
    for (int k = 0; k < 3; k++) c[k] = s->bg0[k] + (s->bg1[k] - s->bg0[k]) * t;
    double bn = 18.0 * fbm(s->bg_seed, u * 1.3, v * 1.3, 3);
    for (int k = 0; k < 3; k++) c[k] += bn;

    /* clothes / shoulders */
    double sh = smoothstep(-aa, aa, v - (s->bv + 0.25 + 0.35 * u * u * 0.3));
    sh *= smoothstep(-aa, aa, 2.2 - fabs(u));
    mix_rgb(c, s->cloth, sh);

    /* neck */
    double neck = smoothstep(-aa, aa, 0.52 - fabs(u)) * smoothstep(-aa, aa, v - 0.6) *
                  smoothstep(-aa, aa, (s->bv + 0.35) - v);
    if (neck > 0) {
        double nc[3];
        for (int k = 0; k < 3; k++) nc[k] = s->skin[k] * (0.62 + 0.1 * (1 - fabs(u) / 0.52));
        mix_rgb(c, nc, neck);
    }

    /* hair mass behind/around the head */
    double hu = u / 1.13, hv = (v + 0.18) / (s->bv + 0.22);
    double hr = sqrt(hu * hu + hv * hv);
    double hair_m = smoothstep(aa, -aa, hr - 1.0) * smoothstep(-aa, aa, s->hair_side - v);
    if (hair_m > 0) {
        double hc[3];
        double hn = 0.25 * fbm(s->tex_seed + 11, u * 9, v * 2.5, 3);
        for (int k = 0; k < 3; k++) hc[k] = s->hair[k] * (1 + hn);
        mix_rgb(c, hc, hair_m);
    }

    /* face ellipse: skin */
    double fu = u, fv = v / s->bv;
    double fr = sqrt(fu * fu + fv * fv);
    double skin_m = smoothstep(aa, -aa, fr - 1.0);
    /* hairline: skin only below a curve that dips at the temples */
    double hl = s->hairline + 0.28 * u * u;
    skin_m *= smoothstep(-aa * 2, aa * 2, v - hl);
    if (skin_m <= 0) {
        for (int k = 0; k < 3; k++) rgb[k] = c[k];
        return;
    }

    /* ellipsoid shading */
    double nz2 = 1.0 - fr * fr;
    double nz = nz2 > 0 ? sqrt(nz2) : 0;
    double nx = fu, ny = fv;
    double ll = sqrt(s->lx * s->lx + s->ly * s->ly + 1.0);
    double lam = (nx * s->lx + ny * s->ly + nz) / ll;
    lam = lam < 0 ? 0 : lam;
    double shade = s->ambient + (1 - s->ambient) * lam;

    double sk[3];
    double tex = s->tex_amp * (fbm(s->tex_seed, u * 14, v * 14, 4) + 0.6 * fbm(s->tex_seed + 3, u * 45, v * 45, 2));
    for (int k = 0; k < 3; k++) sk[k] = s->skin[k];
    /* cheeks: slight redness */
    for (int side = -1; side <= 1; side += 2) {
        double du = u - side * (s->ex + 0.05), dv = v - (s->ey + 0.42);
        double g = 0.10 * exp(-(du * du + dv * dv) / (2 * 0.17 * 0.17));
        sk[1] *= 1 - g;
        sk[2] *= 1 - g;
    }
    double dark = 1.0; /* multiplicative shading from structure */
    for (int side = -1; side <= 1; side += 2) {
        /* eye sockets */
        double du = u - side * s->ex, dv = v - (s->ey - 0.02);
        dark *= 1 - 0.28 * exp(-(du * du / (2 * 0.19 * 0.19) + dv * dv / (2 * 0.12 * 0.12)));
        /* sides of the nose */
        du = u - side * (s->nw * 0.95);
        dv = v - (s->ny - 0.18);
        dark *= 1 - 0.18 * exp(-(du * du / (2 * 0.05 * 0.05) + dv * dv / (2 * 0.16 * 0.16)));
        /* nasolabial folds */
        double fu2 = u - side * (s->nw + 0.10 + 0.35 * (v - s->ny)), fv2 = v - (s->ny + 0.15);
        dark *= 1 - 0.08 * exp(-(fu2 * fu2 / (2 * 0.025 * 0.025) + fv2 * fv2 / (2 * 0.14 * 0.14)));
    }
    /* under the nose and the lower lip, chin shadow */
    {
        double dv = v - (s->ny + 0.07);
        dark *= 1 - 0.22 * exp(-(u * u / (2 * 0.16 * 0.16) + dv * dv / (2 * 0.035 * 0.035)));
        dv = v - (s->my + s->lt * 1.5 + 0.05);
        dark *= 1 - 0.12 * exp(-(u * u / (2 * 0.2 * 0.2) + dv * dv / (2 * 0.04 * 0.04)));
    }
    /* nose ridge highlight */
    double ridge = 0.10 * exp(-u * u / (2 * 0.045 * 0.045)) * smoothstep(s->ey, s->ey + 0.15, v) *
                   smoothstep(s->ny + 0.02, s->ny - 0.08, v);
    double tip = 0.08 * exp(-(u * u + (v - s->ny + 0.05) * (v - s->ny + 0.05)) / (2 * 0.06 * 0.06));
    double bright = 1 + ridge + tip;
    double f[3];
    for (int k = 0; k < 3; k++) f[k] = sk[k] * shade * dark * bright * (1 + tex);

    /* nostrils */
    for (int side = -1; side <= 1; side += 2) {
        double du = (u - side * s->nw * 0.48) / 0.065, dv = (v - (s->ny + 0.03)) / 0.032;
        double m = smoothstep(aa / 0.04, -aa / 0.04, sqrt(du * du + dv * dv) - 1.0) * 0.75;
        double nc[3] = {f[0] * 0.3, f[1] * 0.25, f[2] * 0.25};
        mix_rgb(f, nc, m);
    }

    /* eyebrows: thick arcs, tapered at the outer end */
    for (int side = -1; side <= 1; side += 2) {
        double du = (u - side * s->bx) * side; /* >0 towards the outer end */
        double q = du / s->bl;
        if (fabs(q) < 1.3) {
            double centre = s->by - s->barch * (1 - q * q) + 0.03 * q;
            double half = s->bt * (0.55 + 0.45 * clampd(1 - (q + 1) * 0.45, 0, 1));
            double d = fabs(v - centre) - half;
            double m = smoothstep(aa, -aa, d) * smoothstep(1.05, 0.9, fabs(q)) * 0.88;
            double bn = 0.15 * fbm(s->tex_seed + 5, u * 40, v * 12, 2);
            double bc[3];
            for (int k = 0; k < 3; k++) bc[k] = s->hair[k] * (1 + bn);
            mix_rgb(f, bc, m);
        }
    }

    /* eyes: almond opening with sclera, iris, pupil, upper lid line */
    for (int side = -1; side <= 1; side += 2) {
        double du = (u - side * s->ex) / s->erx, dv = (v - s->ey) / s->ery;
        /* almond: two arcs */
        double up = -(1 - du * du) * 1.0, lo = (1 - du * du) * 0.8;
        if (fabs(du) < 1.2) {
            double inside = smoothstep(-aa / s->ery, aa / s->ery, dv - up) * smoothstep(aa / s->ery, -aa / s->ery, dv - lo) *
                            smoothstep(1.02, 0.95, fabs(du));
            if (inside > 0) {
                double ec[3] = {200 * shade, 195 * shade, 190 * shade};
                double ir = sqrt((u - side * s->ex) * (u - side * s->ex) + (v - s->ey) * (v - s->ey));
                double irr = s->ery * 1.25;
                double im = smoothstep(aa, -aa, ir - irr);
                mix_rgb(ec, s->iris, im);
                double pm = smoothstep(aa, -aa, ir - irr * 0.45);
                double pc[3] = {15, 12, 12};
                mix_rgb(ec, pc, pm);
                mix_rgb(f, ec, inside);
            }
            /* upper lid line and lashes */
            double dl = fabs(dv - up) * s->ery - 0.018;
            double lm = smoothstep(aa, -aa, dl) * smoothstep(1.1, 0.9, fabs(du)) * 0.85;
            double lc[3] = {25, 20, 20};
            mix_rgb(f, lc, lm);
            /* upper lid crease */
            double dc = fabs(dv - (up - 0.8)) * s->ery - 0.01;
            double cm = smoothstep(aa, -aa, dc) * smoothstep(1.0, 0.6, fabs(du)) * 0.25;
            double cc[3] = {f[0] * 0.6, f[1] * 0.55, f[2] * 0.55};
            mix_rgb(f, cc, cm);
        }
    }

    /* mouth: lips and the line between them */
    {
        double q = u / s->mw;
        if (fabs(q) < 1.2) {
            double line = s->my + 0.02 * q * q;
            double up_top = line - s->lt * (1 - 0.55 * q * q) - 0.015 * exp(-q * q / 0.02) * -1.0;
            double lo_bot = line + s->lt * 1.25 * (1 - 0.7 * q * q);
            double lipm = smoothstep(-aa, aa, v - up_top) * smoothstep(aa, -aa, v - lo_bot) * smoothstep(1.02, 0.92, fabs(q));
            double lc[3];
            for (int k = 0; k < 3; k++) lc[k] = s->lip[k] * shade * (1 + 0.5 * tex);
            mix_rgb(f, lc, lipm * 0.9);
            double dl = fabs(v - line) - 0.012;
            double mm = smoothstep(aa, -aa, dl) * smoothstep(1.05, 0.9, fabs(q));
            double mc[3] = {s->lip[0] * 0.35, s->lip[1] * 0.3, s->lip[2] * 0.3};
            mix_rgb(f, mc, mm * 0.9);
        }
    }

    for (int k = 0; k < 3; k++) rgb[k] = c[k] + (f[k] - c[k]) * skin_m;
}

static void render_neutral(synth_subject *s) {
    double px = 1.0 / (SS * s->a);
    for (int j = 0; j < s->nh2; j++)
        for (int i = 0; i < s->nw2; i++) {
            double x = (i + 0.5) / SS, y = (j + 0.5) / SS;
            double rgb[3];
            face_colour(rgb, s, (x - s->cx) / s->a, (y - s->cy) / s->a, px);
            float *o = s->neutral + ((size_t)j * s->nw2 + i) * 3;
            for (int k = 0; k < 3; k++) o[k] = (float)clampd(rgb[k], 0, 255);
        }
}

int synth_subject_new(synth_subject **out, uint64_t seed, int index, int w, int h, mer_err *err) {
    *out = NULL;
    if (w < 64 || h < 64) return mer_errf(err, "synth: frame size %dx%d too small (at least 64x64)", w, h);
    synth_subject *s = mer_calloc(1, sizeof *s, err);
    if (!s) return -1;
    mer_rng r = stream3(seed, 0x5B1EC7, (uint64_t)index);
    s->w = w;
    s->h = h;
    s->seed = seed;
    double side = w < h ? w : h;
    s->a = side * urange(&r, 0.235, 0.27);
    s->bv = urange(&r, 1.28, 1.40);
    s->cx = w * 0.5 + urange(&r, -0.04, 0.04) * w;
    s->cy = h * 0.5 + s->a * 0.12 + urange(&r, -0.02, 0.02) * h;
    s->ex = urange(&r, 0.36, 0.43);
    s->ey = urange(&r, -0.30, -0.22);
    s->erx = urange(&r, 0.16, 0.20);
    s->ery = urange(&r, 0.075, 0.095);
    s->bx = s->ex + urange(&r, -0.02, 0.03);
    s->by = s->ey - urange(&r, 0.20, 0.27);
    s->bl = urange(&r, 0.21, 0.26);
    s->bt = urange(&r, 0.035, 0.055);
    s->barch = urange(&r, 0.02, 0.07);
    s->ny = urange(&r, 0.24, 0.34);
    s->nw = urange(&r, 0.17, 0.23);
    s->my = urange(&r, 0.64, 0.74);
    s->mw = urange(&r, 0.30, 0.38);
    s->lt = urange(&r, 0.05, 0.075);
    s->hairline = -s->bv * urange(&r, 0.72, 0.85);
    s->hair_side = urange(&r, -0.1, 0.5);
    /* skin tone from light to dark, with hue variation */
    double tone = urange(&r, 0.0, 0.75);
    double light[3] = {232, 196, 170}, darkc[3] = {125, 88, 66};
    for (int k = 0; k < 3; k++) s->skin[k] = light[k] + (darkc[k] - light[k]) * tone;
    s->skin[0] *= urange(&r, 0.97, 1.03);
    s->skin[2] *= urange(&r, 0.92, 1.05);
    double hb = urange(&r, 18, 70);
    s->hair[0] = hb * urange(&r, 1.0, 1.5);
    s->hair[1] = hb * urange(&r, 0.85, 1.1);
    s->hair[2] = hb * urange(&r, 0.7, 1.0);
    s->lip[0] = s->skin[0] * urange(&r, 0.72, 0.85);
    s->lip[1] = s->skin[1] * urange(&r, 0.50, 0.62);
    s->lip[2] = s->skin[2] * urange(&r, 0.52, 0.65);
    double ib = urange(&r, 30, 90);
    s->iris[0] = ib * urange(&r, 0.8, 1.3);
    s->iris[1] = ib * urange(&r, 0.7, 1.0);
    s->iris[2] = ib * urange(&r, 0.5, 0.9);
    for (int k = 0; k < 3; k++) {
        s->bg0[k] = urange(&r, 90, 200);
        s->bg1[k] = s->bg0[k] * urange(&r, 0.7, 1.1);
        s->cloth[k] = urange(&r, 20, 200);
    }
    s->lx = urange(&r, -0.45, 0.45);
    s->ly = urange(&r, -0.5, -0.1);
    s->ambient = urange(&r, 0.35, 0.55);
    s->tex_amp = urange(&r, 0.05, 0.09);
    s->intensity = urange(&r, 0.6, 1.4);
    s->tex_seed = rng_u64(&r);
    s->bg_seed = rng_u64(&r);
    s->nw2 = w * SS;
    s->nh2 = h * SS;
    s->neutral = mer_malloc((size_t)s->nw2 * s->nh2 * 3 * sizeof(float), err);
    if (!s->neutral) {
        free(s);
        return -1;
    }
    render_neutral(s);
    *out = s;
    return 0;
}

void synth_subject_free(synth_subject *s) {
    if (!s) return;
    free(s->neutral);
    free(s);
}

void synth_face_box(double box[4], const synth_subject *s) {
    box[0] = s->cx - s->a;
    box[1] = s->cy - s->a * s->bv;
    box[2] = 2 * s->a;
    box[3] = 2 * s->a * s->bv;
}

void synth_face_points(double pts[10], const synth_subject *s) {
    const double u[5] = {-s->ex, s->ex, 0, -s->mw, s->mw};
    const double v[5] = {s->ey, s->ey, s->ny, s->my, s->my};
    for (int k = 0; k < 5; k++) {
        pts[2 * k] = s->cx + s->a * u[k];
        pts[2 * k + 1] = s->cy + s->a * v[k];
    }
}

/* ---- motion: action units as Gaussian displacement bumps ---------------------------------------- */

typedef enum {
    AU1, AU2, AU4, AU5, AU6, AU7, AU9, AU10, AU12, AU14, AU15, AU17, AU20, AU23, AU_COUNT
} au_id;
static const int AU_NUMBER[AU_COUNT] = {1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23};

typedef struct {
    au_id au;
    double weight;
    int sides; /* 3 both, 1 subject's right only (image left, u<0), 2 left only */
} au_use;

#define MAX_AU 4
typedef struct {
    const char *name;
    au_use aus[MAX_AU];
    int n;
} synth_class;

/* Class = motion pattern (FACS-inspired; CASME II / SAMM / SMIC / MEGC names). "others"/"other" draw one
 * single action from OTHERS_POOL per clip. */
static const synth_class CLASSES[] = {
    {"happiness", {{AU6, 0.6, 3}, {AU12, 1.0, 3}}, 2},
    {"disgust", {{AU4, 0.6, 3}, {AU9, 0.8, 3}, {AU10, 1.0, 3}}, 3},
    {"surprise", {{AU1, 1.0, 3}, {AU2, 1.0, 3}, {AU5, 0.4, 3}}, 3},
    {"repression", {{AU15, 0.8, 3}, {AU17, 1.0, 3}}, 2},
    {"others", {{0, 0, 0}}, 0},
    {"sadness", {{AU1, 0.8, 3}, {AU4, 0.6, 3}, {AU15, 1.0, 3}}, 3},
    {"fear", {{AU1, 0.8, 3}, {AU2, 0.6, 3}, {AU4, 0.7, 3}, {AU20, 1.0, 3}}, 4},
    {"anger", {{AU4, 1.0, 3}, {AU7, 0.7, 3}, {AU23, 0.7, 3}}, 3},
    {"contempt", {{AU12, 1.0, 1}, {AU14, 0.8, 1}}, 2},
    {"other", {{0, 0, 0}}, 0},
    {"negative", {{AU4, 1.0, 3}, {AU15, 0.8, 3}}, 2},
    {"positive", {{AU6, 0.6, 3}, {AU12, 1.0, 3}}, 2},
};
#define N_CLASSES (sizeof CLASSES / sizeof CLASSES[0])
static const au_use OTHERS_POOL[] = {
    {AU4, 1.0, 3}, {AU7, 1.0, 3}, {AU14, 1.0, 3}, {AU1, 1.0, 3}, {AU12, 1.0, 1}, {AU12, 1.0, 2},
    {AU10, 1.0, 1}, {AU2, 1.0, 2}, {AU20, 1.0, 3}, {AU23, 1.0, 3},
};
#define N_OTHERS (sizeof OTHERS_POOL / sizeof OTHERS_POOL[0])
static const char *const KNOWN_NAMES[N_CLASSES] = {"happiness", "disgust", "surprise", "repression", "others",
                                                  "sadness", "fear", "anger", "contempt", "other",
                                                  "negative", "positive"};
static const char *const DEFAULT_NAMES[] = {"happiness", "disgust", "repression", "surprise", "others"};

size_t synth_known_classes(const char *const **names) {
    *names = KNOWN_NAMES;
    return N_CLASSES;
}
size_t synth_default_classes(const char *const **names) {
    *names = DEFAULT_NAMES;
    return sizeof DEFAULT_NAMES / sizeof DEFAULT_NAMES[0];
}
int synth_class_index(const char *name) {
    for (size_t i = 0; i < N_CLASSES; i++)
        if (!strcasecmp(name, CLASSES[i].name)) return (int)i;
    return -1;
}

typedef struct {
    double u, v, s, du, dv;
} bump;
#define MAX_BUMPS 16

/* Bumps of one action unit for subject s: centre (face units), sigma, direction (unit-ish). */
static int au_bumps(bump *b, const synth_subject *s, au_id au, double w, int sides) {
    int n = 0;
    for (int side = -1; side <= 1; side += 2) {
        if (!(sides & (side < 0 ? 1 : 2))) continue;
        double sd = side;
        bump k = {0, 0, 0.1, 0, 0};
        switch (au) {
        case AU1: k = (bump){sd * (s->bx - s->bl * 0.8), s->by, 0.11, 0, -1}; break;
        case AU2: k = (bump){sd * (s->bx + s->bl * 0.8), s->by + 0.02, 0.11, 0, -1}; break;
        case AU4: k = (bump){sd * (s->bx - s->bl * 0.4), s->by + 0.02, 0.13, -sd * 0.45, 0.9}; break;
        case AU5: k = (bump){sd * s->ex, s->ey - s->ery, 0.07, 0, -1}; break;
        case AU6: k = (bump){sd * (s->ex + 0.03), s->ey + 0.30, 0.15, 0, -1}; break;
        case AU7: k = (bump){sd * s->ex, s->ey + s->ery * 0.9, 0.07, 0, -1}; break;
        case AU9: k = (bump){sd * 0.11, s->ny - 0.22, 0.09, 0, -1}; break;
        case AU10: k = (bump){sd * 0.14, s->my - s->lt, 0.10, 0, -1}; break;
        case AU12: k = (bump){sd * s->mw, s->my, 0.10, sd * 0.75, -0.66}; break;
        case AU14: k = (bump){sd * (s->mw + 0.04), s->my, 0.08, sd * 0.95, 0.1}; break;
        case AU15: k = (bump){sd * s->mw, s->my, 0.10, sd * 0.2, 0.98}; break;
        case AU17: k = (bump){0, s->my + 0.30, 0.15, 0, -1}; break;
        case AU20: k = (bump){sd * s->mw, s->my + 0.02, 0.10, sd * 1.0, 0.15}; break;
        case AU23: k = (bump){sd * s->mw * 0.7, s->my, 0.09, -sd * 0.7, 0}; break;
        default: break;
        }
        k.du *= w;
        k.dv *= w;
        b[n++] = k;
        if (au == AU17) break; /* one central bump */
    }
    return n;
}

/* Bumps of a frame's motion, scaled so the largest displacement of the field is 1 (face units -> px
 * applied by the caller). Returns the count. */
static int motion_bumps(bump *b, const synth_subject *s, const synth_frame_desc *f) {
    if (f->cls < 0 || f->cls >= (int)N_CLASSES) return 0;
    const synth_class *c = &CLASSES[f->cls];
    int n = 0;
    if (c->n == 0) {
        unsigned v = (unsigned)(f->variant < 0 ? -f->variant : f->variant) % N_OTHERS;
        n += au_bumps(b + n, s, OTHERS_POOL[v].au, OTHERS_POOL[v].weight, OTHERS_POOL[v].sides);
    } else {
        for (int i = 0; i < c->n; i++) n += au_bumps(b + n, s, c->aus[i].au, c->aus[i].weight, c->aus[i].sides);
    }
    /* normalise: peak of |sum| over a coarse grid = 1 */
    double peak = 0;
    for (int j = 0; j <= 80; j++)
        for (int i = 0; i <= 60; i++) {
            double u = -1.2 + 2.4 * i / 60.0, v = -1.2 + 2.4 * j / 80.0 * s->bv;
            double ux = 0, uy = 0;
            for (int k = 0; k < n; k++) {
                double du = u - b[k].u, dv = v - b[k].v;
                double g = exp(-(du * du + dv * dv) / (2 * b[k].s * b[k].s));
                ux += g * b[k].du;
                uy += g * b[k].dv;
            }
            double m = sqrt(ux * ux + uy * uy);
            if (m > peak) peak = m;
        }
    if (peak > 0)
        for (int k = 0; k < n; k++) {
            b[k].du /= peak;
            b[k].dv /= peak;
        }
    return n;
}

static void field_at(double *ux, double *uy, const bump *b, int n, const synth_subject *s, double x, double y) {
    double u = (x - s->cx) / s->a, v = (y - s->cy) / s->a;
    *ux = *uy = 0;
    for (int k = 0; k < n; k++) {
        double du = u - b[k].u, dv = v - b[k].v;
        double q = (du * du + dv * dv) / (2 * b[k].s * b[k].s);
        if (q > 18) continue;
        double g = exp(-q);
        *ux += g * b[k].du;
        *uy += g * b[k].dv;
    }
}

/* Render with a precomputed unit field (w*h*2 floats, may be NULL for none). */
static void render_with_field(uint8_t *rgb, const synth_subject *s, const synth_frame_desc *f, const float *field) {
    double m = f->amplitude_px * f->progress;
    double cr = cos(f->rot), sr = sin(f->rot);
    mer_rng ns = rng_seeded(f->noise_seed);
    int W2 = s->nw2, H2 = s->nh2;
    for (int j = 0; j < s->h; j++)
        for (int i = 0; i < s->w; i++) {
            double x = i + 0.5, y = j + 0.5;
            if (field) {
                const float *d = field + ((size_t)j * s->w + i) * 2;
                x -= m * d[0];
                y -= m * d[1];
            }
            /* head pose: the face moved by (dx, dy) and rotated by rot about its centre */
            double px = x - s->cx - f->dx, py = y - s->cy - f->dy;
            double qx = cr * px + sr * py + s->cx, qy = -sr * px + cr * py + s->cy;
            double X = qx * SS - 0.5, Y = qy * SS - 0.5;
            X = clampd(X, 0, W2 - 1.001);
            Y = clampd(Y, 0, H2 - 1.001);
            int x0 = (int)X, y0 = (int)Y;
            double tx = X - x0, ty = Y - y0;
            const float *p00 = s->neutral + ((size_t)y0 * W2 + x0) * 3;
            const float *p01 = p00 + 3, *p10 = p00 + (size_t)W2 * 3, *p11 = p10 + 3;
            uint8_t *o = rgb + ((size_t)j * s->w + i) * 3;
            for (int k = 0; k < 3; k++) {
                double top = p00[k] + (p01[k] - p00[k]) * tx, bot = p10[k] + (p11[k] - p10[k]) * tx;
                double val = (top + (bot - top) * ty) * f->gain;
                if (f->noise_sigma > 0) val += f->noise_sigma * gauss_fast(&ns);
                long q = lround(val);
                o[k] = (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
            }
        }
}

static void unit_field(float *field, const synth_subject *s, const synth_frame_desc *f) {
    bump b[MAX_BUMPS];
    int n = motion_bumps(b, s, f);
    for (int j = 0; j < s->h; j++)
        for (int i = 0; i < s->w; i++) {
            double ux, uy;
            field_at(&ux, &uy, b, n, s, i + 0.5, j + 0.5);
            field[((size_t)j * s->w + i) * 2] = (float)ux;
            field[((size_t)j * s->w + i) * 2 + 1] = (float)uy;
        }
}

void synth_displacement_field(float *uxy, const synth_subject *s, const synth_frame_desc *f) {
    unit_field(uxy, s, f);
    float m = (float)(f->amplitude_px * f->progress);
    for (size_t i = 0; i < (size_t)s->w * s->h * 2; i++) uxy[i] *= m;
}

int synth_render(uint8_t *rgb, const synth_subject *s, const synth_frame_desc *f, mer_err *err) {
    if (f->cls < 0 || f->progress == 0 || f->amplitude_px == 0) {
        render_with_field(rgb, s, f, NULL);
        return 0;
    }
    float *field = mer_malloc((size_t)s->w * s->h * 2 * sizeof(float), err);
    if (!field) return -1;
    unit_field(field, s, f);
    render_with_field(rgb, s, f, field);
    free(field);
    return 0;
}

/* ---- dataset writer ------------------------------------------------------------------------------ */

void synth_opts_default(synth_opts *o) {
    memset(o, 0, sizeof *o);
    o->subjects = 8;
    o->per_class = 4;
    o->width = 320;
    o->height = 240;
    o->fps = 100;
    o->seed = 1;
    o->classes = NULL;
    o->n_classes = 0;
    o->video = 0;
    o->threads = 1;
}

/* Everything random about one clip, drawn from its own stream. */
typedef struct {
    int cls;          /* index into CLASSES */
    int variant;      /* "others" action */
    char name[32];    /* EPxx_yy */
    int onset, apex, offset;
    double amplitude;
    double dx0, dy0, rot0;             /* pose of the clip */
    double jit_a[2], jit_f[2], jit_p[2], drift_x, drift_y, rot_a, rot_f, rot_p;
    double gain0, flick_a, flick_f, flick_p, noise_sigma;
    uint64_t noise_seed;
} clip_plan;

static void plan_clip(clip_plan *c, const synth_subject *s, uint64_t seed, int subject, int clip_index, int cls) {
    mer_rng r = stream3(seed, 0xC11F + (uint64_t)subject, (uint64_t)clip_index);
    c->cls = cls;
    c->variant = (int)rng_below(&r, (uint32_t)N_OTHERS);
    snprintf(c->name, sizeof c->name, "EP%02d_%02d", clip_index + 1, 1 + (int)rng_below(&r, 19));
    int len = 20 + (int)rng_below(&r, 41); /* onset..offset inclusive: 20-60 frames */
    c->onset = 1 + (int)rng_below(&r, 3000);
    c->offset = c->onset + len - 1;
    c->apex = c->onset + (int)lround((len - 1) * urange(&r, 0.3, 0.55));
    c->amplitude = clampd(1.6 * s->intensity * urange(&r, 0.75, 1.25), 0.5, 3.0);
    c->dx0 = urange(&r, -1.5, 1.5);
    c->dy0 = urange(&r, -1.5, 1.5);
    c->rot0 = urange(&r, -0.01, 0.01);
    for (int k = 0; k < 2; k++) {
        c->jit_a[k] = urange(&r, 0.05, 0.2);
        c->jit_f[k] = urange(&r, 0.3, 2.5);
        c->jit_p[k] = urange(&r, 0, 6.283185307179586);
    }
    c->drift_x = urange(&r, -0.3, 0.3);
    c->drift_y = urange(&r, -0.3, 0.3);
    c->rot_a = urange(&r, 0.0005, 0.002);
    c->rot_f = urange(&r, 0.3, 2.0);
    c->rot_p = urange(&r, 0, 6.283185307179586);
    c->gain0 = urange(&r, 0.94, 1.06);
    c->flick_a = urange(&r, 0.003, 0.012);
    c->flick_f = urange(&r, 1.0, 6.0);
    c->flick_p = urange(&r, 0, 6.283185307179586);
    c->noise_sigma = urange(&r, 1.0, 2.0);
    c->noise_seed = rng_u64(&r);
}

static double motion_progress(const clip_plan *c, int frame) {
    if (frame <= c->onset || frame >= c->offset) return 0;
    if (frame <= c->apex) return 0.5 - 0.5 * cos(3.141592653589793 * (frame - c->onset) / (double)(c->apex - c->onset));
    return 0.5 + 0.5 * cos(3.141592653589793 * (frame - c->apex) / (double)(c->offset - c->apex));
}

static void frame_desc(synth_frame_desc *f, const clip_plan *c, int frame) {
    double t = (frame - c->onset) / (double)(c->offset - c->onset); /* 0..1 over the clip */
    double tw = 6.283185307179586 * t;
    f->cls = c->cls;
    f->variant = c->variant;
    f->amplitude_px = c->amplitude;
    f->progress = motion_progress(c, frame);
    f->dx = c->dx0 + c->jit_a[0] * sin(c->jit_f[0] * tw + c->jit_p[0]) + c->drift_x * t;
    f->dy = c->dy0 + c->jit_a[1] * sin(c->jit_f[1] * tw + c->jit_p[1]) + c->drift_y * t;
    f->rot = c->rot0 + c->rot_a * sin(c->rot_f * tw + c->rot_p);
    f->gain = c->gain0 * (1 + c->flick_a * sin(c->flick_f * tw + c->flick_p));
    f->noise_sigma = c->noise_sigma;
    mer_rng r = rng_derive(c->noise_seed, (uint64_t)frame);
    f->noise_seed = rng_u64(&r);
}

/* "6+12", "R12+R14": the action units of a clip, as in the CASME II sheet. */
static void au_string(char *out, size_t n, const clip_plan *c) {
    const synth_class *k = &CLASSES[c->cls];
    au_use one[1];
    const au_use *aus = k->aus;
    int cnt = k->n;
    if (cnt == 0) {
        one[0] = OTHERS_POOL[(unsigned)c->variant % N_OTHERS];
        aus = one;
        cnt = 1;
    }
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < cnt && len < n; i++) {
        const char *side = aus[i].sides == 1 ? "R" : aus[i].sides == 2 ? "L" : "";
        len += (size_t)snprintf(out + len, n - len, "%s%s%d", i ? "+" : "", side, AU_NUMBER[aus[i].au]);
    }
}

typedef struct {
    clip_plan plan;
    int subject;
} clip_row;

/* Render and write all clips of one subject; fills rows[0..n). */
static int generate_subject(clip_row *rows, const char *out_dir, const synth_opts *o, const int *cls, size_t n_cls,
                            int subject, mer_err *err) {
    synth_subject *s = NULL;
    if (synth_subject_new(&s, o->seed, subject, o->width, o->height, err)) return -1;
    int n = (int)n_cls * o->per_class;
    int *order = mer_malloc((size_t)n * sizeof *order, err);
    float *field = mer_malloc((size_t)o->width * o->height * 2 * sizeof(float), err);
    mer_image img = {0};
    int rc = -1;
    if (!order || !field || image_alloc(&img, o->width, o->height, 3, err)) goto done;
    for (int i = 0; i < n; i++) order[i] = i;
    mer_rng r = stream3(o->seed, 0x0DE4, (uint64_t)subject);
    rng_shuffle(&r, order, n); /* clip numbers must not reveal the class */
    for (int ci = 0; ci < n; ci++) {
        int c = cls[order[ci] / o->per_class];
        clip_plan *p = &rows[ci].plan;
        rows[ci].subject = subject;
        plan_clip(p, s, o->seed, subject, ci, c);
        char dir[4096];
        if ((size_t)snprintf(dir, sizeof dir, "%s/sub%02d/%s", out_dir, subject + 1, p->name) >= sizeof dir - 8) {
            mer_errf(err, "%s: path too long", out_dir);
            goto done;
        }
        synth_frame_desc f;
        frame_desc(&f, p, p->apex);
        unit_field(field, s, &f);
        clip_writer *vw = NULL;
        if (o->video) { /* SUBJ/CLIP.avi, Motion-JPEG 4:4:4 at quality 2; frames numbered 0.. in the CSV */
            char path[4200];
            snprintf(path, sizeof path, "%s.avi", dir);
            clip_writer_opts wo = {.codec = "mjpeg", .fps = o->fps, .quality = 2, .threads = 1};
            if (fs_mkdir_parent(path, err) || clip_writer_open(&vw, path, o->width, o->height, 3, &wo, err)) goto done;
        } else if (fs_mkdir_p(dir, err)) {
            goto done;
        }
        for (int fr = p->onset; fr <= p->offset; fr++) {
            frame_desc(&f, p, fr);
            render_with_field(img.px, s, &f, field);
            if (vw) {
                if (clip_writer_add(vw, &img, err)) {
                    clip_writer_abort(vw);
                    goto done;
                }
                continue;
            }
            char path[4200];
            snprintf(path, sizeof path, "%s/img%d.jpg", dir, fr);
            if (image_save(path, &img, err)) goto done;
        }
        if (vw && clip_writer_close(vw, err)) goto done;
    }
    rc = 0;
done:
    image_free(&img);
    free(field);
    free(order);
    synth_subject_free(s);
    return rc;
}

void synth_params_text(char *buf, size_t n, const synth_opts *o) {
    const char *const *names = o->classes;
    size_t n_cls = o->n_classes;
    if (!names || !n_cls) n_cls = synth_default_classes(&names);
    size_t len = (size_t)snprintf(buf, n, "subjects=%d per_class=%d size=%dx%d fps=%d seed=%llu format=%s classes=",
                                  o->subjects, o->per_class, o->width, o->height, o->fps,
                                  (unsigned long long)o->seed, o->video ? "video" : "frames");
    for (size_t i = 0; i < n_cls && len < n; i++) {
        int k = synth_class_index(names[i]);
        len += (size_t)snprintf(buf + len, n - len, "%s%s", i ? "," : "", k >= 0 ? CLASSES[k].name : names[i]);
    }
}

int synth_generate(const char *out_dir, const char *annotations_path, const synth_opts *o, mer_err *err) {
    if (o->subjects < 1 || o->subjects > 999) return mer_errf(err, "synth: subjects must be 1..999 (got %d)", o->subjects);
    if (o->per_class < 1 || o->per_class > 500)
        return mer_errf(err, "synth: clips per class must be 1..500 (got %d)", o->per_class);
    if (o->width < 64 || o->height < 64 || o->width > 4096 || o->height > 4096)
        return mer_errf(err, "synth: frame size %dx%d out of range (64..4096)", o->width, o->height);
    const char *const *names = o->classes;
    size_t n_cls = o->n_classes;
    if (!names || !n_cls) n_cls = synth_default_classes(&names);
    int cls[N_CLASSES * 4];
    if (n_cls > sizeof cls / sizeof cls[0]) return mer_errf(err, "synth: too many classes (%zu)", n_cls);
    for (size_t i = 0; i < n_cls; i++) {
        cls[i] = synth_class_index(names[i]);
        if (cls[i] < 0) {
            char known[512];
            size_t len = 0;
            for (size_t k = 0; k < N_CLASSES; k++)
                len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", k ? ", " : "", KNOWN_NAMES[k]);
            return mer_errf(err, "synth: unknown class '%s' (known: %s)", names[i], known);
        }
        for (size_t j = 0; j < i; j++)
            if (cls[j] == cls[i]) return mer_errf(err, "synth: class '%s' listed twice", names[i]);
    }
    char csv_default[4096];
    if (!annotations_path) {
        if ((size_t)snprintf(csv_default, sizeof csv_default, "%s/coding.csv", out_dir) >= sizeof csv_default)
            return mer_errf(err, "%s: path too long", out_dir);
        annotations_path = csv_default;
    }
    struct stat st;
    if (stat(annotations_path, &st) == 0)
        return mer_errf(err, "%s: already exists (refusing to overwrite a generated dataset)", annotations_path);
    if (fs_mkdir_p(out_dir, err)) return -1;

    size_t per_subject = n_cls * (size_t)o->per_class;
    clip_row *rows = mer_calloc((size_t)o->subjects * per_subject, sizeof *rows, err);
    if (!rows) return -1;
    int failed = 0;
    mer_err first = {0};
    progress pr;
    progress_start(&pr, "synth: subjects", (size_t)o->subjects);
#pragma omp parallel for schedule(dynamic, 1) num_threads(o->threads > 1 ? o->threads : 1) if (o->threads > 1)
    for (int si = 0; si < o->subjects; si++) {
        mer_err e = {0};
        int bad;
#pragma omp atomic read
        bad = failed;
        if (bad) continue;
        if (generate_subject(rows + (size_t)si * per_subject, out_dir, o, cls, n_cls, si, &e)) {
#pragma omp critical(synth_err)
            {
                if (!failed) first = e;
                failed = 1;
            }
        }
#pragma omp critical(synth_progress)
        progress_step(&pr, 1);
    }
    progress_end(&pr);
    if (failed) {
        free(rows);
        *err = first;
        return -1;
    }

    /* the parameters, then the CSV last, through a temporary file, so its presence means complete data */
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s/synth.params", out_dir);
    FILE *pf = fopen(tmp, "w");
    if (!pf) {
        free(rows);
        return mer_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
    }
    char params[1024];
    synth_params_text(params, sizeof params, o);
    fprintf(pf, "%s\n", params);
    if (fclose(pf) != 0) {
        free(rows);
        return mer_errf(err, "%s: write error", tmp);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", annotations_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(rows);
        return mer_errf(err, "%s: cannot create: %s", tmp, strerror(errno));
    }
    fprintf(f, "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n");
    for (size_t i = 0; i < (size_t)o->subjects * per_subject; i++) {
        const clip_plan *p = &rows[i].plan;
        char aus[64];
        au_string(aus, sizeof aus, p);
        int base = o->video ? p->onset : 0; /* a video's frames are numbered from 0 (io/media/video.h) */
        fprintf(f, "%d,%s,%d,%d,%d,%s,%s\n", rows[i].subject + 1, p->name, p->onset - base, p->apex - base,
                p->offset - base, aus, CLASSES[p->cls].name);
    }
    free(rows);
    if (fflush(f) != 0 || ferror(f)) {
        fclose(f);
        remove(tmp);
        return mer_errf(err, "%s: write error", tmp);
    }
    fclose(f);
    if (rename(tmp, annotations_path) != 0) {
        remove(tmp);
        return mer_errf(err, "%s: cannot rename into place: %s", annotations_path, strerror(errno));
    }
    return 0;
}
