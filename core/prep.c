/* Per-sample preprocessing: face + landmarks on the onset frame, one transform, aligned onset/apex. */
#include "core/prep.h"

#include <stdint.h>
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
    free(r->spot_frames);
    free(r->spot_curve);
    free(r->seq);
    free(r->seq_frames);
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

/* The clip's frames numbered first..last (last < 0: to the end of the clip): *count of them from index *begin
 * of the frame-number list, which is returned. */
static const int *frame_span(clip *c, int first, int last, size_t *begin, size_t *count) {
    size_t nf = 0, a = 0, n = 0;
    const int *fr = clip_frame_numbers(c, &nf);
    while (a < nf && fr[a] < first) a++;
    while (a + n < nf && (last < 0 || fr[a + n] <= last)) n++;
    *begin = a;
    *count = n;
    return fr;
}

/* The apex spotted among the clip's frames onset..offset (offset < 0: to the last), each decoded grey and
 * warped with the onset transform into the aligned crop the rest of the pipeline sees. */
static int spot_apex(prep_result *out, clip *c, int onset, int offset, const prep_opts *o, mer_err *err) {
    size_t a, n;
    const int *fr = frame_span(c, onset, offset, &a, &n);
    if (n < 2)
        return mer_errk(err, MER_ERR_DATA,
                        "%s: %zu frame(s) from the onset %d to the %s: spotting the apex needs at least 2",
                        clip_path(c), n, onset, offset < 0 ? "end of the clip" : "offset");
    align_opts ga = o->align;
    ga.grey = 1;
    apex_spot_options so = o->spot;
    so.eye_y = ga.eye_y;
    so.eye_dist = ga.eye_dist;
    so.mask = NULL;
    const int S = ga.size;
    apex_spotter *sp = NULL;
    float *buf = mer_malloc((size_t)S * S * sizeof *buf, err);
    out->spot_frames = mer_malloc(n * sizeof *out->spot_frames, err);
    out->spot_curve = mer_malloc(n * sizeof *out->spot_curve, err);
    int rc = -1;
    if (!buf || !out->spot_frames || !out->spot_curve || apex_spotter_new(&sp, S, S, &so, err) < 0) goto done;
    for (size_t k = 0; k < n; k++) {
        mer_image img = {0}, al = {0};
        int f = fr[a + k];
        if (clip_read(&img, c, f, 1, err) < 0 || align_warp(&al, &img, out->transform, &ga, err) < 0) {
            image_free(&img);
            mer_err_prefix(err, "%s: spotting the apex: frame %d", clip_path(c), f);
            goto done;
        }
        for (int i = 0; i < S * S; i++) buf[i] = al.px[i];
        image_free(&img);
        image_free(&al);
        if (apex_spotter_add(sp, buf, err) < 0) goto done;
        out->spot_frames[k] = f;
    }
    apex_spot_result r;
    if (apex_spotter_finish(sp, &r, out->spot_curve, err) < 0) goto done;
    out->n_spot = (int)n;
    out->apex_frame = fr[a + (size_t)r.apex];
    out->apex_spotted = 1;
    rc = 0;
done:
    if (rc < 0 && err->msg[0] && !strstr(err->msg, clip_path(c))) mer_err_prefix(err, "%s", clip_path(c));
    apex_spotter_free(sp);
    free(buf);
    return rc;
}

/* n frames from the onset to the apex: of the m frames the clip has in that span, frame round(k (m-1)/(n-1)),
 * each warped with the onset transform like the onset and apex crops. */
static int align_sequence(prep_result *out, clip *c, int n, const prep_opts *o, mer_err *err) {
    size_t a, m;
    const int *fr = frame_span(c, out->onset_frame, out->apex_frame, &a, &m);
    if (m == 0) return mer_errk(err, MER_ERR_DATA, "%s: no frame from the onset %d to the apex %d", clip_path(c),
                                out->onset_frame, out->apex_frame);
    const size_t px = (size_t)out->onset.w * out->onset.h * out->onset.c;
    out->seq = mer_malloc((size_t)n * px, err);
    out->seq_frames = mer_malloc((size_t)n * sizeof *out->seq_frames, err);
    if (!out->seq || !out->seq_frames) return -1;
    for (int k = 0; k < n; k++) {
        const size_t j = n == 1 ? m - 1 : (size_t)((double)k * (double)(m - 1) / (n - 1) + 0.5);
        const int f = fr[a + j];
        mer_image img = {0}, al = {0};
        int rc = clip_read(&img, c, f, o->align.grey ? 1 : 3, err);
        if (rc == 0) rc = align_warp(&al, &img, out->transform, &o->align, err);
        if (rc == 0) memcpy(out->seq + (size_t)k * px, al.px, px);
        image_free(&img);
        image_free(&al);
        if (rc < 0) return mer_err_prefix(err, "%s: onset->apex sequence: frame %d", clip_path(c), f);
        out->seq_frames[k] = f;
    }
    out->n_seq = n;
    return 0;
}

static int prep_clip(prep_result *out, const char *clip_path, int onset, int apex, int offset, const prep_opts *o,
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
        out->onset_frame = onset; /* prep_image cleared out */
        out->apex_frame = apex;
        out->apex_given = apex;
        if (ret < 0) {
            mer_err_prefix(err, "%s: onset frame %d", clip_path, onset);
        } else {
            /* an apex after the offset is kept: a wrong offset is the likelier defect (CASME II has one) */
            int outside = !clip_has_frame(c, apex) || apex < onset;
            if (apex < 0 || (o->spot_fallback && outside)) ret = spot_apex(out, c, onset, offset, o, err);
            if (ret == 0) ret = align_apex(out, c, out->apex_frame, o, err);
            if (ret == 0 && o->sequence > 0) ret = align_sequence(out, c, o->sequence, o, err);
        }
    }
    image_free(&onset_img);
    clip_close(c);
    if (ret < 0) prep_result_free(out);
    return ret;
}

int prep_sample(prep_result *out, const char *clip_path, int onset, int apex, int offset, const prep_opts *o,
                const face_models *m, mer_err *err) {
    if (!m) return mer_errk(err, MER_ERR_CONFIG, "%s: no face models", clip_path);
    return prep_clip(out, clip_path, onset, apex, offset, o, m, NULL, NULL, err);
}

int prep_sample_landmarks(prep_result *out, const char *clip_path, int onset, int apex, int offset,
                          const prep_opts *o, const float *landmarks68, const int box[4], mer_err *err) {
    return prep_clip(out, clip_path, onset, apex, offset, o, NULL, landmarks68, box, err);
}

static int write_image(hid_t loc, const char *group, const char *name, const mer_image *img, mer_err *err) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", group, name);
    size_t dims[3] = {(size_t)img->h, (size_t)img->w, (size_t)img->c};
    return h5_write_u8(loc, path, img->px, 3, dims, err);
}

static int write_sequence(hid_t loc, const char *group, const prep_result *r, mer_err *err) {
    char path[512];
    size_t n = (size_t)r->n_seq, d[4] = {n, (size_t)r->onset.h, (size_t)r->onset.w, (size_t)r->onset.c};
    int64_t *fr = mer_malloc(n * sizeof *fr, err);
    if (!fr) return -1;
    for (size_t k = 0; k < n; k++) fr[k] = r->seq_frames[k];
    snprintf(path, sizeof path, "%s/sequence", group);
    int rc = h5_write_u8(loc, path, r->seq, 4, d, err);
    snprintf(path, sizeof path, "%s/sequence_frames", group);
    if (rc == 0) rc = h5_write_i64(loc, path, fr, 1, &n, err);
    free(fr);
    return rc;
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
    if (h5_write_i64(loc, path, frames, 1, &d2, err) < 0) return -1;
    if (r->n_seq > 0 && write_sequence(loc, group, r, err) < 0) return -1;
    if (!r->apex_spotted) return 0;
    size_t n = (size_t)r->n_spot;
    int64_t *fr = mer_malloc((n ? n : 1) * sizeof *fr, err);
    if (!fr) return -1;
    for (size_t k = 0; k < n; k++) fr[k] = r->spot_frames[k];
    int rc = -1;
    snprintf(path, sizeof path, "%s/spot/given", group);
    if (h5_write_scalar_i64(loc, path, r->apex_given, err) == 0) {
        snprintf(path, sizeof path, "%s/spot/frames", group);
        if (h5_write_i64(loc, path, fr, 1, &n, err) == 0) {
            snprintf(path, sizeof path, "%s/spot/curve", group);
            rc = h5_write_f32(loc, path, r->spot_curve, 1, &n, err);
        }
    }
    free(fr);
    return rc;
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

/* GROUP/sequence and its frame numbers, when present, shaped like the onset crop. */
static int read_sequence(prep_result *r, hid_t loc, const char *group, mer_err *err) {
    char path[512], fn[256];
    snprintf(path, sizeof path, "%s/sequence", group);
    if (!h5_exists(loc, path)) return 0;
    int nd = 0, nf = 0;
    size_t d[H5_MAX_DIMS], df[H5_MAX_DIMS];
    int64_t *fr = NULL;
    if (h5_read_u8(loc, path, &r->seq, &nd, d, err) < 0) return -1;
    snprintf(path, sizeof path, "%s/sequence_frames", group);
    if (h5_read_i64(loc, path, &fr, &nf, df, err) < 0) return -1;
    int ok = nd == 4 && nf == 1 && d[0] == df[0] && d[0] >= 1 && d[0] <= INT32_MAX && d[1] == (size_t)r->onset.h &&
             d[2] == (size_t)r->onset.w && d[3] == (size_t)r->onset.c;
    if (ok) r->seq_frames = mer_malloc(d[0] * sizeof *r->seq_frames, err);
    if (ok && r->seq_frames) {
        for (size_t k = 0; k < d[0]; k++) r->seq_frames[k] = (int)fr[k];
        r->n_seq = (int)d[0];
    }
    free(fr);
    if (!ok)
        return mer_errf(err, "%s: %s/sequence: not (n,H,W,C) frames shaped like the onset crop, with n frame numbers",
                        h5_filename(loc, fn, sizeof fn), group);
    return r->seq_frames ? 0 : -1;
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
    r->apex_given = r->apex_frame;
    if (read_sequence(r, loc, group, err) < 0) goto done;
    snprintf(path, sizeof path, "%s/spot", group);
    if (h5_exists(loc, path)) {
        int64_t given, *sf = NULL;
        float *sc = NULL;
        size_t ds[H5_MAX_DIMS], dc[H5_MAX_DIMS];
        int nds = 0, ndc = 0;
        snprintf(path, sizeof path, "%s/spot/given", group);
        int bad = h5_read_scalar_i64(loc, path, &given, err) < 0;
        snprintf(path, sizeof path, "%s/spot/frames", group);
        bad = bad || h5_read_i64(loc, path, &sf, &nds, ds, err) < 0;
        snprintf(path, sizeof path, "%s/spot/curve", group);
        bad = bad || h5_read_f32(loc, path, &sc, &ndc, dc, err) < 0;
        if (!bad && (nds != 1 || ndc != 1 || ds[0] != dc[0] || ds[0] > INT32_MAX)) {
            char fn[256];
            bad = mer_errf(err, "%s: %s/spot: frames and curve differ in shape", h5_filename(loc, fn, sizeof fn), group);
        }
        if (!bad) r->spot_frames = mer_malloc((ds[0] ? ds[0] : 1) * sizeof *r->spot_frames, err);
        if (bad || !r->spot_frames) {
            free(sf);
            free(sc);
            goto done;
        }
        for (size_t k = 0; k < ds[0]; k++) r->spot_frames[k] = (int)sf[k];
        free(sf);
        r->spot_curve = sc;
        r->n_spot = (int)ds[0];
        r->apex_spotted = 1;
        r->apex_given = (int)given;
    }
    ret = 0;
done:
    free(t);
    free(lm);
    free(box);
    free(frames);
    if (ret < 0) prep_result_free(r);
    return ret;
}
