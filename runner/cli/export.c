/* `mer export`: one trained model of a run into a self-contained model file (runner/model_file.h). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/report.h"
#include "runner/cli/commands.h"
#include "runner/model_file.h"

static void export_usage(FILE *f) {
    fprintf(f,
            "usage: mer export DIR --out MODEL.h5 [--point ID|best] [--seed N] [--magnet copy|reference]\n"
            "                  [--fold NAME]\n\n"
            "Write the final model of one sweep point and seed of the run in DIR (trained on every subject: run\n"
            "with eval.final_model: true, then mer collect if the run did not finish it) into one HDF5 file that\n"
            "mer predict reads: the point's resolved settings, class names, head, feature statistics, backbone\n"
            "(weights, or the seed and BatchNorm statistics of a random init), MagNet, the point's LOSO figures,\n"
            "mer's version and the file layout version. README \"Using a trained model\" documents the layout.\n\n"
            "options:\n"
            "  --out PATH          the model file to write (atomically: PATH.tmp, then renamed)\n"
            "  --point ID|best     the sweep point (an id of mer report / mer config --points); default best:\n"
            "                      the highest mean LOSO accuracy, as mer report marks it\n"
            "  --seed N            the seed (default: the smallest seed of the point)\n"
            "  --magnet MODE       copy (default): MagNet's kernels go into the file; reference: its path only\n"
            "  --fold NAME         export the model of one LOSO fold instead (trained without subject NAME; it\n"
            "                      reproduces that fold's evaluation exactly)\n"
            "  -h, --help          this help\n\n"
            "Exit status: 0 written, 1 error (message names what is missing), 2 usage.\n");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},    {"point", required_argument, 0, 'p'},
                                         {"seed", required_argument, 0, 's'},   {"magnet", required_argument, 0, 'm'},
                                         {"fold", required_argument, 0, 'f'},   {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    model_export_options o = {.magnet_copy = 1, .seed = -1};
    const char *out = NULL, *point = "best";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'p': point = optarg; break;
        case 's': {
            long v;
            if (cli_long(optarg, 0, LONG_MAX, &v)) return usage_error("export", "--seed wants a seed >= 0, got '%s'", optarg);
            o.seed = v;
            break;
        }
        case 'm':
            if (!strcmp(optarg, "copy")) o.magnet_copy = 1;
            else if (!strcmp(optarg, "reference")) o.magnet_copy = 0;
            else return usage_error("export", "--magnet is copy or reference, got '%s'", optarg);
            break;
        case 'f': o.fold = optarg; break;
        case 'h': export_usage(stdout); return 0;
        default: return usage_error("export", "unknown option (see mer export --help)");
        }
    }
    if (optind >= argc) return usage_error("export", "no run directory given");
    if (optind + 1 < argc) return usage_error("export", "one run directory, got '%s' too", argv[optind + 1]);
    if (!out) return usage_error("export", "--out MODEL.h5 is required");
    o.dir = argv[optind];

    /* the point and its LOSO figures from results.h5, read as mer report reads them */
    char path[4200];
    snprintf(path, sizeof path, "%s/results.h5", o.dir);
    mer_report r;
    mer_err err = {0};
    if (report_load(&r, path, &err) < 0) {
        fprintf(stderr, "mer export: %s (a run directory with results.h5: mer collect %s writes it)\n", err.msg, o.dir);
        return 1;
    }
    long p = -1;
    if (!strcmp(point, "best")) p = r.best;
    else p = report_find_point(&r, point);
    int status = 1;
    if (p < 0) {
        fprintf(stderr, "mer export: %s: %s\n", path,
                strcmp(point, "best") ? "no such point (mer report lists the points)" : "no point has results");
        goto done;
    }
    const report_point *pt = &r.points[p];
    if (o.seed < 0 && pt->n_seeds) o.seed = pt->seeds[0].seed;
    o.point_id = pt->id;
    for (size_t i = 0; i < pt->n_seeds; i++)
        if (pt->seeds[i].seed == o.seed) {
            const report_seed *sd = &pt->seeds[i];
            o.loso = (model_loso){1,           sd->m.accuracy, sd->m.uf1,        sd->m.uar,   sd->m.n,
                                  (int64_t)sd->n_folds,        pt->accuracy,     pt->accuracy_std,
                                  pt->uf1,     pt->uar,        (int64_t)pt->n_seeds};
        }
    if (o.seed < 0) {
        fprintf(stderr, "mer export: point %s has no seed with results\n", pt->id);
        goto done;
    }
    if (model_file_export(out, &o, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        goto done;
    }
    printf("%s: point %s (%s) seed %lld, %s model\n", out, pt->id, pt->params[0] ? pt->params : "no sweep",
           (long long)o.seed, o.fold ? "fold" : "final");
    status = 0;
done:
    report_free(&r);
    return status;
}
