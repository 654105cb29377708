/* CAS(ME)³ (Li et al., TPAMI 2022), parts A and C, as the publisher distributes them.
 *
 * Part A: frames ROOT/spNO.1/a/color/0.jpg ... (ROOT = the folder holding spNO.*; the depth maps next to
 * color/ are not read), annotations `cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx` exported to CSV: Subject
 * (spNO.1), Filename (a), Onset, Apex, Offset (jpg indices), AU, Objective class, emotion (anger, disgust,
 * fear, happy, sad, surprise, others). One recording (Filename) can hold several micro-expressions, so a
 * clip name repeats within a subject: the rows become a, a_2, a_3 (same frames). Frame numbers with defects
 * (an apex outside onset..offset, an offset before the onset) are corrected by rule with a warning
 * (formats.h, DS_FMT_LENIENT_FRAMES); a missing apex is spotted (dataset.apex), with a warning.
 *
 * Part C: frames ROOT/01/1/color/0.jpg ...; annotations `CAS(ME)3_part_C_ME.xlsx` as CSV: sub, count, onset,
 * offset, au, emotion. No apex column: every apex is spotted, or the middle frame under dataset.apex middle (one warning).
 * If a clip folder has no color/ sub-folder, its frames are read from the clip folder itself. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/data/formats.h"

static const char *const VOCAB[] = {"anger", "disgust", "fear", "happy", "sad", "surprise", "others", NULL};
static const char *const MEGC[] = {"anger", "negative", "disgust", "negative", "fear",    "negative", "sad",
                                   "negative", "happy", "positive", "surprise", "surprise", NULL};

static const char *const COL_SUBJECT[] = {"Subject", "sub", NULL};
static const char *const COL_CLIP[] = {"Filename", "count", NULL};
static const char *const COL_ONSET[] = {"Onset", "OnsetFrame", NULL};
static const char *const COL_APEX[] = {"Apex", "ApexFrame", NULL};
static const char *const COL_OFFSET[] = {"Offset", "OffsetFrame", NULL};
static const char *const COL_EMOTION[] = {"emotion", "Estimated Emotion", NULL};
static const char *const COL_AUS[] = {"AU", "AUs", "Action Units", NULL};

/* The subject field as written, or a bare number n formatted with `number` (part A "spNO.%ld", part C
 * "%02ld"): the sheets write the subject both ways. */
static int subject_numbered(char *out, size_t n, const char *field, const char *number) {
    char v[64];
    if (ds_subject_as_written(v, sizeof v, field)) return -1;
    char *end;
    long k = strtol(v, &end, 10);
    if (!*end && k >= 0) snprintf(out, n, number, k);
    else snprintf(out, n, "%s", v);
    return 0;
}
static int subject_a(char *out, size_t n, const char *field) { return subject_numbered(out, n, field, "spNO.%ld"); }
static int subject_c(char *out, size_t n, const char *field) { return subject_numbered(out, n, field, "%02ld"); }

static char *color_dir(const char *root, const char *subject, const char *clip, const char *emotion) {
    (void)emotion;
    char *p = ds_strf("%s/%s/%s/color", root, subject, clip);
    if (!p || ds_is_dir(p)) return p;
    free(p);
    return ds_strf("%s/%s/%s", root, subject, clip);
}

const ds_format DS_FORMAT_CASME3 = {
    .name = "casme3", .title = "CAS(ME)³ part A", .vocab = VOCAB, .defaults = VOCAB, .megc = MEGC,
    .col_subject = COL_SUBJECT, .col_clip = COL_CLIP, .col_onset = COL_ONSET, .col_apex = COL_APEX,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = subject_a,
    .clip_dir = color_dir, .flags = DS_FMT_REPEATED_CLIPS | DS_FMT_LENIENT_FRAMES,
};

const ds_format DS_FORMAT_CASME3C = {
    .name = "casme3c", .title = "CAS(ME)³ part C", .vocab = VOCAB, .defaults = VOCAB, .megc = MEGC,
    .col_subject = COL_SUBJECT, .col_clip = COL_CLIP, .col_onset = COL_ONSET, .col_apex = NULL,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = subject_c,
    .clip_dir = color_dir, .flags = DS_FMT_REPEATED_CLIPS | DS_FMT_LENIENT_FRAMES,
};
