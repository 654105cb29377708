/* `mer predict`: classify clips with a model file (runner/model_file.h), through the run's own code: prep
 * (core/prep.h) -> magnify + features (model_features_of: pipeline_features_of and the head.features transform) ->
 * standardise + head (model_classify). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "core/nn/threads.h"
#include "io/base/json.h"
#include "io/data/csv.h"
#include "io/media/video.h"
#include "runner/cli/commands.h"
#include "runner/core_options.h"
#include "runner/model_file.h"

enum { FMT_TEXT, FMT_JSON, FMT_CSV };
enum { PREDICT_CHUNK = 64 }; /* clips classified per batch (memory: finetune rows are 4.8 MB a clip) */

typedef struct {
    char *path;
    int onset, apex, offset; /* -1: not given */
    char *error;             /* set when the clip failed (names the clip) */
    const char *apex_source; /* "given" | "spotted" */
    int box[4];
} clip_job;

static void predict_usage(FILE *f) {
    fprintf(f,
            "usage: mer predict MODEL.h5 CLIP... [--onset N] [--apex N] [--offset N] [--list FILE]\n"
            "                   [--format text|json|csv] [--threads N]\n\n"
            "Classify micro-expression clips with a model written by mer export. A CLIP is a video file or a\n"
            "folder of numbered frames, as in the datasets (frame numbers: the digits ending a file name; for a\n"
            "video the 0-based frame index). Each clip goes through the same code as in mer run: face and\n"
            "landmarks on the onset frame, alignment, magnification of the onset->apex motion, the backbone and\n"
            "the head, with the model's settings.\n\n"
            "options:\n"
            "  --onset N        onset frame of every CLIP argument (default: the clip's first frame)\n"
            "  --apex N         apex frame (default: spotted: the frame of the aligned face that moved most against\n"
            "                   the onset, core/spot/apex.h, with the model's preprocess.spot settings)\n"
            "  --offset N       last frame the apex is searched up to (default: the clip's last frame)\n"
            "  --list FILE      more clips from a CSV with the columns path[,onset,apex] (an optional header row\n"
            "                   starting with 'path'; empty onset/apex: the defaults above)\n"
            "  --format FMT     text (default: one line per clip), json (an array of one object per clip:\n"
            "                   path, class, probabilities {class: p}, onset, apex, apex_source (given or\n"
            "                   spotted), face_box [x, y, w, h]; a failed clip is {path, error}), or csv (a header,\n"
            "                   then path,class,onset,apex,apex_source,face_x,face_y,face_w,face_h,p_<class>...)\n"
            "  --threads N      threads (default: the model's runtime.threads, else SLURM_CPUS_PER_TASK,\n"
            "                   MER_THREADS, or all CPUs); results do not depend on it\n"
            "  -h, --help       this help\n\n"
            "A clip that cannot be read, has fewer than 2 frames, has no face, or whose onset is not before its\n"
            "apex gets an error naming it on standard error; the other clips go on.\n"
            "Exit status: 0 every clip classified, 1 none (or the model cannot be loaded), 2 usage,\n"
            "4 some clips failed.\n");
}

static void job_fail(clip_job *j, const char *fmt, const char *msg) {
    if (!strncmp(msg, j->path, strlen(j->path))) fmt = "%.0s%s"; /* the message names the clip already */
    size_t n = strlen(j->path) + strlen(msg) + strlen(fmt) + 16;
    free(j->error);
    j->error = malloc(n);
    if (j->error) snprintf(j->error, n, fmt, j->path, msg);
}

/* Check the frame numbers and fill in the defaults: onset the first frame, offset the last; an apex of -1
 * stays -1 (prep_sample spots it). */
static int resolve_frames(clip_job *j, mer_err *err) {
    clip *c;
    if (clip_open(&c, j->path, err) < 0) return -1;
    size_t n;
    const int *fr = clip_frame_numbers(c, &n);
    int rc = -1;
    if (n < 2) {
        mer_errk(err, MER_ERR_DATA, "%zu frame(s): a clip needs at least 2 (onset and apex)", n);
        goto done;
    }
    if (j->onset < 0) j->onset = fr[0];
    if (j->offset < 0) j->offset = fr[n - 1];
    if (!clip_has_frame(c, j->onset)) {
        mer_errk(err, MER_ERR_DATA, "no onset frame %d (frames %d..%d)", j->onset, fr[0], fr[n - 1]);
        goto done;
    }
    if (j->apex < 0) { /* spotted by prep_sample among the frames onset..offset (core/spot/apex.h) */
        if (j->offset <= j->onset) {
            mer_errk(err, MER_ERR_DATA, "offset %d is not after the onset %d: no frame to spot the apex in",
                     j->offset, j->onset);
            goto done;
        }
    } else {
        if (!clip_has_frame(c, j->apex)) {
            mer_errk(err, MER_ERR_DATA, "no apex frame %d (frames %d..%d)", j->apex, fr[0], fr[n - 1]);
            goto done;
        }
    }
    if (j->apex >= 0 && j->onset >= j->apex) {
        mer_errk(err, MER_ERR_DATA, "onset %d is not before the apex %d", j->onset, j->apex);
        goto done;
    }
    rc = 0;
done:
    clip_close(c);
    return rc;
}

static void print_header(FILE *f, int fmt, const mer_model *m) {
    if (fmt == FMT_JSON) fputs("[", f);
    if (fmt != FMT_CSV) return;
    fputs("path,class,onset,apex,apex_source,face_x,face_y,face_w,face_h", f);
    for (size_t c = 0; c < m->n_classes; c++) {
        fputc(',', f);
        char name[300];
        snprintf(name, sizeof name, "p_%s", m->classes[c]);
        csv_write_field(f, name, CSV_QUOTE_MINIMAL);
    }
    fputc('\n', f);
}

static void print_clip(FILE *f, int fmt, const clip_job *j, const float *prob, const mer_model *m, int *first) {
    const size_t C = m->n_classes;
    size_t best = 0;
    for (size_t c = 1; prob && c < C; c++)
        if (prob[c] > prob[best]) best = c;
    if (fmt == FMT_JSON) {
        fputs(*first ? "\n  {\"path\": " : ",\n  {\"path\": ", f);
        json_write_str(f, j->path, JSON_ESC_SHORT);
        if (!prob) {
            fputs(", \"error\": ", f);
            json_write_str(f, j->error, JSON_ESC_SHORT);
            fputs("}", f);
        } else {
            fputs(", \"class\": ", f);
            json_write_str(f, m->classes[best], JSON_ESC_SHORT);
            fputs(", \"probabilities\": {", f);
            for (size_t c = 0; c < C; c++) {
                if (c) fputs(", ", f);
                json_write_str(f, m->classes[c], JSON_ESC_SHORT);
                fprintf(f, ": %.9g", prob[c]);
            }
            fprintf(f, "}, \"onset\": %d, \"apex\": %d, \"apex_source\": \"%s\", \"face_box\": [%d, %d, %d, %d]}",
                    j->onset, j->apex, j->apex_source, j->box[0], j->box[1], j->box[2], j->box[3]);
        }
        *first = 0;
        return;
    }
    if (!prob) return; /* text and csv: errors go to standard error only */
    if (fmt == FMT_CSV) {
        csv_write_field(f, j->path, CSV_QUOTE_MINIMAL);
        fputc(',', f);
        csv_write_field(f, m->classes[best], CSV_QUOTE_MINIMAL);
        fprintf(f, ",%d,%d,%s,%d,%d,%d,%d", j->onset, j->apex, j->apex_source, j->box[0], j->box[1], j->box[2],
                j->box[3]);
        for (size_t c = 0; c < C; c++) fprintf(f, ",%.9g", prob[c]);
        fputc('\n', f);
        return;
    }
    fprintf(f, "%s: %s %.3f (", j->path, m->classes[best], prob[best]);
    for (size_t c = 0, k = 0; c < C; c++)
        if (c != best) fprintf(f, "%s%s %.3f", k++ ? ", " : "", m->classes[c], prob[c]);
    fprintf(f, ")  onset %d  apex %d (%s)  face %d,%d %dx%d\n", j->onset, j->apex, j->apex_source, j->box[0], j->box[1],
            j->box[2], j->box[3]);
}

/* -1 when s is empty, else the frame number (or -2: not a number >= 0). */
static int frame_arg(const char *s) {
    long v;
    if (!*s) return -1;
    return cli_long(s, 0, INT_MAX, &v) ? -2 : (int)v;
}

/* Clips of --list FILE appended to jobs. */
static int read_list(clip_job **jobs, size_t *n, const char *path, mer_err *err) {
    csv_table t;
    if (csv_read(&t, path, err) < 0) return -1;
    size_t cap = *n + t.n;
    clip_job *js = realloc(*jobs, (cap ? cap : 1) * sizeof *js);
    if (!js) {
        csv_free(&t);
        return mer_errf(err, "out of memory");
    }
    *jobs = js;
    for (size_t r = 0; r < t.n; r++) {
        const csv_row *row = &t.rows[r];
        if (csv_row_blank(row) || (r == 0 && csv_name_eq(csv_get(row, 0), "path"))) continue;
        clip_job *j = &js[(*n)++];
        memset(j, 0, sizeof *j);
        j->path = strdup(csv_get(row, 0));
        j->onset = frame_arg(csv_get(row, 1));
        j->apex = frame_arg(csv_get(row, 2));
        j->offset = -1;
        if (!j->path) {
            csv_free(&t);
            return mer_errf(err, "out of memory");
        }
        if (j->onset < -1 || j->apex < -1) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s:%d: onset and apex must be frame numbers >= 0", path, row->line);
            job_fail(j, "%s: %s", msg);
            j->onset = j->apex = -1;
        }
    }
    csv_free(&t);
    return 0;
}

int cmd_predict(int argc, char **argv) {
    static const struct option opts[] = {{"onset", required_argument, 0, 'o'},  {"apex", required_argument, 0, 'a'},
                                         {"offset", required_argument, 0, 'e'}, {"list", required_argument, 0, 'l'},
                                         {"format", required_argument, 0, 'f'}, {"threads", required_argument, 0, 't'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    int onset = -1, apex = -1, offset = -1, fmt = FMT_TEXT, threads = 0, c;
    const char *list = NULL;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
        case 'a':
        case 'e':
            if (cli_long(optarg, 0, INT_MAX, &v))
                return usage_error("predict", "--%s wants a frame number >= 0, got '%s'",
                                   c == 'o' ? "onset" : c == 'a' ? "apex" : "offset", optarg);
            *(c == 'o' ? &onset : c == 'a' ? &apex : &offset) = (int)v;
            break;
        case 'l': list = optarg; break;
        case 'f':
            if (!strcmp(optarg, "text")) fmt = FMT_TEXT;
            else if (!strcmp(optarg, "json")) fmt = FMT_JSON;
            else if (!strcmp(optarg, "csv")) fmt = FMT_CSV;
            else return usage_error("predict", "unknown format '%s' (text, json or csv)", optarg);
            break;
        case 't':
            if (cli_long(optarg, 1, 1024, &v)) return usage_error("predict", "--threads wants 1..1024, got '%s'", optarg);
            threads = (int)v;
            break;
        case 'h': predict_usage(stdout); return 0;
        default: return usage_error("predict", "unknown option (see mer predict --help)");
        }
    }
    if (optind >= argc) return usage_error("predict", "no model file given");
    const char *model_path = argv[optind++];
    if (optind >= argc && !list) return usage_error("predict", "no clip given (CLIP arguments or --list FILE)");
    if (onset >= 0 && apex >= 0 && onset >= apex)
        return usage_error("predict", "--onset %d is not before --apex %d", onset, apex);

    mer_err err = {0};
    size_t n = (size_t)(argc - optind);
    clip_job *jobs = calloc(n ? n : 1, sizeof *jobs);
    mer_model m;
    int model_ok = 0, status = 1;
    face_models *faces = NULL;
    float *rows = NULL, *prob = NULL;
    size_t *in_batch = NULL, n_ok = 0;
    if (!jobs) {
        fprintf(stderr, "mer predict: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (clip_job){.path = strdup(argv[optind + (int)i]), .onset = onset, .apex = apex, .offset = offset};
        if (!jobs[i].path) {
            fprintf(stderr, "mer predict: out of memory\n");
            goto done;
        }
    }
    if (list && read_list(&jobs, &n, list, &err) < 0) {
        fprintf(stderr, "mer predict: --list %s\n", err.msg);
        goto done;
    }
    if (model_load(&m, model_path, &err) < 0) {
        fprintf(stderr, "mer predict: %s\n", err.msg);
        goto done;
    }
    model_ok = 1;
    const mer_config *cfg = &m.doc.base;
    nn_set_threads(threads > 0 ? threads : cfg->rt_threads > 0 ? cfg->rt_threads : 0);
    if (face_models_load(&faces, cfg->prep_cascade, cfg->prep_landmarks, &err) < 0) {
        fprintf(stderr, "mer predict: %s: %s\n", model_path, err.msg);
        goto done;
    }
    prep_opts po = options_prep(cfg);
    po.threads = 1;
    po.spot_fallback = 0; /* a given apex is used or is an error, never silently replaced */
    const size_t row = m.pf.R * m.pf.D, C = m.n_classes;
    rows = malloc(PREDICT_CHUNK * row * sizeof *rows);
    prob = malloc(PREDICT_CHUNK * C * sizeof *prob);
    in_batch = malloc(PREDICT_CHUNK * sizeof *in_batch);
    if (!rows || !prob || !in_batch) {
        fprintf(stderr, "mer predict: out of memory\n");
        goto done;
    }
    print_header(stdout, fmt, &m);
    int first = 1;
    for (size_t a = 0; a < n;) {
        /* one batch: up to PREDICT_CHUNK clips with features, in input order */
        size_t nb = 0, b = a;
        for (; b < n && nb < PREDICT_CHUNK; b++) {
            clip_job *j = &jobs[b];
            if (j->error) continue;
            prep_result r;
            mer_err e = {0};
            if (resolve_frames(j, &e) < 0 ||
                prep_sample(&r, j->path, j->onset, j->apex, j->offset, &po, faces, &e) < 0) {
                job_fail(j, "%s: %s", e.msg);
                continue;
            }
            memcpy(j->box, r.box, sizeof j->box);
            j->apex = r.apex_frame;
            j->apex_source = r.apex_spotted ? "spotted" : "given";
            int bad = model_features_of(&m, rows + nb * row, &r, &e) < 0;
            prep_result_free(&r);
            if (bad) {
                job_fail(j, "%s: %s", e.msg);
                continue;
            }
            in_batch[nb++] = b;
        }
        if (nb && model_classify(&m, prob, rows, (int)nb, &err) < 0) {
            fprintf(stderr, "mer predict: %s\n", err.msg);
            goto done;
        }
        for (size_t i = a, k = 0; i < b; i++) {
            const int ok = k < nb && in_batch[k] == i;
            if (!ok && !jobs[i].error) job_fail(&jobs[i], "%s: %s", "out of memory");
            if (!ok) fprintf(stderr, "mer predict: %s\n", jobs[i].error ? jobs[i].error : "out of memory");
            print_clip(stdout, fmt, &jobs[i], ok ? prob + k * C : NULL, &m, &first);
            k += ok;
            n_ok += ok;
        }
        fflush(stdout);
        a = b;
    }
    if (fmt == FMT_JSON) fputs(first ? "]\n" : "\n]\n", stdout);
    status = n_ok == n ? 0 : n_ok == 0 ? 1 : 4; /* 4: some clips failed, as `mer run` with failed tasks */
done:
    face_models_free(faces);
    free(rows);
    free(prob);
    free(in_batch);
    if (model_ok) model_free(&m);
    for (size_t i = 0; i < n; i++) {
        free(jobs[i].path);
        free(jobs[i].error);
    }
    free(jobs);
    return status;
}
