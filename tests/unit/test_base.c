/* io/base: the string buffer (growth, formatting, reset, detach, the sticky failure), the JSON string
 * escaper's two forms, and error kinds (names, which are transient, errno mapping, kinds of fs errors). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/base/err.h"
#include "io/base/fs.h"
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

static void test_err_kinds(void) {
    /* every kind has its own name; exactly bad data, no face and bad config are permanent */
    for (int k = 0; k < MER_ERR_KIND_COUNT; k++) {
        const char *name = mer_err_kind_name((mer_err_kind)k);
        CHECK(name && strcmp(name, "?") != 0, "kind %d has a name", k);
        for (int j = 0; j < k; j++) CHECK(strcmp(name, mer_err_kind_name((mer_err_kind)j)) != 0, "kinds %d, %d: one name", j, k);
        int permanent = k == MER_ERR_DATA || k == MER_ERR_NOFACE || k == MER_ERR_CONFIG;
        CHECK(mer_err_transient((mer_err_kind)k) == !permanent, "kind %s transient = %d", name, !permanent);
    }
    CHECK_STR(mer_err_kind_name(MER_ERR_KIND_COUNT), "?", "out of range name");
    CHECK(mer_err_transient(MER_ERR_KIND_COUNT), "an unknown kind (e.g. from a newer worker) is retried");

    static const struct {
        int e;
        mer_err_kind k;
    } map[] = {{ENOSPC, MER_ERR_NOSPACE}, {EDQUOT, MER_ERR_NOSPACE}, {EINTR, MER_ERR_INTERRUPTED},
               {EAGAIN, MER_ERR_INTERRUPTED}, {ENOMEM, MER_ERR_NOMEM}, {EIO, MER_ERR_IO},
               {ENOENT, MER_ERR_IO}, {EACCES, MER_ERR_IO}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        CHECK(mer_err_kind_of_errno(map[i].e) == map[i].k, "errno %d (%s) -> %s, got %s", map[i].e, strerror(map[i].e),
              mer_err_kind_name(map[i].k), mer_err_kind_name(mer_err_kind_of_errno(map[i].e)));

    /* mer_errf resets the kind; mer_errk sets it; a prefix keeps it */
    mer_err e = {0};
    CHECK(mer_errk(&e, MER_ERR_NOFACE, "no face in %s", "x.png") == -1 && e.kind == MER_ERR_NOFACE, "errk");
    CHECK(mer_err_prefix(&e, "sample %d", 3) == -1 && e.kind == MER_ERR_NOFACE, "prefix keeps the kind");
    CHECK_STR(e.msg, "sample 3: no face in x.png", "prefixed message");
    CHECK(mer_errf(&e, "plain") == -1 && e.kind == MER_ERR_UNCLASSIFIED, "errf: unclassified");
    CHECK(mer_err_errno(&e, ENOSPC, "write: %s", strerror(ENOSPC)) == -1 && e.kind == MER_ERR_NOSPACE, "err_errno");
    CHECK(mer_errk(NULL, MER_ERR_DATA, "x") == -1, "NULL err");

    /* file-system errors carry their errno's kind */
    char *buf;
    size_t len;
    CHECK(fs_read_file(&buf, &len, "/nonexistent/mer/x", &e) < 0 && e.kind == MER_ERR_IO, "missing file: io, got %s",
          mer_err_kind_name(e.kind));
    char dir[] = "/tmp/mer_test_base_XXXXXX", file[64], sub[80];
    if (mkdtemp(dir)) {
        snprintf(file, sizeof file, "%s/f", dir);
        FILE *f = fopen(file, "w");
        if (f) fclose(f);
        snprintf(sub, sizeof sub, "%s/g", file);
        CHECK(fs_mkdir_p(sub, &e) < 0 && e.kind == MER_ERR_IO && strstr(e.msg, file), "folder under a file: %s (%s)",
              e.msg, mer_err_kind_name(e.kind));
        remove(file);
        rmdir(dir);
    }
}

int main(void) {
    test_err_kinds();
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
