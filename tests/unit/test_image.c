/* io/image: load/save through FFmpeg, checked against files written by the ffmpeg CLI from known raw pixels.
 * Lossless formats must round-trip bit-exactly; JPEG within a small tolerance of the ffmpeg CLI's own decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/media/image.h"
#include "tests/check.h"
#include "tests/unit/media_testutil.h"

static char dir[] = "/tmp/mer_test_image_XXXXXX";

static void pattern(uint8_t *p, int w, int h, int c, unsigned seed) {
    for (int i = 0; i < w * h * c; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* ffmpeg CLI: raw pixels -> file in `ext`, then image_load must give exactly the raw pixels back. */
static void check_lossless(int w, int h, int c, const char *ext) {
    char raw[512], out[512];
    snprintf(raw, sizeof raw, "%s/in_%dx%dx%d.raw", dir, w, h, c);
    snprintf(out, sizeof out, "%s/cli_%dx%dx%d.%s", dir, w, h, c, ext);
    uint8_t *px = malloc((size_t)w * h * c);
    pattern(px, w, h, c, (unsigned)(w * 31 + h * 7 + c));
    write_bytes(raw, px, (size_t)w * h * c);
    int rc = sh("ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt %s -s %dx%d -i %s -frames:v 1 %s",
                c == 1 ? "gray" : "rgb24", w, h, raw, out);
    CHECK(rc == 0, "ffmpeg wrote %s", out);
    mer_image img;
    mer_err err = {0};
    CHECK(image_load(&img, out, c, &err) == 0, "load %s: %s", out, err.msg);
    CHECK(img.w == w && img.h == h && img.c == c, "%s shape %dx%dx%d", out, img.w, img.h, img.c);
    if (img.px && img.w == w && img.h == h)
        CHECK(memcmp(img.px, px, (size_t)w * h * c) == 0, "%s pixels bit-exact", out);
    /* The other channel count follows the documented rules. */
    mer_image other;
    CHECK(image_load(&other, out, 4 - c, &err) == 0, "load %s as %d channels: %s", out, 4 - c, err.msg);
    int ok = other.px != NULL;
    for (int i = 0; ok && i < w * h; i++) {
        if (c == 1) ok = other.px[3 * i] == px[i] && other.px[3 * i + 1] == px[i] && other.px[3 * i + 2] == px[i];
        else ok = other.px[i] == (uint8_t)((9798 * px[3 * i] + 19235 * px[3 * i + 1] + 3735 * px[3 * i + 2] + 16384) >> 15);
    }
    CHECK(ok, "%s channel conversion %d -> %d", out, c, 4 - c);
    image_free(&other);
    /* Our encoder round-trips too. */
    snprintf(out, sizeof out, "%s/ours_%dx%dx%d.%s", dir, w, h, c, ext);
    CHECK(image_save(out, &img, &err) == 0, "save %s: %s", out, err.msg);
    mer_image back;
    CHECK(image_load(&back, out, c, &err) == 0, "reload %s: %s", out, err.msg);
    if (back.px && back.w == w && back.h == h)
        CHECK(memcmp(back.px, px, (size_t)w * h * c) == 0, "%s save/load bit-exact", out);
    else
        CHECK(0, "%s reload shape", out);
    /* And the ffmpeg CLI reads what we wrote to the same pixels. */
    char raw2[512];
    snprintf(raw2, sizeof raw2, "%s/back.raw", dir);
    rc = sh("ffmpeg -nostdin -loglevel error -y -i %s -f rawvideo -pix_fmt %s %s", out, c == 1 ? "gray" : "rgb24", raw2);
    size_t n = 0;
    uint8_t *p2 = read_bytes(raw2, &n);
    CHECK(rc == 0 && p2 && n == (size_t)w * h * c && !memcmp(p2, px, n), "ffmpeg CLI decodes our %s identically", out);
    free(p2);
    image_free(&back);
    image_free(&img);
    free(px);
}

static void check_jpeg(int w, int h) {
    char raw[512], jpg[512], dec[512];
    snprintf(raw, sizeof raw, "%s/j_%dx%d.raw", dir, w, h);
    snprintf(jpg, sizeof jpg, "%s/j_%dx%d.jpg", dir, w, h);
    snprintf(dec, sizeof dec, "%s/j_%dx%d.dec", dir, w, h);
    /* a smooth pattern (JPEG of noise is meaningless) */
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = px + 3 * ((size_t)y * w + x);
            q[0] = (uint8_t)(40 + 150 * x / w);
            q[1] = (uint8_t)(200 - 120 * y / h);
            q[2] = (uint8_t)(90 + (x + y) % 32);
        }
    write_bytes(raw, px, (size_t)w * h * 3);
    int rc = sh("ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt rgb24 -s %dx%d -i %s -q:v 2 -frames:v 1 %s && "
                "ffmpeg -nostdin -loglevel error -y -i %s -f rawvideo -pix_fmt rgb24 %s", w, h, raw, jpg, jpg, dec);
    CHECK(rc == 0, "ffmpeg jpeg %s", jpg);
    size_t n = 0;
    uint8_t *ref = read_bytes(dec, &n);
    mer_image img;
    mer_err err = {0};
    CHECK(image_load(&img, jpg, 3, &err) == 0, "load %s: %s", jpg, err.msg);
    if (img.px && ref && n == (size_t)w * h * 3 && img.w == w && img.h == h) {
        double d = mean_abs_diff(img.px, ref, n);
        CHECK(d < 1.5, "%s: mean |ours - ffmpeg CLI| = %.3f", jpg, d);
        double d0 = mean_abs_diff(img.px, px, n);
        CHECK(d0 < 4.0, "%s: mean |decoded - original| = %.3f", jpg, d0);
        /* our JPEG writer: small error too */
        char ours[512];
        snprintf(ours, sizeof ours, "%s/ours_%dx%d.jpeg", dir, w, h);
        CHECK(image_save(ours, &img, &err) == 0, "save %s: %s", ours, err.msg);
        mer_image back;
        CHECK(image_load(&back, ours, 3, &err) == 0, "reload %s: %s", ours, err.msg);
        if (back.px) CHECK(mean_abs_diff(back.px, img.px, n) < 2.0, "%s round trip error %.3f", ours, mean_abs_diff(back.px, img.px, n));
        image_free(&back);
        mer_image g;
        CHECK(image_load(&g, jpg, 1, &err) == 0 && g.c == 1, "load %s grey: %s", jpg, err.msg);
        int ok = g.px != NULL;
        for (int i = 0; ok && i < w * h; i++) ok = g.px[i] == image_grey_of_rgb(img.px[3 * i], img.px[3 * i + 1], img.px[3 * i + 2]);
        CHECK(ok, "%s: grey = OpenCV formula of the RGB decode", jpg);
        image_free(&g);
    } else {
        CHECK(0, "%s: shapes (ref %zu bytes)", jpg, n);
    }
    image_free(&img);
    free(ref);
    free(px);
}

static void check_error(const char *path, const char *want) {
    mer_image img = {0};
    mer_err err = {0};
    int rc = image_load(&img, path, 3, &err);
    if (getenv("MER_TEST_VERBOSE")) printf("error: %s\n", err.msg);
    CHECK(rc < 0 && img.px == NULL, "%s must fail", path);
    CHECK(strstr(err.msg, path) != NULL, "message names the file: %s", err.msg);
    if (want) CHECK(strstr(err.msg, want) != NULL, "message says '%s': %s", want, err.msg);
}

int main(void) {
    if (system("ffmpeg -version >/dev/null 2>&1") != 0) SKIP_ALL("the ffmpeg CLI is needed to make the test files");
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");

    /* Known colours -> known OpenCV grey values (cv2.cvtColor(..., COLOR_RGB2GRAY)). */
    CHECK(image_grey_of_rgb(255, 0, 0) == 76 && image_grey_of_rgb(0, 255, 0) == 150 &&
          image_grey_of_rgb(0, 0, 255) == 29 && image_grey_of_rgb(255, 255, 255) == 255 &&
          image_grey_of_rgb(0, 0, 0) == 0 && image_grey_of_rgb(10, 10, 10) == 10, "OpenCV grey values");

    const char *lossless[] = {"png", "bmp", "ppm", "pgm"};
    int sizes[][2] = {{7, 5}, {1, 1}, {33, 17}, {2, 3}};
    for (size_t s = 0; s < 4; s++)
        for (size_t e = 0; e < 4; e++) {
            int c = !strcmp(lossless[e], "pgm") ? 1 : !strcmp(lossless[e], "ppm") ? 3 : (int)(1 + 2 * ((s + e) % 2));
            check_lossless(sizes[s][0], sizes[s][1], c, lossless[e]);
        }
    check_lossless(16, 9, 1, "png");
    check_lossless(16, 9, 3, "png");
    /* TIFF (no parser in FFmpeg, unknown tags): the whole-file path decodes it bit-exactly */
    {
        char raw[512], tif[512];
        snprintf(raw, sizeof raw, "%s/t.raw", dir);
        snprintf(tif, sizeof tif, "%s/t.tif", dir);
        uint8_t px[13 * 11 * 3];
        pattern(px, 13, 11, 3, 99);
        write_bytes(raw, px, sizeof px);
        CHECK(sh("ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt rgb24 -s 13x11 -i %s -frames:v 1 %s", raw, tif) == 0, "cli tif");
        mer_image img;
        mer_err err = {0};
        CHECK(image_load(&img, tif, 3, &err) == 0 && img.w == 13 && img.h == 11 && !memcmp(img.px, px, sizeof px),
              "tif bit-exact: %s", err.msg);
        image_free(&img);
    }
    /* PNG variants through swscale: 16-bit, alpha (dropped), grey+alpha, 16-bit grey; and a PNG named .jpg */
    {
        const char *fmts[] = {"rgb48be", "rgba", "ya8", "gray16be"};
        for (int i = 0; i < 4; i++) {
            int c = i < 2 ? 3 : 1;
            char raw[512], png[512];
            snprintf(raw, sizeof raw, "%s/v%d.raw", dir, i);
            snprintf(png, sizeof png, "%s/v%d.png", dir, i);
            uint8_t px[9 * 7 * 3];
            pattern(px, 9, 7, c, 40u + (unsigned)i);
            write_bytes(raw, px, (size_t)9 * 7 * c);
            CHECK(sh("ffmpeg -nostdin -loglevel error -y -f rawvideo -pix_fmt %s -s 9x7 -i %s -pix_fmt %s -frames:v 1 %s",
                     c == 3 ? "rgb24" : "gray", raw, fmts[i], png) == 0, "cli %s", fmts[i]);
            mer_image img;
            mer_err err = {0};
            CHECK(image_load(&img, png, c, &err) == 0 && img.c == c && !memcmp(img.px, px, (size_t)9 * 7 * c),
                  "png %s bit-exact: %s", fmts[i], err.msg);
            image_free(&img);
        }
        char misnamed[512];
        snprintf(misnamed, sizeof misnamed, "%s/really_a_png.jpg", dir);
        CHECK(sh("cp %s/v1.png %s", dir, misnamed) == 0, "copy");
        mer_image a, b;
        mer_err err = {0};
        char orig[512];
        snprintf(orig, sizeof orig, "%s/v1.png", dir);
        CHECK(image_load(&a, misnamed, 3, &err) == 0 && image_load(&b, orig, 3, &err) == 0 && !memcmp(a.px, b.px, 9 * 7 * 3),
              "content decides the decoder, not the extension: %s", err.msg);
        image_free(&a);
        image_free(&b);
    }
    check_jpeg(37, 23);
    check_jpeg(64, 48);

    /* Bad input: each error names the file. */
    char p[512];
    snprintf(p, sizeof p, "%s/missing.png", dir);
    check_error(p, "No such file");
    snprintf(p, sizeof p, "%s/empty.png", dir);
    write_bytes(p, (const uint8_t *)"", 0);
    check_error(p, "empty");
    snprintf(p, sizeof p, "%s/garbage.jpg", dir);
    write_bytes(p, (const uint8_t *)"this is not an image at all, just some text\n", 44);
    check_error(p, NULL);
    check_error(dir, "directory");
    const char *trunc_src[] = {"cli_16x9x3.png", "j_64x48.jpg", "cli_33x17x3.bmp", "cli_33x17x1.pgm"};
    for (int i = 0; i < 4; i++) {
        char src[512];
        snprintf(src, sizeof src, "%s/%s", dir, trunc_src[i]);
        size_t n = 0;
        uint8_t *b = read_bytes(src, &n);
        CHECK(b && n > 100, "%s exists", src);
        if (!b) continue;
        snprintf(p, sizeof p, "%s/trunc_%s", dir, trunc_src[i]);
        write_bytes(p, b, n / 2);
        check_error(p, NULL);
        free(b);
    }
    /* save: bad extension, bad image */
    mer_image img;
    mer_err err = {0};
    CHECK(image_alloc(&img, 3, 2, 3, &err) == 0, "alloc");
    snprintf(p, sizeof p, "%s/x.gifx", dir);
    CHECK(image_save(p, &img, &err) < 0 && strstr(err.msg, "extension"), "unknown extension: %s", err.msg);
    snprintf(p, sizeof p, "%s/no/such/dir/x.png", dir);
    CHECK(image_save(p, &img, &err) < 0 && strstr(err.msg, "no/such/dir"), "unwritable path: %s", err.msg);
    image_free(&img);
    CHECK(img.px == NULL, "free zeroes");
    CHECK(image_alloc(&img, 0, 2, 3, &err) < 0, "zero width rejected");
    CHECK(image_alloc(&img, 2, 2, 2, &err) < 0, "2 channels rejected");

    sh("rm -rf %s", dir);
    return check_summary();
}
