/* Experiment configuration: YAML (libyaml document API) checked against a table-driven schema.
 *
 * The schema (io/config/schema.c) has one row per key: dotted path, type, offset into mer_config,
 * default, range or enum values, help text. Every error is reported with its location
 * (`configs/x.yaml:12:5: unknown key 'n_round' (did you mean 'n_rounds'?)` + source line + caret),
 * and all errors of a file are collected, not only the first.
 *
 * A config is a plain struct: strings are owned (free with config_free), lists are owned arrays, enum
 * settings are C enums.
 * The resolved config of a sweep point is a full mer_config too (config_points()).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "io/base/err.h"

#define CFG_NAME_MAX 64

typedef struct {
    double *v;
    size_t n;
} cfg_f64_list;

typedef struct {
    char **v;
    size_t n;
} cfg_str_list;

/* Enum settings: each is a C enum, parsed once at load; code switches on it and never compares strings.
 * The spelling users write is the enumerator's name in the vocabulary (cfg_vocab, io/config/schema.c),
 * the one place a setting's values are listed; *_COUNT sizes the name table (checked by static_assert). */
typedef enum {
    CFG_DATASET_CASME2, CFG_DATASET_SAMM, CFG_DATASET_SMIC, CFG_DATASET_MEGC2019, CFG_DATASET_MANIFEST,
    CFG_DATASET_SYNTH, CFG_DATASET_CASME3, CFG_DATASET_CASME3C, CFG_DATASET_MMEW, CFG_DATASET_4DME,
    CFG_DATASET_COMPOSITE, CFG_DATASET_FORMAT_COUNT
} cfg_dataset_format;
typedef enum { CFG_MAG_NETWORK, CFG_MAG_LINEAR, CFG_MAG_NONE, CFG_MAG_METHOD_COUNT } cfg_mag_method;
typedef enum { CFG_MAG_FACTOR_ALPHA, CFG_MAG_FACTOR_ONE_PLUS_ALPHA, CFG_MAG_FACTOR_COUNT } cfg_mag_factor;
typedef enum {
    CFG_MODEL_INPUT_FRAMES, CFG_MODEL_INPUT_DIFFERENCE, CFG_MODEL_INPUT_FLOW, CFG_MODEL_INPUT_COUNT
} cfg_model_input;
typedef enum { CFG_FLOW_MEDIAN_OFF, CFG_FLOW_MEDIAN_3, CFG_FLOW_MEDIAN_5, CFG_FLOW_MEDIAN_COUNT } cfg_flow_median;
typedef enum { CFG_BACKBONE_FROZEN, CFG_BACKBONE_FINETUNE, CFG_BACKBONE_MODE_COUNT } cfg_backbone_mode;
typedef enum { CFG_BACKBONE_RESNET18, CFG_BACKBONE_LBPTOP, CFG_BACKBONE_KIND_COUNT } cfg_backbone_kind;
typedef enum { CFG_LBPTOP_U2, CFG_LBPTOP_RIU2, CFG_LBPTOP_MAPPING_COUNT } cfg_lbptop_mapping;
typedef enum { CFG_LBPTOP_LOGREG, CFG_LBPTOP_SVM, CFG_LBPTOP_CLASSIFIER_COUNT } cfg_lbptop_classifier;
typedef enum { CFG_BN_STATS_WEIGHTS, CFG_BN_STATS_ADAPT, CFG_BN_STATS_ADAPT_TRAIN, CFG_BN_STATS_COUNT } cfg_bn_stats;
typedef enum {
    CFG_HEAD_FEATURES_RAW, CFG_HEAD_FEATURES_MINUS_ONSET, CFG_HEAD_FEATURES_MINUS_MEAN, CFG_HEAD_FEATURES_COUNT
} cfg_head_features;
typedef enum {
    CFG_ATTENTION_LSH, CFG_ATTENTION_DENSE, CFG_ATTENTION_NONE, CFG_ATTENTION_TYPE_COUNT
} cfg_attention_type;
typedef enum { CFG_PLANES_FIXED, CFG_PLANES_RESAMPLE, CFG_PLANES_COUNT } cfg_planes;
typedef enum { CFG_POOLING_MEAN, CFG_POOLING_FLATTEN, CFG_POOLING_COUNT } cfg_pooling;
typedef enum { CFG_OPTIMIZER_SGD, CFG_OPTIMIZER_ADAM, CFG_OPTIMIZER_ADAMW, CFG_OPTIMIZER_COUNT } cfg_optimizer;
typedef enum {
    CFG_LR_SCHEDULE_NONE, CFG_LR_SCHEDULE_STEP, CFG_LR_SCHEDULE_COSINE, CFG_LR_SCHEDULE_COUNT
} cfg_lr_schedule;
typedef enum {
    CFG_PROTOCOL_LOSO, CFG_PROTOCOL_KFOLD, CFG_PROTOCOL_MEGC2019, CFG_PROTOCOL_LODO, CFG_PROTOCOL_COUNT
} cfg_protocol;
typedef enum { CFG_SELECTION_FIXED, CFG_SELECTION_INNER_VAL, CFG_SELECTION_COUNT } cfg_selection;
typedef enum { CFG_APEX_ANNOTATED, CFG_APEX_SPOTTED, CFG_APEX_MIDDLE, CFG_APEX_SOURCE_COUNT } cfg_apex_source;
typedef enum {
    CFG_LOG_LEVEL_DEBUG, CFG_LOG_LEVEL_INFO, CFG_LOG_LEVEL_WARN, CFG_LOG_LEVEL_ERROR, CFG_LOG_LEVEL_COUNT
} cfg_log_level;

/* The names of one enum setting's values, index = enumerator. */
typedef struct {
    const char *const *names;
    int n;
} cfg_vocab;

extern const cfg_vocab CFG_DATASET_FORMATS, CFG_MAG_METHODS, CFG_MAG_FACTORS, CFG_MODEL_INPUTS, CFG_FLOW_MEDIANS,
    CFG_BACKBONE_MODES, CFG_ATTENTION_TYPES, CFG_PLANES, CFG_POOLINGS, CFG_OPTIMIZERS, CFG_LR_SCHEDULES, CFG_PROTOCOLS,
    CFG_SELECTIONS, CFG_LOG_LEVELS, CFG_APEX_SOURCES, CFG_BACKBONE_KINDS, CFG_LBPTOP_MAPPINGS, CFG_LBPTOP_CLASSIFIERS,
    CFG_BN_STATS, CFG_HEAD_FEATURES;

/* The name of value k ("?" when out of range), and the value named s (-1 when s is not in the vocabulary). */
const char *cfg_enum_name(const cfg_vocab *v, int k);
int cfg_enum_parse(const cfg_vocab *v, const char *s);

typedef struct {
    /* dataset: what to read */
    cfg_dataset_format dataset_format;
    char *dataset_root;             /* folder that holds sub01/... (CASME II), 006/... (SAMM), ... */
    char *dataset_annotations;      /* CSV exported from the coding sheet (or the manifest CSV) */
    cfg_str_list dataset_classes;   /* class names kept; empty = the format's usual set */
    int dataset_min_class_samples;  /* drop classes with fewer samples (patent: 10) */
    cfg_str_list dataset_include;   /* optional sample ids (subject/clip) to keep */
    cfg_str_list dataset_exclude;   /* optional sample ids to drop */
    cfg_apex_source dataset_apex;   /* annotated (spotted where missing/outside the clip), spotted, middle */
    cfg_str_list dataset_sources;   /* composite: "NAME:ROOT[:ANNOTATIONS]" per source */
    cfg_str_list dataset_class_map; /* composite: "[SOURCE:]EMOTION=CLASS"; [] = the MEGC2019 mapping */
    /* dataset.synth: generated when format = synth and root is missing */
    int synth_subjects, synth_per_class, synth_width, synth_height, synth_fps;
    long synth_seed;

    /* preprocess: face registration and crop */
    int prep_size;                  /* output side in px (aligned square crop) */
    double prep_eye_y;              /* eye line height as a fraction of the crop */
    double prep_eye_dist;           /* inter-ocular distance as a fraction of the crop */
    int prep_grey;                  /* bool */
    char *prep_cascade;             /* OpenCV cascade XML */
    char *prep_landmarks;           /* dlib shape_predictor_68_face_landmarks.dat */
    double prep_scale_factor;       /* cascade pyramid step */
    int prep_min_neighbors;
    int prep_min_face;              /* px, smallest face searched */
    /* preprocess.spot: apex spotting (core/spot/apex.h) where dataset.apex asks for it */
    double spot_blur;               /* spatial Gaussian sigma, fraction of the crop width */
    double spot_smooth;             /* temporal Gaussian sigma of the motion curve, frames */
    int spot_register;              /* bool: undo residual head translation */
    double spot_eyes;               /* half-width of the left-out eye regions, fraction of the eye distance */

    /* magnify: onset->apex motion at a ramp of factors */
    cfg_mag_method mag_method;
    char *mag_weights;              /* MagNet HDF5 weights (mer convert-tf) */
    double mag_start;               /* first factor */
    double mag_step;                /* step between factors (used when end is not set; NAN when end is set) */
    double mag_end;                 /* last factor (NAN = not set, use step) */
    int mag_count;                  /* number of frames T (= mag_list.n when the list is given) */
    cfg_f64_list mag_list;          /* explicit factors (overrides start/step/end/count) */
    cfg_mag_factor mag_factor;         /* m_i = alpha_i or 1 + alpha_i */

    /* model */
    cfg_model_input model_input;
    cfg_backbone_kind model_backbone_kind; /* resnet18 (the patent) or lbptop (the classical baseline) */
    cfg_backbone_mode model_backbone;
    char *model_backbone_weights;   /* optional ResNet-18 HDF5 (pretrained) */
    cfg_bn_stats model_bn_stats;    /* BatchNorm statistics: the weights' or re-estimated (AdaBN) */
    cfg_attention_type attn_type;
    int attn_n_rounds;              /* LSH hyperplanes */
    int attn_d;                     /* Q/K/V width */
    cfg_planes attn_planes;
    int attn_normalize;             /* bool: shared-QK, L2-normalised q and k (Reformer) */
    int head_hidden;                /* FC1 width */
    double head_dropout;
    cfg_pooling head_pooling;
    cfg_head_features head_features; /* what the head sees: F, F - F(onset), F - mean over frames */
    /* model.flow: TV-L1 settings of model.input = flow (core/flow/tvl1.h) */
    double flow_tau, flow_lambda, flow_theta, flow_gamma, flow_epsilon, flow_scale_step, flow_strain_gain;
    int flow_scales, flow_warps, flow_inner_iterations, flow_outer_iterations;
    cfg_flow_median flow_median;
    /* model.lbptop: LBP-TOP settings (core/baseline/lbptop.h), used when model_backbone_kind is lbptop */
    int lbptop_grid_rows, lbptop_grid_cols, lbptop_grid_t;
    double lbptop_rx, lbptop_ry, lbptop_rt;
    int lbptop_p_xy, lbptop_p_xt, lbptop_p_yt;
    cfg_lbptop_mapping lbptop_mapping;
    cfg_lbptop_classifier lbptop_classifier;

    /* train */
    int train_epochs;
    int train_batch_size;
    double train_lr;
    cfg_optimizer train_optimizer;
    double train_momentum;
    double train_weight_decay;
    cfg_lr_schedule train_lr_schedule;
    int train_warmup_epochs;
    int train_step_epochs;
    double train_gamma;
    int train_class_weights;        /* bool */

    /* eval */
    cfg_protocol eval_protocol;
    int eval_folds;                 /* for kfold */
    cfg_selection eval_selection;
    double eval_inner_val_fraction;
    int eval_oracle_epoch;          /* bool: leaky "best epoch on the test subject", labelled */
    int eval_final_model;           /* bool: also train one model on every subject per point and seed */

    /* output */
    char *output_dir;
    int output_save_features;       /* bool */
    int output_save_backbone;       /* bool */

    /* runtime */
    int rt_threads;                 /* 0 = SLURM_CPUS_PER_TASK or 1 */
    int rt_retries;
    int rt_fail_fast;               /* bool */
    double rt_max_walltime;         /* seconds, 0 = none */
    cfg_log_level rt_log_level;

    /* base seed (sweep.seeds lists several; the runner seeds each task from its id and this) */
    long seed;
} mer_config;

/* One sweep point: a full resolved config plus the swept assignments that made it. Seeds are not part
 * of a point: every point runs once per seed in cfg_doc.seeds. */
typedef struct {
    mer_config cfg;
    char *params;  /* "model.attention.n_rounds=3 magnify.schedule.step=0.375" ("" if no sweep) */
    char *id;      /* stable id: 16 hex digits of FNV-1a 64 of config_to_string(cfg) over the sections seed,
                    * dataset, preprocess, magnify, model, train, eval (not output.*, runtime.*) */
} cfg_point;

typedef struct {
    mer_config base;     /* file + overrides, defaults filled */
    char *source_path;
    long *seeds;         /* sweep.seeds, or just {base.seed} */
    size_t n_seeds;
    void *sweep;         /* opaque: the sweep grammar, kept so points can be expanded */
} cfg_doc;

/* Load and validate a YAML file plus "key=value" overrides. On failure err holds every error, each
 * located (FILE:LINE:COL: message, source line, caret; or override 'k=v': message), separated by
 * newlines, cut at MER_ERR_MSG_MAX (config_load_diag gives the complete text). Use
 * config_mag_alpha() for the magnification factors rather than start/step/end/list directly. */
int config_load(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, mer_err *err);
void config_doc_free(cfg_doc *doc);
void config_free(mer_config *cfg);
int config_copy(mer_config *dst, const mer_config *src, mer_err *err);
void config_defaults(mer_config *cfg);

/* Expand the sweep (cartesian product of the listed keys, first key varying slowest; `zip:` groups
 * advance together as one factor) into points; each point is validated as a whole. */
int config_points(cfg_point **points, size_t *n, const cfg_doc *doc, mer_err *err);
void config_points_free(cfg_point *points, size_t n);

/* Print the resolved config as YAML that config_load reads back identically. When `prefixes` is
 * non-NULL only keys starting with one of them are printed (used to key cached stages by exactly the
 * values they depend on). */
int config_print(FILE *f, const mer_config *cfg, const char *const *prefixes, size_t n_prefixes);
char *config_to_string(const mer_config *cfg, const char *const *prefixes, size_t n_prefixes); /* free() */

/* Print the schema (key, type, default, range, help) — `mer config --keys`. */
void config_print_schema(FILE *f);

/* ---- additions by the config implementation (io/config/internal.h lists its files) ------------------------------------- */

/* config_load that also hands back the complete error text (*diag, malloc'ed, NULL when there is no
 * error or diag is NULL): err->msg holds at most MER_ERR_MSG_MAX bytes, so a file with many errors is
 * cut there ("... and N more errors"); the CLI prints *diag instead. */
int config_load_diag(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, char **diag,
                     mer_err *err);
/* The same from YAML text in memory; `name` is used as the file name in messages. */
int config_load_text(cfg_doc *doc, const char *name, const char *text, size_t len, char *const *overrides,
                     size_t n_overrides, char **diag, mer_err *err);

/* Print the whole document: the resolved base config plus the sweep (and seeds) that remain after the
 * overrides, so that loading the output gives the same base config and the same points. */
int config_doc_print(FILE *f, const cfg_doc *doc);
char *config_doc_to_string(const cfg_doc *doc); /* free() */

/* Number of points config_points() will produce (1 without a sweep). */
size_t config_n_points(const cfg_doc *doc);
/* 1 when every schema field is equal (NAN equals NAN, strings and lists by content). */
int config_equal(const mer_config *a, const mer_config *b);
/* Magnification factor alpha_i, 0 <= i < mag_count: mag_list[i] when the list is given, else evenly
 * spaced from mag_start to mag_end when end is set (the last one is exactly end), else
 * mag_start + i*mag_step. The network gets alpha_i or 1 + alpha_i depending on mag_factor. */
double config_mag_alpha(const mer_config *cfg, int i);
/* 64-bit FNV-1a of a string (point ids). */
uint64_t config_fnv1a64(const char *s);
