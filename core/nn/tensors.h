/* Named parameter tables: the llm.c arena pattern with names, for save/load and optimisers.
 *
 * A model registers its tensors once (name, PyTorch shape, trainable or buffer), then allocates:
 * all trainable tensors live in one float arena `params` with a same-sized gradient arena `grads`
 * (so zeroing gradients is one memset, an optimiser is one loop and an MPI allreduce is one call);
 * non-trainable buffers (BatchNorm running statistics, LSH planes) live in `buffers`.
 * HDF5 files hold one float32 dataset per tensor name (PyTorch state_dict keys, shapes as PyTorch).
 */
#pragma once
#include <hdf5.h>
#include <stddef.h>

#include "io/base/err.h"

#define NN_NAME_MAX 64
#define NN_MAX_TENSORS 128

typedef struct {
    char name[NN_NAME_MAX];
    int ndim;
    size_t dims[4];
    size_t numel;
    size_t offset;  /* into params (trainable) or buffers */
    int trainable;
} nn_tensor;

typedef struct {
    nn_tensor t[NN_MAX_TENSORS];
    int n;
    float *params, *grads, *buffers;
    size_t n_params, n_buffers;
} nn_table;

/* Register a tensor (before nn_table_alloc). dims has ndim (1..4) entries. Returns its index or -1. */
int nn_table_add(nn_table *tab, const char *name, int ndim, const size_t *dims, int trainable, mer_err *err);
/* Allocate the zeroed arenas. */
int nn_table_alloc(nn_table *tab, mer_err *err);
void nn_table_free(nn_table *tab);
float *nn_table_data(const nn_table *tab, int i);
float *nn_table_grad(const nn_table *tab, int i); /* NULL for buffers */
int nn_table_find(const nn_table *tab, const char *name); /* index or -1 */

/* Write every tensor as `prefix + name` (prefix may be "" or e.g. "grad/"). grads != 0 writes the
 * gradient of each trainable tensor instead of its value (buffers are skipped). */
int nn_table_save(const nn_table *tab, hid_t loc, const char *prefix, int grads, mer_err *err);
/* Read every tensor `prefix + name` from loc, checking the shape. A tensor whose name matches one of
 * the `optional` prefixes (NULL-terminated list, may be NULL) may be missing from the file and is then
 * left unchanged. Datasets in the file that the table does not know are ignored. */
int nn_table_load(nn_table *tab, hid_t loc, const char *prefix, const char *const *optional, mer_err *err);
