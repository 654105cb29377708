/* io/video: clips from videos (several containers/codecs made by the ffmpeg CLI) and frame folders (CASME II,
 * SAMM, SMIC naming), frame-number addressing, missing frames, truncated/corrupt files, and the writers. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/media/video.h"
#include "tests/check.h"
#include "tests/unit/media_testutil.h"

#define NF 10
static char dir[] = "/tmp/mer_test_video_XXXXXX";

/* NF frames of a moving smooth pattern plus a little noise (lossy codecs need some structure). */
static uint8_t *make_frames(int w, int h, int c, const char *raw) {
    uint8_t *px = malloc((size_t)NF * w * h * c);
    unsigned seed = 7;
    for (int t = 0; t < NF; t++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++) {
                    seed = seed * 1103515245u + 12345u;
                    int v = 30 + ((x * 5 + y * 3 + t * 11 + k * 50) % 180) + (int)((seed >> 16) % 8);
                    px[(((size_t)t * h + y) * w + x) * c + k] = (uint8_t)v;
                }
    FILE *f = fopen(raw, "wb");
    fwrite(px, 1, (size_t)NF * w * h * c, f);
    fclose(f);
    return px;
}

/* Compare clip frames (read in a scrambled order, forcing rewinds) with reference pixels. */
static void check_clip(const char *path, const uint8_t *ref, int w, int h, int c, double tol, int first, int nf) {
    clip *cl = NULL;
    mer_err err = {0};
    CHECK(clip_open(&cl, path, &err) == 0, "open %s: %s", path, err.msg);
    if (!cl) return;
    size_t n = 0;
    const int *nums = clip_frame_numbers(cl, &n);
    CHECK(n == (size_t)nf, "%s: %zu frames, want %d", path, n, nf);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok = ok && nums[i] == first + (int)i;
    CHECK(ok, "%s: frame numbers %d..", path, first);
    const int order[] = {7, 3, 9, 0, 9, 4, 5, 1};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        int k = order[i];
        if (k >= nf) continue;
        mer_image img;
        CHECK(clip_read(&img, cl, first + k, c, &err) == 0, "%s: read frame %d: %s", path, first + k, err.msg);
        if (!img.px) continue;
        CHECK(img.w == w && img.h == h && img.c == c, "%s: frame shape %dx%dx%d", path, img.w, img.h, img.c);
        if (img.w == w && img.h == h && img.c == c) {
            const uint8_t *r = ref + (size_t)k * w * h * c;
            double d = mean_abs_diff(img.px, r, (size_t)w * h * c);
            if (tol == 0) CHECK(memcmp(img.px, r, (size_t)w * h * c) == 0, "%s: frame %d bit-exact (mad %.3f)", path, first + k, d);
            else CHECK(d <= tol, "%s: frame %d mean abs diff %.3f > %.3f", path, first + k, d, tol);
            /* and not the neighbour frame: addressing is by number */
            if (k + 1 < nf) {
                double dn = mean_abs_diff(img.px, r + (size_t)w * h * c, (size_t)w * h * c);
                CHECK(dn > d + 1.0, "%s: frame %d differs from frame %d (%.3f vs %.3f)", path, first + k, first + k + 1, dn, d);
            }
        }
        image_free(&img);
    }
    mer_image img;
    CHECK(clip_read(&img, cl, first + nf, c, &err) < 0 && strstr(err.msg, "no frame number") && strstr(err.msg, clip_path(cl)) && !strncmp(clip_path(cl), path, strlen(clip_path(cl))),
          "%s: missing frame rejected: %s", path, err.msg);
    CHECK(clip_read(&img, cl, first - 1, c, &err) < 0, "%s: frame before first rejected", path);
    clip_close(cl);
}

/* A lossy file: the reference is the ffmpeg CLI's own decode of it. */
static uint8_t *cli_decode(const char *path, int c, size_t want) {
    char raw[800];
    snprintf(raw, sizeof raw, "%s.dec", path);
    /* same swscale flags as io/media/av.c; passthrough: one output picture per decoded frame */
    if (sh("ffmpeg -nostdin -loglevel error -y -i %s -fps_mode passthrough -sws_flags bilinear+accurate_rnd+full_chroma_int+bitexact "
           "-f rawvideo -pix_fmt %s %s", path, c == 1 ? "gray" : "rgb24", raw)) return NULL;
    size_t n = 0;
    uint8_t *p = read_bytes(raw, &n);
    if (n != want) {
        free(p);
        return NULL;
    }
    return p;
}

static void check_truncated(const char *src) {
    size_t n = 0;
    uint8_t *b = read_bytes(src, &n);
    char p[800];
    snprintf(p, sizeof p, "%s.trunc%s", src, strrchr(src, '.'));
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, n * 6 / 10, f);
    fclose(f);
    /* also a corrupt copy: garbage in the middle */
    char q[800];
    snprintf(q, sizeof q, "%s.corrupt%s", src, strrchr(src, '.'));
    for (size_t i = n / 2; i < n / 2 + n / 10; i++) b[i] = (uint8_t)(i * 7919u);
    f = fopen(q, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
    const char *paths[2] = {p, q};
    for (int t = 0; t < 2; t++) {
        clip *cl = NULL;
        mer_err err = {0};
        if (clip_open(&cl, paths[t], &err) < 0) {
            CHECK(strstr(err.msg, paths[t]) != NULL, "open error names the file: %s", err.msg);
            CHECK(err.kind == MER_ERR_DATA, "damaged file: bad data (not retried), got %s", mer_err_kind_name(err.kind));
            continue;
        }
        size_t nf = 0;
        const int *nums = clip_frame_numbers(cl, &nf);
        int failures = 0;
        for (size_t i = 0; i < nf; i++) {
            mer_image img;
            if (clip_read(&img, cl, nums[i], 3, &err) < 0) {
                failures++;
                CHECK(strstr(err.msg, paths[t]) != NULL, "read error names the file: %s", err.msg);
                CHECK(err.kind == MER_ERR_DATA, "damaged frame: bad data (not retried), got %s: %s",
                      mer_err_kind_name(err.kind), err.msg);
            }
            image_free(&img);
        }
        CHECK(nf < NF || failures > 0, "%s: damage detected (%zu frames listed, %d failed)", paths[t], nf, failures);
        clip_close(cl);
    }
}

int main(void) {
    if (system("ffmpeg -version >/dev/null 2>&1") != 0) SKIP_ALL("the ffmpeg CLI is needed to make the test clips");
    if (!mkdtemp(dir)) SKIP_ALL("cannot create a temporary directory");
    char raw[512], rawg[512], rawe[512], p[700];
    const int w = 33, h = 17, we = 34, he = 18;
    snprintf(raw, sizeof raw, "%s/rgb.raw", dir);
    snprintf(rawg, sizeof rawg, "%s/grey.raw", dir);
    snprintf(rawe, sizeof rawe, "%s/even.raw", dir);
    uint8_t *rgb = make_frames(w, h, 3, raw), *grey = make_frames(w, h, 1, rawg), *even = make_frames(we, he, 3, rawe);
    const char *in = "-nostdin -loglevel error -y -f rawvideo -framerate 25";

    /* lossless videos: bit-exact */
    snprintf(p, sizeof p, "%s/ffv1.mkv", dir);
    CHECK(sh("ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -c:v ffv1 -pix_fmt bgr0 %s", in, w, h, raw, p) == 0, "cli %s", p);
    check_clip(p, rgb, w, h, 3, 0, 0, NF);
    check_truncated(p);
    snprintf(p, sizeof p, "%s/ffv1_grey.mkv", dir);
    CHECK(sh("ffmpeg %s -pix_fmt gray -s %dx%d -i %s -c:v ffv1 %s", in, w, h, rawg, p) == 0, "cli %s", p);
    check_clip(p, grey, w, h, 1, 0, 0, NF);
    snprintf(p, sizeof p, "%s/raw.avi", dir);
    CHECK(sh("ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -c:v rawvideo -pix_fmt bgr24 %s", in, w, h, raw, p) == 0, "cli %s", p);
    check_clip(p, rgb, w, h, 3, 0, 0, NF);
    check_truncated(p);
    snprintf(p, sizeof p, "%s/png.mov", dir);
    CHECK(sh("ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -c:v png %s", in, w, h, raw, p) == 0, "cli %s", p);
    check_clip(p, rgb, w, h, 3, 0, 0, NF);

    /* lossy videos: against the ffmpeg CLI's decode of the same file */
    struct { const char *name, *args; int ew, eh; } lossy[] = {
        {"mjpeg.avi", "-c:v mjpeg -q:v 2 -pix_fmt yuvj444p", w, h},
        {"mjpeg420.avi", "-c:v mjpeg -q:v 3 -pix_fmt yuvj420p", we, he},
        {"h264.mp4", "-c:v libx264 -preset ultrafast -bf 2 -g 4 -pix_fmt yuv420p", we, he},
        {"mpeg4.mkv", "-c:v mpeg4 -q:v 3 -bf 1", we, he},
    };
    for (size_t i = 0; i < sizeof lossy / sizeof lossy[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, lossy[i].name);
        int ew = lossy[i].ew, eh = lossy[i].eh;
        if (sh("ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s %s %s", in, ew, eh, ew == w ? raw : rawe, lossy[i].args, p) != 0) {
            printf("note: the ffmpeg CLI cannot write %s here; skipped\n", lossy[i].name);
            continue;
        }
        uint8_t *ref = cli_decode(p, 3, (size_t)NF * ew * eh * 3);
        CHECK(ref != NULL, "cli decode %s", p);
        /* with the same swscale flags the CLI decodes to identical pixels */
        if (ref) check_clip(p, ref, ew, eh, 3, 0, 0, NF);
        free(ref);
        if (i == 2) check_truncated(p);
    }

    /* a single image file is a one-frame clip */
    {
        snprintf(p, sizeof p, "%s/still.png", dir);
        CHECK(sh("ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -frames:v 1 %s", in, w, h, raw, p) == 0, "cli still");
        check_clip(p, rgb, w, h, 3, 0, 0, 1);
    }

    /* frame folders with dataset naming */
    char d1[560], d2[560], d3[560];
    snprintf(d1, sizeof d1, "%s/casme/sub01/EP02_01f", dir);
    CHECK(sh("mkdir -p %s && ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -start_number 46 %s/img%%d.png", d1, in, w, h, raw, d1) == 0, "cli casme");
    sh("echo x > %s/notes.txt; mkdir %s/sub; touch %s/.hidden5.png", d1, d1, d1);
    check_clip(d1, rgb, w, h, 3, 0, 46, NF);
    snprintf(p, sizeof p, "%s/", d1); /* trailing slash */
    check_clip(p, rgb, w, h, 3, 0, 46, NF);
    snprintf(d2, sizeof d2, "%s/samm/006/006_1_2", dir);
    CHECK(sh("mkdir -p %s && ffmpeg %s -pix_fmt gray -s %dx%d -i %s -start_number 5562 %s/006_%%05d.png && mv %s/006_05565.png %s/006_5565.png",
             d2, in, w, h, rawg, d2, d2, d2) == 0, "cli samm");
    check_clip(d2, grey, w, h, 1, 0, 5562, NF);
    snprintf(d3, sizeof d3, "%s/smic/s1/micro/negative/s1_ne_01", dir);
    CHECK(sh("mkdir -p %s && ffmpeg %s -pix_fmt rgb24 -s %dx%d -i %s -start_number 123 %s/image%%06d.bmp", d3, in, w, h, raw, d3) == 0, "cli smic");
    check_clip(d3, rgb, w, h, 3, 0, 123, NF);
    {
        clip *cl;
        mer_err err = {0};
        CHECK(clip_open(&cl, d3, &err) == 0, "open smic");
        const char *fp = clip_frame_path(cl, 125);
        CHECK(fp && strstr(fp, "image000125.bmp"), "frame path %s", fp ? fp : "(null)");
        CHECK(clip_frame_path(cl, 122) == NULL && !clip_is_video(cl) && clip_has_frame(cl, 132) && !clip_has_frame(cl, 133), "queries");
        clip_close(cl);
        /* missing frame in the middle */
        sh("rm %s/006_05567.png", d2);
        CHECK(clip_open(&cl, d2, &err) == 0, "open samm with a gap");
        size_t n;
        clip_frame_numbers(cl, &n);
        CHECK(n == NF - 1 && !clip_has_frame(cl, 5567), "gap listed");
        mer_image img;
        CHECK(clip_read(&img, cl, 5567, 1, &err) < 0 && strstr(err.msg, "5567") && strstr(err.msg, d2), "gap read: %s", err.msg);
        CHECK(clip_read(&img, cl, 5568, 1, &err) == 0 && !memcmp(img.px, grey + 6 * w * h, (size_t)w * h), "frame after gap");
        image_free(&img);
        clip_close(cl);
        /* the same number twice */
        sh("cp %s/006_05566.png %s/006_5566.png", d2, d2);
        CHECK(clip_open(&cl, d2, &err) < 0 && strstr(err.msg, "5566") && strstr(err.msg, "twice"), "duplicate number: %s", err.msg);
        /* empty folder, missing path, garbage video */
        snprintf(p, sizeof p, "%s/empty", dir);
        sh("mkdir -p %s", p);
        CHECK(clip_open(&cl, p, &err) < 0 && strstr(err.msg, p), "empty folder: %s", err.msg);
        snprintf(p, sizeof p, "%s/nope.avi", dir);
        CHECK(clip_open(&cl, p, &err) < 0 && strstr(err.msg, p) && strstr(err.msg, "No such"), "missing: %s", err.msg);
        snprintf(p, sizeof p, "%s/garbage.mp4", dir);
        sh("head -c 5000 /dev/urandom > %s", p);
        CHECK(clip_open(&cl, p, &err) < 0 && strstr(err.msg, p), "garbage: %s", err.msg);
    }

    /* writers: ours -> read back by us and by the ffmpeg CLI */
    mer_image frames[NF];
    for (int t = 0; t < NF; t++) {
        image_alloc(&frames[t], w, h, 3, NULL);
        memcpy(frames[t].px, rgb + (size_t)t * w * h * 3, (size_t)w * h * 3);
    }
    struct { const char *name, *codec; double tol; } outs[] = {
        {"ours_ffv1.mkv", "ffv1", 0}, {"ours_raw.avi", "rawvideo", 0}, {"ours_mjpeg.avi", "mjpeg", 4.0}, {"ours_png.mov", "png", 0}};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, outs[i].name);
        clip_writer *cw;
        mer_err err = {0};
        clip_writer_opts o = {.codec = outs[i].codec, .fps = 200};
        CHECK(clip_writer_open(&cw, p, w, h, 3, &o, &err) == 0, "writer %s: %s", p, err.msg);
        if (!cw) continue;
        for (int t = 0; t < NF; t++) CHECK(clip_writer_add(cw, &frames[t], &err) == 0, "add: %s", err.msg);
        CHECK(clip_writer_close(cw, &err) == 0, "close %s: %s", p, err.msg);
        check_clip(p, rgb, w, h, 3, outs[i].tol, 0, NF);
        uint8_t *ref = cli_decode(p, 3, (size_t)NF * w * h * 3);
        CHECK(ref && (outs[i].tol > 0 ? mean_abs_diff(ref, rgb, (size_t)NF * w * h * 3) < outs[i].tol
                                      : !memcmp(ref, rgb, (size_t)NF * w * h * 3)), "ffmpeg CLI reads %s", p);
        free(ref);
    }
    {
        clip_writer *cw;
        mer_err err = {0};
        snprintf(p, sizeof p, "%s/bad.xyz", dir);
        CHECK(clip_writer_open(&cw, p, w, h, 3, NULL, &err) < 0 && strstr(err.msg, p), "bad container: %s", err.msg);
        snprintf(p, sizeof p, "%s/bad.mkv", dir);
        clip_writer_opts o = {.codec = "nosuchcodec"};
        CHECK(clip_writer_open(&cw, p, w, h, 3, &o, &err) < 0 && strstr(err.msg, "nosuchcodec"), "bad codec: %s", err.msg);
        CHECK(clip_writer_open(&cw, p, w, h, 3, NULL, &err) == 0, "writer");
        mer_image wrong;
        image_alloc(&wrong, w + 1, h, 3, NULL);
        CHECK(clip_writer_add(cw, &wrong, &err) < 0 && strstr(err.msg, "34x17"), "size mismatch: %s", err.msg);
        image_free(&wrong);
        clip_writer_abort(cw);
        CHECK(access(p, F_OK) != 0, "aborted writer leaves no file");
        /* frames -> stills -> folder clip */
        snprintf(p, sizeof p, "%s/stills/a/b", dir);
        int nums[NF];
        for (int t = 0; t < NF; t++) nums[t] = 100 + t;
        CHECK(clip_write_frames(p, "img", "png", frames, nums, NF, &err) == 0, "write stills: %s", err.msg);
        check_clip(p, rgb, w, h, 3, 0, 100, NF);
    }
    for (int t = 0; t < NF; t++) image_free(&frames[t]);
    free(rgb);
    free(grey);
    free(even);
    if (!getenv("MER_TEST_KEEP")) sh("rm -rf %s", dir);
    else printf("kept %s\n", dir);
    return check_summary();
}
