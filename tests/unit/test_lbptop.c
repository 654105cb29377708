/* LBP-TOP (core/baseline/lbptop.h) against tests/fixtures/lbptop/lbptop_ref.h5, written by
 * tests/ref/lbptop_ref.py: skimage's local_binary_pattern for circular planes, a numpy implementation for
 * the elliptic XT/YT planes. Codes must match exactly, features within float rounding. */
#include <stdint.h>
#include <stdlib.h>

#include "tests/check.h"
#include "core/baseline/lbptop.h"
#include "io/h5.h"

static void check_case(hid_t f, const char *name) {
    mer_err err = {0};
    char path[128];
    float *vol = NULL;
    int64_t *grid = NULL, *p = NULL, *ref = NULL;
    double *radii = NULL, *feat_ref = NULL;
    char *mapping = NULL;
    int nd;
    size_t dims[H5_MAX_DIMS], d2[H5_MAX_DIMS], nfeat = 0;
#define RD(fn, field, var)                                                                        \
    snprintf(path, sizeof path, "%s/%s", name, field);                                            \
    CHECK(fn(f, path, &var, &nd, d2, &err) == 0, "read %s: %s", path, err.msg);
    snprintf(path, sizeof path, "%s/vol", name);
    CHECK(h5_read_f32(f, path, &vol, &nd, dims, &err) == 0 && nd == 3, "read %s: %s", path, err.msg);
    RD(h5_read_i64, "grid", grid);
    RD(h5_read_i64, "p", p);
    RD(h5_read_f64, "radii", radii);
    RD(h5_read_f64, "feat", feat_ref);
    nfeat = d2[0];
    snprintf(path, sizeof path, "%s/mapping", name);
    CHECK(h5_read_str(f, path, &mapping, &err) == 0, "read %s: %s", path, err.msg);
    if (!vol || !grid || !p || !radii || !feat_ref || !mapping) goto done;
    const int T = (int)dims[0], H = (int)dims[1], W = (int)dims[2];
    lbptop_options o = {.grid_t = (int)grid[0], .grid_rows = (int)grid[1], .grid_cols = (int)grid[2],
                        .rx = radii[0], .ry = radii[1], .rt = radii[2],
                        .p_xy = (int)p[0], .p_xt = (int)p[1], .p_yt = (int)p[2]};
    CHECK(lbptop_mapping_parse(mapping, &o.mapping) == 0, "%s: mapping %s", name, mapping);

    const size_t n = (size_t)T * H * W;
    int16_t *codes = malloc(n * sizeof *codes);
    static const char *const planes[] = {"xy", "xt", "yt"};
    for (int pl = 0; pl < LBPTOP_PLANE_COUNT; pl++) {
        snprintf(path, sizeof path, "%s/codes_%s", name, planes[pl]);
        CHECK(h5_read_i64(f, path, &ref, &nd, d2, &err) == 0, "read %s: %s", path, err.msg);
        CHECK(lbptop_codes(codes, vol, T, H, W, (lbptop_plane)pl, &o, &err) == 0, "%s codes: %s", name, err.msg);
        size_t bad = 0, counted = 0, first = n;
        for (size_t i = 0; ref && i < n; i++) {
            counted += ref[i] >= 0;
            if (codes[i] != ref[i]) {
                if (!bad) first = i;
                bad++;
            }
        }
        CHECK(ref && bad == 0, "%s %s: %zu of %zu codes differ (first at %zu: %d, want %lld)", name, planes[pl], bad,
              n, first, first < n ? codes[first] : 0, first < n && ref ? (long long)ref[first] : 0LL);
        CHECK(counted > 0, "%s %s: the fixture has counted centres", name, planes[pl]);
        printf("%s %s: %zu codes, %zu differ\n", name, planes[pl], counted, bad);
        free(ref);
        ref = NULL;
    }
    free(codes);

    const size_t len = lbptop_feature_len(&o);
    CHECK(len == nfeat, "%s: feature length %zu, want %zu", name, len, nfeat);
    float *feat = malloc(len * sizeof *feat);
    CHECK(lbptop_features(feat, vol, T, H, W, &o, &err) == 0, "%s features: %s", name, err.msg);
    double worst = 0;
    for (size_t i = 0; i < len && len == nfeat; i++) worst = fmax(worst, fabs(feat[i] - feat_ref[i]));
    CHECK(len == nfeat && worst <= 1e-7, "%s: features differ by %g", name, worst);
    printf("%s: %zu features, worst difference %.3g\n", name, len, worst);
    /* every block's plane histogram sums to 1 */
    const int bins[3] = {lbptop_bins(o.p_xy, o.mapping), lbptop_bins(o.p_xt, o.mapping),
                         lbptop_bins(o.p_yt, o.mapping)};
    const size_t per_block = (size_t)bins[0] + bins[1] + bins[2];
    for (size_t b = 0, off = 0; b < len / per_block; b++)
        for (int pl = 0; pl < 3; off += bins[pl], pl++) {
            double s = 0;
            for (int k = 0; k < bins[pl]; k++) s += feat[off + k];
            CHECK_NEAR(s, 1.0, 1e-5, "%s block %zu plane %d sums to 1", name, b, pl);
        }
    free(feat);
done:
    free(vol);
    free(grid);
    free(p);
    free(radii);
    free(feat_ref);
    free(mapping);
#undef RD
}

int main(void) {
    const char *fx = getenv("MER_FIXTURES");
    if (!fx) SKIP_ALL("MER_FIXTURES not set");
    char path[512];
    snprintf(path, sizeof path, "%s/lbptop/lbptop_ref.h5", fx);
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    check_case(f, "u2_r1");
    check_case(f, "u2_ellipse");
    check_case(f, "riu2_r15");
    h5_close(f, &err);

    /* the classic sizes and the checks of the options */
    CHECK(lbptop_bins(8, LBPTOP_U2) == 59 && lbptop_bins(8, LBPTOP_RIU2) == 10, "59 u2 bins, 10 riu2 bins at P=8");
    lbptop_options o = lbptop_defaults();
    CHECK(lbptop_feature_len(&o) == 25 * 3 * 59, "5x5 blocks x 3 planes x 59 bins");
    CHECK(lbptop_check(&o, 10, 64, 64, &err) == 0, "defaults on 10x64x64: %s", err.msg);
    CHECK(lbptop_check(&o, 2, 64, 64, &err) < 0 && strstr(err.msg, "radii"), "2 frames at rt 1: %s", err.msg);
    o.rt = 0;
    CHECK(lbptop_check(&o, 10, 64, 64, &err) < 0 && strstr(err.msg, "> 0"), "rt 0: %s", err.msg);
    o = lbptop_defaults();
    o.p_xt = 40;
    CHECK(lbptop_check(&o, 10, 64, 64, &err) < 0 && strstr(err.msg, "xt"), "P 40: %s", err.msg);
    lbptop_mapping m;
    CHECK(lbptop_mapping_parse("riu2", &m) == 0 && m == LBPTOP_RIU2 && lbptop_mapping_parse("ri", &m) < 0,
          "mapping names");
    return check_summary();
}
