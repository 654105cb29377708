/* results.h5: the run's shared results file (layout: the header of runner/results.c, the contract read by
 * `mer report`), rebuilt from the finished task files so a crash never loses it.
 *
 * At the start of a run the coordinator writes output.dir/plan.h5 (points, variants, samples, folds, the
 * task table, the base config): with it, the ledger and the task files, `mer collect DIR` and `mer status
 * DIR` need nothing else (no config, no dataset).
 */
#pragma once
#include "runner/plan.h"
#include "runner/stage.h"

/* Write DIR/plan.h5 atomically. */
int results_write_plan(const mer_plan *plan, mer_err *err);

/* Where the time went: wall seconds summed over each stage's finished tasks (stored as /meta/time). */
typedef struct {
    double seconds[STAGE_COUNT];
    size_t tasks[STAGE_COUNT];
} stage_time;

/* Rebuild DIR/results.h5 (atomically) from DIR/plan.h5, DIR/ledger.tsv and DIR/tasks/. The counts of the
 * prediction rows and finished train tasks, and the time per stage, are returned when the pointers are not
 * NULL. */
int results_collect(const char *dir, size_t *n_rows, size_t *n_train_done, stage_time *time, mer_err *err);
/* Sum wall_s of the K tasks whose state is "done", by stage name. */
void results_stage_time(stage_time *t, const char *const *stage, const char *const *state, const double *wall_s,
                        size_t K);
/* "prep 37.1 s (315 tasks, 2 %), features 192.0 s (40 tasks, 12 %), train ..." */
void results_stage_time_format(const stage_time *t, char *buf, size_t size);

/* The plan as stored in plan.h5 (what status and collect read). */
typedef struct {
    char *config, *dataset_name;
    char **classes;
    size_t n_classes;
    char **sample_id, **sample_subject;
    int64_t *sample_label;
    size_t n_samples;
    char **fold_name;
    size_t n_folds;
    char **point_id, **point_params, **point_config;
    size_t n_points;
    int64_t *variant_point, *variant_seed;
    size_t n_variants;
    char **task_id, **task_stage;
    int64_t *task_variant, *task_fold;
    double *task_est;
    size_t n_tasks;
    int64_t save_features;
} stored_plan;

int stored_plan_read(stored_plan *sp, const char *dir, mer_err *err);
void stored_plan_free(stored_plan *sp);
