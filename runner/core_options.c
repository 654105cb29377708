/* Config -> core option structs (runner/core_options.h). */
#include "runner/core_options.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

prep_opts options_prep(const mer_config *cfg) {
    prep_opts o;
    memset(&o, 0, sizeof o);
    o.align.size = cfg->prep_size;
    o.align.eye_y = cfg->prep_eye_y;
    o.align.eye_dist = cfg->prep_eye_dist;
    o.align.grey = cfg->prep_grey;
    o.scale_factor = cfg->prep_scale_factor;
    o.min_neighbors = cfg->prep_min_neighbors;
    o.min_face = cfg->prep_min_face;
    o.threads = 1;
    o.spot = apex_spot_defaults();
    o.spot.method = APEX_SPOT_DIFF; /* the one method (a second one gets a preprocess.spot.method key) */
    o.spot.blur = cfg->spot_blur;
    o.spot.smooth = cfg->spot_smooth;
    o.spot.reg = cfg->spot_register;
    o.spot.eyes = cfg->spot_eyes;
    o.spot.eye_y = cfg->prep_eye_y;
    o.spot.eye_dist = cfg->prep_eye_dist;
    /* dataset.apex middle keeps the old contract: an apex outside the clip is an error, not a guess */
    o.spot_fallback = cfg->dataset_apex != CFG_APEX_MIDDLE;
    o.sequence = options_sequence(cfg);
    return o;
}

int options_sequence(const mer_config *cfg) {
    if (cfg->model_backbone_kind != CFG_BACKBONE_LBPTOP || cfg->mag_method != CFG_MAG_NONE) return 0;
    double *factors = NULL;
    int T = 0;
    mer_err err = {0}; /* a bad ramp is reported by the features stage, which reads it again */
    if (options_factors(&factors, &T, cfg, &err) < 0) return 0;
    free(factors);
    return T;
}

magnify_options options_magnify(const mer_config *cfg) {
    magnify_options o = {MAGNIFY_NETWORK, cfg->mag_weights};
    switch (cfg->mag_method) {
    case CFG_MAG_NETWORK: o.method = MAGNIFY_NETWORK; break;
    case CFG_MAG_LINEAR: o.method = MAGNIFY_LINEAR; break;
    case CFG_MAG_NONE: o.method = MAGNIFY_NONE; break;
    case CFG_MAG_METHOD_COUNT: break;
    }
    return o;
}

schedule_spec options_factor_ramp(const mer_config *cfg) {
    schedule_spec s = {0};
    s.one_plus_alpha = cfg->mag_factor == CFG_MAG_FACTOR_ONE_PLUS_ALPHA;
    if (cfg->mag_list.n > 0) {
        s.form = SCHEDULE_LIST;
        s.list = cfg->mag_list.v;
        s.n_list = (int)cfg->mag_list.n;
    } else {
        s.form = isnan(cfg->mag_end) ? SCHEDULE_STEP : SCHEDULE_END;
        s.start = cfg->mag_start;
        s.step = cfg->mag_step;
        s.end = cfg->mag_end;
        s.count = cfg->mag_count;
    }
    return s;
}

int options_factors(double **factors, int *T, const mer_config *cfg, mer_err *err) {
    if (cfg->mag_list.n > SCHEDULE_MAX_COUNT)
        return mer_errf(err, "magnify.schedule.list: %zu factors (at most %d)", cfg->mag_list.n, SCHEDULE_MAX_COUNT);
    schedule_spec s = options_factor_ramp(cfg);
    if (schedule_factors(factors, T, &s, err) < 0) return mer_err_prefix(err, "config magnify");
    return 0;
}

input_mode options_input(const mer_config *cfg) {
    switch (cfg->model_input) {
    case CFG_MODEL_INPUT_DIFFERENCE: return INPUT_DIFFERENCE;
    case CFG_MODEL_INPUT_FLOW: return INPUT_FLOW;
    case CFG_MODEL_INPUT_FRAMES:
    case CFG_MODEL_INPUT_COUNT: break;
    }
    return INPUT_FRAMES;
}

flow_input_options options_flow(const mer_config *cfg) {
    flow_input_options o = {.tvl1 = tvl1_defaults(), .strain_gain = (float)cfg->flow_strain_gain};
    o.tvl1.tau = cfg->flow_tau;
    o.tvl1.lambda = cfg->flow_lambda;
    o.tvl1.theta = cfg->flow_theta;
    o.tvl1.gamma = cfg->flow_gamma;
    o.tvl1.epsilon = cfg->flow_epsilon;
    o.tvl1.scale_step = cfg->flow_scale_step;
    o.tvl1.nscales = cfg->flow_scales;
    o.tvl1.warps = cfg->flow_warps;
    o.tvl1.inner_iterations = cfg->flow_inner_iterations;
    o.tvl1.outer_iterations = cfg->flow_outer_iterations;
    switch (cfg->flow_median) {
    case CFG_FLOW_MEDIAN_OFF: o.tvl1.median_filtering = 1; break;
    case CFG_FLOW_MEDIAN_3: o.tvl1.median_filtering = 3; break;
    case CFG_FLOW_MEDIAN_5:
    case CFG_FLOW_MEDIAN_COUNT: break; /* the default, 5 */
    }
    return o;
}

lbptop_options options_lbptop(const mer_config *cfg) {
    lbptop_options o = lbptop_defaults();
    o.grid_rows = cfg->lbptop_grid_rows;
    o.grid_cols = cfg->lbptop_grid_cols;
    o.grid_t = cfg->lbptop_grid_t;
    o.rx = cfg->lbptop_rx;
    o.ry = cfg->lbptop_ry;
    o.rt = cfg->lbptop_rt;
    o.p_xy = cfg->lbptop_p_xy;
    o.p_xt = cfg->lbptop_p_xt;
    o.p_yt = cfg->lbptop_p_yt;
    switch (cfg->lbptop_mapping) {
    case CFG_LBPTOP_U2: o.mapping = LBPTOP_U2; break;
    case CFG_LBPTOP_RIU2: o.mapping = LBPTOP_RIU2; break;
    case CFG_LBPTOP_MAPPING_COUNT: break;
    }
    return o;
}

linear_loss options_linear_loss(const mer_config *cfg) {
    switch (cfg->lbptop_classifier) {
    case CFG_LBPTOP_SVM: return LINEAR_HINGE;
    case CFG_LBPTOP_LOGREG:
    case CFG_LBPTOP_CLASSIFIER_COUNT: break;
    }
    return LINEAR_SOFTMAX;
}

lsh_head_options options_head(const mer_config *cfg) {
    lsh_head_options o = lsh_head_defaults();
    switch (cfg->attn_type) {
    case CFG_ATTENTION_LSH: o.attention = ATTN_LSH; break;
    case CFG_ATTENTION_DENSE: o.attention = ATTN_DENSE; break;
    case CFG_ATTENTION_NONE: o.attention = ATTN_NONE; break;
    case CFG_ATTENTION_TYPE_COUNT: break;
    }
    switch (cfg->attn_planes) {
    case CFG_PLANES_FIXED: o.planes = PLANES_FIXED; break;
    case CFG_PLANES_RESAMPLE: o.planes = PLANES_RESAMPLE; break;
    case CFG_PLANES_COUNT: break;
    }
    switch (cfg->head_pooling) {
    case CFG_POOLING_MEAN: o.pooling = POOL_MEAN; break;
    case CFG_POOLING_FLATTEN: o.pooling = POOL_FLATTEN; break;
    case CFG_POOLING_COUNT: break;
    }
    o.n_rounds = cfg->attn_n_rounds;
    o.d = cfg->attn_d;
    o.hidden = cfg->head_hidden;
    o.dropout = (float)cfg->head_dropout;
    o.normalize = cfg->attn_normalize;
    return o;
}

optim_kind options_optimizer(const mer_config *cfg) {
    switch (cfg->train_optimizer) {
    case CFG_OPTIMIZER_SGD: return OPTIM_SGD;
    case CFG_OPTIMIZER_ADAM: return OPTIM_ADAM;
    case CFG_OPTIMIZER_ADAMW: return OPTIM_ADAMW;
    case CFG_OPTIMIZER_COUNT: break;
    }
    return OPTIM_ADAM;
}

lr_schedule_kind options_lr_schedule(const mer_config *cfg) {
    switch (cfg->train_lr_schedule) {
    case CFG_LR_SCHEDULE_NONE: return LR_CONSTANT;
    case CFG_LR_SCHEDULE_STEP: return LR_STEP;
    case CFG_LR_SCHEDULE_COSINE: return LR_COSINE;
    case CFG_LR_SCHEDULE_COUNT: break;
    }
    return LR_CONSTANT;
}
