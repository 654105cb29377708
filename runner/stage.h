/* The stage interface between the experiment runner (plan, farm, ledger, results) and the code that does
 * the work (runner/pipeline.c: preprocess, magnify + features, train/evaluate; runner/stage_test.c: the
 * deterministic pseudo-work used by the runner's own tests).
 *
 * The runner owns the task graph; a stage implementation only answers four questions:
 *   load      - which samples exist (subject, label, class names): the runner builds folds from them;
 *   key       - which config values a stage task depends on (its cache key is a hash of exactly those);
 *   cost      - how long a task probably takes (longest-first scheduling, ETA);
 *   execute   - do one task (one function per stage kind), writing its outputs into an HDF5 file the
 *               runner created.
 *
 * Graph (built by runner/plan.c, for every variant = sweep point x seed):
 *   STAGE_PREP      one task per chunk of `chunk[STAGE_PREP]` samples           (no deps)
 *   STAGE_FEATURES  one task per chunk of `chunk[STAGE_FEATURES]` samples       deps: the PREP tasks of those samples
 *                   (or of features_chunk(cfg) samples, per variant)
 *   STAGE_TRAIN     one task per fold                                           deps: every FEATURES task
 *                   + with eval.final_model one with fold -1 on every sample     deps: FEATURES (+ the folds
 *                     (the final model: no /pred; /final/epochs)                  with inner_val)
 * A task's id is the 16-hex-digit FNV-1a 64 hash of its key text: the stage name, the config text
 * config_to_string(cfg, prefixes) with the prefixes the implementation names for that stage, and the
 * samples (chunks) or the fold's test subjects (train). Tasks with equal ids are one task: a sweep over
 * model.attention.n_rounds with a frozen backbone shares every PREP and FEATURES task. A task whose output
 * file already exists (in output.dir/tasks/<stage>/<id>.h5, from this or an earlier run) is a cache hit
 * and is not run again.
 *
 * Rules for execute():
 * - Read ONLY the config values covered by the stage's key prefixes (t->cfg is the config of one of the
 *   variants that share the task; values outside the prefixes may differ between those variants).
 * - Seed every random generator from t->rng_seed (derived from the task id): results must not depend on
 *   the rank that runs the task, the number of ranks, or the order of tasks.
 * - Write outputs into `out` (an open HDF5 file: the runner created it as PATH.tmp and renames it into
 *   place only after execute returned 0; on failure it is removed). Use io/h5.h.
 * - Inputs of dependencies: task_output_path(plan, dep) for each t->deps[i]; open them read-only. A
 *   dependency that failed has no file: skip every dep for which stage_dep_usable() is 0 (all of its
 *   samples that this task covers are excluded); every other dep's file exists.
 * - Samples listed in `excluded` (sorted sample indices) failed in an earlier stage (corrupt video, no face
 *   found): skip them. They are reported in the task table; the run goes on without them.
 * - Poll stage_should_stop(ctx) at safe points (between samples, epochs, minibatches) and return
 *   STAGE_INTERRUPTED when it is true: the task is re-queued on resume without counting an attempt.
 *   Call it (and everything MPI) from the calling thread only, never inside an OpenMP region.
 * - Return 0 (done), -1 (failed: err says why, naming the sample/file; retried up to runtime.retries).
 *   Never exit(), never print errors (log_info progress is fine).
 * - Threads: ctx->threads is this rank's budget (runtime.threads or SLURM_CPUS_PER_TASK); the runner has
 *   already set OpenBLAS and OpenMP to it.
 *
 * Output layout of a STAGE_TRAIN task file (read by runner/results.c to build results.h5, see
 * runner/results.c). The runner itself adds /task/{id,stage,point,seed,fold,config,excluded,
 * host,rank,version,wall_s} to every task file.
 *   /pred/sample   strs (n)     sample ids "subject/clip" of the fold's test samples (plan->samples.id)
 *   /pred/truth    i64  (n)     label id
 *   /pred/pred     i64  (n)     predicted label id
 *   /pred/prob     f32  (n,C)   softmax probabilities
 *   /oracle/...    optional, same layout, only when eval.oracle_epoch is true (LEAKY, labelled by results)
 *   /weights/...   optional: trained head (always), backbone (output.save_backbone) - copied into results.h5
 * PREP and FEATURES files have a layout owned by the implementation; FEATURES files are copied into
 * results.h5 /features/<id>/... when output.save_features is true.
 */
#pragma once
#include <hdf5.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"
#include "io/base/hash.h"
#include "io/config/config.h"

typedef enum { STAGE_PREP = 0, STAGE_FEATURES = 1, STAGE_TRAIN = 2, STAGE_COUNT = 3 } stage_kind;

const char *stage_name(stage_kind k); /* "prep", "features", "train" */

#define STAGE_INTERRUPTED 1 /* execute() return value: stopped at a safe point on request */

/* The runner's view of the dataset: what it needs for folds and the results file. Filled by
 * stage_impl.load (owned strings; freed with mer_samples_free). Samples keep the dataset's order. */
typedef struct {
    char *dataset_name; /* "casme2", "synth", ... (results /dataset/name) */
    size_t n;
    char **id;          /* [n] "subject/clip", unique */
    char **subject;     /* [n] subject id ("sub01"; MEGC2019: prefixed by dataset, "casme2_sub01") */
    int64_t *label;     /* [n] 0..n_classes-1 */
    char **classes;     /* [n_classes] class names, index = label id */
    size_t n_classes;
    char **annotation;  /* [n] or NULL: what the sheet says of a sample that its PREP and FEATURES tasks read
                         * ("onset 46 apex 51 offset 60"), part of their cache keys (runner/plan.c), so an
                         * edited sheet recomputes what it changes; labels are part of every TRAIN key */
} mer_samples;

void mer_samples_free(mer_samples *s);

/* One evaluation fold: its test samples (indices into mer_samples, ascending). */
typedef struct {
    char *name;   /* held-out subject (LOSO) or "sub01+sub05+..." (k-fold) */
    size_t *test; /* [n_test] */
    size_t n_test;
} mer_fold;

/* One variant = (sweep point, seed): the point's config with cfg.seed set to that seed. */
typedef struct {
    size_t point;      /* index into plan->points */
    size_t seed_index; /* index into doc->seeds */
    long seed;
    mer_config cfg;
} mer_variant;

typedef struct mer_task {
    char id[17];              /* 16 hex digits; also the output file name */
    stage_kind kind;
    size_t variant;           /* first variant that needs the task (its cfg is t->cfg) */
    int fold;                 /* STAGE_TRAIN: index into plan->folds, -1 for the final model; else -1 */
    size_t sample_begin;      /* PREP/FEATURES: samples [begin, end); TRAIN: 0, n */
    size_t sample_end;
    size_t *deps;             /* indices into plan->tasks */
    size_t n_deps;
    double est_cost;          /* seconds, from stage_impl.cost */
    uint64_t rng_seed;        /* seed every RNG of the task from this (derived from id) */
    const mer_config *cfg;    /* == &plan->variants[variant].cfg */
} mer_task;

typedef struct mer_plan mer_plan; /* runner/plan.h */

/* What a running task can see. */
typedef struct run_ctx {
    const mer_plan *plan;
    void *data;                 /* the implementation's own state from stage_impl.load (e.g. the dataset) */
    int rank, size;             /* MPI rank and size (single process: 0, 1) */
    int threads;                /* this rank's thread budget */
    const char *host;
    /* internal: stop polling (signal flag + interrupt message from the coordinator) */
    int (*poll_stop)(const struct run_ctx *ctx);
    void *poll_user;
} run_ctx;

/* True when the task should stop at this safe point (SIGTERM/SIGUSR1, --max-walltime, coordinator). */
int stage_should_stop(const run_ctx *ctx);

typedef int (*stage_execute_fn)(hid_t out, const mer_task *t, const size_t *excluded, size_t n_excluded,
                                const run_ctx *ctx, mer_err *err);

typedef struct {
    const char *name; /* selected with `mer run --stages NAME` ("pipeline" is the default) */

    /* Samples per PREP/FEATURES task (0 = all samples in one task). TRAIN is always one task per fold. */
    size_t chunk[2];
    /* Optional: samples per FEATURES task for one config when it differs from chunk[STAGE_FEATURES] (0 = all
     * samples in one task), e.g. a pass that needs every sample at once. NULL: chunk[] always. */
    size_t (*features_chunk)(const mer_config *cfg, size_t chunk);

    /* Load the dataset described by base->dataset_* (every variant shares it: sweeping dataset.* keys is
     * rejected by the plan). *data is passed back as ctx->data and to unload. */
    int (*load)(void **data, mer_samples *samples, const mer_config *base, mer_err *err);
    void (*unload)(void *data);

    /* The config keys a stage depends on, for this config, as config_to_string prefixes (whole dotted
     * components: "model.backbone" selects model.backbone.mode and model.backbone.weights). E.g. PREP:
     * {"dataset", "preprocess"}; FEATURES with a frozen backbone: {..., "magnify", "model.input",
     * "model.backbone"}; TRAIN: every section but output.dir and runtime, plus "seed". Write at most `max`
     * (32) pointers to static strings; return the count. */
    size_t (*key_prefixes)(const char **prefixes, size_t max, const mer_config *cfg, stage_kind kind);

    /* Estimated run time in seconds (relative values matter: longest-first). */
    double (*cost)(const mer_task *t, const mer_plan *plan);

    /* One function per stage kind (the runner calls execute[t->kind]). */
    stage_execute_fn execute[STAGE_COUNT];
} stage_impl;

/* 0 when every sample of `dep` inside t's range is in `excluded` (sorted): its output is not there to read. */
int stage_dep_usable(const mer_task *t, const mer_task *dep, const size_t *excluded, size_t n_excluded);
/* 1 if sample i is in the sorted `excluded` list handed to execute(). */
int stage_sample_excluded(size_t i, const size_t *excluded, size_t n_excluded);
/* For key_prefixes(): copy at most `max` of the n strings in list to out; returns the count copied. */
size_t stage_prefixes_put(const char **out, size_t max, const char *const *list, size_t n);
/* The same for a key-list array, counted by the compiler (a key added to the list is never left out). */
#define STAGE_KEYS_PUT(out, max, list) stage_prefixes_put(out, max, list, sizeof(list) / sizeof *(list))

/* The registry of implementations (runner/stage.c): NULL if unknown. */
const stage_impl *stage_impl_find(const char *name);

