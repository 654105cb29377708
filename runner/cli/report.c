/* `mer report`: the CLI layer over analysis/report.h (prints, picks exit codes). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis/report.h"
#include "runner/cli/commands.h"

static void report_usage(FILE *f) {
    fprintf(f,
            "usage: mer report DIR [DIR ...] [--format md|csv|json|html] [--out PATH] [--plots DIR | --no-plots]\n"
            "                  [--megc-log PATH [--point ID] [--seed N]]\n\n"
            "Summarise finished runs: DIR is an output directory holding results.h5 (or the .h5 file itself).\n"
            "All metrics are recomputed from the stored per-sample predictions: accuracy, UF1 and UAR pooled\n"
            "over the folds of each seed, mean and std over seeds, per-class recall/F1, confusion matrices,\n"
            "sweep tables with the best point marked, failed tasks; leaky oracle figures only under their label.\n\n"
            "options:\n"
            "  --format FMT     md (default; aligned tables, readable in a terminal), csv (one row per point),\n"
            "                   json (schema \"mer-report/1\", documented in README.md), html (one\n"
            "                   self-contained page: every table, the figures inline, the config, the versions)\n"
            "  --out PATH       write the report to PATH (atomically) instead of standard output\n"
            "  --plots DIR      write the SVG figures to DIR (with several inputs: DIR/1, DIR/2, ...);\n"
            "                   default for --format md: DIR/plots next to each results.h5\n"
            "  --no-plots       write no figures\n"
            "  --megc-log PATH  also write the MEGC2019 per-fold log (\"dataset subject\" header per fold, then\n"
            "                   \"filename gt pred\" per sample) of one point and seed of the first input\n"
            "  --point ID       point for --megc-log (default: the best point)\n"
            "  --seed N         seed for --megc-log (default: the smallest seed of that point)\n"
            "  -h, --help       this help\n");
}

/* DIR -> DIR/results.h5; a file path is used as it is. */
static char *results_path(const char *arg) {
    struct stat st;
    size_t n = strlen(arg) + 16;
    char *p = malloc(n);
    if (!p) return NULL;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) snprintf(p, n, "%s/results.h5", arg);
    else snprintf(p, n, "%s", arg);
    return p;
}

/* Directory part of a path ("." when none). */
static void dir_of(char *out, size_t n, const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(out, n, ".");
    else if (slash == path) snprintf(out, n, "/");
    else snprintf(out, n, "%.*s", (int)(slash - path), path);
}

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {
        {"format", required_argument, 0, 'f'}, {"out", required_argument, 0, 'o'},
        {"plots", required_argument, 0, 'p'},  {"no-plots", no_argument, 0, 'n'},
        {"megc-log", required_argument, 0, 'm'}, {"point", required_argument, 0, 'P'},
        {"seed", required_argument, 0, 's'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    report_format fmt = REPORT_MD;
    const char *out = NULL, *plots = NULL, *megc = NULL, *point_id = NULL;
    int no_plots = 0;
    int64_t seed = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (!strcmp(optarg, "md") || !strcmp(optarg, "markdown")) fmt = REPORT_MD;
            else if (!strcmp(optarg, "csv")) fmt = REPORT_CSV;
            else if (!strcmp(optarg, "json")) fmt = REPORT_JSON;
            else if (!strcmp(optarg, "html")) fmt = REPORT_HTML;
            else return usage_error("report", "unknown format '%s' (md, csv, json or html)", optarg);
            break;
        case 'o': out = optarg; break;
        case 'p': plots = optarg; break;
        case 'n': no_plots = 1; break;
        case 'm': megc = optarg; break;
        case 'P': point_id = optarg; break;
        case 's': {
            long v;
            if (cli_long(optarg, 0, LONG_MAX, &v)) return usage_error("report", "--seed wants a seed >= 0, got '%s'", optarg);
            seed = v;
            break;
        }
        case 'h': report_usage(stdout); return 0;
        default: return usage_error("report", "unknown option (see mer report --help)");
        }
    }
    if (optind >= argc) return usage_error("report", "no results directory given");
    if (plots && no_plots) return usage_error("report", "--plots and --no-plots contradict each other");
    if ((point_id || seed >= 0) && !megc) return usage_error("report", "--point and --seed select what --megc-log writes");

    size_t n = (size_t)(argc - optind);
    mer_report *r = calloc(n, sizeof *r);
    char **dirs = calloc(n, sizeof *dirs);
    size_t loaded = 0;
    int status = 1;
    mer_err err = {0};
    FILE *f = NULL;
    char tmp[4200] = "";
    if (!r || !dirs) {
        fprintf(stderr, "mer report: out of memory\n");
        goto done;
    }
    for (size_t i = 0; i < n; i++, loaded++) {
        char *path = results_path(argv[optind + i]);
        if (!path || report_load(&r[i], path, &err) < 0) {
            fprintf(stderr, "mer report: %s\n", path ? err.msg : "out of memory");
            free(path);
            goto done;
        }
        free(path);
    }
    if (!no_plots && (plots || fmt == REPORT_MD)) {
        for (size_t i = 0; i < n; i++) {
            char d[4096];
            if (plots && n == 1) snprintf(d, sizeof d, "%s", plots);
            else if (plots) snprintf(d, sizeof d, "%s/%zu", plots, i + 1);
            else {
                char base[4000];
                dir_of(base, sizeof base, r[i].path);
                snprintf(d, sizeof d, "%s/plots", base);
            }
            if (!(dirs[i] = strdup(d))) goto done;
            if (report_write_plots(&r[i], dirs[i], &err) < 0) {
                fprintf(stderr, "mer report: %s\n", err.msg);
                goto done;
            }
        }
    }
    if (out) {
        snprintf(tmp, sizeof tmp, "%s.tmp", out);
        if (!(f = fopen(tmp, "w"))) {
            fprintf(stderr, "mer report: cannot write %s: %s\n", tmp, strerror(errno));
            goto done;
        }
    }
    if (report_write(f ? f : stdout, fmt, r, n, (const char *const *)dirs, &err) < 0) {
        fprintf(stderr, "mer report: %s\n", err.msg);
        goto done;
    }
    if (f) {
        int bad = fclose(f) != 0;
        f = NULL;
        if (bad || rename(tmp, out) < 0) {
            fprintf(stderr, "mer report: cannot write %s: %s\n", out, strerror(errno));
            goto done;
        }
        tmp[0] = 0;
    }
    if (megc) {
        long p = -1;
        if (point_id && (p = report_find_point(&r[0], point_id)) < 0) {
            fprintf(stderr, "mer report: %s has no point '%s'\n", r[0].path, point_id);
            goto done;
        }
        FILE *g = fopen(megc, "w");
        if (!g) {
            fprintf(stderr, "mer report: cannot write %s: %s\n", megc, strerror(errno));
            goto done;
        }
        int rc = report_write_megc_log(g, &r[0], p, seed, &err);
        if (fclose(g) != 0 && rc == 0) rc = mer_errf(&err, "%s: %s", megc, strerror(errno));
        if (rc < 0) {
            fprintf(stderr, "mer report: %s: %s\n", megc, err.msg);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (r[i].n_warnings) fprintf(stderr, "mer report: %s: %zu warning(s), listed in the report\n", r[i].path, r[i].n_warnings);
    status = 0;
done:
    if (f) fclose(f);
    if (tmp[0]) remove(tmp);
    for (size_t i = 0; i < loaded; i++) report_free(&r[i]);
    for (size_t i = 0; dirs && i < n; i++) free(dirs[i]);
    free(r);
    free(dirs);
    return status;
}
