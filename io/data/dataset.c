/* Dataset readers (see dataset.h for formats and policy). */
#include "io/data/dataset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "io/data/csv.h"
#include "io/data/formats.h"
#include "io/data/loader.h"
#include "io/data/synth.h"
#include "io/media/video.h"

#define PATH_MAXLEN 4096

/* ---- class sets and vocabularies (data) ------------------------------------------------------ */

typedef struct {
    const char *format;
    const char *const *vocab;     /* emotions the sheet may contain (lower case); NULL = anything */
    const char *const *defaults;  /* usual class set, label order */
} format_info;

static const char *const CASME2_VOCAB[] = {"happiness", "disgust", "repression", "surprise", "others",
                                           "sadness", "fear", NULL};
static const char *const SAMM_VOCAB[] = {"anger", "contempt", "happiness", "surprise", "other",
                                         "disgust", "fear", "sadness", NULL};
static const char *const SMIC_VOCAB[] = {"negative", "positive", "surprise", NULL};

/* Samples of the public sheets without a usable label: skipped with a warning. */
static const struct {
    const char *source, *subject, *clip;
} KNOWN_UNLABELLED[] = {{"casme2", "sub09", "EP02_02f"}, {"casme2", "sub24", "EP02_07"}};

static const char *const VIDEO_EXT[] = {".avi", ".mp4", ".mkv", ".mov", ".webm", ".nut", NULL};

/* ---- small helpers ---------------------------------------------------------------------------- */

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

void ds_lower_trim(char *dst, size_t n, const char *src) {
    while (*src && isspace((unsigned char)*src)) src++;
    size_t len = strlen(src);
    while (len && isspace((unsigned char)src[len - 1])) len--;
    if (len >= n) len = n - 1;
    for (size_t i = 0; i < len; i++) dst[i] = (char)tolower((unsigned char)src[i]);
    dst[len] = 0;
}

int ds_in_list(const char *const *list, const char *s) {
    for (size_t i = 0; list && list[i]; i++)
        if (!strcasecmp(list[i], s)) return 1;
    return 0;
}

void ds_list_join(char *out, size_t n, const char *const *list) {
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; list[i] && len < n; i++) len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", list[i]);
}

/* Growable arrays (realloc x2). Returns -1 and fills err on OOM. */
static int grow(void **p, size_t *cap, size_t need, size_t elem, mer_err *err) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return mer_errf(err, "out of memory");
    *p = q;
    *cap = nc;
    return 0;
}

/* Build state that does not belong in the public struct. */

static void problem(ds_loader *L, ds_severity sev, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void problem(ds_loader *L, ds_severity sev, const char *file, int line, const char *fmt, ...) {
    dataset *d = L->d;
    if (grow((void **)&d->problems, &L->cap_p, d->n_problems + 1, sizeof *d->problems, NULL)) return;
    va_list ap;
    va_start(ap, fmt);
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ds_problem *p = &d->problems[d->n_problems];
    p->severity = sev;
    p->file = file;
    p->line = line;
    p->msg = xstrdup(buf);
    if (p->msg) d->n_problems++;
}

const char *ds_add_file(ds_loader *L, const char *path) {
    dataset *d = L->d;
    if (grow((void **)&d->files, &L->cap_f, d->n_files + 1, sizeof *d->files, L->err)) return NULL;
    char *p = xstrdup(path);
    if (!p) {
        mer_errf(L->err, "out of memory");
        return NULL;
    }
    d->files[d->n_files++] = p;
    return p;
}

static void sample_free(ds_sample *s) {
    free(s->subject);
    free(s->clip);
    free(s->id);
    free(s->path);
    free(s->emotion);
    free(s->raw_emotion);
    free(s->aus);
    free(s->source);
}

/* include/exclude patterns */
static int selected(const mer_config *cfg, const char *id) {
    if (cfg->dataset_include.n) {
        int any = 0;
        for (size_t i = 0; i < cfg->dataset_include.n && !any; i++)
            any = fnmatch(cfg->dataset_include.v[i], id, 0) == 0;
        if (!any) return 0;
    }
    for (size_t i = 0; i < cfg->dataset_exclude.n; i++)
        if (fnmatch(cfg->dataset_exclude.v[i], id, 0) == 0) return 0;
    return 1;
}

/* Frame number field: 0 ok, 1 missing marker ("/", "-", "", "n/a", negative), -1 not a number.
 * Accepts "46", " 46 ", "46.0" (spreadsheet exports). */
static int parse_frame(const char *s, int *v) {
    while (isspace((unsigned char)*s)) s++;
    if (!*s || !strcmp(s, "/") || !strcmp(s, "-") || !strcasecmp(s, "n/a") || !strcasecmp(s, "na") ||
        !strcasecmp(s, "none") || !strcasecmp(s, "nan"))
        return 1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    while (isspace((unsigned char)*end)) end++;
    if (errno || end == s || *end || x != x || x > 2e9 || x < -2e9 || x != (double)(long)x) return -1;
    if (x < 0) return 1;
    *v = (int)x;
    return 0;
}

/* Clip path: ROOT/SUBJ/CLIP as a folder, else ROOT/SUBJ/CLIP.<video ext>, else the folder path (the check
 * reports it missing). */
static char *clip_location(const char *dir, const char *clip) {
    char *p = ds_strf("%s/%s", dir, clip);
    if (!p || ds_is_dir(p)) return p;
    for (int i = 0; VIDEO_EXT[i]; i++) {
        char *v = ds_strf("%s%s", p, VIDEO_EXT[i]);
        if (v && is_file(v)) {
            free(p);
            return v;
        }
        free(v);
    }
    if (is_file(p)) return p; /* CLIP already names a video file */
    return p;
}

/* Append a sample (strings copied). Checks duplicates. Returns 0, or -1 on OOM (err filled). */
static int add_sample(ds_loader *L, const char *source, const char *subject, const char *clip, char *path_owned,
                      int onset, int apex, int offset, const char *emotion, const char *raw, const char *aus,
                      const char *file, int line) {
    dataset *d = L->d;
    char *id = ds_strf("%s/%s", subject, clip);
    if (!id || !path_owned) {
        free(id);
        free(path_owned);
        return mer_errf(L->err, "out of memory");
    }
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->s[i].id, id)) {
            if (d->s[i].line)
                problem(L, DS_ERROR, file, line, "%s: duplicate of the row on line %d", id, d->s[i].line);
            else
                problem(L, DS_ERROR, file, line, "%s: duplicate sample", id);
            free(id);
            free(path_owned);
            return 0;
        }
    if (grow((void **)&d->s, &L->cap_s, d->n + 1, sizeof *d->s, L->err)) {
        free(id);
        free(path_owned);
        return -1;
    }
    ds_sample *s = &d->s[d->n];
    memset(s, 0, sizeof *s);
    s->subject = xstrdup(subject);
    s->clip = xstrdup(clip);
    s->id = id;
    s->path = path_owned;
    s->onset = onset;
    s->apex = apex;
    s->offset = offset;
    s->label = -1;
    s->emotion = xstrdup(emotion);
    s->raw_emotion = xstrdup(raw);
    s->aus = xstrdup(aus ? aus : "");
    s->source = xstrdup(source);
    s->line = line;
    s->file = file;
    if (!s->subject || !s->clip || !s->emotion || !s->raw_emotion || !s->aus || !s->source) {
        sample_free(s);
        return mer_errf(L->err, "out of memory");
    }
    d->n++;
    return 0;
}

/* onset/apex/offset from the three fields with the defect policy. Returns 0 ok, 1 row skipped (problem
 * recorded). offset_fix: offset before the apex is left for dataset_check to fix from the frames on disk. */
static int frames_of_row(ds_loader *L, const char *file, int line, const char *id, const char *on_s, const char *ap_s,
                         const char *off_s, int warn_no_apex, int *on, int *ap, int *off) {
    int r_on = parse_frame(on_s, on), r_off = parse_frame(off_s, off), r_ap = parse_frame(ap_s, ap);
    if (r_on != 0) {
        problem(L, DS_ERROR, file, line, "%s: onset frame '%s' is not a frame number", id, on_s);
        return 1;
    }
    if (r_off != 0) {
        problem(L, DS_ERROR, file, line, "%s: offset frame '%s' is not a frame number", id, off_s);
        return 1;
    }
    if (r_ap < 0) {
        problem(L, DS_ERROR, file, line, "%s: apex frame '%s' is not a frame number", id, ap_s);
        return 1;
    }
    const cfg_apex_source mode = L->d->apex_mode;
    if (r_ap == 1) {
        if (*off < *on) {
            problem(L, DS_ERROR, file, line, "%s: onset %d after offset %d and no apex", id, *on, *off);
            return 1;
        }
        *ap = mode == CFG_APEX_MIDDLE ? *on + (*off - *on) / 2 : -1;
        if (warn_no_apex && mode == CFG_APEX_MIDDLE)
            problem(L, DS_WARNING, file, line, "%s: apex missing ('%s'): using the midpoint %d of onset %d and offset %d",
                id, ap_s, *ap, *on, *off);
        else if (warn_no_apex && mode == CFG_APEX_ANNOTATED)
            problem(L, DS_WARNING, file, line, "%s: apex missing ('%s'): it will be spotted between onset %d and offset %d",
                id, ap_s, *on, *off);
        return 0;
    }
    if (*ap < *on && mode != CFG_APEX_MIDDLE) {
        if (mode == CFG_APEX_ANNOTATED)
            problem(L, DS_WARNING, file, line, "%s: apex %d before onset %d: it will be spotted", id, *ap, *on);
        *ap = -1;
    } else if (*ap < *on) {
        problem(L, DS_ERROR, file, line, "%s: apex %d before onset %d", id, *ap, *on);
        return 1;
    }
    if (*off < *on) {
        problem(L, DS_ERROR, file, line, "%s: onset %d after offset %d", id, *on, *off);
        return 1;
    }
    /* offset < apex: fixed in dataset_check from the frames on disk (warning there) */
    return 0;
}

/* Find the header row: the first of the first 60 rows that has every one of `need` columns. */

int ds_find_header(ds_loader *L, const csv_table *t, ds_col_spec *cols, size_t n_cols, size_t *header_row) {
    for (size_t r = 0; r < t->n && r < 60; r++) {
        int ok = 1;
        for (size_t c = 0; c < n_cols && ok; c++) {
            size_t na = 0;
            while (cols[c].names[na]) na++;
            cols[c].col = csv_find_col(&t->rows[r], cols[c].names, na);
            if (cols[c].col < 0 && cols[c].required) ok = 0;
        }
        if (ok) {
            *header_row = r;
            return 0;
        }
    }
    /* say what is missing, against the most promising row (the one with the most matches) */
    size_t best = 0;
    int best_hits = -1;
    for (size_t r = 0; r < t->n && r < 60; r++) {
        int hits = 0;
        for (size_t c = 0; c < n_cols; c++) {
            size_t na = 0;
            while (cols[c].names[na]) na++;
            hits += csv_find_col(&t->rows[r], cols[c].names, na) >= 0;
        }
        if (hits > best_hits) best_hits = hits, best = r;
    }
    char missing[512] = "";
    size_t len = 0;
    for (size_t c = 0; c < n_cols; c++) {
        size_t na = 0;
        while (cols[c].names[na]) na++;
        if (cols[c].required && (t->n == 0 || csv_find_col(&t->rows[best], cols[c].names, na) < 0))
            len += (size_t)snprintf(missing + len, len < sizeof missing ? sizeof missing - len : 0, "%s'%s'",
                                    len ? ", " : "", cols[c].names[0]);
    }
    if (t->n == 0) return mer_errf(L->err, "%s: empty file", t->path);
    return mer_errf(L->err, "%s:%d: no header row with the column(s) %s (header matching ignores case, spaces and '_')",
                    t->path, t->rows[best].line, missing);
}

/* ---- CASME II and SAMM (and synth): one sheet reader, two flavours ------------------------------ */

static const char *const COL_SUBJECT[] = {"Subject", "Subjects", NULL};
static const char *const COL_FILENAME[] = {"Filename", "File name", "Clip", NULL};
static const char *const COL_ONSET[] = {"OnsetFrame", "Onset", NULL};
static const char *const COL_APEX[] = {"ApexFrame", "Apex", NULL};
static const char *const COL_OFFSET[] = {"OffsetFrame", "Offset", NULL};
static const char *const COL_EMOTION[] = {"Estimated Emotion", "Emotion", NULL};
static const char *const COL_AUS[] = {"Action Units", "AUs", "AU", NULL};

/* Subject field -> folder name. CASME II: 1 / 01 / sub01 -> sub01; SAMM: 6 / 006 -> 006. */
static int subject_number(char *out, size_t n, const char *field, const char *strip, const char *fmt) {
    char low[64];
    ds_lower_trim(low, sizeof low, field);
    const char *digits = low;
    if (strip && !strncmp(low, strip, strlen(strip))) digits = low + strlen(strip);
    int v;
    if (!*digits || parse_frame(digits, &v) != 0) return -1;
    snprintf(out, n, fmt, v);
    return 0;
}
static int subject_casme2(char *out, size_t n, const char *field) { return subject_number(out, n, field, "sub", "sub%02d"); }
static int subject_samm(char *out, size_t n, const char *field) { return subject_number(out, n, field, NULL, "%03d"); }

static const char *const CASME2_DEFAULT[] = {"happiness", "disgust", "repression", "surprise", "others",
                                             "sadness", "fear", NULL};

/* CASME II and SAMM (and synth, read as casme2) in the table of sheet formats (formats.h); their MEGC2019
 * mapping is composite.c's MEGC_MAP. */
const ds_format DS_FORMAT_CASME2 = {
    .name = "casme2", .title = "CASME II", .vocab = CASME2_VOCAB, .defaults = CASME2_DEFAULT,
    .col_subject = COL_SUBJECT, .col_clip = COL_FILENAME, .col_onset = COL_ONSET, .col_apex = COL_APEX,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = subject_casme2,
};
const ds_format DS_FORMAT_SAMM = {
    .name = "samm", .title = "SAMM", .vocab = SAMM_VOCAB, .defaults = SAMM_VOCAB,
    .col_subject = COL_SUBJECT, .col_clip = COL_FILENAME, .col_onset = COL_ONSET, .col_apex = COL_APEX,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = subject_samm,
};

/* DS_FMT_LENIENT_FRAMES: the corrections by rule (formats.h), then the common policy (frames_of_row: a missing
 * apex is spotted, or the midpoint under dataset.apex middle). An offset before the onset with a usable apex
 * becomes -1: dataset_check puts the last frame on disk there. */
static int frames_lenient(ds_loader *L, const char *file, int line, const char *id, const char *on_s, const char *ap_s,
                          const char *off_s, int warn_no_apex, int *on, int *ap, int *off) {
    int a = 0, o = 0;
    int r_on = parse_frame(on_s, on), r_ap = parse_frame(ap_s, &a), r_off = parse_frame(off_s, &o);
    if (r_on == 0 && r_off == 0 && o < *on && r_ap == 0 && a >= *on) {
        problem(L, DS_WARNING, file, line, "%s: offset %d before onset %d: using the clip's last frame", id, o, *on);
        *ap = a;
        *off = -1;
        return 0;
    }
    if (r_on == 0 && r_ap == 0 && r_off == 0 && o >= *on && (a < *on || a > o)) {
        problem(L, DS_WARNING, file, line, "%s: apex %d outside onset %d..offset %d: treated as missing", id, a, *on, o);
        ap_s = "/";
    }
    return frames_of_row(L, file, line, id, on_s, ap_s, off_s, warn_no_apex, on, ap, off);
}

/* The id's clip name for a row of a DS_FMT_REPEATED_CLIPS format: CLIP, or CLIP_2, CLIP_3, ... when rows
 * before it named the same recording. */
static void repeated_clip(const dataset *d, char *out, size_t n, const char *subject, const char *clip) {
    snprintf(out, n, "%s", clip);
    for (int k = 2;; k++) {
        int taken = 0;
        for (size_t i = 0; i < d->n && !taken; i++) taken = !strcmp(d->s[i].subject, subject) && !strcmp(d->s[i].clip, out);
        if (!taken) return;
        snprintf(out, n, "%s_%d", clip, k);
    }
}

int ds_read_sheet(ds_loader *L, const ds_format *F, const char *root, const char *csv_path,
                      const char *subject_prefix) {
    csv_table t;
    if (csv_read(&t, csv_path, L->err)) return -1;
    const char *file = ds_add_file(L, csv_path);
    if (!file) {
        csv_free(&t);
        return -1;
    }
    static const char *const NO_COLUMN[] = {"(none)", NULL};
    ds_col_spec cols[] = {{F->col_subject, 1, -1}, {F->col_clip, 1, -1}, {F->col_onset, 1, -1},
                       {F->col_apex ? F->col_apex : NO_COLUMN, F->col_apex != NULL, -1},
                       {F->col_offset, 1, -1},  {F->col_emotion, 1, -1},  {F->col_aus, 0, -1}};
    size_t hdr = 0;
    if (ds_find_header(L, &t, cols, sizeof cols / sizeof cols[0], &hdr)) {
        csv_free(&t);
        return -1;
    }
    const int lenient = (F->flags & DS_FMT_LENIENT_FRAMES) != 0;
    char vocab_text[512];
    ds_list_join(vocab_text, sizeof vocab_text, F->vocab);
    int rc = 0;
    size_t no_apex = 0;
    for (size_t r = hdr + 1; r < t.n && rc == 0; r++) {
        const csv_row *row = &t.rows[r];
        if (csv_row_blank(row)) continue;
        const char *subj_f = csv_get(row, cols[0].col), *clip_f = csv_get(row, cols[1].col);
        L->d->n_rows++;
        char folder[64];
        int bad_subject = F->subject(folder, sizeof folder, subj_f) != 0;
        if (bad_subject) snprintf(folder, sizeof folder, "%s", subj_f); /* still excludable by its id */
        char subject[128];
        snprintf(subject, sizeof subject, "%s%s", subject_prefix ? subject_prefix : "", folder);
        char clip[256];
        snprintf(clip, sizeof clip, "%s", clip_f);
        if (F->flags & DS_FMT_REPEATED_CLIPS) repeated_clip(L->d, clip, sizeof clip, subject, clip_f);
        char id[512];
        snprintf(id, sizeof id, "%s/%s", subject, clip);
        if (!selected(L->cfg, id)) {
            L->d->n_excluded++;
            continue;
        }
        if (bad_subject) {
            problem(L, DS_ERROR, file, row->line, "%s: subject '%s' is not a subject number", id, subj_f);
            continue;
        }
        if (!*clip_f) {
            problem(L, DS_ERROR, file, row->line, "%s: empty Filename", subject);
            continue;
        }
        int known_bad = 0;
        for (size_t k = 0; k < sizeof KNOWN_UNLABELLED / sizeof KNOWN_UNLABELLED[0]; k++)
            if (!strcmp(KNOWN_UNLABELLED[k].source, F->name) && !strcmp(KNOWN_UNLABELLED[k].subject, folder) &&
                !strcmp(KNOWN_UNLABELLED[k].clip, clip))
                known_bad = 1;
        if (known_bad) {
            problem(L, DS_WARNING, file, row->line, "%s: known to have no usable label in the published sheet: skipped", id);
            continue;
        }
        const char *emo_f = csv_get(row, cols[5].col);
        char emo[64];
        ds_lower_trim(emo, sizeof emo, emo_f);
        if ((F->flags & DS_FMT_MULTI_EMOTION_SKIP) && strpbrk(emo, "+,/&")) {
            problem(L, DS_WARNING, file, row->line, "%s: several emotions '%s': skipped", id, emo_f);
            continue;
        }
        if (F->vocab && !ds_in_list(F->vocab, emo)) {
            problem(L, DS_ERROR, file, row->line, "%s: unknown emotion '%s' (known: %s)", id, emo_f, vocab_text);
            continue;
        }
        const char *ap_s = F->col_apex ? csv_get(row, cols[3].col) : "/";
        int on, ap, off;
        if ((lenient ? frames_lenient : frames_of_row)(L, file, row->line, id, csv_get(row, cols[2].col), ap_s,
                                                       csv_get(row, cols[4].col), F->col_apex != NULL, &on, &ap, &off))
            continue;
        no_apex += !F->col_apex;
        char *path = NULL;
        if (F->clip_dir) {
            path = F->clip_dir(root, folder, clip_f, emo_f);
        } else {
            char *dir = ds_strf("%s/%s", root, folder);
            path = dir ? clip_location(dir, clip_f) : NULL;
            free(dir);
        }
        rc = add_sample(L, F->name, subject, clip, path, on, ap, off, emo, emo_f,
                        cols[6].col >= 0 ? csv_get(row, cols[6].col) : "", file, row->line);
    }
    if (no_apex && L->d->apex_mode != CFG_APEX_SPOTTED)
        problem(L, DS_WARNING, file, 0, "%s has no apex column: %s in each of its %zu clips", F->title,
                L->d->apex_mode == CFG_APEX_MIDDLE ? "the middle frame is the apex" : "the apex will be spotted", no_apex);
    csv_free(&t);
    return rc;
}

/* ---- SMIC-HS --------------------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Sorted names of the sub-folders of dir (those passing keep). */
static int list_dirs(char ***out, size_t *n, const char *dir, int (*keep)(const char *), mer_err *err) {
    *out = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) return mer_errf(err, "%s: cannot open folder: %s", dir, strerror(errno));
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dp))) {
        if (e->d_name[0] == '.') continue;
        if (keep && !keep(e->d_name)) continue;
        char *p = ds_strf("%s/%s", dir, e->d_name);
        int dirp = p && ds_is_dir(p);
        free(p);
        if (!dirp) continue;
        if (grow((void **)out, &cap, *n + 1, sizeof **out, err) || !((*out)[*n] = xstrdup(e->d_name))) {
            rc = mer_errf(err, "out of memory");
            break;
        }
        (*n)++;
    }
    closedir(dp);
    if (rc) {
        for (size_t i = 0; i < *n; i++) free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    if (*n) qsort(*out, *n, sizeof **out, cmp_str); /* qsort(NULL, 0) is undefined */
    return 0;
}
void ds_free_list(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}
static int smic_subject_name(const char *s) {
    if (s[0] != 's' && s[0] != 'S') return 0;
    if (!s[1]) return 0;
    for (const char *p = s + 1; *p; p++)
        if (!isdigit((unsigned char)*p)) return 0;
    return 1;
}

/* The annotation row of SMIC clip (subject folder "s1", clip) — subject written "s1" or "1". */
static const csv_row *smic_find_row(const csv_table *t, size_t hdr, int col_subject, int col_clip, const char *subject,
                                    const char *clip_name) {
    char want[64];
    ds_lower_trim(want, sizeof want, subject);
    for (size_t r = hdr + 1; r < t->n; r++) {
        const csv_row *row = &t->rows[r];
        char sj[64], cl[256];
        ds_lower_trim(sj, sizeof sj, csv_get(row, col_subject));
        ds_lower_trim(cl, sizeof cl, csv_get(row, col_clip));
        int subj_ok = !strcmp(sj, want) || (sj[0] != 's' && !strcmp(sj, want + 1));
        if (subj_ok && !strcasecmp(cl, clip_name)) return row;
    }
    return NULL;
}

int ds_read_smic(ds_loader *L, const char *root, const char *csv_path, const char *subject_prefix) {
    if (!ds_is_dir(root)) return mer_errf(L->err, "%s: SMIC root folder not found (dataset.root = the HS folder)", root);
    char **subjects = NULL;
    size_t ns = 0;
    if (list_dirs(&subjects, &ns, root, smic_subject_name, L->err)) return -1;
    if (ns == 0) {
        ds_free_list(subjects, ns);
        return mer_errf(L->err, "%s: no subject folders s1, s2, ... (expected ROOT/s1/micro/negative/...)", root);
    }
    /* optional annotations: (subject, clip) -> onset, offset */
    csv_table t = {0};
    const char *file = NULL;
    ds_col_spec cols[] = {{COL_SUBJECT, 1, -1}, {COL_FILENAME, 1, -1}, {COL_ONSET, 1, -1}, {COL_OFFSET, 1, -1}};
    size_t hdr = 0;
    char *used = NULL;
    if (csv_path && *csv_path) {
        if (csv_read(&t, csv_path, L->err) || !(file = ds_add_file(L, csv_path)) ||
            ds_find_header(L, &t, cols, 4, &hdr) || !(used = calloc(t.n ? t.n : 1, 1))) {
            if (!used && file) mer_errf(L->err, "out of memory");
            csv_free(&t);
            ds_free_list(subjects, ns);
            return -1;
        }
    }
    int rc = 0;
    for (size_t si = 0; si < ns && rc == 0; si++) {
        for (int ci = 0; SMIC_VOCAB[ci] && rc == 0; ci++) {
            char *cdir = ds_strf("%s/%s/micro/%s", root, subjects[si], SMIC_VOCAB[ci]);
            if (!cdir) {
                rc = mer_errf(L->err, "out of memory");
                break;
            }
            char **clips = NULL;
            size_t nc = 0;
            if (!ds_is_dir(cdir)) {
                free(cdir);
                continue;
            }
            if (list_dirs(&clips, &nc, cdir, NULL, L->err)) {
                free(cdir);
                rc = -1;
                break;
            }
            for (size_t k = 0; k < nc && rc == 0; k++) {
                L->d->n_rows++;
                char subject[128], id[512];
                snprintf(subject, sizeof subject, "%s%s", subject_prefix ? subject_prefix : "", subjects[si]);
                snprintf(id, sizeof id, "%s/%s", subject, clips[k]);
                const csv_row *row = file ? smic_find_row(&t, hdr, cols[0].col, cols[1].col, subjects[si], clips[k]) : NULL;
                if (row) used[row - t.rows] = 1;
                if (!selected(L->cfg, id)) {
                    L->d->n_excluded++;
                    continue;
                }
                char *path = ds_strf("%s/%s", cdir, clips[k]);
                int on = -1, off = -1, line = 0;
                if (row) {
                    int ap_unused;
                    line = row->line;
                    if (frames_of_row(L, file, line, id, csv_get(row, cols[2].col), "/", csv_get(row, cols[3].col), 0,
                                      &on, &ap_unused, &off))
                        on = -2; /* row error recorded */
                }
                if (on == -2) {
                    free(path);
                    continue;
                }
                if (on < 0) { /* from the frames found */
                    clip *c = NULL;
                    mer_err e2 = {0};
                    if (!path || clip_open(&c, path, &e2)) {
                        problem(L, DS_ERROR, NULL, 0, "%s: %s", id, path ? e2.msg : "out of memory");
                        free(path);
                        continue;
                    }
                    size_t nf = 0;
                    const int *fr = clip_frame_numbers(c, &nf);
                    if (nf == 0) {
                        problem(L, DS_ERROR, NULL, 0, "%s: no frames in %s", id, path);
                        clip_close(c);
                        free(path);
                        continue;
                    }
                    on = fr[0];
                    off = fr[nf - 1];
                    clip_close(c);
                }
                /* SMIC has no apex: spotted, or the middle frame (the common convention) */
                int ap = L->d->apex_mode == CFG_APEX_MIDDLE ? on + (off - on) / 2 : -1;
                rc = add_sample(L, "smic", subject, clips[k], path, on, ap, off, SMIC_VOCAB[ci], SMIC_VOCAB[ci], "",
                                file, line);
            }
            ds_free_list(clips, nc);
            free(cdir);
        }
    }
    if (rc == 0 && file)
        for (size_t r = hdr + 1; r < t.n; r++)
            if (!used[r] && !csv_row_blank(&t.rows[r]))
                problem(L, DS_ERROR, file, t.rows[r].line, "%s/%s: no such clip folder under %s/<subject>/micro/<class>/",
                        csv_get(&t.rows[r], cols[0].col), csv_get(&t.rows[r], cols[1].col), root);
    free(used);
    csv_free(&t);
    ds_free_list(subjects, ns);
    return rc;
}

/* ---- manifest ------------------------------------------------------------------------------------ */

static const char *const COL_CLIP[] = {"clip", "path", "Filename", NULL};
static const char *const COL_LABEL[] = {"label", "class", "emotion", "Estimated Emotion", NULL};

char *ds_dirname_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return xstrdup(".");
    if (slash == path) return xstrdup("/");
    return ds_strf("%.*s", (int)(slash - path), path);
}

static int read_manifest(ds_loader *L, const char *root, const char *csv_path) {
    csv_table t;
    if (csv_read(&t, csv_path, L->err)) return -1;
    const char *file = ds_add_file(L, csv_path);
    ds_col_spec cols[] = {{COL_SUBJECT, 1, -1}, {COL_CLIP, 1, -1},   {COL_ONSET, 1, -1},
                       {COL_APEX, 1, -1},    {COL_OFFSET, 1, -1}, {COL_LABEL, 1, -1}};
    size_t hdr = 0;
    if (!file || ds_find_header(L, &t, cols, 6, &hdr)) {
        csv_free(&t);
        return -1;
    }
    char *base = (root && *root) ? xstrdup(root) : ds_dirname_of(csv_path);
    if (!base) {
        csv_free(&t);
        return mer_errf(L->err, "out of memory");
    }
    int rc = 0;
    for (size_t r = hdr + 1; r < t.n && rc == 0; r++) {
        const csv_row *row = &t.rows[r];
        if (csv_row_blank(row)) continue;
        L->d->n_rows++;
        const char *subject = csv_get(row, cols[0].col), *cl = csv_get(row, cols[1].col);
        if (!*subject || !*cl) {
            problem(L, DS_ERROR, file, row->line, "empty subject or clip");
            continue;
        }
        char id[1024];
        snprintf(id, sizeof id, "%s/%s", subject, cl);
        if (!selected(L->cfg, id)) {
            L->d->n_excluded++;
            continue;
        }
        char lab[64];
        ds_lower_trim(lab, sizeof lab, csv_get(row, cols[5].col));
        if (!*lab) {
            problem(L, DS_ERROR, file, row->line, "%s: empty label", id);
            continue;
        }
        int on, ap, off;
        if (frames_of_row(L, file, row->line, id, csv_get(row, cols[2].col), csv_get(row, cols[3].col),
                          csv_get(row, cols[4].col), 1, &on, &ap, &off))
            continue;
        char *path = cl[0] == '/' ? xstrdup(cl) : ds_strf("%s/%s", base, cl);
        rc = add_sample(L, "manifest", subject, cl, path, on, ap, off, lab, csv_get(row, cols[5].col), "", file,
                        row->line);
    }
    free(base);
    csv_free(&t);
    return rc;
}

/* ---- class set, min samples, labels, subjects ------------------------------------------------------ */

static int count_add(ds_count **v, size_t *n, const char *name, size_t k, mer_err *err) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*v)[i].name, name)) {
            (*v)[i].count += k;
            return 0;
        }
    ds_count *p = realloc(*v, (*n + 1) * sizeof *p);
    if (!p) return mer_errf(err, "out of memory");
    *v = p;
    if (!(p[*n].name = xstrdup(name))) return mer_errf(err, "out of memory");
    p[*n].count = k;
    (*n)++;
    return 0;
}

static int finalize(ds_loader *L, const char *const *default_set, const char *const *vocab, const char *format) {
    dataset *d = L->d;
    const mer_config *cfg = L->cfg;
    /* the class set */
    size_t nset = 0;
    char **set = NULL;
    if (cfg->dataset_classes.n) {
        nset = cfg->dataset_classes.n;
        set = calloc(nset, sizeof *set);
        if (!set) return mer_errf(L->err, "out of memory");
        for (size_t i = 0; i < nset; i++) {
            char low[64];
            ds_lower_trim(low, sizeof low, cfg->dataset_classes.v[i]);
            if (vocab && !ds_in_list(vocab, low)) {
                char known[512];
                ds_list_join(known, sizeof known, vocab);
                ds_free_list(set, nset);
                return mer_errf(L->err, "dataset.classes: '%s' is not a %s class (known: %s)",
                                cfg->dataset_classes.v[i], format, known);
            }
            for (size_t j = 0; j < i; j++)
                if (set[j] && !strcmp(set[j], low)) {
                    ds_free_list(set, nset);
                    return mer_errf(L->err, "dataset.classes: '%s' listed twice", low);
                }
            if (!(set[i] = xstrdup(low))) {
                ds_free_list(set, nset);
                return mer_errf(L->err, "out of memory");
            }
        }
    } else if (default_set) {
        while (default_set[nset]) nset++;
        set = calloc(nset ? nset : 1, sizeof *set);
        if (!set) return mer_errf(L->err, "out of memory");
        for (size_t i = 0; i < nset; i++)
            if (!(set[i] = xstrdup(default_set[i]))) {
                ds_free_list(set, nset);
                return mer_errf(L->err, "out of memory");
            }
    } else { /* manifest: every label present, sorted */
        for (size_t i = 0; i < d->n; i++) {
            int have = 0;
            for (size_t j = 0; j < nset && !have; j++) have = !strcmp(set[j], d->s[i].emotion);
            if (have) continue;
            char **p = realloc(set, (nset + 1) * sizeof *p);
            if (!p || !(p[nset] = xstrdup(d->s[i].emotion))) {
                ds_free_list(p ? p : set, nset);
                return mer_errf(L->err, "out of memory");
            }
            set = p;
            nset++;
        }
        if (nset) qsort(set, nset, sizeof *set, cmp_str);
    }
    /* counts per class of the set; the rest is "unused" */
    size_t *cnt = calloc(nset ? nset : 1, sizeof *cnt);
    if (!cnt) {
        ds_free_list(set, nset);
        return mer_errf(L->err, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < d->n && rc == 0; i++) {
        d->s[i].label = -1;
        for (size_t c = 0; c < nset; c++)
            if (!strcmp(set[c], d->s[i].emotion)) {
                d->s[i].label = (int)c;
                cnt[c]++;
            }
        if (d->s[i].label < 0) rc = count_add(&d->unused, &d->n_unused, d->s[i].emotion, 1, L->err);
    }
    /* min samples rule */
    d->min_class_samples = cfg->dataset_min_class_samples;
    int *remap = calloc(nset ? nset : 1, sizeof *remap);
    if (!remap) rc = mer_errf(L->err, "out of memory");
    size_t kept = 0;
    for (size_t c = 0; c < nset && rc == 0; c++) {
        if (cnt[c] == 0 && !cfg->dataset_classes.n) {
            remap[c] = -1; /* a class of the format's usual set that this data does not have */
        } else if (cfg->dataset_min_class_samples > 0 && cnt[c] < (size_t)cfg->dataset_min_class_samples) {
            remap[c] = -1;
            rc = count_add(&d->dropped, &d->n_dropped, set[c], cnt[c], L->err);
        } else {
            remap[c] = (int)kept++;
        }
    }
    if (rc == 0) {
        d->classes = calloc(kept ? kept : 1, sizeof *d->classes);
        if (!d->classes) rc = mer_errf(L->err, "out of memory");
    }
    for (size_t c = 0; c < nset && rc == 0; c++)
        if (remap[c] >= 0) {
            d->classes[remap[c]] = set[c];
            set[c] = NULL;
        }
    if (rc == 0) d->n_classes = kept;
    /* compact the sample list */
    size_t w = 0;
    for (size_t i = 0; i < d->n; i++) {
        int lab = d->s[i].label >= 0 && rc == 0 ? remap[d->s[i].label] : -1;
        if (lab < 0) {
            sample_free(&d->s[i]);
            continue;
        }
        d->s[i].label = lab;
        d->s[w++] = d->s[i];
    }
    d->n = w;
    free(remap);
    free(cnt);
    ds_free_list(set, nset);
    if (rc) return rc;
    /* subjects */
    for (size_t i = 0; i < d->n; i++) {
        int have = 0;
        for (size_t j = 0; j < d->n_subjects && !have; j++) have = !strcmp(d->subjects[j], d->s[i].subject);
        if (have) continue;
        char **p = realloc(d->subjects, (d->n_subjects + 1) * sizeof *p);
        if (!p) return mer_errf(L->err, "out of memory");
        d->subjects = p;
        if (!(p[d->n_subjects] = xstrdup(d->s[i].subject))) return mer_errf(L->err, "out of memory");
        d->n_subjects++;
    }
    if (d->n_subjects) qsort(d->subjects, d->n_subjects, sizeof *d->subjects, cmp_str);
    return 0;
}

/* ---- entry points --------------------------------------------------------------------------------- */

static int synth_prepare(const mer_config *cfg, const char *root, const char *csv_path, mer_err *err) {
    synth_opts o;
    synth_opts_default(&o);
    o.subjects = cfg->synth_subjects;
    o.per_class = cfg->synth_per_class;
    o.width = cfg->synth_width;
    o.height = cfg->synth_height;
    o.fps = cfg->synth_fps;
    o.seed = (uint64_t)cfg->synth_seed;
    o.classes = (const char *const *)cfg->dataset_classes.v;
    o.n_classes = cfg->dataset_classes.n;
    o.threads = cfg->rt_threads > 1 ? cfg->rt_threads : 1;
    if (is_file(csv_path)) { /* existing data: it must come from the same parameters */
        char want[1024], have[1024] = "";
        synth_params_text(want, sizeof want, &o);
        char *pp = ds_strf("%s/synth.params", root);
        FILE *f = pp ? fopen(pp, "r") : NULL;
        if (f) {
            if (!fgets(have, sizeof have, f)) have[0] = 0;
            fclose(f);
            have[strcspn(have, "\n")] = 0;
            if (strcmp(have, want)) {
                mer_errf(err, "%s: %s was generated with other parameters (%s) than dataset.synth.* asks (%s); "
                              "use another dataset.root or delete it", pp, root, have, want);
                free(pp);
                return -1;
            }
        }
        free(pp);
        return 0;
    }
    return synth_generate(root, csv_path, &o, err);
}

/* The sheet format that dataset.format names (CASME II, SAMM and the newer datasets of formats.h). */
static const ds_format *sheet_format(cfg_dataset_format format) {
    switch (format) {
    case CFG_DATASET_CASME2: return &DS_FORMAT_CASME2;
    case CFG_DATASET_SAMM: return &DS_FORMAT_SAMM;
    case CFG_DATASET_CASME3: return &DS_FORMAT_CASME3;
    case CFG_DATASET_CASME3C: return &DS_FORMAT_CASME3C;
    case CFG_DATASET_MMEW: return &DS_FORMAT_MMEW;
    case CFG_DATASET_4DME: return &DS_FORMAT_4DME;
    default: return NULL;
    }
}

int dataset_load(dataset *d, const mer_config *cfg, mer_err *err) {
    memset(d, 0, sizeof *d);
    ds_loader L = {d, cfg, 0, 0, 0, err};
    d->apex_mode = cfg->dataset_apex;
    const cfg_dataset_format format = cfg->dataset_format;
    const char *fmt = cfg_enum_name(&CFG_DATASET_FORMATS, format);
    const char *root = cfg->dataset_root ? cfg->dataset_root : "";
    const char *ann = cfg->dataset_annotations ? cfg->dataset_annotations : "";
    int rc = -1;
    const char *const *defaults = NULL, *const *vocab = NULL;
    const char *const *known;
    size_t nk = synth_known_classes(&known);
    const char *synth_vocab[32] = {0};
    for (size_t i = 0; i < nk && i < 31; i++) synth_vocab[i] = known[i];
    const char *synth_defaults[32] = {0};
    char **composite_classes = NULL;
    size_t n_composite_classes = 0;
    const ds_format *sheet = sheet_format(format);
    ds_format synth_format = DS_FORMAT_CASME2; /* synth is written in the CASME II layout */
    synth_format.name = "synth";
    synth_format.vocab = synth_vocab;
    if (format == CFG_DATASET_SYNTH) sheet = &synth_format;
    d->name = xstrdup(fmt);
    if (!d->name) return mer_errf(err, "out of memory");
    if (sheet) {
        if (!*root) return mer_errf(err, "dataset.root is not set"), dataset_free(d), -1;
        char *csv = *ann ? xstrdup(ann) : format == CFG_DATASET_SYNTH ? ds_strf("%s/coding.csv", root) : NULL;
        vocab = sheet->vocab;
        defaults = sheet->defaults;
        if (format == CFG_DATASET_SYNTH) {
            if (!csv || synth_prepare(cfg, root, csv, err)) {
                if (!csv) mer_errf(err, "out of memory");
                free(csv);
                dataset_free(d);
                return -1;
            }
            defaults = NULL;
            if (cfg->dataset_classes.n == 0) {
                const char *const *def;
                size_t nd = synth_default_classes(&def);
                for (size_t i = 0; i < nd && i < 31; i++) synth_defaults[i] = def[i];
                defaults = synth_defaults;
            }
        }
        if (!csv) {
            dataset_free(d);
            return mer_errf(err, "dataset.annotations is not set (the %s coding sheet exported to CSV)", fmt);
        }
        if (!ds_is_dir(root)) {
            mer_errf(err, "%s: dataset root folder not found", root);
        } else {
            rc = ds_read_sheet(&L, sheet, root, csv, NULL);
        }
        free(csv);
    } else if (format == CFG_DATASET_SMIC) {
        if (!*root) return mer_errf(err, "dataset.root is not set"), dataset_free(d), -1;
        vocab = SMIC_VOCAB;
        defaults = SMIC_VOCAB;
        rc = ds_read_smic(&L, root, ann, NULL);
    } else if (format == CFG_DATASET_MANIFEST) {
        if (!*ann) return mer_errf(err, "dataset.annotations is not set (the manifest CSV)"), dataset_free(d), -1;
        rc = read_manifest(&L, root, ann);
    } else if (format == CFG_DATASET_MEGC2019 || format == CFG_DATASET_COMPOSITE) {
        if (!*ann && !(format == CFG_DATASET_COMPOSITE && cfg->dataset_sources.n))
            return mer_errf(err, "dataset.annotations is not set (the index CSV: dataset,root,annotations)%s",
                            format == CFG_DATASET_COMPOSITE ? " and dataset.sources is empty" : ""),
                   dataset_free(d), -1;
        rc = ds_read_composite(&L, format == CFG_DATASET_MEGC2019, ann, &composite_classes, &n_composite_classes);
        defaults = vocab = (const char *const *)composite_classes;
    } else {
        mer_errf(err, "dataset.format '%s' is unknown", fmt);
    }
    if (rc == 0) rc = finalize(&L, defaults, vocab, fmt);
    ds_free_list(composite_classes, n_composite_classes);
    if (rc) {
        dataset_free(d);
        return -1;
    }
    return 0;
}

int dataset_check(dataset *d, mer_err *err) {
    ds_loader L = {d, NULL, d->n_problems, d->n_problems, d->n_files, err};
    /* capacities are unknown for arrays built elsewhere: make grow() reallocate exactly */
    for (size_t i = 0; i < d->n; i++) {
        ds_sample *s = &d->s[i];
        clip *c = NULL;
        mer_err e = {0};
        if (clip_open(&c, s->path, &e)) {
            problem(&L, DS_ERROR, s->file, s->line, "%s: %s", s->id, e.msg);
            continue;
        }
        size_t nf = 0;
        const int *fr = clip_frame_numbers(c, &nf);
        int bad = 0;
        if (!clip_has_frame(c, s->onset)) {
            problem(&L, DS_ERROR, s->file, s->line, "%s: onset frame %d not found in %s (frames %d..%d)", s->id, s->onset,
                    s->path, nf ? fr[0] : 0, nf ? fr[nf - 1] : -1);
            bad = 1;
        }
        if (s->apex >= 0 && !clip_has_frame(c, s->apex)) {
            if (d->apex_mode == CFG_APEX_MIDDLE) {
                problem(&L, DS_ERROR, s->file, s->line, "%s: apex frame %d not found in %s (frames %d..%d)", s->id,
                        s->apex, s->path, nf ? fr[0] : 0, nf ? fr[nf - 1] : -1);
                bad = 1;
            } else {
                if (d->apex_mode == CFG_APEX_ANNOTATED)
                    problem(&L, DS_WARNING, s->file, s->line,
                            "%s: apex frame %d not found in %s (frames %d..%d): it will be spotted", s->id, s->apex,
                            s->path, nf ? fr[0] : 0, nf ? fr[nf - 1] : -1);
                s->apex = -1;
            }
        }
        if (!bad && (s->offset < s->apex || !clip_has_frame(c, s->offset))) {
            int last = fr[nf - 1];
            if (last >= s->apex) {
                if (s->offset >= 0) /* -1: unknown, the reader said so */
                    problem(&L, DS_WARNING, s->file, s->line, "%s: offset frame %d %s: using the last frame on disk, %d",
                            s->id, s->offset, s->offset < s->apex ? "is before the apex" : "not found", last);
                s->offset = last;
            }
        }
        for (int k = 0; k < (s->apex >= 0 ? 2 : 1) && !bad; k++) {
            int f = k ? s->apex : s->onset;
            mer_image img = {0};
            if (clip_read(&img, c, f, 1, &e)) {
                problem(&L, DS_ERROR, s->file, s->line, "%s: %s frame unreadable: %s", s->id, k ? "apex" : "onset", e.msg);
                bad = 1;
            }
            image_free(&img);
        }
        clip_close(c);
    }
    d->checked = 1;
    /* verdict */
    char why[MER_ERR_MSG_MAX] = "";
    size_t len = 0;
    size_t nerr = dataset_count(d, DS_ERROR);
#define WHY(...) len += (size_t)snprintf(why + len, len < sizeof why ? sizeof why - len : 0, __VA_ARGS__)
    if (nerr) {
        const ds_problem *first = NULL;
        for (size_t i = 0; i < d->n_problems && !first; i++)
            if (d->problems[i].severity == DS_ERROR) first = &d->problems[i];
        WHY("%zu error(s) in the annotations or frames (first: ", nerr);
        if (first->file && first->line) WHY("%s:%d: ", first->file, first->line);
        WHY("%s); fix them or list the samples in dataset.exclude", first->msg);
    }
    if (d->n_classes < 2) WHY("%s%zu class(es) left (at least 2 needed)", len ? "; " : "", d->n_classes);
    for (size_t c = 0; c < d->n_classes; c++) {
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++) k += d->s[i].label == (int)c;
        if (!k) WHY("%sclass '%s' has no sample", len ? "; " : "", d->classes[c]);
    }
    if (d->n_subjects < 2) WHY("%s%zu subject(s) (leave-one-subject-out needs at least 2)", len ? "; " : "", d->n_subjects);
#undef WHY
    if (len) return mer_errf(err, "dataset %s is not usable: %s", d->name, why);
    return 0;
}

size_t dataset_count(const dataset *d, ds_severity severity) {
    size_t k = 0;
    for (size_t i = 0; i < d->n_problems; i++) k += d->problems[i].severity == severity;
    return k;
}

int dataset_class_index(const dataset *d, const char *name) {
    for (size_t c = 0; c < d->n_classes; c++)
        if (!strcasecmp(d->classes[c], name)) return (int)c;
    return -1;
}

void dataset_report(FILE *f, const dataset *d) {
    fprintf(f, "dataset %s: %zu samples, %zu subjects, %zu classes\n", d->name, d->n, d->n_subjects, d->n_classes);
    for (size_t i = 0; i < d->n_files; i++) fprintf(f, "annotations: %s\n", d->files[i]);
    fprintf(f, "annotation rows/clips read: %zu; excluded by dataset.include/exclude: %zu\n", d->n_rows, d->n_excluded);
    fprintf(f, "samples per class (label name count):\n");
    for (size_t c = 0; c < d->n_classes; c++) {
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++) k += d->s[i].label == (int)c;
        fprintf(f, "  %2zu %-14s %zu\n", c, d->classes[c], k);
    }
    if (d->n_dropped) {
        fprintf(f, "dropped classes (fewer than %d samples):", d->min_class_samples);
        for (size_t i = 0; i < d->n_dropped; i++) fprintf(f, "%s %s %zu", i ? "," : "", d->dropped[i].name, d->dropped[i].count);
        fprintf(f, "\n");
    }
    if (d->n_unused) {
        fprintf(f, "not in the class set:");
        for (size_t i = 0; i < d->n_unused; i++) fprintf(f, "%s %s %zu", i ? "," : "", d->unused[i].name, d->unused[i].count);
        fprintf(f, "\n");
    }
    fprintf(f, "samples per subject:");
    for (size_t j = 0; j < d->n_subjects; j++) {
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++) k += !strcmp(d->s[i].subject, d->subjects[j]);
        fprintf(f, "%s%s %zu", j % 8 ? ", " : "\n  ", d->subjects[j], k);
    }
    fprintf(f, "\n");
    size_t n_spot = 0;
    for (size_t i = 0; i < d->n; i++) n_spot += d->apex_mode == CFG_APEX_SPOTTED || d->s[i].apex < 0;
    if (d->apex_mode == CFG_APEX_SPOTTED) {
        fprintf(f, "apex spotted (dataset.apex: spotted): all %zu samples\n", d->n);
    } else if (n_spot) {
        fprintf(f, "apex spotted (missing in the annotations%s): %zu sample(s)",
                d->checked ? ", before the onset or not a frame of the clip" : " or before the onset", n_spot);
        size_t k = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->s[i].apex < 0) fprintf(f, "%s%s", k++ % 6 ? ", " : "\n  ", d->s[i].id);
        fprintf(f, "\n");
    }
    size_t ne = dataset_count(d, DS_ERROR), nw = dataset_count(d, DS_WARNING);
    fprintf(f, "problems: %zu error(s), %zu warning(s)\n", ne, nw);
    for (size_t i = 0; i < d->n_problems; i++) {
        const ds_problem *p = &d->problems[i];
        fprintf(f, "  ");
        if (p->file && p->line) fprintf(f, "%s:%d: ", p->file, p->line);
        fprintf(f, "%s: %s\n", p->severity == DS_ERROR ? "error" : "warning", p->msg);
    }
}

void dataset_free(dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) sample_free(&d->s[i]);
    free(d->s);
    ds_free_list(d->classes, d->n_classes);
    ds_free_list(d->subjects, d->n_subjects);
    for (size_t i = 0; i < d->n_problems; i++) free(d->problems[i].msg);
    free(d->problems);
    for (size_t i = 0; i < d->n_dropped; i++) free(d->dropped[i].name);
    free(d->dropped);
    for (size_t i = 0; i < d->n_unused; i++) free(d->unused[i].name);
    free(d->unused);
    ds_free_list(d->files, d->n_files);
    free(d->name);
    memset(d, 0, sizeof *d);
}
