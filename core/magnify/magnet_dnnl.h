/* MagNet on oneDNN (internal to core/magnify; only in builds with MER_HAVE_DNNL): the forward of magnet.h with
 * activations in oneDNN's blocked layout (nChw16c on AVX-512, else nChw8c), convolutions created once per
 * layer and shape, the factors processed in batches, and reflect padding, upsampling and the channel concat
 * as plain loops over the blocked layout. */
#pragma once
#include <stddef.h>

#include "core/magnify/magnet.h"

/* Indices into MAGNET_LAYERS; a residual block X uses X (c1) and X + 1 (c2). */
enum {
    L_ENC_CONV1 = 0,
    L_ENC_CONV2 = 1,
    L_ENC_RES = 2,      /* 3 blocks: 2, 4, 6 */
    L_ENC_TEX_CONV = 8,
    L_TEX_RES = 9,      /* 2 blocks: 9, 11 */
    L_SHAPE_RES = 13,   /* 2 blocks: 13, 15 */
    L_MANI_CONV0 = 17,
    L_MANI_AFT = 18,
    L_MANI_RES = 19,
    L_DEC_TEX_UP = 21,
    L_DEC_RES = 22,     /* 9 blocks: 22, 24, ..., 38 */
    L_DEC_CONV2 = 40,
    L_PRED = 41,
};

/* out (P, H+t+b, W+l+r, v) from in (P, H, W, v): planes of v-float vectors (v = 1: planar; v = 16: one
 * channel block of nChw16c), padded by reflection (edge not repeated; every pad < size) or zeros. */
void magnet_pad(float *out, const float *in, int P, int H, int W, int v, int t, int l, int b, int r, int reflect_mode);
/* out (P, 2H, 2W, v) = nearest-neighbour upsampling of in (P, H, W, v). */
void magnet_upsample2(float *out, const float *in, int P, int H, int W, int v);

#ifdef MER_HAVE_DNNL
/* As magnet_forward_budget (arguments already checked); the budget bounds the floats of one batch of factors'
 * largest activation. Creates m->dnnl on first use. */
int magnet_forward_dnnl(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                        const magnet_model *m, size_t budget_floats, mer_err *err);
void magnet_dnnl_free(struct magnet_dnnl *d);
#endif
