/* TensorFlow tensor-bundle checkpoints (`PREFIX.index` + `PREFIX.data-0000k-of-0000n`) read without
 * TensorFlow, and converted to HDF5.
 *
 * Format (TensorFlow core/util/tensor_bundle):
 *   .index  a LevelDB-format table: data blocks of prefix-compressed key/value entries followed by a
 *           restart array, each block followed by a 5-byte trailer (1 byte compression type, 4 bytes masked
 *           CRC32C of block+type); an index block mapping separator keys to data-block handles; a 48-byte
 *           footer (metaindex handle, index handle, padding, magic 0xdb4775248b80fb57).
 *           Keys are variable names; the empty key holds a BundleHeaderProto (num_shards, endianness),
 *           every other value is a BundleEntryProto (dtype, shape, shard_id, offset, size, crc32c).
 *   .data   raw little-endian tensor bytes at (shard, offset, size), row-major in the variable's shape.
 * Only uncompressed blocks, little-endian bundles and unpartitioned (non-sliced) variables are supported;
 * anything else is rejected with a message naming the file and the reason. Every block CRC and every
 * tensor CRC is verified.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"

#define TFCKPT_MAX_DIMS 8

/* TensorFlow DataType enum values that mer can represent in HDF5. */
enum {
    TF_DT_FLOAT = 1,
    TF_DT_DOUBLE = 2,
    TF_DT_INT32 = 3,
    TF_DT_UINT8 = 4,
    TF_DT_INT16 = 5,
    TF_DT_INT8 = 6,
    TF_DT_INT64 = 9,
    TF_DT_BOOL = 10,
};

typedef struct {
    char *name;                      /* variable name, e.g. "ynet_3frames/encoder/enc_conv1_c/Conv/weights" */
    int dtype;                       /* TF_DT_* */
    int ndim;                        /* 0 = scalar */
    int64_t dims[TFCKPT_MAX_DIMS];   /* TF order (HWIO for conv kernels) */
    int shard;
    uint64_t offset, size;           /* bytes in the shard */
    uint32_t crc32c_masked;
    int has_crc;
} tfckpt_entry;

typedef struct {
    char *prefix;
    int num_shards;
    tfckpt_entry *entries; /* in key order */
    size_t n_entries;
} tfckpt;

/* Parse and validate PREFIX.index (does not read tensor data). */
int tfckpt_open(tfckpt *ck, const char *prefix, mer_err *err);
void tfckpt_close(tfckpt *ck);
const tfckpt_entry *tfckpt_find(const tfckpt *ck, const char *name);
size_t tfckpt_numel(const tfckpt_entry *e);
size_t tfckpt_dtype_size(int dtype); /* 0 if unsupported */
const char *tfckpt_dtype_name(int dtype);

/* Read one tensor's raw little-endian bytes (malloc'ed into *data, e->size bytes), checking bounds and CRC. */
int tfckpt_read(void **data, const tfckpt *ck, const tfckpt_entry *e, mer_err *err);

/* Convert a whole checkpoint: every tensor to an HDF5 dataset named like the variable (float32 -> f32,
 * float64 -> f64, integer types -> i64, uint8/bool -> u8), shapes kept in TF order. The output is written
 * atomically. The counts (each may be NULL) receive the number of float tensors written, their total number of
 * elements, and the number of other (integer/bool) tensors written (e.g. the global step). */
int tfckpt_convert_h5(const char *prefix, const char *out_path, size_t *n_float_tensors, size_t *n_float_params,
                      size_t *n_other_tensors, mer_err *err);

/* CRC32C (Castagnoli) as used by LevelDB/TensorFlow, and its "masked" storage form. */
uint32_t crc32c_value(const void *data, size_t n);
uint32_t crc32c_mask(uint32_t crc);
