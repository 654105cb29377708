#include "io/base/fs.h"
#include "io/base/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fs_mkdir_p(const char *path, mer_err *err) {
    size_t n = strlen(path);
    if (n == 0) return mer_errf(err, "cannot create a folder with an empty name");
    char *buf = mer_malloc(n + 1, err);
    if (!buf) return -1;
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                mer_err_errno(err, errno, "%s: cannot create folder: %s", buf, strerror(errno));
                free(buf);
                return -1;
            }
            buf[i] = c;
        }
    }
    free(buf);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return mer_errf(err, "%s: not a folder", path);
    return 0;
}

int fs_mkdir_parent(const char *file_path, mer_err *err) {
    const char *slash = strrchr(file_path, '/');
    if (!slash || slash == file_path) return 0;
    size_t n = (size_t)(slash - file_path);
    char *dir = mer_malloc(n + 1, err);
    if (!dir) return -1;
    memcpy(dir, file_path, n);
    dir[n] = 0;
    int ret = fs_mkdir_p(dir, err);
    free(dir);
    return ret;
}

int fs_read_file(char **out, size_t *out_len, const char *path, mer_err *err) {
    *out = NULL;
    *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mer_err_errno(err, errno, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 1 << 16;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            fclose(f);
            return mer_errk(err, MER_ERR_NOMEM, "%s: out of memory reading the file", path);
        }
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        size_t got = fread(buf + len, 1, cap - 1 - len, f);
        len += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return mer_errk(err, MER_ERR_IO, "%s: read error", path);
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return 0;
}

int fs_checksum(const char *path, uint64_t *sum, mer_err *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return mer_err_errno(err, errno, "%s: %s", path, strerror(errno));
    unsigned char buf[1 << 16];
    uint64_t h = FNV1A64_INIT;
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a64(buf, n, h);
    int bad = ferror(f);
    fclose(f);
    if (bad) return mer_errk(err, MER_ERR_IO, "%s: read error", path);
    *sum = h;
    return 0;
}
