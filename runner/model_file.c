/* Model files: export from a run, load for prediction (layout: runner/model_file.h). */
#include "runner/model_file.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/train.h"
#include "io/base/strbuf.h"
#include "io/h5.h"
#include "mer_version.h"
#include "runner/core_options.h"
#include "runner/results.h"

/* ---- export -------------------------------------------------------------------------------------- */

/* The train task of (variant, fold) in the stored plan: index or -1. */
static long find_task(const stored_plan *sp, size_t variant, int64_t fold) {
    for (size_t k = 0; k < sp->n_tasks; k++)
        if (!strcmp(sp->task_stage[k], "train") && (size_t)sp->task_variant[k] == variant && sp->task_fold[k] == fold)
            return (long)k;
    return -1;
}

static int write_loso(hid_t f, const model_loso *l, mer_err *err) {
    if (!l->have) return 0;
    return h5_write_scalar_f64(f, "loso/accuracy", l->accuracy, err) || h5_write_scalar_f64(f, "loso/uf1", l->uf1, err) ||
                   h5_write_scalar_f64(f, "loso/uar", l->uar, err) || h5_write_scalar_i64(f, "loso/n", l->n, err) ||
                   h5_write_scalar_i64(f, "loso/n_folds", l->n_folds, err) ||
                   h5_write_scalar_f64(f, "loso/accuracy_mean", l->accuracy_mean, err) ||
                   h5_write_scalar_f64(f, "loso/accuracy_std", l->accuracy_std, err) ||
                   h5_write_scalar_f64(f, "loso/uf1_mean", l->uf1_mean, err) ||
                   h5_write_scalar_f64(f, "loso/uar_mean", l->uar_mean, err) ||
                   h5_write_scalar_i64(f, "loso/n_seeds", l->n_seeds, err)
               ? -1
               : 0;
}

/* /backbone: the trained one (finetune, from the task file), else the frozen one the config names. */
static int write_backbone(hid_t f, hid_t task, const mer_config *cfg, const char *fold, mer_err *err) {
    if (cfg->model_backbone_kind == CFG_BACKBONE_LBPTOP) return h5_write_str(f, "backbone/init", "none", err);
    if (cfg->model_backbone == CFG_BACKBONE_FINETUNE) {
        if (!h5_exists(task, "weights/backbone"))
            return mer_errf(err, "fold %s was trained without output.save_backbone: its fine-tuned backbone is not "
                                 "in the run (export the final model, or run with output.save_backbone: true)",
                            fold ? fold : "?");
        return h5_write_str(f, "backbone/init", "finetuned", err) ||
                       h5_copy(task, "weights/backbone", f, "backbone/weights", err)
                   ? -1
                   : 0;
    }
    resnet18 *net = NULL;
    int normalize;
    uint64_t seed;
    if (pipeline_backbone_create(&net, &normalize, cfg, &seed, err) < 0) return -1;
    int rc = 0;
    if (cfg->model_bn_stats != CFG_BN_STATS_WEIGHTS) { /* the BatchNorm statistics its features were computed with */
        hid_t g;
        if (!h5_exists(task, "weights/backbone_buffers"))
            rc = mer_errf(err, "the task file of %s has no adapted BatchNorm statistics (bn_stats %s; it was trained "
                               "by an older mer: remove it and run again)",
                          fold ? fold : "the final model", cfg->model_bn_stats == CFG_BN_STATS_ADAPT ? "adapt" : "adapt_train");
        else if (h5_group(task, "weights/backbone_buffers", 0, &g, err) < 0)
            rc = -1;
        else {
            rc = pipeline_bn_buffers_load(net, g, err);
            H5Gclose(g);
        }
        if (rc) {
            resnet18_free(net);
            return -1;
        }
    }
    if (normalize) {
        hid_t g;
        rc = h5_write_str(f, "backbone/init", "pretrained", err) || h5_group(f, "backbone/weights", 1, &g, err) ? -1 : 0;
        if (!rc) {
            rc = resnet18_save_to(net, g, err);
            H5Gclose(g);
        }
    } else {
        rc = h5_write_str(f, "backbone/init", "random", err) ||
                     h5_write_scalar_i64(f, "backbone/seed", (int64_t)seed, err)
                 ? -1
                 : 0;
        if (!rc) rc = pipeline_bn_buffers_save(f, "backbone/buffers", net, err);
    }
    resnet18_free(net);
    return rc;
}

static int write_magnify(hid_t f, const mer_config *cfg, int copy, mer_err *err) {
    double *factors = NULL;
    int T = 0;
    if (options_factors(&factors, &T, cfg, err) < 0) return -1;
    size_t nt = (size_t)T;
    const magnify_options mo = options_magnify(cfg);
    int rc = h5_write_str(f, "magnify/method", magnify_method_name(mo.method), err) ||
                     h5_write_f64(f, "magnify/factors", factors, 1, &nt, err)
                 ? -1
                 : 0;
    free(factors);
    if (rc || mo.method != MAGNIFY_NETWORK) return rc;
    magnet_model *mag = NULL; /* loaded first: what is copied or referenced is a complete MagNet */
    if (magnify_load_model(&mag, &mo, err) < 0) return -1;
    magnify_model_free(mag);
    if (!copy) {
        char abs[PATH_MAX];
        return h5_write_str(f, "magnify/magnet_path", realpath(mo.weights, abs) ? abs : mo.weights, err);
    }
    hid_t src;
    if (h5_open(mo.weights, 0, &src, err) < 0) return -1;
    for (int i = 0; !rc && i < MAGNET_N_CONVS; i++) {
        char name[256], dst[300];
        magnet_var_name(name, sizeof name, i);
        snprintf(dst, sizeof dst, "magnify/magnet/%s", name);
        rc = h5_copy(src, name, f, dst, err);
    }
    h5_close(src, NULL);
    return rc;
}

int model_file_export(const char *out, const model_export_options *o, mer_err *err) {
    stored_plan sp;
    if (stored_plan_read(&sp, o->dir, err) < 0) return -1;
    cfg_doc doc;
    int doc_loaded = 0, rc = -1;
    hid_t f = -1, task = -1;
    char *cfg_text = NULL, path[4096];
    long variant = -1, k = -1;
    int64_t fold = -1;
    size_t pi = 0;
    while (pi < sp.n_points && strcmp(sp.point_id[pi], o->point_id)) pi++;
    if (pi == sp.n_points) {
        mer_errf(err, "%s: no point '%s' (mer config CONFIG --points lists them)", o->dir, o->point_id);
        goto done;
    }
    for (size_t v = 0; v < sp.n_variants && variant < 0; v++)
        if ((size_t)sp.variant_point[v] == pi && sp.variant_seed[v] == o->seed) variant = (long)v;
    if (variant < 0) {
        mer_errf(err, "%s: point %s has no seed %lld", o->dir, o->point_id, (long long)o->seed);
        goto done;
    }
    if (o->fold) {
        fold = -2;
        for (size_t i = 0; i < sp.n_folds && fold == -2; i++)
            if (!strcmp(sp.fold_name[i], o->fold)) fold = (int64_t)i;
        if (fold == -2) {
            mer_errf(err, "%s: no fold '%s'", o->dir, o->fold);
            goto done;
        }
    }
    if ((k = find_task(&sp, (size_t)variant, fold)) < 0) {
        if (!o->fold)
            mer_errf(err, "%s: point %s seed %lld has no final model (run it with eval.final_model: true)", o->dir,
                     sp.point_id[pi], (long long)o->seed);
        else
            mer_errf(err, "%s: point %s seed %lld has no task for fold %s", o->dir, sp.point_id[pi],
                     (long long)o->seed, o->fold);
        goto done;
    }
    snprintf(path, sizeof path, "%s/tasks/train/%s.h5", o->dir, sp.task_id[k]);
    struct stat st;
    if (stat(path, &st) != 0) {
        mer_errf(err, "%s: the %s model of point %s seed %lld (task %s) has not finished (mer status %s)", o->dir,
                 o->fold ? "fold" : "final", sp.point_id[pi], (long long)o->seed, sp.task_id[k], o->dir);
        goto done;
    }
    const char *pc = sp.point_config[pi];
    if (config_load_text(&doc, "point config", pc, strlen(pc), NULL, 0, NULL, err) < 0) goto done;
    doc_loaded = 1;
    doc.base.seed = (long)o->seed;
    if (!(cfg_text = config_to_string(&doc.base, NULL, 0))) {
        mer_errf(err, "cannot print the config");
        goto done;
    }
    int64_t epochs = -1;
    if (h5_open(path, 0, &task, err) < 0 ||
        (!o->fold && h5_exists(task, "final/epochs") && h5_read_scalar_i64(task, "final/epochs", &epochs, err) < 0))
        goto done;
    if (h5_create_tmp(out, &f, err) < 0) goto done;
    if (h5_write_attr_i64(f, "mer_model_layout", MODEL_FILE_LAYOUT, err) ||
        h5_write_attr_str(f, "mer_version", MER_VERSION, err) || h5_write_str(f, "config", cfg_text, err) ||
        h5_write_strs(f, "classes", (const char *const *)sp.classes, sp.n_classes, err) ||
        h5_write_str(f, "source/run", o->dir, err) || h5_write_str(f, "source/point_id", sp.point_id[pi], err) ||
        h5_write_str(f, "source/point_params", sp.point_params[pi], err) ||
        h5_write_str(f, "source/task_id", sp.task_id[k], err) ||
        h5_write_str(f, "source/kind", o->fold ? "fold" : "final", err) ||
        h5_write_str(f, "source/fold", o->fold ? o->fold : "", err) ||
        h5_write_scalar_i64(f, "source/seed", o->seed, err) ||
        (epochs >= 0 && h5_write_scalar_i64(f, "source/epochs", epochs, err)) || write_loso(f, &o->loso, err) ||
        h5_copy(task, "weights/head", f, "head", err) ||
        (h5_exists(task, "weights/standardize") && h5_copy(task, "weights/standardize", f, "standardize", err)) ||
        write_backbone(f, task, &doc.base, o->fold, err) || write_magnify(f, &doc.base, o->magnet_copy, err)) {
        h5_abort(f, out);
        f = -1;
        goto done;
    }
    rc = h5_commit(f, out, err);
    f = -1;
done:
    if (task >= 0) h5_close(task, NULL);
    free(cfg_text);
    if (doc_loaded) config_doc_free(&doc);
    stored_plan_free(&sp);
    return rc < 0 ? mer_err_prefix(err, "mer export") : 0;
}

/* ---- load ---------------------------------------------------------------------------------------- */

void model_free(mer_model *m) {
    if (m->net_ready) recnet_free(&m->net);
    logreg_free(&m->linear);
    resnet18_free(m->tuned);
    lsh_head_free(m->head);
    if (m->pf_ready) pipeline_features_free(&m->pf);
    strs_free(m->classes, m->n_classes);
    free(m->mean);
    free(m->sd);
    if (m->doc_loaded) config_doc_free(&m->doc);
    memset(m, 0, sizeof *m);
}

/* The frozen or fine-tuned backbone of the file (*net) and whether inputs get the ImageNet normalisation. */
static int load_backbone(resnet18 **net, hid_t f, const char *path, mer_err *err) {
    char *init = NULL;
    hid_t g = -1;
    if (h5_read_str(f, "backbone/init", &init, err) < 0 || resnet18_create(net, 0, err) < 0) {
        free(init);
        return -1;
    }
    int rc = -1;
    if (!strcmp(init, "pretrained") || !strcmp(init, "finetuned")) {
        if (h5_group(f, "backbone/weights", 0, &g, err) == 0) rc = nn_table_load(resnet18_table(*net), g, "", NULL, err);
    } else if (!strcmp(init, "none")) { /* model.backbone.kind lbptop: the features need no network */
        resnet18_free(*net);
        *net = NULL;
        rc = 0;
    } else if (!strcmp(init, "random")) {
        int64_t seed;
        if (h5_read_scalar_i64(f, "backbone/seed", &seed, err) == 0 && h5_group(f, "backbone/buffers", 0, &g, err) == 0) {
            resnet18_init_kaiming(*net, (uint64_t)seed);
            rc = pipeline_bn_buffers_load(*net, g, err);
        }
    } else
        mer_errf(err, "%s: /backbone/init '%s' is unknown", path, init);
    if (g >= 0) H5Gclose(g);
    free(init);
    if (rc < 0) {
        resnet18_free(*net);
        *net = NULL;
        return mer_err_prefix(err, "backbone");
    }
    return 0;
}

static int load_magnet(magnet_model **mag, hid_t f, const mer_config *cfg, mer_err *err) {
    *mag = NULL;
    if (cfg->mag_method != CFG_MAG_NETWORK) return 0;
    if (h5_exists(f, "magnify/magnet")) {
        hid_t g;
        if (h5_group(f, "magnify/magnet", 0, &g, err) < 0) return -1;
        magnet_model *mm = mer_malloc(sizeof *mm, err);
        int rc = mm ? magnet_load_from(mm, g, "/magnify/magnet", err) : -1;
        H5Gclose(g);
        if (rc < 0) {
            free(mm);
            return -1;
        }
        *mag = mm;
        return 0;
    }
    char *p = NULL;
    if (h5_read_str(f, "magnify/magnet_path", &p, err) < 0) return -1;
    const magnify_options mo = {MAGNIFY_NETWORK, p};
    int rc = magnify_load_model(mag, &mo, err);
    free(p);
    return rc;
}

int model_load(mer_model *m, const char *path, mer_err *err) {
    memset(m, 0, sizeof *m);
    hid_t f;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    int64_t layout = 0;
    char *text = NULL;
    magnet_model *mag = NULL;
    resnet18 *net = NULL;
    int rc = -1;
    if (h5_read_attr_i64(f, "mer_model_layout", &layout, err) < 0) {
        mer_errf(err, "%s is not a mer model file (no mer_model_layout attribute; write one with mer export)", path);
        goto done;
    }
    if (layout != MODEL_FILE_LAYOUT) {
        mer_errk(err, MER_ERR_DATA, "%s: model file layout %lld, this mer reads layout %d (export it again with this "
                                     "version)", path, (long long)layout, MODEL_FILE_LAYOUT);
        goto done;
    }
    if (h5_read_str(f, "config", &text, err) < 0 ||
        config_load_text(&m->doc, path, text, strlen(text), NULL, 0, NULL, err) < 0)
        goto done;
    m->doc_loaded = 1;
    const mer_config *cfg = &m->doc.base;
    const int finetune = cfg->model_backbone == CFG_BACKBONE_FINETUNE;
    if (h5_read_strs(f, "classes", &m->classes, &m->n_classes, err) < 0 || load_magnet(&mag, f, cfg, err) < 0 ||
        load_backbone(&net, f, path, err) < 0)
        goto done;
    int normalize = cfg->model_backbone_weights[0] != 0;
    if (finetune) {
        m->tuned = net; /* trained with the head; the features stage only prepares the frames */
        net = NULL;
    }
    /* bn_stats adapt_train: the file's backbone has the adapted statistics; it computes frozen features */
    mer_config fcfg = *cfg;
    fcfg.model_bn_stats = CFG_BN_STATS_WEIGHTS;
    rc = pipeline_features_init(&m->pf, &fcfg, mag, net, normalize, err);
    mag = NULL;
    net = NULL;
    if (rc < 0) goto done;
    m->pf_ready = 1;
    rc = -1;
    int d_in, T, C;
    if (m->pf.lbptop) { /* the train stage's logistic regression on the histogram (logreg_save's layout) */
        if (logreg_load(&m->linear, f, "head/", err) < 0) goto done;
        d_in = m->linear.dim;
        T = m->pf.T;
        C = m->linear.n_classes;
    } else {
        hid_t g;
        if (h5_group(f, "head", 0, &g, err) < 0) goto done;
        int hr = lsh_head_load_from(&m->head, g, err);
        H5Gclose(g);
        if (hr < 0) goto done;
        lsh_head_dims(m->head, &d_in, &T, &C);
    }
    if (T != m->pf.T || (size_t)C != m->n_classes ||
        (size_t)d_in != (finetune ? (size_t)RESNET18_FEATURES : m->pf.D)) {
        mer_errf(err, "%s: the head (T %d, d_in %d, %d classes) does not fit the config (T %d, %zu classes)", path, T,
                 d_in, C, m->pf.T, m->n_classes);
        goto done;
    }
    if (finetune) {
        if (recnet_init(&m->net, m->tuned, m->head, BACKBONE_FINETUNE, err) < 0) goto done;
        m->net_ready = 1;
    } else {
        int nd;
        size_t dm[H5_MAX_DIMS], ds[H5_MAX_DIMS];
        if (h5_read_f64(f, "standardize/mean", &m->mean, &nd, dm, err) < 0 ||
            h5_read_f64(f, "standardize/sd", &m->sd, &nd, ds, err) < 0)
            goto done;
        if (dm[0] != m->pf.D || ds[0] != m->pf.D) {
            mer_errf(err, "%s: /standardize has %zu values, the features %zu", path, dm[0], m->pf.D);
            goto done;
        }
    }
    rc = 0;
done:
    free(text);
    magnify_model_free(mag);
    resnet18_free(net);
    h5_close(f, NULL);
    if (rc < 0) model_free(m);
    return rc;
}

int model_features_of(mer_model *m, float *row, const prep_result *r, mer_err *err) {
    if (pipeline_features_of(&m->pf, row, r, err) < 0) return -1;
    /* model.head.features: the train stage's transform of the sample's rows, before the standardisation */
    const int hf = m->doc.base.head_features;
    if (hf != CFG_HEAD_FEATURES_RAW)
        train_subtract_reference(row, 1, (int)m->pf.R, (int)m->pf.D,
                                 hf == CFG_HEAD_FEATURES_MINUS_ONSET ? m->pf.onset : NULL);
    return 0;
}

int model_classify(mer_model *m, float *prob, float *rows, int n, mer_err *err) {
    if (m->mean) train_standardize_apply(rows, (size_t)n * m->pf.R, (int)m->pf.D, m->mean, m->sd);
    if (m->pf.lbptop) {
        logreg_predict_proba(prob, &m->linear, rows, (size_t)n);
        return 0;
    }
    train_model tm = {m->head, m->net_ready ? &m->net : NULL, m->pf.S, m->pf.S};
    return train_model_predict(&tm, prob, rows, n, err);
}
