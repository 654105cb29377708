/* io/synth: determinism (memory and files), motion amplitude, sub-pixel motion, layout of the output. */
#include <dirent.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/base/rng.h"
#include "io/data/csv.h"
#include "io/data/synth.h"
#include "tests/check.h"

static double luma(const uint8_t *p) { return 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]; }

/* Least-squares horizontal shift between two renders: I1 - I0 ~ -dx * dI/dx. */
static double shift_x(const uint8_t *a, const uint8_t *b, int w, int h) {
    double num = 0, den = 0;
    for (int y = 1; y < h - 1; y++)
        for (int x = 1; x < w - 1; x++) {
            double gx = (luma(a + ((size_t)y * w + x + 1) * 3) - luma(a + ((size_t)y * w + x - 1) * 3)) * 0.5;
            num += gx * (luma(b + ((size_t)y * w + x) * 3) - luma(a + ((size_t)y * w + x) * 3));
            den += gx * gx;
        }
    return -num / den;
}

static int read_file(const char *path, uint8_t **buf, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    *buf = malloc(*n + 1);
    size_t got = fread(*buf, 1, *n, f);
    fclose(f);
    return got == *n ? 0 : -1;
}

static int files_equal(const char *a, const char *b) {
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    int ok = read_file(a, &x, &nx) == 0 && read_file(b, &y, &ny) == 0 && nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return ok;
}

static void rm_rf(const char *path) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", path);
}

int main(void) {
    mer_err e = {0};
    const int w = 160, h = 120;
    synth_subject *s = NULL, *s2 = NULL;
    CHECK(synth_subject_new(&s, 42, 0, w, h, &e) == 0, "subject: %s", e.msg);
    CHECK(synth_subject_new(&s2, 42, 0, w, h, &e) == 0, "subject again: %s", e.msg);
    if (!s || !s2) return check_summary();
    uint8_t *a = malloc((size_t)w * h * 3), *b = malloc((size_t)w * h * 3), *c = malloc((size_t)w * h * 3);

    /* determinism in memory, noise included */
    synth_frame_desc f = {synth_class_index("happiness"), 0, 2.0, 0.7, 0.2, -0.1, 0.001, 1.01, 1.5, 99};
    synth_render(a, s, &f, &e);
    synth_render(b, s2, &f, &e);
    CHECK(!memcmp(a, b, (size_t)w * h * 3), "same subject + desc -> identical pixels");
    f.noise_seed = 100;
    synth_render(b, s, &f, &e);
    CHECK(memcmp(a, b, (size_t)w * h * 3) != 0, "another noise seed -> other pixels");
    synth_subject_free(s2);
    CHECK(synth_subject_new(&s2, 43, 0, w, h, &e) == 0, "subject of another seed");
    f.noise_seed = 99;
    synth_render(b, s2, &f, &e);
    CHECK(memcmp(a, b, (size_t)w * h * 3) != 0, "another seed -> another face");

    /* apex displacement: the field's peak equals the requested amplitude, scaled by progress */
    const char *names[] = {"happiness", "disgust", "surprise", "repression", "others", "contempt"};
    for (int k = 0; k < 6; k++) {
        synth_frame_desc m = {synth_class_index(names[k]), k, 1.7, 1.0, 0, 0, 0, 1, 0, 0};
        float *fld = malloc((size_t)w * h * 2 * sizeof(float));
        double peak = 0, peak_half = 0;
        synth_displacement_field(fld, s, &m);
        for (size_t i = 0; i < (size_t)w * h; i++) peak = fmax(peak, hypot(fld[2 * i], fld[2 * i + 1]));
        m.progress = 0.5;
        synth_displacement_field(fld, s, &m);
        for (size_t i = 0; i < (size_t)w * h; i++) peak_half = fmax(peak_half, hypot(fld[2 * i], fld[2 * i + 1]));
        free(fld);
        CHECK_NEAR(peak, 1.7, 0.08, "%s: apex peak displacement", names[k]);
        CHECK_NEAR(peak_half, 0.85, 0.04, "%s: half-way peak displacement", names[k]);
    }
    /* the displacement is local: far from the face nothing moves */
    {
        synth_frame_desc m = {synth_class_index("surprise"), 0, 2.0, 1.0, 0, 0, 0, 1, 0, 0};
        float *fld = malloc((size_t)w * h * 2 * sizeof(float));
        synth_displacement_field(fld, s, &m);
        double ux = fld[0], uy = fld[1];
        free(fld);
        CHECK(fabs(ux) + fabs(uy) < 1e-6, "no motion in the corner");
    }

    /* sub-pixel head motion: a 0.3 px shift is measured as 0.3 px, not 0 or 1 */
    {
        synth_frame_desc n0 = {-1, 0, 0, 0, 0, 0, 0, 1, 0, 0}, n1 = n0;
        n1.dx = 0.3;
        synth_render(a, s, &n0, &e);
        synth_render(c, s, &n1, &e);
        CHECK_NEAR(shift_x(a, c, w, h), 0.3, 0.06, "sub-pixel shift estimate");
        n1.dx = 0.0;
        n1.progress = 1.0;
        n1.cls = synth_class_index("happiness");
        n1.amplitude_px = 0.5;
        synth_render(c, s, &n1, &e);
        long changed = 0;
        for (size_t i = 0; i < (size_t)w * h * 3; i++) changed += a[i] != c[i];
        CHECK(changed > 50 && changed < (long)w * h, "0.5 px expression changes some pixels locally (%ld)", changed);
    }
    free(a);
    free(b);
    free(c);
    synth_subject_free(s);
    synth_subject_free(s2);

    CHECK(synth_class_index("Happiness") >= 0 && synth_class_index("nonsense") == -1, "class names");

    /* files: same seed -> byte-identical dataset; CSV in CASME II columns; frames onset..offset exist */
    char d1[] = "/tmp/mer_test_synth_XXXXXX", d2[] = "/tmp/mer_test_synth_XXXXXX";
    CHECK(mkdtemp(d1) && mkdtemp(d2), "temp dirs");
    synth_opts o;
    synth_opts_default(&o);
    o.subjects = 2;
    o.per_class = 1;
    o.width = 128;
    o.height = 96;
    o.seed = 7;
    char r1[4200], r2[4200];
    snprintf(r1, sizeof r1, "%s/ds", d1);
    snprintf(r2, sizeof r2, "%s/ds", d2);
    CHECK(synth_generate(r1, NULL, &o, &e) == 0, "generate 1: %s", e.msg);
    o.threads = 2;
    CHECK(synth_generate(r2, NULL, &o, &e) == 0, "generate 2 (2 threads): %s", e.msg);
    CHECK(synth_generate(r2, NULL, &o, &e) == -1 && strstr(e.msg, "already exists"), "refuses to overwrite: %s",
          e.msg);
    csv_table t = {0};
    char csvp[4300];
    snprintf(csvp, sizeof csvp, "%s/coding.csv", r1);
    CHECK(csv_read(&t, csvp, &e) == 0, "read coding.csv: %s", e.msg);
    CHECK(t.n == 1 + 2 * 5, "header + 10 clips (%zu)", t.n);
    int frames = 0, identical = 0, classes_seen = 0;
    if (t.n == 11) {
        CHECK_STR(t.rows[0].f[0], "Subject", "CASME II header");
        CHECK_STR(t.rows[0].f[6], "Estimated Emotion", "CASME II header");
        for (size_t i = 1; i < t.n; i++) {
            const csv_row *r = &t.rows[i];
            int on = atoi(r->f[2]), ap = atoi(r->f[3]), off = atoi(r->f[4]);
            CHECK(on < ap && ap < off && off - on + 1 >= 20 && off - on + 1 <= 60, "onset<apex<offset, 20-60 frames");
            if (!strcmp(r->f[6], "surprise")) classes_seen++;
            for (int fr = on - 1; fr <= off + 1; fr++) {
                char p1[4400], p2[4400];
                snprintf(p1, sizeof p1, "%s/sub%02d/%s/img%d.jpg", r1, atoi(r->f[0]), r->f[1], fr);
                snprintf(p2, sizeof p2, "%s/sub%02d/%s/img%d.jpg", r2, atoi(r->f[0]), r->f[1], fr);
                int exists = access(p1, F_OK) == 0;
                CHECK(exists == (fr >= on && fr <= off), "frame %s exists iff within onset..offset", p1);
                if (exists) {
                    frames++;
                    identical += files_equal(p1, p2);
                }
            }
        }
    }
    CHECK(classes_seen == 2, "each class once per subject");
    CHECK(frames > 0 && identical == frames, "byte-identical frames for the same seed (%d of %d)", identical, frames);
    char csv2[4300];
    snprintf(csv2, sizeof csv2, "%s/coding.csv", r2);
    CHECK(files_equal(csvp, csv2), "identical CSV");
    csv_free(&t);
    rm_rf(d1);
    rm_rf(d2);

    /* bad options */
    o.classes = (const char *const[]){"happiness", "joy"};
    o.n_classes = 2;
    CHECK(synth_generate("/tmp/mer_never", NULL, &o, &e) == -1 && strstr(e.msg, "'joy'"), "unknown class: %s", e.msg);
    return check_summary();
}
