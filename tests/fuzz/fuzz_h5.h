/* Structured HDF5 inputs for the results.h5 / plan.h5 harnesses: a table of the datasets a reader expects
 * (path, kind, natural length) and, per dataset, one input byte choosing what the file gets: the dataset
 * as expected (most choices), missing, one row more or less, empty, 2-D, scalar, another numeric type,
 * numbers instead of strings or strings instead of numbers, fixed-length strings. Values come from the
 * input too: mostly small numbers around the valid index range, sometimes extremes. HDF5's own file
 * parsing is not the target (it has its own fuzzing); mer's checks of what it reads are. */
#pragma once
#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"
#include "tests/fuzz/fuzz_util.h"

typedef enum { FZ_STR, FZ_STRS, FZ_I64, FZ_F64, FZ_F32, FZ_SCALAR_I64 } fz_kind;

typedef struct {
    const char *path;
    fz_kind kind;
    size_t n;                       /* natural length (rows); FZ_STR/FZ_SCALAR_I64: 1 */
    size_t cols, cols2;             /* > 0: a 2-D (n, cols) or 3-D (n, cols, cols2) dataset is expected */
    int64_t range;                  /* integers: valid values are 0 .. range-1 */
    const char *const *vocab;       /* strings: picked from here (NULL: "a", "b", ...) */
} fz_ds;

static int64_t fz_int(fz_in *in, int64_t range) {
    uint8_t b = fz_u8(in);
    if (b < 240) return (int64_t)(b % (uint8_t)(range + 2 > 200 ? 200 : range + 2)) - 1;
    switch (b & 7) {
    case 0: return INT64_MIN;
    case 1: return INT64_MAX;
    case 2: return (int64_t)fz_u32(in) << 20;
    case 3: return -(int64_t)fz_u32(in);
    default: return (int64_t)fz_u32(in);
    }
}

static char *fz_str(fz_in *in, const char *const *vocab) {
    uint8_t b = fz_u8(in);
    if (b >= 224) { /* raw bytes */
        size_t k;
        const uint8_t *p = fz_bytes(in, &k);
        char *s = malloc(k + 1);
        memcpy(s, p, k);
        s[k] = 0;
        return s;
    }
    if (vocab) {
        size_t nv = 0;
        while (vocab[nv]) nv++;
        if (nv) return strdup(vocab[b % nv]);
    }
    char s[8];
    snprintf(s, sizeof s, "%c", 'a' + b % 6);
    return strdup(s);
}

/* Fixed-length strings (mer writes variable-length ones). */
static void fz_write_fixed_strs(hid_t f, const char *path, size_t n) {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hsize_t d = n;
    hid_t sp = H5Screate_simple(1, &d, NULL);
    hid_t ds = H5Dcreate2(f, path, t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
    if (ds >= 0 && n) {
        char *buf = calloc(n, 4);
        for (size_t i = 0; i < n; i++) memcpy(buf + 4 * i, "abc", 3);
        H5Dwrite(ds, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
        free(buf);
    }
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(sp);
    H5Tclose(t);
    H5Pclose(lcpl);
}

/* Write dataset d into f as the next input byte chooses. */
static void fz_put(hid_t f, const fz_ds *d, fz_in *in) {
    uint8_t a = fz_u8(in);
    fz_kind kind = d->kind;
    size_t n = d->n, cols = d->cols, cols2 = d->cols2;
    int ndim = cols2 ? 3 : cols ? 2 : 1;
    switch (a >> 4) {
    case 10: return; /* missing */
    case 11: n++; break;
    case 12: n = n ? n - 1 : 1; break;
    case 13: n = 0; break;
    case 14: /* another kind */
        kind = (fz_kind)((kind + 1 + (a & 3)) % 6);
        break;
    case 15:
        if (a & 1) ndim = 0; /* scalar */
        else ndim = cols ? 1 : 2, cols = cols ? 0 : 2, cols2 = 0;
        break;
    default: break;
    }
    if (kind == FZ_SCALAR_I64 && ndim) ndim = 0;
    if (ndim == 0) n = 1, cols = cols2 = 0;
    if (kind == FZ_STR) ndim = 0, n = 1, cols = cols2 = 0;
    size_t count = n * (cols ? cols : 1) * (cols2 ? cols2 : 1), dims[3] = {n, cols, cols2};
    mer_err err;
    if ((a & 0xf) == 15 && (kind == FZ_STR || kind == FZ_STRS)) {
        fz_write_fixed_strs(f, d->path, n);
        return;
    }
    if (kind == FZ_STR || kind == FZ_STRS) {
        char **s = calloc(count ? count : 1, sizeof *s);
        for (size_t i = 0; i < count; i++) s[i] = fz_str(in, d->vocab);
        if (kind == FZ_STR) h5_write_str(f, d->path, s[0], &err);
        else h5_write_strs(f, d->path, (const char *const *)s, count, &err);
        for (size_t i = 0; i < count; i++) free(s[i]);
        free(s);
        return;
    }
    if (kind == FZ_SCALAR_I64) {
        h5_write_scalar_i64(f, d->path, fz_int(in, d->range), &err);
        return;
    }
    void *buf = calloc(count ? count : 1, 8);
    for (size_t i = 0; i < count; i++) {
        if (kind == FZ_I64) ((int64_t *)buf)[i] = fz_int(in, d->range);
        else if (kind == FZ_F64) ((double *)buf)[i] = (double)fz_int(in, 4) / 4;
        else ((float *)buf)[i] = (float)fz_int(in, 4) / 4;
    }
    if (kind == FZ_I64) h5_write_i64(f, d->path, buf, ndim, dims, &err);
    else if (kind == FZ_F64) h5_write_f64(f, d->path, buf, ndim, dims, &err);
    else h5_write_f32(f, d->path, buf, ndim, dims, &err);
    free(buf);
}

/* Create path with every dataset of the table, as the input chooses. */
static void fz_h5_build(const char *path, const fz_ds *table, size_t n, fz_in *in) {
    static int once;
    if (!once) { /* keep HDF5's freed blocks for reuse: otherwise every file open callocs ~1 MB afresh, which
                  * under ASan costs more than the whole test */
        H5set_free_list_limits(-1, -1, -1, -1, -1, -1);
        once = 1;
    }
    hid_t f;
    mer_err err;
    if (h5_create(path, &f, &err) < 0) abort();
    for (size_t i = 0; i < n; i++) fz_put(f, &table[i], in);
    h5_close(f, &err);
}
