/* libFuzzer harness: the YAML config loader with command-line overrides (tests/fuzz/README.md).
 * Input: YAML text, then up to 8 override strings, each after a NUL byte. A config that loads must expand
 * its sweep, print, and load back from its printed form with the same base config and point count. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    size_t ylen;
    const uint8_t *yaml = fz_until(&in, 0, &ylen);
    char *ov[8];
    size_t n_ov = 0;
    while (in.n && n_ov < 8) {
        size_t k;
        const uint8_t *p = fz_until(&in, 0, &k);
        ov[n_ov] = malloc(k + 1);
        memcpy(ov[n_ov], p, k);
        ov[n_ov++][k] = 0;
    }
    cfg_doc doc;
    char *diag = NULL;
    mer_err err;
    if (config_load_text(&doc, "fuzz.yaml", (const char *)yaml, ylen, ov, n_ov, &diag, &err) == 0) {
        size_t np = config_n_points(&doc);
        if (np <= 64) {
            cfg_point *pts = NULL;
            size_t n = 0;
            if (config_points(&pts, &n, &doc, &err) == 0) config_points_free(pts, n);
        }
        char *text = config_doc_to_string(&doc);
        if (!text) abort();
        cfg_doc back;
        char *diag2 = NULL;
        if (config_load_text(&back, "printed.yaml", text, strlen(text), NULL, 0, &diag2, &err) != 0) {
            fprintf(stderr, "printed config does not load:\n%s\n--- printed:\n%s\n", diag2 ? diag2 : err.msg, text);
            abort();
        }
        if (!config_equal(&doc.base, &back.base) || config_n_points(&back) != np) {
            fprintf(stderr, "printed config loads differently:\n%s\n", text);
            abort();
        }
        config_doc_free(&back);
        config_doc_free(&doc);
        free(text);
    } else if (!diag) {
        abort(); /* a failed load always explains itself */
    }
    free(diag);
    for (size_t i = 0; i < n_ov; i++) free(ov[i]);
    return 0;
}
