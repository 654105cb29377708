/* 4DME (Li et al., TAFFC 2022) as the publisher distributes it: the grey-level 2D frames
 * ROOT/<sub_ID>/<fold_name>/1.jpg ... (ROOT = the gray_micro folder; the 4D meshes and the colour and depth
 * streams are not read), annotations `4DME_Labelling_Micro_release v1.xlsx` exported to CSV: sub_ID,
 * fold_name, Onset, Apex, Offset, AUs, Emotion (positive, negative, surprise, repression, others). A few
 * rows name several emotions ("negative+surprise"): skipped with a warning. Frame numbers with defects are
 * corrected by rule with a warning (formats.h, DS_FMT_LENIENT_FRAMES); a missing apex is spotted
 * (dataset.apex), with a warning. MEGC2019 mapping: repression joins negative, as CASME II's does. */
#include "io/data/formats.h"

static const char *const VOCAB[] = {"negative", "positive", "surprise", "repression", "others", NULL};
static const char *const MEGC[] = {"negative", "negative", "repression", "negative", "positive", "positive",
                                   "surprise", "surprise", NULL};

static const char *const COL_SUBJECT[] = {"sub_ID", "Subject", NULL};
static const char *const COL_CLIP[] = {"fold_name", "Filename", NULL};
static const char *const COL_ONSET[] = {"Onset", "OnsetFrame", NULL};
static const char *const COL_APEX[] = {"Apex", "ApexFrame", NULL};
static const char *const COL_OFFSET[] = {"Offset", "OffsetFrame", NULL};
static const char *const COL_EMOTION[] = {"Emotion", "Estimated Emotion", NULL};
static const char *const COL_AUS[] = {"AUs", "AU", "Action Units", NULL};

const ds_format DS_FORMAT_4DME = {
    .name = "4dme", .title = "4DME", .vocab = VOCAB, .defaults = VOCAB, .megc = MEGC,
    .col_subject = COL_SUBJECT, .col_clip = COL_CLIP, .col_onset = COL_ONSET, .col_apex = COL_APEX,
    .col_offset = COL_OFFSET, .col_emotion = COL_EMOTION, .col_aus = COL_AUS, .subject = ds_subject_as_written,
    .clip_dir = NULL, .flags = DS_FMT_LENIENT_FRAMES | DS_FMT_MULTI_EMOTION_SKIP,
};
