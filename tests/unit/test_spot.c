/* core/spot/apex: clips drawn analytically (a textured "face" with a local motion bump whose amplitude peaks at
 * a known frame), disturbed the way real clips are - sensor noise, flicker (gain and offset), residual head
 * translation - must give the apex within a small tolerance; registration and normalisation must each be what
 * removes their disturbance; constant clips, short clips and bad options behave as documented. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/spot/apex.h"
#include "io/base/rng.h"
#include "tests/check.h"

#define S 80

/* A smooth texture: Gaussian blobs and two gratings around 128, tabulated at 4x resolution with a margin
 * (shifts stay inside it) and sampled bilinearly - exact enough for sub-pixel motion, cheap to render. */
#define TX_UP 4
#define TX_MARGIN 12
#define TX_N ((S + 2 * TX_MARGIN) * TX_UP)
typedef struct {
    float v[TX_N * TX_N];
} texture;

static void texture_init(texture *t, uint64_t seed) {
    mer_rng r = rng_seeded(seed);
    double bx[40], by[40], bs[40], ba[40];
    for (int k = 0; k < 40; k++) {
        bx[k] = rng_uniform(&r) * S;
        by[k] = rng_uniform(&r) * S;
        bs[k] = 2.5 + 4 * rng_uniform(&r);
        ba[k] = (rng_uniform(&r) - 0.5) * 120;
    }
    for (int j = 0; j < TX_N; j++)
        for (int i = 0; i < TX_N; i++) {
            double x = (double)i / TX_UP - TX_MARGIN, y = (double)j / TX_UP - TX_MARGIN;
            double v = 128 + 10 * sin(0.31 * x + 0.17 * y) + 8 * cos(0.23 * y - 0.11 * x);
            for (int k = 0; k < 40; k++) {
                double dx = x - bx[k], dy = y - by[k];
                v += ba[k] * exp(-(dx * dx + dy * dy) / (2 * bs[k] * bs[k]));
            }
            t->v[j * TX_N + i] = (float)v;
        }
}

static double texture_at(const texture *t, double x, double y) {
    double fx = (x + TX_MARGIN) * TX_UP, fy = (y + TX_MARGIN) * TX_UP;
    fx = fx < 0 ? 0 : fx > TX_N - 1.001 ? TX_N - 1.001 : fx;
    fy = fy < 0 ? 0 : fy > TX_N - 1.001 ? TX_N - 1.001 : fy;
    int i = (int)fx, j = (int)fy;
    double ax = fx - i, ay = fy - j;
    const float *p = t->v + j * TX_N + i;
    return (1 - ay) * ((1 - ax) * p[0] + ax * p[1]) + ay * ((1 - ax) * p[TX_N] + ax * p[TX_N + 1]);
}

typedef struct {
    int n, apex;          /* frames, true apex index (onset = 0) */
    double amp;           /* px of the local motion at the apex */
    double noise;         /* grey levels */
    double flicker;       /* relative gain amplitude (offset = 40 x that in grey levels) */
    double jitter;        /* px: random-walk step of the head translation */
    double drift;         /* px per frame of a steady head translation */
    int flash;            /* frame with a strong gain step (0 = none) */
    int blink;            /* frames of a blink (eyes covered) starting 5 frames after the apex (0 = none) */
} clip_spec;

/* Raised-cosine profile 0 at the onset, 1 at the apex, back to 0.2 at the end. */
static double profile(const clip_spec *c, int t) {
    if (t <= c->apex) return 0.5 - 0.5 * cos(M_PI * t / (double)c->apex);
    return 0.6 + 0.4 * cos(M_PI * (t - c->apex) / (double)(c->n - 1 - c->apex));
}

/* frames: n x S x S. The motion: a bump of displacement (down and inward) around a "mouth corner" at
 * (0.35 S, 0.72 S) and a "brow" at (0.65 S, 0.16 S), Gaussian radius 0.08 S. A blink covers both eyes of the
 * default template ((0.3 S, 0.35 S) and (0.7 S, 0.35 S)) with a flat "lid". */
static void render(float *frames, const clip_spec *c, const texture *tx, uint64_t seed) {
    mer_rng r = rng_seeded(seed);
    double hx = 0, hy = 0;
    const double cx[2] = {0.35 * S, 0.65 * S}, cy[2] = {0.72 * S, 0.16 * S}, rad = 0.08 * S;
    for (int t = 0; t < c->n; t++) {
        if (t > 0) {
            hx += c->jitter * rng_normal(&r) + c->drift;
            hy += c->jitter * rng_normal(&r) + 0.5 * c->drift;
        }
        double a = c->amp * profile(c, t);
        double gain = 1 + c->flicker * sin(1.7 * t) + (c->flash && t >= c->flash ? 0.25 : 0);
        double off = 40 * c->flicker * cos(0.9 * t);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                double ux = 0, uy = 0;
                for (int k = 0; k < 2; k++) {
                    double dx = x - cx[k], dy = y - cy[k], g = exp(-(dx * dx + dy * dy) / (2 * rad * rad));
                    ux += (k ? -0.5 : 0.5) * a * g;
                    uy += (k ? -1.0 : 1.0) * a * g;
                }
                double v = gain * texture_at(tx, x - hx - ux, y - hy - uy) + off + c->noise * rng_normal(&r);
                int blinking = c->blink && t >= c->apex + 5 && t < c->apex + 5 + c->blink;
                for (int k = 0; k < 2 && blinking; k++)
                    if (hypot((x - hx - (k ? 0.7 : 0.3) * S) / (0.09 * S), (y - hy - 0.35 * S) / (0.05 * S)) < 1)
                        v = gain * 150 + off + c->noise * rng_normal(&r);
                frames[((size_t)t * S + y) * S + x] = (float)v;
            }
    }
}

/* Over `reps` clips of the spec (different textures, noise, apexes): the worst |spotted - true| in frames, and
 * the smallest share of the apex motion the spotted frame shows (a real apex is a plateau: frames next to it
 * show nearly the same motion, so both figures are asserted). */
typedef struct {
    int frames;
    double share;
} spot_error;

static spot_error worst_error(clip_spec c, int reps, const apex_spot_options *o, uint64_t seed, float *frames) {
    spot_error w = {0, 1};
    mer_rng r = rng_seeded(seed);
    texture *tx = malloc(sizeof *tx);
    if (!tx) return (spot_error){1000, 0};
    for (int k = 0; k < reps; k++) {
        texture_init(tx, rng_u64(&r));
        c.apex = c.n / 4 + (int)rng_below(&r, (uint32_t)(c.n / 3));
        render(frames, &c, tx, rng_u64(&r));
        apex_spot_result res;
        mer_err e = {0};
        if (apex_spot(&res, NULL, frames, c.n, S, S, 0, o, &e) < 0) {
            fprintf(stderr, "apex_spot: %s\n", e.msg);
            w.frames = 1000;
            break;
        }
        int err = abs(res.apex - c.apex);
        double share = profile(&c, res.apex);
        if (getenv("MER_TEST_VERBOSE")) fprintf(stderr, "  true %d spotted %d (share %.3f)\n", c.apex, res.apex, share);
        w.frames = err > w.frames ? err : w.frames;
        w.share = share < w.share ? share : w.share;
    }
    free(tx);
    return w;
}

int main(void) {
    const int N = 40;
    float *frames = malloc((size_t)N * S * S * sizeof *frames);
    float curve[40];
    if (!frames) return 1;
    apex_spot_options o = apex_spot_defaults();
    mer_err e = {0};

    /* clean motion, then everything real clips add (40-frame clips) */
    clip_spec clean = {.n = N, .amp = 1.0};
    spot_error w = worst_error(clean, 3, &o, 1, frames);
    CHECK(w.frames <= 1, "clean clip: worst error %d frames", w.frames);
    clip_spec real = {.n = N, .amp = 1.0, .noise = 4, .flicker = 0.04, .jitter = 0.15, .drift = 0.03};
    w = worst_error(real, 5, &o, 2, frames);
    CHECK(w.frames <= 3 && w.share >= 0.9, "noise 4, flicker 4 %%, jitter 0.15 px/frame, drift 1.2 px: worst error %d "
          "frames, %.2f of the apex motion", w.frames, w.share);
    /* a small motion (0.5 px) under the same disturbances */
    clip_spec small = real;
    small.amp = 0.5;
    w = worst_error(small, 5, &o, 3, frames);
    CHECK(w.frames <= 5 && w.share >= 0.85, "0.5 px motion: worst error %d frames, %.2f of the apex motion", w.frames,
          w.share);

    /* head drift much larger than the motion: registration is what finds the apex */
    clip_spec drift = {.n = N, .amp = 0.8, .noise = 2, .drift = 0.08};
    apex_spot_options noreg = o;
    noreg.reg = 0;
    spot_error w_reg = worst_error(drift, 3, &o, 4, frames), w_noreg = worst_error(drift, 3, &noreg, 4, frames);
    CHECK(w_reg.frames <= 3 && w_reg.share >= 0.9, "drift of 3 px over the clip, registered: worst error %d",
          w_reg.frames);
    CHECK(w_noreg.frames > 8, "the same without registration is misled by the drift (worst error %d): the test can fail",
          w_noreg.frames);

    /* a flash (gain +25 %) late in the clip: normalisation keeps it from becoming the apex */
    clip_spec flash = {.n = N, .amp = 1.0, .noise = 2, .flash = 34};
    w = worst_error(flash, 3, &o, 5, frames);
    CHECK(w.frames <= 3 && w.share >= 0.9, "gain step after the apex: worst error %d", w.frames);

    /* a blink after the apex: it changes more than the expression, leaving the eyes out keeps it from winning */
    clip_spec blink = {.n = N, .amp = 1.0, .noise = 2, .blink = 6};
    apex_spot_options eyes_in = o;
    eyes_in.eyes = 0;
    spot_error w_out = worst_error(blink, 3, &o, 6, frames), w_in = worst_error(blink, 3, &eyes_in, 6, frames);
    CHECK(w_out.frames <= 3 && w_out.share >= 0.9, "blink, eyes left out: worst error %d", w_out.frames);
    CHECK(w_in.frames >= 4, "blink, eyes kept: misled (worst error %d): the test can fail", w_in.frames);

    /* onset inside the clip: indices are absolute, the curve is 0 up to the onset */
    {
        static texture tx;
        texture_init(&tx, 77);
        clip_spec c = real;
        c.apex = 15;
        render(frames, &c, &tx, 78);
        /* frames 0..4 become copies of a shifted frame 30 so only an onset at 5 sees the true motion: shift */
        float *f2 = malloc((size_t)(N + 5) * S * S * sizeof *f2);
        CHECK(f2 != NULL, "alloc");
        if (f2) {
            for (int t = 0; t < 5; t++) memcpy(f2 + (size_t)t * S * S, frames + (size_t)30 * S * S, (size_t)S * S * sizeof *f2);
            memcpy(f2 + (size_t)5 * S * S, frames, (size_t)N * S * S * sizeof *f2);
            float c2[45];
            apex_spot_result r;
            CHECK(apex_spot(&r, c2, f2, N + 5, S, S, 5, &o, &e) == 0, "onset 5: %s", e.msg);
            CHECK(abs(r.apex - 20) <= 1 && r.apex > 5, "onset 5: apex %d, want 20", r.apex);
            int zero = 1;
            for (int t = 0; t <= 5; t++) zero &= c2[t] == 0;
            CHECK(zero && c2[r.apex] == r.peak && r.peak > 0, "curve: 0 up to the onset, peak at the apex");
            /* streaming gives the same */
            apex_spotter *sp;
            CHECK(apex_spotter_new(&sp, S, S, &o, &e) == 0, "new: %s", e.msg);
            for (int t = 5; t < N + 5; t++) apex_spotter_add(sp, f2 + (size_t)t * S * S, &e);
            apex_spot_result r2;
            CHECK(apex_spotter_count(sp) == N && apex_spotter_finish(sp, &r2, curve, &e) == 0, "finish");
            CHECK(r2.apex + 5 == r.apex && !memcmp(curve, c2 + 5, (size_t)N * sizeof *curve), "streaming == whole clip");
            apex_spotter_free(sp);
            free(f2);
        }
    }

    /* constant clip: no motion, the middle frame after the onset, flagged */
    {
        for (size_t i = 0; i < (size_t)N * S * S; i++) frames[i] = 100;
        apex_spot_result r;
        CHECK(apex_spot(&r, curve, frames, N, S, S, 0, &o, &e) == 0, "constant: %s", e.msg);
        CHECK(r.flat == 1 && r.apex == 1 + (N - 2) / 2 && r.peak == 0, "constant: flat, apex %d (middle)", r.apex);
        CHECK(apex_spot(&r, NULL, frames, 2, S, S, 0, &o, &e) == 0 && r.apex == 1 && r.flat, "two constant frames");
        /* a textured but still clip is flat too (registration finds 0, the difference is 0) */
        static texture tx;
        texture_init(&tx, 9);
        clip_spec still = {.n = 6, .amp = 0, .apex = 2};
        render(frames, &still, &tx, 10);
        CHECK(apex_spot(&r, NULL, frames, 6, S, S, 0, &o, &e) == 0 && r.flat && r.apex == 3, "still texture: flat");
    }

    /* errors */
    {
        apex_spot_result r;
        CHECK(apex_spot(&r, NULL, frames, 1, S, S, 0, &o, &e) < 0 && strstr(e.msg, "at least 2") &&
                  e.kind == MER_ERR_DATA, "n = 1: %s", e.msg);
        CHECK(apex_spot(&r, NULL, frames, 0, S, S, 0, &o, &e) < 0, "n = 0");
        CHECK(apex_spot(&r, NULL, frames, 5, S, S, 4, &o, &e) < 0 && strstr(e.msg, "onset"), "onset = last: %s", e.msg);
        CHECK(apex_spot(&r, NULL, frames, 5, S, S, -1, &o, &e) < 0, "onset < 0");
        CHECK(apex_spot(&r, NULL, frames, 5, 4, 4, 0, &o, &e) < 0 && strstr(e.msg, "8x8"), "tiny frames: %s", e.msg);
        apex_spot_options bad = o;
        bad.top = 0;
        CHECK(apex_spot(&r, NULL, frames, 5, S, S, 0, &bad, &e) < 0 && strstr(e.msg, "top") && e.kind == MER_ERR_CONFIG,
              "top 0: %s", e.msg);
        bad = o;
        bad.blur = -1;
        CHECK(apex_spot_check(&bad, &e) < 0 && strstr(e.msg, "blur"), "blur < 0: %s", e.msg);
        bad = o;
        bad.grid = 0;
        CHECK(apex_spot_check(&bad, &e) < 0 && strstr(e.msg, "grid"), "grid 0: %s", e.msg);
        float zmask[S * S] = {0};
        bad = o;
        bad.mask = zmask;
        CHECK(apex_spot(&r, NULL, frames, 5, S, S, 0, &bad, &e) < 0 && strstr(e.msg, "mask"), "zero mask: %s", e.msg);
        frames[123] = NAN;
        CHECK(apex_spot(&r, NULL, frames, 5, S, S, 0, &o, &e) < 0 && strstr(e.msg, "non-finite"), "NaN: %s", e.msg);
        apex_spotter *sp;
        CHECK(apex_spotter_new(&sp, S, S, NULL, &e) == 0, "defaults via NULL");
        CHECK(apex_spotter_finish(sp, &r, NULL, &e) < 0 && strstr(e.msg, "0 given"), "finish with no frame: %s", e.msg);
        apex_spotter_free(sp);
        apex_spotter_free(NULL);
    }
    free(frames);
    return check_summary();
}
