#!/usr/bin/python3
"""The Python reference of `mer convert-pth` (which does the same in C, without Python; the two outputs are
compared in tests/integration/test_convert_pth.sh).

Convert a torchvision ResNet-18 checkpoint (.pth state_dict, e.g. the ImageNet weights users download
themselves from download.pytorch.org/models/resnet18-f37072fd.pth) into mer's HDF5 weights layout:
one float32 dataset per state_dict key at the file root, PyTorch shapes (OIHW); num_batches_tracked is
dropped. Needs torch (optional for users; mer itself never runs Python).

  /usr/bin/python3 tests/ref/pth_to_h5.py resnet18-f37072fd.pth resnet18_imagenet.h5
  mer nn forward --model resnet18 --weights resnet18_imagenet.h5 --input x.h5 --output y.h5

With ImageNet weights, normalise RGB inputs in [0,1] with imagenet_normalize() (core/models/resnet18.h).
"""
import sys

import h5py
import numpy as np
import torch


def main(src, dst):
    state = torch.load(src, map_location="cpu")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    n = tensors = 0
    with h5py.File(dst, "w") as f:
        for key, value in state.items():
            key = key[len("module."):] if key.startswith("module.") else key
            if key.endswith("num_batches_tracked"):
                continue
            f[key] = value.detach().cpu().numpy().astype(np.float32)
            n += value.numel()
            tensors += 1
    print(f"{dst}: {tensors} tensors, {n} values")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: pth_to_h5.py IN.pth OUT.h5")
    main(sys.argv[1], sys.argv[2])
