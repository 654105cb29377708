/* ResNet-18 + LSH head as one network (see recnet.h). */
#include "core/models/recnet.h"

#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"

int recnet_init(recnet *net, resnet18 *backbone, lsh_head *head, backbone_mode mode, mer_err *err) {
    memset(net, 0, sizeof *net);
    int d_in, T;
    lsh_head_dims(head, &d_in, &T, NULL);
    if (d_in != RESNET18_FEATURES) return mer_errf(err, "recnet: head input width %d, ResNet-18 gives %d", d_in, RESNET18_FEATURES);
    net->backbone = backbone, net->head = head, net->mode = mode, net->T = T;
    return 0;
}

void recnet_free(recnet *net) {
    free(net->feat), free(net->dfeat);
    net->feat = net->dfeat = NULL;
    net->cap = 0;
}

void recnet_prepare_input(float *dst, const float *frames, const float *onset, int N, int T, int H, int W,
                          input_mode mode, int imagenet) {
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    const size_t HW = (size_t)H * W;
    for (int n = 0; n < N; n++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < 3; c++) {
                const float *src = frames + (((size_t)n * T + t) * 3 + c) * HW;
                const float *on = mode == INPUT_DIFFERENCE ? onset + ((size_t)n * 3 + c) * HW : NULL;
                float *d = dst + (((size_t)n * T + t) * 3 + c) * HW;
                const float m = imagenet && mode == INPUT_FRAMES ? mean[c] : 0.0f, s = imagenet ? std[c] : 1.0f;
                for (size_t i = 0; i < HW; i++) d[i] = ((on ? src[i] - on[i] : src[i]) - m) / s;
            }
}

/* BT.601 luma in double, rounded once: equal channels give the channel's value exactly. */
static void to_grey(float *grey, const float *rgb, size_t HW) {
    for (size_t i = 0; i < HW; i++)
        grey[i] = (float)(0.299 * rgb[i] + 0.587 * rgb[HW + i] + 0.114 * rgb[2 * HW + i]);
}

int recnet_prepare_flow(float *dst, const float *frames, const float *onset, int N, int T, int H, int W,
                        const flow_input_options *o, int imagenet, mer_err *err) {
    static const float std[3] = {0.229f, 0.224f, 0.225f};
    if (tvl1_check(&o->tvl1, err) < 0) return -1;
    const size_t HW = (size_t)H * W;
    const long n_jobs = (long)N * T;
    long first_bad = n_jobs; /* the lowest failing frame reports, whatever the thread count */
    mer_err first = {0};
#ifdef _OPENMP
#pragma omp parallel for schedule(dynamic, 1) if (n_jobs > 1)
#endif
    for (long job = 0; job < n_jobs; job++) {
        const int n = (int)(job / T);
        mer_err e = {0};
        float *g = malloc(2 * HW * sizeof *g);
        float *d = dst + (size_t)job * 3 * HW;
        int rc = g ? 0 : mer_errk(&e, MER_ERR_NOMEM, "recnet_prepare_flow: out of memory for %dx%d frames", W, H);
        if (!rc) {
            to_grey(g, onset + (size_t)n * 3 * HW, HW);
            to_grey(g + HW, frames + (size_t)job * 3 * HW, HW);
            rc = tvl1_flow(d, d + HW, g, g + HW, H, W, &o->tvl1, &e);
        }
        free(g);
        if (!rc) {
            optical_strain(d + 2 * HW, d, d + HW, H, W);
            for (size_t i = 0; i < HW; i++) d[2 * HW + i] *= o->strain_gain;
            if (imagenet)
                for (int c = 0; c < 3; c++)
                    for (size_t i = 0; i < HW; i++) d[c * HW + i] /= std[c];
        }
        if (rc) {
#ifdef _OPENMP
#pragma omp critical(recnet_flow_error)
#endif
            if (job < first_bad) first_bad = job, first = e;
        }
    }
    if (first_bad < n_jobs) {
        if (err) *err = first;
        return -1;
    }
    return 0;
}

static int ensure(recnet *net, int N, mer_err *err) {
    const size_t need = (size_t)N * net->T * RESNET18_FEATURES;
    if (need <= net->cap) return 0;
    recnet_free(net);
    net->feat = mer_malloc(need * sizeof(float), err);
    net->dfeat = mer_malloc(need * sizeof(float), err);
    if (!net->feat || !net->dfeat) {
        recnet_free(net);
        return -1;
    }
    net->cap = need;
    return 0;
}

int recnet_forward(recnet *net, float *logits, const float *x, int N, int H, int W, int train, mer_rng *rng,
                   mer_err *err) {
    net->train_ready = 0;
    if (ensure(net, N, err) < 0) return -1;
    const int bb_train = train && net->mode == BACKBONE_FINETUNE;
    if (resnet18_forward(net->backbone, net->feat, NULL, x, N * net->T, H, W, bb_train, err) < 0) return -1;
    if (lsh_head_forward(net->head, logits, NULL, net->feat, N, train, rng, err) < 0) return -1;
    net->N = N;
    net->train_ready = train;
    return 0;
}

int recnet_backward(recnet *net, const float *dlogits, mer_err *err) {
    if (!net->train_ready) return mer_errf(err, "recnet_backward: no training-mode forward pass to differentiate");
    const int finetune = net->mode == BACKBONE_FINETUNE;
    if (finetune) memset(net->dfeat, 0, sizeof(float) * (size_t)net->N * net->T * RESNET18_FEATURES);
    if (lsh_head_backward(net->head, finetune ? net->dfeat : NULL, dlogits, err) < 0) return -1;
    if (finetune && resnet18_backward(net->backbone, NULL, net->dfeat, NULL, err) < 0) return -1;
    return 0;
}

int recnet_predict(recnet *net, float *probs, const float *x, int N, int H, int W, int chunk, mer_err *err) {
    int C;
    lsh_head_dims(net->head, NULL, NULL, &C);
    const size_t sample = (size_t)3 * H * W * net->T;
    if (chunk <= 0) chunk = 8;
    for (int s = 0; s < N; s += chunk) {
        const int n = N - s < chunk ? N - s : chunk;
        if (recnet_forward(net, probs + (size_t)s * C, x + (size_t)s * sample, n, H, W, 0, NULL, err) < 0) return -1;
        softmax_forward(probs + (size_t)s * C, probs + (size_t)s * C, n, C);
    }
    return 0;
}
