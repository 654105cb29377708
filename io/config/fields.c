/* Typed fields of mer_config, addressed by schema row + field pointer (one function per operation,
 * switching on the row's type), and the whole-struct helpers built on them: free, defaults, copy, equal. */
#include <math.h>

#include "io/base/hash.h"
#include "io/config/internal.h"

void *cfg_field_ptr(mer_config *cfg, const cfg_key *k) { return (char *)cfg + k->offset; }
const void *cfg_field_cptr(const mer_config *cfg, const cfg_key *k) { return (const char *)cfg + k->offset; }

static void str_list_free(cfg_str_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void cfg_field_free(const cfg_key *k, void *p) {
    switch (k->type) {
    case CFG_STR:
        free(*(char **)p);
        *(char **)p = NULL;
        break;
    case CFG_STR_LIST: str_list_free(p); break;
    case CFG_FLOAT_LIST:
        free(((cfg_f64_list *)p)->v);
        ((cfg_f64_list *)p)->v = NULL;
        ((cfg_f64_list *)p)->n = 0;
        break;
    default: break;
    }
}

size_t cfg_field_size(const cfg_key *k) {
    switch (k->type) {
    case CFG_INT:
    case CFG_BOOL:
    case CFG_ENUM: return sizeof(int);
    case CFG_LONG: return sizeof(long);
    case CFG_FLOAT: return sizeof(double);
    case CFG_STR: return sizeof(char *);
    case CFG_STR_LIST: return sizeof(cfg_str_list);
    case CFG_FLOAT_LIST: return sizeof(cfg_f64_list);
    }
    return 0;
}

/* Deep copy src field into dst field (dst holds nothing owned). Returns -1 when out of memory. */
int cfg_field_copy(const cfg_key *k, void *dst, const void *src) {
    memcpy(dst, src, cfg_field_size(k));
    switch (k->type) {
    case CFG_STR: {
        const char *s = *(char *const *)src;
        *(char **)dst = s ? strdup(s) : NULL;
        return s && !*(char **)dst ? -1 : 0;
    }
    case CFG_STR_LIST: {
        const cfg_str_list *a = src;
        cfg_str_list *b = dst;
        b->v = NULL;
        b->n = 0;
        if (!a->n) return 0;
        if (!(b->v = calloc(a->n, sizeof *b->v))) return -1;
        for (; b->n < a->n; b->n++)
            if (!(b->v[b->n] = strdup(a->v[b->n]))) return -1;
        return 0;
    }
    case CFG_FLOAT_LIST: {
        const cfg_f64_list *a = src;
        cfg_f64_list *b = dst;
        b->v = NULL;
        b->n = 0;
        if (!a->n) return 0;
        if (!(b->v = malloc(a->n * sizeof *b->v))) return -1;
        memcpy(b->v, a->v, a->n * sizeof *b->v);
        b->n = a->n;
        return 0;
    }
    default: return 0;
    }
}

static int same_double(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

int cfg_field_equal(const cfg_key *k, const void *a, const void *b) {
    switch (k->type) {
    case CFG_INT:
    case CFG_BOOL:
    case CFG_ENUM: return *(const int *)a == *(const int *)b;
    case CFG_LONG: return *(const long *)a == *(const long *)b;
    case CFG_FLOAT: return same_double(*(const double *)a, *(const double *)b);
    case CFG_STR: {
        const char *x = *(char *const *)a, *y = *(char *const *)b;
        return x && y ? !strcmp(x, y) : x == y;
    }
    case CFG_STR_LIST: {
        const cfg_str_list *x = a, *y = b;
        if (x->n != y->n) return 0;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i])) return 0;
        return 1;
    }
    case CFG_FLOAT_LIST: {
        const cfg_f64_list *x = a, *y = b;
        if (x->n != y->n) return 0;
        for (size_t i = 0; i < x->n; i++)
            if (!same_double(x->v[i], y->v[i])) return 0;
        return 1;
    }
    }
    return 0;
}


/* ---- public: struct helpers ------------------------------------------------------------------- */

void config_free(mer_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < CFG_N_KEYS; i++) cfg_field_free(&CFG_KEYS[i], cfg_field_ptr(cfg, &CFG_KEYS[i]));
}

void config_defaults(mer_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg_src src = {.path = "(defaults)"};
    diag d = {0};
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        cfg_value v = {0};
        if (k->type == CFG_STR_LIST || k->type == CFG_FLOAT_LIST) continue; /* all list defaults are [] */
        const char *text = k->def;
        int null = !strcmp(text, "~");
        char unq[256];
        if (text[0] == '"') { /* the table writes "" for an empty string */
            snprintf(unq, sizeof unq, "%.*s", (int)(strlen(text) - 2), text + 1);
            text = unq;
        }
        if (cfg_parse_scalar(&v, k, k->type, k->key, text, null, (cfg_loc){&src, 0, 0}, &d) == 0)
            memcpy(cfg_field_ptr(cfg, k), &v.u, cfg_field_size(k));
    }
    diag_free(&d); /* a bad default is a bug caught by test_config's defaults check */
    cfg_finalize(cfg, NULL);
}

int config_copy(mer_config *dst, const mer_config *src, mer_err *err) {
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (cfg_field_copy(&CFG_KEYS[i], cfg_field_ptr(dst, &CFG_KEYS[i]), cfg_field_cptr(src, &CFG_KEYS[i])) < 0) {
            config_free(dst);
            return mer_errf(err, "out of memory copying a configuration");
        }
    return 0;
}

int config_equal(const mer_config *a, const mer_config *b) {
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (!cfg_field_equal(&CFG_KEYS[i], cfg_field_cptr(a, &CFG_KEYS[i]), cfg_field_cptr(b, &CFG_KEYS[i]))) return 0;
    return 1;
}

double config_mag_alpha(const mer_config *cfg, int i) {
    if (cfg->mag_list.n) return cfg->mag_list.v[(size_t)i < cfg->mag_list.n ? (size_t)i : cfg->mag_list.n - 1];
    if (!isnan(cfg->mag_end)) {
        if (cfg->mag_count <= 1) return cfg->mag_start;
        if (i >= cfg->mag_count - 1) return cfg->mag_end;
        return cfg->mag_start + (cfg->mag_end - cfg->mag_start) * i / (cfg->mag_count - 1);
    }
    return cfg->mag_start + i * cfg->mag_step;
}

uint64_t config_fnv1a64(const char *s) { return fnv1a64(s, strlen(s), FNV1A64_INIT); }
