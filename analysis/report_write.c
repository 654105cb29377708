/* Report writers: Markdown (aligned tables readable in a terminal), CSV (one row per point), JSON (the
 * documented schema "mer-report/1", README "mer report"), and the SVG figures. Accuracy is shown in
 * percent in Markdown and figures, as a fraction in CSV and JSON; UF1 and UAR are always fractions. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/plot.h"
#include "analysis/report.h"
#include "analysis/report_internal.h"
#include "io/base/fs.h"
#include "io/base/json.h"
#include "io/data/csv.h"

/* ---- small helpers ------------------------------------------------------------------------- */

/* Markdown table: cells row by row, the first row is the header. */
typedef struct {
    size_t cols, n, cap;
    char **cells;
} tbl;

static int tbl_add(tbl *t, mer_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int tbl_add(tbl *t, mer_err *err, const char *fmt, ...) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c) return mer_errf(err, "out of memory");
        t->cells = c;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = mer_malloc((size_t)len + 1, err);
    if (!s) return -1;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    for (char *p = s; *p; p++) /* a '|' or newline would break the table */
        if (*p == '|' || *p == '\n') *p = *p == '|' ? '/' : ' ';
    t->cells[t->n++] = s;
    return 0;
}

static void tbl_free(tbl *t) {
    for (size_t i = 0; i < t->n; i++) free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static size_t display_width(const char *s) {
    size_t w = 0;
    for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80; /* count UTF-8 code points */
    return w;
}

static void tbl_print(FILE *f, const tbl *t) {
    size_t rows = t->n / t->cols, w[64] = {0}, cols = t->cols < 64 ? t->cols : 64;
    for (size_t i = 0; i < rows * t->cols; i++)
        if (i % t->cols < cols && display_width(t->cells[i]) > w[i % t->cols]) w[i % t->cols] = display_width(t->cells[i]);
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            const char *s = t->cells[r * t->cols + c];
            fprintf(f, "| %s%*s ", s, (int)(w[c] - display_width(s)), "");
        }
        fputs("|\n", f);
        if (r == 0) {
            for (size_t c = 0; c < cols; c++) {
                fputs("|", f);
                for (size_t k = 0; k < w[c] + 2; k++) fputc('-', f);
            }
            fputs("|\n", f);
        }
    }
    fputc('\n', f);
}

/* "81.06 ± 1.20" (several seeds) or "81.06"; "n/a" when undefined. scale 100 for percent. */
static const char *pm(char *buf, size_t n, double mean, double std, size_t n_seeds, double scale, int prec) {
    if (isnan(mean)) snprintf(buf, n, "n/a");
    else if (n_seeds > 1) snprintf(buf, n, "%.*f ± %.*f", prec, mean * scale, prec, std * scale);
    else snprintf(buf, n, "%.*f", prec, mean * scale);
    return buf;
}

static const char *num(char *buf, size_t n, double v, double scale, int prec) {
    if (isnan(v)) snprintf(buf, n, "n/a");
    else snprintf(buf, n, "%.*f", prec, v * scale);
    return buf;
}

static const char *point_value(const report_point *p, const char *key) {
    for (size_t k = 0; k < p->n_kv; k++)
        if (!strcmp(p->keys[k], key)) return p->values[k];
    return NULL;
}

static int is_number(const char *s) {
    char *end;
    errno = 0;
    strtod(s, &end);
    return *s && !*end && errno == 0;
}

static int cmp_numeric(const void *a, const void *b) {
    double x = strtod(*(const char *const *)a, NULL), y = strtod(*(const char *const *)b, NULL);
    return x < y ? -1 : x > y;
}

/* Distinct values of a swept key over the points: numeric order when all are numbers, else order of
 * first appearance. *vals borrows the points' strings. */
static int key_values(const mer_report *r, const char *key, const char ***vals, size_t *n, mer_err *err) {
    const char **v = mer_calloc(r->n_points ? r->n_points : 1, sizeof *v, err);
    if (!v) return -1;
    size_t k = 0;
    int numeric = 1;
    for (size_t p = 0; p < r->n_points; p++) {
        const char *x = point_value(&r->points[p], key);
        if (!x) continue;
        size_t j = 0;
        while (j < k && strcmp(v[j], x)) j++;
        if (j == k) {
            v[k++] = x;
            numeric &= is_number(x);
        }
    }
    if (numeric) qsort(v, k, sizeof *v, cmp_numeric);
    *vals = v;
    *n = k;
    return 0;
}

/* The point's assignments of every swept key except `skip` (NULL: none), as "k=v k=v". */
static void others(char *buf, size_t n, const report_point *p, const char *skip) {
    buf[0] = 0;
    size_t len = 0;
    for (size_t k = 0; k < p->n_kv; k++) {
        if (skip && !strcmp(p->keys[k], skip)) continue;
        int w = snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", p->keys[k], p->values[k]);
        if (w < 0 || (size_t)w >= n - len) break;
        len += (size_t)w;
    }
}

/* File-name-safe copy: anything but letters, digits, '.', '-' and '_' becomes '_'. */
static void safe_name(char *s) {
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_') *s = '_';
}

static int better_acc(const report_point *a, const report_point *b) {
    return !b || (!isnan(a->accuracy) && (isnan(b->accuracy) || a->accuracy > b->accuracy));
}

/* ---- Markdown ------------------------------------------------------------------------------ */

static int md_points_table(FILE *f, const mer_report *r, const report_point *pts, int leaky, mer_err *err) {
    const int lsh = r->has_lsh_stats && !leaky; /* a training statistic: the same for the oracle rows */
    tbl t = {.cols = 10 + r->n_sweep_keys + (size_t)lsh};
    char a[64], b[64], c[64];
    int rc = -1;
    if (tbl_add(&t, err, "%s", leaky ? "LEAKY" : "") < 0 || tbl_add(&t, err, "point") < 0) goto done;
    for (size_t k = 0; k < r->n_sweep_keys; k++)
        if (tbl_add(&t, err, "%s", r->sweep_keys[k]) < 0) goto done;
    if (tbl_add(&t, err, "%saccuracy %%", leaky ? "LEAKY " : "") < 0 || tbl_add(&t, err, "%sUF1", leaky ? "LEAKY " : "") < 0 ||
        tbl_add(&t, err, "%sUAR", leaky ? "LEAKY " : "") < 0 || tbl_add(&t, err, "n") < 0 || tbl_add(&t, err, "folds") < 0 ||
        tbl_add(&t, err, "seeds") < 0 || tbl_add(&t, err, "failed") < 0 || tbl_add(&t, err, "classes in UF1/UAR") < 0 ||
        (lsh && tbl_add(&t, err, "empty LSH rows %%") < 0))
        goto done;
    for (size_t p = 0; p < r->n_points; p++) {
        const report_point *pt = &pts[p];
        const char *v;
        mer_metrics pooled;
        if (metrics_from_confusion(&pooled, NULL, NULL, NULL, pt->confusion, (int)r->n_classes, err) < 0) goto done;
        if (tbl_add(&t, err, "%s", leaky ? "LEAKY" : (long)p == r->best ? "*" : "") < 0 ||
            tbl_add(&t, err, "%s", pt->id) < 0)
            goto done;
        for (size_t k = 0; k < r->n_sweep_keys; k++)
            if (tbl_add(&t, err, "%s", (v = point_value(pt, r->sweep_keys[k])) ? v : "-") < 0) goto done;
        if (tbl_add(&t, err, "%s", pm(a, sizeof a, pt->accuracy, pt->accuracy_std, pt->n_seeds, 100, 2)) < 0 ||
            tbl_add(&t, err, "%s", pm(b, sizeof b, pt->uf1, pt->uf1_std, pt->n_seeds, 1, 4)) < 0 ||
            tbl_add(&t, err, "%s", pm(c, sizeof c, pt->uar, pt->uar_std, pt->n_seeds, 1, 4)) < 0 ||
            tbl_add(&t, err, "%" PRId64, pt->n) < 0 || tbl_add(&t, err, "%zu", pt->n_folds) < 0 ||
            tbl_add(&t, err, "%zu", pt->n_seeds) < 0 || tbl_add(&t, err, "%zu", pt->n_failed) < 0 ||
            tbl_add(&t, err, "%d/%d", pooled.n_f1_classes, pooled.n_uar_classes) < 0 ||
            (lsh && tbl_add(&t, err, "%s", num(a, sizeof a, pt->lsh_empty, 100, 1)) < 0))
            goto done;
    }
    tbl_print(f, &t);
    rc = 0;
done:
    tbl_free(&t);
    return rc;
}

/* Composite runs: UF1 / UAR / accuracy of every point for Full and for each dataset's samples. */
static int md_per_dataset(FILE *f, const mer_report *r, mer_err *err) {
    tbl t = {.cols = 7};
    char a[64], b[64], c[64];
    int rc = -1;
    fprintf(f, "## Per dataset\n\n");
    fprintf(f, "Every figure comes from the same run: a dataset's row pools the predictions of its samples over\n"
               "the folds of a seed (mean ± std over seeds as above); Full = all samples. Under leave-one-dataset-out\n"
               "a dataset's row is its held-out fold.\n\n");
    if (tbl_add(&t, err, "%s", "") < 0 || tbl_add(&t, err, "point") < 0 || tbl_add(&t, err, "dataset") < 0 ||
        tbl_add(&t, err, "n") < 0 || tbl_add(&t, err, "UF1") < 0 || tbl_add(&t, err, "UAR") < 0 ||
        tbl_add(&t, err, "accuracy %%") < 0)
        goto done;
    for (size_t p = 0; p < r->n_points; p++) {
        const report_point *pt = &r->points[p];
        for (size_t d = 0; d <= r->n_datasets; d++) {
            const report_subset *sub = d ? &pt->per_dataset[d - 1] : NULL;
            const report_subset full = {pt->n, pt->n_seeds, pt->accuracy, pt->accuracy_std, pt->uf1, pt->uf1_std,
                                        pt->uar, pt->uar_std};
            if (!sub) sub = &full;
            if (tbl_add(&t, err, "%s", d == 0 && (long)p == r->best ? "*" : "") < 0 ||
                tbl_add(&t, err, "%s", d == 0 ? pt->id : "") < 0 ||
                tbl_add(&t, err, "%s", d ? r->datasets[d - 1] : "Full") < 0 ||
                tbl_add(&t, err, "%" PRId64, sub->n) < 0 ||
                tbl_add(&t, err, "%s", pm(a, sizeof a, sub->uf1, sub->uf1_std, sub->n_seeds, 1, 4)) < 0 ||
                tbl_add(&t, err, "%s", pm(b, sizeof b, sub->uar, sub->uar_std, sub->n_seeds, 1, 4)) < 0 ||
                tbl_add(&t, err, "%s", pm(c, sizeof c, sub->accuracy, sub->accuracy_std, sub->n_seeds, 100, 2)) < 0)
                goto done;
        }
    }
    tbl_print(f, &t);
    rc = 0;
done:
    tbl_free(&t);
    return rc;
}

static int md_by_key(FILE *f, const mer_report *r, const char *key, mer_err *err) {
    const char **vals = NULL;
    size_t nv = 0;
    tbl t = {.cols = 5};
    int rc = -1;
    char a[64], b[64], o[512];
    if (key_values(r, key, &vals, &nv, err) < 0) return -1;
    fprintf(f, "### Accuracy by %s\n\n", key);
    if (tbl_add(&t, err, "%s", key) < 0 || tbl_add(&t, err, "points") < 0 ||
        tbl_add(&t, err, "mean accuracy %% over points") < 0 || tbl_add(&t, err, "best accuracy %%") < 0 ||
        tbl_add(&t, err, "best point") < 0)
        goto done;
    for (size_t i = 0; i < nv; i++) {
        size_t np = 0, nfin = 0;
        double sum = 0;
        long best = -1;
        for (size_t p = 0; p < r->n_points; p++) {
            const char *v = point_value(&r->points[p], key);
            if (!v || strcmp(v, vals[i])) continue;
            np++;
            if (!isnan(r->points[p].accuracy)) sum += r->points[p].accuracy, nfin++;
            if (best < 0 || better_acc(&r->points[p], &r->points[best])) best = (long)p;
        }
        others(o, sizeof o, &r->points[best], key);
        if (tbl_add(&t, err, "%s", vals[i]) < 0 || tbl_add(&t, err, "%zu", np) < 0 ||
            tbl_add(&t, err, "%s", num(a, sizeof a, nfin ? sum / nfin : NAN, 100, 2)) < 0 ||
            tbl_add(&t, err, "%s%s", num(b, sizeof b, r->points[best].accuracy, 100, 2), best == r->best ? " *" : "") < 0 ||
            tbl_add(&t, err, "%s%s%s%s", r->points[best].id, *o ? " (" : "", o, *o ? ")" : "") < 0)
            goto done;
    }
    tbl_print(f, &t);
    rc = 0;
done:
    tbl_free(&t);
    free(vals);
    return rc;
}

static int md_pivot(FILE *f, const mer_report *r, const char *k1, const char *k2, mer_err *err) {
    const char **v1 = NULL, **v2 = NULL;
    size_t n1 = 0, n2 = 0;
    tbl t = {0};
    int rc = -1;
    char a[64];
    if (key_values(r, k1, &v1, &n1, err) < 0 || key_values(r, k2, &v2, &n2, err) < 0) goto done;
    t.cols = n2 + 1;
    fprintf(f, "### Accuracy %%: %s (rows) x %s (columns)%s\n\n", k1, k2,
            r->n_sweep_keys > 2 ? ", best over the other swept keys" : "");
    if (tbl_add(&t, err, "%s \\ %s", k1, k2) < 0) goto done;
    for (size_t j = 0; j < n2; j++)
        if (tbl_add(&t, err, "%s", v2[j]) < 0) goto done;
    for (size_t i = 0; i < n1; i++) {
        if (tbl_add(&t, err, "%s", v1[i]) < 0) goto done;
        for (size_t j = 0; j < n2; j++) {
            long best = -1;
            for (size_t p = 0; p < r->n_points; p++) {
                const char *x = point_value(&r->points[p], k1), *y = point_value(&r->points[p], k2);
                if (!x || !y || strcmp(x, v1[i]) || strcmp(y, v2[j])) continue;
                if (best < 0 || better_acc(&r->points[p], &r->points[best])) best = (long)p;
            }
            if (best < 0) {
                if (tbl_add(&t, err, "-") < 0) goto done;
                continue;
            }
            const report_point *pt = &r->points[best];
            if (tbl_add(&t, err, "%s%s", pm(a, sizeof a, pt->accuracy, pt->accuracy_std, pt->n_seeds, 100, 2),
                        best == r->best ? " *" : "") < 0)
                goto done;
        }
    }
    tbl_print(f, &t);
    rc = 0;
done:
    tbl_free(&t);
    free(v1);
    free(v2);
    return rc;
}

static int md_point_detail(FILE *f, const mer_report *r, const report_point *pt, int is_best, int leaky, mer_err *err) {
    size_t C = r->n_classes;
    char a[64], b[64], c[64];
    tbl t = {.cols = 6};
    int rc = -1;
    fprintf(f, "### %sPoint %s%s\n\n", leaky ? "LEAKY " : "", pt->id, is_best ? " (best)" : "");
    if (leaky) fprintf(f, "**%s**\n\n", r->oracle_label);
    fprintf(f, "params: %s\n", *pt->params ? pt->params : "(none)");
    fprintf(f, "%s accuracy %s %%, UF1 %s, UAR %s; n = %" PRId64 " samples, %zu folds, %zu seeds\n\n",
            leaky ? "LEAKY" : "pooled", pm(a, sizeof a, pt->accuracy, pt->accuracy_std, pt->n_seeds, 100, 2),
            pm(b, sizeof b, pt->uf1, pt->uf1_std, pt->n_seeds, 1, 4), pm(c, sizeof c, pt->uar, pt->uar_std, pt->n_seeds, 1, 4),
            pt->n, pt->n_folds, pt->n_seeds);
    if (tbl_add(&t, err, "seed") < 0 || tbl_add(&t, err, "n") < 0 || tbl_add(&t, err, "folds") < 0 ||
        tbl_add(&t, err, "accuracy %%") < 0 || tbl_add(&t, err, "UF1") < 0 || tbl_add(&t, err, "UAR") < 0)
        goto done;
    for (size_t s = 0; s < pt->n_seeds; s++) {
        const report_seed *sd = &pt->seeds[s];
        if (tbl_add(&t, err, "%" PRId64, sd->seed) < 0 || tbl_add(&t, err, "%" PRId64, sd->m.n) < 0 ||
            tbl_add(&t, err, "%zu", sd->n_folds) < 0 || tbl_add(&t, err, "%s", num(a, sizeof a, sd->m.accuracy, 100, 2)) < 0 ||
            tbl_add(&t, err, "%s", num(b, sizeof b, sd->m.uf1, 1, 4)) < 0 ||
            tbl_add(&t, err, "%s", num(c, sizeof c, sd->m.uar, 1, 4)) < 0)
            goto done;
    }
    tbl_print(f, &t);
    tbl_free(&t);
    fprintf(f, "Per class (confusion pooled over folds, summed over seeds):\n\n");
    t = (tbl){.cols = 5};
    if (tbl_add(&t, err, "class") < 0 || tbl_add(&t, err, "true") < 0 || tbl_add(&t, err, "predicted") < 0 ||
        tbl_add(&t, err, "recall") < 0 || tbl_add(&t, err, "F1") < 0)
        goto done;
    for (size_t k = 0; k < C; k++) {
        int64_t row = 0, col = 0;
        for (size_t j = 0; j < C; j++) row += pt->confusion[k * C + j], col += pt->confusion[j * C + k];
        if (tbl_add(&t, err, "%s", r->classes[k]) < 0 || tbl_add(&t, err, "%" PRId64, row) < 0 ||
            tbl_add(&t, err, "%" PRId64, col) < 0 || tbl_add(&t, err, "%s", num(a, sizeof a, pt->recall[k], 1, 4)) < 0 ||
            tbl_add(&t, err, "%s", num(b, sizeof b, pt->f1[k], 1, 4)) < 0)
            goto done;
    }
    tbl_print(f, &t);
    tbl_free(&t);
    fprintf(f, "Confusion matrix (rows = truth, columns = prediction):\n\n");
    t = (tbl){.cols = C + 1};
    if (tbl_add(&t, err, "truth \\ pred") < 0) goto done;
    for (size_t k = 0; k < C; k++)
        if (tbl_add(&t, err, "%s", r->classes[k]) < 0) goto done;
    for (size_t i = 0; i < C; i++) {
        if (tbl_add(&t, err, "%s", r->classes[i]) < 0) goto done;
        for (size_t j = 0; j < C; j++)
            if (tbl_add(&t, err, "%" PRId64, pt->confusion[i * C + j]) < 0) goto done;
    }
    tbl_print(f, &t);
    rc = 0;
done:
    tbl_free(&t);
    return rc;
}

int report_write_md(FILE *f, const mer_report *r, const char *plot_dir, mer_err *err) {
    fprintf(f, "# mer report: %s\n\n", r->dataset);
    fprintf(f, "results: %s\nmer version: %s; created: %s\n", r->path, *r->version ? r->version : "unknown",
            *r->created ? r->created : "unknown");
    fprintf(f, "classes (%zu):", r->n_classes);
    for (size_t k = 0; k < r->n_classes; k++) fprintf(f, "%s %s", k ? "," : "", r->classes[k]);
    fprintf(f, "\npoints: %zu; prediction rows: %zu; tasks: %zu, failed: %zu\n\n", r->n_points, r->rows.n,
            r->n_tasks, r->n_failed);
    fprintf(f, "Accuracy, UF1 and UAR are computed on the predictions pooled over all folds of a seed, then\n"
               "averaged over seeds (mean ± sample std when there are several). Classes with no true sample\n"
               "are left out of UAR, classes with neither a true sample nor a prediction out of UF1.\n\n");
    if (r->n_warnings) {
        fprintf(f, "## Warnings\n\n");
        for (size_t i = 0; i < r->n_warnings; i++) fprintf(f, "- %s\n", r->warnings[i]);
        fputc('\n', f);
    }
    fprintf(f, "## Sweep points\n\n");
    if (md_points_table(f, r, r->points, 0, err) < 0) return -1;
    if (r->best >= 0) fprintf(f, "`*` = best point (highest mean accuracy; ties broken by UF1, then UAR)\n\n");
    if (r->n_datasets && md_per_dataset(f, r, err) < 0) return -1;
    if (r->has_lsh_stats)
        fprintf(f, "empty LSH rows = share of attention query rows whose bucket held no key (model.attention.normalize: "
                   "no other frame's key) during training, mean over folds and seeds (patent form: a zero attention row; normalize: the frame "
                   "attends only to itself)\n\n");
    if (r->n_sweep_keys) {
        fprintf(f, "## Sweep tables\n\n");
        for (size_t k = 0; k < r->n_sweep_keys; k++)
            if (md_by_key(f, r, r->sweep_keys[k], err) < 0) return -1;
        for (size_t i = 0; i < r->n_sweep_keys; i++)
            for (size_t j = i + 1; j < r->n_sweep_keys; j++)
                if (md_pivot(f, r, r->sweep_keys[i], r->sweep_keys[j], err) < 0) return -1;
    }
    fprintf(f, "## Points in detail\n\n");
    if (r->best >= 0 && md_point_detail(f, r, &r->points[r->best], 1, 0, err) < 0) return -1;
    for (size_t p = 0; p < r->n_points; p++)
        if ((long)p != r->best && md_point_detail(f, r, &r->points[p], 0, 0, err) < 0) return -1;
    if (r->n_failed) {
        tbl t = {.cols = 6};
        int bad = 0;
        fprintf(f, "## Failed tasks (%zu of %zu)\n\n", r->n_failed, r->n_tasks);
        bad |= tbl_add(&t, err, "task") | tbl_add(&t, err, "stage") | tbl_add(&t, err, "point") |
               tbl_add(&t, err, "attempts") | tbl_add(&t, err, "host") | tbl_add(&t, err, "error");
        for (size_t i = 0; i < r->n_failed && !bad; i++) {
            const report_task *tk = &r->failed[i];
            bad |= tbl_add(&t, err, "%s", tk->id) | tbl_add(&t, err, "%s", tk->stage) |
                   tbl_add(&t, err, "%s", tk->point >= 0 ? r->points[tk->point].id : "-") |
                   tbl_add(&t, err, "%" PRId64, tk->attempts) | tbl_add(&t, err, "%s", tk->host) |
                   tbl_add(&t, err, "%s", tk->error);
        }
        if (!bad) tbl_print(f, &t);
        tbl_free(&t);
        if (bad) return -1;
    }
    if (r->oracle) {
        fprintf(f, strstr(r->oracle_label, "LEAKY") ? "## %s\n\n" : "## LEAKY: %s\n\n", r->oracle_label);
        fprintf(f, "These numbers choose the epoch on the held-out test subject. They are NOT a valid estimate\n"
                   "of generalisation, are shown only because they were requested (eval.oracle_epoch), and are\n"
                   "excluded from the sweep tables, the best-point choice and the figures.\n\n");
        if (md_points_table(f, r, r->oracle, 1, err) < 0) return -1;
    }
    if (plot_dir) {
        fprintf(f, "## Figures (SVG)\n\n");
        for (size_t k = 0; k < r->n_sweep_keys; k++) {
            char name[256];
            snprintf(name, sizeof name, "%s", r->sweep_keys[k]);
            safe_name(name);
            fprintf(f, "- accuracy vs %s: %s/sweep_%s.svg\n", r->sweep_keys[k], plot_dir, name);
        }
        if (r->best >= 0)
            fprintf(f, "- per-subject accuracy of the best point: %s/subjects_%s.svg\n", plot_dir, r->points[r->best].id);
        fprintf(f, "- confusion matrices: %s/confusion_<point>.svg\n\n", plot_dir);
    }
    return 0;
}

/* ---- CSV ----------------------------------------------------------------------------------- */

static void csv_num(FILE *f, double v) {
    fputc(',', f);
    if (!isnan(v)) fprintf(f, "%.12g", v);
}

static void csv_rows(FILE *f, const mer_report *r, const report_point *pts, int leaky) {
    for (size_t p = 0; p < r->n_points; p++) {
        const report_point *pt = &pts[p];
        csv_write_field(f, r->dataset, CSV_QUOTE_MINIMAL);
        fputc(',', f);
        csv_write_field(f, pt->id, CSV_QUOTE_MINIMAL);
        fputc(',', f);
        csv_write_field(f, pt->params, CSV_QUOTE_MINIMAL);
        fprintf(f, ",%d,%d,%" PRId64 ",%zu,%zu", !leaky && (long)p == r->best, leaky, pt->n, pt->n_folds, pt->n_seeds);
        csv_num(f, pt->accuracy);
        csv_num(f, pt->accuracy_std);
        csv_num(f, pt->uf1);
        csv_num(f, pt->uf1_std);
        csv_num(f, pt->uar);
        csv_num(f, pt->uar_std);
        fprintf(f, ",%zu,", pt->n_failed);
        for (size_t k = 0; k < r->n_classes; k++) {
            if (k) fputc(';', f);
            fputs(r->classes[k], f);
        }
        fputc(',', f);
        for (size_t k = 0; k < r->n_classes; k++) {
            if (k) fputc(';', f);
            if (!isnan(pt->recall[k])) fprintf(f, "%.12g", pt->recall[k]);
        }
        fputc(',', f);
        for (size_t k = 0; k < r->n_classes; k++) {
            if (k) fputc(';', f);
            if (!isnan(pt->f1[k])) fprintf(f, "%.12g", pt->f1[k]);
        }
        /* per_dataset columns: one entry per dataset, ';'-separated like the per-class columns; empty when the
         * run is not a composite (and for the leaky rows) */
        fputc(',', f);
        for (size_t d = 0; !leaky && d < r->n_datasets; d++) fprintf(f, "%s%s", d ? ";" : "", r->datasets[d]);
        fputc(',', f);
        for (size_t d = 0; !leaky && d < r->n_datasets; d++) fprintf(f, "%s%" PRId64, d ? ";" : "", pt->per_dataset[d].n);
        for (int k = 0; k < 3; k++) {
            fputc(',', f);
            for (size_t d = 0; !leaky && d < r->n_datasets; d++) {
                const report_subset *sub = &pt->per_dataset[d];
                double v = k == 0 ? sub->accuracy : k == 1 ? sub->uf1 : sub->uar;
                if (d) fputc(';', f);
                if (!isnan(v)) fprintf(f, "%.12g", v);
            }
        }
        fputc('\n', f);
    }
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void json_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.12g", v);
    else fputs("null", f);
}

/* ", \"accuracy\": a, \"accuracy_std\": ..., \"uar_std\": u": the six pooled figures of a point or a subset. */
static void json_figures(FILE *f, double acc, double acc_std, double uf1, double uf1_std, double uar, double uar_std) {
    const char *const names[6] = {"accuracy", "accuracy_std", "uf1", "uf1_std", "uar", "uar_std"};
    const double v[6] = {acc, acc_std, uf1, uf1_std, uar, uar_std};
    for (int i = 0; i < 6; i++) {
        fprintf(f, ", \"%s\": ", names[i]);
        json_num(f, v[i]);
    }
}

/* "[v0, v1, ...]" */
static void json_num_array(FILE *f, const double *v, size_t n) {
    fputs("[", f);
    for (size_t k = 0; k < n; k++) {
        fputs(k ? ", " : "", f);
        json_num(f, v[k]);
    }
    fputs("]", f);
}

static void json_point(FILE *f, const mer_report *r, size_t source, const report_point *pt, int best, int leaky) {
    size_t C = r->n_classes;
    fputs("    {\"id\": ", f);
    json_write_str(f, pt->id, JSON_ESC_SHORT);
    fputs(", \"params\": ", f);
    json_write_str(f, pt->params, JSON_ESC_SHORT);
    fputs(", \"sweep\": {", f);
    for (size_t k = 0; k < pt->n_kv; k++) {
        fputs(k ? ", " : "", f);
        json_write_str(f, pt->keys[k], JSON_ESC_SHORT);
        fputs(": ", f);
        json_write_str(f, pt->values[k], JSON_ESC_SHORT);
    }
    fputs("},\n     \"dataset\": ", f);
    json_write_str(f, r->dataset, JSON_ESC_SHORT);
    fprintf(f, ", \"source\": %zu, \"best\": %s, \"leaky\": %s", source, best ? "true" : "false", leaky ? "true" : "false");
    if (leaky) {
        fputs(", \"label\": ", f);
        json_write_str(f, r->oracle_label, JSON_ESC_SHORT);
    }
    fprintf(f, ",\n     \"n\": %" PRId64 ", \"n_folds\": %zu, \"n_seeds\": %zu, \"failed_tasks\": %zu,\n", pt->n,
            pt->n_folds, pt->n_seeds, pt->n_failed);
    fputs("     \"lsh_empty_query_share\": ", f);
    json_num(f, leaky ? NAN : pt->lsh_empty);
    json_figures(f, pt->accuracy, pt->accuracy_std, pt->uf1, pt->uf1_std, pt->uar, pt->uar_std);
    fputs(",\n     \"classes\": [", f);
    for (size_t k = 0; k < C; k++) {
        fputs(k ? ", " : "", f);
        json_write_str(f, r->classes[k], JSON_ESC_SHORT);
    }
    fputs("], \"recall\": ", f);
    json_num_array(f, pt->recall, C);
    fputs(", \"f1\": ", f);
    json_num_array(f, pt->f1, C);
    fputs(",\n     \"confusion\": [", f);
    for (size_t i = 0; i < C; i++) {
        fputs(i ? ", [" : "[", f);
        for (size_t j = 0; j < C; j++) fprintf(f, "%s%" PRId64, j ? ", " : "", pt->confusion[i * C + j]);
        fputs("]", f);
    }
    fputs("],\n     \"seeds\": [", f);
    for (size_t s = 0; s < pt->n_seeds; s++) {
        const report_seed *sd = &pt->seeds[s];
        fprintf(f, "%s{\"seed\": %" PRId64 ", \"n\": %" PRId64 ", \"n_folds\": %zu, \"accuracy\": ", s ? ", " : "",
                sd->seed, sd->m.n, sd->n_folds);
        json_num(f, sd->m.accuracy);
        fputs(", \"uf1\": ", f);
        json_num(f, sd->m.uf1);
        fputs(", \"uar\": ", f);
        json_num(f, sd->m.uar);
        fputs("}", f);
    }
    fputs("],\n     \"subjects\": [", f);
    for (size_t s = 0; s < pt->n_subjects; s++) {
        const report_subject *su = &pt->subjects[s];
        fputs(s ? ", {\"subject\": " : "{\"subject\": ", f);
        json_write_str(f, su->subject, JSON_ESC_SHORT);
        fprintf(f, ", \"n\": %" PRId64 ", \"correct\": %" PRId64 ", \"accuracy\": ", su->n, su->correct);
        json_num(f, su->n ? (double)su->correct / (double)su->n : NAN);
        fputs("}", f);
    }
    fputs("],\n     \"per_dataset\": [", f);
    for (size_t d = 0; !leaky && d < r->n_datasets; d++) {
        const report_subset *sub = &pt->per_dataset[d];
        fputs(d ? ", {\"dataset\": " : "{\"dataset\": ", f);
        json_write_str(f, r->datasets[d], JSON_ESC_SHORT);
        fprintf(f, ", \"n\": %" PRId64 ", \"n_seeds\": %zu", sub->n, sub->n_seeds);
        json_figures(f, sub->accuracy, sub->accuracy_std, sub->uf1, sub->uf1_std, sub->uar, sub->uar_std);
        fputs("}", f);
    }
    fputs("]}", f);
}

static void write_json(FILE *f, const mer_report *r, size_t n) {
    fputs("{\"schema\": \"mer-report/1\",\n \"sources\": [\n", f);
    for (size_t i = 0; i < n; i++) {
        const mer_report *ri = &r[i];
        fputs(i ? ",\n  {\"path\": " : "  {\"path\": ", f);
        json_write_str(f, ri->path, JSON_ESC_SHORT);
        fputs(", \"dataset\": ", f);
        json_write_str(f, ri->dataset, JSON_ESC_SHORT);
        fputs(", \"version\": ", f);
        json_write_str(f, ri->version, JSON_ESC_SHORT);
        fputs(", \"created\": ", f);
        json_write_str(f, ri->created, JSON_ESC_SHORT);
        fputs(", \"best\": ", f);
        if (ri->best >= 0) json_write_str(f, ri->points[ri->best].id, JSON_ESC_SHORT);
        else fputs("null", f);
        fputs(", \"datasets\": [", f);
        for (size_t d = 0; d < ri->n_datasets; d++) {
            fputs(d ? ", " : "", f);
            json_write_str(f, ri->datasets[d], JSON_ESC_SHORT);
        }
        fputs("], \"sweep_keys\": [", f);
        for (size_t k = 0; k < ri->n_sweep_keys; k++) {
            fputs(k ? ", " : "", f);
            json_write_str(f, ri->sweep_keys[k], JSON_ESC_SHORT);
        }
        fprintf(f, "], \"n_points\": %zu, \"n_tasks\": %zu, \"failed_tasks\": [", ri->n_points, ri->n_tasks);
        for (size_t t = 0; t < ri->n_failed; t++) {
            const report_task *tk = &ri->failed[t];
            fputs(t ? ", {\"id\": " : "{\"id\": ", f);
            json_write_str(f, tk->id, JSON_ESC_SHORT);
            fputs(", \"stage\": ", f);
            json_write_str(f, tk->stage, JSON_ESC_SHORT);
            fputs(", \"point\": ", f);
            if (tk->point >= 0) json_write_str(f, ri->points[tk->point].id, JSON_ESC_SHORT);
            else fputs("null", f);
            fprintf(f, ", \"attempts\": %" PRId64 ", \"host\": ", tk->attempts);
            json_write_str(f, tk->host, JSON_ESC_SHORT);
            fputs(", \"error\": ", f);
            json_write_str(f, tk->error, JSON_ESC_SHORT);
            fputs("}", f);
        }
        fputs("], \"oracle_label\": ", f);
        if (ri->oracle) json_write_str(f, ri->oracle_label, JSON_ESC_SHORT);
        else fputs("null", f);
        fputs(", \"warnings\": [", f);
        for (size_t w = 0; w < ri->n_warnings; w++) {
            fputs(w ? ", " : "", f);
            json_write_str(f, ri->warnings[w], JSON_ESC_SHORT);
        }
        fputs("]}", f);
    }
    fputs("\n ],\n \"points\": [\n", f);
    int first = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; p < r[i].n_points; p++) {
            if (!first) fputs(",\n", f);
            first = 0;
            json_point(f, &r[i], i, &r[i].points[p], (long)p == r[i].best, 0);
        }
    fputs("\n ],\n \"leaky_points\": [\n", f);
    first = 1;
    for (size_t i = 0; i < n; i++)
        for (size_t p = 0; r[i].oracle && p < r[i].n_points; p++) {
            if (!first) fputs(",\n", f);
            first = 0;
            json_point(f, &r[i], i, &r[i].oracle[p], 0, 1);
        }
    fputs("\n ]\n}\n", f);
}

int report_write(FILE *f, report_format fmt, const mer_report *r, size_t n, const char *const *plot_dirs,
                 mer_err *err) {
    if (fmt == REPORT_JSON) {
        write_json(f, r, n);
    } else if (fmt == REPORT_CSV) {
        fputs("dataset,point,params,best,leaky,n,folds,seeds,accuracy,accuracy_std,uf1,uf1_std,uar,uar_std,"
              "failed_tasks,classes,recall,f1,per_dataset,per_dataset_n,per_dataset_accuracy,per_dataset_uf1,"
              "per_dataset_uar\n",
              f);
        for (size_t i = 0; i < n; i++) {
            csv_rows(f, &r[i], r[i].points, 0);
            if (r[i].oracle) csv_rows(f, &r[i], r[i].oracle, 1);
        }
    } else if (fmt == REPORT_HTML) {
        if (report_write_html(f, r, n, err) < 0) return -1;
    } else {
        for (size_t i = 0; i < n; i++)
            if (report_write_md(f, &r[i], plot_dirs ? plot_dirs[i] : NULL, err) < 0) return -1;
    }
    if (fflush(f) != 0 || ferror(f)) return mer_errf(err, "writing the report: %s", strerror(errno));
    return 0;
}

/* ---- figures ------------------------------------------------------------------------------- */

/* Write one figure atomically: DIR/NAME.tmp, then rename. */
static int write_svg(void *user, const char *name, report_svg_fn fn, const void *ctx, mer_err *err) {
    const char *dir = user;
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    safe_name(path + strlen(dir) + 1);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return mer_errf(err, "%s: %s", tmp, strerror(errno));
    int rc = fn(f, ctx, err);
    if (fclose(f) != 0 && rc == 0) rc = mer_errf(err, "%s: %s", tmp, strerror(errno));
    if (rc == 0 && rename(tmp, path) < 0) rc = mer_errf(err, "rename %s: %s", path, strerror(errno));
    if (rc < 0) {
        remove(tmp);
        mer_err_prefix(err, "figure %s", path);
    }
    return rc;
}

typedef struct {
    const mer_report *r;
    const report_point *pt;
    const char *key;
} fig_ctx;

static int fig_confusion(FILE *f, const void *vctx, mer_err *err) {
    const fig_ctx *c = vctx;
    size_t C = c->r->n_classes;
    int rc = -1;
    double *v = mer_calloc(C * C, sizeof *v, err);
    char **text = mer_calloc(C * C, sizeof *text, err);
    char *buf = mer_calloc(C * C, 24, err);
    if (!v || !text || !buf) goto done;
    for (size_t i = 0; i < C; i++) {
        int64_t row = 0;
        for (size_t j = 0; j < C; j++) row += c->pt->confusion[i * C + j];
        for (size_t j = 0; j < C; j++) {
            v[i * C + j] = row ? (double)c->pt->confusion[i * C + j] / (double)row : NAN;
            text[i * C + j] = buf + 24 * (i * C + j);
            snprintf(text[i * C + j], 24, "%" PRId64, c->pt->confusion[i * C + j]);
        }
    }
    char title[512];
    snprintf(title, sizeof title, "%s, point %s: confusion matrix", c->r->dataset, c->pt->id);
    plot_labels lab = {.title = title, .subtitle = c->pt->params, .xlabel = "prediction (shade: share of the true class)",
                       .ylabel = "truth"};
    rc = plot_heatmap_svg(f, v, (const char *const *)text, C, C, (const char *const *)c->r->classes,
                          (const char *const *)c->r->classes, &lab, err);
done:
    free(v);
    free(text);
    free(buf);
    return rc;
}

static int fig_subjects(FILE *f, const void *vctx, mer_err *err) {
    const fig_ctx *c = vctx;
    size_t n = c->pt->n_subjects;
    double *y = mer_calloc(n ? n : 1, sizeof *y, err);
    const char **labels = mer_calloc(n ? n : 1, sizeof *labels, err);
    int rc = -1;
    if (y && labels) {
        for (size_t s = 0; s < n; s++) {
            const report_subject *su = &c->pt->subjects[s];
            y[s] = su->n ? 100.0 * (double)su->correct / (double)su->n : NAN;
            labels[s] = su->subject;
        }
        char title[512];
        snprintf(title, sizeof title, "%s, point %s: accuracy per held-out subject", c->r->dataset, c->pt->id);
        plot_labels lab = {.title = title, .subtitle = "diagnostic only: the scores pool all subjects",
                           .xlabel = "subject", .ylabel = "accuracy %", .ymin = 0, .ymax = 100};
        rc = plot_bars_svg(f, y, labels, n, &lab, err);
    }
    free(y);
    free(labels);
    return rc;
}

static int fig_sweep(FILE *f, const void *vctx, mer_err *err) {
    const fig_ctx *c = vctx;
    const mer_report *r = c->r;
    const char **vals = NULL;
    size_t nv = 0, ns = 0;
    int rc = -1;
    char **names = mer_calloc(r->n_points ? r->n_points : 1, sizeof *names, err);
    double *y = NULL, *e = NULL;
    plot_series *series = NULL;
    if (!names || key_values(r, c->key, &vals, &nv, err) < 0) goto done;
    y = mer_calloc(r->n_points * nv + 1, sizeof *y, err);
    e = mer_calloc(r->n_points * nv + 1, sizeof *e, err);
    series = mer_calloc(r->n_points + 1, sizeof *series, err);
    if (!y || !e || !series) goto done;
    for (size_t i = 0; i < r->n_points * nv; i++) y[i] = e[i] = NAN;
    for (size_t p = 0; p < r->n_points; p++) {
        const report_point *pt = &r->points[p];
        const char *v = point_value(pt, c->key);
        if (!v) continue;
        char o[512];
        others(o, sizeof o, pt, c->key);
        size_t s = 0;
        while (s < ns && strcmp(names[s], o)) s++;
        if (s == ns) {
            size_t len = strlen(o) + 1;
            if (!(names[ns] = mer_malloc(len, err))) goto done;
            memcpy(names[ns++], o, len);
        }
        size_t x = 0;
        while (x < nv && strcmp(vals[x], v)) x++;
        if (isnan(y[s * nv + x])) {
            y[s * nv + x] = pt->accuracy * 100;
            e[s * nv + x] = pt->n_seeds > 1 ? pt->accuracy_std * 100 : NAN;
        }
    }
    for (size_t s = 0; s < ns; s++) series[s] = (plot_series){names[s], y + s * nv, e + s * nv};
    char title[512];
    snprintf(title, sizeof title, "%s: pooled accuracy vs %s", r->dataset, c->key);
    plot_labels lab = {.title = title, .subtitle = "mean over seeds; error bars: ±1 sample std over seeds",
                       .xlabel = c->key, .ylabel = "accuracy %"};
    rc = plot_lines_svg(f, (const char *const *)vals, nv, series, ns, &lab, err);
done:
    for (size_t s = 0; s < ns; s++) free(names[s]);
    free(names);
    free(vals);
    free(y);
    free(e);
    free(series);
    return rc;
}

int report_each_figure(const mer_report *r, report_figure_sink sink, void *user, mer_err *err) {
    char name[512];
    for (size_t p = 0; p < r->n_points && p < 64; p++) {
        if (!r->points[p].n_seeds) continue;
        fig_ctx c = {r, &r->points[p], NULL};
        snprintf(name, sizeof name, "confusion_%s.svg", r->points[p].id);
        if (sink(user, name, fig_confusion, &c, err) < 0) return -1;
    }
    if (r->best >= 0) {
        fig_ctx c = {r, &r->points[r->best], NULL};
        snprintf(name, sizeof name, "subjects_%s.svg", r->points[r->best].id);
        if (sink(user, name, fig_subjects, &c, err) < 0) return -1;
    }
    for (size_t k = 0; k < r->n_sweep_keys; k++) {
        fig_ctx c = {r, NULL, r->sweep_keys[k]};
        snprintf(name, sizeof name, "sweep_%s.svg", r->sweep_keys[k]);
        if (sink(user, name, fig_sweep, &c, err) < 0) return -1;
    }
    return 0;
}

int report_write_plots(const mer_report *r, const char *dir, mer_err *err) {
    if (fs_mkdir_p(dir, err) < 0) return -1;
    return report_each_figure(r, write_svg, (void *)dir, err);
}
