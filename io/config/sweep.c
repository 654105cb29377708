/* The sweep grammar: `sweep: {KEY: [values], zip: {KEY: [...], ...}, seeds: [...]}`; every element is
 * checked as a value of its key. Points are the cartesian product of the factors (first key slowest; a zip
 * group is one factor), each a full resolved config with a stable id. */
#include <stdint.h>

#include "io/config/internal.h"

static void axis_free(sweep_axis *a) {
    for (size_t i = 0; i < a->n; i++) cfg_value_free(&CFG_KEYS[a->key], &a->vals[i]);
    free(a->vals);
    free(a->locs);
}

void sweep_free(cfg_sweep *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->f[i].n_axes; j++) axis_free(&s->f[i].axes[j]);
        free(s->f[i].axes);
    }
    free(s->f);
    if (s->src) {
        free((char *)s->src->path);
        free((char *)s->src->text);
        free(s->src);
    }
    free(s);
}


/* Is key ki already swept? Returns its first location, or NULL. */
static const cfg_loc *swept_at(const cfg_sweep *s, int ki) {
    for (size_t i = 0; i < s->n; i++)
        for (size_t j = 0; j < s->f[i].n_axes; j++)
            if (s->f[i].axes[j].key == ki) return &s->f[i].axes[j].locs[0];
    return NULL;
}

/* Parse `key: [v1, v2, ...]` into an axis. Returns 0 (axis filled), 1 (skipped, error reported or the
 * key is overridden), -1 out of memory. */
static int parse_axis(sweep_ctx *c, sweep_axis *a, yaml_node_t *key, yaml_node_t *val, int in_zip) {
    walk_ctx *w = c->w;
    const char *name = (const char *)key->data.scalar.value;
    cfg_loc kloc = cfg_loc_mark(w->src, key->start_mark);
    memset(a, 0, sizeof *a);
    int ki = cfg_key_index(name);
    if (ki < 0) {
        static const char *const sweep_words[] = {"seeds", "zip"};
        if (!strcmp(name, "seeds") && in_zip) diag_add(w->d, kloc, "seeds cannot be zipped; give sweep.seeds");
        else cfg_unknown_key(w->d, kloc, name, sweep_words, in_zip ? 0 : 2);
        return 1;
    }
    if (!strcmp(name, "seed")) {
        diag_add(w->d, kloc, "sweep over 'seed': list the seeds in sweep.seeds instead");
        return 1;
    }
    const cfg_loc *prev = swept_at(c->s, ki);
    if (prev) {
        diag_add(w->d, kloc, "'%s' is swept twice (first at line %zu)", name, prev->line);
        return 1;
    }
    if (val->type != YAML_SEQUENCE_NODE) {
        diag_add(w->d, cfg_loc_mark(w->src, val->start_mark), "sweep values for '%s' must be a list, found %s", name,
                 cfg_node_kind(val));
        return 1;
    }
    size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
    if (!n) {
        diag_add(w->d, cfg_loc_mark(w->src, val->start_mark), "sweep list for '%s' is empty", name);
        return 1;
    }
    a->key = ki;
    a->vals = calloc(n, sizeof *a->vals);
    a->locs = calloc(n, sizeof *a->locs);
    if (!a->vals || !a->locs) {
        axis_free(a);
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *e = yaml_document_get_node(w->doc, val->data.sequence.items.start[i]);
        a->locs[i] = cfg_loc_mark(w->src, e->start_mark);
        if (cfg_parse_node(&a->vals[a->n], &CFG_KEYS[ki], name, w->doc, e, w->src, w->d) < 0) bad = 1;
        else a->n++;
    }
    if (bad) {
        axis_free(a);
        return 1;
    }
    if (c->overridden[ki] && in_zip) {
        diag_add(w->d, kloc, "'%s' is overridden on the command line but swept in a zip group; edit the file",
                 name);
        axis_free(a);
        return 1;
    }
    if (c->overridden[ki]) { /* the override narrows the sweep to its one value */
        axis_free(a);
        return 1;
    }
    return 0;
}

static int add_factor(cfg_sweep *s, sweep_factor f) {
    sweep_factor *v = realloc(s->f, (s->n + 1) * sizeof *v);
    if (!v) return -1;
    s->f = v;
    s->f[s->n++] = f;
    return 0;
}

/* sweep.seeds (from the file or an override): a non-empty list of distinct integers. Replaces *seeds
 * when the node is a list. Returns -1 only when out of memory. */
int sweep_parse_seeds(long **seeds_out, size_t *n_out, yaml_document_t *doc, yaml_node_t *val, const cfg_src *src,
                       diag *d) {
    if (val->type != YAML_SEQUENCE_NODE || val->data.sequence.items.top == val->data.sequence.items.start) {
        diag_add(d, cfg_loc_mark(src, val->start_mark), "sweep.seeds must be a non-empty list of integers, found %s",
                 val->type == YAML_SEQUENCE_NODE ? "an empty list" : cfg_node_kind(val));
        return 0;
    }
    size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
    long *seeds = calloc(n, sizeof *seeds);
    if (!seeds) return -1;
    const cfg_key *seed_key = &CFG_KEYS[cfg_key_index("seed")];
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *e = yaml_document_get_node(doc, val->data.sequence.items.start[i]);
        cfg_value v;
        if (cfg_parse_node(&v, seed_key, "sweep.seeds", doc, e, src, d) < 0) continue;
        int dup = 0;
        for (size_t j = 0; j < ok; j++) dup |= seeds[j] == v.u.l;
        if (dup) {
            diag_add(d, cfg_loc_mark(src, e->start_mark), "seed %ld is listed twice in sweep.seeds", v.u.l);
            continue;
        }
        seeds[ok++] = v.u.l;
    }
    free(*seeds_out);
    *seeds_out = seeds;
    *n_out = ok;
    return 0;
}

int sweep_parse(sweep_ctx *c, yaml_node_t *sw) {
    walk_ctx *w = c->w;
    if (cfg_is_null(sw)) return 0;
    if (sw->type != YAML_MAPPING_NODE) {
        diag_add(w->d, cfg_loc_mark(w->src, sw->start_mark), "'sweep' is a mapping of key: [values], found %s",
                 cfg_node_kind(sw));
        return 0;
    }
    for (yaml_node_pair_t *p = sw->data.mapping.pairs.start; p < sw->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(w->doc, p->value);
        if (key->type != YAML_SCALAR_NODE) {
            diag_add(w->d, cfg_loc_mark(w->src, key->start_mark), "a key must be a name, found %s", cfg_node_kind(key));
            continue;
        }
        if (cfg_duplicate_key(w, sw, p)) continue;
        const char *name = (const char *)key->data.scalar.value;
        if (!strcmp(name, "seeds")) {
            if (sweep_parse_seeds(&c->seeds, &c->n_seeds, w->doc, val, w->src, w->d) < 0) return -1;
            c->s->seeds_given = 1;
            continue;
        }
        sweep_factor f = {0};
        if (!strcmp(name, "zip")) {
            if (val->type != YAML_MAPPING_NODE || val->data.mapping.pairs.top == val->data.mapping.pairs.start) {
                diag_add(w->d, cfg_loc_mark(w->src, val->start_mark),
                         "'zip' is a mapping of key: [values] with lists of equal length, found %s", cfg_node_kind(val));
                continue;
            }
            size_t n = (size_t)(val->data.mapping.pairs.top - val->data.mapping.pairs.start);
            if (!(f.axes = calloc(n, sizeof *f.axes))) return -1;
            const char *first_name = NULL;
            for (yaml_node_pair_t *q = val->data.mapping.pairs.start; q < val->data.mapping.pairs.top; q++) {
                yaml_node_t *zk = yaml_document_get_node(w->doc, q->key);
                yaml_node_t *zv = yaml_document_get_node(w->doc, q->value);
                if (zk->type != YAML_SCALAR_NODE) {
                    diag_add(w->d, cfg_loc_mark(w->src, zk->start_mark), "a key must be a name, found %s", cfg_node_kind(zk));
                    continue;
                }
                if (cfg_duplicate_key(w, val, q)) continue;
                sweep_axis a;
                int r = parse_axis(c, &a, zk, zv, 1);
                if (r < 0) {
                    for (size_t j = 0; j < f.n_axes; j++) axis_free(&f.axes[j]);
                    free(f.axes);
                    return -1;
                }
                if (r) continue;
                if (f.n_axes && a.n != f.len) {
                    diag_add(w->d, cfg_loc_mark(w->src, zv->start_mark),
                             "zip lists must have equal lengths: '%s' has %zu values, '%s' has %zu",
                             (const char *)zk->data.scalar.value, a.n, first_name, f.len);
                    axis_free(&a);
                    continue;
                }
                if (!f.n_axes) {
                    f.len = a.n;
                    first_name = (const char *)zk->data.scalar.value;
                }
                f.axes[f.n_axes++] = a;
            }
        } else {
            sweep_axis a;
            int r = parse_axis(c, &a, key, val, 0);
            if (r < 0) return -1;
            if (r) continue;
            if (!(f.axes = malloc(sizeof *f.axes))) {
                axis_free(&a);
                return -1;
            }
            f.axes[0] = a;
            f.n_axes = 1;
            f.len = a.n;
        }
        if (!f.n_axes) {
            free(f.axes);
            continue;
        }
        if (add_factor(c->s, f) < 0) {
            for (size_t j = 0; j < f.n_axes; j++) axis_free(&f.axes[j]);
            free(f.axes);
            return -1;
        }
    }
    return 0;
}

size_t sweep_points(const cfg_sweep *s) {
    size_t n = 1;
    for (size_t i = 0; s && i < s->n; i++) {
        if (n > CFG_MAX_POINTS) return CFG_MAX_POINTS + 1;
        n *= s->f[i].len;
    }
    return n;
}

/* Apply point `p` (mixed radix, first factor slowest) to cfg; record the element locations in set. */
int sweep_apply_point(mer_config *cfg, cfg_set *set, const cfg_sweep *s, size_t p, int *order) {
    for (size_t i = 0; i < s->n; i++) {
        size_t stride = 1; /* product of the lengths of the faster factors */
        for (size_t j = i + 1; j < s->n; j++) stride *= s->f[j].len;
        size_t idx = (p / stride) % s->f[i].len;
        for (size_t j = 0; j < s->f[i].n_axes; j++) {
            const sweep_axis *a = &s->f[i].axes[j];
            cfg_value v = {0};
            if (cfg_field_copy(&CFG_KEYS[a->key], &v.u, &a->vals[idx].u) < 0) {
                cfg_field_free(&CFG_KEYS[a->key], &v.u);
                return -1;
            }
            cfg_assign(cfg, set, a->key, &v, a->locs[idx], order);
        }
    }
    return 0;
}

size_t config_n_points(const cfg_doc *doc) { return sweep_points(doc->sweep); }

int config_points(cfg_point **points, size_t *n, const cfg_doc *doc, mer_err *err) {
    *points = NULL;
    *n = 0;
    const cfg_sweep *s = doc->sweep;
    size_t np = sweep_points(s);
    cfg_point *pts = calloc(np, sizeof *pts);
    cfg_set *set = calloc(CFG_N_KEYS, sizeof *set);
    if (!pts || !set) goto oom;
    for (size_t p = 0; p < np; p++) {
        cfg_point *pt = &pts[p];
        if (config_copy(&pt->cfg, &doc->base, err) < 0) goto fail;
        *n = p + 1;
        int order = 0;
        if (s && s->n && sweep_apply_point(&pt->cfg, set, s, p, &order) < 0) goto oom;
        cfg_finalize(&pt->cfg, NULL);
        strbuf params = STRBUF_INIT;
        for (size_t i = 0; s && i < s->n; i++)
            for (size_t j = 0; j < s->f[i].n_axes; j++) {
                const cfg_key *k = &CFG_KEYS[s->f[i].axes[j].key];
                strbuf_addf(&params, "%s%s=", params.len ? " " : "", k->key);
                cfg_put_field(&params, k, cfg_field_cptr(&pt->cfg, k), 1);
            }
        if (!(pt->params = strbuf_detach(&params))) goto oom;
        /* The id names the experiment, not where or how it runs: output.* and runtime.* are left out,
         * so the same point written to another folder or run with other threads keeps its id. */
        static const char *const ID_SECTIONS[] = {"seed", "dataset", "preprocess", "magnify", "model", "train", "eval"};
        char *text = config_to_string(&pt->cfg, ID_SECTIONS, sizeof ID_SECTIONS / sizeof ID_SECTIONS[0]);
        if (!text) goto oom;
        char id[17];
        snprintf(id, sizeof id, "%016llx", (unsigned long long)config_fnv1a64(text));
        free(text);
        if (!(pt->id = strdup(id))) goto oom;
    }
    free(set);
    *points = pts;
    return 0;
oom:
    mer_errf(err, "out of memory expanding the sweep of %s", doc->source_path ? doc->source_path : "config");
fail:
    free(set);
    config_points_free(pts, *n);
    *n = 0;
    return -1;
}

void config_points_free(cfg_point *points, size_t n) {
    if (!points) return;
    for (size_t i = 0; i < n; i++) {
        config_free(&points[i].cfg);
        free(points[i].params);
        free(points[i].id);
    }
    free(points);
}
