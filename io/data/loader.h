/* What the dataset readers share inside io/data (dataset.c, composite.c); not a public API. A loader is the
 * build state of one dataset_load: the dataset being filled, the config, and where errors go. */
#pragma once
#include <stddef.h>

#include "io/data/csv.h"
#include "io/data/dataset.h"
#include "io/data/formats.h"

typedef struct {
    dataset *d;
    const mer_config *cfg;
    size_t cap_s, cap_p, cap_f;
    mer_err *err;
} ds_loader;

/* A sheet column: its alternative names (NULL-terminated), whether it must exist, and (found) its index. */
typedef struct {
    const char *const *names;
    int required;
    int col;
} ds_col_spec;

/* The header row: the first of the first 60 rows with every required column; -1 (err says which are missing). */
int ds_find_header(ds_loader *L, const csv_table *t, ds_col_spec *cols, size_t n_cols, size_t *header_row);
/* Record an annotation file read (the copy lives in the dataset); NULL on OOM. */
const char *ds_add_file(ds_loader *L, const char *path);

/* The readers: a sheet format (formats.h) under root, and SMIC-HS (csv_path may be ""). Subjects get the
 * prefix ("casme2_") when it is not NULL. */
int ds_read_sheet(ds_loader *L, const ds_format *F, const char *root, const char *csv_path, const char *subject_prefix);
int ds_read_smic(ds_loader *L, const char *root, const char *csv_path, const char *subject_prefix);
extern const ds_format DS_FORMAT_CASME2, DS_FORMAT_SAMM;

/* megc2019 (fixed sources and mapping) or composite (dataset.sources or the index CSV, dataset.class_map):
 * every source read and mapped; *classes = the class set for the label numbering (owned). composite.c */
int ds_read_composite(ds_loader *L, int megc2019, const char *index_path, char ***classes, size_t *n_classes);

/* Small helpers: src trimmed and lower-cased into dst; s in the NULL-terminated list (ignoring case); the
 * list joined with ", "; the folder of a path; free n strings and the array. */
void ds_lower_trim(char *dst, size_t n, const char *src);
int ds_in_list(const char *const *list, const char *s);
void ds_list_join(char *out, size_t n, const char *const *list);
char *ds_dirname_of(const char *path);
void ds_free_list(char **v, size_t n);
