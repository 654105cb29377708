/* Sheet formats: datasets published as frame folders plus one coding sheet (exported to CSV). One row per
 * format says which columns to read, where a row's frames are and which of the publisher's defects to
 * expect; dataset.c reads them all with one reader (read_sheet). Internal to io/data. */
#pragma once
#include <stddef.h>

typedef enum {
    /* several rows may name one clip (several micro-expressions in one recording): the second becomes
     * CLIP_2, the third CLIP_3, ... in the sample ids (same frame folder) */
    DS_FMT_REPEATED_CLIPS = 1u << 0,
    /* frame-number corrections by rule: an apex outside onset..offset is treated as missing, an offset before
     * the onset (with a usable apex) as unknown (the clip's last frame on disk); warnings, not errors */
    DS_FMT_LENIENT_FRAMES = 1u << 1,
    /* an emotion naming several classes ("negative+surprise") is skipped with a warning, not an error */
    DS_FMT_MULTI_EMOTION_SKIP = 1u << 2,
} ds_format_flags;

typedef struct {
    const char *name;               /* dataset.format, and the source name inside a composite */
    const char *title;              /* for messages: "CAS(ME)³ part A" */
    const char *const *vocab;       /* emotions the sheet may hold (lower case) */
    const char *const *defaults;    /* the usual class set, label order */
    const char *const *megc;        /* emotion, class, emotion, class, ..., NULL: the MEGC2019 3-class map */
    /* columns (alternatives; header matched ignoring case, spaces and '_'); col_apex NULL = the sheet has
     * no apex (spotted, or the middle frame under dataset.apex middle; one warning); col_aus optional */
    const char *const *col_subject, *const *col_clip, *const *col_onset, *const *col_apex, *const *col_offset,
        *const *col_emotion, *const *col_aus;
    /* subject field -> subject id (also its folder); -1 when the field is not a subject */
    int (*subject)(char *out, size_t n, const char *field);
    /* the frame folder of a row (malloc'd); NULL = ROOT/SUBJECT/CLIP, or that path plus a video extension */
    char *(*clip_dir)(const char *root, const char *subject, const char *clip, const char *emotion_as_written);
    unsigned flags;                 /* ds_format_flags */
} ds_format;

extern const ds_format DS_FORMAT_CASME3, DS_FORMAT_CASME3C, DS_FORMAT_MMEW, DS_FORMAT_4DME;

/* The sheet format named `name` among the newer datasets above (NULL when none). */
const ds_format *ds_format_find(const char *name);

/* malloc'd printf; NULL on OOM. */
char *ds_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int ds_is_dir(const char *path);
/* Subject field as written (trimmed; no '/'); -1 when empty. */
int ds_subject_as_written(char *out, size_t n, const char *field);
