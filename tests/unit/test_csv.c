/* io/csv: quoting, separators, BOM, CRLF/CR, line numbers, header matching, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data/csv.h"
#include "tests/check.h"

static int parse(csv_table *t, const char *s, mer_err *e) { return csv_parse(t, s, strlen(s), "x.csv", e); }

int main(void) {
    mer_err e = {0};
    csv_table t;

    /* BOM, CRLF, quoted separator, escaped quote, embedded newline (line numbers follow physical lines) */
    const char *s = "\xEF\xBB\xBFSubject, Filename ,\"Onset Frame\"\r\n"
                    "1,\"EP02, 01f\",46\r\n"
                    "2,\"say \"\"hi\"\"\",\"multi\r\nline\"\r\n"
                    "\r\n"
                    "3,,  7  \r\n";
    CHECK(parse(&t, s, &e) == 0, "parse: %s", e.msg);
    CHECK(t.n == 5, "5 records (blank line kept), got %zu", t.n);
    if (t.n == 5) {
        CHECK_STR(t.rows[0].f[0], "Subject", "BOM skipped");
        CHECK_STR(t.rows[0].f[1], "Filename", "unquoted field trimmed");
        CHECK_STR(t.rows[0].f[2], "Onset Frame", "quoted header");
        CHECK_STR(t.rows[1].f[1], "EP02, 01f", "separator inside quotes");
        CHECK_STR(t.rows[2].f[1], "say \"hi\"", "escaped quotes");
        CHECK_STR(t.rows[2].f[2], "multi\nline", "newline inside quotes");
        CHECK(t.rows[2].line == 3, "record 3 starts on line 3 (%d)", t.rows[2].line);
        CHECK(csv_row_blank(&t.rows[3]) && t.rows[3].line == 5, "blank line 5 (%d)", t.rows[3].line);
        CHECK(t.rows[4].line == 6 && t.rows[4].n == 3, "line 6 after the embedded newline (%d)", t.rows[4].line);
        CHECK_STR(t.rows[4].f[1], "", "empty field");
        CHECK_STR(t.rows[4].f[2], "7", "trimmed number");
        CHECK_STR(csv_get(&t.rows[4], 9), "", "out-of-range field is empty");
        const char *onset[] = {"onsetframe", "onset"};
        CHECK(csv_find_col(&t.rows[0], onset, 2) == 2, "tolerant header match");
        const char *none[] = {"apex"};
        CHECK(csv_find_col(&t.rows[0], none, 1) == -1, "missing column");
    }
    csv_free(&t);

    /* old Mac CR line ends, no final newline */
    CHECK(parse(&t, "a,b\rc,d", &e) == 0 && t.n == 2 && t.rows[1].line == 2 && !strcmp(t.rows[1].f[1], "d"),
          "CR line ends");
    csv_free(&t);

    /* semicolon separator (European Excel) and trailing empty field */
    CHECK(parse(&t, "Subject;Filename;\n1;EP01;\n", &e) == 0 && t.sep == ';' && t.n == 2 && t.rows[1].n == 3,
          "semicolon separated, trailing empty field");
    csv_free(&t);

    /* unterminated quote: error names the line where the quote opened */
    CHECK(parse(&t, "a,b\n1,\"open\n2,3\n", &e) == -1 && strstr(e.msg, "x.csv:2"), "unterminated quote: %s", e.msg);
    csv_free(&t);
    {
        const char nul[] = {'a', ',', 0, 'b', '\n'};
        CHECK(csv_parse(&t, nul, sizeof nul, "bin.xlsx", &e) == -1 && strstr(e.msg, "NUL"), "NUL bytes: %s", e.msg);
    }
    CHECK(csv_read(&t, "/nonexistent/x.csv", &e) == -1 && strstr(e.msg, "/nonexistent/x.csv"), "missing file: %s",
          e.msg);

    /* writer: the round-trip rule gives csv_read every field back as written */
    char path[] = "/tmp/mer_test_csv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    csv_write_field(f, "plain", CSV_QUOTE_ROUNDTRIP);
    fputc(',', f);
    csv_write_field(f, "a,\"b\"\nc", CSV_QUOTE_ROUNDTRIP);
    fputc(',', f);
    csv_write_field(f, " x;y ", CSV_QUOTE_ROUNDTRIP);
    fputc('\n', f);
    fclose(f);
    CHECK(csv_read(&t, path, &e) == 0 && t.n == 1 && t.rows[0].n == 3 && !strcmp(t.rows[0].f[1], "a,\"b\"\nc") &&
              !strcmp(t.rows[0].f[2], " x;y "),
          "write/read round trip");
    csv_free(&t);
    remove(path);

    /* the two quoting rules differ only on ';' and edge blanks; both quote separators, quotes, line breaks */
    static const struct {
        const char *in, *minimal, *roundtrip;
    } q[] = {
        {"plain", "plain", "plain"},
        {"", "", ""},
        {"a;b", "a;b", "\"a;b\""},
        {" lead", " lead", "\" lead\""},
        {"trail ", "trail ", "\"trail \""},
        {"in side", "in side", "in side"},
        {"a,b", "\"a,b\"", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\"", "\"say \"\"hi\"\"\""},
        {"two\rlines\n", "\"two\rlines\n\"", "\"two\rlines\n\""},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        for (int rule = 0; rule < 2; rule++) {
            char *out = NULL;
            size_t n = 0;
            FILE *m = open_memstream(&out, &n);
            csv_write_field(m, q[i].in, rule ? CSV_QUOTE_ROUNDTRIP : CSV_QUOTE_MINIMAL);
            fclose(m);
            CHECK_STR(out, rule ? q[i].roundtrip : q[i].minimal, "field %zu, %s rule", i, rule ? "round-trip" : "minimal");
            free(out);
        }
    return check_summary();
}
