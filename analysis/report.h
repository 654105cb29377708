/* Experiment reports: read a results.h5 (layout: the header of runner/results.c), recompute
 * every metric from the per-sample predictions, and write Markdown, CSV, JSON, SVG plots and the
 * MEGC2019 per-fold log.
 *
 * Metrics follow core/metrics.h: for each (point, seed) the predictions of all folds are
 * pooled into one confusion matrix, scored (accuracy, UF1, UAR), and the per-seed scores are then
 * summarised by their mean and sample standard deviation over seeds. A point's `confusion` is the
 * pooled matrix summed over its seeds (rows = truth), and its per-class recall/F1 come from that sum.
 * Per-subject accuracies are only shown as a diagnostic (plots), never averaged into a score.
 *
 * When /metrics exists in the file (the runner's own pooled metrics and confusion), every row is compared with the
 * recomputation and any disagreement is listed in `warnings` (and printed in every format).
 * The optional /oracle group ("best epoch on the test subject") is read into `oracle` and appears in
 * every output only under its LEAKY label, never in sweep tables, best-point selection or plots.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>

#include "io/base/err.h"
#include "core/metrics.h"

typedef struct {
    int64_t seed;
    mer_metrics m;  /* pooled over this seed's folds */
    size_t n_folds; /* distinct folds with predictions */
} report_seed;

typedef struct {
    char *subject;
    int64_t n, correct; /* summed over seeds */
} report_subject;

/* One dataset's figures inside a composite run: the point's pooled predictions of that dataset's samples
 * (subjects "casme2_sub01" or "casme2/sub01"), scored per seed, then mean and sample std over seeds. */
typedef struct {
    int64_t n;               /* samples per seed (the largest over seeds) */
    size_t n_seeds;          /* seeds with predictions of this dataset */
    double accuracy, accuracy_std, uf1, uf1_std, uar, uar_std;
} report_subset;

typedef struct {
    char *id, *params;       /* /points/id, /points/params */
    size_t n_kv;             /* params parsed as "key=value key=value" */
    char **keys, **values;
    report_seed *seeds;      /* ascending seed */
    size_t n_seeds;
    double accuracy, accuracy_std, uf1, uf1_std, uar, uar_std; /* mean and sample std over seeds */
    int64_t *confusion;      /* [C][C] pooled over folds, summed over seeds */
    double *recall, *f1;     /* [C] from `confusion`; NAN where undefined (core/metrics.h rule) */
    int64_t n;               /* samples per seed (the largest over seeds; per-seed counts in seeds[]) */
    size_t n_folds;          /* distinct folds over all seeds */
    report_subject *subjects; /* ascending subject name */
    size_t n_subjects;
    size_t n_failed;         /* failed tasks whose /tasks/point names this point (0 if the column is absent) */
    report_subset *per_dataset; /* [mer_report.n_datasets], NULL when the run is not a composite */
    double lsh_empty;        /* mean share of empty LSH query rows in training over its train tasks
                              * (/train_stats; NAN when none recorded one) */
} report_point;

typedef struct {
    char *id, *stage, *state, *host, *error;
    int64_t attempts, point; /* point: index into points, -1 = not known / shared stage */
    double wall_s;
} report_task;

/* The per-sample rows of /predictions (or /oracle), kept so any metric or log can be recomputed. */
typedef struct {
    size_t n;
    int64_t *point, *seed, *fold, *truth, *pred;
    char **subject, **sample;
} report_rows;

typedef struct {
    char *path;              /* the results.h5 read */
    char *dataset;           /* /dataset/name */
    char **classes;
    size_t n_classes;
    char *version, *created; /* /meta/version, /meta/created ("" when absent) */
    char *libraries, *engine; /* /meta/libraries, /meta/engine ("" when absent) */
    char *config;            /* /meta/config: the run's base config as YAML ("" when absent) */
    report_point *points;    /* every point of /points, in file order */
    size_t n_points;
    long best;               /* index of the best point: highest mean accuracy, then UF1, then UAR; -1 none */
    char **datasets;         /* composite runs (every subject carries a dataset prefix, io/data/dataset.h
                              * dataset_subject_prefix): the datasets, sorted; else NULL */
    size_t n_datasets;
    char **sweep_keys;       /* keys that vary between points, in order of first appearance */
    size_t n_sweep_keys;
    report_point *oracle;    /* NULL when the file has no /oracle; else n_points entries */
    char *oracle_label;      /* /oracle/label, always shown next to oracle numbers */
    report_task *failed;     /* tasks in state "failed" */
    size_t n_failed;
    size_t n_tasks;          /* rows of /tasks (0 if absent) */
    report_rows rows;        /* /predictions */
    report_rows oracle_rows; /* /oracle (n = 0 when absent) */
    int has_lsh_stats;       /* some point has lsh_empty */
    char **warnings;         /* consistency problems found while loading */
    size_t n_warnings;
} mer_report;

/* Read PATH (a results.h5) and compute everything above. */
int report_load(mer_report *r, const char *path, mer_err *err);
void report_free(mer_report *r);

typedef enum { REPORT_MD, REPORT_CSV, REPORT_JSON, REPORT_HTML } report_format;

/* Write the reports of n result files in one document. plot_dirs[i] (may be NULL, or an entry NULL)
 * is where report_write_plots put report i's figures; Markdown links them.
 * HTML is one self-contained page (no scripts, no external files): each report's Markdown rendered
 * (headings, paragraphs, lists, every table), its figures inlined as SVG (the ones report_write_plots
 * writes, whatever plot_dirs says), the config and the versions from results.h5. */
int report_write(FILE *f, report_format fmt, const mer_report *r, size_t n, const char *const *plot_dirs,
                 mer_err *err);

/* SVG figures into dir (created if missing): confusion_<id>.svg for each point (at most 64),
 * subjects_<best id>.svg (per-subject accuracy of the best point), sweep_<key>.svg per swept key
 * (mean accuracy with a +-1 std error bar over seeds, one line per combination of the other keys). */
int report_write_plots(const mer_report *r, const char *dir, mer_err *err);

/* MEGC2019 per-fold log of one point and seed: for each fold (ascending) a line "dataset subject"
 * (a subject "casme2_sub01" or "casme2/sub01" splits into dataset "casme2" and subject "sub01"; else
 * the dataset name of the file is used), then one line "filename gt pred" per sample in sample-id order
 * (filename = the sample id after its last '/', labels as ids). point < 0 selects the best point; seed < 0 the
 * smallest seed. */
int report_write_megc_log(FILE *f, const mer_report *r, long point, int64_t seed, mer_err *err);

/* Index of the point with id `id`, -1 if none. */
long report_find_point(const mer_report *r, const char *id);
