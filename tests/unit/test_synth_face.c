/* The synthetic data against the project's own face pipeline (core/face/face.h): on the onset frame of every
 * generated clip (written as JPEG by synth_generate, read back through the dataset reader and io/media/image.h),
 * the Haar cascade must find a face in >= 95 % of clips, and the 68 landmarks must put the eye centres near
 * the renderer's ground truth (synth_face_points). Skips when the Debian model files are not installed. */
#include <unistd.h>

#include "core/face/face.h"
#include "io/config/config.h"
#include "io/data/dataset.h"
#include "io/media/image.h"
#include "io/data/synth.h"
#include "tests/check.h"

static const char *CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
static const char *MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

/* Worse of the two eye-centre errors (mean of landmarks 36-41 and 42-47 against the renderer's eye
 * positions) as a fraction of the inter-ocular distance, which goes to *iod (px). */
static double eye_error(const face_result *r, const synth_subject *subj, double *iod) {
    double truth[10], eye[2][2] = {{0, 0}, {0, 0}};
    synth_face_points(truth, subj);
    for (int k = 0; k < 6; k++)
        for (int c = 0; c < 2; c++) {
            eye[0][c] += r->pts[36 + k][c] / 6.0;
            eye[1][c] += r->pts[42 + k][c] / 6.0;
        }
    *iod = truth[2] - truth[0];
    return fmax(hypot(eye[0][0] - truth[0], eye[0][1] - truth[1]), hypot(eye[1][0] - truth[2], eye[1][1] - truth[3])) /
           *iod;
}

int main(void) {
    if (access(CASCADE, R_OK) != 0) SKIP_ALL("%s missing (Debian package opencv-data)", CASCADE);
    if (access(MODEL, R_OK) != 0) SKIP_ALL("%s missing (Debian package libdlib-data)", MODEL);
    char dir[] = "/tmp/mer_test_synth_face_XXXXXX";
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");
    char root[256];
    snprintf(root, sizeof root, "%s/ds", dir);

    mer_config cfg;
    config_defaults(&cfg);
    cfg.dataset_format = CFG_DATASET_SYNTH;
    free(cfg.dataset_root);
    cfg.dataset_root = strdup(root);
    free(cfg.dataset_annotations);
    cfg.dataset_annotations = strdup("");
    cfg.synth_subjects = 12;
    cfg.synth_per_class = 1;
    cfg.synth_width = 160;
    cfg.synth_height = 120;
    cfg.synth_seed = 2024;
    cfg.dataset_min_class_samples = 0;

    mer_err e = {0};
    dataset d;
    face_models *m = NULL;
    CHECK(dataset_load(&d, &cfg, &e) == 0, "generate + load: %s", e.msg);
    CHECK(d.n == 60, "12 subjects x 5 classes (%zu)", d.n);
    CHECK(face_models_load(&m, CASCADE, MODEL, &e) == 0, "face models: %s", e.msg);
    int found = 0, eyes_ok = 0;
    double worst = 0, sum = 0;
    face_opts fo = {cfg.prep_scale_factor, cfg.prep_min_neighbors, 40, 0};
    for (size_t i = 0; m && i < d.n; i++) {
        const ds_sample *s = &d.s[i];
        char path[1024];
        snprintf(path, sizeof path, "%s/img%d.jpg", s->path, s->onset);
        mer_image img = {0};
        if (image_load(&img, path, 1, &e)) {
            CHECK(0, "load %s: %s", path, e.msg);
            continue;
        }
        face_result r;
        int rc = face_find(&r, m, img.px, img.w, img.h, &fo, &e);
        CHECK(rc >= 0, "face_find %s: %s", path, e.msg);
        if (rc == 0) {
            found++;
            /* eye centres vs the renderer's rest positions (the clip's pose moves them by < 2 px) */
            synth_subject *subj = NULL;
            int index = atoi(s->subject + 3) - 1;
            if (synth_subject_new(&subj, (uint64_t)cfg.synth_seed, index, img.w, img.h, &e) == 0) {
                double iod;
                const double err = eye_error(&r, subj, &iod);
                sum += err;
                if (err > worst) worst = err;
                /* the clip's pose offset (< 1.5 px per axis + jitter) is not in the rest truth: allow 2.5 px */
                eyes_ok += err * iod < 0.10 * iod + 2.5;
                synth_subject_free(subj);
            }
        }
        image_free(&img);
    }
    printf("faces found on %d/%zu onset frames; eye error mean %.3f, worst %.3f of the inter-ocular distance\n",
           found, d.n, found ? sum / found : 0.0, worst);
    CHECK(found * 100 >= 95 * (int)d.n, "face found in >= 95 %% of clips (%d/%zu)", found, d.n);
    CHECK(eyes_ok * 100 >= 95 * (int)d.n, "eyes within 10 %% of the inter-ocular distance + 2.5 px in >= 95 %% (%d/%zu)",
          eyes_ok, d.n);

    /* landmark accuracy without pose: neutral renders at 320x240 of 16 other subjects */
    double lsum = 0, lworst = 0;
    int lfound = 0;
    uint8_t *rgb = malloc(320 * 240 * 3), *grey = malloc(320 * 240);
    for (int i = 0; m && rgb && grey && i < 16; i++) {
        synth_subject *subj = NULL;
        if (synth_subject_new(&subj, 77, i, 320, 240, &e)) break;
        synth_frame_desc f = {-1, 0, 0, 0, 0, 0, 0, 1.0, 1.5, (uint64_t)i};
        synth_render(rgb, subj, &f, &e);
        for (int k = 0; k < 320 * 240; k++) grey[k] = image_grey_of_rgb(rgb[3 * k], rgb[3 * k + 1], rgb[3 * k + 2]);
        face_result r;
        if (face_find(&r, m, grey, 320, 240, &fo, &e) == 0) {
            lfound++;
            double iod;
            const double err = eye_error(&r, subj, &iod);
            lsum += err;
            lworst = fmax(lworst, err);
        }
        synth_subject_free(subj);
    }
    free(rgb);
    free(grey);
    printf("no pose, 320x240: faces %d/16; eye error mean %.3f, worst %.3f of the inter-ocular distance\n", lfound,
           lfound ? lsum / lfound : 0.0, lworst);
    CHECK(lfound == 16, "every neutral render detected (%d/16)", lfound);
    CHECK(lfound && lsum / lfound < 0.05 && lworst < 0.10, "eye centres within 5 %% (mean) / 10 %% (worst) of the IOD");
    face_models_free(m);
    dataset_free(&d);
    config_free(&cfg);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_summary();
}
