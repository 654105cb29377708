/* What every `mer` command shares when it reads its arguments (git's parse-options in small): checked
 * numbers, the usage-error printer, and the KEY=VALUE config overrides. Commands keep their own messages;
 * these helpers only decide whether an argument is acceptable. */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Print "mer CMD: msg" and the --help hint to stderr; returns 2 (the usage exit status). */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The whole of s as a decimal integer in [lo, hi]: 0, or -1 (empty, trailing characters, overflow, out of
 * range). *out is written only on success. */
int cli_long(const char *s, long lo, long hi, long *out);
/* The whole of s as a non-negative decimal integer (no sign): 0 or -1, as cli_long. */
int cli_u64(const char *s, uint64_t *out);
/* The whole of s as a number (strtod syntax) in [lo, hi]: 0 or -1 (empty, trailing characters, overflow
 * or underflow, NaN, out of range). For an open bound pass nextafter(bound, direction). */
int cli_double(const char *s, double lo, double hi, double *out);

/* The config overrides of a command: argv[first .. argc) must all be KEY=VALUE. On success sets *ov, *n
 * and returns 0; otherwise prints usage_error(cmd, "'ARG' is not a FORM override" HINT) and returns 2.
 * form: how the command's --help spells it ("KEY=VALUE" or "key=value"); hint: appended text or "". */
int cli_overrides(char *const **ov, size_t *n, const char *cmd, int argc, char **argv, int first, const char *form,
                  const char *hint);
