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
