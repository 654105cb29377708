/* Benchmark (not a test): mer's TV-L1 (core/flow/tvl1.c) on raw float32 crops, driven by
 * tests/ref/flow_bench.py, which times OpenCV's DualTVL1 on the same crops and compares the flows.
 *
 *   cmake --build build && cc -O2 -I. tests/ref/bench_flow.c build/libmerlib.a -lm -o /tmp/bench_flow
 *   /tmp/bench_flow REPEATS W H I0.f32 I1.f32 FLOW_OUT.f32
 * I0, I1: W*H float32 in [0, 1], row-major. Writes the flow as (H, W, 2) float32 (OpenCV's layout) and prints
 * the best and the median ms per flow over REPEATS runs (OpenCV's defaults, one thread). */
#include <stdio.h>
#include <stdlib.h>

#include "core/flow/tvl1.h"
#include "io/base/log.h"

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *p = malloc(n * sizeof *p);
    if (!f || !p || fread(p, sizeof *p, n, f) != n) {
        fprintf(stderr, "cannot read %zu floats from %s\n", n, path);
        exit(1);
    }
    fclose(f);
    return p;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: bench_flow REPEATS W H I0.f32 I1.f32 FLOW_OUT.f32\n");
        return 2;
    }
    int reps = atoi(argv[1]), W = atoi(argv[2]), H = atoi(argv[3]);
    if (reps < 1 || W < 3 || H < 3) return 2;
    size_t n = (size_t)W * H;
    float *i0 = read_f32(argv[4], n), *i1 = read_f32(argv[5], n);
    float *u = malloc(n * sizeof *u), *v = malloc(n * sizeof *v), *uv = malloc(2 * n * sizeof *uv);
    double *t = malloc((size_t)reps * sizeof *t);
    tvl1_options o = tvl1_defaults();
    mer_err err = {0};
    for (int r = 0; r < reps; r++) {
        double t0 = now_seconds();
        if (tvl1_flow(u, v, i0, i1, H, W, &o, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        t[r] = now_seconds() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    for (size_t i = 0; i < n; i++) uv[2 * i] = u[i], uv[2 * i + 1] = v[i];
    FILE *f = fopen(argv[6], "wb");
    if (!f || fwrite(uv, sizeof *uv, 2 * n, f) != 2 * n) return 1;
    fclose(f);
    printf("mer %dx%d: best %.2f ms, median %.2f ms per flow\n", W, H, t[0] * 1e3, t[reps / 2] * 1e3);
    free(i0), free(i1), free(u), free(v), free(uv), free(t);
    return 0;
}
