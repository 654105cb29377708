/* Per-sample preprocessing: face + landmarks on the onset frame, one transform, aligned onset/apex. */
#include "core/prep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/face/face.h"
#include "io/h5.h"
#include "io/media/video.h"

void prep_result_free(prep_result *r) {
    if (!r) return;
    image_free(&r->onset);
    image_free(&r->apex);
    memset(r, 0, sizeof *r);
}

/* Landmarks known: transform, then the aligned onset from the decoded onset image. */
static int align_onset(prep_result *out, const mer_image *onset_img, const float *landmarks68, const int box[4],
                       const prep_opts *o, mer_err *err) {
    if (!landmarks68) return mer_errf(err, "no landmarks given");
    if (align_transform(out->transform, landmarks68, &o->align, err) < 0) return -1;
    memcpy(out->landmarks, landmarks68, sizeof out->landmarks);
    if (box) memcpy(out->box, box, sizeof out->box);
    return align_warp(&out->onset, onset_img, out->transform, &o->align, err);
}

/* Apex frame read from the open clip and warped with the onset transform. */
static int align_apex(prep_result *out, clip *c, int apex, const prep_opts *o, mer_err *err) {
    mer_image apex_img;
    if (clip_read(&apex_img, c, apex, o->align.grey ? 1 : 3, err) < 0) return mer_err_prefix(err, "apex");
    int ret = align_warp(&out->apex, &apex_img, out->transform, &o->align, err);
    image_free(&apex_img);
    if (ret < 0) return mer_err_prefix(err, "%s: apex frame %d", clip_path(c), apex);
    return 0;
}

int prep_image(prep_result *out, const mer_image *img, const prep_opts *o, const face_models *m, mer_err *err) {
    memset(out, 0, sizeof *out);
    mer_image grey = {0};
    const mer_image *g = img;
    if (img->c != 1) {
        if (image_convert(&grey, img, 1, err) < 0) return -1;
        g = &grey;
    }
    /* prep's min_neighbors 0 means "no grouping" (OpenCV's meaning); face_opts spells that as < 0. */
    face_opts fo = {.scale_factor = o->scale_factor, .min_neighbors = o->min_neighbors > 0 ? o->min_neighbors : -1,
                    .min_size = o->min_face, .max_size = 0};
    face_result fr;
    int rc = face_find(&fr, m, g->px, g->w, g->h, &fo, err);
    image_free(&grey);
    if (rc < 0) return -1;
    if (rc == 1)
        return mer_errk(err, MER_ERR_NOFACE,
                        "no face found (%dx%d image, cascade scale %g, %d neighbours, faces >= %d px)", img->w, img->h,
                        o->scale_factor, o->min_neighbors, o->min_face);
    if (!fr.has_landmarks)
        return mer_errk(err, MER_ERR_CONFIG, "the face models were loaded without the landmark predictor");
    int ret = align_onset(out, img, &fr.pts[0][0], fr.box, o, err);
    if (ret < 0) prep_result_free(out);
    return ret;
}

static int prep_clip(prep_result *out, const char *clip_path, int onset, int apex, const prep_opts *o,
                     const face_models *m, const float *landmarks68, const int box[4], mer_err *err) {
    memset(out, 0, sizeof *out);
    clip *c;
    if (clip_open_threads(&c, clip_path, o->threads, err) < 0) return -1;
    mer_image onset_img;
    int ret = clip_read(&onset_img, c, onset, o->align.grey ? 1 : 3, err);
    if (ret < 0) {
        mer_err_prefix(err, "onset");
    } else {
        ret = m ? prep_image(out, &onset_img, o, m, err) : align_onset(out, &onset_img, landmarks68, box, o, err);
        if (ret < 0) mer_err_prefix(err, "%s: onset frame %d", clip_path, onset);
        else ret = align_apex(out, c, apex, o, err);
    }
    out->onset_frame = onset;
    out->apex_frame = apex;
    image_free(&onset_img);
    clip_close(c);
    if (ret < 0) prep_result_free(out);
    return ret;
}

int prep_sample(prep_result *out, const char *clip_path, int onset, int apex, const prep_opts *o,
                const face_models *m, mer_err *err) {
    if (!m) return mer_errk(err, MER_ERR_CONFIG, "%s: no face models", clip_path);
    return prep_clip(out, clip_path, onset, apex, o, m, NULL, NULL, err);
}

int prep_sample_landmarks(prep_result *out, const char *clip_path, int onset, int apex, const prep_opts *o,
                          const float *landmarks68, const int box[4], mer_err *err) {
    return prep_clip(out, clip_path, onset, apex, o, NULL, landmarks68, box, err);
}

static int write_image(hid_t loc, const char *group, const char *name, const mer_image *img, mer_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, name);
    size_t dims[3] = {(size_t)img->h, (size_t)img->w, (size_t)img->c};
    return h5_write_u8(loc, path, img->px, 3, dims, err);
}

int prep_result_write(hid_t loc, const char *group, const prep_result *r, mer_err *err) {
    char path[512];
    if (write_image(loc, group, "onset", &r->onset, err) < 0 || write_image(loc, group, "apex", &r->apex, err) < 0)
        return -1;
    size_t d23[2] = {2, 3}, d68[2] = {68, 2}, d4 = 4, d2 = 2;
    snprintf(path, sizeof path, "%s/transform", group);
    if (h5_write_f64(loc, path, r->transform, 2, d23, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/landmarks", group);
    if (h5_write_f32(loc, path, r->landmarks, 2, d68, err) < 0) return -1;
    int64_t box[4] = {r->box[0], r->box[1], r->box[2], r->box[3]}, frames[2] = {r->onset_frame, r->apex_frame};
    snprintf(path, sizeof path, "%s/box", group);
    if (h5_write_i64(loc, path, box, 1, &d4, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/frames", group);
    return h5_write_i64(loc, path, frames, 1, &d2, err);
}

static int read_image(mer_image *img, hid_t loc, const char *group, const char *name, mer_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, name);
    uint8_t *px;
    int nd;
    size_t d[H5_MAX_DIMS];
    if (h5_read_u8(loc, path, &px, &nd, d, err) < 0) return -1;
    if (nd != 3 || (d[2] != 1 && d[2] != 3) || d[0] < 1 || d[1] < 1) {
        free(px);
        char fn[256];
        return mer_errf(err, "%s: %s: expected an (H,W,1|3) image", h5_filename(loc, fn, sizeof fn), path);
    }
    img->h = (int)d[0];
    img->w = (int)d[1];
    img->c = (int)d[2];
    img->px = px;
    return 0;
}

int prep_result_read(prep_result *r, hid_t loc, const char *group, mer_err *err) {
    memset(r, 0, sizeof *r);
    char path[512];
    double *t = NULL;
    float *lm = NULL;
    int64_t *box = NULL, *frames = NULL;
    size_t nt = 0, nl = 0, nb = 0, nf = 0;
    int nd;
    size_t d[H5_MAX_DIMS];
    int ret = -1;
    if (read_image(&r->onset, loc, group, "onset", err) < 0 || read_image(&r->apex, loc, group, "apex", err) < 0) goto done;
    snprintf(path, sizeof path, "%s/transform", group);
    if (h5_read_f64(loc, path, &t, &nd, d, err) < 0) goto done;
    nt = nd == 2 ? d[0] * d[1] : 0;
    snprintf(path, sizeof path, "%s/landmarks", group);
    if (h5_read_f32(loc, path, &lm, &nd, d, err) < 0) goto done;
    nl = nd == 2 ? d[0] * d[1] : 0;
    snprintf(path, sizeof path, "%s/box", group);
    if (h5_read_i64(loc, path, &box, &nd, d, err) < 0) goto done;
    nb = nd == 1 ? d[0] : 0;
    snprintf(path, sizeof path, "%s/frames", group);
    if (h5_read_i64(loc, path, &frames, &nd, d, err) < 0) goto done;
    nf = nd == 1 ? d[0] : 0;
    if (nt != 6 || nl != 136 || nb != 4 || nf != 2) {
        char fn[256];
        mer_errf(err, "%s: %s: malformed prep result (transform %zu, landmarks %zu, box %zu, frames %zu values)",
                 h5_filename(loc, fn, sizeof fn), group, nt, nl, nb, nf);
        goto done;
    }
    memcpy(r->transform, t, sizeof r->transform);
    memcpy(r->landmarks, lm, sizeof r->landmarks);
    for (int i = 0; i < 4; i++) r->box[i] = (int)box[i];
    r->onset_frame = (int)frames[0];
    r->apex_frame = (int)frames[1];
    ret = 0;
done:
    free(t);
    free(lm);
    free(box);
    free(frames);
    if (ret < 0) prep_result_free(r);
    return ret;
}
