/* Stage helpers and the registry of stage implementations (runner/stage.h). */
#include "runner/stage.h"

#include <stdlib.h>
#include <string.h>

#include "io/base/strbuf.h"

const char *stage_name(stage_kind k) {
    switch (k) {
    case STAGE_PREP: return "prep";
    case STAGE_FEATURES: return "features";
    case STAGE_TRAIN: return "train";
    default: return "?";
    }
}

int stage_should_stop(const run_ctx *ctx) { return ctx && ctx->poll_stop ? ctx->poll_stop(ctx) : 0; }

int stage_dep_usable(const mer_task *t, const mer_task *dep, const size_t *excluded, size_t n_excluded) {
    size_t a = dep->sample_begin > t->sample_begin ? dep->sample_begin : t->sample_begin;
    size_t b = dep->sample_end < t->sample_end ? dep->sample_end : t->sample_end;
    size_t k = 0;
    for (size_t i = a; i < b; i++) {
        while (k < n_excluded && excluded[k] < i) k++;
        if (k == n_excluded || excluded[k] != i) return 1;
    }
    return 0;
}

int stage_sample_excluded(size_t i, const size_t *excluded, size_t n_excluded) {
    for (size_t k = 0; k < n_excluded; k++)
        if (excluded[k] == i) return 1;
    return 0;
}

size_t stage_prefixes_put(const char **out, size_t max, const char *const *list, size_t n) {
    size_t k = n < max ? n : max;
    for (size_t i = 0; i < k; i++) out[i] = list[i];
    return k;
}

void mer_samples_free(mer_samples *s) {
    if (!s) return;
    free(s->dataset_name);
    strs_free(s->id, s->n);
    strs_free(s->subject, s->n);
    free(s->label);
    strs_free(s->classes, s->n_classes);
    strs_free(s->annotation, s->n);
    memset(s, 0, sizeof *s);
}

/* One row per implementation. The pipeline (runner/pipeline.c) adds its row here. */
extern const stage_impl stage_test_impl;
extern const stage_impl stage_pipeline_impl;

static const stage_impl *const IMPLS[] = {
    &stage_pipeline_impl,
    &stage_test_impl,
};

const stage_impl *stage_impl_find(const char *name) {
    for (size_t i = 0; i < sizeof IMPLS / sizeof IMPLS[0]; i++)
        if (!strcmp(IMPLS[i]->name, name)) return IMPLS[i];
    return NULL;
}
