#include "io/base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mer_errf(mer_err *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int mer_err_prefix(mer_err *err, const char *fmt, ...) {
    if (err) {
        char prefix[MER_ERR_MSG_MAX], old[MER_ERR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        size_t n = strlen(prefix);
        if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
        memcpy(err->msg, prefix, n);
        memcpy(err->msg + n, ": ", 2);
        size_t rest = sizeof err->msg - n - 3, m = strlen(old);
        if (m > rest) m = rest;
        memcpy(err->msg + n + 2, old, m);
        err->msg[n + 2 + m] = 0;
    }
    return -1;
}

void *mer_malloc(size_t n, mer_err *err) {
    void *p = malloc(n ? n : 1);
    if (!p) mer_errf(err, "out of memory allocating %zu bytes", n);
    return p;
}

void *mer_calloc(size_t count, size_t size, mer_err *err) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) mer_errf(err, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
