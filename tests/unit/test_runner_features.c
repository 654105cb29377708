/* The FEATURES stage's frames for LBP-TOP (runner/pipeline.h): with magnify.method none its histogram is that
 * of prep's onset->apex sequence (the T frames as stored, grey by BT.601), not of the apex T times; with
 * linear it is that of the magnified frames; a prep result without the sequence is refused with a reason.
 * The frames are random, so a histogram of the wrong frames differs. */
#include <stdlib.h>
#include <string.h>

#include "core/baseline/lbptop.h"
#include "io/base/rng.h"
#include "io/config/config.h"
#include "runner/core_options.h"
#include "runner/pipeline.h"
#include "tests/check.h"

enum { S = 24, T = 5 };

/* The histogram of n frames (S,S,3) uint8 with the options of cfg. */
static void histogram(float *row, const uint8_t *const *frames, const mer_config *cfg) {
    float *rgb = malloc(sizeof(float) * T * 3 * S * S), *grey = malloc(sizeof(float) * T * S * S);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < S * S; k++) rgb[((size_t)t * 3 + c) * S * S + k] = frames[t][k * 3 + c] / 255.0f;
    lbptop_grey_from_planar_rgb(grey, rgb, T, S, S);
    lbptop_options o = options_lbptop(cfg);
    mer_err err = {0};
    CHECK(lbptop_features(row, grey, T, S, S, &o, &err) == 0, "reference histogram: %s", err.msg);
    free(rgb);
    free(grey);
}

int main(void) {
    mer_config cfg;
    config_defaults(&cfg);
    cfg.model_backbone_kind = CFG_BACKBONE_LBPTOP;
    cfg.mag_method = CFG_MAG_NONE;
    cfg.mag_count = T;
    cfg.prep_size = S;
    cfg.lbptop_grid_rows = cfg.lbptop_grid_cols = 2;
    CHECK(options_sequence(&cfg) == T && options_prep(&cfg).sequence == T, "lbptop + none: prep keeps %d frames", T);

    uint8_t *seq = malloc((size_t)T * S * S * 3);
    mer_rng rng = rng_seeded(5);
    for (size_t i = 0; i < (size_t)T * S * S * 3; i++) seq[i] = (uint8_t)(rng_u64(&rng) >> 56);
    const size_t px = (size_t)S * S * 3;
    prep_result r = {.onset = {.w = S, .h = S, .c = 3, .px = seq}, .apex = {.w = S, .h = S, .c = 3, .px = seq + (T - 1) * px},
                     .n_seq = T, .seq = seq};
    const uint8_t *frames[T], *apexes[T];
    for (int t = 0; t < T; t++) frames[t] = seq + t * px, apexes[t] = seq + (T - 1) * px;

    pipeline_features pf;
    mer_err err = {0};
    CHECK(pipeline_features_open(&pf, &cfg, &err) == 0, "open: %s", err.msg);
    const size_t D = pf.D;
    float *row = calloc(D, sizeof *row), *want = calloc(D, sizeof *want), *apex_only = calloc(D, sizeof *apex_only);
    CHECK(pipeline_features_of(&pf, row, &r, &err) == 0, "features: %s", err.msg);
    histogram(want, frames, &cfg);
    histogram(apex_only, apexes, &cfg);
    CHECK(!memcmp(row, want, D * sizeof *row), "none: the histogram of the onset->apex sequence");
    CHECK(memcmp(row, apex_only, D * sizeof *row) != 0, "and not that of the apex repeated");
    r.n_seq = T - 1;
    CHECK(pipeline_features_of(&pf, row, &r, &err) < 0 && strstr(err.msg, "onset->apex frames"),
          "a prep result with another frame count is refused: %s", err.msg);
    pipeline_features_free(&pf);

    /* the network's `none` and LBP-TOP's other methods leave prep as it was */
    cfg.model_backbone_kind = CFG_BACKBONE_RESNET18;
    CHECK(options_sequence(&cfg) == 0, "resnet18 + none: no sequence");
    cfg.model_backbone_kind = CFG_BACKBONE_LBPTOP;
    cfg.mag_method = CFG_MAG_LINEAR;
    CHECK(options_sequence(&cfg) == 0, "lbptop + linear: no sequence");
    r.n_seq = 0;
    r.seq = NULL;
    CHECK(pipeline_features_open(&pf, &cfg, &err) == 0 && pipeline_features_of(&pf, row, &r, &err) == 0,
          "linear: %s", err.msg);
    CHECK(memcmp(row, want, D * sizeof *row) != 0, "linear: the magnified frames, not the sequence");
    pipeline_features_free(&pf);

    free(row);
    free(want);
    free(apex_only);
    free(seq);
    config_free(&cfg);
    return check_summary();
}
