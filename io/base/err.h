/* Error convention for all library code (core/, io/, runner/, analysis/).
 *
 * A function that can fail returns int: 0 on success, -1 on failure, and fills the caller's
 * mer_err with a complete human-readable message (path and reason for data, file:line:col for
 * configs) and a kind. Library code never prints errors and never exits; only the CLI layer
 * (runner/cli/main.c and the cmd_* functions it calls) decides to print and exit.
 *
 *     mer_err err = {0};
 *     if (h5_read_f32(&t, path, "x", &err) < 0) { fprintf(stderr, "mer: %s\n", err.msg); return 1; }
 *
 * The kind says whether trying again can help (sqlite's result codes are the model): the task farm
 * retries a failed task only when its error is transient (runner/farm.c). mer_errf leaves the kind
 * UNCLASSIFIED, which counts as transient: only errors known to be permanent (undecodable input, no
 * face, settings that cannot work) are raised with mer_errk and a permanent kind. */
#pragma once
#include <stdarg.h>
#include <stddef.h>

#define MER_ERR_MSG_MAX 2048

typedef enum {
    MER_ERR_UNCLASSIFIED, /* transient: not known to be permanent (what mer_errf sets) */
    MER_ERR_IO,           /* transient: the operating system failed a read or write (EIO, ENOENT, ...) */
    MER_ERR_NOSPACE,      /* transient: disk full or quota exceeded (ENOSPC, EDQUOT) */
    MER_ERR_INTERRUPTED,  /* transient: a call was interrupted or would block (EINTR, EAGAIN) */
    MER_ERR_NOMEM,        /* transient: out of memory (other work on the node may free some) */
    MER_ERR_DATA,         /* permanent: input that cannot be used (undecodable clip, missing frame) */
    MER_ERR_NOFACE,       /* permanent: no face found in the sample */
    MER_ERR_CONFIG,       /* permanent: settings that cannot work */
    MER_ERR_KIND_COUNT
} mer_err_kind;

typedef struct {
    char msg[MER_ERR_MSG_MAX];
    mer_err_kind kind;
} mer_err;

/* Fill err (may be NULL) with a printf-style message, kind MER_ERR_UNCLASSIFIED; return -1. */
int mer_errf(mer_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same with a kind. */
int mer_errk(mer_err *err, mer_err_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The same with the kind errnum tells (mer_err_kind_of_errno); pass errno saved before any other call. */
int mer_err_errno(mer_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefix an already filled message: "prefix: old message". Keeps the kind. Returns -1. */
int mer_err_prefix(mer_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ENOSPC/EDQUOT -> NOSPACE, EINTR/EAGAIN -> INTERRUPTED, ENOMEM -> NOMEM, any other -> IO. */
mer_err_kind mer_err_kind_of_errno(int errnum);
/* "io", "no space", "no face", ... ("?" for a value out of range). */
const char *mer_err_kind_name(mer_err_kind kind);
/* 1 when trying again may succeed (every kind but DATA, NOFACE and CONFIG, and values out of range). */
int mer_err_transient(mer_err_kind kind);

/* Checked allocation helpers: return NULL and fill err (kind MER_ERR_NOMEM) on failure. */
void *mer_malloc(size_t n, mer_err *err);
void *mer_calloc(size_t count, size_t size, mer_err *err);
