/* Still images through FFmpeg (see io/media/image.h for the layout and the exact conversion rules). */
#include "io/media/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io/media/av.h"

int image_alloc(mer_image *img, int w, int h, int c, mer_err *err) {
    memset(img, 0, sizeof *img);
    if (w < 1 || h < 1 || (c != 1 && c != 3)) return mer_errf(err, "bad image shape %dx%dx%d", w, h, c);
    if ((size_t)w * (size_t)h > ((size_t)1 << 31) / (size_t)c) return mer_errf(err, "image too large: %dx%dx%d", w, h, c);
    img->px = mer_calloc((size_t)w * h * c, 1, err);
    if (!img->px) return -1;
    img->w = w;
    img->h = h;
    img->c = c;
    return 0;
}

void image_free(mer_image *img) {
    if (!img) return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

int image_convert(mer_image *dst, const mer_image *src, int channels, mer_err *err) {
    if (image_alloc(dst, src->w, src->h, channels, err) < 0) return -1;
    size_t n = (size_t)src->w * src->h;
    if (src->c == channels) {
        memcpy(dst->px, src->px, n * channels);
    } else if (src->c == 3) { /* RGB -> grey, OpenCV BGR2GRAY */
        for (size_t i = 0; i < n; i++)
            dst->px[i] = image_grey_of_rgb(src->px[3 * i], src->px[3 * i + 1], src->px[3 * i + 2]);
    } else if (src->c == 1) { /* grey -> RGB, replicated */
        for (size_t i = 0; i < n; i++) dst->px[3 * i] = dst->px[3 * i + 1] = dst->px[3 * i + 2] = src->px[i];
    } else {
        image_free(dst);
        return mer_errf(err, "bad source channel count %d", src->c);
    }
    return 0;
}

int image_load(mer_image *img, const char *path, int channels, mer_err *err) {
    memset(img, 0, sizeof *img);
    if (channels != 1 && channels != 3) return mer_errf(err, "%s: channels must be 1 or 3, got %d", path, channels);
    av_reader r;
    if (av_reader_open(&r, path, 1, err) < 0) return -1;
    int got = av_reader_next(&r, err);
    if (got == 0) mer_errk(err, MER_ERR_DATA, "%s: no picture could be decoded (truncated or corrupt?)", path);
    int ret = got == 1 ? av_frame_to_image(img, r.frame, channels, path, err) : -1;
    av_reader_close(&r);
    return ret;
}

typedef struct {
    const char *ext;
    enum AVCodecID codec;
    enum AVPixelFormat grey_fmt, rgb_fmt;
} still_format;

static const still_format STILL_FORMATS[] = {
    {"png", AV_CODEC_ID_PNG, AV_PIX_FMT_GRAY8, AV_PIX_FMT_RGB24},
    {"jpg", AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ444P},
    {"jpeg", AV_CODEC_ID_MJPEG, AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUVJ444P},
    {"bmp", AV_CODEC_ID_BMP, AV_PIX_FMT_GRAY8, AV_PIX_FMT_BGR24},
    {"pgm", AV_CODEC_ID_PGM, AV_PIX_FMT_GRAY8, AV_PIX_FMT_GRAY8},
    {"ppm", AV_CODEC_ID_PPM, AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB24},
};

static int write_file_atomic(const char *path, const uint8_t *data, size_t n, mer_err *err) {
    size_t len = strlen(path);
    char *tmp = mer_malloc(len + 5, err);
    if (!tmp) return -1;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        mer_err_errno(err, errno, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    int ok = fwrite(data, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        mer_err_errno(err, errno, "%s: cannot write: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int image_save(const char *path, const mer_image *img, mer_err *err) {
    av_quiet();
    if (!img || !img->px || img->w < 1 || img->h < 1 || (img->c != 1 && img->c != 3))
        return mer_errf(err, "%s: cannot save an empty or malformed image", path);
    const char *dot = strrchr(path, '.');
    const still_format *sf = NULL;
    for (size_t i = 0; dot && i < sizeof STILL_FORMATS / sizeof STILL_FORMATS[0]; i++)
        if (!strcasecmp(dot + 1, STILL_FORMATS[i].ext)) sf = &STILL_FORMATS[i];
    if (!sf) return mer_errf(err, "%s: unknown image extension (use .png .jpg .jpeg .bmp .pgm .ppm)", path);
    const AVCodec *codec = avcodec_find_encoder(sf->codec);
    if (!codec) return mer_errf(err, "%s: FFmpeg has no encoder for .%s", path, sf->ext);
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    AVFrame *frame = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int ret = -1;
    if (!enc || !frame || !pkt) {
        mer_errf(err, "%s: out of memory (encoder)", path);
        goto done;
    }
    enum AVPixelFormat fmt = img->c == 1 ? sf->grey_fmt : sf->rgb_fmt;
    enc->width = img->w;
    enc->height = img->h;
    enc->pix_fmt = fmt;
    enc->time_base = (AVRational){1, 25};
    enc->thread_count = 1;
    if (sf->codec == AV_CODEC_ID_MJPEG) { /* fixed high quality: q=2 */
        enc->flags |= AV_CODEC_FLAG_QSCALE;
        enc->global_quality = 2 * FF_QP2LAMBDA;
        enc->color_range = AVCOL_RANGE_JPEG;
    }
    int averr = avcodec_open2(enc, codec, NULL);
    if (averr < 0) {
        av_errf(err, path, "cannot open the encoder", averr);
        goto done;
    }
    frame->format = fmt;
    frame->color_range = enc->color_range;
    if (av_image_to_frame(frame, img, err) < 0) {
        mer_err_prefix(err, "%s", path);
        goto done;
    }
    frame->quality = enc->global_quality;
    frame->pts = 0;
    if ((averr = avcodec_send_frame(enc, frame)) < 0 || (averr = avcodec_send_frame(enc, NULL)) < 0) {
        av_errf(err, path, "encoding failed", averr);
        goto done;
    }
    averr = avcodec_receive_packet(enc, pkt);
    if (averr < 0) {
        av_errf(err, path, "encoding failed", averr);
        goto done;
    }
    ret = write_file_atomic(path, pkt->data, (size_t)pkt->size, err);
done:
    av_packet_free(&pkt);
    av_frame_free(&frame);
    avcodec_free_context(&enc);
    return ret;
}
