/* CSV reader for annotation sheets exported from spreadsheets (RFC 4180 and the usual deviations).
 *
 * - Fields separated by ',' (or ';' / TAB when the first non-empty line has none of the others but
 *   has that one: European Excel exports), records by LF, CRLF or CR.
 * - Quoted fields ("a, b", "say ""hi""") may contain separators and line breaks.
 * - A UTF-8 byte-order mark at the start is skipped. NUL bytes are an error.
 * - Unquoted fields are trimmed of surrounding blanks; quoted fields are kept as written.
 * - Every record keeps the 1-based physical line number on which it starts, for error messages.
 * - Records that are completely empty (blank lines, or only separators) are kept (n_fields may be 0 or
 *   all fields empty): callers decide; csv_row_blank() tells them.
 */
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "io/base/err.h"

typedef struct {
    char **f;      /* fields (owned, NUL-terminated) */
    size_t n;      /* field count */
    int line;      /* physical line where the record starts (1-based) */
} csv_row;

typedef struct {
    csv_row *rows;
    size_t n;
    char sep;      /* the separator used */
    char *path;    /* for messages */
} csv_table;

/* Read a whole file. Errors: unreadable file, NUL byte, unterminated quote (with its line). */
int csv_read(csv_table *t, const char *path, mer_err *err);
/* Parse text already in memory (len bytes); `name` is used in messages. */
int csv_parse(csv_table *t, const char *text, size_t len, const char *name, mer_err *err);
void csv_free(csv_table *t);

/* 1 when every field of the row is empty. */
int csv_row_blank(const csv_row *r);
/* Field i of a row, "" when the row is shorter. */
const char *csv_get(const csv_row *r, int i);
/* Header matching tolerant to case, spaces, '_' and '-': "Onset Frame" == "onsetframe" == "ONSET_FRAME".
 * Returns the column index of the first of `names` (alternatives) found in the header, or -1. */
int csv_find_col(const csv_row *header, const char *const *names, size_t n_names);
/* Normalised compare used by csv_find_col. */
int csv_name_eq(const char *a, const char *b);

/* Writing CSV: when a field is quoted ("..." with inner quotes doubled). */
typedef enum {
    CSV_QUOTE_MINIMAL,   /* only fields holding ',', '"' or a line break (RFC 4180; the report's CSV) */
    CSV_QUOTE_ROUNDTRIP, /* also fields holding ';' or starting or ending with a blank, so csv_read, which
                            may guess ';' as the separator and trims unquoted blanks, reads them back as written */
} csv_quoting;

/* Write one field (no separator), quoting it as q says. */
void csv_write_field(FILE *f, const char *s, csv_quoting q);
