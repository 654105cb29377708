/* The dataset names that prefix the subject ids of a composite (see dataset.h). */
#include <string.h>
#include <strings.h>

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
