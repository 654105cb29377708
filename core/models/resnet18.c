/* ResNet-18 (torchvision layout) forward/backward; tensor layouts and modes in resnet18.h. */
#include "core/models/resnet18.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/models/resnet18_train_dnnl.h"
#include "core/nn/conv2d.h"
#include "core/nn/dnnl_seq.h"
#include "core/nn/layers.h"
#include "io/base/rng.h"
#include "io/h5.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* A convolution (no bias) followed by BatchNorm: tensor indices into the table and geometry. */
typedef struct convbn {
    int w, g, b, rm, rv;
    int cin, cout, k, stride, pad;
    float *save_mean, *save_invstd; /* training forward statistics (cout floats each) */
} convbn;

typedef struct {
    convbn c1, c2, ds;
    int has_ds;
    /* training activations; `in` points at the previous block's output (or the max-pool output) */
    const float *in;
    float *c1o, *a1, *c2o, *cdo, *out;
    int H, W, OH, OW; /* input and output spatial size */
} basic_block;

#define R18_CONVS 20

#ifdef MER_HAVE_DNNL
/* The eval forward of one input shape on oneDNN: BatchNorm folded into the convolutions (weights and bias,
 * reordered into the primitives' layouts when the weights generation changes), ReLU and the residual add as
 * post-ops, activations in oneDNN's blocked layouts in three rotating slots. */
#define R18_PLANS 2
enum { SLOT_A, SLOT_B, SLOT_C, SLOT_CONVERT };
typedef struct {
    int N, H, W;
    unsigned long wgen, last_used;
    dn_seq seq;
    dnnl_memory_t in, feat;     /* the caller's input (N,3,H,W) and the features (N,512,1,1), both plain */
    float *feat_buf;
    dnnl_memory_t w_plain[R18_CONVS], w[R18_CONVS], b[R18_CONVS];
    const struct convbn *unit[R18_CONVS];
    int n_conv;
} r18_plan;
#endif

struct resnet18 {
    nn_table tab;
    nn_engine engine;
    unsigned long wgen, tick; /* weights generation (bumped whenever they may have changed); plan LRU clock */
#ifdef MER_HAVE_DNNL
    r18_plan *plans[R18_PLANS];
    float *fold; /* one conv's folded weights, plain OIHW */
    /* training on oneDNN: plans of the two most recent shapes sharing one arena; the last forward's plan */
    r18t *tplans[R18_PLANS], *tlast;
    unsigned long tused[R18_PLANS];
    void *tarena;
    size_t tarena_cap;
    float *tfeat; /* features (N,512) of the last training forward, then their gradient (N,512) */
    size_t tfeat_cap;
#endif
    int n_classes;
    convbn stem;
    basic_block blocks[8];
    int fc_w, fc_b;
    /* state of the last forward */
    int N, H, W, H1, W1, H2, W2, train_ready;
    const float *x;
    float *stem_c, *stem_r, *pool, *feat;
    int32_t *argmax;
    /* memory */
    float *acts, *ws, *gbuf[3], *gfeat;
    size_t acts_cap, ws_cap, gbuf_cap, argmax_cap, gfeat_cap;
};

/* ---- construction ----------------------------------------------------------------------------- */

static void geometry(resnet18 *g);

/* Register the conv weight and the four BatchNorm tensors of a unit whose geometry is already set. */
static int add_convbn(resnet18 *m, convbn *u, const char *conv_name, const char *bn_prefix, mer_err *err) {
    char name[NN_NAME_MAX];
    const size_t wd[4] = {(size_t)u->cout, (size_t)u->cin, (size_t)u->k, (size_t)u->k}, cd[1] = {(size_t)u->cout};
    if ((u->w = nn_table_add(&m->tab, conv_name, 4, wd, 1, err)) < 0) return -1;
    static const char *const leaves[4] = {"weight", "bias", "running_mean", "running_var"};
    int *const idx[4] = {&u->g, &u->b, &u->rm, &u->rv};
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s.%s", bn_prefix, leaves[i]);
        if ((*idx[i] = nn_table_add(&m->tab, name, 1, cd, i < 2, err)) < 0) return -1;
    }
    return 0;
}

int resnet18_create(resnet18 **out, int n_classes, mer_err *err) {
    *out = NULL;
    if (n_classes < 0) return mer_errf(err, "resnet18: negative class count %d", n_classes);
    resnet18 *m = mer_calloc(1, sizeof *m, err);
    if (!m) return -1;
    geometry(m);
    m->engine = nn_engine_default();
    m->n_classes = n_classes;
    m->fc_w = m->fc_b = -1;
    /* registration order = torchvision's state_dict order (BasicBlock: conv1, bn1, conv2, bn2, downsample) */
    if (add_convbn(m, &m->stem, "conv1.weight", "bn1", err) < 0) goto fail;
    for (int i = 0; i < 8; i++) {
        basic_block *blk = &m->blocks[i];
        const int l = i / 2 + 1, b = i % 2;
        char conv[NN_NAME_MAX], bn[NN_NAME_MAX];
        snprintf(conv, sizeof conv, "layer%d.%d.conv1.weight", l, b);
        snprintf(bn, sizeof bn, "layer%d.%d.bn1", l, b);
        if (add_convbn(m, &blk->c1, conv, bn, err) < 0) goto fail;
        snprintf(conv, sizeof conv, "layer%d.%d.conv2.weight", l, b);
        snprintf(bn, sizeof bn, "layer%d.%d.bn2", l, b);
        if (add_convbn(m, &blk->c2, conv, bn, err) < 0) goto fail;
        if (blk->has_ds) {
            snprintf(conv, sizeof conv, "layer%d.%d.downsample.0.weight", l, b);
            snprintf(bn, sizeof bn, "layer%d.%d.downsample.1", l, b);
            if (add_convbn(m, &blk->ds, conv, bn, err) < 0) goto fail;
        }
    }
    if (n_classes > 0) {
        const size_t wd[2] = {(size_t)n_classes, RESNET18_FEATURES}, bd[1] = {(size_t)n_classes};
        if ((m->fc_w = nn_table_add(&m->tab, "fc.weight", 2, wd, 1, err)) < 0) goto fail;
        if ((m->fc_b = nn_table_add(&m->tab, "fc.bias", 1, bd, 1, err)) < 0) goto fail;
    }
    if (nn_table_alloc(&m->tab, err) < 0) goto fail;
    *out = m;
    return 0;
fail:
    free(m);
    return mer_err_prefix(err, "resnet18_create");
}

#ifdef MER_HAVE_DNNL
static void plan_free(r18_plan *p) {
    if (!p) return;
    dn_seq_free(&p->seq);
    free(p->feat_buf);
    free(p);
}
#endif

void resnet18_release_activations(resnet18 *m) {
#ifdef MER_HAVE_DNNL
    for (int i = 0; i < R18_PLANS; i++) {
        plan_free(m->plans[i]), m->plans[i] = NULL;
        r18t_free(m->tplans[i]), m->tplans[i] = NULL;
    }
    free(m->fold), m->fold = NULL;
    free(m->tarena), m->tarena = NULL;
    free(m->tfeat), m->tfeat = NULL;
    m->tlast = NULL;
    m->tarena_cap = m->tfeat_cap = 0;
#endif
    free(m->acts), free(m->ws), free(m->argmax), free(m->gfeat);
    for (int i = 0; i < 3; i++) free(m->gbuf[i]), m->gbuf[i] = NULL;
    m->acts = m->ws = m->gfeat = NULL;
    m->argmax = NULL;
    m->acts_cap = m->ws_cap = m->gbuf_cap = m->argmax_cap = m->gfeat_cap = 0;
    m->train_ready = 0;
}

void resnet18_free(resnet18 *m) {
    if (!m) return;
    resnet18_release_activations(m);
    nn_table_free(&m->tab);
    free(m);
}

int resnet18_n_classes(const resnet18 *m) { return m->n_classes; }
/* The caller may write through the table: cached copies of the weights are stale from here on. */
nn_table *resnet18_table(resnet18 *m) {
    m->wgen++;
    return &m->tab;
}
void resnet18_weights_changed(resnet18 *m) { m->wgen++; }

int resnet18_set_engine(resnet18 *m, nn_engine e, mer_err *err) {
    if (!nn_engine_available(e)) return mer_errf(err, "resnet18: this build has no oneDNN (cmake -DMER_DNNL=ON)");
    m->engine = e;
    return 0;
}
nn_engine resnet18_engine(const resnet18 *m) { return m->engine; }
void resnet18_zero_grad(resnet18 *m) { memset(m->tab.grads, 0, m->tab.n_params * sizeof(float)); }

size_t resnet18_activation_bytes(const resnet18 *m) {
    size_t bytes = (m->acts_cap + m->ws_cap + 3 * m->gbuf_cap + m->gfeat_cap) * sizeof(float) + m->argmax_cap * sizeof(int32_t);
#ifdef MER_HAVE_DNNL
    bytes += m->tarena_cap + m->tfeat_cap * sizeof(float);
#endif
    return bytes;
}

/* ---- initialisation --------------------------------------------------------------------------- */

static int is_conv(const nn_tensor *t) { return t->ndim == 4; }

void resnet18_init_kaiming(resnet18 *m, uint64_t seed) {
    mer_rng r = rng_seeded(seed);
    m->wgen++;
    for (int i = 0; i < m->tab.n; i++) {
        const nn_tensor *t = &m->tab.t[i];
        float *v = nn_table_data(&m->tab, i);
        const char *leaf = strrchr(t->name, '.') + 1;
        if (is_conv(t)) { /* kaiming_normal_(mode='fan_out', nonlinearity='relu') */
            const float std = (float)sqrt(2.0 / (double)(t->dims[0] * t->dims[2] * t->dims[3]));
            for (size_t k = 0; k < t->numel; k++) v[k] = std * rng_normal(&r);
        } else if (!strncmp(t->name, "fc.", 3)) { /* nn.Linear default: bound 1/sqrt(fan_in) */
            const float b = (float)(1.0 / sqrt((double)RESNET18_FEATURES));
            for (size_t k = 0; k < t->numel; k++) v[k] = rng_uniform_range(&r, -b, b);
        } else {
            const float fill = (!strcmp(leaf, "weight") || !strcmp(leaf, "running_var")) ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->numel; k++) v[k] = fill;
        }
    }
}

void resnet18_init_pattern(resnet18 *m, uint64_t seed) {
    mer_rng r = rng_seeded(seed);
    m->wgen++;
    for (int i = 0; i < m->tab.n; i++) {
        const nn_tensor *t = &m->tab.t[i];
        float *v = nn_table_data(&m->tab, i);
        const char *leaf = strrchr(t->name, '.') + 1;
        float lo, hi;
        if (is_conv(t)) {
            hi = (float)sqrt(6.0 / (double)(t->dims[1] * t->dims[2] * t->dims[3]));
            lo = -hi;
        } else if (!strncmp(t->name, "fc.", 3)) {
            hi = (float)(1.0 / sqrt((double)RESNET18_FEATURES));
            lo = -hi;
        } else if (!strcmp(leaf, "weight") || !strcmp(leaf, "running_var")) {
            lo = 0.5f, hi = 1.5f;
        } else {
            lo = -0.2f, hi = 0.2f;
        }
        for (size_t k = 0; k < t->numel; k++) v[k] = rng_uniform_range(&r, lo, hi);
    }
}

/* ---- HDF5 ------------------------------------------------------------------------------------- */

int resnet18_load_weights(resnet18 *m, const char *path, mer_err *err) {
    hid_t f;
    if (h5_open(path, 0, &f, err) < 0) return mer_err_prefix(err, "resnet18: loading weights");
    m->wgen++;
    int rc = nn_table_load(&m->tab, f, "", NULL, err);
    h5_close(f, NULL);
    return rc < 0 ? mer_err_prefix(err, "resnet18: loading weights") : 0;
}

int resnet18_load(resnet18 **out, const char *path, mer_err *err) {
    hid_t f;
    *out = NULL;
    if (h5_open(path, 0, &f, err) < 0) return mer_err_prefix(err, "resnet18: loading weights");
    int n_classes = 0, ndim;
    size_t dims[H5_MAX_DIMS];
    if (h5_exists(f, "fc.weight")) {
        if (h5_shape(f, "fc.weight", &ndim, dims, err) < 0 || ndim != 2) {
            h5_close(f, NULL);
            return ndim != 2 ? mer_errf(err, "%s: fc.weight is not 2-D", path) : -1;
        }
        n_classes = (int)dims[0];
    }
    resnet18 *m;
    if (resnet18_create(&m, n_classes, err) < 0) {
        h5_close(f, NULL);
        return -1;
    }
    if (nn_table_load(&m->tab, f, "", NULL, err) < 0) {
        h5_close(f, NULL);
        resnet18_free(m);
        return mer_err_prefix(err, "resnet18: loading weights");
    }
    h5_close(f, NULL);
    *out = m;
    return 0;
}

int resnet18_save_to(const resnet18 *m, hid_t loc, mer_err *err) { return nn_table_save(&m->tab, loc, "", 0, err); }

int resnet18_save(const resnet18 *m, const char *path, mer_err *err) {
    hid_t f;
    if (h5_create_tmp(path, &f, err) < 0) return -1;
    if (resnet18_save_to(m, f, err) < 0) {
        h5_abort(f, path);
        return -1;
    }
    return h5_commit(f, path, err);
}

/* ---- geometry and memory ---------------------------------------------------------------------- */

static conv2d_shape unit_shape(const convbn *u, int N, int H, int W) {
    conv2d_shape s = {N, u->cin, H, W, u->cout, u->k, u->k, u->stride, u->pad, u->pad, u->pad, u->pad};
    return s;
}

/* Walk the network for (N,H,W): spatial sizes, the largest activation and workspace, and (if base is
 * not NULL) assign the training activation pointers. Returns the training activation floats. */
static size_t plan(resnet18 *m, int N, int H, int W, float *base, size_t *max_act, size_t *max_ws) {
    size_t used = 0, mx = 0, mw = 0;
#define TAKE(ptr, n)                                  \
    do {                                              \
        size_t n_ = (n);                              \
        if (base) ptr = base + used;                  \
        used += n_;                                   \
        if (n_ > mx) mx = n_;                         \
    } while (0)
#define STATS(u)                                                      \
    do {                                                              \
        if (base) (u)->save_mean = base + used;                       \
        if (base) (u)->save_invstd = base + used + (u)->cout;         \
        used += 2 * (size_t)(u)->cout;                                \
    } while (0)
    conv2d_shape s = unit_shape(&m->stem, N, H, W);
    m->H1 = conv2d_out_h(&s), m->W1 = conv2d_out_w(&s);
    mw = conv2d_workspace_floats(&s);
    TAKE(m->stem_c, (size_t)N * 64 * m->H1 * m->W1);
    TAKE(m->stem_r, (size_t)N * 64 * m->H1 * m->W1);
    STATS(&m->stem);
    maxpool_shape ps = {N, 64, m->H1, m->W1, 3, 2, 1};
    m->H2 = maxpool_out_h(&ps), m->W2 = maxpool_out_w(&ps);
    TAKE(m->pool, (size_t)N * 64 * m->H2 * m->W2);
    int h = m->H2, w = m->W2;
    for (int i = 0; i < 8; i++) {
        basic_block *b = &m->blocks[i];
        b->H = h, b->W = w;
        s = unit_shape(&b->c1, N, h, w);
        b->OH = conv2d_out_h(&s), b->OW = conv2d_out_w(&s);
        if (conv2d_workspace_floats(&s) > mw) mw = conv2d_workspace_floats(&s);
        const size_t n_out = (size_t)N * b->c1.cout * b->OH * b->OW;
        TAKE(b->c1o, n_out);
        TAKE(b->a1, n_out);
        TAKE(b->c2o, n_out);
        TAKE(b->out, n_out);
        STATS(&b->c1);
        STATS(&b->c2);
        s = unit_shape(&b->c2, N, b->OH, b->OW);
        if (conv2d_workspace_floats(&s) > mw) mw = conv2d_workspace_floats(&s);
        if (b->has_ds) {
            TAKE(b->cdo, n_out);
            STATS(&b->ds);
            s = unit_shape(&b->ds, N, h, w);
            if (conv2d_workspace_floats(&s) > mw) mw = conv2d_workspace_floats(&s);
        }
        h = b->OH, w = b->OW;
    }
    TAKE(m->feat, (size_t)N * RESNET18_FEATURES);
#undef TAKE
#undef STATS
    if (max_act) *max_act = mx;
    if (max_ws) *max_ws = mw;
    return used;
}

static int ensure(float **buf, size_t *cap, size_t n, mer_err *err) {
    if (n <= *cap) return 0;
    free(*buf);
    *cap = 0;
    if (!(*buf = mer_malloc(n * sizeof(float), err))) return -1;
    *cap = n;
    return 0;
}

static int ensure_memory(resnet18 *m, int N, int H, int W, int train, mer_err *err) {
    size_t max_act, max_ws;
    const size_t need = plan(m, N, H, W, NULL, &max_act, &max_ws);
    size_t pool_n = (size_t)N * 64 * m->H2 * m->W2;
    if (ensure(&m->ws, &m->ws_cap, max_ws ? max_ws : 1, err) < 0) return -1;
    if (pool_n > m->argmax_cap) {
        free(m->argmax);
        m->argmax_cap = 0;
        if (!(m->argmax = mer_malloc(pool_n * sizeof(int32_t), err))) return -1;
        m->argmax_cap = pool_n;
    }
    /* eval rotates 4 buffers (3 here + gfeat-sized none); train keeps all activations + 3 gradient buffers */
    for (int i = 0; i < 3; i++) {
        size_t cap = m->gbuf_cap;
        if (ensure(&m->gbuf[i], &cap, max_act, err) < 0) return -1;
        if (i == 2) m->gbuf_cap = cap;
    }
    if (ensure(&m->gfeat, &m->gfeat_cap, (size_t)N * RESNET18_FEATURES > max_act ? (size_t)N * RESNET18_FEATURES : max_act,
               err) < 0)
        return -1;
    if (train && ensure(&m->acts, &m->acts_cap, need, err) < 0) return -1;
    if (train) plan(m, N, H, W, m->acts, NULL, NULL);
    return 0;
}

/* ---- forward ---------------------------------------------------------------------------------- */

static const float *P(const resnet18 *m, int i) { return nn_table_data(&m->tab, i); }

/* conv -> c_out, then BN (+ residual, ReLU as post says) -> bn_out (train: batch statistics saved into u;
 * eval: running statistics). */
static void convbn_forward(resnet18 *m, convbn *u, float *c_out, float *bn_out, const float *in, int N, int H, int W,
                           int train, const float *residual, int relu) {
    const conv2d_shape s = unit_shape(u, N, H, W);
    conv2d_forward(c_out, in, P(m, u->w), NULL, &s, m->ws);
    const batchnorm_shape bs = {N, u->cout, conv2d_out_h(&s) * conv2d_out_w(&s), BN_EPS, BN_MOMENTUM};
    const bn_post post = {residual, relu};
    if (train)
        batchnorm_forward_train(bn_out, u->save_mean, u->save_invstd, c_out, P(m, u->g), P(m, u->b),
                                nn_table_data(&m->tab, u->rm), nn_table_data(&m->tab, u->rv), &bs, &post);
    else
        batchnorm_forward_eval(bn_out, c_out, P(m, u->g), P(m, u->b), P(m, u->rm), P(m, u->rv), &bs, &post);
}

/* ---- eval forward on oneDNN ------------------------------------------------------------------- */

#ifdef MER_HAVE_DNNL
/* Fold BatchNorm (running statistics) into conv i of the plan and reorder the weights into its layout. */
static int plan_load_weights(resnet18 *m, r18_plan *p, mer_err *err) {
    for (int i = 0; i < p->n_conv; i++) {
        const convbn *u = p->unit[i];
        const float *w = P(m, u->w), *g = P(m, u->g), *beta = P(m, u->b), *rm = P(m, u->rm), *rv = P(m, u->rv);
        const size_t per = (size_t)u->cin * u->k * u->k;
        float *bias;
        DN_TRY(dnnl_memory_get_data_handle(p->b[i], (void **)&bias), "oneDNN bias");
        for (int o = 0; o < u->cout; o++) {
            /* the reference's scale and shift (batchnorm_forward_eval) */
            const float scale = g[o] * (float)(1.0 / sqrt((double)rv[o] + BN_EPS));
            bias[o] = beta[o] - rm[o] * scale;
            for (size_t j = 0; j < per; j++) m->fold[o * per + j] = w[o * per + j] * scale;
        }
        DN_TRY(dnnl_memory_set_data_handle(p->w_plain[i], m->fold), "oneDNN weights");
        if (dn_reorder_now(&p->seq, p->w[i], p->w_plain[i], err) < 0) return -1;
    }
    p->wgen = m->wgen;
    return 0;
}

/* Append conv+BN unit u reading src: into a new memory in dst_slot, or accumulating into sum_into (the
 * residual, which then becomes the output) when given. */
static int plan_conv(r18_plan *p, const convbn *u, dnnl_memory_t src, dnnl_memory_t *dst, int dst_slot,
                     dnnl_memory_t sum_into, int relu, mer_err *err) {
    const dnnl_memory_desc_t *smd;
    DN_TRY(dnnl_memory_get_memory_desc(src, &smd), "oneDNN memory descriptor");
    const int N = (int)smd->dims[0], H = (int)smd->dims[2], W = (int)smd->dims[3];
    const int OH = (H + 2 * u->pad - u->k) / u->stride + 1, OW = (W + 2 * u->pad - u->k) / u->stride + 1;
    const dnnl_memory_desc_t src_any = dn_md4(N, u->cin, H, W, dnnl_format_tag_any),
                             dst_any = dn_md4(N, u->cout, OH, OW, dnnl_format_tag_any);
    const dnnl_memory_desc_t *dmd = &dst_any;
    if (sum_into) DN_TRY(dnnl_memory_get_memory_desc(sum_into, &dmd), "oneDNN memory descriptor");
    dnnl_primitive_desc_t pd;
    if (dn_conv_pd(&p->seq, &pd, &src_any, dmd, u->k, u->stride, u->pad, u->pad, u->pad, u->pad, 1, sum_into != NULL,
                   relu, err) < 0)
        return -1;
    const int i = p->n_conv++;
    const dnnl_memory_desc_t plain = dn_md4(u->cout, u->cin, u->k, u->k, dnnl_oihw);
    const dnnl_memory_desc_t *bmd = dn_pd_md(pd, dnnl_query_weights_md);
    dnnl_memory_desc_t bias_md;
    const dnnl_dims_t bd = {u->cout};
    dnnl_memory_desc_init_by_tag(&bias_md, 1, bd, dnnl_f32, dnnl_x);
    dnnl_memory_t in;
    p->unit[i] = u;
    if (dn_seq_mem(&p->seq, &p->w_plain[i], &plain, DN_USER, err) < 0 || dn_seq_mem(&p->seq, &p->w[i], bmd, DN_OWN, err) < 0 ||
        dn_seq_mem(&p->seq, &p->b[i], &bias_md, DN_OWN, err) < 0 ||
        dn_seq_as(&p->seq, &in, src, dn_pd_md(pd, dnnl_query_src_md), SLOT_CONVERT, err) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    if (sum_into)
        *dst = sum_into;
    else if (dn_seq_mem(&p->seq, dst, dn_pd_md(pd, dnnl_query_dst_md), dst_slot, err) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    const dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, in}, {DNNL_ARG_WEIGHTS, p->w[i]}, {DNNL_ARG_BIAS, p->b[i]}, {DNNL_ARG_DST, *dst}};
    return dn_seq_add(&p->seq, pd, args, 4, err);
}

/* Append a pooling of src (max 3x3/2 pad 1, or average over the whole plane) into a new memory in slot. */
static int plan_pool(r18_plan *p, dnnl_memory_t src, dnnl_memory_t *dst, int slot, int global_avg, mer_err *err) {
    const dnnl_memory_desc_t *smd;
    DN_TRY(dnnl_memory_get_memory_desc(src, &smd), "oneDNN memory descriptor");
    const int N = (int)smd->dims[0], C = (int)smd->dims[1], H = (int)smd->dims[2], W = (int)smd->dims[3];
    const maxpool_shape ps = {N, C, H, W, 3, 2, 1};
    const int OH = global_avg ? 1 : maxpool_out_h(&ps), OW = global_avg ? 1 : maxpool_out_w(&ps);
    const dnnl_memory_desc_t dmd = dn_md4(N, C, OH, OW, dnnl_format_tag_any);
    const dnnl_dims_t strides = {global_avg ? 1 : 2, global_avg ? 1 : 2}, kernel = {global_avg ? H : 3, global_avg ? W : 3},
                      pad = {global_avg ? 0 : 1, global_avg ? 0 : 1};
    dnnl_pooling_desc_t d;
    DN_TRY(dnnl_pooling_forward_desc_init(&d, dnnl_forward_inference,
                                          global_avg ? dnnl_pooling_avg_exclude_padding : dnnl_pooling_max, smd, &dmd,
                                          strides, kernel, pad, pad),
           "oneDNN pooling descriptor");
    dnnl_primitive_attr_t attr;
    if (dn_attr(&attr, 0, 0, err) < 0) return -1;
    dnnl_primitive_desc_t pd;
    const dnnl_status_t rc = dnnl_primitive_desc_create(&pd, &d, attr, p->seq.eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    DN_TRY(rc, "oneDNN pooling");
    if (dn_seq_mem(&p->seq, dst, dn_pd_md(pd, dnnl_query_dst_md), slot, err) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, *dst}};
    return dn_seq_add(&p->seq, pd, args, 2, err);
}

/* The eval network for (N,3,H,W): stem conv+BN+ReLU -> max pool -> 8 blocks -> global average pool. */
static int plan_build(resnet18 *m, r18_plan *p, int N, int H, int W, mer_err *err) {
    p->N = N, p->H = H, p->W = W;
    if (dn_seq_init(&p->seq, err) < 0) return -1;
    const dnnl_memory_desc_t in_md = dn_md4(N, 3, H, W, dnnl_nchw), feat_md = dn_md4(N, RESNET18_FEATURES, 1, 1, dnnl_nchw);
    if (!(p->feat_buf = mer_malloc((size_t)N * RESNET18_FEATURES * sizeof(float), err))) return -1;
    if (dn_seq_mem(&p->seq, &p->in, &in_md, DN_USER, err) < 0 || dn_seq_mem(&p->seq, &p->feat, &feat_md, DN_USER, err) < 0)
        return -1;
    DN_TRY(dnnl_memory_set_data_handle(p->feat, p->feat_buf), "oneDNN features");
    dnnl_memory_t stem, cur, t1, t3;
    if (plan_conv(p, &m->stem, p->in, &stem, SLOT_A, NULL, 1, err) < 0 || plan_pool(p, stem, &cur, SLOT_B, 0, err) < 0)
        return -1;
    int slot = SLOT_B; /* of cur; the residual add is in place, into cur or into the downsample's output */
    for (int i = 0; i < 8; i++) {
        const basic_block *b = &m->blocks[i];
        const int s1 = (slot + 1) % 3, s3 = (slot + 2) % 3;
        if (plan_conv(p, &b->c1, cur, &t1, s1, NULL, 1, err) < 0) return -1;
        dnnl_memory_t shortcut = cur;
        if (b->has_ds) {
            if (plan_conv(p, &b->ds, cur, &t3, s3, NULL, 0, err) < 0) return -1;
            shortcut = t3, slot = s3;
        }
        if (plan_conv(p, &b->c2, t1, &cur, -1, shortcut, 1, err) < 0) return -1;
    }
    dnnl_memory_t pooled;
    if (plan_pool(p, cur, &pooled, (slot + 1) % 3, 1, err) < 0 || dn_seq_reorder(&p->seq, p->feat, pooled, err) < 0 ||
        dn_seq_finalize(&p->seq, err) < 0)
        return -1;
    size_t fold = 0;
    for (int i = 0; i < p->n_conv; i++) {
        const size_t n = (size_t)p->unit[i]->cout * p->unit[i]->cin * p->unit[i]->k * p->unit[i]->k;
        if (n > fold) fold = n;
    }
    if (!m->fold && !(m->fold = mer_malloc(fold * sizeof(float), err))) return -1;
    return plan_load_weights(m, p, err);
}

/* features (N,512) of x on oneDNN, with the plan of this shape (built, or reloaded after a weights change). */
static int forward_dnnl(resnet18 *m, float **feat, const float *x, int N, int H, int W, mer_err *err) {
    r18_plan *p = NULL;
    int victim = 0;
    for (int i = 0; i < R18_PLANS; i++) {
        r18_plan *q = m->plans[i];
        if (q && q->N == N && q->H == H && q->W == W) p = q;
        if (!q || (m->plans[victim] && q->last_used < m->plans[victim]->last_used)) victim = i;
    }
    if (!p) {
        plan_free(m->plans[victim]);
        if (!(p = m->plans[victim] = mer_calloc(1, sizeof *p, err))) return -1;
        if (plan_build(m, p, N, H, W, err) < 0) {
            plan_free(p);
            m->plans[victim] = NULL;
            return -1;
        }
    } else if (p->wgen != m->wgen && plan_load_weights(m, p, err) < 0) {
        return -1;
    }
    p->last_used = ++m->tick;
    DN_TRY(dnnl_memory_set_data_handle(p->in, (void *)x), "oneDNN input");
    if (dn_seq_run(&p->seq, err) < 0) return -1;
    *feat = p->feat_buf;
    return 0;
}
#endif

/* ---- training on oneDNN ------------------------------------------------------------------------ */

#ifdef MER_HAVE_DNNL
/* The units in the order resnet18_train_dnnl.h wants, pointing at the current tensors. */
static int dnnl_units(resnet18 *m, r18t_unit *u, int has_ds[8]) {
    int n = 0;
    const convbn *c[R18T_MAX_UNITS];
    c[n++] = &m->stem;
    for (int i = 0; i < 8; i++) {
        const basic_block *b = &m->blocks[i];
        c[n++] = &b->c1, c[n++] = &b->c2;
        if ((has_ds[i] = b->has_ds)) c[n++] = &b->ds;
    }
    for (int i = 0; i < n; i++) {
        const convbn *k = c[i];
        u[i] = (r18t_unit){.cin = k->cin, .cout = k->cout, .k = k->k, .stride = k->stride, .pad = k->pad,
                           .w = P(m, k->w), .gamma = P(m, k->g), .beta = P(m, k->b),
                           .dw = nn_table_grad(&m->tab, k->w), .dgamma = nn_table_grad(&m->tab, k->g),
                           .dbeta = nn_table_grad(&m->tab, k->b), .running_mean = nn_table_data(&m->tab, k->rm),
                           .running_var = nn_table_data(&m->tab, k->rv)};
    }
    return n;
}

/* Training forward on oneDNN with the plan of this shape (built on first use); features into m->tfeat. */
static int train_forward_dnnl(resnet18 *m, const float *x, int N, int H, int W, mer_err *err) {
    r18t_unit u[R18T_MAX_UNITS];
    int has_ds[8];
    const int n = dnnl_units(m, u, has_ds);
    int k = -1, victim = 0;
    for (int i = 0; i < R18_PLANS; i++) {
        if (m->tplans[i] && r18t_is_shape(m->tplans[i], N, H, W)) k = i;
        if (!m->tplans[i] || (m->tplans[victim] && m->tused[i] < m->tused[victim])) victim = i;
    }
    if (k < 0) {
        k = victim;
        r18t_free(m->tplans[k]), m->tplans[k] = NULL;
        if (r18t_create(&m->tplans[k], u, n, has_ds, N, H, W, BN_EPS, err) < 0) return -1;
    }
    r18t *p = m->tplans[k];
    m->tused[k] = ++m->tick;
    const size_t need = r18t_arena_bytes(p);
    if (need > m->tarena_cap) {
        free(m->tarena), m->tarena_cap = 0;
        if (!(m->tarena = aligned_alloc(64, (need + 63) / 64 * 64))) return mer_errf(err, "out of memory (%zu bytes of activations)", need);
        m->tarena_cap = need;
    }
    if (ensure(&m->tfeat, &m->tfeat_cap, (size_t)N * RESNET18_FEATURES * 2, err) < 0) return -1;
    m->tlast = NULL;
    if (r18t_forward(p, m->tarena, m->tfeat, x, u, BN_MOMENTUM, err) < 0) return -1;
    m->tlast = p;
    return 0;
}

static int train_backward_dnnl(resnet18 *m, float *dx, const float *dfeatures, const float *dlogits, mer_err *err) {
    const int N = m->N;
    float *feat = m->tfeat, *gfeat = m->tfeat + (size_t)N * RESNET18_FEATURES;
    if (dfeatures)
        memcpy(gfeat, dfeatures, sizeof(float) * (size_t)N * RESNET18_FEATURES);
    else
        memset(gfeat, 0, sizeof(float) * (size_t)N * RESNET18_FEATURES);
    if (dlogits && m->n_classes > 0)
        linear_backward(gfeat, nn_table_grad(&m->tab, m->fc_w), nn_table_grad(&m->tab, m->fc_b), dlogits, feat,
                        P(m, m->fc_w), N, RESNET18_FEATURES, m->n_classes);
    r18t_unit u[R18T_MAX_UNITS];
    int has_ds[8];
    dnnl_units(m, u, has_ds);
    return r18t_backward(m->tlast, m->tarena, dx, gfeat, u, err);
}

int resnet18_run_convs(resnet18 *m, int train, mer_err *err) {
    if (m->engine != NN_ENGINE_DNNL) return 0;
    if (train) {
        if (!m->tlast) return mer_errf(err, "resnet18_run_convs: no training pass yet");
        return r18t_run_convs(m->tlast, 1, err) < 0 ? -1 : 1;
    }
    r18_plan *p = NULL;
    for (int i = 0; i < R18_PLANS; i++)
        if (m->plans[i] && (!p || m->plans[i]->last_used > p->last_used)) p = m->plans[i];
    if (!p) return mer_errf(err, "resnet18_run_convs: no forward pass yet");
    return dn_seq_run_kind(&p->seq, 0, p->seq.n_steps, dnnl_convolution, err) < 0 ? -1 : 1;
}
#else
int resnet18_run_convs(resnet18 *m, int train, mer_err *err) {
    (void)m, (void)train, (void)err;
    return 0;
}
#endif


/* Exact per-channel mean and sum of squared deviations over chunks, merged in double (Chan et al.). */
typedef struct {
    double *mean, *m2, count;
} bn_acc;

static void bn_acc_add(bn_acc *a, const float *y, int N, int C, size_t HW) {
    const double nb = (double)N * (double)HW;
    for (int c = 0; c < C; c++) {
        double s = 0.0, q = 0.0;
        for (int n = 0; n < N; n++) {
            const float *p = y + ((size_t)n * C + c) * HW;
            for (size_t i = 0; i < HW; i++) s += p[i];
        }
        const double mb = s / nb;
        for (int n = 0; n < N; n++) {
            const float *p = y + ((size_t)n * C + c) * HW;
            for (size_t i = 0; i < HW; i++) q += (p[i] - mb) * (p[i] - mb);
        }
        const double tot = a->count + nb, delta = mb - a->mean[c];
        a->mean[c] += delta * nb / tot;
        a->m2[c] += q + delta * delta * a->count * nb / tot;
    }
    a->count += nb;
}

/* The eval forward on the reference path in four rotating buffers (gbuf[0..2], gfeat; all sized to the
 * largest activation). Returns the buffer index of layer4's output. stage >= 0 (BatchNorm adaptation)
 * stops early: at stage 0 the stem, at 1 + 2i block i's conv1 and downsample (they read the same input),
 * at 2 + 2i its conv2; their convolution outputs (before BatchNorm) go into acc[0] (acc[1]: downsample). */
static float *eval_buf(resnet18 *m, int i) {
    float *buf[4] = {m->gbuf[0], m->gbuf[1], m->gbuf[2], m->gfeat};
    return buf[i % 4];
}

static int eval_walk(resnet18 *m, const float *x, int N, int H, int W, int stage, bn_acc *acc) {
    float *const b0 = eval_buf(m, 0), *const b1 = eval_buf(m, 1);
    if (stage == 0) {
        const conv2d_shape s0 = unit_shape(&m->stem, N, H, W);
        conv2d_forward(b0, x, P(m, m->stem.w), NULL, &s0, m->ws);
        bn_acc_add(&acc[0], b0, N, 64, (size_t)m->H1 * m->W1);
        return 0;
    }
    const maxpool_shape ps = {N, 64, m->H1, m->W1, 3, 2, 1};
    convbn_forward(m, &m->stem, b0, b0, x, N, H, W, 0, NULL, 1);
    maxpool_forward(b1, m->argmax, b0, &ps);
    int ci = 1;
    for (int i = 0; i < 8; i++) {
        basic_block *b = &m->blocks[i];
        float *in = eval_buf(m, ci), *t1 = eval_buf(m, ci + 1), *t2 = eval_buf(m, ci + 2), *t3 = eval_buf(m, ci + 3);
        const size_t hw = (size_t)b->OH * b->OW;
        if (stage == 1 + 2 * i) {
            const conv2d_shape s1 = unit_shape(&b->c1, N, b->H, b->W), sd = unit_shape(&b->ds, N, b->H, b->W);
            conv2d_forward(t1, in, P(m, b->c1.w), NULL, &s1, m->ws);
            bn_acc_add(&acc[0], t1, N, b->c1.cout, hw);
            if (b->has_ds) {
                conv2d_forward(t3, in, P(m, b->ds.w), NULL, &sd, m->ws);
                bn_acc_add(&acc[1], t3, N, b->ds.cout, hw);
            }
            return ci;
        }
        convbn_forward(m, &b->c1, t1, t1, in, N, b->H, b->W, 0, NULL, 1);
        const float *shortcut = in;
        if (b->has_ds) {
            convbn_forward(m, &b->ds, t3, t3, in, N, b->H, b->W, 0, NULL, 0);
            shortcut = t3;
        }
        if (stage == 2 + 2 * i) {
            const conv2d_shape s2 = unit_shape(&b->c2, N, b->OH, b->OW);
            conv2d_forward(t2, t1, P(m, b->c2.w), NULL, &s2, m->ws);
            bn_acc_add(&acc[0], t2, N, b->c2.cout, hw);
            return ci;
        }
        convbn_forward(m, &b->c2, t2, t2, t1, N, b->OH, b->OW, 0, shortcut, 1);
        ci = (ci + 2) % 4;
    }
    return ci;
}

int resnet18_forward(resnet18 *m, float *features, float *logits, const float *x, int N, int H, int W, int train,
                     mer_err *err) {
    if (N <= 0 || H <= 0 || W <= 0) return mer_errf(err, "resnet18_forward: bad input shape (%d,3,%d,%d)", N, H, W);
    m->train_ready = 0;
#ifdef MER_HAVE_DNNL
    if (!train && m->engine == NN_ENGINE_DNNL) {
        float *feat = NULL;
        if (forward_dnnl(m, &feat, x, N, H, W, err) < 0) return mer_err_prefix(err, "resnet18_forward: batch %d of %dx%d", N, H, W);
        if (logits && m->n_classes > 0)
            linear_forward(logits, feat, P(m, m->fc_w), P(m, m->fc_b), N, RESNET18_FEATURES, m->n_classes);
        if (features) memcpy(features, feat, sizeof(float) * (size_t)N * RESNET18_FEATURES);
        return 0;
    }
#endif
    if (train) m->wgen++; /* the running statistics move (and an optimiser step usually follows) */
#ifdef MER_HAVE_DNNL
    if (train && m->engine == NN_ENGINE_DNNL) {
        if (train_forward_dnnl(m, x, N, H, W, err) < 0) return mer_err_prefix(err, "resnet18_forward: batch %d of %dx%d", N, H, W);
        if (logits && m->n_classes > 0)
            linear_forward(logits, m->tfeat, P(m, m->fc_w), P(m, m->fc_b), N, RESNET18_FEATURES, m->n_classes);
        if (features) memcpy(features, m->tfeat, sizeof(float) * (size_t)N * RESNET18_FEATURES);
        m->N = N, m->H = H, m->W = W, m->x = x;
        m->train_ready = 2;
        return 0;
    }
#endif
    if (ensure_memory(m, N, H, W, train, err) < 0) return mer_err_prefix(err, "resnet18_forward: batch %d of %dx%d", N, H, W);
    m->N = N, m->H = H, m->W = W, m->x = x;
    const maxpool_shape ps = {N, 64, m->H1, m->W1, 3, 2, 1};
    const float *cur;
    float *feat;
    /* BasicBlock: a1 = relu(bn1(conv1(in))); out = relu(bn2(conv2(a1)) + shortcut), shortcut = in or
     * bn(downsample conv(in)); the residual add and the ReLUs are fused into the BatchNorm sweeps. */
    if (train) {
        convbn_forward(m, &m->stem, m->stem_c, m->stem_r, x, N, H, W, 1, NULL, 1);
        maxpool_forward(m->pool, m->argmax, m->stem_r, &ps);
        cur = m->pool;
        for (int i = 0; i < 8; i++) {
            basic_block *b = &m->blocks[i];
            b->in = cur;
            convbn_forward(m, &b->c1, b->c1o, b->a1, cur, N, b->H, b->W, 1, NULL, 1);
            const float *shortcut = cur;
            if (b->has_ds) {
                convbn_forward(m, &b->ds, b->cdo, m->gbuf[0], cur, N, b->H, b->W, 1, NULL, 0);
                shortcut = m->gbuf[0];
            }
            convbn_forward(m, &b->c2, b->c2o, b->out, b->a1, N, b->OH, b->OW, 1, shortcut, 1);
            cur = b->out;
        }
        feat = m->feat;
    } else {
        const int ci = eval_walk(m, x, N, H, W, -1, NULL);
        cur = eval_buf(m, ci);
        feat = eval_buf(m, ci + 1);
    }
    const basic_block *last = &m->blocks[7];
    avgpool_forward(feat, cur, N, RESNET18_FEATURES, last->OH * last->OW);
    if (logits && m->n_classes > 0)
        linear_forward(logits, feat, P(m, m->fc_w), P(m, m->fc_b), N, RESNET18_FEATURES, m->n_classes);
    if (features) memcpy(features, feat, sizeof(float) * (size_t)N * RESNET18_FEATURES);
    m->train_ready = train;
    return 0;
}

/* ---- BatchNorm adaptation (AdaBN) ------------------------------------------------------------ */

int resnet18_adapt_bn(resnet18 *m, const float *x, size_t n, int H, int W, int chunk,
                      int (*should_stop)(const void *user), const void *user, mer_err *err) {
    if (n == 0 || H <= 0 || W <= 0 || chunk <= 0)
        return mer_errf(err, "resnet18_adapt_bn: bad input (%zu images of %dx%d, chunk %d)", n, H, W, chunk);
    const size_t img = (size_t)3 * H * W;
    double *mem = mer_calloc(4 * (size_t)RESNET18_FEATURES, sizeof *mem, err);
    if (!mem) return mer_err_prefix(err, "resnet18_adapt_bn");
    int rc = 0;
    for (int stage = 0; stage < 17 && !rc; stage++) {
        convbn *units[2] = {NULL, NULL};
        if (stage == 0)
            units[0] = &m->stem;
        else {
            basic_block *b = &m->blocks[(stage - 1) / 2];
            units[0] = stage % 2 ? &b->c1 : &b->c2;
            if (stage % 2 && b->has_ds) units[1] = &b->ds;
        }
        bn_acc acc[2];
        memset(mem, 0, 4 * (size_t)RESNET18_FEATURES * sizeof *mem);
        for (int u = 0; u < 2; u++)
            acc[u] = (bn_acc){mem + (size_t)2 * u * RESNET18_FEATURES, mem + (size_t)(2 * u + 1) * RESNET18_FEATURES, 0.0};
        for (size_t a = 0; a < n && !rc; a += (size_t)chunk) {
            if (should_stop && should_stop(user)) {
                rc = 1;
                break;
            }
            const int nb = (int)(n - a < (size_t)chunk ? n - a : (size_t)chunk);
            if (ensure_memory(m, nb, H, W, 0, err) < 0) rc = -1;
            else eval_walk(m, x + a * img, nb, H, W, stage, acc);
        }
        for (int u = 0; u < 2 && !rc && units[u]; u++) { /* this layer is adapted before the next is measured */
            float *rm = nn_table_data(&m->tab, units[u]->rm), *rv = nn_table_data(&m->tab, units[u]->rv);
            for (int c = 0; c < units[u]->cout; c++) {
                rm[c] = (float)acc[u].mean[c];
                rv[c] = (float)(acc[u].m2[c] / acc[u].count);
            }
        }
    }
    free(mem);
    m->wgen++; /* oneDNN plans re-fold the new statistics into their convolutions */
    return rc < 0 ? mer_err_prefix(err, "resnet18_adapt_bn") : rc;
}

/* ---- backward --------------------------------------------------------------------------------- */

/* d(conv+BN): dbn (grad at the output of the ReLU that followed the BN when relu_out is given, else at
 * the BN output) -> BN backward written into the scratch dconv -> conv backward accumulating into dinput
 * (may be NULL) and the weight gradient. */
static void convbn_backward(resnet18 *m, const convbn *u, float *dinput, float *dconv, const float *dbn,
                            const float *relu_out, const float *in, const float *c_out, int N, int H, int W) {
    const conv2d_shape s = unit_shape(u, N, H, W);
    const batchnorm_shape bs = {N, u->cout, conv2d_out_h(&s) * conv2d_out_w(&s), BN_EPS, BN_MOMENTUM};
    batchnorm_backward(dconv, nn_table_grad(&m->tab, u->g), nn_table_grad(&m->tab, u->b), dbn, relu_out, c_out,
                       u->save_mean, u->save_invstd, P(m, u->g), &bs, 1);
    conv2d_backward(dinput, nn_table_grad(&m->tab, u->w), NULL, dconv, in, P(m, u->w), &s, m->ws);
}

int resnet18_backward(resnet18 *m, float *dx, const float *dfeatures, const float *dlogits, mer_err *err) {
    if (!m->train_ready) return mer_errf(err, "resnet18_backward: no training-mode forward pass to differentiate");
#ifdef MER_HAVE_DNNL
    if (m->train_ready == 2) return train_backward_dnnl(m, dx, dfeatures, dlogits, err) < 0 ? mer_err_prefix(err, "resnet18_backward") : 0;
#endif
    const int N = m->N;
    float *gfeat = m->gfeat; /* (N,512) first; afterwards a free buffer of the largest activation size */
    if (dfeatures)
        memcpy(gfeat, dfeatures, sizeof(float) * (size_t)N * RESNET18_FEATURES);
    else
        memset(gfeat, 0, sizeof(float) * (size_t)N * RESNET18_FEATURES);
    if (dlogits && m->n_classes > 0)
        linear_backward(gfeat, nn_table_grad(&m->tab, m->fc_w), nn_table_grad(&m->tab, m->fc_b), dlogits, m->feat,
                        P(m, m->fc_w), N, RESNET18_FEATURES, m->n_classes);
    /* gy: gradient at the current block output; gs: BN->conv scratch; ga: gradient at a1; gx: at the input */
    float *gy = m->gbuf[0], *gs = m->gbuf[1], *ga = m->gbuf[2], *gx = gfeat;
    const basic_block *last = &m->blocks[7];
    memset(gy, 0, sizeof(float) * (size_t)N * RESNET18_FEATURES * last->OH * last->OW);
    avgpool_backward(gy, gfeat, N, RESNET18_FEATURES, last->OH * last->OW);
    for (int i = 7; i >= 0; i--) {
        const basic_block *b = &m->blocks[i];
        const size_t n_out = (size_t)N * b->c1.cout * b->OH * b->OW, n_in = (size_t)N * b->c1.cin * b->H * b->W;
        /* gy is the gradient at the block output; masked by out > 0 it is the one at the residual sum,
         * which both branches receive (the masks are applied inside the BN backward sweeps) */
        memset(ga, 0, sizeof(float) * n_out);
        convbn_backward(m, &b->c2, ga, gs, gy, b->out, b->a1, b->c2o, N, b->OH, b->OW);
        memset(gx, 0, sizeof(float) * n_in);
        convbn_backward(m, &b->c1, gx, gs, ga, b->a1, b->in, b->c1o, N, b->H, b->W);
        if (b->has_ds)
            convbn_backward(m, &b->ds, gx, gs, gy, b->out, b->in, b->cdo, N, b->H, b->W);
        else
            relu_backward(gx, gy, b->out, n_in); /* gx += gy where out > 0 */
        float *t = gy;
        gy = gx, gx = t;
    }
    /* stem: gy is the gradient at the max-pool output */
    const size_t n_stem = (size_t)N * 64 * m->H1 * m->W1;
    const maxpool_shape ps = {N, 64, m->H1, m->W1, 3, 2, 1};
    memset(gs, 0, sizeof(float) * n_stem);
    maxpool_backward(gs, gy, m->argmax, &ps);
    convbn_backward(m, &m->stem, dx, ga, gs, m->stem_r, m->x, m->stem_c, N, m->H, m->W);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------------- */

/* The unit geometry (channels, kernels, strides) of torchvision's ResNet-18; no tensors. */
static void geometry(resnet18 *g) {
    static const int widths[4] = {64, 128, 256, 512};
    memset(g, 0, sizeof *g);
    g->stem = (convbn){.cin = 3, .cout = 64, .k = 7, .stride = 2, .pad = 3};
    int cin = 64;
    for (int l = 0; l < 4; l++)
        for (int b = 0; b < 2; b++) {
            basic_block *blk = &g->blocks[l * 2 + b];
            const int cout = widths[l], stride = (l > 0 && b == 0) ? 2 : 1;
            blk->c1 = (convbn){.cin = cin, .cout = cout, .k = 3, .stride = stride, .pad = 1};
            blk->c2 = (convbn){.cin = cout, .cout = cout, .k = 3, .stride = 1, .pad = 1};
            blk->has_ds = stride != 1 || cin != cout;
            blk->ds = (convbn){.cin = cin, .cout = cout, .k = 1, .stride = stride, .pad = 0};
            cin = cout;
        }
}

int resnet18_conv_shapes(conv2d_shape *out, int max, int N, int H, int W) {
    resnet18 g;
    geometry(&g);
    plan(&g, N, H, W, NULL, NULL, NULL);
    int n = 0;
    if (n < max) out[n++] = unit_shape(&g.stem, N, H, W);
    for (int i = 0; i < 8; i++) {
        const basic_block *b = &g.blocks[i];
        if (n < max) out[n++] = unit_shape(&b->c1, N, b->H, b->W);
        if (n < max) out[n++] = unit_shape(&b->c2, N, b->OH, b->OW);
        if (b->has_ds && n < max) out[n++] = unit_shape(&b->ds, N, b->H, b->W);
    }
    return n;
}

double resnet18_forward_macs(int H, int W, int n_classes) {
    conv2d_shape s[32];
    const int n = resnet18_conv_shapes(s, 32, 1, H, W);
    double macs = (double)RESNET18_FEATURES * n_classes;
    for (int i = 0; i < n; i++) macs += conv2d_macs(&s[i]);
    return macs;
}

void imagenet_normalize(float *x, int N, int H, int W) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const size_t HW = (size_t)H * W;
    for (int n = 0; n < N; n++)
        for (int c = 0; c < 3; c++) {
            float *p = x + ((size_t)n * 3 + c) * HW;
            for (size_t i = 0; i < HW; i++) p[i] = (p[i] - mean[c]) / std[c];
        }
}
