/* libFuzzer harness: the TensorFlow checkpoint reader (io/tfckpt.c): PREFIX.index and the data shard.
 * Every block of an index carries a CRC32C, so raw mutations would rarely get past the first check: the
 * input instead describes a checkpoint that the harness assembles, with valid checksums unless the input
 * asks for damage. Input: two flag bytes, entries (key; then a raw BundleEntryProto, or dtype, shape,
 * shard, offset, size, CRC choices), optional raw data/index block contents, and the rest is the data
 * shard. A checkpoint that opens is read tensor by tensor and, when asked, converted to HDF5. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/tfckpt.h"
#include "tests/fuzz/fuzz_util.h"

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

static void put(buf *x, const void *p, size_t n) {
    if (!n) return;
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2 + 64;
        x->b = realloc(x->b, x->cap);
        if (!x->b) abort();
    }
    memcpy(x->b + x->n, p, n);
    x->n += n;
}
static void put_u8(buf *x, uint8_t v) { put(x, &v, 1); }
static void put_varint(buf *x, uint64_t v) {
    while (v >= 0x80) {
        put_u8(x, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_u8(x, (uint8_t)v);
}
static void put_u32(buf *x, uint32_t v) {
    for (int i = 0; i < 4; i++) put_u8(x, (uint8_t)(v >> (8 * i)));
}
static void pb_varint(buf *x, int field, uint64_t v) {
    put_varint(x, (uint64_t)field << 3);
    put_varint(x, v);
}
static void pb_bytes(buf *x, int field, const buf *m) {
    put_varint(x, (uint64_t)field << 3 | 2);
    put_varint(x, m->n);
    put(x, m->b, m->n);
}

typedef struct {
    const uint8_t *key;
    size_t klen;
    uint8_t mode;
    const uint8_t *raw; /* mode & 1: the value as given */
    size_t raw_len;
    int dtype, ndim, shard;
    uint64_t dims[10], offset, size;
} entry;

static const int DTYPES[16] = {1, 2, 3, 4, 5, 6, 9, 10, 1, 1, 2, 3, 7, 14, 19, 0};

static int cmp_entry(const void *a, const void *b) {
    const entry *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Block contents (entries, one restart at 0) then trailer: type and masked CRC (broken when asked). */
static void put_block(buf *file, const buf *block, uint8_t type, int bad_crc) {
    size_t start = file->n;
    put(file, block->b, block->n);
    put_u8(file, type);
    put_u32(file, crc32c_mask(crc32c_value(file->b + start, file->n - start)) ^ (bad_crc ? 0x10u : 0u));
}
static void block_add(buf *block, buf *last, const uint8_t *key, size_t klen, const buf *val) {
    size_t shared = 0;
    while (shared < last->n && shared < klen && last->b[shared] == key[shared]) shared++;
    put_varint(block, shared);
    put_varint(block, klen - shared);
    put_varint(block, val->n);
    put(block, key + shared, klen - shared);
    put(block, val->b, val->n);
    last->n = 0;
    put(last, key, klen);
}
static void block_end(buf *block) {
    put_u32(block, 0);
    put_u32(block, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_in in = {data, size};
    uint8_t f = fz_u8(&in), g = fz_u8(&in);
    size_t n = fz_u8(&in) % 9;
    entry e[8];
    for (size_t i = 0; i < n; i++) {
        entry *x = &e[i];
        memset(x, 0, sizeof *x);
        x->key = fz_bytes(&in, &x->klen);
        x->mode = fz_u8(&in);
        if (x->mode & 1) {
            x->raw = fz_bytes(&in, &x->raw_len);
            continue;
        }
        x->dtype = DTYPES[fz_u8(&in) & 15];
        uint8_t nd = fz_u8(&in);
        x->ndim = nd % 10;
        for (int k = 0; k < x->ndim; k++) x->dims[k] = nd & 0x80 ? fz_u32(&in) : fz_u8(&in) % 8;
        x->shard = (int)(fz_u8(&in) % 4) - (x->mode & 0x80 ? 1 : 0);
        if (x->mode & 2) x->offset = fz_u32(&in);
        if (x->mode & 4) x->size = fz_u32(&in);
    }
    size_t raw_data_len = 0, raw_index_len = 0;
    const uint8_t *raw_data = f & 1 ? fz_bytes(&in, &raw_data_len) : NULL;
    const uint8_t *raw_index = f & 2 ? fz_bytes(&in, &raw_index_len) : NULL;
    uint8_t num_shards = g & 2 ? fz_u8(&in) : 1;
    const uint8_t *shard = in.p;
    size_t shard_len = in.n;
    if (!(g & 1)) qsort(e, n, sizeof *e, cmp_entry);

    /* entry values: sizes and offsets follow the tensors laid out one after another in the shard */
    buf vals[8] = {{0}};
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        entry *x = &e[i];
        buf *v = &vals[i];
        if (x->mode & 1) {
            put(v, x->raw, x->raw_len);
            continue;
        }
        uint64_t numel = 1;
        for (int k = 0; k < x->ndim; k++) numel *= x->dims[k] ? x->dims[k] : 1;
        size_t es = tfckpt_dtype_size(x->dtype);
        if (!(x->mode & 2)) x->offset = at;
        if (!(x->mode & 4)) x->size = numel * (es ? es : 4);
        at = x->offset + x->size;
        pb_varint(v, 1, (uint64_t)x->dtype);
        buf shape = {0};
        for (int k = 0; k < x->ndim; k++) {
            buf dim = {0};
            pb_varint(&dim, 1, x->dims[k] ? x->dims[k] : 1);
            pb_bytes(&shape, 2, &dim);
            free(dim.b);
        }
        if (x->mode & 64) pb_varint(&shape, 3, 1); /* unknown rank */
        pb_bytes(v, 2, &shape);
        free(shape.b);
        if (x->shard) pb_varint(v, 3, (uint64_t)(int64_t)x->shard);
        if (x->offset) pb_varint(v, 4, x->offset);
        pb_varint(v, 5, x->size);
        if (!(x->mode & 8)) {
            uint32_t crc = 0;
            if (x->offset <= shard_len && x->size <= shard_len - x->offset)
                crc = crc32c_mask(crc32c_value(shard + x->offset, (size_t)x->size));
            put_varint(v, 6 << 3 | 5);
            put_u32(v, crc ^ (x->mode & 16 ? 1u : 0u));
        }
        if (x->mode & 32) {
            buf sl = {0};
            pb_bytes(v, 7, &sl);
        }
    }

    /* data block(s): the header under the empty key, then the entries; bit 4 splits them in two blocks */
    buf file = {0}, blocks[2] = {{0}}, last = {0}, hdr = {0};
    pb_varint(&hdr, 1, num_shards);
    if (g & 4) pb_varint(&hdr, 2, 1); /* big-endian */
    if (!(f & 0x80)) block_add(&blocks[0], &last, (const uint8_t *)"", 0, &hdr);
    int nb = f & 16 ? 2 : 1;
    for (size_t i = 0; i < n; i++) {
        if (nb == 2 && i == n / 2) last.n = 0; /* a block's first key shares nothing */
        block_add(&blocks[nb == 2 && i >= n / 2], &last, e[i].key, e[i].klen, &vals[i]);
    }
    uint64_t boff[2], bsize[2];
    for (int b = 0; b < nb; b++) {
        if (raw_data && b == 0) {
            blocks[0].n = 0;
            put(&blocks[0], raw_data, raw_data_len);
        } else {
            block_end(&blocks[b]);
        }
        boff[b] = file.n;
        bsize[b] = blocks[b].n;
        put_block(&file, &blocks[b], f & 8 ? 1 : 0, (f & 4) && b == 0);
    }
    /* metaindex (empty), index (one handle per data block), footer */
    buf meta = {0}, index = {0}, footer = {0};
    block_end(&meta);
    if (g & 16) meta.b[0] ^= 1;
    uint64_t meta_off = file.n;
    put_block(&file, &meta, 0, 0);
    if (raw_index) {
        put(&index, raw_index, raw_index_len);
    } else {
        last.n = 0;
        for (int b = 0; b < nb; b++) {
            buf h = {0};
            put_varint(&h, boff[b]);
            put_varint(&h, bsize[b]);
            uint8_t sep = (uint8_t)('a' + b);
            block_add(&index, &last, &sep, 1, &h);
            free(h.b);
        }
        block_end(&index);
    }
    uint64_t index_off = file.n;
    put_block(&file, &index, 0, 0);
    put_varint(&footer, meta_off);
    put_varint(&footer, meta.n);
    put_varint(&footer, index_off);
    put_varint(&footer, index.n + (g & 8 ? 7 : 0));
    while (footer.n < 40) put_u8(&footer, 0);
    put_u32(&footer, 0x8b80fb57u);
    put_u32(&footer, g & 32 ? 0 : 0xdb477524u);
    put(&file, footer.b, footer.n);

    char prefix[600], p[700];
    snprintf(prefix, sizeof prefix, "%s/ck", fz_scratch());
    snprintf(p, sizeof p, "%s.index", prefix);
    fz_write(p, file.b, file.n);
    snprintf(p, sizeof p, "%s.data-00000-of-%05d", prefix, num_shards);
    if (f & 32) fz_write(p, shard, shard_len);
    else unlink(p);

    tfckpt ck;
    mer_err err;
    if (tfckpt_open(&ck, prefix, &err) == 0) {
        for (size_t i = 0; i < ck.n_entries; i++) {
            const tfckpt_entry *t = &ck.entries[i];
            if (tfckpt_find(&ck, t->name) == NULL) abort();
            void *raw = NULL;
            if (tfckpt_read(&raw, &ck, t, &err) == 0) free(raw);
        }
        tfckpt_close(&ck);
        if (f & 64) {
            fz_why("tfckpt_open", "ok");
            snprintf(p, sizeof p, "%s/out.h5", fz_scratch());
            size_t a, b, c;
            if (tfckpt_convert_h5(prefix, p, &a, &b, &c, &err) == 0) unlink(p);
            else fz_why("tfckpt_convert_h5", err.msg);
        }
    } else {
        fz_why("tfckpt_open", err.msg);
    }
    snprintf(p, sizeof p, "%s.data-00000-of-%05d", prefix, num_shards);
    unlink(p);
    for (size_t i = 0; i < n; i++) free(vals[i].b);
    free(file.b);
    free(blocks[0].b);
    free(blocks[1].b);
    free(last.b);
    free(hdr.b);
    free(meta.b);
    free(index.b);
    free(footer.b);
    return 0;
}
