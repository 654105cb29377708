/* `mer config CFG [key=value ...] [--print] [--points] [--keys]`: check a config, print it resolved,
 * list its sweep points, or print the schema. The CLI layer over io/config/config.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/config/config.h"
#include "runner/cli/commands.h"

static void config_help(void) {
    printf("usage: mer config CFG [KEY=VALUE ...] [--print] [--points] [--keys]\n\n"
           "Check the YAML config CFG plus command-line overrides KEY=VALUE (e.g. train.lr=3e-4,\n"
           "dataset.classes=[a,b]; sweep.seeds=[0,1,2] replaces the seeds) against the schema. Every error is\n"
           "printed as FILE:LINE:COL: message with the source line and a caret.\n\n"
           "Options:\n"
           "  --print    print the fully resolved config (defaults included, plus the sweep) as YAML that\n"
           "             mer config reads back identically\n"
           "  --points   list the expanded sweep points (index, id, params) and the seeds\n"
           "  --keys     print every key of the schema (type, default, range or values, help); CFG optional\n"
           "  -h, --help this help\n\n"
           "Without --print/--points a valid config prints one summary line.\n"
           "Exit status: 0 valid, 1 invalid config (all errors on stderr), 2 usage error.\n");
}

int cmd_config(int argc, char **argv) {
    enum { OPT_PRINT = 1, OPT_POINTS, OPT_KEYS };
    static const struct option opts[] = {{"print", no_argument, NULL, OPT_PRINT},
                                         {"points", no_argument, NULL, OPT_POINTS},
                                         {"keys", no_argument, NULL, OPT_KEYS},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int print = 0, points = 0, keys = 0, c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_PRINT: print = 1; break;
        case OPT_POINTS: points = 1; break;
        case OPT_KEYS: keys = 1; break;
        case 'h': config_help(); return 0;
        default: return usage_error("config", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (keys) config_print_schema(stdout);
    if (optind >= argc) {
        if (keys) return 0;
        return usage_error("config", "missing the config file");
    }
    const char *path = argv[optind];
    char *const *overrides;
    size_t n_overrides;
    if (cli_overrides(&overrides, &n_overrides, "config", argc, argv, optind + 1, "KEY=VALUE",
                      " (only one config file is read)"))
        return 2;

    cfg_doc doc;
    mer_err err = {0};
    if (cmd_load_config(&doc, path, overrides, n_overrides, 1) < 0) return 1;
    int status = 0;
    if (print && config_doc_print(stdout, &doc) < 0) {
        fprintf(stderr, "mer config: cannot write the config to stdout\n");
        status = 1;
    }
    if (points && !status) {
        cfg_point *pts = NULL;
        size_t n = 0;
        if (config_points(&pts, &n, &doc, &err) < 0) {
            fprintf(stderr, "mer config: %s\n", err.msg);
            status = 1;
        } else {
            printf("index\tid\tparams\n");
            for (size_t i = 0; i < n; i++) printf("%zu\t%s\t%s\n", i, pts[i].id, pts[i].params);
            printf("seeds:");
            for (size_t i = 0; i < doc.n_seeds; i++) printf(" %ld", doc.seeds[i]);
            printf("\n");
            config_points_free(pts, n);
        }
    }
    if (!print && !points && !keys)
        printf("%s: ok (%zu point%s x %zu seed%s)\n", path, config_n_points(&doc), config_n_points(&doc) == 1 ? "" : "s",
               doc.n_seeds, doc.n_seeds == 1 ? "" : "s");
    config_doc_free(&doc);
    return status;
}

int cmd_load_config(cfg_doc *doc, const char *path, char *const *overrides, size_t n_overrides, int report) {
    mer_err err = {0};
    char *diag = NULL;
    const int rc = config_load_diag(doc, path, overrides, n_overrides, &diag, &err);
    if (rc < 0 && report) fprintf(stderr, "%s\n", diag ? diag : err.msg);
    free(diag);
    return rc < 0 ? -1 : 0;
}
