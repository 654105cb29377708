/* The runner's plan: folds (LOSO, k-fold by subject, MEGC2019 check), cache keys (which config changes
 * change which task ids), deduplication and dependencies, and stage_dep_usable. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner/plan.h"
#include "tests/check.h"

extern const stage_impl stage_test_impl;

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
    mer_samples_free(&s);
}

static char dir[256];

static int build(mer_plan *p, cfg_doc *doc, const char *const *over, size_t n_over) {
    char path[300];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    mer_err err = {0};
    if (config_load(doc, path, (char *const *)over, n_over, &err) < 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    mer_samples s;
    void *data;
    if (stage_test_impl.load(&data, &s, &doc->base, &err) < 0 || plan_build(p, doc, &stage_test_impl, &s, &err) < 0) {
        fprintf(stderr, "plan: %s\n", err.msg);
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
    snprintf(dir, sizeof dir, "/tmp/mer-test-plan-XXXXXX");
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");
    char path[300];
    snprintf(path, sizeof path, "%s/run.yaml", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "dataset:\n  format: synth\n  synth:\n    subjects: 3\n    per_class: 1\noutput:\n  dir: %s/out\n"
               "sweep:\n  model.attention.n_rounds: [3, 4, 5]\n  seeds: [0, 1]\n",
            dir);
    fclose(f);

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

static void test_dep_usable(void) {
    mer_task t = {.sample_begin = 2, .sample_end = 6}, d = {.sample_begin = 4, .sample_end = 8};
    size_t ex1[] = {4, 5}, ex2[] = {1, 4}, ex3[] = {0, 4, 5, 6, 7};
    CHECK(stage_dep_usable(&t, &d, NULL, 0) == 1, "nothing excluded");
    CHECK(stage_dep_usable(&t, &d, ex1, 2) == 0, "the overlap 4..5 excluded");
    CHECK(stage_dep_usable(&t, &d, ex2, 2) == 1, "sample 5 still there");
    CHECK(stage_dep_usable(&t, &d, ex3, 5) == 0, "all excluded");
}

int main(void) {
    test_folds();
    test_graph();
    test_dep_usable();
    return check_summary();
}
