/* Still images: load (any format FFmpeg decodes: png, jpg, bmp, pgm/ppm/pbm, tiff, webp, ...) and save
 * (.png .jpg/.jpeg .bmp .pgm .ppm), through libavformat/libavcodec/libswscale — one code path, the same
 * one io/media/video.h uses for frames of clips.
 *
 * Layout: row-major HWC uint8, no row padding: pixel (x, y), channel k is px[(y*w + x)*c + k];
 * c = 1 (grey) or 3 (R, G, B in that order).
 *
 * Channel conversion (exact, documented because face detection and landmarks depend on it; the face fixtures
 * are grey PNGs so OpenCV, dlib and mer read identical pixels, tests/fixtures/face/README.md):
 * - The source is "grey" when its pixel format carries luma only (gray8/16, ya8, monochrome: PGM, grey PNG,
 *   single-component JPEG, SAMM's frames). Grey -> grey copies the values (16-bit sources: swscale to 8 bit).
 *   Grey -> RGB replicates the value into R, G and B.
 * - Any other source is "colour": it is converted to RGB24 first (a copy for RGB24; swscale with
 *   SWS_ACCURATE_RND|SWS_FULL_CHR_H_INT|SWS_BITEXACT otherwise, honouring the frame's full/limited range and
 *   BT.601/709 matrix; alpha is dropped, not composited). Colour -> grey then uses OpenCV's 8-bit BGR2GRAY:
 *       Y = (9798*R + 19235*G + 3735*B + 16384) >> 15
 *   (= 0.299 R + 0.587 G + 0.114 B, rounded), so a grey image here equals cv2.cvtColor(img, COLOR_RGB2GRAY) of the
 *   same RGB pixels. A colour JPEG's Y plane is NOT used directly (libjpeg's "decode as grey" would do that).
 * - JPEG decoders differ by a grey level or two between FFmpeg and libjpeg-turbo (IDCT, chroma up-sampling);
 *   parity tests against OpenCV/dlib must use lossless PNG/PGM input.
 *
 * Decoding runs single-threaded (the decoder's thread_count is set to 1 explicitly): parallelism in mer is
 * across samples/processes. Damaged input is an error (AV_EF_EXPLODE), never a half-grey image.
 * FFmpeg's own log output is silenced (level AV_LOG_QUIET, process-wide, set once); its error codes are
 * turned into messages that name the file.
 */
#pragma once
#include <stdint.h>

#include "io/base/err.h"

typedef struct {
    int w, h, c;  /* width, height, channels (1 or 3) */
    uint8_t *px;  /* h*w*c bytes, owned */
} mer_image;

/* Decode the first frame of `path` into img (allocated; image_free it), converted to `channels` (1 or 3). */
int image_load(mer_image *img, const char *path, int channels, mer_err *err);
/* Encode img by the extension of `path`: .png (lossless), .jpg/.jpeg (JPEG, 4:4:4, quality q=2),
 * .bmp, .pgm (grey; colour input is converted with the formula above), .ppm (RGB; grey replicated).
 * The file is written to PATH.tmp and renamed, so a failed save never leaves a partial file. */
int image_save(const char *path, const mer_image *img, mer_err *err);
/* Allocate a zeroed w x h x c image (w, h >= 1; c = 1 or 3). */
int image_alloc(mer_image *img, int w, int h, int c, mer_err *err);
void image_free(mer_image *img); /* frees px and zeroes the struct; safe on a zeroed struct */

/* Channel conversion with the rules above: dst (allocated) = src as `channels` channels. */
int image_convert(mer_image *dst, const mer_image *src, int channels, mer_err *err);
/* OpenCV BGR2GRAY on one RGB pixel. */
static inline uint8_t image_grey_of_rgb(uint8_t r, uint8_t g, uint8_t b) {
    return (uint8_t)((9798u * r + 19235u * g + 3735u * b + 16384u) >> 15);
}
