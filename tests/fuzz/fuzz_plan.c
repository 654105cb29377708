/* libFuzzer harness: what `mer collect` reads (runner/results.c): plan.h5 (stored_plan_read), the ledger,
 * and a train task file and a features task file, each built per input with datasets present, missing,
 * mis-typed or mis-shaped (fuzz_h5.h). When the plan reads, results_collect assembles results.h5. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runner/results.h"
#include "tests/fuzz/fuzz_h5.h"

static const char *const TASK_IDS[] = {"t0", "t1", "t2", "t0", NULL};
static const char *const STAGES[] = {"train", "features", "prep", "test", "train", NULL};
static const char *const SAMPLES[] = {"s0", "s1", "s2", "s1", "", NULL};
static const char *const SUBJECTS[] = {"sub01", "sub02", "", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t C = fz_u8(&in) % 4, S = fz_u8(&in) % 5, F = fz_u8(&in) % 3, P = fz_u8(&in) % 3, V = fz_u8(&in) % 4,
           K = fz_u8(&in) % 5, R = fz_u8(&in) % 5;
    int64_t Cr = (int64_t)(C ? C : 1);
    const fz_ds plan[] = {
        {"meta/config", FZ_STR, 1, 0, 0, 0, NULL},
        {"meta/version", FZ_STR, 1, 0, 0, 0, NULL},
        {"meta/save_features", FZ_SCALAR_I64, 1, 0, 0, 2, NULL},
        {"dataset/name", FZ_STR, 1, 0, 0, 0, NULL},
        {"dataset/classes", FZ_STRS, C, 0, 0, 0, NULL},
        {"samples/id", FZ_STRS, S, 0, 0, 0, SAMPLES},
        {"samples/subject", FZ_STRS, S, 0, 0, 0, SUBJECTS},
        {"samples/label", FZ_I64, S, 0, 0, Cr, NULL},
        {"folds/name", FZ_STRS, F, 0, 0, 0, SUBJECTS},
        {"points/id", FZ_STRS, P, 0, 0, 0, NULL},
        {"points/params", FZ_STRS, P, 0, 0, 0, NULL},
        {"points/config", FZ_STRS, P, 0, 0, 0, NULL},
        {"variants/point", FZ_I64, V, 0, 0, (int64_t)P, NULL},
        {"variants/seed", FZ_I64, V, 0, 0, 3, NULL},
        {"tasks/id", FZ_STRS, K, 0, 0, 0, TASK_IDS},
        {"tasks/stage", FZ_STRS, K, 0, 0, 0, STAGES},
        {"tasks/variant", FZ_I64, K, 0, 0, (int64_t)V, NULL},
        {"tasks/fold", FZ_I64, K, 0, 0, (int64_t)F, NULL},
        {"tasks/est_cost", FZ_F64, K, 0, 0, 0, NULL},
    };
    const fz_ds train[] = {
        {"pred/sample", FZ_STRS, R, 0, 0, 0, SAMPLES},
        {"pred/truth", FZ_I64, R, 0, 0, Cr, NULL},
        {"pred/pred", FZ_I64, R, 0, 0, Cr, NULL},
        {"pred/prob", FZ_F32, R, C, 0, 0, NULL},
        {"oracle/sample", FZ_STRS, R, 0, 0, 0, SAMPLES},
        {"oracle/truth", FZ_I64, R, 0, 0, Cr, NULL},
        {"oracle/pred", FZ_I64, R, 0, 0, Cr, NULL},
        {"oracle/prob", FZ_F32, R, C, 0, 0, NULL},
        {"weights/fc/w", FZ_F32, 2, 2, 0, 0, NULL},
    };
    const fz_ds features[] = {
        {"task/id", FZ_STR, 1, 0, 0, 0, NULL},
        {"x", FZ_F32, R, 3, 0, 0, NULL},
        {"g/y", FZ_I64, R, 0, 0, 3, NULL},
    };
    char dir[700], p[800];
    snprintf(dir, sizeof dir, "%s/run", fz_scratch());
    mkdir(dir, 0777);
    snprintf(p, sizeof p, "%s/tasks", dir);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/tasks/train", dir);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/tasks/features", dir);
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/plan.h5", dir);
    fz_h5_build(p, plan, sizeof plan / sizeof plan[0], &in);
    uint8_t files = fz_u8(&in);
    snprintf(p, sizeof p, "%s/tasks/train/t0.h5", dir);
    if (files & 1) fz_h5_build(p, train, sizeof train / sizeof train[0], &in);
    else unlink(p);
    snprintf(p, sizeof p, "%s/tasks/features/t1.h5", dir);
    if (files & 2) fz_h5_build(p, features, sizeof features / sizeof features[0], &in);
    else unlink(p);
    /* the rest of the input is the ledger */
    snprintf(p, sizeof p, "%s/ledger.tsv", dir);
    if (files & 4) fz_write(p, in.p, in.n);
    else unlink(p);

    stored_plan sp;
    mer_err err;
    if (stored_plan_read(&sp, dir, &err) == 0) {
        stored_plan_free(&sp);
        size_t rows, done;
        if (files & 8) {
            if (results_collect(dir, &rows, &done, NULL, &err)) fz_why("results_collect", err.msg);
            snprintf(p, sizeof p, "%s/results.h5", dir);
            unlink(p);
        }
    } else {
        fz_why("stored_plan_read", err.msg);
    }
    return 0;
}
