/* io/dataset: readers on small generated trees in each layout (CASME II, SAMM, SMIC-HS, manifest, MEGC2019,
 * synth, CAS(ME)³ parts A and C, MMEW, 4DME, composites with and without a class map), every annotation defect io/data/dataset.h lists, bad CSVs with line-numbered problems, missing folders, class sets,
 * min-sample filtering and include/exclude. */
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/config/config.h"
#include "io/data/dataset.h"
#include "io/media/image.h"
#include "io/media/video.h"
#include "tests/check.h"

static char ROOT[256];

static void mkdirs(const char *path) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0777);
            *p = '/';
        }
    mkdir(buf, 0777);
}

/* Frames DIR/<prefix><n padded to pad digits>.png for n in [a, b]. */
static void frames(const char *dir, const char *prefix, int pad, int a, int b) {
    mkdirs(dir);
    mer_image img = {0};
    mer_err e;
    if (image_alloc(&img, 16, 16, 1, &e)) return;
    for (int n = a; n <= b; n++) {
        for (int i = 0; i < 256; i++) img.px[i] = (uint8_t)(i + n);
        char p[1024];
        snprintf(p, sizeof p, "%s/%s%0*d.png", dir, prefix, pad, n);
        if (image_save(p, &img, &e)) fprintf(stderr, "save %s: %s\n", p, e.msg);
    }
    image_free(&img);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static char *P(const char *fmt, ...) { /* path under ROOT (static ring of buffers) */
    static char buf[8][1024];
    static int k;
    char *b = buf[k++ % 8];
    int n = snprintf(b, 1024, "%s/", ROOT);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b + n, 1024 - (size_t)n, fmt, ap);
    va_end(ap);
    return b;
}

static void set_str(char **field, const char *v) {
    free(*field);
    *field = strdup(v);
}
static void set_list(cfg_str_list *l, int n, ...) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = n ? calloc((size_t)n, sizeof *l->v) : NULL;
    l->n = (size_t)n;
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) l->v[i] = strdup(va_arg(ap, const char *));
    va_end(ap);
}

static const ds_sample *find(const dataset *d, const char *id) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->s[i].id, id)) return &d->s[i];
    return NULL;
}
/* A problem of that severity on that line whose message contains `text`. */
static int has_problem(const dataset *d, ds_severity sev, int line, const char *text) {
    for (size_t i = 0; i < d->n_problems; i++)
        if (d->problems[i].severity == sev && (line < 0 || d->problems[i].line == line) &&
            strstr(d->problems[i].msg, text))
            return 1;
    return 0;
}
static void dump(const dataset *d) {
    if (check_failed_) dataset_report(stderr, d);
}

static void test_casme2(void) {
    frames(P("casme/sub01/EP02_01f"), "img", 0, 46, 86);
    frames(P("casme/sub01/EP03_02"), "img", 0, 10, 30);
    frames(P("casme/sub02/EP01_01"), "img", 0, 1, 20);
    frames(P("casme/sub02/EP01_02"), "img", 0, 1, 20);
    frames(P("casme/sub09/EP02_02f"), "img", 0, 1, 20);
    frames(P("casme/sub03/EP06_01"), "reg_img", 0, 5, 15); /* cropped naming */
    /* a clip stored as a video (0-based frame index) */
    {
        clip_writer *w = NULL;
        mer_err e;
        clip_writer_opts o = {0};
        mer_image img = {0};
        image_alloc(&img, 16, 16, 1, &e);
        mkdirs(P("casme/sub03"));
        CHECK(clip_writer_open(&w, P("casme/sub03/EP07_01.mkv"), 16, 16, 1, &o, &e) == 0, "video writer: %s", e.msg);
        for (int i = 0; i < 12 && w; i++) {
            memset(img.px, 10 * i, 256);
            clip_writer_add(w, &img, &e);
        }
        if (w) CHECK(clip_writer_close(w, &e) == 0, "video close: %s", e.msg);
        image_free(&img);
    }
    /* header: other case/spacing/order, an extra column; defects on numbered lines */
    write_text(P("casme/coding.csv"),
               "subject,FileName,Onset Frame,ApexFrame,OffsetFrame,Unnamed: 9,Action Units,Estimated Emotion\r\n" /* 1 */
               "1,EP02_01f,46,59,86,,4+7,happiness\r\n"      /* 2 ok */
               "01,EP03_02,10,/,30,,4,disgust\r\n"           /* 3 apex missing -> -1 (spotted) */
               "sub02,EP01_01,1,10,5,,12,Happiness\r\n"      /* 4 offset before apex -> last frame 20 */
               "2,EP01_02,abc,5,9,,12,happiness\r\n"         /* 5 non-numeric onset */
               "2,EP01_03,30,35,20,,12,happiness\r\n"        /* 6 onset after offset */
               "2,EP01_04,1,2,3,,12,joy\r\n"                 /* 7 unknown emotion */
               "1,EP02_01f,46,59,86,,4+7,happiness\r\n"      /* 8 duplicate of line 2 */
               "9,EP02_02f,1,5,9,,,others\r\n"               /* 9 known unlabelled */
               "2,EP05_05,1,5,9,,,surprise\r\n"              /* 10 folder missing */
               "3,EP06_01,5,9,15,,,sadness\r\n"              /* 11 sadness */
               "3,EP07_01,0,6,11,,,surprise\r\n"             /* 12 video */
               "3,EP08_01,1,50,60,,,surprise\r\n"            /* 13 folder missing, excluded below */
               "x,EP08_02,1,5,9,,,surprise\r\n"              /* 14 bad subject */
               "\r\n");
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_CASME2;
    set_str(&cfg.dataset_root, P("casme"));
    set_str(&cfg.dataset_annotations, P("casme/coding.csv"));
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "casme2 load: %s", e.msg);
    CHECK(d.n_rows == 13, "13 data rows (%zu)", d.n_rows);
    const ds_sample *s = find(&d, "sub01/EP02_01f");
    CHECK(s && s->onset == 46 && s->apex == 59 && s->offset == 86 && s->line == 2 && !strcmp(s->emotion, "happiness") &&
              !strcmp(s->aus, "4+7") && strstr(s->path, "casme/sub01/EP02_01f"),
          "row 2 read");
    s = find(&d, "sub01/EP03_02");
    CHECK(s && s->apex == -1, "missing apex -> -1 (to be spotted)");
    CHECK(has_problem(&d, DS_WARNING, 3, "apex missing ('/'): it will be spotted"), "warning on line 3");
    CHECK(has_problem(&d, DS_ERROR, 5, "onset frame 'abc'"), "non-numeric onset, line 5");
    CHECK(has_problem(&d, DS_ERROR, 6, "onset 30 after offset 20"), "onset after offset, line 6");
    CHECK(has_problem(&d, DS_ERROR, 7, "unknown emotion 'joy'"), "unknown emotion, line 7");
    CHECK(has_problem(&d, DS_ERROR, 8, "duplicate of the row on line 2"), "duplicate, line 8");
    CHECK(has_problem(&d, DS_WARNING, 9, "no usable label"), "known unlabelled sample, line 9");
    CHECK(has_problem(&d, DS_ERROR, 14, "subject 'x'"), "bad subject, line 14");
    CHECK(!find(&d, "sub09/EP02_02f") && !find(&d, "sub02/EP01_02"), "bad rows skipped");
    s = find(&d, "sub03/EP07_01");
    CHECK(s && strstr(s->path, "EP07_01.mkv"), "clip found as a video file");
    CHECK(d.problems[0].file && strstr(d.problems[0].file, "coding.csv"), "problems name the file");
    /* classes: usual set minus absent ones, label order of the set */
    CHECK(d.n_classes == 4 && !strcmp(d.classes[0], "happiness") && !strcmp(d.classes[1], "disgust") &&
              !strcmp(d.classes[2], "surprise") && !strcmp(d.classes[3], "sadness"),
          "classes in set order, absent ones left out (%zu)", d.n_classes);
    CHECK(dataset_check(&d, &e) == -1, "not usable with errors");
    CHECK(strstr(e.msg, "error(s)") && strstr(e.msg, "dataset.exclude"), "verdict names the errors: %s", e.msg);
    CHECK(has_problem(&d, DS_ERROR, 10, "sub02/EP05_05"), "missing folder reported with line 10");
    CHECK(has_problem(&d, DS_ERROR, 13, "sub03/EP08_01"), "missing folder reported with line 13");
    s = find(&d, "sub02/EP01_01");
    CHECK(s && s->offset == 20 && has_problem(&d, DS_WARNING, 4, "last frame on disk"), "offset fixed from disk");
    s = find(&d, "sub03/EP06_01");
    CHECK(s && s->onset == 5, "reg_img frames found");
    dump(&d);
    dataset_free(&d);

    /* exclude the bad samples: usable; min_class_samples drops the small classes */
    set_list(&cfg.dataset_exclude, 3, "sub02/EP01_0[234]", "sub02/EP05_05", "sub03/EP08_*");
    CHECK(dataset_load(&d, &cfg, &e) == 0, "load with exclude: %s", e.msg);
    CHECK(d.n_excluded == 5, "5 excluded (%zu)", d.n_excluded);
    CHECK(dataset_count(&d, DS_ERROR) == 2, "still the duplicate and the bad subject (%zu)", dataset_count(&d, DS_ERROR));
    dataset_free(&d);
    set_list(&cfg.dataset_exclude, 5, "sub02/EP01_0[234]", "sub02/EP05_05", "sub03/EP08_*", "x/*", "sub01/EP02_01f");
    /* (the duplicate row shares the id of line 2, so excluding sub01/EP02_01f removes both) */
    CHECK(dataset_load(&d, &cfg, &e) == 0, "load with exclude: %s", e.msg);
    CHECK(dataset_check(&d, &e) == 0, "usable after excluding: %s", e.msg);
    CHECK(d.n == 4 && d.n_subjects == 3, "4 samples of 3 subjects (%zu, %zu)", d.n, d.n_subjects);
    dump(&d);
    dataset_free(&d);

    cfg.dataset_min_class_samples = 2; /* happiness 1 (sub02/EP01_01), disgust 1, surprise 1, sadness 1 */
    CHECK(dataset_load(&d, &cfg, &e) == 0, "load min 2: %s", e.msg);
    CHECK(d.n_classes == 0 && d.n_dropped == 4, "all classes dropped (%zu, %zu)", d.n_classes, d.n_dropped);
    CHECK(dataset_check(&d, &e) == -1 && strstr(e.msg, "0 class(es)"), "not usable: %s", e.msg);
    dataset_free(&d);

    /* user class set: order defines labels; unknown class name rejected */
    cfg.dataset_min_class_samples = 0;
    set_list(&cfg.dataset_classes, 2, "Surprise", "disgust");
    CHECK(dataset_load(&d, &cfg, &e) == 0, "user classes: %s", e.msg);
    CHECK(d.n_classes == 2 && !strcmp(d.classes[0], "surprise") && d.n == 2 && find(&d, "sub01/EP03_02") &&
              find(&d, "sub01/EP03_02")->label == 1,
          "labels follow dataset.classes");
    CHECK(d.n_unused == 2, "happiness and sadness counted as unused (%zu)", d.n_unused);
    dataset_free(&d);
    set_list(&cfg.dataset_classes, 2, "surprise", "joy");
    CHECK(dataset_load(&d, &cfg, &e) == -1 && strstr(e.msg, "'joy'"), "unknown class in dataset.classes: %s", e.msg);
    set_list(&cfg.dataset_classes, 0);
    set_list(&cfg.dataset_include, 1, "sub01/*");
    CHECK(dataset_load(&d, &cfg, &e) == 0 && d.n_subjects == 1, "include pattern");
    CHECK(d.n == 1 || d.n == 2, "only sub01 samples (%zu)", d.n);
    for (size_t i = 0; i < d.n; i++) CHECK(!strcmp(d.s[i].subject, "sub01"), "include keeps sub01 only");
    dataset_free(&d);
    set_list(&cfg.dataset_include, 0);

    /* missing column, missing root, missing file */
    write_text(P("casme/bad.csv"), "Subject,Filename,OnsetFrame,OffsetFrame,Estimated Emotion\n1,EP02_01f,46,86,happiness\n");
    set_str(&cfg.dataset_annotations, P("casme/bad.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == -1 && strstr(e.msg, "bad.csv:1") && strstr(e.msg, "ApexFrame"),
          "missing column: %s", e.msg);
    set_str(&cfg.dataset_annotations, P("casme/nothere.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == -1 && strstr(e.msg, "nothere.csv"), "missing CSV: %s", e.msg);
    set_str(&cfg.dataset_annotations, P("casme/coding.csv"));
    set_str(&cfg.dataset_root, P("nowhere"));
    CHECK(dataset_load(&d, &cfg, &e) == -1 && strstr(e.msg, "nowhere"), "missing root: %s", e.msg);
    config_free(&cfg);
}

static void test_samm(void) {
    frames(P("samm/006/006_1_2"), "006_", 5, 5562, 5570); /* 006_05562.png */
    frames(P("samm/006/006_1_3"), "006_", 0, 100, 120);   /* 006_100.png: no padding */
    frames(P("samm/007/007_3_1"), "007_", 5, 900, 930);
    write_text(P("samm/samm.csv"),
               "SAMM Micro-movement dataset,,,,,,,,,\n" /* 1: free text above the header */
               "Manchester Metropolitan University,,,,,,,,,\n"
               ",,,,,,,,,\n"
               "Subject,Filename,Inducement Code,Onset Frame,Apex Frame,Offset Frame,Duration,Type,Action Units,Estimated Emotion\n" /* 4 */
               "006,006_1_2,1,5562,5566,5570,9,Micro - 1/2,R12,Happiness\n" /* 5 */
               "6,006_1_3,1,100,-1,120,21,Micro,4,Anger\n"                  /* 6 apex missing */
               "007,007_3_1,3,900,915,930,31,Micro,\"4+7, 43\",Other\n"    /* 7 */
               "007,007_3_9,3,1,2,3,3,Micro,4,Joy\n");                     /* 8 unknown emotion */
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_SAMM;
    set_str(&cfg.dataset_root, P("samm"));
    set_str(&cfg.dataset_annotations, P("samm/samm.csv"));
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "samm load: %s", e.msg);
    CHECK(d.n == 3, "3 samples (%zu)", d.n);
    const ds_sample *s = find(&d, "006/006_1_3");
    CHECK(s && s->apex == -1 && s->line == 6, "SAMM subject 6 -> 006, apex -1 -> missing");
    CHECK(has_problem(&d, DS_WARNING, 6, "apex missing"), "apex warning line 6");
    CHECK(has_problem(&d, DS_ERROR, 8, "unknown emotion 'Joy'"), "unknown emotion line 8");
    s = find(&d, "007/007_3_1");
    CHECK(s && !strcmp(s->aus, "4+7, 43") && !strcmp(s->emotion, "other"), "quoted AU field, emotion lower case");
    CHECK(d.n_classes == 3 && !strcmp(d.classes[0], "anger") && !strcmp(d.classes[1], "happiness") &&
              !strcmp(d.classes[2], "other"),
          "SAMM usual order");
    CHECK(dataset_check(&d, &e) == -1, "the unknown emotion makes it unusable");
    CHECK(dataset_count(&d, DS_ERROR) == 1, "frames with mixed zero padding all found (%zu errors)",
          dataset_count(&d, DS_ERROR));
    dump(&d);
    dataset_free(&d);
    config_free(&cfg);
}

static void test_smic(void) {
    frames(P("smic/HS/s1/micro/negative/s1_ne_01"), "image", 6, 101, 121);
    frames(P("smic/HS/s1/micro/positive/s1_po_01"), "image", 6, 200, 230);
    frames(P("smic/HS/s2/micro/surprise/s2_sur_01"), "image", 6, 5, 14);
    frames(P("smic/HS/s2/micro/negative/s2_ne_03"), "image", 6, 40, 60);
    mkdirs(P("smic/HS/s2/non_micro")); /* ignored */
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_SMIC;
    set_str(&cfg.dataset_root, P("smic/HS"));
    set_str(&cfg.dataset_annotations, "");
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "smic load: %s", e.msg);
    CHECK(d.n == 4 && d.n_subjects == 2 && d.n_classes == 3, "4 clips, 2 subjects, 3 classes");
    const ds_sample *s = find(&d, "s1/s1_ne_01");
    CHECK(s && s->onset == 101 && s->offset == 121 && s->apex == -1 && s->line == 0 && !strcmp(s->emotion, "negative"),
          "onset/offset from the frames, apex to be spotted");
    CHECK(dataset_check(&d, &e) == 0, "smic usable: %s", e.msg);
    dataset_free(&d);
    cfg.dataset_apex = CFG_APEX_MIDDLE; /* the common convention, as before spotting */
    CHECK(dataset_load(&d, &cfg, &e) == 0, "smic load: %s", e.msg);
    s = find(&d, "s1/s1_ne_01");
    CHECK(s && s->apex == 111, "dataset.apex middle: apex = middle");
    dataset_free(&d);
    /* with annotations: onset/offset from the CSV; a row without a clip is an error */
    write_text(P("smic/smic.csv"), "Subject,Filename,OnsetFrame,OffsetFrame\ns1,s1_ne_01,105,115\n2,s2_sur_01,6,12\ns3,s3_po_01,1,9\n");
    set_str(&cfg.dataset_annotations, P("smic/smic.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == 0, "smic with csv: %s", e.msg);
    s = find(&d, "s1/s1_ne_01");
    CHECK(s && s->onset == 105 && s->offset == 115 && s->apex == 110 && s->line == 2, "from the CSV");
    s = find(&d, "s2/s2_sur_01");
    CHECK(s && s->onset == 6 && s->apex == 9, "subject written as 2");
    CHECK(has_problem(&d, DS_ERROR, 4, "s3/s3_po_01"), "annotation row without clip folder");
    dump(&d);
    dataset_free(&d);
    config_free(&cfg);
}

static void test_manifest_megc(void) {
    frames(P("other/a/clip1"), "f", 3, 0, 9);
    frames(P("other/b/clip2"), "f", 3, 0, 9);
    write_text(P("other/manifest.csv"),
               "subject,clip,onset,apex,offset,label\n"
               "A,a/clip1,0,4,9,Tense\n"
               "B,b/clip2,1,,9,calm\n"
               "B,b/clip3,1,2,x,calm\n");
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_MANIFEST;
    set_str(&cfg.dataset_root, "");
    set_str(&cfg.dataset_annotations, P("other/manifest.csv"));
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "manifest: %s", e.msg);
    CHECK(d.n == 2 && d.n_classes == 2 && !strcmp(d.classes[0], "calm") && !strcmp(d.classes[1], "tense"),
          "labels sorted");
    const ds_sample *s = find(&d, "B/b/clip2");
    CHECK(s && s->apex == -1 && strstr(s->path, "other/b/clip2"), "empty apex -> missing; path relative to the CSV");
    CHECK(has_problem(&d, DS_ERROR, 4, "offset frame 'x'"), "bad offset line 4");
    dataset_free(&d);

    /* MEGC2019 composite over the CASME II, SAMM and SMIC trees written above */
    /* paths relative to the index file's folder */
    write_text(P("megc.csv"), "dataset,root,annotations\n"
                              "casme2,casme,casme/coding.csv\n"
                              "samm,samm,samm/samm.csv\n"
                              "smic,smic/HS,\n");
    cfg.dataset_format = CFG_DATASET_MEGC2019;
    set_str(&cfg.dataset_annotations, P("megc.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == 0, "megc: %s", e.msg);
    CHECK(d.n_classes == 3 && !strcmp(d.classes[0], "negative") && !strcmp(d.classes[1], "positive") &&
              !strcmp(d.classes[2], "surprise"),
          "3 composite classes");
    s = find(&d, "casme2_sub01/EP03_02");
    CHECK(s && !strcmp(s->emotion, "negative") && !strcmp(s->raw_emotion, "disgust") && !strcmp(s->source, "casme2"),
          "CASME II disgust -> negative, subject prefixed");
    s = find(&d, "samm_006/006_1_3");
    CHECK(s && s->label == 0, "SAMM anger -> negative");
    s = find(&d, "samm_006/006_1_2");
    CHECK(s && s->label == 1, "SAMM happiness -> positive");
    CHECK(!find(&d, "samm_007/007_3_1") && !find(&d, "casme2_sub03/EP06_01"), "other / sadness (CASME II) left out");
    s = find(&d, "smic_s2/s2_sur_01");
    CHECK(s && s->label == 2, "SMIC surprise");
    CHECK(d.n_files == 3, "index + 2 sheets recorded (%zu)", d.n_files);
    dump(&d);
    dataset_free(&d);
    config_free(&cfg);
}

static void test_synth_roundtrip(void) {
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_SYNTH;
    set_str(&cfg.dataset_root, P("synth"));
    set_str(&cfg.dataset_annotations, "");
    cfg.synth_subjects = 2;
    cfg.synth_per_class = 1;
    cfg.synth_width = 96;
    cfg.synth_height = 72;
    cfg.synth_seed = 5;
    cfg.dataset_min_class_samples = 0;
    set_list(&cfg.dataset_classes, 3, "surprise", "happiness", "repression");
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "synth generate + load: %s", e.msg);
    CHECK(d.n == 6 && d.n_subjects == 2 && d.n_classes == 3 && !strcmp(d.classes[0], "surprise"), "2 x 3 clips");
    CHECK(dataset_check(&d, &e) == 0, "generated data checks: %s", e.msg);
    CHECK(dataset_count(&d, DS_WARNING) == 0 && dataset_count(&d, DS_ERROR) == 0, "no problems");
    for (size_t i = 0; i < d.n; i++) {
        const ds_sample *s = &d.s[i];
        CHECK(s->onset < s->apex && s->apex < s->offset && s->line == (int)i + 2, "round trip of row %zu", i);
        char p[2048];
        snprintf(p, sizeof p, "%s/img%d.jpg", s->path, s->onset);
        CHECK(access(p, F_OK) == 0, "onset frame file %s", p);
    }
    /* second load reads the existing data (no regeneration) */
    struct stat st1, st2;
    stat(P("synth/coding.csv"), &st1);
    dataset_free(&d);
    CHECK(dataset_load(&d, &cfg, &e) == 0 && d.n == 6, "reload: %s", e.msg);
    stat(P("synth/coding.csv"), &st2);
    CHECK(st1.st_mtime == st2.st_mtime && st1.st_ino == st2.st_ino, "not regenerated");
    dataset_free(&d);
    /* other generator parameters with existing data: refused, not silently reused */
    cfg.synth_seed = 6;
    CHECK(dataset_load(&d, &cfg, &e) == -1 && strstr(e.msg, "other parameters") && strstr(e.msg, "seed=5"),
          "stale synthetic data refused: %s", e.msg);
    config_free(&cfg);
}

/* dataset.apex: annotated marks missing, before-onset and (dataset_check) not-on-disk apexes as -1 with a
 * warning naming the sample, and the report lists them; middle keeps the midpoint and the errors; spotted keeps
 * the annotation without warnings (the PREP stage ignores it). */
static void test_apex_modes(void) {
    frames(P("apex/sub01/EP01"), "img", 0, 10, 30);
    frames(P("apex/sub01/EP02"), "img", 0, 10, 30);
    frames(P("apex/sub02/EP03"), "img", 0, 10, 30);
    frames(P("apex/sub02/EP04"), "img", 0, 10, 30);
    write_text(P("apex/coding.csv"), "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Estimated Emotion\n"
                                     "1,EP01,10,/,30,happiness\n"  /* 2 missing */
                                     "1,EP02,10,40,30,surprise\n"  /* 3 after the last frame on disk */
                                     "2,EP03,12,11,30,happiness\n" /* 4 before the onset */
                                     "2,EP04,10,18,30,surprise\n"); /* 5 fine */
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_CASME2;
    set_str(&cfg.dataset_root, P("apex"));
    set_str(&cfg.dataset_annotations, P("apex/coding.csv"));
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    for (int mode = 0; mode < CFG_APEX_SOURCE_COUNT; mode++) {
        cfg.dataset_apex = (cfg_apex_source)mode;
        const char *name = cfg_enum_name(&CFG_APEX_SOURCES, mode);
        CHECK(dataset_load(&d, &cfg, &e) == 0, "%s: load: %s", name, e.msg);
        const ds_sample *a = find(&d, "sub01/EP01"), *b = find(&d, "sub01/EP02"), *c = find(&d, "sub02/EP03"),
                        *ok = find(&d, "sub02/EP04");
        int usable = dataset_check(&d, &e) == 0;
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            dataset_report(f, &d);
            fclose(f);
        }
        CHECK(ok && ok->apex == 18, "%s: a good apex is kept", name);
        if (mode == CFG_APEX_ANNOTATED) {
            CHECK(a && a->apex == -1 && has_problem(&d, DS_WARNING, 2, "sub01/EP01: apex missing"), "annotated: missing");
            CHECK(b && b->apex == -1 && has_problem(&d, DS_WARNING, 3, "sub01/EP02: apex frame 40 not found") &&
                      has_problem(&d, DS_WARNING, 3, "it will be spotted"),
                  "annotated: apex not on disk -> spotted, with a warning");
            CHECK(c && c->apex == -1 && has_problem(&d, DS_WARNING, 4, "apex 11 before onset 12: it will be spotted"),
                  "annotated: apex before the onset");
            CHECK(usable && dataset_count(&d, DS_ERROR) == 0, "annotated: usable: %s", e.msg);
            CHECK(text && strstr(text, "apex spotted") && strstr(text, "3 sample(s)") && strstr(text, "sub01/EP01") &&
                      strstr(text, "sub01/EP02") && strstr(text, "sub02/EP03") && !strstr(text, "sub02/EP04,"),
                  "annotated: the report lists the rows to spot:\n%s", text ? text : "");
        } else if (mode == CFG_APEX_MIDDLE) {
            CHECK(a && a->apex == 20 && has_problem(&d, DS_WARNING, 2, "midpoint 20"), "middle: midpoint");
            CHECK(!c && has_problem(&d, DS_ERROR, 4, "apex 11 before onset 12"), "middle: apex before onset is an error");
            CHECK(!usable && has_problem(&d, DS_ERROR, 3, "apex frame 40 not found"), "middle: apex not on disk is an error");
            CHECK(text && !strstr(text, "apex spotted"), "middle: nothing spotted");
        } else {
            CHECK(a && a->apex == -1 && b && c && c->apex == -1 && dataset_count(&d, DS_WARNING) == 0,
                  "spotted: no warnings about the apex (%zu)", dataset_count(&d, DS_WARNING));
            CHECK(usable, "spotted: usable: %s", e.msg);
            CHECK(text && strstr(text, "dataset.apex: spotted") && strstr(text, "all 4 samples"), "spotted: report");
        }
        free(text);
        dump(&d);
        dataset_free(&d);
    }
    config_free(&cfg);
}

/* CAS(ME)³ part A and C, MMEW and 4DME in their publishers' layouts, with the defects formats.h lists. */
static void test_newer(void) {
    /* part A: ROOT/spNO.N/CLIP/color/N.png (jpg indices from 0); spNO.2/a without color/ (flattened copy) */
    frames(P("c3a/spNO.1/a/color"), "", 0, 0, 60);
    frames(P("c3a/spNO.1/b/color"), "", 0, 0, 30);
    frames(P("c3a/spNO.2/a"), "", 0, 0, 30);
    frames(P("c3a/spNO.2/c/color"), "", 0, 100, 130);
    write_text(P("c3a/partA.csv"),
               "Subject,Filename,Onset,Apex,Offset,AU,Objective class,emotion\n" /* 1 */
               "spNO.1,a,5,10,20,4+7,1,disgust\n"                                /* 2 ok */
               "spNO.1,a,30,35,50,12,2,happy\n"                                  /* 3 same recording -> a_2 */
               "spNO.1,b,2,40,20,1,3,surprise\n"                                 /* 4 apex outside -> spotted */
               "spNO.2,a,3,,15,4,1,anger\n"                                      /* 5 apex missing -> spotted */
               "spNO.2,c,110,120,34,4,1,fear\n"                                  /* 6 offset before onset -> 130 */
               "2,c,100,102,104,4,1,others\n"                                    /* 7 subject 2 = spNO.2, c_2 */
               "spNO.1,d,1,2,3,4,1,joy\n");                                      /* 8 unknown emotion */
    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_CASME3;
    set_str(&cfg.dataset_root, P("c3a"));
    set_str(&cfg.dataset_annotations, P("c3a/partA.csv"));
    cfg.dataset_min_class_samples = 0;
    dataset d;
    mer_err e = {0};
    CHECK(dataset_load(&d, &cfg, &e) == 0, "casme3: %s", e.msg);
    CHECK(d.n == 6 && d.n_subjects == 2, "casme3: 6 samples, 2 subjects (got %zu, %zu)", d.n, d.n_subjects);
    const ds_sample *s = find(&d, "spNO.1/a");
    CHECK(s && s->onset == 5 && s->apex == 10 && s->offset == 20 && strstr(s->path, "c3a/spNO.1/a/color") &&
              !strcmp(s->aus, "4+7") && !strcmp(s->source, "casme3"),
          "casme3 row 2");
    s = find(&d, "spNO.1/a_2");
    CHECK(s && s->onset == 30 && s->line == 3 && strstr(s->path, "spNO.1/a/color") && !strcmp(s->emotion, "happy"),
          "second micro-expression of recording a: a_2, same frames");
    s = find(&d, "spNO.1/b");
    CHECK(s && s->apex == -1 && has_problem(&d, DS_WARNING, 4, "apex 40 outside onset 2..offset 20") &&
              has_problem(&d, DS_WARNING, 4, "it will be spotted"),
          "apex outside onset..offset: treated as missing (spotted)");
    s = find(&d, "spNO.2/a");
    CHECK(s && s->apex == -1 && has_problem(&d, DS_WARNING, 5, "apex missing") && strstr(s->path, "spNO.2/a") &&
              !strstr(s->path, "color"),
          "missing apex: spotted; clip folder without color/");
    CHECK(find(&d, "spNO.2/c_2") && has_problem(&d, DS_WARNING, 6, "offset 34 before onset 110"),
          "numeric subject; offset before onset");
    CHECK(has_problem(&d, DS_ERROR, 8, "unknown emotion 'joy'"), "unknown emotion line 8");
    CHECK(d.n_classes == 6 && dataset_class_index(&d, "others") >= 0 && dataset_class_index(&d, "sad") < 0,
          "casme3 usual set minus the absent 'sad' (%zu)", d.n_classes);
    dataset_check(&d, &e);
    s = find(&d, "spNO.2/c");
    CHECK(s && s->offset == 130, "offset before onset -> the last frame on disk (got %d)", s ? s->offset : -9);
    CHECK(dataset_count(&d, DS_ERROR) == 1, "only the unknown emotion is an error");
    dump(&d);
    dataset_free(&d);

    /* part C: ROOT/01/1/color, columns sub,count,onset,offset,au,emotion; no apex */
    frames(P("c3c/01/1/color"), "", 0, 0, 20);
    frames(P("c3c/02/1/color"), "", 0, 0, 20);
    write_text(P("c3c/partC.csv"), "sub,count,onset,offset,au,emotion\n1,1,2,12,4,sad\n2,1,4,10,12,happy\n");
    cfg.dataset_format = CFG_DATASET_CASME3C;
    set_str(&cfg.dataset_root, P("c3c"));
    set_str(&cfg.dataset_annotations, P("c3c/partC.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == 0, "casme3c: %s", e.msg);
    s = find(&d, "01/1");
    CHECK(d.n == 2 && s && s->apex == -1 && find(&d, "02/1")->apex == -1, "part C: every apex to be spotted");
    CHECK(dataset_count(&d, DS_WARNING) == 1 && has_problem(&d, DS_WARNING, 0, "no apex column: the apex will be spotted"),
          "one warning for the missing apex column");
    CHECK(dataset_check(&d, &e) == 0, "part C usable: %s", e.msg);
    dataset_free(&d);
    cfg.dataset_apex = CFG_APEX_MIDDLE; /* the convention before spotting: the middle frames 7 and 7 */
    CHECK(dataset_load(&d, &cfg, &e) == 0 && d.n == 2 && find(&d, "01/1")->apex == 7 && find(&d, "02/1")->apex == 7 &&
              has_problem(&d, DS_WARNING, 0, "no apex column: the middle frame is the apex"),
          "part C, dataset.apex middle: %s", e.msg);
    dataset_free(&d);
    cfg.dataset_apex = CFG_APEX_ANNOTATED;

    /* MMEW: ROOT/<emotion>/<clip> */
    frames(P("mmew/happiness/S01_01"), "", 0, 1, 30);
    frames(P("mmew/Surprise/S02_03"), "", 0, 1, 30);
    write_text(P("mmew/MMEW_Micro_Exp.csv"),
               "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion,remarks\n"
               "S01,S01_01,2,10,20,12,happiness,\n"
               "S02,S02_03,3,25,20,1+2,Surprise,\n" /* apex after the offset: missing -> spotted */
               "S02,S02_04,1,5,9,4,fear,\n");       /* no such folder: error in the check */
    cfg.dataset_format = CFG_DATASET_MMEW;
    set_str(&cfg.dataset_root, P("mmew"));
    set_str(&cfg.dataset_annotations, P("mmew/MMEW_Micro_Exp.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == 0, "mmew: %s", e.msg);
    s = find(&d, "S02/S02_03");
    CHECK(d.n == 3 && s && s->apex == -1 && strstr(s->path, "mmew/Surprise/S02_03"), "mmew: emotion folders, apex fix");
    CHECK(strstr(find(&d, "S01/S01_01")->path, "mmew/happiness/S01_01") != NULL, "mmew lower-case folder");
    CHECK(dataset_check(&d, &e) < 0 && has_problem(&d, DS_ERROR, 4, "S02/S02_04"), "missing clip folder: %s", e.msg);
    dataset_free(&d);

    /* 4DME: ROOT/<sub_ID>/<fold_name> */
    frames(P("4dme/S01/S01_01"), "", 0, 1, 40);
    frames(P("4dme/S02/S02_01"), "", 0, 1, 40);
    write_text(P("4dme/4DME_Labelling_Micro_release v1.csv"),
               "sub_ID,fold_name,Onset,Apex,Offset,AUs,Emotion\n"
               "S01,S01_01,2,8,20,AU12,Positive\n"
               "S01,S01_02,1,2,3,AU4,Negative+Surprise\n"
               "S02,S02_01,5,9,30,AU4,Repression\n");
    cfg.dataset_format = CFG_DATASET_4DME;
    set_str(&cfg.dataset_root, P("4dme"));
    set_str(&cfg.dataset_annotations, P("4dme/4DME_Labelling_Micro_release v1.csv"));
    CHECK(dataset_load(&d, &cfg, &e) == 0, "4dme: %s", e.msg);
    CHECK(d.n == 2 && find(&d, "S02/S02_01") && !strcmp(find(&d, "S02/S02_01")->emotion, "repression"), "4dme rows");
    CHECK(has_problem(&d, DS_WARNING, 3, "several emotions"), "multi-emotion row skipped with a warning");
    CHECK(dataset_check(&d, &e) == 0, "4dme usable: %s", e.msg);
    dataset_free(&d);

    /* composite from dataset.sources: casme3 + mmew + 4dme with the MEGC2019 mapping */
    cfg.dataset_format = CFG_DATASET_COMPOSITE;
    set_str(&cfg.dataset_annotations, "");
    char s1[600], s2[600], s3[600];
    snprintf(s1, sizeof s1, "casme3:%s:%s", P("c3a"), P("c3a/partA.csv"));
    snprintf(s2, sizeof s2, "MMEW:%s:%s", P("mmew"), P("mmew/MMEW_Micro_Exp.csv"));
    snprintf(s3, sizeof s3, "4dme:%s:%s", P("4dme"), P("4dme/4DME_Labelling_Micro_release v1.csv"));
    set_list(&cfg.dataset_sources, 3, s1, s2, s3);
    CHECK(dataset_load(&d, &cfg, &e) == 0, "composite: %s", e.msg);
    CHECK(d.n_classes == 3 && !strcmp(d.classes[0], "negative") && !strcmp(d.classes[2], "surprise"), "MEGC classes");
    s = find(&d, "casme3_spNO.1/a_2");
    CHECK(s && s->label == 1 && !strcmp(s->raw_emotion, "happy"), "casme3 happy -> positive, prefixed");
    s = find(&d, "4dme_S02/S02_01");
    CHECK(s && s->label == 0, "4dme repression -> negative");
    s = find(&d, "mmew_S02/S02_03");
    CHECK(s && s->label == 2, "mmew surprise");
    /* casme3 others (1) left out under its source's name */
    int others = 0;
    for (size_t i = 0; i < d.n_unused; i++) others += !strcmp(d.unused[i].name, "casme3:others") && d.unused[i].count == 1;
    CHECK(others && d.n == 10, "unmapped 'casme3:others' counted, 10 samples left (%zu)", d.n);
    dataset_free(&d);

    /* a class map: source rules win; what no rule names is left out */
    set_list(&cfg.dataset_class_map, 5, "happy=pos", "happiness = pos", "casme3:surprise=other", "surprise=surp",
             "positive=pos");
    CHECK(dataset_load(&d, &cfg, &e) == 0, "composite with class_map: %s", e.msg);
    CHECK(d.n_classes == 3 && !strcmp(d.classes[0], "pos") && !strcmp(d.classes[1], "other") &&
              !strcmp(d.classes[2], "surp"),
          "classes in order of first appearance in the map");
    s = find(&d, "casme3_spNO.1/b");
    CHECK(s && !strcmp(s->emotion, "other"), "the source's rule wins");
    s = find(&d, "mmew_S02/S02_03");
    CHECK(s && !strcmp(s->emotion, "surp"), "the rule for any source");
    CHECK(!find(&d, "casme3_spNO.1/a") && d.n == 5, "disgust has no rule: left out (n %zu)", d.n);
    dataset_free(&d);
    set_list(&cfg.dataset_class_map, 0);

    /* errors name the source entry */
    set_list(&cfg.dataset_sources, 2, s1, "casme3:/x:/y.csv");
    CHECK(dataset_load(&d, &cfg, &e) < 0 && strstr(e.msg, "dataset.sources:2") && strstr(e.msg, "listed twice"),
          "source twice: %s", e.msg);
    set_list(&cfg.dataset_sources, 1, "casme4:/x:/y.csv");
    CHECK(dataset_load(&d, &cfg, &e) < 0 && strstr(e.msg, "dataset.sources:1: dataset 'casme4' is not one of"),
          "unknown source: %s", e.msg);
    set_list(&cfg.dataset_sources, 0);
    /* megc2019 keeps its three sources */
    cfg.dataset_format = CFG_DATASET_MEGC2019;
    write_text(P("megc_c3.csv"), "dataset,root,annotations\ncasme3,c3a,c3a/partA.csv\n");
    set_str(&cfg.dataset_annotations, P("megc_c3.csv"));
    CHECK(dataset_load(&d, &cfg, &e) < 0 && strstr(e.msg, "is not one of casme2, samm, smic"), "megc2019: %s", e.msg);
    /* the same index as a composite works */
    cfg.dataset_format = CFG_DATASET_COMPOSITE;
    CHECK(dataset_load(&d, &cfg, &e) == 0 && d.n == 5 && !strcmp(d.name, "composite"), "composite index: %s", e.msg);
    dataset_free(&d);
    config_free(&cfg);
}

int main(void) {
    snprintf(ROOT, sizeof ROOT, "/tmp/mer_test_dataset_XXXXXX");
    if (!mkdtemp(ROOT)) SKIP_ALL("cannot create a temporary directory");
    test_casme2();
    test_samm();
    test_smic();
    test_manifest_megc();
    test_synth_roundtrip();
    test_apex_modes();
    test_newer();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", ROOT);
    if (!check_failed_ && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", ROOT);
    return check_summary();
}
