/* The one place the YAML config (io/config/config.h) becomes the plain option structs core/ takes: core
 * never sees a mer_config, and each config enum is mapped to its core enum here, in a switch the compiler
 * checks for missing cases. */
#pragma once
#include "core/baseline/lbptop.h"
#include "core/baseline/logreg.h"
#include "core/magnify/factors.h"
#include "core/magnify/magnify.h"
#include "core/models/lsh_head.h"
#include "core/models/recnet.h"
#include "core/nn/optim.h"
#include "core/prep.h"
#include "io/base/err.h"
#include "io/config/config.h"

/* preprocess.* (with preprocess.spot.*) and dataset.apex (spot_fallback): what a prep result depends on; one
 * decoder thread; sequence = options_sequence(cfg). */
prep_opts options_prep(const mer_config *cfg);
/* The onset->apex frames prep keeps: the T of the factor ramp when LBP-TOP reads unmagnified frames
 * (model.backbone.kind lbptop, magnify.method none), else 0 (the network's `none` is the apex, T times). */
int options_sequence(const mer_config *cfg);
/* magnify.method and magnify.weights (the weights string stays owned by cfg). */
magnify_options options_magnify(const mer_config *cfg);
/* The factor ramp of magnify.schedule.*: list (non-empty) wins, else end (not NAN) gives the end form, else
 * the step form; magnify.schedule.factor selects alpha or 1 + alpha. The list stays owned by cfg; more than
 * SCHEDULE_MAX_COUNT factors are refused by options_factors. */
schedule_spec options_factor_ramp(const mer_config *cfg);
/* The T factors of that ramp: *factors malloc'ed (free()). Errors are prefixed "config magnify". */
int options_factors(double **factors, int *T, const mer_config *cfg, mer_err *err);
input_mode options_input(const mer_config *cfg);
/* model.flow.* (read for model.input = flow). */
flow_input_options options_flow(const mer_config *cfg);
/* model.lbptop.* (used when model.backbone.kind is lbptop) */
lbptop_options options_lbptop(const mer_config *cfg);
/* model.lbptop.classifier: logreg -> LINEAR_SOFTMAX, svm -> LINEAR_HINGE */
linear_loss options_linear_loss(const mer_config *cfg);
/* model.attention.* and model.head.* */
lsh_head_options options_head(const mer_config *cfg);
optim_kind options_optimizer(const mer_config *cfg);
/* train.lr_schedule: the config's `none` is the optimiser's constant schedule. */
lr_schedule_kind options_lr_schedule(const mer_config *cfg);
