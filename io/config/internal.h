/* What the files of io/config/ share with each other; not part of the config API (io/config/config.h).
 *
 * The loader is split by concern:
 *   diag.c        located error messages (FILE:LINE:COL: message, source line, caret), collected and sorted
 *   yaml_checks.c checks on the YAML text before the document load (tabs, syntax, anchors, documents)
 *   value.c       one value: parsed from a YAML node against its schema row, written back as YAML text
 *   fields.c      typed struct fields (free, copy, compare) and the whole-struct helpers built on them
 *   suggest.c     did-you-mean for unknown keys (edit distance among the schema's keys)
 *   rules.c       cross-key rules on a resolved config and the fields derived after loading
 *   sweep.c       the sweep grammar (cartesian factors, zip groups, seeds) and its expansion into points
 *   print.c       the resolved config and the schema as text (--print, --keys, cache keys, point ids)
 *   load.c        the document walk, command-line overrides and config_load_text() that runs the steps
 */
#pragma once
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "io/base/strbuf.h"
#include "io/config/config.h"
#include "io/config/schema.h"

#define CFG_MAX_ERRORS 100
#define CFG_MAX_POINTS 100000

/* ---- locations and collected errors (diag.c) --------------------------------------------------- */

typedef struct {
    const char *path;     /* file name shown in messages */
    const char *text;     /* file contents (source lines under messages); NULL for overrides */
    size_t len;
    const char *override; /* "key=value" when the value came from the command line */
} cfg_src;

typedef struct {
    const cfg_src *src;
    size_t line, col; /* 1-based; line 0 = no position */
} cfg_loc;

typedef struct {
    char *text;
    int rank;           /* 0 located in the file, 1 file without position, 2 override */
    size_t line, col, seq;
} diag_msg;

typedef struct {
    diag_msg *msg;      /* reported sorted by position in the file, then overrides, in arrival order */
    size_t n, cap;
    size_t dropped; /* errors beyond CFG_MAX_ERRORS */
    int oom;
} diag;

static inline cfg_loc cfg_loc_mark(const cfg_src *src, yaml_mark_t m) {
    return (cfg_loc){src, m.line + 1, m.column + 1};
}

__attribute__((format(printf, 3, 4))) void diag_add(diag *d, cfg_loc loc, const char *fmt, ...);
int diag_failed(const diag *d);
void diag_free(diag *d);
/* Hand the errors to the caller: all of them in *full, as many as fit in err. Returns -1. */
int diag_report(diag *d, char **full, mer_err *err);

/* ---- YAML text checks (yaml_checks.c) ---------------------------------------------------------- */

/* Tabs in indentation: a friendly message instead of libyaml's "cannot start any token". */
int cfg_check_tabs(const cfg_src *src, diag *d);
/* libyaml's error as a located message. */
void cfg_yaml_problem(const yaml_parser_t *ps, const cfg_src *src, diag *d);
/* Event pass: syntax errors, anchors and aliases, more than one document. -1 = the walk cannot go on. */
int cfg_check_events(const cfg_src *src, diag *d);

/* ---- typed fields (fields.c) ------------------------------------------------------------------- */

void *cfg_field_ptr(mer_config *cfg, const cfg_key *k);
const void *cfg_field_cptr(const mer_config *cfg, const cfg_key *k);
void cfg_field_free(const cfg_key *k, void *p);
size_t cfg_field_size(const cfg_key *k);
/* Deep copy src field into dst field (dst holds nothing owned). Returns -1 when out of memory. */
int cfg_field_copy(const cfg_key *k, void *dst, const void *src);
int cfg_field_equal(const cfg_key *k, const void *a, const void *b);

/* ---- one value (value.c) ----------------------------------------------------------------------- */

/* A parsed value, laid out like the struct field so the field functions apply to &v->u. */
typedef struct {
    int null; /* YAML null (plain ~, null, or nothing) */
    union {
        int i;
        long l;
        double f;
        char *s;
        cfg_str_list sl;
        cfg_f64_list fl;
    } u;
} cfg_value;

void cfg_value_free(const cfg_key *k, cfg_value *v);
int cfg_is_null(const yaml_node_t *n);
const char *cfg_node_kind(const yaml_node_t *n); /* "a mapping", "a list", "a scalar" */
int cfg_key_index(const char *key);
/* Parse scalar text as a value of row k (element type t for lists). `name` is the key as the user wrote
 * it (messages). `null` = the scalar was a YAML null. Returns 0, or -1 after reporting at loc. */
int cfg_parse_scalar(cfg_value *v, const cfg_key *k, cfg_type t, const char *name, const char *text, int null,
                     cfg_loc loc, diag *d);
/* Parse YAML node `n` of document `doc` as a value of row k. Returns 0, or -1 after reporting. */
int cfg_parse_node(cfg_value *v, const cfg_key *k, const char *name, yaml_document_t *doc, yaml_node_t *n,
                   const cfg_src *src, diag *d);
/* The names of an enum setting's values separated by sep. */
void cfg_put_vocab(strbuf *b, const cfg_vocab *v, const char *sep);
/* "(0, 10]", ">= 0", ... */
void cfg_put_range(strbuf *b, const cfg_key *k);
/* Shortest "%.Ng" that reads back to the same double; always looks like a float ("1.0", not "1"). */
void cfg_put_double(strbuf *b, double v);
/* A string plain when YAML reads it back as the same string, otherwise double-quoted. */
void cfg_put_str(strbuf *b, const char *s);
/* The value of field p (of row k) as YAML text; `compact` writes lists without spaces (sweep params). */
void cfg_put_field(strbuf *b, const cfg_key *k, const void *p, int compact);

/* ---- did-you-mean (suggest.c) ------------------------------------------------------------------ */

typedef struct {
    const char *s;
    size_t n;
} strview;

/* The distinct names directly under `prefix` ("" = top level), in schema order. */
size_t cfg_children(strview *out, const char *prefix);
/* The candidate closest to name, if close enough to be a likely typo. */
const strview *cfg_suggest(const char *name, const strview *cand, size_t n);
/* Is `path` a section (a prefix of some key followed by '.')? */
int cfg_is_section(const char *path);
/* Report a full dotted key that is not in the schema (overrides, sweep keys); `extra` names other
 * words allowed at that place (the sweep's "seeds" and "zip"). */
void cfg_unknown_key(diag *d, cfg_loc loc, const char *key, const char *const *extra, size_t n_extra);

/* ---- explicit assignments and cross-key rules (load.c, rules.c) -------------------------------- */

typedef struct {
    int order; /* 0 = not set explicitly (default or `~`) */
    cfg_loc loc;
} cfg_set;

/* Store v into cfg (takes ownership) and remember where it was set. */
void cfg_assign(mer_config *cfg, cfg_set *set, int ki, cfg_value *v, cfg_loc loc, int *order);
/* Derived fields after all assignments; `set` may be NULL. */
void cfg_finalize(mer_config *cfg, const cfg_set *set);
/* The cross-key rules on one resolved config. */
void cfg_check_whole(const mer_config *cfg, const cfg_set *set, diag *d);

/* ---- the document walk (load.c) and the sweep (sweep.c) ---------------------------------------- */

typedef struct {
    const cfg_src *src;
    yaml_document_t *doc;
    diag *d;
    mer_config *cfg;
    cfg_set *set;
    int order;
    yaml_node_t *sweep;  /* the top-level sweep: value, parsed after the overrides */
    long *ov_seeds;      /* sweep.seeds=[...] given on the command line (replaces the file's) */
    size_t n_ov_seeds;
} walk_ctx;

/* Reports `pair`'s key when an earlier pair of `map` has the same key; returns 1 then. */
int cfg_duplicate_key(walk_ctx *w, yaml_node_t *map, yaml_node_pair_t *pair);

typedef struct {
    int key;            /* schema row */
    cfg_value *vals;    /* one per list element */
    cfg_loc *locs;      /* where each element was written */
    size_t n;
} sweep_axis;

typedef struct {
    sweep_axis *axes;   /* 1 for a cartesian factor, several for a zip group (equal lengths) */
    size_t n_axes;
    size_t len;
} sweep_factor;

typedef struct {
    sweep_factor *f;
    size_t n;
    int seeds_given;    /* sweep.seeds written explicitly (printed back by config_doc_print) */
    cfg_src *src;       /* owned copy of the file text, so element locations stay valid */
} cfg_sweep;

typedef struct {
    walk_ctx *w;
    cfg_sweep *s;
    const unsigned char *overridden; /* per schema row: set by a command-line override */
    long *seeds;
    size_t n_seeds;
} sweep_ctx;

void sweep_free(cfg_sweep *s);
/* The top-level `sweep:` node into c->s (and c->seeds). Returns -1 only when out of memory. */
int sweep_parse(sweep_ctx *c, yaml_node_t *sw);
/* sweep.seeds (from the file or an override): a non-empty list of distinct integers. Replaces *seeds
 * when the node is a list. Returns -1 only when out of memory. */
int sweep_parse_seeds(long **seeds_out, size_t *n_out, yaml_document_t *doc, yaml_node_t *val, const cfg_src *src,
                      diag *d);
/* Number of points (CFG_MAX_POINTS + 1 when there are more). */
size_t sweep_points(const cfg_sweep *s);
/* Apply point `p` (mixed radix, first factor slowest) to cfg; record the element locations in set. */
int sweep_apply_point(mer_config *cfg, cfg_set *set, const cfg_sweep *s, size_t p, int *order);
