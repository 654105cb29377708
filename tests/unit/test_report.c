/* analysis/report: a results.h5 with known predictions is written here (io/h5.h), loaded, and every
 * number of the report is compared with a hand computation (the arithmetic is next to each check).
 * Outputs: the JSON parses and holds the same numbers, the CSV and Markdown show them, the SVG figures
 * are well-formed XML (own checker, and xmllint when installed), the MEGC2019 log is exact, and the
 * `mer report` command writes the same JSON. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/plot.h"
#include "analysis/report.h"
#include "io/h5.h"
#include "runner/cli/commands.h"
#include "tests/check.h"

#define TOL 1e-9

/* Samples (subject/clip) and truths; classes 0 negative, 1 positive, 2 surprise, 3 others (never true).
 * Folds: 0 = casme2_sub01, 1 = samm_006, 2 = smic/s1. */
static const char *const SUBJ[6] = {"casme2_sub01", "casme2_sub01", "samm_006", "samm_006", "smic/s1", "smic/s1"};
static const char *const SAMPLE[6] = {"casme2_sub01/s1", "casme2_sub01/s2", "samm_006/s3",
                                      "samm_006/s4",     "smic/s1/s5",      "smic/s1/s6"};
/* the same run with subjects that name no dataset (not a composite: no per-dataset figures) */
static const char *const PLAIN_SUBJ[6] = {"sub01", "sub01", "006", "006", "s1", "s1"};
static const int64_t FOLD[6] = {0, 0, 1, 1, 2, 2};
static const int64_t TRUTH[6] = {0, 1, 0, 2, 1, 0};

typedef struct {
    int64_t point, seed;
    int64_t pred[6];
    int n; /* rows used (a failed fold leaves fewer) */
} run;

/* p0 n_rounds=3 linear; p1 n_rounds=4 linear; p2 n_rounds=3 none; p3 n_rounds=4 none */
static const run RUNS[] = {
    {0, 1, {0, 1, 0, 2, 1, 0}, 6}, /* all correct */
    {0, 2, {0, 1, 0, 2, 0, 0}, 6}, /* s5 positive -> negative */
    {1, 1, {0, 0, 0, 0, 0, 0}, 6}, /* everything negative */
    {2, 1, {1, 1, 0, 2, 1, 0}, 6}, /* s1 negative -> positive */
    {2, 2, {1, 1, 0, 2, 1, 0}, 6}, /* same again */
    {3, 1, {0, 1, 0, 3, 1, 2}, 6}, /* s4 surprise -> others, s6 negative -> surprise */
    {3, 2, {0, 1, 0, 2, 0, 0}, 4}, /* fold 2 failed: only s1..s4, all correct */
};
#define N_RUNS (sizeof RUNS / sizeof RUNS[0])

static int write_results(const char *path, int with_oracle, int with_wrong_metric, int plain_subjects) {
    mer_err err = {0};
    hid_t f;
    if (h5_create(path, &f, &err) < 0) return fprintf(stderr, "%s\n", err.msg), -1;
    const char *classes[4] = {"negative", "positive", "surprise", "others"};
    const char *ids[4] = {"p0", "p1", "p2", "p3"};
    const char *params[4] = {"model.attention.n_rounds=3 magnify.method=linear",
                             "model.attention.n_rounds=4 magnify.method=linear",
                             "model.attention.n_rounds=3 magnify.method=none",
                             "model.attention.n_rounds=4 magnify.method=none"};
    const char *cfgs[4] = {"a: 1\n", "a: 2\n", "a: 3\n", "a: 4\n"};
    int64_t point[64], seed[64], fold[64], truth[64], pred[64];
    const char *subj[64], *sample[64];
    size_t n = 0;
    /* rows written in reverse generation order: the report must not rely on file order */
    for (size_t r = N_RUNS; r-- > 0;)
        for (int i = RUNS[r].n; i-- > 0;) {
            point[n] = RUNS[r].point, seed[n] = RUNS[r].seed, fold[n] = FOLD[i], truth[n] = TRUTH[i];
            pred[n] = RUNS[r].pred[i], subj[n] = plain_subjects ? PLAIN_SUBJ[i] : SUBJ[i], sample[n] = SAMPLE[i];
            n++;
        }
    float *prob = calloc(n * 4, sizeof *prob);
    for (size_t i = 0; i < n; i++) prob[i * 4 + pred[i]] = 1;
    size_t np = 4, dims2[2] = {n, 4};
    int bad = h5_write_str(f, "meta/version", "v-test", &err) | h5_write_str(f, "meta/created", "2026-11-26T16:00:00Z", &err) |
              h5_write_str(f, "dataset/name", "megc2019", &err) | h5_write_strs(f, "dataset/classes", classes, 4, &err) |
              h5_write_strs(f, "points/id", ids, np, &err) | h5_write_strs(f, "points/params", params, np, &err) |
              h5_write_strs(f, "points/config", cfgs, np, &err) | h5_write_i64(f, "predictions/point", point, 1, &n, &err) |
              h5_write_i64(f, "predictions/seed", seed, 1, &n, &err) | h5_write_i64(f, "predictions/fold", fold, 1, &n, &err) |
              h5_write_strs(f, "predictions/subject", subj, n, &err) | h5_write_strs(f, "predictions/sample", sample, n, &err) |
              h5_write_i64(f, "predictions/truth", truth, 1, &n, &err) | h5_write_i64(f, "predictions/pred", pred, 1, &n, &err) |
              h5_write_f32(f, "predictions/prob", prob, 2, dims2, &err);
    free(prob);
    if (with_oracle) {
        /* leaky rows: p0 seed 1 and p1 seed 1, all correct */
        int64_t op[12], os[12], ofo[12], ot[12];
        const char *osu[12], *osa[12];
        size_t on = 0;
        for (int p = 0; p < 2; p++)
            for (int i = 0; i < 6; i++, on++) {
                op[on] = p, os[on] = 1, ofo[on] = FOLD[i], ot[on] = TRUTH[i];
                osu[on] = SUBJ[i], osa[on] = SAMPLE[i];
            }
        bad |= h5_write_i64(f, "oracle/point", op, 1, &on, &err) | h5_write_i64(f, "oracle/seed", os, 1, &on, &err) |
               h5_write_i64(f, "oracle/fold", ofo, 1, &on, &err) | h5_write_i64(f, "oracle/truth", ot, 1, &on, &err) |
               h5_write_i64(f, "oracle/pred", ot, 1, &on, &err) | h5_write_strs(f, "oracle/subject", osu, on, &err) |
               h5_write_strs(f, "oracle/sample", osa, on, &err) |
               h5_write_str(f, "oracle/label", "LEAKY: epoch chosen on the test subject", &err);
    }
    /* the runner's own pooled metrics per (point, seed), hand values (see main) */
    /* the last row is an empty pool (a seed whose tasks all failed): NAN metrics, consistent, no warning */
    int64_t mp[8] = {0, 0, 1, 2, 2, 3, 3, 1}, ms[8] = {1, 2, 1, 1, 2, 1, 2, 5};
    double acc[8] = {1, 5.0 / 6, 0.5, 5.0 / 6, 5.0 / 6, 4.0 / 6, 1, NAN};
    double uf1[8] = {1, 53.0 / 63, 2.0 / 9, 13.0 / 15, 13.0 / 15, 0.45, 1, NAN};
    double uar[8] = {1, 5.0 / 6, 1.0 / 3, 8.0 / 9, 8.0 / 9, 5.0 / 9, 1, NAN};
    if (with_wrong_metric) acc[2] = 0.6;
    size_t m = 8;
    /* confusion per row as the runner stores it, pooled from the RUNS table; the file with the wrong accuracy
     * also gets one wrong count (p3 seed 1, cell [0][0]) */
    int64_t mconf[8 * 16] = {0};
    for (size_t row = 0; row < 8; row++)
        for (size_t r = 0; r < N_RUNS; r++)
            if (RUNS[r].point == mp[row] && RUNS[r].seed == ms[row])
                for (int i = 0; i < RUNS[r].n; i++) mconf[row * 16 + TRUTH[i] * 4 + RUNS[r].pred[i]]++;
    if (with_wrong_metric) mconf[5 * 16] += 1;
    size_t cdims[3] = {8, 4, 4};
    bad |= h5_write_i64(f, "metrics/confusion", mconf, 3, cdims, &err);
    bad |= h5_write_i64(f, "metrics/point", mp, 1, &m, &err) | h5_write_i64(f, "metrics/seed", ms, 1, &m, &err) |
           h5_write_f64(f, "metrics/accuracy", acc, 1, &m, &err) | h5_write_f64(f, "metrics/uf1", uf1, 1, &m, &err) |
           h5_write_f64(f, "metrics/uar", uar, 1, &m, &err);
    /* tasks: 2 done, 1 failed (point 3, seed 2, fold 2), 1 shared stage failed */
    const char *tid[4] = {"t0", "t1", "t2", "t3"}, *tstage[4] = {"train", "train", "train", "features"};
    const char *tstate[4] = {"done", "done", "failed", "failed"}, *thost[4] = {"h1", "h1", "h2", "h2"};
    const char *terr[4] = {"", "", "NaN loss at epoch 3", "bad sample sub09/EP02"};
    int64_t tatt[4] = {1, 1, 3, 3}, tpt[4] = {0, 1, 3, -1};
    double twall[4] = {1, 2, 3, 4};
    size_t k = 4;
    bad |= h5_write_strs(f, "tasks/id", tid, k, &err) | h5_write_strs(f, "tasks/stage", tstage, k, &err) |
           h5_write_strs(f, "tasks/state", tstate, k, &err) | h5_write_strs(f, "tasks/host", thost, k, &err) |
           h5_write_strs(f, "tasks/error", terr, k, &err) | h5_write_i64(f, "tasks/attempts", tatt, 1, &k, &err) |
           h5_write_f64(f, "tasks/wall_s", twall, 1, &k, &err) | h5_write_i64(f, "tasks/point", tpt, 1, &k, &err);
    bad |= h5_close(f, &err);
    if (bad) fprintf(stderr, "writing %s: %s\n", path, err.msg);
    return bad ? -1 : 0;
}

/* ---- tiny JSON syntax checker (values, objects, arrays, strings, numbers, literals) ---- */
static const char *js_ws(const char *s) {
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    return s;
}
static const char *js_value(const char *s, int depth);
static const char *js_string(const char *s) {
    if (*s != '"') return NULL;
    for (s++; *s && *s != '"'; s++) {
        if ((unsigned char)*s < 0x20) return NULL;
        if (*s == '\\' && !*++s) return NULL;
    }
    return *s == '"' ? s + 1 : NULL;
}
static const char *js_value(const char *s, int depth) {
    if (depth > 64) return NULL;
    s = js_ws(s);
    if (*s == '{' || *s == '[') {
        char close = *s == '{' ? '}' : ']';
        s = js_ws(s + 1);
        if (*s == close) return s + 1;
        for (;;) {
            if (close == '}') {
                if (!(s = js_string(js_ws(s)))) return NULL;
                s = js_ws(s);
                if (*s++ != ':') return NULL;
            }
            if (!(s = js_value(s, depth + 1))) return NULL;
            s = js_ws(s);
            if (*s == ',') s++;
            else if (*s == close) return s + 1;
            else return NULL;
        }
    }
    if (*s == '"') return js_string(s);
    if (!strncmp(s, "true", 4)) return s + 4;
    if (!strncmp(s, "false", 5)) return s + 5;
    if (!strncmp(s, "null", 4)) return s + 4;
    char *end;
    strtod(s, &end);
    return end == s ? NULL : end;
}
static int json_valid(const char *s) {
    const char *e = js_value(s, 0);
    return e && !*js_ws(e);
}

/* Number of field `field` of the JSON object that starts at `"id": "<id>"` inside `section`. */
static double json_num_of(const char *json, const char *section, const char *id, const char *field) {
    const char *s = strstr(json, section);
    char key[64], fk[64];
    snprintf(key, sizeof key, "{\"id\": \"%s\"", id);
    snprintf(fk, sizeof fk, "\"%s\": ", field);
    if (!s || !(s = strstr(s, key)) || !(s = strstr(s, fk))) return -999;
    s += strlen(fk);
    if (!strncmp(s, "null", 4)) return NAN;
    return strtod(s, NULL);
}

/* ---- tiny XML well-formedness checker: balanced tags, quoted attributes, valid entities ---- */
static int xml_wellformed(const char *s, char *why, size_t nwhy) {
    char stack[64][32];
    int depth = 0, roots = 0;
    if (!strncmp(s, "<?xml", 5) && !(s = strstr(s, "?>"))) return snprintf(why, nwhy, "bad declaration"), 0;
    if (!strncmp(s, "?>", 2)) s += 2;
    for (; *s; s++) {
        if (*s == '&') {
            const char *ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            int ok = 0;
            for (int k = 0; k < 5; k++) ok |= !strncmp(s, ents[k], strlen(ents[k]));
            if (!ok) return snprintf(why, nwhy, "bare &"), 0;
            continue;
        }
        if (*s == '>') return snprintf(why, nwhy, "stray >"), 0;
        if (*s != '<') continue;
        int closing = s[1] == '/';
        const char *name = s + 1 + closing;
        size_t len = strcspn(name, " \t\n/>");
        if (len == 0 || len >= 32) return snprintf(why, nwhy, "bad tag name"), 0;
        const char *p = name + len;
        /* attributes: name="value" */
        for (;;) {
            p += strspn(p, " \t\n");
            if (*p == '>' || (*p == '/' && p[1] == '>')) break;
            if (closing) return snprintf(why, nwhy, "attributes on a closing tag"), 0;
            size_t an = strcspn(p, "= \t\n>");
            if (an == 0 || p[an] != '=' || (p[an + 1] != '"' && p[an + 1] != '\''))
                return snprintf(why, nwhy, "unquoted attribute near '%.20s'", p), 0;
            char q = p[an + 1];
            const char *v = p + an + 2, *e = strchr(v, q);
            if (!e || memchr(v, '<', (size_t)(e - v))) return snprintf(why, nwhy, "bad attribute value"), 0;
            p = e + 1;
        }
        int selfclose = *p == '/';
        if (closing) {
            if (depth == 0 || strlen(stack[depth - 1]) != len || strncmp(stack[depth - 1], name, len))
                return snprintf(why, nwhy, "mismatched </%.*s>", (int)len, name), 0;
            depth--;
        } else if (!selfclose) {
            if (depth == 0) roots++;
            if (depth == 64) return snprintf(why, nwhy, "too deep"), 0;
            snprintf(stack[depth++], 32, "%.*s", (int)len, name);
        } else if (depth == 0) {
            roots++;
        }
        s = p + selfclose;
    }
    if (depth) return snprintf(why, nwhy, "unclosed <%s>", stack[depth - 1]), 0;
    if (roots != 1) return snprintf(why, nwhy, "%d root elements", roots), 0;
    return 1;
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = 0;
    fclose(f);
    return s;
}

static char *render(const mer_report *r, report_format fmt, const char *plots) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    mer_err err = {0};
    const char *dirs[1] = {plots};
    CHECK(report_write(f, fmt, r, 1, dirs, &err) == 0, "report_write: %s", err.msg);
    fclose(f);
    return buf;
}

int main(void) {
    char dir[] = "/tmp/mer_test_report_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], plots[256];
    snprintf(path, sizeof path, "%s/results.h5", dir);
    snprintf(plots, sizeof plots, "%s/figs", dir);
    if (write_results(path, 1, 1, 0) < 0) return 1;

    mer_report r;
    mer_err err = {0};
    CHECK(report_load(&r, path, &err) == 0, "load: %s", err.msg);
    if (r.n_points != 4) return check_summary();
    CHECK_STR(r.dataset, "megc2019", "dataset");
    CHECK(r.n_classes == 4 && !strcmp(r.classes[3], "others"), "classes");
    CHECK(r.n_sweep_keys == 2 && !strcmp(r.sweep_keys[0], "model.attention.n_rounds") &&
              !strcmp(r.sweep_keys[1], "magnify.method"),
          "swept keys parsed from params");
    const report_point *p0 = &r.points[0], *p1 = &r.points[1], *p2 = &r.points[2], *p3 = &r.points[3];

    /* p0 seed 1: all 6 correct -> 1, 1, 1.
     * p0 seed 2: confusion rows [3 0 0 0] [1 1 0 0] [0 0 1 0] [0 0 0 0]: accuracy 5/6;
     *   recall 1, 1/2, 1 -> UAR 5/6; F1 c0 = 6/(6+1) = 6/7, c1 = 2/(2+1) = 2/3, c2 = 1 -> UF1 = 53/63;
     *   class 3 (no truth, no prediction) excluded. */
    CHECK(p0->n_seeds == 2 && p0->seeds[0].seed == 1 && p0->seeds[1].seed == 2, "p0 seeds sorted");
    CHECK_NEAR(p0->seeds[1].m.accuracy, 5.0 / 6, TOL, "p0 seed 2 accuracy");
    CHECK_NEAR(p0->seeds[1].m.uf1, 53.0 / 63, TOL, "p0 seed 2 UF1");
    CHECK_NEAR(p0->seeds[1].m.uar, 5.0 / 6, TOL, "p0 seed 2 UAR");
    CHECK(p0->seeds[1].m.n_f1_classes == 3 && p0->seeds[1].m.n_uar_classes == 3, "p0: class 3 excluded");
    /* mean over seeds and sample std: accuracy (1 + 5/6)/2 = 11/12, std |1 - 5/6| / sqrt(2) */
    CHECK_NEAR(p0->accuracy, 11.0 / 12, TOL, "p0 accuracy mean");
    CHECK_NEAR(p0->accuracy_std, (1.0 / 6) / sqrt(2), TOL, "p0 accuracy std");
    CHECK_NEAR(p0->uf1, (1 + 53.0 / 63) / 2, TOL, "p0 UF1 mean = 58/63");
    CHECK_NEAR(p0->uf1_std, (10.0 / 63) / sqrt(2), TOL, "p0 UF1 std");
    CHECK_NEAR(p0->uar, 11.0 / 12, TOL, "p0 UAR mean");
    /* summed confusion: [6 0 0 0] [1 3 0 0] [0 0 2 0] [0 0 0 0]; recall 1, 3/4, 1, undefined;
     * F1 c0 = 12/13, c1 = 6/7, c2 = 1, c3 undefined */
    int64_t want0[16] = {6, 0, 0, 0, 1, 3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0};
    int same = 1;
    for (int i = 0; i < 16; i++) same &= p0->confusion[i] == want0[i];
    CHECK(same, "p0 confusion summed over seeds");
    CHECK_NEAR(p0->recall[1], 0.75, TOL, "p0 recall positive");
    CHECK(isnan(p0->recall[3]) && isnan(p0->f1[3]), "p0 class 'others' undefined");
    CHECK_NEAR(p0->f1[0], 12.0 / 13, TOL, "p0 F1 negative");
    CHECK_NEAR(p0->f1[1], 6.0 / 7, TOL, "p0 F1 positive");
    CHECK(p0->n == 6 && p0->n_folds == 3 && p0->n_failed == 0, "p0 n, folds, failed");
    /* per subject over both seeds: casme2_sub01 4/4, samm_006 4/4, smic/s1 3/4 */
    CHECK(p0->n_subjects == 3 && !strcmp(p0->subjects[2].subject, "smic/s1") && p0->subjects[2].n == 4 &&
              p0->subjects[2].correct == 3 && p0->subjects[0].correct == 4,
          "p0 per-subject counts");

    /* p1: one seed, all "negative": accuracy 3/6; recall 1, 0, 0 -> UAR 1/3;
     * F1 c0 = 6/(6+3) = 2/3, c1 = c2 = 0 -> UF1 2/9; std 0 with one seed */
    CHECK(p1->n_seeds == 1, "p1 one seed");
    CHECK_NEAR(p1->accuracy, 0.5, TOL, "p1 accuracy");
    CHECK_NEAR(p1->uar, 1.0 / 3, TOL, "p1 UAR");
    CHECK_NEAR(p1->uf1, 2.0 / 9, TOL, "p1 UF1");
    CHECK(p1->accuracy_std == 0, "p1 std 0");

    /* p2: both seeds [2 1 0] [0 2 0] [0 0 1]: accuracy 5/6, UAR (2/3+1+1)/3 = 8/9,
     * F1 4/5, 4/5, 1 -> UF1 13/15; std 0 */
    CHECK_NEAR(p2->accuracy, 5.0 / 6, TOL, "p2 accuracy");
    CHECK_NEAR(p2->uar, 8.0 / 9, TOL, "p2 UAR");
    CHECK_NEAR(p2->uf1, 13.0 / 15, TOL, "p2 UF1");
    CHECK(p2->accuracy_std == 0, "p2 std");

    /* p3 seed 1: [2 0 1 0] [0 2 0 0] [0 0 0 1] [0 0 0 0]: accuracy 4/6; recall 2/3, 1, 0 (others: no truth,
     *   excluded) -> UAR 5/9; F1 c0 4/5, c1 1, c2 0/(0+1+1) = 0, c3 0/(0+1+0) = 0 (predicted, counts)
     *   -> UF1 (4/5 + 1 + 0 + 0)/4 = 9/20.
     * p3 seed 2: fold 2 failed, 4 rows all correct: 1, 1, 1 over classes 0..2. */
    CHECK_NEAR(p3->seeds[0].m.accuracy, 4.0 / 6, TOL, "p3 seed 1 accuracy");
    CHECK_NEAR(p3->seeds[0].m.uar, 5.0 / 9, TOL, "p3 seed 1 UAR");
    CHECK_NEAR(p3->seeds[0].m.uf1, 0.45, TOL, "p3 seed 1 UF1 with the predicted-only class");
    CHECK(p3->seeds[0].m.n_f1_classes == 4 && p3->seeds[0].m.n_uar_classes == 3, "p3 class counts");
    CHECK(p3->seeds[1].m.n == 4 && p3->seeds[1].n_folds == 2, "p3 seed 2: 4 samples, 2 folds");
    CHECK_NEAR(p3->accuracy, 5.0 / 6, TOL, "p3 accuracy mean (2/3 + 1)/2");
    CHECK_NEAR(p3->accuracy_std, (1.0 / 3) / sqrt(2), TOL, "p3 accuracy std");
    CHECK_NEAR(p3->uf1, 0.725, TOL, "p3 UF1 mean (0.45 + 1)/2");
    CHECK_NEAR(p3->uar, 7.0 / 9, TOL, "p3 UAR mean (5/9 + 1)/2");
    CHECK(p3->n == 6 && p3->n_folds == 3, "p3 n = largest seed, folds over seeds");
    CHECK(p3->n_failed == 1, "p3 has its failed task");

    /* best: p0 (11/12) */
    CHECK(r.best == 0, "best point p0");
    CHECK(r.n_tasks == 4 && r.n_failed == 2, "2 failed tasks of 4");
    CHECK(r.failed[0].point == 3 && r.failed[1].point == -1, "failed task points");
    /* the deliberately wrong /metrics row (p1 accuracy 0.6) and confusion count (p3 seed 1) are the only warnings */
    CHECK(r.n_warnings == 2, "two warnings, got %zu", r.n_warnings);
    CHECK(r.n_warnings >= 1 && strstr(r.warnings[0], "point p1") && strstr(r.warnings[0], "0.600000"),
          "warning for the wrong /metrics accuracy: %s", r.n_warnings ? r.warnings[0] : "(none)");
    CHECK(r.n_warnings >= 2 && strstr(r.warnings[1], "/metrics/confusion row 5 (point p3, seed 1)"),
          "warning for the wrong /metrics confusion: %s", r.n_warnings > 1 ? r.warnings[1] : "(none)");

    /* oracle (LEAKY): p0 and p1 seed 1 all correct; p2, p3 no rows */
    CHECK(r.oracle != NULL && strstr(r.oracle_label, "LEAKY"), "oracle read with its label");
    if (r.oracle) {
        CHECK(r.oracle[1].accuracy == 1.0 && r.oracle[1].n == 6, "oracle p1 accuracy");
        CHECK(r.oracle[2].n_seeds == 0 && isnan(r.oracle[2].accuracy), "oracle p2 has no rows");
    }

    /* ---- per dataset (composite): subjects casme2_..., samm_..., smic/...; rows 0-1 casme2, 2-3 samm, 4-5 smic ----
     * Each dataset's confusion pools its own rows of one seed; F1/UAR exclusions as above.
     * p0 seed 1: all correct -> 1, 1, 1 everywhere.
     * p0 seed 2: casme2 (0->0, 1->1) and samm (0->0, 2->2) correct -> 1; smic (1->0, 0->0): accuracy 1/2,
     *   recall c0 1, c1 0 -> UAR 1/2; F1 c0 = 2/(2+1) = 2/3, c1 = 0 -> UF1 1/3.
     *   smic over seeds: accuracy (1 + 1/2)/2 = 3/4, std (1/2)/sqrt 2; UF1 (1 + 1/3)/2 = 2/3, std (2/3)/sqrt 2.
     * p1 (everything negative): each dataset has one negative and one other truth -> accuracy 1/2, UAR 1/2,
     *   F1 negative 2/3, other 0 -> UF1 1/3.
     * p3 seed 1: samm (0->0, 2->3): accuracy 1/2, UAR (1 + 0)/2 = 1/2, F1 c0 1, c2 0, c3 (predicted only) 0 ->
     *   UF1 1/3; smic (1->1, 0->2): UAR 1/2, F1 c0 0, c1 1, c2 0 -> UF1 1/3.
     * p3 seed 2: fold 2 (smic) failed; casme2 and samm correct. So samm: accuracy (1/2 + 1)/2 = 3/4,
     *   UF1 (1/3 + 1)/2 = 2/3; smic: one seed only, 1/2, 1/3, 1/2. */
    CHECK(r.n_datasets == 3 && !strcmp(r.datasets[0], "casme2") && !strcmp(r.datasets[1], "samm") &&
              !strcmp(r.datasets[2], "smic"),
          "datasets from the subject prefixes, sorted");
    if (r.n_datasets == 3) {
        const report_subset *c0 = &p0->per_dataset[0], *s0 = &p0->per_dataset[2];
        CHECK(c0->n == 2 && c0->n_seeds == 2 && c0->accuracy == 1 && c0->uf1 == 1 && c0->uar == 1 &&
                  c0->accuracy_std == 0,
              "p0 casme2: all correct in both seeds");
        CHECK_NEAR(s0->accuracy, 0.75, TOL, "p0 smic accuracy");
        CHECK_NEAR(s0->accuracy_std, 0.5 / sqrt(2), TOL, "p0 smic accuracy std");
        CHECK_NEAR(s0->uf1, 2.0 / 3, TOL, "p0 smic UF1");
        CHECK_NEAR(s0->uf1_std, (2.0 / 3) / sqrt(2), TOL, "p0 smic UF1 std");
        CHECK_NEAR(s0->uar, 0.75, TOL, "p0 smic UAR");
        for (int d = 0; d < 3; d++) {
            CHECK_NEAR(p1->per_dataset[d].accuracy, 0.5, TOL, "p1 %s accuracy", r.datasets[d]);
            CHECK_NEAR(p1->per_dataset[d].uf1, 1.0 / 3, TOL, "p1 %s UF1", r.datasets[d]);
            CHECK_NEAR(p1->per_dataset[d].uar, 0.5, TOL, "p1 %s UAR", r.datasets[d]);
        }
        CHECK_NEAR(p3->per_dataset[1].accuracy, 0.75, TOL, "p3 samm accuracy");
        CHECK_NEAR(p3->per_dataset[1].uf1, 2.0 / 3, TOL, "p3 samm UF1 (predicted-only class counts)");
        CHECK_NEAR(p3->per_dataset[1].uar, 0.75, TOL, "p3 samm UAR");
        CHECK(p3->per_dataset[2].n_seeds == 1 && p3->per_dataset[2].n == 2, "p3 smic: the failed seed is left out");
        CHECK_NEAR(p3->per_dataset[2].uf1, 1.0 / 3, TOL, "p3 smic UF1");
        CHECK_NEAR(p3->per_dataset[2].uar, 0.5, TOL, "p3 smic UAR");
    }

    /* ---- JSON ---- */
    char *json = render(&r, REPORT_JSON, NULL);
    CHECK(json && strstr(json, "\"datasets\": [\"casme2\", \"samm\", \"smic\"]"), "JSON source datasets");
    CHECK(json && strstr(json, "\"per_dataset\": [{\"dataset\": \"casme2\", \"n\": 2, \"n_seeds\": 1, \"accuracy\": 0.5, "
                               "\"accuracy_std\": 0, \"uf1\": 0.333333333333, \"uf1_std\": 0, \"uar\": 0.5, \"uar_std\": 0}"),
          "JSON p1 per-dataset figures");
    CHECK(json && json_valid(json), "JSON parses");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p0", "accuracy"), 11.0 / 12, TOL, "JSON p0 accuracy");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p0", "accuracy_std"), (1.0 / 6) / sqrt(2), TOL, "JSON p0 std");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p3", "uf1"), 0.725, TOL, "JSON p3 UF1");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p3", "uar"), 7.0 / 9, TOL, "JSON p3 UAR");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p3", "n"), 6, 0, "JSON p3 n");
    CHECK_NEAR(json_num_of(json, "\"points\"", "p3", "failed_tasks"), 1, 0, "JSON p3 failed tasks");
    CHECK(strstr(json, "\"confusion\": [[6, 0, 0, 0], [1, 3, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]"), "JSON p0 confusion");
    CHECK(strstr(json, "\"recall\": [1, 0.75, 1, null]"), "JSON p0 recall with null for the absent class");
    CHECK(strstr(json, "\"sweep\": {\"model.attention.n_rounds\": \"3\", \"magnify.method\": \"linear\"}"), "JSON sweep");
    CHECK(strstr(json, "\"best\": \"p0\""), "JSON best point id");
    CHECK_NEAR(json_num_of(json, "\"leaky_points\"", "p1", "accuracy"), 1.0, TOL, "JSON leaky p1 accuracy");
    {
        const char *lp = strstr(json, "\"leaky_points\"");
        CHECK(lp && strstr(lp, "\"leaky\": true") && !strstr(lp, "\"leaky\": false") && strstr(lp, "\"label\": \"LEAKY"),
              "leaky points flagged and labelled");
        if (lp) {
            char *cut = json + (lp - json), saved = *cut;
            *cut = 0; /* search only the part before "leaky_points" */
            CHECK(!strstr(json, "\"leaky\": true"), "no leaky entry among points");
            *cut = saved;
        }
    }
    free(json);

    /* ---- CSV ---- */
    char *csv = render(&r, REPORT_CSV, NULL);
    CHECK(csv && strstr(csv, "\nmegc2019,p1,model.attention.n_rounds=4 magnify.method=linear,0,0,6,3,1,0.5,0,"
                              "0.222222222222,0,0.333333333333,0,0,negative;positive;surprise;others,1;0;0;,"
                              "0.666666666667;0;0;,casme2;samm;smic,2;2;2,0.5;0.5;0.5,"
                              "0.333333333333;0.333333333333;0.333333333333,0.5;0.5;0.5\n"),
          "CSV row of p1:\n%s", csv ? csv : "");
    CHECK(csv && strstr(csv, "\nmegc2019,p0,") && strstr(strstr(csv, "\nmegc2019,p0,"), ",1,0,6,3,2,0.916666666667,"),
          "CSV p0 marked best");
    CHECK(csv && strstr(csv, ",p0,model.attention.n_rounds=3 magnify.method=linear,0,1,6,3,1,1,0,"), "CSV leaky p0 row");
    free(csv);

    /* ---- Markdown ---- */
    char *md = render(&r, REPORT_MD, plots);
    CHECK(md && strstr(md, "91.67 ± 11.79"), "MD p0 accuracy mean ± std in percent");
    CHECK(md && strstr(md, "| * | p0 "), "MD best marker on p0");
    CHECK(md && strstr(md, "## LEAKY: epoch chosen on the test subject\n"), "MD leaky section labelled");
    CHECK(md && strstr(md, "### Accuracy by model.attention.n_rounds"), "MD table by n_rounds");
    /* n_rounds=3: points p0, p2 -> mean (11/12 + 5/6)/2 = 87.50 %, best 91.67 (p0) */
    CHECK(md && strstr(md, "| 3                        | 2      | 87.50"), "MD n_rounds=3 mean over points");
    /* pivot: n_rounds=4 x none is p3: 83.33 ± 23.57 */
    CHECK(md && strstr(md, "83.33 ± 23.57"), "MD pivot cell p3");
    CHECK(md && strstr(md, "NaN loss at epoch 3"), "MD failed task reason");
    CHECK(md && strstr(md, "## Warnings"), "MD warnings");
    /* per-dataset table: p0's smic row (values above), UF1 0.6667 ± 0.4714, UAR 0.7500 ± 0.3536 */
    CHECK(md && strstr(md, "## Per dataset"), "MD per-dataset table");
    CHECK(md && strstr(md, "| smic    | 2 | 0.6667 ± 0.4714 | 0.7500 ± 0.3536 | 75.00 ± 35.36 "), "MD p0 smic row");
    {
        char *html = render(&r, REPORT_HTML, NULL);
        CHECK(html && strstr(html, "<h2>Per dataset</h2>") &&
                  strstr(html, "<td>smic</td><td>2</td><td>0.6667 ± 0.4714</td><td>0.7500 ± 0.3536</td>"),
              "HTML per-dataset table");
        free(html);
    }
    if (md && getenv("MER_TEST_VERBOSE")) fputs(md, stdout);
    free(md);

    /* ---- SVG figures ---- */
    CHECK(report_write_plots(&r, plots, &err) == 0, "plots: %s", err.msg);
    const char *figs[] = {"confusion_p0.svg", "confusion_p3.svg", "subjects_p0.svg", "sweep_model.attention.n_rounds.svg",
                          "sweep_magnify.method.svg"};
    int have_xmllint = system("command -v xmllint >/dev/null 2>&1") == 0;
    for (size_t i = 0; i < sizeof figs / sizeof figs[0]; i++) {
        char fp[512], why[128] = "";
        snprintf(fp, sizeof fp, "%s/%s", plots, figs[i]);
        char *svg = slurp(fp);
        CHECK(svg != NULL, "figure %s written", fp);
        if (!svg) continue;
        CHECK(xml_wellformed(svg, why, sizeof why), "%s well-formed: %s", figs[i], why);
        CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""), "%s is SVG", figs[i]);
        free(svg);
        if (have_xmllint) {
            char cmd[600];
            snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", fp);
            CHECK(system(cmd) == 0, "xmllint accepts %s", figs[i]);
        }
    }
    {
        char fp[512];
        snprintf(fp, sizeof fp, "%s/confusion_p0.svg", plots);
        char *svg = slurp(fp);
        /* p0 row "positive": 1 predicted negative, 3 positive -> cells "1" and "3" present, shade of 3/4 */
        CHECK(svg && strstr(svg, ">3</text>") && strstr(svg, ">6</text>"), "confusion figure shows counts");
        free(svg);
    }
    /* the checker itself rejects broken XML */
    char why[128];
    CHECK(!xml_wellformed("<svg><g></svg>", why, sizeof why), "checker rejects mismatched tags");
    CHECK(!xml_wellformed("<svg a=1/>", why, sizeof why), "checker rejects unquoted attributes");
    CHECK(!xml_wellformed("<svg>a & b</svg>", why, sizeof why), "checker rejects bare &");
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        const char *ticks[2] = {"<3>", "a&b"};
        double y[2] = {0.5, NAN}, e[2] = {0.1, NAN};
        plot_series s = {"x \"quoted\"", y, e};
        plot_labels lab = {.title = "t<i>tle", .subtitle = "s&t", .xlabel = "x", .ylabel = "y"};
        CHECK(plot_lines_svg(f, ticks, 2, &s, 1, &lab, &err) == 0, "lines with special characters");
        fclose(f);
        CHECK(buf && xml_wellformed(buf, why, sizeof why) && strstr(buf, "t&lt;i&gt;tle") && strstr(buf, "a&amp;b") && strstr(buf, "s&amp;t"),
              "special characters escaped: %s", why);
        free(buf);
    }

    /* ---- MEGC2019 log of p0 seed 2 ---- */
    {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK(report_write_megc_log(f, &r, 0, 2, &err) == 0, "megc log: %s", err.msg);
        fclose(f);
        CHECK_STR(buf, "casme2 sub01\ns1 0 0\ns2 1 1\nsamm 006\ns3 0 0\ns4 2 2\nsmic s1\ns5 1 0\ns6 0 0\n",
                  "MEGC2019 per-fold log");
        free(buf);
        f = open_memstream(&buf, &len);
        CHECK(report_write_megc_log(f, &r, 0, 7, &err) < 0 && strstr(err.msg, "seed 7"), "unknown seed rejected");
        fclose(f);
        free(buf);
    }

    /* ---- the command: JSON to a file equals the library's output; usage errors exit 2 ---- */
    {
        char out[300], megc[300];
        snprintf(out, sizeof out, "%s/report.json", dir);
        snprintf(megc, sizeof megc, "%s/megc.txt", dir);
        char *argv[] = {"report", dir, "--format", "json", "--out", out, "--no-plots", "--megc-log", megc,
                        "--point", "p0", "--seed", "2", NULL};
        CHECK(cmd_report(13, argv) == 0, "mer report exits 0");
        char *got = slurp(out), *want = render(&r, REPORT_JSON, NULL);
        CHECK(got && want && !strcmp(got, want), "mer report --out writes the JSON report");
        free(got);
        free(want);
        got = slurp(megc);
        CHECK(got && !strncmp(got, "casme2 sub01\ns1 0 0\n", 20), "mer report --megc-log");
        free(got);
        char *bad1[] = {"report", dir, "--format", "xml", NULL};
        CHECK(cmd_report(4, bad1) == 2, "unknown format is a usage error");
        char *bad2[] = {"report", "--bogus", dir, NULL};
        CHECK(cmd_report(3, bad2) == 2, "unknown option is a usage error");
        char missing[300];
        snprintf(missing, sizeof missing, "%s/nope", dir);
        char *bad3[] = {"report", missing, NULL};
        CHECK(cmd_report(2, bad3) == 1, "missing results is a failure");
        unlink(out);
        unlink(megc);
    }
    report_free(&r);

    /* a file without /oracle and with consistent /metrics: no LEAKY output, no warnings */
    write_results(path, 0, 0, 0);
    CHECK(report_load(&r, path, &err) == 0, "load without oracle: %s", err.msg);
    CHECK(r.oracle == NULL && r.n_warnings == 0, "no oracle, no warnings");
    md = render(&r, REPORT_MD, NULL);
    CHECK(md && !strstr(md, "LEAKY"), "no LEAKY text without an oracle");
    free(md);
    report_free(&r);

    /* subjects without a dataset prefix: not a composite, no per-dataset table or figures */
    write_results(path, 0, 0, 1);
    CHECK(report_load(&r, path, &err) == 0, "load plain subjects: %s", err.msg);
    CHECK(r.n_datasets == 0 && r.points[0].per_dataset == NULL, "no datasets without prefixes");
    md = render(&r, REPORT_MD, NULL);
    json = render(&r, REPORT_JSON, NULL);
    CHECK(md && !strstr(md, "## Per dataset"), "no per-dataset table without prefixes");
    CHECK(json && strstr(json, "\"per_dataset\": []") && strstr(json, "\"datasets\": []"), "JSON: empty per_dataset");
    free(md);
    free(json);
    report_free(&r);

    /* a prediction with a label outside the classes is an error naming the file */
    {
        mer_err e2 = {0};
        hid_t f;
        h5_open(path, 1, &f, &e2);
        int nd;
        size_t d[H5_MAX_DIMS];
        int64_t *pred;
        h5_read_i64(f, "predictions/pred", &pred, &nd, d, &e2);
        pred[0] = 9;
        h5_write_i64(f, "predictions/pred", pred, 1, d, &e2);
        free(pred);
        h5_close(f, &e2);
        CHECK(report_load(&r, path, &err) < 0 && strstr(err.msg, path) && strstr(err.msg, "outside the 4 classes"),
              "bad label rejected: %s", err.msg);
    }
    CHECK(report_load(&r, "/nonexistent/results.h5", &err) < 0 && strstr(err.msg, "/nonexistent/results.h5"),
          "missing file: %s", err.msg);

    char cmd[400];
    if (getenv("MER_TEST_KEEP")) return check_summary();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return check_summary();
}
