/* One value: a YAML node parsed and checked against its schema row (type, range, enum values), and a
 * field written back as YAML text that parses to the same value. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "io/config/internal.h"

void cfg_value_free(const cfg_key *k, cfg_value *v) { cfg_field_free(k, &v->u); }

int cfg_is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

const char *cfg_node_kind(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

/* "(0, 10]", ">= 0", ... */
void cfg_put_range(strbuf *b, const cfg_key *k) {
    int lo = isfinite(k->min), hi = isfinite(k->max);
    if (lo && hi)
        strbuf_addf(b, "%c%g, %g%c", k->flags & CFG_MIN_OPEN ? '(' : '[', k->min, k->max,
                  k->flags & CFG_MAX_OPEN ? ')' : ']');
    else if (lo) strbuf_addf(b, "%s %g", k->flags & CFG_MIN_OPEN ? ">" : ">=", k->min);
    else if (hi) strbuf_addf(b, "%s %g", k->flags & CFG_MAX_OPEN ? "<" : "<=", k->max);
}

static int in_range(const cfg_key *k, double v) {
    if (v < k->min || (v == k->min && (k->flags & CFG_MIN_OPEN))) return 0;
    if (v > k->max || (v == k->max && (k->flags & CFG_MAX_OPEN))) return 0;
    return 1;
}

static void range_error(diag *d, cfg_loc loc, const cfg_key *k, const char *name, const char *text) {
    strbuf r = STRBUF_INIT;
    cfg_put_range(&r, k);
    int lo = isfinite(k->min), hi = isfinite(k->max);
    diag_add(d, loc, "'%s' is out of range for '%s' (must be %s%s)", text, name, lo && hi ? "in " : "",
             strbuf_str(&r));
    strbuf_release(&r);
}

void cfg_put_vocab(strbuf *b, const cfg_vocab *v, const char *sep) {
    for (int i = 0; i < v->n; i++) strbuf_addf(b, "%s%s", i ? sep : "", v->names[i]);
}

/* Parse scalar text as a value of row k (element type for lists). `name` is the key as the user wrote
 * it (messages). `null` = the scalar was a YAML null. Returns 0, or -1 after reporting at loc. */
int cfg_parse_scalar(cfg_value *v, const cfg_key *k, cfg_type t, const char *name, const char *text, int null,
                        cfg_loc loc, diag *d) {
    memset(v, 0, sizeof *v);
    char *end = NULL;
    switch (t) {
    case CFG_INT:
    case CFG_LONG: {
        if (null) {
            diag_add(d, loc, "no value for '%s' (expected an integer)", name);
            return -1;
        }
        errno = 0;
        long long x = strtoll(text, &end, 10);
        if (end == text || *end || isspace((unsigned char)text[0])) {
            diag_add(d, loc, "'%s' is not an integer for '%s'", text, name);
            return -1;
        }
        if (errno == ERANGE || (t == CFG_INT && (x < INT32_MIN || x > INT32_MAX)) || !in_range(k, (double)x)) {
            range_error(d, loc, k, name, text);
            return -1;
        }
        if (t == CFG_INT) v->u.i = (int)x;
        else v->u.l = (long)x;
        return 0;
    }
    case CFG_FLOAT: {
        if (null) {
            if (k->flags & CFG_NULLABLE) {
                v->null = 1;
                v->u.f = NAN;
                return 0;
            }
            diag_add(d, loc, "no value for '%s' (expected a number)", name);
            return -1;
        }
        errno = 0;
        double x = strtod(text, &end);
        if (end == text || *end || isspace((unsigned char)text[0]) || strpbrk(text, "xX") || isnan(x) ||
            (isinf(x) && errno != ERANGE)) {
            diag_add(d, loc, "'%s' is not a number for '%s'", text, name);
            return -1;
        }
        if (errno == ERANGE) {
            diag_add(d, loc, "'%s' cannot be represented as a double for '%s'", text, name);
            return -1;
        }
        if (!in_range(k, x)) {
            range_error(d, loc, k, name, text);
            return -1;
        }
        v->u.f = x;
        return 0;
    }
    case CFG_BOOL:
        if (!null && (!strcmp(text, "true") || !strcmp(text, "True") || !strcmp(text, "TRUE"))) v->u.i = 1;
        else if (!null && (!strcmp(text, "false") || !strcmp(text, "False") || !strcmp(text, "FALSE"))) v->u.i = 0;
        else {
            diag_add(d, loc, "'%s' is not a boolean for '%s' (use true or false)", null ? "" : text, name);
            return -1;
        }
        return 0;
    case CFG_STR:
        if (!(v->u.s = strdup(null ? "" : text))) d->oom = 1;
        return v->u.s ? 0 : -1;
    case CFG_ENUM: {
        int e = null ? -1 : cfg_enum_parse(k->enums, text);
        if (e < 0) {
            strbuf b = STRBUF_INIT;
            cfg_put_vocab(&b, k->enums, ", ");
            if (null) diag_add(d, loc, "no value for '%s' (allowed: %s)", name, strbuf_str(&b));
            else diag_add(d, loc, "'%s' is not a valid value for '%s' (allowed: %s)", text, name, strbuf_str(&b));
            strbuf_release(&b);
            return -1;
        }
        v->u.i = e;
        return 0;
    }
    default: return -1;
    }
}

/* Parse YAML node `n` of document `doc` as a value of row k. Returns 0, or -1 after reporting. */
int cfg_parse_node(cfg_value *v, const cfg_key *k, const char *name, yaml_document_t *doc, yaml_node_t *n,
                      const cfg_src *src, diag *d) {
    memset(v, 0, sizeof *v);
    cfg_loc loc = cfg_loc_mark(src, n->start_mark);
    int is_list = k->type == CFG_STR_LIST || k->type == CFG_FLOAT_LIST;
    if (!is_list) {
        if (n->type != YAML_SCALAR_NODE) {
            diag_add(d, loc, "'%s' takes %s %s, found %s", name, k->type == CFG_INT ? "an" : "a",
                     cfg_type_name(k->type), cfg_node_kind(n));
            return -1;
        }
        return cfg_parse_scalar(v, k, k->type, name, (const char *)n->data.scalar.value, cfg_is_null(n), loc, d);
    }
    if (cfg_is_null(n)) { /* `classes:` or `classes: ~` = empty list */
        v->null = 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        diag_add(d, loc, "'%s' takes a %s, found %s", name, cfg_type_name(k->type), cfg_node_kind(n));
        return -1;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start), ok = 0;
    cfg_type et = k->type == CFG_STR_LIST ? CFG_STR : CFG_FLOAT;
    if (count) {
        void *mem = et == CFG_STR ? calloc(count, sizeof(char *)) : calloc(count, sizeof(double));
        if (!mem) {
            d->oom = 1;
            return -1;
        }
        if (et == CFG_STR) v->u.sl.v = mem;
        else v->u.fl.v = mem;
    }
    int bad = 0;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *e = yaml_document_get_node(doc, n->data.sequence.items.start[i]);
        cfg_loc el = cfg_loc_mark(src, e->start_mark);
        if (e->type != YAML_SCALAR_NODE) {
            diag_add(d, el, "elements of '%s' must be scalars, found %s", name, cfg_node_kind(e));
            bad = 1;
            continue;
        }
        cfg_value ev;
        /* elements are never nullable: a float list element needs a number */
        cfg_key ek = *k;
        ek.flags &= ~(unsigned)CFG_NULLABLE;
        if (cfg_parse_scalar(&ev, &ek, et, name, (const char *)e->data.scalar.value, cfg_is_null(e), el, d) < 0) {
            bad = 1;
            continue;
        }
        if (et == CFG_STR) v->u.sl.v[ok++] = ev.u.s;
        else v->u.fl.v[ok++] = ev.u.f;
    }
    if (et == CFG_STR) v->u.sl.n = ok;
    else v->u.fl.n = ok;
    if (bad) {
        cfg_value_free(k, v);
        return -1;
    }
    return 0;
}

int cfg_key_index(const char *key) { return cfg_key_find(key, strlen(key)); }

/* ---- values as YAML text ---------------------------------------------------------------------- */

/* Shortest "%.Ng" that reads back to the same double; always looks like a float ("1.0", not "1"). */
void cfg_put_double(strbuf *b, double v) {
    if (isnan(v)) {
        strbuf_adds(b, "~");
        return;
    }
    char t[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    strbuf_addf(b, "%s%s", t, strpbrk(t, ".eEn") ? "" : ".0");
}

/* A string is written plain when YAML reads it back as the same string; otherwise double-quoted. */
static int plain_safe(const char *s) {
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) return 0;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '/')) return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./+-@", *p))) return 0;
    return 1;
}

void cfg_put_str(strbuf *b, const char *s) {
    if (plain_safe(s)) {
        strbuf_adds(b, s);
        return;
    }
    strbuf_adds(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') strbuf_addf(b, "\\%c", *p);
        else if (*p == '\n') strbuf_adds(b, "\\n");
        else if (*p == '\t') strbuf_adds(b, "\\t");
        else if (*p == '\r') strbuf_adds(b, "\\r");
        else if (*p < 0x20 || *p == 0x7f) strbuf_addf(b, "\\x%02x", *p);
        else strbuf_addc(b, *p);
    }
    strbuf_adds(b, "\"");
}

/* The value of field p (of row k) as YAML text; `compact` writes lists without spaces (sweep params). */
void cfg_put_field(strbuf *b, const cfg_key *k, const void *p, int compact) {
    const char *sep = compact ? "," : ", ";
    switch (k->type) {
    case CFG_INT: strbuf_addf(b, "%d", *(const int *)p); break;
    case CFG_LONG: strbuf_addf(b, "%ld", *(const long *)p); break;
    case CFG_BOOL: strbuf_adds(b, *(const int *)p ? "true" : "false"); break;
    case CFG_FLOAT: cfg_put_double(b, *(const double *)p); break;
    case CFG_STR: cfg_put_str(b, *(char *const *)p ? *(char *const *)p : ""); break;
    case CFG_ENUM: cfg_put_str(b, cfg_enum_name(k->enums, *(const int *)p)); break;
    case CFG_STR_LIST: {
        const cfg_str_list *l = p;
        strbuf_adds(b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) strbuf_adds(b, sep);
            cfg_put_str(b, l->v[i]);
        }
        strbuf_adds(b, "]");
        break;
    }
    case CFG_FLOAT_LIST: {
        const cfg_f64_list *l = p;
        strbuf_adds(b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) strbuf_adds(b, sep);
            cfg_put_double(b, l->v[i]);
        }
        strbuf_adds(b, "]");
        break;
    }
    }
}
