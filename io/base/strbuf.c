#include "io/base/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `extra` more bytes and the NUL; doubling keeps n adds O(n) overall. */
static int grow(strbuf *b, size_t extra) {
    if (b->failed) return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap *= 2;
    char *p = realloc(b->buf, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->buf = p;
    b->cap = cap;
    return 0;
}

int strbuf_add(strbuf *b, const void *data, size_t n) {
    if (grow(b, n) < 0) return -1;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = 0;
    return 0;
}

int strbuf_adds(strbuf *b, const char *s) { return strbuf_add(b, s, strlen(s)); }

int strbuf_addc(strbuf *b, char c) { return strbuf_add(b, &c, 1); }

int strbuf_vaddf(strbuf *b, const char *fmt, va_list ap) {
    if (b->failed) return -1;
    va_list ap2;
    va_copy(ap2, ap);
    int need = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (need < 0) { /* an encoding error: nothing sensible to add */
        b->failed = 1;
        return -1;
    }
    if (grow(b, (size_t)need) < 0) return -1;
    vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    b->len += (size_t)need;
    return 0;
}

int strbuf_addf(strbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int rc = strbuf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void strbuf_reset(strbuf *b) {
    b->len = 0;
    if (b->buf) b->buf[0] = 0;
}

const char *strbuf_str(const strbuf *b) { return b->buf ? b->buf : ""; }

char *strbuf_detach(strbuf *b) {
    char *s = b->buf;
    int failed = b->failed;
    memset(b, 0, sizeof *b);
    if (failed) {
        free(s);
        return NULL;
    }
    return s ? s : strdup("");
}

void strbuf_release(strbuf *b) {
    free(b->buf);
    memset(b, 0, sizeof *b);
}

void strs_free(char **s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}
