/* Located diagnostics: every configuration error as `FILE:LINE:COL: message` plus the source line and a
 * caret (or `override 'k=v': message`), collected (not only the first), deduplicated, sorted by position. */
#include "io/config/internal.h"

/* Append the source line `line` (1-based) and a caret under column `col`. */
static void put_source_line(strbuf *b, const cfg_src *src, size_t line, size_t col) {
    const char *p = src->text, *end = src->text + src->len;
    for (size_t l = 1; l < line && p < end; p++)
        if (*p == '\n') l++;
    if (p >= end && line > 1) return; /* past the last line (error at end of file) */
    const char *e = p;
    while (e < end && *e != '\n') e++;
    size_t n = (size_t)(e - p);
    if (n && p[n - 1] == '\r') n--;
    strbuf_addf(b, "\n%.*s\n", (int)n, p);
    /* columns count characters (libyaml marks), so skip UTF-8 continuation bytes; keep tabs */
    size_t c = 1;
    for (const char *q = p; q < p + n && c < col; q++) {
        if (((unsigned char)*q & 0xC0) == 0x80) continue;
        strbuf_addc(b, *q == '\t' ? '\t' : ' ');
        c++;
    }
    for (; c < col; c++) strbuf_adds(b, " ");
    strbuf_adds(b, "^");
}

__attribute__((format(printf, 3, 4))) void diag_add(diag *d, cfg_loc loc, const char *fmt, ...) {
    strbuf b = STRBUF_INIT;
    if (loc.src && loc.src->override) {
        strbuf_addf(&b, "override '%s': ", loc.src->override);
    } else if (loc.src && loc.line) {
        strbuf_addf(&b, "%s:%zu:%zu: ", loc.src->path, loc.line, loc.col);
    } else if (loc.src) {
        strbuf_addf(&b, "%s: ", loc.src->path);
    }
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&b, fmt, ap);
    va_end(ap);
    if (loc.src && !loc.src->override && loc.line && loc.src->text) put_source_line(&b, loc.src, loc.line, loc.col);
    char *m = strbuf_detach(&b);
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

int diag_failed(const diag *d) { return d->n > 0 || d->oom; }

void diag_free(diag *d) {
    for (size_t i = 0; i < d->n; i++) free(d->msg[i].text);
    free(d->msg);
    memset(d, 0, sizeof *d);
}

/* Hand the errors to the caller: all of them in *full, as many as fit in err. Returns -1. */
int diag_report(diag *d, char **full, mer_err *err) {
    if (d->oom) {
        mer_errf(err, "out of memory while checking the configuration");
        if (full) *full = strdup(err ? err->msg : "out of memory");
        return -1;
    }
    if (d->n) qsort(d->msg, d->n, sizeof *d->msg, diag_cmp);
    strbuf all = STRBUF_INIT;
    for (size_t i = 0; i < d->n; i++) strbuf_addf(&all, "%s%s", i ? "\n" : "", d->msg[i].text);
    if (d->dropped) strbuf_addf(&all, "\n(%zu more errors not shown)", d->dropped);
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
    char *s = strbuf_detach(&all);
    if (full) *full = s;
    else free(s);
    return -1;
}
