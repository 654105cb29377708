/* Configuration loading: YAML (libyaml) checked against the schema table in io/config/schema.c.
 *
 * Flow of config_load_text():
 *   1. tabs in indentation are reported first (libyaml's own message for them is cryptic);
 *   2. an event pass reports YAML syntax errors (libyaml problem + context marks), anchors and
 *      aliases (rejected, located) and extra documents; any of these stops the load there;
 *   3. the document (yaml_parser_load) is walked against the schema: unknown keys (with a suggestion by
 *      edit distance among sibling keys), duplicate keys, node kinds, types, ranges, enums;
 *   4. command-line overrides `key=value` (values are YAML scalars or flow lists) go through the same
 *      value checks;
 *   5. the sweep is parsed (every list element checked as a value of its key), then the base config
 *      (or, with a sweep, every expanded point) is checked as a whole (cross-key rules: io/config/rules.c).
 * Every error is collected with its location: `FILE:LINE:COL: message`, the source line, a caret.
 */
#include <errno.h>
#include <math.h>

#include "io/config/internal.h"

/* Store v into cfg (takes ownership) and remember where it was set. */
void cfg_assign(mer_config *cfg, cfg_set *set, int ki, cfg_value *v, cfg_loc loc, int *order) {
    const cfg_key *k = &CFG_KEYS[ki];
    void *p = cfg_field_ptr(cfg, k);
    cfg_field_free(k, p);
    memcpy(p, &v->u, cfg_field_size(k));
    memset(v, 0, sizeof *v);
    if (k->type == CFG_FLOAT && (k->flags & CFG_NULLABLE) && isnan(*(double *)p)) {
        set[ki].order = 0; /* `~` unsets */
        return;
    }
    set[ki].order = ++*order;
    set[ki].loc = loc;
}


/* ---- the document walk -------------------------------------------------------------------------- */


int cfg_duplicate_key(walk_ctx *w, yaml_node_t *map, yaml_node_pair_t *pair) {
    yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);
        if (prev->type == YAML_SCALAR_NODE && !strcmp((char *)prev->data.scalar.value, (char *)key->data.scalar.value)) {
            diag_add(w->d, cfg_loc_mark(w->src, key->start_mark), "duplicate key '%s' (first at line %zu)",
                     (char *)key->data.scalar.value, prev->start_mark.line + 1);
            return 1;
        }
    }
    return 0;
}

static void walk_mapping(walk_ctx *w, yaml_node_t *map, const char *prefix) {
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
        yaml_node_t *val = yaml_document_get_node(w->doc, pair->value);
        cfg_loc kloc = cfg_loc_mark(w->src, key->start_mark);
        if (key->type != YAML_SCALAR_NODE) {
            diag_add(w->d, kloc, "a key must be a name, found %s", cfg_node_kind(key));
            continue;
        }
        if (cfg_duplicate_key(w, map, pair)) continue;
        const char *name = (const char *)key->data.scalar.value;
        if (!*prefix && !strcmp(name, "sweep")) {
            w->sweep = val;
            continue;
        }
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (strchr(name, '.') && (cfg_key_index(full) >= 0 || cfg_is_section(full))) {
            diag_add(w->d, kloc, "dotted key '%s' is only allowed in sweep: and command-line overrides; nest it "
                                 "in its section", name);
            continue;
        }
        int ki = strchr(name, '.') ? -1 : cfg_key_index(full);
        if (ki >= 0) {
            cfg_value v;
            if (cfg_parse_node(&v, &CFG_KEYS[ki], full, w->doc, val, w->src, w->d) == 0)
                cfg_assign(w->cfg, w->set, ki, &v, cfg_loc_mark(w->src, val->start_mark), &w->order);
            continue;
        }
        if (ki < 0 && !strchr(name, '.') && cfg_is_section(full)) {
            if (val->type == YAML_MAPPING_NODE) walk_mapping(w, val, full);
            else if (!cfg_is_null(val)) /* `train:` with nothing under it is an empty section */
                diag_add(w->d, cfg_loc_mark(w->src, val->start_mark), "'%s' is a section (a mapping of keys), found %s",
                         full, cfg_node_kind(val));
            continue;
        }
        strview *cand = malloc((CFG_N_KEYS + 1) * sizeof *cand);
        if (!cand) {
            w->d->oom = 1;
            return;
        }
        size_t n = cfg_children(cand, prefix);
        if (!*prefix) cand[n++] = (strview){"sweep", 5};
        const strview *s = cfg_suggest(name, cand, n);
        const char *what = *prefix ? "key" : "section";
        if (s) {
            diag_add(w->d, kloc, "unknown %s '%s' (did you mean '%.*s'?)", what, name, (int)s->n, s->s);
        } else {
            strbuf known = STRBUF_INIT;
            for (size_t i = 0; i < n; i++) strbuf_addf(&known, "%s%.*s", i ? ", " : "", (int)cand[i].n, cand[i].s);
            if (*prefix) diag_add(w->d, kloc, "unknown key '%s' in '%s' (known: %s)", name, prefix, strbuf_str(&known));
            else diag_add(w->d, kloc, "unknown section '%s' (known: %s)", name, strbuf_str(&known));
            strbuf_release(&known);
        }
        free(cand);
    }
}

/* ---- loading -------------------------------------------------------------------------------- */

/* One override "key=value": the value is YAML (a scalar or a flow list), except that an unquoted value of
 * a string key is taken verbatim (paths with '#', ': ', '*', '[' stay intact). */
static int apply_override(walk_ctx *w, const cfg_src *osrc, unsigned char *overridden) {
    const char *ov = osrc->override;
    cfg_loc loc = {osrc, 0, 0};
    const char *eq = strchr(ov, '=');
    if (!eq || eq == ov) {
        diag_add(w->d, loc, "expected key=value");
        return 0;
    }
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - ov), ov);
    int ki = cfg_key_index(key), seeds = !strcmp(key, "sweep.seeds");
    if (ki < 0 && !seeds) {
        if (!strncmp(key, "sweep", 5) && (key[5] == 0 || key[5] == '.'))
            diag_add(w->d, loc, "only sweep.seeds can be overridden; set a swept key itself to run one value");
        else cfg_unknown_key(w->d, loc, key, NULL, 0);
        return 0;
    }
    const char *val = eq + 1;
    if (ki >= 0 && CFG_KEYS[ki].type == CFG_STR && val[0] != '"' && val[0] != '\'') {
        /* an unquoted string (usually a path) is taken verbatim: no YAML comments, aliases or flow syntax */
        cfg_value v = {0};
        if (!(v.u.s = strdup(val))) return -1;
        cfg_assign(w->cfg, w->set, ki, &v, loc, &w->order);
        overridden[ki] = 1;
        return 0;
    }
    yaml_parser_t ps;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&ps)) return -1;
    yaml_parser_set_input_string(&ps, (const unsigned char *)val, strlen(val));
    if (!yaml_parser_load(&ps, &doc)) {
        diag_add(w->d, loc, "invalid value: %s", ps.problem ? ps.problem : "YAML error");
        yaml_parser_delete(&ps);
        return 0;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    yaml_node_t empty = {.type = YAML_SCALAR_NODE};
    empty.data.scalar.value = (yaml_char_t *)"";
    empty.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    cfg_value v;
    int rc = 0;
    if (seeds) {
        rc = sweep_parse_seeds(&w->ov_seeds, &w->n_ov_seeds, &doc, root ? root : &empty, osrc, w->d);
    } else if (cfg_parse_node(&v, &CFG_KEYS[ki], key, &doc, root ? root : &empty, osrc, w->d) == 0) {
        cfg_assign(w->cfg, w->set, ki, &v, loc, &w->order);
        overridden[ki] = 1;
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    return rc;
}

int config_load_text(cfg_doc *doc, const char *name, const char *text, size_t len, char *const *overrides,
                     size_t n_overrides, char **diag_out, mer_err *err) {
    memset(doc, 0, sizeof *doc);
    if (diag_out) *diag_out = NULL;
    diag d = {0};
    cfg_sweep *sw = calloc(1, sizeof *sw);
    cfg_src *src = calloc(1, sizeof *src);
    cfg_set *set = calloc(CFG_N_KEYS, sizeof *set);
    unsigned char *overridden = calloc(CFG_N_KEYS, 1);
    cfg_src *osrc = calloc(n_overrides ? n_overrides : 1, sizeof *osrc);
    char *path_copy = strdup(name), *text_copy = malloc(len + 1);
    yaml_parser_t ps;
    yaml_document_t ydoc;
    int have_parser = 0, have_doc = 0;
    sweep_ctx sc = {0};
    walk_ctx w = {0};
    mer_config point;
    int have_point = 0;
    config_defaults(&doc->base);
    if (!sw || !src || !set || !overridden || !osrc || !path_copy || !text_copy) {
        d.oom = 1;
        goto fail;
    }
    memcpy(text_copy, text, len);
    text_copy[len] = 0;
    *src = (cfg_src){.path = path_copy, .text = text_copy, .len = len};
    sw->src = src;
    path_copy = text_copy = NULL;
    doc->sweep = sw;

    if (cfg_check_tabs(src, &d) || cfg_check_events(src, &d) < 0) goto fail;
    if (!yaml_parser_initialize(&ps)) {
        d.oom = 1;
        goto fail;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    if (!yaml_parser_load(&ps, &ydoc)) { /* after the event pass: an undefined alias, already reported */
        if (!diag_failed(&d)) cfg_yaml_problem(&ps, src, &d);
        goto fail;
    }
    have_doc = 1;
    w = (walk_ctx){.src = src, .doc = &ydoc, .d = &d, .cfg = &doc->base, .set = set};
    yaml_node_t *root = yaml_document_get_root_node(&ydoc);
    if (root && root->type == YAML_MAPPING_NODE) walk_mapping(&w, root, "");
    else if (root && !cfg_is_null(root))
        diag_add(&d, cfg_loc_mark(src, root->start_mark), "a config file is a mapping of sections, found %s",
                 cfg_node_kind(root));

    for (size_t i = 0; i < n_overrides; i++) {
        osrc[i] = (cfg_src){.path = src->path, .override = overrides[i]};
        if (apply_override(&w, &osrc[i], overridden) < 0) {
            d.oom = 1;
            goto fail;
        }
    }
    cfg_finalize(&doc->base, set);

    sc.w = &w;
    sc.s = sw;
    sc.overridden = overridden;
    if (w.sweep && sweep_parse(&sc, w.sweep) < 0) {
        d.oom = 1;
        goto fail;
    }
    if (w.ov_seeds) { /* sweep.seeds=[...] on the command line wins over the file */
        free(sc.seeds);
        sc.seeds = w.ov_seeds;
        sc.n_seeds = w.n_ov_seeds;
        w.ov_seeds = NULL;
        sw->seeds_given = 1;
    }
    size_t np = sweep_points(sw);
    if (np > CFG_MAX_POINTS) {
        diag_add(&d, cfg_loc_mark(src, w.sweep->start_mark), "the sweep expands to more than %d points", CFG_MAX_POINTS);
        goto fail;
    }
    /* whole-config checks also run after value errors (a bad value keeps its default), so one run shows
     * every error; sweep factors with a bad element are left out of the points */
    if (!sw->n) {
        cfg_check_whole(&doc->base, set, &d);
    } else {
        cfg_set *pset = malloc(CFG_N_KEYS * sizeof *pset);
        if (!pset) {
            d.oom = 1;
            goto fail;
        }
        for (size_t p = 0; p < np && !d.oom && d.n < CFG_MAX_ERRORS; p++) {
            memcpy(pset, set, CFG_N_KEYS * sizeof *pset);
            int order = w.order;
            if (config_copy(&point, &doc->base, NULL) < 0) {
                d.oom = 1;
                break;
            }
            have_point = 1;
            if (sweep_apply_point(&point, pset, sw, p, &order) < 0) d.oom = 1;
            cfg_finalize(&point, pset);
            cfg_check_whole(&point, pset, &d);
            config_free(&point);
            have_point = 0;
        }
        free(pset);
    }
    if (diag_failed(&d)) goto fail;

    if (sc.n_seeds) {
        doc->seeds = sc.seeds;
        doc->n_seeds = sc.n_seeds;
        sc.seeds = NULL;
    } else {
        if (!(doc->seeds = malloc(sizeof *doc->seeds))) {
            d.oom = 1;
            goto fail;
        }
        doc->seeds[0] = doc->base.seed;
        doc->n_seeds = 1;
    }
    if (!(doc->source_path = strdup(name))) {
        d.oom = 1;
        goto fail;
    }
    yaml_document_delete(&ydoc);
    yaml_parser_delete(&ps);
    free(set);
    free(overridden);
    free(osrc);
    diag_free(&d);
    return 0;

fail:
    if (have_point) config_free(&point);
    if (have_doc) yaml_document_delete(&ydoc);
    if (have_parser) yaml_parser_delete(&ps);
    free(sc.seeds);
    free(w.ov_seeds);
    diag_report(&d, diag_out, err);
    diag_free(&d);
    free(set);
    free(overridden);
    free(osrc);
    free(path_copy);
    free(text_copy);
    if (!doc->sweep) { /* src not yet owned by the sweep */
        free(src);
        free(sw);
    }
    config_doc_free(doc);
    return -1;
}

int config_load_diag(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, char **diag_out,
                     mer_err *err) {
    memset(doc, 0, sizeof *doc);
    if (diag_out) *diag_out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        mer_errf(err, "%s: cannot open config: %s", path, strerror(errno));
        if (diag_out) *diag_out = strdup(err ? err->msg : "cannot open config");
        return -1;
    }
    strbuf b = STRBUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) strbuf_addf(&b, "%.*s", (int)got, chunk);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || b.failed) {
        strbuf_release(&b);
        mer_errf(err, "%s: cannot read config", path);
        if (diag_out) *diag_out = strdup(err ? err->msg : "cannot read config");
        return -1;
    }
    int r = config_load_text(doc, path, strbuf_str(&b), b.len, overrides, n_overrides, diag_out, err);
    strbuf_release(&b);
    return r;
}

int config_load(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, mer_err *err) {
    return config_load_diag(doc, path, overrides, n_overrides, NULL, err);
}

void config_doc_free(cfg_doc *doc) {
    if (!doc) return;
    config_free(&doc->base);
    free(doc->source_path);
    free(doc->seeds);
    sweep_free(doc->sweep);
    memset(doc, 0, sizeof *doc);
}
