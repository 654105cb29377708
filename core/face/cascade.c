/* OpenCV cascade classifier: XML loading, pyramid, HAAR/LBP evaluation, grouping.
 * The arithmetic deliberately mirrors OpenCV 4.x (float feature values, double stage sums,
 * lrint/lrintf rounding, 32-bit wrapping integral images); tests/integration/test_face_parity.sh checks the
 * boxes against OpenCV's (tests/fixtures/face/opencv_boxes.txt).
 * Must be compiled without -ffast-math; x86-64 without -march has no FMA so nothing is contracted. */
#include "core/face/cascade.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/xml.h"

enum { FEAT_HAAR = 0, FEAT_LBP = 1 };
#define LBP_SUBSET 8 /* 256 categories / 32 bits */
#define MAX_WINDOW 1024

typedef struct {
    int left, right, feat;
    float thr;
} cnode;

typedef struct {
    int rect[3][4]; /* x, y, w, h within the window */
    float weight[3];
    int tilted;
} haar_feature;

typedef struct {
    int first_tree, ntrees;
    float thr;
} cstage;

typedef struct {
    int node_ofs, leaf_ofs, nnodes;
} ctree;

struct cascade {
    int type, win_w, win_h, has_tilted;
    int nstages, ntrees, nnodes, nleaves, nfeat;
    cstage *stages;
    ctree *trees;
    cnode *nodes;
    float *leaves;
    int32_t *subsets;     /* LBP: LBP_SUBSET words per node */
    haar_feature *haar;   /* HAAR features */
    int (*lbp)[4];        /* LBP features: x, y, w, h of one block */
};

void cascade_free(cascade *c) {
    if (!c) return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->subsets);
    free(c->haar);
    free(c->lbp);
    free(c);
}

void cascade_window(const cascade *c, int *win_w, int *win_h) {
    *win_w = c->win_w;
    *win_h = c->win_h;
}

/* ---------------------------------------------------------------- loading */

typedef struct {
    const char *path;
    mer_err *err;
} ctx;

static int bad(const ctx *x, const xml_node *n, const char *fmt, const char *what) {
    char buf[256];
    snprintf(buf, sizeof buf, fmt, what);
    return mer_errk(x->err, MER_ERR_CONFIG, "%s:%d: invalid cascade: %s", x->path, n ? n->line : 0, buf);
}

/* Parse whitespace-separated numbers of n->text into out (up to cap); *count gets how many. */
static int numbers(double *out, int cap, int *count, const ctx *x, const xml_node *n, const char *what) {
    const char *s = n->text;
    int k = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') s++;
        if (!*s) break;
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v)) return bad(x, n, "%s: not a number", what);
        if (k == cap) return bad(x, n, "%s: too many numbers", what);
        out[k++] = v;
        s = end;
    }
    *count = k;
    return 0;
}

static int as_int(int *v, double d, const ctx *x, const xml_node *n, const char *what) {
    if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != floor(d)) return bad(x, n, "%s: not an integer", what);
    *v = (int)d;
    return 0;
}

static int child_int(int *v, const ctx *x, const xml_node *parent, const char *name) {
    const xml_node *n = xml_child(parent, name);
    if (!n) return bad(x, parent, "missing <%s>", name);
    double d;
    int k;
    if (numbers(&d, 1, &k, x, n, name) < 0) return -1;
    if (k != 1) return bad(x, n, "<%s> must hold one number", name);
    return as_int(v, d, x, n, name);
}

static int load_tree(cascade *c, int *node_cap, int *leaf_cap, const ctx *x, const xml_node *tw, double *buf,
                     int bufcap) {
    int step = c->type == FEAT_LBP ? 3 + LBP_SUBSET : 4;
    const xml_node *in = xml_child(tw, "internalNodes"), *lv = xml_child(tw, "leafValues");
    if (!in || !lv) return bad(x, tw, "%s", "a weak classifier needs <internalNodes> and <leafValues>");
    int k;
    if (numbers(buf, bufcap, &k, x, in, "internalNodes") < 0) return -1;
    if (k == 0 || k % step) return bad(x, in, "internalNodes: expected a multiple of %s numbers",
                                       c->type == FEAT_LBP ? "11" : "4");
    int nn = k / step;
    if (c->nnodes + nn > *node_cap) {
        int cap = 2 * (c->nnodes + nn);
        cnode *nodes = realloc(c->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) return mer_errf(x->err, "%s: out of memory", x->path);
        c->nodes = nodes;
        if (c->type == FEAT_LBP) {
            int32_t *sub = realloc(c->subsets, (size_t)cap * LBP_SUBSET * sizeof *sub);
            if (!sub) return mer_errf(x->err, "%s: out of memory", x->path);
            c->subsets = sub;
        }
        *node_cap = cap;
    }
    for (int i = 0; i < nn; i++) {
        const double *v = buf + (size_t)i * step;
        cnode *nd = &c->nodes[c->nnodes + i];
        if (as_int(&nd->left, v[0], x, in, "internalNodes") < 0 || as_int(&nd->right, v[1], x, in, "internalNodes") < 0 ||
            as_int(&nd->feat, v[2], x, in, "internalNodes") < 0)
            return -1;
        /* children: > 0 an internal node after this one (so evaluation always terminates),
         * <= 0 a leaf index -child in [0, nn] */
        int ch[2] = {nd->left, nd->right};
        for (int j = 0; j < 2; j++)
            if ((ch[j] > 0 && (ch[j] <= i || ch[j] >= nn)) || (ch[j] <= 0 && -ch[j] > nn))
                return bad(x, in, "%s", "internalNodes: child index out of range");
        if (c->type == FEAT_LBP) {
            nd->thr = 0.f;
            for (int j = 0; j < LBP_SUBSET; j++) {
                int s = 0;
                if (as_int(&s, v[3 + j], x, in, "internalNodes") < 0) return -1;
                c->subsets[(size_t)(c->nnodes + i) * LBP_SUBSET + j] = s;
            }
        } else {
            nd->thr = (float)v[3];
        }
    }
    if (numbers(buf, bufcap, &k, x, lv, "leafValues") < 0) return -1;
    if (k != nn + 1) return bad(x, lv, "%s", "leafValues: expected one more value than internal nodes");
    if (c->nleaves + k > *leaf_cap) {
        int cap = 2 * (c->nleaves + k);
        float *l = realloc(c->leaves, (size_t)cap * sizeof *l);
        if (!l) return mer_errf(x->err, "%s: out of memory", x->path);
        c->leaves = l;
        *leaf_cap = cap;
    }
    for (int i = 0; i < k; i++) c->leaves[c->nleaves + i] = (float)buf[i];
    ctree *t = &c->trees[c->ntrees++];
    t->node_ofs = c->nnodes;
    t->leaf_ofs = c->nleaves;
    t->nnodes = nn;
    c->nnodes += nn;
    c->nleaves += k;
    return 0;
}

static int load_features(cascade *c, const ctx *x, const xml_node *fs) {
    c->nfeat = (int)xml_count(fs);
    if (c->nfeat == 0) return bad(x, fs, "%s", "<features> is empty");
    if (c->type == FEAT_HAAR) {
        c->haar = mer_calloc((size_t)c->nfeat, sizeof *c->haar, x->err);
        if (!c->haar) return mer_err_prefix(x->err, "%s", x->path);
    } else {
        c->lbp = mer_calloc((size_t)c->nfeat, sizeof *c->lbp, x->err);
        if (!c->lbp) return mer_err_prefix(x->err, "%s", x->path);
    }
    int W = c->win_w, H = c->win_h, fi = 0;
    for (const xml_node *f = fs->child; f; f = f->next, fi++) {
        double v[5];
        int k;
        if (c->type == FEAT_LBP) {
            const xml_node *r = xml_child(f, "rect");
            if (!r) return bad(x, f, "%s", "LBP feature without <rect>");
            if (numbers(v, 5, &k, x, r, "rect") < 0) return -1;
            if (k != 4) return bad(x, r, "%s", "LBP <rect> must hold x y w h");
            int *q = c->lbp[fi];
            for (int j = 0; j < 4; j++)
                if (as_int(&q[j], v[j], x, r, "rect") < 0) return -1;
            if (q[0] < 0 || q[1] < 0 || q[2] <= 0 || q[3] <= 0 || q[0] + 3 * q[2] > W || q[1] + 3 * q[3] > H)
                return bad(x, r, "%s", "LBP rect outside the window");
            continue;
        }
        haar_feature *hf = &c->haar[fi];
        const xml_node *rs = xml_child(f, "rects"), *tl = xml_child(f, "tilted");
        if (!rs) return bad(x, f, "%s", "HAAR feature without <rects>");
        size_t nr = xml_count(rs);
        if (nr < 1 || nr > 3) return bad(x, rs, "%s", "a HAAR feature needs 1 to 3 rects");
        if (tl) {
            if (child_int(&hf->tilted, x, f, "tilted") < 0) return -1;
            hf->tilted = hf->tilted != 0;
            if (hf->tilted) c->has_tilted = 1;
        }
        int ri = 0;
        for (const xml_node *r = rs->child; r; r = r->next, ri++) {
            if (numbers(v, 5, &k, x, r, "rects") < 0) return -1;
            if (k != 5) return bad(x, r, "%s", "a HAAR rect must hold x y w h weight");
            int *q = hf->rect[ri];
            for (int j = 0; j < 4; j++)
                if (as_int(&q[j], v[j], x, r, "rects") < 0) return -1;
            hf->weight[ri] = (float)v[4];
            int ok = q[0] >= 0 && q[1] >= 0 && q[2] >= 0 && q[3] >= 0 && q[2] <= MAX_WINDOW && q[3] <= MAX_WINDOW;
            if (ok && !hf->tilted) ok = q[0] + q[2] <= W && q[1] + q[3] <= H;
            if (ok && hf->tilted) ok = q[0] - q[3] >= 0 && q[0] + q[2] <= W && q[1] + q[2] + q[3] <= H;
            if (!ok) return bad(x, r, "%s", "HAAR rect outside the window");
        }
    }
    return 0;
}

static int load_root(cascade *c, const ctx *x, const xml_node *root) {
    const xml_node *st = xml_child(root, "stageType"), *ft = xml_child(root, "featureType");
    if (!st && xml_child(root, "size") && xml_child(root, "stages"))
        return bad(x, root, "%s", "old-format (opencv-haar-classifier) cascades are not supported");
    if (!st) return bad(x, root, "%s", "missing <stageType>");
    if (strcmp(st->text, "BOOST") != 0) return bad(x, st, "stageType '%s' is not supported (only BOOST)", st->text);
    if (!ft) return bad(x, root, "%s", "missing <featureType>");
    if (!strcmp(ft->text, "HAAR")) c->type = FEAT_HAAR;
    else if (!strcmp(ft->text, "LBP")) c->type = FEAT_LBP;
    else return bad(x, ft, "featureType '%s' is not supported (HAAR or LBP)", ft->text);
    if (child_int(&c->win_w, x, root, "width") < 0 || child_int(&c->win_h, x, root, "height") < 0) return -1;
    if (c->win_w < 3 || c->win_h < 3 || c->win_w > MAX_WINDOW || c->win_h > MAX_WINDOW)
        return bad(x, root, "%s", "window size out of range (3..1024)");
    const xml_node *fp = xml_child(root, "featureParams");
    if (!fp) return bad(x, root, "%s", "missing <featureParams>");
    int ncat;
    if (child_int(&ncat, x, fp, "maxCatCount") < 0) return -1;
    if (c->type == FEAT_HAAR && ncat != 0) return bad(x, fp, "%s", "HAAR cascades must have maxCatCount 0");
    if (c->type == FEAT_LBP && ncat != 256) return bad(x, fp, "%s", "LBP cascades must have maxCatCount 256");
    const xml_node *stages = xml_child(root, "stages"), *feats = xml_child(root, "features");
    if (!stages || !stages->child) return bad(x, root, "%s", "missing or empty <stages>");
    if (!feats) return bad(x, root, "%s", "missing <features>");
    if (load_features(c, x, feats) < 0) return -1;

    c->nstages = (int)xml_count(stages);
    int total_trees = 0;
    size_t longest = 0; /* longest number list: bounds the scratch buffer */
    for (const xml_node *s = stages->child; s; s = s->next) {
        const xml_node *wc = xml_child(s, "weakClassifiers");
        if (!wc || !wc->child) return bad(x, s, "%s", "stage without weak classifiers");
        total_trees += (int)xml_count(wc);
        for (const xml_node *t = wc->child; t; t = t->next)
            for (const xml_node *q = t->child; q; q = q->next)
                if (strlen(q->text) > longest) longest = strlen(q->text);
    }
    c->stages = mer_calloc((size_t)c->nstages, sizeof *c->stages, x->err);
    c->trees = c->stages ? mer_calloc((size_t)total_trees, sizeof *c->trees, x->err) : NULL;
    int bufcap = (int)(longest / 2 + 2); /* every number takes at least 2 characters with its separator */
    double *buf = c->trees ? mer_malloc((size_t)bufcap * sizeof *buf, x->err) : NULL;
    if (!buf) return mer_err_prefix(x->err, "%s", x->path);
    int node_cap = 0, leaf_cap = 0, si = 0, rc = 0;
    for (const xml_node *s = stages->child; s && rc == 0; s = s->next, si++) {
        const xml_node *th = xml_child(s, "stageThreshold");
        double d;
        int k;
        if (!th) {
            rc = bad(x, s, "%s", "stage without <stageThreshold>");
            break;
        }
        if ((rc = numbers(&d, 1, &k, x, th, "stageThreshold")) < 0) break;
        if (k != 1) {
            rc = bad(x, th, "%s", "<stageThreshold> must hold one number");
            break;
        }
        c->stages[si].thr = (float)d - 1e-5f; /* OpenCV's THRESHOLD_EPS */
        c->stages[si].first_tree = c->ntrees;
        const xml_node *wc = xml_child(s, "weakClassifiers");
        for (const xml_node *t = wc->child; t && rc == 0; t = t->next)
            rc = load_tree(c, &node_cap, &leaf_cap, x, t, buf, bufcap);
        c->stages[si].ntrees = c->ntrees - c->stages[si].first_tree;
    }
    free(buf);
    if (rc < 0) return -1;
    for (int i = 0; i < c->nnodes; i++)
        if (c->nodes[i].feat < 0 || c->nodes[i].feat >= c->nfeat)
            return bad(x, root, "%s", "a node refers to a feature index out of range");
    return 0;
}

/* The file is <opencv_storage><cascade>...</cascade></opencv_storage>: OpenCV reads the first
 * node inside the top-level element, whatever its name. */
static int load_doc(cascade **out, xml_doc *doc, const char *path, mer_err *err) {
    cascade *c = mer_calloc(1, sizeof *c, err);
    if (!c) {
        xml_free(doc);
        return mer_err_prefix(err, "%s", path);
    }
    ctx x = {path, err};
    const xml_node *storage = xml_root(doc)->child;
    int rc = storage && storage->child ? load_root(c, &x, storage->child)
                                       : bad(&x, storage, "%s", "no cascade node inside the top-level element");
    xml_free(doc);
    if (rc < 0) {
        cascade_free(c);
        return -1;
    }
    *out = c;
    return 0;
}

int cascade_load_mem(cascade **out, const char *xmltext, size_t len, const char *path, mer_err *err) {
    *out = NULL;
    xml_doc *doc;
    if (xml_parse(&doc, xmltext, len, path, err) < 0) return -1;
    return load_doc(out, doc, path, err);
}

int cascade_load(cascade **out, const char *path, mer_err *err) {
    *out = NULL;
    xml_doc *doc;
    if (xml_load(&doc, path, err) < 0) return -1;
    return load_doc(out, doc, path, err);
}

/* ---------------------------------------------------------------- resize (OpenCV INTER_LINEAR_EXACT, 8U)
 * OpenCV 4.6's FeatureEvaluator::setImage resizes with INTER_LINEAR_EXACT (not INTER_LINEAR, as
 * one might expect): 8.8 fixed-point coefficients from double positions, horizontal pass into 8.8,
 * vertical pass into 16.16 and round. Checked bit for bit against cv2.resize(..., INTER_LINEAR_EXACT). */

/* One source row resized horizontally into 8.8 fixed point (OpenCV's ufixedpoint16 line buffer). */
static void hline_exact(uint32_t *out, const uint8_t *row, const int *xofs, const uint32_t *xc, int min_x,
                        int max_x, int dw) {
    int dx = 0;
    for (; dx < min_x; dx++) out[dx] = (uint32_t)row[0] << 8;
    for (; dx < max_x; dx++) out[dx] = row[xofs[dx]] * xc[2 * dx] + row[xofs[dx] + 1] * xc[2 * dx + 1];
    for (; dx < dw; dx++) out[dx] = (uint32_t)row[xofs[dw - 1]] << 8;
}

/* Coefficients of OpenCV's interpolationLinear (bit-exact resize): 8 fractional bits. */
static void coeffs_exact(int *ofs, uint32_t *coef, int *min_o, int *max_o, int dsize, int ssize) {
    double inv = (double)dsize / ssize, scale = 1.0 / inv;
    *min_o = 0;
    *max_o = dsize;
    for (int d = 0; d < dsize; d++) {
        double f = scale * ((double)d + 0.5) - 0.5;
        int i = (int)floor(f);
        ofs[d] = 0;
        coef[2 * d] = 256, coef[2 * d + 1] = 0;
        if (i >= 0 && ssize > 1) {
            if (i < ssize - 1) {
                ofs[d] = i;
                uint32_t c1 = (uint32_t)lrint((f - i) * 256.0);
                coef[2 * d + 1] = c1;
                coef[2 * d] = 256 - c1;
            } else {
                ofs[d] = ssize - 1;
                if (d < *max_o) *max_o = d;
            }
        } else {
            if (d + 1 > *min_o) *min_o = d + 1;
        }
    }
}

int cv_resize_linear_exact_u8(uint8_t *dst, int dw, int dh, const uint8_t *src, int sw, int sh, mer_err *err) {
    if (dw == sw && dh == sh) {
        memcpy(dst, src, (size_t)sw * sh);
        return 0;
    }
    if (sw == 2 * dw && sh == 2 * dh) { /* OpenCV switches to the fast INTER_AREA path: 2x2 mean */
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                const uint8_t *p = src + (size_t)(2 * y) * sw + 2 * x;
                dst[(size_t)y * dw + x] = (uint8_t)((p[0] + p[1] + p[sw] + p[sw + 1] + 2) >> 2);
            }
        return 0;
    }
    size_t nx = (size_t)dw, ny = (size_t)dh;
    int *xofs = mer_malloc(sizeof(int) * (nx + ny), err);
    uint32_t *buf = xofs ? mer_malloc(sizeof(uint32_t) * (2 * nx + 2 * ny + 2 * nx), err) : NULL;
    if (!buf) {
        free(xofs);
        return -1;
    }
    int *yofs = xofs + nx;
    uint32_t *xc = buf, *yc = xc + 2 * nx, *h0 = yc + 2 * ny, *h1 = h0 + nx;
    int min_x, max_x, min_y, max_y;
    coeffs_exact(xofs, xc, &min_x, &max_x, dw, sw);
    coeffs_exact(yofs, yc, &min_y, &max_y, dh, sh);
    for (int dy = 0; dy < dh; dy++) {
        uint8_t *d = dst + (size_t)dy * dw;
        if (dy < min_y || dy >= max_y) { /* border rows: the first/last source row, horizontally resized */
            hline_exact(h0, src + (size_t)(dy < min_y ? 0 : sh - 1) * sw, xofs, xc, min_x, max_x, dw);
            for (int dx = 0; dx < dw; dx++) {
                uint32_t v = (h0[dx] + 128) >> 8;
                d[dx] = (uint8_t)(v > 255 ? 255 : v);
            }
            continue;
        }
        int sy = yofs[dy];
        hline_exact(h0, src + (size_t)sy * sw, xofs, xc, min_x, max_x, dw);
        hline_exact(h1, src + (size_t)(sy + 1) * sw, xofs, xc, min_x, max_x, dw);
        uint32_t b0 = yc[2 * dy], b1 = yc[2 * dy + 1];
        for (int dx = 0; dx < dw; dx++) {
            uint32_t v = (h0[dx] * b0 + h1[dx] * b1 + (1u << 15)) >> 16;
            d[dx] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    free(xofs);
    free(buf);
    return 0;
}

/* ---------------------------------------------------------------- integral images */

/* sum, sqsum: (w+1) x (h+1), row 0 and column 0 zero; 32-bit wrapping like OpenCV's CV_32S. */
static void integral_sum_sq(uint32_t *sum, uint32_t *sq, const uint8_t *img, int w, int h) {
    int s = w + 1;
    memset(sum, 0, sizeof *sum * (size_t)s);
    if (sq) memset(sq, 0, sizeof *sq * (size_t)s);
    for (int y = 0; y < h; y++) {
        uint32_t rs = 0, rq = 0;
        uint32_t *S = sum + (size_t)(y + 1) * s, *Q = sq ? sq + (size_t)(y + 1) * s : NULL;
        const uint8_t *p = img + (size_t)y * w;
        S[0] = 0;
        for (int x = 0; x < w; x++) {
            rs += p[x];
            S[x + 1] = S[x + 1 - s] + rs;
        }
        if (!Q) continue;
        Q[0] = 0;
        for (int x = 0; x < w; x++) {
            rq += (uint32_t)p[x] * p[x];
            Q[x + 1] = Q[x + 1 - s] + rq;
        }
    }
}

/* Tilted (45 degree) integral: T[Y][X] = sum over y < Y, |x - (X-1)| <= Y-1-y of I. */
static void integral_tilted(uint32_t *T, const uint8_t *img, int w, int h) {
    int s = w + 1;
    memset(T, 0, sizeof *T * (size_t)s * (h + 1));
#define TT(X, Y) ((Y) < 0 ? 0u : T[(size_t)(Y) * s + (X)])
#define II(X, Y) (((X) < 0 || (X) >= w || (Y) < 0 || (Y) >= h) ? 0u : (uint32_t)img[(size_t)(Y) * w + (X)])
    for (int Y = 1; Y <= h; Y++)
        for (int X = 0; X <= w; X++) {
            uint32_t A = X >= 1 ? TT(X - 1, Y - 1) : TT(0, Y - 2);
            uint32_t B = X + 1 <= w ? TT(X + 1, Y - 1) : TT(w, Y - 2);
            T[(size_t)Y * s + X] = A + B - TT(X, Y - 2) + II(X - 1, Y - 1) + II(X - 1, Y - 2);
        }
#undef TT
#undef II
}

/* ---------------------------------------------------------------- evaluation */

typedef struct {
    int ofs[3][4]; /* offsets of the 4 corners of each rect, relative to the window origin */
    float weight[3];
    int tilted;
} opt_haar;

typedef struct {
    const cascade *c;
    const uint32_t *sum, *sq, *tilt;
    const opt_haar *oh; /* HAAR */
    const int (*ol)[16]; /* LBP: the 16 corner offsets of the 3x3 grid */
    int nofs[4];        /* normalisation rect corners */
} evaluator;

static inline int32_t rect_sum(const uint32_t *p, const int *o) {
    return (int32_t)(p[o[0]] - p[o[1]] - p[o[2]] + p[o[3]]);
}

/* OpenCV's runAt: 1 accepted, 0 rejected at the first stage, -s rejected at stage s, -1 flat window. */
static int run_haar(const evaluator *e, size_t pofs) {
    const cascade *c = e->c;
    const uint32_t *p = e->sum + pofs, *q = e->sq + pofs;
    int valsum = rect_sum(p, e->nofs);
    unsigned valsq = (unsigned)rect_sum(q, e->nofs);
    double area = (double)(c->win_w - 2) * (c->win_h - 2);
    double nf = area * valsq - (double)valsum * valsum;
    float vnf;
    if (nf > 0.) {
        vnf = (float)(1. / sqrt(nf));
        if (!(area * vnf < 1e-1)) return -1;
    } else {
        return -1;
    }
    const uint32_t *pt = e->tilt ? e->tilt + pofs : NULL;
    for (int si = 0; si < c->nstages; si++) {
        const cstage *st = &c->stages[si];
        double acc = 0;
        for (int ti = 0; ti < st->ntrees; ti++) {
            const ctree *t = &c->trees[st->first_tree + ti];
            int idx = 0;
            do {
                const cnode *nd = &c->nodes[t->node_ofs + idx];
                const opt_haar *f = &e->oh[nd->feat];
                const uint32_t *base = f->tilted ? pt : p;
                float v = f->weight[0] * (float)rect_sum(base, f->ofs[0]) + f->weight[1] * (float)rect_sum(base, f->ofs[1]);
                if (f->weight[2] != 0.0f) v += f->weight[2] * (float)rect_sum(base, f->ofs[2]);
                double val = v * vnf;
                idx = val < nd->thr ? nd->left : nd->right;
            } while (idx > 0);
            acc += c->leaves[t->leaf_ofs - idx];
        }
        if (acc < st->thr) return -si;
    }
    return 1;
}

static int run_lbp(const evaluator *e, size_t pofs) {
    const cascade *c = e->c;
    const uint32_t *p = e->sum + pofs;
    for (int si = 0; si < c->nstages; si++) {
        const cstage *st = &c->stages[si];
        double acc = 0;
        for (int ti = 0; ti < st->ntrees; ti++) {
            const ctree *t = &c->trees[st->first_tree + ti];
            int idx = 0;
            do {
                int ni = t->node_ofs + idx;
                const cnode *nd = &c->nodes[ni];
                const int *o = e->ol[nd->feat];
#define B(a, b, cc, d) ((int32_t)(p[o[a]] - p[o[b]] - p[o[cc]] + p[o[d]]))
                int32_t cv = B(5, 6, 9, 10);
                int code = (B(0, 1, 4, 5) >= cv ? 128 : 0) | (B(1, 2, 5, 6) >= cv ? 64 : 0) |
                           (B(2, 3, 6, 7) >= cv ? 32 : 0) | (B(6, 7, 10, 11) >= cv ? 16 : 0) |
                           (B(10, 11, 14, 15) >= cv ? 8 : 0) | (B(9, 10, 13, 14) >= cv ? 4 : 0) |
                           (B(8, 9, 12, 13) >= cv ? 2 : 0) | (B(4, 5, 8, 9) >= cv ? 1 : 0);
#undef B
                const int32_t *subset = c->subsets + (size_t)ni * LBP_SUBSET;
                idx = ((uint32_t)subset[code >> 5] & (1u << (code & 31))) ? nd->left : nd->right;
            } while (idx > 0);
            acc += c->leaves[t->leaf_ofs - idx];
        }
        if (acc < st->thr) return -si;
    }
    return 1;
}

/* Corner offsets of rect (x,y,w,h) in an integral image of row stride s. */
static void corners(int *o, int x, int y, int w, int h, int s) {
    o[0] = y * s + x;
    o[1] = y * s + x + w;
    o[2] = (y + h) * s + x;
    o[3] = (y + h) * s + x + w;
}

static void tilted_corners(int *o, int x, int y, int w, int h, int s) {
    o[0] = y * s + x;
    o[1] = (y + h) * s + x - h;
    o[2] = (y + w) * s + x + w;
    o[3] = (y + w + h) * s + x + w - h;
}

typedef struct {
    int (*r)[4];
    int n, cap;
} rect_list;

static int push_rect(rect_list *l, int x, int y, int w, int h, mer_err *err) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 256;
        int(*nr)[4] = realloc(l->r, (size_t)cap * sizeof *nr);
        if (!nr) return mer_errf(err, "out of memory collecting %d candidate boxes", l->n);
        l->r = nr;
        l->cap = cap;
    }
    l->r[l->n][0] = x;
    l->r[l->n][1] = y;
    l->r[l->n][2] = w;
    l->r[l->n][3] = h;
    l->n++;
    return 0;
}

/* ---------------------------------------------------------------- grouping */

static int similar(const int *a, const int *b, double eps) {
    double delta = eps * ((a[2] < b[2] ? a[2] : b[2]) + (a[3] < b[3] ? a[3] : b[3])) * 0.5;
    return abs(a[0] - b[0]) <= delta && abs(a[1] - b[1]) <= delta && abs(a[0] + a[2] - b[0] - b[2]) <= delta &&
           abs(a[1] + a[3] - b[1] - b[3]) <= delta;
}

int cv_group_rectangles(int (*rects)[4], int *n_io, int min_neighbors, mer_err *err) {
    int n = *n_io;
    const double eps = 0.2;
    if (min_neighbors <= 0 || n == 0) return 0;
    int *parent = mer_malloc(sizeof(int) * 4 * (size_t)n, err);
    if (!parent) return -1;
    int *rank = parent + n, *label = rank + n, *count = label + n;
    for (int i = 0; i < n; i++) parent[i] = -1, rank[i] = 0;
    /* cv::partition: union-find with union by rank and path compression */
    for (int i = 0; i < n; i++) {
        int root = i;
        while (parent[root] >= 0) root = parent[root];
        for (int j = 0; j < n; j++) {
            if (i == j || !similar(rects[i], rects[j], eps)) continue;
            int root2 = j;
            while (parent[root2] >= 0) root2 = parent[root2];
            if (root2 != root) {
                int r1 = rank[root], r2 = rank[root2];
                if (r1 > r2) {
                    parent[root2] = root;
                } else {
                    parent[root] = root2;
                    rank[root2] += r1 == r2;
                    root = root2;
                }
                int k = j, p;
                while ((p = parent[k]) >= 0) parent[k] = root, k = p;
                k = i;
                while ((p = parent[k]) >= 0) parent[k] = root, k = p;
            }
        }
    }
    int nclasses = 0;
    for (int i = 0; i < n; i++) {
        int root = i;
        while (parent[root] >= 0) root = parent[root];
        if (rank[root] >= 0) rank[root] = ~nclasses++;
        label[i] = ~rank[root];
    }
    long long(*acc)[4] = mer_calloc((size_t)nclasses, sizeof *acc, err);
    int(*avg)[4] = mer_malloc((size_t)nclasses * sizeof *avg, err);
    if (!acc || !avg) {
        free(parent);
        free(acc);
        free(avg);
        return -1;
    }
    for (int i = 0; i < nclasses; i++) count[i] = 0;
    for (int i = 0; i < n; i++) {
        int k = label[i];
        for (int j = 0; j < 4; j++) acc[k][j] += rects[i][j];
        count[k]++;
    }
    for (int i = 0; i < nclasses; i++) {
        float s = 1.f / count[i];
        for (int j = 0; j < 4; j++) avg[i][j] = (int)lrintf((float)(int)acc[i][j] * s);
    }
    int out = 0;
    for (int i = 0; i < nclasses; i++) {
        int n1 = count[i];
        if (n1 <= min_neighbors) continue;
        const int *r1 = avg[i];
        int j;
        for (j = 0; j < nclasses; j++) {
            int n2 = count[j];
            if (j == i || n2 <= min_neighbors) continue;
            const int *r2 = avg[j];
            int dx = (int)lrint(r2[2] * eps), dy = (int)lrint(r2[3] * eps);
            if (r1[0] >= r2[0] - dx && r1[1] >= r2[1] - dy && r1[0] + r1[2] <= r2[0] + r2[2] + dx &&
                r1[1] + r1[3] <= r2[1] + r2[3] + dy && (n2 > (n1 > 3 ? n1 : 3) || n1 < 3))
                break;
        }
        if (j == nclasses) memcpy(rects[out++], r1, sizeof rects[0]);
    }
    *n_io = out;
    free(parent);
    free(acc);
    free(avg);
    return 0;
}

/* ---------------------------------------------------------------- detectMultiScale */

int cascade_detect(int (**boxes)[4], int *nboxes, const cascade *c, const uint8_t *grey, int w, int h,
                   const cascade_opts *o, mer_err *err) {
    *boxes = NULL;
    *nboxes = 0;
    if (!grey || w <= 0 || h <= 0) return mer_errf(err, "empty image (%dx%d)", w, h);
    if (!(o->scale_factor > 1.0) || !isfinite(o->scale_factor))
        return mer_errf(err, "scale factor must be > 1 (got %g)", o->scale_factor);
    if (o->min_w < 0 || o->min_h < 0 || o->max_w < 0 || o->max_h < 0)
        return mer_errf(err, "min/max object sizes must be >= 0");
    int max_w = o->max_w, max_h = o->max_h;
    if (max_w == 0 || max_h == 0) max_w = w, max_h = h;
    int W = c->win_w, H = c->win_h;

    /* scales, as OpenCV lists them */
    int nscales = 0, scap = 64;
    float *scales = mer_malloc(sizeof(float) * (size_t)scap, err);
    if (!scales) return -1;
    for (double f = 1;; f *= o->scale_factor) {
        long ww = lrint(W * f), wh = lrint(H * f);
        if (ww > max_w || wh > max_h || ww > w || wh > h) break;
        if (ww < o->min_w || wh < o->min_h) continue;
        if (nscales == 100000) { /* e.g. scale factor 1.0000001 on a large image */
            free(scales);
            return mer_errf(err, "scale factor %g gives more than 100000 pyramid levels", o->scale_factor);
        }
        if (nscales == scap) {
            scap *= 2;
            float *ns = realloc(scales, sizeof(float) * (size_t)scap);
            if (!ns) {
                free(scales);
                return mer_errf(err, "out of memory");
            }
            scales = ns;
        }
        scales[nscales++] = (float)f;
    }
    rect_list cand = {0};
    if (nscales == 0) {
        free(scales);
        return 0;
    }

    size_t npix = (size_t)w * h, nint = (size_t)(w + 1) * (h + 1);
    uint8_t *small = mer_malloc(npix, err);
    uint32_t *sum = small ? mer_malloc(sizeof(uint32_t) * nint, err) : NULL;
    uint32_t *sq = sum ? mer_malloc(sizeof(uint32_t) * nint, err) : NULL;
    uint32_t *tilt = (sq && c->has_tilted) ? mer_malloc(sizeof(uint32_t) * nint, err) : NULL;
    size_t nopt = (size_t)c->nfeat;
    opt_haar *oh = NULL;
    int(*ol)[16] = NULL;
    if (sq) {
        if (c->type == FEAT_HAAR) oh = mer_malloc(nopt * sizeof *oh, err);
        else ol = mer_malloc(nopt * sizeof *ol, err);
    }
    int rc = 0;
    if (!sq || (c->has_tilted && !tilt) || (!oh && !ol)) {
        rc = -1;
        goto done;
    }

    for (int k = 0; k < nscales; k++) {
        float sc = scales[k];
        int sw = (int)lrintf((float)w / sc), sh = (int)lrintf((float)h / sc);
        int ystep = sc >= 2 ? 1 : 2;
        int ww = sw + 1 - W, wh = sh + 1 - H;
        if (ww <= 0 || wh <= 0 || sw > w || sh > h) continue;
        if (cv_resize_linear_exact_u8(small, sw, sh, grey, w, h, err) < 0) {
            rc = -1;
            goto done;
        }
        int stride = sw + 1;
        integral_sum_sq(sum, c->type == FEAT_HAAR ? sq : NULL, small, sw, sh);
        if (c->has_tilted) integral_tilted(tilt, small, sw, sh);
        evaluator e = {.c = c, .sum = sum, .sq = sq, .tilt = tilt, .oh = oh,
                       .ol = (const int(*)[16])ol};
        if (c->type == FEAT_HAAR) {
            corners(e.nofs, 1, 1, W - 2, H - 2, stride);
            for (size_t i = 0; i < nopt; i++) {
                const haar_feature *f = &c->haar[i];
                oh[i].tilted = f->tilted;
                for (int r = 0; r < 3; r++) {
                    oh[i].weight[r] = f->weight[r];
                    if (f->tilted)
                        tilted_corners(oh[i].ofs[r], f->rect[r][0], f->rect[r][1], f->rect[r][2], f->rect[r][3], stride);
                    else
                        corners(oh[i].ofs[r], f->rect[r][0], f->rect[r][1], f->rect[r][2], f->rect[r][3], stride);
                }
            }
        } else {
            for (size_t i = 0; i < nopt; i++) {
                int x0 = c->lbp[i][0], y0 = c->lbp[i][1], bw = c->lbp[i][2], bh = c->lbp[i][3];
                for (int r = 0; r < 4; r++)
                    for (int q = 0; q < 4; q++) ol[i][4 * r + q] = (y0 + r * bh) * stride + x0 + q * bw;
            }
        }
        int win_w = (int)lrintf((float)W * sc), win_h = (int)lrintf((float)H * sc);
        for (int y = 0; y < wh; y += ystep)
            for (int x = 0; x < ww; x += ystep) {
                size_t pofs = (size_t)y * stride + x;
                int r = c->type == FEAT_HAAR ? run_haar(&e, pofs) : run_lbp(&e, pofs);
                if (r > 0 &&
                    push_rect(&cand, (int)lrintf((float)x * sc), (int)lrintf((float)y * sc), win_w, win_h, err) < 0) {
                    rc = -1;
                    goto done;
                }
                if (r == 0) x += ystep;
            }
    }
    if (cv_group_rectangles(cand.r, &cand.n, o->min_neighbors, err) < 0) {
        rc = -1;
        goto done;
    }
    /* clipObjects: intersect with the image, drop empty boxes */
    int m = 0;
    for (int i = 0; i < cand.n; i++) {
        int *r = cand.r[i];
        int x1 = r[0] > 0 ? r[0] : 0, y1 = r[1] > 0 ? r[1] : 0;
        int x2 = r[0] + r[2] < w ? r[0] + r[2] : w, y2 = r[1] + r[3] < h ? r[1] + r[3] : h;
        if (x2 - x1 <= 0 || y2 - y1 <= 0) continue;
        cand.r[m][0] = x1, cand.r[m][1] = y1, cand.r[m][2] = x2 - x1, cand.r[m][3] = y2 - y1;
        m++;
    }
    cand.n = m;
done:
    free(scales);
    free(small);
    free(sum);
    free(sq);
    free(tilt);
    free(oh);
    free(ol);
    if (rc < 0 || cand.n == 0) {
        free(cand.r);
        return rc;
    }
    *boxes = cand.r;
    *nboxes = cand.n;
    return 0;
}
