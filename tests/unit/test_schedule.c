/* Magnification schedules: each form, the patent's worked example, alpha vs 1 + alpha, parsing, config. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/magnify/factors.h"
#include "runner/core_options.h"
#include "tests/check.h"

int main(void) {
    mer_err err = {0};
    double *f;
    int T;

    /* patent worked example: alpha_1 = 1, alpha_2 = 1.375, alpha_3 = 1.75, ... 32 frames (step form) */
    schedule_spec s = {.form = SCHEDULE_STEP, .start = 1.0, .step = 0.375, .count = 32};
    CHECK(schedule_factors(&f, &T, &s, &err) == 0, "step: %s", err.msg);
    CHECK(T == 32, "32 frames, got %d", T);
    CHECK_NEAR(f[0], 1.0, 1e-12, "alpha_1");
    CHECK_NEAR(f[1], 1.375, 1e-12, "alpha_2");
    CHECK_NEAR(f[2], 1.75, 1e-12, "alpha_3");
    CHECK_NEAR(f[31], 12.625, 1e-12, "alpha_32 with step 0.375 is 12.625 (the patent's '13' needs the end form)");
    free(f);

    /* the same with m = 1 + alpha (the patent's formula) */
    s.one_plus_alpha = 1;
    CHECK(schedule_factors(&f, &T, &s, &err) == 0, "1+alpha: %s", err.msg);
    CHECK_NEAR(f[0], 2.0, 1e-12, "m_1 = 2");
    CHECK_NEAR(f[31], 13.625, 1e-12, "m_32 = 13.625");
    free(f);

    /* end form: linear ramp 1 .. 13 over 32 frames, step 12/31 */
    s = (schedule_spec){.form = SCHEDULE_END, .start = 1.0, .end = 13.0, .count = 32};
    CHECK(schedule_factors(&f, &T, &s, &err) == 0, "end: %s", err.msg);
    CHECK(T == 32, "32 frames");
    CHECK_NEAR(f[1] - f[0], 12.0 / 31.0, 1e-12, "step 12/31");
    CHECK_NEAR(f[16], 1.0 + 12.0 * 16 / 31, 1e-12, "alpha_17");
    CHECK(f[31] == 13.0, "last factor exactly 13, got %.17g", f[31]);
    int increasing = 1;
    for (int i = 1; i < T; i++) increasing &= f[i] > f[i - 1];
    CHECK(increasing, "increasing ramp");
    free(f);
    s.count = 1;
    CHECK(schedule_factors(&f, &T, &s, &err) == 0 && T == 1 && f[0] == 1.0, "end form with one frame = start");
    free(f);

    /* explicit list */
    double l[] = {2, 4, 8, 16};
    s = (schedule_spec){.form = SCHEDULE_LIST, .list = l, .n_list = 4, .one_plus_alpha = 1};
    CHECK(schedule_factors(&f, &T, &s, &err) == 0 && T == 4, "list: %s", err.msg);
    CHECK(f[0] == 3 && f[3] == 17, "list with 1 + alpha: %g %g", f[0], f[3]);
    free(f);

    /* errors */
    s = (schedule_spec){.form = SCHEDULE_STEP, .start = 1.0, .step = 0.5, .count = 0};
    CHECK(schedule_factors(&f, &T, &s, &err) < 0 && strstr(err.msg, "factors"), "count 0: %s", err.msg);
    s.count = 3;
    s.step = NAN;
    CHECK(schedule_factors(&f, &T, &s, &err) < 0 && strstr(err.msg, "finite"), "NaN step: %s", err.msg);

    /* parsing the command-line form */
    schedule_spec p = {0};
    CHECK(schedule_parse(&p, "step:1:0.375:32", &err) == 0, "parse step: %s", err.msg);
    CHECK(p.form == SCHEDULE_STEP && p.start == 1 && p.step == 0.375 && p.count == 32, "parsed step fields");
    CHECK(schedule_parse(&p, "end:1:13:32", &err) == 0, "parse end: %s", err.msg);
    CHECK(p.form == SCHEDULE_END && p.end == 13 && p.count == 32, "parsed end fields");
    CHECK(schedule_parse(&p, "list:2,4.5,8", &err) == 0, "parse list: %s", err.msg);
    CHECK(p.form == SCHEDULE_LIST && p.n_list == 3 && p.list[1] == 4.5, "parsed list");
    schedule_spec_free(&p);
    const char *bad[] = {"step:1:2", "step:1:2:3.5", "end:1:x:4", "list:", "list:1,,2", "ramp:1:2:3", "step:1:2:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK(schedule_parse(&p, bad[i], &err) < 0 && strstr(err.msg, "schedule"), "'%s' must be rejected (%s)",
              bad[i], err.msg);
        schedule_spec_free(&p);
    }
    int opa = -1;
    CHECK(schedule_parse_factor_kind(&opa, "one_plus_alpha", &err) == 0 && opa == 1, "one_plus_alpha");
    CHECK(schedule_parse_factor_kind(&opa, "alpha", &err) == 0 && opa == 0, "alpha");
    CHECK(schedule_parse_factor_kind(&opa, "1+alpha", &err) < 0, "1+alpha is not a value");

    /* from the config's magnify.* keys */
    mer_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.mag_start = 1.0;
    cfg.mag_step = 0.375;
    cfg.mag_end = NAN;
    cfg.mag_count = 32;
    cfg.mag_factor = CFG_MAG_FACTOR_ALPHA;
    CHECK(options_factors(&f, &T, &cfg, &err) == 0 && T == 32 && f[31] == 12.625, "config step form: %s", err.msg);
    free(f);
    cfg.mag_end = 13.0;
    cfg.mag_factor = CFG_MAG_FACTOR_ONE_PLUS_ALPHA;
    CHECK(options_factors(&f, &T, &cfg, &err) == 0 && T == 32 && f[0] == 2.0 && f[31] == 14.0,
          "config end form with 1 + alpha: %s", err.msg);
    free(f);
    double cl[] = {1.5, 3};
    cfg.mag_list.v = cl;
    cfg.mag_list.n = 2;
    cfg.mag_factor = CFG_MAG_FACTOR_ALPHA;
    CHECK(options_factors(&f, &T, &cfg, &err) == 0 && T == 2 && f[0] == 1.5 && f[1] == 3,
          "config list overrides start/end/count: %s", err.msg);
    free(f);
    /* the config layer's own accessor agrees bit for bit, in every form */
    cfg.mag_list.n = 0;
    const double ends[2] = {13.0, NAN};
    for (int k = 0; k < 2; k++) {
        cfg.mag_end = ends[k];
        cfg.mag_step = 0.375;
        cfg.mag_factor = CFG_MAG_FACTOR_ALPHA;
        CHECK(options_factors(&f, &T, &cfg, &err) == 0, "resolve: %s", err.msg);
        int same = T == cfg.mag_count;
        for (int i = 0; same && i < T; i++) same = f[i] == config_mag_alpha(&cfg, i);
        CHECK(same, "options_factors == config_mag_alpha (end %g)", ends[k]);
        free(f);
    }
    return check_summary();
}
