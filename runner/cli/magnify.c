/* CLI: `mer convert-tf` (TensorFlow checkpoint -> HDF5) and `mer magnify` (MagNet on one pair: an HDF5 check
 * mode with (H, W, 3) float32 images in [-1, 1], the official MagNet convention, and a mode for people that
 * turns two image files into the enhanced sequence as numbered PNGs or a video). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/magnify/magnet.h"
#include "core/magnify/magnify.h"
#include "core/magnify/factors.h"
#include "io/h5.h"
#include "io/media/image.h"
#include "io/base/log.h"
#include "io/tfckpt.h"
#include "io/media/video.h"
#include "runner/cli/commands.h"

/* ---- mer convert-tf ---------------------------------------------------------------------------- */

static void convert_help(void) {
    printf("usage: mer convert-tf [--list] CKPT_PREFIX [OUT.h5]\n\n"
           "Convert a TensorFlow tensor-bundle checkpoint (CKPT_PREFIX.index + CKPT_PREFIX.data-*) to HDF5\n"
           "without TensorFlow: every tensor becomes a dataset named like its variable, shape kept\n"
           "(conv kernels HWIO). float32 stays float32, float64 stays float64, integers become int64.\n"
           "Compressed tables, big-endian or partitioned bundles and string tensors are rejected.\n"
           "CKPT_PREFIX may also be given as the .index path.\n\n"
           "  --list   print name, dtype and shape of every tensor instead of converting\n"
           "  -h, --help\n\n"
           "Example (official MagNet weights):\n"
           "  mer convert-tf o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002 magnet.h5\n");
}

int cmd_convert_tf(int argc, char **argv) {
    static const struct option opts[] = {{"list", no_argument, 0, 'l'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int list = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'l') list = 1;
        else if (c == 'h') {
            convert_help();
            return 0;
        } else return usage_error("convert-tf", "unknown option");
    }
    int npos = argc - optind;
    if (npos != (list ? 1 : 2))
        return usage_error("convert-tf", list ? "--list takes one CKPT_PREFIX" : "expected CKPT_PREFIX OUT.h5");
    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s", argv[optind]);
    size_t n = strlen(prefix);
    if (n > 6 && !strcmp(prefix + n - 6, ".index")) prefix[n - 6] = 0;
    mer_err err = {0};
    if (list) {
        tfckpt ck;
        if (tfckpt_open(&ck, prefix, &err) < 0) {
            fprintf(stderr, "mer convert-tf: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < ck.n_entries; i++) {
            const tfckpt_entry *e = &ck.entries[i];
            printf("%s %s (", e->name, tfckpt_dtype_name(e->dtype));
            for (int d = 0; d < e->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)e->dims[d]);
            printf(")\n");
        }
        tfckpt_close(&ck);
        return 0;
    }
    size_t nf, np, no;
    if (tfckpt_convert_h5(prefix, argv[optind + 1], &nf, &np, &no, &err) < 0) {
        fprintf(stderr, "mer convert-tf: %s\n", err.msg);
        return 1;
    }
    printf("%s: %zu float tensors (%zu parameters) and %zu other tensor(s)\n", argv[optind + 1], nf, np, no);
    return 0;
}

/* ---- mer magnify ------------------------------------------------------------------------------- */

#define DEFAULT_SCHEDULE "step:1:0.375:32"

static void magnify_help(void) {
    printf("usage: mer magnify --weights M.h5 --input P.h5 --output Q.h5\n"
           "       mer magnify [--weights M.h5] --onset A.png --apex B.png [--schedule SPEC] [--factor KIND]\n"
           "                   [--method network|linear|none] --out DIR|VIDEO\n\n"
           "Magnify the motion between two frames with MagNet (Oh et al. 2018, static mode).\n\n"
           "Check mode: P.h5 holds `a` and `b`, (H, W, 3) float32 RGB in [-1, 1] (a = reference/onset,\n"
           "b = apex), and a scalar `alpha` (writes `y`, (H, W, 3), clipped to [-1, 1]) and/or a 1-D `alphas`\n"
           "(writes `ys`, (T, H, W, 3)). Any H, W >= %d.\n\n"
           "Sequence mode: the onset->apex motion of two images of the same size magnified at every factor of\n"
           "the schedule, written as DIR/frame_<i>.png (i = 0..T-1) or, when --out ends in .mkv/.avi/.nut/.mp4/.mov,\n"
           "as a video (FFV1 by default, lossless). The resolved factors are printed.\n\n"
           "  --weights M.h5   MagNet weights as written by `mer convert-tf` from the official checkpoint\n"
           "  --input P.h5     check mode: the pair and factor(s)\n"
           "  --output Q.h5    check mode: result (written atomically)\n"
           "  --onset A        sequence mode: onset (reference) image, any format FFmpeg reads\n"
           "  --apex B         sequence mode: apex image\n"
           "  --schedule SPEC  step:START:STEP:COUNT | end:START:END:COUNT | list:A,B,... (default %s,\n"
           "                   the patent's worked example: alpha = 1, 1.375, ..., 12.625)\n"
           "  --factor KIND    one_plus_alpha (default: factor = 1 + alpha, the patent's formula) or alpha\n"
           "  --method M       network (default, needs --weights), linear (onset + m (apex - onset)) or none\n"
           "  --out DIR|VIDEO  sequence mode output\n"
           "  -h, --help\n\n"
           "Weights: %s.\n",
           MAGNET_MIN_SIDE, DEFAULT_SCHEDULE, MAGNIFY_WEIGHTS_HINT);
}

/* (H, W, 3) <-> (3, H, W) */
static void hwc_to_chw(float *chw, const float *hwc, size_t plane) {
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) chw[c * plane + i] = hwc[3 * i + c];
}
static void chw_to_hwc(float *hwc, const float *chw, size_t plane) {
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) hwc[3 * i + c] = chw[c * plane + i];
}

static int read_image(hid_t f, const char *name, float **chw, int *H, int *W, mer_err *err) {
    float *hwc;
    int nd;
    size_t d[H5_MAX_DIMS];
    if (h5_read_f32(f, name, &hwc, &nd, d, err) < 0) return -1;
    if (nd != 3 || d[2] != 3 || d[0] > 1 << 15 || d[1] > 1 << 15) {
        free(hwc);
        return mer_errf(err, "dataset '%s' must be (H, W, 3)", name);
    }
    *H = (int)d[0];
    *W = (int)d[1];
    size_t plane = d[0] * d[1];
    *chw = mer_malloc(3 * plane * sizeof **chw, err);
    if (*chw) hwc_to_chw(*chw, hwc, plane);
    free(hwc);
    return *chw ? 0 : -1;
}

/* Run MagNet for `factors` and write (T, H, W, 3) (or (H, W, 3) when scalar) to `name` in out. */
static int run_and_write(hid_t out, const char *name, int scalar, const float *a, const float *b, int H, int W,
                         const double *factors, int T, const magnet_model *m, mer_err *err) {
    size_t plane = (size_t)H * W;
    float *chw = mer_malloc((size_t)T * 3 * plane * sizeof *chw, err);
    float *hwc = chw ? mer_malloc((size_t)T * 3 * plane * sizeof *hwc, err) : NULL;
    int rc = -1;
    if (!hwc) goto done;
    double t0 = now_seconds();
    if (magnet_forward(chw, a, b, H, W, factors, T, m, err) < 0) goto done;
    log_info("magnify: %dx%d, %d factor(s) in %.2f s", W, H, T, now_seconds() - t0);
    for (int t = 0; t < T; t++) chw_to_hwc(hwc + (size_t)t * 3 * plane, chw + (size_t)t * 3 * plane, plane);
    size_t dims[4] = {(size_t)T, (size_t)H, (size_t)W, 3};
    rc = scalar ? h5_write_f32(out, name, hwc, 3, dims + 1, err) : h5_write_f32(out, name, hwc, 4, dims, err);
done:
    free(chw);
    free(hwc);
    return rc;
}

static int magnify_check_mode(const char *weights, const char *input, const char *output) {
    mer_err err = {0};
    magnet_model m = {0};
    float *a = NULL, *b = NULL;
    double *alphas = NULL;
    hid_t in = -1, out = -1;
    int rc = 1, Ha, Wa, Hb, Wb;
    if (magnet_load(&m, weights, &err) < 0) goto done;
    if (h5_open(input, 0, &in, &err) < 0) goto done;
    if (read_image(in, "a", &a, &Ha, &Wa, &err) < 0 || read_image(in, "b", &b, &Hb, &Wb, &err) < 0) {
        mer_err_prefix(&err, "%s", input);
        goto done;
    }
    if (Ha != Hb || Wa != Wb) {
        mer_errf(&err, "%s: a is %dx%d but b is %dx%d", input, Wa, Ha, Wb, Hb);
        goto done;
    }
    int has_alpha = h5_exists(in, "alpha"), has_alphas = h5_exists(in, "alphas");
    if (!has_alpha && !has_alphas) {
        mer_errf(&err, "%s: needs a scalar `alpha` or a 1-D `alphas`", input);
        goto done;
    }
    if (h5_create_tmp(output, &out, &err) < 0) goto done;
    if (has_alpha) {
        double alpha;
        if (h5_read_scalar_f64(in, "alpha", &alpha, &err) < 0 ||
            run_and_write(out, "y", 1, a, b, Ha, Wa, &alpha, 1, &m, &err) < 0)
            goto done;
    }
    if (has_alphas) {
        int nd;
        size_t d[H5_MAX_DIMS];
        if (h5_read_f64(in, "alphas", &alphas, &nd, d, &err) < 0) goto done;
        if (nd != 1 || d[0] < 1 || d[0] > 100000) {
            mer_errf(&err, "%s: `alphas` must be a non-empty 1-D array", input);
            goto done;
        }
        if (run_and_write(out, "ys", 0, a, b, Ha, Wa, alphas, (int)d[0], &m, &err) < 0) goto done;
    }
    if (h5_commit(out, output, &err) < 0) {
        out = -1;
        goto done;
    }
    out = -1;
    rc = 0;
done:
    if (rc) fprintf(stderr, "mer magnify: %s\n", err.msg);
    if (out >= 0) h5_abort(out, output);
    if (in >= 0) h5_close(in, NULL);
    free(a);
    free(b);
    free(alphas);
    magnet_free(&m);
    return rc;
}

static int has_video_ext(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return 0;
    const char *exts[] = {".mkv", ".avi", ".nut", ".mp4", ".mov"};
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (!strcasecmp(dot, exts[i])) return 1;
    return 0;
}

static int magnify_sequence_mode(const char *weights, const char *onset_path, const char *apex_path,
                                 const char *schedule, const char *factor_kind, const char *method_name,
                                 const char *out_path) {
    mer_err err = {0};
    mer_image on = {0}, ap = {0};
    mer_image *frames = NULL;
    magnet_model m = {0};
    schedule_spec spec = {0};
    double *factors = NULL;
    float *seq = NULL;
    int T = 0, rc = 1, have_model = 0;
    magnify_method method;
    if (magnify_method_parse(&method, method_name, &err) < 0 ||
        schedule_parse_factor_kind(&spec.one_plus_alpha, factor_kind, &err) < 0 ||
        schedule_parse(&spec, schedule, &err) < 0 || schedule_factors(&factors, &T, &spec, &err) < 0)
        goto done;
    if (method == MAGNIFY_NETWORK) {
        if (!weights) {
            mer_errf(&err, "--method network needs --weights: %s", MAGNIFY_WEIGHTS_HINT);
            goto done;
        }
        if (magnet_load(&m, weights, &err) < 0) goto done;
        have_model = 1;
    }
    if (image_load(&on, onset_path, 3, &err) < 0 || image_load(&ap, apex_path, 3, &err) < 0) goto done;
    if (on.w != ap.w || on.h != ap.h) {
        mer_errf(&err, "%s is %dx%d but %s is %dx%d (the pair must be aligned and the same size)", onset_path, on.w,
                 on.h, apex_path, ap.w, ap.h);
        goto done;
    }
    const int H = on.h, W = on.w;
    const size_t plane = (size_t)H * W;
    if (!(seq = mer_malloc((size_t)T * 3 * plane * sizeof *seq, &err))) goto done;
    double t0 = now_seconds();
    if (magnify_sequence(seq, on.px, ap.px, H, W, factors, T, method, have_model ? &m : NULL, &err) < 0) goto done;
    log_info("magnify: %dx%d, %d factors, method %s, %.2f s", W, H, T, magnify_method_name(method),
             now_seconds() - t0);
    if (!(frames = mer_calloc((size_t)T, sizeof *frames, &err))) goto done;
    for (int t = 0; t < T; t++) {
        if (image_alloc(&frames[t], W, H, 3, &err) < 0) goto done;
        const float *src = seq + (size_t)t * 3 * plane;
        for (size_t i = 0; i < plane; i++)
            for (int c = 0; c < 3; c++) frames[t].px[3 * i + c] = (uint8_t)lrintf(src[c * plane + i] * 255.0f);
    }
    if (has_video_ext(out_path)) {
        clip_writer *w;
        if (clip_writer_open(&w, out_path, W, H, 3, NULL, &err) < 0) goto done;
        for (int t = 0; t < T; t++)
            if (clip_writer_add(w, &frames[t], &err) < 0) {
                clip_writer_abort(w);
                goto done;
            }
        if (clip_writer_close(w, &err) < 0) goto done;
    } else if (clip_write_frames(out_path, "frame_", "png", frames, NULL, (size_t)T, &err) < 0) {
        goto done;
    }
    printf("%s: %d frames (%s), factors:", out_path, T, magnify_method_name(method));
    for (int t = 0; t < T; t++) printf(" %.10g", factors[t]);
    printf("\n");
    rc = 0;
done:
    if (rc) fprintf(stderr, "mer magnify: %s\n", err.msg);
    for (int t = 0; frames && t < T; t++) image_free(&frames[t]);
    free(frames);
    free(seq);
    free(factors);
    schedule_spec_free(&spec);
    image_free(&on);
    image_free(&ap);
    magnet_free(&m);
    return rc;
}

int cmd_magnify(int argc, char **argv) {
    static const struct option opts[] = {{"weights", required_argument, 0, 'w'},
                                         {"input", required_argument, 0, 'i'},
                                         {"output", required_argument, 0, 'o'},
                                         {"onset", required_argument, 0, 'a'},
                                         {"apex", required_argument, 0, 'b'},
                                         {"schedule", required_argument, 0, 's'},
                                         {"factor", required_argument, 0, 'f'},
                                         {"method", required_argument, 0, 'm'},
                                         {"out", required_argument, 0, 'O'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *weights = NULL, *input = NULL, *output = NULL, *onset = NULL, *apex = NULL, *out = NULL;
    const char *schedule = DEFAULT_SCHEDULE, *factor = "one_plus_alpha", *method = "network";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'w': weights = optarg; break;
        case 'i': input = optarg; break;
        case 'o': output = optarg; break;
        case 'a': onset = optarg; break;
        case 'b': apex = optarg; break;
        case 's': schedule = optarg; break;
        case 'f': factor = optarg; break;
        case 'm': method = optarg; break;
        case 'O': out = optarg; break;
        case 'h': magnify_help(); return 0;
        default: return usage_error("magnify", "unknown option");
        }
    }
    if (optind != argc) return usage_error("magnify", "unexpected argument '%s'", argv[optind]);
    int check_mode = input || output, seq_mode = onset || apex || out;
    if (check_mode == seq_mode)
        return usage_error("magnify", "give either --input/--output (check mode) or --onset/--apex/--out");
    if (seq_mode) {
        if (!onset || !apex || !out) return usage_error("magnify", "--onset, --apex and --out are all required");
        return magnify_sequence_mode(weights, onset, apex, schedule, factor, method, out);
    }
    if (!input || !output) return usage_error("magnify", "--input and --output are required");
    if (!weights) {
        fprintf(stderr, "mer magnify: --weights is required: %s\n", MAGNIFY_WEIGHTS_HINT);
        return 2;
    }
    return magnify_check_mode(weights, input, output);
}
