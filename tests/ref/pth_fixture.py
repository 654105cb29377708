#!/usr/bin/python3
"""Write the fixtures of `mer convert-pth` (tests/fixtures/pth/, read by tests/unit/test_pth.c):

  small.pth        torch.save of a small model's state_dict (conv + BatchNorm with its int64
                   num_batches_tracked + linear), plus a transposed view (non-contiguous strides) and a
                   slice with a storage offset sharing one storage
  small_expected.h5  the expected float32 tensors (every key but the int64 one), written with h5py
  evil_global.pth  a zip like torch's whose data.pkl calls os.system via GLOBAL (protocol 2)
  evil_stack.pth   the same via STACK_GLOBAL (protocol 4)
  evil_opcode.pth  a pickle with the INST opcode

  /usr/bin/python3 tests/ref/pth_fixture.py tests/fixtures/pth
Needs torch and h5py; deterministic (fixed seed).
"""
import io
import os
import pickle
import sys
import zipfile
from collections import OrderedDict

import h5py
import numpy as np
import torch


def small_state():
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(4 * 2 * 2, 3))
    model.train()
    model(torch.randn(5, 3, 4, 4))  # running statistics and num_batches_tracked change from their init
    state = model.state_dict()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7.0
    state["extra.transposed"] = base.t()   # strides (1, 6)
    state["extra.slice"] = base[1:3, 2:5]  # storage offset 8, strides (6, 1)
    state["extra.scalar"] = torch.tensor(2.5)
    return state


def zip_like_torch(path, pkl):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    state = small_state()
    torch.save(state, os.path.join(out, "small.pth"))
    with h5py.File(os.path.join(out, "small_expected.h5"), "w") as f:
        for key, value in state.items():
            if value.dtype == torch.float32:
                f[key] = value.contiguous().numpy()
    # a hand-written pickle: os.system("true") through GLOBAL + REDUCE, and through STACK_GLOBAL
    zip_like_torch(os.path.join(out, "evil_global.pth"), b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03.")
    zip_like_torch(os.path.join(out, "evil_stack.pth"),
                   b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x04true\x85R.")
    zip_like_torch(os.path.join(out, "evil_opcode.pth"), b"\x80\x02(X\x01\x00\x00\x00aios\nsystem\n.")
    for name in ("evil_global.pth", "evil_stack.pth"):  # the payload is what it claims to be
        with zipfile.ZipFile(os.path.join(out, name)) as z:
            ops = [op.name for op, _, _ in __import__("pickletools").genops(z.read("archive/data.pkl"))]
            assert "REDUCE" in ops and ("GLOBAL" in ops or "STACK_GLOBAL" in ops), ops
    print(f"{out}: {len(state)} tensors in small.pth")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pth")
