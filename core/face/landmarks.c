/* dlib shape_predictor: deserialisation (dlib serialize.h formats) and prediction.
 * Float/double choices follow dlib so that results match bit for bit in practice: shapes,
 * deltas, leaves and the similarity matrix are float; the box transform is double. */
#include "core/face/landmarks.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint32_t idx1, idx2;
    float thresh;
} split_feature;

typedef struct {
    int nsplits;        /* leaves = nsplits + 1 */
    size_t split_ofs;   /* into splits */
    size_t leaf_ofs;    /* into leaves, in units of floats */
} rtree;

typedef struct {
    int ntrees, npix;
    size_t tree_ofs;  /* into trees */
    size_t pix_ofs;   /* into anchor/delta */
} cascade_level;

struct shape_model {
    int nparts, nlevels;
    float *mean;          /* 2*nparts */
    cascade_level *levels;
    rtree *trees;
    split_feature *splits;
    float *leaves;        /* per leaf 2*nparts floats */
    uint32_t *anchor;     /* per feature pixel */
    float (*delta)[2];
    size_t ntrees, nsplits, nleaves, npix;
    int max_level_pix; /* largest feature pool of one cascade level */
};

void shape_model_free(shape_model *m) {
    if (!m) return;
    free(m->mean);
    free(m->levels);
    free(m->trees);
    free(m->splits);
    free(m->leaves);
    free(m->anchor);
    free(m->delta);
    free(m);
}

int shape_model_parts(const shape_model *m) { return m->nparts; }
const float *shape_model_mean(const shape_model *m) { return m->mean; }

/* ---------------------------------------------------------------- byte reader */

typedef struct {
    FILE *f;              /* either a file ... */
    const uint8_t *mem;   /* ... or memory */
    size_t len, pos;
    const char *path;
    mer_err *err;
} reader;

static int rd_byte(reader *r) {
    if (r->f) {
        int c = getc_unlocked(r->f);
        if (c != EOF) r->pos++;
        return c;
    }
    return r->pos < r->len ? r->mem[r->pos++] : EOF;
}

static int rd_fail(reader *r, const char *what) {
    if (r->f && ferror(r->f))
        mer_err_errno(r->err, errno, "%s: read error at byte %zu: %s", r->path, r->pos, strerror(errno));
    else
        mer_errk(r->err, MER_ERR_CONFIG, "%s: not a dlib shape_predictor file (byte %zu: %s)", r->path, r->pos, what);
    return -1; /* spelled out: the compiler then sees that callers return before using their outputs */
}

/* dlib pack_int: control byte (bit 7 sign, low nibble byte count), then |value| little-endian. */
static int rd_int(reader *r, int64_t *v, int max_bytes, int is_signed, const char *what) {
    int c = rd_byte(r);
    if (c == EOF) return rd_fail(r, "unexpected end of file");
    int neg = (c & 0x80) != 0, n = c & 0x0F;
    if ((c & 0x70) || n == 0 || n > max_bytes || (neg && !is_signed)) return rd_fail(r, what);
    uint64_t u = 0;
    for (int i = 0; i < n; i++) {
        int b = rd_byte(r);
        if (b == EOF) return rd_fail(r, "unexpected end of file");
        u |= (uint64_t)b << (8 * i);
    }
    if (n == 8 && (u >> 63)) return rd_fail(r, what);
    *v = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

static int rd_size(reader *r, size_t *n, size_t max, const char *what) {
    int64_t v;
    if (rd_int(r, &v, 8, 0, what) < 0) return -1;
    if ((uint64_t)v > max) return rd_fail(r, what);
    *n = (size_t)v;
    return 0;
}

/* dlib float: int64 mantissa then int16 exponent, value = ldexp(mantissa, exponent). */
static int rd_float(reader *r, float *out, const char *what) {
    int64_t mant, ex;
    if (rd_int(r, &mant, 8, 1, what) < 0 || rd_int(r, &ex, 2, 1, what) < 0) return -1;
    if (ex >= 32000 || ex < -32768) return rd_fail(r, "infinite or NaN value in the model");
    float v = ldexpf((float)mant, (int)ex);
    if (!isfinite(v)) return rd_fail(r, "value out of float range");
    *out = v;
    return 0;
}

/* matrix<float,0,1>: -nr, -nc (negative = current format; positive accepted as the old one), data. */
static int rd_column(reader *r, float *out, size_t want, const char *what) {
    int64_t nr, nc;
    if (rd_int(r, &nr, 8, 1, what) < 0 || rd_int(r, &nc, 8, 1, what) < 0) return -1;
    if (nr < 0) nr = -nr;
    if (nc < 0) nc = -nc;
    if (nc != 1 || (size_t)nr != want) return rd_fail(r, what);
    for (size_t i = 0; i < want; i++)
        if (rd_float(r, &out[i], what) < 0) return -1;
    return 0;
}

/* Growable arrays: grow *p (element size es) to hold at least n elements. */
static int grow(void **p, size_t *cap, size_t n, size_t es, reader *r) {
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < n) c *= 2;
    void *q = realloc(*p, c * es);
    if (!q) return mer_errf(r->err, "%s: out of memory reading the model", r->path);
    *p = q;
    *cap = c;
    return 0;
}

#define MAX_COUNT ((size_t)1 << 24) /* sanity bound on any vector length in the file */

static int parse(shape_model *m, reader *r) {
    int64_t version;
    if (rd_int(r, &version, 4, 1, "version") < 0) return -1;
    if (version != 1) return rd_fail(r, "unsupported shape_predictor version (expected 1)");
    /* initial shape */
    int64_t nr, nc;
    if (rd_int(r, &nr, 8, 1, "initial shape rows") < 0 || rd_int(r, &nc, 8, 1, "initial shape columns") < 0) return -1;
    if (nr < 0) nr = -nr;
    if (nc < 0) nc = -nc;
    if (nc != 1 || nr < 2 || nr % 2 || nr > 2 * 10000) return rd_fail(r, "initial shape must be a column of 2*parts floats");
    m->nparts = (int)(nr / 2);
    size_t dim = (size_t)nr;
    m->mean = malloc(sizeof(float) * dim);
    if (!m->mean) return mer_errf(r->err, "%s: out of memory", r->path);
    for (size_t i = 0; i < dim; i++)
        if (rd_float(r, &m->mean[i], "initial shape value") < 0) return -1;
    /* forests */
    size_t nlev;
    if (rd_size(r, &nlev, 1000, "number of cascades") < 0) return -1;
    if (nlev == 0) return rd_fail(r, "no cascades");
    m->nlevels = (int)nlev;
    m->levels = calloc(nlev, sizeof *m->levels);
    if (!m->levels) return mer_errf(r->err, "%s: out of memory", r->path);
    size_t tcap = 0, scap = 0, lcap = 0;
    for (size_t c = 0; c < nlev; c++) {
        size_t nt;
        if (rd_size(r, &nt, MAX_COUNT, "number of trees") < 0) return -1;
        m->levels[c].ntrees = (int)nt;
        m->levels[c].tree_ofs = m->ntrees;
        if (grow((void **)&m->trees, &tcap, m->ntrees + nt, sizeof *m->trees, r) < 0) return -1;
        for (size_t t = 0; t < nt; t++) {
            size_t ns, nl;
            if (rd_size(r, &ns, 1 << 20, "number of splits") < 0) return -1;
            rtree *tr = &m->trees[m->ntrees++];
            tr->nsplits = (int)ns;
            tr->split_ofs = m->nsplits;
            if (grow((void **)&m->splits, &scap, m->nsplits + ns, sizeof *m->splits, r) < 0) return -1;
            for (size_t s = 0; s < ns; s++) {
                int64_t a, b;
                split_feature *sp = &m->splits[m->nsplits++];
                if (rd_int(r, &a, 8, 0, "split pixel index") < 0 || rd_int(r, &b, 8, 0, "split pixel index") < 0 ||
                    rd_float(r, &sp->thresh, "split threshold") < 0)
                    return -1;
                if (a > (int64_t)MAX_COUNT || b > (int64_t)MAX_COUNT) return rd_fail(r, "split pixel index too large");
                sp->idx1 = (uint32_t)a;
                sp->idx2 = (uint32_t)b;
            }
            if (rd_size(r, &nl, 1 << 21, "number of leaves") < 0) return -1;
            if (nl != ns + 1) return rd_fail(r, "a tree must have one more leaf than splits");
            tr->leaf_ofs = m->nleaves * dim;
            if (grow((void **)&m->leaves, &lcap, (m->nleaves + nl) * dim, sizeof *m->leaves, r) < 0) return -1;
            for (size_t l = 0; l < nl; l++)
                if (rd_column(r, m->leaves + (m->nleaves + l) * dim, dim, "leaf vector (136x1 expected)") < 0) return -1;
            m->nleaves += nl;
        }
    }
    /* anchor_idx */
    size_t n;
    if (rd_size(r, &n, 1000, "number of anchor vectors") < 0) return -1;
    if (n != nlev) return rd_fail(r, "anchor_idx must have one vector per cascade");
    size_t acap = 0;
    for (size_t c = 0; c < nlev; c++) {
        size_t np;
        if (rd_size(r, &np, MAX_COUNT, "number of anchors") < 0) return -1;
        m->levels[c].npix = (int)np;
        m->levels[c].pix_ofs = m->npix;
        if ((int)np > m->max_level_pix) m->max_level_pix = (int)np;
        if (grow((void **)&m->anchor, &acap, m->npix + np, sizeof *m->anchor, r) < 0) return -1;
        for (size_t i = 0; i < np; i++) {
            int64_t a;
            if (rd_int(r, &a, 8, 0, "anchor index") < 0) return -1;
            if (a >= m->nparts) return rd_fail(r, "anchor index out of range");
            m->anchor[m->npix + i] = (uint32_t)a;
        }
        m->npix += np;
    }
    /* deltas */
    if (rd_size(r, &n, 1000, "number of delta vectors") < 0) return -1;
    if (n != nlev) return rd_fail(r, "deltas must have one vector per cascade");
    m->delta = malloc(sizeof *m->delta * (m->npix ? m->npix : 1));
    if (!m->delta) return mer_errf(r->err, "%s: out of memory", r->path);
    for (size_t c = 0; c < nlev; c++) {
        size_t np;
        if (rd_size(r, &np, MAX_COUNT, "number of deltas") < 0) return -1;
        if ((int)np != m->levels[c].npix) return rd_fail(r, "deltas and anchors differ in length");
        for (size_t i = 0; i < np; i++) {
            float *d = m->delta[m->levels[c].pix_ofs + i];
            if (rd_float(r, &d[0], "delta x") < 0 || rd_float(r, &d[1], "delta y") < 0) return -1;
        }
    }
    /* split indices must address this cascade's feature pixels */
    for (size_t c = 0; c < nlev; c++) {
        const cascade_level *L = &m->levels[c];
        for (int t = 0; t < L->ntrees; t++) {
            const rtree *tr = &m->trees[L->tree_ofs + t];
            for (int s = 0; s < tr->nsplits; s++) {
                const split_feature *sp = &m->splits[tr->split_ofs + s];
                if (sp->idx1 >= (uint32_t)L->npix || sp->idx2 >= (uint32_t)L->npix)
                    return mer_errk(r->err, MER_ERR_CONFIG,
                                    "%s: invalid shape_predictor: split refers to feature pixel %u of %d", r->path,
                                    sp->idx1 > sp->idx2 ? sp->idx1 : sp->idx2, L->npix);
            }
        }
    }
    return 0;
}

static int load(shape_model **out, reader *r) {
    *out = NULL;
    shape_model *m = calloc(1, sizeof *m);
    if (!m) return mer_errf(r->err, "%s: out of memory", r->path);
    if (parse(m, r) < 0) {
        shape_model_free(m);
        return -1;
    }
    *out = m;
    return 0;
}

int shape_model_load_mem(shape_model **out, const uint8_t *data, size_t len, const char *path, mer_err *err) {
    reader r = {.mem = data, .len = len, .path = path, .err = err};
    int rc = load(out, &r);
    if (rc == 0 && r.pos != len) {
        shape_model_free(*out);
        *out = NULL;
        return mer_errk(err, MER_ERR_CONFIG, "%s: %zu unexpected bytes after the shape_predictor", path, len - r.pos);
    }
    return rc;
}

int shape_model_load(shape_model **out, const char *path, mer_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return mer_err_errno(err, errno, "%s: cannot open: %s", path, strerror(errno));
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    reader r = {.f = f, .path = path, .err = err};
    int rc = load(out, &r);
    if (rc == 0 && getc(f) != EOF) {
        shape_model_free(*out);
        *out = NULL;
        rc = mer_errk(err, MER_ERR_CONFIG, "%s: unexpected bytes after the shape_predictor at byte %zu", path, r.pos);
    }
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- prediction */

void shape_predict(double (*pts)[2], const shape_model *m, const uint8_t *grey, int w, int h, const long rect[4]) {
    int np = m->nparts;
    size_t dim = 2 * (size_t)np;
    float cur_buf[2 * 256], *cur = np <= 256 ? cur_buf : malloc(sizeof(float) * dim);
    float feat_buf[1024], *feat = m->max_level_pix <= 1024 ? feat_buf : malloc(sizeof(float) * (size_t)m->max_level_pix);
    if (!cur || !feat) { /* only for models far larger than dlib's 68-point one */
        if (cur != cur_buf) free(cur);
        if (feat != feat_buf) free(feat);
        for (int i = 0; i < np; i++) pts[i][0] = pts[i][1] = NAN;
        return;
    }
    memcpy(cur, m->mean, sizeof(float) * dim);
    /* unnormalising transform: (0,0)->(L,T), (1,0)->(R,T), (1,1)->(R,B) (corners as float, like dlib) */
    double L = (float)rect[0], T = (float)rect[1], sx = (float)rect[2] - L, sy = (float)rect[3] - T;
    /* mean of the initial shape, fixed */
    double mx = 0, my = 0;
    for (int i = 0; i < np; i++) mx += m->mean[2 * i], my += m->mean[2 * i + 1];
    mx /= np, my /= np;
    double V = 0;
    for (int i = 0; i < np; i++) {
        double dx = m->mean[2 * i] - mx, dy = m->mean[2 * i + 1] - my;
        V += dx * dx + dy * dy;
    }
    for (int c = 0; c < m->nlevels; c++) {
        const cascade_level *lv = &m->levels[c];
        /* similarity (scale x rotation) taking the initial shape to the current one, least squares */
        double ux = 0, uy = 0;
        for (int i = 0; i < np; i++) ux += cur[2 * i], uy += cur[2 * i + 1];
        ux /= np, uy /= np;
        double sxx = 0, syy = 0, sxy = 0, syx = 0;
        for (int i = 0; i < np; i++) {
            double ix = m->mean[2 * i] - mx, iy = m->mean[2 * i + 1] - my;
            double cx = cur[2 * i] - ux, cy = cur[2 * i + 1] - uy;
            sxx += ix * cx, syy += iy * cy, sxy += ix * cy, syx += iy * cx;
        }
        float a = (float)((sxx + syy) / V), b = (float)((sxy - syx) / V);
        float *fv = feat;
        for (int j = 0; j < lv->npix; j++) {
            size_t k = lv->pix_ofs + (size_t)j;
            const float *d = m->delta[k];
            uint32_t an = m->anchor[k];
            float qx = (a * d[0] + (-b) * d[1]) + cur[2 * an];
            float qy = (b * d[0] + a * d[1]) + cur[2 * an + 1];
            double px = floor(sx * qx + L + 0.5), py = floor(sy * qy + T + 0.5);
            fv[j] = (px >= 0 && py >= 0 && px < w && py < h) ? (float)grey[(size_t)py * w + (size_t)px] : 0.0f;
        }
        for (int t = 0; t < lv->ntrees; t++) {
            const rtree *tr = &m->trees[lv->tree_ofs + t];
            const split_feature *sp = m->splits + tr->split_ofs;
            int i = 0;
            while (i < tr->nsplits) i = (fv[sp[i].idx1] - fv[sp[i].idx2] > sp[i].thresh) ? 2 * i + 1 : 2 * i + 2;
            const float *leaf = m->leaves + tr->leaf_ofs + (size_t)(i - tr->nsplits) * dim;
            for (size_t q = 0; q < dim; q++) cur[q] += leaf[q];
        }
    }
    for (int i = 0; i < np; i++) {
        pts[i][0] = sx * cur[2 * i] + L;
        pts[i][1] = sy * cur[2 * i + 1] + T;
    }
    if (cur != cur_buf) free(cur);
    if (feat != feat_buf) free(feat);
}
