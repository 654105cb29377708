/* The configuration schema: one table row per YAML key (io/config/schema.c).
 *
 * A row names the dotted key path, its type, where the value lives in mer_config (offsetof), the
 * default written as YAML text (parsed by the same code as a value from a file, so a default can never
 * be of the wrong type: tests/unit/test_config.c checks every default), the allowed range or enum
 * values, and one line of help. Rows of one section are contiguous and sections are listed in the
 * order `mer config --print` writes them.
 */
#pragma once
#include <stddef.h>

#include "io/config/config.h"

typedef enum {
    CFG_INT,        /* int */
    CFG_LONG,       /* long (seeds) */
    CFG_FLOAT,      /* double */
    CFG_BOOL,       /* int 0/1, written true/false */
    CFG_STR,        /* char *, owned */
    CFG_ENUM,       /* a C enum (int-sized), the index of its name in `enums` */
    CFG_STR_LIST,   /* cfg_str_list */
    CFG_FLOAT_LIST, /* cfg_f64_list */
} cfg_type;

enum {
    CFG_MIN_OPEN = 1u << 0, /* the range excludes min */
    CFG_MAX_OPEN = 1u << 1, /* the range excludes max */
    CFG_NULLABLE = 1u << 2, /* float that may be unset: `~` / null <-> NAN */
};

typedef struct {
    const char *key;    /* dotted path, e.g. "model.attention.n_rounds" */
    cfg_type type;
    size_t offset;      /* offsetof(mer_config, field) */
    const char *def;    /* default as YAML text ("~" = unset for CFG_NULLABLE, "[]" = empty list) */
    double min, max;    /* numeric range (-INFINITY / INFINITY = unbounded) */
    unsigned flags;     /* CFG_MIN_OPEN | CFG_MAX_OPEN | CFG_NULLABLE */
    const cfg_vocab *enums; /* CFG_ENUM: the names of the values */
    const char *help;
} cfg_key;

extern const cfg_key CFG_KEYS[];
extern const size_t CFG_N_KEYS;

/* Index of the row whose key is exactly `key` (length n), or -1. */
int cfg_key_find(const char *key, size_t n);
/* Name of a type as written in messages and `--keys` ("int", "float", "list of str", ...). */
const char *cfg_type_name(cfg_type t);
