/* mer face detect | landmarks | align: the face detector, the landmark predictor and the aligned crop of
 * mer prep from the command line (JSON out). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "core/prep.h"
#include "io/config/config.h"
#include "io/base/json.h"
#include "io/media/image.h"
#include "runner/cli/commands.h"
#include "runner/core_options.h"

#define DEFAULT_CASCADE "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml"
#define DEFAULT_SHAPE "/usr/share/dlib/shape_predictor_68_face_landmarks.dat"

static void print_face(FILE *f, const face_result *r, int with_rect) {
    fprintf(f, "{\"box\": [%d, %d, %d, %d]", r->box[0], r->box[1], r->box[2], r->box[3]);
    if (with_rect) fprintf(f, ", \"rect\": [%.0f, %.0f, %.0f, %.0f]", r->rect[0], r->rect[1], r->rect[2], r->rect[3]);
    if (r->has_landmarks) {
        fprintf(f, ", \"landmarks\": [");
        for (int i = 0; i < FACE_NPTS; i++)
            fprintf(f, "%s[%.2f, %.2f]", i ? ", " : "", (double)r->pts[i][0], (double)r->pts[i][1]);
        fprintf(f, "]");
    }
    fprintf(f, "}");
}

static int parse_int(const char *cmd, const char *opt, const char *s, int lo, int *out) {
    long v;
    if (cli_long(s, lo, 1000000, &v)) return usage_error(cmd, "%s: expected an integer >= %d, got '%s'", opt, lo, s);
    *out = (int)v;
    return 0;
}

static void detect_help(void) {
    printf("usage: mer face detect IMAGE [options]\n\n"
           "Find faces with an OpenCV cascade (same boxes as cv2.CascadeClassifier.detectMultiScale on the same\n"
           "grey pixels) and their 68 dlib landmarks; print JSON:\n"
           "  {\"image\": ..., \"faces\": [{\"box\": [x,y,w,h], \"rect\": [l,t,r,b], \"landmarks\": [[x,y], ...]}]}\n"
           "'rect' is the dlib-style box (inclusive) the landmarks were predicted in, after refinement.\n\n"
           "  --cascade XML     cascade file (default " DEFAULT_CASCADE ")\n"
           "  --landmarks DAT   dlib shape predictor (default " DEFAULT_SHAPE ")\n"
           "  --scale F         pyramid scale factor > 1 (default 1.1)\n"
           "  --neighbors N     minimum neighbours for grouping (default 3; 0 = ungrouped candidates)\n"
           "  --min-size N      smallest face, pixels (default 0)\n"
           "  --max-size N      largest face, pixels (default 0 = image size)\n"
           "  --no-landmarks    boxes only\n"
           "  --raw             the cascade's boxes exactly as OpenCV's detectMultiScale returns them (no landmarks)\n"
           "  -h, --help        this help\n");
}

static int face_detect_cmd(int argc, char **argv) {
    static const struct option opts[] = {{"cascade", required_argument, 0, 'c'}, {"landmarks", required_argument, 0, 'l'},
                                          {"scale", required_argument, 0, 's'},  {"neighbors", required_argument, 0, 'n'},
                                          {"min-size", required_argument, 0, 'm'}, {"max-size", required_argument, 0, 'M'},
                                          {"no-landmarks", no_argument, 0, 'N'},  {"raw", no_argument, 0, 'r'},
                                          {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *cmd = "face detect", *cas = DEFAULT_CASCADE, *shape = DEFAULT_SHAPE;
    int neighbors = 3, min_size = 0, max_size = 0, no_lm = 0, raw = 0, c;
    double scale = 1.1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': cas = optarg; break;
        case 'l': shape = optarg; break;
        case 's':
            if (cli_double(optarg, nextafter(1.0, 2.0), 100, &scale))
                return usage_error(cmd, "--scale: expected a number > 1, got '%s'", optarg);
            break;
        case 'n': if (parse_int(cmd, "--neighbors", optarg, 0, &neighbors)) return 2; break;
        case 'm': if (parse_int(cmd, "--min-size", optarg, 0, &min_size)) return 2; break;
        case 'M': if (parse_int(cmd, "--max-size", optarg, 0, &max_size)) return 2; break;
        case 'N': no_lm = 1; break;
        case 'r': raw = 1; break;
        case 'h': detect_help(); return 0;
        default: return usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1) return usage_error(cmd, "expected exactly one IMAGE");
    const char *path = argv[optind];
    mer_err err = {0};
    mer_image im = {0};
    if (image_load(&im, path, 1, &err) < 0) {
        fprintf(stderr, "mer %s: %s\n", cmd, err.msg);
        return 1;
    }
    face_models *m = NULL;
    if (face_models_load(&m, cas, (no_lm || raw) ? NULL : shape, &err) < 0) {
        fprintf(stderr, "mer %s: %s\n", cmd, err.msg);
        image_free(&im);
        return 1;
    }
    face_opts fo = {scale, neighbors == 0 ? -1 : neighbors, min_size, max_size};
    face_result *faces = NULL;
    int n = 0;
    if (face_find_all(&faces, &n, m, im.px, im.w, im.h, &fo, &err) < 0) {
        fprintf(stderr, "mer %s: %s: %s\n", cmd, path, err.msg);
        face_models_free(m);
        image_free(&im);
        return 1;
    }
    printf("{\"image\": ");
    json_write_str(stdout, path, JSON_ESC_UNICODE);
    printf(", \"width\": %d, \"height\": %d, \"faces\": [", im.w, im.h);
    for (int i = 0; i < n; i++) {
        printf(i ? ",\n  " : "\n  ");
        print_face(stdout, &faces[i], !raw);
    }
    printf("%s]}\n", n ? "\n" : "");
    free(faces);
    face_models_free(m);
    image_free(&im);
    return 0;
}

static void landmarks_help(void) {
    printf("usage: mer face landmarks IMAGE --box L,T,R,B [--landmarks DAT]\n\n"
           "Predict dlib's 68 landmarks in the given dlib rectangle (inclusive corners: R = L + width - 1),\n"
           "without detection or refinement, exactly as dlib's shape_predictor; print JSON\n"
           "  {\"image\": ..., \"rect\": [l,t,r,b], \"landmarks\": [[x,y], ... 68]}\n"
           "(dlib itself returns floor(x + 0.5), floor(y + 0.5) of these values).\n\n"
           "  --box L,T,R,B     the rectangle (required)\n"
           "  --landmarks DAT   dlib shape predictor (default " DEFAULT_SHAPE ")\n"
           "  -h, --help        this help\n");
}

static int face_landmarks_cmd(int argc, char **argv) {
    static const struct option opts[] = {{"box", required_argument, 0, 'b'}, {"landmarks", required_argument, 0, 'l'},
                                          {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "face landmarks", *shape = DEFAULT_SHAPE;
    long rect[4];
    int have_box = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char tail;
            if (sscanf(optarg, "%ld,%ld,%ld,%ld%c", &rect[0], &rect[1], &rect[2], &rect[3], &tail) != 4 ||
                rect[2] < rect[0] || rect[3] < rect[1] || labs(rect[0]) > 1000000 || labs(rect[1]) > 1000000 ||
                labs(rect[2]) > 1000000 || labs(rect[3]) > 1000000)
                return usage_error(cmd, "--box: expected L,T,R,B with R >= L and B >= T, got '%s'", optarg);
            have_box = 1;
            break;
        }
        case 'l': shape = optarg; break;
        case 'h': landmarks_help(); return 0;
        default: return usage_error(cmd, "unknown option");
        }
    }
    if (optind != argc - 1) return usage_error(cmd, "expected exactly one IMAGE");
    if (!have_box) return usage_error(cmd, "--box is required");
    const char *path = argv[optind];
    mer_err err = {0};
    mer_image im = {0};
    if (image_load(&im, path, 1, &err) < 0) {
        fprintf(stderr, "mer %s: %s\n", cmd, err.msg);
        return 1;
    }
    shape_model *sm = NULL;
    if (shape_model_load(&sm, shape, &err) < 0) {
        fprintf(stderr, "mer %s: %s\n", cmd, err.msg);
        image_free(&im);
        return 1;
    }
    int np = shape_model_parts(sm);
    double(*pts)[2] = malloc(sizeof *pts * (size_t)np);
    if (!pts) {
        fprintf(stderr, "mer %s: out of memory\n", cmd);
        shape_model_free(sm);
        image_free(&im);
        return 1;
    }
    shape_predict(pts, sm, im.px, im.w, im.h, rect);
    printf("{\"image\": ");
    json_write_str(stdout, path, JSON_ESC_UNICODE);
    printf(", \"rect\": [%ld, %ld, %ld, %ld], \"landmarks\": [", rect[0], rect[1], rect[2], rect[3]);
    for (int i = 0; i < np; i++) printf("%s[%.2f, %.2f]", i ? ", " : "", pts[i][0], pts[i][1]);
    printf("]}\n");
    free(pts);
    shape_model_free(sm);
    image_free(&im);
    return 0;
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

static int face_align_cmd(int argc, char **argv) {
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

/* Subcommands of `mer face`; others (e.g. align) add a row here. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} FACE_CMDS[] = {
    {"detect", face_detect_cmd, "faces (OpenCV cascade) and 68 landmarks (dlib model) of an image, as JSON"},
    {"landmarks", face_landmarks_cmd, "68 dlib landmarks in a given box, as JSON"},
    {"align", face_align_cmd, "aligned square face crop of an image (eye template, as mer prep)"},
};

int cmd_face(int argc, char **argv) {
    size_t n = sizeof FACE_CMDS / sizeof FACE_CMDS[0];
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        printf("usage: mer face COMMAND [ARGS]\n\nCommands:\n");
        for (size_t i = 0; i < n; i++) printf("  %-10s %s\n", FACE_CMDS[i].name, FACE_CMDS[i].summary);
        printf("\n'mer face COMMAND --help' documents each command's options.\n");
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!strcmp(argv[1], FACE_CMDS[i].name)) return FACE_CMDS[i].fn(argc - 1, argv + 1);
    return usage_error("face", "unknown subcommand '%s'", argv[1]);
}
