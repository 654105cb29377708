/* `mer report --format html`: one self-contained page (analysis/report.h). The tables are not written
 * a second time: each report's Markdown (report_write_md) is rendered to HTML, which needs only the
 * subset that writer emits (headings, paragraphs of lines, "- " lists, pipe tables, `code`, **bold**).
 * Then the figures (report_each_figure) inline as SVG, the config and the versions. No scripts, no
 * external files; the CSS lets wide tables wrap their cells and scales figures to the page width. */
#define _GNU_SOURCE /* open_memstream */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "analysis/report_internal.h"

static const char CSS[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:14px;color:#222;max-width:1100px;"
    "margin:1em auto;padding:0 1em}\n"
    "h1{font-size:1.5em}h2{font-size:1.25em;border-bottom:1px solid #ddd;margin-top:1.6em}h3{font-size:1.05em}\n"
    "table{border-collapse:collapse;margin:.4em 0 1.2em;font-size:13px;max-width:100%}\n"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;overflow-wrap:break-word}\n"
    "th{background:#f2f2f2;overflow-wrap:anywhere}\n"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f7;padding:.6em;font-size:12px}\n"
    "figure{margin:1em 0}figcaption{color:#555;font-size:12px}\n"
    "svg{display:block;max-width:100%;height:auto}\n";

/* s[0..n) with the HTML special characters escaped. */
static void esc(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(s[i], f);
        }
    }
}

/* Inline Markdown of the report writer: `code` and **bold**, everything else literal. */
static void inline_md(FILE *f, const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const char *mark = s[i] == '`' ? "`" : (i + 1 < n && s[i] == '*' && s[i + 1] == '*') ? "**" : NULL;
        const char *end = NULL;
        if (mark) {
            const size_t ml = strlen(mark);
            for (size_t j = i + ml; j + ml <= n && !end; j++)
                if (!strncmp(s + j, mark, ml)) end = s + j;
            if (end) {
                fputs(ml == 1 ? "<code>" : "<strong>", f);
                esc(f, s + i + ml, (size_t)(end - (s + i + ml)));
                fputs(ml == 1 ? "</code>" : "</strong>", f);
                i = (size_t)(end - s) + ml;
                continue;
            }
        }
        esc(f, s + i, 1);
        i++;
    }
}

typedef enum { BLOCK_NONE, BLOCK_PARA, BLOCK_LIST, BLOCK_TABLE } block;

static void close_block(FILE *f, block *b) {
    static const char *const end[] = {"", "</p>\n", "</ul>\n", "</tbody></table>\n"};
    fputs(end[*b], f);
    *b = BLOCK_NONE;
}

/* One "| a | b |" row: the cells trimmed, as th (header) or td. */
static void table_row(FILE *f, const char *line, size_t n, int header) {
    fputs("<tr>", f);
    const char *p = line + 1, *end = line + n;
    while (end > p && (end[-1] == ' ' || end[-1] == '|')) end--;
    while (p < end) {
        const char *bar = memchr(p, '|', (size_t)(end - p));
        const char *q = bar ? bar : end, *a = p, *b = q;
        while (a < b && *a == ' ') a++;
        while (b > a && b[-1] == ' ') b--;
        fputs(header ? "<th>" : "<td>", f);
        /* a line may break after '.', '=' or '/' before a letter (sweep keys and params, not numbers), so
         * wide tables fit */
        for (const char *c = a; c < b; c++) {
            esc(f, c, 1);
            if ((*c == '.' || *c == '=' || *c == '/') && c + 1 < b && isalpha((unsigned char)c[1])) fputs("<wbr>", f);
        }
        fputs(header ? "</th>" : "</td>", f);
        p = bar ? bar + 1 : end;
    }
    fputs("</tr>\n", f);
}

/* The subset of Markdown that report_write_md emits, line by line. */
static void render_md(FILE *f, const char *md, size_t len) {
    block b = BLOCK_NONE;
    int table_rows = 0;
    for (const char *line = md; line < md + len;) {
        const char *nl = memchr(line, '\n', (size_t)(md + len - line));
        const size_t n = nl ? (size_t)(nl - line) : (size_t)(md + len - line);
        int h = 0;
        while (h < (int)n && line[h] == '#') h++;
        if (n == 0) {
            close_block(f, &b);
        } else if (h >= 1 && h <= 3 && (size_t)h < n && line[h] == ' ') {
            close_block(f, &b);
            fprintf(f, "<h%d>", h);
            inline_md(f, line + h + 1, n - (size_t)h - 1);
            fprintf(f, "</h%d>\n", h);
        } else if (line[0] == '|') {
            if (b != BLOCK_TABLE) {
                close_block(f, &b);
                fputs("<table><thead>\n", f);
                b = BLOCK_TABLE;
                table_rows = 0;
            }
            if (n > 1 && line[1] == '-') { /* the separator under the header */
                fputs("</thead><tbody>\n", f);
            } else {
                table_row(f, line, n, table_rows == 0);
                table_rows++;
            }
        } else if (n > 2 && line[0] == '-' && line[1] == ' ') {
            if (b != BLOCK_LIST) {
                close_block(f, &b);
                fputs("<ul>\n", f);
                b = BLOCK_LIST;
            }
            fputs("<li>", f);
            inline_md(f, line + 2, n - 2);
            fputs("</li>\n", f);
        } else {
            if (b == BLOCK_PARA) {
                fputs("<br>\n", f);
            } else {
                close_block(f, &b);
                fputs("<p>", f);
                b = BLOCK_PARA;
            }
            inline_md(f, line, n);
        }
        line = nl ? nl + 1 : md + len;
    }
    close_block(f, &b);
}

/* Figure sink: the SVG drawn into memory, then inlined without its XML declaration. */
static int inline_figure(void *user, const char *name, report_svg_fn draw, const void *ctx, mer_err *err) {
    FILE *f = user;
    char *svg = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&svg, &len);
    if (!m) return mer_errf(err, "figure %s: %s", name, strerror(errno));
    int rc = draw(m, ctx, err);
    if (fclose(m) != 0 && rc == 0) rc = mer_errf(err, "figure %s: %s", name, strerror(errno));
    if (rc == 0) {
        const char *body = svg;
        if (!strncmp(body, "<?xml", 5) && strchr(body, '\n')) body = strchr(body, '\n') + 1;
        fputs("<figure>\n", f);
        fputs(body, f);
        fputs("<figcaption>", f);
        esc(f, name, strlen(name));
        fputs("</figcaption></figure>\n", f);
    }
    free(svg);
    return rc;
}

static void version_row(FILE *f, const char *what, const char *v) {
    fprintf(f, "<tr><th>%s</th><td>", what);
    esc(f, *v ? v : "unknown", strlen(*v ? v : "unknown"));
    fputs("</td></tr>\n", f);
}

static int write_one(FILE *f, const mer_report *r, mer_err *err) {
    char *md = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&md, &len);
    if (!m) return mer_errf(err, "report: %s", strerror(errno));
    int rc = report_write_md(m, r, NULL, err);
    if (fclose(m) != 0 && rc == 0) rc = mer_errf(err, "report: %s", strerror(errno));
    if (rc == 0) {
        fputs("<section>\n", f);
        render_md(f, md, len);
        fputs("<h2>Figures</h2>\n", f);
        rc = report_each_figure(r, inline_figure, f, err);
    }
    free(md);
    if (rc < 0) return -1;
    fputs("<h2>Versions</h2>\n<table><tbody>\n", f);
    version_row(f, "mer", r->version);
    version_row(f, "created", r->created);
    version_row(f, "engine", r->engine);
    version_row(f, "libraries", r->libraries);
    fputs("</tbody></table>\n<h2>Config</h2>\n<pre>", f);
    esc(f, r->config, strlen(r->config));
    fputs("</pre>\n</section>\n", f);
    return 0;
}

int report_write_html(FILE *f, const mer_report *r, size_t n, mer_err *err) {
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>mer report",
          f);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", " : ": ", f);
        esc(f, r[i].dataset, strlen(r[i].dataset));
    }
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", CSS);
    for (size_t i = 0; i < n; i++)
        if (write_one(f, &r[i], err) < 0) return -1;
    fputs("</body>\n</html>\n", f);
    return 0;
}
