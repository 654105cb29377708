#!/usr/bin/python3
"""Independent numpy (float64) reference of MagNet (Oh et al. 2018, static mode) written from
the released architecture (github.com/12dmodel/deep_motion_mag), and the generator of the committed MagNet test fixtures.

It shares no code with the C implementation: every layer is computed the straightforward way (both
encoders in full, the manipulator's multiply before its 3x3 conv, the decoder once per factor).

    /usr/bin/python3 tests/ref/magnet_ref.py fixtures [--out tests/fixtures/magnet]
        parity_random.h5: deterministic random weights (seed; the C side regenerates them with
        magnet_init_random), a 64x64 pair, alpha, the clipped output y, a factor list with its outputs,
        an odd-sized (27x41) pair to check the pad-to-multiple-of-4 path, and an 84x100 pair (row-strip path).
        shift_pair.h5: a 96x96 crop of skimage's astronaut (NASA, public domain) and a copy shifted
        0.25 px to the right (cubic spline), for the functional test with the official weights.
    /usr/bin/python3 tests/ref/magnet_ref.py check --weights M.h5 --mer build/mer
        with real weights (converted checkpoint): runs `mer magnify` on the 64x64 pair and reports the
        relative L2 error against this reference (not a CI test: needs numpy/h5py and the checkpoint).

Layouts here: images (H, W, 3) in [-1, 1]; kernels HWIO as in the checkpoint.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

# (scope, k, in, out) in architecture order: must match MAGNET_LAYERS in core/magnify/magnet.c, because the
# random weights are drawn in this order.
LAYERS = (
    [("encoder/enc_conv1_c", 7, 3, 16), ("encoder/enc_conv2_c", 3, 16, 32)]
    + [("encoder/encoder_resblk%d_c%d" % (i, j), 3, 32, 32) for i in range(3) for j in (1, 2)]
    + [("encoder/enc_texture_conv", 3, 32, 32)]
    + [("encoder/%s_c%d" % (b, j), 3, 32, 32) for b in ("texture_enc", "texture_enc_1") for j in (1, 2)]
    + [("encoder/%s_c%d" % (b, j), 3, 32, 32) for b in ("shape_enc", "shape_enc_1") for j in (1, 2)]
    + [("manipulator/mani_conv0c", 7, 32, 32), ("manipulator/mani_aft_conv0c", 3, 32, 32)]
    + [("manipulator/mani_resblk0_c%d" % j, 3, 32, 32) for j in (1, 2)]
    + [("decoder/texture_upsample", 3, 32, 32)]
    + [("decoder/decoder_resblk%d_c%d" % (i, j), 3, 64, 64) for i in range(9) for j in (1, 2)]
    + [("decoder/dec_conv2_c", 3, 64, 32), ("decoder/pred_conv", 7, 32, 3)]
)
assert len(LAYERS) == 42 and sum(k * k * i * o for _, k, i, o in LAYERS) == 918928


def var_name(scope):
    return "ynet_3frames/%s/Conv/weights" % scope


# ---- splitmix64, as documented in io/base/rng.h ----------------------------------------------------
M64 = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.state = seed & M64

    def u64_block(self, n):
        """n consecutive outputs as a numpy uint64 array (vectorised)."""
        idx = np.arange(1, n + 1, dtype=np.uint64)
        with np.errstate(over="ignore"):
            z = np.uint64(self.state) + idx * np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        self.state = (self.state + n * 0x9E3779B97F4A7C15) & M64
        return z

    def uniform_range(self, n, lo, hi):
        """rng_uniform_range: lo, hi are float32; the affine map is done in double, then rounded to float32."""
        u = (self.u64_block(n) >> np.uint64(40)).astype(np.float64) * (1.0 / 16777216.0)
        lo, hi = float(np.float32(lo)), float(np.float32(hi))
        return (lo + (hi - lo) * u).astype(np.float32)


def random_weights(seed):
    """magnet_init_random: HWIO kernels filled in memory order, s = gain*sqrt(6/fan_in), gain 0.3 for *_c2, 0.7 otherwise."""
    rng = SplitMix64(seed)
    w = {}
    for scope, k, i, o in LAYERS:
        gain = 0.3 if scope.endswith("_c2") else 0.7
        lim = np.float32(gain * np.sqrt(6.0 / (k * k * i)))
        w[scope] = rng.uniform_range(k * k * i * o, -lim, lim).reshape(k, k, i, o)
    return w


def load_weights(path):
    with h5py.File(path, "r") as f:
        return {scope: np.asarray(f[var_name(scope)], dtype=np.float32) for scope, _, _, _ in LAYERS}


# ---- the network, float64 -------------------------------------------------------------------------
def conv_valid(x, w, stride=1):
    """x (H, W, C) float64, w (k, k, C, O) -> (Ho, Wo, O), no padding."""
    k = w.shape[0]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(0, 1))  # (Ho, Wo, C, k, k)
    win = win[::stride, ::stride]
    return np.einsum("hwcij,ijco->hwo", win, w.astype(np.float64), optimize=True)


def rpad(x, p):
    return np.pad(x, ((p, p), (p, p), (0, 0)), mode="reflect")


def conv_r(x, w, relu):
    y = conv_valid(rpad(x, w.shape[0] // 2), w)
    return np.maximum(y, 0) if relu else y


def conv_same_s2(x, w):
    # TF 'SAME' with stride 2, kernel 3, even size: total padding 1, all of it at the bottom/right
    return np.maximum(conv_valid(np.pad(x, ((0, 1), (0, 1), (0, 0))), w, 2), 0)


def resblk(x, W, name):
    y = conv_r(x, W[name + "_c1"], True)
    return x + conv_r(y, W[name + "_c2"], False)


def up2(x):
    return x.repeat(2, axis=0).repeat(2, axis=1)


def encoder(x, W):
    c1 = conv_r(x, W["encoder/enc_conv1_c"], True)
    r = conv_same_s2(c1, W["encoder/enc_conv2_c"])
    for i in range(3):
        r = resblk(r, W, "encoder/encoder_resblk%d" % i)
    t = conv_same_s2(r, W["encoder/enc_texture_conv"])
    t = resblk(t, W, "encoder/texture_enc")
    t = resblk(t, W, "encoder/texture_enc_1")
    s = resblk(r, W, "encoder/shape_enc")
    s = resblk(s, W, "encoder/shape_enc_1")
    return t, s


def manipulator(ma, mb, alpha, W):
    d = conv_r(mb - ma, W["manipulator/mani_conv0c"], True)
    d = d * (alpha - 1.0)
    d = conv_r(d, W["manipulator/mani_aft_conv0c"], False)
    d = resblk(d, W, "manipulator/mani_resblk0")
    return mb + d


def decoder(tex, shape, W):
    t = conv_r(up2(tex), W["decoder/texture_upsample"], True)
    x = np.concatenate([t, shape], axis=2)
    for i in range(9):
        x = resblk(x, W, "decoder/decoder_resblk%d" % i)
    x = conv_r(up2(x), W["decoder/dec_conv2_c"], True)
    return conv_r(x, W["decoder/pred_conv"], False)


def magnet(a, b, alpha, W):
    """a, b (H, W, 3) in [-1, 1], any H, W >= 8: reflect-pad bottom/right to a multiple of 4, crop back, clip."""
    H, Wd = a.shape[:2]
    ph, pw = (-H) % 4, (-Wd) % 4
    pad = lambda x: np.pad(x.astype(np.float64), ((0, ph), (0, pw), (0, 0)), mode="reflect")
    _, ma = encoder(pad(a), W)
    tb, mb = encoder(pad(b), W)
    y = decoder(tb, manipulator(ma, mb, alpha, W), W)
    return np.clip(y[:H, :Wd], -1.0, 1.0)


# ---- fixtures ---------------------------------------------------------------------------------------
def astronaut_pair(y0, x0, size, shift):
    """A size x size crop of skimage's astronaut (2x box-downsampled) and a copy moved `shift` px right."""
    from scipy import ndimage
    from skimage import data

    im = data.astronaut().astype(np.float64)
    im = im.reshape(256, 2, 256, 2, 3).mean(axis=(1, 3))  # 256 x 256
    m = 8  # margin so the spline boundary stays outside the crop
    region = im[y0 - m:y0 + size + m, x0 - m:x0 + size + m]
    moved = np.stack([ndimage.shift(region[..., c], (0.0, shift), order=3, mode="nearest") for c in range(3)], -1)
    crop = lambda r: (r[m:m + size, m:m + size] / 127.5 - 1.0).astype(np.float32)
    return crop(region), crop(moved)


def make_fixtures(out):
    os.makedirs(out, exist_ok=True)
    seed = 20181008
    W = random_weights(seed)
    a, b = astronaut_pair(16, 72, 64, 1.5)  # a visible motion so the manipulator has something to do
    alpha = 6.0
    y = magnet(a, b, alpha, W)
    factors = np.array([1.0, 2.5, 13.0], dtype=np.float64)
    ys = np.stack([magnet(a, b, f, W) for f in factors])
    ao, bo = a[:27, 3:44], b[:27, 3:44]
    yo = magnet(ao, bo, 3.0, W)
    # 84x100: large enough that core/magnify/magnet.c runs its full-resolution convs in row strips
    ba, bb = [x[:84] for x in astronaut_pair(8, 60, 100, 1.0)]
    byy = magnet(ba, bb, 4.0, W)
    frac_clipped = float(np.mean(np.abs(ys) >= 1.0))
    with h5py.File(os.path.join(out, "parity_random.h5"), "w") as f:
        f["seed"] = np.int64(seed)
        f["a"], f["b"] = a, b
        f["alpha"] = np.float64(alpha)
        f["y"] = y.astype(np.float32)
        f["factors"] = factors
        f["ys"] = ys.astype(np.float32)
        f["odd_a"], f["odd_b"] = ao, bo
        f["odd_alpha"] = np.float64(3.0)
        f["odd_y"] = yo.astype(np.float32)
        f["big_a"], f["big_b"] = ba, bb
        f["big_alpha"] = np.float64(4.0)
        f["big_y"] = byy.astype(np.float32)
        # first HWIO values of the first and last kernels: pins the random-weight generator
        f["w_first"] = W["encoder/enc_conv1_c"].reshape(-1)[:8]
        f["w_last"] = W["decoder/pred_conv"].reshape(-1)[-8:]
    print("parity_random.h5: y range [%.3f, %.3f], std %.3f, clipped %.2f %%, |y(1)-b| mean %.3f" % (
        y.min(), y.max(), y.std(), 100 * frac_clipped, np.abs(ys[0] - b).mean()))
    a, b = astronaut_pair(8, 64, 96, 0.25)
    with h5py.File(os.path.join(out, "shift_pair.h5"), "w") as f:
        f["a"], f["b"] = a, b
        f["shift_x"] = np.float64(0.25)
    print("shift_pair.h5: 96x96, shift 0.25 px")


def check_real(weights, mer, fixtures):
    W = load_weights(weights)
    with h5py.File(os.path.join(fixtures, "parity_random.h5"), "r") as f:
        a, b, alpha = f["a"][()], f["b"][()], float(f["alpha"][()])
    ref = magnet(a, b, alpha, W)
    with tempfile.TemporaryDirectory() as d:
        p, q = os.path.join(d, "p.h5"), os.path.join(d, "q.h5")
        with h5py.File(p, "w") as f:
            f["a"], f["b"], f["alpha"] = a, b, np.float64(alpha)
        subprocess.run([mer, "magnify", "--weights", weights, "--input", p, "--output", q], check=True)
        with h5py.File(q, "r") as f:
            y = f["y"][()].astype(np.float64)
    rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
    print("real weights, 64x64, alpha %g: relative L2 error %.3g (max abs %.3g)" % (alpha, rel, np.abs(y - ref).max()))
    return 0 if rel <= 1e-4 else 1


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    fx = sub.add_parser("fixtures")
    fx.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "magnet"))
    ck = sub.add_parser("check")
    ck.add_argument("--weights", required=True)
    ck.add_argument("--mer", required=True)
    ck.add_argument("--fixtures", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "magnet"))
    args = ap.parse_args()
    if args.cmd == "fixtures":
        make_fixtures(args.out)
        return 0
    return check_real(args.weights, args.mer, args.fixtures)


if __name__ == "__main__":
    sys.exit(main())
