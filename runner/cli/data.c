/* CLI layer of the data area: `mer synth` (generate a synthetic dataset) and `mer data check CONFIG`. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "io/data/dataset.h"
#include "io/data/synth.h"
#include "runner/cli/commands.h"

static void synth_usage(FILE *f) {
    const char *const *def;
    size_t nd = synth_default_classes(&def);
    const char *const *known;
    size_t nk = synth_known_classes(&known);
    fprintf(f,
            "usage: mer synth OUT_DIR [--subjects N] [--per-class K] [--classes A,B,...] [--size WxH]\n"
            "                 [--fps F] [--seed S] [--format frames|video] [--threads T]\n\n"
            "Write a synthetic micro-expression dataset in the CASME II layout: OUT_DIR/sub01/EP03_07/imgN.jpg\n"
            "(frames onset..offset) and OUT_DIR/coding.csv (Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame,\n"
            "Action Units, Estimated Emotion). Faces are rendered procedurally per subject; each class is an\n"
            "action-unit-like motion of 0.5-3 px at the apex. The same seed gives byte-identical files.\n\n"
            "  --subjects N      subjects sub01, sub02, ... (default 8, at most 999)\n"
            "  --per-class K     clips per class per subject (default 4)\n"
            "  --classes LIST    comma-separated class names (default:");
    for (size_t i = 0; i < nd; i++) fprintf(f, "%s%s", i ? "," : " ", def[i]);
    fprintf(f, ")\n                    known:");
    for (size_t i = 0; i < nk; i++) fprintf(f, "%s%s", i ? "," : " ", known[i]);
    fprintf(f, "\n"
               "  --size WxH        frame size in px (default 320x240)\n"
               "  --fps F           nominal frame rate, recorded for video output (default 100)\n"
               "  --seed S          random seed (default 1)\n"
               "  --format FMT      frames (default: folders of imgN.jpg) or video (SUBJ/CLIP.avi, Motion-JPEG;\n"
               "                    the CSV then numbers frames from 0)\n"
               "  --threads T       subjects rendered in parallel (default 1; output identical for any T)\n"
               "  -h, --help        this help\n");
}

int cmd_synth(int argc, char **argv) {
    static const struct option opts[] = {
        {"subjects", required_argument, 0, 'n'}, {"per-class", required_argument, 0, 'k'},
        {"classes", required_argument, 0, 'c'},  {"size", required_argument, 0, 's'},
        {"fps", required_argument, 0, 'f'},      {"seed", required_argument, 0, 'S'},
        {"format", required_argument, 0, 'F'},   {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0},
    };
    synth_opts o;
    synth_opts_default(&o);
    char *classes_arg = NULL;
    long v;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_long(optarg, 1, 999, &v)) return usage_error("synth", "--subjects must be 1..999, got '%s'", optarg);
            o.subjects = (int)v;
            break;
        case 'k':
            if (cli_long(optarg, 1, 500, &v)) return usage_error("synth", "--per-class must be 1..500, got '%s'", optarg);
            o.per_class = (int)v;
            break;
        case 'c': classes_arg = optarg; break;
        case 's': {
            int w, h;
            char x, extra;
            if (sscanf(optarg, "%d%c%d%c", &w, &x, &h, &extra) != 3 || (x != 'x' && x != 'X') || w < 64 || h < 64 ||
                w > 4096 || h > 4096)
                return usage_error("synth", "--size must be WxH with 64..4096 each, got '%s'", optarg);
            o.width = w;
            o.height = h;
            break;
        }
        case 'f':
            if (cli_long(optarg, 1, 10000, &v)) return usage_error("synth", "--fps must be 1..10000, got '%s'", optarg);
            o.fps = (int)v;
            break;
        case 'S':
            if (cli_u64(optarg, &o.seed)) return usage_error("synth", "--seed must be a non-negative integer, got '%s'", optarg);
            break;
        case 'F':
            if (!strcmp(optarg, "frames")) o.video = 0;
            else if (!strcmp(optarg, "video")) o.video = 1;
            else return usage_error("synth", "--format must be frames or video, got '%s'", optarg);
            break;
        case 't':
            if (cli_long(optarg, 1, 256, &v)) return usage_error("synth", "--threads must be 1..256, got '%s'", optarg);
            o.threads = (int)v;
            break;
        case 'h': synth_usage(stdout); return 0;
        default:
            return usage_error("synth", "unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind != argc - 1) return usage_error("synth", "expected exactly one OUT_DIR");
    const char *out = argv[optind];
    char *names[64];
    char *dup = NULL;
    if (classes_arg) {
        dup = strdup(classes_arg);
        if (!dup) {
            fprintf(stderr, "mer synth: out of memory\n");
            return 1;
        }
        size_t n = 0;
        for (char *save = NULL, *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ') tok++;
            if (!*tok) continue;
            if (n == 64) {
                free(dup);
                return usage_error("synth", "too many classes");
            }
            names[n++] = tok;
        }
        if (n < 2) {
            free(dup);
            return usage_error("synth", "--classes needs at least two names");
        }
        o.classes = (const char *const *)names;
        o.n_classes = n;
    }
    mer_err err = {0};
    int rc = synth_generate(out, NULL, &o, &err);
    free(dup);
    if (rc) {
        fprintf(stderr, "mer synth: %s\n", err.msg);
        return 1;
    }
    printf("wrote %s (%d subjects x %zu classes x %d clips, %dx%d) and %s/coding.csv\n", out, o.subjects,
           o.n_classes ? o.n_classes : (size_t)5, o.per_class, o.width, o.height, out);
    return 0;
}

static void data_usage(FILE *f) {
    fprintf(f, "usage: mer data check CONFIG [KEY=VALUE ...]\n\n"
               "Read the dataset the config describes (dataset.format, dataset.root, dataset.annotations,\n"
               "dataset.classes, dataset.min_class_samples, dataset.include, dataset.exclude) and verify every\n"
               "sample's frames. Prints subjects, samples per class and per subject, dropped classes, and every\n"
               "problem with its CSV line. KEY=VALUE pairs override config keys (e.g. dataset.root=/data/CASME2).\n"
               "For dataset.format = synth the data is generated first when absent.\n\n"
               "Exit status: 0 usable, 1 not usable (reasons printed), 2 usage error.\n\n"
               "  -h, --help   this help\n");
}

int cmd_data(int argc, char **argv) {
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            data_usage(stdout);
            return 0;
        }
        return usage_error("data", "unknown option '%s'", argv[optind - 1]);
    }
    if (optind >= argc) return usage_error("data", "expected a subcommand: check CONFIG");
    if (strcmp(argv[optind], "check")) return usage_error("data", "unknown subcommand '%s' (expected: check)", argv[optind]);
    optind++;
    if (optind < argc && (!strcmp(argv[optind], "--help") || !strcmp(argv[optind], "-h"))) {
        data_usage(stdout);
        return 0;
    }
    if (optind >= argc) return usage_error("data", "check needs a CONFIG file");
    const char *path = argv[optind++];
    for (int i = optind; i < argc; i++)
        if (argv[i][0] == '-' || !strchr(argv[i], '='))
            return usage_error("data", "expected KEY=VALUE overrides after CONFIG, got '%s'", argv[i]);
    cfg_doc doc;
    mer_err err = {0};
    if (cmd_load_config(&doc, path, argv + optind, (size_t)(argc - optind), 1) < 0) return 1;
    dataset d;
    if (dataset_load(&d, &doc.base, &err)) {
        fprintf(stderr, "mer data check: %s\n", err.msg);
        config_doc_free(&doc);
        return 1;
    }
    int rc = dataset_check(&d, &err);
    dataset_report(stdout, &d);
    if (rc) printf("NOT USABLE: %s\n", err.msg);
    else printf("usable: %zu samples, %zu subjects, %zu classes\n", d.n, d.n_subjects, d.n_classes);
    dataset_free(&d);
    config_doc_free(&doc);
    return rc ? 1 : 0;
}
