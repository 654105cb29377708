/* Clips: the frames of one sample, from a video file or a folder of numbered frame images, and the reverse
 * (frames -> video file, frames -> numbered stills).
 *
 * Frames are addressed by their FRAME NUMBER, the number the dataset annotations use:
 * - Frame folder (CASME II `img46.jpg`, SAMM `006_05562.jpg`, SMIC `image0123.bmp`, `reg_img46.jpg`, ...):
 *   the number is the integer formed by the trailing digits of the file name's stem, whatever its zero padding
 *   (SAMM's `006_5562.jpg` and `006_05562.jpg` are both frame 5562; a folder holding both is an error).
 *   Files whose extension is not an image one (jpg jpeg png bmp pgm ppm pnm tif tiff webp), hidden files,
 *   folders and image files without trailing digits are ignored.
 * - Video file (avi, mp4, mkv, mov, ... with any codec FFmpeg decodes): frame number = 0-based decode index
 *   (the first decoded picture is frame 0). The count comes from the demuxer's packet count at open (no
 *   decoding); a frame whose packet cannot be decoded (truncated file) fails at clip_read with its number.
 *   `mer` writes synthetic clips as frame folders numbered from 0 or as videos, and annotations of a video
 *   clip use 0-based indices, so both forms of a clip are addressed the same way.
 *
 * Decoding goes through io/av (same conversion rules as io/media/image.h: grey/RGB, OpenCV grey formula).
 * Reading a video is sequential: asking for an earlier frame than the last one read reopens the file, so read
 * frames in ascending order when you can (prep reads onset then apex).
 * A clip is not thread-safe; open one per thread.
 */
#pragma once
#include <stddef.h>

#include "io/media/image.h"

typedef struct clip clip;

int clip_open(clip **c, const char *path, mer_err *err);
/* Same with an explicit decoder thread count (clip_open uses 1; only videos use threads). */
int clip_open_threads(clip **c, const char *path, int threads, mer_err *err);
void clip_close(clip *c); /* NULL-safe */

/* Sorted ascending, owned by the clip. */
const int *clip_frame_numbers(const clip *c, size_t *n);
int clip_has_frame(const clip *c, int frame_number);
int clip_is_video(const clip *c);
const char *clip_path(const clip *c);
/* The file holding a frame of a folder clip (NULL for videos or unknown numbers). */
const char *clip_frame_path(const clip *c, int frame_number);

/* Decode frame `frame_number` as `channels` (1 or 3) channels into img (allocated; image_free it). */
int clip_read(mer_image *img, clip *c, int frame_number, int channels, mer_err *err);

/* ---- writing ---------------------------------------------------------------------------------- */

typedef struct {
    const char *codec; /* FFmpeg encoder name: "ffv1" (lossless, default), "mjpeg", "rawvideo", "libx264", ... */
    int fps;           /* frames per second stored in the container (default 25) */
    int quality;       /* mjpeg: qscale 1 (best) .. 31; 0 = 2 */
    int threads;       /* encoder threads (0 = 1) */
} clip_writer_opts;

typedef struct clip_writer clip_writer;

/* Container from the extension of `path` (.mkv .avi .mp4 .mov .nut ...). Frames must all be w x h; their
 * channel count may be 1 or 3 (grey frames are stored grey when the codec supports it and channels == 1).
 * Pixel format: the first of gray8 (channels 1), rgb24, bgr24, bgr0, yuvj444p, yuv444p, yuvj420p, yuv420p that the
 * encoder supports; ffv1, rawvideo and png are therefore lossless. Written to PATH.tmp, renamed on close. */
int clip_writer_open(clip_writer **w, const char *path, int width, int height, int channels,
                     const clip_writer_opts *o, mer_err *err);
int clip_writer_add(clip_writer *w, const mer_image *frame, mer_err *err);
int clip_writer_close(clip_writer *w, mer_err *err); /* flush, finish, rename, free (also on error) */
void clip_writer_abort(clip_writer *w);              /* discard the partial file, free; NULL-safe */

/* Frames -> numbered stills: DIR/PREFIX<number>.EXT (no zero padding; ext png/jpg/bmp/pgm/ppm), creating DIR.
 * numbers may be NULL (then 0..n-1). */
int clip_write_frames(const char *dir, const char *prefix, const char *ext, const mer_image *frames,
                      const int *numbers, size_t n, mer_err *err);
