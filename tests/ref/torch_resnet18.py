#!/usr/bin/python3
"""Reference fixture for the C ResNet-18 (tests/unit/test_nn_resnet18.c), from torchvision 0.14.

The real 11,689,512-parameter layout (1000-class fc) is exercised without committing 46 MB of weights:
both this script and the C test fill the model with the deterministic pattern of
resnet18_init_pattern(seed) (nn_common.py implements the same splitmix64 stream). Stored:
  x (4,3,64,64), y (4,)             input batch (uniform in [-1, 1)) and labels
  eval/features (4,512), eval/logits (4,1000)       eval mode
  train/loss                          mean cross-entropy of one training-mode forward
  after/<key>                         every tensor after one plain SGD step (lr) for tensors with <= 4096
                                      elements (BN parameters, running statistics, fc.bias)
  sample/<key>/index, sample/<key>/grad, sample/<key>/after   1024 fixed random positions of each larger
                                      tensor: the gradient there and the value after the step
Run: /usr/bin/python3 tests/ref/torch_resnet18.py tests/fixtures/nn/resnet18_ref.h5
"""
import sys

import h5py
import numpy as np
import torch
import torchvision

from nn_common import Stream, resnet18_pattern_state

SEED, INPUT_SEED, LR, N, HW, SAMPLES = 7, 11, 0.05, 4, 64, 1024


def main(path):
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    state = resnet18_pattern_state(shapes, SEED)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    s = Stream(INPUT_SEED)
    x = s.uniform_range((N, 3, HW, HW), -1.0, 1.0)
    y = np.array([3, 999, 0, 500], dtype=np.int64)
    xt = torch.from_numpy(x)
    feats = {}
    model.avgpool.register_forward_hook(lambda mod, i, o: feats.__setitem__("f", torch.flatten(o, 1)))

    model.eval()
    with torch.no_grad():
        logits = model(xt)
    eval_features, eval_logits = feats["f"].numpy().copy(), logits.numpy().copy()

    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.0, weight_decay=0.0)
    opt.zero_grad()
    loss = torch.nn.functional.cross_entropy(model(xt), torch.from_numpy(y))
    loss.backward()
    grads = {k: p.grad.numpy().copy() for k, p in model.named_parameters()}
    opt.step()
    after = {k: v.numpy().copy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}

    rng = np.random.default_rng(1)
    with h5py.File(path, "w") as f:
        f["x"], f["y"] = x, y
        f["seed"], f["lr"] = SEED, np.float32(LR)
        f["eval/features"], f["eval/logits"] = eval_features, eval_logits
        f["train/loss"] = np.float64(loss.item())
        for k, v in after.items():
            if v.size <= 4096:
                f["after/" + k] = v
                if k in grads:
                    f["grad/" + k] = grads[k]
            else:
                idx = np.sort(rng.choice(v.size, SAMPLES, replace=False)).astype(np.int64)
                f[f"sample/{k}/index"] = idx
                f[f"sample/{k}/grad"] = grads[k].reshape(-1)[idx]
                f[f"sample/{k}/after"] = v.reshape(-1)[idx]
    print(f"{path}: loss {loss.item():.6f}, |features| {np.linalg.norm(eval_features):.4g}, "
          f"|logits| {np.linalg.norm(eval_logits):.4g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/nn/resnet18_ref.h5")
