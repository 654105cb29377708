/* mer prep's loop: a per-sample HDF5 cache keyed by the preprocess.* parameters (see core/prep.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/prep.h"
#include "io/base/fs.h"
#include "io/h5.h"
#include "io/base/log.h"

char *prep_sample_path(const char *dir, const char *id, mer_err *err) {
    if (!id[0] || id[0] == '/' || strstr(id, "..")) return mer_errf(err, "sample id '%s' cannot name a file", id), NULL;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '_' || *p == '-' || *p == '/' || *p == '+'))
            return mer_errf(err, "sample id '%s': character '%c' not allowed in a cache file name", id, *p), NULL;
    size_t n = strlen(dir) + strlen(id) + 16;
    char *path = mer_malloc(n, err);
    if (path) snprintf(path, n, "%s/samples/%s.h5", dir, id);
    return path;
}

/* 1 when the cache file holds an ok result for exactly this input. */
static int cached_ok(const char *path, const prep_item *it) {
    if (access(path, R_OK) != 0) return 0;
    mer_err err = {0};
    hid_t f;
    if (h5_open(path, 0, &f, &err) < 0) return 0;
    char *status = NULL, *clip = NULL;
    int64_t onset = -1, apex = -1;
    int ok = h5_read_str(f, "status", &status, &err) == 0 && !strcmp(status, "ok") &&
             h5_read_str(f, "input/clip", &clip, &err) == 0 && !strcmp(clip, it->clip_path) &&
             h5_read_scalar_i64(f, "input/onset", &onset, &err) == 0 && onset == it->onset &&
             h5_read_scalar_i64(f, "input/apex", &apex, &err) == 0 && apex == it->apex && h5_exists(f, "result/onset");
    free(status);
    free(clip);
    h5_close(f, &err);
    return ok;
}

static int write_sample(const char *path, const prep_item *it, const prep_result *r, const char *reason, mer_err *err) {
    if (fs_mkdir_parent(path, err) < 0) return -1;
    hid_t f;
    if (h5_create_tmp(path, &f, err) < 0) return -1;
    if (h5_write_str(f, "status", r ? "ok" : "failed", err) < 0 || h5_write_str(f, "reason", reason ? reason : "", err) < 0 ||
        h5_write_str(f, "input/clip", it->clip_path, err) < 0 ||
        h5_write_scalar_i64(f, "input/onset", it->onset, err) < 0 ||
        h5_write_scalar_i64(f, "input/apex", it->apex, err) < 0 || (r && prep_result_write(f, "result", r, err) < 0)) {
        h5_abort(f, path);
        return -1;
    }
    return h5_commit(f, path, err);
}

static int write_index(const char *dir, const char *config_text, const prep_item *items, size_t n, const int64_t *status,
                       const char *const *reasons, mer_err *err) {
    size_t len = strlen(dir) + 16;
    char *path = mer_malloc(len, err);
    if (!path) return -1;
    snprintf(path, len, "%s/index.h5", dir);
    const char **ids = mer_calloc(n, sizeof *ids, err), **clips = mer_calloc(n, sizeof *clips, err);
    int ret = -1;
    hid_t f;
    if (!ids || !clips) goto done;
    for (size_t i = 0; i < n; i++) {
        ids[i] = items[i].id;
        clips[i] = items[i].clip_path;
    }
    if (h5_create_tmp(path, &f, err) < 0) goto done;
    if (h5_write_strs(f, "id", ids, n, err) < 0 || h5_write_strs(f, "clip", clips, n, err) < 0 ||
        h5_write_i64(f, "status", status, 1, &n, err) < 0 ||
        h5_write_strs(f, "reason", reasons, n, err) < 0 ||
        h5_write_str(f, "config", config_text, err) < 0) {
        h5_abort(f, path);
        goto done;
    }
    ret = h5_commit(f, path, err);
done:
    free(ids);
    free(clips);
    free(path);
    return ret;
}

static int write_text(const char *dir, const char *name, const char *text, mer_err *err) {
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = mer_malloc(len, err);
    if (!path) return -1;
    snprintf(path, len, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    int ok = f && fputs(text, f) >= 0;
    if (f) ok = (fclose(f) == 0) && ok;
    if (!ok) mer_errf(err, "%s: cannot write", path);
    free(path);
    return ok ? 0 : -1;
}

void prep_summary_free(prep_summary *s) {
    for (size_t i = 0; s->reasons && i < s->n; i++) free(s->reasons[i]);
    free(s->reasons);
    memset(s, 0, sizeof *s);
}

int prep_run(prep_summary *s, const char *dir, const char *config_text, const prep_item *items, size_t n,
             prep_sample_fn fn, void *user, mer_err *err) {
    memset(s, 0, sizeof *s);
    s->n = n;
    if (n == 0) return mer_errf(err, "prep: no samples to process");
    if (fs_mkdir_p(dir, err) < 0 || write_text(dir, "config.yaml", config_text, err) < 0) return -1;
    int64_t *status = mer_calloc(n, sizeof *status, err);
    char **reasons = mer_calloc(n, sizeof *reasons, err);
    int ret = -1;
    if (!status || !reasons) goto done;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(items[i].id, items[j].id)) {
                mer_errf(err, "sample id '%s' appears twice (items %zu and %zu)", items[i].id, j, i);
                goto done;
            }
    progress pr;
    progress_start(&pr, "prep", n);
    for (size_t i = 0; i < n; i++) {
        const prep_item *it = &items[i];
        mer_err e = {0};
        char *path = prep_sample_path(dir, it->id, &e);
        if (!path) {
            reasons[i] = strdup(e.msg);
            log_warn("prep: %s", e.msg);
            s->failed++;
            progress_step(&pr, 1);
            continue;
        }
        if (cached_ok(path, it)) {
            status[i] = 1;
            s->cached++;
        } else {
            prep_result r;
            if (fn(&r, it, user, &e) == 0) {
                if (write_sample(path, it, &r, NULL, err) < 0) {
                    prep_result_free(&r);
                    free(path);
                    progress_end(&pr);
                    goto done;
                }
                prep_result_free(&r);
                status[i] = 1;
                s->computed++;
            } else {
                reasons[i] = strdup(e.msg);
                log_warn("prep: %s failed: %s", it->id, e.msg);
                s->failed++;
                if (write_sample(path, it, NULL, e.msg, err) < 0) {
                    free(path);
                    progress_end(&pr);
                    goto done;
                }
            }
        }
        free(path);
        progress_step(&pr, 1);
    }
    progress_end(&pr);
    const char **index_reasons = mer_calloc(n, sizeof *index_reasons, err);
    if (!index_reasons) goto done;
    for (size_t i = 0; i < n; i++) index_reasons[i] = reasons[i] ? reasons[i] : (status[i] ? "" : "(unknown)");
    ret = write_index(dir, config_text, items, n, status, index_reasons, err);
    free(index_reasons);
done:
    s->reasons = reasons;
    free(status);
    return ret;
}
