/* Checks on the YAML text before the document is loaded: tabs in indentation, libyaml's syntax errors
 * with a hint for the usual indentation mistakes, anchors and aliases, more than one document. */
#include "io/config/internal.h"

/* Tabs in indentation: a friendly message instead of libyaml's "cannot start any token". */
int cfg_check_tabs(const cfg_src *src, diag *d) {
    int found = 0;
    size_t line = 1;
    for (const char *p = src->text, *end = src->text + src->len; p < end; line++) {
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t')) q++;
        int content = q < end && *q != '\n' && *q != '\r' && *q != '#';
        if (content)
            for (const char *t = p; t < q; t++)
                if (*t == '\t') {
                    diag_add(d, (cfg_loc){src, line, (size_t)(t - p) + 1},
                             "tab character in indentation (YAML indents with spaces only)");
                    found = 1;
                    break;
                }
        while (q < end && *q != '\n') q++;
        p = q + 1;
    }
    return found;
}

void cfg_yaml_problem(const yaml_parser_t *ps, const cfg_src *src, diag *d) {
    if (ps->error == YAML_MEMORY_ERROR) {
        d->oom = 1;
        return;
    }
    cfg_loc loc = cfg_loc_mark(src, ps->problem_mark);
    if (ps->error == YAML_READER_ERROR) { /* marks are not set: locate the byte offset */
        loc = (cfg_loc){src, 1, 1};
        for (size_t i = 0; i < ps->problem_offset && i < src->len; i++) {
            if (src->text[i] == '\n') {
                loc.line++;
                loc.col = 1;
            } else if (((unsigned char)src->text[i] & 0xC0) != 0x80) {
                loc.col++;
            }
        }
        diag_add(d, loc, "YAML syntax error: %s", ps->problem ? ps->problem : "unreadable input");
        return;
    }
    const char *problem = ps->problem ? ps->problem : "?", *hint = "";
    /* the two messages libyaml gives for a mis-indented line */
    if (strstr(problem, "did not find expected key")) hint = "; check this line's indentation";
    else if (strstr(problem, "mapping values are not allowed"))
        hint = "; check the indentation, or quote a value that contains ': '";
    if (ps->context)
        diag_add(d, loc, "YAML syntax error: %s (%s at line %zu, column %zu)%s", problem, ps->context,
                 ps->context_mark.line + 1, ps->context_mark.column + 1, hint);
    else diag_add(d, loc, "YAML syntax error: %s%s", problem, hint);
}

/* Event pass: syntax errors, anchors and aliases, more than one document. Returns -1 on a syntax error
 * or a second document (the walk cannot go on); anchors and aliases are reported and the walk goes on
 * (the document API resolves an alias to its anchored node, so later messages may point there). */
int cfg_check_events(const cfg_src *src, diag *d) {
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) {
        d->oom = 1;
        return -1;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)src->text, src->len);
    int bad = 0, docs = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&ps, &ev)) {
            cfg_yaml_problem(&ps, src, d);
            bad = 1;
            break;
        }
        const unsigned char *anchor = NULL;
        const char *sigil = "&";
        switch (ev.type) {
        case YAML_ALIAS_EVENT:
            anchor = ev.data.alias.anchor;
            sigil = "*";
            break;
        case YAML_SCALAR_EVENT: anchor = ev.data.scalar.anchor; break;
        case YAML_SEQUENCE_START_EVENT: anchor = ev.data.sequence_start.anchor; break;
        case YAML_MAPPING_START_EVENT: anchor = ev.data.mapping_start.anchor; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs == 2) {
                diag_add(d, cfg_loc_mark(src, ev.start_mark), "a config file holds one YAML document, found a second");
                bad = 1;
            }
            break;
        default: break;
        }
        if (anchor)
            diag_add(d, cfg_loc_mark(src, ev.start_mark), "anchors and aliases are not supported ('%s%s'); write the "
                                                      "values out", sigil, (const char *)anchor);
        int done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (done) break;
    }
    yaml_parser_delete(&ps);
    return bad ? -1 : 0;
}
