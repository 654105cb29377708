/* The parts of the pipeline (runner/pipeline.c) that `mer predict` runs on new clips, so a trained model
 * sees its inputs computed by the very code that computed them in training: prep (core/prep.h) ->
 * magnify + network input + frozen backbone (pipeline_features_of) -> standardise + head
 * (train_standardize_apply, train_model_predict in core/train.h).
 */
#pragma once
#include <stdint.h>

#include "core/baseline/lbptop.h"
#include "core/magnify/magnify.h"
#include "core/models/recnet.h"
#include "core/models/resnet18.h"
#include "core/prep.h"
#include "io/config/config.h"
#include "io/h5.h"

/* The FEATURES stage of one config: its magnification, network input and (frozen) backbone, or LBP-TOP. */
typedef struct {
    int S, T;             /* crop side, frames per sample (magnification factors) */
    size_t R, D;          /* a sample's row is R x D: T frames x 512 (frozen features) or x 3*S*S (the input
                           * itself: finetune, bn_stats adapt_train); lbptop: 1 x lbptop_feature_len (the clip's
                           * histogram) */
    int inputs_only, normalize, lbptop;
    int sequence;         /* lbptop with magnify.method none: the frames are prep's onset->apex sequence */
    lbptop_options lbp;   /* model.lbptop (lbptop) */
    double *factors;      /* (T) the network's factors m_i */
    input_mode input;
    flow_input_options flow; /* model.flow (input flow) */
    magnify_method method;
    magnet_model *mag;    /* owned; NULL unless method network */
    resnet18 *net;        /* owned; the frozen backbone (NULL with finetune) */
    float *frames, *x, *onset_f, *apex_f, *ff; /* scratch; x: the T frames' network input, then the onset's */
    float *onset;         /* (D) the onset frame's row of the last pipeline_features_forward */
} pipeline_features;

/* From the config alone (what `mer run` does): MagNet from magnify.weights, the backbone from
 * model.backbone (pretrained weights, or the random init seeded by the model.backbone settings). */
int pipeline_features_open(pipeline_features *pf, const mer_config *cfg, mer_err *err);
/* With models loaded elsewhere (a model file); takes ownership of mag and net, also on failure. */
int pipeline_features_init(pipeline_features *pf, const mer_config *cfg, magnet_model *mag, resnet18 *net,
                           int normalize, mer_err *err);
void pipeline_features_free(pipeline_features *pf);
/* One sample's row (T, D) from its prep result; pf->onset gets the onset frame's row (model.head.features).
 * = pipeline_features_input (the network input into pf->x) then pipeline_features_forward (the backbone). */
int pipeline_features_of(pipeline_features *pf, float *row, const prep_result *r, mer_err *err);
int pipeline_features_input(pipeline_features *pf, const prep_result *r, mer_err *err);
int pipeline_features_forward(pipeline_features *pf, float *row, mer_err *err);

/* The backbone of a config: pretrained weights (*normalize = 1: ImageNet input normalisation) or a random
 * init seeded by the hash of the model.backbone settings (*seed gets it; 0 for pretrained; seed may be NULL). */
int pipeline_backbone_create(resnet18 **net, int *normalize, const mer_config *cfg, uint64_t *seed, mer_err *err);

/* The BatchNorm running statistics (every tensor of net that is not trained) as group/<name> f32: bn_stats
 * adapt and adapt_train keep the adapted ones with the features / the fold's model, a model file with its
 * random-init backbone; _load reads them back from the group g into net. */
int pipeline_bn_buffers_save(hid_t out, const char *group, resnet18 *net, mer_err *err);
int pipeline_bn_buffers_load(resnet18 *net, hid_t g, mer_err *err);
