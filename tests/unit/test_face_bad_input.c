/* Bad input for the face code: truncated / garbage / wrong cascade XML and .dat files, empty and 1x1
 * images, a non-face image. Every failure must be a clean error that names the file (checked here), with
 * no crash and no leak (this test also runs under ASan+UBSan). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/face/face.h"
#include "core/prep.h"
#include "io/base/fs.h"
#include "io/media/image.h"
#include "tests/check.h"

static const char *CASCADE = "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml";
static const char *LBP = "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml";
static const char *MODEL = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

static char *read_all(const char *path, size_t *len) {
    char *b = NULL;
    mer_err err = {0};
    return fs_read_file(&b, len, path, &err) == 0 ? b : NULL;
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

/* cascade_load on `data` written to a temp file must fail with a message naming the file. */
static void expect_bad_cascade(const char *tmp, const void *data, size_t n, const char *what, const char *needle) {
    write_file(tmp, data, n);
    mer_err err = {0};
    cascade *c = NULL;
    int rc = cascade_load(&c, tmp, &err);
    CHECK(rc < 0 && c == NULL, "%s: rejected", what);
    CHECK(strstr(err.msg, tmp) != NULL, "%s: message names the file: %s", what, err.msg);
    if (needle) CHECK(strstr(err.msg, needle) != NULL, "%s: message says '%s': %s", what, needle, err.msg);
    cascade_free(c);
}

static void test_cascades(const char *tmp) {
    size_t n;
    char *xml = read_all(CASCADE, &n);
    if (!xml) {
        printf("SKIP cascade part: %s missing (opencv-data)\n", CASCADE);
        return;
    }
    size_t cuts[] = {0, 1, 10, 100, 1000, n / 3, n / 2, n - 30, n - 3};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "cascade truncated at %zu of %zu", cuts[i], n);
        expect_bad_cascade(tmp, xml, cuts[i], what, NULL);
    }
    /* garbage: random bytes, then random bytes inside a valid wrapper */
    unsigned s = 12345;
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)((s = s * 1103515245u + 12345u) >> 16);
    expect_bad_cascade(tmp, junk, sizeof junk, "garbage bytes", NULL);
    const char *cases[][3] = {
        {"<opencv_storage><x>1</x></opencv_storage>", "no cascade", "missing <stageType>"},
        {"<opencv_storage><c><stageType>GENTLE</stageType></c></opencv_storage>", "stage type", "not supported"},
        {"<opencv_storage><c><stageType>BOOST</stageType><featureType>HOG</featureType></c></opencv_storage>", "HOG",
         "not supported"},
        {"<opencv_storage><h type_id=\"opencv-haar-classifier\"><size>20 20</size><stages></stages></h></opencv_storage>",
         "old format", "old-format"},
        {"<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height>"
         "<width>24</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>1"
         "</stageThreshold><weakClassifiers><_><internalNodes>0 -1 5 0.5</internalNodes><leafValues>1 2</leafValues>"
         "</_></weakClassifiers></_></stages><features><_><rects><_>0 0 2 2 -1.</_><_>2 2 2 2 1.</_></rects></_>"
         "</features></c></opencv_storage>",
         "feature index out of range", "out of range"},
        {"<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height>"
         "<width>24</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>1"
         "</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 0.5</internalNodes><leafValues>1 2</leafValues>"
         "</_></weakClassifiers></_></stages><features><_><rects><_>20 20 8 2 -1.</_></rects></_>"
         "</features></c></opencv_storage>",
         "rect outside window", "outside the window"},
        {"<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height>"
         "<width>24</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>1"
         "</stageThreshold><weakClassifiers><_><internalNodes>0 1 0 0.5</internalNodes><leafValues>1 2</leafValues>"
         "</_></weakClassifiers></_></stages><features><_><rects><_>0 0 2 2 -1.</_></rects></_>"
         "</features></c></opencv_storage>",
         "child index out of range", "child index"},
        {"<opencv_storage><c><stageType>BOOST</stageType><featureType>HAAR</featureType><height>24</height>"
         "<width>24</width><featureParams><maxCatCount>0</maxCatCount></featureParams><stages><_><stageThreshold>x"
         "</stageThreshold></_></stages><features><_><rects><_>0 0 2 2 -1.</_></rects></_>"
         "</features></c></opencv_storage>",
         "not a number", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_bad_cascade(tmp, cases[i][0], strlen(cases[i][0]), cases[i][1], cases[i][2]);
    free(xml);
    mer_err err = {0};
    cascade *c = NULL;
    CHECK(cascade_load(&c, "/nonexistent/x.xml", &err) < 0 && strstr(err.msg, "/nonexistent/x.xml"), "missing file: %s",
          err.msg);
    /* LBP file truncated too */
    char *lbp = read_all(LBP, &n);
    if (lbp) {
        expect_bad_cascade(tmp, lbp, n / 2, "LBP cascade truncated", NULL);
        free(lbp);
    }
}

static void expect_bad_model_mem(const void *data, size_t n, const char *what) {
    mer_err err = {0};
    shape_model *m = NULL;
    int rc = shape_model_load_mem(&m, data, n, "mem.dat", &err);
    CHECK(rc < 0 && m == NULL, "%s: rejected", what);
    CHECK(strstr(err.msg, "mem.dat") != NULL, "%s: message names the file: %s", what, err.msg);
    shape_model_free(m);
}

static void test_models(const char *tmp) {
    uint8_t junk[2048];
    unsigned s = 999;
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)((s = s * 1103515245u + 12345u) >> 16);
    expect_bad_model_mem(junk, sizeof junk, "garbage");
    expect_bad_model_mem(junk, 0, "empty");
    const uint8_t v2[] = {0x01, 0x02};
    expect_bad_model_mem(v2, sizeof v2, "version 2");
    /* file loader on an empty and on a garbage file */
    mer_err err = {0};
    shape_model *m = NULL;
    write_file(tmp, "", 0);
    CHECK(shape_model_load(&m, tmp, &err) < 0 && strstr(err.msg, tmp), "empty .dat file: %s", err.msg);
    write_file(tmp, "<?xml version=\"1.0\"?>", 21);
    CHECK(shape_model_load(&m, tmp, &err) < 0 && strstr(err.msg, tmp), "text as .dat: %s", err.msg);
    CHECK(shape_model_load(&m, "/nonexistent/x.dat", &err) < 0 && strstr(err.msg, "/nonexistent/x.dat"),
          "missing file: %s", err.msg);
    size_t n;
    char *dat = read_all(MODEL, &n);
    if (!dat) {
        printf("SKIP model truncation part: %s missing (libdlib-data)\n", MODEL);
        return;
    }
    size_t cuts[] = {1, 2, 6, 100, 5000, 1000000, n / 2, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, ".dat truncated at %zu of %zu", cuts[i], n);
        expect_bad_model_mem(dat, cuts[i], what);
    }
    /* flip the version byte and a count byte */
    dat[1] = 7;
    expect_bad_model_mem(dat, n, "wrong version");
    free(dat);
}

/* A valid model whose feature pools exceed the stack buffer (1500 then 3000 pixels per level). */
static void test_big_pool_model(void) {
    const char *src = getenv("MER_SRC");
    char p[4096];
    snprintf(p, sizeof p, "%s/tests/fuzz/seeds_dat/big_pool.dat", src ? src : ".");
    mer_err err = {0};
    shape_model *m = NULL;
    CHECK(shape_model_load(&m, p, &err) == 0, "big_pool.dat: %s", err.msg);
    if (!m) return;
    uint8_t img[40 * 30];
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(i * 7);
    double pts[3][2];
    long r[4] = {-5, 3, 30, 38};
    shape_predict(pts, m, img, 40, 30, r);
    CHECK(isfinite(pts[0][0]) && isfinite(pts[2][1]), "big pool prediction finite");
    shape_model_free(m);
}

static void test_images(void) {
    mer_err err = {0};
    face_models *m = NULL;
    int have_model = access(MODEL, R_OK) == 0;
    if (face_models_load(&m, CASCADE, have_model ? MODEL : NULL, &err) < 0) {
        printf("SKIP image part: %s\n", err.msg);
        return;
    }
    face_result r;
    uint8_t one = 128;
    CHECK(face_find(&r, m, &one, 0, 0, NULL, &err) < 0 && strstr(err.msg, "empty"), "0x0 image: %s", err.msg);
    CHECK(face_find(&r, m, NULL, 10, 10, NULL, &err) < 0, "NULL pixels");
    CHECK(face_find(&r, m, &one, 1, 1, NULL, &err) == 1, "1x1 image: no face");
    uint8_t flat[64 * 48];
    memset(flat, 200, sizeof flat);
    CHECK(face_find(&r, m, flat, 64, 48, NULL, &err) == 1, "flat image: no face");
    face_opts bad = {0.5, 3, 0, 0};
    CHECK(face_find(&r, m, flat, 64, 48, &bad, &err) < 0 && strstr(err.msg, "scale"), "scale < 1: %s", err.msg);
    face_opts tiny_step = {1.0000001, 3, 0, 0};
    uint8_t *big = calloc(2000 * 2000, 1);
    if (big) {
        CHECK(face_find(&r, m, big, 2000, 2000, &tiny_step, &err) < 0 && strstr(err.msg, "pyramid"),
              "scale factor too close to 1: %s", err.msg);
        free(big);
    }
    const char *fix = getenv("MER_FIXTURES");
    if (!fix) fix = "tests/fixtures";
    char p[4096];
    snprintf(p, sizeof p, "%s/face/coffee.png", fix);
    mer_image im = {0};
    if (image_load(&im, p, 1, &err) == 0) {
        CHECK(face_find(&r, m, im.px, im.w, im.h, NULL, &err) == 1, "coffee (non-face) image: no face");
        /* preprocessing it is a permanent failure: the farm does not retry it */
        prep_opts o = {.align = {.size = 64, .eye_y = 0.4, .eye_dist = 0.3}, .scale_factor = 1.1, .min_neighbors = 3,
                       .min_face = 30};
        prep_result pr;
        CHECK(prep_image(&pr, &im, &o, m, &err) < 0 && strstr(err.msg, "no face") && err.kind == MER_ERR_NOFACE,
              "prep of a non-face image: %s (%s)", err.msg, mer_err_kind_name(err.kind));
        image_free(&im);
    } else {
        CHECK(0, "%s", err.msg);
    }
    snprintf(p, sizeof p, "%s/face/astronaut.png", fix);
    if (image_load(&im, p, 1, &err) == 0) {
        CHECK(face_find(&r, m, im.px, im.w, im.h, NULL, &err) == 0, "astronaut: a face");
        CHECK(r.box[0] == 177 && r.box[1] == 66 && r.box[2] == 95, "astronaut box as OpenCV (177,66,95,95)");
        if (have_model) {
            CHECK(r.has_landmarks, "landmarks present");
            /* eye corners lie inside the box, left of the right eye's */
            CHECK(r.pts[36][0] > r.box[0] && r.pts[45][0] < r.box[0] + r.box[2] && r.pts[36][0] < r.pts[45][0],
                  "eye corners plausible");
            long rect[4] = {179, 75, 266, 162};
            face_result q;
            CHECK(face_landmarks(&q, m, im.px, im.w, im.h, rect, &err) == 0, "face_landmarks");
            long badr[4] = {10, 10, 5, 5};
            CHECK(face_landmarks(&q, m, im.px, im.w, im.h, badr, &err) < 0, "inverted box rejected");
        }
        image_free(&im);
    }
    face_models_free(m);
    CHECK(face_models_load(&m, CASCADE, "/nonexistent/model.dat", &err) < 0 && strstr(err.msg, "/nonexistent/model.dat"),
          "missing model named: %s", err.msg);
}

int main(void) {
    if (access(CASCADE, R_OK) != 0) SKIP_ALL("%s missing (apt-get install opencv-data)", CASCADE);
    char tmp[] = "/tmp/mer_face_bad_XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) SKIP_ALL("cannot create a temp file");
    close(fd);
    test_cascades(tmp);
    test_models(tmp);
    test_big_pool_model();
    test_images();
    unlink(tmp);
    return check_summary();
}
