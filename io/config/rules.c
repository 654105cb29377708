/* Cross-key rules, checked on the resolved config of every sweep point:
 *   - magnify.schedule.step and .end: at most one of them set explicitly (a `~` value counts as unset);
 *   - magnify.schedule.list non-empty: it sets count; an explicit count must equal its length;
 *     start/step/end are then ignored;
 *   - dataset.format other than synth: dataset.root must be given explicitly (its default is the demo
 *     folder); manifest also needs a non-empty dataset.annotations;
 *   - train.warmup_epochs < train.epochs.
 */
#include <math.h>

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
    if (cfg->dataset_format != CFG_DATASET_SYNTH && !set[root].order) {
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
    if (cfg->train_warmup_epochs >= cfg->train_epochs) {
        int second = set[warm].order > set[epochs].order ? warm : epochs;
        diag_add(d, set[second].loc, "'train.warmup_epochs' (%d) must be smaller than 'train.epochs' (%d)",
                 cfg->train_warmup_epochs, cfg->train_epochs);
    }
}
