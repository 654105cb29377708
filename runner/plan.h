/* The plan: sweep points x seeds x folds expanded into a deduplicated task graph (see runner/stage.h).
 *
 * Folds (eval.protocol): loso - one fold per subject, in the order subjects first appear in the dataset;
 * kfold - eval.folds folds of whole subjects, balanced by sample count (subjects taken largest first,
 * each to the fold with fewest samples so far, ties to the lower fold); megc2019 - LOSO over the
 * composite 3-class dataset (dataset.format megc2019: 68 subjects = 68 folds); lodo - one fold per dataset
 * of a composite (the subject ids' prefixes, io/data/dataset.h), in order of first appearance: train on
 * the other datasets, test on it.
 *
 * With eval.final_model each variant also gets a final-model task: kind STAGE_TRAIN, fold -1, trained on every
 * sample (deps: the FEATURES tasks, and with eval.selection inner_val the variant's fold tasks).
 *
 * Tasks are ordered deterministically (variant by variant, stage by stage), so every rank that builds the
 * plan from the same config and dataset gets the same task indices (the farm checks a hash of the plan).
 */
#pragma once
#include <stdio.h>

#include "runner/stage.h"

struct mer_plan {
    const cfg_doc *doc;
    const stage_impl *impl;
    cfg_point *points; /* owned */
    size_t n_points;
    mer_variant *variants; /* n_points x n_seeds, point-major */
    size_t n_variants;
    mer_samples samples;
    mer_fold *folds;
    size_t n_folds;
    mer_task *tasks;
    size_t n_tasks;
    size_t n_requested[STAGE_COUNT]; /* tasks before deduplication, per stage (for the dry-run summary) */
    char *output_dir;
    uint64_t hash; /* of every task id and dependency, to check ranks agree */
    uint64_t labels_hash; /* of every sample's label and the class names: part of every TRAIN key */
};

/* Build the plan. `samples` is taken over (moved) by the plan. */
int plan_build(mer_plan *plan, const cfg_doc *doc, const stage_impl *impl, mer_samples *samples, mer_err *err);
void plan_free(mer_plan *plan);

/* output.dir/tasks/<stage>/<id>.h5 (no error: paths that do not fit are truncated and then fail to open). */
void task_output_path(char *buf, size_t n, const mer_plan *plan, const mer_task *t);
/* 1 if the task's output file exists (a cache hit). */
int task_output_exists(const mer_plan *plan, const mer_task *t);

/* Build the folds of the protocol (exposed for tests). */
int plan_folds(mer_fold **folds, size_t *n_folds, const mer_samples *s, cfg_protocol protocol, int k, mer_err *err);
void plan_folds_free(mer_fold *folds, size_t n);

/* The --dry-run table: stage, id, variant/fold or samples, depends on, estimated cost, cache hit. */
void plan_print(FILE *f, const mer_plan *plan);
