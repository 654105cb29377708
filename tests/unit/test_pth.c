/* mer convert-pth's reader (io/zip.c, io/pth.c) on fixtures written by torch.save (tests/ref/pth_fixture.py):
 * every float32 tensor equals what PyTorch holds (including a transposed view and a slice with a storage
 * offset), the int64 num_batches_tracked is seen and skipped; forbidden globals (GLOBAL and STACK_GLOBAL)
 * and opcodes, truncated archives and corrupt data are refused with messages that say so. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/h5.h"
#include "io/pth.h"
#include "tests/check.h"

static char dir[4096];

static const char *fx(const char *name) {
    static char p[4200];
    snprintf(p, sizeof p, "%s/pth/%s", dir, name);
    return p;
}

static uint8_t *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*n);
    if (b && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

typedef struct {
    hid_t got, want;
    int n, same;
} cmp_ctx;

static int compare_one(const char *path, void *user) {
    cmp_ctx *c = user;
    mer_err err;
    float *a = NULL, *b = NULL;
    int na, nb;
    size_t da[H5_MAX_DIMS], db[H5_MAX_DIMS];
    c->n++;
    int ok = h5_read_f32(c->want, path, &b, &nb, db, &err) == 0 && h5_read_f32(c->got, path, &a, &na, da, &err) == 0 &&
             na == nb;
    size_t numel = 1;
    for (int d = 0; ok && d < na; d++) {
        ok = da[d] == db[d];
        numel *= da[d];
    }
    ok = ok && memcmp(a, b, numel * sizeof *a) == 0;
    CHECK(ok, "tensor '%s' equals PyTorch's (shape and every bit)", path);
    c->same += ok;
    free(a);
    free(b);
    return 0;
}

static void test_small(void) {
    mer_err err = {0};
    pth_file pf;
    CHECK(pth_open(&pf, fx("small.pth"), &err) == 0, "open small.pth: %s", err.msg);
    CHECK(pf.n_tensors == 12, "12 state_dict entries, got %zu", pf.n_tensors);
    int seen_nbt = 0, seen_t = 0, seen_slice = 0;
    for (size_t i = 0; i < pf.n_tensors; i++) {
        const pth_tensor *t = &pf.tensors[i];
        if (!strcmp(t->name, "1.num_batches_tracked")) {
            seen_nbt = 1;
            CHECK(t->dtype == PTH_INT64 && t->ndim == 0, "num_batches_tracked is an int64 scalar");
        }
        if (!strcmp(t->name, "extra.transposed")) {
            seen_t = 1;
            CHECK(t->ndim == 2 && t->shape[0] == 6 && t->stride[0] == 1 && t->stride[1] == 6, "transposed strides");
        }
        if (!strcmp(t->name, "extra.slice")) {
            seen_slice = 1;
            CHECK(t->offset == 8 && t->stride[0] == 6 && t->storage_numel == 24, "slice offset 8 into 24 elements");
        }
    }
    CHECK(seen_nbt && seen_t && seen_slice, "the fixture's special tensors are present");
    CHECK_STR(pf.tensors[0].name, "0.weight", "state_dict order kept");

    char out[] = "/tmp/mer_test_pth_XXXXXX";
    int fd = mkstemp(out);
    if (fd >= 0) close(fd);
    size_t nw = 0, nv = 0, ns = 0;
    CHECK(pth_write_h5(&pf, out, &nw, &nv, &ns, &err) == 0, "convert: %s", err.msg);
    CHECK(nw == 11 && ns == 1, "11 float tensors written, 1 skipped (got %zu, %zu)", nw, ns);
    hid_t got, want;
    if (h5_open(out, 0, &got, &err) == 0 && h5_open(fx("small_expected.h5"), 0, &want, &err) == 0) {
        cmp_ctx c = {got, want, 0, 0};
        h5_visit_datasets(want, compare_one, &c, &err);
        CHECK(c.n == 11 && c.same == 11, "all 11 expected tensors equal (%d of %d)", c.same, c.n);
        CHECK(!h5_exists(got, "1.num_batches_tracked"), "the int64 buffer is not written");
        h5_close(got, &err);
        h5_close(want, &err);
    } else CHECK(0, "open the h5 files: %s", err.msg);
    unlink(out);

    float *v = NULL;
    CHECK(pth_read_f32(&pf, &pf.tensors[6], &v, &err) < 0 && strstr(err.msg, "int64"),
          "reading the int64 tensor as float32 is refused: %s", err.msg);
    pth_close(&pf);
}

static void expect_refusal(const char *file, const char *a, const char *b) {
    mer_err err = {0};
    pth_file pf;
    int rc = pth_open(&pf, fx(file), &err);
    CHECK(rc < 0 && strstr(err.msg, a) && strstr(err.msg, b), "%s refused naming '%s' and '%s': %s", file, a, b,
          err.msg);
    if (rc == 0) pth_close(&pf);
}

static void test_damage(void) {
    size_t n = 0;
    uint8_t *b = slurp(fx("small.pth"), &n);
    CHECK(b && n > 1000, "read small.pth");
    if (!b) return;
    mer_err err = {0};
    pth_file pf;
    size_t cuts[] = {0, 10, n / 2, n - 30, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        int rc = pth_open_mem(&pf, b, cuts[i], "cut.pth", &err);
        CHECK(rc < 0 && (strstr(err.msg, "truncated") || strstr(err.msg, "not a zip")),
              "a zip cut to %zu of %zu bytes is refused as truncated: %s", cuts[i], n, err.msg);
        if (rc == 0) pth_close(&pf);
    }
    /* a flipped byte in the first storage: the directory is fine, the CRC-32 catches it */
    CHECK(pth_open_mem(&pf, b, n, "flip.pth", &err) == 0, "open from memory: %s", err.msg);
    const zip_entry *e = zip_find(&pf.zip, "small/data/0");
    CHECK(e != NULL, "storage 0 present");
    if (e) {
        b[e->data_offset + 5] ^= 0x40;
        float *v = NULL;
        CHECK(pth_read_f32(&pf, &pf.tensors[0], &v, &err) < 0 && strstr(err.msg, "CRC"), "corrupt storage refused: %s",
              err.msg);
        free(v);
    }
    pth_close(&pf);
    /* the legacy (torch < 1.6) format starts with a pickle, not a zip */
    uint8_t legacy[] = {0x80, 0x02, 0x8a, 0x0a};
    CHECK(pth_open_mem(&pf, legacy, sizeof legacy, "old.pth", &err) < 0 && strstr(err.msg, "legacy"),
          "legacy format refused: %s", err.msg);
    free(b);
}

int main(void) {
    const char *f = getenv("MER_FIXTURES");
    snprintf(dir, sizeof dir, "%s", f ? f : "tests/fixtures");
    test_small();
    test_damage();
    expect_refusal("evil_global.pth", "os.system", "nothing was executed");
    expect_refusal("evil_global.pth", "os.system", "offset 2)");
    expect_refusal("evil_stack.pth", "os.system", "offset");
    expect_refusal("evil_opcode.pth", "INST", "offset 9)");
    return check_summary();
}
