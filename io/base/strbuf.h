/* A growable NUL-terminated string (git's strbuf is the model), and arrays of owned strings.
 *
 *     strbuf b = STRBUF_INIT;
 *     strbuf_adds(&b, "stage: ");
 *     strbuf_addf(&b, "%d", n);
 *     if (b.failed) return mer_errf(err, "out of memory");   // one check after many adds
 *     use(strbuf_str(&b));
 *     strbuf_release(&b);
 *
 * Adding never truncates: when memory runs out the buffer keeps what it had, sets `failed`, and every
 * later add does nothing; so a caller may chain adds and test `failed` once. The add functions also
 * return -1 on failure (0 otherwise) for callers that test each step. */
#pragma once
#include <stdarg.h>
#include <stddef.h>

typedef struct {
    char *buf;    /* NULL until the first add; else NUL-terminated at buf[len] */
    size_t len;   /* bytes in use, not counting the NUL */
    size_t cap;   /* bytes allocated */
    int failed;   /* an allocation failed: the content is incomplete */
} strbuf;

#define STRBUF_INIT {0}

int strbuf_add(strbuf *b, const void *data, size_t n);
int strbuf_adds(strbuf *b, const char *s);
int strbuf_addc(strbuf *b, char c);
int strbuf_addf(strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int strbuf_vaddf(strbuf *b, const char *fmt, va_list ap);
/* Empty the string, keep the memory (and the failed flag: a failure stays visible until release). */
void strbuf_reset(strbuf *b);
/* The string so far: "" before the first add. */
const char *strbuf_str(const strbuf *b);
/* Hand the string to the caller (free() it) and leave b empty. Returns NULL, freeing the buffer, when an
 * add failed; returns a malloc'ed "" when nothing was added (NULL if even that allocation fails). */
char *strbuf_detach(strbuf *b);
void strbuf_release(strbuf *b);

/* Free n owned strings and the array holding them (s may be NULL; entries may be NULL). */
void strs_free(char **s, size_t n);
