/* PyTorch zip checkpoints: a restricted unpickler that builds a small value tree (never calling anything),
 * the torch semantics on top of it, and the HDF5 writer. See io/pth.h for the format. */
#include "io/pth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"

#define MAX_STACK (1u << 20)
#define MAX_MEMO (1u << 22)

/* ---- values ---------------------------------------------------------------------------------- */

typedef enum { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT, V_GLOBAL, V_STORAGE, V_TENSOR } vkind;

/* The globals a checkpoint may name; everything else is refused at GLOBAL / STACK_GLOBAL time. */
typedef enum { G_ORDERED_DICT, G_REBUILD_TENSOR_V2, G_REBUILD_PARAMETER, G_STORAGE } gkind;

typedef struct val {
    vkind k;
    int64_t i;          /* int, bool; storage numel; tensor offset */
    double f;
    char *s;            /* string; storage key */
    struct val **items; /* tuple/list items; dict as key, value, key, value, ... */
    size_t n, cap;
    gkind g;            /* global */
    pth_dtype dtype;    /* storage-class global, storage */
    struct val *storage; /* tensor */
    int ndim;
    int64_t shape[PTH_MAX_DIMS], stride[PTH_MAX_DIMS];
} val;

static const struct {
    const char *module, *name;
    gkind g;
    pth_dtype dtype;
} GLOBALS[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT, 0},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_TENSOR_V2, 0},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAMETER, 0},
    {"torch", "FloatStorage", G_STORAGE, PTH_FLOAT32},
    {"torch", "DoubleStorage", G_STORAGE, PTH_FLOAT64},
    {"torch", "HalfStorage", G_STORAGE, PTH_FLOAT16},
    {"torch", "BFloat16Storage", G_STORAGE, PTH_BFLOAT16},
    {"torch", "LongStorage", G_STORAGE, PTH_INT64},
    {"torch", "IntStorage", G_STORAGE, PTH_INT32},
    {"torch", "ShortStorage", G_STORAGE, PTH_INT16},
    {"torch", "CharStorage", G_STORAGE, PTH_INT8},
    {"torch", "ByteStorage", G_STORAGE, PTH_UINT8},
    {"torch", "BoolStorage", G_STORAGE, PTH_BOOL},
};

static const char *const DTYPE_NAMES[PTH_DTYPE_COUNT] = {"float32", "float64", "float16", "bfloat16", "int64",
                                                         "int32",   "int16",   "int8",    "uint8",    "bool"};
static const size_t DTYPE_SIZES[PTH_DTYPE_COUNT] = {4, 8, 2, 2, 8, 4, 2, 1, 1, 1};
_Static_assert(sizeof DTYPE_NAMES / sizeof DTYPE_NAMES[0] == PTH_DTYPE_COUNT, "a name per dtype");

const char *pth_dtype_name(pth_dtype d) { return (unsigned)d < PTH_DTYPE_COUNT ? DTYPE_NAMES[d] : "?"; }

size_t pth_tensor_numel(const pth_tensor *t) {
    size_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
    return n;
}

/* ---- the unpickler --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end, *start;
    const char *where; /* "FILE:ENTRY" for messages */
    val **all;         /* every value allocated, freed together */
    size_t n_all, cap_all;
    val **stack;
    size_t sp, cap_stack;
    size_t *marks;
    size_t n_marks, cap_marks;
    val **memo;
    size_t n_memo;
    mer_err *err;
    size_t op_off; /* offset of the opcode being run */
} unpickler;

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need) c *= 2;
    void *p = realloc(*arr, c * elem);
    if (!p) return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static int fail(unpickler *u, const char *fmt, const char *a) {
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a);
    return mer_errf(u->err, "%s: %s (pickle offset %zu)", u->where, msg, u->op_off);
}

static val *new_val(unpickler *u, vkind k) {
    val *v = calloc(1, sizeof *v);
    if (!v || grow((void **)&u->all, &u->cap_all, u->n_all + 1, sizeof *u->all) < 0) {
        free(v);
        fail(u, "out of memory%s", "");
        return NULL;
    }
    u->all[u->n_all++] = v;
    v->k = k;
    return v;
}

static int push(unpickler *u, val *v) {
    if (!v) return -1;
    if (u->sp >= MAX_STACK) return fail(u, "pickle stack deeper than the limit%s", "");
    if (grow((void **)&u->stack, &u->cap_stack, u->sp + 1, sizeof *u->stack) < 0) return fail(u, "out of memory%s", "");
    u->stack[u->sp++] = v;
    return 0;
}

static val *pop(unpickler *u) {
    size_t floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    if (u->sp <= floor) {
        fail(u, "malformed pickle: pop from an empty stack%s", "");
        return NULL;
    }
    return u->stack[--u->sp];
}

static val *top(unpickler *u) {
    size_t floor = u->n_marks ? u->marks[u->n_marks - 1] : 0;
    if (u->sp <= floor) {
        fail(u, "malformed pickle: empty stack%s", "");
        return NULL;
    }
    return u->stack[u->sp - 1];
}

static int need(unpickler *u, size_t n) {
    if ((size_t)(u->end - u->p) < n) return fail(u, "truncated pickle%s", "");
    return 0;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int add_item(unpickler *u, val *c, val *item) {
    if (grow((void **)&c->items, &c->cap, c->n + 1, sizeof *c->items) < 0) return fail(u, "out of memory%s", "");
    c->items[c->n++] = item;
    return 0;
}

/* Items above the topmost mark, removed from the stack with the mark, into a new container. */
static val *pop_to_mark(unpickler *u, vkind k) {
    if (!u->n_marks) {
        fail(u, "malformed pickle: no MARK%s", "");
        return NULL;
    }
    size_t m = u->marks[--u->n_marks];
    val *c = new_val(u, k);
    if (!c) return NULL;
    for (size_t i = m; i < u->sp; i++)
        if (add_item(u, c, u->stack[i]) < 0) return NULL;
    u->sp = m;
    return c;
}

static val *make_str(unpickler *u, size_t n) {
    if (need(u, n) < 0) return NULL;
    val *v = new_val(u, V_STR);
    if (!v) return NULL;
    if (!(v->s = malloc(n + 1))) {
        fail(u, "out of memory%s", "");
        return NULL;
    }
    memcpy(v->s, u->p, n);
    v->s[n] = 0;
    v->i = (int64_t)n;
    u->p += n;
    return v;
}

static int memo_put(unpickler *u, uint64_t idx) {
    val *v = top(u);
    if (!v) return -1;
    if (idx >= MAX_MEMO) return fail(u, "memo index beyond the limit%s", "");
    if (idx >= u->n_memo) {
        val **m = realloc(u->memo, (size_t)(idx + 1) * sizeof *m);
        if (!m) return fail(u, "out of memory%s", "");
        memset(m + u->n_memo, 0, (size_t)(idx + 1 - u->n_memo) * sizeof *m);
        u->memo = m;
        u->n_memo = (size_t)idx + 1;
    }
    u->memo[idx] = v;
    return 0;
}

static int memo_get(unpickler *u, uint64_t idx) {
    if (idx >= u->n_memo || !u->memo[idx]) return fail(u, "malformed pickle: memo entry not set%s", "");
    return push(u, u->memo[idx]);
}

static int set_global(unpickler *u, const char *module, const char *name) {
    for (size_t i = 0; i < sizeof GLOBALS / sizeof GLOBALS[0]; i++)
        if (!strcmp(GLOBALS[i].module, module) && !strcmp(GLOBALS[i].name, name)) {
            val *g = new_val(u, V_GLOBAL);
            if (!g) return -1;
            g->g = GLOBALS[i].g;
            g->dtype = GLOBALS[i].dtype;
            return push(u, g);
        }
    char full[300];
    snprintf(full, sizeof full, "%.140s.%.140s", module, name);
    return fail(u, "refusing the global '%s': not a tensor checkpoint global; nothing was executed", full);
}

static int as_int(const val *v, int64_t *out) {
    if (!v || (v->k != V_INT && v->k != V_BOOL)) return -1;
    *out = v->i;
    return 0;
}

static int int_tuple(unpickler *u, const val *t, int64_t *out, int *n, const char *what) {
    if (!t || t->k != V_TUPLE) return fail(u, "_rebuild_tensor_v2: %s is not a tuple", what);
    if (t->n > PTH_MAX_DIMS) return fail(u, "_rebuild_tensor_v2: %s has too many dimensions", what);
    for (size_t i = 0; i < t->n; i++)
        if (as_int(t->items[i], &out[i]) < 0 || out[i] < 0)
            return fail(u, "_rebuild_tensor_v2: %s holds a value that is not a non-negative int", what);
    *n = (int)t->n;
    return 0;
}

/* REDUCE: call one of the whitelisted callables on an argument tuple, symbolically. */
static int reduce(unpickler *u) {
    val *args = pop(u), *fn = pop(u);
    if (!args || !fn) return -1;
    if (fn->k != V_GLOBAL || args->k != V_TUPLE) return fail(u, "REDUCE of something that is not a whitelisted global%s", "");
    if (fn->g == G_ORDERED_DICT) {
        if (args->n != 0) return fail(u, "collections.OrderedDict called with arguments%s", "");
        return push(u, new_val(u, V_DICT));
    }
    if (fn->g == G_REBUILD_PARAMETER) {
        if (args->n < 1 || args->items[0]->k != V_TENSOR) return fail(u, "_rebuild_parameter without a tensor%s", "");
        return push(u, args->items[0]);
    }
    if (fn->g != G_REBUILD_TENSOR_V2) return fail(u, "REDUCE of a storage class%s", "");
    if (args->n < 6 || args->n > 7) return fail(u, "_rebuild_tensor_v2 with an unexpected argument count%s", "");
    val *t = new_val(u, V_TENSOR);
    if (!t) return -1;
    if (args->items[0]->k != V_STORAGE) return fail(u, "_rebuild_tensor_v2 without a storage%s", "");
    t->storage = args->items[0];
    int ns, nt;
    if (as_int(args->items[1], &t->i) < 0 || t->i < 0)
        return fail(u, "_rebuild_tensor_v2: storage offset is not a non-negative int%s", "");
    if (int_tuple(u, args->items[2], t->shape, &ns, "size") < 0 || int_tuple(u, args->items[3], t->stride, &nt, "stride") < 0)
        return -1;
    if (ns != nt) return fail(u, "_rebuild_tensor_v2: size and stride differ in length%s", "");
    t->ndim = ns;
    return push(u, t);
}

/* BINPERSID: ('storage', torch.XStorage, key, location, numel) -> a storage reference. */
static int persistent_id(unpickler *u) {
    val *pid = pop(u);
    if (!pid) return -1;
    if (pid->k != V_TUPLE || pid->n != 5 || pid->items[0]->k != V_STR || strcmp(pid->items[0]->s, "storage"))
        return fail(u, "unsupported persistent id (expected ('storage', type, key, location, numel))%s", "");
    val *type = pid->items[1], *key = pid->items[2], *s = new_val(u, V_STORAGE);
    if (!s) return -1;
    if (type->k != V_GLOBAL || type->g != G_STORAGE) return fail(u, "persistent id without a storage class%s", "");
    if (key->k != V_STR || !key->s[0] || strchr(key->s, '/') || strstr(key->s, ".."))
        return fail(u, "persistent id with a bad storage key%s", "");
    if (as_int(pid->items[4], &s->i) < 0 || s->i < 0) return fail(u, "persistent id with a bad element count%s", "");
    s->dtype = type->dtype;
    s->s = key->s; /* owned by the key value */
    return push(u, s);
}

static int build(unpickler *u) {
    val *state = pop(u), *obj = top(u);
    if (!state || !obj) return -1;
    /* state_dict carries `_metadata` (per-module versions) as instance state: not needed */
    if (obj->k != V_DICT) return fail(u, "BUILD on something other than an OrderedDict%s", "");
    return 0;
}

static int setitems(unpickler *u, val *d, val **kv, size_t n) {
    if (d->k != V_DICT) return fail(u, "SETITEM(S) on something that is not a dict%s", "");
    if (n % 2) return fail(u, "SETITEMS with an odd number of items%s", "");
    for (size_t i = 0; i < n; i += 2) {
        if (kv[i]->k != V_STR) return fail(u, "dict key that is not a string%s", "");
        size_t j = 0;
        while (j < d->n && strcmp(d->items[j]->s, kv[i]->s)) j += 2;
        if (j < d->n) { /* replace, as Python would */
            d->items[j + 1] = kv[i + 1];
            continue;
        }
        if (add_item(u, d, kv[i]) < 0 || add_item(u, d, kv[i + 1]) < 0) return -1;
    }
    return 0;
}

static int append_items(unpickler *u, val *l, val **items, size_t n) {
    if (l->k != V_LIST) return fail(u, "APPEND(S) on something that is not a list%s", "");
    for (size_t i = 0; i < n; i++)
        if (add_item(u, l, items[i]) < 0) return -1;
    return 0;
}

static const char *opcode_name(uint8_t op) {
    switch (op) {
    case 'i': return "INST";
    case 'o': return "OBJ";
    case 0x81: return "NEWOBJ";
    case 0x92: return "NEWOBJ_EX";
    case 0x82: case 0x83: case 0x84: return "EXT";
    case 'P': return "PERSID";
    case 'I': return "INT";
    case 'L': return "LONG";
    case 'F': return "FLOAT";
    case 'S': return "STRING";
    case 'V': return "UNICODE";
    case 'g': return "GET";
    case 'p': return "PUT";
    case 0x8b: return "LONG4";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

/* Run the pickle to STOP; *result is the final value. */
static int unpickle(unpickler *u, val **result) {
    while (u->p < u->end) {
        u->op_off = (size_t)(u->p - u->start);
        uint8_t op = *u->p++;
        val *v, *a, *b, *c;
        uint64_t n;
        switch (op) {
        case 0x80: /* PROTO */
            if (need(u, 1) < 0) return -1;
            if (*u->p < 2 || *u->p > 5) return fail(u, "unsupported pickle protocol%s", "");
            u->p++;
            break;
        case 0x95: /* FRAME: a length hint only */
            if (need(u, 8) < 0) return -1;
            u->p += 8;
            break;
        case '.': /* STOP */
            if (!(*result = pop(u))) return -1;
            return 0;
        case '(': /* MARK */
            if (grow((void **)&u->marks, &u->cap_marks, u->n_marks + 1, sizeof *u->marks) < 0)
                return fail(u, "out of memory%s", "");
            if (u->n_marks >= MAX_STACK) return fail(u, "too many MARKs%s", "");
            u->marks[u->n_marks++] = u->sp;
            break;
        case '0': /* POP */
            if (u->n_marks && u->marks[u->n_marks - 1] == u->sp) u->n_marks--; /* POP of a mark */
            else if (!pop(u)) return -1;
            break;
        case '1': /* POP_MARK */
            if (!(v = pop_to_mark(u, V_TUPLE))) return -1;
            break;
        case '2': /* DUP */
            if (!(v = top(u)) || push(u, v) < 0) return -1;
            break;
        case ')': if (push(u, new_val(u, V_TUPLE)) < 0) return -1; break;
        case ']': if (push(u, new_val(u, V_LIST)) < 0) return -1; break;
        case '}': if (push(u, new_val(u, V_DICT)) < 0) return -1; break;
        case 't': if (push(u, pop_to_mark(u, V_TUPLE)) < 0) return -1; break;
        case 'l': if (push(u, pop_to_mark(u, V_LIST)) < 0) return -1; break;
        case 'd': /* DICT */
            if (!(v = pop_to_mark(u, V_TUPLE)) || !(a = new_val(u, V_DICT))) return -1;
            if (setitems(u, a, v->items, v->n) < 0 || push(u, a) < 0) return -1;
            break;
        case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
            if (!(v = new_val(u, V_TUPLE))) return -1;
            {
                int k = op - 0x84;
                val *it[3];
                for (int i = k - 1; i >= 0; i--)
                    if (!(it[i] = pop(u))) return -1;
                for (int i = 0; i < k; i++)
                    if (add_item(u, v, it[i]) < 0) return -1;
            }
            if (push(u, v) < 0) return -1;
            break;
        case 'N': if (push(u, new_val(u, V_NONE)) < 0) return -1; break;
        case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
            if (!(v = new_val(u, V_BOOL))) return -1;
            v->i = op == 0x88;
            if (push(u, v) < 0) return -1;
            break;
        case 'J': case 'K': case 'M': /* BININT (signed 4), BININT1, BININT2 */
            n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (need(u, n) < 0 || !(v = new_val(u, V_INT))) return -1;
            v->i = op == 'J' ? (int64_t)(int32_t)(uint32_t)rd_le(u->p, 4) : (int64_t)rd_le(u->p, (int)n);
            u->p += n;
            if (push(u, v) < 0) return -1;
            break;
        case 0x8a: /* LONG1: n-byte two's complement */
            if (need(u, 1) < 0) return -1;
            n = *u->p++;
            if (n > 8) return fail(u, "integer wider than 64 bits%s", "");
            if (need(u, n) < 0 || !(v = new_val(u, V_INT))) return -1;
            {
                uint64_t x = n ? rd_le(u->p, (int)n) : 0;
                if (n && n < 8 && (u->p[n - 1] & 0x80)) x |= ~0ull << (8 * n);
                v->i = (int64_t)x;
            }
            u->p += n;
            if (push(u, v) < 0) return -1;
            break;
        case 'G': /* BINFLOAT: big-endian double */
            if (need(u, 8) < 0 || !(v = new_val(u, V_FLOAT))) return -1;
            {
                uint64_t x = 0;
                for (int i = 0; i < 8; i++) x = x << 8 | u->p[i];
                memcpy(&v->f, &x, sizeof x);
            }
            u->p += 8;
            if (push(u, v) < 0) return -1;
            break;
        case 'X': case 'T': case 0x8c: case 'U': case 0x8d: /* BINUNICODE, BINSTRING, SHORT_*, BINUNICODE8 */
            n = (op == 0x8c || op == 'U') ? 1 : op == 0x8d ? 8 : 4;
            if (need(u, n) < 0) return -1;
            {
                uint64_t len = rd_le(u->p, (int)n);
                u->p += n;
                if (len > (uint64_t)(u->end - u->p)) return fail(u, "truncated pickle: string beyond the end%s", "");
                if (push(u, make_str(u, (size_t)len)) < 0) return -1;
            }
            break;
        case 'q': case 'r': /* BINPUT, LONG_BINPUT */
            n = op == 'q' ? 1 : 4;
            if (need(u, n) < 0) return -1;
            if (memo_put(u, rd_le(u->p, (int)n)) < 0) return -1;
            u->p += n;
            break;
        case 0x94: /* MEMOIZE */
            if (memo_put(u, u->n_memo) < 0) return -1;
            break;
        case 'h': case 'j': /* BINGET, LONG_BINGET */
            n = op == 'h' ? 1 : 4;
            if (need(u, n) < 0) return -1;
            if (memo_get(u, rd_le(u->p, (int)n)) < 0) return -1;
            u->p += n;
            break;
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *nl1 = memchr(u->p, '\n', (size_t)(u->end - u->p));
            const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(u->end - nl1 - 1)) : NULL;
            if (!nl2) return fail(u, "truncated pickle: GLOBAL without its names%s", "");
            char module[256], name[256];
            size_t lm = (size_t)(nl1 - u->p), ln = (size_t)(nl2 - nl1 - 1);
            snprintf(module, sizeof module, "%.*s", (int)(lm < 255 ? lm : 255), (const char *)u->p);
            snprintf(name, sizeof name, "%.*s", (int)(ln < 255 ? ln : 255), (const char *)nl1 + 1);
            u->p = nl2 + 1;
            if (set_global(u, module, name) < 0) return -1;
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            if (!(b = pop(u)) || !(a = pop(u))) return -1;
            if (a->k != V_STR || b->k != V_STR) return fail(u, "STACK_GLOBAL of non-strings%s", "");
            if (set_global(u, a->s, b->s) < 0) return -1;
            break;
        case 'R': if (reduce(u) < 0) return -1; break;
        case 'b': if (build(u) < 0) return -1; break;
        case 'Q': if (persistent_id(u) < 0) return -1; break;
        case 's': /* SETITEM */
            if (!(c = pop(u)) || !(b = pop(u)) || !(a = top(u))) return -1;
            {
                val *kv[2] = {b, c};
                if (setitems(u, a, kv, 2) < 0) return -1;
            }
            break;
        case 'u': /* SETITEMS */
            if (!(v = pop_to_mark(u, V_TUPLE)) || !(a = top(u))) return -1;
            if (setitems(u, a, v->items, v->n) < 0) return -1;
            break;
        case 'a': /* APPEND */
            if (!(b = pop(u)) || !(a = top(u))) return -1;
            if (append_items(u, a, &b, 1) < 0) return -1;
            break;
        case 'e': /* APPENDS */
            if (!(v = pop_to_mark(u, V_TUPLE)) || !(a = top(u))) return -1;
            if (append_items(u, a, v->items, v->n) < 0) return -1;
            break;
        default: {
            char what[64];
            snprintf(what, sizeof what, "0x%02x (%s)", op, opcode_name(op));
            return fail(u, "refusing pickle opcode %s: not in the whitelist for tensor checkpoints", what);
        }
        }
    }
    u->op_off = (size_t)(u->p - u->start);
    return fail(u, "truncated pickle: no STOP opcode%s", "");
}

static void unpickler_free(unpickler *u) {
    for (size_t i = 0; i < u->n_all; i++) {
        if (u->all[i]->k != V_STORAGE) free(u->all[i]->s);
        free(u->all[i]->items);
        free(u->all[i]);
    }
    free(u->all);
    free(u->stack);
    free(u->marks);
    free(u->memo);
}

/* ---- the checkpoint -------------------------------------------------------------------------- */

static int collect_tensors(pth_file *f, const val *d, const char *where, mer_err *err) {
    for (size_t i = 0; i + 1 < d->n; i += 2)
        if (!strcmp(d->items[i]->s, "state_dict") && d->items[i + 1]->k == V_DICT) {
            d = d->items[i + 1]; /* {"state_dict": {...}, "epoch": ...} */
            break;
        }
    if (!(f->tensors = calloc(d->n / 2 + 1, sizeof *f->tensors))) return mer_errf(err, "%s: out of memory", where);
    for (size_t i = 0; i + 1 < d->n; i += 2) {
        const val *k = d->items[i], *t = d->items[i + 1];
        if (t->k != V_TENSOR)
            return mer_errf(err, "%s: the value of '%s' is not a tensor; only state_dicts of tensors are supported",
                            where, k->s);
        pth_tensor *o = &f->tensors[f->n_tensors];
        if (!(o->name = strdup(k->s)) || !(o->storage = strdup(t->storage->s)))
            return mer_errf(err, "%s: out of memory", where);
        f->n_tensors++;
        o->dtype = t->storage->dtype;
        o->ndim = t->ndim;
        memcpy(o->shape, t->shape, sizeof o->shape);
        memcpy(o->stride, t->stride, sizeof o->stride);
        o->offset = t->i;
        o->storage_numel = t->storage->i;
        /* every element's index must lie inside the storage */
        int64_t last = o->offset;
        int empty = 0;
        for (int dd = 0; dd < o->ndim; dd++) {
            if (!o->shape[dd]) empty = 1;
            else if (o->stride[dd] > (INT64_MAX - last) / o->shape[dd])
                return mer_errf(err, "%s: tensor '%s': size x stride overflows", where, o->name);
            else last += (o->shape[dd] - 1) * o->stride[dd];
        }
        if (!empty && last >= o->storage_numel)
            return mer_errf(err, "%s: tensor '%s' reaches element %lld of a storage of %lld elements", where, o->name,
                            (long long)last, (long long)o->storage_numel);
    }
    return 0;
}

static int parse_pickle(pth_file *f, mer_err *err) {
    const zip_archive *z = &f->zip;
    const zip_entry *pkl = NULL;
    for (size_t i = 0; i < z->n_entries; i++) {
        const char *nm = z->entries[i].name, *sl = strchr(nm, '/');
        if (sl && !strcmp(sl, "/data.pkl")) {
            pkl = &z->entries[i];
            if (!(f->prefix = strndup(nm, (size_t)(sl - nm)))) return mer_errf(err, "%s: out of memory", z->path);
            break;
        }
    }
    if (!pkl) return mer_errf(err, "%s: a zip archive without PREFIX/data.pkl: not a torch.save checkpoint", z->path);
    char name[4096];
    snprintf(name, sizeof name, "%s/byteorder", f->prefix);
    const zip_entry *bo = zip_find(z, name);
    if (bo) {
        void *b;
        if (zip_read(z, bo, &b, err) < 0) return -1;
        int little = !strcmp(b, "little");
        free(b);
        if (!little) return mer_errf(err, "%s: a big-endian checkpoint; only little-endian ones are supported", z->path);
    }
    void *data;
    if (zip_read(z, pkl, &data, err) < 0) return -1;
    char where[4200];
    snprintf(where, sizeof where, "%s:%s", z->path, pkl->name);
    unpickler u = {.p = data, .start = data, .end = (const uint8_t *)data + pkl->size, .where = where, .err = err};
    val *res = NULL;
    int rc = unpickle(&u, &res);
    if (rc == 0 && res->k != V_DICT)
        rc = mer_errf(err, "%s: the pickle holds no dict of tensors (a whole model was saved? save its state_dict())",
                      where);
    if (rc == 0) rc = collect_tensors(f, res, where, err);
    unpickler_free(&u);
    free(data);
    return rc;
}

/* Parse the archive's pickle into f->tensors; on failure f is closed. */
static int open_parsed(pth_file *f, mer_err *err) {
    if (parse_pickle(f, err) < 0) {
        pth_close(f);
        return -1;
    }
    return 0;
}

static int legacy_check(const uint8_t *head, size_t n, const char *path, mer_err *err) {
    if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
        return mer_errf(err, "%s: a legacy (torch < 1.6) checkpoint, which mer does not read; re-save it with "
                             "torch >= 1.6 (torch.save(torch.load(f), g)) or use tests/ref/pth_to_h5.py", path);
    return 0;
}

int pth_open(pth_file *f, const char *path, mer_err *err) {
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (fp) {
        uint8_t head[2];
        size_t n = fread(head, 1, 2, fp);
        fclose(fp);
        if (legacy_check(head, n, path, err) < 0) return -1;
    }
    if (zip_open(&f->zip, path, err) < 0) return -1;
    return open_parsed(f, err);
}

int pth_open_mem(pth_file *f, const void *data, size_t size, const char *name, mer_err *err) {
    memset(f, 0, sizeof *f);
    if (legacy_check(data, size, name, err) < 0) return -1;
    if (zip_open_mem(&f->zip, data, size, name, err) < 0) return -1;
    return open_parsed(f, err);
}

void pth_close(pth_file *f) {
    for (size_t i = 0; i < f->n_tensors; i++) {
        free(f->tensors[i].name);
        free(f->tensors[i].storage);
    }
    free(f->tensors);
    free(f->prefix);
    zip_close(&f->zip);
    memset(f, 0, sizeof *f);
}

int pth_read_f32(const pth_file *f, const pth_tensor *t, float **out, mer_err *err) {
    *out = NULL;
    if (t->dtype != PTH_FLOAT32)
        return mer_errf(err, "%s: tensor '%s' is %s; only float32 tensors are converted", f->zip.path, t->name,
                        pth_dtype_name(t->dtype));
    char name[4096];
    snprintf(name, sizeof name, "%s/data/%s", f->prefix, t->storage);
    const zip_entry *e = zip_find(&f->zip, name);
    if (!e) return mer_errf(err, "%s: tensor '%s': storage entry '%s' is missing", f->zip.path, t->name, name);
    if (e->size / DTYPE_SIZES[t->dtype] < (uint64_t)t->storage_numel)
        return mer_errf(err, "%s: tensor '%s': storage '%s' holds %llu bytes, fewer than its %lld elements",
                        f->zip.path, t->name, name, (unsigned long long)e->size, (long long)t->storage_numel);
    void *raw;
    if (zip_read(&f->zip, e, &raw, err) < 0) return -1;
    size_t numel = pth_tensor_numel(t);
    float *o = malloc((numel ? numel : 1) * sizeof *o);
    if (!o) {
        free(raw);
        return mer_errf(err, "%s: out of memory for tensor '%s'", f->zip.path, t->name);
    }
    /* gather in C order through the strides (contiguous tensors take the same path); the bytes are
     * little-endian float32, as on every host mer builds for */
    const uint8_t *src = raw;
    int64_t idx[PTH_MAX_DIMS] = {0};
    for (size_t k = 0; k < numel; k++) {
        int64_t at = t->offset;
        for (int d = 0; d < t->ndim; d++) at += idx[d] * t->stride[d];
        memcpy(&o[k], src + (size_t)at * 4, 4);
        for (int d = t->ndim - 1; d >= 0; d--) {
            if (++idx[d] < t->shape[d]) break;
            idx[d] = 0;
        }
    }
    free(raw);
    *out = o;
    return 0;
}

const char *pth_h5_name(const char *key) { return strncmp(key, "module.", 7) ? key : key + 7; }

int pth_write_h5(const pth_file *f, const char *out_path, size_t *n_written, size_t *n_values, size_t *n_skipped,
                 mer_err *err) {
    size_t nw = 0, nv = 0, ns = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        pth_dtype d = f->tensors[i].dtype;
        if (d == PTH_FLOAT64 || d == PTH_FLOAT16 || d == PTH_BFLOAT16)
            return mer_errf(err, "%s: tensor '%s' is %s; only float32 checkpoints are supported (convert it in "
                                 "PyTorch with .float() first)", f->zip.path, f->tensors[i].name, pth_dtype_name(d));
    }
    hid_t h;
    if (h5_create_tmp(out_path, &h, err) < 0) return -1;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const pth_tensor *t = &f->tensors[i];
        if (t->dtype != PTH_FLOAT32) { /* integer buffers such as num_batches_tracked */
            ns++;
            continue;
        }
        float *v;
        size_t dims[PTH_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) dims[d] = (size_t)t->shape[d];
        if (pth_read_f32(f, t, &v, err) < 0 || h5_write_f32(h, pth_h5_name(t->name), v, t->ndim, dims, err) < 0) {
            free(v);
            h5_abort(h, out_path);
            return -1;
        }
        free(v);
        nw++;
        nv += pth_tensor_numel(t);
    }
    if (h5_commit(h, out_path, err) < 0) return -1;
    if (n_written) *n_written = nw;
    if (n_values) *n_values = nv;
    if (n_skipped) *n_skipped = ns;
    return 0;
}
