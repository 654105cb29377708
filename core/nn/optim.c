/* Optimisers and learning-rate schedules (see optim.h). */
#include "core/nn/optim.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"

/* The optimizer kind as written in checkpoints (optim_save / optim_load). */
static const char *const OPTIM_NAMES[] = {"sgd", "adam", "adamw"};
static_assert(sizeof OPTIM_NAMES / sizeof *OPTIM_NAMES == OPTIM_COUNT, "one name per optim_kind");

optim_options optim_defaults(optim_kind kind) {
    optim_options o = {kind, 0.0f, 0.0f, 0.9f, 0.999f, 1e-8f};
    return o;
}

const char *optim_kind_name(optim_kind kind) { return OPTIM_NAMES[kind]; }

int optim_init(optimizer *opt, const optim_options *o, size_t n_params, mer_err *err) {
    memset(opt, 0, sizeof *opt);
    opt->o = *o;
    opt->n = n_params;
    opt->m = mer_calloc(n_params ? n_params : 1, sizeof(float), err);
    opt->v = o->kind == OPTIM_SGD ? NULL : mer_calloc(n_params ? n_params : 1, sizeof(float), err);
    if (!opt->m || (o->kind != OPTIM_SGD && !opt->v)) {
        optim_free(opt);
        return mer_err_prefix(err, "optimizer state for %zu parameters", n_params);
    }
    return 0;
}

void optim_free(optimizer *opt) {
    free(opt->m);
    free(opt->v);
    opt->m = opt->v = NULL;
}

void optim_step(optimizer *opt, float *p, const float *grad, float lr) {
    const optim_options *o = &opt->o;
    const size_t n = opt->n;
    opt->step++;
    if (o->kind == OPTIM_SGD) {
        const float wd = o->weight_decay, mu = o->momentum;
        for (size_t i = 0; i < n; i++) {
            float g = grad[i];
            if (wd != 0.0f) g += wd * p[i];
            if (mu != 0.0f) g = opt->m[i] = mu * opt->m[i] + g;
            p[i] -= lr * g;
        }
        return;
    }
    const float b1 = o->beta1, b2 = o->beta2;
    const double bc1 = 1.0 - pow(b1, (double)opt->step), bc2 = 1.0 - pow(b2, (double)opt->step);
    const float step_size = (float)(lr / bc1), bc2_sqrt = (float)sqrt(bc2);
    const float l2 = o->kind == OPTIM_ADAM ? o->weight_decay : 0.0f;
    const float decay = o->kind == OPTIM_ADAMW ? 1.0f - lr * o->weight_decay : 1.0f;
    for (size_t i = 0; i < n; i++) {
        if (decay != 1.0f) p[i] *= decay;
        const float g = l2 != 0.0f ? grad[i] + l2 * p[i] : grad[i];
        opt->m[i] = b1 * opt->m[i] + (1.0f - b1) * g;
        opt->v[i] = b2 * opt->v[i] + (1.0f - b2) * g * g;
        p[i] -= step_size * opt->m[i] / (sqrtf(opt->v[i]) / bc2_sqrt + o->eps);
    }
}

int optim_save(const optimizer *opt, hid_t loc, const char *prefix, mer_err *err) {
    char path[256];
    const size_t dims[1] = {opt->n};
    snprintf(path, sizeof path, "%skind", prefix);
    if (h5_write_str(loc, path, OPTIM_NAMES[opt->o.kind], err) < 0) return -1;
    snprintf(path, sizeof path, "%sstep", prefix);
    if (h5_write_scalar_i64(loc, path, opt->step, err) < 0) return -1;
    snprintf(path, sizeof path, "%sm", prefix);
    if (h5_write_f32(loc, path, opt->m, 1, dims, err) < 0) return -1;
    snprintf(path, sizeof path, "%sv", prefix);
    if (opt->v && h5_write_f32(loc, path, opt->v, 1, dims, err) < 0) return -1;
    return 0;
}

int optim_load(optimizer *opt, hid_t loc, const char *prefix, mer_err *err) {
    char path[256], *kind = NULL;
    int64_t step;
    snprintf(path, sizeof path, "%skind", prefix);
    if (h5_read_str(loc, path, &kind, err) < 0) return -1;
    const int same = !strcmp(kind, OPTIM_NAMES[opt->o.kind]);
    if (!same) {
        mer_errf(err, "optimizer state is for %s, the run uses %s", kind, OPTIM_NAMES[opt->o.kind]);
        free(kind);
        return -1;
    }
    free(kind);
    snprintf(path, sizeof path, "%sstep", prefix);
    if (h5_read_scalar_i64(loc, path, &step, err) < 0) return -1;
    snprintf(path, sizeof path, "%sm", prefix);
    if (h5_read_f32_into(loc, path, opt->m, opt->n, err) < 0) return -1;
    snprintf(path, sizeof path, "%sv", prefix);
    if (opt->v && h5_read_f32_into(loc, path, opt->v, opt->n, err) < 0) return -1;
    opt->step = step;
    return 0;
}

float lr_at_epoch(const lr_schedule *s, float base_lr, int epoch, int epochs) {
    if (epoch < s->warmup_epochs) return base_lr * (float)(epoch + 1) / (float)s->warmup_epochs;
    const int e = epoch - s->warmup_epochs, total = epochs - s->warmup_epochs;
    switch (s->kind) {
    case LR_STEP: return base_lr * powf(s->gamma, (float)(s->step_epochs > 0 ? e / s->step_epochs : 0));
    case LR_COSINE: return total > 0 ? (float)(base_lr * 0.5 * (1.0 + cos(M_PI * (double)e / (double)total))) : base_lr;
    default: return base_lr;
    }
}
