#!/usr/bin/python3
"""Peer of `mer nn bench`: torchvision ResNet-18 measured the same way (random input, 1000-class fc,
one warm-up pass, then ITERS timed passes; train = forward + backward of a fixed logit gradient, no
optimizer step, like `mer nn bench --train`). Run both alternately on the same machine:
  /usr/bin/python3 tests/ref/torch_bench.py --size 112 --batch 32 --threads 2 --train
  mer nn bench --model resnet18 --size 112 --batch 32 --threads 2 --train
"""
import argparse
import resource
import time

import torch
import torchvision


def macs(size):
    """Conv + fc multiply-accumulates of one image (same count as resnet18_forward_macs)."""
    total = 0

    def hook(mod, inp, out):
        nonlocal total
        if isinstance(mod, torch.nn.Conv2d):
            total += out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        elif isinstance(mod, torch.nn.Linear):
            total += mod.in_features * mod.out_features

    m = torchvision.models.resnet18()
    hs = [x.register_forward_hook(hook) for x in m.modules() if isinstance(x, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        m.eval()(torch.zeros(1, 3, size, size))
    for h in hs:
        h.remove()
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--train", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = torchvision.models.resnet18()
    model.train(a.train)
    x = torch.randn(a.batch, 3, a.size, a.size)
    dl = 1e-3 * torch.randn(a.batch, 1000)
    times = []
    for it in range(a.iters + 1):
        t0 = time.perf_counter()
        if a.train:
            model.zero_grad(set_to_none=False)
            model(x).backward(dl)
        else:
            with torch.no_grad():
                model(x)
        if it:
            times.append(time.perf_counter() - t0)
    t = sum(times) / len(times)
    flops = 2.0 * macs(a.size) * a.batch * (3.0 if a.train else 1.0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"torch {torch.__version__}, per pass {t:.3f} s, peak RSS {rss:.0f} MB")
    print(f"torch resnet18 {'train' if a.train else 'eval'} {a.size}x{a.size} batch {a.batch} threads {a.threads}: "
          f"{a.batch / t:.1f} img/s, {flops / t / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
