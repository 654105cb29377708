/* TensorFlow tensor-bundle reader on small checkpoints built here byte by byte (LevelDB table with
 * prefix-compressed keys, BundleHeaderProto/BundleEntryProto, data shard), then every kind of damage:
 * truncation, garbage, bad checksums, compressed blocks, unsupported dtypes, partitioned variables,
 * size/shape mismatch, bad offsets, missing files. The official checkpoint is tested in test_magnet_ckpt. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "io/tfckpt.h"
#include "tests/check.h"

typedef struct {
    uint8_t *b;
    size_t n, cap;
} buf;

static void put(buf *x, const void *p, size_t n) {
    if (!n) return;
    if (x->n + n > x->cap) {
        x->cap = (x->n + n) * 2 + 64;
        x->b = realloc(x->b, x->cap);
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
static void put_u64(buf *x, uint64_t v) {
    for (int i = 0; i < 8; i++) put_u8(x, (uint8_t)(v >> (8 * i)));
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

/* A table block: contents, 1 byte compression type, masked CRC32C of contents + type. */
static void put_block(buf *file, const buf *block, uint8_t type) {
    size_t start = file->n;
    put(file, block->b, block->n);
    put_u8(file, type);
    put_u32(file, crc32c_mask(crc32c_value(file->b + start, file->n - start)));
}

/* what to damage */
typedef struct {
    int compressed;      /* data block trailer type 1 (snappy) */
    int flip_block;      /* flip a byte inside the data block */
    int dtype_of_a;      /* override dtype of "net/a_w" */
    int size_mismatch;   /* record a wrong byte size for "net/a_w" */
    int sliced;          /* add a slices field to "net/c_d" */
    int bad_offset;      /* offset of "net/c_d" beyond the shard */
    int index_oversize;  /* index block handle runs past the file */
    int truncate_data;   /* drop the last bytes of the data shard */
    int flip_data;       /* flip a byte of "net/a_w" in the data shard */
    int write_data;      /* 0: no data shard file */
} damage;

typedef struct {
    const char *key;
    int dtype, ndim;
    int64_t dims[2];
    const void *data;
    size_t bytes;
} var;

static const float AW[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, -7.0f};
static const int64_t STEP = 259002;
static const double CD[2] = {0.125, -1e10};

/* Write PREFIX.index and PREFIX.data-00000-of-00001. */
static void build(const char *prefix, damage d) {
    var vars[3] = {
        {"net/a_w", TF_DT_FLOAT, 2, {2, 3}, AW, sizeof AW},
        {"net/b_step", TF_DT_INT64, 0, {0, 0}, &STEP, sizeof STEP},
        {"net/c_d", TF_DT_DOUBLE, 1, {2, 0}, CD, sizeof CD},
    };
    if (d.dtype_of_a) vars[0].dtype = d.dtype_of_a;
    buf data = {0}, block = {0}, file = {0};
    uint64_t off[3];
    uint32_t crc[3];
    for (int i = 0; i < 3; i++) {
        off[i] = data.n;
        crc[i] = crc32c_mask(crc32c_value(vars[i].data, vars[i].bytes));
        put(&data, vars[i].data, vars[i].bytes); /* host is little-endian (x86/arm) */
    }
    /* data block: header under the empty key, then the variables, keys prefix-compressed */
    const char *prev = "";
    for (int i = -1; i < 3; i++) {
        buf val = {0};
        const char *key = i < 0 ? "" : vars[i].key;
        if (i < 0) {
            pb_varint(&val, 1, 1); /* num_shards */
            buf ver = {0};
            pb_varint(&ver, 1, 1);
            pb_bytes(&val, 3, &ver);
            free(ver.b);
        } else {
            const var *v = &vars[i];
            pb_varint(&val, 1, (uint64_t)v->dtype);
            buf shape = {0};
            for (int k = 0; k < v->ndim; k++) {
                buf dim = {0};
                pb_varint(&dim, 1, (uint64_t)v->dims[k]);
                pb_bytes(&shape, 2, &dim);
                free(dim.b);
            }
            pb_bytes(&val, 2, &shape);
            free(shape.b);
            uint64_t o = off[i] + (d.bad_offset && i == 2 ? 1000000 : 0);
            if (o) pb_varint(&val, 4, o);
            pb_varint(&val, 5, v->bytes + (d.size_mismatch && i == 0 ? 4 : 0));
            put_varint(&val, 6 << 3 | 5);
            put_u32(&val, crc[i]);
            if (d.sliced && i == 2) {
                buf sl = {0}; /* an empty TensorSliceProto is enough to mark the variable as partitioned */
                pb_bytes(&val, 7, &sl);
            }
        }
        size_t shared = 0;
        while (prev[shared] && key[shared] && prev[shared] == key[shared]) shared++;
        put_varint(&block, shared);
        put_varint(&block, strlen(key) - shared);
        put_varint(&block, val.n);
        put(&block, key + shared, strlen(key) - shared);
        put(&block, val.b, val.n);
        free(val.b);
        prev = key;
    }
    put_u32(&block, 0); /* restart at 0 */
    put_u32(&block, 1); /* one restart */
    put_block(&file, &block, d.compressed ? 1 : 0);
    if (d.flip_block) file.b[5] ^= 0x40;
    size_t data_block_size = block.n;
    /* metaindex block (empty) */
    uint64_t meta_off = file.n;
    buf meta = {0};
    put_u32(&meta, 0);
    put_u32(&meta, 1);
    put_block(&file, &meta, 0);
    /* index block: one entry pointing at the data block */
    uint64_t index_off = file.n;
    buf index = {0}, handle = {0};
    put_varint(&handle, 0);
    put_varint(&handle, data_block_size);
    put_varint(&index, 0);
    put_varint(&index, 1);
    put_varint(&index, handle.n);
    put(&index, "d", 1);
    put(&index, handle.b, handle.n);
    put_u32(&index, 0);
    put_u32(&index, 1);
    put_block(&file, &index, 0);
    /* footer */
    buf footer = {0};
    put_varint(&footer, meta_off);
    put_varint(&footer, meta.n);
    put_varint(&footer, index_off);
    put_varint(&footer, index.n + (d.index_oversize ? 1000 : 0));
    while (footer.n < 40) put_u8(&footer, 0);
    put_u64(&footer, 0xdb4775248b80fb57ull);
    put(&file, footer.b, footer.n);

    char path[512];
    snprintf(path, sizeof path, "%s.index", prefix);
    FILE *f = fopen(path, "wb");
    fwrite(file.b, 1, file.n, f);
    fclose(f);
    snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
    unlink(path);
    if (d.write_data) {
        if (d.flip_data) data.b[2] ^= 0x01;
        f = fopen(path, "wb");
        fwrite(data.b, 1, data.n - (d.truncate_data ? 5 : 0), f);
        fclose(f);
    }
    free(data.b);
    free(block.b);
    free(file.b);
    free(meta.b);
    free(index.b);
    free(handle.b);
    free(footer.b);
}

/* Build with damage d; expect tfckpt_open (stage 0) or the conversion (stage 1) to fail with `want` in the
 * message, and no output file left behind. */
static void expect_fail(const char *prefix, const char *out, damage d, int stage, const char *want, const char *what) {
    build(prefix, d);
    mer_err err = {0};
    tfckpt ck;
    int rc_open = tfckpt_open(&ck, prefix, &err);
    if (stage == 0) {
        CHECK(rc_open < 0, "%s: open must fail", what);
        if (rc_open == 0) tfckpt_close(&ck);
    } else {
        CHECK(rc_open == 0, "%s: open must succeed (%s)", what, err.msg);
        if (rc_open == 0) tfckpt_close(&ck);
        unlink(out);
        CHECK(tfckpt_convert_h5(prefix, out, NULL, NULL, NULL, &err) < 0, "%s: convert must fail", what);
        CHECK(access(out, F_OK) != 0, "%s: no output file after a failure", what);
    }
    CHECK(strstr(err.msg, want) != NULL, "%s: message should mention '%s': %s", what, want, err.msg);
    printf("%-22s -> %s\n", what, err.msg);
}

int main(void) {
    /* CRC32C check value (RFC 3720 / iSCSI): "123456789" -> 0xe3069283 */
    CHECK(crc32c_value("123456789", 9) == 0xe3069283u, "crc32c check value: %08x", crc32c_value("123456789", 9));

    char dir[] = "/tmp/mer_test_tfckpt_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char prefix[256], out[256], path[300];
    snprintf(prefix, sizeof prefix, "%s/model-7", dir);
    snprintf(out, sizeof out, "%s/out.h5", dir);

    /* a good checkpoint */
    build(prefix, (damage){.write_data = 1});
    mer_err err = {0};
    tfckpt ck;
    CHECK(tfckpt_open(&ck, prefix, &err) == 0, "open: %s", err.msg);
    CHECK(ck.n_entries == 3 && ck.num_shards == 1, "3 entries, 1 shard (got %zu, %d)", ck.n_entries, ck.num_shards);
    const tfckpt_entry *e = tfckpt_find(&ck, "net/a_w");
    CHECK(e && e->dtype == TF_DT_FLOAT && e->ndim == 2 && e->dims[0] == 2 && e->dims[1] == 3, "a/w entry");
    e = tfckpt_find(&ck, "net/b_step"); /* stored as 4 shared bytes + "b_step" */
    CHECK(e && e->dtype == TF_DT_INT64 && e->ndim == 0 && e->offset == sizeof AW, "b/step entry");
    CHECK(tfckpt_find(&ck, "net/c_d") && !tfckpt_find(&ck, "net/c"), "find");
    tfckpt_close(&ck);
    size_t nf = 0, np = 0, no = 0;
    CHECK(tfckpt_convert_h5(prefix, out, &nf, &np, &no, &err) == 0, "convert: %s", err.msg);
    CHECK(nf == 2 && np == 8 && no == 1, "counts: %zu float tensors, %zu params, %zu other", nf, np, no);
    hid_t h;
    if (h5_open(out, 0, &h, &err) == 0) {
        float *w;
        int nd;
        size_t dims[H5_MAX_DIMS];
        CHECK(h5_read_f32(h, "net/a_w", &w, &nd, dims, &err) == 0, "read a/w: %s", err.msg);
        CHECK(nd == 2 && dims[0] == 2 && dims[1] == 3 && memcmp(w, AW, sizeof AW) == 0, "a/w values and shape");
        free(w);
        int64_t step = 0;
        CHECK(h5_read_scalar_i64(h, "net/b_step", &step, &err) == 0 && step == STEP, "b/step = %lld", (long long)step);
        double *cd;
        CHECK(h5_read_f64(h, "net/c_d", &cd, &nd, dims, &err) == 0 && nd == 1 && cd[0] == CD[0] && cd[1] == CD[1],
              "c/d values");
        free(cd);
        h5_close(h, &err);
    }

    /* damage */
    expect_fail(prefix, out, (damage){.write_data = 1, .compressed = 1}, 0, "compressed", "compressed block");
    expect_fail(prefix, out, (damage){.write_data = 1, .flip_block = 1}, 0, "checksum", "corrupt block");
    expect_fail(prefix, out, (damage){.write_data = 1, .dtype_of_a = 7}, 0, "string", "string dtype");
    expect_fail(prefix, out, (damage){.write_data = 1, .dtype_of_a = 19}, 0, "float16", "half dtype");
    expect_fail(prefix, out, (damage){.write_data = 1, .size_mismatch = 1}, 0, "bytes recorded", "size mismatch");
    expect_fail(prefix, out, (damage){.write_data = 1, .sliced = 1}, 0, "partitioned", "sliced variable");
    expect_fail(prefix, out, (damage){.write_data = 1, .index_oversize = 1}, 0, "outside", "bad block handle");
    expect_fail(prefix, out, (damage){.write_data = 1, .bad_offset = 1}, 1, "outside", "bad tensor offset");
    expect_fail(prefix, out, (damage){.write_data = 1, .truncate_data = 1}, 1, "outside", "truncated data shard");
    expect_fail(prefix, out, (damage){.write_data = 1, .flip_data = 1}, 1, "checksum", "corrupt data shard");
    expect_fail(prefix, out, (damage){.write_data = 0}, 1, "data-00000-of-00001", "missing data shard");

    /* truncated / garbage / missing index files */
    build(prefix, (damage){.write_data = 1});
    snprintf(path, sizeof path, "%s.index", prefix);
    FILE *f = fopen(path, "rb");
    uint8_t raw[4096];
    size_t n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    for (size_t cut = 1; cut < n; cut += cut < 60 ? 1 : 37) { /* every truncation point near the end, some inside */
        f = fopen(path, "wb");
        fwrite(raw, 1, n - cut, f);
        fclose(f);
        err.msg[0] = 0;
        int rc = tfckpt_open(&ck, prefix, &err);
        CHECK(rc < 0 && err.msg[0], "index truncated by %zu bytes must fail with a message", cut);
        if (rc == 0) tfckpt_close(&ck);
    }
    f = fopen(path, "wb");
    fwrite(raw, 1, 10, f);
    fclose(f);
    CHECK(tfckpt_open(&ck, prefix, &err) < 0 && strstr(err.msg, "too short"), "10-byte index: %s", err.msg);
    srand(7);
    for (size_t i = 0; i < 300; i++) raw[i] = (uint8_t)rand();
    f = fopen(path, "wb");
    fwrite(raw, 1, 300, f);
    fclose(f);
    CHECK(tfckpt_open(&ck, prefix, &err) < 0 && strstr(err.msg, "not a TensorFlow checkpoint"), "garbage: %s",
          err.msg);
    unlink(path);
    CHECK(tfckpt_open(&ck, prefix, &err) < 0 && strstr(err.msg, ".index") && strstr(err.msg, "No such file"),
          "missing index: %s", err.msg);

    /* a flipped byte anywhere in the blocks (covered by their CRCs) or in the magic is caught */
    build(prefix, (damage){.write_data = 1});
    f = fopen(path, "rb");
    n = fread(raw, 1, sizeof raw, f);
    fclose(f);
    int caught = 0, trials = 0;
    for (size_t pos = 0; pos < n; pos++) {
        if (pos >= n - 48 && pos < n - 8) continue; /* footer handles and padding: not checksummed */
        uint8_t bad[4096];
        memcpy(bad, raw, n);
        bad[pos] ^= 0x5a;
        f = fopen(path, "wb");
        fwrite(bad, 1, n, f);
        fclose(f);
        int rc = tfckpt_open(&ck, prefix, &err);
        trials++;
        if (rc < 0) caught++;
        else tfckpt_close(&ck);
    }
    printf("single-byte corruptions of the index caught: %d of %d\n", caught, trials);
    CHECK(caught == trials, "every single-byte corruption must be caught (%d of %d)", caught, trials);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0) fprintf(stderr, "cannot remove %s\n", dir);
    return check_summary();
}
