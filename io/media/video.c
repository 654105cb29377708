/* Clips from video files or frame folders, and clip/frames writers (see io/media/video.h). */
#include "io/media/video.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/media/av.h"
#include "io/base/fs.h"

typedef struct {
    int number;
    char *path;
} frame_file;

struct clip {
    char *path;
    int is_video;
    int *numbers; /* sorted */
    size_t n;
    frame_file *files; /* folder: sorted by number, parallel to numbers */
    /* video state */
    int threads;
    av_reader r;
    int open;       /* r is open */
    int cur_index;  /* index of the picture held in r.frame, -1 none */
};

static const char *const IMAGE_EXTS[] = {"jpg", "jpeg", "png", "bmp", "pgm", "ppm", "pnm", "tif", "tiff", "webp"};

/* Trailing-digits frame number of an image file name; 0 and *num set if found, -1 otherwise. */
static int frame_number_of(const char *name, int *num) {
    if (name[0] == '.') return -1;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return -1;
    int image = 0;
    for (size_t i = 0; i < sizeof IMAGE_EXTS / sizeof IMAGE_EXTS[0]; i++)
        if (!strcasecmp(dot + 1, IMAGE_EXTS[i])) image = 1;
    if (!image) return -1;
    const char *d = dot;
    while (d > name && isdigit((unsigned char)d[-1])) d--;
    if (d == dot) return -1;
    long v = 0;
    for (const char *p = d; p < dot; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX) return -1;
    }
    *num = (int)v;
    return 0;
}

static int cmp_frame_file(const void *a, const void *b) {
    int x = ((const frame_file *)a)->number, y = ((const frame_file *)b)->number;
    return (x > y) - (x < y);
}

static int open_folder(clip *c, mer_err *err) {
    DIR *d = opendir(c->path);
    if (!d) return mer_err_errno(err, errno, "%s: cannot open folder: %s", c->path, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    size_t plen = strlen(c->path);
    while ((e = readdir(d))) {
        int num;
        if (frame_number_of(e->d_name, &num) < 0) continue;
        char *fp = mer_malloc(plen + strlen(e->d_name) + 2, err);
        if (!fp) goto fail;
        sprintf(fp, "%s/%s", c->path, e->d_name);
        struct stat st;
        if (stat(fp, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(fp);
            continue;
        }
        if (c->n == cap) {
            cap = cap ? 2 * cap : 64;
            frame_file *nf = realloc(c->files, cap * sizeof *nf);
            if (!nf) {
                free(fp);
                mer_errf(err, "%s: out of memory listing frames", c->path);
                goto fail;
            }
            c->files = nf;
        }
        c->files[c->n].number = num;
        c->files[c->n].path = fp;
        c->n++;
    }
    closedir(d);
    d = NULL;
    if (c->n == 0) return mer_errk(err, MER_ERR_DATA, "%s: no numbered frame images (e.g. img46.jpg, 006_05562.jpg) in the folder", c->path);
    qsort(c->files, c->n, sizeof *c->files, cmp_frame_file);
    for (size_t i = 1; i < c->n; i++)
        if (c->files[i].number == c->files[i - 1].number)
            return mer_errk(err, MER_ERR_DATA, "%s: frame number %d appears twice (%s and %s)", c->path, c->files[i].number,
                            strrchr(c->files[i - 1].path, '/') + 1, strrchr(c->files[i].path, '/') + 1);
    c->numbers = mer_malloc(c->n * sizeof *c->numbers, err);
    if (!c->numbers) return mer_err_prefix(err, "%s", c->path);
    for (size_t i = 0; i < c->n; i++) c->numbers[i] = c->files[i].number;
    return 0;
fail:
    if (d) closedir(d);
    return -1;
}

static int open_video(clip *c, mer_err *err) {
    if (av_reader_open(&c->r, c->path, c->threads, err) < 0) return -1;
    c->open = 1;
    /* Count the pictures by demuxing (no decoding), then rewind. A still image is a one-frame clip. */
    size_t count = c->r.still ? 1 : 0;
    while (!c->r.still) {
        int ret = av_read_frame(c->r.fmt, c->r.pkt);
        if (ret == AVERROR_EOF) break;
        if (ret < 0) break; /* truncated: the frames before the damage stay readable */
        if (c->r.pkt->stream_index == c->r.stream) count++;
        av_packet_unref(c->r.pkt);
    }
    if (count == 0) return mer_errk(err, MER_ERR_DATA, "%s: the video has no frames", c->path);
    if (count > INT_MAX) return mer_errk(err, MER_ERR_DATA, "%s: too many frames", c->path);
    c->numbers = mer_malloc(count * sizeof *c->numbers, err);
    if (!c->numbers) return mer_err_prefix(err, "%s", c->path);
    for (size_t i = 0; i < count; i++) c->numbers[i] = (int)i;
    c->n = count;
    if (av_reader_rewind(&c->r, err) < 0) {
        c->open = 0;
        return -1;
    }
    c->cur_index = -1;
    return 0;
}

int clip_open_threads(clip **out, const char *path, int threads, mer_err *err) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return mer_err_errno(err, errno, "%s: %s", path, strerror(errno));
    clip *c = mer_calloc(1, sizeof *c, err);
    if (!c) return -1;
    c->cur_index = -1;
    c->threads = threads > 0 ? threads : 1;
    c->path = strdup(path);
    if (!c->path) {
        free(c);
        return mer_errf(err, "%s: out of memory", path);
    }
    size_t len = strlen(c->path);
    while (len > 1 && c->path[len - 1] == '/') c->path[--len] = 0;
    c->is_video = !S_ISDIR(st.st_mode);
    if ((c->is_video ? open_video(c, err) : open_folder(c, err)) < 0) {
        clip_close(c);
        return -1;
    }
    *out = c;
    return 0;
}

int clip_open(clip **c, const char *path, mer_err *err) { return clip_open_threads(c, path, 1, err); }

void clip_close(clip *c) {
    if (!c) return;
    if (c->open) av_reader_close(&c->r);
    for (size_t i = 0; c->files && i < c->n; i++) free(c->files[i].path);
    free(c->files);
    free(c->numbers);
    free(c->path);
    free(c);
}

const int *clip_frame_numbers(const clip *c, size_t *n) {
    *n = c->n;
    return c->numbers;
}

static long find_index(const clip *c, int number) {
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->numbers[mid] < number) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->n && c->numbers[lo] == number ? (long)lo : -1;
}

int clip_has_frame(const clip *c, int number) { return find_index(c, number) >= 0; }
int clip_is_video(const clip *c) { return c->is_video; }
const char *clip_path(const clip *c) { return c->path; }

const char *clip_frame_path(const clip *c, int number) {
    long i = c->is_video ? -1 : find_index(c, number);
    return i < 0 ? NULL : c->files[i].path;
}

int clip_read(mer_image *img, clip *c, int number, int channels, mer_err *err) {
    memset(img, 0, sizeof *img);
    long idx = find_index(c, number);
    if (idx < 0)
        return mer_errk(err, MER_ERR_DATA, "%s: no frame number %d (the clip has %zu frames, numbered %d..%d)", c->path, number, c->n,
                        c->numbers[0], c->numbers[c->n - 1]);
    if (!c->is_video) return image_load(img, c->files[idx].path, channels, err);
    if (!c->open || idx < c->cur_index) {
        if (c->open) av_reader_close(&c->r);
        c->open = 0;
        if (av_reader_open(&c->r, c->path, c->threads, err) < 0) return -1;
        c->open = 1;
        c->cur_index = -1;
    }
    while (c->cur_index < idx) {
        int got = av_reader_next(&c->r, err);
        if (got < 0) {
            mer_err_prefix(err, "frame %d", number);
            av_reader_close(&c->r); /* decoder state is unknown after an error: reopen next time */
            c->open = 0;
            return -1;
        }
        if (got == 0)
            return mer_errk(err, MER_ERR_DATA, "%s: frame %d could not be decoded: the video ended after %d decoded frames "
                            "(truncated or corrupt?)", c->path, number, c->cur_index + 1);
        c->cur_index++;
    }
    if (av_frame_to_image(img, c->r.frame, channels, c->path, err) < 0) return mer_err_prefix(err, "frame %d", number);
    return 0;
}

/* ---- writing ------------------------------------------------------------------------------------ */

struct clip_writer {
    char *path, *tmp;
    AVFormatContext *fmt;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    int w, h, header_written;
    int64_t next_pts;
};

static int writer_drain(clip_writer *w, mer_err *err) {
    for (;;) {
        int ret = avcodec_receive_packet(w->enc, w->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return 0;
        if (ret < 0) return av_errf(err, w->path, "encoding failed", ret);
        if (w->pkt->duration <= 0) w->pkt->duration = 1; /* one frame: mov drops a last sample without duration */
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        ret = av_interleaved_write_frame(w->fmt, w->pkt);
        av_packet_unref(w->pkt);
        if (ret < 0) return av_errf(err, w->path, "writing failed", ret);
    }
}

void clip_writer_abort(clip_writer *w) {
    if (!w) return;
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    avcodec_free_context(&w->enc);
    if (w->fmt) {
        if (w->fmt->pb) avio_closep(&w->fmt->pb);
        avformat_free_context(w->fmt);
    }
    if (w->tmp) unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}

int clip_writer_open(clip_writer **out, const char *path, int width, int height, int channels,
                     const clip_writer_opts *o, mer_err *err) {
    av_quiet();
    *out = NULL;
    if (width < 1 || height < 1 || (channels != 1 && channels != 3))
        return mer_errf(err, "%s: bad frame shape %dx%dx%d", path, width, height, channels);
    clip_writer_opts d = {"ffv1", 25, 0, 1};
    if (o) {
        if (o->codec) d.codec = o->codec;
        if (o->fps > 0) d.fps = o->fps;
        if (o->quality > 0) d.quality = o->quality;
        if (o->threads > 0) d.threads = o->threads;
    }
    clip_writer *w = mer_calloc(1, sizeof *w, err);
    if (!w) return -1;
    w->w = width;
    w->h = height;
    size_t len = strlen(path);
    w->path = strdup(path);
    w->tmp = malloc(len + 5);
    if (!w->path || !w->tmp) {
        clip_writer_abort(w);
        return mer_errf(err, "%s: out of memory", path);
    }
    memcpy(w->tmp, path, len);
    memcpy(w->tmp + len, ".tmp", 5);
    int ret;
    const AVOutputFormat *ofmt = av_guess_format(NULL, path, NULL);
    if (!ofmt) {
        clip_writer_abort(w);
        return mer_errf(err, "%s: unknown video container extension (use .mkv .avi .mp4 .mov .nut)", path);
    }
    ret = avformat_alloc_output_context2(&w->fmt, ofmt, NULL, w->tmp);
    if (ret < 0) {
        clip_writer_abort(w);
        return av_errf(err, path, "cannot create the container", ret);
    }
    const AVCodec *codec = avcodec_find_encoder_by_name(d.codec);
    if (!codec || codec->type != AVMEDIA_TYPE_VIDEO) {
        clip_writer_abort(w);
        return mer_errf(err, "%s: FFmpeg has no video encoder named '%s'", path, d.codec);
    }
    if (avformat_query_codec(ofmt, codec->id, FF_COMPLIANCE_NORMAL) == 0) {
        clip_writer_abort(w);
        return mer_errf(err, "%s: the %s container cannot hold %s video", path, ofmt->name, d.codec);
    }
    /* Pixel format preference: lossless first. */
    const enum AVPixelFormat pref[] = {channels == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB24,
                                       AV_PIX_FMT_BGR24, AV_PIX_FMT_BGR0, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV444P,
                                       AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV420P};
    enum AVPixelFormat pix = AV_PIX_FMT_NONE;
    for (size_t i = 0; i < sizeof pref / sizeof pref[0] && pix == AV_PIX_FMT_NONE; i++) {
        if (!codec->pix_fmts) { /* rawvideo accepts anything; AVI readers assume BGR for 24-bit raw */
            pix = AV_PIX_FMT_BGR24;
            break;
        }
        for (const enum AVPixelFormat *p = codec->pix_fmts; *p != AV_PIX_FMT_NONE; p++)
            if (*p == pref[i]) pix = *p;
    }
    if (pix == AV_PIX_FMT_NONE) pix = codec->pix_fmts[0];
    w->st = avformat_new_stream(w->fmt, NULL);
    w->enc = avcodec_alloc_context3(codec);
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->st || !w->enc || !w->frame || !w->pkt) {
        clip_writer_abort(w);
        return mer_errf(err, "%s: out of memory (encoder)", path);
    }
    w->enc->width = width;
    w->enc->height = height;
    w->enc->pix_fmt = pix;
    w->enc->time_base = (AVRational){1, d.fps};
    w->enc->framerate = (AVRational){d.fps, 1};
    w->enc->thread_count = d.threads;
    w->enc->gop_size = 12;
    if (codec->id == AV_CODEC_ID_MJPEG) {
        w->enc->flags |= AV_CODEC_FLAG_QSCALE;
        w->enc->global_quality = (d.quality ? d.quality : 2) * FF_QP2LAMBDA;
        w->enc->color_range = AVCOL_RANGE_JPEG;
    }
    if (w->fmt->oformat->flags & AVFMT_GLOBALHEADER) w->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    ret = avcodec_open2(w->enc, codec, NULL);
    if (ret < 0) {
        clip_writer_abort(w);
        return av_errf(err, path, "cannot open the encoder (odd frame size for a 4:2:0 codec?)", ret);
    }
    ret = avcodec_parameters_from_context(w->st->codecpar, w->enc);
    w->st->time_base = w->enc->time_base;
    if (ret >= 0 && !(ofmt->flags & AVFMT_NOFILE)) ret = avio_open(&w->fmt->pb, w->tmp, AVIO_FLAG_WRITE);
    if (ret < 0) {
        clip_writer_abort(w);
        return av_errf(err, path, "cannot create the file", ret);
    }
    ret = avformat_write_header(w->fmt, NULL);
    if (ret < 0) {
        clip_writer_abort(w);
        return av_errf(err, path, "cannot write the container header", ret);
    }
    w->header_written = 1;
    *out = w;
    return 0;
}

int clip_writer_add(clip_writer *w, const mer_image *img, mer_err *err) {
    if (img->w != w->w || img->h != w->h)
        return mer_errf(err, "%s: frame %lld is %dx%d, the clip is %dx%d", w->path, (long long)w->next_pts, img->w,
                        img->h, w->w, w->h);
    av_frame_unref(w->frame);
    w->frame->format = w->enc->pix_fmt;
    w->frame->color_range = w->enc->color_range;
    if (av_image_to_frame(w->frame, img, err) < 0) return mer_err_prefix(err, "%s", w->path);
    w->frame->pts = w->next_pts++;
    w->frame->quality = w->enc->global_quality;
    int ret = avcodec_send_frame(w->enc, w->frame);
    if (ret < 0) return av_errf(err, w->path, "encoding failed", ret);
    return writer_drain(w, err);
}

int clip_writer_close(clip_writer *w, mer_err *err) {
    if (!w) return 0;
    int ret = avcodec_send_frame(w->enc, NULL);
    if (ret < 0 && ret != AVERROR_EOF) {
        av_errf(err, w->path, "encoding failed", ret);
        clip_writer_abort(w);
        return -1;
    }
    if (writer_drain(w, err) < 0) {
        clip_writer_abort(w);
        return -1;
    }
    ret = av_write_trailer(w->fmt);
    if (ret < 0) {
        av_errf(err, w->path, "cannot finish the container", ret);
        clip_writer_abort(w);
        return -1;
    }
    ret = avio_closep(&w->fmt->pb);
    if (ret < 0 || rename(w->tmp, w->path) != 0) {
        if (ret < 0) av_errf(err, w->path, "cannot write", ret);
        else mer_err_errno(err, errno, "%s: cannot rename from %s: %s", w->path, w->tmp, strerror(errno));
        clip_writer_abort(w);
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL; /* renamed: nothing to unlink */
    clip_writer_abort(w);
    return 0;
}

int clip_write_frames(const char *dir, const char *prefix, const char *ext, const mer_image *frames,
                      const int *numbers, size_t n, mer_err *err) {
    if (fs_mkdir_p(dir, err) < 0) return -1;
    size_t len = strlen(dir) + strlen(prefix) + strlen(ext) + 32;
    char *path = mer_malloc(len, err);
    if (!path) return -1;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, len, "%s/%s%d.%s", dir, prefix, numbers ? numbers[i] : (int)i, ext);
        if (image_save(path, &frames[i], err) < 0) {
            free(path);
            return -1;
        }
    }
    free(path);
    return 0;
}
