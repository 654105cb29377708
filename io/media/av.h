/* Internal FFmpeg plumbing shared by io/media/image.c and io/media/video.c (not for other modules: they use
 * io/media/image.h and io/media/video.h, which hide every FFmpeg type).
 *
 * av_reader: demux + decode the best video stream of a file, frame by frame, single-threaded unless asked
 * otherwise. A still image (FFmpeg's probe picks image2 or an *_pipe demuxer) is decoded from the WHOLE file
 * as one packet with the codec the probe found: the pipe demuxers split files into 4 KiB packets and rely on a
 * parser, which some codecs (TIFF) lack.
 * av_encode_image: encode one mer_image as a still (png, mjpeg, bmp, pgm, ppm).
 */
#pragma once
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "io/media/image.h"

typedef struct {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    int stream;     /* index of the decoded stream in fmt */
    int flushing;   /* demuxer exhausted, decoder being drained */
    int done;       /* decoder fully drained */
    int threads;
    int still;      /* a still image: the whole file is sent to the decoder as one packet */
    const char *path;
} av_reader;

void av_quiet(void); /* silence FFmpeg's log output (once per process) */
/* Fill err with "PATH: what: FFmpeg's reason". Returns -1. */
int av_errf(mer_err *err, const char *path, const char *what, int averr);

int av_reader_open(av_reader *r, const char *path, int threads, mer_err *err);
/* Decode the next frame into r->frame. Returns 1 (a frame), 0 (end of stream) or -1 (error). */
int av_reader_next(av_reader *r, mer_err *err);
/* Rewind to the first frame. */
int av_reader_rewind(av_reader *r, mer_err *err);
void av_reader_close(av_reader *r);

/* Convert a decoded frame to a mer_image with `channels` channels (rules in io/media/image.h). */
int av_frame_to_image(mer_image *img, const AVFrame *f, int channels, const char *path, mer_err *err);
/* Fill a frame (allocated by the caller with format/width/height set, buffers allocated here) from img. */
int av_image_to_frame(AVFrame *f, const mer_image *img, mer_err *err);
