/* ResNet-18 + LSH head as one network (see recnet.h). */
#include "core/models/recnet.h"

#include <stdlib.h>
#include <string.h>

#include "core/nn/layers.h"
#include "io/h5.h"

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

int recnet_train_epoch(recnet *net, optimizer *opt_backbone, optimizer *opt_head, const float *x, const int *y, int N,
                       int H, int W, int batch_size, float lr, const float *class_weights, mer_rng *rng,
                       double *mean_loss, mer_err *err) {
    const int finetune = net->mode == BACKBONE_FINETUNE, T = net->T;
    int C;
    lsh_head_dims(net->head, NULL, NULL, &C);
    if (finetune && (!opt_backbone || opt_backbone->n != resnet18_table(net->backbone)->n_params))
        return mer_errf(err, "recnet: finetuning needs an optimizer over the backbone's parameters");
    const int B = batch_size < N ? batch_size : N;
    const size_t frame = (size_t)3 * H * W, sample = frame * T;
    int *order = mer_malloc(sizeof(int) * N, err), *yb = mer_malloc(sizeof(int) * B, err);
    float *xb = mer_malloc(sizeof(float) * sample * B, err), *logits = mer_malloc(sizeof(float) * B * C, err);
    float *probs = mer_malloc(sizeof(float) * B * C, err);
    int rc = -1;
    if (!order || !yb || !xb || !logits || !probs) goto done;
    for (int i = 0; i < N; i++) order[i] = i;
    rng_shuffle(rng, order, N);
    double loss_sum = 0.0;
    for (int s = 0; s < N; s += B) {
        const int n = N - s < B ? N - s : B;
        for (int i = 0; i < n; i++) {
            memcpy(xb + i * sample, x + (size_t)order[s + i] * sample, sizeof(float) * sample);
            yb[i] = y[order[s + i]];
            if (yb[i] < 0 || yb[i] >= C) {
                mer_errf(err, "recnet: label %d of sample %d not in [0, %d)", yb[i], order[s + i], C);
                goto done;
            }
        }
        lsh_head_zero_grad(net->head);
        if (finetune) resnet18_zero_grad(net->backbone);
        if (recnet_forward(net, logits, xb, n, H, W, 1, rng, err) < 0) goto done;
        loss_sum += n * softmax_ce_forward(probs, logits, yb, class_weights, n, C);
        memset(logits, 0, sizeof(float) * n * C); /* reused as dlogits */
        softmax_ce_backward(logits, probs, yb, class_weights, n, C, 1.0f);
        if (recnet_backward(net, logits, err) < 0) goto done;
        nn_table *ht = lsh_head_table(net->head);
        optim_step(opt_head, ht->params, ht->grads, lr);
        if (finetune) {
            nn_table *bt = resnet18_table(net->backbone);
            optim_step(opt_backbone, bt->params, bt->grads, lr);
        }
    }
    if (mean_loss) *mean_loss = loss_sum / N;
    rc = 0;
done:
    free(order), free(yb), free(xb), free(logits), free(probs);
    return rc;
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

int recnet_checkpoint_save(const recnet *net, const optimizer *opt_backbone, const optimizer *opt_head,
                           const mer_rng *rng, int epoch, const char *path, mer_err *err) {
    hid_t f;
    if (h5_create_tmp(path, &f, err) < 0) return -1;
    if (nn_table_save(resnet18_table(net->backbone), f, "backbone/", 0, err) < 0 || lsh_head_save_to(net->head, f, err) < 0 ||
        optim_save(opt_head, f, "train/optim_head/", err) < 0 ||
        (opt_backbone && optim_save(opt_backbone, f, "train/optim_backbone/", err) < 0) ||
        h5_write_scalar_i64(f, "train/rng_state", (int64_t)rng->state, err) < 0 ||
        h5_write_scalar_i64(f, "train/epoch", epoch, err) < 0) {
        h5_abort(f, path);
        return mer_err_prefix(err, "recnet checkpoint");
    }
    return h5_commit(f, path, err);
}

int recnet_checkpoint_restore(recnet *net, optimizer *opt_backbone, optimizer *opt_head, mer_rng *rng, int *epoch,
                              const char *path, mer_err *err) {
    hid_t f;
    int64_t state = 0, ep = 0;
    if (h5_open(path, 0, &f, err) < 0) return -1;
    int rc = nn_table_load(resnet18_table(net->backbone), f, "backbone/", NULL, err);
    if (rc == 0) rc = nn_table_load(lsh_head_table(net->head), f, "", NULL, err);
    if (rc == 0) rc = optim_load(opt_head, f, "train/optim_head/", err);
    if (rc == 0 && opt_backbone) rc = optim_load(opt_backbone, f, "train/optim_backbone/", err);
    if (rc == 0) rc = h5_read_scalar_i64(f, "train/rng_state", &state, err);
    if (rc == 0) rc = h5_read_scalar_i64(f, "train/epoch", &ep, err);
    h5_close(f, NULL);
    if (rc < 0) return mer_err_prefix(err, "restoring recnet checkpoint %s", path);
    rng->state = (uint64_t)state;
    *epoch = (int)ep;
    return 0;
}
