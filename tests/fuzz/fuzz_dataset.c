/* libFuzzer harness: the annotation readers of every dataset format (io/data/dataset.c, io/data/csv.c).
 * Input: byte 0 = format (casme2, samm, smic, megc2019, manifest, casme3, casme3c, mmew, 4dme, composite),
 * byte 1 = options (min_class_samples, include/exclude patterns, an explicit class list, or for composite
 * a class map); then NUL-separated parts: the annotation CSV (for megc2019 and composite the index CSV), the CASME II, SAMM and SMIC sheets the index may name (casme2.csv, samm.csv,
 * smic.csv), the include pattern, the exclude pattern, the class list (comma-separated). The files are
 * written into a scratch tree with a few clip folders of each layout (tests/fuzz/README.md). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/config/config.h"
#include "io/data/csv.h"
#include "io/data/dataset.h"
#include "io/media/image.h"
#include "tests/fuzz/fuzz_util.h"

static const cfg_dataset_format FORMATS[] = {CFG_DATASET_CASME2, CFG_DATASET_SAMM,    CFG_DATASET_SMIC,
                                             CFG_DATASET_MEGC2019, CFG_DATASET_MANIFEST, CFG_DATASET_CASME3,
                                             CFG_DATASET_CASME3C,  CFG_DATASET_MMEW,    CFG_DATASET_4DME,
                                             CFG_DATASET_COMPOSITE};
#define N_FORMATS (sizeof FORMATS / sizeof FORMATS[0])

static void mkdirs(const char *base, const char *rel) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    for (char *s = p + strlen(base) + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
}

/* ROOT with clip folders of each layout; SMIC clips hold two tiny frames (the reader scans them). */
static const char *tree(void) {
    static char root[600];
    if (root[0]) return root;
    snprintf(root, sizeof root, "%s/root", fz_scratch());
    mkdir(root, 0777);
    static const char *const dirs[] = {"sub01/EP02_01f", "sub01/EP03_02", "sub02/EP01_11f", "006/006_1_2",
                                       "007/007_3_1",    "s1/micro/negative/s1_ne_01",  "s2/micro/positive/s2_po_03",
                                       "s2/micro/surprise/s2_sur_01"};
    mer_image img = {0};
    mer_err e;
    if (image_alloc(&img, 4, 4, 1, &e)) abort();
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        mkdirs(root, dirs[i]);
        if (dirs[i][0] != 's' || dirs[i][1] == 'u') continue;
        for (int k = 3; k <= 4; k++) {
            char p[1200];
            snprintf(p, sizeof p, "%s/%s/image%06d.png", root, dirs[i], k);
            if (image_save(p, &img, &e)) abort();
        }
    }
    image_free(&img);
    return root;
}

static char *part(fz_in *in) {
    size_t k;
    const uint8_t *p = fz_until(in, 0, &k);
    char *s = malloc(k + 1);
    memcpy(s, p, k);
    s[k] = 0;
    return s;
}

static void set_list(cfg_str_list *l, const char *text) {
    char *copy = strdup(text), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && l->n < 16; t = strtok_r(NULL, ",", &save)) {
        l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
        l->v[l->n++] = strdup(t);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    fz_in in = {data, size};
    cfg_dataset_format fmt = FORMATS[fz_u8(&in) % N_FORMATS];
    uint8_t opt = fz_u8(&in);
    char *csv[4], *pat[3];
    for (int i = 0; i < 4; i++) csv[i] = part(&in);
    for (int i = 0; i < 3; i++) pat[i] = part(&in);
    /* index rows name files by path: keep them inside the scratch tree (no '/', so no absolute path or
     * "../x"; a bare ".." is a folder and harmless) */
    if ((fmt == CFG_DATASET_MEGC2019 || fmt == CFG_DATASET_COMPOSITE) && strchr(csv[0], '/')) goto out;

    const char *root = tree();
    static const char *const names[4] = {"ann.csv", "casme2.csv", "samm.csv", "smic.csv"};
    char path[4][700];
    for (int i = 0; i < 4; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", fz_scratch(), names[i]);
        fz_write(path[i], csv[i], strlen(csv[i]));
    }
    /* NUL bytes stop a part; the CSV reader's own NUL check gets the raw bytes here */
    csv_table t;
    mer_err err;
    if (csv_parse(&t, (const char *)data, size, "raw.csv", &err) == 0) {
        for (size_t r = 0; r < t.n; r++) (void)csv_row_blank(&t.rows[r]);
        csv_free(&t);
    }

    mer_config cfg;
    config_defaults(&cfg);
    free(cfg.dataset_root);
    free(cfg.dataset_annotations);
    cfg.dataset_format = fmt;
    cfg.dataset_root = strdup(root);
    /* smic: annotations are optional */
    cfg.dataset_annotations = strdup(fmt == CFG_DATASET_SMIC && (opt & 0x40) ? "" : path[0]);
    static const int MIN[4] = {0, 1, 2, 10};
    cfg.dataset_min_class_samples = MIN[opt & 3];
    if (opt & 4) set_list(&cfg.dataset_include, pat[0]);
    if (opt & 8) set_list(&cfg.dataset_exclude, pat[1]);
    if (opt & 16) set_list(fmt == CFG_DATASET_COMPOSITE && (opt & 32) ? &cfg.dataset_class_map : &cfg.dataset_classes,
                           pat[2]);
    dataset d;
    if (dataset_load(&d, &cfg, &err) == 0) {
        FILE *devnull = fopen("/dev/null", "w");
        if (!devnull) abort();
        dataset_report(devnull, &d);
        fclose(devnull);
        for (size_t i = 0; i < d.n; i++)
            if (d.s[i].label < 0 || (size_t)d.s[i].label >= d.n_classes ||
                dataset_class_index(&d, d.classes[d.s[i].label]) != d.s[i].label)
                abort();
        dataset_free(&d);
    } else {
        fz_why("dataset_load", err.msg);
    }
    config_free(&cfg);
out:
    for (int i = 0; i < 4; i++) free(csv[i]);
    for (int i = 0; i < 3; i++) free(pat[i]);
    return 0;
}
