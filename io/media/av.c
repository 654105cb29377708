/* FFmpeg plumbing for io/media/image.c and io/media/video.c: open/decode/rewind a media file, frame <-> mer_image. */
#include "io/media/av.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

static pthread_once_t av_quiet_once = PTHREAD_ONCE_INIT;
static void av_quiet_init(void) { av_log_set_level(AV_LOG_QUIET); }
void av_quiet(void) { pthread_once(&av_quiet_once, av_quiet_init); }

/* AVERROR(e) is -e for an errno e: an I/O error may pass on a retry, but decoders and demuxers also
 * answer EINVAL/ERANGE/EDOM/ENOSYS to content they cannot use. FFmpeg's own codes (AVERROR_INVALIDDATA,
 * ...) are four-letter tags far below -4096 and say the same: the file's content cannot be used. */
static mer_err_kind av_err_kind(int averr) {
    int e = -averr;
    if (averr >= 0 || e >= 4096 || e == EINVAL || e == ERANGE || e == EDOM || e == ENOSYS) return MER_ERR_DATA;
    return mer_err_kind_of_errno(e);
}

int av_errf(mer_err *err, const char *path, const char *what, int averr) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(averr, buf, sizeof buf);
    return mer_errk(err, av_err_kind(averr), "%s: %s: %s", path, what, buf);
}

static int reader_open_codec(av_reader *r, int threads, mer_err *err) {
    const AVCodec *codec = NULL;
    int ret = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (ret == AVERROR_STREAM_NOT_FOUND) return mer_errk(err, MER_ERR_DATA, "%s: no video stream or image in the file", r->path);
    if (ret == AVERROR_DECODER_NOT_FOUND) return mer_errk(err, MER_ERR_DATA, "%s: no decoder for the video codec", r->path);
    if (ret < 0) return av_errf(err, r->path, "cannot select a video stream", ret);
    r->stream = ret;
    r->dec = avcodec_alloc_context3(codec);
    if (!r->dec) return mer_errf(err, "%s: out of memory (decoder context)", r->path);
    ret = avcodec_parameters_to_context(r->dec, r->fmt->streams[r->stream]->codecpar);
    if (ret < 0) return av_errf(err, r->path, "bad codec parameters", ret);
    /* Explicit thread count: 1 by default, because mer parallelises across samples and processes. */
    r->dec->thread_count = threads > 0 ? threads : 1;
    r->dec->thread_type = r->dec->thread_count > 1 ? FF_THREAD_FRAME | FF_THREAD_SLICE : 0;
    /* Damaged data is an error, not a concealed (partly grey) picture. Not for TIFF: its decoder treats any
     * unknown tag (common, e.g. ResolutionUnit from some writers) as fatal under AV_EF_EXPLODE. */
    if (codec->id != AV_CODEC_ID_TIFF) r->dec->err_recognition |= AV_EF_EXPLODE;
    ret = avcodec_open2(r->dec, codec, NULL);
    if (ret < 0) return av_errf(err, r->path, "cannot open the decoder", ret);
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    if (!r->pkt || !r->frame) return mer_errf(err, "%s: out of memory (packet/frame)", r->path);
    return 0;
}

/* The whole file as one packet (padded as FFmpeg requires). */
static int read_whole_file(AVPacket *pkt, const char *path, off_t size, mer_err *err) {
    if (size > INT_MAX - AV_INPUT_BUFFER_PADDING_SIZE) return mer_errk(err, MER_ERR_DATA, "%s: image file too large", path);
    uint8_t *buf = av_malloc((size_t)size + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!buf) return mer_errf(err, "%s: out of memory reading the file", path);
    memset(buf + size, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    FILE *f = fopen(path, "rb");
    int e = errno;
    size_t got = f ? fread(buf, 1, (size_t)size, f) : 0;
    if (f) fclose(f);
    if (got != (size_t)size) {
        av_free(buf);
        if (!f) return mer_err_errno(err, e, "%s: cannot read the file: %s", path, strerror(e));
        return mer_errk(err, MER_ERR_IO, "%s: cannot read the file: short read", path);
    }
    int ret = av_packet_from_data(pkt, buf, (int)size);
    if (ret < 0) {
        av_free(buf);
        return av_errf(err, path, "cannot wrap the file", ret);
    }
    return 0;
}

int av_reader_open(av_reader *r, const char *path, int threads, mer_err *err) {
    av_quiet();
    memset(r, 0, sizeof *r);
    r->path = path;
    r->stream = -1;
    r->threads = threads;
    struct stat st;
    if (stat(path, &st) != 0) return mer_err_errno(err, errno, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return mer_errk(err, MER_ERR_DATA, "%s: is a directory, not an image or video file", path);
    if (st.st_size == 0) return mer_errk(err, MER_ERR_DATA, "%s: empty file", path);
    /* pattern_type=none: a '%' in a file name is a character, not an image-sequence pattern. */
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "pattern_type", "none", 0);
    int ret = avformat_open_input(&r->fmt, path, NULL, &opts);
    av_dict_free(&opts);
    if (ret < 0) {
        r->fmt = NULL;
        return av_errf(err, path, "not a readable image or video", ret);
    }
    /* Still images (image2, *_pipe demuxers) carry the codec id in the demuxer already; probing the stream
     * would decode the picture once more, so it is skipped for them (halves the time per frame file). */
    const char *dname = r->fmt->iformat->name;
    size_t dl = strlen(dname);
    r->still = r->fmt->nb_streams == 1 && (!strcmp(dname, "image2") || (dl > 5 && !strcmp(dname + dl - 5, "_pipe")));
    ret = r->still ? 0 : avformat_find_stream_info(r->fmt, NULL);
    if (ret < 0) {
        av_errf(err, path, "cannot read stream information", ret);
        av_reader_close(r);
        return -1;
    }
    if (reader_open_codec(r, threads, err) < 0 || (r->still && read_whole_file(r->pkt, path, st.st_size, err) < 0)) {
        av_reader_close(r);
        return -1;
    }
    return 0;
}

int av_reader_next(av_reader *r, mer_err *err) {
    if (r->done) return 0;
    for (;;) {
        int ret = avcodec_receive_frame(r->dec, r->frame);
        if (ret == 0) {
            if (r->frame->decode_error_flags || (r->frame->flags & AV_FRAME_FLAG_CORRUPT))
                return mer_errk(err, MER_ERR_DATA, "%s: corrupt frame (decoder reported damaged data)", r->path);
            return 1;
        }
        if (ret == AVERROR_EOF) {
            r->done = 1;
            return 0;
        }
        if (ret != AVERROR(EAGAIN)) return av_errf(err, r->path, "decoding failed", ret);
        if (r->flushing) { /* drained without EOF: treat as end */
            r->done = 1;
            return 0;
        }
        if (r->still) { /* one packet (the file), then drain */
            ret = avcodec_send_packet(r->dec, r->pkt);
            av_packet_unref(r->pkt);
            if (ret < 0) return av_errf(err, r->path, "decoding failed (truncated or corrupt data?)", ret);
            r->flushing = 1;
            ret = avcodec_send_packet(r->dec, NULL);
            if (ret < 0 && ret != AVERROR_EOF) return av_errf(err, r->path, "decoding failed", ret);
            continue;
        }
        for (;;) {
            ret = av_read_frame(r->fmt, r->pkt);
            if (ret == AVERROR_EOF) {
                r->flushing = 1;
                ret = avcodec_send_packet(r->dec, NULL);
                if (ret < 0 && ret != AVERROR_EOF) return av_errf(err, r->path, "decoding failed", ret);
                break;
            }
            if (ret < 0) return av_errf(err, r->path, "reading failed (truncated or corrupt file?)", ret);
            if (r->pkt->stream_index != r->stream) {
                av_packet_unref(r->pkt);
                continue;
            }
            ret = avcodec_send_packet(r->dec, r->pkt);
            av_packet_unref(r->pkt);
            if (ret < 0) return av_errf(err, r->path, "decoding failed (truncated or corrupt data?)", ret);
            break;
        }
    }
}

int av_reader_rewind(av_reader *r, mer_err *err) {
    /* Reopening is slower than seeking but works for every container and codec (seeking to frame 0
     * is unreliable for some, e.g. raw streams without an index). */
    const char *path = r->path;
    int threads = r->threads;
    av_reader_close(r);
    return av_reader_open(r, path, threads, err);
}

void av_reader_close(av_reader *r) {
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    if (r->fmt) avformat_close_input(&r->fmt);
    r->stream = -1;
}

/* swscale a picture into a packed 8-bit target format (GRAY8 or RGB24) in dst (w*h*bytes, no padding). */
static int scale_to_packed(uint8_t *dst, enum AVPixelFormat target, const uint8_t *const src[4],
                           const int src_ls[4], enum AVPixelFormat src_fmt, int w, int h,
                           int src_full_range, int colorspace, const char *path, mer_err *err) {
    struct SwsContext *sws = sws_getContext(w, h, src_fmt, w, h, target,
                                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT,
                                            NULL, NULL, NULL);
    if (!sws)
        return mer_errk(err, MER_ERR_DATA, "%s: cannot convert pixel format %s (%dx%d) to %s", path,
                        av_get_pix_fmt_name(src_fmt) ? av_get_pix_fmt_name(src_fmt) : "?", w, h,
                        av_get_pix_fmt_name(target));
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src_fmt);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_RGB) && d->nb_components >= 3) {
        int cs = colorspace == AVCOL_SPC_UNSPECIFIED || colorspace == AVCOL_SPC_RESERVED ? SWS_CS_DEFAULT : colorspace;
        sws_setColorspaceDetails(sws, sws_getCoefficients(cs), src_full_range, sws_getCoefficients(SWS_CS_DEFAULT),
                                 1, 0, 1 << 16, 1 << 16);
    }
    uint8_t *tmp[4] = {0};
    int tmp_ls[4] = {0};
    int ret = av_image_alloc(tmp, tmp_ls, w, h, target, 64);
    if (ret < 0) {
        sws_freeContext(sws);
        return mer_errf(err, "%s: out of memory converting a %dx%d frame", path, w, h);
    }
    ret = sws_scale(sws, src, src_ls, 0, h, tmp, tmp_ls);
    sws_freeContext(sws);
    if (ret != h) {
        av_freep(&tmp[0]);
        return mer_errf(err, "%s: pixel conversion from %s failed", path, av_get_pix_fmt_name(src_fmt));
    }
    int row = w * (target == AV_PIX_FMT_GRAY8 ? 1 : 3);
    for (int y = 0; y < h; y++) memcpy(dst + (size_t)y * row, tmp[0] + (size_t)y * tmp_ls[0], (size_t)row);
    av_freep(&tmp[0]);
    return 0;
}

int av_frame_to_image(mer_image *img, const AVFrame *f, int channels, const char *path, mer_err *err) {
    memset(img, 0, sizeof *img);
    if (channels != 1 && channels != 3) return mer_errf(err, "%s: channels must be 1 or 3, got %d", path, channels);
    int w = f->width, h = f->height;
    if (w <= 0 || h <= 0) return mer_errk(err, MER_ERR_DATA, "%s: decoded frame has no pixels (%dx%d)", path, w, h);
    enum AVPixelFormat fmt = (enum AVPixelFormat)f->format;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    if (!d) return mer_errk(err, MER_ERR_DATA, "%s: decoded frame has an unknown pixel format", path);
    /* "grey" = luma only (see io/media/image.h). Palettes may hold colours, so they count as colour. */
    int grey_src = !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && d->nb_components <= 2;
    mer_image native;
    if (image_alloc(&native, w, h, grey_src ? 1 : 3, err) < 0) return mer_err_prefix(err, "%s", path);
    enum AVPixelFormat target = grey_src ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    if (fmt == target) {
        size_t row = (size_t)w * native.c;
        for (int y = 0; y < h; y++) memcpy(native.px + (size_t)y * row, f->data[0] + (size_t)y * f->linesize[0], row);
    } else {
        int full = f->color_range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P ||
                   fmt == AV_PIX_FMT_YUVJ444P || fmt == AV_PIX_FMT_YUVJ440P || fmt == AV_PIX_FMT_YUVJ411P;
        if (scale_to_packed(native.px, target, (const uint8_t *const *)f->data, f->linesize, fmt, w, h, full,
                            f->colorspace, path, err) < 0) {
            image_free(&native);
            return -1;
        }
    }
    if (native.c == channels) {
        *img = native;
        return 0;
    }
    int ret = image_convert(img, &native, channels, err);
    image_free(&native);
    return ret < 0 ? mer_err_prefix(err, "%s", path) : 0;
}

int av_image_to_frame(AVFrame *f, const mer_image *img, mer_err *err) {
    enum AVPixelFormat fmt = (enum AVPixelFormat)f->format;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    if (!d) return mer_errf(err, "unknown target pixel format");
    int grey_dst = !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL)) && d->nb_components <= 2;
    f->width = img->w;
    f->height = img->h;
    int ret = av_frame_get_buffer(f, 0);
    if (ret < 0) return av_errf(err, "frame", "cannot allocate", ret);
    /* Grey targets get our grey formula (not swscale's), colour targets start from RGB. */
    mer_image src = *img, conv = {0};
    int want_c = grey_dst ? 1 : 3;
    if (img->c != want_c) {
        if (image_convert(&conv, img, want_c, err) < 0) return -1;
        src = conv;
    }
    enum AVPixelFormat src_fmt = want_c == 1 ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
    size_t row = (size_t)src.w * src.c;
    if (fmt == src_fmt) {
        for (int y = 0; y < src.h; y++) memcpy(f->data[0] + (size_t)y * f->linesize[0], src.px + (size_t)y * row, row);
        image_free(&conv);
        return 0;
    }
    struct SwsContext *sws = sws_getContext(src.w, src.h, src_fmt, src.w, src.h, fmt,
                                            SWS_BILINEAR | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT,
                                            NULL, NULL, NULL);
    if (!sws) {
        image_free(&conv);
        return mer_errf(err, "cannot convert %s to %s", av_get_pix_fmt_name(src_fmt), av_get_pix_fmt_name(fmt));
    }
    if (!grey_dst && !(d->flags & AV_PIX_FMT_FLAG_RGB)) { /* RGB -> YUV: BT.601, full range for JPEG formats */
        int full = f->color_range == AVCOL_RANGE_JPEG || fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P ||
                   fmt == AV_PIX_FMT_YUVJ444P;
        sws_setColorspaceDetails(sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_DEFAULT),
                                 full, 0, 1 << 16, 1 << 16);
    }
    const uint8_t *sp[4] = {src.px, NULL, NULL, NULL};
    int sl[4] = {(int)row, 0, 0, 0};
    ret = sws_scale(sws, sp, sl, 0, src.h, f->data, f->linesize);
    sws_freeContext(sws);
    image_free(&conv);
    if (ret != src.h) return mer_errf(err, "pixel conversion to %s failed", av_get_pix_fmt_name(fmt));
    return 0;
}
