/* Dataset readers: CASME II, SAMM, SMIC-HS, CAS(ME)³ parts A and C, MMEW, 4DME, the MEGC2019 composite, any
 * composite of those, a plain manifest, and generated synthetic data — all turned into one list of labelled
 * clips.
 *
 *   dataset d;
 *   if (dataset_load(&d, cfg, &err) < 0) ...            annotations read, class set + filters applied
 *   if (dataset_check(&d, &err) < 0) ...                frames verified; -1 = not usable (err says why)
 *   for (size_t i = 0; i < d.n; i++) d.s[i].path, d.s[i].onset, d.s[i].apex (-1: to be spotted), ...
 *   dataset_free(&d);
 *
 * Formats (config dataset.format; dataset.root, dataset.annotations):
 * - casme2: ROOT/sub01/EP02_01f/img46.jpg (or a video ROOT/sub01/EP02_01f.avi|mp4|mkv|mov), annotations =
 *   the coding sheet exported to CSV. Columns (header matched ignoring case, spaces, '_' and order; the header
 *   may follow free-text rows): Subject, Filename, OnsetFrame, ApexFrame, OffsetFrame, Estimated Emotion
 *   [, Action Units]. Subject "1", "01" or "sub01" -> folder sub01.
 * - samm: ROOT/006/006_1_2/006_05562.jpg; the sheet with free-text rows above the header; columns Subject,
 *   Filename, Onset Frame, Apex Frame, Offset Frame, Estimated Emotion [, Action Units]. Subject "6" -> 006.
 * - smic: ROOT/s1/micro/negative/s1_ne_01/image*.bmp (ROOT = the HS folder). The class is the folder name.
 *   Without annotations: onset = first frame, offset = last frame found in the clip folder. With annotations
 *   (CSV: Subject, Filename, OnsetFrame, OffsetFrame): those numbers. SMIC has NO apex: apex = -1 (spotted
 *   by the PREP stage), or with dataset.apex = middle the middle frame (onset + offset) / 2, rounded down.
 * - megc2019: dataset.annotations is an index CSV with columns dataset,root,annotations (one row per source:
 *   casme2, samm, smic; relative paths are relative to the index file's folder; smic's annotations may be
 *   empty). Emotions map to negative / positive / surprise; others are left out. Subject ids are
 *   prefixed by the source: casme2_sub01, samm_006, smic_s1.
 * - casme3, casme3c, mmew, 4dme: the newer datasets in their publishers' layouts and sheets, one file each
 *   (io/data/casme3.c, mmew.c, fourdme.c say which; the table is io/data/formats.h): read like CASME II's
 *   sheet, plus their defects: repeated clip names (casme3: a, a_2, ...), apexes outside onset..offset
 *   (treated as missing: spotted), offsets before the onset (the clip's last frame), no apex column
 *   (casme3c: every apex missing), several emotions in one row (4dme: skipped). Warnings, not errors.
 * - composite: any of casme2, samm, smic, casme3, casme3c, mmew, 4dme, each at most once, from
 *   dataset.sources ("NAME:ROOT[:ANNOTATIONS]") or an index CSV like megc2019's in dataset.annotations.
 *   Subjects are prefixed by the source as in megc2019. Classes: dataset.class_map rules
 *   "[SOURCE:]EMOTION=CLASS" (a rule naming the source wins over one for any source; the class set is the
 *   rules' classes in order of first appearance) or, without rules, the MEGC2019 mapping extended to the
 *   newer datasets (negative = anger, contempt, disgust, fear, sadness/sad, repression; positive =
 *   happiness/happy; surprise). Unmapped emotions are left out, counted as "source:emotion".
 * - manifest: CSV subject,clip,onset,apex,offset,label; clip = a frame folder or a video file, relative to
 *   dataset.root (or to the manifest's folder when root is empty). An empty apex means a missing one.
 * - synth: when ROOT/coding.csv (or dataset.annotations) is absent, a dataset is generated into ROOT with
 *   dataset.synth.* (io/data/synth.h; classes = dataset.classes or the generator's default), then read as casme2.
 *
 * Class sets are data: dataset.classes (label order) or the format's usual set — casme2: happiness, disgust,
 * repression, surprise, others, sadness, fear (min_class_samples 10 leaves the usual 5 on the real data); samm:
 * anger, contempt, happiness, surprise, other, disgust, fear, sadness (leaves the usual 5); smic, megc2019:
 * negative, positive, surprise; manifest: every label, sorted; synth: the generator's classes. Classes of a
 * usual set with no sample at all are left out silently. Samples whose emotion
 * is not in the set are left out (counted), then classes with fewer than dataset.min_class_samples samples
 * are dropped (patent rule; 0 disables) and labels are numbered 0..n_classes-1 in set order. dataset.include
 * and dataset.exclude are fnmatch(3) patterns matched against sample ids "subject/clip" (e.g. "sub09/EP*").
 * Excluded samples are skipped before their row is checked.
 *
 * Annotation defects and policy:
 * - apex missing ("/", "-", empty, negative): apex = -1 (the PREP stage spots it, core/spot/apex.h), warning;
 *   with dataset.apex = middle the midpoint of onset and offset, warning (the behaviour before spotting);
 * - apex before the onset: apex = -1 and a warning (middle: error); apex not on disk (dataset_check):
 *   apex = -1 and a warning (middle: error). With dataset.apex = spotted the annotation is kept but unused
 *   (no warnings about it);
 * - offset before the apex or not on disk while onset and apex are: the last frame on disk, warning;
 * - non-numeric frame numbers, onset after offset, unknown emotion, duplicate rows, bad subject: error
 *   with the CSV line (the row is skipped);
 * - CASME II sub09/EP02_02f and sub24/EP02_07 (no usable label): warning, skipped.
 * Errors make the dataset unusable for `mer run` (fix the sheet or exclude the samples); warnings do not.
 */
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "io/base/err.h"
#include "io/config/config.h"

typedef struct {
    char *subject;     /* "sub01", "006", "s1"; megc2019: "casme2_sub01" */
    char *clip;        /* "EP02_01f" */
    char *id;          /* "subject/clip" */
    char *path;        /* frame folder or video file */
    int onset, apex, offset; /* frame numbers (videos: 0-based frame index); apex -1 = to be spotted; offset
                              * -1 = unknown (a sheet's offset before the onset): the clip's last frame */
    int label;         /* index into dataset.classes */
    char *emotion;     /* class name after mapping (lower case) */
    char *raw_emotion; /* as written in the annotation (or the SMIC folder name) */
    char *aus;         /* action units as written ("" when absent) */
    char *source;      /* casme2 | samm | smic | casme3 | casme3c | mmew | 4dme | manifest | synth */
    int line;          /* CSV line of the annotation row (0: found by a folder scan) */
    const char *file;  /* annotation file of that line (points into dataset.files) */
} ds_sample;

typedef enum { DS_WARNING = 1, DS_ERROR = 2 } ds_severity;

typedef struct {
    ds_severity severity;
    const char *file; /* annotation file or NULL (points into dataset.files) */
    int line;         /* 0 = not about a CSV line */
    char *msg;
} ds_problem;

typedef struct {
    char *name;
    size_t count;
} ds_count;

typedef struct {
    char *name;                 /* the format (dataset.format) */
    ds_sample *s;
    size_t n;
    char **classes;             /* label -> name */
    size_t n_classes;
    char **subjects;            /* sorted, unique subjects of the samples */
    size_t n_subjects;
    /* for `mer data check` and the run's log */
    ds_problem *problems;
    size_t n_problems;
    ds_count *dropped;          /* classes dropped by min_class_samples, with their sample counts */
    size_t n_dropped;
    ds_count *unused;           /* emotions not in the class set, with counts */
    size_t n_unused;
    size_t n_rows;              /* annotation rows/clips seen (before any filtering) */
    size_t n_excluded;          /* removed by dataset.include / dataset.exclude */
    int min_class_samples;
    char **files;               /* annotation files read */
    size_t n_files;
    int checked;                /* dataset_check ran */
    cfg_apex_source apex_mode;  /* dataset.apex: how a missing or impossible apex is handled (see above) */
} dataset;

/* Read the annotations (and, for smic without annotations and synth, the folders; synth may generate),
 * apply the class set, include/exclude and the min-samples rule. Row-level problems are recorded in
 * d->problems (not fatal here); -1 only when nothing sensible can be read (unknown format, missing root or
 * annotation file, missing column, bad dataset.classes). */
int dataset_load(dataset *d, const mer_config *cfg, mer_err *err);

/* Verify every sample's frames: the clip (folder or video) opens, onset and apex frames exist and decode,
 * the offset exists (else clamped, warning). Adds problems; then decides usability: no errors, >= 2 classes
 * each with >= 1 sample, >= 2 subjects. Returns 0 when usable, -1 with the reasons in err otherwise. */
int dataset_check(dataset *d, mer_err *err);

/* Human-readable summary for `mer data check`: subjects, samples per class and per subject, dropped classes,
 * problems with file:line, and the verdict when checked. */
void dataset_report(FILE *f, const dataset *d);

size_t dataset_count(const dataset *d, ds_severity severity); /* problems of that severity */
/* Composite subject ids carry their source: "casme2_sub01" (or "casme2/sub01"). The length of that dataset
 * prefix (6 here), 0 when the subject has none; and the NULL-terminated list of the source names. */
size_t dataset_subject_prefix(const char *subject);
const char *const *dataset_sources(void);
int dataset_class_index(const dataset *d, const char *name);  /* -1 when absent */
void dataset_free(dataset *d);
