/* Intensity magnification stage (step 3 of the method, README "Motion magnification"): the aligned onset and apex frames become T enhanced
 * frames, frame t being the onset->apex motion magnified by factors[t].
 *
 * Layouts: onset/apex are (H, W, 3) uint8 RGB (the preprocessing cache); out is (T, 3, H, W) float32 in [0, 1].
 * Methods:
 *   MAGNIFY_NETWORK  MagNet f(onset, apex, m) (core/magnify/magnet.h), pixels mapped to [-1, 1] and back
 *   MAGNIFY_LINEAR   Eulerian intensity extrapolation onset + m * (apex - onset), clipped to [0, 1]
 *   MAGNIFY_NONE     the apex frame repeated (ablation)
 * With m = 1 every method returns (up to MagNet's reconstruction) the apex frame.
 */
#pragma once
#include <stdint.h>

#include "io/base/err.h"
#include "core/magnify/magnet.h"

typedef enum { MAGNIFY_NETWORK, MAGNIFY_LINEAR, MAGNIFY_NONE } magnify_method;

/* "network" | "linear" | "none" */
int magnify_method_parse(magnify_method *m, const char *text, mer_err *err);
const char *magnify_method_name(magnify_method m);

/* net must be non-NULL for MAGNIFY_NETWORK and is ignored otherwise. */
int magnify_sequence(float *out, const uint8_t *onset, const uint8_t *apex, int H, int W, const double *factors,
                     int T, magnify_method method, const magnet_model *net, mer_err *err);

typedef struct {
    magnify_method method;
    const char *weights; /* MagNet HDF5 weights (mer convert-tf); needed by MAGNIFY_NETWORK */
} magnify_options;

/* Load the MagNet weights the options ask for (method network). Fails with a message saying where to get
 * the official checkpoint and how to convert it when the path is unset or missing. For other methods sets
 * *net = NULL and succeeds. Free with magnify_model_free. */
int magnify_load_model(magnet_model **net, const magnify_options *o, mer_err *err);
void magnify_model_free(magnet_model *net);

/* The hint appended to "no weights" errors. */
extern const char MAGNIFY_WEIGHTS_HINT[];
