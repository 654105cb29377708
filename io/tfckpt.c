/* TensorFlow tensor-bundle reader (LevelDB table + hand-decoded protobuf) and HDF5 converter.
 * See io/tfckpt.h for the format. All parsing is bounds-checked against the bytes actually read. */
#include "io/tfckpt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/h5.h"

#define FOOTER_LEN 48
#define TABLE_MAGIC 0xdb4775248b80fb57ull
#define BLOCK_TRAILER_LEN 5
#define MAX_INDEX_BYTES (1u << 30)

/* ---- CRC32C ---------------------------------------------------------------------------------- */

uint32_t crc32c_value(const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

uint32_t crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

/* ---- byte cursor ----------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} cursor;

static int get_varint(cursor *c, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end) return -1;
        uint8_t b = *c->p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return 0;
        }
    }
    return -1; /* more than 10 bytes */
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* One protobuf field: number, wire type, and either an integer value or a byte range. */
typedef struct {
    uint32_t num;
    int wire;
    uint64_t v;
    const uint8_t *bytes;
    size_t len;
} pb_field;

/* Returns 1 when a field was read, 0 at the end, -1 on malformed input. */
static int pb_next(cursor *c, pb_field *f) {
    if (c->p >= c->end) return 0;
    uint64_t tag;
    if (get_varint(c, &tag) < 0) return -1;
    f->num = (uint32_t)(tag >> 3);
    f->wire = (int)(tag & 7);
    f->bytes = NULL;
    f->len = 0;
    if (f->num == 0) return -1;
    switch (f->wire) {
    case 0:
        return get_varint(c, &f->v) < 0 ? -1 : 1;
    case 1:
        if (c->end - c->p < 8) return -1;
        f->v = le64(c->p);
        c->p += 8;
        return 1;
    case 5:
        if (c->end - c->p < 4) return -1;
        f->v = le32(c->p);
        c->p += 4;
        return 1;
    case 2: {
        uint64_t n;
        if (get_varint(c, &n) < 0 || n > (uint64_t)(c->end - c->p)) return -1;
        f->bytes = c->p;
        f->len = (size_t)n;
        c->p += n;
        return 1;
    }
    default:
        return -1;
    }
}

/* ---- dtypes ---------------------------------------------------------------------------------- */

size_t tfckpt_dtype_size(int dtype) {
    switch (dtype) {
    case TF_DT_FLOAT: return 4;
    case TF_DT_DOUBLE: return 8;
    case TF_DT_INT32: return 4;
    case TF_DT_UINT8: return 1;
    case TF_DT_INT16: return 2;
    case TF_DT_INT8: return 1;
    case TF_DT_INT64: return 8;
    case TF_DT_BOOL: return 1;
    default: return 0;
    }
}

const char *tfckpt_dtype_name(int dtype) {
    switch (dtype) {
    case TF_DT_FLOAT: return "float32";
    case TF_DT_DOUBLE: return "float64";
    case TF_DT_INT32: return "int32";
    case TF_DT_UINT8: return "uint8";
    case TF_DT_INT16: return "int16";
    case TF_DT_INT8: return "int8";
    case 7: return "string";
    case 8: return "complex64";
    case TF_DT_INT64: return "int64";
    case TF_DT_BOOL: return "bool";
    case 14: return "bfloat16";
    case 18: return "complex128";
    case 19: return "float16";
    case 20: return "resource";
    case 21: return "variant";
    default: return "unknown";
    }
}

size_t tfckpt_numel(const tfckpt_entry *e) {
    size_t n = 1;
    for (int i = 0; i < e->ndim; i++) n *= (size_t)e->dims[i];
    return n;
}

/* ---- protobuf messages ----------------------------------------------------------------------- */

static int parse_header(tfckpt *ck, const uint8_t *v, size_t n, const char *path, mer_err *err) {
    cursor c = {v, v + n};
    pb_field f = {0};
    int r;
    ck->num_shards = 1;
    while ((r = pb_next(&c, &f)) > 0) {
        if (f.num == 1 && f.wire == 0) ck->num_shards = (int)(int32_t)f.v;
        else if (f.num == 2 && f.wire == 0 && f.v != 0)
            return mer_errf(err, "%s: big-endian tensor bundle is not supported", path);
    }
    if (r < 0) return mer_errf(err, "%s: malformed BundleHeaderProto", path);
    if (ck->num_shards < 1 || ck->num_shards > 99999)
        return mer_errf(err, "%s: bad shard count %d in the bundle header", path, ck->num_shards);
    return 0;
}

static int parse_shape(tfckpt_entry *e, const uint8_t *v, size_t n, const char *path, mer_err *err) {
    cursor c = {v, v + n};
    pb_field f = {0};
    int r;
    while ((r = pb_next(&c, &f)) > 0) {
        if (f.num == 3 && f.wire == 0 && f.v)
            return mer_errf(err, "%s: variable '%s' has an unknown rank", path, e->name);
        if (f.num != 2 || f.wire != 2) continue;
        if (e->ndim >= TFCKPT_MAX_DIMS)
            return mer_errf(err, "%s: variable '%s' has more than %d dimensions", path, e->name, TFCKPT_MAX_DIMS);
        int64_t size = 0;
        cursor d = {f.bytes, f.bytes + f.len};
        pb_field g = {0};
        int rd;
        while ((rd = pb_next(&d, &g)) > 0)
            if (g.num == 1 && g.wire == 0) size = (int64_t)g.v;
        if (rd < 0) return mer_errf(err, "%s: variable '%s': malformed shape dimension", path, e->name);
        if (size < 0 || size > (int64_t)1 << 40)
            return mer_errf(err, "%s: variable '%s': bad dimension size %lld", path, e->name, (long long)size);
        e->dims[e->ndim++] = size;
    }
    if (r < 0) return mer_errf(err, "%s: variable '%s': malformed TensorShapeProto", path, e->name);
    return 0;
}

static int parse_entry(tfckpt_entry *e, const uint8_t *v, size_t n, const char *path, mer_err *err) {
    cursor c = {v, v + n};
    pb_field f = {0};
    int r;
    while ((r = pb_next(&c, &f)) > 0) {
        switch (f.num) {
        case 1: e->dtype = (int)f.v; break;
        case 2:
            if (f.wire != 2 || parse_shape(e, f.bytes, f.len, path, err) < 0)
                return f.wire != 2 ? mer_errf(err, "%s: variable '%s': bad shape field", path, e->name) : -1;
            break;
        case 3: e->shard = (int)(int32_t)f.v; break;
        case 4: e->offset = f.v; break;
        case 5: e->size = f.v; break;
        case 6:
            e->crc32c_masked = (uint32_t)f.v;
            e->has_crc = 1;
            break;
        case 7:
            return mer_errf(err, "%s: variable '%s' is partitioned (sliced); not supported", path, e->name);
        default: break;
        }
    }
    if (r < 0) return mer_errf(err, "%s: variable '%s': malformed BundleEntryProto", path, e->name);
    size_t es = tfckpt_dtype_size(e->dtype);
    if (!es)
        return mer_errf(err, "%s: variable '%s' has dtype %s (%d), which mer cannot represent", path, e->name,
                        tfckpt_dtype_name(e->dtype), e->dtype);
    size_t numel = 1;
    for (int i = 0; i < e->ndim; i++) {
        if (e->dims[i] && numel > SIZE_MAX / 16 / (size_t)e->dims[i])
            return mer_errf(err, "%s: variable '%s': shape too large", path, e->name);
        numel *= (size_t)e->dims[i];
    }
    if ((uint64_t)numel * es != e->size)
        return mer_errf(err, "%s: variable '%s': %llu bytes recorded but its shape and dtype need %zu", path,
                        e->name, (unsigned long long)e->size, numel * es);
    return 0;
}

/* ---- LevelDB table --------------------------------------------------------------------------- */

typedef int (*block_fn)(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user);

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} keybuf;

/* Parse the block at handle (off, size): check trailer (type, CRC), then visit every entry. */
static int parse_block(const uint8_t *file, size_t file_len, uint64_t off, uint64_t size, const char *path,
                       const char *what, keybuf *key, block_fn fn, void *user, mer_err *err) {
    if (off > file_len || size > file_len - off || file_len - off - size < BLOCK_TRAILER_LEN)
        return mer_errf(err, "%s: %s block at offset %llu size %llu lies outside the %zu-byte file (truncated?)",
                        path, what, (unsigned long long)off, (unsigned long long)size, file_len);
    const uint8_t *b = file + off;
    uint8_t type = b[size];
    if (type != 0)
        return mer_errf(err, "%s: %s block at offset %llu is compressed (type %u%s); only uncompressed tables "
                        "are supported", path, what, (unsigned long long)off, type, type == 1 ? ", snappy" : "");
    uint32_t stored = le32(b + size + 1);
    uint32_t actual = crc32c_mask(crc32c_value(b, (size_t)size + 1));
    if (stored != actual)
        return mer_errf(err, "%s: %s block at offset %llu: checksum mismatch (corrupt file)", path, what,
                        (unsigned long long)off);
    if (size < 4) return mer_errf(err, "%s: %s block at offset %llu is too short", path, what, (unsigned long long)off);
    uint32_t n_restarts = le32(b + size - 4);
    if (n_restarts > (size - 4) / 4)
        return mer_errf(err, "%s: %s block at offset %llu: bad restart count %u", path, what,
                        (unsigned long long)off, n_restarts);
    size_t data_end = (size_t)size - 4 - 4 * (size_t)n_restarts;
    cursor c = {b, b + data_end};
    key->len = 0;
    while (c.p < c.end) {
        uint64_t shared, non_shared, vlen;
        if (get_varint(&c, &shared) < 0 || get_varint(&c, &non_shared) < 0 || get_varint(&c, &vlen) < 0 ||
            shared > key->len || non_shared > (uint64_t)(c.end - c.p) || vlen > (uint64_t)(c.end - c.p) - non_shared)
            return mer_errf(err, "%s: %s block at offset %llu: malformed entry at byte %td", path, what,
                            (unsigned long long)off, c.p - b);
        size_t klen = (size_t)(shared + non_shared);
        if (klen + 1 > key->cap) {
            size_t cap = klen * 2 + 64;
            uint8_t *nb = realloc(key->buf, cap);
            if (!nb) return mer_errf(err, "out of memory reading %s", path);
            key->buf = nb;
            key->cap = cap;
        }
        memcpy(key->buf + shared, c.p, (size_t)non_shared);
        key->len = klen;
        key->buf[klen] = 0;
        c.p += non_shared;
        if (fn(key->buf, klen, c.p, (size_t)vlen, user) < 0) return -1;
        c.p += vlen;
    }
    return 0;
}

typedef struct {
    tfckpt *ck;
    const uint8_t *file;
    size_t file_len;
    const char *path;
    mer_err *err;
    keybuf key;
    int have_header;
    size_t cap;
    char *last_key; /* for the ordering check */
    int have_last;
} table_ctx;

static int on_entry(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user) {
    table_ctx *t = user;
    if (memchr(key, 0, klen)) return mer_errf(t->err, "%s: variable name contains a NUL byte", t->path);
    if (t->have_last && strcmp((const char *)key, t->last_key) <= 0)
        return mer_errf(t->err, "%s: keys out of order at '%s' (corrupt index)", t->path, (const char *)key);
    free(t->last_key);
    t->last_key = strdup((const char *)key);
    if (!t->last_key) return mer_errf(t->err, "out of memory reading %s", t->path);
    t->have_last = 1;
    if (klen == 0) {
        t->have_header = 1;
        return parse_header(t->ck, val, vlen, t->path, t->err);
    }
    tfckpt *ck = t->ck;
    if (ck->n_entries == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        tfckpt_entry *ne = realloc(ck->entries, cap * sizeof *ne);
        if (!ne) return mer_errf(t->err, "out of memory reading %s", t->path);
        ck->entries = ne;
        t->cap = cap;
    }
    tfckpt_entry *e = &ck->entries[ck->n_entries];
    memset(e, 0, sizeof *e);
    e->name = strdup((const char *)key);
    if (!e->name) return mer_errf(t->err, "out of memory reading %s", t->path);
    ck->n_entries++;
    return parse_entry(e, val, vlen, t->path, t->err);
}

static int on_index(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user) {
    (void)key;
    (void)klen;
    table_ctx *t = user;
    cursor c = {val, val + vlen};
    uint64_t off, size;
    if (get_varint(&c, &off) < 0 || get_varint(&c, &size) < 0)
        return mer_errf(t->err, "%s: malformed block handle in the index block", t->path);
    return parse_block(t->file, t->file_len, off, size, t->path, "data", &t->key, on_entry, t, t->err);
}

static int ignore_entry(const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen, void *user) {
    (void)key, (void)klen, (void)val, (void)vlen, (void)user;
    return 0;
}

static int read_file(uint8_t **data, size_t *len, const char *path, size_t max, mer_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return mer_errf(err, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (uint64_t)st.st_size > max) {
        fclose(f);
        return mer_errf(err, "%s: cannot stat or file too large", path);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return mer_errf(err, "%s: out of memory (%zu bytes)", path, n);
    }
    if (fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return mer_errf(err, "%s: read error", path);
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

void tfckpt_close(tfckpt *ck) {
    if (!ck) return;
    for (size_t i = 0; i < ck->n_entries; i++) free(ck->entries[i].name);
    free(ck->entries);
    free(ck->prefix);
    memset(ck, 0, sizeof *ck);
}

int tfckpt_open(tfckpt *ck, const char *prefix, mer_err *err) {
    memset(ck, 0, sizeof *ck);
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s.index", prefix) >= sizeof path)
        return mer_errf(err, "%s: checkpoint prefix too long", prefix);
    uint8_t *file = NULL;
    size_t len = 0;
    if (read_file(&file, &len, path, MAX_INDEX_BYTES, err) < 0) return -1;
    int rc = -1;
    table_ctx t = {.ck = ck, .file = file, .file_len = len, .path = path, .err = err};
    keybuf index_key = {0};
    if (len < FOOTER_LEN) {
        mer_errf(err, "%s: %zu bytes is too short for a tensor-bundle index (truncated?)", path, len);
        goto done;
    }
    const uint8_t *footer = file + len - FOOTER_LEN;
    if (le64(footer + 40) != TABLE_MAGIC) {
        mer_errf(err, "%s: not a TensorFlow checkpoint index (bad table magic; truncated or another format)", path);
        goto done;
    }
    cursor c = {footer, footer + 40};
    uint64_t meta_off, meta_size, index_off, index_size;
    if (get_varint(&c, &meta_off) < 0 || get_varint(&c, &meta_size) < 0 || get_varint(&c, &index_off) < 0 ||
        get_varint(&c, &index_size) < 0) {
        mer_errf(err, "%s: malformed table footer", path);
        goto done;
    }
    /* the metaindex block is empty in tensor bundles; its checksum is still verified */
    if (parse_block(file, len, meta_off, meta_size, path, "metaindex", &index_key, ignore_entry, NULL, err) < 0 ||
        parse_block(file, len, index_off, index_size, path, "index", &index_key, on_index, &t, err) < 0)
        goto done;
    if (!t.have_header) {
        mer_errf(err, "%s: no bundle header (empty key) in the index", path);
        goto done;
    }
    for (size_t i = 0; i < ck->n_entries; i++)
        if (ck->entries[i].shard < 0 || ck->entries[i].shard >= ck->num_shards) {
            mer_errf(err, "%s: variable '%s' refers to shard %d of %d", path, ck->entries[i].name,
                     ck->entries[i].shard, ck->num_shards);
            goto done;
        }
    ck->prefix = strdup(prefix);
    if (!ck->prefix) {
        mer_errf(err, "out of memory");
        goto done;
    }
    rc = 0;
done:
    free(t.key.buf);
    free(index_key.buf);
    free(t.last_key);
    free(file);
    if (rc < 0) tfckpt_close(ck);
    return rc;
}

const tfckpt_entry *tfckpt_find(const tfckpt *ck, const char *name) {
    for (size_t i = 0; i < ck->n_entries; i++)
        if (!strcmp(ck->entries[i].name, name)) return &ck->entries[i];
    return NULL;
}

int tfckpt_read(void **data, const tfckpt *ck, const tfckpt_entry *e, mer_err *err) {
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s.data-%05d-of-%05d", ck->prefix, e->shard, ck->num_shards) >=
        sizeof path)
        return mer_errf(err, "%s: checkpoint prefix too long", ck->prefix);
    FILE *f = fopen(path, "rb");
    if (!f) return mer_errf(err, "%s: %s (data shard of the checkpoint)", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return mer_errf(err, "%s: cannot stat", path);
    }
    uint64_t flen = (uint64_t)st.st_size;
    if (e->offset > flen || e->size > flen - e->offset) {
        fclose(f);
        return mer_errf(err, "%s: variable '%s' at offset %llu size %llu lies outside the %llu-byte shard "
                        "(truncated file or bad offset)", path, e->name, (unsigned long long)e->offset,
                        (unsigned long long)e->size, (unsigned long long)flen);
    }
    uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
    if (!buf) {
        fclose(f);
        return mer_errf(err, "%s: out of memory for variable '%s'", path, e->name);
    }
    if (fseeko(f, (off_t)e->offset, SEEK_SET) != 0 || fread(buf, 1, (size_t)e->size, f) != e->size) {
        free(buf);
        fclose(f);
        return mer_errf(err, "%s: cannot read variable '%s'", path, e->name);
    }
    fclose(f);
    if (e->has_crc && crc32c_mask(crc32c_value(buf, (size_t)e->size)) != e->crc32c_masked) {
        free(buf);
        return mer_errf(err, "%s: variable '%s': checksum mismatch (corrupt data shard)", path, e->name);
    }
    *data = buf;
    return 0;
}

/* ---- conversion ------------------------------------------------------------------------------ */

/* Decode the little-endian tensor bytes into the native type the HDF5 writer takes, and write it. */
static int write_tensor(hid_t h5, const tfckpt_entry *e, const uint8_t *raw, mer_err *err) {
    size_t n = tfckpt_numel(e);
    size_t dims[TFCKPT_MAX_DIMS];
    for (int i = 0; i < e->ndim; i++) dims[i] = (size_t)e->dims[i];
    int rc;
    if (e->dtype == TF_DT_FLOAT) {
        float *x = mer_malloc((n ? n : 1) * sizeof *x, err);
        if (!x) return -1;
        for (size_t i = 0; i < n; i++) {
            uint32_t u = le32(raw + 4 * i);
            memcpy(&x[i], &u, 4);
        }
        rc = h5_write_f32(h5, e->name, x, e->ndim, dims, err);
        free(x);
    } else if (e->dtype == TF_DT_DOUBLE) {
        double *x = mer_malloc((n ? n : 1) * sizeof *x, err);
        if (!x) return -1;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = le64(raw + 8 * i);
            memcpy(&x[i], &u, 8);
        }
        rc = h5_write_f64(h5, e->name, x, e->ndim, dims, err);
        free(x);
    } else if (e->dtype == TF_DT_UINT8 || e->dtype == TF_DT_BOOL) {
        rc = h5_write_u8(h5, e->name, raw, e->ndim, dims, err);
    } else {
        int64_t *x = mer_malloc((n ? n : 1) * sizeof *x, err);
        if (!x) return -1;
        for (size_t i = 0; i < n; i++) {
            switch (e->dtype) {
            case TF_DT_INT8: x[i] = (int8_t)raw[i]; break;
            case TF_DT_INT16: x[i] = (int16_t)(uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8); break;
            case TF_DT_INT32: x[i] = (int32_t)le32(raw + 4 * i); break;
            default: x[i] = (int64_t)le64(raw + 8 * i); break;
            }
        }
        rc = h5_write_i64(h5, e->name, x, e->ndim, dims, err);
        free(x);
    }
    return rc;
}

int tfckpt_convert_h5(const char *prefix, const char *out_path, size_t *n_float_tensors, size_t *n_float_params,
                      size_t *n_other_tensors, mer_err *err) {
    tfckpt ck;
    if (tfckpt_open(&ck, prefix, err) < 0) return -1;
    hid_t h5;
    if (h5_create_tmp(out_path, &h5, err) < 0) {
        tfckpt_close(&ck);
        return -1;
    }
    size_t nf = 0, np = 0, no = 0;
    for (size_t i = 0; i < ck.n_entries; i++) {
        const tfckpt_entry *e = &ck.entries[i];
        void *raw;
        if (tfckpt_read(&raw, &ck, e, err) < 0) goto fail;
        int rc = write_tensor(h5, e, raw, err);
        free(raw);
        if (rc < 0) goto fail;
        if (e->dtype == TF_DT_FLOAT || e->dtype == TF_DT_DOUBLE) {
            nf++;
            np += tfckpt_numel(e);
        } else {
            no++;
        }
    }
    tfckpt_close(&ck);
    if (h5_commit(h5, out_path, err) < 0) return -1;
    if (n_float_tensors) *n_float_tensors = nf;
    if (n_float_params) *n_float_params = np;
    if (n_other_tensors) *n_other_tensors = no;
    return 0;
fail:
    h5_abort(h5, out_path);
    tfckpt_close(&ck);
    return -1;
}
