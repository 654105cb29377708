/* dlib shape predictor vs dlib: landmarks from tests/ref/dlib_ref.cpp on the same grey pixels and boxes
 * (tests/fixtures/face/dlib_landmarks.txt). Every point must be within 1 px of dlib's integer point; we
 * also count exact agreement after dlib's rounding. Refinement jobs check face_box_refit + prediction
 * against the same procedure written with dlib types. Needs libdlib-data (skips otherwise). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/face/face.h"
#include "io/media/image.h"
#include "tests/check.h"

static const char *MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

int main(void) {
    if (access(MODEL, R_OK) != 0) SKIP_ALL("%s missing (apt-get install libdlib-data)", MODEL);
    const char *fix = getenv("MER_FIXTURES");
    if (!fix) fix = "tests/fixtures";
    mer_err err = {0};
    shape_model *sm = NULL;
    CHECK(shape_model_load(&sm, MODEL, &err) == 0, "load: %s", err.msg);
    if (!sm) return check_summary();
    CHECK(shape_model_parts(sm) == 68, "68 parts");
    const float *mean = shape_model_mean(sm);
    CHECK_NEAR(mean[0], 0.02945, 1e-5, "mean x0 (of the dlib model)");
    CHECK_NEAR(mean[2 * 36], 0.2139, 1e-4, "mean pt36 x");
    CHECK_NEAR(mean[2 * 30 + 1], 0.5470, 1e-4, "mean pt30 y");

    char path[4096];
    snprintf(path, sizeof path, "%s/face/dlib_landmarks.txt", fix);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "open %s", path);
    if (!f) return check_summary();
    char line[8192], cur[256] = "";
    mer_image im = {0};
    int jobs = 0, pts_total = 0, pts_exact = 0, worst = 0, refine_jobs = 0, boxes_same = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char img[256];
        long in[4], outr[4];
        int refine, pos;
        if (sscanf(line, "%255s %ld %ld %ld %ld %d %ld %ld %ld %ld%n", img, &in[0], &in[1], &in[2], &in[3], &refine,
                   &outr[0], &outr[1], &outr[2], &outr[3], &pos) != 10)
            continue;
        long want[68][2];
        char *s = line + pos;
        for (int i = 0; i < 68; i++) want[i][0] = strtol(s, &s, 10), want[i][1] = strtol(s, &s, 10);
        if (strcmp(img, cur)) {
            image_free(&im);
            char ip[4096];
            snprintf(ip, sizeof ip, "%s/face/%s", fix, img);
            if (image_load(&im, ip, 1, &err) < 0) {
                CHECK(0, "%s", err.msg);
                break;
            }
            snprintf(cur, sizeof cur, "%s", img);
        }
        double pts[68][2];
        long rect[4] = {in[0], in[1], in[2], in[3]};
        shape_predict(pts, sm, im.px, im.w, im.h, rect);
        for (int k = 0; k < refine; k++) {
            face_box_refit(rect, (const double(*)[2])pts, sm);
            shape_predict(pts, sm, im.px, im.w, im.h, rect);
        }
        if (refine) {
            refine_jobs++;
            int same = !memcmp(rect, outr, sizeof rect);
            boxes_same += same;
            CHECK(same, "%s refine %d: box %ld %ld %ld %ld, dlib %ld %ld %ld %ld", img, refine, rect[0], rect[1],
                  rect[2], rect[3], outr[0], outr[1], outr[2], outr[3]);
        }
        int job_worst = 0;
        for (int i = 0; i < 68; i++) {
            long rx = (long)floor(pts[i][0] + 0.5), ry = (long)floor(pts[i][1] + 0.5);
            pts_total++;
            pts_exact += rx == want[i][0] && ry == want[i][1];
            double d = fmax(fabs(pts[i][0] - want[i][0]), fabs(pts[i][1] - want[i][1]));
            int dd = (int)ceil(d);
            if (dd > job_worst) job_worst = dd;
            CHECK(d <= 1.0, "%s box %ld %ld %ld %ld refine %d: point %d (%.2f, %.2f) vs dlib (%ld, %ld)", img, in[0],
                  in[1], in[2], in[3], refine, i, pts[i][0], pts[i][1], want[i][0], want[i][1]);
        }
        if (job_worst > worst) worst = job_worst;
        jobs++;
    }
    fclose(f);
    image_free(&im);
    printf("landmarks: %d jobs (%d with refinement, %d final boxes identical), %d/%d points identical to dlib "
           "after rounding, worst |diff| <= %d px\n",
           jobs, refine_jobs, boxes_same, pts_exact, pts_total, worst);
    CHECK(jobs >= 60, "expected the full job list, got %d", jobs);

    /* a box outside the image: every feature pixel reads 0, prediction must still be finite */
    uint8_t px[4 * 4] = {0};
    long far[4] = {1000, 1000, 1100, 1100};
    double pts[68][2];
    shape_predict(pts, sm, px, 4, 4, far);
    int finite = 1;
    for (int i = 0; i < 68; i++) finite &= isfinite(pts[i][0]) && isfinite(pts[i][1]);
    CHECK(finite, "prediction outside the image is finite");
    shape_model_free(sm);
    return check_summary();
}
