/* Writing JSON text: one string escaper for every JSON writer (reports, `mer face`, `mer prep`). */
#pragma once
#include <stdio.h>

/* How control characters are escaped. Both are valid JSON; each writer keeps the form its output has
 * always had, so outputs stay byte for byte what they were. */
typedef enum {
    JSON_ESC_SHORT,   /* newline and tab as \n and \t, other control characters as \u00XX (reports) */
    JSON_ESC_UNICODE, /* every control character as \u00XX (`mer face`, `mer prep`) */
} json_escapes;

/* Write s as a JSON string literal with its quotes; NULL is written as "". Bytes >= 0x80 pass through
 * (UTF-8 stays UTF-8). */
void json_write_str(FILE *f, const char *s, json_escapes esc);
