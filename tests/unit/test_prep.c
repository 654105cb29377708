/* core/prep (alignment part): a synthetic clip with bright "eyes" at known positions; the aligned onset puts
 * them at the template, the apex frame gets the same transform, results round-trip through HDF5, bad frame
 * numbers fail with the clip and frame named. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/prep.h"
#include "io/h5.h"
#include "io/media/video.h"
#include "tests/check.h"
#include "tests/unit/media_testutil.h"

#define W 96
#define H 72

/* Frame t: dark background, two bright 3x3 eyes at (30,30) and (62,26) (tilted eye line), a mouth bar that
 * moves down by t px. */
static void draw(mer_image *img, int t) {
    image_alloc(img, W, H, 3, NULL);
    for (int i = 0; i < W * H * 3; i++) img->px[i] = 20;
    const int eyes[2][2] = {{30, 30}, {62, 26}};
    for (int e = 0; e < 2; e++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++)
                for (int k = 0; k < 3; k++) img->px[((eyes[e][1] + dy) * W + eyes[e][0] + dx) * 3 + k] = 250;
    for (int x = 36; x < 56; x++)
        for (int k = 0; k < 3; k++) img->px[((50 + t) * W + x) * 3 + k] = (uint8_t)(k == 0 ? 200 : 90);
}

int main(void) {
    if (system("ffmpeg -version >/dev/null 2>&1") != 0) SKIP_ALL("the ffmpeg CLI is not installed (clip writer check)");
    char dir[] = "/tmp/mer_test_prep_XXXXXX";
    if (!mkdtemp(dir)) SKIP_ALL("no temporary directory");
    mer_err err = {0};
    mer_image frames[8];
    int numbers[8];
    for (int t = 0; t < 8; t++) {
        draw(&frames[t], t);
        numbers[t] = 46 + t;
    }
    char folder[600], video[600];
    snprintf(folder, sizeof folder, "%s/sub01/EP01", dir);
    CHECK(clip_write_frames(folder, "img", "png", frames, numbers, 8, &err) == 0, "frames: %s", err.msg);
    snprintf(video, sizeof video, "%s/clip.mkv", dir);
    clip_writer *cw;
    CHECK(clip_writer_open(&cw, video, W, H, 3, NULL, &err) == 0, "writer: %s", err.msg);
    for (int t = 0; t < 8; t++) clip_writer_add(cw, &frames[t], &err);
    CHECK(clip_writer_close(cw, &err) == 0, "close: %s", err.msg);

    /* landmarks: 6 points around each eye centre (mean = centre), the rest anywhere */
    float lm[136];
    for (int i = 0; i < 68; i++) lm[2 * i] = 40, lm[2 * i + 1] = 40 + (float)(i % 7);
    for (int k = 0; k < 6; k++) {
        double a = k * M_PI / 3;
        lm[2 * (36 + k)] = (float)(30 + 4 * cos(a)), lm[2 * (36 + k) + 1] = (float)(30 + 2 * sin(a));
        lm[2 * (42 + k)] = (float)(62 + 4 * cos(a)), lm[2 * (42 + k) + 1] = (float)(26 + 2 * sin(a));
    }
    int box[4] = {10, 5, 70, 60};
    prep_opts o = {.align = {.size = 64, .eye_y = 0.375, .eye_dist = 0.5, .grey = 0}, .threads = 1};
    const char *clips[2] = {folder, video};
    int onsets[2] = {46, 0}, apexes[2] = {51, 5};
    prep_result first = {0};
    for (int ci = 0; ci < 2; ci++) {
        prep_result r;
        CHECK(prep_sample_landmarks(&r, clips[ci], onsets[ci], apexes[ci], -1, &o, lm, box, &err) == 0, "%s: %s", clips[ci], err.msg);
        if (!r.onset.px) continue;
        CHECK(r.onset.w == 64 && r.onset.h == 64 && r.onset.c == 3 && r.apex.w == 64, "shapes");
        /* template eyes: (16, 24) and (48, 24); the bright blobs must be there */
        const int te[2][2] = {{16, 24}, {48, 24}};
        for (int e = 0; e < 2; e++) {
            int best = -1, bx = 0, by = 0;
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++) {
                    if (abs(x - te[e][0]) > 10 || abs(y - te[e][1]) > 10) continue;
                    int v = r.onset.px[(y * 64 + x) * 3];
                    if (v > best) best = v, bx = x, by = y;
                }
            CHECK(abs(bx - te[e][0]) <= 1 && abs(by - te[e][1]) <= 1 && best > 200,
                  "%s: eye %d at (%d,%d) value %d, template (%d,%d)", clips[ci], e, bx, by, best, te[e][0], te[e][1]);
        }
        /* scale = 32 / |(32,-4)| */
        CHECK_NEAR(hypot(r.transform[0], r.transform[3]), 32.0 / hypot(32, 4), 1e-4, "scale");
        CHECK(r.onset_frame == onsets[ci] && r.apex_frame == apexes[ci] && r.box[2] == 70, "metadata");
        CHECK(memcmp(r.onset.px, r.apex.px, 64 * 64 * 3) != 0, "apex differs from onset (the mouth moved)");
        if (ci == 0) first = r;
        else {
            CHECK(!memcmp(first.onset.px, r.onset.px, 64 * 64 * 3) && !memcmp(first.apex.px, r.apex.px, 64 * 64 * 3),
                  "folder and lossless video give the same result");
            prep_result_free(&r);
        }
    }
    /* identical to warping the frames directly */
    {
        double M[6];
        mer_image a;
        CHECK(align_transform(M, lm, &o.align, &err) == 0 && align_warp(&a, &frames[5], M, &o.align, &err) == 0, "direct");
        CHECK(first.apex.px && !memcmp(a.px, first.apex.px, 64 * 64 * 3), "apex = warp of frame 51");
        image_free(&a);
    }
    /* HDF5 round trip */
    {
        char h5p[700];
        snprintf(h5p, sizeof h5p, "%s/prep.h5", dir);
        hid_t f;
        CHECK(h5_create_tmp(h5p, &f, &err) == 0, "h5 create");
        CHECK(prep_result_write(f, "samples/sub01/EP01", &first, &err) == 0, "write: %s", err.msg);
        CHECK(h5_commit(f, h5p, &err) == 0, "commit");
        CHECK(h5_open(h5p, 0, &f, &err) == 0, "open");
        prep_result back;
        CHECK(prep_result_read(&back, f, "samples/sub01/EP01", &err) == 0, "read: %s", err.msg);
        CHECK(back.onset.px && !memcmp(back.onset.px, first.onset.px, 64 * 64 * 3) && back.apex.c == 3, "images round trip");
        CHECK(!memcmp(back.transform, first.transform, sizeof back.transform) &&
              !memcmp(back.landmarks, first.landmarks, sizeof back.landmarks) && back.box[3] == 60 &&
              back.onset_frame == 46 && back.apex_frame == 51, "metadata round trip");
        prep_result_free(&back);
        CHECK(prep_result_read(&back, f, "samples/nope", &err) < 0 && back.onset.px == NULL, "missing group: %s", err.msg);
        h5_close(f, &err);
    }
    prep_result_free(&first);
    /* grey output */
    {
        prep_opts og = o;
        og.align.grey = 1;
        prep_result r;
        CHECK(prep_sample_landmarks(&r, folder, 46, 47, -1, &og, lm, NULL, &err) == 0 && r.onset.c == 1 && r.apex.c == 1, "grey: %s", err.msg);
        prep_result_free(&r);
    }
    /* spotting: no apex, or one outside the clip with spot_fallback: the mouth bar moves down by t px, so the
     * last frame of the span moved most; the span ends at the offset when one is given */
    {
        prep_opts os = o;
        os.spot = apex_spot_defaults();
        prep_result r;
        CHECK(prep_sample_landmarks(&r, folder, 46, -1, -1, &os, lm, box, &err) == 0, "spot: %s", err.msg);
        CHECK(r.apex_spotted && r.apex_given == -1 && r.apex_frame == 53 && r.n_spot == 8 && r.spot_frames[0] == 46 &&
                  r.spot_frames[7] == 53 && r.spot_curve[0] == 0 && r.spot_curve[7] > r.spot_curve[1],
              "spotted apex %d (want 53), %d frames", r.apex_frame, r.n_spot);
        char h5p[700];
        snprintf(h5p, sizeof h5p, "%s/spot.h5", dir);
        hid_t f;
        prep_result back = {0};
        CHECK(h5_create_tmp(h5p, &f, &err) == 0 && prep_result_write(f, "p", &r, &err) == 0 && h5_commit(f, h5p, &err) == 0,
              "spot write: %s", err.msg);
        CHECK(h5_open(h5p, 0, &f, &err) == 0 && prep_result_read(&back, f, "p", &err) == 0, "spot read: %s", err.msg);
        h5_close(f, NULL);
        CHECK(back.apex_spotted && back.apex_given == -1 && back.n_spot == 8 && back.spot_frames[7] == 53 &&
                  !memcmp(back.spot_curve, r.spot_curve, 8 * sizeof(float)),
              "spot round trip");
        prep_result_free(&back);
        prep_result_free(&r);
        CHECK(prep_sample_landmarks(&r, video, 0, -1, 4, &os, lm, box, &err) == 0 && r.apex_frame == 4 && r.n_spot == 5,
              "video, span ends at the offset 4: apex %d, %d frames (%s)", r.apex_frame, r.n_spot, err.msg);
        prep_result_free(&r);
        os.spot_fallback = 1;
        CHECK(prep_sample_landmarks(&r, folder, 46, 99, -1, &os, lm, box, &err) == 0 && r.apex_spotted &&
                  r.apex_given == 99 && r.apex_frame == 53,
              "apex 99 not in the clip: spotted (%s)", err.msg);
        prep_result_free(&r);
        CHECK(prep_sample_landmarks(&r, folder, 46, 49, -1, &os, lm, box, &err) == 0 && !r.apex_spotted &&
                  r.apex_frame == 49 && r.n_spot == 0,
              "a good apex is used as given");
        prep_result_free(&r);
        CHECK(prep_sample_landmarks(&r, folder, 53, -1, -1, &os, lm, box, &err) < 0 && strstr(err.msg, folder) &&
                  strstr(err.msg, "at least 2") && err.kind == MER_ERR_DATA,
              "one frame from the onset on: %s", err.msg);
    }
    /* the onset->apex sequence (LBP-TOP on unmagnified frames): 46..51 are 6 frames; 4 of them are
     * round(k * 5 / 3) = 46, 48, 49, 51, each the warp of its frame (the first is the onset crop, the last the
     * apex crop); 9 of 6 repeat frames; the frames and their numbers round-trip through HDF5 */
    {
        prep_opts oq = o;
        oq.sequence = 4;
        prep_result r = {0}, back = {0};
        CHECK(prep_sample_landmarks(&r, folder, 46, 51, -1, &oq, lm, box, &err) == 0 && r.n_seq == 4, "sequence: %s", err.msg);
        const size_t px = 64 * 64 * 3;
        const int want[4] = {46, 48, 49, 51};
        double M[6];
        CHECK(align_transform(M, lm, &o.align, &err) == 0, "transform");
        for (int k = 0; k < r.n_seq; k++) {
            mer_image a;
            CHECK(align_warp(&a, &frames[want[k] - 46], M, &o.align, &err) == 0, "warp");
            CHECK(r.seq_frames[k] == want[k] && !memcmp(r.seq + k * px, a.px, px), "sequence frame %d: number %d, want %d",
                  k, r.seq_frames[k], want[k]);
            image_free(&a);
        }
        CHECK(!memcmp(r.seq, r.onset.px, px) && !memcmp(r.seq + 3 * px, r.apex.px, px), "first = onset, last = apex");
        char h5p[700];
        snprintf(h5p, sizeof h5p, "%s/seq.h5", dir);
        hid_t f;
        CHECK(h5_create_tmp(h5p, &f, &err) == 0 && prep_result_write(f, "p", &r, &err) == 0 && h5_commit(f, h5p, &err) == 0,
              "sequence write: %s", err.msg);
        CHECK(h5_open(h5p, 0, &f, &err) == 0 && prep_result_read(&back, f, "p", &err) == 0, "sequence read: %s", err.msg);
        h5_close(f, NULL);
        CHECK(back.n_seq == 4 && back.seq_frames[2] == 49 && !memcmp(back.seq, r.seq, 4 * px), "sequence round trip");
        prep_result_free(&back);
        prep_result_free(&r);
        oq.sequence = 9;
        CHECK(prep_sample_landmarks(&r, video, 0, 5, -1, &oq, lm, box, &err) == 0 && r.n_seq == 9, "9 of 6: %s", err.msg);
        for (int k = 1; k < r.n_seq; k++)
            CHECK(r.seq_frames[k] >= r.seq_frames[k - 1] && r.seq_frames[k] - r.seq_frames[k - 1] <= 1, "9 of 6: frame %d is %d",
                  k, r.seq_frames[k]);
        CHECK(r.seq_frames[0] == 0 && r.seq_frames[8] == 5, "9 of 6 from 0 to 5");
        prep_result_free(&r);
        CHECK(prep_sample_landmarks(&r, folder, 46, 51, -1, &o, lm, box, &err) == 0 && r.n_seq == 0 && !r.seq,
              "no sequence unless asked");
        prep_result_free(&r);
    }
    /* errors name the clip and the frame, and say whether a retry can help (a missing file may reappear on a
     * network mount; a missing frame or degenerate landmarks never change) */
    {
        prep_result r;
        CHECK(prep_sample_landmarks(&r, folder, 46, 99, -1, &o, lm, box, &err) < 0 && strstr(err.msg, "99") &&
              strstr(err.msg, folder) && strstr(err.msg, "apex") && r.onset.px == NULL, "missing apex: %s", err.msg);
        CHECK(err.kind == MER_ERR_DATA, "missing apex: bad data, got %s", mer_err_kind_name(err.kind));
        CHECK(prep_sample_landmarks(&r, video, 12, 3, -1, &o, lm, box, &err) < 0 && strstr(err.msg, "onset") &&
              strstr(err.msg, "12"), "missing onset: %s", err.msg);
        CHECK(err.kind == MER_ERR_DATA, "missing onset: bad data, got %s", mer_err_kind_name(err.kind));
        float zero[136] = {0};
        CHECK(prep_sample_landmarks(&r, folder, 46, 47, -1, &o, zero, box, &err) < 0 && strstr(err.msg, "coincide"), "degenerate: %s", err.msg);
        CHECK(err.kind == MER_ERR_DATA, "degenerate: bad data, got %s", mer_err_kind_name(err.kind));
        char nope[700];
        snprintf(nope, sizeof nope, "%s/missing", dir);
        CHECK(prep_sample_landmarks(&r, nope, 46, 47, -1, &o, lm, box, &err) < 0 && strstr(err.msg, nope), "missing clip: %s", err.msg);
        CHECK(err.kind == MER_ERR_IO, "missing clip: io, got %s", mer_err_kind_name(err.kind));
    }
    for (int t = 0; t < 8; t++) image_free(&frames[t]);
    sh("rm -rf %s", dir);
    return check_summary();
}
