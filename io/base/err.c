#include "io/base/err.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int transient;
} KINDS[] = {
    [MER_ERR_UNCLASSIFIED] = {"unclassified", 1},
    [MER_ERR_IO] = {"io", 1},
    [MER_ERR_NOSPACE] = {"no space", 1},
    [MER_ERR_INTERRUPTED] = {"interrupted", 1},
    [MER_ERR_NOMEM] = {"out of memory", 1},
    [MER_ERR_DATA] = {"bad data", 0},
    [MER_ERR_NOFACE] = {"no face", 0},
    [MER_ERR_CONFIG] = {"bad config", 0},
};
static_assert(sizeof KINDS / sizeof KINDS[0] == MER_ERR_KIND_COUNT, "one row per mer_err_kind");

static void vfill(mer_err *err, mer_err_kind kind, const char *fmt, va_list ap) {
    if (!err) return;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    err->kind = kind;
}

int mer_errf(mer_err *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfill(err, MER_ERR_UNCLASSIFIED, fmt, ap);
    va_end(ap);
    return -1;
}

int mer_errk(mer_err *err, mer_err_kind kind, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfill(err, kind, fmt, ap);
    va_end(ap);
    return -1;
}

int mer_err_errno(mer_err *err, int errnum, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfill(err, mer_err_kind_of_errno(errnum), fmt, ap);
    va_end(ap);
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

mer_err_kind mer_err_kind_of_errno(int errnum) {
    switch (errnum) {
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return MER_ERR_NOSPACE;
    case EINTR:
    case EAGAIN:
        return MER_ERR_INTERRUPTED;
    case ENOMEM: return MER_ERR_NOMEM;
    default: return MER_ERR_IO;
    }
}

const char *mer_err_kind_name(mer_err_kind kind) {
    return (unsigned)kind < MER_ERR_KIND_COUNT ? KINDS[kind].name : "?";
}

int mer_err_transient(mer_err_kind kind) { return (unsigned)kind < MER_ERR_KIND_COUNT ? KINDS[kind].transient : 1; }

void *mer_malloc(size_t n, mer_err *err) {
    void *p = malloc(n ? n : 1);
    if (!p) mer_errk(err, MER_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *mer_calloc(size_t count, size_t size, mer_err *err) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) mer_errk(err, MER_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", count, size);
    return p;
}
