/* Stage helpers and the registry of stage implementations (runner/stage.h). */
#include "runner/stage.h"

#include <stdlib.h>
#include <string.h>

const char *stage_name(stage_kind k) {
    switch (k) {
    case STAGE_PREP: return "prep";
    case STAGE_FEATURES: return "features";
    case STAGE_TRAIN: return "train";
    default: return "?";
    }
}

uint64_t fnv1a64(const void *data, size_t n, uint64_t h) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int stage_should_stop(const run_ctx *ctx) { return ctx && ctx->poll_stop ? ctx->poll_stop(ctx) : 0; }

static void free_strs(char **s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

void mer_samples_free(mer_samples *s) {
    if (!s) return;
    free(s->dataset_name);
    free_strs(s->id, s->n);
    free_strs(s->subject, s->n);
    free(s->label);
    free_strs(s->classes, s->n_classes);
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
