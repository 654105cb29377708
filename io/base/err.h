/* Error convention for all library code (core/, io/, runner/, analysis/).
 *
 * A function that can fail returns int: 0 on success, -1 on failure, and fills the caller's
 * mer_err with a complete human-readable message (path and reason for data, file:line:col for
 * configs). Library code never prints errors and never exits; only the CLI layer (runner/cli/main.c
 * and the cmd_* functions it calls) decides to print and exit.
 *
 *     mer_err err = {0};
 *     if (h5_read_f32(&t, path, "x", &err) < 0) { fprintf(stderr, "mer: %s\n", err.msg); return 1; }
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>

#define MER_ERR_MSG_MAX 2048

typedef struct {
    char msg[MER_ERR_MSG_MAX];
} mer_err;

/* Fill err (may be NULL) with a printf-style message and return -1. */
int mer_errf(mer_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix an already filled message: "prefix: old message". Returns -1. */
int mer_err_prefix(mer_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Checked allocation helpers: return NULL and fill err on failure. */
void *mer_malloc(size_t n, mer_err *err);
void *mer_calloc(size_t count, size_t size, mer_err *err);
