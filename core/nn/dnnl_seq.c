/* Primitive sequences on oneDNN (see dnnl_seq.h). */
#ifdef MER_HAVE_DNNL
#include "core/nn/dnnl_seq.h"

#include <stdlib.h>
#include <string.h>

int dn_fail(mer_err *err, dnnl_status_t st, const char *what) {
    static const char *const names[] = {"success", "out of memory", "invalid arguments", "unimplemented",
                                        "iterator ends", "runtime error", "not required"};
    const char *name = (int)st >= 0 && (int)st < 7 ? names[st] : "unknown";
    return mer_errf(err, "%s: oneDNN status %d (%s)", what, (int)st, name);
}

int dn_seq_init(dn_seq *s, mer_err *err) {
    memset(s, 0, sizeof *s);
    DN_TRY(dnnl_engine_create(&s->eng, dnnl_cpu, 0), "oneDNN CPU engine");
    if (dnnl_stream_create(&s->stream, s->eng, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(s->eng);
        s->eng = NULL;
        return mer_errf(err, "oneDNN stream: creation failed");
    }
    return 0;
}

void dn_seq_free(dn_seq *s) {
    for (int i = 0; i < s->n_steps; i++) dnnl_primitive_destroy(s->steps[i].prim);
    for (int i = 0; i < s->n_mems; i++) {
        if (s->mem_slot[i] == DN_OWN) {
            void *p = NULL;
            dnnl_memory_get_data_handle(s->mems[i], &p);
            free(p);
        }
        dnnl_memory_destroy(s->mems[i]);
    }
    if (s->scratch) dnnl_memory_destroy(s->scratch);
    for (int i = 0; i < DN_MAX_SLOTS; i++) free(s->slot_buf[i]);
    free(s->scratch_buf);
    free(s->steps);
    free(s->mems);
    free(s->mem_slot);
    if (s->stream) dnnl_stream_destroy(s->stream);
    if (s->eng) dnnl_engine_destroy(s->eng);
    memset(s, 0, sizeof *s);
}

dnnl_memory_desc_t dn_md4(int N, int C, int H, int W, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t md;
    const dnnl_dims_t d = {N, C, H, W};
    dnnl_memory_desc_init_by_tag(&md, 4, d, dnnl_f32, tag);
    return md;
}

/* 64-byte aligned, rounded up so aligned_alloc's size rule holds. */
static void *alloc64(size_t bytes, mer_err *err) {
    bytes = (bytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) mer_errf(err, "out of memory (%zu bytes for oneDNN buffers)", bytes);
    return p;
}

int dn_seq_mem(dn_seq *s, dnnl_memory_t *out, const dnnl_memory_desc_t *md, int slot, mer_err *err) {
    if (slot >= DN_MAX_SLOTS) return mer_errf(err, "dn_seq_mem: slot %d out of range", slot);
    if (s->n_mems == s->cap_mems) {
        const int cap = s->cap_mems ? 2 * s->cap_mems : 32;
        dnnl_memory_t *m = realloc(s->mems, (size_t)cap * sizeof *m);
        if (!m) return mer_errf(err, "out of memory (oneDNN memory list)");
        s->mems = m;
        int *sl = realloc(s->mem_slot, (size_t)cap * sizeof *sl);
        if (!sl) return mer_errf(err, "out of memory (oneDNN memory list)");
        s->mem_slot = sl;
        s->cap_mems = cap;
    }
    void *buf = DNNL_MEMORY_NONE;
    const size_t bytes = dnnl_memory_desc_get_size(md);
    if (slot == DN_OWN && !(buf = alloc64(bytes, err))) return -1;
    if (dnnl_memory_create(out, md, s->eng, buf) != dnnl_success) {
        if (slot == DN_OWN) free(buf);
        return mer_errf(err, "oneDNN memory of %zu bytes: creation failed", bytes);
    }
    s->mems[s->n_mems] = *out;
    s->mem_slot[s->n_mems++] = slot;
    if (slot >= 0 && bytes > s->slot_bytes[slot]) s->slot_bytes[slot] = bytes;
    return 0;
}

int dn_seq_add(dn_seq *s, dnnl_primitive_desc_t pd, const dnnl_exec_arg_t *args, int nargs, mer_err *err) {
    if (nargs > DN_MAX_ARGS) {
        dnnl_primitive_desc_destroy(pd);
        return mer_errf(err, "dn_seq_add: %d arguments (at most %d)", nargs, DN_MAX_ARGS);
    }
    if (s->n_steps == s->cap_steps) {
        const int cap = s->cap_steps ? 2 * s->cap_steps : 32;
        dn_step *st = realloc(s->steps, (size_t)cap * sizeof *st);
        if (!st) {
            dnnl_primitive_desc_destroy(pd);
            return mer_errf(err, "out of memory (oneDNN step list)");
        }
        s->steps = st, s->cap_steps = cap;
    }
    const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    const size_t sp_bytes = sp ? dnnl_memory_desc_get_size(sp) : 0;
    if (sp_bytes > s->scratch_bytes) s->scratch_bytes = sp_bytes;
    dn_step *st = &s->steps[s->n_steps];
    st->kind = dnnl_undefined_primitive;
    dnnl_primitive_desc_query(pd, dnnl_query_primitive_kind, 0, &st->kind);
    const dnnl_status_t rc = dnnl_primitive_create(&st->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    DN_TRY(rc, "oneDNN primitive");
    memcpy(st->args, args, (size_t)nargs * sizeof *args);
    st->nargs = nargs;
    if (sp_bytes) st->args[st->nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, NULL}; /* set at finalize */
    s->n_steps++;
    return 0;
}

int dn_seq_as(dn_seq *s, dnnl_memory_t *out, dnnl_memory_t from, const dnnl_memory_desc_t *md, int slot, mer_err *err) {
    const dnnl_memory_desc_t *have;
    DN_TRY(dnnl_memory_get_memory_desc(from, &have), "oneDNN memory descriptor");
    if (dnnl_memory_desc_equal(have, md)) {
        *out = from;
        return 0;
    }
    if (dn_seq_mem(s, out, md, slot, err) < 0) return -1;
    return dn_seq_reorder(s, *out, from, err);
}

int dn_seq_reorder(dn_seq *s, dnnl_memory_t dst, dnnl_memory_t src, mer_err *err) {
    const dnnl_memory_desc_t *smd, *dmd;
    DN_TRY(dnnl_memory_get_memory_desc(src, &smd), "oneDNN memory descriptor");
    DN_TRY(dnnl_memory_get_memory_desc(dst, &dmd), "oneDNN memory descriptor");
    dnnl_primitive_desc_t pd;
    dnnl_primitive_attr_t attr;
    if (dn_attr(&attr, 0, 0, err) < 0) return -1;
    const dnnl_status_t rc = dnnl_reorder_primitive_desc_create(&pd, smd, s->eng, dmd, s->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    DN_TRY(rc, "oneDNN reorder");
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    return dn_seq_add(s, pd, args, 2, err);
}

int dn_reorder_now(dn_seq *s, dnnl_memory_t dst, dnnl_memory_t src, mer_err *err) {
    const dnnl_memory_desc_t *smd, *dmd;
    DN_TRY(dnnl_memory_get_memory_desc(src, &smd), "oneDNN memory descriptor");
    DN_TRY(dnnl_memory_get_memory_desc(dst, &dmd), "oneDNN memory descriptor");
    dnnl_primitive_desc_t pd;
    DN_TRY(dnnl_reorder_primitive_desc_create(&pd, smd, s->eng, dmd, s->eng, NULL), "oneDNN weight reorder");
    dnnl_primitive_t p;
    const dnnl_status_t rc = dnnl_primitive_create(&p, pd);
    dnnl_primitive_desc_destroy(pd);
    DN_TRY(rc, "oneDNN weight reorder");
    const dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    dnnl_status_t st = dnnl_primitive_execute(p, s->stream, 2, args);
    if (st == dnnl_success) st = dnnl_stream_wait(s->stream);
    dnnl_primitive_destroy(p);
    DN_TRY(st, "oneDNN weight reorder");
    return 0;
}

int dn_seq_finalize(dn_seq *s, mer_err *err) {
    for (int k = 0; k < DN_MAX_SLOTS; k++)
        if (s->slot_bytes[k] && !(s->slot_buf[k] = alloc64(s->slot_bytes[k], err))) return -1;
    for (int i = 0; i < s->n_mems; i++)
        if (s->mem_slot[i] >= 0) DN_TRY(dnnl_memory_set_data_handle(s->mems[i], s->slot_buf[s->mem_slot[i]]), "oneDNN slot");
    if (s->scratch_bytes) {
        if (!(s->scratch_buf = alloc64(s->scratch_bytes, err))) return -1;
        const dnnl_dims_t d = {(dnnl_dim_t)s->scratch_bytes};
        dnnl_memory_desc_t md;
        DN_TRY(dnnl_memory_desc_init_by_tag(&md, 1, d, dnnl_u8, dnnl_x), "oneDNN scratchpad descriptor");
        DN_TRY(dnnl_memory_create(&s->scratch, &md, s->eng, s->scratch_buf), "oneDNN scratchpad");
        for (int i = 0; i < s->n_steps; i++)
            for (int a = 0; a < s->steps[i].nargs; a++)
                if (s->steps[i].args[a].arg == DNNL_ARG_SCRATCHPAD) s->steps[i].args[a].memory = s->scratch;
    }
    return 0;
}

int dn_seq_run(dn_seq *s, mer_err *err) { return dn_seq_run_range(s, 0, s->n_steps, err); }

int dn_seq_run_range(dn_seq *s, int from, int to, mer_err *err) {
    for (int i = from; i < to; i++)
        DN_TRY(dnnl_primitive_execute(s->steps[i].prim, s->stream, s->steps[i].nargs, s->steps[i].args), "oneDNN execute");
    DN_TRY(dnnl_stream_wait(s->stream), "oneDNN stream");
    return 0;
}

int dn_seq_run_kind(dn_seq *s, int from, int to, dnnl_primitive_kind_t kind, mer_err *err) {
    for (int i = from; i < to; i++)
        if (s->steps[i].kind == kind)
            DN_TRY(dnnl_primitive_execute(s->steps[i].prim, s->stream, s->steps[i].nargs, s->steps[i].args),
                   "oneDNN execute");
    DN_TRY(dnnl_stream_wait(s->stream), "oneDNN stream");
    return 0;
}

int dn_attr(dnnl_primitive_attr_t *attr, int sum, int relu, mer_err *err) {
    DN_TRY(dnnl_primitive_attr_create(attr), "oneDNN attributes");
    dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (!sum && !relu) return 0;
    dnnl_post_ops_t po;
    if (dnnl_post_ops_create(&po) != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        return mer_errf(err, "oneDNN post-ops: creation failed");
    }
    if (sum) dnnl_post_ops_append_sum(po, 1.0f);
    if (relu) dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    const dnnl_status_t rc = dnnl_primitive_attr_set_post_ops(*attr, po);
    dnnl_post_ops_destroy(po);
    if (rc != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        return dn_fail(err, rc, "oneDNN post-ops");
    }
    return 0;
}

int dn_conv_pd(dn_seq *s, dnnl_primitive_desc_t *pd, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
               int K, int stride, int pt, int pl, int pb, int pr, int has_bias, int sum, int relu, mer_err *err) {
    const int OC = (int)dst->dims[1];
    dnnl_memory_desc_t wmd, bmd;
    const dnnl_dims_t wd = {OC, src->dims[1], K, K}, bd = {OC};
    DN_TRY(dnnl_memory_desc_init_by_tag(&wmd, 4, wd, dnnl_f32, dnnl_format_tag_any), "oneDNN weights descriptor");
    DN_TRY(dnnl_memory_desc_init_by_tag(&bmd, 1, bd, dnnl_f32, dnnl_x), "oneDNN bias descriptor");
    const dnnl_dims_t strides = {stride, stride}, pad_l = {pt, pl}, pad_r = {pb, pr};
    dnnl_convolution_desc_t cd;
    DN_TRY(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, src, &wmd,
                                              has_bias ? &bmd : NULL, dst, strides, pad_l, pad_r),
           "oneDNN convolution descriptor");
    dnnl_primitive_attr_t attr;
    if (dn_attr(&attr, sum, relu, err) < 0) return -1;
    const dnnl_status_t rc = dnnl_primitive_desc_create(pd, &cd, attr, s->eng, NULL);
    dnnl_primitive_attr_destroy(attr);
    DN_TRY(rc, "oneDNN convolution");
    return 0;
}

const dnnl_memory_desc_t *dn_pd_md(dnnl_primitive_desc_t pd, dnnl_query_t what) {
    return dnnl_primitive_desc_query_md(pd, what, 0);
}
#endif
