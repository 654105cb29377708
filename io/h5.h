/* The one HDF5 helper layer. Every HDF5 access in mer goes through these functions.
 *
 * Paths are relative to `loc` (a file or group id) and may contain '/': writers create the
 * intermediate groups. Datasets are row-major (C order) with the dims given. Writers replace an
 * existing dataset of the same name. Every error message names the file and the dataset.
 *
 * Files are written atomically with h5_create_tmp()/h5_commit(): the file is built in memory, written to
 * "PATH.tmp", fsync'ed and renamed to PATH, so a crash or a full disk never leaves a half-written PATH (a
 * failed write removes PATH.tmp and reports the path and errno's reason, kind MER_ERR_NOSPACE for ENOSPC
 * and EDQUOT).
 */
#pragma once
#include <hdf5.h>
#include <stdint.h>

#include "io/base/err.h"

#define H5_MAX_DIMS 8

int h5_create(const char *path, hid_t *file, mer_err *err);            /* truncate */
int h5_open(const char *path, int writable, hid_t *file, mer_err *err); /* existing file */
int h5_close(hid_t file, mer_err *err);

/* Atomic write: create PATH.tmp; h5_commit closes it and renames it to PATH. h5_abort removes it. */
int h5_create_tmp(const char *path, hid_t *file, mer_err *err);
int h5_commit(hid_t file, const char *path, mer_err *err);
void h5_abort(hid_t file, const char *path);

/* The same with a temporary name private to this process ("PATH.<pid>.tmp"): for files that several
 * processes may write at the same time with identical content (a shared cached stage computed by two
 * job-array slices); each rename is atomic, the last one wins. */
int h5_create_tmp_private(const char *path, hid_t *file, mer_err *err);
int h5_commit_private(hid_t file, const char *path, mer_err *err);
/* As h5_commit_private, but the first file to reach PATH stays: 1 (ours discarded) when another process
 * had already put one there. Task files record who made them and when, so two slices' copies of a shared
 * task differ in bytes; keeping the first keeps the checksum each slice's ledger records true. */
int h5_commit_first(hid_t file, const char *path, mer_err *err);
void h5_abort_private(hid_t file, const char *path);

int h5_exists(hid_t loc, const char *path); /* 1 if a link of that path exists (all parents too) */

int h5_write_f32(hid_t loc, const char *path, const float *data, int ndim, const size_t *dims, mer_err *err);
int h5_write_f64(hid_t loc, const char *path, const double *data, int ndim, const size_t *dims, mer_err *err);
int h5_write_i64(hid_t loc, const char *path, const int64_t *data, int ndim, const size_t *dims, mer_err *err);
int h5_write_u8(hid_t loc, const char *path, const uint8_t *data, int ndim, const size_t *dims, mer_err *err);
int h5_write_str(hid_t loc, const char *path, const char *s, mer_err *err); /* scalar string dataset */
int h5_write_scalar_f64(hid_t loc, const char *path, double v, mer_err *err);
int h5_write_scalar_i64(hid_t loc, const char *path, int64_t v, mer_err *err);
/* 1-D array of strings (variable length). */
int h5_write_strs(hid_t loc, const char *path, const char *const *s, size_t n, mer_err *err);

/* Shape of a dataset. */
int h5_shape(hid_t loc, const char *path, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err);

/* Readers allocate *data (free() it) and convert from the stored numeric type. ndim/dims may be NULL. */
int h5_read_f32(hid_t loc, const char *path, float **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err);
int h5_read_f64(hid_t loc, const char *path, double **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err);
int h5_read_i64(hid_t loc, const char *path, int64_t **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err);
int h5_read_u8(hid_t loc, const char *path, uint8_t **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err);
/* Read into a caller buffer; fails unless the dataset holds exactly `count` elements. */
int h5_read_f32_into(hid_t loc, const char *path, float *data, size_t count, mer_err *err);
int h5_read_str(hid_t loc, const char *path, char **s, mer_err *err); /* free() *s */
int h5_read_strs(hid_t loc, const char *path, char ***s, size_t *n, mer_err *err); /* free each, then array */
int h5_read_scalar_f64(hid_t loc, const char *path, double *v, mer_err *err);
int h5_read_scalar_i64(hid_t loc, const char *path, int64_t *v, mer_err *err);

/* Visit every dataset below `loc` (recursively); `path` is relative to loc. Stop early by returning != 0. */
typedef int (*h5_visit_fn)(const char *path, void *user);
int h5_visit_datasets(hid_t loc, h5_visit_fn fn, void *user, mer_err *err);

/* Copy a dataset or a whole group (recursively) from src_loc/src_path to dst_loc/dst_path, which may be in
 * another file; the parents of dst_path are created, an existing dst_path is replaced. */
int h5_copy(hid_t src_loc, const char *src_path, hid_t dst_loc, const char *dst_path, mer_err *err);

/* Open (create = 1: create if missing, with parents) the group at `path`; close it with H5Gclose. Used
 * to hand a sub-group to writers that write at the root of a location (e.g. a model's tensors). */
int h5_group(hid_t loc, const char *path, int create, hid_t *group, mer_err *err);

/* Scalar attributes NAME on the object loc (a file: its root group). Readers fail when it is missing. */
int h5_write_attr_i64(hid_t loc, const char *name, int64_t v, mer_err *err);
int h5_write_attr_str(hid_t loc, const char *name, const char *s, mer_err *err);
int h5_read_attr_i64(hid_t loc, const char *name, int64_t *v, mer_err *err);

/* Name of the file that holds `loc`, for messages. */
const char *h5_filename(hid_t loc, char *buf, size_t n);
