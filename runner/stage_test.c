/* The "test" stage implementation (`mer run --stages test`): deterministic pseudo-work with the same task
 * graph, files and failure modes as the real pipeline, so the runner (plan, farm, ledger, resume, results)
 * is tested without video, faces or networks.
 *
 * Samples: dataset.synth.subjects subjects x dataset.synth.per_class samples of each class (classes from
 * dataset.classes, default negative/positive/surprise); ids "sNN/cK_J". Under the composite protocols
 * (eval.protocol megc2019, lodo) the subjects name their dataset like a composite's, cycling through
 * casme2, samm, smic ("casme2_s01", "samm_s02", ...), and the dataset is called megc2019.
 * PREP writes a noisy 8-D vector per sample (class-dependent), FEATURES scales it by the magnification
 * settings, TRAIN fits class centroids on the training folds (perturbed by the task's seed and by
 * model.attention.n_rounds, so sweep points differ) and predicts the test fold with softmax probabilities.
 * Everything is seeded from the task's rng_seed, so results are identical for any number of ranks.
 *
 * Knobs for the runner's tests (environment variables, read when a task runs):
 *   MER_TEST_TASK_MS   sleep this many milliseconds in every task (polling stage_should_stop every 10 ms)
 *   MER_TEST_CORRUPT   comma-separated sample ids whose PREP always fails ("corrupt video": a permanent
 *                      error, MER_ERR_DATA, so the task is not retried)
 *   MER_TEST_FLAKY     comma-separated sample ids whose PREP fails with a transient error (MER_ERR_IO) on the
 *                      first attempt only, or on the first N attempts when written ID:N (a marker file
 *                      output.dir/flaky-<task id> counts the failures)
 *   MER_TEST_CRASH     comma-separated sample ids whose PREP kills its own process (SIGKILL) every time:
 *                      a task that takes the run down with it (the farm must find and blame it alone)
 *   MER_TEST_IGNORE_STOP  never stop at a safe point (a task that cannot be interrupted: tests the second
 *                      signal, which must not wait for it)
 *   MER_TEST_EXEC_LOG  append "unix_time task_id" to this file each time a task starts executing (one
 *                      O_APPEND write: the record the chaos test checks "no finished task runs again" on,
 *                      independent of the ledger)
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/base/rng.h"
#include "io/h5.h"
#include "runner/plan.h"

#define TEST_DIM 8

static const char *const DEFAULT_CLASSES[] = {"negative", "positive", "surprise"};

static int test_load(void **data, mer_samples *s, const mer_config *cfg, mer_err *err) {
    *data = NULL;
    memset(s, 0, sizeof *s);
    size_t nc = cfg->dataset_classes.n ? cfg->dataset_classes.n : 3;
    int subjects = cfg->synth_subjects > 0 ? cfg->synth_subjects : 4, per = cfg->synth_per_class > 0 ? cfg->synth_per_class : 2;
    size_t n = (size_t)subjects * nc * (size_t)per;
    static const char *const SOURCES[] = {"casme2", "samm", "smic"};
    const int composite = cfg->eval_protocol == CFG_PROTOCOL_MEGC2019 || cfg->eval_protocol == CFG_PROTOCOL_LODO;
    s->dataset_name = strdup(composite ? "megc2019" : "synth");
    s->classes = mer_calloc(nc, sizeof *s->classes, err);
    s->id = mer_calloc(n, sizeof *s->id, err);
    s->subject = mer_calloc(n, sizeof *s->subject, err);
    s->label = mer_calloc(n, sizeof *s->label, err);
    if (!s->dataset_name || !s->classes || !s->id || !s->subject || !s->label) goto fail;
    s->n_classes = nc;
    for (size_t c = 0; c < nc; c++)
        if (!(s->classes[c] = strdup(cfg->dataset_classes.n ? cfg->dataset_classes.v[c] : DEFAULT_CLASSES[c]))) goto fail;
    for (int j = 0; j < subjects; j++)
        for (size_t c = 0; c < nc; c++)
            for (int k = 0; k < per; k++) {
                char id[96], subj[32];
                if (composite) snprintf(subj, sizeof subj, "%s_s%02d", SOURCES[j % 3], j + 1);
                else snprintf(subj, sizeof subj, "s%02d", j + 1);
                snprintf(id, sizeof id, "%s/c%zu_%d", subj, c, k);
                s->id[s->n] = strdup(id);
                s->subject[s->n] = strdup(subj);
                s->label[s->n] = (int64_t)c;
                s->n++;
                if (!s->id[s->n - 1] || !s->subject[s->n - 1]) goto fail;
            }
    return 0;
fail:
    mer_samples_free(s);
    return mer_errf(err, "out of memory building the test samples");
}

static void test_unload(void *data) { (void)data; }

static size_t test_key_prefixes(const char **prefixes, size_t max, const mer_config *cfg, stage_kind kind) {
    static const char *const prep[] = {"dataset", "preprocess"};
    static const char *const feat[] = {"dataset", "preprocess", "magnify", "model.input", "model.backbone"};
    /* as runner/pipeline.c: the flow settings only with model.input = flow */
    static const char *const feat_flow[] = {"dataset", "preprocess", "magnify", "model.input", "model.backbone",
                                            "model.flow"};
    static const char *const train[] = {"dataset", "preprocess", "magnify", "model", "train", "eval.protocol",
                                        "eval.folds", "eval.selection", "eval.inner_val_fraction",
                                        "eval.oracle_epoch", "output.save_features", "output.save_backbone", "seed"};
    if (kind == STAGE_PREP) return STAGE_KEYS_PUT(prefixes, max, prep);
    if (kind == STAGE_FEATURES && cfg->model_input == CFG_MODEL_INPUT_FLOW)
        return STAGE_KEYS_PUT(prefixes, max, feat_flow);
    if (kind == STAGE_FEATURES) return STAGE_KEYS_PUT(prefixes, max, feat);
    return STAGE_KEYS_PUT(prefixes, max, train);
}

static double test_cost(const mer_task *t, const mer_plan *plan) {
    if (t->kind == STAGE_TRAIN)
        return 0.01 * (double)(plan->samples.n - (t->fold < 0 ? 0 : plan->folds[t->fold].n_test)) *
               (t->cfg->train_epochs > 0 ? t->cfg->train_epochs : 1);
    return (t->kind == STAGE_PREP ? 1.0 : 0.5) * (double)(t->sample_end - t->sample_begin);
}

/* Sleep ms milliseconds in 10 ms slices; 1 if asked to stop. */
static int pseudo_work(int ms, const run_ctx *ctx) {
    int deaf = getenv("MER_TEST_IGNORE_STOP") != NULL;
    for (int done = 0; done < ms; done += 10) {
        if (!deaf && stage_should_stop(ctx)) return 1;
        struct timespec ts = {0, (ms - done < 10 ? ms - done : 10) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return deaf ? 0 : stage_should_stop(ctx);
}

static int task_ms(void) {
    const char *s = getenv("MER_TEST_TASK_MS");
    return s ? atoi(s) : 0;
}

/* 0 when id is not in the comma-separated list; else N for an entry "id:N", 1 for "id". */
static int in_list(const char *list, const char *id) {
    if (!list) return 0;
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= n && !strncmp(p, id, n) && (len == n || p[n] == ':')) return len == n ? 1 : atoi(p + n + 1);
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

/* The failures of a flaky task so far (its marker file's number, 0 without a file), counted up by one. */
static int flaky_count_up(const char *marker) {
    int n = 0;
    FILE *f = fopen(marker, "r");
    if (f) {
        if (fscanf(f, "%d", &n) != 1) n = 0;
        fclose(f);
    }
    f = fopen(marker, "w");
    if (f) {
        fprintf(f, "%d\n", n + 1);
        fclose(f);
    }
    return n;
}

/* The end of a PREP or FEATURES task: the pseudo-work, then n vectors of TEST_DIM values under `name` with
 * their sample indices and ids. 0, STAGE_INTERRUPTED or -1. */
static int finish_task(hid_t out, const char *name, const int64_t *index, const char *const *ids, const float *x,
                       size_t n, const run_ctx *ctx, mer_err *err) {
    if (pseudo_work(task_ms(), ctx)) return STAGE_INTERRUPTED;
    size_t d2[2] = {n, TEST_DIM};
    return h5_write_i64(out, "index", index, 1, &n, err) || h5_write_strs(out, "sample", ids, n, err) ||
                   h5_write_f32(out, name, x, 2, d2, err)
               ? -1
               : 0;
}

/* MER_TEST_EXEC_LOG: one line per execution of a task (see the header). */
static void log_execution(const mer_task *t) {
    const char *path = getenv("MER_TEST_EXEC_LOG");
    if (!path) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char line[64];
    int n = snprintf(line, sizeof line, "%.6f %s\n", (double)ts.tv_sec + ts.tv_nsec * 1e-9, t->id);
    ssize_t w = write(fd, line, (size_t)n); /* a lost line shows as a missing execution in the test */
    (void)w;
    close(fd);
}

static int exec_prep(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx, mer_err *err) {
    log_execution(t);
    const mer_samples *s = &ctx->plan->samples;
    size_t cap = t->sample_end - t->sample_begin, n = 0;
    int64_t *index = mer_calloc(cap, sizeof *index, err);
    const char **ids = mer_calloc(cap, sizeof *ids, err);
    float *x = mer_calloc(cap * TEST_DIM, sizeof *x, err);
    int rc = -1;
    if (!index || !ids || !x) goto done;
    for (size_t i = t->sample_begin; i < t->sample_end; i++) {
        if (stage_sample_excluded(i, ex, n_ex)) continue;
        if (in_list(getenv("MER_TEST_CORRUPT"), s->id[i])) {
            mer_errk(err, MER_ERR_DATA, "sample %s: cannot decode the video (corrupt, MER_TEST_CORRUPT)", s->id[i]);
            goto done;
        }
        if (in_list(getenv("MER_TEST_CRASH"), s->id[i])) {
            if (pseudo_work(task_ms(), ctx)) { /* as long as any task, so others run beside it */
                rc = STAGE_INTERRUPTED;
                goto done;
            }
            raise(SIGKILL);
        }
        int flaky = in_list(getenv("MER_TEST_FLAKY"), s->id[i]);
        if (flaky) {
            char marker[4096];
            snprintf(marker, sizeof marker, "%s/flaky-%.16s", ctx->plan->output_dir, t->id);
            int failed = flaky_count_up(marker);
            if (failed < flaky) {
                mer_errk(err, MER_ERR_IO, "sample %s: transient read error (MER_TEST_FLAKY, attempt %d)", s->id[i],
                         failed + 1);
                goto done;
            }
        }
        mer_rng r = rng_derive(t->rng_seed, i);
        for (int d = 0; d < TEST_DIM; d++)
            x[n * TEST_DIM + d] = (d == s->label[i] % TEST_DIM ? 2.0f : 0.0f) + 0.9f * rng_normal(&r) +
                                  1e-3f * (float)t->cfg->prep_size;
        index[n] = (int64_t)i;
        ids[n] = s->id[i];
        n++;
    }
    rc = finish_task(out, "x", index, ids, x, n, ctx, err);
done:
    free(index);
    free(ids);
    free(x);
    return rc;
}

/* Read the (index, array) pairs of every dependency into rows of all[n_samples][TEST_DIM]; have[i] = 1. */
static int gather(float *all, uint8_t *have, const mer_task *t, const size_t *ex, size_t n_ex, const char *name,
                  const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    for (size_t k = 0; k < t->n_deps; k++) {
        const mer_task *dep = &p->tasks[t->deps[k]];
        /* a final model's fold deps (inner_val) hold no features */
        if (dep->kind == STAGE_TRAIN || !stage_dep_usable(t, dep, ex, n_ex)) continue;
        char path[4096];
        task_output_path(path, sizeof path, p, &p->tasks[t->deps[k]]);
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) return -1;
        int64_t *index = NULL;
        float *v = NULL;
        size_t di[H5_MAX_DIMS], dv[H5_MAX_DIMS];
        int nd = 0, rc = h5_read_i64(f, "index", &index, NULL, di, err) || h5_read_f32(f, name, &v, &nd, dv, err) ? -1 : 0;
        if (!rc && (nd != 2 || dv[0] != di[0] || dv[1] != TEST_DIM))
            rc = mer_errf(err, "%s: '%s' has the wrong shape", path, name);
        for (size_t i = 0; !rc && i < di[0]; i++) {
            if (index[i] < 0 || (size_t)index[i] >= p->samples.n) {
                rc = mer_errf(err, "%s: sample index %lld out of range", path, (long long)index[i]);
                break;
            }
            memcpy(all + (size_t)index[i] * TEST_DIM, v + i * TEST_DIM, TEST_DIM * sizeof *v);
            have[index[i]] = 1;
        }
        free(index);
        free(v);
        h5_close(f, NULL);
        if (rc) return -1;
    }
    return 0;
}

static int exec_features(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx,
                         mer_err *err) {
    log_execution(t);
    const mer_plan *p = ctx->plan;
    size_t ns = p->samples.n, n = 0;
    float *all = mer_calloc(ns * TEST_DIM, sizeof *all, err), *feat = mer_calloc(ns * TEST_DIM, sizeof *feat, err);
    uint8_t *have = mer_calloc(ns, 1, err);
    int64_t *index = mer_calloc(ns, sizeof *index, err);
    const char **ids = mer_calloc(ns, sizeof *ids, err);
    int rc = -1;
    if (!all || !feat || !have || !index || !ids || gather(all, have, t, ex, n_ex, "x", ctx, err) < 0) goto done;
    float gain = 1.0f + 0.1f * (float)t->cfg->mag_start;
    for (size_t i = t->sample_begin; i < t->sample_end; i++) {
        if (!have[i]) continue;
        for (int d = 0; d < TEST_DIM; d++) feat[n * TEST_DIM + d] = gain * all[i * TEST_DIM + d];
        index[n] = (int64_t)i;
        ids[n] = p->samples.id[i];
        n++;
    }
    rc = finish_task(out, "feat", index, ids, feat, n, ctx, err);
done:
    free(all);
    free(feat);
    free(have);
    free(index);
    free(ids);
    return rc;
}

static int exec_train(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx, mer_err *err) {
    log_execution(t);
    const mer_plan *p = ctx->plan;
    const mer_fold none = {0}, *fold = t->fold < 0 ? &none : &p->folds[t->fold]; /* final model: no test fold */
    size_t ns = p->samples.n, C = p->samples.n_classes;
    float *all = mer_calloc(ns * TEST_DIM, sizeof *all, err), *cent = mer_calloc(C * TEST_DIM, sizeof *cent, err);
    float *prob = mer_calloc(fold->n_test * C, sizeof *prob, err);
    uint8_t *have = mer_calloc(ns, 1, err), *is_test = mer_calloc(ns, 1, err);
    double *count = mer_calloc(C, sizeof *count, err);
    int64_t *truth = mer_calloc(fold->n_test, sizeof *truth, err), *pred = mer_calloc(fold->n_test, sizeof *pred, err);
    const char **ids = mer_calloc(fold->n_test, sizeof *ids, err);
    int rc = -1;
    if (!all || !cent || !prob || !have || !is_test || !count || !truth || !pred || !ids ||
        gather(all, have, t, ex, n_ex, "feat", ctx, err) < 0)
        goto done;
    for (size_t k = 0; k < fold->n_test; k++) is_test[fold->test[k]] = 1;
    for (size_t i = 0; i < ns; i++) /* fit on the training subjects only */
        if (have[i] && !is_test[i]) {
            for (int d = 0; d < TEST_DIM; d++) cent[(size_t)p->samples.label[i] * TEST_DIM + d] += all[i * TEST_DIM + d];
            count[p->samples.label[i]] += 1;
        }
    mer_rng r = rng_derive(t->rng_seed, 1);
    float jitter = 0.3f + 0.05f * (float)t->cfg->attn_n_rounds;
    for (size_t c = 0; c < C; c++)
        for (int d = 0; d < TEST_DIM; d++)
            cent[c * TEST_DIM + d] = (count[c] > 0 ? cent[c * TEST_DIM + d] / (float)count[c] : 0) + jitter * rng_normal(&r);
    int epochs = t->cfg->train_epochs > 0 ? t->cfg->train_epochs : 1;
    for (int e = 0; e < epochs; e++) /* the epoch boundary is the safe point */
        if (pseudo_work(task_ms() / epochs, ctx)) {
            rc = STAGE_INTERRUPTED;
            goto done;
        }
    size_t n = 0;
    for (size_t k = 0; k < fold->n_test; k++) {
        size_t i = fold->test[k];
        if (!have[i]) continue;
        double logit[64], mx = -INFINITY, z = 0;
        size_t best = 0;
        for (size_t c = 0; c < C && c < 64; c++) {
            double d2 = 0;
            for (int d = 0; d < TEST_DIM; d++) {
                double diff = all[i * TEST_DIM + d] - cent[c * TEST_DIM + d];
                d2 += diff * diff;
            }
            logit[c] = -0.5 * d2;
            if (logit[c] > mx) mx = logit[c], best = c;
        }
        for (size_t c = 0; c < C; c++) z += exp(logit[c] - mx);
        for (size_t c = 0; c < C; c++) prob[n * C + c] = (float)(exp(logit[c] - mx) / z);
        truth[n] = p->samples.label[i];
        pred[n] = (int64_t)best;
        ids[n] = p->samples.id[i];
        n++;
    }
    size_t dp[2] = {n, C}, dc[2] = {C, TEST_DIM};
    rc = (t->fold >= 0 && (h5_write_strs(out, "pred/sample", ids, n, err) ||
                           h5_write_i64(out, "pred/truth", truth, 1, &n, err) ||
                           h5_write_i64(out, "pred/pred", pred, 1, &n, err) ||
                           h5_write_f32(out, "pred/prob", prob, 2, dp, err))) ||
                 h5_write_f32(out, "weights/head/centroids", cent, 2, dc, err)
             ? -1
             : 0;
done:
    free(all);
    free(cent);
    free(prob);
    free(have);
    free(is_test);
    free(count);
    free(truth);
    free(pred);
    free(ids);
    return rc;
}

const stage_impl stage_test_impl = {
    .name = "test",
    .chunk = {1, 2},
    .load = test_load,
    .unload = test_unload,
    .key_prefixes = test_key_prefixes,
    .cost = test_cost,
    .execute = {exec_prep, exec_features, exec_train},
};
