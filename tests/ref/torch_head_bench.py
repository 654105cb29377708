#!/usr/bin/python3
"""Peer of `mer nn bench --model head --train`: the LSH attention head (core/models/lsh_head.h) in PyTorch,
trained the same way on random frozen features: x (batch, T, d_in) -> q, k, v projections (d) -> LSH buckets
from n_rounds random hyperplanes (signs of q and k projections) -> attention restricted to same-bucket keys
-> concat [x, attn] -> mean over frames -> fc1 (hidden) + ReLU + dropout -> fc2 (classes) -> cross-entropy,
Adam. One warm-up step, then ITERS timed steps (forward, backward, optimiser step). Run both alternately:
  /usr/bin/python3 tests/ref/torch_head_bench.py --threads 2
  mer nn bench --model head --train --threads 2
Defaults are the patent's sizes: T 32, d_in 512, d 1024, n_rounds 4, hidden 256, batch 16, 5 classes.
"""
import argparse
import resource
import time

import torch


class LshHead(torch.nn.Module):
    def __init__(self, d_in, d, rounds, hidden, classes, dropout):
        super().__init__()
        self.wq = torch.nn.Linear(d_in, d, bias=False)
        self.wk = torch.nn.Linear(d_in, d, bias=False)
        self.wv = torch.nn.Linear(d_in, d, bias=False)
        self.register_buffer("planes", torch.randn(rounds, d))
        self.register_buffer("bits", 2 ** torch.arange(rounds))
        self.fc1 = torch.nn.Linear(d_in + d, hidden)
        self.fc2 = torch.nn.Linear(hidden, classes)
        self.drop = torch.nn.Dropout(dropout)

    def forward(self, x):
        q, k, v = self.wq(x), self.wk(x), self.wv(x)
        with torch.no_grad():
            cq = (((q @ self.planes.T) > 0).long() * self.bits).sum(-1)
            ck = (((k @ self.planes.T) > 0).long() * self.bits).sum(-1)
            keep = cq[:, :, None] == ck[:, None, :]
        s = q @ k.transpose(1, 2) / q.shape[-1] ** 0.5
        prob = torch.softmax(s.masked_fill(~keep, -1e30), dim=-1) * keep
        z = torch.cat([x, prob @ v], dim=-1).mean(1)
        return self.fc2(self.drop(torch.relu(self.fc1(z))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=32)
    ap.add_argument("--d-in", type=int, default=512)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--classes", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=50)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = LshHead(a.d_in, a.d, a.rounds, a.hidden, a.classes, a.dropout).train()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.randn(a.batch, a.T, a.d_in)
    y = torch.randint(0, a.classes, (a.batch,))
    times = []
    for it in range(a.iters + 1):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
        if it:
            times.append(time.perf_counter() - t0)
    times.sort()
    t = times[len(times) // 2]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(f"torch {torch.__version__}, median step {t * 1e3:.2f} ms, peak RSS {rss:.0f} MB")
    print(f"torch head train T{a.T} d_in{a.d_in} d{a.d} batch {a.batch} threads {a.threads}: {a.batch / t:.1f} samples/s")


if __name__ == "__main__":
    main()
