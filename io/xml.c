/* Small XML reader (see io/xml.h for the supported subset and why it exists). */
#include "io/xml.h"

#include "io/base/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct xml_doc {
    xml_node *nodes; /* nodes[0] is the document node */
    size_t nnodes;
    char *pool; /* names and texts, NUL-terminated */
};

/* Node while parsing: links are indices because the node array grows. */
typedef struct {
    size_t name, text; /* offsets into the pool */
    long child, last, next;
    int line, has_children;
} pnode;

typedef struct {
    const char *s;
    size_t n, pos;
    int line;
    size_t line_pos; /* newlines before line_pos are counted in line */
    const char *path;
    mer_err *err;
    pnode *nodes;
    size_t nnodes, cap;
    char *pool;
    size_t pool_len, pool_cap;
} parser;

static int cur_line(parser *p) {
    for (; p->line_pos < p->pos && p->line_pos < p->n; p->line_pos++)
        if (p->s[p->line_pos] == '\n') p->line++;
    return p->line;
}

static int fail(parser *p, const char *what) {
    return mer_errf(p->err, "%s:%d: malformed XML: %s", p->path, cur_line(p), what);
}

static int starts(const parser *p, const char *lit) {
    size_t k = strlen(lit);
    return p->n - p->pos >= k && memcmp(p->s + p->pos, lit, k) == 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_name_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':';
}
static int is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }

static void skip_space(parser *p) {
    while (p->pos < p->n && is_space(p->s[p->pos])) p->pos++;
}

/* Skip to just after the terminator `end`; error `what` if absent. */
static int skip_past(parser *p, const char *end, const char *what) {
    size_t k = strlen(end);
    for (; p->pos + k <= p->n; p->pos++)
        if (memcmp(p->s + p->pos, end, k) == 0) {
            p->pos += k;
            return 0;
        }
    p->pos = p->n;
    return fail(p, what);
}

static int pool_put(parser *p, char c) {
    if (p->pool_len >= p->pool_cap) return fail(p, "internal pool overflow");
    p->pool[p->pool_len++] = c;
    return 0;
}

static long new_node(parser *p, long parent) {
    if (p->nnodes == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        pnode *nn = realloc(p->nodes, cap * sizeof *nn);
        if (!nn) {
            mer_errf(p->err, "%s: out of memory parsing XML", p->path);
            return -1;
        }
        p->nodes = nn;
        p->cap = cap;
    }
    long id = (long)p->nnodes++;
    pnode *n = &p->nodes[id];
    memset(n, 0, sizeof *n);
    n->child = n->last = n->next = -1;
    n->line = cur_line(p);
    if (parent >= 0) {
        pnode *par = &p->nodes[parent];
        if (par->last >= 0) p->nodes[par->last].next = id;
        else par->child = id;
        par->last = id;
        par->has_children = 1;
    }
    return id;
}

/* Read a name at pos into the pool; returns its pool offset or -1. */
static long read_name(parser *p) {
    if (p->pos >= p->n || !is_name_start(p->s[p->pos])) return fail(p, "expected a name"), -1;
    long off = (long)p->pool_len;
    while (p->pos < p->n && is_name_char(p->s[p->pos]))
        if (pool_put(p, p->s[p->pos++]) < 0) return -1;
    if (pool_put(p, 0) < 0) return -1;
    return off;
}

/* Decode one entity at pos (pointing at '&') into the pool. */
static int put_entity(parser *p) {
    static const struct { const char *e; char c; } ents[] = {
        {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
    for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++)
        if (starts(p, ents[i].e)) {
            p->pos += strlen(ents[i].e);
            return pool_put(p, ents[i].c);
        }
    return fail(p, "unsupported entity");
}

static int parse(parser *p) {
    long stack[XML_MAX_DEPTH + 1];
    int depth = 0;
    long root = new_node(p, -1);
    if (root < 0) return -1;
    if (pool_put(p, 0) < 0) return -1; /* root name "" at offset 0 */
    p->nodes[root].name = 0;
    stack[0] = root;
    int seen_element = 0, text_gap = 0;
    while (p->pos < p->n) {
        long top = stack[depth];
        if (p->s[p->pos] != '<') { /* character data */
            if (depth == 0) {
                if (!is_space(p->s[p->pos])) return fail(p, "text outside the root element");
                p->pos++;
                continue;
            }
            int keep = !p->nodes[top].has_children;
            if (keep && text_gap) {
                if (pool_put(p, ' ') < 0) return -1;
                text_gap = 0;
            }
            if (p->s[p->pos] == '&') {
                size_t save = p->pool_len;
                if (put_entity(p) < 0) return -1;
                if (!keep) p->pool_len = save;
                continue;
            }
            if (keep && pool_put(p, p->s[p->pos]) < 0) return -1;
            p->pos++;
            continue;
        }
        if (starts(p, "<!--")) {
            p->pos += 4;
            if (skip_past(p, "-->", "unterminated comment") < 0) return -1;
            text_gap = 1;
            continue;
        }
        if (starts(p, "<?")) {
            if (skip_past(p, "?>", "unterminated processing instruction") < 0) return -1;
            continue;
        }
        if (starts(p, "<![CDATA[")) {
            if (depth == 0) return fail(p, "CDATA outside the root element");
            p->pos += 9;
            int keep = !p->nodes[top].has_children;
            for (;;) {
                if (p->pos + 3 > p->n) return fail(p, "unterminated CDATA section");
                if (starts(p, "]]>")) break;
                if (keep && pool_put(p, p->s[p->pos]) < 0) return -1;
                p->pos++;
            }
            p->pos += 3;
            continue;
        }
        if (starts(p, "<!")) { /* DOCTYPE without an internal subset */
            size_t q = p->pos;
            while (q < p->n && p->s[q] != '>' && p->s[q] != '[') q++;
            if (q >= p->n || p->s[q] == '[') return fail(p, "DOCTYPE with an internal subset is not supported");
            p->pos = q + 1;
            continue;
        }
        if (starts(p, "</")) { /* end tag */
            p->pos += 2;
            if (depth == 0) return fail(p, "end tag without a start tag");
            size_t save = p->pool_len;
            long nm = read_name(p);
            if (nm < 0) return -1;
            pnode *n = &p->nodes[top];
            if (strcmp(p->pool + nm, p->pool + n->name) != 0) return fail(p, "mismatched end tag");
            p->pool_len = save; /* the end tag's name is not kept */
            skip_space(p);
            if (p->pos >= p->n || p->s[p->pos] != '>') return fail(p, "expected '>' after the end tag name");
            p->pos++;
            if (n->has_children) {
                n->text = 0; /* offset 0 is the root's "" */
            } else {
                if (pool_put(p, 0) < 0) return -1;
            }
            depth--;
            text_gap = 0;
            continue;
        }
        /* start tag */
        p->pos++;
        if (depth == XML_MAX_DEPTH) return fail(p, "elements nested too deeply");
        if (depth == 0 && seen_element) return fail(p, "more than one root element");
        if (p->nodes[top].has_children == 0 && depth > 0) {
            /* a parent with children keeps no text: drop what it collected */
            p->pool_len = p->nodes[top].text;
        }
        long id = new_node(p, top);
        if (id < 0) return -1;
        long nm = read_name(p);
        if (nm < 0) return -1;
        p->nodes[id].name = (size_t)nm;
        for (;;) { /* attributes: parsed and ignored */
            size_t before = p->pos;
            skip_space(p);
            if (p->pos >= p->n) return fail(p, "unterminated start tag");
            char c = p->s[p->pos];
            if (c == '>' || c == '/') break;
            if (p->pos == before) return fail(p, "expected white space before an attribute");
            size_t save = p->pool_len;
            if (read_name(p) < 0) return -1;
            p->pool_len = save;
            skip_space(p);
            if (p->pos >= p->n || p->s[p->pos] != '=') return fail(p, "expected '=' after an attribute name");
            p->pos++;
            skip_space(p);
            if (p->pos >= p->n || (p->s[p->pos] != '"' && p->s[p->pos] != '\'')) return fail(p, "expected a quoted attribute value");
            char q = p->s[p->pos++];
            while (p->pos < p->n && p->s[p->pos] != q && p->s[p->pos] != '<') p->pos++;
            if (p->pos >= p->n || p->s[p->pos] != q) return fail(p, "unterminated attribute value");
            p->pos++;
        }
        seen_element = 1;
        text_gap = 0;
        if (p->s[p->pos] == '/') {
            p->pos++;
            if (p->pos >= p->n || p->s[p->pos] != '>') return fail(p, "expected '>' after '/'");
            p->pos++;
            p->nodes[id].text = p->pool_len;
            if (pool_put(p, 0) < 0) return -1;
            continue;
        }
        p->pos++;
        p->nodes[id].text = p->pool_len;
        stack[++depth] = id;
    }
    if (depth != 0) return fail(p, "unexpected end of file inside an element");
    if (!seen_element) return fail(p, "no element found");
    return 0;
}

/* Trim white space of a NUL-terminated string in place, returns the new start. */
static char *trim(char *s) {
    while (is_space(*s)) s++;
    size_t k = strlen(s);
    while (k > 0 && is_space(s[k - 1])) s[--k] = 0;
    return s;
}

int xml_parse(xml_doc **doc, const char *buf, size_t len, const char *path, mer_err *err) {
    *doc = NULL;
    parser p = {.s = buf, .n = len, .line = 1, .path = path, .err = err};
    p.pool_cap = 2 * len + 16;
    p.pool = mer_malloc(p.pool_cap, err);
    if (!p.pool) return mer_err_prefix(err, "%s", path);
    if (parse(&p) < 0) {
        free(p.pool);
        free(p.nodes);
        return -1;
    }
    xml_doc *d = mer_calloc(1, sizeof *d, err);
    xml_node *nodes = d ? mer_calloc(p.nnodes, sizeof *nodes, err) : NULL;
    if (!nodes) {
        free(d);
        free(p.pool);
        free(p.nodes);
        return mer_err_prefix(err, "%s", path);
    }
    for (size_t i = 0; i < p.nnodes; i++) {
        pnode *q = &p.nodes[i];
        nodes[i].name = p.pool + q->name;
        nodes[i].text = trim(p.pool + q->text);
        nodes[i].child = q->child >= 0 ? &nodes[q->child] : NULL;
        nodes[i].next = q->next >= 0 ? &nodes[q->next] : NULL;
        nodes[i].line = q->line;
    }
    free(p.nodes);
    d->nodes = nodes;
    d->nnodes = p.nnodes;
    d->pool = p.pool;
    *doc = d;
    return 0;
}

int xml_load(xml_doc **doc, const char *path, mer_err *err) {
    *doc = NULL;
    char *buf;
    size_t len;
    if (fs_read_file(&buf, &len, path, err) < 0) return -1;
    int rc = xml_parse(doc, buf, len, path, err);
    free(buf);
    return rc;
}

void xml_free(xml_doc *doc) {
    if (!doc) return;
    free(doc->nodes);
    free(doc->pool);
    free(doc);
}

const xml_node *xml_root(const xml_doc *doc) { return &doc->nodes[0]; }

const xml_node *xml_child(const xml_node *n, const char *name) {
    for (const xml_node *c = n ? n->child : NULL; c; c = c->next)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

size_t xml_count(const xml_node *n) {
    size_t k = 0;
    for (const xml_node *c = n ? n->child : NULL; c; c = c->next) k++;
    return k;
}
