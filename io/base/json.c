#include "io/base/json.h"

void json_write_str(FILE *f, const char *s, json_escapes esc) {
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (esc == JSON_ESC_SHORT && c == '\n') fputs("\\n", f);
        else if (esc == JSON_ESC_SHORT && c == '\t') fputs("\\t", f);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}
