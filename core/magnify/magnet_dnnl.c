/* MagNet forward on oneDNN (see magnet_dnnl.h). Tensors are (N, C, H, W) in the blocked layout of block v
 * (C a multiple of v: 16, 32, 64), i.e. N*C/v planes of (H, W, v): an image is contiguous, and so is each
 * half of its channels, which makes the decoder's channel concat two copies. */
#ifdef MER_HAVE_DNNL
#include "core/magnify/magnet_dnnl.h"

#include <stdlib.h>
#include <string.h>

#include "core/nn/dnnl_seq.h"

#define MD_MAX_CONVS 128

typedef struct {
    int layer, N, Hi, Wi; /* key: the layer and its (already padded) input */
    dnnl_primitive_t prim, to_plain; /* to_plain: the prediction's reorder to nchw, if its layout is another */
    dnnl_memory_desc_t src_md, dst_md, plain_md, scratch_md;
    dnnl_memory_t w;
} md_conv;

enum { W_X7, W_F16, W_P, W_TRUNK, W_M, W_V, W_T1, W_D, W_G, W_H0, W_TEXUP, W_DB, W_X, W_UP, W_DEC2, W_PRED, W_PLAIN, W_COUNT };

struct magnet_dnnl {
    dn_seq seq; /* its engine and stream only */
    int v;      /* channel block: 16 with AVX-512, else 8 */
    dnnl_format_tag_t tag;
    md_conv conv[MD_MAX_CONVS];
    int n_conv;
    float *buf[W_COUNT], *scratch;
    size_t cap[W_COUNT], scratch_cap;
};

static void clear_convs(struct magnet_dnnl *d) {
    for (int i = 0; i < d->n_conv; i++) {
        dnnl_primitive_destroy(d->conv[i].prim);
        if (d->conv[i].to_plain) dnnl_primitive_destroy(d->conv[i].to_plain);
        dnnl_memory_destroy(d->conv[i].w);
    }
    d->n_conv = 0;
}

void magnet_dnnl_free(struct magnet_dnnl *d) {
    if (!d) return;
    clear_convs(d);
    for (int i = 0; i < W_COUNT; i++) free(d->buf[i]);
    free(d->scratch);
    dn_seq_free(&d->seq);
    free(d);
}

static float *grow(float **buf, size_t *cap, size_t floats, mer_err *err) {
    if (floats <= *cap) return *buf;
    free(*buf);
    const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    *buf = aligned_alloc(64, bytes);
    *cap = *buf ? floats : 0;
    if (!*buf) mer_errf(err, "MagNet: out of memory (%zu bytes)", bytes);
    return *buf;
}

static float *W_(struct magnet_dnnl *d, int which, size_t floats, mer_err *err) {
    return grow(&d->buf[which], &d->cap[which], floats, err);
}

/* The convolution of `layer` on an (N, C, Hi, Wi) input (VALID: the caller pads), made on first use: weights
 * reordered from the model's OIHW, the prediction layer's output left to oneDNN (3 channels). */
static int get_conv(struct magnet_dnnl *d, const magnet_model *m, md_conv **out, int layer, int N, int Hi, int Wi,
                    int sum, int relu, mer_err *err) {
    for (int i = 0; i < d->n_conv; i++)
        if (d->conv[i].layer == layer && d->conv[i].N == N && d->conv[i].Hi == Hi && d->conv[i].Wi == Wi) {
            *out = &d->conv[i];
            return 0;
        }
    if (d->n_conv == MD_MAX_CONVS) clear_convs(d); /* many shapes seen: start over */
    const magnet_layer_spec *s = &MAGNET_LAYERS[layer];
    const int stride = layer == L_ENC_CONV2 || layer == L_ENC_TEX_CONV ? 2 : 1;
    const int Ho = (Hi - s->k) / stride + 1, Wo = (Wi - s->k) / stride + 1;
    const dnnl_memory_desc_t src = dn_md4(N, s->in, Hi, Wi, s->in == 3 ? dnnl_nchw : d->tag),
                             dst = dn_md4(N, s->out, Ho, Wo, s->out == 3 ? dnnl_format_tag_any : d->tag);
    dnnl_primitive_desc_t pd;
    if (dn_conv_pd(&d->seq, &pd, &src, &dst, s->k, stride, 0, 0, 0, 0, 0, sum, relu, err) < 0) return -1;
    md_conv *c = &d->conv[d->n_conv];
    memset(c, 0, sizeof *c);
    c->layer = layer, c->N = N, c->Hi = Hi, c->Wi = Wi;
    c->src_md = *dn_pd_md(pd, dnnl_query_src_md);
    c->dst_md = *dn_pd_md(pd, dnnl_query_dst_md);
    c->scratch_md = *dn_pd_md(pd, dnnl_query_scratchpad_md);
    c->plain_md = dn_md4(N, s->out, Ho, Wo, dnnl_nchw);
    const dnnl_memory_desc_t plain_w = dn_md4(s->out, s->in, s->k, s->k, dnnl_oihw);
    dnnl_memory_t wsrc = NULL;
    dnnl_status_t st = dnnl_memory_create(&c->w, dn_pd_md(pd, dnnl_query_weights_md), d->seq.eng, DNNL_MEMORY_ALLOCATE);
    if (st == dnnl_success) st = dnnl_memory_create(&wsrc, &plain_w, d->seq.eng, m->w[layer]);
    if (st == dnnl_success) st = dnnl_primitive_create(&c->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (st != dnnl_success) {
        if (wsrc) dnnl_memory_destroy(wsrc);
        if (c->w) dnnl_memory_destroy(c->w);
        if (c->prim) dnnl_primitive_destroy(c->prim);
        return dn_fail(err, st, "MagNet: oneDNN convolution");
    }
    int rc = dn_reorder_now(&d->seq, c->w, wsrc, err);
    dnnl_memory_destroy(wsrc);
    if (rc == 0 && s->out == 3 && !dnnl_memory_desc_equal(&c->dst_md, &c->plain_md)) {
        dnnl_primitive_desc_t rpd;
        st = dnnl_reorder_primitive_desc_create(&rpd, &c->dst_md, d->seq.eng, &c->plain_md, d->seq.eng, NULL);
        if (st == dnnl_success) {
            st = dnnl_primitive_create(&c->to_plain, rpd);
            dnnl_primitive_desc_destroy(rpd);
        }
        if (st != dnnl_success) rc = dn_fail(err, st, "MagNet: oneDNN reorder");
    }
    if (rc < 0) {
        dnnl_primitive_destroy(c->prim);
        dnnl_memory_destroy(c->w);
        return -1;
    }
    d->n_conv++;
    *out = c;
    return 0;
}

/* Execute prim with (arg, md, pointer) triples wrapped in temporary memories (no allocation) and the scratchpad. */
static int exec(struct magnet_dnnl *d, dnnl_primitive_t prim, int n, const int *arg, const dnnl_memory_desc_t *const *md,
                void *const *ptr, const dnnl_memory_desc_t *scratch_md, mer_err *err) {
    dnnl_exec_arg_t args[8];
    int na = 0, rc = 0;
    const size_t sp = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
    if (sp && !grow(&d->scratch, &d->scratch_cap, (sp + 3) / 4, err)) return -1;
    for (int i = 0; i <= n && rc == 0; i++) {
        if (i == n && !sp) break;
        const dnnl_status_t st = dnnl_memory_create(&args[na].memory, i < n ? md[i] : scratch_md, d->seq.eng,
                                                    i < n ? ptr[i] : d->scratch);
        if (st != dnnl_success) rc = dn_fail(err, st, "MagNet: oneDNN memory");
        else args[na++].arg = i < n ? arg[i] : DNNL_ARG_SCRATCHPAD;
    }
    if (rc == 0) {
        dnnl_status_t st = dnnl_primitive_execute(prim, d->seq.stream, na, args);
        if (st == dnnl_success) st = dnnl_stream_wait(d->seq.stream);
        if (st != dnnl_success) rc = dn_fail(err, st, "MagNet: oneDNN execute");
    }
    for (int i = 0; i < na; i++) dnnl_memory_destroy(args[i].memory);
    return rc;
}

/* out = [ReLU] conv_layer(in) (+ out when sum); in (N, C, Hi, Wi) already padded; VALID convolution. For the
 * prediction layer `out` receives the plain nchw result. */
static int conv(struct magnet_dnnl *d, const magnet_model *m, int layer, float *out, const float *in, int N, int Hi,
                int Wi, int sum, int relu, mer_err *err) {
    md_conv *c;
    if (get_conv(d, m, &c, layer, N, Hi, Wi, sum, relu, err) < 0) return -1;
    float *dst = out;
    if (c->to_plain && !(dst = W_(d, W_PLAIN, dnnl_memory_desc_get_size(&c->dst_md) / sizeof(float), err))) return -1;
    const int args[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    const dnnl_memory_desc_t *w_md;
    DN_TRY(dnnl_memory_get_memory_desc(c->w, &w_md), "MagNet: oneDNN weights");
    void *w_ptr;
    DN_TRY(dnnl_memory_get_data_handle(c->w, &w_ptr), "MagNet: oneDNN weights");
    const dnnl_memory_desc_t *mds[3] = {&c->src_md, w_md, &c->dst_md};
    void *const ptrs[3] = {(void *)in, w_ptr, dst};
    if (exec(d, c->prim, 3, args, mds, ptrs, &c->scratch_md, err) < 0) return -1;
    if (!c->to_plain) return 0;
    const int rargs[2] = {DNNL_ARG_FROM, DNNL_ARG_TO};
    const dnnl_memory_desc_t *rmds[2] = {&c->dst_md, &c->plain_md};
    void *const rptrs[2] = {dst, out};
    return exec(d, c->to_plain, 2, rargs, rmds, rptrs, NULL, err);
}

/* out = [ReLU] conv_k(reflect-pad k/2 (in)) on (N, C, H, W). */
static int conv_reflect(struct magnet_dnnl *d, const magnet_model *m, int layer, float *out, const float *in, int N,
                        int H, int W, int sum, int relu, mer_err *err) {
    const magnet_layer_spec *s = &MAGNET_LAYERS[layer];
    const int p = s->k / 2, v = s->in == 3 ? 1 : d->v;
    float *pad = W_(d, W_P, (size_t)N * s->in * (H + 2 * p) * (W + 2 * p), err);
    if (!pad) return -1;
    magnet_pad(pad, in, N * s->in / v, H, W, v, p, p, p, p, 1);
    return conv(d, m, layer, out, pad, N, H + 2 * p, W + 2 * p, sum, relu, err);
}

/* out (N, 32, H/2, W/2) = ReLU(conv3x3 stride 2, TF-SAME: zeros 1 bottom/right) of in (N, C, H, W). */
static int conv_same_s2(struct magnet_dnnl *d, const magnet_model *m, int layer, float *out, const float *in, int N,
                        int H, int W, mer_err *err) {
    const magnet_layer_spec *s = &MAGNET_LAYERS[layer];
    float *pad = W_(d, W_P, (size_t)N * s->in * (H + 1) * (W + 1), err);
    if (!pad) return -1;
    magnet_pad(pad, in, N * s->in / d->v, H, W, d->v, 0, 0, 1, 1, 0);
    return conv(d, m, layer, out, pad, N, H + 1, W + 1, 0, 1, err);
}

/* x += conv_c2(ReLU(conv_c1(x))), reflect-pad 1 each; the add is the second convolution's sum post-op. */
static int resblock(struct magnet_dnnl *d, const magnet_model *m, int layer, float *x, int N, int H, int W, mer_err *err) {
    float *t1 = W_(d, W_T1, (size_t)N * MAGNET_LAYERS[layer].out * H * W, err);
    if (!t1 || conv_reflect(d, m, layer, t1, x, N, H, W, 0, 1, err) < 0) return -1;
    return conv_reflect(d, m, layer + 1, x, t1, N, H, W, 1, 0, err);
}

static int state(const magnet_model *m, struct magnet_dnnl **out, mer_err *err) {
    if (!m->dnnl) {
        struct magnet_dnnl *d = mer_calloc(1, sizeof *d, err);
        if (!d) return -1;
        if (dn_seq_init(&d->seq, err) < 0) {
            free(d);
            return -1;
        }
        const int isa = (int)dnnl_get_effective_cpu_isa(), avx512 = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
        d->v = avx512 ? 16 : 8;
        d->tag = avx512 ? dnnl_nChw16c : dnnl_nChw8c;
        ((magnet_model *)m)->dnnl = d; /* a cache, not the model's value: see magnet.h */
    }
    *out = m->dnnl;
    return 0;
}

int magnet_forward_dnnl(float *out, const float *a, const float *b, int H, int W, const double *factors, int T,
                        const magnet_model *m, size_t budget_floats, mer_err *err) {
    struct magnet_dnnl *d;
    if (state(m, &d, err) < 0) return -1;
    const int Hp = (H + 3) / 4 * 4, Wp = (W + 3) / 4 * 4, h2 = Hp / 2, w2 = Wp / 2, h4 = h2 / 2, w4 = w2 / 2;
    const size_t full = (size_t)Hp * Wp, half = (size_t)h2 * w2;
    float *x7 = W_(d, W_X7, 2 * 3 * (size_t)(Hp + 6) * (Wp + 6), err), *f16 = W_(d, W_F16, 2 * 16 * full, err);
    float *trunk = W_(d, W_TRUNK, 2 * 32 * half, err), *M = W_(d, W_M, 2 * 32 * half, err);
    float *V = W_(d, W_V, 32 * (size_t)h4 * w4, err), *dd = W_(d, W_D, 32 * half, err), *g = W_(d, W_G, 32 * half, err);
    float *h0 = W_(d, W_H0, 32 * half, err), *texup = W_(d, W_TEXUP, 32 * half, err);
    float *xp = W_(d, W_PRED, 3 * full, err); /* reflect-padded (3, Hp, Wp) inputs, one after the other */
    if (!x7 || !f16 || !trunk || !M || !V || !dd || !g || !h0 || !texup || !xp) return -1;

    /* both encoders as one batch of 2: pad to a multiple of 4, then by 3 for the 7x7 convolution */
    const float *img[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        magnet_pad(xp, img[i], 3, H, W, 1, 0, 0, Hp - H, Wp - W, 1);
        magnet_pad(x7 + (size_t)i * 3 * (Hp + 6) * (Wp + 6), xp, 3, Hp, Wp, 1, 3, 3, 3, 3, 1);
    }
    if (conv(d, m, L_ENC_CONV1, f16, x7, 2, Hp + 6, Wp + 6, 0, 1, err) < 0) return -1;
    if (conv_same_s2(d, m, L_ENC_CONV2, trunk, f16, 2, Hp, Wp, err) < 0) return -1;
    for (int k = 0; k < 3; k++)
        if (resblock(d, m, L_ENC_RES + 2 * k, trunk, 2, h2, w2, err) < 0) return -1;
    /* texture of B only */
    if (conv_same_s2(d, m, L_ENC_TEX_CONV, V, trunk + 32 * half, 1, h2, w2, err) < 0) return -1;
    for (int k = 0; k < 2; k++)
        if (resblock(d, m, L_TEX_RES + 2 * k, V, 1, h4, w4, err) < 0) return -1;
    memcpy(M, trunk, 2 * 32 * half * sizeof *M);
    for (int k = 0; k < 2; k++)
        if (resblock(d, m, L_SHAPE_RES + 2 * k, M, 2, h2, w2, err) < 0) return -1;
    const float *Ma = M, *Mb = M + 32 * half;

    /* once per pair: g = ReLU(conv7(M_b - M_a)), h0 = conv3(g), the texture upsampling of V_b */
    for (size_t i = 0; i < 32 * half; i++) dd[i] = Mb[i] - Ma[i];
    if (conv_reflect(d, m, L_MANI_CONV0, g, dd, 1, h2, w2, 0, 1, err) < 0) return -1;
    if (conv_reflect(d, m, L_MANI_AFT, h0, g, 1, h2, w2, 0, 0, err) < 0) return -1;
    magnet_upsample2(dd, V, 32 / d->v, h4, w4, d->v);
    if (conv_reflect(d, m, L_DEC_TEX_UP, texup, dd, 1, h2, w2, 0, 1, err) < 0) return -1;

    /* the factors in batches of nb, equal sizes, the largest activation (the padded upsampled one) in budget */
    const size_t per = 64 * (size_t)(Hp + 2) * (Wp + 2);
    int nb_max = (int)(budget_floats / per);
    nb_max = nb_max < 1 ? 1 : nb_max;
    const int n_batches = T > 0 ? (T + nb_max - 1) / nb_max : 0, nb = n_batches ? (T + n_batches - 1) / n_batches : 0;
    float *D = W_(d, W_DB, (size_t)nb * 32 * half, err), *X = W_(d, W_X, (size_t)nb * 64 * half, err);
    float *up = W_(d, W_UP, (size_t)nb * 64 * full, err), *dec2 = W_(d, W_DEC2, (size_t)nb * 32 * full, err);
    float *pred = W_(d, W_PRED, (size_t)nb * 3 * full, err);
    if (T > 0 && (!D || !X || !up || !dec2 || !pred)) return -1;
    for (int t0 = 0; t0 < T; t0 += nb) {
        const int n = T - t0 < nb ? T - t0 : nb;
        for (int i = 0; i < n; i++) {
            const float s = (float)(factors[t0 + i] - 1.0);
            float *Di = D + (size_t)i * 32 * half;
            for (size_t j = 0; j < 32 * half; j++) Di[j] = s * h0[j];
        }
        if (resblock(d, m, L_MANI_RES, D, n, h2, w2, err) < 0) return -1;
        for (int i = 0; i < n; i++) { /* channels 0-31: texture, 32-63: shape + manipulation */
            float *Xi = X + (size_t)i * 64 * half, *Di = D + (size_t)i * 32 * half;
            memcpy(Xi, texup, 32 * half * sizeof *Xi);
            for (size_t j = 0; j < 32 * half; j++) Xi[32 * half + j] = Mb[j] + Di[j];
        }
        for (int k = 0; k < 9; k++)
            if (resblock(d, m, L_DEC_RES + 2 * k, X, n, h2, w2, err) < 0) return -1;
        magnet_upsample2(up, X, n * 64 / d->v, h2, w2, d->v);
        if (conv_reflect(d, m, L_DEC_CONV2, dec2, up, n, Hp, Wp, 0, 1, err) < 0) return -1;
        if (conv_reflect(d, m, L_PRED, pred, dec2, n, Hp, Wp, 0, 0, err) < 0) return -1;
        for (int i = 0; i < n; i++) {
            float *o = out + (size_t)(t0 + i) * 3 * H * W;
            for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < H; y++) {
                    const float *src = pred + (((size_t)i * 3 + ch) * Hp + y) * Wp;
                    float *dst = o + ((size_t)ch * H + y) * W;
                    for (int xx = 0; xx < W; xx++) dst[xx] = src[xx] < -1.0f ? -1.0f : src[xx] > 1.0f ? 1.0f : src[xx];
                }
        }
    }
    return 0;
}
#endif
