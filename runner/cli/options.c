/* Argument checks shared by every command (runner/cli/options.h). */
#include "runner/cli/options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mer %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'mer %s --help'.\n", cmd);
    va_end(ap);
    return 2;
}

int cli_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    const long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int cli_u64(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    const unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1; /* !(..) also rejects NaN */
    *out = v;
    return 0;
}

int cli_overrides(char *const **ov, size_t *n, const char *cmd, int argc, char **argv, int first, const char *form,
                  const char *hint) {
    for (int i = first; i < argc; i++)
        if (!strchr(argv[i], '=')) return usage_error(cmd, "'%s' is not a %s override%s", argv[i], form, hint);
    *ov = argv + first;
    *n = first < argc ? (size_t)(argc - first) : 0;
    return 0;
}
