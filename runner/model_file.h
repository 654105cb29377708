/* A trained model in one self-contained HDF5 file (`mer export`), and the model `mer predict` loads from it.
 *
 * Layout (MODEL_FILE_LAYOUT; README "Using a trained model" documents it for readers such as h5py):
 *   /                         attributes: mer_model_layout i64, mer_version str
 *   /config                   str   the sweep point's resolved config as YAML, seed set (dataset, preprocess,
 *                                   magnify, model, train, eval, ...; `mer config` reads it back)
 *   /classes                  strs (C) class names, index = class id
 *   /source/{run,point_id,point_params,task_id,kind,fold}  str  (kind: "final" or "fold"; fold: its held-out
 *                                   subject(s), "" for a final model); /source/seed i64; /source/epochs i64
 *                                   (final models: the epochs trained)
 *   /loso/{accuracy,uf1,uar}  f64   the point's LOSO figures for this seed (pooled over the folds),
 *   /loso/{n,n_folds}         i64   and /loso/{accuracy_mean,accuracy_std,uf1_mean,uar_mean} f64,
 *                                   /loso/n_seeds i64 over the point's seeds (absent when not collected)
 *   /head/...                 the LSH attention head (core/models/lsh_head.h file layout); lbptop: the
 *                                   logistic regression (core/baseline/logreg.h logreg_save layout)
 *   /standardize/{mean,sd}    f64 (512; lbptop: the histogram's length) feature standardisation (frozen
 *                                   backbone and lbptop)
 *   /backbone/init            str   "pretrained" | "random" | "finetuned" | "none" (lbptop: no network; its
 *                                   settings are model.lbptop in /config)
 *   /backbone/weights/<name>  f32   every ResNet-18 tensor, torchvision names (pretrained, finetuned)
 *   /backbone/seed            i64   random init: resnet18_init_kaiming's seed (the u64's bits) ...
 *   /backbone/buffers/<name>  f32   ... and its BatchNorm running statistics (bn_stats adapt, adapt_train:
 *                                   the adapted ones, here or in /backbone/weights: the train task's
 *                                   /weights/backbone_buffers)
 *   /magnify/method           str   network | linear | none
 *   /magnify/factors          f64 (T) the factors the network was given
 *   /magnify/magnet/...       f32   MagNet kernels (TF names, HWIO) when copied, or
 *   /magnify/magnet_path      str   the MagNet weights file it refers to (--magnet reference)
 */
#pragma once
#include <stdint.h>

#include "core/baseline/logreg.h"
#include "core/models/lsh_head.h"
#include "core/models/recnet.h"
#include "io/config/config.h"
#include "runner/pipeline.h"

#define MODEL_FILE_LAYOUT 1

typedef struct {
    int have;                          /* 0: no results.h5 figures to store */
    double accuracy, uf1, uar;         /* this seed */
    int64_t n, n_folds;
    double accuracy_mean, accuracy_std, uf1_mean, uar_mean; /* over the point's seeds */
    int64_t n_seeds;
} model_loso;

typedef struct {
    const char *dir;      /* the run directory */
    const char *point_id; /* the sweep point (/points/id) */
    int64_t seed;
    const char *fold;     /* NULL: the final model; else the fold's name (its held-out subjects) */
    int magnet_copy;      /* 1: copy the MagNet kernels into the file; 0: store their path */
    model_loso loso;
} model_export_options;

/* Write the model of one (point, seed) of a run to `out` atomically (out.tmp, renamed). */
int model_file_export(const char *out, const model_export_options *o, mer_err *err);

typedef struct {
    cfg_doc doc;          /* doc.base is the model's config */
    int doc_loaded;
    char **classes;
    size_t n_classes;
    pipeline_features pf; /* magnify + input + frozen backbone */
    int pf_ready;
    lsh_head *head;
    logreg_model linear;  /* model.backbone.kind lbptop: the classifier instead of the head */
    resnet18 *tuned;      /* finetune: the trained backbone */
    recnet net;
    int net_ready;
    double *mean, *sd;    /* (pf.D) frozen: the standardisation */
} mer_model;

/* Load a model file; fails (naming the file) on another layout version. */
int model_load(mer_model *m, const char *path, mer_err *err);
void model_free(mer_model *m);
/* One clip's row (pf.R, pf.D) from its prep result, as the run's head saw it before the standardisation:
 * pipeline_features_of, then model.head.features' train_subtract_reference (the onset frame's row or the
 * clip's mean subtracted). */
int model_features_of(mer_model *m, float *row, const prep_result *r, mer_err *err);
/* Class probabilities prob (n, C) of n rows (n, R, D) made by model_features_of; the rows
 * are standardised in place (frozen). The same calls as the run's evaluation of a fold. */
int model_classify(mer_model *m, float *prob, float *rows, int n, mer_err *err);
