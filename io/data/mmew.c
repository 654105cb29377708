/* MMEW (Ben et al., TPAMI 2021) as the publisher distributes it: frames ROOT/<emotion>/<Filename>/1.jpg ...
 * (ROOT = the Micro_Expression folder; clips are filed by their emotion, not by subject), annotations
 * `MMEW_Micro_Exp.xlsx` exported to CSV: Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Action
 * Units, Estimated Emotion (happiness, surprise, anger, disgust, fear, sadness, others), remarks. Some rows
 * have an apex and offset that do not fit (an apex outside onset..offset): corrected by rule with a warning
 * (formats.h, DS_FMT_LENIENT_FRAMES); a missing apex is spotted (dataset.apex), with a warning. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "io/data/formats.h"

static const char *const VOCAB[] = {"happiness", "surprise", "anger", "disgust", "fear", "sadness", "others", NULL};
static const char *const MEGC[] = {"anger",    "negative", "disgust",  "negative", "fear",     "negative",
                                   "sadness",  "negative", "happiness", "positive", "surprise", "surprise", NULL};

static const char *const COL_SUBJECT[] = {"Subject", NULL};
static const char *const COL_CLIP[] = {"Filename", NULL};
static const char *const COL_ONSET[] = {"OnsetFrame", "Onset", NULL};
static const char *const COL_APEX[] = {"ApexFrame", "Apex", NULL};
static const char *const COL_OFFSET[] = {"OffsetFrame", "Offset", NULL};
static const char *const COL_EMOTION[] = {"Estimated Emotion", "Emotion", NULL};
static const char *const COL_AUS[] = {"Action Units", "AU", "AUs", NULL};

/* ROOT/<emotion as written>/<clip>, else the lower-case emotion folder */
static char *emotion_dir(const char *root, const char *subject, const char *clip, const char *emotion) {
    (void)subject;
    char e[64];
    size_t k = 0;
    while (isspace((unsigned char)*emotion)) emotion++;
    for (; emotion[k] && k < sizeof e - 1; k++) e[k] = emotion[k];
    while (k && isspace((unsigned char)e[k - 1])) k--;
    e[k] = 0;
    char *p = ds_strf("%s/%s/%s", root, e, clip);
    if (!p || ds_is_dir(p)) return p;
    free(p);
    for (size_t i = 0; i < k; i++) e[i] = (char)tolower((unsigned char)e[i]);
    return ds_strf("%s/%s/%s", root, e, clip);
}

const ds_format DS_FORMAT_MMEW = {
    .name = "mmew", .title = "MMEW", .vocab = VOCAB, .defaults = VOCAB, .megc = MEGC,
    .col_subject = COL_SUBJECT, .col_clip = COL_CLIP, .col_onset = COL_ONSET, .col_apex = COL_APEX,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = ds_subject_as_written,
    .clip_dir = emotion_dir, .flags = DS_FMT_LENIENT_FRAMES,
};
