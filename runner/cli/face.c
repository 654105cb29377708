/* mer face detect | landmarks: the face detector and landmark predictor from the command line (JSON out). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "io/base/json.h"
#include "io/media/image.h"
#include "runner/cli/commands.h"

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

/* Subcommands of `mer face`; others (e.g. align) add a row here. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} FACE_CMDS[] = {
    {"detect", face_detect_cmd, "faces (OpenCV cascade) and 68 landmarks (dlib model) of an image, as JSON"},
    {"landmarks", face_landmarks_cmd, "68 dlib landmarks in a given box, as JSON"},
    {"align", cmd_face_align, "aligned square face crop of an image (eye template, as mer prep)"},
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
