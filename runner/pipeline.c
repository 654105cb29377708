/* The real pipeline behind `mer run` (runner/stage.h): the method of CN114743235A as three cached stages.
 *
 *   PREP      one sample per task: decode the onset and apex frames (io/media/video.h), find the face and its 68
 *             landmarks on the onset frame (core/face/face.h), align and crop both frames (core/prep.h); where
 *             dataset.apex asks for it, the apex is spotted first on the aligned onset..offset frames
 *             (core/spot/apex.h); LBP-TOP with magnify.method none: T aligned frames from onset to apex too.
 *             File: /index i64 (1), /prep/... (core/prep.h layout).
 *   FEATURES  a chunk of samples per task: the onset->apex motion magnified at the schedule's T factors
 *             (core/magnify/magnify.h), optionally minus the onset frame (model.input = difference) or
 *             replaced by the onset->frame TV-L1 flow u, v and its optical strain (flow: core/flow/tvl1.h), then
 *             frozen backbone: ResNet-18 features of every frame (core/models/resnet18.h, eval mode);
 *             finetune: the prepared network input itself (the backbone is trained in TRAIN);
 *             model.backbone.kind lbptop: the LBP-TOP histogram of the T prepared frames (grey, BT.601) as
 *             one row (core/baseline/lbptop.h); with magnify.method none these are prep's T unmagnified
 *             frames from onset to apex (the baseline's usual input), not the apex T times.
 *             File: /index i64 (n), /sample strs (n), /factors f64 (T), and /feat f32 (n, T, 512) and
 *             /onset_feat f32 (n, 512) (frozen: the onset frame's features too, for model.head.features),
 *             /feat f32 (n, 1, D) (lbptop: D = lbptop_feature_len) or /x f32 (n, T, 3*S*S) and /x_onset
 *             (n, 3*S*S) (finetune and bn_stats adapt_train: each frame (3, S, S), normalised as the backbone
 *             takes it).
 *             bn_stats adapt: one task over all samples re-estimates the BatchNorm statistics on every
 *             sample's frames (resnet18_adapt_bn, transductive but label-free) before any feature; they are
 *             kept as /backbone_buffers/<name> f32.
 *   TRAIN     one LOSO (or k-fold) fold per task, on the training subjects, evaluated on the held-out subject:
 *             frozen: the LSH attention head (core/models/lsh_head.h) on the cached features (bn_stats
 *             adapt_train: first this fold's BatchNorm statistics from its training subjects and every sample's
 *             features; model.head.features: minus the onset frame's or the mean features, then standardised);
 *             finetune: ResNet-18 + head end to end (core/models/recnet.h); lbptop: a multinomial logistic
 *             regression or linear SVM (model.lbptop.classifier) on the standardised histograms
 *             (train_linear, core/train.h); all with the train.*
 *             optimiser settings.
 *             File: /pred/... (runner/stage.h), /weights/head/... (lbptop: logreg_save's layout),
 *             /weights/backbone_buffers/<name> (bn_stats adapt, adapt_train: the statistics its features had),
 *             /weights/backbone/... (finetune with
 *             output.save_backbone), optional /selection/epoch, /oracle/... (LEAKY).
 *
 * Determinism: every random choice is seeded from the task's rng_seed, except the randomly initialised
 * frozen backbone, which is seeded from the hash of the model.backbone settings so every FEATURES chunk
 * (and every run) uses the same network.
 *
 * The frozen backbone is what makes features cacheable: a sweep over head or training settings reuses the
 * FEATURES files. With finetune the FEATURES files hold the magnified frames instead (4.8 MB per sample at
 * 32 frames of 112x112) and every TRAIN task trains a ResNet-18: on CPU that is hours per fold at the
 * patent's sizes, so run it on many ranks.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "core/models/lsh_head.h"
#include "core/magnify/magnify.h"
#include "core/models/recnet.h"
#include "core/prep.h"
#include "core/models/resnet18.h"
#include "core/train.h"
#include "io/base/rng.h"
#include "core/magnify/factors.h"
#include "io/data/dataset.h"
#include "io/h5.h"
#include "io/base/log.h"
#include "runner/core_options.h"
#include "runner/pipeline.h"
#include "runner/plan.h"

/* Per-process state: the dataset and the models loaded lazily by the first task that needs them. */
typedef struct {
    dataset ds;
    face_models *faces;  /* loaded for the preprocess.cascade / preprocess.landmarks below */
    char *faces_key;
} pipe_data;

static void free_faces(pipe_data *pd) {
    face_models_free(pd->faces);
    pd->faces = NULL;
    free(pd->faces_key);
    pd->faces_key = NULL;
}

/* ---- load --------------------------------------------------------------------------------------- */

static char *dup_or_fail(const char *s, int *bad) {
    char *d = strdup(s ? s : "");
    if (!d) *bad = 1;
    return d;
}

/* The apex PREP is asked for: dataset.apex spotted ignores the annotation (-1: spot it); annotated passes it
 * (-1 where missing) and prep spots where it lies outside the clip; middle got the midpoint from the reader. */
static int prep_apex(const mer_config *cfg, const ds_sample *s) {
    return cfg->dataset_apex == CFG_APEX_SPOTTED ? -1 : s->apex;
}

static int pipe_load(void **data, mer_samples *s, const mer_config *cfg, mer_err *err) {
    memset(s, 0, sizeof *s);
    *data = NULL;
    pipe_data *pd = mer_calloc(1, sizeof *pd, err);
    if (!pd) return -1;
    if (dataset_load(&pd->ds, cfg, err) < 0) {
        free(pd);
        return -1;
    }
    /* Annotation errors stop the run before it starts. Unreadable frames and faces that are not found
     * are per-sample failures of the PREP stage instead: reported, and the run goes on without them. */
    size_t n_errors = dataset_count(&pd->ds, DS_ERROR);
    if (n_errors > 0) {
        const ds_problem *first = NULL;
        for (size_t k = 0; k < pd->ds.n_problems && !first; k++)
            if (pd->ds.problems[k].severity == DS_ERROR) first = &pd->ds.problems[k];
        char where[1100] = "";
        if (first->file && first->line > 0) snprintf(where, sizeof where, "%s:%d: ", first->file, first->line);
        else if (first->file) snprintf(where, sizeof where, "%s: ", first->file);
        mer_errf(err, "the dataset does not check: %zu error(s), the first: %s%s (run `mer data check CONFIG` "
                      "for the full report, fix the sheet or exclude the samples with dataset.exclude)",
                 n_errors, where, first->msg);
        dataset_free(&pd->ds);
        free(pd);
        return -1;
    }
    const dataset *d = &pd->ds;
    int bad = 0;
    s->dataset_name = dup_or_fail(d->name, &bad);
    s->n = d->n;
    s->id = mer_calloc(d->n, sizeof *s->id, err);
    s->subject = mer_calloc(d->n, sizeof *s->subject, err);
    s->label = mer_calloc(d->n, sizeof *s->label, err);
    s->classes = mer_calloc(d->n_classes, sizeof *s->classes, err);
    s->annotation = mer_calloc(d->n, sizeof *s->annotation, err);
    s->n_classes = d->n_classes;
    if (!s->id || !s->subject || !s->label || !s->classes || !s->annotation) bad = 1;
    for (size_t i = 0; !bad && i < d->n; i++) {
        s->id[i] = dup_or_fail(d->s[i].id, &bad);
        s->subject[i] = dup_or_fail(d->s[i].subject, &bad);
        s->label[i] = d->s[i].label;
        char a[96]; /* the frames PREP reads (the reader's corrections applied) */
        snprintf(a, sizeof a, "onset %d apex %d offset %d", d->s[i].onset, prep_apex(cfg, &d->s[i]), d->s[i].offset);
        s->annotation[i] = dup_or_fail(a, &bad);
    }
    for (size_t c = 0; !bad && c < d->n_classes; c++) s->classes[c] = dup_or_fail(d->classes[c], &bad);
    if (bad) {
        mer_samples_free(s);
        dataset_free(&pd->ds);
        free(pd);
        return mer_errf(err, "out of memory listing the samples");
    }
    log_info("dataset %s: %zu samples, %zu subjects, %zu classes", d->name, d->n, d->n_subjects, d->n_classes);
    if (cfg->dataset_apex == CFG_APEX_ANNOTATED) { /* missing apexes: spotted by PREP (core/prep.h) */
        char names[400] = "";
        size_t k = 0, len = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->s[i].apex < 0 && k++ < 5 && len < sizeof names)
                len += (size_t)snprintf(names + len, sizeof names - len, "%s%s", k > 1 ? ", " : "", d->s[i].id);
        if (k)
            log_warn("dataset.apex annotated: %zu sample(s) have no apex and get a spotted one (%s%s; `mer data "
                     "check` lists them)", k, names, k > 5 ? ", ..." : "");
    }
    *data = pd;
    return 0;
}

static void pipe_unload(void *data) {
    pipe_data *pd = data;
    if (!pd) return;
    free_faces(pd);
    dataset_free(&pd->ds);
    free(pd);
}

/* ---- keys and costs ------------------------------------------------------------------------------ */

static const char *const PREP_KEYS[] = {"dataset", "preprocess"};
/* LBP-TOP on unmagnified frames: prep keeps the onset->apex sequence too, as many frames as the ramp has
 * factors (runner/core_options.h options_sequence); the other points' prep results stay shared */
static const char *const PREP_SEQUENCE_KEYS[] = {"dataset", "preprocess", "magnify.method", "magnify.schedule",
                                                 "model.backbone.kind"};
static const char *const FEATURE_KEYS[] = {"dataset", "preprocess", "magnify", "model.input", "model.backbone"};
/* model.input = flow: the flow settings too (only then, so other inputs' features survive a flow sweep) */
static const char *const FLOW_FEATURE_KEYS[] = {"dataset",     "preprocess",     "magnify",
                                                "model.input", "model.backbone", "model.flow"};
/* eval.* but final_model: asking for a final model adds tasks and leaves the folds' results cached */
static const char *const TRAIN_KEYS[] = {"dataset",       "preprocess",    "magnify",        "model",
                                         "train",         "eval.protocol", "eval.folds",     "eval.selection",
                                         "eval.inner_val_fraction",        "eval.oracle_epoch", "seed"};

/* LBP-TOP depends on its own settings, not on the ResNet-18 or head ones: its points share FEATURES (and
 * TRAIN) tasks across those, and a sweep over them does not repeat the baseline. Its classifier
 * (model.lbptop.classifier) is a TRAIN setting: switching it reuses the histograms. */
static const char *const LBPTOP_FEATURE_KEYS[] = {"dataset", "preprocess", "magnify", "model.input",
                                                  "model.backbone.kind", "model.lbptop.grid", "model.lbptop.radius",
                                                  "model.lbptop.neighbours", "model.lbptop.mapping"};
static const char *const LBPTOP_TRAIN_KEYS[] = {
    "dataset", "preprocess", "magnify", "model.input", "model.backbone.kind", "model.lbptop", "train", "eval.protocol",
    "eval.folds", "eval.selection", "eval.inner_val_fraction", "eval.oracle_epoch", "seed"};

static int is_lbptop(const mer_config *cfg) { return cfg->model_backbone_kind == CFG_BACKBONE_LBPTOP; }
static int is_finetune(const mer_config *cfg) { return !is_lbptop(cfg) && cfg->model_backbone == CFG_BACKBONE_FINETUNE; }

static size_t pipe_key_prefixes(const char **prefixes, size_t max, const mer_config *cfg, stage_kind kind) {
    if (kind == STAGE_PREP && options_sequence(cfg)) return STAGE_KEYS_PUT(prefixes, max, PREP_SEQUENCE_KEYS);
    if (kind == STAGE_PREP) return STAGE_KEYS_PUT(prefixes, max, PREP_KEYS);
    if (kind == STAGE_FEATURES && is_lbptop(cfg)) return STAGE_KEYS_PUT(prefixes, max, LBPTOP_FEATURE_KEYS);
    if (kind == STAGE_FEATURES && cfg->model_input == CFG_MODEL_INPUT_FLOW)
        return STAGE_KEYS_PUT(prefixes, max, FLOW_FEATURE_KEYS);
    if (kind == STAGE_FEATURES) return STAGE_KEYS_PUT(prefixes, max, FEATURE_KEYS);
    if (is_lbptop(cfg)) return STAGE_KEYS_PUT(prefixes, max, LBPTOP_TRAIN_KEYS);
    size_t n = STAGE_KEYS_PUT(prefixes, max, TRAIN_KEYS);
    /* finetune: a fold's file holds the trained backbone only with output.save_backbone, so asking for it
     * later must train again (else mer export finds no backbone in a run that asked for one) */
    if (is_finetune(cfg) && n < max) prefixes[n++] = "output.save_backbone";
    return n;
}

static int n_factors(const mer_config *cfg) {
    return cfg->mag_list.n ? (int)cfg->mag_list.n : cfg->mag_count;
}

/* Rough seconds on one core: relative sizes drive longest-first scheduling and the ETA. */
static double pipe_cost(const mer_task *t, const mer_plan *plan) {
    const mer_config *c = t->cfg;
    double n = (double)(t->sample_end - t->sample_begin);
    if (t->kind == STAGE_PREP) return 0.05 * n;
    if (t->kind == STAGE_FEATURES && is_lbptop(c)) /* ~3 planes x 8 bilinear samples x 10 flops per voxel */
        return n * n_factors(c) * c->prep_size * c->prep_size * 240.0 / 1e9;
    /* the adaptation pass: 17 partial forward passes, about 9 full ones, on the slower reference path */
    const double adapt_passes = 12, fwd = resnet18_forward_macs(c->prep_size, c->prep_size, 0);
    if (t->kind == STAGE_FEATURES) {
        double macs = fwd * (n_factors(c) + 1) * n;
        if (c->model_bn_stats == CFG_BN_STATS_ADAPT) macs *= 1 + adapt_passes;
        if (c->model_bn_stats == CFG_BN_STATS_ADAPT_TRAIN || is_finetune(c)) macs = 0; /* inputs only */
        double flow = 0;
        if (c->model_input == CFG_MODEL_INPUT_FLOW) /* TV-L1 at the defaults: ~3.5 us per pixel (64-112 px) */
            flow = 3.5e-6 * c->prep_size * c->prep_size * (c->flow_warps / 5.0) * n_factors(c) * n;
        return macs * 2 / 40e9 + flow; /* ~40 GFLOP/s per core */
    }
    double n_train = (double)(plan->samples.n - (t->fold < 0 ? 0 : plan->folds[t->fold].n_test));
    if (is_lbptop(c)) {
        lbptop_options lo = options_lbptop(c);
        return c->train_epochs * n_train * (double)lbptop_feature_len(&lo) * (double)plan->samples.n_classes * 4 / 1e9;
    }
    double per = (double)n_factors(c) * (512.0 * 3 * c->attn_d + (512.0 + c->attn_d) * c->head_hidden) * 6;
    if (is_finetune(c)) per += fwd * n_factors(c) * 6;
    double extra = 0; /* adapt_train: this fold's adaptation on its training samples, then every feature */
    if (c->model_bn_stats == CFG_BN_STATS_ADAPT_TRAIN)
        extra = fwd * 2 / 40e9 * (n_train * n_factors(c) * adapt_passes + (double)plan->samples.n * (n_factors(c) + 1));
    return c->train_epochs * n_train * per / 10e9 + extra;
}

/* ---- PREP ---------------------------------------------------------------------------------------- */

static int ensure_faces(pipe_data *pd, const mer_config *cfg, mer_err *err) {
    char key[8192];
    snprintf(key, sizeof key, "%s\n%s", cfg->prep_cascade, cfg->prep_landmarks);
    if (pd->faces && pd->faces_key && !strcmp(pd->faces_key, key)) return 0;
    free_faces(pd);
    if (face_models_load(&pd->faces, cfg->prep_cascade, cfg->prep_landmarks, err) < 0) return -1;
    pd->faces_key = strdup(key);
    return pd->faces_key ? 0 : mer_errf(err, "out of memory");
}

static int exec_prep(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx, mer_err *err) {
    pipe_data *pd = ctx->data;
    if (ensure_faces(pd, t->cfg, err) < 0) return -1;
    prep_opts o;
    o = options_prep(t->cfg);
    o.threads = 1;
    size_t cap = t->sample_end - t->sample_begin, n = 0;
    int64_t *index = mer_calloc(cap, sizeof *index, err);
    if (!index) return -1;
    for (size_t i = t->sample_begin; i < t->sample_end; i++) {
        if (stage_sample_excluded(i, ex, n_ex)) continue;
        if (stage_should_stop(ctx)) {
            free(index);
            return STAGE_INTERRUPTED;
        }
        const ds_sample *s = &pd->ds.s[i];
        prep_result r;
        const int apex = prep_apex(t->cfg, s);
        if (prep_sample(&r, s->path, s->onset, apex, s->offset, &o, pd->faces, err) < 0) {
            free(index);
            return mer_err_prefix(err, "sample %s", s->id);
        }
        if (r.apex_spotted && apex >= 0)
            log_warn("sample %s: annotated apex %d is not a frame of the clip from the onset %d on: spotted apex %d "
                     "used", s->id, apex, s->onset, r.apex_frame);
        char group[64];
        snprintf(group, sizeof group, "prep/%zu", n);
        int rc = prep_result_write(out, group, &r, err);
        prep_result_free(&r);
        if (rc < 0) {
            free(index);
            return -1;
        }
        index[n++] = (int64_t)i;
    }
    int rc = h5_write_i64(out, "index", index, 1, &n, err);
    free(index);
    return rc;
}

/* ---- FEATURES ------------------------------------------------------------------------------------ */

/* Find sample i's prep result among the task's dependencies. 1 found, 0 not found, -1 error. */
static int read_prep(prep_result *r, const mer_task *t, size_t i, const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    for (size_t k = 0; k < t->n_deps; k++) {
        const mer_task *dep = &p->tasks[t->deps[k]];
        if (i < dep->sample_begin || i >= dep->sample_end) continue;
        char path[4096];
        task_output_path(path, sizeof path, p, dep);
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) return -1;
        int64_t *index = NULL;
        size_t d[H5_MAX_DIMS];
        int found = 0;
        if (h5_read_i64(f, "index", &index, NULL, d, err) < 0) {
            h5_close(f, NULL);
            return -1;
        }
        for (size_t j = 0; j < d[0] && !found; j++) {
            if ((size_t)index[j] != i) continue;
            char group[64];
            snprintf(group, sizeof group, "prep/%zu", j);
            found = prep_result_read(r, f, group, err) < 0 ? -1 : 1;
        }
        free(index);
        h5_close(f, NULL);
        if (found) return found;
    }
    return 0;
}

/* (S,S,C) uint8 -> (S,S,3) uint8 (grey frames are replicated: the backbone takes RGB). */
static int as_rgb(uint8_t **rgb, const mer_image *im, mer_err *err) {
    size_t px = (size_t)im->w * (size_t)im->h;
    *rgb = mer_malloc(px * 3, err);
    if (!*rgb) return -1;
    for (size_t k = 0; k < px; k++)
        for (int c = 0; c < 3; c++) (*rgb)[k * 3 + c] = im->px[k * (size_t)im->c + (im->c == 3 ? (size_t)c : 0)];
    return 0;
}

int pipeline_backbone_create(resnet18 **net, int *normalize, const mer_config *cfg, uint64_t *seed, mer_err *err) {
    if (resnet18_create(net, 0, err) < 0) return -1;
    *normalize = cfg->model_backbone_weights[0] != 0;
    if (seed) *seed = 0;
    if (*normalize) {
        if (resnet18_load_weights(*net, cfg->model_backbone_weights, err) < 0) {
            resnet18_free(*net);
            *net = NULL;
            return mer_err_prefix(err, "model.backbone.weights");
        }
        return 0;
    }
    /* not bn_stats: adapting the statistics must not change the random weights they are adapted for */
    static const char *const keys[] = {"model.backbone.mode", "model.backbone.weights"};
    char *text = config_to_string(cfg, keys, 2);
    if (!text) {
        resnet18_free(*net);
        *net = NULL;
        return mer_errf(err, "out of memory");
    }
    uint64_t h = fnv1a64(text, strlen(text), FNV1A64_INIT);
    resnet18_init_kaiming(*net, h);
    if (seed) *seed = h;
    free(text);
    return 0;
}

int pipeline_features_init(pipeline_features *pf, const mer_config *cfg, magnet_model *mag, resnet18 *net,
                           int normalize, mer_err *err) {
    memset(pf, 0, sizeof *pf);
    pf->mag = mag;
    pf->net = net;
    pf->normalize = normalize;
    pf->inputs_only = is_finetune(cfg) || cfg->model_bn_stats == CFG_BN_STATS_ADAPT_TRAIN;
    pf->lbptop = is_lbptop(cfg);
    pf->sequence = options_sequence(cfg) > 0;
    pf->lbp = options_lbptop(cfg);
    pf->S = cfg->prep_size;
    pf->method = options_magnify(cfg).method;
    pf->input = options_input(cfg);
    pf->flow = options_flow(cfg);
    if (options_factors(&pf->factors, &pf->T, cfg, err) < 0) {
        pipeline_features_free(pf);
        return -1;
    }
    if (pf->lbptop && lbptop_check(&pf->lbp, pf->T, pf->S, pf->S, err) < 0) {
        pipeline_features_free(pf);
        return -1;
    }
    const size_t frame_floats = (size_t)3 * pf->S * pf->S;
    pf->R = pf->lbptop ? 1 : (size_t)pf->T;
    pf->D = pf->lbptop ? lbptop_feature_len(&pf->lbp) : pf->inputs_only ? frame_floats : RESNET18_FEATURES;
    pf->frames = mer_malloc((size_t)pf->T * frame_floats * sizeof *pf->frames, err);
    pf->x = mer_malloc(((size_t)pf->T + 1) * frame_floats * sizeof *pf->x, err);
    pf->onset_f = mer_malloc(frame_floats * sizeof *pf->onset_f, err);
    pf->apex_f = mer_malloc(frame_floats * sizeof *pf->apex_f, err);
    pf->ff = mer_malloc(((size_t)pf->T + 1) * RESNET18_FEATURES * sizeof *pf->ff, err);
    pf->onset = mer_malloc(pf->D * sizeof *pf->onset, err);
    if (!pf->frames || !pf->x || !pf->onset_f || !pf->apex_f || !pf->ff || !pf->onset ||
        (!pf->inputs_only && !pf->lbptop && !net) ||
        (pf->method == MAGNIFY_NETWORK && !mag)) {
        if (pf->frames && pf->x && pf->onset_f && pf->apex_f && pf->ff && pf->onset)
            mer_errf(err, "the features stage lacks its backbone or MagNet");
        pipeline_features_free(pf);
        return -1;
    }
    return 0;
}

int pipeline_features_open(pipeline_features *pf, const mer_config *cfg, mer_err *err) {
    const magnify_options mo = options_magnify(cfg);
    magnet_model *mag = NULL;
    resnet18 *net = NULL;
    int normalize = cfg->model_backbone_weights[0] != 0;
    if (magnify_load_model(&mag, &mo, err) < 0) return -1;
    /* finetune, adapt_train: the inputs only, the backbone is trained / adapted per fold in TRAIN */
    if (!is_finetune(cfg) && !is_lbptop(cfg) && cfg->model_bn_stats != CFG_BN_STATS_ADAPT_TRAIN &&
        pipeline_backbone_create(&net, &normalize, cfg, NULL, err) < 0) {
        magnify_model_free(mag);
        return -1;
    }
    return pipeline_features_init(pf, cfg, mag, net, normalize, err);
}

void pipeline_features_free(pipeline_features *pf) {
    free(pf->factors);
    magnify_model_free(pf->mag);
    resnet18_free(pf->net);
    free(pf->frames);
    free(pf->x);
    free(pf->onset_f);
    free(pf->apex_f);
    free(pf->ff);
    free(pf->onset);
    memset(pf, 0, sizeof *pf);
}

/* The prep result's T onset->apex frames (S,S,C) uint8 -> (T,3,S,S) floats in [0,1] (grey replicated). */
static int sequence_frames(float *frames, const prep_result *r, int T, int S, mer_err *err) {
    if (r->n_seq != T)
        return mer_errf(err, "the prep result has %d onset->apex frames, LBP-TOP with magnify.method none reads %d "
                             "(a prep result of another run? run mer again to recompute it)", r->n_seq, T);
    const size_t plane = (size_t)S * S, C = (size_t)r->onset.c;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < 3; c++)
            for (size_t k = 0; k < plane; k++) {
                const uint8_t v = r->seq[((size_t)t * plane + k) * C + (C == 3 ? (size_t)c : 0)];
                frames[((size_t)t * 3 + c) * plane + k] = v / 255.0f;
            }
    return 0;
}

int pipeline_features_input(pipeline_features *pf, const prep_result *r, mer_err *err) {
    const int S = pf->S;
    uint8_t *onset = NULL, *apex = NULL;
    int ok = r->onset.w == S && r->onset.h == S && r->apex.w == S && r->apex.h == S;
    if (!ok) mer_errf(err, "prep result has size %dx%d, expected %d", r->onset.w, r->onset.h, S);
    ok = ok && as_rgb(&onset, &r->onset, err) == 0 && as_rgb(&apex, &r->apex, err) == 0;
    if (ok && pf->sequence) /* LBP-TOP, magnify.method none: the unmagnified onset->apex frames */
        ok = sequence_frames(pf->frames, r, pf->T, S, err) == 0;
    else if (ok)
        ok = magnify_sequence(pf->frames, onset, apex, S, S, pf->factors, pf->T, pf->method, pf->mag, err) == 0;
    if (ok) {
        /* (S,S,3) uint8 -> (3,S,S) in [0,1]: the onset for model.input = difference and flow, the apex for
         * flow with T = 1 (the onset->apex flow of flow-based MER, not the flow to a magnified frame) */
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < S * S; k++) {
                pf->onset_f[(size_t)c * S * S + k] = onset[(size_t)k * 3 + c] / 255.0f;
                pf->apex_f[(size_t)c * S * S + k] = apex[(size_t)k * 3 + c] / 255.0f;
            }
        float *x_onset = pf->x + (size_t)pf->T * 3 * S * S; /* the onset frame's input (head.features) */
        if (pf->input != INPUT_FLOW) {
            recnet_prepare_input(pf->x, pf->frames, pf->onset_f, 1, pf->T, S, S, pf->input, pf->normalize);
            recnet_prepare_input(x_onset, pf->onset_f, pf->onset_f, 1, 1, S, S, pf->input, pf->normalize);
        } else {
            ok = recnet_prepare_flow(pf->x, pf->T == 1 ? pf->apex_f : pf->frames, pf->onset_f, 1, pf->T, S, S,
                                     &pf->flow, pf->normalize, err) == 0;
            memset(x_onset, 0, sizeof(float) * 3 * S * S); /* the onset's flow to itself: none */
        }
    }
    free(onset);
    free(apex);
    return ok ? 0 : -1;
}

int pipeline_features_forward(pipeline_features *pf, float *row, mer_err *err) {
    const size_t TD = (size_t)pf->T * pf->D;
    if (pf->lbptop) { /* LBP codes compare grey values; frames is free again: T*S*S of its floats */
        memset(pf->onset, 0, pf->D * sizeof *row); /* no onset row: head.features is for the network */
        lbptop_grey_from_planar_rgb(pf->frames, pf->x, pf->T, pf->S, pf->S);
        return lbptop_features(row, pf->frames, pf->T, pf->S, pf->S, &pf->lbp, err);
    }
    if (pf->inputs_only) {
        memcpy(row, pf->x, TD * sizeof *row);
        memcpy(pf->onset, pf->x + TD, pf->D * sizeof *row);
        return 0;
    }
    /* the T frames and the onset frame in one batch */
    if (resnet18_forward(pf->net, pf->ff, NULL, pf->x, pf->T + 1, pf->S, pf->S, 0, err) < 0) return -1;
    memcpy(row, pf->ff, TD * sizeof *row);
    memcpy(pf->onset, pf->ff + TD, pf->D * sizeof *row);
    return 0;
}

int pipeline_features_of(pipeline_features *pf, float *row, const prep_result *r, mer_err *err) {
    return pipeline_features_input(pf, r, err) < 0 ? -1 : pipeline_features_forward(pf, row, err);
}

static int task_should_stop(const void *ctx) { return stage_should_stop(ctx); }

int pipeline_bn_buffers_save(hid_t out, const char *group, resnet18 *net, mer_err *err) {
    const nn_table *tab = resnet18_table(net);
    int rc = 0;
    for (int i = 0; !rc && i < tab->n; i++) {
        if (tab->t[i].trainable) continue;
        char path[NN_NAME_MAX + 64];
        snprintf(path, sizeof path, "%s/%s", group, tab->t[i].name);
        size_t d[4];
        for (int k = 0; k < tab->t[i].ndim; k++) d[k] = tab->t[i].dims[k];
        rc = h5_write_f32(out, path, nn_table_data(tab, i), tab->t[i].ndim, d, err) < 0 ? -1 : 0;
    }
    return rc;
}

int pipeline_bn_buffers_load(resnet18 *net, hid_t g, mer_err *err) {
    nn_table *tab = resnet18_table(net);
    int rc = 0;
    for (int i = 0; !rc && i < tab->n; i++)
        if (!tab->t[i].trainable) rc = h5_read_f32_into(g, tab->t[i].name, nn_table_data(tab, i), tab->t[i].numel, err);
    resnet18_weights_changed(net);
    return rc < 0 ? -1 : 0;
}

/* bn_stats adapt: the FEATURES task's adapted statistics (one task holds them all) into a TRAIN task's file. */
static int copy_bn_buffers(hid_t out, const mer_task *t, const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    for (size_t k = 0; k < t->n_deps; k++) {
        const mer_task *dep = &p->tasks[t->deps[k]];
        if (dep->kind != STAGE_FEATURES) continue;
        char path[4096];
        task_output_path(path, sizeof path, p, dep);
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) return -1;
        int rc = !h5_exists(f, "backbone_buffers") ? 0 : h5_copy(f, "backbone_buffers", out, "weights/backbone_buffers", err);
        h5_close(f, NULL);
        return rc < 0 ? -1 : 0;
    }
    return 0;
}

/* Images per chunk of the BatchNorm adaptation pass (fixed: the statistics depend on it by rounding only,
 * but a fixed value keeps them bit-identical everywhere). */
#define ADAPT_CHUNK 16

static int exec_features(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx,
                         mer_err *err) {
    const mer_plan *p = ctx->plan;
    pipeline_features pf;
    size_t cap = t->sample_end - t->sample_begin, n = 0;
    float *feat = NULL, *onset_feat = NULL, *xs = NULL, *xon = NULL;
    int64_t *index = NULL;
    const char **ids = NULL;
    int rc = -1;
    /* bn_stats adapt: every sample's network input (its T frames in xs, its onset frame in xon) is kept for
     * the adaptation pass before any feature is computed */
    const int adapt = t->cfg->model_bn_stats == CFG_BN_STATS_ADAPT && !is_lbptop(t->cfg);
    if (pipeline_features_open(&pf, t->cfg, err) < 0) return -1;
    const size_t row = pf.R * pf.D, frame = (size_t)3 * pf.S * pf.S;
    feat = mer_malloc(cap * row * sizeof *feat, err);
    onset_feat = mer_malloc(cap * pf.D * sizeof *onset_feat, err);
    if (adapt) {
        xs = mer_malloc(cap * (size_t)pf.T * frame * sizeof *xs, err);
        xon = mer_malloc(cap * frame * sizeof *xon, err);
    }
    index = mer_calloc(cap, sizeof *index, err);
    ids = mer_calloc(cap, sizeof *ids, err);
    if (!feat || !onset_feat || (adapt && (!xs || !xon)) || !index || !ids) goto done;
    for (size_t i = t->sample_begin; i < t->sample_end; i++) {
        if (stage_should_stop(ctx)) {
            rc = STAGE_INTERRUPTED;
            goto done;
        }
        if (stage_sample_excluded(i, ex, n_ex)) continue;
        prep_result r;
        int found = read_prep(&r, t, i, ctx, err);
        if (found < 0) goto done;
        if (!found) continue; /* failed in PREP: excluded */
        int bad = pipeline_features_input(&pf, &r, err) < 0;
        if (!bad && adapt) {
            memcpy(xs + n * (size_t)pf.T * frame, pf.x, (size_t)pf.T * frame * sizeof *xs);
            memcpy(xon + n * frame, pf.x + (size_t)pf.T * frame, frame * sizeof *xs);
        } else if (!bad) {
            bad = pipeline_features_forward(&pf, feat + n * row, err) < 0;
            memcpy(onset_feat + n * pf.D, pf.onset, pf.D * sizeof *onset_feat);
        }
        prep_result_free(&r);
        if (bad) {
            mer_err_prefix(err, "sample %s", p->samples.id[i]);
            goto done;
        }
        index[n] = (int64_t)i;
        ids[n] = p->samples.id[i];
        n++;
    }
    if (adapt && n > 0) { /* AdaBN on every sample's frames (not the onset frames), then the features */
        int a = resnet18_adapt_bn(pf.net, xs, n * (size_t)pf.T, pf.S, pf.S, ADAPT_CHUNK, task_should_stop, ctx, err);
        if (a) {
            rc = a < 0 ? -1 : STAGE_INTERRUPTED;
            goto done;
        }
        for (size_t k = 0; k < n; k++) {
            memcpy(pf.x, xs + k * (size_t)pf.T * frame, (size_t)pf.T * frame * sizeof *xs);
            memcpy(pf.x + (size_t)pf.T * frame, xon + k * frame, frame * sizeof *xs);
            if (pipeline_features_forward(&pf, feat + k * row, err) < 0) goto done;
            memcpy(onset_feat + k * pf.D, pf.onset, pf.D * sizeof *onset_feat);
        }
        if (pipeline_bn_buffers_save(out, "backbone_buffers", pf.net, err) < 0) goto done;
    }
    size_t dims[3] = {n, pf.R, pf.D}, dims_on[2] = {n, pf.D};
    size_t nf = (size_t)pf.T;
    rc = h5_write_i64(out, "index", index, 1, &n, err) || h5_write_strs(out, "sample", ids, n, err) ||
                 h5_write_f32(out, pf.inputs_only ? "x" : "feat", feat, 3, dims, err) ||
                 h5_write_f32(out, pf.inputs_only ? "x_onset" : "onset_feat", onset_feat, 2, dims_on, err) ||
                 h5_write_f64(out, "factors", pf.factors, 1, &nf, err)
             ? -1
             : 0;
done:
    pipeline_features_free(&pf);
    free(feat);
    free(onset_feat);
    free(xs);
    free(xon);
    free(index);
    free(ids);
    return rc;
}

/* ---- TRAIN --------------------------------------------------------------------------------------- */

typedef struct {
    float *X;      /* (ns, T, D) features of every sample */
    uint8_t *have; /* (ns) 1 if the sample has features */
    int T, D;
} feature_set;

static void feature_set_free(feature_set *fs) {
    free(fs->X);
    free(fs->have);
}

/* Every sample's rows from the FEATURES files: dataset `name` ("feat", or "x" with finetune and
 * adapt_train; a 2-D dataset such as "onset_feat" or "x_onset" is read as T = 1). */
static int gather_features(feature_set *fs, const char *name, const mer_task *t, const size_t *ex, size_t n_ex,
                           const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    memset(fs, 0, sizeof *fs);
    fs->have = mer_calloc(p->samples.n, 1, err);
    if (!fs->have) return -1;
    for (size_t k = 0; k < t->n_deps; k++) {
        const mer_task *dep = &p->tasks[t->deps[k]];
        /* failed: no file; a final model's fold deps (inner_val) hold no features */
        if (dep->kind != STAGE_FEATURES || !stage_dep_usable(t, dep, ex, n_ex)) continue;
        char path[4096];
        task_output_path(path, sizeof path, p, &p->tasks[t->deps[k]]);
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) return -1;
        int64_t *index = NULL;
        float *v = NULL;
        size_t di[H5_MAX_DIMS], dv[H5_MAX_DIMS];
        int nd = 0;
        int rc = 0;
        if (!h5_exists(f, name)) /* files of a FEATURES task cached by an older mer */
            rc = mer_errf(err, "%s has no '%s' (written by an older mer: delete %s/tasks/features/ to recompute)",
                          path, name, p->output_dir);
        else
            rc = h5_read_i64(f, "index", &index, NULL, di, err) || h5_read_f32(f, name, &v, &nd, dv, err) ? -1 : 0;
        h5_close(f, NULL);
        if (!rc && nd == 2) dv[2] = dv[1], dv[1] = 1, nd = 3;
        if (!rc && (nd != 3 || dv[0] != di[0] || (fs->X && ((int)dv[1] != fs->T || (int)dv[2] != fs->D))))
            rc = mer_errf(err, "%s: '%s' has an unexpected shape", path, name);
        if (!rc && !fs->X && dv[0] > 0) {
            fs->T = (int)dv[1];
            fs->D = (int)dv[2];
            fs->X = mer_calloc(p->samples.n * (size_t)fs->T * (size_t)fs->D, sizeof *fs->X, err);
            if (!fs->X) rc = -1;
        }
        size_t row = (size_t)fs->T * (size_t)fs->D;
        for (size_t i = 0; !rc && i < di[0]; i++) {
            if (index[i] < 0 || (size_t)index[i] >= p->samples.n) {
                rc = mer_errf(err, "%s: sample index %lld out of range", path, (long long)index[i]);
                break;
            }
            memcpy(fs->X + (size_t)index[i] * row, v + i * row, row * sizeof *v);
            fs->have[index[i]] = 1;
        }
        free(index);
        free(v);
        if (rc) return -1;
    }
    if (!fs->X) return mer_errf(err, "no sample has features (every sample failed in an earlier stage)");
    return 0;
}

static int head_options(lsh_head_options *o, const mer_config *cfg, mer_err *err) {
    (void)err;
    *o = options_head(cfg);
    return 0;
}

static int training_options(train_options *o, const mer_config *cfg, uint64_t seed, mer_err *err) {
    *o = train_defaults();
    (void)err;
    o->optim = optim_defaults(options_optimizer(cfg));
    o->optim.momentum = (float)cfg->train_momentum;
    o->optim.weight_decay = (float)cfg->train_weight_decay;
    o->epochs = cfg->train_epochs;
    o->batch_size = cfg->train_batch_size;
    o->lr = (float)cfg->train_lr;
    o->schedule.kind = options_lr_schedule(cfg);
    o->schedule.warmup_epochs = cfg->train_warmup_epochs;
    o->schedule.step_epochs = cfg->train_step_epochs;
    o->schedule.gamma = (float)cfg->train_gamma;
    o->seed = seed;
    return 0;
}

/* The rows of one split, copied out of the feature set. */
typedef struct {
    float *X;
    int *y;
    size_t *sample; /* sample index of each row */
    int n;
} split;

static void split_free(split *s) {
    free(s->X);
    free(s->y);
    free(s->sample);
}

static int make_split(split *sp, const feature_set *fs, const mer_samples *s, const uint8_t *mask, mer_err *err) {
    memset(sp, 0, sizeof *sp);
    size_t row = (size_t)fs->T * (size_t)fs->D, n = 0;
    for (size_t i = 0; i < s->n; i++) n += mask[i] && fs->have[i];
    sp->X = mer_malloc((n ? n : 1) * row * sizeof *sp->X, err);
    sp->y = mer_malloc((n ? n : 1) * sizeof *sp->y, err);
    sp->sample = mer_malloc((n ? n : 1) * sizeof *sp->sample, err);
    if (!sp->X || !sp->y || !sp->sample) return -1;
    for (size_t i = 0; i < s->n; i++) {
        if (!mask[i] || !fs->have[i]) continue;
        memcpy(sp->X + (size_t)sp->n * row, fs->X + i * row, row * sizeof *sp->X);
        sp->y[sp->n] = (int)s->label[i];
        sp->sample[sp->n] = i;
        sp->n++;
    }
    return 0;
}

/* group/{sample, truth, pred, prob} of the test rows from their probabilities prob (n, C). */
static int write_probs(hid_t out, const char *group, const float *prob, const split *test, const mer_samples *s,
                       mer_err *err) {
    int C = (int)s->n_classes, rc = -1;
    size_t n = (size_t)test->n;
    int64_t *truth = mer_malloc((n ? n : 1) * sizeof *truth, err), *pred = mer_malloc((n ? n : 1) * sizeof *pred, err);
    const char **ids = mer_calloc(n ? n : 1, sizeof *ids, err);
    if (!truth || !pred || !ids) goto done;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < C; c++)
            if (prob[i * (size_t)C + c] > prob[i * (size_t)C + best]) best = c;
        truth[i] = test->y[i];
        pred[i] = best;
        ids[i] = s->id[test->sample[i]];
    }
    char path[128];
    size_t dp[2] = {n, (size_t)C};
#define P(name) (snprintf(path, sizeof path, "%s/%s", group, name), path)
    rc = h5_write_strs(out, P("sample"), ids, n, err) || h5_write_i64(out, P("truth"), truth, 1, &n, err) ||
                 h5_write_i64(out, P("pred"), pred, 1, &n, err) || h5_write_f32(out, P("prob"), prob, 2, dp, err)
             ? -1
             : 0;
#undef P
done:
    free(truth);
    free(pred);
    free(ids);
    return rc;
}

static int write_predictions(hid_t out, const char *group, const train_model *m, const split *test,
                             const mer_samples *s, mer_err *err) {
    float *prob = mer_malloc(((size_t)test->n ? (size_t)test->n : 1) * s->n_classes * sizeof *prob, err);
    int rc = !prob || train_model_predict(m, prob, test->X, test->n, err) < 0 ? -1
                                                                            : write_probs(out, group, prob, test, s, err);
    free(prob);
    return rc;
}

/* The feature standardisation a model was trained with (mean NULL: none, finetune), kept with its weights. */
static int write_standardize(hid_t out, const double *mean, const double *sd, int D, mer_err *err) {
    size_t nd = (size_t)D;
    if (!mean) return 0;
    return h5_write_f64(out, "weights/standardize/mean", mean, 1, &nd, err) < 0 ||
                   h5_write_f64(out, "weights/standardize/sd", sd, 1, &nd, err) < 0
               ? -1
               : 0;
}

/* model.backbone.kind lbptop: the linear classifier on the standardised histograms (D floats per sample);
 * its predictions (te NULL: none, a final model) and weights go where the head's do. */
static int fit_linear(hid_t out, linear_loss loss, const train_options *to, const split *tr, const split *te, int D,
                      const mer_samples *s, mer_err *err) {
    logreg_model m;
    if (train_linear(&m, tr->X, tr->y, tr->n, D, (int)s->n_classes, loss, to, err) < 0) return -1;
    int rc = logreg_save(&m, out, "weights/head/", err);
    if (!rc && te) {
        float *prob = mer_malloc(((size_t)te->n ? (size_t)te->n : 1) * s->n_classes * sizeof *prob, err);
        if (prob) logreg_predict_proba(prob, &m, te->X, (size_t)te->n);
        rc = !prob ? -1 : write_probs(out, "pred", prob, te, s, err);
        free(prob);
    }
    logreg_free(&m);
    return rc;
}


/* bn_stats adapt_train: fs holds every sample's frames (n, T, 3*S*S) and fo (if not NULL) its onset input
 * (n, 1, 3*S*S). A frozen backbone (*net) gets BatchNorm statistics estimated on the frames of the samples
 * in `fit` (the task's training subjects), then fs and fo are replaced by the features (n, T, 512),
 * (n, 1, 512) of every sample. 1: interrupted. */
static int adapt_fold_features(resnet18 **net, feature_set *fs, feature_set *fo, const uint8_t *fit,
                               const mer_config *cfg, const run_ctx *ctx, mer_err *err) {
    const size_t ns = ctx->plan->samples.n, frame = (size_t)fs->D, T = (size_t)fs->T;
    const int S = cfg->prep_size;
    if (frame != (size_t)3 * S * S) return mer_errf(err, "adapt_train: frames of %zu floats, expected 3x%dx%d", frame, S, S);
    float *xs = NULL, *x = NULL, *ff = NULL, *F = NULL, *Fo = NULL;
    int normalize, rc = -1;
    size_t n_fit = 0;
    for (size_t i = 0; i < ns; i++) n_fit += fit[i] != 0;
    if (n_fit == 0) return mer_errf(err, "adapt_train: no training sample to adapt on");
    if (pipeline_backbone_create(net, &normalize, cfg, NULL, err) < 0) return -1;
    xs = mer_malloc(n_fit * T * frame * sizeof *xs, err);
    x = mer_malloc((T + 1) * frame * sizeof *x, err);
    ff = mer_malloc((T + 1) * RESNET18_FEATURES * sizeof *ff, err);
    F = mer_calloc(ns * T * RESNET18_FEATURES, sizeof *F, err);
    Fo = mer_calloc(ns * RESNET18_FEATURES, sizeof *Fo, err);
    if (!xs || !x || !ff || !F || !Fo) goto done;
    for (size_t i = 0, k = 0; i < ns; i++)
        if (fit[i]) memcpy(xs + k++ * T * frame, fs->X + i * T * frame, T * frame * sizeof *xs);
    rc = resnet18_adapt_bn(*net, xs, n_fit * T, S, S, ADAPT_CHUNK, task_should_stop, ctx, err);
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        if (!fs->have[i]) continue;
        memcpy(x, fs->X + i * T * frame, T * frame * sizeof *x);
        if (fo) memcpy(x + T * frame, fo->X + i * frame, frame * sizeof *x);
        else memset(x + T * frame, 0, frame * sizeof *x);
        if (resnet18_forward(*net, ff, NULL, x, (int)T + 1, S, S, 0, err) < 0) {
            rc = -1;
            break;
        }
        memcpy(F + i * T * RESNET18_FEATURES, ff, T * RESNET18_FEATURES * sizeof *F);
        memcpy(Fo + i * RESNET18_FEATURES, ff + T * RESNET18_FEATURES, RESNET18_FEATURES * sizeof *F);
    }
    if (rc == 0) {
        free(fs->X), fs->X = F, fs->D = RESNET18_FEATURES, F = NULL;
        if (fo) free(fo->X), fo->X = Fo, fo->D = RESNET18_FEATURES, Fo = NULL;
    }
done:
    free(xs), free(x), free(ff), free(F), free(Fo);
    return rc;
}

/* The final model trains for the median (the lower one of an even count) of the epochs its fold tasks selected
 * on their inner validation subjects; -1 when no fold selected one (then train.epochs). */
static int median_selected_epoch(const mer_task *t, const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    int64_t *e = mer_calloc(t->n_deps ? t->n_deps : 1, sizeof *e, err);
    if (!e) return -2;
    size_t n = 0;
    for (size_t k = 0; k < t->n_deps; k++) {
        const mer_task *dep = &p->tasks[t->deps[k]];
        if (dep->kind != STAGE_TRAIN) continue;
        char path[4096];
        task_output_path(path, sizeof path, p, dep);
        hid_t f;
        if (h5_open(path, 0, &f, err) < 0) {
            free(e);
            return -2;
        }
        int bad = h5_exists(f, "selection/epoch") && h5_read_scalar_i64(f, "selection/epoch", &e[n++], err) < 0;
        h5_close(f, NULL);
        if (bad) {
            free(e);
            return -2;
        }
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a few dozen folds */
        for (size_t j = i; j > 0 && e[j - 1] > e[j]; j--) {
            int64_t x = e[j];
            e[j] = e[j - 1];
            e[j - 1] = x;
        }
    int m = n ? (int)e[(n - 1) / 2] : -1;
    free(e);
    return m;
}

/* Epoch callback of the final model: the selection's (stop requests) and then the epoch limit. */
typedef struct {
    train_selection *sel;
    int last_epoch; /* stop after this epoch (0-based); -1: run train.epochs */
} final_stop;

static int final_on_epoch(void *user, int epoch, double train_loss) {
    final_stop *f = user;
    return train_selection_on_epoch(f->sel, epoch, train_loss) || (f->last_epoch >= 0 && epoch >= f->last_epoch);
}

/* A fold task (fold >= 0): train on the other subjects, predict the fold's test samples into /pred. The
 * final model (fold -1): train on every sample, for train.epochs or (inner_val) the folds' median epoch. */
static int exec_train(hid_t out, const mer_task *t, const size_t *ex, size_t n_ex, const run_ctx *ctx, mer_err *err) {
    const mer_plan *p = ctx->plan;
    const mer_config *cfg = t->cfg;
    const mer_samples *s = &p->samples;
    const int final = t->fold < 0;
    const mer_fold *fold = final ? NULL : &p->folds[t->fold];
    const int C = (int)s->n_classes, finetune = is_finetune(cfg);
    const int adapt_train = cfg->model_bn_stats == CFG_BN_STATS_ADAPT_TRAIN;
    const int minus_onset = cfg->head_features == CFG_HEAD_FEATURES_MINUS_ONSET;
    feature_set fs = {0}, fo = {0}; /* fo: the onset frame's features (or inputs), minus_onset */
    resnet18 *adapted = NULL;       /* adapt_train: this task's backbone, kept with a final model */
    split tr = {0}, va = {0}, te = {0};
    lsh_head *h = NULL;
    resnet18 *bb = NULL;
    recnet net = {0};
    float *cw = NULL;
    double *mean = NULL, *sd = NULL;
    trainer trn = {0};
    train_selection sel = {0};
    int rc = -1, net_ready = 0, last_epoch = -1;
    uint8_t *is_test = mer_calloc(s->n, 1, err), *outer = mer_calloc(s->n, 1, err);
    uint8_t *in_train = mer_calloc(s->n, 1, err), *in_val = mer_calloc(s->n, 1, err);
    if (!is_test || !outer || !in_train || !in_val ||
        gather_features(&fs, finetune || adapt_train ? "x" : "feat", t, ex, n_ex, ctx, err) < 0 ||
        (minus_onset && gather_features(&fo, adapt_train ? "x_onset" : "onset_feat", t, ex, n_ex, ctx, err) < 0))
        goto done;
    for (size_t k = 0; fold && k < fold->n_test; k++) is_test[fold->test[k]] = 1;
    for (size_t i = 0; i < s->n; i++) outer[i] = !is_test[i] && fs.have[i];
    if (adapt_train) { /* this task's BatchNorm statistics from its training subjects, then every feature */
        int r = adapt_fold_features(&adapted, &fs, minus_onset ? &fo : NULL, outer, cfg, ctx, err);
        if (r) {
            rc = r < 0 ? -1 : STAGE_INTERRUPTED;
            goto done;
        }
    }
    if (minus_onset) /* fo.X is (n, 1, D): one reference row per sample */
        train_subtract_reference(fs.X, s->n, fs.T, fs.D, fo.X);
    else if (cfg->head_features == CFG_HEAD_FEATURES_MINUS_MEAN)
        train_subtract_reference(fs.X, s->n, fs.T, fs.D, NULL);
    feature_set_free(&fo);
    memset(&fo, 0, sizeof fo);
    int use_val = !final && cfg->eval_selection == CFG_SELECTION_INNER_VAL;
    if (use_val) {
        if (train_inner_split(in_train, in_val, (const char *const *)s->subject, s->n, outer,
                              cfg->eval_inner_val_fraction, t->rng_seed, err) < 0)
            goto done;
    } else
        memcpy(in_train, outer, s->n);
    if (final && cfg->eval_selection == CFG_SELECTION_INNER_VAL &&
        (last_epoch = median_selected_epoch(t, ctx, err)) < -1)
        goto done;
    /* frozen: standardise the features with the statistics of the samples the head is fitted on (kept with
     * the head: a trained model standardises new clips with them); finetune: the backbone's BatchNorm does
     * that job on the frames */
    if (!finetune) {
        mean = mer_calloc((size_t)fs.D, sizeof *mean, err);
        sd = mer_calloc((size_t)fs.D, sizeof *sd, err);
        if (!mean || !sd || train_standardize(fs.X, s->n * (size_t)fs.T, fs.D, in_train, fs.T, mean, sd, err) < 0)
            goto done;
    }
    if (make_split(&tr, &fs, s, in_train, err) < 0 || make_split(&va, &fs, s, in_val, err) < 0 ||
        make_split(&te, &fs, s, is_test, err) < 0)
        goto done;
    const int T = fs.T, D = fs.D;
    feature_set_free(&fs); /* the splits hold copies (finetune: the frames, the large part) */
    memset(&fs, 0, sizeof fs);
    if (tr.n == 0) {
        rc = mer_errf(err, "%s%s: no training sample has features", final ? "final model" : "fold ",
                      final ? "" : fold->name);
        goto done;
    }
    lsh_head_options ho;
    train_options to;
    if (head_options(&ho, cfg, err) < 0 || training_options(&to, cfg, t->rng_seed, err) < 0) goto done;
    if (cfg->train_class_weights && !(to.class_weights = cw = train_class_weights(tr.y, tr.n, C, err))) goto done;
    if (is_lbptop(cfg)) {
        rc = fit_linear(out, options_linear_loss(cfg), &to, &tr, final ? NULL : &te, T * D, s, err) < 0 ||
                     (final && h5_write_scalar_i64(out, "final/epochs", to.epochs, err) < 0) ||
                     write_standardize(out, mean, sd, D, err) < 0
                 ? -1
                 : 0;
        goto done;
    }
    if (lsh_head_create(&h, finetune ? RESNET18_FEATURES : D, T, C, &ho, rng_derive(t->rng_seed, 1).state, err) < 0)
        goto done;
    train_model m = {h, NULL, cfg->prep_size, cfg->prep_size};
    if (finetune) {
        int normalize;
        if (pipeline_backbone_create(&bb, &normalize, cfg, NULL, err) < 0 ||
            recnet_init(&net, bb, h, BACKBONE_FINETUNE, err) < 0)
            goto done;
        net_ready = 1;
        m.net = &net;
    }
    const train_rows val = {va.X, va.y, va.n}, oracle = {te.X, te.y, te.n};
    if (train_selection_init(&sel, &m, C, use_val ? &val : NULL, !final && cfg->eval_oracle_epoch ? &oracle : NULL,
                             err) < 0)
        goto done;
    sel.should_stop = task_should_stop;
    sel.stop_user = ctx;
    final_stop fstop = {&sel, last_epoch};
    to.on_epoch = final ? final_on_epoch : train_selection_on_epoch;
    to.user = final ? (void *)&fstop : (void *)&sel;
    if (trainer_init(&trn, &m, &to, err) < 0 || trainer_run(&trn, tr.X, tr.y, tr.n, err) < 0) goto done;
    if (sel.stopped) {
        rc = STAGE_INTERRUPTED;
        goto done;
    }
    if (final && h5_write_scalar_i64(out, "final/epochs", trn.epoch, err) < 0) goto done;
    if (sel.rows[TRAIN_PICK_ORACLE]) { /* LEAKY: the epoch with the best accuracy on the test subject itself */
        train_selection_keep_last(&sel);
        train_selection_use(&sel, TRAIN_PICK_ORACLE);
        int r2 = write_predictions(out, "oracle", &m, &te, s, err) ||
                 h5_write_scalar_i64(out, "oracle/epoch", sel.best_epoch[TRAIN_PICK_ORACLE], err);
        train_selection_use(&sel, TRAIN_PICK_LAST);
        if (r2) goto done;
    }
    if (sel.rows[TRAIN_PICK_VAL] && sel.best_epoch[TRAIN_PICK_VAL] >= 0) {
        train_selection_use(&sel, TRAIN_PICK_VAL);
        if (h5_write_scalar_i64(out, "selection/epoch", sel.best_epoch[TRAIN_PICK_VAL], err) < 0) goto done;
    }
    if (!final && write_predictions(out, "pred", &m, &te, s, err) < 0) goto done;
    if (write_standardize(out, mean, sd, D, err) < 0) goto done;
    if ((adapted && pipeline_bn_buffers_save(out, "weights/backbone_buffers", adapted, err) < 0) ||
        (cfg->model_bn_stats == CFG_BN_STATS_ADAPT && copy_bn_buffers(out, t, ctx, err) < 0))
        goto done;
    hid_t g;
    if (h5_group(out, "weights/head", 1, &g, err) < 0) goto done;
    rc = lsh_head_save_to(h, g, err);
    H5Gclose(g);
    /* finetune: the trained backbone (a final model is kept whole); adapt_train's final model: the frozen
     * backbone with its adapted statistics (the config refuses the two together) */
    resnet18 *keep = finetune && (final || cfg->output_save_backbone) ? bb : adapted && final ? adapted : NULL;
    if (!rc && keep) {
        if (h5_group(out, "weights/backbone", 1, &g, err) < 0) {
            rc = -1;
            goto done;
        }
        rc = resnet18_save_to(keep, g, err);
        H5Gclose(g);
    }
done:
    free(is_test);
    free(outer);
    free(in_train);
    free(in_val);
    feature_set_free(&fs);
    feature_set_free(&fo);
    resnet18_free(adapted);
    split_free(&tr);
    split_free(&va);
    split_free(&te);
    free(cw);
    free(mean);
    free(sd);
    trainer_free(&trn);
    train_selection_free(&sel);
    if (net_ready) recnet_free(&net);
    resnet18_free(bb);
    lsh_head_free(h);
    return rc;
}

/* bn_stats adapt: one FEATURES task adapts on every sample, so the statistics cannot depend on the number
 * of ranks or on how samples were split between tasks. */
static size_t pipe_features_chunk(const mer_config *cfg, size_t chunk) {
    return cfg->model_bn_stats == CFG_BN_STATS_ADAPT ? 0 : chunk;
}

const stage_impl stage_pipeline_impl = {
    .name = "pipeline",
    .chunk = {1, 8},
    .features_chunk = pipe_features_chunk,
    .load = pipe_load,
    .unload = pipe_unload,
    .key_prefixes = pipe_key_prefixes,
    .cost = pipe_cost,
    .execute = {exec_prep, exec_features, exec_train},
};
