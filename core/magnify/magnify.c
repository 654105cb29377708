/* Intensity magnification stage (see magnify.h). */
#include "core/magnify/magnify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char MAGNIFY_WEIGHTS_HINT[] =
    "the official MagNet checkpoint (Oh et al. 2018, \"Learning-based Video Motion Magnification\", "
    "academic use only) is linked from https://github.com/12dmodel/deep_motion_mag "
    "(https://people.csail.mit.edu/tiam/deepmag/data.zip; files o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002.index "
    "and .data-00000-of-00001); convert it with "
    "`mer convert-tf DIR/o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3-259002 magnet.h5` and set magnify.weights: magnet.h5 "
    "(or use magnify.method: linear)";

int magnify_method_parse(magnify_method *m, const char *text, mer_err *err) {
    if (text && !strcmp(text, "network")) *m = MAGNIFY_NETWORK;
    else if (text && !strcmp(text, "linear")) *m = MAGNIFY_LINEAR;
    else if (text && !strcmp(text, "none")) *m = MAGNIFY_NONE;
    else return mer_errf(err, "magnify.method '%s': expected network, linear or none", text ? text : "(unset)");
    return 0;
}

const char *magnify_method_name(magnify_method m) {
    return m == MAGNIFY_NETWORK ? "network" : m == MAGNIFY_LINEAR ? "linear" : "none";
}

static float clip01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }

int magnify_sequence(float *out, const uint8_t *onset, const uint8_t *apex, int H, int W, const double *factors,
                     int T, magnify_method method, const magnet_model *net, mer_err *err) {
    if (H < 1 || W < 1 || T < 0) return mer_errf(err, "magnify: bad size %dx%d or frame count %d", W, H, T);
    const size_t plane = (size_t)H * W;
    for (int t = 0; t < T; t++)
        if (!isfinite(factors[t])) return mer_errf(err, "magnify: factor %d is not finite", t + 1);
    if (method == MAGNIFY_NONE || method == MAGNIFY_LINEAR) {
        for (int t = 0; t < T; t++) {
            const float m = (float)factors[t];
            float *o = out + (size_t)t * 3 * plane;
            for (size_t i = 0; i < plane; i++)
                for (int c = 0; c < 3; c++) {
                    const float a = onset[3 * i + c] / 255.0f, b = apex[3 * i + c] / 255.0f;
                    o[c * plane + i] = method == MAGNIFY_NONE ? b : clip01(a + m * (b - a));
                }
        }
        return 0;
    }
    if (method != MAGNIFY_NETWORK) return mer_errf(err, "magnify: unknown method %d", (int)method);
    if (!net) return mer_errf(err, "magnify: method network needs MagNet weights: %s", MAGNIFY_WEIGHTS_HINT);
    float *a = mer_malloc(3 * plane * sizeof *a, err), *b = a ? mer_malloc(3 * plane * sizeof *b, err) : NULL;
    if (!b) {
        free(a);
        return -1;
    }
    for (size_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) {
            a[c * plane + i] = onset[3 * i + c] / 127.5f - 1.0f;
            b[c * plane + i] = apex[3 * i + c] / 127.5f - 1.0f;
        }
    int rc = magnet_forward(out, a, b, H, W, factors, T, net, err);
    free(a);
    free(b);
    if (rc < 0) return mer_err_prefix(err, "magnify");
    for (size_t i = 0; i < (size_t)T * 3 * plane; i++) out[i] = clip01((out[i] + 1.0f) * 0.5f);
    return 0;
}

int magnify_load_model(magnet_model **net, const magnify_options *o, mer_err *err) {
    *net = NULL;
    if (o->method != MAGNIFY_NETWORK) return 0;
    if (!o->weights || !*o->weights)
        return mer_errf(err, "magnify.method network needs magnify.weights: %s", MAGNIFY_WEIGHTS_HINT);
    if (access(o->weights, R_OK) != 0)
        return mer_errf(err, "magnify.weights '%s' does not exist or is unreadable: %s", o->weights,
                        MAGNIFY_WEIGHTS_HINT);
    magnet_model *mm = mer_malloc(sizeof *mm, err);
    if (!mm) return -1;
    if (magnet_load(mm, o->weights, err) < 0) {
        free(mm);
        return -1;
    }
    *net = mm;
    return 0;
}

void magnify_model_free(magnet_model *net) {
    if (!net) return;
    magnet_free(net);
    free(net);
}
