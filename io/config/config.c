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
 *      (or, with a sweep, every expanded point) is checked as a whole (cross-key rules below).
 * Every error is collected with its location: `FILE:LINE:COL: message`, the source line, a caret.
 *
 * Cross-key rules (checked on the resolved config of every point):
 *   - magnify.schedule.step and .end: at most one of them set explicitly (a `~` value counts as unset);
 *   - magnify.schedule.list non-empty: it sets count; an explicit count must equal its length;
 *     start/step/end are then ignored;
 *   - dataset.format other than synth: dataset.root must be given explicitly (its default is the demo
 *     folder); manifest also needs a non-empty dataset.annotations;
 *   - train.warmup_epochs < train.epochs.
 */
#include "io/config/config.h"

#include "io/base/hash.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "io/config/schema.h"

#define CFG_MAX_ERRORS 100
#define CFG_MAX_POINTS 100000

/* ---- growable string ------------------------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_vprintf(sbuf *b, const char *fmt, va_list ap) {
    if (b->oom) return;
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + (size_t)need + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    b->n += (size_t)need;
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(b, fmt, ap);
    va_end(ap);
}

/* Take the string out of the buffer (NULL when out of memory). */
static char *sb_take(sbuf *b) {
    if (b->oom) {
        free(b->s);
        return NULL;
    }
    if (!b->s) return strdup("");
    return b->s;
}

/* ---- locations and collected errors --------------------------------------------------------- */

typedef struct {
    const char *path;     /* file name shown in messages */
    const char *text;     /* file contents (source lines under messages); NULL for overrides */
    size_t len;
    const char *override; /* "key=value" when the value came from the command line */
} cfg_src;

typedef struct {
    const cfg_src *src;
    size_t line, col; /* 1-based; line 0 = no position */
} cfg_loc;

typedef struct {
    char *text;
    int rank;           /* 0 located in the file, 1 file without position, 2 override */
    size_t line, col, seq;
} diag_msg;

typedef struct {
    diag_msg *msg;      /* reported sorted by position in the file, then overrides, in arrival order */
    size_t n, cap;
    size_t dropped; /* errors beyond CFG_MAX_ERRORS */
    int oom;
} diag;

static cfg_loc loc_mark(const cfg_src *src, yaml_mark_t m) { return (cfg_loc){src, m.line + 1, m.column + 1}; }

/* Append the source line `line` (1-based) and a caret under column `col`. */
static void sb_source_line(sbuf *b, const cfg_src *src, size_t line, size_t col) {
    const char *p = src->text, *end = src->text + src->len;
    for (size_t l = 1; l < line && p < end; p++)
        if (*p == '\n') l++;
    if (p >= end && line > 1) return; /* past the last line (error at end of file) */
    const char *e = p;
    while (e < end && *e != '\n') e++;
    size_t n = (size_t)(e - p);
    if (n && p[n - 1] == '\r') n--;
    sb_printf(b, "\n%.*s\n", (int)n, p);
    /* columns count characters (libyaml marks), so skip UTF-8 continuation bytes; keep tabs */
    size_t c = 1;
    for (const char *q = p; q < p + n && c < col; q++) {
        if (((unsigned char)*q & 0xC0) == 0x80) continue;
        sb_printf(b, "%c", *q == '\t' ? '\t' : ' ');
        c++;
    }
    for (; c < col; c++) sb_printf(b, " ");
    sb_printf(b, "^");
}

__attribute__((format(printf, 3, 4))) static void diag_add(diag *d, cfg_loc loc, const char *fmt, ...) {
    sbuf b = {0};
    if (loc.src && loc.src->override) {
        sb_printf(&b, "override '%s': ", loc.src->override);
    } else if (loc.src && loc.line) {
        sb_printf(&b, "%s:%zu:%zu: ", loc.src->path, loc.line, loc.col);
    } else if (loc.src) {
        sb_printf(&b, "%s: ", loc.src->path);
    }
    va_list ap;
    va_start(ap, fmt);
    sb_vprintf(&b, fmt, ap);
    va_end(ap);
    if (loc.src && !loc.src->override && loc.line && loc.src->text) sb_source_line(&b, loc.src, loc.line, loc.col);
    char *m = sb_take(&b);
    if (!m) {
        d->oom = 1;
        return;
    }
    for (size_t i = 0; i < d->n; i++) /* a rule broken by every sweep point is reported once */
        if (!strcmp(d->msg[i].text, m)) {
            free(m);
            return;
        }
    if (d->n == CFG_MAX_ERRORS) {
        d->dropped++;
        free(m);
        return;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 16;
        diag_msg *v = realloc(d->msg, cap * sizeof *v);
        if (!v) {
            free(m);
            d->oom = 1;
            return;
        }
        d->msg = v;
        d->cap = cap;
    }
    int rank = loc.src && loc.src->override ? 2 : loc.line ? 0 : 1;
    d->msg[d->n] = (diag_msg){m, rank, loc.line, loc.col, d->n};
    d->n++;
}

static int diag_cmp(const void *pa, const void *pb) {
    const diag_msg *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->rank == 0 && a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->rank == 0 && a->col != b->col) return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int diag_failed(const diag *d) { return d->n > 0 || d->oom; }

static void diag_free(diag *d) {
    for (size_t i = 0; i < d->n; i++) free(d->msg[i].text);
    free(d->msg);
    memset(d, 0, sizeof *d);
}

/* Hand the errors to the caller: all of them in *full, as many as fit in err. Returns -1. */
static int diag_report(diag *d, char **full, mer_err *err) {
    if (d->oom) {
        mer_errf(err, "out of memory while checking the configuration");
        if (full) *full = strdup(err ? err->msg : "out of memory");
        return -1;
    }
    if (d->n) qsort(d->msg, d->n, sizeof *d->msg, diag_cmp);
    sbuf all = {0};
    for (size_t i = 0; i < d->n; i++) sb_printf(&all, "%s%s", i ? "\n" : "", d->msg[i].text);
    if (d->dropped) sb_printf(&all, "\n(%zu more errors not shown)", d->dropped);
    if (err) {
        size_t used = 0, shown = 0;
        err->msg[0] = 0;
        for (size_t i = 0; i < d->n; i++) {
            size_t m = strlen(d->msg[i].text) + (i ? 1 : 0);
            if (used + m + 64 >= sizeof err->msg) break;
            used += (size_t)snprintf(err->msg + used, sizeof err->msg - used, "%s%s", i ? "\n" : "", d->msg[i].text);
            shown++;
        }
        if (!shown && d->n) { /* one huge message (a very long source line): keep its start */
            snprintf(err->msg, sizeof err->msg - 64, "%s", d->msg[0].text);
            used = strlen(err->msg);
            shown = 1;
        }
        if (shown < d->n + d->dropped)
            snprintf(err->msg + used, sizeof err->msg - used, "%s... and %zu more errors", used ? "\n" : "",
                     d->n + d->dropped - shown);
    }
    char *s = sb_take(&all);
    if (full) *full = s;
    else free(s);
    return -1;
}

/* ---- typed fields: one set of functions per schema type, addressed by row + field pointer ---- */

static void *field_ptr(mer_config *cfg, const cfg_key *k) { return (char *)cfg + k->offset; }
static const void *field_cptr(const mer_config *cfg, const cfg_key *k) { return (const char *)cfg + k->offset; }

static void str_list_free(cfg_str_list *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static void field_free(const cfg_key *k, void *p) {
    switch (k->type) {
    case CFG_STR:
    case CFG_ENUM:
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

static size_t field_size(const cfg_key *k) {
    switch (k->type) {
    case CFG_INT:
    case CFG_BOOL: return sizeof(int);
    case CFG_LONG: return sizeof(long);
    case CFG_FLOAT: return sizeof(double);
    case CFG_STR:
    case CFG_ENUM: return sizeof(char *);
    case CFG_STR_LIST: return sizeof(cfg_str_list);
    case CFG_FLOAT_LIST: return sizeof(cfg_f64_list);
    }
    return 0;
}

/* Deep copy src field into dst field (dst holds nothing owned). Returns -1 when out of memory. */
static int field_copy(const cfg_key *k, void *dst, const void *src) {
    memcpy(dst, src, field_size(k));
    switch (k->type) {
    case CFG_STR:
    case CFG_ENUM: {
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

static int field_equal(const cfg_key *k, const void *a, const void *b) {
    switch (k->type) {
    case CFG_INT:
    case CFG_BOOL: return *(const int *)a == *(const int *)b;
    case CFG_LONG: return *(const long *)a == *(const long *)b;
    case CFG_FLOAT: return same_double(*(const double *)a, *(const double *)b);
    case CFG_STR:
    case CFG_ENUM: {
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

/* Shortest "%.Ng" that reads back to the same double; always looks like a float ("1.0", not "1"). */
static void sb_double(sbuf *b, double v) {
    if (isnan(v)) {
        sb_printf(b, "~");
        return;
    }
    char t[64];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v) break;
    }
    sb_printf(b, "%s%s", t, strpbrk(t, ".eEn") ? "" : ".0");
}

/* A string is written plain when YAML reads it back as the same string; otherwise double-quoted. */
static int plain_safe(const char *s) {
    if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")) return 0;
    if (!(isalnum((unsigned char)s[0]) || s[0] == '_' || s[0] == '.' || s[0] == '/')) return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || strchr("_./+-@", *p))) return 0;
    return 1;
}

static void sb_str(sbuf *b, const char *s) {
    if (plain_safe(s)) {
        sb_printf(b, "%s", s);
        return;
    }
    sb_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') sb_printf(b, "\\%c", *p);
        else if (*p == '\n') sb_printf(b, "\\n");
        else if (*p == '\t') sb_printf(b, "\\t");
        else if (*p == '\r') sb_printf(b, "\\r");
        else if (*p < 0x20 || *p == 0x7f) sb_printf(b, "\\x%02x", *p);
        else sb_printf(b, "%c", *p);
    }
    sb_printf(b, "\"");
}

/* The value of field p (of row k) as YAML text; `compact` writes lists without spaces (sweep params). */
static void sb_field(sbuf *b, const cfg_key *k, const void *p, int compact) {
    const char *sep = compact ? "," : ", ";
    switch (k->type) {
    case CFG_INT: sb_printf(b, "%d", *(const int *)p); break;
    case CFG_LONG: sb_printf(b, "%ld", *(const long *)p); break;
    case CFG_BOOL: sb_printf(b, "%s", *(const int *)p ? "true" : "false"); break;
    case CFG_FLOAT: sb_double(b, *(const double *)p); break;
    case CFG_STR:
    case CFG_ENUM: sb_str(b, *(char *const *)p ? *(char *const *)p : ""); break;
    case CFG_STR_LIST: {
        const cfg_str_list *l = p;
        sb_printf(b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) sb_printf(b, "%s", sep);
            sb_str(b, l->v[i]);
        }
        sb_printf(b, "]");
        break;
    }
    case CFG_FLOAT_LIST: {
        const cfg_f64_list *l = p;
        sb_printf(b, "[");
        for (size_t i = 0; i < l->n; i++) {
            if (i) sb_printf(b, "%s", sep);
            sb_double(b, l->v[i]);
        }
        sb_printf(b, "]");
        break;
    }
    }
}

/* ---- parsing one value ------------------------------------------------------------------------ */

/* A parsed value, laid out like the struct field so the field functions above apply to &v->u. */
typedef struct {
    int null; /* YAML null (plain ~, null, or nothing) */
    union {
        int i;
        long l;
        double f;
        char *s;
        cfg_str_list sl;
        cfg_f64_list fl;
    } u;
} cfg_value;

static void value_free(const cfg_key *k, cfg_value *v) { field_free(k, &v->u); }

static int is_null_scalar(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *node_kind(const yaml_node_t *n) {
    switch (n->type) {
    case YAML_MAPPING_NODE: return "a mapping";
    case YAML_SEQUENCE_NODE: return "a list";
    default: return "a scalar";
    }
}

/* "(0, 10]", ">= 0", ... */
static void sb_range(sbuf *b, const cfg_key *k) {
    int lo = isfinite(k->min), hi = isfinite(k->max);
    if (lo && hi)
        sb_printf(b, "%c%g, %g%c", k->flags & CFG_MIN_OPEN ? '(' : '[', k->min, k->max,
                  k->flags & CFG_MAX_OPEN ? ')' : ']');
    else if (lo) sb_printf(b, "%s %g", k->flags & CFG_MIN_OPEN ? ">" : ">=", k->min);
    else if (hi) sb_printf(b, "%s %g", k->flags & CFG_MAX_OPEN ? "<" : "<=", k->max);
}

static int in_range(const cfg_key *k, double v) {
    if (v < k->min || (v == k->min && (k->flags & CFG_MIN_OPEN))) return 0;
    if (v > k->max || (v == k->max && (k->flags & CFG_MAX_OPEN))) return 0;
    return 1;
}

static void range_error(diag *d, cfg_loc loc, const cfg_key *k, const char *name, const char *text) {
    sbuf r = {0};
    sb_range(&r, k);
    int lo = isfinite(k->min), hi = isfinite(k->max);
    diag_add(d, loc, "'%s' is out of range for '%s' (must be %s%s)", text, name, lo && hi ? "in " : "",
             r.s ? r.s : "");
    free(r.s);
}

static void sb_enum_list(sbuf *b, const char *enums) {
    for (const char *p = enums; *p; p++) sb_printf(b, "%s", *p == '|' ? ", " : (char[]){*p, 0});
}

static int enum_has(const char *enums, const char *s) {
    size_t n = strlen(s);
    for (const char *p = enums; p;) {
        const char *bar = strchr(p, '|');
        size_t m = bar ? (size_t)(bar - p) : strlen(p);
        if (m == n && !memcmp(p, s, n)) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

/* Parse scalar text as a value of row k (element type for lists). `name` is the key as the user wrote
 * it (messages). `null` = the scalar was a YAML null. Returns 0, or -1 after reporting at loc. */
static int parse_scalar(cfg_value *v, const cfg_key *k, cfg_type t, const char *name, const char *text, int null,
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
        if (null || !enum_has(k->enums, text)) {
            sbuf b = {0};
            sb_enum_list(&b, k->enums);
            if (null) diag_add(d, loc, "no value for '%s' (allowed: %s)", name, b.s ? b.s : "");
            else diag_add(d, loc, "'%s' is not a valid value for '%s' (allowed: %s)", text, name, b.s ? b.s : "");
            free(b.s);
            return -1;
        }
        if (!(v->u.s = strdup(text))) d->oom = 1;
        return v->u.s ? 0 : -1;
    }
    default: return -1;
    }
}

/* Parse YAML node `n` of document `doc` as a value of row k. Returns 0, or -1 after reporting. */
static int parse_node(cfg_value *v, const cfg_key *k, const char *name, yaml_document_t *doc, yaml_node_t *n,
                      const cfg_src *src, diag *d) {
    memset(v, 0, sizeof *v);
    cfg_loc loc = loc_mark(src, n->start_mark);
    int is_list = k->type == CFG_STR_LIST || k->type == CFG_FLOAT_LIST;
    if (!is_list) {
        if (n->type != YAML_SCALAR_NODE) {
            diag_add(d, loc, "'%s' takes %s %s, found %s", name, k->type == CFG_INT ? "an" : "a",
                     cfg_type_name(k->type), node_kind(n));
            return -1;
        }
        return parse_scalar(v, k, k->type, name, (const char *)n->data.scalar.value, is_null_scalar(n), loc, d);
    }
    if (is_null_scalar(n)) { /* `classes:` or `classes: ~` = empty list */
        v->null = 1;
        return 0;
    }
    if (n->type != YAML_SEQUENCE_NODE) {
        diag_add(d, loc, "'%s' takes a %s, found %s", name, cfg_type_name(k->type), node_kind(n));
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
        cfg_loc el = loc_mark(src, e->start_mark);
        if (e->type != YAML_SCALAR_NODE) {
            diag_add(d, el, "elements of '%s' must be scalars, found %s", name, node_kind(e));
            bad = 1;
            continue;
        }
        cfg_value ev;
        /* elements are never nullable: a float list element needs a number */
        cfg_key ek = *k;
        ek.flags &= ~(unsigned)CFG_NULLABLE;
        if (parse_scalar(&ev, &ek, et, name, (const char *)e->data.scalar.value, is_null_scalar(e), el, d) < 0) {
            bad = 1;
            continue;
        }
        if (et == CFG_STR) v->u.sl.v[ok++] = ev.u.s;
        else v->u.fl.v[ok++] = ev.u.f;
    }
    if (et == CFG_STR) v->u.sl.n = ok;
    else v->u.fl.n = ok;
    if (bad) {
        value_free(k, v);
        return -1;
    }
    return 0;
}

static int key_index(const char *key) { return cfg_key_find(key, strlen(key)); }

/* ---- explicit assignments: which keys were set, where, in which order ------------------------- */

typedef struct {
    int order; /* 0 = not set explicitly (default or `~`) */
    cfg_loc loc;
} cfg_set;

/* Store v into cfg (takes ownership) and remember where it was set. */
static void assign(mer_config *cfg, cfg_set *set, int ki, cfg_value *v, cfg_loc loc, int *order) {
    const cfg_key *k = &CFG_KEYS[ki];
    void *p = field_ptr(cfg, k);
    field_free(k, p);
    memcpy(p, &v->u, field_size(k));
    memset(v, 0, sizeof *v);
    if (k->type == CFG_FLOAT && (k->flags & CFG_NULLABLE) && isnan(*(double *)p)) {
        set[ki].order = 0; /* `~` unsets */
        return;
    }
    set[ki].order = ++*order;
    set[ki].loc = loc;
}

static int key_index(const char *key);

/* Derived fields after all assignments: a list sets count (an explicit count must match it, which
 * check_whole() reports); end set means step is unused (NAN). `set` may be NULL. */
static void finalize(mer_config *cfg, const cfg_set *set) {
    if (cfg->mag_list.n && !(set && set[key_index("magnify.schedule.count")].order))
        cfg->mag_count = (int)cfg->mag_list.n;
    if (!isnan(cfg->mag_end)) cfg->mag_step = NAN;
    else if (isnan(cfg->mag_step)) cfg->mag_step = strtod(CFG_KEYS[key_index("magnify.schedule.step")].def, NULL);
}

static void sb_where(sbuf *b, cfg_loc l) {
    if (l.src && l.src->override) sb_printf(b, "override '%s'", l.src->override);
    else sb_printf(b, "line %zu", l.line);
}

/* The cross-key rules of the file header, on one resolved config. */
static void check_whole(const mer_config *cfg, const cfg_set *set, diag *d) {
    int step = key_index("magnify.schedule.step"), end = key_index("magnify.schedule.end");
    int count = key_index("magnify.schedule.count"), list = key_index("magnify.schedule.list");
    int fmt = key_index("dataset.format"), root = key_index("dataset.root");
    int warm = key_index("train.warmup_epochs"), epochs = key_index("train.epochs");
    if (set[step].order && set[end].order) {
        int second = set[step].order > set[end].order ? step : end, first = second == step ? end : step;
        sbuf w = {0};
        sb_where(&w, set[first].loc);
        diag_add(d, set[second].loc, "'%s' and '%s' are both set (first at %s); give one of them",
                 CFG_KEYS[first].key, CFG_KEYS[second].key, w.s ? w.s : "");
        free(w.s);
    }
    if (cfg->mag_list.n && set[count].order && set[list].order && (size_t)cfg->mag_count != cfg->mag_list.n) {
        int second = set[count].order > set[list].order ? count : list;
        diag_add(d, set[second].loc, "'magnify.schedule.count' is %d but 'magnify.schedule.list' has %zu factors",
                 cfg->mag_count, cfg->mag_list.n);
    }
    if (strcmp(cfg->dataset_format, "synth") && !set[root].order) {
        cfg_loc l = set[fmt].loc; /* format is not synth, so it was set explicitly */
        diag_add(d, l, "missing required key 'dataset.root' (dataset.format '%s' has no default folder)",
                 cfg->dataset_format);
    } else if (strcmp(cfg->dataset_format, "synth") && !cfg->dataset_root[0]) {
        diag_add(d, set[root].loc, "'dataset.root' is empty (dataset.format '%s' needs the dataset's folder)",
                 cfg->dataset_format);
    }
    if (!strcmp(cfg->dataset_format, "manifest") && !cfg->dataset_annotations[0])
        diag_add(d, set[fmt].loc, "missing required key 'dataset.annotations' (dataset.format 'manifest' reads "
                                  "its samples from that CSV)");
    if (cfg->train_warmup_epochs >= cfg->train_epochs) {
        int second = set[warm].order > set[epochs].order ? warm : epochs;
        diag_add(d, set[second].loc, "'train.warmup_epochs' (%d) must be smaller than 'train.epochs' (%d)",
                 cfg->train_warmup_epochs, cfg->train_epochs);
    }
}

/* ---- suggestions -------------------------------------------------------------------------------- */

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

typedef struct {
    const char *s;
    size_t n;
} strview;

/* The distinct names directly under `prefix` ("" = top level), in schema order. */
static size_t children(strview *out, const char *prefix) {
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
static const strview *suggest(const char *name, const strview *cand, size_t n) {
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
static int is_section(const char *path) {
    size_t n = strlen(path);
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (!strncmp(CFG_KEYS[i].key, path, n) && CFG_KEYS[i].key[n] == '.') return 1;
    return 0;
}

/* Report a full dotted key that is not in the schema (overrides, sweep keys); `extra` names other
 * words allowed at that place (the sweep's "seeds" and "zip"). */
static void unknown_full_key(diag *d, cfg_loc loc, const char *key, const char *const *extra, size_t n_extra) {
    strview *all = malloc((CFG_N_KEYS + n_extra) * sizeof *all);
    if (!all) {
        d->oom = 1;
        return;
    }
    for (size_t i = 0; i < CFG_N_KEYS; i++) all[i] = (strview){CFG_KEYS[i].key, strlen(CFG_KEYS[i].key)};
    for (size_t i = 0; i < n_extra; i++) all[CFG_N_KEYS + i] = (strview){extra[i], strlen(extra[i])};
    const strview *s = suggest(key, all, CFG_N_KEYS + n_extra);
    if (s) diag_add(d, loc, "unknown key '%s' (did you mean '%.*s'?)", key, (int)s->n, s->s);
    else if (is_section(key)) diag_add(d, loc, "'%s' is a section, not a key (see mer config --keys)", key);
    else diag_add(d, loc, "unknown key '%s' (see mer config --keys)", key);
    free(all);
}

/* ---- the document walk -------------------------------------------------------------------------- */

typedef struct {
    const cfg_src *src;
    yaml_document_t *doc;
    diag *d;
    mer_config *cfg;
    cfg_set *set;
    int order;
    yaml_node_t *sweep;  /* the top-level sweep: value, parsed after the overrides */
    long *ov_seeds;      /* sweep.seeds=[...] given on the command line (replaces the file's) */
    size_t n_ov_seeds;
} walk_ctx;

static int duplicate_key(walk_ctx *w, yaml_node_t *map, yaml_node_pair_t *pair) {
    yaml_node_t *key = yaml_document_get_node(w->doc, pair->key);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);
        if (prev->type == YAML_SCALAR_NODE && !strcmp((char *)prev->data.scalar.value, (char *)key->data.scalar.value)) {
            diag_add(w->d, loc_mark(w->src, key->start_mark), "duplicate key '%s' (first at line %zu)",
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
        cfg_loc kloc = loc_mark(w->src, key->start_mark);
        if (key->type != YAML_SCALAR_NODE) {
            diag_add(w->d, kloc, "a key must be a name, found %s", node_kind(key));
            continue;
        }
        if (duplicate_key(w, map, pair)) continue;
        const char *name = (const char *)key->data.scalar.value;
        if (!*prefix && !strcmp(name, "sweep")) {
            w->sweep = val;
            continue;
        }
        char full[256];
        snprintf(full, sizeof full, "%s%s%s", prefix, *prefix ? "." : "", name);
        if (strchr(name, '.') && (key_index(full) >= 0 || is_section(full))) {
            diag_add(w->d, kloc, "dotted key '%s' is only allowed in sweep: and command-line overrides; nest it "
                                 "in its section", name);
            continue;
        }
        int ki = strchr(name, '.') ? -1 : key_index(full);
        if (ki >= 0) {
            cfg_value v;
            if (parse_node(&v, &CFG_KEYS[ki], full, w->doc, val, w->src, w->d) == 0)
                assign(w->cfg, w->set, ki, &v, loc_mark(w->src, val->start_mark), &w->order);
            continue;
        }
        if (ki < 0 && !strchr(name, '.') && is_section(full)) {
            if (val->type == YAML_MAPPING_NODE) walk_mapping(w, val, full);
            else if (!is_null_scalar(val)) /* `train:` with nothing under it is an empty section */
                diag_add(w->d, loc_mark(w->src, val->start_mark), "'%s' is a section (a mapping of keys), found %s",
                         full, node_kind(val));
            continue;
        }
        strview *cand = malloc((CFG_N_KEYS + 1) * sizeof *cand);
        if (!cand) {
            w->d->oom = 1;
            return;
        }
        size_t n = children(cand, prefix);
        if (!*prefix) cand[n++] = (strview){"sweep", 5};
        const strview *s = suggest(name, cand, n);
        const char *what = *prefix ? "key" : "section";
        if (s) {
            diag_add(w->d, kloc, "unknown %s '%s' (did you mean '%.*s'?)", what, name, (int)s->n, s->s);
        } else {
            sbuf known = {0};
            for (size_t i = 0; i < n; i++) sb_printf(&known, "%s%.*s", i ? ", " : "", (int)cand[i].n, cand[i].s);
            if (*prefix) diag_add(w->d, kloc, "unknown key '%s' in '%s' (known: %s)", name, prefix, known.s);
            else diag_add(w->d, kloc, "unknown section '%s' (known: %s)", name, known.s);
            free(known.s);
        }
        free(cand);
    }
}

/* ---- YAML text checks before the document load ------------------------------------------------- */

/* Tabs in indentation: a friendly message instead of libyaml's "cannot start any token". */
static int check_tabs(const cfg_src *src, diag *d) {
    int found = 0;
    size_t line = 1;
    for (const char *p = src->text, *end = src->text + src->len; p < end; line++) {
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        int content = q < end && *q != '\n' && *q != '\r' && *q != '#';
        if (content)
            for (const char *t = p; t < q; t++)
                if (*t == '\t') {
                    diag_add(d, (cfg_loc){src, line, (size_t)(t - p) + 1},
                             "tab character in indentation (YAML indents with spaces only)");
                    found = 1;
                    break;
                }
        while (q < end && *q != '\n') q++;
        p = q + 1;
    }
    return found;
}

static void yaml_problem(const yaml_parser_t *ps, const cfg_src *src, diag *d) {
    if (ps->error == YAML_MEMORY_ERROR) {
        d->oom = 1;
        return;
    }
    cfg_loc loc = loc_mark(src, ps->problem_mark);
    if (ps->error == YAML_READER_ERROR) { /* marks are not set: locate the byte offset */
        loc = (cfg_loc){src, 1, 1};
        for (size_t i = 0; i < ps->problem_offset && i < src->len; i++) {
            if (src->text[i] == '\n') {
                loc.line++;
                loc.col = 1;
            } else if (((unsigned char)src->text[i] & 0xC0) != 0x80) {
                loc.col++;
            }
        }
        diag_add(d, loc, "YAML syntax error: %s", ps->problem ? ps->problem : "unreadable input");
        return;
    }
    const char *problem = ps->problem ? ps->problem : "?", *hint = "";
    /* the two messages libyaml gives for a mis-indented line */
    if (strstr(problem, "did not find expected key")) hint = "; check this line's indentation";
    else if (strstr(problem, "mapping values are not allowed"))
        hint = "; check the indentation, or quote a value that contains ': '";
    if (ps->context)
        diag_add(d, loc, "YAML syntax error: %s (%s at line %zu, column %zu)%s", problem, ps->context,
                 ps->context_mark.line + 1, ps->context_mark.column + 1, hint);
    else diag_add(d, loc, "YAML syntax error: %s%s", problem, hint);
}

/* Event pass: syntax errors, anchors and aliases, more than one document. Returns -1 on a syntax error
 * or a second document (the walk cannot go on); anchors and aliases are reported and the walk goes on
 * (the document API resolves an alias to its anchored node, so later messages may point there). */
static int check_events(const cfg_src *src, diag *d) {
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) {
        d->oom = 1;
        return -1;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    int bad = 0, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&ps, &ev)) {
            yaml_problem(&ps, src, d);
            bad = 1;
            break;
        }
        const unsigned char *anchor = NULL;
        const char *sigil = "&";
        switch (ev.type) {
        case YAML_ALIAS_EVENT:
            anchor = ev.data.alias.anchor;
            sigil = "*";
            break;
        case YAML_SCALAR_EVENT: anchor = ev.data.scalar.anchor; break;
        case YAML_SEQUENCE_START_EVENT: anchor = ev.data.sequence_start.anchor; break;
        case YAML_MAPPING_START_EVENT: anchor = ev.data.mapping_start.anchor; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs == 2) {
                diag_add(d, loc_mark(src, ev.start_mark), "a config file holds one YAML document, found a second");
                bad = 1;
            }
            break;
        default: break;
        }
        if (anchor)
            diag_add(d, loc_mark(src, ev.start_mark), "anchors and aliases are not supported ('%s%s'); write the "
                                                      "values out", sigil, (const char *)anchor);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (done) break;
    }
    yaml_parser_delete(&ps);
    return bad ? -1 : 0;
}

/* ---- sweep ---------------------------------------------------------------------------------------- */

typedef struct {
    int key;            /* schema row */
    cfg_value *vals;    /* one per list element */
    cfg_loc *locs;      /* where each element was written */
    size_t n;
} sweep_axis;

typedef struct {
    sweep_axis *axes;   /* 1 for a cartesian factor, several for a zip group (equal lengths) */
    size_t n_axes;
    size_t len;
} sweep_factor;

typedef struct {
    sweep_factor *f;
    size_t n;
    int seeds_given;    /* sweep.seeds written explicitly (printed back by config_doc_print) */
    cfg_src *src;       /* owned copy of the file text, so element locations stay valid */
} cfg_sweep;

static void axis_free(sweep_axis *a) {
    for (size_t i = 0; i < a->n; i++) value_free(&CFG_KEYS[a->key], &a->vals[i]);
    free(a->vals);
    free(a->locs);
}

static void sweep_free(cfg_sweep *s) {
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

typedef struct {
    walk_ctx *w;
    cfg_sweep *s;
    const unsigned char *overridden; /* per schema row: set by a command-line override */
    long *seeds;
    size_t n_seeds;
} sweep_ctx;

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
    cfg_loc kloc = loc_mark(w->src, key->start_mark);
    memset(a, 0, sizeof *a);
    int ki = key_index(name);
    if (ki < 0) {
        static const char *const sweep_words[] = {"seeds", "zip"};
        if (!strcmp(name, "seeds") && in_zip) diag_add(w->d, kloc, "seeds cannot be zipped; give sweep.seeds");
        else unknown_full_key(w->d, kloc, name, sweep_words, in_zip ? 0 : 2);
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
        diag_add(w->d, loc_mark(w->src, val->start_mark), "sweep values for '%s' must be a list, found %s", name,
                 node_kind(val));
        return 1;
    }
    size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
    if (!n) {
        diag_add(w->d, loc_mark(w->src, val->start_mark), "sweep list for '%s' is empty", name);
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
        a->locs[i] = loc_mark(w->src, e->start_mark);
        if (parse_node(&a->vals[a->n], &CFG_KEYS[ki], name, w->doc, e, w->src, w->d) < 0) bad = 1;
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
static int parse_seeds(long **seeds_out, size_t *n_out, yaml_document_t *doc, yaml_node_t *val, const cfg_src *src,
                       diag *d) {
    if (val->type != YAML_SEQUENCE_NODE || val->data.sequence.items.top == val->data.sequence.items.start) {
        diag_add(d, loc_mark(src, val->start_mark), "sweep.seeds must be a non-empty list of integers, found %s",
                 val->type == YAML_SEQUENCE_NODE ? "an empty list" : node_kind(val));
        return 0;
    }
    size_t n = (size_t)(val->data.sequence.items.top - val->data.sequence.items.start);
    long *seeds = calloc(n, sizeof *seeds);
    if (!seeds) return -1;
    const cfg_key *seed_key = &CFG_KEYS[key_index("seed")];
    size_t ok = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *e = yaml_document_get_node(doc, val->data.sequence.items.start[i]);
        cfg_value v;
        if (parse_node(&v, seed_key, "sweep.seeds", doc, e, src, d) < 0) continue;
        int dup = 0;
        for (size_t j = 0; j < ok; j++) dup |= seeds[j] == v.u.l;
        if (dup) {
            diag_add(d, loc_mark(src, e->start_mark), "seed %ld is listed twice in sweep.seeds", v.u.l);
            continue;
        }
        seeds[ok++] = v.u.l;
    }
    free(*seeds_out);
    *seeds_out = seeds;
    *n_out = ok;
    return 0;
}

static int parse_sweep(sweep_ctx *c, yaml_node_t *sw) {
    walk_ctx *w = c->w;
    if (is_null_scalar(sw)) return 0;
    if (sw->type != YAML_MAPPING_NODE) {
        diag_add(w->d, loc_mark(w->src, sw->start_mark), "'sweep' is a mapping of key: [values], found %s",
                 node_kind(sw));
        return 0;
    }
    for (yaml_node_pair_t *p = sw->data.mapping.pairs.start; p < sw->data.mapping.pairs.top; p++) {
        yaml_node_t *key = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *val = yaml_document_get_node(w->doc, p->value);
        if (key->type != YAML_SCALAR_NODE) {
            diag_add(w->d, loc_mark(w->src, key->start_mark), "a key must be a name, found %s", node_kind(key));
            continue;
        }
        if (duplicate_key(w, sw, p)) continue;
        const char *name = (const char *)key->data.scalar.value;
        if (!strcmp(name, "seeds")) {
            if (parse_seeds(&c->seeds, &c->n_seeds, w->doc, val, w->src, w->d) < 0) return -1;
            c->s->seeds_given = 1;
            continue;
        }
        sweep_factor f = {0};
        if (!strcmp(name, "zip")) {
            if (val->type != YAML_MAPPING_NODE || val->data.mapping.pairs.top == val->data.mapping.pairs.start) {
                diag_add(w->d, loc_mark(w->src, val->start_mark),
                         "'zip' is a mapping of key: [values] with lists of equal length, found %s", node_kind(val));
                continue;
            }
            size_t n = (size_t)(val->data.mapping.pairs.top - val->data.mapping.pairs.start);
            if (!(f.axes = calloc(n, sizeof *f.axes))) return -1;
            const char *first_name = NULL;
            for (yaml_node_pair_t *q = val->data.mapping.pairs.start; q < val->data.mapping.pairs.top; q++) {
                yaml_node_t *zk = yaml_document_get_node(w->doc, q->key);
                yaml_node_t *zv = yaml_document_get_node(w->doc, q->value);
                if (zk->type != YAML_SCALAR_NODE) {
                    diag_add(w->d, loc_mark(w->src, zk->start_mark), "a key must be a name, found %s", node_kind(zk));
                    continue;
                }
                if (duplicate_key(w, val, q)) continue;
                sweep_axis a;
                int r = parse_axis(c, &a, zk, zv, 1);
                if (r < 0) {
                    for (size_t j = 0; j < f.n_axes; j++) axis_free(&f.axes[j]);
                    free(f.axes);
                    return -1;
                }
                if (r) continue;
                if (f.n_axes && a.n != f.len) {
                    diag_add(w->d, loc_mark(w->src, zv->start_mark),
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

static size_t sweep_points(const cfg_sweep *s) {
    size_t n = 1;
    for (size_t i = 0; s && i < s->n; i++) {
        if (n > CFG_MAX_POINTS) return CFG_MAX_POINTS + 1;
        n *= s->f[i].len;
    }
    return n;
}

/* Apply point `p` (mixed radix, first factor slowest) to cfg; record the element locations in set. */
static int apply_point(mer_config *cfg, cfg_set *set, const cfg_sweep *s, size_t p, int *order) {
    for (size_t i = 0; i < s->n; i++) {
        size_t stride = 1; /* product of the lengths of the faster factors */
        for (size_t j = i + 1; j < s->n; j++) stride *= s->f[j].len;
        size_t idx = (p / stride) % s->f[i].len;
        for (size_t j = 0; j < s->f[i].n_axes; j++) {
            const sweep_axis *a = &s->f[i].axes[j];
            cfg_value v = {0};
            if (field_copy(&CFG_KEYS[a->key], &v.u, &a->vals[idx].u) < 0) {
                field_free(&CFG_KEYS[a->key], &v.u);
                return -1;
            }
            assign(cfg, set, a->key, &v, a->locs[idx], order);
        }
    }
    return 0;
}

/* ---- public: struct helpers ------------------------------------------------------------------- */

void config_free(mer_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < CFG_N_KEYS; i++) field_free(&CFG_KEYS[i], field_ptr(cfg, &CFG_KEYS[i]));
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
        if (parse_scalar(&v, k, k->type, k->key, text, null, (cfg_loc){&src, 0, 0}, &d) == 0)
            memcpy(field_ptr(cfg, k), &v.u, field_size(k));
    }
    diag_free(&d); /* a bad default is a bug caught by test_config's defaults check */
    finalize(cfg, NULL);
}

int config_copy(mer_config *dst, const mer_config *src, mer_err *err) {
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (field_copy(&CFG_KEYS[i], field_ptr(dst, &CFG_KEYS[i]), field_cptr(src, &CFG_KEYS[i])) < 0) {
            config_free(dst);
            return mer_errf(err, "out of memory copying a configuration");
        }
    return 0;
}

int config_equal(const mer_config *a, const mer_config *b) {
    for (size_t i = 0; i < CFG_N_KEYS; i++)
        if (!field_equal(&CFG_KEYS[i], field_cptr(a, &CFG_KEYS[i]), field_cptr(b, &CFG_KEYS[i]))) return 0;
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

/* ---- printing ----------------------------------------------------------------------------------- */

/* Plain string prefixes (io/config/config.h): "dataset." selects the section, "output.save_" both save_ keys,
 * "train.lr" also train.lr_schedule (selecting more keys only makes a cache key stricter). */
static int key_selected(const char *key, const char *const *prefixes, size_t n) {
    if (!prefixes) return 1;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(key, prefixes[i], strlen(prefixes[i]))) return 1;
    return 0;
}

/* Nested YAML from the dotted keys, in schema order (sections are contiguous in the table). */
static void sb_config(sbuf *b, const mer_config *cfg, const char *const *prefixes, size_t n_prefixes) {
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
            if (lvl >= same) sb_printf(b, "%*s%.*s:\n", (int)(2 * lvl), "", (int)(dot - comp), comp);
            comp = dot + 1;
        }
        sb_printf(b, "%*s%s: ", (int)(2 * depth), "", comp);
        sb_field(b, k, field_cptr(cfg, k), 0);
        sb_printf(b, "\n");
        prev = k->key;
    }
}

char *config_to_string(const mer_config *cfg, const char *const *prefixes, size_t n_prefixes) {
    sbuf b = {0};
    sb_config(&b, cfg, prefixes, n_prefixes);
    return sb_take(&b);
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
    sbuf b = {0};
    sb_config(&b, &doc->base, NULL, 0);
    const cfg_sweep *s = doc->sweep;
    if (s && (s->n || s->seeds_given)) {
        sb_printf(&b, "sweep:\n");
        for (size_t i = 0; i < s->n; i++) {
            int zip = s->f[i].n_axes > 1;
            if (zip) sb_printf(&b, "  zip:\n");
            for (size_t j = 0; j < s->f[i].n_axes; j++) {
                const sweep_axis *a = &s->f[i].axes[j];
                sb_printf(&b, "%*s%s: [", zip ? 4 : 2, "", CFG_KEYS[a->key].key);
                for (size_t e = 0; e < a->n; e++) {
                    if (e) sb_printf(&b, ", ");
                    sb_field(&b, &CFG_KEYS[a->key], &a->vals[e].u, 0);
                }
                sb_printf(&b, "]\n");
            }
        }
        if (s->seeds_given) {
            sb_printf(&b, "  seeds: [");
            for (size_t i = 0; i < doc->n_seeds; i++) sb_printf(&b, "%s%ld", i ? ", " : "", doc->seeds[i]);
            sb_printf(&b, "]\n");
        }
    }
    return sb_take(&b);
}

int config_doc_print(FILE *f, const cfg_doc *doc) { return write_all(f, config_doc_to_string(doc)); }

void config_print_schema(FILE *f) {
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "key", "type", "default", "range / values", "help");
    mer_config def;
    config_defaults(&def);
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        const cfg_key *k = &CFG_KEYS[i];
        sbuf dv = {0}, r = {0};
        sb_field(&dv, k, field_cptr(&def, k), 0);
        if (!strcmp(k->key, "magnify.schedule.step")) { /* finalize() resolved it; show the table's value */
            free(dv.s);
            dv = (sbuf){0};
            sb_printf(&dv, "%s", k->def);
        }
        if (k->type == CFG_ENUM) sb_printf(&r, "%s", k->enums);
        else sb_range(&r, k);
        fprintf(f, "%-28s %-13s %-16s %-22s %s\n", k->key, cfg_type_name(k->type), dv.s ? dv.s : "",
                r.s ? r.s : "", k->help);
        free(dv.s);
        free(r.s);
    }
    config_free(&def);
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.KEY", "list", "", "",
             "values of KEY (a dotted key above); the cartesian product over keys, first key slowest");
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.zip.KEY", "list", "", "",
             "lists of equal length that advance together (one factor of the product)");
    fprintf(f, "%-28s %-13s %-16s %-22s %s\n", "sweep.seeds", "list of int", "[seed]", "",
             "every point runs once per seed");
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
    int ki = key_index(key), seeds = !strcmp(key, "sweep.seeds");
    if (ki < 0 && !seeds) {
        if (!strncmp(key, "sweep", 5) && (key[5] == 0 || key[5] == '.'))
            diag_add(w->d, loc, "only sweep.seeds can be overridden; set a swept key itself to run one value");
        else unknown_full_key(w->d, loc, key, NULL, 0);
        return 0;
    }
    const char *val = eq + 1;
    if (ki >= 0 && CFG_KEYS[ki].type == CFG_STR && val[0] != '"' && val[0] != '\'') {
        /* an unquoted string (usually a path) is taken verbatim: no YAML comments, aliases or flow syntax */
        cfg_value v = {0};
        if (!(v.u.s = strdup(val))) return -1;
        assign(w->cfg, w->set, ki, &v, loc, &w->order);
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
        rc = parse_seeds(&w->ov_seeds, &w->n_ov_seeds, &doc, root ? root : &empty, osrc, w->d);
    } else if (parse_node(&v, &CFG_KEYS[ki], key, &doc, root ? root : &empty, osrc, w->d) == 0) {
        assign(w->cfg, w->set, ki, &v, loc, &w->order);
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

    if (check_tabs(src, &d) || check_events(src, &d) < 0) goto fail;
    if (!yaml_parser_initialize(&ps)) {
        d.oom = 1;
        goto fail;
    }
    have_parser = 1;
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    if (!yaml_parser_load(&ps, &ydoc)) { /* after the event pass: an undefined alias, already reported */
        if (!diag_failed(&d)) yaml_problem(&ps, src, &d);
        goto fail;
    }
    have_doc = 1;
    w = (walk_ctx){.src = src, .doc = &ydoc, .d = &d, .cfg = &doc->base, .set = set};
    yaml_node_t *root = yaml_document_get_root_node(&ydoc);
    if (root && root->type == YAML_MAPPING_NODE) walk_mapping(&w, root, "");
    else if (root && !is_null_scalar(root))
        diag_add(&d, loc_mark(src, root->start_mark), "a config file is a mapping of sections, found %s",
                 node_kind(root));

    for (size_t i = 0; i < n_overrides; i++) {
        osrc[i] = (cfg_src){.path = src->path, .override = overrides[i]};
        if (apply_override(&w, &osrc[i], overridden) < 0) {
            d.oom = 1;
            goto fail;
        }
    }
    finalize(&doc->base, set);

    sc.w = &w;
    sc.s = sw;
    sc.overridden = overridden;
    if (w.sweep && parse_sweep(&sc, w.sweep) < 0) {
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
        diag_add(&d, loc_mark(src, w.sweep->start_mark), "the sweep expands to more than %d points", CFG_MAX_POINTS);
        goto fail;
    }
    /* whole-config checks also run after value errors (a bad value keeps its default), so one run shows
     * every error; sweep factors with a bad element are left out of the points */
    if (!sw->n) {
        check_whole(&doc->base, set, &d);
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
            if (apply_point(&point, pset, sw, p, &order) < 0) d.oom = 1;
            finalize(&point, pset);
            check_whole(&point, pset, &d);
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
    sbuf b = {0};
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) sb_printf(&b, "%.*s", (int)got, chunk);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || b.oom) {
        free(b.s);
        mer_errf(err, "%s: cannot read config", path);
        if (diag_out) *diag_out = strdup(err ? err->msg : "cannot read config");
        return -1;
    }
    int r = config_load_text(doc, path, b.s ? b.s : "", b.n, overrides, n_overrides, diag_out, err);
    free(b.s);
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
        if (s && s->n && apply_point(&pt->cfg, set, s, p, &order) < 0) goto oom;
        finalize(&pt->cfg, NULL);
        sbuf params = {0};
        for (size_t i = 0; s && i < s->n; i++)
            for (size_t j = 0; j < s->f[i].n_axes; j++) {
                const cfg_key *k = &CFG_KEYS[s->f[i].axes[j].key];
                sb_printf(&params, "%s%s=", params.n ? " " : "", k->key);
                sb_field(&params, k, field_cptr(&pt->cfg, k), 1);
            }
        if (!(pt->params = sb_take(&params))) goto oom;
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
