/* Helpers shared by the libFuzzer harnesses: a consumer of the input bytes (structured fuzzing) and a
 * per-process scratch folder. Harness code only: a fuzz process keeps its scratch folder in a static. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const uint8_t *p;
    size_t n;
} fz_in;

/* Next byte (0 once the input is used up). */
static inline uint8_t fz_u8(fz_in *in) {
    if (!in->n) return 0;
    in->n--;
    return *in->p++;
}
static inline uint32_t fz_u32(fz_in *in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)fz_u8(in) << (8 * i);
    return v;
}
/* A byte range: one length byte (capped by what is left) then that many bytes. */
static inline const uint8_t *fz_bytes(fz_in *in, size_t *len) {
    size_t k = fz_u8(in);
    if (k > in->n) k = in->n;
    const uint8_t *p = in->p;
    in->p += k;
    in->n -= k;
    *len = k;
    return p;
}
/* Split the rest at the next `sep` byte (consumed); the part before it. */
static inline const uint8_t *fz_until(fz_in *in, uint8_t sep, size_t *len) {
    const uint8_t *p = in->p, *e = memchr(p, sep, in->n);
    size_t k = e ? (size_t)(e - p) : in->n;
    *len = k;
    in->p += k + (e ? 1 : 0);
    in->n -= k + (e ? 1 : 0);
    return p;
}

/* The process's scratch folder (created on first use, under TMPDIR). */
static inline const char *fz_scratch(void) {
    static char dir[512];
    if (!dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/mer-fuzz-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(dir)) abort();
    }
    return dir;
}

/* Write len bytes to path (replaced); aborts on failure (a harness problem, not a finding). */
static inline void fz_write(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f)) abort();
}

/* FUZZ_VERBOSE=1: say why an input was rejected (for writing seeds). */
static inline void fz_why(const char *what, const char *msg) {
    if (getenv("FUZZ_VERBOSE")) fprintf(stderr, "%s: %s\n", what, msg);
}
