/* mer prep CONFIG [KEY=VALUE ...]: preprocess every sample of the configured dataset into the per-sample
 * HDF5 cache (core/prep.h), and mer face align IMAGE: the aligned crop of one photo. The CLI layer. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "core/prep.h"
#include "io/config/config.h"
#include "io/data/dataset.h"
#include "io/base/json.h"
#include "io/media/image.h"
#include "io/base/log.h"
#include "runner/cli/commands.h"
#include "runner/core_options.h"

static const char *const PREP_PREFIXES[] = {"preprocess."};

static void prep_help(void) {
    printf("usage: mer prep CONFIG [KEY=VALUE ...] [--out DIR] [--limit N]\n\n"
           "Face registration for every sample of the dataset in CONFIG (dataset.*): detect the face and its 68\n"
           "landmarks on the onset frame (preprocess.cascade, preprocess.landmarks), compute ONE similarity\n"
           "transform per clip (eye template: preprocess.size, eye_y, eye_dist) and write the aligned onset and\n"
           "apex frames (grey when preprocess.grey), the transform, the landmarks and the face box to\n"
           "  DIR/samples/<subject>/<clip>.h5    one file per sample (layout: core/prep.h)\n"
           "  DIR/index.h5                       ids, status, failure reasons, the preprocess config\n"
           "DIR defaults to OUTPUT_DIR/prep/<16 hex digits of FNV-1a64 of the preprocess.* config text>, so\n"
           "different preprocessing parameters never share a cache; with a sweep over preprocess.* keys every\n"
           "distinct setting gets its own folder. Samples already in the cache (same clip, onset, apex) are\n"
           "reused; failed samples (no face, unreadable file, missing frame) are recorded with the reason and\n"
           "tried again on the next run.\n\n"
           "Options:\n"
           "  KEY=VALUE   config override (as in mer config)\n"
           "  --out DIR   cache folder (only without a preprocess.* sweep)\n"
           "  --limit N   only the first N samples (a quick look)\n"
           "  -h, --help  this help\n\n"
           "Exit status: 0 when at least one sample is preprocessed (or cached), 1 when none is or on a config,\n"
           "dataset or cache error, 2 usage error.\n");
}

typedef struct {
    const face_models *models;
    const prep_opts *opts;
} prep_user;

static int prep_one(prep_result *out, const prep_item *it, void *user, mer_err *err) {
    const prep_user *u = user;
    return prep_sample(out, it->clip_path, it->onset, it->apex, u->opts, u->models, err);
}

/* One distinct preprocess.* setting over all samples; returns -1 on infrastructure errors. */
static int prep_variant(prep_summary *s, const mer_config *cfg, const char *out_dir, const prep_item *items, size_t n,
                        char **dir_used) {
    mer_err err = {0};
    char *text = config_to_string(cfg, PREP_PREFIXES, 1);
    if (!text) {
        fprintf(stderr, "mer prep: cannot print the preprocess config\n");
        return -1;
    }
    char *dir = NULL;
    if (out_dir) {
        dir = strdup(out_dir);
    } else {
        size_t len = strlen(cfg->output_dir) + 32;
        dir = malloc(len);
        if (dir) snprintf(dir, len, "%s/prep/%016llx", cfg->output_dir, (unsigned long long)config_fnv1a64(text));
    }
    int ret = -1;
    face_models *m = NULL;
    if (!dir) {
        fprintf(stderr, "mer prep: out of memory\n");
        goto done;
    }
    log_info("prep: loading %s and %s", cfg->prep_cascade, cfg->prep_landmarks);
    if (face_models_load(&m, cfg->prep_cascade, cfg->prep_landmarks, &err) < 0) {
        fprintf(stderr, "mer prep: %s\n", err.msg);
        goto done;
    }
    prep_opts o = options_prep(cfg);
    prep_user u = {m, &o};
    log_info("prep: %zu samples -> %s", n, dir);
    if (prep_run(s, dir, text, items, n, prep_one, &u, &err) < 0) {
        fprintf(stderr, "mer prep: %s\n", err.msg);
        goto done;
    }
    ret = 0;
done:
    face_models_free(m);
    free(text);
    if (ret == 0) *dir_used = dir;
    else free(dir);
    return ret;
}

int cmd_prep(int argc, char **argv) {
    enum { OPT_OUT = 1, OPT_LIMIT };
    static const struct option opts[] = {{"out", required_argument, NULL, OPT_OUT},
                                         {"limit", required_argument, NULL, OPT_LIMIT},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out_dir = NULL;
    long limit = -1;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT: out_dir = optarg; break;
        case OPT_LIMIT:
            if (cli_long(optarg, 1, LONG_MAX, &limit)) return usage_error("prep", "--limit needs a positive integer, got '%s'", optarg);
            break;
        case 'h': prep_help(); return 0;
        default: return usage_error("prep", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind >= argc) return usage_error("prep", "missing the config file");
    const char *path = argv[optind];
    char *const *overrides;
    size_t n_overrides;
    if (cli_overrides(&overrides, &n_overrides, "prep", argc, argv, optind + 1, "KEY=VALUE", "")) return 2;

    cfg_doc doc;
    mer_err err = {0};
    if (cmd_load_config(&doc, path, overrides, n_overrides, 1) < 0) return 1;
    int status = 1;
    cfg_point *pts = NULL;
    size_t n_pts = 0;
    dataset d;
    int have_ds = 0;
    prep_item *items = NULL;
    char **texts = NULL;
    if (config_points(&pts, &n_pts, &doc, &err) < 0) {
        fprintf(stderr, "mer prep: %s\n", err.msg);
        goto done;
    }
    if (dataset_load(&d, &doc.base, &err) < 0) {
        fprintf(stderr, "mer prep: %s\n", err.msg);
        goto done;
    }
    have_ds = 1;
    if (dataset_count(&d, DS_ERROR) || dataset_count(&d, DS_WARNING))
        log_warn("prep: the annotations have %zu errors (rows skipped) and %zu warnings; see mer data check",
                 dataset_count(&d, DS_ERROR), dataset_count(&d, DS_WARNING));
    size_t n = d.n;
    if (limit > 0 && (size_t)limit < n) n = (size_t)limit;
    if (n == 0) {
        fprintf(stderr, "mer prep: the dataset has no samples left (%zu annotation rows read, %zu classes dropped by "
                        "dataset.min_class_samples=%d, %zu excluded); details: mer data check %s\n",
                d.n_rows, d.n_dropped, doc.base.dataset_min_class_samples, d.n_excluded, path);
        goto done;
    }
    items = calloc(n, sizeof *items);
    texts = calloc(n_pts, sizeof *texts);
    if (!items || !texts) {
        fprintf(stderr, "mer prep: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        items[i].id = d.s[i].id;
        items[i].clip_path = d.s[i].path;
        items[i].onset = d.s[i].onset;
        items[i].apex = d.s[i].apex;
    }
    /* Distinct preprocess settings among the sweep points (usually one). */
    size_t n_variants = 0, ok_total = 0;
    int infra_error = 0;
    for (size_t p = 0; p < n_pts; p++) {
        char *t = config_to_string(&pts[p].cfg, PREP_PREFIXES, 1);
        int seen = 0;
        for (size_t q = 0; t && q < n_variants; q++) seen = seen || !strcmp(texts[q], t);
        if (!t || seen) {
            free(t);
            continue;
        }
        texts[n_variants++] = t;
        if (out_dir && n_variants > 1) {
            fprintf(stderr, "mer prep: --out cannot hold several preprocess settings (the config sweeps preprocess.*)\n");
            infra_error = 1;
            break;
        }
        prep_summary s = {0};
        char *dir = NULL;
        if (prep_variant(&s, &pts[p].cfg, out_dir, items, n, &dir) < 0) {
            prep_summary_free(&s);
            infra_error = 1;
            break;
        }
        printf("prep: %zu samples: %zu ok (%zu computed, %zu from the cache), %zu failed\ncache: %s\n", s.n,
               s.computed + s.cached, s.computed, s.cached, s.failed, dir);
        if (s.failed) {
            printf("failed:\n");
            for (size_t i = 0; i < s.n; i++)
                if (s.reasons[i]) printf("  %s: %s\n", items[i].id, s.reasons[i]);
        }
        ok_total += s.computed + s.cached;
        prep_summary_free(&s);
        free(dir);
    }
    status = infra_error || ok_total == 0 ? 1 : 0;
    if (!infra_error && ok_total == 0) fprintf(stderr, "mer prep: no sample could be preprocessed\n");
done:
    for (size_t i = 0; texts && i < n_pts; i++) free(texts[i]);
    free(texts);
    free(items);
    if (have_ds) dataset_free(&d);
    config_points_free(pts, n_pts);
    config_doc_free(&doc);
    return status;
}

/* ---- mer face align --------------------------------------------------------------------------------- */

static void face_align_help(const mer_config *def) {
    printf("usage: mer face align IMAGE --out OUT [options]\n\n"
           "Detect the largest face of IMAGE and its 68 landmarks, and write the aligned square crop (the same\n"
           "eye-template similarity and bilinear warp mer prep applies to clips) to OUT (.png .jpg .bmp .pgm\n"
           ".ppm). Prints JSON: {\"image\", \"out\", \"box\": [x,y,w,h], \"transform\": [m0..m5]} where the\n"
           "transform maps source pixels to crop pixels (x' = m0 x + m1 y + m2, y' = m3 x + m4 y + m5).\n\n"
           "Options (defaults: the preprocess.* defaults of the config schema):\n"
           "  --out FILE        output image (required)\n"
           "  --size N          crop side, px (default %d)\n"
           "  --eye-y F         eye line height, fraction of the crop (default %g)\n"
           "  --eye-dist F      inter-ocular distance, fraction of the crop (default %g)\n"
           "  --grey            single-channel output (OpenCV grey formula)\n"
           "  --cascade XML     OpenCV cascade (default %s)\n"
           "  --landmarks DAT   dlib shape predictor (default %s)\n"
           "  --scale F         cascade scale factor > 1 (default %g)\n"
           "  --neighbors N     cascade minimum neighbours (default %d)\n"
           "  --min-size N      smallest face, px (default %d)\n"
           "  -h, --help        this help\n\n"
           "Exit status: 0 written, 1 no face or an error, 2 usage error.\n",
           def->prep_size, def->prep_eye_y, def->prep_eye_dist, def->prep_cascade, def->prep_landmarks,
           def->prep_scale_factor, def->prep_min_neighbors, def->prep_min_face);
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out) {
    if (cli_double(s, lo, hi, out)) return usage_error("face align", "%s must be in [%g, %g], got '%s'", opt, lo, hi, s);
    return 0;
}

int cmd_face_align(int argc, char **argv) {
    enum { O_OUT = 1, O_SIZE, O_EYEY, O_EYED, O_GREY, O_CASC, O_LM, O_SCALE, O_NB, O_MIN };
    static const struct option opts[] = {
        {"out", required_argument, NULL, O_OUT},      {"size", required_argument, NULL, O_SIZE},
        {"eye-y", required_argument, NULL, O_EYEY},   {"eye-dist", required_argument, NULL, O_EYED},
        {"grey", no_argument, NULL, O_GREY},          {"cascade", required_argument, NULL, O_CASC},
        {"landmarks", required_argument, NULL, O_LM}, {"scale", required_argument, NULL, O_SCALE},
        {"neighbors", required_argument, NULL, O_NB}, {"min-size", required_argument, NULL, O_MIN},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0}};
    mer_config def;
    config_defaults(&def);
    prep_opts o = options_prep(&def);
    const char *out = NULL, *cascade_xml = def.prep_cascade, *shape_dat = def.prep_landmarks;
    int c, status = 2;
    double v = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_OUT: out = optarg; break;
        case O_SIZE:
            if (parse_num("--size", optarg, 8, 4096, &v)) goto done;
            o.align.size = (int)v;
            break;
        case O_EYEY:
            if (parse_num("--eye-y", optarg, 0.01, 0.99, &o.align.eye_y)) goto done;
            break;
        case O_EYED:
            if (parse_num("--eye-dist", optarg, 0.01, 0.99, &o.align.eye_dist)) goto done;
            break;
        case O_GREY: o.align.grey = 1; break;
        case O_CASC: cascade_xml = optarg; break;
        case O_LM: shape_dat = optarg; break;
        case O_SCALE:
            if (parse_num("--scale", optarg, 1.0001, 4, &o.scale_factor)) goto done;
            break;
        case O_NB:
            if (parse_num("--neighbors", optarg, 0, 100, &v)) goto done;
            o.min_neighbors = (int)v;
            break;
        case O_MIN:
            if (parse_num("--min-size", optarg, 0, 100000, &v)) goto done;
            o.min_face = (int)v;
            break;
        case 'h':
            face_align_help(&def);
            status = 0;
            goto done;
        default: status = usage_error("face align", "unknown option '%s'", argv[optind - 1]); goto done;
        }
    }
    if (optind != argc - 1) {
        status = usage_error("face align", optind >= argc ? "missing the image" : "exactly one image, got %d", argc - optind);
        goto done;
    }
    if (!out) {
        status = usage_error("face align", "--out FILE is required");
        goto done;
    }
    status = 1;
    const char *image_path = argv[optind];
    mer_err err = {0};
    face_models *m = NULL;
    mer_image img = {0};
    prep_result r = {0};
    if (image_load(&img, image_path, 3, &err) < 0 || face_models_load(&m, cascade_xml, shape_dat, &err) < 0 ||
        prep_image(&r, &img, &o, m, &err) < 0 || image_save(out, &r.onset, &err) < 0) {
        fprintf(stderr, "mer face align: %s\n", err.msg);
    } else {
        printf("{\"image\": ");
        json_write_str(stdout, image_path, JSON_ESC_UNICODE);
        printf(", \"out\": ");
        json_write_str(stdout, out, JSON_ESC_UNICODE);
        printf(", \"box\": [%d, %d, %d, %d], \"transform\": [", r.box[0], r.box[1], r.box[2], r.box[3]);
        for (int i = 0; i < 6; i++) printf("%s%.9g", i ? ", " : "", r.transform[i]);
        printf("]}\n");
        status = 0;
    }
    prep_result_free(&r);
    image_free(&img);
    face_models_free(m);
done:
    config_free(&def);
    return status;
}
