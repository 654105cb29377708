/* plan.h5 and results.h5 (runner/results.h).
 *
 * results.h5 layout (the contract read by `mer report`; N prediction rows, P points, C classes, K tasks,
 * M = (point, seed) pairs):
 *   /meta/{version,libraries,config,created}  str
 *   /dataset/name str, /dataset/classes strs (C)
 *   /points/{id,params,config} strs (P)
 *   /predictions/{point,seed,fold} i64 (N), /predictions/{subject,sample} strs (N),
 *   /predictions/{truth,pred} i64 (N), /predictions/prob f32 (N,C)
 *   /oracle/... same as /predictions + /oracle/label (only when a train task wrote /oracle: LEAKY)
 *   /metrics/{point,seed} i64 (M), /metrics/{accuracy,uf1,uar} f64 (M), /metrics/confusion i64 (M,C,C),
 *   /metrics/n i64 (M) samples pooled
 *   /fold_metrics/{point,seed,fold} i64, /fold_metrics/{accuracy,uf1,uar} f64, /fold_metrics/n i64: one row
 *     per finished train task (per-fold scores, for inspection only: the pooled /metrics are the result)
 *   /tasks/{id,stage,state,host,error} strs (K), /tasks/attempts i64 (K), /tasks/wall_s f64 (K)
 *   /meta/time/{stage} strs (S), /meta/time/{task_seconds} f64 (S), /meta/time/{tasks} i64 (S): wall seconds
 *     summed over each stage's finished tasks (their last attempt, whichever run did it), S = STAGE_COUNT;
 *     /meta/engine str: the NN engine, BLAS kernels and threads of the process that collected
 *   /features/<task id>/...  copies of the FEATURES task files (when output.save_features)
 *   /weights/<task id>/...   copies of each train task's /weights (final models too: task fold -1, no rows)
 *   /train_stats/{point,seed,fold} i64 (R), /train_stats/lsh_empty_share f64 (R): one row per finished train
 *     task whose head recorded the share of empty LSH query rows over its training (weights/head/stats/);
 *     absent when no task did
 * Rows are in plan order (variant by variant, fold by fold), so the file does not depend on the number of
 * ranks or the order tasks finished in. /predictions/subject is the sample's subject (the held-out
 * subject of its fold under LOSO).
 */
#include "runner/results.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/metrics.h"
#include "core/nn/threads.h"
#include "io/base/fs.h"
#include "io/base/strbuf.h"
#include "io/h5.h"
#include "mer_version.h"
#include "runner/ledger.h"
#include "runner/versions.h"

/* ---- plan.h5 --------------------------------------------------------------------------------------- */

int results_write_plan(const mer_plan *p, mer_err *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plan.h5", p->output_dir);
    size_t nt = p->n_tasks, nv = p->n_variants, np = p->n_points;
    const char **tid = mer_calloc(nt, sizeof *tid, err), **tst = mer_calloc(nt, sizeof *tst, err);
    int64_t *tvar = mer_calloc(nt, sizeof *tvar, err), *tfold = mer_calloc(nt, sizeof *tfold, err);
    double *test = mer_calloc(nt, sizeof *test, err);
    int64_t *vp = mer_calloc(nv, sizeof *vp, err), *vs = mer_calloc(nv, sizeof *vs, err);
    const char **pid = mer_calloc(np, sizeof *pid, err), **ppar = mer_calloc(np, sizeof *ppar, err);
    char **pcfg = mer_calloc(np, sizeof *pcfg, err);
    const char **fname = mer_calloc(p->n_folds, sizeof *fname, err);
    char *base = config_to_string(&p->doc->base, NULL, 0);
    hid_t f = -1;
    int rc = -1;
    if (!tid || !tst || !tvar || !tfold || !test || !vp || !vs || !pid || !ppar || !pcfg || !fname || !base) {
        if (!base) mer_errf(err, "cannot print the config");
        goto done;
    }
    for (size_t i = 0; i < nt; i++) {
        tid[i] = p->tasks[i].id;
        tst[i] = stage_name(p->tasks[i].kind);
        tvar[i] = (int64_t)p->tasks[i].variant;
        tfold[i] = p->tasks[i].fold;
        test[i] = p->tasks[i].est_cost;
    }
    for (size_t i = 0; i < nv; i++) {
        vp[i] = (int64_t)p->variants[i].point;
        vs[i] = p->variants[i].seed;
    }
    for (size_t i = 0; i < np; i++) {
        pid[i] = p->points[i].id;
        ppar[i] = p->points[i].params;
        if (!(pcfg[i] = config_to_string(&p->points[i].cfg, NULL, 0))) {
            mer_errf(err, "cannot print the config of point %zu", i);
            goto done;
        }
    }
    for (size_t i = 0; i < p->n_folds; i++) fname[i] = p->folds[i].name;
    /* a per-process temporary name: job-array slices write the same plan.h5 at the same time */
    if (h5_create_tmp_private(path, &f, err) < 0) goto done;
    size_t ns = p->samples.n;
    if (h5_write_str(f, "meta/config", base, err) || h5_write_str(f, "meta/version", MER_VERSION, err) ||
        h5_write_scalar_i64(f, "meta/save_features", p->doc->base.output_save_features, err) ||
        h5_write_str(f, "dataset/name", p->samples.dataset_name ? p->samples.dataset_name : "", err) ||
        h5_write_strs(f, "dataset/classes", (const char *const *)p->samples.classes, p->samples.n_classes, err) ||
        h5_write_strs(f, "samples/id", (const char *const *)p->samples.id, ns, err) ||
        h5_write_strs(f, "samples/subject", (const char *const *)p->samples.subject, ns, err) ||
        h5_write_i64(f, "samples/label", p->samples.label, 1, &ns, err) ||
        h5_write_strs(f, "folds/name", fname, p->n_folds, err) || h5_write_strs(f, "points/id", pid, np, err) ||
        h5_write_strs(f, "points/params", ppar, np, err) ||
        h5_write_strs(f, "points/config", (const char *const *)pcfg, np, err) ||
        h5_write_i64(f, "variants/point", vp, 1, &nv, err) || h5_write_i64(f, "variants/seed", vs, 1, &nv, err) ||
        h5_write_strs(f, "tasks/id", tid, nt, err) || h5_write_strs(f, "tasks/stage", tst, nt, err) ||
        h5_write_i64(f, "tasks/variant", tvar, 1, &nt, err) || h5_write_i64(f, "tasks/fold", tfold, 1, &nt, err) ||
        h5_write_f64(f, "tasks/est_cost", test, 1, &nt, err)) {
        h5_abort_private(f, path);
        goto done;
    }
    rc = h5_commit_private(f, path, err);
done:
    free(tid);
    free(tst);
    free(tvar);
    free(tfold);
    free(test);
    free(vp);
    free(vs);
    free(pid);
    free(ppar);
    if (pcfg)
        for (size_t i = 0; i < np; i++) free(pcfg[i]);
    free(pcfg);
    free(fname);
    free(base);
    return rc;
}

void stored_plan_free(stored_plan *sp) {
    free(sp->config);
    free(sp->dataset_name);
    strs_free(sp->classes, sp->n_classes);
    strs_free(sp->sample_id, sp->n_samples);
    strs_free(sp->sample_subject, sp->n_samples);
    free(sp->sample_label);
    strs_free(sp->fold_name, sp->n_folds);
    strs_free(sp->point_id, sp->n_points);
    strs_free(sp->point_params, sp->n_points);
    strs_free(sp->point_config, sp->n_points);
    free(sp->variant_point);
    free(sp->variant_seed);
    strs_free(sp->task_id, sp->n_tasks);
    strs_free(sp->task_stage, sp->n_tasks);
    free(sp->task_variant);
    free(sp->task_fold);
    free(sp->task_est);
    memset(sp, 0, sizeof *sp);
}

/* Strings of a plan column, which must have n rows (n_out == NULL) or sets the count. */
static int plan_strs(hid_t f, const char *path, char ***out, size_t *n_out, size_t n, mer_err *err) {
    size_t m;
    if (h5_read_strs(f, path, out, &m, err) < 0) return -1;
    if (n_out) {
        *n_out = m;
    } else if (m != n) {
        strs_free(*out, m);
        *out = NULL;
        return mer_errf(err, "/%s has %zu rows, expected %zu", path, m, n);
    }
    return 0;
}

/* A 1-D numeric column of n rows. */
static int plan_col(hid_t f, const char *path, int is_f64, void **out, size_t n, mer_err *err) {
    int nd;
    size_t d[H5_MAX_DIMS];
    if ((is_f64 ? h5_read_f64(f, path, (double **)out, &nd, d, err) : h5_read_i64(f, path, (int64_t **)out, &nd, d, err)) < 0)
        return -1;
    if (nd != 1 || d[0] != n) return mer_errf(err, "/%s is not a column of %zu rows", path, n);
    return 0;
}

int stored_plan_read(stored_plan *sp, const char *dir, mer_err *err) {
    memset(sp, 0, sizeof *sp);
    char path[4096];
    snprintf(path, sizeof path, "%s/plan.h5", dir);
    hid_t f;
    if (h5_open(path, 0, &f, err) < 0) return mer_err_prefix(err, "%s is not a mer run directory", dir);
    int nd = 0;
    size_t d[H5_MAX_DIMS] = {0};
    /* every column is checked against its table's length: collect indexes one with another's row numbers */
    int rc = h5_read_str(f, "meta/config", &sp->config, err) || h5_read_str(f, "dataset/name", &sp->dataset_name, err) ||
                     h5_read_scalar_i64(f, "meta/save_features", &sp->save_features, err) ||
                     plan_strs(f, "dataset/classes", &sp->classes, &sp->n_classes, 0, err) ||
                     plan_strs(f, "samples/id", &sp->sample_id, &sp->n_samples, 0, err) ||
                     plan_strs(f, "samples/subject", &sp->sample_subject, NULL, sp->n_samples, err) ||
                     plan_col(f, "samples/label", 0, (void **)&sp->sample_label, sp->n_samples, err) ||
                     plan_strs(f, "folds/name", &sp->fold_name, &sp->n_folds, 0, err) ||
                     plan_strs(f, "points/id", &sp->point_id, &sp->n_points, 0, err) ||
                     plan_strs(f, "points/params", &sp->point_params, NULL, sp->n_points, err) ||
                     plan_strs(f, "points/config", &sp->point_config, NULL, sp->n_points, err) ||
                     h5_shape(f, "variants/point", &nd, d, err)
                 ? -1
                 : 0;
    sp->n_variants = nd == 1 ? d[0] : 0;
    rc = rc || plan_col(f, "variants/point", 0, (void **)&sp->variant_point, sp->n_variants, err) ||
                     plan_col(f, "variants/seed", 0, (void **)&sp->variant_seed, sp->n_variants, err) ||
                     plan_strs(f, "tasks/id", &sp->task_id, &sp->n_tasks, 0, err) ||
                     plan_strs(f, "tasks/stage", &sp->task_stage, NULL, sp->n_tasks, err) ||
                     plan_col(f, "tasks/variant", 0, (void **)&sp->task_variant, sp->n_tasks, err) ||
                     plan_col(f, "tasks/fold", 0, (void **)&sp->task_fold, sp->n_tasks, err) ||
                     plan_col(f, "tasks/est_cost", 1, (void **)&sp->task_est, sp->n_tasks, err)
                 ? -1
                 : 0;
    for (size_t i = 0; !rc && i < sp->n_variants; i++)
        if (sp->variant_point[i] < 0 || (uint64_t)sp->variant_point[i] >= sp->n_points)
            rc = mer_errf(err, "/variants/point[%zu] = %" PRId64 " but there are %zu points", i, sp->variant_point[i],
                          sp->n_points);
    for (size_t i = 0; !rc && i < sp->n_tasks; i++)
        if (sp->task_variant[i] < 0 || (uint64_t)sp->task_variant[i] >= sp->n_variants)
            rc = mer_errf(err, "/tasks/variant[%zu] = %" PRId64 " but there are %zu variants", i, sp->task_variant[i],
                          sp->n_variants);
    h5_close(f, NULL);
    if (rc) {
        stored_plan_free(sp); /* a column that failed its check was freed; the others match their counts */
        return mer_err_prefix(err, "%s", path);
    }
    return 0;
}

/* ---- results.h5 -------------------------------------------------------------------------------------- */

/* Prediction rows of one group (/predictions or /oracle). */
typedef struct {
    size_t n, cap, n_classes;
    int64_t *point, *seed, *fold, *truth, *pred, *variant;
    char **subject, **sample;
    float *prob;
} rows;

static void rows_free(rows *r) {
    free(r->point);
    free(r->seed);
    free(r->fold);
    free(r->truth);
    free(r->pred);
    free(r->variant);
    strs_free(r->subject, r->n);
    strs_free(r->sample, r->n);
    free(r->prob);
}

static int rows_reserve(rows *r, size_t extra, mer_err *err) {
    if (r->n + extra <= r->cap) return 0;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < r->n + extra) cap *= 2;
#define GROW(f, per_row)                                                            \
    do {                                                                         \
        void *q = realloc(r->f, cap * (per_row) * sizeof *r->f);                 \
        if (!q) return mer_errf(err, "out of memory for %zu prediction rows", cap); \
        r->f = q;                                                                \
    } while (0)
    GROW(point, 1);
    GROW(seed, 1);
    GROW(fold, 1);
    GROW(truth, 1);
    GROW(pred, 1);
    GROW(variant, 1);
    GROW(subject, 1);
    GROW(sample, 1);
    GROW(prob, r->n_classes);
#undef GROW
    r->cap = cap;
    return 0;
}

typedef struct {
    const char *id;
    size_t index;
} id_index;

static int cmp_id_index(const void *a, const void *b) {
    return strcmp(((const id_index *)a)->id, ((const id_index *)b)->id);
}

/* Append the rows of one train task's group ("pred" or "oracle"). */
static int read_rows(rows *r, hid_t f, const char *group, const stored_plan *sp, const id_index *by_id, size_t variant,
                     int64_t fold, mer_err *err) {
    char p_sample[64], p_truth[64], p_pred[64], p_prob[64];
    snprintf(p_sample, sizeof p_sample, "%s/sample", group);
    snprintf(p_truth, sizeof p_truth, "%s/truth", group);
    snprintf(p_pred, sizeof p_pred, "%s/pred", group);
    snprintf(p_prob, sizeof p_prob, "%s/prob", group);
    char **sample = NULL;
    size_t n = 0, dt[H5_MAX_DIMS], dp[H5_MAX_DIMS], dq[H5_MAX_DIMS];
    int64_t *truth = NULL, *pred = NULL;
    float *prob = NULL;
    int ndq = 0, rc = -1;
    char fn[1024];
    if (h5_read_strs(f, p_sample, &sample, &n, err) || h5_read_i64(f, p_truth, &truth, NULL, dt, err) ||
        h5_read_i64(f, p_pred, &pred, NULL, dp, err) || h5_read_f32(f, p_prob, &prob, &ndq, dq, err))
        goto done;
    if (dt[0] != n || dp[0] != n || ndq != 2 || dq[0] != n || dq[1] != r->n_classes) {
        mer_errf(err, "%s: %s: sample/truth/pred/prob sizes disagree (%zu samples, %zu classes expected)",
                 h5_filename(f, fn, sizeof fn), group, n, r->n_classes);
        goto done;
    }
    if (rows_reserve(r, n, err) < 0) goto done;
    for (size_t i = 0; i < n; i++) {
        id_index key = {sample[i], 0};
        const id_index *hit = bsearch(&key, by_id, sp->n_samples, sizeof key, cmp_id_index);
        if (!hit) {
            mer_errf(err, "%s: %s: sample '%s' is not in the plan", h5_filename(f, fn, sizeof fn), group, sample[i]);
            goto done;
        }
        size_t k = r->n++;
        r->point[k] = sp->variant_point[variant];
        r->seed[k] = sp->variant_seed[variant];
        r->variant[k] = (int64_t)variant;
        r->fold[k] = fold;
        r->truth[k] = truth[i];
        r->pred[k] = pred[i];
        r->sample[k] = sample[i];
        sample[i] = NULL;
        r->subject[k] = strdup(sp->sample_subject[hit->index]);
        memcpy(r->prob + k * r->n_classes, prob + i * r->n_classes, r->n_classes * sizeof *prob);
    }
    rc = 0;
done:
    strs_free(sample, n);
    free(truth);
    free(pred);
    free(prob);
    return rc;
}

static int write_rows(hid_t out, const char *g, const rows *r, mer_err *err) {
    char p[64];
#define P(name) (snprintf(p, sizeof p, "%s/%s", g, name), p)
    size_t n = r->n, d2[2] = {r->n, r->n_classes};
    return h5_write_i64(out, P("point"), r->point, 1, &n, err) || h5_write_i64(out, P("seed"), r->seed, 1, &n, err) ||
                   h5_write_i64(out, P("fold"), r->fold, 1, &n, err) ||
                   h5_write_strs(out, P("subject"), (const char *const *)r->subject, n, err) ||
                   h5_write_strs(out, P("sample"), (const char *const *)r->sample, n, err) ||
                   h5_write_i64(out, P("truth"), r->truth, 1, &n, err) ||
                   h5_write_i64(out, P("pred"), r->pred, 1, &n, err) ||
                   h5_write_f32(out, P("prob"), r->prob, 2, d2, err)
               ? -1
               : 0;
#undef P
}

/* Pooled metrics per variant, and per finished train task. */
static int write_metrics(hid_t out, const rows *r, const stored_plan *sp, mer_err *err) {
    size_t M = sp->n_variants, C = sp->n_classes;
    int64_t *mp = mer_calloc(M, sizeof *mp, err), *ms = mer_calloc(M, sizeof *ms, err);
    int64_t *mn = mer_calloc(M, sizeof *mn, err), *conf = mer_calloc(M * C * C, sizeof *conf, err);
    double *acc = mer_calloc(M, sizeof *acc, err), *uf1 = mer_calloc(M, sizeof *uf1, err);
    double *uar = mer_calloc(M, sizeof *uar, err);
    int rc = -1;
    if (!mp || !ms || !mn || !conf || !acc || !uf1 || !uar) goto done;
    for (size_t i = 0; i < r->n; i++)
        if (metrics_confusion_add(conf + (size_t)r->variant[i] * C * C, &r->truth[i], &r->pred[i], 1, (int)C, err) < 0)
            goto done;
    for (size_t v = 0; v < M; v++) {
        mer_metrics m;
        if (metrics_from_confusion(&m, NULL, NULL, NULL, conf + v * C * C, (int)C, err) < 0) goto done;
        mp[v] = sp->variant_point[v];
        ms[v] = sp->variant_seed[v];
        mn[v] = m.n;
        acc[v] = m.accuracy;
        uf1[v] = m.uf1;
        uar[v] = m.uar;
    }
    size_t d3[3] = {M, C, C};
    rc = h5_write_i64(out, "metrics/point", mp, 1, &M, err) || h5_write_i64(out, "metrics/seed", ms, 1, &M, err) ||
                 h5_write_f64(out, "metrics/accuracy", acc, 1, &M, err) ||
                 h5_write_f64(out, "metrics/uf1", uf1, 1, &M, err) ||
                 h5_write_f64(out, "metrics/uar", uar, 1, &M, err) ||
                 h5_write_i64(out, "metrics/confusion", conf, 3, d3, err) ||
                 h5_write_i64(out, "metrics/n", mn, 1, &M, err)
             ? -1
             : 0;
done:
    free(mp);
    free(ms);
    free(mn);
    free(conf);
    free(acc);
    free(uf1);
    free(uar);
    return rc;
}

/* Per-fold rows: consecutive rows of the same (variant, fold) come from one task. */
static int write_fold_metrics(hid_t out, const rows *r, size_t C, mer_err *err) {
    size_t cap = r->n ? r->n : 1, m = 0;
    int64_t *fp = mer_calloc(cap, sizeof *fp, err), *fs = mer_calloc(cap, sizeof *fs, err);
    int64_t *ff = mer_calloc(cap, sizeof *ff, err), *fnn = mer_calloc(cap, sizeof *fnn, err);
    double *acc = mer_calloc(cap, sizeof *acc, err), *uf1 = mer_calloc(cap, sizeof *uf1, err);
    double *uar = mer_calloc(cap, sizeof *uar, err);
    int rc = -1;
    if (!fp || !fs || !ff || !fnn || !acc || !uf1 || !uar) goto done;
    for (size_t a = 0; a < r->n;) {
        size_t b = a;
        while (b < r->n && r->variant[b] == r->variant[a] && r->fold[b] == r->fold[a]) b++;
        mer_metrics mm;
        if (metrics_from_predictions(&mm, NULL, r->truth + a, r->pred + a, b - a, (int)C, err) < 0) goto done;
        fp[m] = r->point[a];
        fs[m] = r->seed[a];
        ff[m] = r->fold[a];
        fnn[m] = mm.n;
        acc[m] = mm.accuracy;
        uf1[m] = mm.uf1;
        uar[m] = mm.uar;
        m++;
        a = b;
    }
    rc = h5_write_i64(out, "fold_metrics/point", fp, 1, &m, err) ||
                 h5_write_i64(out, "fold_metrics/seed", fs, 1, &m, err) ||
                 h5_write_i64(out, "fold_metrics/fold", ff, 1, &m, err) ||
                 h5_write_i64(out, "fold_metrics/n", fnn, 1, &m, err) ||
                 h5_write_f64(out, "fold_metrics/accuracy", acc, 1, &m, err) ||
                 h5_write_f64(out, "fold_metrics/uf1", uf1, 1, &m, err) ||
                 h5_write_f64(out, "fold_metrics/uar", uar, 1, &m, err)
             ? -1
             : 0;
done:
    free(fp);
    free(fs);
    free(ff);
    free(fnn);
    free(acc);
    free(uf1);
    free(uar);
    return rc;
}

/* Visitor: copy every top-level object of a task file except /task into dst_prefix. */
typedef struct {
    hid_t src, dst;
    const char *prefix;
    mer_err *err;
    int failed;
} copy_ctx;

static herr_t copy_top(hid_t g, const char *name, const H5L_info_t *info, void *op) {
    (void)g;
    (void)info;
    copy_ctx *c = op;
    if (!strcmp(name, "task")) return 0;
    char dst[512];
    snprintf(dst, sizeof dst, "%s/%s", c->prefix, name);
    if (h5_copy(c->src, name, c->dst, dst, c->err) < 0) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static const char *task_state_name(const ledger_entry *e, int exists) {
    if (exists) return "done";
    if (!e) return "pending";
    switch (e->last) {
    case LEDGER_FAILED: return "failed";
    case LEDGER_SKIPPED: return "skipped";
    case LEDGER_START: return "running";
    default: return "pending";
    }
}

void results_stage_time(stage_time *t, const char *const *stage, const char *const *state, const double *wall_s,
                        size_t K) {
    memset(t, 0, sizeof *t);
    for (size_t k = 0; k < K; k++)
        for (int s = 0; s < STAGE_COUNT; s++)
            if (!strcmp(stage[k], stage_name((stage_kind)s)) && !strcmp(state[k], "done")) {
                t->seconds[s] += wall_s[k];
                t->tasks[s]++;
            }
}

void results_stage_time_format(const stage_time *t, char *buf, size_t size) {
    double total = 0;
    for (int s = 0; s < STAGE_COUNT; s++) total += t->seconds[s];
    size_t len = 0;
    buf[0] = 0;
    for (int s = 0; s < STAGE_COUNT && len < size; s++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s %.1f s (%zu tasks, %.0f %%)", s ? ", " : "",
                                stage_name((stage_kind)s), t->seconds[s], t->tasks[s],
                                total > 0 ? 100.0 * t->seconds[s] / total : 0.0);
}

/* The training statistics of the train tasks (rows of /train_stats). */
typedef struct {
    size_t n;
    int64_t *point, *seed, *fold;
    double *empty;
} train_stats;

static int train_stats_add(train_stats *ts, size_t cap, int64_t point, int64_t seed, int64_t fold, double empty,
                           mer_err *err) {
    if (!ts->point && (!(ts->point = mer_calloc(cap, sizeof *ts->point, err)) ||
                       !(ts->seed = mer_calloc(cap, sizeof *ts->seed, err)) ||
                       !(ts->fold = mer_calloc(cap, sizeof *ts->fold, err)) ||
                       !(ts->empty = mer_calloc(cap, sizeof *ts->empty, err))))
        return -1;
    ts->point[ts->n] = point, ts->seed[ts->n] = seed, ts->fold[ts->n] = fold, ts->empty[ts->n] = empty;
    ts->n++;
    return 0;
}

static void train_stats_free(train_stats *ts) {
    free(ts->point), free(ts->seed), free(ts->fold), free(ts->empty);
}

static int write_train_stats(hid_t out, const train_stats *ts, mer_err *err) {
    if (ts->n == 0) return 0;
    size_t n = ts->n;
    return h5_write_i64(out, "train_stats/point", ts->point, 1, &n, err) ||
                   h5_write_i64(out, "train_stats/seed", ts->seed, 1, &n, err) ||
                   h5_write_i64(out, "train_stats/fold", ts->fold, 1, &n, err) ||
                   h5_write_f64(out, "train_stats/lsh_empty_share", ts->empty, 1, &n, err)
               ? -1
               : 0;
}

int results_collect(const char *dir, size_t *n_rows_out, size_t *n_train_done, stage_time *time_out, mer_err *err) {
    stored_plan sp;
    if (stored_plan_read(&sp, dir, err) < 0) return -1;
    ledger_state led;
    if (ledger_read(&led, dir, err) < 0) {
        stored_plan_free(&sp);
        return -1;
    }
    size_t K = sp.n_tasks, C = sp.n_classes, n_train = 0;
    rows pred = {.n_classes = C}, oracle = {.n_classes = C};
    train_stats tstats = {0};
    id_index *by_id = mer_calloc(sp.n_samples, sizeof *by_id, err);
    const char **st = mer_calloc(K, sizeof *st, err), **host = mer_calloc(K, sizeof *host, err),
               **error = mer_calloc(K, sizeof *error, err);
    int64_t *att = mer_calloc(K, sizeof *att, err);
    double *wall = mer_calloc(K, sizeof *wall, err);
    char *libs = NULL, path[4096], out_path[4096];
    size_t libs_len = 0;
    hid_t out = -1;
    int rc = -1;
    if (!by_id || !st || !host || !error || !att || !wall) goto done;
    for (size_t i = 0; i < sp.n_samples; i++) by_id[i] = (id_index){sp.sample_id[i], i};
    qsort(by_id, sp.n_samples, sizeof *by_id, cmp_id_index);
    snprintf(out_path, sizeof out_path, "%s/results.h5", dir);
    if (h5_create_tmp(out_path, &out, err) < 0) goto done;

    for (size_t k = 0; k < K; k++) {
        snprintf(path, sizeof path, "%s/tasks/%s/%s.h5", dir, sp.task_stage[k], sp.task_id[k]);
        struct stat sb;
        int exists = stat(path, &sb) == 0;
        const ledger_entry *e = ledger_find(&led, sp.task_id[k]);
        st[k] = task_state_name(e, exists);
        host[k] = e ? e->host : "";
        error[k] = e && e->error && !exists ? e->error : "";
        att[k] = e ? e->attempts : 0;
        wall[k] = e ? e->wall_s : 0;
        int is_train = !strcmp(sp.task_stage[k], "train"), is_feat = !strcmp(sp.task_stage[k], "features");
        if (!exists || !(is_train || (is_feat && sp.save_features))) continue;
        uint64_t got;
        if (e && e->checksum && (fs_checksum(path, &got, err) < 0 || got != e->checksum)) {
            mer_errf(err, "%s does not match the checksum recorded when it was finished (truncated or changed "
                          "since): not used; run the same `mer run` command to recompute it", path);
            goto done;
        }
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) goto done;
        int bad = 0;
        char prefix[64];
        if (is_train) {
            n_train++;
            size_t v = (size_t)sp.task_variant[k];
            bad = (sp.task_fold[k] >= 0 && read_rows(&pred, f, "pred", &sp, by_id, v, sp.task_fold[k], err)) ||
                  (h5_exists(f, "oracle/pred") && read_rows(&oracle, f, "oracle", &sp, by_id, v, sp.task_fold[k], err));
            snprintf(prefix, sizeof prefix, "weights/%s", sp.task_id[k]);
            if (!bad && h5_exists(f, "weights")) bad = h5_copy(f, "weights", out, prefix, err) < 0;
            double share;
            if (!bad && h5_exists(f, "weights/head/stats/empty_query_share"))
                bad = h5_read_scalar_f64(f, "weights/head/stats/empty_query_share", &share, err) < 0 ||
                      train_stats_add(&tstats, K, sp.variant_point[v], sp.variant_seed[v], sp.task_fold[k], share, err) < 0;
        } else {
            snprintf(prefix, sizeof prefix, "features/%s", sp.task_id[k]);
            copy_ctx c = {f, out, prefix, err, 0};
            H5Literate(f, H5_INDEX_NAME, H5_ITER_INC, NULL, copy_top, &c);
            bad = c.failed;
        }
        h5_close(f, NULL);
        if (bad) {
            mer_err_prefix(err, "%s", path);
            goto done;
        }
    }
    FILE *mf = open_memstream(&libs, &libs_len);
    if (mf) {
        fprint_versions(mf);
        fclose(mf);
    }
    char created[64];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    size_t P = sp.n_points;
    if (h5_write_str(out, "meta/version", MER_VERSION, err) || h5_write_str(out, "meta/libraries", libs ? libs : "", err) ||
        h5_write_str(out, "meta/config", sp.config, err) || h5_write_str(out, "meta/created", created, err) ||
        h5_write_str(out, "dataset/name", sp.dataset_name, err) ||
        h5_write_strs(out, "dataset/classes", (const char *const *)sp.classes, C, err) ||
        h5_write_strs(out, "points/id", (const char *const *)sp.point_id, P, err) ||
        h5_write_strs(out, "points/params", (const char *const *)sp.point_params, P, err) ||
        h5_write_strs(out, "points/config", (const char *const *)sp.point_config, P, err) ||
        write_rows(out, "predictions", &pred, err) || write_metrics(out, &pred, &sp, err) ||
        write_fold_metrics(out, &pred, C, err) || write_train_stats(out, &tstats, err) ||
        (oracle.n && (write_rows(out, "oracle", &oracle, err) ||
                      h5_write_str(out, "oracle/label", "LEAKY: epoch chosen on the test subject", err))) ||
        h5_write_strs(out, "tasks/id", (const char *const *)sp.task_id, K, err) ||
        h5_write_strs(out, "tasks/stage", (const char *const *)sp.task_stage, K, err) ||
        h5_write_strs(out, "tasks/state", st, K, err) || h5_write_strs(out, "tasks/host", host, K, err) ||
        h5_write_strs(out, "tasks/error", error, K, err) || h5_write_i64(out, "tasks/attempts", att, 1, &K, err) ||
        h5_write_f64(out, "tasks/wall_s", wall, 1, &K, err))
        goto done;
    stage_time tt;
    results_stage_time(&tt, (const char *const *)sp.task_stage, st, wall, K);
    const char *stage_names[STAGE_COUNT];
    int64_t stage_tasks[STAGE_COUNT];
    for (int s = 0; s < STAGE_COUNT; s++) stage_names[s] = stage_name((stage_kind)s), stage_tasks[s] = (int64_t)tt.tasks[s];
    const size_t S = STAGE_COUNT;
    char engine[256];
    nn_describe_threads(engine, sizeof engine, nn_threads_in_use());
    if (h5_write_strs(out, "meta/time/stage", stage_names, S, err) ||
        h5_write_f64(out, "meta/time/task_seconds", tt.seconds, 1, &S, err) ||
        h5_write_i64(out, "meta/time/tasks", stage_tasks, 1, &S, err) || h5_write_str(out, "meta/engine", engine, err))
        goto done;
    if (time_out) *time_out = tt;
    rc = h5_commit(out, out_path, err);
    out = -1;
    if (n_rows_out) *n_rows_out = pred.n;
    if (n_train_done) *n_train_done = n_train;
done:
    if (out >= 0) h5_abort(out, out_path);
    free(libs);
    free(by_id);
    free(st);
    free(host);
    free(error);
    free(att);
    free(wall);
    rows_free(&pred);
    rows_free(&oracle);
    train_stats_free(&tstats);
    ledger_state_free(&led);
    stored_plan_free(&sp);
    return rc;
}
