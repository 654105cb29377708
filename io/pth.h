/* PyTorch checkpoints (`torch.save(model.state_dict(), "m.pth")`) read without Python, and converted to HDF5.
 *
 * Format (torch >= 1.6, the default "zipfile" serialization): a zip archive of stored entries
 *   PREFIX/data.pkl      a pickle (protocol 2) of the state_dict: an OrderedDict of key -> tensor, each tensor
 *                        a call torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad,
 *                        hooks[, metadata]) whose storage is a persistent id
 *                        ('storage', torch.FloatStorage, KEY, LOCATION, NUMEL)
 *   PREFIX/data/KEY      the storage's raw bytes
 *   PREFIX/version, PREFIX/byteorder (torch >= 2.1: "little" or "big")
 * The pickle is never executed: a restricted unpickler accepts a whitelist of opcodes (data, containers,
 * memo, GLOBAL/STACK_GLOBAL, REDUCE, BUILD, BINPERSID) and of globals (collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter, torch.*Storage) and refuses anything else with a
 * message naming the opcode or global and its byte offset. A top-level dict holding a "state_dict" dict is
 * unwrapped. The legacy (torch < 1.6) non-zip format is refused with a hint.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "io/base/err.h"
#include "io/zip.h"

#define PTH_MAX_DIMS 8

typedef enum {
    PTH_FLOAT32, PTH_FLOAT64, PTH_FLOAT16, PTH_BFLOAT16, PTH_INT64, PTH_INT32, PTH_INT16, PTH_INT8, PTH_UINT8,
    PTH_BOOL, PTH_DTYPE_COUNT
} pth_dtype;

typedef struct {
    char *name;     /* state_dict key, e.g. "layer1.0.bn1.running_var" */
    pth_dtype dtype;
    int ndim;       /* 0 = scalar */
    int64_t shape[PTH_MAX_DIMS], stride[PTH_MAX_DIMS];
    int64_t offset; /* into the storage, in elements */
    char *storage;  /* storage key: the entry PREFIX/data/<storage> */
    int64_t storage_numel;
} pth_tensor;

typedef struct {
    zip_archive zip;
    char *prefix;   /* archive folder, e.g. "archive" */
    pth_tensor *tensors; /* in state_dict order */
    size_t n_tensors;
} pth_file;

const char *pth_dtype_name(pth_dtype d); /* "float32", "int64", ... */
size_t pth_tensor_numel(const pth_tensor *t);

int pth_open(pth_file *f, const char *path, mer_err *err);
/* The same from memory (fuzzing and tests); the bytes must outlive f. */
int pth_open_mem(pth_file *f, const void *data, size_t size, const char *name, mer_err *err);
void pth_close(pth_file *f);

/* A float32 tensor's values in C order (*out malloc'ed, numel floats), gathered through its strides, every
 * index checked against the storage. Other dtypes are refused. */
int pth_read_f32(const pth_file *f, const pth_tensor *t, float **out, mer_err *err);

/* Write every float32 tensor as one float32 dataset named like its key (a leading "module." dropped, as
 * DataParallel adds it), PyTorch shapes; the file is written atomically. Tensors of another dtype are
 * skipped: the count goes to *n_skipped (may be NULL); the caller lists them (pth_tensor.dtype). */
int pth_write_h5(const pth_file *f, const char *out_path, size_t *n_written, size_t *n_values, size_t *n_skipped,
                 mer_err *err);
/* The HDF5 name of a key: without a leading "module.". */
const char *pth_h5_name(const char *key);
