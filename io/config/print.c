/* The resolved config as nested YAML (mer config --print, cache keys, point ids) and the schema as a
 * table (mer config --keys). */
#include "io/config/internal.h"

/* Plain string prefixes (io/config/config.h): "dataset." selects the section, "output.save_" both save_ keys,
 * "train.lr" also train.lr_schedule (selecting more keys only makes a cache key stricter). */
static int key_selected(const char *key, const char *const *prefixes, size_t n) {
    if (!prefixes) return 1;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(key, prefixes[i], strlen(prefixes[i]))) return 1;
    return 0;
}

/* Nested YAML from the dotted keys, in schema order (sections are contiguous in the table). */
static void put_config(strbuf *b, const mer_config *cfg, const char *const *prefixes, size_t n_prefixes) {
    const char *prev = "";
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        if (!key_selected(k->key, prefixes, n_prefixes)) continue;
        /* shared leading sections with the previous key are already open */
        size_t same = 0, depth = 0;
        const char *a = prev, *c = k->key;
        for (;;) {
            const char *da = strchr(a, '.'), *dc = strchr(c, '.');
            if (!da || !dc || da - a != dc - c || memcmp(a, c, (size_t)(da - a))) break;
            same++;
            a = da + 1;
            c = dc + 1;
        }
        for (const char *p = k->key; (p = strchr(p, '.')); p++) depth++;
        const char *comp = k->key;
        for (size_t lvl = 0; lvl < depth; lvl++) {
            const char *dot = strchr(comp, '.');
            if (lvl >= same) strbuf_addf(b, "%*s%.*s:\n", (int)(2 * lvl), "", (int)(dot - comp), comp);
            comp = dot + 1;
        }
        strbuf_addf(b, "%*s%s: ", (int)(2 * depth), "", comp);
        cfg_put_field(b, k, cfg_field_cptr(cfg, k), 0);
        strbuf_adds(b, "\n");
        prev = k->key;
    }
}

char *config_to_string(const mer_config *cfg, const char *const *prefixes, size_t n_prefixes) {
    strbuf b = STRBUF_INIT;
    put_config(&b, cfg, prefixes, n_prefixes);
    return strbuf_detach(&b);
}

static int write_all(FILE *f, char *s) {
    if (!s) return -1;
    int r = fputs(s, f) < 0 ? -1 : 0;
    free(s);
    return r;
}

int config_print(FILE *f, const mer_config *cfg, const char *const *prefixes, size_t n_prefixes) {
    return write_all(f, config_to_string(cfg, prefixes, n_prefixes));
}

char *config_doc_to_string(const cfg_doc *doc) {
    strbuf b = STRBUF_INIT;
    put_config(&b, &doc->base, NULL, 0);
    const cfg_sweep *s = doc->sweep;
    if (s && (s->n || s->seeds_given)) {
        strbuf_adds(&b, "sweep:\n");
        for (size_t i = 0; i < s->n; i++) {
            int zip = s->f[i].n_axes > 1;
            if (zip) strbuf_adds(&b, "  zip:\n");
            for (size_t j = 0; j < s->f[i].n_axes; j++) {
                const sweep_axis *a = &s->f[i].axes[j];
                strbuf_addf(&b, "%*s%s: [", zip ? 4 : 2, "", CFG_KEYS[a->key].key);
                for (size_t e = 0; e < a->n; e++) {
                    if (e) strbuf_adds(&b, ", ");
                    cfg_put_field(&b, &CFG_KEYS[a->key], &a->vals[e].u, 0);
                }
                strbuf_adds(&b, "]\n");
            }
        }
        if (s->seeds_given) {
            strbuf_adds(&b, "  seeds: [");
            for (size_t i = 0; i < doc->n_seeds; i++) strbuf_addf(&b, "%s%ld", i ? ", " : "", doc->seeds[i]);
            strbuf_adds(&b, "]\n");
        }
    }
    return strbuf_detach(&b);
}

int config_doc_print(FILE *f, const cfg_doc *doc) { return write_all(f, config_doc_to_string(doc)); }

void config_print_schema(FILE *f) {
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "key", "type", "default", "range / values", "help");
    mer_config def;
    config_defaults(&def);
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        strbuf dv = STRBUF_INIT, r = STRBUF_INIT;
        cfg_put_field(&dv, k, cfg_field_cptr(&def, k), 0);
        if (!strcmp(k->key, "magnify.schedule.step")) { /* cfg_finalize() resolved it; show the table's value */
            strbuf_release(&dv);
            strbuf_adds(&dv, k->def);
        }
        if (k->type == CFG_ENUM) cfg_put_vocab(&r, k->enums, "|");
        else cfg_put_range(&r, k);
        fprintf(f, "%-28s %-13s %-16s %-22s %s\n", k->key, cfg_type_name(k->type), strbuf_str(&dv),
                strbuf_str(&r), k->help);
        strbuf_release(&dv);
        strbuf_release(&r);
    }
    config_free(&def);
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.KEY", "list", "", "",
             "values of KEY (a dotted key above); the cartesian product over keys, first key slowest");
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.zip.KEY", "list", "", "",
             "lists of equal length that advance together (one factor of the product)");
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.seeds", "list of int", "[seed]", "",
             "every point runs once per seed");
}
