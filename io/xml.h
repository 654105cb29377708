/* A small XML reader for the subset OpenCV's FileStorage writes (cascade classifiers).
 *
 * Why our own and not libxml2: the cascade files use elements, attributes (ignored), text and
 * comments only, and we need nothing of namespaces, DTDs or entities beyond the five predefined
 * ones. ~300 lines, no extra dependency, and easy to fuzz (tests/fuzz/fuzz_cascade.c runs it on
 * arbitrary bytes).
 *
 * The whole document becomes one tree held in a single allocation pool:
 *   node.name      element name ("" for the document root)
 *   node.text      the element's character data with comments removed and leading/trailing
 *                  white space trimmed ("" if none); entities &lt; &gt; &amp; &quot; &apos; decoded
 *   node.child     first child element, node.next the next sibling, node.line the source line.
 * Unsupported or malformed input (unbalanced tags, DOCTYPE with internal subset, CDATA, nesting
 * deeper than XML_MAX_DEPTH) is an error with "path:line: reason".
 */
#pragma once
#include <stddef.h>

#include "io/base/err.h"

#define XML_MAX_DEPTH 64

typedef struct xml_node {
    const char *name;
    const char *text;
    struct xml_node *child, *next;
    int line;
} xml_node;

typedef struct xml_doc xml_doc;

/* Parse `len` bytes of `buf` (need not be NUL-terminated); `path` is used in messages only. */
int xml_parse(xml_doc **doc, const char *buf, size_t len, const char *path, mer_err *err);
/* Read and parse a file. */
int xml_load(xml_doc **doc, const char *path, mer_err *err);
void xml_free(xml_doc *doc);

/* The document node: its children are the top-level elements. */
const xml_node *xml_root(const xml_doc *doc);
/* First child element named `name`, or NULL. */
const xml_node *xml_child(const xml_node *n, const char *name);
/* Number of child elements. */
size_t xml_count(const xml_node *n);
