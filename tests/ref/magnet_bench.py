#!/usr/bin/python3
"""Benchmark (not a test): one aligned pair at 128x128 through 32 magnification factors, mer (C, core/magnify/magnet.c)
versus a PyTorch implementation of the same architecture and the same algorithm (encoders and the
factor-independent manipulator/decoder parts once per pair, the rest once per factor), on this machine.

    /usr/bin/python3 tests/ref/magnet_bench.py --mer build/mer [--weights magnet.h5] [--size 128] [--factors 32]
        [--threads 2] [--repeat 3]

Without --weights, deterministic random weights (magnet_ref.random_weights) are written to a temporary HDF5.
Reports wall time of the forward pass (best of --repeat; mer's own timing line, so process start-up and file
I/O are excluded), GFLOP/s (2 flops per multiply-accumulate actually executed) and the time ratio
torch / mer (> 1: mer is faster). Also checks that both produce the same frames.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import magnet_ref as ref  # noqa: E402


def macs(H, W, T):
    """Same count as magnet_macs() in core/magnify/magnet.c."""
    Hp, Wp = (H + 3) // 4 * 4, (W + 3) // 4 * 4
    full, half, quarter, c33 = Hp * Wp, Hp * Wp / 4, Hp * Wp / 16, 9.0 * 32 * 32
    trunk = 49.0 * 3 * 16 * full + 9.0 * 16 * 32 * half + 6 * c33 * half
    enc = 2 * trunk + 2 * 4 * c33 * half + 5 * c33 * quarter
    pair = 49.0 * 32 * 32 * half + 2 * c33 * half
    per = 2 * c33 * half + 18 * 9.0 * 64 * 64 * half + 9.0 * 64 * 32 * full + 49.0 * 32 * 3 * full
    return enc + pair + T * per


class TorchMagNet:
    def __init__(self, W):
        self.w = {k: torch.from_numpy(np.ascontiguousarray(v.transpose(3, 2, 0, 1))) for k, v in W.items()}

    def conv(self, x, name, relu):
        k = self.w[name].shape[-1]
        y = F.conv2d(F.pad(x, (k // 2,) * 4, mode="reflect"), self.w[name])
        return F.relu(y) if relu else y

    def same_s2(self, x, name):
        return F.relu(F.conv2d(F.pad(x, (0, 1, 0, 1)), self.w[name], stride=2))

    def res(self, x, name):
        return x + self.conv(self.conv(x, name + "_c1", True), name + "_c2", False)

    def encode(self, x, texture):
        r = self.same_s2(self.conv(x, "encoder/enc_conv1_c", True), "encoder/enc_conv2_c")
        for i in range(3):
            r = self.res(r, "encoder/encoder_resblk%d" % i)
        t = None
        if texture:
            t = self.same_s2(r, "encoder/enc_texture_conv")
            t = self.res(self.res(t, "encoder/texture_enc"), "encoder/texture_enc_1")
        s = self.res(self.res(r, "encoder/shape_enc"), "encoder/shape_enc_1")
        return t, s

    @torch.no_grad()
    def forward(self, a, b, factors):
        """a, b (1, 3, H, W) with H, W multiples of 4; returns (T, 3, H, W) clipped."""
        _, ma = self.encode(a, False)
        vb, mb = self.encode(b, True)
        g = self.conv(mb - ma, "manipulator/mani_conv0c", True)
        h0 = self.conv(g, "manipulator/mani_aft_conv0c", False)
        tex = self.conv(F.interpolate(vb, scale_factor=2, mode="nearest"), "decoder/texture_upsample", True)
        out = []
        for f in factors:
            d = self.res((f - 1.0) * h0, "manipulator/mani_resblk0")
            x = torch.cat([tex, mb + d], 1)
            for i in range(9):
                x = self.res(x, "decoder/decoder_resblk%d" % i)
            x = self.conv(F.interpolate(x, scale_factor=2, mode="nearest"), "decoder/dec_conv2_c", True)
            out.append(self.conv(x, "decoder/pred_conv", False).clamp(-1, 1))
        return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mer", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--factors", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    S, T = args.size, args.factors
    tmp = tempfile.mkdtemp(prefix="mer_magnet_bench_")
    if args.weights:
        W, wpath = ref.load_weights(args.weights), args.weights
    else:
        W, wpath = ref.random_weights(20181008), os.path.join(tmp, "w.h5")
        with h5py.File(wpath, "w") as f:
            for scope, _, _, _ in ref.LAYERS:
                f[ref.var_name(scope)] = W[scope]
    if S > 240:
        sys.exit("--size at most 240 (crop of the 256x256 astronaut)")
    a, b = ref.astronaut_pair(8, 8, S, 0.5)
    factors = np.linspace(2.0, 13.625, T)
    p, q = os.path.join(tmp, "p.h5"), os.path.join(tmp, "q.h5")
    with h5py.File(p, "w") as f:
        f["a"], f["b"], f["alphas"] = a, b, factors
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    t_c = []
    for _ in range(args.repeat):
        r = subprocess.run([args.mer, "magnify", "--weights", wpath, "--input", p, "--output", q], env=env,
                           capture_output=True, text=True, check=True)
        t_c.append(float(re.search(r"factor\(s\) in ([0-9.]+) s", r.stderr).group(1)))
    with h5py.File(q, "r") as f:
        y_c = f["ys"][()].transpose(0, 3, 1, 2)
    net = TorchMagNet(W)
    ta, tb = [torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None] for x in (a, b)]
    t_t = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        y_t = net.forward(ta, tb, factors.tolist())
        t_t.append(time.perf_counter() - t0)
    y_t = y_t.numpy()
    rel = np.linalg.norm(y_c - y_t) / np.linalg.norm(y_t)
    gflop = 2 * macs(S, S, T) / 1e9
    tc, tt = min(t_c), min(t_t)
    print("MagNet %dx%d pair, %d factors, %.1f GFLOP per pair, %d thread(s), best of %d" % (S, S, T, gflop,
                                                                                          args.threads, args.repeat))
    print("  mer (C, engine as built: mer --version): %.3f s  %.1f GFLOP/s   (runs: %s)" % (
        tc, gflop / tc, ", ".join("%.3f" % x for x in t_c)))
    print("  PyTorch %s:                  %.3f s  %.1f GFLOP/s   (runs: %s)" % (
        torch.__version__, tt, gflop / tt, ", ".join("%.3f" % x for x in t_t)))
    print("  ratio torch/mer: %.2f   outputs agree: relative L2 %.2g" % (tt / tc, rel))
    return 0


if __name__ == "__main__":
    sys.exit(main())
