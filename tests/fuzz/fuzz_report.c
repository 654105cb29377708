/* libFuzzer harness: results.h5 as `mer report` reads it (analysis/report.c), built per input with the
 * datasets of the layout (runner/results.c) present, missing, mis-typed or mis-shaped (fuzz_h5.h).
 * A file that loads is also written as Markdown, CSV and JSON, as plots and as a MEGC2019 log. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "analysis/report.h"
#include "tests/fuzz/fuzz_h5.h"

static const char *const IDS[] = {"p0", "p1", "p2", "p1", NULL};
static const char *const PARAMS[] = {"train.lr=0.1 model.d=4", "train.lr=0.2 model.d=4", "", "train.lr=0.1",
                                     "x", "=", "a= =b", NULL};
static const char *const SUBJECTS[] = {"casme2_sub01", "casme2/sub02", "sub03", "", "samm_006", NULL};
static const char *const SAMPLES[] = {"sub01/EP01", "sub02/EP02", "x", "", "a/b/c", NULL};
static const char *const STATES[] = {"done", "failed", "pending", "failed", NULL};
static const char *const CLASSES[] = {"negative", "positive", "surprise", "", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t C = fz_u8(&in) % 4 + 1, P = fz_u8(&in) % 4, N = fz_u8(&in) % 12, K = fz_u8(&in) % 4,
           M = fz_u8(&in) % 5, NO = fz_u8(&in) % 6;
    int64_t Pr = (int64_t)P, Cr = (int64_t)C;
    const fz_ds table[] = {
        {"dataset/name", FZ_STR, 1, 0, 0, 0, NULL},
        {"dataset/classes", FZ_STRS, C, 0, 0, 0, CLASSES},
        {"meta/version", FZ_STR, 1, 0, 0, 0, NULL},
        {"meta/created", FZ_STR, 1, 0, 0, 0, NULL},
        {"points/id", FZ_STRS, P, 0, 0, 0, IDS},
        {"points/params", FZ_STRS, P, 0, 0, 0, PARAMS},
        {"predictions/point", FZ_I64, N, 0, 0, Pr, NULL},
        {"predictions/seed", FZ_I64, N, 0, 0, 3, NULL},
        {"predictions/fold", FZ_I64, N, 0, 0, 3, NULL},
        {"predictions/subject", FZ_STRS, N, 0, 0, 0, SUBJECTS},
        {"predictions/sample", FZ_STRS, N, 0, 0, 0, SAMPLES},
        {"predictions/truth", FZ_I64, N, 0, 0, Cr, NULL},
        {"predictions/pred", FZ_I64, N, 0, 0, Cr, NULL},
        {"predictions/prob", FZ_F32, N, C, 0, 0, NULL},
        {"oracle/point", FZ_I64, NO, 0, 0, Pr, NULL},
        {"oracle/seed", FZ_I64, NO, 0, 0, 3, NULL},
        {"oracle/fold", FZ_I64, NO, 0, 0, 3, NULL},
        {"oracle/subject", FZ_STRS, NO, 0, 0, 0, SUBJECTS},
        {"oracle/sample", FZ_STRS, NO, 0, 0, 0, SAMPLES},
        {"oracle/truth", FZ_I64, NO, 0, 0, Cr, NULL},
        {"oracle/pred", FZ_I64, NO, 0, 0, Cr, NULL},
        {"oracle/label", FZ_STR, 1, 0, 0, 0, NULL},
        {"tasks/id", FZ_STRS, K, 0, 0, 0, NULL},
        {"tasks/stage", FZ_STRS, K, 0, 0, 0, NULL},
        {"tasks/state", FZ_STRS, K, 0, 0, 0, STATES},
        {"tasks/host", FZ_STRS, K, 0, 0, 0, NULL},
        {"tasks/error", FZ_STRS, K, 0, 0, 0, NULL},
        {"tasks/attempts", FZ_I64, K, 0, 0, 3, NULL},
        {"tasks/wall_s", FZ_F64, K, 0, 0, 0, NULL},
        {"tasks/point", FZ_I64, K, 0, 0, Pr, NULL},
        {"metrics/point", FZ_I64, M, 0, 0, Pr, NULL},
        {"metrics/seed", FZ_I64, M, 0, 0, 3, NULL},
        {"metrics/accuracy", FZ_F64, M, 0, 0, 0, NULL},
        {"metrics/uf1", FZ_F64, M, 0, 0, 0, NULL},
        {"metrics/uar", FZ_F64, M, 0, 0, 0, NULL},
        {"metrics/confusion", FZ_I64, M, C, C, 4, NULL},
    };
    char path[700], plots[700];
    snprintf(path, sizeof path, "%s/results.h5", fz_scratch());
    snprintf(plots, sizeof plots, "%s/plots", fz_scratch());
    fz_h5_build(path, table, sizeof table / sizeof table[0], &in);

    mer_report r;
    mer_err err;
    if (report_load(&r, path, &err) == 0) {
        FILE *devnull = fopen("/dev/null", "w");
        if (!devnull) abort();
        const char *dirs[1] = {plots};
        for (int fmt = REPORT_MD; fmt <= REPORT_JSON; fmt++) report_write(devnull, (report_format)fmt, &r, 1, dirs, &err);
        report_write_megc_log(devnull, &r, -1, -1, &err);
        for (size_t p = 0; p < r.n_points; p++) {
            if (report_find_point(&r, r.points[p].id) < 0) abort();
            report_write_megc_log(devnull, &r, (long)p, 1, &err);
        }
        fclose(devnull);
        if (fz_u8(&in) & 1) report_write_plots(&r, plots, &err);
        report_free(&r);
    } else {
        fz_why("report_load", err.msg);
    }
    return 0;
}
