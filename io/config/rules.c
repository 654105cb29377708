/* Cross-key rules, checked on the resolved config of every sweep point:
 *   - magnify.schedule.step and .end: at most one of them set explicitly (a `~` value counts as unset);
 *   - magnify.schedule.list non-empty: it sets count; an explicit count must equal its length;
 *     start/step/end are then ignored;
 *   - dataset.format other than synth: dataset.root must be given explicitly (its default is the demo
 *     folder); manifest also needs a non-empty dataset.annotations; composite needs dataset.sources
 *     ("NAME:ROOT[:ANNOTATIONS]" each) or an index CSV in dataset.annotations instead of a root;
 *   - with dataset.format composite, dataset.class_map entries are "[SOURCE:]EMOTION=CLASS" (other formats
 *     ignore dataset.sources and dataset.class_map, as they ignore dataset.synth.*);
 *   - train.warmup_epochs < train.epochs;
 *   - model.backbone.kind lbptop: not with model.backbone.mode finetune, model.input flow,
 *     eval.selection inner_val or eval.oracle_epoch; its radii leave a counted centre in the T x size x size volume, and the grid fits;
 *   - model.backbone.bn_stats other than weights and model.head.features other than raw need a frozen
 *     ResNet-18 backbone (both act on its cached features; a fine-tuned backbone learns its own statistics).
 */
#include <math.h>
#include <string.h>

#include "io/config/internal.h"

/* Derived fields after all assignments: a list sets count (an explicit count must match it, which
 * cfg_check_whole() reports); end set means step is unused (NAN). `set` may be NULL. */
void cfg_finalize(mer_config *cfg, const cfg_set *set) {
    if (cfg->mag_list.n && !(set && set[cfg_key_index("magnify.schedule.count")].order))
        cfg->mag_count = (int)cfg->mag_list.n;
    if (!isnan(cfg->mag_end)) cfg->mag_step = NAN;
    else if (isnan(cfg->mag_step)) cfg->mag_step = strtod(CFG_KEYS[cfg_key_index("magnify.schedule.step")].def, NULL);
}

static void put_where(strbuf *b, cfg_loc l) {
    if (l.src && l.src->override) strbuf_addf(b, "override '%s'", l.src->override);
    else strbuf_addf(b, "line %zu", l.line);
}

/* Where the later-set of two keys was set (the value that made the pair conflict). */
static int later(const cfg_set *set, int a, int b) { return set[a].order > set[b].order ? a : b; }
static cfg_loc later_of(const cfg_set *set, int a, int b) { return set[later(set, a, b)].loc; }

/* model.backbone.kind lbptop: what the baseline cannot do, and the volume it must fit (the same bounds as
 * lbptop_check in core/baseline/lbptop.c, caught here so a sweep point fails before its run starts). */
static void cfg_check_lbptop(const mer_config *cfg, const cfg_set *set, diag *d) {
    const int kind = cfg_key_index("model.backbone.kind");
    const int mode = cfg_key_index("model.backbone.mode"), sel = cfg_key_index("eval.selection");
    const int oracle = cfg_key_index("eval.oracle_epoch");
    int count = cfg_key_index("magnify.schedule.count");
    const int rt = cfg_key_index("model.lbptop.radius.t"), gt = cfg_key_index("model.lbptop.grid.t");
    const int size = cfg_key_index("preprocess.size");
    const int rxy = later(set, cfg_key_index("model.lbptop.radius.x"), cfg_key_index("model.lbptop.radius.y"));
    const int grid = later(set, cfg_key_index("model.lbptop.grid.rows"), cfg_key_index("model.lbptop.grid.cols"));
    if (cfg->model_backbone == CFG_BACKBONE_FINETUNE)
        diag_add(d, later_of(set, kind, mode), "model.backbone.kind 'lbptop' has no network to fine-tune "
                                                "(model.backbone.mode: finetune)");
    if (cfg->model_input == CFG_MODEL_INPUT_FLOW)
        diag_add(d, later_of(set, kind, cfg_key_index("model.input")),
                 "model.backbone.kind 'lbptop' codes grey frames: model.input 'flow' is not supported");
    if (cfg->eval_selection == CFG_SELECTION_INNER_VAL)
        diag_add(d, later_of(set, kind, sel), "model.backbone.kind 'lbptop' trains its linear classifier for "
                                               "train.epochs: eval.selection 'inner_val' is not supported");
    if (cfg->eval_oracle_epoch)
        diag_add(d, later_of(set, kind, oracle), "model.backbone.kind 'lbptop' has no per-epoch selection: "
                                                  "eval.oracle_epoch is not supported");
    const int T = cfg->mag_count, margin_t = (int)ceil(cfg->lbptop_rt);
    if (cfg->mag_list.n) count = cfg_key_index("magnify.schedule.list"); /* the list sets T */
    if (T - 2 * margin_t < 1)
        diag_add(d, later_of(set, rt, count), "'model.lbptop.radius.t' (%g) leaves no frame of the %d magnified "
                                              "frames (magnify.schedule.count) that far from both ends", cfg->lbptop_rt, T);
    else if (cfg->lbptop_grid_t > T)
        diag_add(d, later_of(set, gt, count), "'model.lbptop.grid.t' (%d) is more than the %d magnified frames",
                 cfg->lbptop_grid_t, T);
    const int S = cfg->prep_size, margin_xy = (int)ceil(fmax(cfg->lbptop_rx, cfg->lbptop_ry));
    if (S - 2 * margin_xy < 1)
        diag_add(d, later_of(set, rxy, size), "'%s' leaves no pixel of the %d px crop (preprocess.size) %d px from "
                                               "its borders", CFG_KEYS[rxy].key, S, margin_xy);
    else if (cfg->lbptop_grid_rows > S || cfg->lbptop_grid_cols > S)
        diag_add(d, later_of(set, grid, size), "'model.lbptop.grid' (%d x %d blocks) is more than the %d px crop "
                 "(preprocess.size)", cfg->lbptop_grid_rows, cfg->lbptop_grid_cols, S);
}

/* The cross-key rules of the file header, on one resolved config. */
void cfg_check_whole(const mer_config *cfg, const cfg_set *set, diag *d) {
    int step = cfg_key_index("magnify.schedule.step"), end = cfg_key_index("magnify.schedule.end");
    int count = cfg_key_index("magnify.schedule.count"), list = cfg_key_index("magnify.schedule.list");
    int fmt = cfg_key_index("dataset.format"), root = cfg_key_index("dataset.root");
    int warm = cfg_key_index("train.warmup_epochs"), epochs = cfg_key_index("train.epochs");
    if (set[step].order && set[end].order) {
        int second = set[step].order > set[end].order ? step : end, first = second == step ? end : step;
        strbuf w = STRBUF_INIT;
        put_where(&w, set[first].loc);
        diag_add(d, set[second].loc, "'%s' and '%s' are both set (first at %s); give one of them",
                 CFG_KEYS[first].key, CFG_KEYS[second].key, strbuf_str(&w));
        strbuf_release(&w);
    }
    if (cfg->mag_list.n && set[count].order && set[list].order && (size_t)cfg->mag_count != cfg->mag_list.n) {
        int second = set[count].order > set[list].order ? count : list;
        diag_add(d, set[second].loc, "'magnify.schedule.count' is %d but 'magnify.schedule.list' has %zu factors",
                 cfg->mag_count, cfg->mag_list.n);
    }
    const char *format = cfg_enum_name(&CFG_DATASET_FORMATS, cfg->dataset_format);
    const int composite = cfg->dataset_format == CFG_DATASET_COMPOSITE;
    int sources = cfg_key_index("dataset.sources"), cmap = cfg_key_index("dataset.class_map");
    for (size_t i = 0; composite && i < cfg->dataset_sources.n; i++) {
        const char *v = cfg->dataset_sources.v[i], *colon = strchr(v, ':');
        if (!colon || colon == v || !colon[1] || colon[1] == ':')
            diag_add(d, set[sources].loc, "dataset.sources entry %zu '%s' is not NAME:ROOT[:ANNOTATIONS]", i + 1, v);
    }
    for (size_t i = 0; composite && i < cfg->dataset_class_map.n; i++) {
        const char *v = cfg->dataset_class_map.v[i], *eq = strchr(v, '=');
        if (!eq || eq == v || !eq[1] || eq[-1] == ':' || strchr(eq + 1, '=') || strchr(eq + 1, ':'))
            diag_add(d, set[cmap].loc, "dataset.class_map entry %zu '%s' is not [SOURCE:]EMOTION=CLASS", i + 1, v);
    }
    if (composite) {
        if (!cfg->dataset_sources.n && !cfg->dataset_annotations[0])
            diag_add(d, set[fmt].loc, "dataset.format 'composite' needs 'dataset.sources' (NAME:ROOT[:ANNOTATIONS] "
                                      "per source) or an index CSV in 'dataset.annotations'");
    } else if (cfg->dataset_format != CFG_DATASET_SYNTH && !set[root].order) {
        cfg_loc l = set[fmt].loc; /* format is not synth, so it was set explicitly */
        diag_add(d, l, "missing required key 'dataset.root' (dataset.format '%s' has no default folder)",
                 format);
    } else if (cfg->dataset_format != CFG_DATASET_SYNTH && !cfg->dataset_root[0]) {
        diag_add(d, set[root].loc, "'dataset.root' is empty (dataset.format '%s' needs the dataset's folder)",
                 format);
    }
    if (cfg->dataset_format == CFG_DATASET_MANIFEST && !cfg->dataset_annotations[0])
        diag_add(d, set[fmt].loc, "missing required key 'dataset.annotations' (dataset.format 'manifest' reads "
                                  "its samples from that CSV)");
    if (cfg->model_backbone_kind == CFG_BACKBONE_LBPTOP) cfg_check_lbptop(cfg, set, d);
    if (cfg->train_warmup_epochs >= cfg->train_epochs) {
        int second = set[warm].order > set[epochs].order ? warm : epochs;
        diag_add(d, set[second].loc, "'train.warmup_epochs' (%d) must be smaller than 'train.epochs' (%d)",
                 cfg->train_warmup_epochs, cfg->train_epochs);
    }
    if (cfg->model_backbone == CFG_BACKBONE_FINETUNE || cfg->model_backbone_kind == CFG_BACKBONE_LBPTOP) {
        static const char *const frozen_only[] = {"model.backbone.bn_stats", "model.head.features"};
        const int vals[] = {cfg->model_bn_stats, cfg->head_features};
        for (int i = 0; i < 2; i++) {
            int k = cfg_key_index(frozen_only[i]);
            if (vals[i] != 0)
                diag_add(d, set[k].loc, "'%s: %s' needs 'model.backbone.mode: frozen' (it acts on the cached "
                                        "features of a frozen backbone)",
                         frozen_only[i], cfg_enum_name(CFG_KEYS[k].enums, vals[i]));
        }
    }
}
