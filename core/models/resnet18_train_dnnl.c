/* ResNet-18 training on oneDNN (see resnet18_train_dnnl.h). */
#ifdef MER_HAVE_DNNL
#include "core/models/resnet18_train_dnnl.h"

#include <stdlib.h>
#include <string.h>

#include "core/nn/dnnl_seq.h"
#include "core/nn/layers.h"

#define FEATURES 512

/* Where a memory's buffer lives in the arena: PERSIST at its own offset (activations kept for the backward,
 * blocked weights), or in one of the rotating regions, sized to the largest memory bound there:
 * R_A..R_C the gradients flowing back (their roles rotate block by block), R_T forward temporaries,
 * R_DW one blocked weight gradient before its reorder into the plain arena. */
enum { R_A, R_B, R_C, R_T, R_DW, R_COUNT, PERSIST = -1 };

typedef struct {
    dnnl_memory_t mem;
    int region;
    size_t off;
} bind;

typedef struct {
    int relu;  /* the ReLU follows the BN directly (fused into it) */
    size_t M;  /* values per channel: N * OH * OW */
    dnnl_memory_t src, c_out, bn_out, w_plain, w_fwd, w_bwd, dw_plain;
    dnnl_memory_t gamma, beta, mean, var, ws, dscale, dshift;
    dnnl_primitive_desc_t bwd_data, bwd_weights, bn_bwd; /* created with the forward as hint, added later */
} unit;

typedef struct {
    int first, has_ds; /* index of conv1 in the unit list */
    dnnl_memory_t in, out;
} block;

struct r18t {
    int N, H, W, n_units, OH, OW; /* OH, OW: layer4's output */
    dn_seq seq;
    int n_fwd, n_bwd; /* steps [0, n_fwd) forward, [n_fwd, n_bwd) backward, [n_bwd, end) dx */
    unit u[R18T_MAX_UNITS];
    block b[8];
    dnnl_memory_t x, pool_out, pool_ws, last_plain, gy_plain, dx_plain;
    dnnl_primitive_desc_t pool_bwd; /* made with the forward as hint, added to the backward later */
    int dx_region;
    bind *binds;
    int n_binds, cap_binds;
    size_t persist_bytes, region_bytes[R_COUNT], region_off[R_COUNT], arena_bytes;
    void *bound; /* the arena the memories point into */
};

/* ---- memories --------------------------------------------------------------------------------- */

static size_t round64(size_t n) { return (n + 63) / 64 * 64; }

/* A memory of md in the arena (region R_* or PERSIST). */
static int arena_mem(r18t *p, dnnl_memory_t *out, const dnnl_memory_desc_t *md, int region, mer_err *err) {
    if (dn_seq_mem(&p->seq, out, md, DN_USER, err) < 0) return -1;
    if (p->n_binds == p->cap_binds) {
        const int cap = p->cap_binds ? 2 * p->cap_binds : 128;
        bind *b = realloc(p->binds, (size_t)cap * sizeof *b);
        if (!b) return mer_errf(err, "out of memory (oneDNN bindings)");
        p->binds = b, p->cap_binds = cap;
    }
    const size_t bytes = round64(dnnl_memory_desc_get_size(md));
    bind *b = &p->binds[p->n_binds++];
    b->mem = *out, b->region = region, b->off = 0;
    if (region == PERSIST) {
        b->off = p->persist_bytes;
        p->persist_bytes += bytes;
    } else if (bytes > p->region_bytes[region]) {
        p->region_bytes[region] = bytes;
    }
    return 0;
}

static int user_mem(r18t *p, dnnl_memory_t *out, const dnnl_memory_desc_t *md, mer_err *err) {
    return dn_seq_mem(&p->seq, out, md, DN_USER, err);
}

static dnnl_memory_desc_t md1(int n) {
    dnnl_memory_desc_t md;
    const dnnl_dims_t d = {n};
    dnnl_memory_desc_init_by_tag(&md, 1, d, dnnl_f32, dnnl_x);
    return md;
}

static const dnnl_memory_desc_t *mem_md(dnnl_memory_t m) {
    const dnnl_memory_desc_t *md = NULL;
    dnnl_memory_get_memory_desc(m, &md);
    return md;
}

/* Point every arena memory into `arena`. */
static int bind_arena(r18t *p, void *arena, mer_err *err) {
    if (p->bound == arena) return 0;
    for (int i = 0; i < p->n_binds; i++) {
        const bind *b = &p->binds[i];
        char *at = (char *)arena + (b->region == PERSIST ? b->off : p->region_off[b->region]);
        DN_TRY(dnnl_memory_set_data_handle(b->mem, at), "oneDNN arena");
    }
    p->bound = arena;
    return 0;
}

/* ---- primitives ------------------------------------------------------------------------------- */

/* A primitive descriptor of op descriptor d (user scratchpad; post-ops: sum and/or ReLU) with hint. */
static int make_pd(r18t *p, dnnl_primitive_desc_t *pd, const void *d, int sum, int relu, const_dnnl_primitive_desc_t hint,
                   const char *what, mer_err *err) {
    dnnl_primitive_attr_t attr;
    if (dn_attr(&attr, sum, relu, err) < 0) return -1;
    const dnnl_status_t rc = dnnl_primitive_desc_create(pd, d, attr, p->seq.eng, hint);
    dnnl_primitive_attr_destroy(attr);
    DN_TRY(rc, what);
    return 0;
}

/* Append a reorder src -> dst; accumulate: dst += src (sum post-op). */
static int add_reorder(r18t *p, dnnl_memory_t dst, dnnl_memory_t src, int accumulate, mer_err *err) {
    dnnl_primitive_attr_t attr;
    if (dn_attr(&attr, accumulate, 0, err) < 0) return -1;
    dnnl_primitive_desc_t pd;
    const dnnl_status_t rc = dnnl_reorder_primitive_desc_create(&pd, mem_md(src), p->seq.eng, mem_md(dst), p->seq.eng, attr);
    dnnl_primitive_attr_destroy(attr);
    DN_TRY(rc, "oneDNN reorder");
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    return dn_seq_add(&p->seq, pd, args, 2, err);
}

/* Append dst = src0 + src1 (dst may be src0), with a ReLU after the sum when relu. */
static int add_sum(r18t *p, dnnl_memory_t dst, dnnl_memory_t src0, dnnl_memory_t src1, int relu, mer_err *err) {
    dnnl_binary_desc_t d;
    DN_TRY(dnnl_binary_desc_init(&d, dnnl_binary_add, mem_md(src0), mem_md(src1), mem_md(dst)), "oneDNN binary descriptor");
    dnnl_primitive_desc_t pd;
    if (make_pd(p, &pd, &d, 0, relu, NULL, "oneDNN residual sum", err) < 0) return -1;
    const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC_0, src0}, {DNNL_ARG_SRC_1, src1}, {DNNL_ARG_DST, dst}};
    return dn_seq_add(&p->seq, pd, args, 3, err);
}

/* Forward of unit i reading src: conv -> c_out (kept), BN with batch statistics (+ fused ReLU) -> bn_out in
 * out_region; the backward descriptors are created now (with the forward ones as hints) and kept. */
static int add_unit(r18t *p, int i, const r18t_unit *g, dnnl_memory_t src, int relu, int out_region, int need_bwd_data,
                    float eps, mer_err *err) {
    unit *u = &p->u[i];
    const dnnl_memory_desc_t *smd = mem_md(src);
    const int N = (int)smd->dims[0], H = (int)smd->dims[2], W = (int)smd->dims[3];
    const int OH = (H + 2 * g->pad - g->k) / g->stride + 1, OW = (W + 2 * g->pad - g->k) / g->stride + 1;
    u->relu = relu, u->M = (size_t)N * OH * OW, u->src = src;
    const dnnl_memory_desc_t dst_any = dn_md4(N, g->cout, OH, OW, dnnl_format_tag_any),
                             w_any = dn_md4(g->cout, g->cin, g->k, g->k, dnnl_format_tag_any),
                             w_plain = dn_md4(g->cout, g->cin, g->k, g->k, dnnl_oihw);
    const dnnl_dims_t strides = {g->stride, g->stride}, pad = {g->pad, g->pad};
    dnnl_convolution_desc_t cd;
    DN_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, smd, &w_any, NULL,
                                              &dst_any, strides, pad, pad),
           "oneDNN convolution descriptor");
    dnnl_primitive_desc_t fwd;
    if (make_pd(p, &fwd, &cd, 0, 0, NULL, "oneDNN convolution forward", err) < 0) return -1;
    const dnnl_memory_desc_t dmd = *dn_pd_md(fwd, dnnl_query_dst_md), wmd = *dn_pd_md(fwd, dnnl_query_weights_md);
    int rc = -1;
    dnnl_status_t st;
#define TRY_GO(call, what)                                      \
    if ((st = (call)) != dnnl_success) {                        \
        dn_fail(err, st, what);                                 \
        goto done;                                              \
    }
    TRY_GO(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, smd, &w_any, NULL, &dmd, strides,
                                                       pad, pad),
           "oneDNN convolution backward-weights descriptor");
    if (make_pd(p, &u->bwd_weights, &cd, 0, 0, fwd, "oneDNN convolution backward-weights", err) < 0) goto done;
    if (need_bwd_data) {
        TRY_GO(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, smd, &w_any, &dmd, strides, pad, pad),
               "oneDNN convolution backward-data descriptor");
        if (make_pd(p, &u->bwd_data, &cd, 0, 0, fwd, "oneDNN convolution backward-data", err) < 0) goto done;
    }
    if (user_mem(p, &u->w_plain, &w_plain, err) < 0 || user_mem(p, &u->dw_plain, &w_plain, err) < 0 ||
        arena_mem(p, &u->w_fwd, &wmd, PERSIST, err) < 0 || arena_mem(p, &u->c_out, &dmd, PERSIST, err) < 0 ||
        add_reorder(p, u->w_fwd, u->w_plain, 0, err) < 0)
        goto done;
    u->w_bwd = u->w_fwd;
    if (u->bwd_data) {
        const dnnl_memory_desc_t *bw = dn_pd_md(u->bwd_data, dnnl_query_weights_md);
        if (!dnnl_memory_desc_equal(bw, &wmd) &&
            (arena_mem(p, &u->w_bwd, bw, PERSIST, err) < 0 || add_reorder(p, u->w_bwd, u->w_plain, 0, err) < 0))
            goto done;
    }
    {
        const dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, u->w_fwd}, {DNNL_ARG_DST, u->c_out}};
        rc = dn_seq_add(&p->seq, fwd, args, 3, err);
        fwd = NULL;
        if (rc < 0) goto done;
        rc = -1;
    }
    /* BatchNorm */
    const unsigned flags = dnnl_use_scale | dnnl_use_shift | (relu ? dnnl_fuse_norm_relu : 0);
    dnnl_batch_normalization_desc_t bd;
    TRY_GO(dnnl_batch_normalization_forward_desc_init(&bd, dnnl_forward_training, &dmd, eps, flags),
           "oneDNN batch normalization descriptor");
    if (make_pd(p, &fwd, &bd, 0, 0, NULL, "oneDNN batch normalization forward", err) < 0) goto done;
    TRY_GO(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &dmd, &dmd, eps, flags),
           "oneDNN batch normalization backward descriptor");
    if (make_pd(p, &u->bn_bwd, &bd, 0, 0, fwd, "oneDNN batch normalization backward", err) < 0) goto done;
    const dnnl_memory_desc_t cmd = md1(g->cout);
    if (user_mem(p, &u->gamma, &cmd, err) < 0 || user_mem(p, &u->beta, &cmd, err) < 0 ||
        dn_seq_mem(&p->seq, &u->mean, &cmd, DN_OWN, err) < 0 || dn_seq_mem(&p->seq, &u->var, &cmd, DN_OWN, err) < 0 ||
        dn_seq_mem(&p->seq, &u->dscale, &cmd, DN_OWN, err) < 0 || dn_seq_mem(&p->seq, &u->dshift, &cmd, DN_OWN, err) < 0 ||
        arena_mem(p, &u->bn_out, &dmd, out_region, err) < 0)
        goto done;
    if (relu && arena_mem(p, &u->ws, dn_pd_md(fwd, dnnl_query_workspace_md), PERSIST, err) < 0) goto done;
    {
        const dnnl_exec_arg_t args[7] = {{DNNL_ARG_SRC, u->c_out}, {DNNL_ARG_DST, u->bn_out},  {DNNL_ARG_SCALE, u->gamma},
                                         {DNNL_ARG_SHIFT, u->beta}, {DNNL_ARG_MEAN, u->mean}, {DNNL_ARG_VARIANCE, u->var},
                                         {DNNL_ARG_WORKSPACE, u->ws}};
        rc = dn_seq_add(&p->seq, fwd, args, relu ? 7 : 6, err);
        fwd = NULL;
    }
done:
#undef TRY_GO
    if (fwd) dnnl_primitive_desc_destroy(fwd);
    return rc;
}

/* Append the backward of unit i: BN backward of diff (the gradient at bn_out; the fused ReLU's mask comes
 * from the workspace) into *dc in region rb, backward-weights (reordered and accumulated into dw_plain), and
 * when dsrc is given backward-data into it. */
static int add_unit_backward(r18t *p, int i, dnnl_memory_t diff, int rb, dnnl_memory_t *dc_out, dnnl_memory_t dsrc,
                             mer_err *err) {
    unit *u = &p->u[i];
    dnnl_memory_t dc, dw;
    if (arena_mem(p, &dc, mem_md(u->c_out), rb, err) < 0) return -1;
    if (dc_out) *dc_out = dc;
    /* oneDNN 2.6 asks for the shift in the backward too, though the gradients do not depend on it */
    const dnnl_exec_arg_t bn[10] = {{DNNL_ARG_SRC, u->c_out},         {DNNL_ARG_MEAN, u->mean},
                                    {DNNL_ARG_VARIANCE, u->var},      {DNNL_ARG_DIFF_DST, diff},
                                    {DNNL_ARG_SCALE, u->gamma},       {DNNL_ARG_SHIFT, u->beta},
                                    {DNNL_ARG_DIFF_SRC, dc},          {DNNL_ARG_DIFF_SCALE, u->dscale},
                                    {DNNL_ARG_DIFF_SHIFT, u->dshift}, {DNNL_ARG_WORKSPACE, u->ws}};
    const dnnl_primitive_desc_t bn_pd = u->bn_bwd;
    u->bn_bwd = NULL;
    if (dn_seq_add(&p->seq, bn_pd, bn, u->relu ? 10 : 9, err) < 0) return -1;
    if (arena_mem(p, &dw, dn_pd_md(u->bwd_weights, dnnl_query_diff_weights_md), R_DW, err) < 0) return -1;
    const dnnl_exec_arg_t bw[3] = {{DNNL_ARG_SRC, u->src}, {DNNL_ARG_DIFF_DST, dc}, {DNNL_ARG_DIFF_WEIGHTS, dw}};
    const dnnl_primitive_desc_t bw_pd = u->bwd_weights;
    u->bwd_weights = NULL;
    if (dn_seq_add(&p->seq, bw_pd, bw, 3, err) < 0 || add_reorder(p, u->dw_plain, dw, 1, err) < 0) return -1;
    if (!dsrc) return 0;
    const dnnl_exec_arg_t bd[3] = {{DNNL_ARG_DIFF_DST, dc}, {DNNL_ARG_WEIGHTS, u->w_bwd}, {DNNL_ARG_DIFF_SRC, dsrc}};
    const dnnl_primitive_desc_t bd_pd = u->bwd_data;
    u->bwd_data = NULL;
    return dn_seq_add(&p->seq, bd_pd, bd, 3, err);
}

/* Append the ReLU backward at a block output, in place on diff: diff *= (out > 0). */
static int add_relu_backward(r18t *p, dnnl_memory_t diff, dnnl_memory_t out, mer_err *err) {
    dnnl_eltwise_desc_t d;
    DN_TRY(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd, mem_md(out), 0.0f,
                                          0.0f),
           "oneDNN ReLU descriptor");
    dnnl_primitive_desc_t fwd, pd;
    if (make_pd(p, &fwd, &d, 0, 0, NULL, "oneDNN ReLU", err) < 0) return -1;
    const dnnl_status_t st =
        dnnl_eltwise_backward_desc_init(&d, dnnl_eltwise_relu_use_dst_for_bwd, mem_md(diff), mem_md(out), 0.0f, 0.0f);
    const int rc = st != dnnl_success ? dn_fail(err, st, "oneDNN ReLU backward descriptor")
                                      : make_pd(p, &pd, &d, 0, 0, fwd, "oneDNN ReLU backward", err);
    dnnl_primitive_desc_destroy(fwd);
    if (rc < 0) return -1;
    const dnnl_exec_arg_t args[3] = {{DNNL_ARG_DST, out}, {DNNL_ARG_DIFF_DST, diff}, {DNNL_ARG_DIFF_SRC, diff}};
    return dn_seq_add(&p->seq, pd, args, 3, err);
}

/* ---- plan ------------------------------------------------------------------------------------- */

void r18t_free(r18t *p) {
    if (!p) return;
    for (int i = 0; i < R18T_MAX_UNITS; i++) {
        unit *u = &p->u[i];
        if (u->bwd_data) dnnl_primitive_desc_destroy(u->bwd_data);
        if (u->bwd_weights) dnnl_primitive_desc_destroy(u->bwd_weights);
        if (u->bn_bwd) dnnl_primitive_desc_destroy(u->bn_bwd);
    }
    if (p->pool_bwd) dnnl_primitive_desc_destroy(p->pool_bwd);
    dn_seq_free(&p->seq);
    free(p->binds);
    free(p);
}

int r18t_is_shape(const r18t *p, int N, int H, int W) { return p->N == N && p->H == H && p->W == W; }
size_t r18t_arena_bytes(const r18t *p) { return p->arena_bytes; }

static int build(r18t *p, const r18t_unit *g, const int has_ds[8], float eps, mer_err *err) {
    const int N = p->N;
    const dnnl_memory_desc_t x_md = dn_md4(N, 3, p->H, p->W, dnnl_nchw);
    if (dn_seq_init(&p->seq, err) < 0 || user_mem(p, &p->x, &x_md, err) < 0) return -1;
    /* forward: stem conv+BN+ReLU, max pool 3x3/2 pad 1, 8 blocks, layer4's output in plain NCHW */
    if (add_unit(p, 0, &g[0], p->x, 1, PERSIST, 0, eps, err) < 0) return -1;
    const dnnl_memory_desc_t *smd = mem_md(p->u[0].bn_out);
    const maxpool_shape ps = {N, 64, (int)smd->dims[2], (int)smd->dims[3], 3, 2, 1};
    const dnnl_memory_desc_t pool_any = dn_md4(N, 64, maxpool_out_h(&ps), maxpool_out_w(&ps), dnnl_format_tag_any);
    const dnnl_dims_t ps2 = {2, 2}, pk = {3, 3}, pp = {1, 1};
    dnnl_pooling_desc_t pd_;
    DN_TRY(dnnl_pooling_forward_desc_init(&pd_, dnnl_forward_training, dnnl_pooling_max, smd, &pool_any, ps2, pk, pp, pp),
           "oneDNN pooling descriptor");
    dnnl_primitive_desc_t pool_fwd;
    if (make_pd(p, &pool_fwd, &pd_, 0, 0, NULL, "oneDNN max pooling", err) < 0) return -1;
    const dnnl_memory_desc_t pool_md = *dn_pd_md(pool_fwd, dnnl_query_dst_md);
    const dnnl_status_t pst = dnnl_pooling_backward_desc_init(&pd_, dnnl_pooling_max, smd, &pool_md, ps2, pk, pp, pp);
    if ((pst != dnnl_success && dn_fail(err, pst, "oneDNN max pooling backward descriptor") < 0) ||
        make_pd(p, &p->pool_bwd, &pd_, 0, 0, pool_fwd, "oneDNN max pooling backward", err) < 0 ||
        arena_mem(p, &p->pool_out, &pool_md, PERSIST, err) < 0 ||
        arena_mem(p, &p->pool_ws, dn_pd_md(pool_fwd, dnnl_query_workspace_md), PERSIST, err) < 0) {
        dnnl_primitive_desc_destroy(pool_fwd);
        return -1;
    }
    const dnnl_exec_arg_t pa[3] = {{DNNL_ARG_SRC, p->u[0].bn_out}, {DNNL_ARG_DST, p->pool_out}, {DNNL_ARG_WORKSPACE, p->pool_ws}};
    if (dn_seq_add(&p->seq, pool_fwd, pa, 3, err) < 0) return -1;
    dnnl_memory_t cur = p->pool_out;
    int k = 1, ok = 1;
    for (int i = 0; i < 8; i++) {
        block *b = &p->b[i];
        ok = 0; /* until the block is complete */
        b->first = k, b->has_ds = has_ds[i], b->in = cur;
        if (add_unit(p, k, &g[k], cur, 1, PERSIST, 1, eps, err) < 0) break;
        dnnl_memory_t shortcut = cur;
        if (b->has_ds) {
            if (add_unit(p, k + 2, &g[k + 2], cur, 0, R_T, 1, eps, err) < 0) break;
            shortcut = p->u[k + 2].bn_out;
        }
        if (add_unit(p, k + 1, &g[k + 1], p->u[k].bn_out, 0, PERSIST, 1, eps, err) < 0) break;
        b->out = cur = p->u[k + 1].bn_out;
        if (!dnnl_memory_desc_equal(mem_md(shortcut), mem_md(cur))) {
            mer_errf(err, "oneDNN training: block %d's shortcut and output layouts differ", i);
            break;
        }
        if (add_sum(p, cur, cur, shortcut, 1, err) < 0) break;
        k += b->has_ds ? 3 : 2;
        ok = 1;
    }
    if (ok && k != p->n_units) ok = 0, mer_errf(err, "oneDNN training: %d units given, %d used", p->n_units, k);
    if (!ok) return -1;
    const dnnl_memory_desc_t *omd = mem_md(cur);
    p->OH = (int)omd->dims[2], p->OW = (int)omd->dims[3];
    const dnnl_memory_desc_t plain = dn_md4(N, FEATURES, p->OH, p->OW, dnnl_nchw);
    if (arena_mem(p, &p->last_plain, &plain, R_T, err) < 0 || add_reorder(p, p->last_plain, cur, 0, err) < 0) return -1;
    p->n_fwd = p->seq.n_steps;

    /* backward: the gradient at layer4's output (plain, from the average pool's backward) into blocked R_A */
    int ra = R_A, rb = R_B, rc = R_C;
    dnnl_memory_t gy;
    if (arena_mem(p, &p->gy_plain, &plain, R_B, err) < 0 || arena_mem(p, &gy, omd, R_A, err) < 0 ||
        add_reorder(p, gy, p->gy_plain, 0, err) < 0)
        return -1;
    for (int i = 7; i >= 0; i--) {
        const block *b = &p->b[i];
        ok = 0;
        const int c1 = b->first, c2 = c1 + 1, ds = c1 + 2;
        /* gy (ra): at the block output -> at the residual sum, which both branches receive */
        dnnl_memory_t da1, dx1, dx2 = gy;
        if (add_relu_backward(p, gy, b->out, err) < 0 || arena_mem(p, &da1, mem_md(p->u[c1].bn_out), rc, err) < 0 ||
            add_unit_backward(p, c2, gy, rb, NULL, da1, err) < 0 || arena_mem(p, &dx1, mem_md(b->in), rc, err) < 0 ||
            add_unit_backward(p, c1, da1, rb, NULL, dx1, err) < 0)
            break;
        if (b->has_ds && (arena_mem(p, &dx2, mem_md(b->in), ra, err) < 0 || add_unit_backward(p, ds, gy, rb, NULL, dx2, err) < 0))
            break;
        if (add_sum(p, dx1, dx1, dx2, 0, err) < 0) break;
        gy = dx1;
        const int t = ra;
        ra = rc, rc = rb, rb = t;
        ok = 1;
    }
    if (!ok) return -1;
    /* stem: max pool backward (ra holds the gradient at its output), then BN+ReLU and weights */
    dnnl_memory_t dstem, dc0;
    if (arena_mem(p, &dstem, smd, rb, err) < 0) return -1;
    const dnnl_exec_arg_t pb[3] = {{DNNL_ARG_DIFF_DST, gy}, {DNNL_ARG_WORKSPACE, p->pool_ws}, {DNNL_ARG_DIFF_SRC, dstem}};
    const dnnl_primitive_desc_t pool_bwd = p->pool_bwd;
    p->pool_bwd = NULL;
    if (dn_seq_add(&p->seq, pool_bwd, pb, 3, err) < 0 || add_unit_backward(p, 0, dstem, rc, &dc0, NULL, err) < 0) return -1;
    p->n_bwd = p->seq.n_steps;
    /* dx only on request: the stem's backward-data, into a plain buffer added to dx afterwards */
    dnnl_convolution_desc_t cd;
    const dnnl_memory_desc_t w_any = dn_md4(64, 3, g[0].k, g[0].k, dnnl_format_tag_any);
    const dnnl_dims_t st = {g[0].stride, g[0].stride}, pad = {g[0].pad, g[0].pad};
    DN_TRY(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &x_md, &w_any, mem_md(p->u[0].c_out), st,
                                                    pad, pad),
           "oneDNN convolution backward-data descriptor");
    dnnl_primitive_desc_t dpd;
    dnnl_memory_t w0;
    p->dx_region = ra;
    if (make_pd(p, &dpd, &cd, 0, 0, NULL, "oneDNN stem backward-data", err) < 0) return -1;
    if (arena_mem(p, &p->dx_plain, &x_md, ra, err) < 0 || arena_mem(p, &w0, dn_pd_md(dpd, dnnl_query_weights_md), R_T, err) < 0 ||
        add_reorder(p, w0, p->u[0].w_plain, 0, err) < 0) {
        dnnl_primitive_desc_destroy(dpd);
        return -1;
    }
    const dnnl_exec_arg_t da[3] = {{DNNL_ARG_DIFF_DST, dc0}, {DNNL_ARG_WEIGHTS, w0}, {DNNL_ARG_DIFF_SRC, p->dx_plain}};
    if (dn_seq_add(&p->seq, dpd, da, 3, err) < 0 || dn_seq_finalize(&p->seq, err) < 0) return -1;

    size_t off = round64(p->persist_bytes);
    for (int r = 0; r < R_COUNT; r++) p->region_off[r] = off, off += round64(p->region_bytes[r]);
    p->arena_bytes = off;
    return 0;
}

int r18t_create(r18t **out, const r18t_unit *units, int n_units, const int has_ds[8], int N, int H, int W, float bn_eps,
                mer_err *err) {
    *out = NULL;
    if (n_units > R18T_MAX_UNITS) return mer_errf(err, "oneDNN training: %d units (at most %d)", n_units, R18T_MAX_UNITS);
    r18t *p = mer_calloc(1, sizeof *p, err);
    if (!p) return -1;
    p->N = N, p->H = H, p->W = W, p->n_units = n_units;
    if (build(p, units, has_ds, bn_eps, err) < 0) {
        r18t_free(p);
        return -1;
    }
    *out = p;
    return 0;
}

/* ---- passes ----------------------------------------------------------------------------------- */

static void *handle(dnnl_memory_t m) {
    void *h = NULL;
    dnnl_memory_get_data_handle(m, &h);
    return h;
}

int r18t_forward(r18t *p, void *arena, float *feat, const float *x, const r18t_unit *g, float momentum, mer_err *err) {
    if (bind_arena(p, arena, err) < 0) return -1;
    DN_TRY(dnnl_memory_set_data_handle(p->x, (void *)x), "oneDNN input");
    for (int i = 0; i < p->n_units; i++) {
        unit *u = &p->u[i];
        DN_TRY(dnnl_memory_set_data_handle(u->w_plain, (void *)g[i].w), "oneDNN weights");
        DN_TRY(dnnl_memory_set_data_handle(u->gamma, (void *)g[i].gamma), "oneDNN BN weight");
        DN_TRY(dnnl_memory_set_data_handle(u->beta, (void *)g[i].beta), "oneDNN BN bias");
    }
    if (dn_seq_run_range(&p->seq, 0, p->n_fwd, err) < 0) return -1;
    for (int i = 0; i < p->n_units; i++) { /* running statistics, as batchnorm_forward_train */
        const unit *u = &p->u[i];
        const float *mean = handle(u->mean), *var = handle(u->var);
        const double m = momentum, M = (double)u->M;
        for (int c = 0; c < g[i].cout; c++) {
            const double unbiased = M > 1 ? var[c] * M / (M - 1) : var[c];
            g[i].running_mean[c] = (float)((1.0 - m) * g[i].running_mean[c] + m * mean[c]);
            g[i].running_var[c] = (float)((1.0 - m) * g[i].running_var[c] + m * unbiased);
        }
    }
    avgpool_forward(feat, handle(p->last_plain), p->N, FEATURES, p->OH * p->OW);
    return 0;
}

int r18t_backward(r18t *p, void *arena, float *dx, const float *dfeat, const r18t_unit *g, mer_err *err) {
    if (bind_arena(p, arena, err) < 0) return -1;
    for (int i = 0; i < p->n_units; i++) DN_TRY(dnnl_memory_set_data_handle(p->u[i].dw_plain, g[i].dw), "oneDNN gradients");
    float *gy = handle(p->gy_plain);
    memset(gy, 0, sizeof(float) * (size_t)p->N * FEATURES * p->OH * p->OW);
    avgpool_backward(gy, dfeat, p->N, FEATURES, p->OH * p->OW);
    if (dn_seq_run_range(&p->seq, p->n_fwd, dx ? p->seq.n_steps : p->n_bwd, err) < 0) return -1;
    for (int i = 0; i < p->n_units; i++) {
        const float *ds = handle(p->u[i].dscale), *db = handle(p->u[i].dshift);
        for (int c = 0; c < g[i].cout; c++) g[i].dgamma[c] += ds[c], g[i].dbeta[c] += db[c];
    }
    if (dx) {
        const float *d = handle(p->dx_plain);
        const size_t n = (size_t)p->N * 3 * p->H * p->W;
        for (size_t i = 0; i < n; i++) dx[i] += d[i];
    }
    return 0;
}

int r18t_run_convs(r18t *p, int backward, mer_err *err) {
    return dn_seq_run_kind(&p->seq, 0, backward ? p->n_bwd : p->n_fwd, dnnl_convolution, err);
}
#endif
