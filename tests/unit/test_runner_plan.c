/* The runner's plan: folds (LOSO, k-fold by subject, MEGC2019 check), cache keys (which config changes
 * change which task ids; the pipeline's key lists are complete), deduplication and dependencies, and
 * stage_dep_usable. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config/schema.h"
#include "runner/plan.h"
#include "tests/check.h"

extern const stage_impl stage_test_impl, stage_pipeline_impl;

/* Samples: subjects given per sample. */
static mer_samples make_samples(const char *const *subjects, size_t n, const char *name) {
    mer_samples s = {0};
    s.dataset_name = strdup(name);
    s.n = n;
    s.id = calloc(n, sizeof *s.id);
    s.subject = calloc(n, sizeof *s.subject);
    s.label = calloc(n, sizeof *s.label);
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s/clip%zu", subjects[i], i);
        s.id[i] = strdup(id);
        s.subject[i] = strdup(subjects[i]);
        s.label[i] = (int64_t)(i % 2);
    }
    s.n_classes = 2;
    s.classes = calloc(2, sizeof *s.classes);
    s.classes[0] = strdup("a");
    s.classes[1] = strdup("b");
    return s;
}

static void test_folds(void) {
    /* subjects in order of first appearance: B, A, C; sample counts B 3, A 2, C 1 */
    const char *subj[] = {"B", "A", "B", "C", "A", "B"};
    mer_samples s = make_samples(subj, 6, "synth");
    mer_err err = {0};
    mer_fold *f = NULL;
    size_t nf = 0;
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_LOSO, 0, &err) == 0, "loso: %s", err.msg);
    CHECK(nf == 3, "loso: 3 folds, got %zu", nf);
    if (nf == 3) {
        CHECK_STR(f[0].name, "B", "fold 0 holds the first subject seen");
        CHECK_STR(f[1].name, "A", "fold 1");
        CHECK_STR(f[2].name, "C", "fold 2");
        CHECK(f[0].n_test == 3 && f[0].test[0] == 0 && f[0].test[1] == 2 && f[0].test[2] == 5, "fold B samples");
        CHECK(f[1].n_test == 2 && f[1].test[0] == 1 && f[1].test[1] == 4, "fold A samples");
        CHECK(f[2].n_test == 1 && f[2].test[0] == 3, "fold C samples");
    }
    plan_folds_free(f, nf);

    /* k = 2: B (3) -> fold 0, A (2) -> fold 1, C (1) -> fold 1 (fewest samples: 2 < 3) */
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_KFOLD, 2, &err) == 0, "kfold: %s", err.msg);
    CHECK(nf == 2, "kfold: 2 folds");
    if (nf == 2) {
        CHECK_STR(f[0].name, "B", "kfold fold 0");
        CHECK_STR(f[1].name, "A+C", "kfold fold 1 (subjects in order of appearance)");
        CHECK(f[0].n_test == 3 && f[1].n_test == 3, "kfold balanced 3/3");
        CHECK(f[1].test[0] == 1 && f[1].test[1] == 3 && f[1].test[2] == 4, "kfold fold 1 samples ascending");
    }
    plan_folds_free(f, nf);

    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_KFOLD, 4, &err) < 0 && strstr(err.msg, "2 <= k <= 3"), "k > subjects: %s",
          err.msg);
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_MEGC2019, 0, &err) < 0 && strstr(err.msg, "megc2019"), "megc2019 on synth: %s",
          err.msg);
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_COUNT, 0, &err) < 0 && strstr(err.msg, "unknown"), "bad protocol");
    free(s.dataset_name);
    s.dataset_name = strdup("megc2019");
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_MEGC2019, 0, &err) == 0 && nf == 3, "megc2019 = LOSO on the composite");
    plan_folds_free(f, nf);
    /* lodo needs subjects that name their dataset */
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_LODO, 0, &err) < 0 && strstr(err.msg, "subject 'B' names no dataset"),
          "lodo without dataset prefixes: %s", err.msg);
    mer_samples_free(&s);

    /* lodo: one fold per dataset in order of first appearance (samm, casme2, smic), whatever the subjects */
    const char *comp[] = {"samm_006", "casme2_sub01", "samm_007", "smic_s1", "casme2_sub02", "samm_006", "smic/s2"};
    s = make_samples(comp, 7, "megc2019");
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_LODO, 0, &err) == 0, "lodo: %s", err.msg);
    CHECK(nf == 3, "lodo: 3 folds, got %zu", nf);
    if (nf == 3) {
        CHECK_STR(f[0].name, "samm", "lodo fold 0 = samm");
        CHECK_STR(f[1].name, "casme2", "lodo fold 1 = casme2");
        CHECK_STR(f[2].name, "smic", "lodo fold 2 = smic (both separators)");
        CHECK(f[0].n_test == 3 && f[0].test[0] == 0 && f[0].test[1] == 2 && f[0].test[2] == 5, "samm samples");
        CHECK(f[1].n_test == 2 && f[1].test[0] == 1 && f[1].test[1] == 4, "casme2 samples");
        CHECK(f[2].n_test == 2 && f[2].test[0] == 3 && f[2].test[1] == 6, "smic samples");
    }
    plan_folds_free(f, nf);
    mer_samples_free(&s);
    const char *one[] = {"casme2_sub01", "casme2_sub02"};
    s = make_samples(one, 2, "composite");
    CHECK(plan_folds(&f, &nf, &s, CFG_PROTOCOL_LODO, 0, &err) < 0 && strstr(err.msg, "at least 2 datasets"),
          "lodo on one dataset: %s", err.msg);
    mer_samples_free(&s);
}

static char dir[256];
static stage_impl impl; /* the test stage; test_cache_keys swaps in the pipeline's key lists */

/* A fresh temporary dir with path = dir/run.yaml written from fmt (its arguments may name dir). */
static int start_run_yaml(char *path, size_t cap, const char *fmt, ...) {
    snprintf(dir, sizeof dir, "/tmp/mer-test-plan-XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(path, cap, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    return fclose(f);
}

static int build(mer_plan *p, cfg_doc *doc, const char *const *over, size_t n_over) {
    char path[300];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    mer_err err = {0};
    if (config_load(doc, path, (char *const *)over, n_over, &err) < 0) {
        fprintf(stderr, "config %s: %s\n", n_over ? over[0] : "(base)", err.msg);
        return -1;
    }
    mer_samples s;
    void *data;
    if (impl.load(&data, &s, &doc->base, &err) < 0 || plan_build(p, doc, &impl, &s, &err) < 0) {
        fprintf(stderr, "plan %s: %s\n", n_over ? over[0] : "(base)", err.msg);
        config_doc_free(doc);
        return -1;
    }
    return 0;
}

static size_t count_kind(const mer_plan *p, stage_kind k) {
    size_t n = 0;
    for (size_t i = 0; i < p->n_tasks; i++) n += p->tasks[i].kind == k;
    return n;
}

/* Number of task ids of kind k in a that are also in b. */
static size_t shared_ids(const mer_plan *a, const mer_plan *b, stage_kind k) {
    size_t n = 0;
    for (size_t i = 0; i < a->n_tasks; i++) {
        if (a->tasks[i].kind != k) continue;
        for (size_t j = 0; j < b->n_tasks; j++)
            if (!strcmp(a->tasks[i].id, b->tasks[j].id)) {
                n++;
                break;
            }
    }
    return n;
}

static void test_graph(void) {
    char path[300];
    if (start_run_yaml(path, sizeof path,
                       "dataset:\n  format: synth\n  synth:\n    subjects: 3\n    per_class: 1\noutput:\n  dir: %s/out\n"
                       "sweep:\n  model.attention.n_rounds: [3, 4, 5]\n  seeds: [0, 1]\n",
                       dir) < 0)
        SKIP_ALL("cannot write a config in a temporary directory");

    cfg_doc d0, d1;
    mer_plan p0, p1;
    if (build(&p0, &d0, NULL, 0) < 0) {
        CHECK(0, "plan build");
        return;
    }
    /* 9 samples (3 subjects x 3 classes), 3 points x 2 seeds, 3 folds; test stages chunk prep 1, features 2 */
    CHECK(p0.n_variants == 6 && p0.n_folds == 3 && p0.samples.n == 9, "sizes");
    CHECK(p0.n_requested[STAGE_PREP] == 54 && count_kind(&p0, STAGE_PREP) == 9, "prep shared by all variants (%zu)",
          count_kind(&p0, STAGE_PREP));
    CHECK(p0.n_requested[STAGE_FEATURES] == 30 && count_kind(&p0, STAGE_FEATURES) == 5,
          "features computed once for the n_rounds sweep and the seeds (%zu)", count_kind(&p0, STAGE_FEATURES));
    CHECK(count_kind(&p0, STAGE_TRAIN) == 18, "one train task per point x seed x fold");
    int deps_ok = 1;
    for (size_t i = 0; i < p0.n_tasks; i++) {
        const mer_task *t = &p0.tasks[i];
        for (size_t k = 0; k < t->n_deps; k++) deps_ok &= t->deps[k] < i; /* topological order */
        if (t->kind == STAGE_TRAIN) deps_ok &= t->n_deps == 5;
        if (t->kind == STAGE_FEATURES) deps_ok &= t->n_deps == t->sample_end - t->sample_begin;
        deps_ok &= t->rng_seed == strtoull(t->id, NULL, 16);
    }
    CHECK(deps_ok, "dependencies: earlier tasks, train on every features chunk, seeds from ids");

    /* the same config gives the same plan; runtime.* and output.dir change no id */
    const char *same[] = {"runtime.retries=5", "runtime.threads=3"};
    if (build(&p1, &d1, same, 2) == 0) {
        CHECK(p1.hash == p0.hash, "runtime.* does not change the plan");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* train.epochs: every train id changes, no prep/features id */
    const char *ep[] = {"train.epochs=7"};
    if (build(&p1, &d1, ep, 1) == 0) {
        CHECK(shared_ids(&p1, &p0, STAGE_PREP) == 9 && shared_ids(&p1, &p0, STAGE_FEATURES) == 5, "epochs keep features");
        CHECK(shared_ids(&p1, &p0, STAGE_TRAIN) == 0, "epochs change every train id");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* magnification: features and train change, prep stays */
    const char *mag[] = {"magnify.schedule.start=2"};
    if (build(&p1, &d1, mag, 1) == 0) {
        CHECK(shared_ids(&p1, &p0, STAGE_PREP) == 9, "magnify keeps prep");
        CHECK(shared_ids(&p1, &p0, STAGE_FEATURES) == 0 && shared_ids(&p1, &p0, STAGE_TRAIN) == 0,
              "magnify changes features and train");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* preprocessing changes everything downstream */
    const char *pre[] = {"preprocess.size=64"};
    if (build(&p1, &d1, pre, 1) == 0) {
        CHECK(shared_ids(&p1, &p0, STAGE_PREP) == 0 && shared_ids(&p1, &p0, STAGE_FEATURES) == 0 &&
                  shared_ids(&p1, &p0, STAGE_TRAIN) == 0,
              "preprocess changes every id");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* final models: one more train task per variant (fold -1, every sample); the folds keep their ids */
    const char *fin[] = {"eval.final_model=true"};
    if (build(&p1, &d1, fin, 1) == 0) {
        size_t n_final = 0, fin_deps_ok = 1;
        for (size_t i = 0; i < p1.n_tasks; i++)
            if (p1.tasks[i].kind == STAGE_TRAIN && p1.tasks[i].fold < 0) {
                n_final++;
                fin_deps_ok &= p1.tasks[i].n_deps == 5 && p1.tasks[i].sample_end == 9;
            }
        CHECK(n_final == 6 && count_kind(&p1, STAGE_TRAIN) == 24, "one final model per point x seed (%zu)", n_final);
        CHECK(shared_ids(&p0, &p1, STAGE_TRAIN) == 18, "asking for final models keeps the fold tasks' ids");
        CHECK(fin_deps_ok, "a fixed-epoch final model depends on the features only");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* with inner_val the final model trains for the folds' median epoch: it depends on them */
    const char *fin_val[] = {"eval.final_model=true", "eval.selection=inner_val"};
    if (build(&p1, &d1, fin_val, 2) == 0) {
        int val_deps_ok = 1;
        for (size_t i = 0; i < p1.n_tasks; i++) {
            const mer_task *t = &p1.tasks[i];
            if (t->kind != STAGE_TRAIN || t->fold >= 0) continue;
            size_t n_fold_deps = 0;
            for (size_t k = 0; k < t->n_deps; k++) {
                const mer_task *d = &p1.tasks[t->deps[k]];
                n_fold_deps += d->kind == STAGE_TRAIN && d->fold >= 0 && d->variant == t->variant;
            }
            val_deps_ok &= t->n_deps == 8 && n_fold_deps == 3;
        }
        CHECK(val_deps_ok, "an inner_val final model depends on the features and its variant's 3 folds");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* narrowing the sweep keeps the ids of the remaining point */
    const char *one[] = {"model.attention.n_rounds=4"};
    if (build(&p1, &d1, one, 1) == 0) {
        CHECK(count_kind(&p1, STAGE_TRAIN) == 6 && shared_ids(&p1, &p0, STAGE_TRAIN) == 6, "sub-sweep reuses train ids");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    plan_free(&p0);
    config_doc_free(&d0);
    unlink(path);
    rmdir(dir);
}

static int in_range(const cfg_key *k, double v) {
    if (k->flags & CFG_MIN_OPEN ? !(v > k->min) : !(v >= k->min)) return 0;
    return k->flags & CFG_MAX_OPEN ? v < k->max : v <= k->max;
}

/* "key=value" with a valid value different from the key's default (an enum: from its value in base); 0 if
 * none was found. */
static int changed_setting(char *out, size_t cap, const cfg_key *k, const mer_config *base) {
    char v[256] = "";
    switch (k->type) {
    case CFG_INT:
    case CFG_LONG: {
        const double d = strtod(k->def, NULL);
        const double c = in_range(k, d + 1) ? d + 1 : d - 1;
        if (in_range(k, c)) snprintf(v, sizeof v, "%.0f", c);
        break;
    }
    case CFG_FLOAT: {
        const int unset = !strcmp(k->def, "~");
        const double d = unset ? 0.0 : strtod(k->def, NULL), hi = isfinite(k->max) ? k->max : d + 2, lo = isfinite(k->min) ? k->min : d - 2;
        double c = unset && in_range(k, 1.0) ? 1.0 : (d + hi) / 2;
        if (!in_range(k, c) || c == d) c = (d + lo) / 2;
        if (in_range(k, c) && c != d) snprintf(v, sizeof v, "%.17g", c);
        break;
    }
    case CFG_BOOL: snprintf(v, sizeof v, "%s", !strcmp(k->def, "true") ? "false" : "true"); break;
    case CFG_ENUM: /* the first value that is not the base's */
        for (int i = 0; i < k->enums->n && !v[0]; i++)
            if (i != *(const int *)((const char *)base + k->offset)) snprintf(v, sizeof v, "%s", k->enums->names[i]);
        break;
    case CFG_STR: snprintf(v, sizeof v, "%s-changed", !strcmp(k->def, "\"\"") ? "" : k->def); break;
    case CFG_STR_LIST: snprintf(v, sizeof v, "[a, b]"); break;
    case CFG_FLOAT_LIST: snprintf(v, sizeof v, "[1.5, 2.5, 3.5]"); break; /* 3 frames: LBP-TOP's least */
    }
    if (!v[0]) return 0;
    snprintf(out, cap, "%s=%s", k->key, v);
    return 1;
}

/* The pipeline's cache keys are complete: for every stage, every setting under every prefix of the stage's
 * key list (stage_pipeline_impl.key_prefixes, the lists in runner/pipeline.c) is changed in turn, and each
 * change must change every task id of that stage. A key added to a list is covered without an edit here;
 * a prefix that names no setting (a typo) fails. The plans use the test stage's samples (no videos).
 * Run once per model.input and model.backbone.kind whose key list differs (flow adds model.flow, lbptop has
 * its own lists); with another input, the flow settings must leave the features' ids alone. `fixed` lists
 * the settings that have no other valid value in that config. */
static void test_cache_keys(const char *input, const char *kind, const char *mode, const char *const *fixed,
                            size_t n_fixed) {
    char path[300];
    /* an explicit root: changing dataset.format away from synth needs one; 6 subjects: eval.folds 5 or 6 */
    if (start_run_yaml(path, sizeof path,
                       "dataset:\n  format: synth\n  root: %s/data\n  synth:\n    subjects: 6\n    per_class: 1\n"
                       "output:\n  dir: %s/out\nmodel:\n  input: %s\n  backbone:\n    kind: %s\n    mode: %s\n",
                       dir, dir, input, kind, mode) < 0)
        SKIP_ALL("cannot write a config in a temporary directory");
    impl.key_prefixes = stage_pipeline_impl.key_prefixes;
    cfg_doc d0;
    mer_plan p0;
    if (build(&p0, &d0, NULL, 0) < 0) {
        CHECK(0, "base plan");
        return;
    }
    const stage_kind kinds[] = {STAGE_PREP, STAGE_FEATURES, STAGE_TRAIN};
    for (size_t s = 0; s < sizeof kinds / sizeof *kinds; s++) {
        const char *prefixes[32];
        const size_t np = impl.key_prefixes(prefixes, 32, &d0.base, kinds[s]);
        CHECK(np > 0 && np < 32, "%s: %zu cache-key prefixes", stage_name(kinds[s]), np);
        size_t n_changed = 0;
        for (size_t i = 0; i < np; i++) {
            size_t n_settings = 0;
            for (size_t r = 0; r < CFG_N_KEYS; r++) {
                const cfg_key *k = &CFG_KEYS[r];
                if (strncmp(k->key, prefixes[i], strlen(prefixes[i]))) continue;
                n_settings++;
                int is_fixed = 0;
                for (size_t f = 0; f < n_fixed; f++) is_fixed |= !strcmp(k->key, fixed[f]);
                if (is_fixed) continue;
                char over[512];
                const char *const overs[] = {over};
                if (!changed_setting(over, sizeof over, k, &d0.base)) {
                    CHECK(0, "%s: no other valid value for %s (extend changed_setting)", stage_name(kinds[s]), k->key);
                    continue;
                }
                cfg_doc d1;
                mer_plan p1;
                if (build(&p1, &d1, overs, 1) < 0) {
                    CHECK(0, "%s: plan with %s", stage_name(kinds[s]), over);
                    continue;
                }
                const size_t n_tasks = count_kind(&p1, kinds[s]), shared = shared_ids(&p1, &p0, kinds[s]);
                CHECK(n_tasks > 0 && shared == 0, "%s: %s changes every task id (%zu of %zu kept)", stage_name(kinds[s]),
                      over, shared, n_tasks);
                n_changed++;
                plan_free(&p1);
                config_doc_free(&d1);
            }
            CHECK(n_settings > 0, "%s: cache-key prefix '%s' names a setting", stage_name(kinds[s]), prefixes[i]);
        }
        printf("input %s, %s %s, %s: %zu prefixes, %zu settings changed one at a time\n", input, kind, mode,
               stage_name(kinds[s]), np, n_changed);
    }
    if (strcmp(input, "flow")) {
        const char *const overs[] = {"model.flow.warps=7"};
        cfg_doc d1;
        mer_plan p1;
        if (build(&p1, &d1, overs, 1) == 0) {
            const size_t n = count_kind(&p1, STAGE_FEATURES), shared = shared_ids(&p1, &p0, STAGE_FEATURES);
            CHECK(n > 0 && shared == n, "input %s: model.flow.warps keeps every features task id (%zu of %zu)", input,
                  shared, n);
            plan_free(&p1);
            config_doc_free(&d1);
        } else
            CHECK(0, "plan with %s", overs[0]);
    }
    plan_free(&p0);
    config_doc_free(&d0);
    unlink(path);
    rmdir(dir);
}

/* A 3-subject synth config planned with the real pipeline's cache keys. */
static void start_small_pipeline_run(char *path, size_t cap) {
    if (start_run_yaml(path, cap,
                       "dataset:\n  format: synth\n  synth:\n    subjects: 3\n    per_class: 1\noutput:\n  dir: %s/out\n",
                       dir) < 0)
        SKIP_ALL("cannot write a config in a temporary directory");
    impl.key_prefixes = stage_pipeline_impl.key_prefixes;
}

/* LBP-TOP's tasks depend on its own settings and not on the network's (and the network's features not on
 * LBP-TOP's): a sweep over the head shares the baseline's tasks, and a sweep over model.lbptop.* the
 * network's features. */
static void test_lbptop_sharing(void) {
    char path[300];
    start_small_pipeline_run(path, sizeof path);
    const char *lbp[] = {"model.backbone.kind=lbptop"};
    const char *lbp_head[] = {"model.backbone.kind=lbptop", "model.attention.n_rounds=5", "model.head.hidden=7",
                              "model.backbone.weights=w.h5", "model.attention.type=none"};
    const char *lbp_grid[] = {"model.backbone.kind=lbptop", "model.lbptop.grid.rows=4"};
    const char *net_grid[] = {"model.lbptop.grid.rows=4"};
    cfg_doc dn, dl, d1;
    mer_plan pn, pl, p1;
    if (build(&pn, &dn, NULL, 0) < 0 || build(&pl, &dl, lbp, 1) < 0) {
        CHECK(0, "base plans");
        return;
    }
    CHECK(shared_ids(&pl, &pn, STAGE_PREP) == 9 && shared_ids(&pl, &pn, STAGE_FEATURES) == 0 &&
              shared_ids(&pl, &pn, STAGE_TRAIN) == 0,
          "lbptop shares the prep tasks of the network, not its features or training");
    if (build(&p1, &d1, lbp_head, 5) == 0) {
        CHECK(shared_ids(&p1, &pl, STAGE_FEATURES) == count_kind(&pl, STAGE_FEATURES) &&
                  shared_ids(&p1, &pl, STAGE_TRAIN) == count_kind(&pl, STAGE_TRAIN),
              "lbptop: head and backbone settings change no task");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    if (build(&p1, &d1, lbp_grid, 2) == 0) {
        CHECK(shared_ids(&p1, &pl, STAGE_FEATURES) == 0 && shared_ids(&p1, &pl, STAGE_TRAIN) == 0,
              "lbptop: its grid changes its features and training");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    if (build(&p1, &d1, net_grid, 1) == 0) {
        CHECK(shared_ids(&p1, &pn, STAGE_FEATURES) == count_kind(&pn, STAGE_FEATURES),
              "resnet18: model.lbptop.* keeps the features");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    /* magnify.method none: LBP-TOP's prep keeps the onset->apex frames (its own prep tasks, which its grid
     * leaves alone and the frame count changes); the network's `none` keeps sharing prep */
    const char *lbp_none[] = {"model.backbone.kind=lbptop", "magnify.method=none"};
    const char *lbp_none_grid[] = {"model.backbone.kind=lbptop", "magnify.method=none", "model.lbptop.grid.rows=4"};
    const char *lbp_none_count[] = {"model.backbone.kind=lbptop", "magnify.method=none", "magnify.schedule.count=9"};
    const char *net_none[] = {"magnify.method=none"};
    cfg_doc dq;
    mer_plan pq;
    if (build(&pq, &dq, lbp_none, 2) == 0) {
        CHECK(count_kind(&pq, STAGE_PREP) == 9 && shared_ids(&pq, &pn, STAGE_PREP) == 0,
              "lbptop + none: its own prep tasks");
        if (build(&p1, &d1, lbp_none_grid, 3) == 0) {
            CHECK(shared_ids(&p1, &pq, STAGE_PREP) == 9 && shared_ids(&p1, &pq, STAGE_FEATURES) == 0,
                  "lbptop + none: the grid keeps prep");
            plan_free(&p1);
            config_doc_free(&d1);
        }
        if (build(&p1, &d1, lbp_none_count, 3) == 0) {
            CHECK(shared_ids(&p1, &pq, STAGE_PREP) == 0, "lbptop + none: the frame count changes prep");
            plan_free(&p1);
            config_doc_free(&d1);
        }
        plan_free(&pq);
        config_doc_free(&dq);
    }
    if (build(&p1, &d1, net_none, 1) == 0) {
        CHECK(shared_ids(&p1, &pn, STAGE_PREP) == 9, "resnet18 + none: the shared prep tasks");
        plan_free(&p1);
        config_doc_free(&d1);
    }
    plan_free(&pn);
    plan_free(&pl);
    config_doc_free(&dn);
    config_doc_free(&dl);
    unlink(path);
    rmdir(dir);
}

/* output.save_backbone decides whether a fine-tuned fold's file holds its backbone: turning it on must train
 * the finetune folds again (mer export needs the backbone), and must not touch frozen points. */
static void test_save_backbone_key(void) {
    char path[300];
    start_small_pipeline_run(path, sizeof path);
    const char *ft[] = {"model.backbone.mode=finetune"}, *ft_save[] = {"model.backbone.mode=finetune",
                                                                      "output.save_backbone=true"};
    const char *fr_save[] = {"output.save_backbone=true"};
    cfg_doc d0, d1;
    mer_plan p0, p1;
    if (build(&p0, &d0, ft, 1) == 0 && build(&p1, &d1, ft_save, 2) == 0) {
        CHECK(shared_ids(&p1, &p0, STAGE_TRAIN) == 0 &&
                  shared_ids(&p1, &p0, STAGE_FEATURES) == count_kind(&p0, STAGE_FEATURES),
              "finetune: output.save_backbone changes the train tasks only");
        plan_free(&p0);
        plan_free(&p1);
        config_doc_free(&d0);
        config_doc_free(&d1);
    } else
        CHECK(0, "finetune plans");
    if (build(&p0, &d0, NULL, 0) == 0 && build(&p1, &d1, fr_save, 1) == 0) {
        CHECK(shared_ids(&p1, &p0, STAGE_TRAIN) == count_kind(&p0, STAGE_TRAIN),
              "frozen: output.save_backbone changes no task");
        plan_free(&p0);
        plan_free(&p1);
        config_doc_free(&d0);
        config_doc_free(&d1);
    } else
        CHECK(0, "frozen plans");
    unlink(path);
    rmdir(dir);
}

/* An edited sheet recomputes what it changes (runner/stage.h mer_samples.annotation): another onset/apex of
 * one sample changes its PREP task and its FEATURES chunk (2 samples per chunk in the test stage) and every
 * TRAIN task, nothing else; another label changes the TRAIN tasks only. */
static void test_annotation_keys(void) {
    char path[300];
    if (start_run_yaml(path, sizeof path, "dataset:\n  format: synth\noutput:\n  dir: %s/out\n", dir) < 0)
        SKIP_ALL("cannot write a config in a temporary directory");
    impl.key_prefixes = stage_test_impl.key_prefixes;
    const char *subj[] = {"A", "A", "B", "B", "C", "C"};
    cfg_doc doc;
    mer_err err = {0};
    if (config_load(&doc, path, NULL, 0, &err) < 0) {
        CHECK(0, "config: %s", err.msg);
        return;
    }
    mer_plan p[3];
    int built = 0;
    for (int v = 0; v < 3; v++) {
        mer_samples s = make_samples(subj, 6, "synth");
        s.annotation = calloc(6, sizeof *s.annotation);
        for (size_t i = 0; i < 6; i++) {
            char a[64];
            snprintf(a, sizeof a, "onset %zu apex %zu offset %zu", i, i + (v == 1 && i == 2 ? 4 : 5), i + 9);
            s.annotation[i] = strdup(a);
        }
        if (v == 2) s.label[2] = 1 - s.label[2];
        if (plan_build(&p[v], &doc, &impl, &s, &err) < 0) {
            CHECK(0, "plan %d: %s", v, err.msg);
            mer_samples_free(&s);
            break;
        }
        built++;
    }
    if (built == 3) {
        const size_t np = count_kind(&p[0], STAGE_PREP), nf = count_kind(&p[0], STAGE_FEATURES);
        CHECK(np == 6 && shared_ids(&p[1], &p[0], STAGE_PREP) == np - 1 &&
                  shared_ids(&p[1], &p[0], STAGE_FEATURES) == nf - 1 && shared_ids(&p[1], &p[0], STAGE_TRAIN) == 0,
              "another apex of one sample: its prep task, its features chunk and the training change");
        CHECK(shared_ids(&p[2], &p[0], STAGE_PREP) == np && shared_ids(&p[2], &p[0], STAGE_FEATURES) == nf &&
                  shared_ids(&p[2], &p[0], STAGE_TRAIN) == 0,
              "another label: the training changes, prep and features do not");
    }
    for (int v = 0; v < built; v++) plan_free(&p[v]);
    config_doc_free(&doc);
    unlink(path);
    rmdir(dir);
}

static void test_dep_usable(void) {
    mer_task t = {.sample_begin = 2, .sample_end = 6}, d = {.sample_begin = 4, .sample_end = 8};
    size_t ex1[] = {4, 5}, ex2[] = {1, 4}, ex3[] = {0, 4, 5, 6, 7};
    CHECK(stage_dep_usable(&t, &d, NULL, 0) == 1, "nothing excluded");
    CHECK(stage_dep_usable(&t, &d, ex1, 2) == 0, "the overlap 4..5 excluded");
    CHECK(stage_dep_usable(&t, &d, ex2, 2) == 1, "sample 5 still there");
    CHECK(stage_dep_usable(&t, &d, ex3, 5) == 0, "all excluded");
}

int main(void) {
    impl = stage_test_impl;
    test_folds();
    test_graph();
    test_cache_keys("frames", "resnet18", "frozen", NULL, 0);
    /* flow: LBP-TOP takes grey frames, not flow fields */
    static const char *const flow_fixed[] = {"model.backbone.kind"};
    test_cache_keys("flow", "resnet18", "frozen", flow_fixed, 1);
    /* the baseline has no epoch selection: eval.selection and eval.oracle_epoch keep their defaults */
    static const char *const lbptop_fixed[] = {"eval.selection", "eval.oracle_epoch"};
    test_cache_keys("frames", "lbptop", "frozen", lbptop_fixed, 2);
    /* finetune: its train tasks also depend on output.save_backbone (the file keeps the backbone or not); it
     * takes neither adapted BatchNorm statistics nor onset-relative head features */
    static const char *const finetune_fixed[] = {"model.backbone.kind", "model.backbone.bn_stats",
                                                 "model.head.features"};
    test_cache_keys("frames", "resnet18", "finetune", finetune_fixed, 3);
    test_lbptop_sharing();
    test_save_backbone_key();
    test_annotation_keys();
    test_dep_usable();
    return check_summary();
}
