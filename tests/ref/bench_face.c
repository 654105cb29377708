/* Benchmark (not a test): face detection + landmarks per image with mer's C code, to compare with
 * tests/ref/bench_opencv.py (cv2.CascadeClassifier) on the same images.
 *
 *   cmake --build build && cc -O2 -I. tests/ref/bench_face.c build/libmerlib.a \
 *       $(pkg-config --libs libavformat libavcodec libswscale libavutil) -lm -o /tmp/bench_face
 *   /tmp/bench_face REPEATS IMAGE...
 * Prints, per image: ms per cascade_detect (default cascade, 1.1, 3) and ms per face_find_all
 * (detection + refined landmarks of every face), best of REPEATS, single thread. */
#include <stdio.h>
#include <stdlib.h>

#include "core/face/face.h"
#include "io/media/image.h"
#include "io/base/log.h"

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_face REPEATS IMAGE...\n");
        return 2;
    }
    int reps = atoi(argv[1]);
    mer_err err = {0};
    face_models *m;
    double t0 = now_seconds();
    if (face_models_load(&m, "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
                         "/usr/share/dlib/shape_predictor_68_face_landmarks.dat", &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    printf("model load %.3f s\n", now_seconds() - t0);
    for (int a = 2; a < argc; a++) {
        mer_image im = {0};
        if (image_load(&im, argv[a], 1, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        cascade_opts co = {1.1, 3, 0, 0, 0, 0};
        double best_det = 1e9, best_all = 1e9;
        int nf = 0;
        for (int r = 0; r < reps; r++) {
            int(*boxes)[4] = NULL, n = 0;
            t0 = now_seconds();
            cascade_detect(&boxes, &n, face_models_cascade(m), im.px, im.w, im.h, &co, &err);
            double t = now_seconds() - t0;
            if (t < best_det) best_det = t;
            free(boxes);
            face_result *faces = NULL;
            t0 = now_seconds();
            face_find_all(&faces, &nf, m, im.px, im.w, im.h, NULL, &err);
            t = now_seconds() - t0;
            if (t < best_all) best_all = t;
            free(faces);
        }
        printf("%s %dx%d faces %d: detect %.2f ms, detect+landmarks %.2f ms\n", argv[a], im.w, im.h, nf,
               best_det * 1e3, best_all * 1e3);
        image_free(&im);
    }
    face_models_free(m);
    return 0;
}
