/* Did-you-mean for unknown keys: the closest key by edit distance among the keys allowed at that place. */
#include "io/config/internal.h"

/* Optimal string alignment distance (edits + adjacent transpositions); large for long strings. */
static size_t edit_distance(const char *a, size_t na, const char *b, size_t nb) {
    enum { M = 64 };
    if (na >= M || nb >= M) return 99;
    size_t dd[M][M];
    for (size_t i = 0; i <= na; i++) dd[i][0] = i;
    for (size_t j = 0; j <= nb; j++) dd[0][j] = j;
    for (size_t i = 1; i <= na; i++)
        for (size_t j = 1; j <= nb; j++) {
            size_t c = a[i - 1] != b[j - 1];
            size_t x = dd[i - 1][j] + 1, y = dd[i][j - 1] + 1, z = dd[i - 1][j - 1] + c;
            size_t m = x < y ? x : y;
            m = m < z ? m : z;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && dd[i - 2][j - 2] + 1 < m)
                m = dd[i - 2][j - 2] + 1;
            dd[i][j] = m;
        }
    return dd[na][nb];
}

/* The distinct names directly under `prefix` ("" = top level), in schema order. */
size_t cfg_children(strview *out, const char *prefix) {
    size_t np = strlen(prefix), n = 0;
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        const char *key = CFG_KEYS[i].key;
        if (np && (strncmp(key, prefix, np) || key[np] != '.')) continue;
        const char *c = np ? key + np + 1 : key;
        const char *dot = strchr(c, '.');
        size_t len = dot ? (size_t)(dot - c) : strlen(c);
        int seen = 0;
        for (size_t j = 0; j < n; j++) seen |= out[j].n == len && !memcmp(out[j].s, c, len);
        if (!seen) out[n++] = (strview){c, len};
    }
    return n;
}

/* The candidate closest to name, if close enough to be a likely typo. */
const strview *cfg_suggest(const char *name, const strview *cand, size_t n) {
    size_t len = strlen(name), best = 99, limit = (len + 1) / 3;
    if (limit > 3) limit = 3;
    const strview *pick = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(name, len, cand[i].s, cand[i].n);
        if (dist < best) {
            best = dist;
            pick = &cand[i];
        }
    }
    return best <= limit ? pick : NULL;
}

/* Is `path` a section (a prefix of some key followed by '.')? */
int cfg_is_section(const char *path) {
    size_t n = strlen(path);
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (!strncmp(CFG_KEYS[i].key, path, n) && CFG_KEYS[i].key[n] == '.') return 1;
    return 0;
}

/* Report a full dotted key that is not in the schema (overrides, sweep keys); `extra` names other
 * words allowed at that place (the sweep's "seeds" and "zip"). */
void cfg_unknown_key(diag *d, cfg_loc loc, const char *key, const char *const *extra, size_t n_extra) {
    strview *all = malloc((CFG_N_KEYS + n_extra) * sizeof *all);
    if (!all) {
        d->oom = 1;
        return;
    }
    for (size_t i = 0; i < CFG_N_KEYS; i++) all[i] = (strview){CFG_KEYS[i].key, strlen(CFG_KEYS[i].key)};
    for (size_t i = 0; i < n_extra; i++) all[CFG_N_KEYS + i] = (strview){extra[i], strlen(extra[i])};
    const strview *s = cfg_suggest(key, all, CFG_N_KEYS + n_extra);
    if (s) diag_add(d, loc, "unknown key '%s' (did you mean '%.*s'?)", key, (int)s->n, s->s);
    else if (cfg_is_section(key)) diag_add(d, loc, "'%s' is a section, not a key (see mer config --keys)", key);
    else diag_add(d, loc, "unknown key '%s' (see mer config --keys)", key);
    free(all);
}
