/* io/base: the string buffer (growth, formatting, reset, detach, the sticky failure) and the JSON string
 * escaper's two forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/base/json.h"
#include "io/base/strbuf.h"
#include "tests/check.h"

static char *json_of(const char *s, json_escapes esc) {
    char *out = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&out, &n);
    json_write_str(m, s, esc);
    fclose(m);
    return out;
}

int main(void) {
    strbuf b = STRBUF_INIT;
    CHECK_STR(strbuf_str(&b), "", "empty before the first add");
    char *d = strbuf_detach(&b);
    CHECK_STR(d, "", "detach of an empty buffer is a malloc'ed \"\"");
    free(d);

    /* grow past the first allocation many times; compare against a reference built by hand */
    char want[5000];
    size_t wn = 0;
    for (int i = 0; i < 500; i++) {
        CHECK(strbuf_addf(&b, "%d,", i) == 0, "addf %d", i);
        wn += (size_t)snprintf(want + wn, sizeof want - wn, "%d,", i);
    }
    CHECK(b.len == wn && b.len == strlen(b.buf), "length %zu, want %zu", b.len, wn);
    CHECK_STR(strbuf_str(&b), want, "500 formatted adds");
    strbuf_reset(&b);
    CHECK(b.len == 0 && !strcmp(strbuf_str(&b), ""), "reset empties");
    strbuf_adds(&b, "ab");
    strbuf_addc(&b, 'c');
    strbuf_add(&b, "dexx", 2);
    CHECK_STR(strbuf_str(&b), "abcde", "adds, addc, add of n bytes");

    /* after a failure every add is refused and detach gives NULL (and frees) */
    b.failed = 1;
    CHECK(strbuf_adds(&b, "more") == -1 && strbuf_addf(&b, "%d", 1) == -1 && b.len == 5, "adds refused after failure");
    CHECK(strbuf_detach(&b) == NULL && b.buf == NULL && !b.failed, "detach after failure");
    strbuf_release(&b);

    char **strs = calloc(3, sizeof *strs);
    strs[0] = strdup("a");
    strs[2] = strdup("c"); /* a NULL entry in the middle is allowed */
    strs_free(strs, 3);
    strs_free(NULL, 5);

    const char *s = "q\"b\\n\nt\t\x01\xc3\xa9";
    char *sh = json_of(s, JSON_ESC_SHORT), *un = json_of(s, JSON_ESC_UNICODE), *nul = json_of(NULL, JSON_ESC_SHORT);
    CHECK_STR(sh, "\"q\\\"b\\\\n\\nt\\t\\u0001\xc3\xa9\"", "short escapes");
    CHECK_STR(un, "\"q\\\"b\\\\n\\u000at\\u0009\\u0001\xc3\xa9\"", "unicode escapes");
    CHECK_STR(nul, "\"\"", "NULL is \"\"");
    free(sh);
    free(un);
    free(nul);
    return check_summary();
}
