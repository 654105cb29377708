#include "io/h5.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

const char *h5_filename(hid_t loc, char *buf, size_t n) {
    if (n == 0) return buf;
    buf[0] = 0;
    if (H5Fget_name(loc, buf, n) < 0) snprintf(buf, n, "(hdf5 object)");
    return buf;
}

static int fail_kind(hid_t loc, const char *path, mer_err *err, mer_err_kind kind, const char *what) {
    char f[1024];
    return mer_errk(err, kind, "%s: dataset '%s': %s", h5_filename(loc, f, sizeof f), path, what);
}

/* A write that failed: the reason errno gives (disk full, quota, I/O error) when HDF5's file driver left one,
 * with its kind (a full disk must not be taken for bad data). errno was cleared before the call. */
static int fail_write(hid_t loc, const char *path, mer_err *err, int e, const char *what) {
    if (!e) return fail_kind(loc, path, err, MER_ERR_IO, what);
    char f[1024];
    return mer_err_errno(err, e, "%s: dataset '%s': %s: %s", h5_filename(loc, f, sizeof f), path, what, strerror(e));
}

static int fail(hid_t loc, const char *path, mer_err *err, const char *what) {
    return fail_kind(loc, path, err, MER_ERR_UNCLASSIFIED, what);
}

int h5_create(const char *path, hid_t *file, mer_err *err) {
    quiet();
    errno = 0;
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        int e = errno;
        return mer_err_errno(err, e, "%s: cannot create HDF5 file: %s", path, e ? strerror(e) : "HDF5 error");
    }
    *file = f;
    return 0;
}

int h5_open(const char *path, int writable, hid_t *file, mer_err *err) {
    quiet();
    if (access(path, R_OK) != 0) return mer_errf(err, "%s: %s", path, strerror(errno));
    htri_t is = H5Fis_hdf5(path);
    if (is <= 0) return mer_errf(err, "%s: not an HDF5 file (or truncated/corrupt)", path);
    hid_t f = H5Fopen(path, writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return mer_errf(err, "%s: cannot open HDF5 file (corrupt, or locked by another writer)", path);
    *file = f;
    return 0;
}

int h5_close(hid_t file, mer_err *err) {
    if (H5Fclose(file) < 0) return mer_errf(err, "cannot close HDF5 file");
    return 0;
}

/* Atomic files are built in memory (HDF5's core driver, no backing store) and written out by h5_commit with
 * plain write(): every I/O error, a full disk above all, then reaches us with its errno, and HDF5 never holds
 * a file whose flush failed (HDF5 1.10 crashes at exit closing such a file). */
int h5_create_tmp(const char *path, hid_t *file, mer_err *err) {
    quiet();
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0) {
        if (fapl >= 0) H5Pclose(fapl);
        return mer_errk(err, MER_ERR_NOMEM, "%s: cannot set up an in-memory HDF5 file", tmp);
    }
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) return mer_errk(err, MER_ERR_NOMEM, "%s: cannot create an in-memory HDF5 file", tmp);
    *file = f;
    return 0;
}

/* Write n bytes to PATH.tmp, fsync, rename to PATH; on failure nothing is left under either name. */
static int write_atomically(const char *path, const char *tmp, const void *buf, size_t n, mer_err *err) {
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return mer_err_errno(err, errno, "%s: cannot create: %s", tmp, strerror(errno));
    const char *p = buf;
    size_t done = 0;
    int e = 0;
    while (done < n && !e) {
        ssize_t w = write(fd, p + done, n - done);
        if (w > 0) done += (size_t)w;
        else if (w < 0 && errno == EINTR) continue;
        else e = w < 0 ? errno : ENOSPC;
    }
    /* the data must be on disk before the name says "finished" (NFS reports a full disk or quota here) */
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (!e && rename(tmp, path) != 0) {
        e = errno;
        unlink(tmp);
        return mer_err_errno(err, e, "%s: cannot rename from %s: %s", path, tmp, strerror(e));
    }
    if (e) {
        unlink(tmp);
        return mer_err_errno(err, e, "%s: cannot write: %s", path, strerror(e));
    }
    return 0;
}

int h5_commit(hid_t file, const char *path, mer_err *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    void *image = NULL;
    ssize_t n = H5Fflush(file, H5F_SCOPE_GLOBAL) < 0 ? -1 : H5Fget_file_image(file, NULL, 0);
    if (n > 0 && (image = malloc((size_t)n)) != NULL && H5Fget_file_image(file, image, (size_t)n) != n) n = -1;
    H5Fclose(file);
    if (n <= 0 || !image) {
        free(image);
        return mer_errk(err, MER_ERR_NOMEM, "%s: cannot build the HDF5 file image in memory", tmp);
    }
    int rc = write_atomically(path, tmp, image, (size_t)n, err);
    free(image);
    return rc;
}

void h5_abort(hid_t file, const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    H5Fclose(file);
    unlink(tmp);
}

static void private_name(char *buf, size_t n, const char *path) { snprintf(buf, n, "%s.%ld", path, (long)getpid()); }

int h5_create_tmp_private(const char *path, hid_t *file, mer_err *err) {
    char mine[4000]; /* room for ".tmp" in h5_create_tmp */
    private_name(mine, sizeof mine, path);
    return h5_create_tmp(mine, file, err);
}

int h5_commit_private(hid_t file, const char *path, mer_err *err) {
    char mine[4000]; /* room for ".tmp" in h5_create_tmp */
    private_name(mine, sizeof mine, path);
    if (h5_commit(file, mine, err) < 0) return -1;
    if (rename(mine, path) != 0) {
        int e = errno;
        unlink(mine);
        return mer_err_errno(err, e, "%s: cannot rename from %s: %s", path, mine, strerror(e));
    }
    return 0;
}

int h5_commit_first(hid_t file, const char *path, mer_err *err) {
    char mine[4000]; /* room for ".tmp" in h5_create_tmp */
    private_name(mine, sizeof mine, path);
    if (h5_commit(file, mine, err) < 0) return -1;
    /* link() fails with EEXIST where rename() would replace: the NFS-safe "create if absent" */
    int rc = 0;
    if (link(mine, path) != 0) {
        int e = errno;
        if (e == EEXIST) rc = 1;
        else if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV) {
            if (rename(mine, path) == 0) return 0; /* a file system without hard links: the last one wins */
            e = errno;
        }
        if (!rc) {
            unlink(mine);
            return mer_err_errno(err, e, "%s: cannot link from %s: %s", path, mine, strerror(e));
        }
    }
    unlink(mine);
    return rc;
}

void h5_abort_private(hid_t file, const char *path) {
    char mine[4000]; /* room for ".tmp" in h5_create_tmp */
    private_name(mine, sizeof mine, path);
    h5_abort(file, mine);
}

int h5_exists(hid_t loc, const char *path) {
    quiet();
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf) return 0;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) return 0;
            buf[i] = c;
        }
    }
    return 1;
}

/* Creation properties without modification times: HDF5 stamps every object with the time it was made
 * by default, so two writes of the same results would differ in bytes, and the checksums the ledger
 * keeps (a task that two job-array slices both ran, a resumed task) would flag a good file as changed. */
static hid_t untimed(hid_t cls) {
    hid_t p = H5Pcreate(cls);
    if (p >= 0 && H5Pset_obj_track_times(p, 0) < 0) H5Pclose(p), p = -1;
    return p;
}

/* Create the groups leading to `path` (everything before the last '/'). */
static int make_parents(hid_t loc, const char *path, mer_err *err) {
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf) return fail(loc, path, err, "path too long");
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i < n; i++) {
        if (buf[i] != '/') continue;
        buf[i] = 0;
        if (H5Lexists(loc, buf, H5P_DEFAULT) <= 0) {
            hid_t gcpl = untimed(H5P_GROUP_CREATE);
            hid_t g = gcpl < 0 ? -1 : H5Gcreate2(loc, buf, H5P_DEFAULT, gcpl, H5P_DEFAULT);
            if (gcpl >= 0) H5Pclose(gcpl);
            if (g < 0) return fail(loc, path, err, "cannot create parent group");
            H5Gclose(g);
        }
        buf[i] = '/';
    }
    return 0;
}

static int write_any(hid_t loc, const char *path, hid_t memtype, hid_t filetype, const void *data, int ndim,
                     const size_t *dims, mer_err *err) {
    quiet();
    if (ndim < 0 || ndim > H5_MAX_DIMS) return fail(loc, path, err, "bad rank");
    if (make_parents(loc, path, err) < 0) return -1;
    if (H5Lexists(loc, path, H5P_DEFAULT) > 0 && H5Ldelete(loc, path, H5P_DEFAULT) < 0)
        return fail(loc, path, err, "cannot replace existing dataset");
    hsize_t hd[H5_MAX_DIMS];
    for (int i = 0; i < ndim; i++) hd[i] = dims[i];
    hid_t space = ndim == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(ndim, hd, NULL);
    if (space < 0) return fail(loc, path, err, "cannot create dataspace");
    errno = 0;
    hid_t dcpl = untimed(H5P_DATASET_CREATE);
    hid_t ds = dcpl < 0 ? -1 : H5Dcreate2(loc, path, filetype, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (dcpl >= 0) H5Pclose(dcpl);
    H5Sclose(space);
    if (ds < 0) return fail_write(loc, path, err, errno, "cannot create dataset");
    herr_t st = H5Dwrite(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    int e = errno;
    if (H5Dclose(ds) < 0 && st >= 0) st = -1, e = errno;
    if (st < 0) return fail_write(loc, path, err, e, "write failed");
    return 0;
}

int h5_write_f32(hid_t loc, const char *path, const float *data, int ndim, const size_t *dims, mer_err *err) {
    return write_any(loc, path, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, data, ndim, dims, err);
}
int h5_write_f64(hid_t loc, const char *path, const double *data, int ndim, const size_t *dims, mer_err *err) {
    return write_any(loc, path, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, data, ndim, dims, err);
}
int h5_write_i64(hid_t loc, const char *path, const int64_t *data, int ndim, const size_t *dims, mer_err *err) {
    return write_any(loc, path, H5T_NATIVE_INT64, H5T_STD_I64LE, data, ndim, dims, err);
}
int h5_write_u8(hid_t loc, const char *path, const uint8_t *data, int ndim, const size_t *dims, mer_err *err) {
    return write_any(loc, path, H5T_NATIVE_UINT8, H5T_STD_U8LE, data, ndim, dims, err);
}
int h5_write_scalar_f64(hid_t loc, const char *path, double v, mer_err *err) {
    return h5_write_f64(loc, path, &v, 0, NULL, err);
}
int h5_write_scalar_i64(hid_t loc, const char *path, int64_t v, mer_err *err) {
    return h5_write_i64(loc, path, &v, 0, NULL, err);
}

int h5_write_strs(hid_t loc, const char *path, const char *const *s, size_t n, mer_err *err) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *empty = "";
    const char **tmp = mer_calloc(n, sizeof *tmp, err);
    if (!tmp) {
        H5Tclose(t);
        return -1;
    }
    for (size_t i = 0; i < n; i++) tmp[i] = s[i] ? s[i] : empty;
    int rc = write_any(loc, path, t, t, tmp, 1, &n, err);
    free(tmp);
    H5Tclose(t);
    return rc;
}

int h5_write_str(hid_t loc, const char *path, const char *s, mer_err *err) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *p = s ? s : "";
    int rc = write_any(loc, path, t, t, &p, 0, NULL, err);
    H5Tclose(t);
    return rc;
}

int h5_shape(hid_t loc, const char *path, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err) {
    quiet();
    if (!h5_exists(loc, path)) return fail(loc, path, err, "not found");
    hid_t ds = H5Dopen2(loc, path, H5P_DEFAULT);
    if (ds < 0) return fail(loc, path, err, "not a dataset");
    hid_t sp = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(sp);
    hsize_t hd[H5_MAX_DIMS] = {0};
    if (nd < 0 || nd > H5_MAX_DIMS) {
        H5Sclose(sp);
        H5Dclose(ds);
        return fail(loc, path, err, "unsupported rank");
    }
    H5Sget_simple_extent_dims(sp, hd, NULL);
    H5Sclose(sp);
    H5Dclose(ds);
    if (ndim) *ndim = nd;
    if (dims)
        for (int i = 0; i < nd; i++) dims[i] = (size_t)hd[i];
    return 0;
}

static int read_any(hid_t loc, const char *path, hid_t memtype, size_t elsize, void **data, int *ndim,
                    size_t dims[H5_MAX_DIMS], mer_err *err) {
    int nd;
    size_t d[H5_MAX_DIMS];
    if (h5_shape(loc, path, &nd, d, err) < 0) return -1;
    size_t count = 1;
    for (int i = 0; i < nd; i++) count *= d[i];
    hid_t ds = H5Dopen2(loc, path, H5P_DEFAULT);
    hid_t ft = H5Dget_type(ds);
    H5T_class_t cls = H5Tget_class(ft);
    H5Tclose(ft);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        H5Dclose(ds);
        return fail(loc, path, err, "not a numeric dataset");
    }
    void *buf = mer_malloc(count * elsize, err);
    if (!buf) {
        H5Dclose(ds);
        return -1;
    }
    herr_t st = count ? H5Dread(ds, memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) : 0;
    H5Dclose(ds);
    if (st < 0) {
        free(buf);
        return fail(loc, path, err, "read failed (corrupt file or unconvertible type)");
    }
    *data = buf;
    if (ndim) *ndim = nd;
    if (dims)
        for (int i = 0; i < nd; i++) dims[i] = d[i];
    return 0;
}

int h5_read_f32(hid_t loc, const char *path, float **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err) {
    return read_any(loc, path, H5T_NATIVE_FLOAT, sizeof(float), (void **)data, ndim, dims, err);
}
int h5_read_f64(hid_t loc, const char *path, double **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err) {
    return read_any(loc, path, H5T_NATIVE_DOUBLE, sizeof(double), (void **)data, ndim, dims, err);
}
int h5_read_i64(hid_t loc, const char *path, int64_t **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err) {
    return read_any(loc, path, H5T_NATIVE_INT64, sizeof(int64_t), (void **)data, ndim, dims, err);
}
int h5_read_u8(hid_t loc, const char *path, uint8_t **data, int *ndim, size_t dims[H5_MAX_DIMS], mer_err *err) {
    return read_any(loc, path, H5T_NATIVE_UINT8, 1, (void **)data, ndim, dims, err);
}

int h5_read_f32_into(hid_t loc, const char *path, float *data, size_t count, mer_err *err) {
    float *tmp;
    int nd;
    size_t d[H5_MAX_DIMS];
    if (h5_read_f32(loc, path, &tmp, &nd, d, err) < 0) return -1;
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    if (n != count) {
        free(tmp);
        char msg[128];
        snprintf(msg, sizeof msg, "has %zu elements, expected %zu", n, count);
        return fail(loc, path, err, msg);
    }
    memcpy(data, tmp, count * sizeof *data);
    free(tmp);
    return 0;
}

/* Read a dataset that must hold exactly one element into *out (elsize bytes of memtype). */
static int read_scalar(hid_t loc, const char *path, hid_t memtype, size_t elsize, void *out, mer_err *err) {
    void *tmp;
    int nd;
    size_t d[H5_MAX_DIMS];
    if (read_any(loc, path, memtype, elsize, &tmp, &nd, d, err) < 0) return -1;
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    if (n != 1) {
        free(tmp);
        return fail(loc, path, err, "expected a scalar");
    }
    memcpy(out, tmp, elsize);
    free(tmp);
    return 0;
}

int h5_read_scalar_f64(hid_t loc, const char *path, double *v, mer_err *err) {
    return read_scalar(loc, path, H5T_NATIVE_DOUBLE, sizeof *v, v, err);
}

int h5_read_scalar_i64(hid_t loc, const char *path, int64_t *v, mer_err *err) {
    return read_scalar(loc, path, H5T_NATIVE_INT64, sizeof *v, v, err);
}

int h5_read_strs(hid_t loc, const char *path, char ***out, size_t *n_out, mer_err *err) {
    quiet();
    int nd;
    size_t d[H5_MAX_DIMS];
    if (h5_shape(loc, path, &nd, d, err) < 0) return -1;
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= d[i];
    hid_t ds = H5Dopen2(loc, path, H5P_DEFAULT);
    hid_t ft = H5Dget_type(ds);
    int ok = H5Tget_class(ft) == H5T_STRING;
    H5Tclose(ft);
    if (!ok) {
        H5Dclose(ds);
        return fail(loc, path, err, "not a string dataset");
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    char **raw = mer_calloc(n, sizeof *raw, err);
    if (!raw) {
        H5Tclose(t);
        H5Dclose(ds);
        return -1;
    }
    herr_t st = n ? H5Dread(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) : 0;
    if (st < 0) {
        free(raw);
        H5Tclose(t);
        H5Dclose(ds);
        return fail(loc, path, err, "read failed (fixed-length strings are not supported)");
    }
    char **res = mer_calloc(n, sizeof *res, err);
    for (size_t i = 0; res && i < n; i++) res[i] = strdup(raw[i] ? raw[i] : "");
    hid_t sp = H5Dget_space(ds);
    if (n) H5Dvlen_reclaim(t, sp, H5P_DEFAULT, raw);
    H5Sclose(sp);
    free(raw);
    H5Tclose(t);
    H5Dclose(ds);
    if (!res) return -1;
    *out = res;
    *n_out = n;
    return 0;
}

int h5_read_str(hid_t loc, const char *path, char **s, mer_err *err) {
    char **arr;
    size_t n;
    if (h5_read_strs(loc, path, &arr, &n, err) < 0) return -1;
    if (n != 1) {
        for (size_t i = 0; i < n; i++) free(arr[i]);
        free(arr);
        return fail(loc, path, err, "expected a scalar string");
    }
    *s = arr[0];
    free(arr);
    return 0;
}

typedef struct {
    h5_visit_fn fn;
    void *user;
} visit_ctx;

static herr_t visit_cb(hid_t obj, const char *name, const H5O_info_t *info, void *op) {
    (void)obj;
    visit_ctx *c = op;
    if (info->type != H5O_TYPE_DATASET) return 0;
    return c->fn(name, c->user) ? 1 : 0;
}

int h5_visit_datasets(hid_t loc, h5_visit_fn fn, void *user, mer_err *err) {
    quiet();
    visit_ctx c = {fn, user};
    if (H5Ovisit(loc, H5_INDEX_NAME, H5_ITER_INC, visit_cb, &c) < 0) {
        char f[1024];
        return mer_errf(err, "%s: cannot list datasets", h5_filename(loc, f, sizeof f));
    }
    return 0;
}

int h5_copy(hid_t src_loc, const char *src_path, hid_t dst_loc, const char *dst_path, mer_err *err) {
    quiet();
    char f[1024];
    if (!h5_exists(src_loc, src_path))
        return mer_errf(err, "%s: object '%s' not found", h5_filename(src_loc, f, sizeof f), src_path);
    if (make_parents(dst_loc, dst_path, err) < 0) return -1;
    if (H5Lexists(dst_loc, dst_path, H5P_DEFAULT) > 0 && H5Ldelete(dst_loc, dst_path, H5P_DEFAULT) < 0)
        return fail(dst_loc, dst_path, err, "cannot replace existing object");
    if (H5Ocopy(src_loc, src_path, dst_loc, dst_path, H5P_DEFAULT, H5P_DEFAULT) < 0) {
        char g[1024];
        return mer_errf(err, "cannot copy %s:'%s' to %s:'%s'", h5_filename(src_loc, f, sizeof f), src_path,
                        h5_filename(dst_loc, g, sizeof g), dst_path);
    }
    return 0;
}

int h5_group(hid_t loc, const char *path, int create, hid_t *group, mer_err *err) {
    quiet();
    if (!h5_exists(loc, path)) {
        if (!create) return fail(loc, path, err, "group not found");
        char child[1024];
        snprintf(child, sizeof child, "%s/x", path);
        if (make_parents(loc, child, err) < 0) return -1;
    }
    hid_t g = H5Gopen2(loc, path, H5P_DEFAULT);
    if (g < 0) return fail(loc, path, err, "not a group");
    *group = g;
    return 0;
}

/* ---- attributes on an object (a file's root group, a group) ---------------------------------------- */

static int write_attr(hid_t loc, const char *name, hid_t type, const void *v, mer_err *err) {
    quiet();
    if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = sp < 0 ? -1 : H5Acreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT);
    int ok = a >= 0 && H5Awrite(a, type, v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    char f[1024];
    return ok ? 0 : mer_errf(err, "%s: cannot write attribute '%s'", h5_filename(loc, f, sizeof f), name);
}

int h5_write_attr_i64(hid_t loc, const char *name, int64_t v, mer_err *err) {
    return write_attr(loc, name, H5T_NATIVE_INT64, &v, err);
}

int h5_write_attr_str(hid_t loc, const char *name, const char *s, mer_err *err) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char *p = s ? s : "";
    int rc = write_attr(loc, name, t, &p, err);
    H5Tclose(t);
    return rc;
}

int h5_read_attr_i64(hid_t loc, const char *name, int64_t *v, mer_err *err) {
    quiet();
    char f[1024];
    if (H5Aexists(loc, name) <= 0)
        return mer_errk(err, MER_ERR_DATA, "%s: attribute '%s' not found", h5_filename(loc, f, sizeof f), name);
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int ok = a >= 0 && H5Aread(a, H5T_NATIVE_INT64, v) >= 0;
    if (a >= 0) H5Aclose(a);
    return ok ? 0 : mer_errk(err, MER_ERR_DATA, "%s: attribute '%s' is not an integer", h5_filename(loc, f, sizeof f), name);
}
