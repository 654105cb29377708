/* Named parameter tables (see nn_tensors.h). */
#include "core/nn/tensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/h5.h"

int nn_table_add(nn_table *tab, const char *name, int ndim, const size_t *dims, int trainable, mer_err *err) {
    if (tab->n >= NN_MAX_TENSORS) return mer_errf(err, "nn: too many tensors (max %d) adding %s", NN_MAX_TENSORS, name);
    if (ndim < 1 || ndim > 4) return mer_errf(err, "nn: tensor %s: bad rank %d", name, ndim);
    if (strlen(name) >= NN_NAME_MAX) return mer_errf(err, "nn: tensor name too long: %s", name);
    nn_tensor *t = &tab->t[tab->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) {
        t->dims[d] = dims[d];
        t->numel *= dims[d];
    }
    t->trainable = trainable;
    if (trainable) {
        t->offset = tab->n_params;
        tab->n_params += t->numel;
    } else {
        t->offset = tab->n_buffers;
        tab->n_buffers += t->numel;
    }
    return tab->n++;
}

int nn_table_alloc(nn_table *tab, mer_err *err) {
    tab->params = mer_calloc(tab->n_params ? tab->n_params : 1, sizeof(float), err);
    tab->grads = mer_calloc(tab->n_params ? tab->n_params : 1, sizeof(float), err);
    tab->buffers = mer_calloc(tab->n_buffers ? tab->n_buffers : 1, sizeof(float), err);
    if (!tab->params || !tab->grads || !tab->buffers) {
        nn_table_free(tab);
        return mer_err_prefix(err, "nn: allocating %zu parameters", tab->n_params);
    }
    return 0;
}

void nn_table_free(nn_table *tab) {
    free(tab->params);
    free(tab->grads);
    free(tab->buffers);
    tab->params = tab->grads = tab->buffers = NULL;
}

float *nn_table_data(const nn_table *tab, int i) {
    const nn_tensor *t = &tab->t[i];
    return (t->trainable ? tab->params : tab->buffers) + t->offset;
}

float *nn_table_grad(const nn_table *tab, int i) {
    const nn_tensor *t = &tab->t[i];
    return t->trainable ? tab->grads + t->offset : NULL;
}

int nn_table_find(const nn_table *tab, const char *name) {
    for (int i = 0; i < tab->n; i++)
        if (!strcmp(tab->t[i].name, name)) return i;
    return -1;
}

int nn_table_save(const nn_table *tab, hid_t loc, const char *prefix, int grads, mer_err *err) {
    char path[NN_NAME_MAX + 128];
    for (int i = 0; i < tab->n; i++) {
        const nn_tensor *t = &tab->t[i];
        if (grads && !t->trainable) continue;
        snprintf(path, sizeof path, "%s%s", prefix, t->name);
        const float *data = grads ? nn_table_grad(tab, i) : nn_table_data(tab, i);
        if (h5_write_f32(loc, path, data, t->ndim, t->dims, err) < 0) return -1;
    }
    return 0;
}

static int is_optional(const char *name, const char *const *optional) {
    for (; optional && *optional; optional++)
        if (!strncmp(name, *optional, strlen(*optional))) return 1;
    return 0;
}

int nn_table_load(nn_table *tab, hid_t loc, const char *prefix, const char *const *optional, mer_err *err) {
    char path[NN_NAME_MAX + 128], fname[512];
    for (int i = 0; i < tab->n; i++) {
        const nn_tensor *t = &tab->t[i];
        snprintf(path, sizeof path, "%s%s", prefix, t->name);
        if (!h5_exists(loc, path)) {
            if (is_optional(t->name, optional)) continue;
            return mer_errf(err, "%s: missing dataset %s", h5_filename(loc, fname, sizeof fname), path);
        }
        int ndim;
        size_t dims[H5_MAX_DIMS];
        if (h5_shape(loc, path, &ndim, dims, err) < 0) return -1;
        int same = ndim == t->ndim;
        for (int d = 0; same && d < ndim; d++) same = dims[d] == t->dims[d];
        if (!same) {
            char want[96] = "", got[96] = "";
            for (int d = 0; d < t->ndim; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%zu", d ? "," : "", t->dims[d]);
            for (int d = 0; d < ndim && d < H5_MAX_DIMS; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", d ? "," : "", dims[d]);
            return mer_errf(err, "%s: dataset %s has shape (%s), expected (%s)", h5_filename(loc, fname, sizeof fname),
                            path, got, want);
        }
        if (h5_read_f32_into(loc, path, nn_table_data(tab, i), t->numel, err) < 0) return -1;
    }
    return 0;
}
