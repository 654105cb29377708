/* Configuration: located error messages (exact text and line:col), defaults, overrides, sweep
 * expansion, printing round trip. Every YAML snippet is written to a file in a temporary folder and
 * loaded by name, so messages read `c.yaml:LINE:COL: ...`. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config/config.h"
#include "io/config/schema.h"
#include "tests/check.h"

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* Load `yaml` (written to c.yaml) with overrides; returns the load status, fills *diag. */
static int load(cfg_doc *doc, const char *yaml, char *const *ov, size_t n_ov, char **diag) {
    write_file("c.yaml", yaml);
    mer_err err = {0};
    return config_load_diag(doc, "c.yaml", ov, n_ov, diag, &err);
}

/* "c.yaml:L:C: msg" + source line L of yaml + caret under column C. */
static char *located(const char *yaml, int line, int col, const char *msg) {
    const char *p = yaml;
    for (int l = 1; l < line; l++) p = strchr(p, '\n') + 1;
    size_t n = strcspn(p, "\n");
    size_t cap = strlen(msg) + n + (size_t)col + 64;
    char *s = malloc(cap);
    int k = snprintf(s, cap, "c.yaml:%d:%d: %s\n%.*s\n", line, col, msg, (int)n, p);
    for (int i = 1; i < col; i++) s[k++] = p[i - 1] == '\t' ? '\t' : ' ';
    s[k++] = '^';
    s[k] = 0;
    return s;
}

/* One bad config: exactly one error, at line:col, with this message. */
static void expect_error(const char *what, const char *yaml, int line, int col, const char *msg) {
    cfg_doc doc;
    char *diag = NULL;
    int r = load(&doc, yaml, NULL, 0, &diag);
    CHECK(r == -1, "%s: load must fail", what);
    char *want = located(yaml, line, col, msg);
    CHECK_STR(diag, want, "%s: message", what);
    free(want);
    free(diag);
    config_doc_free(&doc);
}

/* One bad override on a valid (empty) file: exactly `msg`. */
static void expect_override_error(const char *ov, const char *msg) {
    cfg_doc doc;
    char *diag = NULL;
    char *ovs[1] = {(char *)ov};
    int r = load(&doc, "seed: 1\n", ovs, 1, &diag);
    CHECK(r == -1, "override %s must fail", ov);
    CHECK_STR(diag, msg, "override %s: message", ov);
    free(diag);
    config_doc_free(&doc);
}

static void test_bad_configs(void) {
    expect_error("unknown key, suggestion", "model:\n  attention:\n    n_round: 3\n", 3, 5,
                 "unknown key 'n_round' (did you mean 'n_rounds'?)");
    expect_error("unknown key, no suggestion", "model:\n  head:\n    zzzzzz: 1\n", 3, 5,
                 "unknown key 'zzzzzz' in 'model.head' (known: hidden, dropout, pooling, features)");
    expect_error("unknown section, suggestion", "seed: 1\nmodle:\n  input: frames\n", 2, 1,
                 "unknown section 'modle' (did you mean 'model'?)");
    expect_error("unknown section, no suggestion", "optimizer:\n  lr: 1\n", 1, 1,
                 "unknown section 'optimizer' (known: seed, dataset, preprocess, magnify, model, train, eval, output, "
                 "runtime, sweep)");
    expect_error("duplicate key", "train:\n  epochs: 3\n  lr: 0.1\n  lr: 0.2\n", 4, 3,
                 "duplicate key 'lr' (first at line 3)");
    expect_error("duplicate section", "train:\n  lr: 0.1\neval:\n  folds: 3\ntrain:\n  epochs: 3\n", 5, 1,
                 "duplicate key 'train' (first at line 1)");
    expect_error("not a number", "train:\n  lr: fast\n", 2, 7, "'fast' is not a number for 'train.lr'");
    expect_error("number with trailing text", "train:\n  lr: 1e-3x\n", 2, 7, "'1e-3x' is not a number for 'train.lr'");
    expect_error("int rejects 1.5", "train:\n  epochs: 1.5\n", 2, 11, "'1.5' is not an integer for 'train.epochs'");
    expect_error("int rejects 1e3", "train:\n  batch_size: 1e3\n", 2, 15,
                 "'1e3' is not an integer for 'train.batch_size'");
    expect_error("int overflow", "train:\n  epochs: 99999999999999999999\n", 2, 11,
                 "'99999999999999999999' is out of range for 'train.epochs' (must be in [1, 100000])");
    expect_error("float overflow", "train:\n  lr: 1e999\n", 2, 7,
                 "'1e999' cannot be represented as a double for 'train.lr'");
    expect_error("float nan", "train:\n  momentum: nan\n", 2, 13, "'nan' is not a number for 'train.momentum'");
    expect_error("range open max", "train:\n  lr: 20\n", 2, 7, "'20' is out of range for 'train.lr' (must be in (0, 10])");
    expect_error("range open min", "train:\n  lr: 0\n", 2, 7, "'0' is out of range for 'train.lr' (must be in (0, 10])");
    expect_error("range both open", "preprocess:\n  eye_y: 1\n", 2, 10,
                 "'1' is out of range for 'preprocess.eye_y' (must be in (0, 1))");
    expect_error("range half open", "model:\n  head:\n    dropout: 1.0\n", 3, 14,
                 "'1.0' is out of range for 'model.head.dropout' (must be in [0, 1))");
    expect_error("range lower bound only", "train:\n  weight_decay: -1e-5\n", 2, 17,
                 "'-1e-5' is out of range for 'train.weight_decay' (must be >= 0)");
    expect_error("int range", "model:\n  attention:\n    n_rounds: 17\n", 3, 15,
                 "'17' is out of range for 'model.attention.n_rounds' (must be in [1, 16])");
    expect_error("enum", "train:\n  optimizer: adamx\n", 2, 14,
                 "'adamx' is not a valid value for 'train.optimizer' (allowed: sgd, adam, adamw)");
    expect_error("enum is case sensitive", "eval:\n  protocol: LOSO\n", 2, 13,
                 "'LOSO' is not a valid value for 'eval.protocol' (allowed: loso, kfold, megc2019, lodo)");
    expect_error("dataset.apex", "dataset:\n  apex: spot\n", 2, 9,
                 "'spot' is not a valid value for 'dataset.apex' (allowed: annotated, spotted, middle)");
    expect_error("preprocess.spot.blur range", "preprocess:\n  spot:\n    blur: 0.5\n", 3, 11,
                 "'0.5' is out of range for 'preprocess.spot.blur' (must be in [0, 0.25])");
    expect_error("bool", "preprocess:\n  grey: yes\n", 2, 9,
                 "'yes' is not a boolean for 'preprocess.grey' (use true or false)");
    expect_error("final model bool", "eval:\n  final_model: 1\n", 2, 16,
                 "'1' is not a boolean for 'eval.final_model' (use true or false)");
    expect_error("empty value for an int", "train:\n  epochs:\n  lr: 0.1\n", 2, 10,
                 "no value for 'train.epochs' (expected an integer)");
    expect_error("mapping where a scalar belongs", "train:\n  lr:\n    value: 1\n", 3, 5,
                 "'train.lr' takes a float, found a mapping");
    expect_error("list where a scalar belongs", "model:\n  attention:\n    d: [1, 2]\n", 3, 8,
                 "'model.attention.d' takes an int, found a list");
    expect_error("scalar where a mapping belongs", "train: 5\n", 1, 8,
                 "'train' is a section (a mapping of keys), found a scalar");
    expect_error("scalar where a list belongs", "dataset:\n  classes: happiness\n", 2, 12,
                 "'dataset.classes' takes a list of str, found a scalar");
    expect_error("bad list element", "magnify:\n  schedule:\n    list: [1.0, 2.0, lots]\n", 3, 22,
                 "'lots' is not a number for 'magnify.schedule.list'");
    expect_error("nested list element", "dataset:\n  exclude: [a, [b]]\n", 2, 16,
                 "elements of 'dataset.exclude' must be scalars, found a list");
    expect_error("top level not a mapping", "- train\n- eval\n", 1, 1,
                 "a config file is a mapping of sections, found a list");
    expect_error("dotted key in a file", "train.lr: 0.1\n", 1, 1,
                 "dotted key 'train.lr' is only allowed in sweep: and command-line overrides; nest it in its section");
    expect_error("anchor", "train:\n  lr: &x 0.1\n", 2, 7, "anchors and aliases are not supported ('&x'); write the "
                                                          "values out");
    expect_error("tab indentation", "train:\n\tlr: 0.1\n", 2, 1,
                 "tab character in indentation (YAML indents with spaces only)");
    expect_error("syntax error", "train:\n  lr: 0.1\n  epochs: [1, 2\neval:\n  folds: 3\n", 4, 5,
                 "YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 3, "
                 "column 11)");
    expect_error("syntax error, no context", "a: b: c\n", 1, 5,
                 "YAML syntax error: mapping values are not allowed in this context; check the indentation, or "
                 "quote a value that contains ': '");
    expect_error("under-indented key", "train:\n  lr: 0.1\n epochs: 3\n", 3, 2,
                 "YAML syntax error: did not find expected key (while parsing a block mapping at line 1, column 1); "
                 "check this line's indentation");
    expect_error("second document", "seed: 1\n---\nseed: 2\n", 2, 1,
                 "a config file holds one YAML document, found a second");
    expect_error("missing dataset.root", "dataset:\n  format: casme2\n", 2, 11,
                 "missing required key 'dataset.root' (dataset.format 'casme2' has no default folder)");
    expect_error("empty dataset.root", "dataset:\n  format: samm\n  root: \"\"\n", 3, 9,
                 "'dataset.root' is empty (dataset.format 'samm' needs the dataset's folder)");
    expect_error("bad source entry", "dataset:\n  format: composite\n  sources: [\"casme2:/r:/a.csv\", \"smic\"]\n", 3, 12,
                 "dataset.sources entry 2 'smic' is not NAME:ROOT[:ANNOTATIONS]");
    expect_error("bad class_map entry", "dataset:\n  format: composite\n  sources: [\"smic:/s\"]\n"
                 "  class_map: [\"happy=pos\", \"samm:anger\"]\n", 4, 14,
                 "dataset.class_map entry 2 'samm:anger' is not [SOURCE:]EMOTION=CLASS");
    expect_error("composite without sources", "dataset:\n  format: composite\n", 2, 11,
                 "dataset.format 'composite' needs 'dataset.sources' (NAME:ROOT[:ANNOTATIONS] per source) or an index "
                 "CSV in 'dataset.annotations'");
    expect_error("missing dataset.annotations", "dataset:\n  format: manifest\n  root: /data/x\n", 2, 11,
                 "missing required key 'dataset.annotations' (dataset.format 'manifest' reads its samples from that "
                 "CSV)");
    expect_error("step and end", "magnify:\n  schedule:\n    step: 0.5\n    end: 3\n", 4, 10,
                 "'magnify.schedule.step' and 'magnify.schedule.end' are both set (first at line 3); give one of them");
    expect_error("end and step", "magnify:\n  schedule:\n    end: 3\n    step: 0.5\n", 4, 11,
                 "'magnify.schedule.end' and 'magnify.schedule.step' are both set (first at line 3); give one of them");
    expect_error("count vs list", "magnify:\n  schedule:\n    list: [1, 2, 3]\n    count: 4\n", 4, 12,
                 "'magnify.schedule.count' is 4 but 'magnify.schedule.list' has 3 factors");
    expect_error("bn_stats needs a frozen backbone", "model:\n  backbone:\n    mode: finetune\n    bn_stats: adapt\n", 4,
                 15, "'model.backbone.bn_stats: adapt' needs 'model.backbone.mode: frozen' (it acts on the cached "
                     "features of a frozen backbone)");
    expect_error("head.features needs a frozen backbone",
                 "model:\n  backbone:\n    mode: finetune\n  head:\n    features: minus_onset\n", 5, 15,
                 "'model.head.features: minus_onset' needs 'model.backbone.mode: frozen' (it acts on the cached "
                 "features of a frozen backbone)");
    expect_error("bn_stats vocabulary", "model:\n  backbone:\n    bn_stats: adabn\n", 3, 15,
                 "'adabn' is not a valid value for 'model.backbone.bn_stats' (allowed: weights, adapt, adapt_train)");
    expect_error("normalize is a bool", "model:\n  attention:\n    normalize: l2\n", 3, 16,
                 "'l2' is not a boolean for 'model.attention.normalize' (use true or false)");
    expect_error("warmup >= epochs", "train:\n  epochs: 5\n  warmup_epochs: 5\n", 3, 18,
                 "'train.warmup_epochs' (5) must be smaller than 'train.epochs' (5)");
    expect_error("flow median 4", "model:\n  input: flow\n  flow:\n    median: 4\n", 4, 13,
                 "'4' is not a valid value for 'model.flow.median' (allowed: off, 3, 5)");
    expect_error("flow tau 0", "model:\n  flow:\n    tau: 0\n", 3, 10,
                 "'0' is out of range for 'model.flow.tau' (must be in (0, 10])");
    expect_error("flow scale_step 1", "model:\n  flow:\n    scale_step: 1\n", 3, 17,
                 "'1' is out of range for 'model.flow.scale_step' (must be in (0, 1))");
    expect_error("flow scales 0", "model:\n  flow:\n    scales: 0\n", 3, 13,
                 "'0' is out of range for 'model.flow.scales' (must be in [1, 64])");
    expect_error("input flows", "model:\n  input: flows\n", 2, 10,
                 "'flows' is not a valid value for 'model.input' (allowed: frames, difference, flow)");
    /* sweep */
    expect_error("sweep element out of range",
                 "sweep:\n  model.attention.n_rounds: [3, 4, 40]\n  train.lr: [0.1]\n", 2, 36,
                 "'40' is out of range for 'model.attention.n_rounds' (must be in [1, 16])");
    expect_error("sweep unknown key", "sweep:\n  model.attention.n_round: [3, 4]\n", 2, 3,
                 "unknown key 'model.attention.n_round' (did you mean 'model.attention.n_rounds'?)");
    expect_error("sweep misspelt seeds", "sweep:\n  seds: [1, 2]\n", 2, 3, "unknown key 'seds' (did you mean 'seeds'?)");
    expect_error("hex float", "train:\n  gamma: 0x1p-2\n", 2, 10, "'0x1p-2' is not a number for 'train.gamma'");
    expect_error("sweep not a list", "sweep:\n  train.lr: 0.1\n", 2, 13, "sweep values for 'train.lr' must be a list, "
                                                                       "found a scalar");
    expect_error("sweep empty list", "sweep:\n  train.lr: []\n", 2, 13, "sweep list for 'train.lr' is empty");
    expect_error("sweep zip lengths", "sweep:\n  zip:\n    train.lr: [0.1, 0.2]\n    train.epochs: [1, 2, 3]\n", 4, 19,
                 "zip lists must have equal lengths: 'train.epochs' has 3 values, 'train.lr' has 2");
    expect_error("sweep swept twice", "sweep:\n  train.lr: [0.1]\n  zip:\n    train.lr: [0.2]\n", 4, 5,
                 "'train.lr' is swept twice (first at line 2)");
    expect_error("sweep over seed", "sweep:\n  seed: [1, 2]\n", 2, 3,
                 "sweep over 'seed': list the seeds in sweep.seeds instead");
    expect_error("sweep seeds duplicate", "sweep:\n  seeds: [1, 2, 1]\n", 2, 17, "seed 1 is listed twice in sweep.seeds");
    expect_error("sweep seeds not ints", "sweep:\n  seeds: [1, x]\n", 2, 14, "'x' is not an integer for 'sweep.seeds'");
    expect_error("sweep point whole check", "magnify:\n  schedule:\n    step: 0.5\nsweep:\n  magnify.schedule.end: [3]\n",
                 5, 26,
                 "'magnify.schedule.step' and 'magnify.schedule.end' are both set (first at line 3); give one of them");
    expect_error("sweep point needs root", "sweep:\n  dataset.format: [synth, samm]\n", 2, 27,
                 "missing required key 'dataset.root' (dataset.format 'samm' has no default folder)");
    /* model.backbone.kind lbptop: what the baseline cannot do, and the volume its radii and grid need */
    expect_error("lbptop finetune", "model:\n  backbone:\n    kind: lbptop\n    mode: finetune\n", 4, 11,
                 "model.backbone.kind 'lbptop' has no network to fine-tune (model.backbone.mode: finetune)");
    expect_error("lbptop inner_val", "eval:\n  selection: inner_val\nsweep:\n  model.backbone.kind: [resnet18, lbptop]\n",
                 4, 35, "model.backbone.kind 'lbptop' trains its linear classifier for train.epochs: eval.selection "
                        "'inner_val' is not supported");
    expect_error("lbptop flow", "model:\n  backbone: {kind: lbptop}\n  input: flow\n", 3, 10,
                 "model.backbone.kind 'lbptop' codes grey frames: model.input 'flow' is not supported");
    expect_error("lbptop oracle", "model: {backbone: {kind: lbptop}}\neval: {oracle_epoch: true}\n", 2, 22,
                 "model.backbone.kind 'lbptop' has no per-epoch selection: eval.oracle_epoch is not supported");
    expect_error("lbptop radius.t vs T", "magnify:\n  schedule:\n    count: 2\nmodel:\n  backbone:\n    kind: lbptop\n",
                 3, 12, "'model.lbptop.radius.t' (1) leaves no frame of the 2 magnified frames "
                        "(magnify.schedule.count) that far from both ends");
    expect_error("lbptop radius.t vs list", "model: {backbone: {kind: lbptop}}\nmagnify: {schedule: {list: [1, 2]}}\n",
                 2, 28, "'model.lbptop.radius.t' (1) leaves no frame of the 2 magnified frames "
                        "(magnify.schedule.count) that far from both ends");
    expect_error("lbptop classifier", "model:\n  lbptop:\n    classifier: svn\n", 3, 17,
                 "'svn' is not a valid value for 'model.lbptop.classifier' (allowed: logreg, svm)");
    expect_error("lbptop grid.t vs T", "model: {backbone: {kind: lbptop}, lbptop: {grid: {t: 9}}}\n"
                 "magnify: {schedule: {count: 8}}\n", 2, 29,
                 "'model.lbptop.grid.t' (9) is more than the 8 magnified frames");
    expect_error("lbptop radius.y vs size", "preprocess: {size: 16}\nmodel:\n  backbone: {kind: lbptop}\n"
                 "  lbptop: {radius: {y: 7.5}}\n", 4, 24,
                 "'model.lbptop.radius.y' leaves no pixel of the 16 px crop (preprocess.size) 8 px from its borders");
    expect_error("lbptop grid vs size", "model:\n  lbptop:\n    grid: {rows: 20}\n  backbone: {kind: lbptop}\n"
                 "preprocess: {size: 16}\n", 5, 20,
                 "'model.lbptop.grid' (20 x 5 blocks) is more than the 16 px crop (preprocess.size)");
    expect_error("lbptop neighbours range", "model:\n  lbptop:\n    neighbours: {xt: 33}\n", 3, 22,
                 "'33' is out of range for 'model.lbptop.neighbours.xt' (must be in [3, 32])");
    expect_error("lbptop radius range", "model:\n  lbptop:\n    radius: {t: 0}\n", 3, 17,
                 "'0' is out of range for 'model.lbptop.radius.t' (must be in (0, 16])");
    expect_error("backbone kind", "model:\n  backbone:\n    kind: lbp\n", 3, 11,
                 "'lbp' is not a valid value for 'model.backbone.kind' (allowed: resnet18, lbptop)");
}

static void test_many_errors(void) {
    /* every error of a file is reported, sorted by position, cross-key rules included */
    const char *yaml = "train:\n  lr: fast\n  optimizer: adamx\n  epochz: 3\ndataset:\n  format: smic\n";
    cfg_doc doc;
    char *diag = NULL;
    CHECK(load(&doc, yaml, NULL, 0, &diag) == -1, "many errors: fails");
    char *e1 = located(yaml, 2, 7, "'fast' is not a number for 'train.lr'");
    char *e2 = located(yaml, 3, 14, "'adamx' is not a valid value for 'train.optimizer' (allowed: sgd, adam, adamw)");
    char *e3 = located(yaml, 4, 3, "unknown key 'epochz' (did you mean 'epochs'?)");
    char *e4 = located(yaml, 6, 11, "missing required key 'dataset.root' (dataset.format 'smic' has no default folder)");
    char want[4096];
    snprintf(want, sizeof want, "%s\n%s\n%s\n%s", e1, e2, e3, e4);
    CHECK_STR(diag, want, "many errors: all four, in order");
    free(e1);
    free(e2);
    free(e3);
    free(e4);
    free(diag);
    config_doc_free(&doc);

    /* mer_err holds what fits and says how many more there are */
    char big[20000] = "train:\n";
    for (int i = 0; i < 60; i++) snprintf(big + strlen(big), sizeof big - strlen(big), "  bad_key_%02d: 1\n", i);
    write_file("c.yaml", big);
    mer_err err = {0};
    CHECK(config_load(&doc, "c.yaml", NULL, 0, &err) == -1, "60 errors: fails");
    CHECK(strstr(err.msg, "c.yaml:2:3: unknown key 'bad_key_00' in 'train'") == err.msg, "60 errors: first first");
    CHECK(strstr(err.msg, "more errors") != NULL, "60 errors: truncation noted: %s", err.msg);
    CHECK(strlen(err.msg) < MER_ERR_MSG_MAX, "60 errors: fits");
    CHECK(load(&doc, big, NULL, 0, &diag) == -1, "60 errors: fails again");
    size_t lines = 0;
    for (const char *p = diag; *p; p++) lines += *p == '\n';
    CHECK(lines == 60 * 3 - 1, "60 errors: all in diag (%zu lines)", lines);
    free(diag);
    config_doc_free(&doc);

    CHECK(config_load(&doc, "no/such/file.yaml", NULL, 0, &err) == -1, "missing file fails");
    CHECK_STR(err.msg, "no/such/file.yaml: cannot open config: No such file or directory", "missing file message");
}

static void test_overrides(void) {
    expect_override_error("train.lr=abc", "override 'train.lr=abc': 'abc' is not a number for 'train.lr'");
    expect_override_error("train.lrr=1e-3", "override 'train.lrr=1e-3': unknown key 'train.lrr' (did you mean 'train.lr'?)");
    expect_override_error("lr", "override 'lr': expected key=value");
    expect_override_error("=3", "override '=3': expected key=value");
    expect_override_error("model.attention.n_rounds=0",
                          "override 'model.attention.n_rounds=0': '0' is out of range for 'model.attention.n_rounds' "
                          "(must be in [1, 16])");
    expect_override_error("dataset.classes=[a,b", "override 'dataset.classes=[a,b': invalid value: did not find expected "
                                                  "',' or ']'");
    expect_override_error("train=3", "override 'train=3': 'train' is a section, not a key (see mer config --keys)");
    expect_override_error("sweep.train.lr=[1,2]", "override 'sweep.train.lr=[1,2]': only sweep.seeds can be "
                                                  "overridden; set a swept key itself to run one value");
    expect_override_error("sweep.seeds=[1,1]", "override 'sweep.seeds=[1,1]': seed 1 is listed twice in sweep.seeds");
    expect_override_error("sweep.seeds=3", "override 'sweep.seeds=3': sweep.seeds must be a non-empty list of "
                                           "integers, found a scalar");
    expect_override_error("train.epochs=", "override 'train.epochs=': no value for 'train.epochs' (expected an integer)");
    expect_override_error("dataset.format=samm",
                          "override 'dataset.format=samm': missing required key 'dataset.root' (dataset.format 'samm' "
                          "has no default folder)");

    cfg_doc doc;
    char *diag = NULL;
    char *ov[] = {"train.lr=3e-4", "model.attention.n_rounds=5", "dataset.classes=[happiness, 'other']",
                  "output.dir=runs/a b #1: *x", "dataset.annotations='q a.csv'", "magnify.schedule.end=2.5", "preprocess.grey=true", "seed=-7",
                  "magnify.weights=", "train.lr=2e-4"};
    int r = load(&doc, "train:\n  lr: 0.1\n", ov, sizeof ov / sizeof ov[0], &diag);
    CHECK(r == 0, "overrides load: %s", diag ? diag : "");
    if (r == 0) {
        CHECK(doc.base.train_lr == 2e-4, "last override wins: lr = %g", doc.base.train_lr);
        CHECK(doc.base.attn_n_rounds == 5, "n_rounds override");
        CHECK(doc.base.dataset_classes.n == 2 && !strcmp(doc.base.dataset_classes.v[0], "happiness") &&
                  !strcmp(doc.base.dataset_classes.v[1], "other"),
              "flow list override");
        CHECK_STR(doc.base.output_dir, "runs/a b #1: *x", "unquoted string override taken verbatim");
        CHECK_STR(doc.base.dataset_annotations, "q a.csv", "quoted string override unquoted");
        CHECK(doc.base.mag_end == 2.5 && isnan(doc.base.mag_step), "end override: step unused (NAN)");
        CHECK(doc.base.prep_grey == 1, "bool override");
        CHECK(doc.base.seed == -7 && doc.n_seeds == 1 && doc.seeds[0] == -7, "seed override sets the one seed");
        CHECK_STR(doc.base.mag_weights, "", "empty override = empty string");
    }
    free(diag);
    config_doc_free(&doc);
}

static void test_values_and_defaults(void) {
    cfg_doc doc;
    char *diag = NULL;
    int r = load(&doc, "", NULL, 0, &diag);
    CHECK(r == 0, "empty file is valid: %s", diag ? diag : "");
    mer_config def;
    config_defaults(&def);
    CHECK(config_equal(&doc.base, &def), "empty file = defaults");
    CHECK_STR(cfg_enum_name(&CFG_DATASET_FORMATS, def.dataset_format), "synth", "default format");
    CHECK_STR(def.dataset_root, "demo-data", "default root");
    CHECK_STR(def.dataset_annotations, "", "default annotations");
    CHECK(def.dataset_classes.n == 0 && def.dataset_min_class_samples == 10, "default classes");
    CHECK(def.synth_subjects == 8 && def.synth_per_class == 4 && def.synth_width == 320 && def.synth_height == 240 &&
              def.synth_fps == 100 && def.synth_seed == 1,
          "default synth");
    CHECK(def.prep_size == 112 && def.prep_eye_y == 0.35 && def.prep_eye_dist == 0.40 && !def.prep_grey,
          "default preprocess");
    CHECK_STR(def.prep_cascade, "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml", "cascade");
    CHECK(def.prep_scale_factor == 1.1 && def.prep_min_neighbors == 3 && def.prep_min_face == 40, "default cascade");
    CHECK_STR(cfg_enum_name(&CFG_MAG_METHODS, def.mag_method), "network", "default magnify method");
    CHECK(def.mag_start == 1.0 && def.mag_step == 0.375 && isnan(def.mag_end) && def.mag_count == 32 &&
              def.mag_list.n == 0,
          "default schedule");
    CHECK_STR(cfg_enum_name(&CFG_MAG_FACTORS, def.mag_factor), "one_plus_alpha", "default factor");
    CHECK_STR(cfg_enum_name(&CFG_MODEL_INPUTS, def.model_input), "frames", "default input");
    CHECK_STR(cfg_enum_name(&CFG_BACKBONE_MODES, def.model_backbone), "frozen", "default backbone");
    CHECK_STR(cfg_enum_name(&CFG_BACKBONE_KINDS, def.model_backbone_kind), "resnet18", "default backbone kind");
    CHECK(def.lbptop_grid_rows == 5 && def.lbptop_grid_cols == 5 && def.lbptop_grid_t == 1 && def.lbptop_rx == 1 &&
              def.lbptop_ry == 1 && def.lbptop_rt == 1 && def.lbptop_p_xy == 8 && def.lbptop_p_xt == 8 &&
              def.lbptop_p_yt == 8 && def.lbptop_mapping == CFG_LBPTOP_U2,
          "default lbptop: MEGC2019's baseline settings");
    CHECK_STR(cfg_enum_name(&CFG_ATTENTION_TYPES, def.attn_type), "lsh", "default attention");
    CHECK(def.attn_n_rounds == 3 && def.attn_d == 1024 && def.head_hidden == 256 && def.head_dropout == 0.5,
          "default model sizes");
    CHECK(def.train_epochs == 30 && def.train_batch_size == 16 && def.train_lr == 1e-3 && def.train_momentum == 0.9 &&
              def.train_weight_decay == 1e-4 && def.train_warmup_epochs == 0 && def.train_step_epochs == 10 &&
              def.train_gamma == 0.1 && !def.train_class_weights,
          "default train");
    CHECK_STR(cfg_enum_name(&CFG_OPTIMIZERS, def.train_optimizer), "adam", "default optimizer");
    CHECK_STR(cfg_enum_name(&CFG_LR_SCHEDULES, def.train_lr_schedule), "cosine", "default schedule");
    CHECK_STR(cfg_enum_name(&CFG_PROTOCOLS, def.eval_protocol), "loso", "default protocol");
    CHECK(def.eval_folds == 5 && def.eval_inner_val_fraction == 0.2 && !def.eval_oracle_epoch &&
              !def.eval_final_model, "default eval");
    CHECK_STR(def.output_dir, "out", "default output");
    CHECK(def.output_save_features == 1 && def.output_save_backbone == 0, "default output bools");
    CHECK(def.rt_threads == 0 && def.rt_retries == 2 && !def.rt_fail_fast && def.rt_max_walltime == 0,
          "default runtime");
    CHECK_STR(cfg_enum_name(&CFG_LOG_LEVELS, def.rt_log_level), "info", "default log level");
    CHECK_STR(cfg_enum_name(&CFG_APEX_SOURCES, def.dataset_apex), "annotated", "default apex source");
    CHECK(def.spot_register == 1 && def.spot_blur == 0.015 && def.spot_smooth == 1.0 && def.spot_eyes == 0.3,
          "spotting defaults");
    CHECK(def.seed == 0 && doc.n_seeds == 1 && doc.seeds[0] == 0, "default seed");
    config_free(&def);
    config_doc_free(&doc);
    free(diag);

    /* every default in the table is a valid value of its own key (given back as an override) */
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        char ov[512];
        snprintf(ov, sizeof ov, "%s=%s", CFG_KEYS[i].key, CFG_KEYS[i].def);
        char *ovs[1] = {ov};
        r = load(&doc, "dataset:\n  root: x\n  annotations: a.csv\n", ovs, 1, &diag);
        CHECK(r == 0, "default of %s is valid: %s", CFG_KEYS[i].key, diag ? diag : "");
        free(diag);
        config_doc_free(&doc);
    }

    /* spellings the parser accepts */
    r = load(&doc,
             "train:\n  lr: 1e-3\n  epochs: +7\n  momentum: \"0.5\"\n  class_weights: True\n"
             "magnify:\n  schedule:\n    step: ~\n    list: [0.5, 1, 2e0]\ndataset:\n  classes:\n    - a\n    - 'b c'\n"
             "  include:\neval:\n",
             NULL, 0, &diag);
    CHECK(r == 0, "accepted spellings: %s", diag ? diag : "");
    if (r == 0) {
        CHECK(doc.base.train_lr == 0.001 && doc.base.train_epochs == 7 && doc.base.train_momentum == 0.5 &&
                  doc.base.train_class_weights == 1,
              "1e-3, +7, quoted number, True");
        CHECK(doc.base.mag_list.n == 3 && doc.base.mag_count == 3 && doc.base.mag_step == 0.375,
              "list sets count; step ~ = default");
        CHECK(doc.base.dataset_classes.n == 2 && !strcmp(doc.base.dataset_classes.v[1], "b c"), "block list");
        CHECK(config_mag_alpha(&doc.base, 0) == 0.5 && config_mag_alpha(&doc.base, 2) == 2.0, "alpha from list");
    }
    free(diag);
    config_doc_free(&doc);

    /* magnification factors */
    config_defaults(&def);
    CHECK(config_mag_alpha(&def, 0) == 1.0 && config_mag_alpha(&def, 4) == 2.5, "alpha from step");
    def.mag_end = 3.0;
    def.mag_count = 5;
    CHECK(config_mag_alpha(&def, 0) == 1.0 && config_mag_alpha(&def, 2) == 2.0 && config_mag_alpha(&def, 4) == 3.0,
          "alpha from end");
    config_free(&def);
}

static void test_round_trip(void) {
    const char *yaml = "seed: 42\n"
                       "dataset:\n  format: manifest\n  root: \"/data/my set\"\n  annotations: 'a\"b\\\\c.csv'\n"
                       "  classes: [happiness, \"null\", \"\", '#x', 'a, b']\n  exclude: [sub01/EP02_01f]\n"
                       "magnify:\n  weights: w.h5\n  schedule:\n    start: 0.1\n    end: 2.0000000000000004\n"
                       "    count: 7\n    list: []\n"
                       "train:\n  lr: 0.0003\n  weight_decay: 1e-300\n  epochs: 12\n"
                       "runtime:\n  max_walltime: 3600\n  log_level: debug\n"
                       "sweep:\n  model.attention.n_rounds: [3, 5]\n  zip:\n    train.lr: [0.1, 0.2]\n"
                       "    dataset.include: [[], [a, 'b c']]\n  seeds: [4, 2]\n";
    cfg_doc a, b;
    char *diag = NULL;
    int r = load(&a, yaml, NULL, 0, &diag);
    CHECK(r == 0, "round trip source loads: %s", diag ? diag : "");
    free(diag);
    if (r) return;
    char *t1 = config_doc_to_string(&a);
    mer_err err = {0};
    r = config_load_text(&b, "printed.yaml", t1, strlen(t1), NULL, 0, &diag, &err);
    CHECK(r == 0, "printed config loads: %s\n%s", diag ? diag : "", t1);
    free(diag);
    if (r == 0) {
        char *t2 = config_doc_to_string(&b);
        CHECK_STR(t2, t1, "print -> load -> print is identical");
        CHECK(config_equal(&a.base, &b.base), "round trip: equal structs");
        CHECK(b.n_seeds == 2 && b.seeds[0] == 4 && b.seeds[1] == 2, "round trip: seeds");
        CHECK(config_n_points(&b) == 4, "round trip: points");
        CHECK_STR(b.base.dataset_annotations, "a\"b\\\\c.csv", "escaped string survives");
        CHECK(b.base.dataset_classes.n == 5 && !strcmp(b.base.dataset_classes.v[1], "null") &&
                  !strcmp(b.base.dataset_classes.v[2], "") && !strcmp(b.base.dataset_classes.v[4], "a, b"),
              "strings that need quotes survive");
        CHECK(b.base.mag_end == 2.0000000000000004 && b.base.train_weight_decay == 1e-300, "doubles exact");
        cfg_point *pa = NULL, *pb = NULL;
        size_t na = 0, nb = 0;
        CHECK(config_points(&pa, &na, &a, &err) == 0 && config_points(&pb, &nb, &b, &err) == 0, "points");
        for (size_t i = 0; i < na && i < nb; i++) {
            CHECK_STR(pa[i].id, pb[i].id, "round trip: same point ids");
            CHECK(config_equal(&pa[i].cfg, &pb[i].cfg), "round trip: same point configs");
        }
        config_points_free(pa, na);
        config_points_free(pb, nb);
        free(t2);
        config_doc_free(&b);
    }
    /* the base alone (config_print) round-trips as well, and prefixes select sections */
    char *base = config_to_string(&a.base, NULL, 0);
    cfg_doc c;
    r = config_load_text(&c, "base.yaml", base, strlen(base), NULL, 0, NULL, &err);
    CHECK(r == 0 && config_equal(&c.base, &a.base), "config_to_string round trip");
    if (r == 0) config_doc_free(&c);
    const char *pre[] = {"train.lr", "magnify.schedule.", "output.save_", "seed"};
    char *part = config_to_string(&a.base, pre, 4);
    CHECK_STR(part,
              "seed: 42\nmagnify:\n  schedule:\n    start: 0.1\n    step: ~\n    end: 2.0000000000000004\n    count: 7\n"
              "    list: []\n    factor: one_plus_alpha\ntrain:\n  lr: 0.0003\n  lr_schedule: cosine\n"
              "output:\n  save_features: true\n  save_backbone: false\n",
              "plain string prefixes select keys");
    free(part);
    free(base);
    free(t1);
    config_doc_free(&a);
}

static void test_sweep(void) {
    const char *yaml = "sweep:\n  model.attention.n_rounds: [3, 4, 5]\n  zip:\n    magnify.schedule.step: [0.25, 0.5]\n"
                       "    train.epochs: [10, 20]\n  dataset.classes: [[a, b], [c]]\n  seeds: [0, 1, 2]\n";
    cfg_doc doc;
    char *diag = NULL;
    int r = load(&doc, yaml, NULL, 0, &diag);
    CHECK(r == 0, "sweep loads: %s", diag ? diag : "");
    free(diag);
    if (r) return;
    CHECK(config_n_points(&doc) == 12, "3 x zip(2) x 2 = 12 points");
    CHECK(doc.n_seeds == 3 && doc.seeds[2] == 2, "seeds");
    cfg_point *pts = NULL;
    size_t n = 0;
    mer_err err = {0};
    CHECK(config_points(&pts, &n, &doc, &err) == 0 && n == 12, "points expand");
    if (n == 12) {
        CHECK_STR(pts[0].params, "model.attention.n_rounds=3 magnify.schedule.step=0.25 train.epochs=10 "
                                 "dataset.classes=[a,b]",
                  "point 0 params");
        CHECK_STR(pts[1].params, "model.attention.n_rounds=3 magnify.schedule.step=0.25 train.epochs=10 "
                                 "dataset.classes=[c]",
                  "last key varies fastest");
        CHECK_STR(pts[2].params, "model.attention.n_rounds=3 magnify.schedule.step=0.5 train.epochs=20 "
                                 "dataset.classes=[a,b]",
                  "zip advances together");
        CHECK_STR(pts[11].params, "model.attention.n_rounds=5 magnify.schedule.step=0.5 train.epochs=20 "
                                  "dataset.classes=[c]",
                  "first key varies slowest");
        CHECK(pts[7].cfg.attn_n_rounds == 4 && pts[7].cfg.mag_step == 0.5 && pts[7].cfg.train_epochs == 20 &&
                  pts[7].cfg.dataset_classes.n == 1,
              "point 7 config");
        for (size_t i = 0; i < n; i++) {
            static const char *const id_sections[] = {"seed", "dataset", "preprocess", "magnify", "model", "train", "eval"};
            char *t = config_to_string(&pts[i].cfg, id_sections, 7);
            char id[17];
            snprintf(id, sizeof id, "%016llx", (unsigned long long)config_fnv1a64(t));
            CHECK_STR(pts[i].id, id, "id = FNV-1a of the printed point config without output.* and runtime.*");
            free(t);
            for (size_t j = 0; j < i; j++) CHECK(strcmp(pts[i].id, pts[j].id), "ids differ (%zu, %zu)", i, j);
        }
    }
    config_points_free(pts, n);
    config_doc_free(&doc);
    {   /* a point's id names the experiment: output.* and runtime.* do not change it, train.lr does */
        const char *text = "train:\n  lr: 0.01\n";
        char *o1[] = {"output.dir=elsewhere", "runtime.threads=2"}, *o2[] = {"train.lr=0.02"};
        cfg_doc d0, d1, d2;
        cfg_point *p0, *p1, *p2;
        size_t n0, n1, n2;
        int ok = config_load_text(&d0, "a.yaml", text, strlen(text), NULL, 0, NULL, &err) == 0 &&
                 config_load_text(&d1, "a.yaml", text, strlen(text), o1, 2, NULL, &err) == 0 &&
                 config_load_text(&d2, "a.yaml", text, strlen(text), o2, 1, NULL, &err) == 0 &&
                 config_points(&p0, &n0, &d0, &err) == 0 && config_points(&p1, &n1, &d1, &err) == 0 &&
                 config_points(&p2, &n2, &d2, &err) == 0;
        CHECK(ok, "load id configs: %s", err.msg);
        if (ok) {
            CHECK_STR(p0[0].id, p1[0].id, "output.dir and runtime.threads leave the point id unchanged");
            CHECK(strcmp(p0[0].id, p2[0].id) != 0, "train.lr changes the point id");
            config_points_free(p0, n0);
            config_points_free(p1, n1);
            config_points_free(p2, n2);
            config_doc_free(&d0);
            config_doc_free(&d1);
            config_doc_free(&d2);
        }
    }

    CHECK(config_fnv1a64("") == 0xcbf29ce484222325ull && config_fnv1a64("a") == 0xaf63dc4c8601ec8cull,
          "FNV-1a 64 reference values");

    /* an override of a swept key narrows the sweep to that value; in a zip group it is an error */
    char *ov[] = {"model.attention.n_rounds=4"};
    r = load(&doc, yaml, ov, 1, &diag);
    CHECK(r == 0 && config_n_points(&doc) == 4, "override narrows the sweep: %s", diag ? diag : "");
    if (r == 0) {
        CHECK(config_points(&pts, &n, &doc, &err) == 0 && n == 4, "narrowed points");
        if (n == 4) CHECK(pts[0].cfg.attn_n_rounds == 4 && !strstr(pts[0].params, "n_rounds"), "narrowed params");
        config_points_free(pts, n);
    }
    free(diag);
    config_doc_free(&doc);
    char *ov2[] = {"train.epochs=4"};
    r = load(&doc, yaml, ov2, 1, &diag);
    char *want = located(yaml, 5, 5, "'train.epochs' is overridden on the command line but swept in a zip group; "
                                     "edit the file");
    CHECK(r == -1, "override of a zipped key fails");
    CHECK_STR(diag, want, "override of a zipped key: message");
    free(want);
    free(diag);
    config_doc_free(&doc);

    /* sweep.seeds on the command line replaces the file's and is printed back */
    char *ov3[] = {"sweep.seeds=[7, 8]"};
    r = load(&doc, yaml, ov3, 1, &diag);
    CHECK(r == 0 && doc.n_seeds == 2 && doc.seeds[0] == 7 && doc.seeds[1] == 8, "sweep.seeds override");
    if (r == 0) {
        char *t = config_doc_to_string(&doc);
        CHECK(t && strstr(t, "  seeds: [7, 8]\n"), "overridden seeds printed");
        free(t);
    }
    free(diag);
    config_doc_free(&doc);

    /* no sweep: one point, empty params, base seed */
    r = load(&doc, "seed: 9\n", NULL, 0, &diag);
    CHECK(r == 0 && config_n_points(&doc) == 1 && doc.n_seeds == 1 && doc.seeds[0] == 9, "no sweep");
    CHECK(config_points(&pts, &n, &doc, &err) == 0 && n == 1, "one point");
    if (n == 1) CHECK_STR(pts[0].params, "", "no params");
    config_points_free(pts, n);
    free(diag);
    config_doc_free(&doc);

    /* sweep over end when the file gives end too is fine (same key); over end with step set is not */
    r = load(&doc, "sweep:\n  magnify.schedule.end: [2, 3]\n  magnify.schedule.list: [[], [1, 2]]\n", NULL, 0, &diag);
    CHECK(r == 0 && config_n_points(&doc) == 4, "sweep over end and list: %s", diag ? diag : "");
    if (r == 0 && config_points(&pts, &n, &doc, &err) == 0) {
        CHECK(n == 4 && pts[1].cfg.mag_count == 2 && pts[0].cfg.mag_count == 32 && isnan(pts[0].cfg.mag_step),
              "per-point finalize (count from list, step unused with end)");
        config_points_free(pts, n);
    }
    free(diag);
    config_doc_free(&doc);
}

/* Mutations of a valid config (every byte deleted, or replaced by YAML-significant characters): the
 * loader must never crash (ASan run), and must either accept the text or explain, located, why not. */
static void test_mutations(void) {
    const char *yaml = "seed: 1\ndataset:\n  classes: [a, 'b c']\n  root: \"/x y\"\nmagnify:\n  schedule:\n"
                       "    end: 2\n    list: [1, 2.5]\ntrain:\n  lr: 1e-3\n  epochs: 20\n"
                       "sweep:\n  model.attention.n_rounds: [3, 4]\n  zip:\n    train.lr: [0.1, 0.2]\n"
                       "    train.gamma: [0.5, 1]\n  seeds: [0, 1]\n";
    const char repl[] = {0, ':', ' ', '\t', '[', '&', '-', '#', '"', 'x', '.', '\n'};
    size_t n = strlen(yaml), accepted = 0, rejected = 0, unexplained = 0;
    char *buf = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        for (size_t r = 0; r < sizeof repl; r++) {
            size_t len = n;
            if (repl[r] == 0) { /* delete byte i */
                memcpy(buf, yaml, i);
                memcpy(buf + i, yaml + i + 1, n - i - 1);
                len = n - 1;
            } else {
                memcpy(buf, yaml, n);
                buf[i] = repl[r];
            }
            cfg_doc doc;
            char *diag = NULL;
            mer_err err = {0};
            if (config_load_text(&doc, "c.yaml", buf, len, NULL, 0, &diag, &err) == 0) {
                accepted++;
                unexplained += diag != NULL;
                config_doc_free(&doc);
            } else {
                rejected++;
                unexplained += !diag || strncmp(diag, "c.yaml:", 7) || strncmp(err.msg, "c.yaml:", 7);
            }
            free(diag);
        }
    free(buf);
    printf("mutations: %zu accepted, %zu rejected\n", accepted, rejected);
    CHECK(unexplained == 0, "every rejected mutation has a located message (%zu without)", unexplained);
    CHECK(accepted > 0 && rejected > 0, "mutations both accepted and rejected");
}

/* Every enum setting: its schema row uses the vocabulary of its C enum (one name per enumerator, counted by
 * *_COUNT), every name parses back to its enumerator, and loading `key=name` stores that enumerator and prints
 * the name again (the text that point ids and cache keys hash). */
static void test_enum_vocabularies(void) {
    static const struct {
        const char *key;
        const cfg_vocab *vocab;
        int count;
        size_t offset;
    } ENUMS[] = {
        {"dataset.format", &CFG_DATASET_FORMATS, CFG_DATASET_FORMAT_COUNT, offsetof(mer_config, dataset_format)},
        {"magnify.method", &CFG_MAG_METHODS, CFG_MAG_METHOD_COUNT, offsetof(mer_config, mag_method)},
        {"magnify.schedule.factor", &CFG_MAG_FACTORS, CFG_MAG_FACTOR_COUNT, offsetof(mer_config, mag_factor)},
        {"model.input", &CFG_MODEL_INPUTS, CFG_MODEL_INPUT_COUNT, offsetof(mer_config, model_input)},
        {"model.flow.median", &CFG_FLOW_MEDIANS, CFG_FLOW_MEDIAN_COUNT, offsetof(mer_config, flow_median)},
        {"model.backbone.kind", &CFG_BACKBONE_KINDS, CFG_BACKBONE_KIND_COUNT, offsetof(mer_config, model_backbone_kind)},
        {"model.lbptop.mapping", &CFG_LBPTOP_MAPPINGS, CFG_LBPTOP_MAPPING_COUNT, offsetof(mer_config, lbptop_mapping)},
        {"model.lbptop.classifier", &CFG_LBPTOP_CLASSIFIERS, CFG_LBPTOP_CLASSIFIER_COUNT,
         offsetof(mer_config, lbptop_classifier)},
        {"model.backbone.mode", &CFG_BACKBONE_MODES, CFG_BACKBONE_MODE_COUNT, offsetof(mer_config, model_backbone)},
        {"model.backbone.bn_stats", &CFG_BN_STATS, CFG_BN_STATS_COUNT, offsetof(mer_config, model_bn_stats)},
        {"model.head.features", &CFG_HEAD_FEATURES, CFG_HEAD_FEATURES_COUNT, offsetof(mer_config, head_features)},
        {"model.attention.type", &CFG_ATTENTION_TYPES, CFG_ATTENTION_TYPE_COUNT, offsetof(mer_config, attn_type)},
        {"model.attention.planes", &CFG_PLANES, CFG_PLANES_COUNT, offsetof(mer_config, attn_planes)},
        {"model.head.pooling", &CFG_POOLINGS, CFG_POOLING_COUNT, offsetof(mer_config, head_pooling)},
        {"train.optimizer", &CFG_OPTIMIZERS, CFG_OPTIMIZER_COUNT, offsetof(mer_config, train_optimizer)},
        {"train.lr_schedule", &CFG_LR_SCHEDULES, CFG_LR_SCHEDULE_COUNT, offsetof(mer_config, train_lr_schedule)},
        {"eval.protocol", &CFG_PROTOCOLS, CFG_PROTOCOL_COUNT, offsetof(mer_config, eval_protocol)},
        {"eval.selection", &CFG_SELECTIONS, CFG_SELECTION_COUNT, offsetof(mer_config, eval_selection)},
        {"runtime.log_level", &CFG_LOG_LEVELS, CFG_LOG_LEVEL_COUNT, offsetof(mer_config, rt_log_level)},
        {"dataset.apex", &CFG_APEX_SOURCES, CFG_APEX_SOURCE_COUNT, offsetof(mer_config, dataset_apex)},
    };
    const size_t n_enums = sizeof ENUMS / sizeof ENUMS[0];
    size_t enum_rows = 0;
    for (size_t i = 0; i < CFG_N_KEYS; i++) enum_rows += CFG_KEYS[i].type == CFG_ENUM;
    CHECK(enum_rows == n_enums, "%zu enum rows in the schema, %zu listed here", enum_rows, n_enums);
    for (size_t e = 0; e < n_enums; e++) {
        int row = cfg_key_find(ENUMS[e].key, strlen(ENUMS[e].key));
        CHECK(row >= 0 && CFG_KEYS[row].type == CFG_ENUM, "%s is an enum row", ENUMS[e].key);
        if (row < 0) continue;
        CHECK(CFG_KEYS[row].enums == ENUMS[e].vocab && CFG_KEYS[row].offset == ENUMS[e].offset,
              "%s: the schema row uses its field's vocabulary", ENUMS[e].key);
        CHECK(ENUMS[e].vocab->n == ENUMS[e].count, "%s: %d names for %d enumerators", ENUMS[e].key,
              ENUMS[e].vocab->n, ENUMS[e].count);
        CHECK(cfg_enum_parse(ENUMS[e].vocab, "no-such-value") < 0, "%s: unknown name rejected", ENUMS[e].key);
        for (int k = 0; k < ENUMS[e].count; k++) {
            const char *name = cfg_enum_name(ENUMS[e].vocab, k);
            CHECK(cfg_enum_parse(ENUMS[e].vocab, name) == k, "%s: parse(name(%d)) == %d", ENUMS[e].key, k, k);
            for (int j = 0; j < k; j++)
                CHECK(strcmp(name, cfg_enum_name(ENUMS[e].vocab, j)), "%s: '%s' twice", ENUMS[e].key, name);
            char ov[128], line[128];
            snprintf(ov, sizeof ov, "%s=%s", ENUMS[e].key, name);
            const char *leaf = strrchr(ENUMS[e].key, '.');
            snprintf(line, sizeof line, " %s: %s\n", leaf ? leaf + 1 : ENUMS[e].key, name);
            /* manifest needs annotations, and any format but synth a root */
            char *ovs[] = {ov, "dataset.root=r", "dataset.annotations=a.csv"};
            cfg_doc doc;
            char *diag = NULL;
            int r = load(&doc, "", ovs, 3, &diag);
            CHECK(r == 0, "load %s: %s", ov, diag ? diag : "");
            if (r == 0) {
                CHECK(*(const int *)((const char *)&doc.base + ENUMS[e].offset) == k, "%s stores enumerator %d", ov, k);
                char *text = config_to_string(&doc.base, NULL, 0);
                CHECK(text && strstr(text, line), "%s prints as '%s'", ov, line);
                free(text);
                config_doc_free(&doc);
            }
            free(diag);
        }
    }
}

static void test_schema_table(void) {
    /* sections are contiguous (the printer relies on it) and every key is unique */
    for (size_t i = 0; i < CFG_N_KEYS; i++) {
        for (size_t j = 0; j < i; j++) CHECK(strcmp(CFG_KEYS[i].key, CFG_KEYS[j].key), "key %s twice", CFG_KEYS[i].key);
        const char *dot = strrchr(CFG_KEYS[i].key, '.');
        if (!dot || i == 0) continue;
        size_t n = (size_t)(dot - CFG_KEYS[i].key);
        int prev_same = !strncmp(CFG_KEYS[i - 1].key, CFG_KEYS[i].key, n) && CFG_KEYS[i - 1].key[n] == '.';
        if (prev_same) continue;
        for (size_t j = 0; j + 1 < i; j++)
            CHECK(strncmp(CFG_KEYS[j].key, CFG_KEYS[i].key, n) || CFG_KEYS[j].key[n] != '.',
                  "section of %s reopened", CFG_KEYS[i].key);
        CHECK(CFG_KEYS[i].help && CFG_KEYS[i].help[0], "%s has help", CFG_KEYS[i].key);
    }
    CHECK(CFG_N_KEYS >= 60, "schema has all keys (%zu)", CFG_N_KEYS);
}

int main(void) {
    char dir[] = "/tmp/mer_test_config_XXXXXX";
    if (!mkdtemp(dir) || chdir(dir)) {
        perror("temp dir");
        return 1;
    }
    test_bad_configs();
    test_many_errors();
    test_overrides();
    test_values_and_defaults();
    test_round_trip();
    test_sweep();
    test_schema_table();
    test_enum_vocabularies();
    test_mutations();
    unlink("c.yaml");
    if (chdir("/") == 0) rmdir(dir);
    return check_summary();
}
