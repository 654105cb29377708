#!/usr/bin/python3
"""Reference fixtures for the LSH sparse-attention head (core/models/lsh_head.h), computed with torch autograd
in float64 from float32 parameters. One self-contained file per configuration in tests/fixtures/nn/:
  head_<attention>_<pooling>.h5
    config/*                 the head architecture (as lsh_head_save writes it)
    attn.wq, attn.wk, attn.wv (d_in,d), attn.planes (n_rounds,d), fc1.*, fc2.*   parameters (float32)
    x (N,T,d_in), y (N)      input features and labels
    attn (N,T,d), logits (N,C), loss (mean cross-entropy), grad/<name> for every trained tensor
    empty_rows               number of query rows whose bucket holds no key (lsh only)
The LSH fixture is drawn until it has rows with empty buckets and rows with several kept keys, and
every hash projection is at least 1e-2 away from 0 so float32 rounding cannot flip a bucket bit.
The same file serves as --weights and --input of `mer nn forward|grad --model head`.
Run: /usr/bin/python3 tests/ref/torch_lsh_head.py tests/fixtures/nn
"""
import os
import sys

import h5py
import numpy as np
import torch

N, T, D_IN, D, ROUNDS, HIDDEN, C = 4, 8, 16, 12, 3, 10, 3


def forward(x, p, attention, pooling):
    """Returns attn, logits, empty row count; x and p are float64 tensors."""
    n, t, _ = x.shape
    empty = 0
    if attention == "none":
        a = None
        z = x
    else:
        q, k, v = x @ p["attn.wq"], x @ p["attn.wk"], x @ p["attn.wv"]
        if attention == "lsh":
            bits = 2 ** torch.arange(ROUNDS, dtype=torch.int64)
            cq = (((q @ p["attn.planes"].T) > 0).long() * bits).sum(-1)
            ck = (((k @ p["attn.planes"].T) > 0).long() * bits).sum(-1)
            keep = cq[:, :, None] == ck[:, None, :]
        else:
            keep = torch.ones(n, t, t, dtype=torch.bool)
        s = q @ k.transpose(1, 2) / np.sqrt(q.shape[-1])
        # masked entries get a huge negative logit (exp underflows to exactly 0); multiplying by the
        # keep mask zeroes rows without any kept key, without NaN in value or gradient
        prob = torch.softmax(s.masked_fill(~keep, -1e30), dim=-1) * keep
        empty = int((~keep.any(-1)).sum())
        a = prob @ v
        z = torch.cat([x, a], dim=-1)
    pooled = z.mean(1) if pooling == "mean" else z.reshape(n, -1)
    h = torch.relu(pooled @ p["fc1.weight"].T + p["fc1.bias"])
    logits = h @ p["fc2.weight"].T + p["fc2.bias"]
    return a, logits, empty


def make(outdir, attention, pooling, seed):
    for attempt in range(1000):
        rng = np.random.default_rng(seed + attempt)
        x = rng.standard_normal((N, T, D_IN)).astype(np.float32)
        y = rng.integers(0, C, N).astype(np.int64)
        d = 0 if attention == "none" else D
        dz = D_IN + d
        dp = dz if pooling == "mean" else T * dz
        p = {}
        if d:
            for k in ("attn.wq", "attn.wk", "attn.wv"):
                p[k] = rng.uniform(-0.5, 0.5, (D_IN, D)).astype(np.float32)
        if attention == "lsh":
            p["attn.planes"] = rng.standard_normal((ROUNDS, D)).astype(np.float32)
        p["fc1.weight"] = rng.uniform(-1, 1, (HIDDEN, dp)).astype(np.float32) / np.sqrt(dp).astype(np.float32)
        p["fc1.bias"] = rng.uniform(-0.1, 0.1, HIDDEN).astype(np.float32)
        p["fc2.weight"] = rng.uniform(-1, 1, (C, HIDDEN)).astype(np.float32) / np.float32(np.sqrt(HIDDEN))
        p["fc2.bias"] = rng.uniform(-0.1, 0.1, C).astype(np.float32)
        if attention == "lsh":
            x64 = x.astype(np.float64)
            proj = np.concatenate([x64 @ p[k].astype(np.float64) for k in ("attn.wq", "attn.wk")], 1) @ \
                p["attn.planes"].astype(np.float64).T
            if np.abs(proj).min() < 1e-2:
                continue
        pt = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k != "attn.planes") for k, v in p.items()}
        a, logits, empty = forward(torch.tensor(x, dtype=torch.float64), pt, attention, pooling)
        if attention == "lsh" and not (1 <= empty <= N * T // 2):
            continue
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(y))
        loss.backward()
        break
    else:
        raise RuntimeError("no suitable draw")
    path = os.path.join(outdir, f"head_{attention}_{pooling}.h5")
    with h5py.File(path, "w") as f:
        cfg = dict(d_in=D_IN, T=T, n_classes=C, n_rounds=ROUNDS, d=D, hidden=HIDDEN)
        for k, v in cfg.items():
            f["config/" + k] = np.int64(v)
        f["config/dropout"] = np.float64(0.0)
        for k, v in (("attention", attention), ("planes", "fixed"), ("pooling", pooling)):
            f["config/" + k] = v
        for k, v in p.items():
            f[k] = v
        f["x"], f["y"] = x, y
        if a is not None:
            f["attn"] = a.detach().numpy().astype(np.float32)
        f["logits"] = logits.detach().numpy().astype(np.float32)
        f["loss"] = np.float64(loss.item())
        f["empty_rows"] = np.int64(empty)
        for k, v in pt.items():
            if v.requires_grad:
                f["grad/" + k] = v.grad.numpy().astype(np.float32)
    print(f"{path}: loss {loss.item():.6f}, empty rows {empty} of {N * T}")


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/nn"
    make(out, "lsh", "mean", 100)
    make(out, "dense", "flatten", 200)
    make(out, "none", "mean", 300)
