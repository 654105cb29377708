/* Composites (dataset.h): megc2019, the fixed MEGC2019 set, and dataset.format composite, any of the readers
 * joined with a class map. Each source is read by its own reader (loader.h), its subjects prefixed by its
 * name and its emotions mapped to the composite's classes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data/csv.h"
#include "io/data/formats.h"
#include "io/data/loader.h"

/* MEGC2019 composite: (source, emotion) -> class; anything else is left out. */
static const struct {
    const char *source, *emotion, *cls;
} MEGC_MAP[] = {
    {"casme2", "disgust", "negative"},   {"casme2", "repression", "negative"}, {"casme2", "happiness", "positive"},
    {"casme2", "surprise", "surprise"},  {"samm", "anger", "negative"},        {"samm", "contempt", "negative"},
    {"samm", "disgust", "negative"},     {"samm", "fear", "negative"},         {"samm", "sadness", "negative"},
    {"samm", "happiness", "positive"},   {"samm", "surprise", "surprise"},     {"smic", "negative", "negative"},
    {"smic", "positive", "positive"},    {"smic", "surprise", "surprise"},
};

/* ---- composites: MEGC2019 and dataset.format composite --------------------------------------------- */

static const char *const COL_DATASET[] = {"dataset", "source", NULL};
static const char *const COL_ROOT[] = {"root", "folder", NULL};
static const char *const COL_ANNOT[] = {"annotations", "csv", "coding", NULL};
static const char *const MEGC_CLASSES[] = {"negative", "positive", "surprise", NULL};

typedef struct {
    char name[32];     /* lower case */
    char *root, *ann;  /* owned; ann "" = none */
    const char *where; /* index CSV or "dataset.sources" */
    int line;          /* index CSV line, or the entry's number in dataset.sources */
} source_spec;

/* The MEGC2019 class of (source, emotion), NULL when the mapping leaves it out. */
static const char *megc_class(const char *source, const char *emotion) {
    for (size_t m = 0; m < sizeof MEGC_MAP / sizeof MEGC_MAP[0]; m++)
        if (!strcmp(MEGC_MAP[m].source, source) && !strcmp(MEGC_MAP[m].emotion, emotion)) return MEGC_MAP[m].cls;
    const ds_format *F = ds_format_find(source);
    for (size_t k = 0; F && F->megc[k]; k += 2)
        if (!strcmp(F->megc[k], emotion)) return F->megc[k + 1];
    return NULL;
}

/* dataset.class_map rule "[SOURCE:]EMOTION=CLASS" split into lower-case parts (source "" = any). */
static void class_rule(const char *rule, char *src, char *emo, char *cls, size_t n) {
    const char *eq = strchr(rule, '='), *colon = strchr(rule, ':');
    if (!eq) eq = rule + strlen(rule);
    if (colon && colon > eq) colon = NULL;
    char part[256];
    snprintf(part, sizeof part, "%.*s", colon ? (int)(colon - rule) : 0, rule);
    ds_lower_trim(src, n, part);
    const char *e0 = colon ? colon + 1 : rule;
    snprintf(part, sizeof part, "%.*s", (int)(eq - e0), e0);
    ds_lower_trim(emo, n, part);
    ds_lower_trim(cls, n, *eq ? eq + 1 : "");
}

/* The composite's class of (source, emotion): the first dataset.class_map rule naming the source, else the
 * first rule for any source, else (no rules at all) MEGC2019; NULL when unmapped. */
static const char *composite_class(const mer_config *cfg, const char *source, const char *emotion, char *buf, size_t n) {
    if (!cfg->dataset_class_map.n) return megc_class(source, emotion);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < cfg->dataset_class_map.n; i++) {
            char src[64], emo[64];
            class_rule(cfg->dataset_class_map.v[i], src, emo, buf, n);
            if (!strcmp(emo, emotion) && (pass ? !*src : !strcmp(src, source))) return buf;
        }
    return NULL;
}

/* Read every source, prefix its subjects ("casme2_sub01") and map its emotions to the composite's classes;
 * unmapped emotions keep their name (megc2019) or become "source:emotion" (composite), so finalize leaves
 * them out and counts them. megc2019 takes casme2, samm and smic only, with the fixed mapping. */
static int read_sources(ds_loader *L, source_spec *src, size_t n, int megc2019) {
    const char *const *names = dataset_sources();
    char known[256];
    ds_list_join(known, sizeof known, megc2019 ? (const char *const[]){"casme2", "samm", "smic", NULL} : names);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        source_spec *sp = &src[i];
        const char *nm = sp->name;
        int ok = ds_in_list(names, nm) && (!megc2019 || !strcmp(nm, "casme2") || !strcmp(nm, "samm") || !strcmp(nm, "smic"));
        int twice = 0;
        for (size_t j = 0; j < i; j++) twice |= !strcmp(src[j].name, nm);
        const int smic = !strcmp(nm, "smic");
        if (!ok) {
            rc = mer_errf(L->err, "%s:%d: dataset '%s' is not one of %s", sp->where, sp->line, nm, known);
        } else if (twice) {
            rc = mer_errf(L->err, "%s:%d: dataset '%s' listed twice", sp->where, sp->line, nm);
        } else if (!smic && !*sp->ann) {
            rc = mer_errf(L->err, "%s:%d: %s needs its annotations CSV", sp->where, sp->line, nm);
        } else if (!smic && !ds_is_dir(sp->root)) {
            rc = mer_errf(L->err, "%s:%d: %s root folder not found: %s", sp->where, sp->line, nm, sp->root);
        } else {
            size_t before = L->d->n;
            char prefix[40];
            snprintf(prefix, sizeof prefix, "%s_", nm);
            const ds_format *F = !strcmp(nm, "casme2") ? &DS_FORMAT_CASME2 : !strcmp(nm, "samm") ? &DS_FORMAT_SAMM
                                                                                          : ds_format_find(nm);
            rc = smic ? ds_read_smic(L, sp->root, sp->ann, prefix) : ds_read_sheet(L, F, sp->root, sp->ann, prefix);
            if (rc) mer_err_prefix(L->err, "%s:%d (%s)", sp->where, sp->line, nm);
            for (size_t k = before; k < L->d->n && rc == 0; k++) {
                ds_sample *s = &L->d->s[k];
                char buf[64];
                const char *cls = megc2019 ? megc_class(s->source, s->emotion)
                                           : composite_class(L->cfg, s->source, s->emotion, buf, sizeof buf);
                char *c = cls ? ds_strf("%s", cls) : megc2019 ? NULL : ds_strf("%s:%s", s->source, s->emotion);
                if (!cls && megc2019) continue;
                if (!c) {
                    rc = mer_errf(L->err, "out of memory");
                    break;
                }
                free(s->emotion);
                s->emotion = c;
            }
        }
    }
    if (rc == 0 && n == 0) rc = mer_errf(L->err, "no sources (expected one per dataset: %s)", known);
    return rc;
}

static void sources_free(source_spec *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(src[i].root);
        free(src[i].ann);
    }
    free(src);
}

/* The index CSV (dataset,root,annotations; paths relative to its folder) as source specs. */
static int index_sources(ds_loader *L, const char *index_path, source_spec **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    csv_table t;
    if (csv_read(&t, index_path, L->err)) return -1;
    const char *file = ds_add_file(L, index_path);
    ds_col_spec cols[] = {{COL_DATASET, 1, -1}, {COL_ROOT, 1, -1}, {COL_ANNOT, 1, -1}};
    size_t hdr = 0;
    char *base = ds_dirname_of(index_path);
    source_spec *src = calloc(t.n ? t.n : 1, sizeof *src);
    int rc = 0;
    if (!file || !base || !src || ds_find_header(L, &t, cols, 3, &hdr)) {
        if (file && (!base || !src)) mer_errf(L->err, "out of memory");
        rc = -1;
    }
    size_t n = 0;
    for (size_t r = hdr + 1; r < t.n && rc == 0; r++) {
        const csv_row *row = &t.rows[r];
        if (csv_row_blank(row)) continue;
        source_spec *sp = &src[n++];
        ds_lower_trim(sp->name, sizeof sp->name, csv_get(row, cols[0].col));
        const char *rt = csv_get(row, cols[1].col), *an = csv_get(row, cols[2].col);
        sp->root = rt[0] == '/' ? ds_strf("%s", rt) : ds_strf("%s/%s", base, rt);
        sp->ann = !*an ? ds_strf("%s", "") : an[0] == '/' ? ds_strf("%s", an) : ds_strf("%s/%s", base, an);
        sp->where = file;
        sp->line = row->line;
        if (!sp->root || !sp->ann) rc = mer_errf(L->err, "out of memory");
    }
    free(base);
    csv_free(&t);
    if (rc) {
        sources_free(src, n);
        return -1;
    }
    *out = src;
    *n_out = n;
    return 0;
}

/* dataset.sources entries "NAME:ROOT[:ANNOTATIONS]" as source specs (the line is the entry's number). */
static int config_sources(ds_loader *L, source_spec **out, size_t *n_out) {
    const cfg_str_list *l = &L->cfg->dataset_sources;
    source_spec *src = calloc(l->n ? l->n : 1, sizeof *src);
    if (!src) return mer_errf(L->err, "out of memory");
    for (size_t i = 0; i < l->n; i++) {
        const char *v = l->v[i], *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        source_spec *sp = &src[i];
        char nm[64];
        snprintf(nm, sizeof nm, "%.*s", c1 ? (int)(c1 - v) : (int)strlen(v), v);
        ds_lower_trim(sp->name, sizeof sp->name, nm);
        sp->root = c1 ? (c2 ? ds_strf("%.*s", (int)(c2 - c1 - 1), c1 + 1) : ds_strf("%s", c1 + 1)) : ds_strf("%s", "");
        sp->ann = ds_strf("%s", c2 ? c2 + 1 : "");
        sp->where = "dataset.sources";
        sp->line = (int)i + 1;
        if (!sp->root || !sp->ann) {
            sources_free(src, i + 1);
            return mer_errf(L->err, "out of memory");
        }
    }
    *out = src;
    *n_out = l->n;
    return 0;
}

/* megc2019, or composite: the sources (dataset.sources, else the index CSV in dataset.annotations), then the
 * class set for finalize: dataset.class_map's classes in order of first appearance, else MEGC2019's. */
int ds_read_composite(ds_loader *L, int megc2019, const char *index_path, char ***classes, size_t *n_classes) {
    source_spec *src = NULL;
    size_t n = 0;
    *classes = NULL;
    *n_classes = 0;
    const mer_config *cfg = L->cfg;
    if (megc2019 && cfg->dataset_class_map.n)
        return mer_errf(L->err, "dataset.class_map is for dataset.format composite (megc2019 maps as MEGC2019 does)");
    int rc = !megc2019 && cfg->dataset_sources.n ? config_sources(L, &src, &n) : index_sources(L, index_path, &src, &n);
    if (rc == 0) rc = read_sources(L, src, n, megc2019);
    sources_free(src, n);
    size_t nr = cfg->dataset_class_map.n, k = 0;
    char **set = calloc((nr ? nr : 3) + 1, sizeof *set);
    if (rc == 0 && !set) rc = mer_errf(L->err, "out of memory");
    for (size_t i = 0; rc == 0 && i < (nr ? nr : 3); i++) {
        char a[64], b[64], cls[64];
        if (nr) class_rule(cfg->dataset_class_map.v[i], a, b, cls, sizeof cls);
        else snprintf(cls, sizeof cls, "%s", MEGC_CLASSES[i]);
        if (ds_in_list((const char *const *)set, cls)) continue;
        if (!(set[k++] = ds_strf("%s", cls))) rc = mer_errf(L->err, "out of memory");
    }
    if (rc) {
        ds_free_list(set, k);
        return -1;
    }
    *classes = set;
    *n_classes = k;
    return 0;
}

