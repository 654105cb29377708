/* CSV reader (see csv.h). One pass over the bytes, a small state machine. */
#include "io/data/csv.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/base/fs.h"
#include "io/base/strbuf.h"

/* Add one byte to the field being read. */
static int field_put(strbuf *b, char c, mer_err *err) {
    return strbuf_addc(b, c) < 0 ? mer_errf(err, "out of memory") : 0;
}

static int row_push_field(csv_row *r, size_t *cap, const char *s, size_t n, int quoted, mer_err *err) {
    if (!quoted) { /* trim blanks of unquoted fields */
        while (n && (*s == ' ' || *s == '\t')) s++, n--;
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    }
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **p = realloc(r->f, nc * sizeof *p);
        if (!p) return mer_errf(err, "out of memory");
        r->f = p;
        *cap = nc;
    }
    char *f = malloc(n + 1);
    if (!f) return mer_errf(err, "out of memory");
    memcpy(f, s, n);
    f[n] = 0;
    r->f[r->n++] = f;
    return 0;
}

static void row_free(csv_row *r) {
    for (size_t i = 0; i < r->n; i++) free(r->f[i]);
    free(r->f);
    r->f = NULL;
    r->n = 0;
}

void csv_free(csv_table *t) {
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) row_free(&t->rows[i]);
    free(t->rows);
    free(t->path);
    memset(t, 0, sizeof *t);
}

static char guess_sep(const char *s, size_t len) {
    /* the first non-empty line, outside quotes */
    size_t i = 0;
    while (i < len && (s[i] == '\n' || s[i] == '\r')) i++;
    int inq = 0, comma = 0, semi = 0, tab = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '"') inq = !inq;
        else if (!inq && (c == '\n' || c == '\r')) break;
        else if (!inq && c == ',') comma++;
        else if (!inq && c == ';') semi++;
        else if (!inq && c == '\t') tab++;
    }
    if (comma) return ',';
    if (semi) return ';';
    if (tab) return '\t';
    return ',';
}

int csv_parse(csv_table *t, const char *s, size_t len, const char *name, mer_err *err) {
    memset(t, 0, sizeof *t);
    t->path = strdup(name ? name : "(csv)");
    if (!t->path) return mer_errf(err, "out of memory");
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF) {
        s += 3;
        len -= 3;
    }
    if (memchr(s, 0, len)) {
        mer_errf(err, "%s: contains NUL bytes: not a text CSV file (export the sheet as CSV)", t->path);
        csv_free(t);
        return -1;
    }
    t->sep = guess_sep(s, len);
    size_t rows_cap = 0, fcap = 0;
    csv_row cur = {0};
    strbuf fb = STRBUF_INIT;
    int line = 1, quoted = 0, in_quotes = 0, quote_line = 0, field_started = 0;
    cur.line = 1;
    size_t i = 0;
    int rc = 0;
    for (;;) {
        int at_end = i >= len;
        char c = at_end ? 0 : s[i];
        if (in_quotes) {
            if (at_end) {
                rc = mer_errf(err, "%s:%d: quoted field never closed (missing '\"')", t->path, quote_line);
                break;
            }
            if (c == '"') {
                if (i + 1 < len && s[i + 1] == '"') {
                    if (field_put(&fb, '"', err)) { rc = -1; break; }
                    i += 2;
                    continue;
                }
                in_quotes = 0;
                i++;
                continue;
            }
            if (c == '\r' || c == '\n') {
                if (c == '\r' && i + 1 < len && s[i + 1] == '\n') i++;
                line++;
                if (field_put(&fb, '\n', err)) { rc = -1; break; }
                i++;
                continue;
            }
            if (field_put(&fb, c, err)) { rc = -1; break; }
            i++;
            continue;
        }
        if (at_end || c == t->sep || c == '\r' || c == '\n') {
            int end_rec = at_end || c != t->sep;
            /* an empty last line produces no record */
            if (!(at_end && cur.n == 0 && fb.len == 0 && !field_started)) {
                if (row_push_field(&cur, &fcap, strbuf_str(&fb), fb.len, quoted, err)) { rc = -1; break; }
            }
            strbuf_reset(&fb);
            quoted = 0;
            field_started = 0;
            if (end_rec) {
                if (cur.n) {
                    if (t->n == rows_cap) {
                        size_t nc = rows_cap ? rows_cap * 2 : 64;
                        csv_row *p = realloc(t->rows, nc * sizeof *p);
                        if (!p) { rc = mer_errf(err, "out of memory"); break; }
                        t->rows = p;
                        rows_cap = nc;
                    }
                    t->rows[t->n++] = cur;
                }
                memset(&cur, 0, sizeof cur);
                fcap = 0;
                if (at_end) break;
                if (c == '\r' && i + 1 < len && s[i + 1] == '\n') i++;
                line++;
                cur.line = line;
            }
            i++;
            continue;
        }
        if (c == '"' && !field_started) {
            /* opening quote (blanks before it are dropped) */
            strbuf_reset(&fb);
            in_quotes = 1;
            quoted = 1;
            quote_line = line;
            field_started = 1;
            i++;
            continue;
        }
        if (quoted && (c == ' ' || c == '\t')) { /* blanks after a closing quote */
            i++;
            continue;
        }
        if (c != ' ' && c != '\t') field_started = 1;
        if (field_put(&fb, c, err)) { rc = -1; break; }
        i++;
    }
    strbuf_release(&fb);
    row_free(&cur);
    if (rc) {
        mer_err_prefix(err, "csv");
        csv_free(t);
        return -1;
    }
    return 0;
}

int csv_read(csv_table *t, const char *path, mer_err *err) {
    memset(t, 0, sizeof *t);
    char *buf;
    size_t len;
    if (fs_read_file(&buf, &len, path, err) < 0) return -1;
    int rc = csv_parse(t, buf, len, path, err);
    free(buf);
    return rc;
}

int csv_row_blank(const csv_row *r) {
    for (size_t i = 0; i < r->n; i++)
        if (r->f[i][0]) return 0;
    return 1;
}

const char *csv_get(const csv_row *r, int i) { return (i >= 0 && (size_t)i < r->n) ? r->f[i] : ""; }

int csv_name_eq(const char *a, const char *b) {
    for (;;) {
        while (*a == ' ' || *a == '_' || *a == '-' || *a == '\t' || *a == '\n') a++;
        while (*b == ' ' || *b == '_' || *b == '-' || *b == '\t' || *b == '\n') b++;
        if (!*a || !*b) return !*a && !*b;
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return 0;
        a++;
        b++;
    }
}

int csv_find_col(const csv_row *header, const char *const *names, size_t n_names) {
    for (size_t k = 0; k < n_names; k++)
        for (size_t i = 0; i < header->n; i++)
            if (csv_name_eq(header->f[i], names[k])) return (int)i;
    return -1;
}

void csv_write_field(FILE *f, const char *s, csv_quoting q) {
    int quote = strpbrk(s, ",\"\r\n") != NULL;
    if (q == CSV_QUOTE_ROUNDTRIP && !quote)
        quote = strchr(s, ';') || s[0] == ' ' || (*s && s[strlen(s) - 1] == ' ');
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}
