/* The composite's source names (dataset.h) and the table of the newer sheet formats (formats.h). */
#include "io/data/formats.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/data/dataset.h"

/* Every source a composite can hold (the formats' names; CAS(ME)³ part C is casme3c). */
static const char *const SOURCES[] = {"casme2", "samm", "smic", "casme3", "casme3c", "mmew", "4dme", NULL};

const char *const *dataset_sources(void) { return SOURCES; }

size_t dataset_subject_prefix(const char *subject) {
    size_t n = strcspn(subject, "/_");
    if (!subject[n] || !subject[n + 1]) return 0;
    for (size_t k = 0; SOURCES[k]; k++)
        if (strlen(SOURCES[k]) == n && !strncasecmp(subject, SOURCES[k], n)) return n;
    return 0;
}

static const ds_format *const FORMATS[] = {&DS_FORMAT_CASME3, &DS_FORMAT_CASME3C, &DS_FORMAT_MMEW, &DS_FORMAT_4DME};

const ds_format *ds_format_find(const char *name) {
    for (size_t k = 0; k < sizeof FORMATS / sizeof FORMATS[0]; k++)
        if (!strcmp(FORMATS[k]->name, name)) return FORMATS[k];
    return NULL;
}

char *ds_strf(const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n < 0 ? NULL : malloc((size_t)n + 1);
    if (s) vsnprintf(s, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return s;
}

int ds_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int ds_subject_as_written(char *out, size_t n, const char *field) {
    while (isspace((unsigned char)*field)) field++;
    size_t len = strlen(field);
    while (len && isspace((unsigned char)field[len - 1])) len--;
    if (!len || memchr(field, '/', len)) return -1;
    snprintf(out, n, "%.*s", (int)len, field);
    return 0;
}
