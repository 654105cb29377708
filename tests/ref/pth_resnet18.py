#!/usr/bin/python3
"""Save mer's ResNet-18 weights (an HDF5 file from `mer nn init --model resnet18 [--pattern]`) as torchvision
would: a state_dict in torchvision's key order, with an int64 num_batches_tracked after each BatchNorm's
running_var, written by torch.save. tests/integration/test_convert_pth.sh converts it back with
`mer convert-pth` and with tests/ref/pth_to_h5.py and requires identical files. No torchvision needed.

  /usr/bin/python3 tests/ref/pth_resnet18.py W.h5 W.pth [--drop KEY] [--add KEY]
--drop leaves a key out, --add adds a (1,)-shaped float tensor of that name (to test the key warnings).
"""
import argparse
from collections import OrderedDict

import h5py
import torch


def torchvision_keys():
    def bn(p):
        return [f"{p}.weight", f"{p}.bias", f"{p}.running_mean", f"{p}.running_var", f"{p}.num_batches_tracked"]

    keys = ["conv1.weight"] + bn("bn1")
    for layer in range(1, 5):
        for block in range(2):
            p = f"layer{layer}.{block}"
            keys += [f"{p}.conv1.weight"] + bn(f"{p}.bn1") + [f"{p}.conv2.weight"] + bn(f"{p}.bn2")
            if layer > 1 and block == 0:
                keys += [f"{p}.downsample.0.weight"] + bn(f"{p}.downsample.1")
    return keys + ["fc.weight", "fc.bias"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("h5")
    ap.add_argument("pth")
    ap.add_argument("--drop", default=None)
    ap.add_argument("--add", default=None)
    a = ap.parse_args()
    state = OrderedDict()
    with h5py.File(a.h5, "r") as f:
        for key in torchvision_keys():
            if key == a.drop or (key.startswith("fc.") and "fc.weight" not in f):
                continue
            if key.endswith("num_batches_tracked"):
                state[key] = torch.tensor(0, dtype=torch.int64)
            else:
                state[key] = torch.from_numpy(f[key][()])
        assert all(k in state or k == a.drop for k in f.keys()), "the h5 holds keys torchvision does not"
    if a.add:
        state[a.add] = torch.ones(1)
    torch.save(state, a.pth)


if __name__ == "__main__":
    main()
