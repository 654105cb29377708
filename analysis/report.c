/* Loading a results.h5 into a mer_report: read the prediction rows, pool them per (point, seed) into
 * confusion matrices, score them (core/metrics.h), summarise over seeds, parse the swept parameters,
 * and check the runner's own /metrics against the recomputation. Writers are in report_write.c. */
#include "analysis/report.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/base/strbuf.h"
#include "io/data/dataset.h"
#include "io/h5.h"

static char *dup_str(const char *s, mer_err *err) {
    size_t n = strlen(s) + 1;
    char *d = mer_malloc(n, err);
    if (d) memcpy(d, s, n);
    return d;
}

static void rows_free(report_rows *r) {
    free(r->point);
    free(r->seed);
    free(r->fold);
    free(r->truth);
    free(r->pred);
    strs_free(r->subject, r->n);
    strs_free(r->sample, r->n);
    memset(r, 0, sizeof *r);
}

static void points_free(report_point *p, size_t n) {
    if (!p) return;
    for (size_t i = 0; i < n; i++) {
        free(p[i].id);
        free(p[i].params);
        strs_free(p[i].keys, p[i].n_kv);
        strs_free(p[i].values, p[i].n_kv);
        free(p[i].seeds);
        free(p[i].confusion);
        free(p[i].recall);
        free(p[i].f1);
        for (size_t s = 0; s < p[i].n_subjects; s++) free(p[i].subjects[s].subject);
        free(p[i].subjects);
        free(p[i].per_dataset);
    }
    free(p);
}

void report_free(mer_report *r) {
    free(r->path);
    free(r->dataset);
    strs_free(r->classes, r->n_classes);
    free(r->version);
    free(r->created);
    free(r->libraries);
    free(r->engine);
    free(r->config);
    points_free(r->points, r->n_points);
    points_free(r->oracle, r->oracle ? r->n_points : 0);
    free(r->oracle_label);
    free(r->sweep_keys); /* entries borrowed from points[].keys */
    strs_free(r->datasets, r->n_datasets);
    for (size_t i = 0; i < r->n_failed; i++) {
        free(r->failed[i].id);
        free(r->failed[i].stage);
        free(r->failed[i].state);
        free(r->failed[i].host);
        free(r->failed[i].error);
    }
    free(r->failed);
    rows_free(&r->rows);
    rows_free(&r->oracle_rows);
    strs_free(r->warnings, r->n_warnings);
    memset(r, 0, sizeof *r);
}

static int add_warning(mer_report *r, mer_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_warning(mer_report *r, mer_err *err, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **w = realloc(r->warnings, (r->n_warnings + 1) * sizeof *w);
    if (!w) return mer_errf(err, "out of memory");
    r->warnings = w;
    if (!(w[r->n_warnings] = dup_str(buf, err))) return -1;
    r->n_warnings++;
    return 0;
}

/* Read one prediction group (/predictions or /oracle) and validate it against P points and C classes. */
static int read_rows(report_rows *rows, hid_t f, const char *group, size_t n_points, size_t n_classes,
                     mer_err *err) {
    static const char *const I64[] = {"point", "seed", "fold", "truth", "pred"};
    int64_t **dst[] = {&rows->point, &rows->seed, &rows->fold, &rows->truth, &rows->pred};
    char path[128];
    size_t n = 0;
    for (size_t k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s", group, I64[k]);
        int nd;
        size_t d[H5_MAX_DIMS];
        if (h5_read_i64(f, path, dst[k], &nd, d, err) < 0) return -1;
        size_t m = nd == 0 ? 1 : d[0];
        if (k == 0) n = m;
        else if (m != n) return mer_errf(err, "/%s has %zu rows but /%s/point has %zu", path, m, group, n);
    }
    size_t ns;
    snprintf(path, sizeof path, "%s/subject", group);
    if (h5_read_strs(f, path, &rows->subject, &ns, err) < 0) return -1;
    if (ns != n) {
        rows->n = ns; /* so the strings are freed */
        return mer_errf(err, "/%s has %zu rows but /%s/point has %zu", path, ns, group, n);
    }
    size_t nsa;
    snprintf(path, sizeof path, "%s/sample", group);
    if (h5_read_strs(f, path, &rows->sample, &nsa, err) < 0) {
        rows->n = n;
        return -1;
    }
    rows->n = n;
    if (nsa != n) {
        strs_free(rows->sample, nsa);
        rows->sample = NULL;
        return mer_errf(err, "/%s has %zu rows but /%s/point has %zu", path, nsa, group, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (rows->point[i] < 0 || (size_t)rows->point[i] >= n_points)
            return mer_errf(err, "/%s/point[%zu] = %" PRId64 " but there are %zu points", group, i, rows->point[i],
                            n_points);
        if (rows->truth[i] < 0 || (size_t)rows->truth[i] >= n_classes || rows->pred[i] < 0 ||
            (size_t)rows->pred[i] >= n_classes)
            return mer_errf(err, "/%s row %zu: truth %" PRId64 " / prediction %" PRId64 " outside the %zu classes",
                            group, i, rows->truth[i], rows->pred[i], n_classes);
    }
    return 0;
}

typedef struct {
    int64_t seed, fold;
    size_t row;
} row_ref;

static int cmp_seed_fold(const void *a, const void *b) {
    const row_ref *x = a, *y = b;
    if (x->seed != y->seed) return x->seed < y->seed ? -1 : 1;
    if (x->fold != y->fold) return x->fold < y->fold ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

typedef struct {
    const char *subject;
    size_t row;
} subj_ref;

static int cmp_subject(const void *a, const void *b) {
    const subj_ref *x = a, *y = b;
    int c = strcmp(x->subject, y->subject);
    return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Split "k=v k=v" (space separated) into parallel key/value arrays. */
static int parse_params(report_point *p, mer_err *err) {
    size_t cap = 0;
    for (const char *s = p->params; *s; s++)
        if (*s == '=') cap++;
    p->keys = mer_calloc(cap ? cap : 1, sizeof *p->keys, err);
    p->values = mer_calloc(cap ? cap : 1, sizeof *p->values, err);
    if (!p->keys || !p->values) return -1;
    const char *s = p->params;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        const char *end = s;
        while (*end && *end != ' ') end++;
        const char *eq = memchr(s, '=', (size_t)(end - s));
        if (!eq || eq == s) return mer_errf(err, "point %s: cannot parse parameter '%.*s' (want key=value)", p->id,
                                            (int)(end - s), s);
        if (p->n_kv == cap) return mer_errf(err, "point %s: malformed params '%s'", p->id, p->params);
        size_t kl = (size_t)(eq - s), vl = (size_t)(end - eq - 1);
        char *k = mer_malloc(kl + 1, err), *v = k ? mer_malloc(vl + 1, err) : NULL;
        if (!k || !v) {
            free(k);
            return -1;
        }
        memcpy(k, s, kl);
        k[kl] = 0;
        memcpy(v, eq + 1, vl);
        v[vl] = 0;
        p->keys[p->n_kv] = k;
        p->values[p->n_kv] = v;
        p->n_kv++;
        s = end;
    }
    return 0;
}

/* Pool, score and summarise the rows of every point. out[] entries must have id/params set. */
static int compute_points(report_point *pts, size_t n_points, const report_rows *rows, size_t C, mer_err *err) {
    int rc = -1;
    size_t *count = mer_calloc(n_points + 1, sizeof *count, err);
    row_ref *refs = mer_calloc(rows->n ? rows->n : 1, sizeof *refs, err);
    subj_ref *subj = mer_calloc(rows->n ? rows->n : 1, sizeof *subj, err);
    int64_t *conf = mer_calloc(C * C, sizeof *conf, err);
    int64_t *folds = mer_calloc(rows->n ? rows->n : 1, sizeof *folds, err);
    double *vals = mer_calloc(rows->n ? rows->n : 1, sizeof *vals, err);
    if (!count || !refs || !subj || !conf || !folds || !vals) goto done;
    /* counting sort of the rows by point, keeping file order inside a point */
    for (size_t i = 0; i < rows->n; i++) count[rows->point[i] + 1]++;
    for (size_t p = 0; p < n_points; p++) count[p + 1] += count[p];
    {
        size_t *next = mer_malloc(n_points * sizeof *next + 1, err);
        if (!next) goto done;
        memcpy(next, count, n_points * sizeof *next);
        for (size_t i = 0; i < rows->n; i++) {
            size_t at = next[rows->point[i]]++;
            refs[at] = (row_ref){rows->seed[i], rows->fold[i], i};
        }
        free(next);
    }
    for (size_t p = 0; p < n_points; p++) {
        report_point *pt = &pts[p];
        row_ref *r = refs + count[p];
        size_t nr = count[p + 1] - count[p];
        qsort(r, nr, sizeof *r, cmp_seed_fold);
        pt->confusion = mer_calloc(C * C, sizeof *pt->confusion, err);
        pt->recall = mer_calloc(C, sizeof *pt->recall, err);
        pt->f1 = mer_calloc(C, sizeof *pt->f1, err);
        size_t n_seeds = 0;
        for (size_t i = 0; i < nr; i++)
            if (i == 0 || r[i].seed != r[i - 1].seed) n_seeds++;
        pt->seeds = mer_calloc(n_seeds ? n_seeds : 1, sizeof *pt->seeds, err);
        if (!pt->confusion || !pt->recall || !pt->f1 || !pt->seeds) goto done;
        /* one pooled confusion matrix per seed */
        for (size_t i = 0; i < nr;) {
            size_t j = i, nf = 0;
            memset(conf, 0, C * C * sizeof *conf);
            for (; j < nr && r[j].seed == r[i].seed; j++) {
                size_t row = r[j].row;
                conf[rows->truth[row] * (int64_t)C + rows->pred[row]]++;
                if (j == i || r[j].fold != r[j - 1].fold) nf++;
            }
            report_seed *sd = &pt->seeds[pt->n_seeds++];
            sd->seed = r[i].seed;
            sd->n_folds = nf;
            if (metrics_from_confusion(&sd->m, NULL, NULL, NULL, conf, (int)C, err) < 0) goto done;
            for (size_t k = 0; k < C * C; k++) pt->confusion[k] += conf[k];
            if (sd->m.n > pt->n) pt->n = sd->m.n;
            i = j;
        }
        mer_metrics sum;
        if (metrics_from_confusion(&sum, pt->recall, NULL, pt->f1, pt->confusion, (int)C, err) < 0) goto done;
        double *acc = vals;
        for (size_t s = 0; s < pt->n_seeds; s++) acc[s] = pt->seeds[s].m.accuracy;
        metrics_mean_std(&pt->accuracy, &pt->accuracy_std, acc, pt->n_seeds);
        for (size_t s = 0; s < pt->n_seeds; s++) acc[s] = pt->seeds[s].m.uf1;
        metrics_mean_std(&pt->uf1, &pt->uf1_std, acc, pt->n_seeds);
        for (size_t s = 0; s < pt->n_seeds; s++) acc[s] = pt->seeds[s].m.uar;
        metrics_mean_std(&pt->uar, &pt->uar_std, acc, pt->n_seeds);
        /* distinct folds over all seeds */
        for (size_t i = 0; i < nr; i++) folds[i] = r[i].fold;
        qsort(folds, nr, sizeof *folds, cmp_i64);
        for (size_t i = 0; i < nr; i++)
            if (i == 0 || folds[i] != folds[i - 1]) pt->n_folds++;
        /* per-subject counts over all seeds */
        for (size_t i = 0; i < nr; i++) subj[i] = (subj_ref){rows->subject[r[i].row], r[i].row};
        qsort(subj, nr, sizeof *subj, cmp_subject);
        size_t ns = 0;
        for (size_t i = 0; i < nr; i++)
            if (i == 0 || strcmp(subj[i].subject, subj[i - 1].subject)) ns++;
        pt->subjects = mer_calloc(ns ? ns : 1, sizeof *pt->subjects, err);
        if (!pt->subjects) goto done;
        for (size_t i = 0; i < nr; i++) {
            if (i == 0 || strcmp(subj[i].subject, subj[i - 1].subject)) {
                if (!(pt->subjects[pt->n_subjects].subject = dup_str(subj[i].subject, err))) goto done;
                pt->n_subjects++;
            }
            report_subject *su = &pt->subjects[pt->n_subjects - 1];
            su->n++;
            su->correct += rows->truth[subj[i].row] == rows->pred[subj[i].row];
        }
    }
    rc = 0;
done:
    free(count);
    free(refs);
    free(subj);
    free(conf);
    free(folds);
    free(vals);
    return rc;
}

static int init_points(report_point **out, char **ids, char **params, size_t n, mer_err *err) {
    report_point *p = mer_calloc(n ? n : 1, sizeof *p, err);
    if (!p) return -1;
    *out = p;
    for (size_t i = 0; i < n; i++) {
        p[i].lsh_empty = NAN;
        if (!(p[i].id = dup_str(ids[i], err)) || !(p[i].params = dup_str(params[i], err))) return -1;
        if (parse_params(&p[i], err) < 0) return -1;
    }
    return 0;
}

static int better(const report_point *a, const report_point *b) {
    if (isnan(b->accuracy)) return !isnan(a->accuracy);
    if (isnan(a->accuracy)) return 0;
    if (a->accuracy != b->accuracy) return a->accuracy > b->accuracy;
    if (a->uf1 != b->uf1) return a->uf1 > b->uf1;
    return a->uar > b->uar;
}

/* /train_stats (optional): the mean share of empty LSH query rows of each point's train tasks. */
static int read_train_stats(mer_report *r, hid_t f, mer_err *err) {
    if (!h5_exists(f, "train_stats/point")) return 0;
    int64_t *point = NULL;
    double *share = NULL;
    size_t d1[H5_MAX_DIMS], d2[H5_MAX_DIMS];
    int nd1 = 0, nd2 = 0, rc = -1;
    if (h5_read_i64(f, "train_stats/point", &point, &nd1, d1, err) < 0 ||
        h5_read_f64(f, "train_stats/lsh_empty_share", &share, &nd2, d2, err) < 0)
        goto done;
    const size_t n = nd1 ? d1[0] : 1;
    if ((nd2 ? d2[0] : 1) != n) {
        mer_errf(err, "/train_stats: columns have different lengths");
        goto done;
    }
    for (size_t p = 0; p < r->n_points; p++) {
        double sum = 0;
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (point[i] == (int64_t)p && isfinite(share[i])) sum += share[i], k++;
        if (k) r->points[p].lsh_empty = sum / (double)k, r->has_lsh_stats = 1;
    }
    rc = 0;
done:
    free(point);
    free(share);
    return rc;
}

static int read_tasks(mer_report *r, hid_t f, mer_err *err) {
    if (!h5_exists(f, "tasks/id")) return 0;
    char **id = NULL, **stage = NULL, **state = NULL, **host = NULL, **error = NULL;
    int64_t *attempts = NULL, *point = NULL;
    double *wall = NULL;
    size_t n = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0;
    int rc = -1, nd;
    size_t d[H5_MAX_DIMS];
    if (h5_read_strs(f, "tasks/id", &id, &n, err) < 0 || h5_read_strs(f, "tasks/stage", &stage, &n2, err) < 0 ||
        h5_read_strs(f, "tasks/state", &state, &n3, err) < 0 || h5_read_strs(f, "tasks/host", &host, &n4, err) < 0 ||
        h5_read_strs(f, "tasks/error", &error, &n5, err) < 0)
        goto done;
    if (n2 != n || n3 != n || n4 != n || n5 != n) {
        mer_errf(err, "/tasks: columns have different lengths (%zu, %zu, %zu, %zu, %zu)", n, n2, n3, n4, n5);
        goto done;
    }
    if (h5_read_i64(f, "tasks/attempts", &attempts, &nd, d, err) < 0) goto done;
    if ((nd ? d[0] : 1) != n) {
        mer_errf(err, "/tasks/attempts has %zu rows, /tasks/id %zu", nd ? d[0] : 1, n);
        goto done;
    }
    if (h5_read_f64(f, "tasks/wall_s", &wall, &nd, d, err) < 0) goto done;
    if ((nd ? d[0] : 1) != n) {
        mer_errf(err, "/tasks/wall_s has %zu rows, /tasks/id %zu", nd ? d[0] : 1, n);
        goto done;
    }
    if (h5_exists(f, "tasks/point")) { /* optional column: which point a task belongs to (-1 = shared) */
        if (h5_read_i64(f, "tasks/point", &point, &nd, d, err) < 0) goto done;
        if ((nd ? d[0] : 1) != n) {
            mer_errf(err, "/tasks/point has %zu rows, /tasks/id %zu", nd ? d[0] : 1, n);
            goto done;
        }
    }
    r->n_tasks = n;
    size_t nf = 0;
    for (size_t i = 0; i < n; i++) nf += !strcmp(state[i], "failed");
    if (!(r->failed = mer_calloc(nf ? nf : 1, sizeof *r->failed, err))) goto done;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(state[i], "failed")) continue;
        report_task *t = &r->failed[r->n_failed++];
        t->attempts = attempts[i];
        t->wall_s = wall[i];
        t->point = point && point[i] >= 0 && (size_t)point[i] < r->n_points ? point[i] : -1;
        if (t->point >= 0) r->points[t->point].n_failed++;
        /* hand the strings over */
        t->id = id[i], id[i] = NULL;
        t->stage = stage[i], stage[i] = NULL;
        t->state = state[i], state[i] = NULL;
        t->host = host[i], host[i] = NULL;
        t->error = error[i], error[i] = NULL;
    }
    rc = 0;
done:
    strs_free(id, n);
    strs_free(stage, n2);
    strs_free(state, n3);
    strs_free(host, n4);
    strs_free(error, n5);
    free(attempts);
    free(point);
    free(wall);
    return rc;
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-9; }

/* Compare the runner's /metrics rows with the recomputation from /predictions. */
static int check_metrics(mer_report *r, hid_t f, mer_err *err) {
    if (!h5_exists(f, "metrics/point")) return 0;
    int64_t *point = NULL, *seed = NULL, *conf = NULL, *mine = NULL;
    double *acc = NULL, *uf1 = NULL, *uar = NULL;
    int rc = -1, nd;
    size_t d[H5_MAX_DIMS], n, C = r->n_classes;
    if (h5_read_i64(f, "metrics/point", &point, &nd, d, err) < 0) goto done;
    n = nd ? d[0] : 1;
    size_t dn[4];
    if (h5_read_i64(f, "metrics/seed", &seed, &nd, d, err) < 0) goto done;
    dn[0] = nd ? d[0] : 1;
    if (h5_read_f64(f, "metrics/accuracy", &acc, &nd, d, err) < 0) goto done;
    dn[1] = nd ? d[0] : 1;
    if (h5_read_f64(f, "metrics/uf1", &uf1, &nd, d, err) < 0) goto done;
    dn[2] = nd ? d[0] : 1;
    if (h5_read_f64(f, "metrics/uar", &uar, &nd, d, err) < 0) goto done;
    dn[3] = nd ? d[0] : 1;
    for (int k = 0; k < 4; k++)
        if (dn[k] != n) {
            mer_errf(err, "/metrics: columns have different lengths (%zu vs %zu rows of /metrics/point)", dn[k], n);
            goto done;
        }
    if (h5_exists(f, "metrics/confusion")) {
        if (h5_read_i64(f, "metrics/confusion", &conf, &nd, d, err) < 0) goto done;
        if (nd != 3 || d[0] != n || d[1] != C || d[2] != C) {
            free(conf);
            conf = NULL;
            if (add_warning(r, err, "/metrics/confusion is not (%zu, %zu, %zu): not checked", n, C, C) < 0) goto done;
        } else if (!(mine = mer_malloc(C * C * sizeof *mine, err))) {
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const report_point *p = point[i] >= 0 && (size_t)point[i] < r->n_points ? &r->points[point[i]] : NULL;
        const report_seed *s = NULL;
        for (size_t k = 0; p && k < p->n_seeds; k++)
            if (p->seeds[k].seed == seed[i]) s = &p->seeds[k];
        if (!s) {
            /* a row for a pool without predictions (all its tasks failed) is consistent when it is empty */
            if (isnan(acc[i]) && isnan(uf1[i]) && isnan(uar[i])) continue;
            if (add_warning(r, err, "/metrics row %zu (point %" PRId64 ", seed %" PRId64 ") has no predictions", i,
                            point[i], seed[i]) < 0)
                goto done;
            continue;
        }
        if (conf) { /* the stored matrix against the one pooled from this (point, seed)'s predictions */
            memset(mine, 0, C * C * sizeof *mine);
            for (size_t k = 0; k < r->rows.n; k++)
                if (r->rows.point[k] == point[i] && r->rows.seed[k] == seed[i])
                    mine[r->rows.truth[k] * (int64_t)C + r->rows.pred[k]]++;
            if (memcmp(mine, conf + i * C * C, C * C * sizeof *mine) &&
                add_warning(r, err, "/metrics/confusion row %zu (point %s, seed %" PRId64 ") differs from the matrix "
                            "pooled from /predictions (the report uses the latter)", i, p->id, seed[i]) < 0)
                goto done;
        }
        if (!same(acc[i], s->m.accuracy) || !same(uf1[i], s->m.uf1) || !same(uar[i], s->m.uar)) {
            if (add_warning(r, err,
                            "/metrics row %zu (point %s, seed %" PRId64 "): stored accuracy/UF1/UAR %.6f/%.6f/%.6f, "
                            "recomputed from /predictions %.6f/%.6f/%.6f (the report uses the recomputed values)",
                            i, p->id, seed[i], acc[i], uf1[i], uar[i], s->m.accuracy, s->m.uf1, s->m.uar) < 0)
                goto done;
        }
    }
    /* every (point, seed) with predictions should have a /metrics row */
    for (size_t p = 0; p < r->n_points; p++)
        for (size_t k = 0; k < r->points[p].n_seeds; k++) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = (size_t)point[i] == p && seed[i] == r->points[p].seeds[k].seed;
            if (!found && add_warning(r, err, "point %s seed %" PRId64 " has predictions but no /metrics row",
                                      r->points[p].id, r->points[p].seeds[k].seed) < 0)
                goto done;
        }
    rc = 0;
done:
    free(point);
    free(seed);
    free(conf);
    free(mine);
    free(acc);
    free(uf1);
    free(uar);
    return rc;
}

static int collect_sweep_keys(mer_report *r, mer_err *err) {
    size_t cap = 0;
    for (size_t p = 0; p < r->n_points; p++) cap += r->points[p].n_kv;
    if (!(r->sweep_keys = mer_calloc(cap ? cap : 1, sizeof *r->sweep_keys, err))) return -1;
    for (size_t p = 0; p < r->n_points; p++)
        for (size_t k = 0; k < r->points[p].n_kv; k++) {
            const char *key = r->points[p].keys[k];
            size_t j = 0;
            while (j < r->n_sweep_keys && strcmp(r->sweep_keys[j], key)) j++;
            if (j == r->n_sweep_keys) r->sweep_keys[r->n_sweep_keys++] = r->points[p].keys[k];
        }
    return 0;
}

/* Composite runs: when every prediction row's subject carries a dataset prefix, the sorted dataset names and
 * each point's figures per dataset (report.h, report_subset). */
static int compute_per_dataset(mer_report *r, mer_err *err) {
    const report_rows *rows = &r->rows;
    if (rows->n == 0) return 0;
    for (size_t i = 0; i < rows->n; i++)
        if (!dataset_subject_prefix(rows->subject[i])) return 0;
    size_t C = r->n_classes, D = 0;
    int rc = -1;
    size_t *ds_of = mer_calloc(rows->n, sizeof *ds_of, err);
    char **names = mer_calloc(rows->n, sizeof *names, err);
    int64_t *conf = NULL;
    double *vals = NULL;
    if (!ds_of || !names) goto done;
    for (size_t i = 0; i < rows->n; i++) { /* distinct names (lower case), then sorted */
        size_t n = dataset_subject_prefix(rows->subject[i]), d = 0;
        while (d < D && (strlen(names[d]) != n || strncasecmp(names[d], rows->subject[i], n))) d++;
        if (d == D) {
            if (!(names[D] = mer_malloc(n + 1, err))) goto done;
            for (size_t k = 0; k < n; k++) names[D][k] = (char)tolower((unsigned char)rows->subject[i][k]);
            names[D++][n] = 0;
        }
    }
    qsort(names, D, sizeof *names, cmp_str);
    for (size_t i = 0; i < rows->n; i++) {
        size_t n = dataset_subject_prefix(rows->subject[i]), d = 0;
        while (strlen(names[d]) != n || strncasecmp(names[d], rows->subject[i], n)) d++;
        ds_of[i] = d;
    }
    for (size_t p = 0; p < r->n_points; p++) {
        report_point *pt = &r->points[p];
        size_t S = pt->n_seeds;
        free(conf);
        free(vals);
        conf = mer_calloc((S ? S : 1) * D * C * C, sizeof *conf, err);
        vals = mer_calloc(S ? S : 1, sizeof *vals, err);
        if (!conf || !vals || !(pt->per_dataset = mer_calloc(D, sizeof *pt->per_dataset, err))) goto done;
        for (size_t i = 0; i < rows->n; i++) {
            if ((size_t)rows->point[i] != p) continue;
            size_t s = 0;
            while (s < S && pt->seeds[s].seed != rows->seed[i]) s++;
            conf[((s * D + ds_of[i]) * C + (size_t)rows->truth[i]) * C + (size_t)rows->pred[i]]++;
        }
        for (size_t d = 0; d < D; d++) {
            report_subset *sub = &pt->per_dataset[d];
            double *acc = vals;
            mer_metrics *per_seed = mer_calloc(S ? S : 1, sizeof *per_seed, err);
            if (!per_seed) goto done;
            for (size_t s = 0; s < S; s++) {
                const int64_t *cm = conf + (s * D + d) * C * C;
                int64_t n = 0;
                for (size_t k = 0; k < C * C; k++) n += cm[k];
                if (!n) continue; /* this seed has no prediction of the dataset (its folds failed) */
                if (metrics_from_confusion(&per_seed[sub->n_seeds], NULL, NULL, NULL, cm, (int)C, err) < 0) {
                    free(per_seed);
                    goto done;
                }
                if (n > sub->n) sub->n = n;
                sub->n_seeds++;
            }
            for (int k = 0; k < 3; k++) {
                for (size_t s = 0; s < sub->n_seeds; s++)
                    acc[s] = k == 0 ? per_seed[s].accuracy : k == 1 ? per_seed[s].uf1 : per_seed[s].uar;
                double *mean = k == 0 ? &sub->accuracy : k == 1 ? &sub->uf1 : &sub->uar;
                double *std = k == 0 ? &sub->accuracy_std : k == 1 ? &sub->uf1_std : &sub->uar_std;
                metrics_mean_std(mean, std, acc, sub->n_seeds);
            }
            free(per_seed);
        }
    }
    r->datasets = names;
    r->n_datasets = D;
    names = NULL;
    rc = 0;
done:
    strs_free(names, D);
    free(ds_of);
    free(conf);
    free(vals);
    return rc;
}

static int read_str_or_empty(hid_t f, const char *path, char **out, mer_err *err) {
    if (h5_exists(f, path)) return h5_read_str(f, path, out, err);
    return (*out = dup_str("", err)) ? 0 : -1;
}

int report_load(mer_report *r, const char *path, mer_err *err) {
    memset(r, 0, sizeof *r);
    r->best = -1;
    hid_t f;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    char **ids = NULL, **params = NULL;
    size_t n_ids = 0, n_params = 0;
    int rc = -1;
    if (!(r->path = dup_str(path, err))) goto done;
    if (h5_read_str(f, "dataset/name", &r->dataset, err) < 0) goto done;
    if (h5_read_strs(f, "dataset/classes", &r->classes, &r->n_classes, err) < 0) goto done;
    if (r->n_classes == 0) {
        mer_errf(err, "/dataset/classes is empty");
        goto done;
    }
    if (read_str_or_empty(f, "meta/version", &r->version, err) < 0 ||
        read_str_or_empty(f, "meta/created", &r->created, err) < 0 ||
        read_str_or_empty(f, "meta/libraries", &r->libraries, err) < 0 ||
        read_str_or_empty(f, "meta/engine", &r->engine, err) < 0 ||
        read_str_or_empty(f, "meta/config", &r->config, err) < 0)
        goto done;
    if (h5_read_strs(f, "points/id", &ids, &n_ids, err) < 0 || h5_read_strs(f, "points/params", &params, &n_params, err) < 0)
        goto done;
    if (n_ids != n_params) {
        mer_errf(err, "/points/id has %zu rows but /points/params %zu", n_ids, n_params);
        goto done;
    }
    r->n_points = n_ids;
    if (init_points(&r->points, ids, params, n_ids, err) < 0) goto done;
    if (read_rows(&r->rows, f, "predictions", r->n_points, r->n_classes, err) < 0) goto done;
    if (compute_points(r->points, r->n_points, &r->rows, r->n_classes, err) < 0) goto done;
    for (size_t p = 0; p < r->n_points; p++)
        if (r->points[p].n_seeds && (r->best < 0 || better(&r->points[p], &r->points[r->best]))) r->best = (long)p;
    if (collect_sweep_keys(r, err) < 0 || compute_per_dataset(r, err) < 0) goto done;
    if (h5_exists(f, "oracle/point")) {
        if (read_str_or_empty(f, "oracle/label", &r->oracle_label, err) < 0) goto done;
        if (!*r->oracle_label) { /* never show oracle numbers without the label */
            free(r->oracle_label);
            if (!(r->oracle_label = dup_str("LEAKY: epoch chosen on the test subject", err))) goto done;
        }
        if (init_points(&r->oracle, ids, params, n_ids, err) < 0) goto done;
        if (read_rows(&r->oracle_rows, f, "oracle", r->n_points, r->n_classes, err) < 0) goto done;
        if (compute_points(r->oracle, r->n_points, &r->oracle_rows, r->n_classes, err) < 0) goto done;
    }
    if (read_tasks(r, f, err) < 0 || read_train_stats(r, f, err) < 0 || check_metrics(r, f, err) < 0) goto done;
    for (size_t p = 0; p < r->n_points; p++)
        if (r->points[p].n_seeds == 0 &&
            add_warning(r, err, "point %s (%s) has no predictions", r->points[p].id, r->points[p].params) < 0)
            goto done;
    rc = 0;
done:
    strs_free(ids, n_ids);
    strs_free(params, n_params);
    mer_err cerr;
    h5_close(f, &cerr);
    if (rc < 0) {
        mer_err_prefix(err, "report %s", path);
        report_free(r);
    }
    return rc;
}

long report_find_point(const mer_report *r, const char *id) {
    for (size_t p = 0; p < r->n_points; p++)
        if (!strcmp(r->points[p].id, id)) return (long)p;
    return -1;
}

/* Split a MEGC2019 composite subject id "casme2_sub01" / "casme2/sub01" into dataset and subject. */
static void megc_subject(char *ds, size_t nds, const char **subject, const char *fallback) {
    const char *s = *subject;
    size_t n = strcspn(s, "/_");
    if (s[n]) {
        int known = s[n] == '/' || dataset_subject_prefix(s) == n;
        if (known) {
            snprintf(ds, nds, "%.*s", (int)n, s);
            *subject = s + n + 1;
            return;
        }
    }
    snprintf(ds, nds, "%s", fallback);
}

/* Log order: folds ascending, samples by id inside a fold (independent of the order rows were stored). */
typedef struct {
    int64_t fold;
    const char *sample;
    size_t row;
} megc_ref;

static int cmp_fold_sample(const void *a, const void *b) {
    const megc_ref *x = a, *y = b;
    if (x->fold != y->fold) return x->fold < y->fold ? -1 : 1;
    int c = strcmp(x->sample, y->sample);
    return c ? c : (x->row < y->row ? -1 : x->row > y->row);
}

int report_write_megc_log(FILE *f, const mer_report *r, long point, int64_t seed, mer_err *err) {
    if (point < 0) point = r->best;
    if (point < 0 || (size_t)point >= r->n_points) return mer_errf(err, "MEGC log: no point with predictions");
    const report_point *pt = &r->points[point];
    if (pt->n_seeds == 0) return mer_errf(err, "MEGC log: point %s has no predictions", pt->id);
    if (seed < 0) seed = pt->seeds[0].seed;
    int found = 0;
    for (size_t s = 0; s < pt->n_seeds; s++) found |= pt->seeds[s].seed == seed;
    if (!found) return mer_errf(err, "MEGC log: point %s has no predictions for seed %" PRId64, pt->id, seed);
    const report_rows *rows = &r->rows;
    megc_ref *refs = mer_calloc(rows->n ? rows->n : 1, sizeof *refs, err);
    if (!refs) return -1;
    size_t n = 0;
    for (size_t i = 0; i < rows->n; i++)
        if (rows->point[i] == point && rows->seed[i] == seed) refs[n++] = (megc_ref){rows->fold[i], rows->sample[i], i};
    qsort(refs, n, sizeof *refs, cmp_fold_sample);
    for (size_t i = 0; i < n; i++) {
        size_t row = refs[i].row;
        if (i == 0 || refs[i].fold != refs[i - 1].fold) {
            char ds[64];
            const char *subject = rows->subject[row];
            megc_subject(ds, sizeof ds, &subject, r->dataset);
            fprintf(f, "%s %s\n", ds, subject);
        }
        const char *sample = rows->sample[row], *slash = strrchr(sample, '/');
        fprintf(f, "%s %" PRId64 " %" PRId64 "\n", slash ? slash + 1 : sample, rows->truth[row], rows->pred[row]);
    }
    free(refs);
    if (fflush(f) != 0 || ferror(f)) return mer_errf(err, "MEGC log: write error");
    return 0;
}
