/* The plan: sweep points x seeds x folds -> a deduplicated task graph keyed by config hashes.
 * See runner/plan.h and runner/stage.h for the model. */
#include "runner/plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/base/strbuf.h"
#include "io/data/dataset.h"

/* ---- folds ------------------------------------------------------------------------------------ */

void plan_folds_free(mer_fold *folds, size_t n) {
    if (!folds) return;
    for (size_t i = 0; i < n; i++) {
        free(folds[i].name);
        free(folds[i].test);
    }
    free(folds);
}

/* Distinct keys (subjects, or datasets for lodo) in order of first appearance; subj_of[i] = index of sample
 * i's key. */
static int list_subjects(char ***subjects, size_t *n_subjects, size_t *subj_of, char *const *key, size_t n_samples,
                         mer_err *err) {
    char **list = mer_calloc(n_samples, sizeof *list, err);
    if (!list) return -1;
    size_t n = 0;
    for (size_t i = 0; i < n_samples; i++) {
        size_t j = 0;
        while (j < n && strcmp(list[j], key[i])) j++;
        if (j == n) list[n++] = key[i];
        subj_of[i] = j;
    }
    *subjects = list; /* borrowed strings */
    *n_subjects = n;
    return 0;
}

/* lodo: each sample's dataset, the prefix of its composite subject id ("casme2_sub01" -> "casme2"). */
static int dataset_keys(char ***out, const mer_samples *s, mer_err *err) {
    char **key = mer_calloc(s->n, sizeof *key, err);
    if (!key) return -1;
    for (size_t i = 0; i < s->n; i++) {
        size_t n = dataset_subject_prefix(s->subject[i]);
        if (!n) {
            strs_free(key, s->n);
            return mer_errf(err, "eval.protocol lodo needs a composite dataset (dataset.format megc2019 or "
                                 "composite): subject '%s' names no dataset", s->subject[i]);
        }
        if (!(key[i] = mer_malloc(n + 1, err))) {
            strs_free(key, s->n);
            return -1;
        }
        memcpy(key[i], s->subject[i], n);
        key[i][n] = 0;
    }
    *out = key;
    return 0;
}

int plan_folds(mer_fold **out, size_t *n_out, const mer_samples *s, cfg_protocol protocol, int k, mer_err *err) {
    if (s->n == 0) return mer_errf(err, "the dataset has no samples");
    if (protocol != CFG_PROTOCOL_LOSO && protocol != CFG_PROTOCOL_KFOLD && protocol != CFG_PROTOCOL_MEGC2019 &&
        protocol != CFG_PROTOCOL_LODO)
        return mer_errf(err, "eval.protocol %d is unknown (expected loso, kfold, megc2019 or lodo)", (int)protocol);
    int loso = protocol != CFG_PROTOCOL_KFOLD; /* one fold per key: subject, or dataset for lodo */
    if (protocol == CFG_PROTOCOL_MEGC2019 && (!s->dataset_name || strcmp(s->dataset_name, "megc2019")))
        return mer_errf(err, "eval.protocol megc2019 needs dataset.format megc2019 (the composite 3-class set), "
                             "got '%s'", s->dataset_name ? s->dataset_name : "?");
    char **ds_key = NULL;
    if (protocol == CFG_PROTOCOL_LODO && dataset_keys(&ds_key, s, err) < 0) return -1;
    size_t *subj_of = mer_calloc(s->n, sizeof *subj_of, err);
    if (!subj_of) {
        strs_free(ds_key, s->n);
        return -1;
    }
    char **subjects = NULL;
    size_t n_subj = 0;
    if (list_subjects(&subjects, &n_subj, subj_of, ds_key ? ds_key : s->subject, s->n, err) < 0) {
        free(subj_of);
        strs_free(ds_key, s->n);
        return -1;
    }
    if (ds_key && n_subj < 2) {
        mer_errf(err, "eval.protocol lodo needs at least 2 datasets, the samples come from %s only", subjects[0]);
        free(subjects);
        free(subj_of);
        strs_free(ds_key, s->n);
        return -1;
    }
    size_t n_folds = loso ? n_subj : (size_t)k;
    size_t *fold_of_subj = mer_calloc(n_subj, sizeof *fold_of_subj, err);
    mer_fold *folds = mer_calloc(n_folds, sizeof *folds, err);
    size_t *subj_count = mer_calloc(n_subj, sizeof *subj_count, err);
    int rc = -1;
    if (!fold_of_subj || !folds || !subj_count) goto done;
    if (!loso && (k < 2 || (size_t)k > n_subj)) {
        mer_errf(err, "eval.folds = %d: k-fold by subject needs 2 <= k <= %zu subjects", k, n_subj);
        goto done;
    }
    for (size_t i = 0; i < s->n; i++) subj_count[subj_of[i]]++;
    if (loso) {
        for (size_t j = 0; j < n_subj; j++) fold_of_subj[j] = j;
    } else {
        /* Largest subject first to the fold with the fewest samples so far (ties: lower index). */
        size_t *load = mer_calloc(n_folds, sizeof *load, err);
        uint8_t *placed = mer_calloc(n_subj, 1, err);
        if (!load || !placed) {
            free(load);
            free(placed);
            goto done;
        }
        for (size_t step = 0; step < n_subj; step++) {
            size_t best = SIZE_MAX;
            for (size_t j = 0; j < n_subj; j++)
                if (!placed[j] && (best == SIZE_MAX || subj_count[j] > subj_count[best])) best = j;
            size_t f = 0;
            for (size_t q = 1; q < n_folds; q++)
                if (load[q] < load[f]) f = q;
            placed[best] = 1;
            fold_of_subj[best] = f;
            load[f] += subj_count[best];
        }
        free(load);
        free(placed);
    }
    for (size_t f = 0; f < n_folds; f++) {
        strbuf name = STRBUF_INIT;
        for (size_t j = 0; j < n_subj; j++)
            if (fold_of_subj[j] == f) {
                if (name.len) strbuf_addc(&name, '+');
                strbuf_adds(&name, subjects[j]);
            }
        folds[f].name = strbuf_detach(&name);
        if (!folds[f].name) {
            mer_errf(err, "out of memory building a cache key");
            goto done;
        }
        size_t n = 0;
        for (size_t i = 0; i < s->n; i++) n += fold_of_subj[subj_of[i]] == f;
        folds[f].test = mer_calloc(n, sizeof *folds[f].test, err);
        if (!folds[f].test) goto done;
        for (size_t i = 0; i < s->n; i++)
            if (fold_of_subj[subj_of[i]] == f) folds[f].test[folds[f].n_test++] = i;
    }
    *out = folds;
    *n_out = n_folds;
    folds = NULL;
    rc = 0;
done:
    plan_folds_free(folds, n_folds);
    free(subj_count);
    free(fold_of_subj);
    free(subjects);
    free(subj_of);
    strs_free(ds_key, s->n);
    return rc;
}

/* ---- task table with deduplication by id ------------------------------------------------------- */

typedef struct {
    mer_plan *plan;
    size_t cap;
    uint64_t *hkeys; /* open addressing: hash -> task index + 1 */
    size_t *hvals;
    size_t hcap;
} builder;

static int table_grow(builder *b, mer_err *err) {
    size_t hcap = b->hcap ? b->hcap * 2 : 1024;
    uint64_t *keys = mer_calloc(hcap, sizeof *keys, err);
    size_t *vals = mer_calloc(hcap, sizeof *vals, err);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < b->hcap; i++)
        if (b->hvals[i]) {
            size_t j = b->hkeys[i] & (hcap - 1);
            while (vals[j]) j = (j + 1) & (hcap - 1);
            keys[j] = b->hkeys[i];
            vals[j] = b->hvals[i];
        }
    free(b->hkeys);
    free(b->hvals);
    b->hkeys = keys;
    b->hvals = vals;
    b->hcap = hcap;
    return 0;
}

/* Add a task keyed by `key` (or find the existing one). deps are copied. */
static int add_task(size_t *index, builder *b, const char *key, stage_kind kind, size_t variant, int fold,
                    size_t begin, size_t end, const size_t *deps, size_t n_deps, mer_err *err) {
    mer_plan *p = b->plan;
    uint64_t h = fnv1a64(key, strlen(key), FNV1A64_INIT);
    p->n_requested[kind]++;
    if ((p->n_tasks + 1) * 2 > b->hcap && table_grow(b, err) < 0) return -1;
    size_t j = h & (b->hcap - 1);
    while (b->hvals[j]) {
        if (b->hkeys[j] == h) {
            *index = b->hvals[j] - 1;
            return 0;
        }
        j = (j + 1) & (b->hcap - 1);
    }
    if (p->n_tasks == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        mer_task *t = realloc(p->tasks, cap * sizeof *t);
        if (!t) return mer_errf(err, "out of memory for %zu tasks", cap);
        p->tasks = t;
        b->cap = cap;
    }
    mer_task *t = &p->tasks[p->n_tasks];
    memset(t, 0, sizeof *t);
    snprintf(t->id, sizeof t->id, "%016" PRIx64, h);
    t->kind = kind;
    t->variant = variant;
    t->fold = fold;
    t->sample_begin = begin;
    t->sample_end = end;
    t->rng_seed = h;
    t->deps = mer_calloc(n_deps, sizeof *t->deps, err);
    if (!t->deps) return -1;
    if (n_deps) memcpy(t->deps, deps, n_deps * sizeof *deps);
    t->n_deps = n_deps;
    b->hkeys[j] = h;
    b->hvals[j] = p->n_tasks + 1;
    *index = p->n_tasks++;
    return 0;
}

/* Key text: stage, the config values the stage depends on, the samples or fold, the dependencies' ids
 * (so a change upstream always changes the key downstream, whatever prefixes the stage names). */
static int make_key(strbuf *key, const mer_plan *p, const mer_config *cfg, stage_kind kind, const char *what,
                    const size_t *deps, size_t n_deps, mer_err *err) {
    const char *prefixes[32];
    size_t np = p->impl->key_prefixes(prefixes, 32, cfg, kind);
    char *text = config_to_string(cfg, prefixes, np);
    if (!text) return mer_errf(err, "cannot print the config for a %s cache key", stage_name(kind));
    strbuf_reset(key);
    strbuf_addf(key, "stage: %s\n%s\n%s", stage_name(kind), text, what);
    if (kind == STAGE_TRAIN) /* training reads every sample's label: an edited label trains again */
        strbuf_addf(key, "\nlabels: %016llx", (unsigned long long)p->labels_hash);
    for (size_t i = 0; i < n_deps; i++) strbuf_addf(key, "\ndep: %s", p->tasks[deps[i]].id);
    free(text);
    return key->failed ? mer_errf(err, "out of memory building a cache key") : 0;
}

static int samples_text(strbuf *b, const mer_samples *s, size_t begin, size_t end, mer_err *err) {
    strbuf_reset(b);
    strbuf_adds(b, "samples:");
    for (size_t i = begin; i < end; i++) {
        strbuf_addf(b, " %s", s->id[i]);
        if (s->annotation && s->annotation[i]) strbuf_addf(b, " (%s)", s->annotation[i]);
    }
    return b->failed ? mer_errf(err, "out of memory building a cache key") : 0;
}

/* The plan refuses sweeps over what every variant must share: the dataset and the fold protocol. */
static int check_shared(const mer_plan *p, mer_err *err) {
    static const char *const shared[] = {"dataset", "eval.protocol", "eval.folds"};
    char *first = config_to_string(&p->points[0].cfg, shared, 3);
    if (!first) return mer_errf(err, "cannot print the config");
    int rc = 0;
    for (size_t i = 1; i < p->n_points && !rc; i++) {
        char *other = config_to_string(&p->points[i].cfg, shared, 3);
        if (!other || strcmp(first, other))
            rc = mer_errf(err, "sweep point %zu (%s) changes dataset.* or eval.protocol/eval.folds: every point "
                               "of one run must share the dataset and the folds (run them as separate runs)",
                          i, p->points[i].params);
        free(other);
    }
    free(first);
    return rc;
}

void plan_free(mer_plan *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_tasks; i++) free(p->tasks[i].deps);
    free(p->tasks);
    for (size_t i = 0; i < p->n_variants; i++) config_free(&p->variants[i].cfg);
    free(p->variants);
    config_points_free(p->points, p->n_points);
    plan_folds_free(p->folds, p->n_folds);
    mer_samples_free(&p->samples);
    free(p->output_dir);
    memset(p, 0, sizeof *p);
}

/* The final model of a variant: a TRAIN task with fold -1 on every sample. It depends on the FEATURES tasks
 * and, with eval.selection inner_val, on the variant's fold tasks too (it trains for the median of the
 * epochs they selected), so their ids are part of its key. */
static int add_final(builder *b, strbuf *key, const mer_config *cfg, size_t vi, const size_t *feat, size_t n_feat,
                     const size_t *folds_of, mer_err *err) {
    mer_plan *p = b->plan;
    size_t n = n_feat + (cfg->eval_selection == CFG_SELECTION_INNER_VAL ? p->n_folds : 0), idx;
    size_t *deps = mer_calloc(n ? n : 1, sizeof *deps, err);
    if (!deps) return -1;
    memcpy(deps, feat, n_feat * sizeof *deps);
    if (n > n_feat) memcpy(deps + n_feat, folds_of, p->n_folds * sizeof *deps);
    int rc = make_key(key, p, cfg, STAGE_TRAIN, "final: every sample", deps, n, err) < 0 ||
                     add_task(&idx, b, key->buf, STAGE_TRAIN, vi, -1, 0, p->samples.n, deps, n, err) < 0
                 ? -1
                 : 0;
    free(deps);
    return rc;
}

static size_t chunk_size(size_t c, size_t n) { return c == 0 || c > n ? n : c; }

int plan_build(mer_plan *p, const cfg_doc *doc, const stage_impl *impl, mer_samples *samples, mer_err *err) {
    memset(p, 0, sizeof *p);
    p->doc = doc;
    p->impl = impl;
    p->samples = *samples;
    memset(samples, 0, sizeof *samples);
    builder b = {.plan = p};
    strbuf key = STRBUF_INIT, what = STRBUF_INIT;
    int rc = -1;
    size_t *deps = NULL, *prep_of = NULL, *folds_of = NULL;
    const mer_samples *s = &p->samples;
    if (s->n == 0) {
        mer_errf(err, "the dataset has no samples");
        goto done;
    }
    if (!doc->base.output_dir || !*doc->base.output_dir) {
        mer_errf(err, "output.dir is not set");
        goto done;
    }
    p->output_dir = strdup(doc->base.output_dir);
    if (!p->output_dir || config_points(&p->points, &p->n_points, doc, err) < 0) goto done;
    if (p->n_points == 0 || doc->n_seeds == 0) {
        mer_errf(err, "nothing to run: %zu sweep points x %zu seeds", p->n_points, doc->n_seeds);
        goto done;
    }
    if (check_shared(p, err) < 0) goto done;
    p->labels_hash = FNV1A64_INIT;
    for (size_t i = 0; i < s->n; i++) p->labels_hash = fnv1a64(&s->label[i], sizeof s->label[i], p->labels_hash);
    for (size_t c = 0; c < s->n_classes; c++)
        p->labels_hash = fnv1a64(s->classes[c], strlen(s->classes[c]) + 1, p->labels_hash);
    if (plan_folds(&p->folds, &p->n_folds, s, doc->base.eval_protocol, doc->base.eval_folds, err) < 0) goto done;

    p->variants = mer_calloc(p->n_points * doc->n_seeds, sizeof *p->variants, err);
    size_t max_deps = s->n + 1;
    deps = mer_calloc(max_deps, sizeof *deps, err);
    prep_of = mer_calloc(s->n, sizeof *prep_of, err); /* PREP task index of every sample, this variant */
    folds_of = mer_calloc(p->n_folds, sizeof *folds_of, err); /* TRAIN task index of every fold, this variant */
    if (!p->variants || !deps || !prep_of || !folds_of) goto done;
    for (size_t pi = 0; pi < p->n_points; pi++)
        for (size_t si = 0; si < doc->n_seeds; si++) {
            mer_variant *v = &p->variants[p->n_variants];
            if (config_copy(&v->cfg, &p->points[pi].cfg, err) < 0) goto done;
            p->n_variants++;
            v->point = pi;
            v->seed_index = si;
            v->seed = doc->seeds[si];
            v->cfg.seed = v->seed;
        }

    size_t c_prep = chunk_size(impl->chunk[0], s->n);
    for (size_t vi = 0; vi < p->n_variants; vi++) {
        const mer_config *cfg = &p->variants[vi].cfg;
        size_t c_feat = chunk_size(impl->features_chunk ? impl->features_chunk(cfg, impl->chunk[1]) : impl->chunk[1], s->n);
        for (size_t a = 0; a < s->n; a += c_prep) {
            size_t e = a + c_prep < s->n ? a + c_prep : s->n, idx;
            if (samples_text(&what, s, a, e, err) < 0 || make_key(&key, p, cfg, STAGE_PREP, what.buf, NULL, 0, err) < 0 ||
                add_task(&idx, &b, key.buf, STAGE_PREP, vi, -1, a, e, NULL, 0, err) < 0)
                goto done;
            for (size_t i = a; i < e; i++) prep_of[i] = idx;
        }
        size_t n_feat = 0, feat_first = SIZE_MAX;
        size_t *feat = mer_calloc(s->n, sizeof *feat, err);
        if (!feat) goto done;
        for (size_t a = 0; a < s->n; a += c_feat) {
            size_t e = a + c_feat < s->n ? a + c_feat : s->n, nd = 0, idx;
            for (size_t i = a; i < e; i++)
                if (nd == 0 || deps[nd - 1] != prep_of[i]) deps[nd++] = prep_of[i];
            if (samples_text(&what, s, a, e, err) < 0 ||
                make_key(&key, p, cfg, STAGE_FEATURES, what.buf, deps, nd, err) < 0 ||
                add_task(&idx, &b, key.buf, STAGE_FEATURES, vi, -1, a, e, deps, nd, err) < 0) {
                free(feat);
                goto done;
            }
            feat[n_feat++] = idx;
            if (feat_first == SIZE_MAX) feat_first = idx;
        }
        for (size_t f = 0; f < p->n_folds; f++) {
            size_t idx;
            strbuf_reset(&what);
            strbuf_addf(&what, "fold: %s test:", p->folds[f].name);
            for (size_t i = 0; i < p->folds[f].n_test; i++) strbuf_addf(&what, " %s", s->id[p->folds[f].test[i]]);
            if (what.failed) {
                mer_errf(err, "out of memory building a cache key");
                free(feat);
                goto done;
            }
            if (make_key(&key, p, cfg, STAGE_TRAIN, what.buf, feat, n_feat, err) < 0 ||
                add_task(&idx, &b, key.buf, STAGE_TRAIN, vi, (int)f, 0, s->n, feat, n_feat, err) < 0) {
                free(feat);
                goto done;
            }
            folds_of[f] = idx;
        }
        if (cfg->eval_final_model && add_final(&b, &key, cfg, vi, feat, n_feat, folds_of, err) < 0) {
            free(feat);
            goto done;
        }
        free(feat);
    }
    /* cfg pointers only now: the variants array no longer moves. */
    uint64_t h = FNV1A64_INIT;
    for (size_t i = 0; i < p->n_tasks; i++) {
        mer_task *t = &p->tasks[i];
        t->cfg = &p->variants[t->variant].cfg;
        h = fnv1a64(t->id, 16, h);
        h = fnv1a64(t->deps, t->n_deps * sizeof *t->deps, h);
    }
    for (size_t i = 0; i < p->n_tasks; i++) p->tasks[i].est_cost = impl->cost(&p->tasks[i], p);
    p->hash = h;
    rc = 0;
done:
    free(b.hkeys);
    free(b.hvals);
    strbuf_release(&key);
    strbuf_release(&what);
    free(deps);
    free(prep_of);
    free(folds_of);
    if (rc < 0) {
        plan_free(p);
        mer_err_prefix(err, "plan");
    }
    return rc;
}

void task_output_path(char *buf, size_t n, const mer_plan *plan, const mer_task *t) {
    snprintf(buf, n, "%s/tasks/%s/%s.h5", plan->output_dir, stage_name(t->kind), t->id);
}

int task_output_exists(const mer_plan *plan, const mer_task *t) {
    char path[4096];
    struct stat st;
    task_output_path(path, sizeof path, plan, t);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

void plan_print(FILE *f, const mer_plan *p) {
    fprintf(f, "%-5s %-8s %-16s %-6s %-6s %-24s %-26s %9s %s\n", "#", "stage", "id", "point", "seed", "fold/samples",
            "depends on", "est_s", "cache");
    size_t cached[STAGE_COUNT] = {0}, unique[STAGE_COUNT] = {0};
    double cost[STAGE_COUNT] = {0};
    for (size_t i = 0; i < p->n_tasks; i++) {
        const mer_task *t = &p->tasks[i];
        const mer_variant *v = &p->variants[t->variant];
        char what[64], dep[64];
        if (t->kind == STAGE_TRAIN && t->fold < 0)
            snprintf(what, sizeof what, "final (every subject)");
        else if (t->kind == STAGE_TRAIN)
            snprintf(what, sizeof what, "fold %d %.16s", t->fold, p->folds[t->fold].name);
        else if (t->sample_end - t->sample_begin == 1)
            snprintf(what, sizeof what, "%.23s", p->samples.id[t->sample_begin]);
        else
            snprintf(what, sizeof what, "samples %zu-%zu", t->sample_begin, t->sample_end - 1);
        if (t->n_deps == 0)
            snprintf(dep, sizeof dep, "-");
        else if (t->n_deps == 1)
            snprintf(dep, sizeof dep, "%s %s", stage_name(p->tasks[t->deps[0]].kind), p->tasks[t->deps[0]].id);
        else
            snprintf(dep, sizeof dep, "%zu %s tasks", t->n_deps, stage_name(p->tasks[t->deps[0]].kind));
        int hit = task_output_exists(p, t);
        char seed[24];
        if (t->kind == STAGE_TRAIN)
            snprintf(seed, sizeof seed, "%ld", v->seed);
        else
            snprintf(seed, sizeof seed, "*");
        char point[24]; /* prep/features tasks are shared by every point with the same key */
        if (t->kind == STAGE_TRAIN)
            snprintf(point, sizeof point, "%zu", v->point);
        else
            snprintf(point, sizeof point, "*");
        fprintf(f, "%-5zu %-8s %-16s %-6s %-6s %-24s %-26s %9.1f %s\n", i, stage_name(t->kind), t->id, point, seed,
                what, dep, t->est_cost, hit ? "hit" : "-");
        cached[t->kind] += hit;
        unique[t->kind]++;
        cost[t->kind] += t->est_cost;
    }
    fprintf(f, "\n%zu sweep points x %zu seeds x %zu folds; %zu samples\n", p->n_points, p->doc->n_seeds, p->n_folds,
            p->samples.n);
    for (int k = 0; k < STAGE_COUNT; k++)
        fprintf(f, "%-8s %6zu requested, %6zu unique, %6zu cache hits, est %.1f s\n", stage_name((stage_kind)k),
                p->n_requested[k], unique[k], cached[k], cost[k]);
}
