/* io/h5: round trips, atomic commit, and located errors. */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "tests/check.h"

/* The same content written at two moments: the bytes must be equal (task-file checksums rely on it). */
static int read_all(const char *path, char *buf, size_t cap, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    *n = fread(buf, 1, cap, f);
    fclose(f);
    return 0;
}

static void write_twice_same_bytes(void) {
    static char a[1 << 16], b[1 << 16];
    size_t na = 0, nb = 0;
    char path[] = "/tmp/mer_test_h5_same_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    for (int round = 0; round < 2; round++) {
        mer_err err = {0};
        hid_t f;
        const float x[3] = {1, 2, 3};
        const size_t n = 3;
        CHECK(h5_create_tmp(path, &f, &err) == 0 && h5_write_f32(f, "g/h/x", x, 1, &n, &err) == 0 &&
                  h5_write_str(f, "g/s", "text", &err) == 0 && h5_commit(f, path, &err) == 0,
              "write: %s", err.msg);
        CHECK(read_all(path, round ? b : a, sizeof a, round ? &nb : &na) == 0, "read back %s", path);
        if (!round) sleep(2); /* HDF5 would stamp times in seconds */
    }
    CHECK(na > 0 && na == nb && !memcmp(a, b, na), "two writes of the same content differ in bytes (%zu, %zu)", na, nb);
    unlink(path);
}

/* h5_commit_first: the first file at a path stays, a second commit reports 1 and leaves no temporary. */
static void commit_first_keeps_first(void) {
    char path[] = "/tmp/mer_test_h5_first_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    unlink(path);
    for (int64_t v = 1; v <= 2; v++) {
        mer_err err = {0};
        hid_t f;
        CHECK(h5_create_tmp_private(path, &f, &err) == 0 && h5_write_scalar_i64(f, "v", v, &err) == 0,
              "write: %s", err.msg);
        CHECK(h5_commit_first(f, path, &err) == (int)(v - 1), "commit %d: %s", (int)v, err.msg);
    }
    mer_err err = {0};
    hid_t f;
    int64_t *got = NULL;
    CHECK(h5_open(path, 0, &f, &err) == 0 && h5_read_i64(f, "v", &got, NULL, NULL, &err) == 0 && got && got[0] == 1,
          "the first file stays: %s", err.msg);
    free(got);
    h5_close(f, NULL);
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "no private file left behind");
    unlink(path);
}

int main(void) {
    write_twice_same_bytes();
    commit_first_keeps_first();
    mer_err err = {0};
    char path[] = "/tmp/mer_test_h5_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    hid_t f;
    CHECK(h5_create_tmp(path, &f, &err) == 0, "create tmp: %s", err.msg);
    float x[6] = {1, 2, 3, 4, 5, 6};
    size_t dims[2] = {2, 3};
    CHECK(h5_write_f32(f, "a/b/x", x, 2, dims, &err) == 0, "write: %s", err.msg);
    int64_t y[3] = {-1, 0, 7};
    size_t n3 = 3;
    CHECK(h5_write_i64(f, "y", y, 1, &n3, &err) == 0, "write i64: %s", err.msg);
    CHECK(h5_write_str(f, "meta/config", "a: 1\n", &err) == 0, "write str: %s", err.msg);
    const char *names[2] = {"sub01", "sub02"};
    CHECK(h5_write_strs(f, "names", names, 2, &err) == 0, "write strs: %s", err.msg);
    CHECK(h5_write_attr_i64(f, "layout", 3, &err) == 0 && h5_write_attr_i64(f, "layout", 4, &err) == 0,
          "write (replace) attribute: %s", err.msg);
    CHECK(h5_write_attr_str(f, "made_by", "mer", &err) == 0, "write str attribute: %s", err.msg);
    CHECK(h5_commit(f, path, &err) == 0, "commit: %s", err.msg);

    CHECK(h5_open(path, 0, &f, &err) == 0, "open: %s", err.msg);
    int64_t layout = 0;
    CHECK(h5_read_attr_i64(f, "layout", &layout, &err) == 0 && layout == 4, "attribute round trip: %s", err.msg);
    CHECK(h5_read_attr_i64(f, "nope", &layout, &err) < 0 && strstr(err.msg, "'nope' not found"),
          "missing attribute named: %s", err.msg);
    float *rx;
    int nd;
    size_t d[H5_MAX_DIMS];
    CHECK(h5_read_f32(f, "a/b/x", &rx, &nd, d, &err) == 0, "read: %s", err.msg);
    CHECK(nd == 2 && d[0] == 2 && d[1] == 3, "shape");
    CHECK(rx[5] == 6.0f, "value");
    free(rx);
    double *ry;
    CHECK(h5_read_f64(f, "y", &ry, NULL, NULL, &err) == 0, "read i64 as f64: %s", err.msg);
    CHECK(ry[2] == 7.0, "converted value");
    free(ry);
    char *s;
    CHECK(h5_read_str(f, "meta/config", &s, &err) == 0, "read str: %s", err.msg);
    CHECK_STR(s, "a: 1\n", "string round trip");
    free(s);
    char **ss;
    size_t ns;
    CHECK(h5_read_strs(f, "names", &ss, &ns, &err) == 0, "read strs: %s", err.msg);
    CHECK(ns == 2 && !strcmp(ss[1], "sub02"), "strings round trip");
    for (size_t i = 0; i < ns; i++) free(ss[i]);
    free(ss);
    CHECK(h5_exists(f, "a/b/x") && !h5_exists(f, "a/c/x"), "exists");
    float buf[5];
    CHECK(h5_read_f32_into(f, "a/b/x", buf, 5, &err) < 0, "size mismatch rejected");
    CHECK(strstr(err.msg, "a/b/x") && strstr(err.msg, "expected 5"), "message names dataset: %s", err.msg);
    CHECK(h5_read_f32(f, "nope", &rx, NULL, NULL, &err) < 0 && strstr(err.msg, path), "missing names file: %s", err.msg);
    h5_close(f, &err);

    FILE *g = fopen(path, "wb");
    fputs("not hdf5", g);
    fclose(g);
    CHECK(h5_open(path, 0, &f, &err) < 0 && strstr(err.msg, "not an HDF5 file"), "garbage rejected: %s", err.msg);
    unlink(path);
    CHECK(h5_open(path, 0, &f, &err) < 0 && strstr(err.msg, "No such file"), "missing file: %s", err.msg);
    return check_summary();
}
