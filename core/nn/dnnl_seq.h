/* A thin layer over oneDNN's C API (only in builds with MER_HAVE_DNNL): a sequence of primitives built once
 * per tensor shape and then executed many times.
 *
 * The sequence owns its primitives and memory objects. Activations live in a few "slots": each memory bound
 * to a slot points into one buffer sized to the largest memory bound there, so a network's activations
 * rotate through a fixed set of buffers as in the reference path. All primitives run in user scratchpad mode
 * and share one scratchpad, sized to the largest need. Memories bound to no slot get their buffer from
 * the caller (dnnl_memory_set_data_handle before each run: the user's input and output).
 */
#pragma once
#ifdef MER_HAVE_DNNL
#include <dnnl.h>

#include "io/base/err.h"

#define DN_MAX_SLOTS 8
#define DN_MAX_ARGS 11

typedef struct {
    dnnl_primitive_t prim;
    int nargs;
    dnnl_primitive_kind_t kind;
    dnnl_exec_arg_t args[DN_MAX_ARGS + 1]; /* + the scratchpad */
} dn_step;

typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    dn_step *steps;
    int n_steps, cap_steps;
    dnnl_memory_t *mems;
    int *mem_slot; /* slot of mems[i], -1 for caller- or library-owned buffers */
    int n_mems, cap_mems;
    size_t slot_bytes[DN_MAX_SLOTS], scratch_bytes;
    void *slot_buf[DN_MAX_SLOTS], *scratch_buf;
    dnnl_memory_t scratch;
} dn_seq;

/* Fill err with "what: oneDNN status N (name)" and return -1. */
int dn_fail(mer_err *err, dnnl_status_t st, const char *what);
#define DN_TRY(call, what)                                  \
    do {                                                    \
        const dnnl_status_t st_ = (call);                   \
        if (st_ != dnnl_success) return dn_fail(err, st_, what); \
    } while (0)

/* A CPU engine and an in-order stream. */
int dn_seq_init(dn_seq *s, mer_err *err);
void dn_seq_free(dn_seq *s);

/* A 4-D float descriptor (N, C, H, W) with a format tag (dnnl_format_tag_any for the primitive's choice). */
dnnl_memory_desc_t dn_md4(int N, int C, int H, int W, dnnl_format_tag_t tag);

/* A memory of descriptor md owned by the sequence: slot >= 0 binds it to that activation slot; slot
 * DN_OWN allocates its own buffer (weights, bias); DN_USER leaves the buffer to the caller. */
#define DN_OWN (-1)
#define DN_USER (-2)
int dn_seq_mem(dn_seq *s, dnnl_memory_t *out, const dnnl_memory_desc_t *md, int slot, mer_err *err);

/* Append the primitive of pd (the descriptor is destroyed) with its arguments; its scratchpad is added. */
int dn_seq_add(dn_seq *s, dnnl_primitive_desc_t pd, const dnnl_exec_arg_t *args, int nargs, mer_err *err);
/* A memory holding `md` for a primitive whose input must be `md`: `from` itself when its descriptor
 * equals md, else a new memory in `slot` filled by a reorder appended to the sequence. */
int dn_seq_as(dn_seq *s, dnnl_memory_t *out, dnnl_memory_t from, const dnnl_memory_desc_t *md, int slot, mer_err *err);
/* Append a reorder of src into dst. */
int dn_seq_reorder(dn_seq *s, dnnl_memory_t dst, dnnl_memory_t src, mer_err *err);
/* Reorder src into dst now (weights). */
int dn_reorder_now(dn_seq *s, dnnl_memory_t dst, dnnl_memory_t src, mer_err *err);

/* Allocate the slot buffers and the scratchpad (call once, after the last dn_seq_add). */
int dn_seq_finalize(dn_seq *s, mer_err *err);
/* Execute every step in order and wait. */
int dn_seq_run(dn_seq *s, mer_err *err);
/* Execute steps [from, to) in order and wait (a sequence holding a forward and a backward pass). */
int dn_seq_run_range(dn_seq *s, int from, int to, mer_err *err);
/* Execute only the steps of primitive kind `kind` among [from, to) (dnnl_convolution: the convolutions alone,
 * for benchmarks) and wait. */
int dn_seq_run_kind(dn_seq *s, int from, int to, dnnl_primitive_kind_t kind, mer_err *err);

/* Attributes of every primitive: user scratchpad, then the post-ops: sum (accumulate into dst) and/or ReLU. */
int dn_attr(dnnl_primitive_attr_t *attr, int sum, int relu, mer_err *err);
/* A forward-inference convolution descriptor: src/dst descriptors as given (format any allowed), weights
 * (OC, C, K, K) any, bias (OC) when has_bias, zero padding t/l/b/r, post-ops as dn_attr. */
int dn_conv_pd(dn_seq *s, dnnl_primitive_desc_t *pd, const dnnl_memory_desc_t *src, const dnnl_memory_desc_t *dst,
               int K, int stride, int pt, int pl, int pb, int pr, int has_bias, int sum, int relu, mer_err *err);
/* The descriptor of a primitive's argument (dnnl_query_src_md, dnnl_query_weights_md, ...). */
const dnnl_memory_desc_t *dn_pd_md(dnnl_primitive_desc_t pd, dnnl_query_t what);
#endif
