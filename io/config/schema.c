/* The configuration schema table: every key mer reads from a config file, its type, default, range and
 * help. Adding a key = adding a field to mer_config (io/config/config.h) and one row here, inside its section. */
#include "io/config/schema.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "io/config/config.h"

/* The vocabulary of every enum setting: one name per enumerator of its C enum (io/config/config.h), in
 * enumerator order; the compiler checks the count. */
#define VOCAB(var, count, ...)                                                                                 \
    static const char *const var##_NAMES[] = {__VA_ARGS__};                                                   \
    static_assert(sizeof var##_NAMES / sizeof var##_NAMES[0] == count, #var ": one name per enumerator");    \
    const cfg_vocab var = {var##_NAMES, count}

VOCAB(CFG_DATASET_FORMATS, CFG_DATASET_FORMAT_COUNT, "casme2", "samm", "smic", "megc2019", "manifest", "synth",
      "casme3", "casme3c", "mmew", "4dme", "composite");
VOCAB(CFG_MAG_METHODS, CFG_MAG_METHOD_COUNT, "network", "linear", "none");
VOCAB(CFG_MAG_FACTORS, CFG_MAG_FACTOR_COUNT, "alpha", "one_plus_alpha");
VOCAB(CFG_MODEL_INPUTS, CFG_MODEL_INPUT_COUNT, "frames", "difference", "flow");
VOCAB(CFG_FLOW_MEDIANS, CFG_FLOW_MEDIAN_COUNT, "off", "3", "5");
VOCAB(CFG_BACKBONE_MODES, CFG_BACKBONE_MODE_COUNT, "frozen", "finetune");
VOCAB(CFG_ATTENTION_TYPES, CFG_ATTENTION_TYPE_COUNT, "lsh", "dense", "none");
VOCAB(CFG_PLANES, CFG_PLANES_COUNT, "fixed", "resample");
VOCAB(CFG_POOLINGS, CFG_POOLING_COUNT, "mean", "flatten");
VOCAB(CFG_OPTIMIZERS, CFG_OPTIMIZER_COUNT, "sgd", "adam", "adamw");
VOCAB(CFG_LR_SCHEDULES, CFG_LR_SCHEDULE_COUNT, "none", "step", "cosine");
VOCAB(CFG_PROTOCOLS, CFG_PROTOCOL_COUNT, "loso", "kfold", "megc2019", "lodo");
VOCAB(CFG_SELECTIONS, CFG_SELECTION_COUNT, "fixed", "inner_val");
VOCAB(CFG_LOG_LEVELS, CFG_LOG_LEVEL_COUNT, "debug", "info", "warn", "error");
VOCAB(CFG_APEX_SOURCES, CFG_APEX_SOURCE_COUNT, "annotated", "spotted", "middle");
VOCAB(CFG_BACKBONE_KINDS, CFG_BACKBONE_KIND_COUNT, "resnet18", "lbptop");
VOCAB(CFG_LBPTOP_MAPPINGS, CFG_LBPTOP_MAPPING_COUNT, "u2", "riu2");
VOCAB(CFG_LBPTOP_CLASSIFIERS, CFG_LBPTOP_CLASSIFIER_COUNT, "logreg", "svm");
VOCAB(CFG_BN_STATS, CFG_BN_STATS_COUNT, "weights", "adapt", "adapt_train");
VOCAB(CFG_HEAD_FEATURES, CFG_HEAD_FEATURES_COUNT, "raw", "minus_onset", "minus_mean");

/* The loader stores and reads an enum field as an int. */
#define INT_SIZED(t) static_assert(sizeof(t) == sizeof(int), #t " is stored as an int")
INT_SIZED(cfg_dataset_format);
INT_SIZED(cfg_mag_method);
INT_SIZED(cfg_mag_factor);
INT_SIZED(cfg_model_input);
INT_SIZED(cfg_flow_median);
INT_SIZED(cfg_backbone_mode);
INT_SIZED(cfg_attention_type);
INT_SIZED(cfg_planes);
INT_SIZED(cfg_pooling);
INT_SIZED(cfg_optimizer);
INT_SIZED(cfg_lr_schedule);
INT_SIZED(cfg_protocol);
INT_SIZED(cfg_selection);
INT_SIZED(cfg_log_level);
INT_SIZED(cfg_apex_source);
INT_SIZED(cfg_backbone_kind);
INT_SIZED(cfg_lbptop_mapping);
INT_SIZED(cfg_lbptop_classifier);
INT_SIZED(cfg_bn_stats);
INT_SIZED(cfg_head_features);

const char *cfg_enum_name(const cfg_vocab *v, int k) { return k >= 0 && k < v->n ? v->names[k] : "?"; }

int cfg_enum_parse(const cfg_vocab *v, const char *s) {
    for (int k = 0; k < v->n; k++)
        if (!strcmp(v->names[k], s)) return k;
    return -1;
}

#define F(field) offsetof(mer_config, field)
/* Ranges: min, max, flags. */
#define ANY -INFINITY, INFINITY, 0
#define IN(a, b) a, b, 0                                /* [a, b] */
#define OPEN(a, b) a, b, CFG_MIN_OPEN | CFG_MAX_OPEN    /* (a, b) */
#define LOPEN(a, b) a, b, CFG_MIN_OPEN                  /* (a, b] */
#define ROPEN(a, b) a, b, CFG_MAX_OPEN                  /* [a, b) */
#define GE(a) a, INFINITY, 0                            /* >= a */
#define NULLABLE -INFINITY, INFINITY, CFG_NULLABLE

const cfg_key CFG_KEYS[] = {
    {"seed", CFG_LONG, F(seed), "0", ANY, NULL,
     "base seed; each task derives its own seed from its id and this (see sweep.seeds)"},

    /* dataset */
    {"dataset.format", CFG_ENUM, F(dataset_format), "synth", ANY, &CFG_DATASET_FORMATS,
     "dataset layout to read; synth generates a small labelled demo set"},
    {"dataset.root", CFG_STR, F(dataset_root), "demo-data", ANY, NULL,
     "dataset folder; required (no default) for every format but synth"},
    {"dataset.annotations", CFG_STR, F(dataset_annotations), "\"\"", ANY, NULL,
     "annotation CSV (coding sheet export or manifest); required for manifest"},
    {"dataset.classes", CFG_STR_LIST, F(dataset_classes), "[]", ANY, NULL,
     "class names kept, in label order; [] = the format's usual set"},
    {"dataset.min_class_samples", CFG_INT, F(dataset_min_class_samples), "10", IN(0, 100000), NULL,
     "drop classes with fewer samples than this (patent: 10)"},
    {"dataset.include", CFG_STR_LIST, F(dataset_include), "[]", ANY, NULL,
     "sample ids (subject/clip) to keep; [] = all"},
    {"dataset.exclude", CFG_STR_LIST, F(dataset_exclude), "[]", ANY, NULL, "sample ids (subject/clip) to drop"},
    {"dataset.apex", CFG_ENUM, F(dataset_apex), "annotated", ANY, &CFG_APEX_SOURCES,
     "apex frame: annotated (spotted where missing or outside the clip, with a warning), spotted (always, "
     "preprocess.spot.*), or middle (midpoint of onset and offset where missing)"},
    {"dataset.sources", CFG_STR_LIST, F(dataset_sources), "[]", ANY, NULL,
     "composite: one \"NAME:ROOT[:ANNOTATIONS]\" per source (casme2, samm, smic, casme3, casme3c, mmew, 4dme); "
     "[] = the index CSV in dataset.annotations"},
    {"dataset.class_map", CFG_STR_LIST, F(dataset_class_map), "[]", ANY, NULL,
     "composite: \"[SOURCE:]EMOTION=CLASS\" rules (unmapped emotions are left out); [] = the MEGC2019 "
     "negative/positive/surprise mapping"},
    {"dataset.synth.subjects", CFG_INT, F(synth_subjects), "8", IN(1, 1000), NULL, "synthetic subjects"},
    {"dataset.synth.per_class", CFG_INT, F(synth_per_class), "4", IN(1, 1000), NULL,
     "synthetic clips per subject and class"},
    {"dataset.synth.width", CFG_INT, F(synth_width), "320", IN(64, 4096), NULL, "synthetic frame width, px"},
    {"dataset.synth.height", CFG_INT, F(synth_height), "240", IN(64, 4096), NULL, "synthetic frame height, px"},
    {"dataset.synth.fps", CFG_INT, F(synth_fps), "100", IN(1, 1000), NULL, "synthetic frame rate"},
    {"dataset.synth.seed", CFG_LONG, F(synth_seed), "1", ANY, NULL, "seed of the synthetic data generator"},

    /* preprocess */
    {"preprocess.size", CFG_INT, F(prep_size), "112", IN(16, 1024), NULL, "side of the aligned square face crop, px"},
    {"preprocess.eye_y", CFG_FLOAT, F(prep_eye_y), "0.35", OPEN(0, 1), NULL,
     "eye line height as a fraction of the crop"},
    {"preprocess.eye_dist", CFG_FLOAT, F(prep_eye_dist), "0.40", OPEN(0, 1), NULL,
     "inter-ocular distance as a fraction of the crop"},
    {"preprocess.grey", CFG_BOOL, F(prep_grey), "false", ANY, NULL, "convert frames to grey before the network"},
    {"preprocess.cascade", CFG_STR, F(prep_cascade),
     "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", ANY, NULL,
     "OpenCV Haar cascade XML for face detection"},
    {"preprocess.landmarks", CFG_STR, F(prep_landmarks), "/usr/share/dlib/shape_predictor_68_face_landmarks.dat",
     ANY, NULL, "dlib 68-point shape predictor"},
    {"preprocess.scale_factor", CFG_FLOAT, F(prep_scale_factor), "1.1", LOPEN(1, 4), NULL,
     "cascade pyramid scale step"},
    {"preprocess.min_neighbors", CFG_INT, F(prep_min_neighbors), "3", IN(0, 100), NULL,
     "cascade: neighbours a detection needs"},
    {"preprocess.min_face", CFG_INT, F(prep_min_face), "40", IN(1, 10000), NULL, "smallest face searched, px"},
    {"preprocess.spot.blur", CFG_FLOAT, F(spot_blur), "0.015", IN(0, 0.25), NULL,
     "apex spotting: spatial blur sigma as a fraction of the crop width (sensor noise)"},
    {"preprocess.spot.smooth", CFG_FLOAT, F(spot_smooth), "1.0", IN(0, 100), NULL,
     "apex spotting: temporal smoothing sigma of the motion curve, frames (0 = none)"},
    {"preprocess.spot.register", CFG_BOOL, F(spot_register), "true", ANY, NULL,
     "apex spotting: undo residual head translation against the onset before differencing"},
    {"preprocess.spot.eyes", CFG_FLOAT, F(spot_eyes), "0.3", IN(0, 1), NULL,
     "apex spotting: leave out the eyes (blinks), half-width as a fraction of the eye distance; 0 = keep them"},

    /* magnify */
    {"magnify.method", CFG_ENUM, F(mag_method), "network", ANY, &CFG_MAG_METHODS,
     "motion magnification: MagNet network, linear (Eulerian-style), none (the apex; LBP-TOP: the clip)"},
    {"magnify.weights", CFG_STR, F(mag_weights), "\"\"", ANY, NULL, "MagNet HDF5 weights (from mer convert-tf)"},
    {"magnify.schedule.start", CFG_FLOAT, F(mag_start), "1.0", ANY, NULL, "first amplification factor alpha_0"},
    {"magnify.schedule.step", CFG_FLOAT, F(mag_step), "0.375", NULLABLE, NULL,
     "alpha_i = start + i*step; give step or end, not both (~ = derived from end)"},
    {"magnify.schedule.end", CFG_FLOAT, F(mag_end), "~", NULLABLE, NULL,
     "last factor: alphas evenly spaced from start to end (~ = unset, use step)"},
    {"magnify.schedule.count", CFG_INT, F(mag_count), "32", IN(1, 1024), NULL,
     "number of magnified frames T (must equal the length of list when both are given)"},
    {"magnify.schedule.list", CFG_FLOAT_LIST, F(mag_list), "[]", ANY, NULL,
     "explicit factors; when non-empty they replace start/step/end and set count"},
    {"magnify.schedule.factor", CFG_ENUM, F(mag_factor), "one_plus_alpha", ANY, &CFG_MAG_FACTORS,
     "magnification passed to the network: alpha_i or 1 + alpha_i"},

    /* model */
    {"model.input", CFG_ENUM, F(model_input), "frames", ANY, &CFG_MODEL_INPUTS,
     "network input: magnified frames, their difference to the onset, or the onset->frame TV-L1 flow "
     "(channels u, v, optical strain; see model.flow)"},
    {"model.backbone.kind", CFG_ENUM, F(model_backbone_kind), "resnet18", ANY, &CFG_BACKBONE_KINDS,
     "frame features: ResNet-18 + attention head (the patent) or lbptop (LBP-TOP histograms + a linear "
     "classifier trained with train.*, the MEGC2019 baseline; model.lbptop.*)"},
    {"model.backbone.mode", CFG_ENUM, F(model_backbone), "frozen", ANY, &CFG_BACKBONE_MODES,
     "ResNet-18 backbone frozen (features cached) or fine-tuned"},
    {"model.backbone.weights", CFG_STR, F(model_backbone_weights), "\"\"", ANY, NULL,
     "pretrained ResNet-18 HDF5; \"\" = random init"},
    {"model.backbone.bn_stats", CFG_ENUM, F(model_bn_stats), "weights", ANY, &CFG_BN_STATS,
     "frozen backbone's BatchNorm statistics: the weights', re-estimated on all samples (adapt: transductive, "
     "label-free) or per fold on the training subjects (adapt_train)"},
    {"model.attention.type", CFG_ENUM, F(attn_type), "lsh", ANY, &CFG_ATTENTION_TYPES,
     "self-attention over the T frames: LSH-sparsified, dense, or none"},
    {"model.attention.n_rounds", CFG_INT, F(attn_n_rounds), "3", IN(1, 16), NULL, "LSH hyperplanes (hash bits)"},
    {"model.attention.d", CFG_INT, F(attn_d), "1024", IN(1, 8192), NULL, "width of Q, K and V"},
    {"model.attention.planes", CFG_ENUM, F(attn_planes), "fixed", ANY, &CFG_PLANES,
     "LSH hyperplanes drawn once (fixed) or per forward pass (resample)"},
    {"model.attention.normalize", CFG_BOOL, F(attn_normalize), "false", ANY, NULL,
     "shared-QK attention (Reformer): keys = queries, L2-normalised before hashing and scoring"},
    {"model.head.hidden", CFG_INT, F(head_hidden), "256", IN(1, 65536), NULL, "width of the first FC layer"},
    {"model.head.dropout", CFG_FLOAT, F(head_dropout), "0.5", ROPEN(0, 1), NULL, "dropout before the classifier"},
    {"model.head.pooling", CFG_ENUM, F(head_pooling), "mean", ANY, &CFG_POOLINGS,
     "how the T attended frames become one vector"},
    {"model.head.features", CFG_ENUM, F(head_features), "raw", ANY, &CFG_HEAD_FEATURES,
     "frame features the head sees: raw, minus the onset frame's, or minus the sample's mean over frames"},
    /* model.flow: read only with model.input flow; OpenCV DualTVL1's defaults */
    {"model.flow.tau", CFG_FLOAT, F(flow_tau), "0.25", LOPEN(0, 10), NULL,
     "TV-L1 time step of the dual update (< 0.25 guarantees convergence)"},
    {"model.flow.lambda", CFG_FLOAT, F(flow_lambda), "0.15", LOPEN(0, 1000), NULL,
     "TV-L1 weight of the data term: smaller = smoother flow"},
    {"model.flow.theta", CFG_FLOAT, F(flow_theta), "0.3", LOPEN(0, 1000), NULL, "TV-L1 coupling of u and v"},
    {"model.flow.gamma", CFG_FLOAT, F(flow_gamma), "0", IN(0, 1000), NULL,
     "TV-L1 weight of the illumination term (0 = none)"},
    {"model.flow.epsilon", CFG_FLOAT, F(flow_epsilon), "0.01", IN(0, 100), NULL,
     "TV-L1 stopping tolerance of the inner iterations"},
    {"model.flow.scales", CFG_INT, F(flow_scales), "5", IN(1, 64), NULL,
     "TV-L1 pyramid levels (levels under 16 px are dropped)"},
    {"model.flow.scale_step", CFG_FLOAT, F(flow_scale_step), "0.8", OPEN(0, 1), NULL, "TV-L1 pyramid ratio"},
    {"model.flow.warps", CFG_INT, F(flow_warps), "5", IN(1, 1000), NULL, "TV-L1 warps per pyramid level"},
    {"model.flow.inner_iterations", CFG_INT, F(flow_inner_iterations), "30", IN(1, 10000), NULL,
     "TV-L1 inner iterations per outer iteration"},
    {"model.flow.outer_iterations", CFG_INT, F(flow_outer_iterations), "10", IN(1, 10000), NULL,
     "TV-L1 outer iterations per warp (each starts with the median filter)"},
    {"model.flow.median", CFG_ENUM, F(flow_median), "5", ANY, &CFG_FLOW_MEDIANS,
     "TV-L1 median filter of the flow before each outer iteration: off, 3x3 or 5x5"},
    {"model.flow.strain_gain", CFG_FLOAT, F(flow_strain_gain), "8", LOPEN(0, 1e6), NULL,
     "the strain channel is gain x optical strain (u and v stay in pixels)"},
    {"model.lbptop.grid.rows", CFG_INT, F(lbptop_grid_rows), "5", IN(1, 1024), NULL, "LBP-TOP: blocks along y"},
    {"model.lbptop.grid.cols", CFG_INT, F(lbptop_grid_cols), "5", IN(1, 1024), NULL, "LBP-TOP: blocks along x"},
    {"model.lbptop.grid.t", CFG_INT, F(lbptop_grid_t), "1", IN(1, 1024), NULL,
     "LBP-TOP: time segments of the T frames (1 = the whole clip)"},
    {"model.lbptop.radius.x", CFG_FLOAT, F(lbptop_rx), "1", LOPEN(0, 16), NULL, "LBP-TOP: radius along x, px"},
    {"model.lbptop.radius.y", CFG_FLOAT, F(lbptop_ry), "1", LOPEN(0, 16), NULL, "LBP-TOP: radius along y, px"},
    {"model.lbptop.radius.t", CFG_FLOAT, F(lbptop_rt), "1", LOPEN(0, 16), NULL,
     "LBP-TOP: radius along t, frames (the XT and YT planes)"},
    {"model.lbptop.neighbours.xy", CFG_INT, F(lbptop_p_xy), "8", IN(3, 32), NULL, "LBP-TOP: neighbours on XY"},
    {"model.lbptop.neighbours.xt", CFG_INT, F(lbptop_p_xt), "8", IN(3, 32), NULL, "LBP-TOP: neighbours on XT"},
    {"model.lbptop.neighbours.yt", CFG_INT, F(lbptop_p_yt), "8", IN(3, 32), NULL, "LBP-TOP: neighbours on YT"},
    {"model.lbptop.mapping", CFG_ENUM, F(lbptop_mapping), "u2", ANY, &CFG_LBPTOP_MAPPINGS,
     "LBP-TOP codes: u2 (uniform, P(P-1)+3 bins: 59 at P = 8) or riu2 (rotation invariant, P+2 bins)"},
    {"model.lbptop.classifier", CFG_ENUM, F(lbptop_classifier), "logreg", ANY, &CFG_LBPTOP_CLASSIFIERS,
     "LBP-TOP's linear classifier, trained with train.*: logreg (multinomial logistic regression) or svm "
     "(Crammer-Singer multiclass hinge loss; train.weight_decay is its L2 penalty)"},

    /* train */
    {"train.epochs", CFG_INT, F(train_epochs), "30", IN(1, 100000), NULL, "training epochs per fold"},
    {"train.batch_size", CFG_INT, F(train_batch_size), "16", IN(1, 65536), NULL, "minibatch size"},
    {"train.lr", CFG_FLOAT, F(train_lr), "1e-3", LOPEN(0, 10), NULL, "learning rate"},
    {"train.optimizer", CFG_ENUM, F(train_optimizer), "adam", ANY, &CFG_OPTIMIZERS, "optimizer"},
    {"train.momentum", CFG_FLOAT, F(train_momentum), "0.9", IN(0, 1), NULL, "SGD momentum (adam: beta1)"},
    {"train.weight_decay", CFG_FLOAT, F(train_weight_decay), "1e-4", GE(0), NULL, "L2 / decoupled weight decay"},
    {"train.lr_schedule", CFG_ENUM, F(train_lr_schedule), "cosine", ANY, &CFG_LR_SCHEDULES,
     "learning-rate schedule after warm-up"},
    {"train.warmup_epochs", CFG_INT, F(train_warmup_epochs), "0", GE(0), NULL,
     "linear warm-up epochs (must be < epochs)"},
    {"train.step_epochs", CFG_INT, F(train_step_epochs), "10", GE(1), NULL, "step schedule: epochs between decays"},
    {"train.gamma", CFG_FLOAT, F(train_gamma), "0.1", LOPEN(0, 1), NULL, "step schedule: decay factor"},
    {"train.class_weights", CFG_BOOL, F(train_class_weights), "false", ANY, NULL,
     "weight the loss by inverse class frequency"},

    /* eval */
    {"eval.protocol", CFG_ENUM, F(eval_protocol), "loso", ANY, &CFG_PROTOCOLS,
     "leave-one-subject-out, k-fold, the MEGC 2019 composite protocol, or leave-one-dataset-out (a composite)"},
    {"eval.folds", CFG_INT, F(eval_folds), "5", IN(2, 1000), NULL, "folds for kfold"},
    {"eval.selection", CFG_ENUM, F(eval_selection), "fixed", ANY, &CFG_SELECTIONS,
     "model selection: last epoch (fixed) or best epoch on an inner validation split"},
    {"eval.inner_val_fraction", CFG_FLOAT, F(eval_inner_val_fraction), "0.2", OPEN(0, 1), NULL,
     "share of training subjects held out for inner_val"},
    {"eval.oracle_epoch", CFG_BOOL, F(eval_oracle_epoch), "false", ANY, NULL,
     "also report the leaky best-epoch-on-test score, labelled as such"},
    {"eval.final_model", CFG_BOOL, F(eval_final_model), "false", ANY, NULL,
     "also train one model on every subject per point and seed (for mer export / mer predict): "
     "train.epochs epochs, or with inner_val the median epoch the folds selected"},

    /* output */
    {"output.dir", CFG_STR, F(output_dir), "out", ANY, NULL, "run folder (ledger, per-task results, report)"},
    {"output.save_features", CFG_BOOL, F(output_save_features), "true", ANY, NULL, "keep cached backbone features"},
    {"output.save_backbone", CFG_BOOL, F(output_save_backbone), "false", ANY, NULL,
     "save fine-tuned backbone weights per task"},

    /* runtime */
    {"runtime.threads", CFG_INT, F(rt_threads), "0", IN(0, 1024), NULL,
     "threads per rank; 0 = SLURM_CPUS_PER_TASK or 1"},
    {"runtime.retries", CFG_INT, F(rt_retries), "2", IN(0, 100), NULL, "extra attempts of a failing task"},
    {"runtime.fail_fast", CFG_BOOL, F(rt_fail_fast), "false", ANY, NULL, "stop the run at the first failed task"},
    {"runtime.max_walltime", CFG_FLOAT, F(rt_max_walltime), "0", GE(0), NULL,
     "seconds after which no new task starts and the run stops cleanly; 0 = no limit"},
    {"runtime.log_level", CFG_ENUM, F(rt_log_level), "info", ANY, &CFG_LOG_LEVELS, "log verbosity"},
};

const size_t CFG_N_KEYS = sizeof CFG_KEYS / sizeof CFG_KEYS[0];

int cfg_key_find(const char *key, size_t n) {
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (strlen(CFG_KEYS[i].key) == n && !memcmp(CFG_KEYS[i].key, key, n)) return (int)i;
    return -1;
}

const char *cfg_type_name(cfg_type t) {
    switch (t) {
    case CFG_INT:
    case CFG_LONG: return "int";
    case CFG_FLOAT: return "float";
    case CFG_BOOL: return "bool";
    case CFG_STR: return "str";
    case CFG_ENUM: return "enum";
    case CFG_STR_LIST: return "list of str";
    case CFG_FLOAT_LIST: return "list of float";
    }
    return "?";
}
