#!/usr/bin/python3
"""Reference LBP-TOP codes and histograms for tests/unit/test_lbptop.c (core/baseline/lbptop.h).

    /usr/bin/python3 tests/ref/lbptop_ref.py tests/fixtures/lbptop/lbptop_ref.h5

Needs Debian's python3-skimage (0.19), python3-numpy, python3-h5py.

XY plane: skimage.feature.local_binary_pattern on every frame ('nri_uniform' = u2, the classic 59 bins at
P = 8; 'uniform' = riu2). XT and YT planes: skimage on vol[:, y, :] and vol[:, :, x] when the two radii
are equal, else a small numpy implementation (elliptic sampling, same bilinear arithmetic as skimage, code
tables built from the run-of-ones definition); the script checks that numpy implementation against
skimage on every circular plane before writing anything.

Each case is a group: vol f32 (T,H,W); grid i64 (t, rows, cols); radii f64 (x, y, t); p i64 (xy, xt, yt);
mapping str; codes_xy/xt/yt i16 (T,H,W), -1 where the pixel is not a counted centre; feat f64.
"""
import math
import sys

import h5py
import numpy as np
from skimage.feature import local_binary_pattern

METHOD = {"u2": "nri_uniform", "riu2": "uniform"}


def code_table(P, mapping):
    """Code of every raw pattern (bit i = neighbour i), built from the definition, not from skimage."""
    if mapping == "riu2":
        t = np.full(1 << P, P + 1, dtype=np.int64)
        t[0] = 0
        for n in range(1, P + 1):
            for s in range(P):
                t[sum(1 << ((s + j) % P) for j in range(n))] = n
        return t
    t = np.full(1 << P, P * (P - 1) + 2, dtype=np.int64)
    t[0] = 0
    t[(1 << P) - 1] = P * (P - 1) + 1
    for n in range(1, P):
        for s in range(P):  # a run of n ones starting at neighbour s
            t[sum(1 << ((s + j) % P) for j in range(n))] = 1 + (n - 1) * P + (P - s) % P
    return t


def lbp_numpy(img, P, r_row, r_col, mapping):
    """Codes of a 2-D image with an elliptic neighbourhood; only interior pixels are meaningful."""
    img = np.asarray(img, dtype=np.double)
    rows, cols = img.shape
    a = 2 * np.pi * np.arange(P, dtype=np.double) / P
    dr = np.round(-r_row * np.sin(a), 5)
    dc = np.round(r_col * np.cos(a), 5)
    mr, mc = math.ceil(r_row), math.ceil(r_col)
    rr, cc = np.meshgrid(np.arange(mr, rows - mr), np.arange(mc, cols - mc), indexing="ij")
    centre = img[rr, cc]
    pattern = np.zeros(centre.shape, dtype=np.int64)
    for i in range(P):
        r = rr + dr[i]
        c = cc + dc[i]
        r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
        r1, c1 = np.ceil(r).astype(int), np.ceil(c).astype(int)
        fr, fc = r - r0, c - c0
        top = (1 - fc) * img[r0, c0] + fc * img[r0, c1]
        bottom = (1 - fc) * img[r1, c0] + fc * img[r1, c1]
        g = (1 - fr) * top + fr * bottom
        pattern |= (g - centre >= 0).astype(np.int64) << i
    out = np.full(img.shape, -1, dtype=np.int64)
    out[mr:rows - mr, mc:cols - mc] = code_table(P, mapping)[pattern]
    return out


def plane_codes(vol, plane, radii, p, mapping):
    """Codes of every pixel on one plane, from skimage when the plane's neighbourhood is a circle."""
    T, H, W = vol.shape
    rx, ry, rt = radii
    if plane == "xy":
        slices, r_row, r_col, P = [(t, vol[t]) for t in range(T)], ry, rx, p[0]
    elif plane == "xt":
        slices, r_row, r_col, P = [(y, vol[:, y, :]) for y in range(H)], rt, rx, p[1]
    else:
        slices, r_row, r_col, P = [(x, vol[:, :, x]) for x in range(W)], rt, ry, p[2]
    out = np.zeros(vol.shape, dtype=np.int64)
    for k, img in slices:
        mine = lbp_numpy(img, P, r_row, r_col, mapping)
        if r_row == r_col:
            sk = local_binary_pattern(np.asarray(img, dtype=np.double), P, r_row, METHOD[mapping]).astype(np.int64)
            inner = mine >= 0
            assert np.array_equal(sk[inner], mine[inner]), f"numpy LBP differs from skimage on {plane} {k}"
            codes = np.where(inner, sk, -1)
        else:
            codes = mine
        if plane == "xy":
            out[k] = codes
        elif plane == "xt":
            out[:, k, :] = codes
        else:
            out[:, :, k] = codes
    # the counted centres: inside on all three axes (core/baseline/lbptop.h)
    mt, my, mx = math.ceil(rt), math.ceil(ry), math.ceil(rx)
    keep = np.zeros(vol.shape, dtype=bool)
    keep[mt:T - mt, my:H - my, mx:W - mx] = True
    return np.where(keep, out, -1)


def features(codes, grid, p, mapping):
    gt, gr, gc = grid
    T, H, W = codes[0].shape
    bins = [P * (P - 1) + 3 if mapping == "u2" else P + 2 for P in p]
    feat = []
    for s in range(gt):
        for r in range(gr):
            for c in range(gc):
                for plane in range(3):
                    blk = codes[plane][s * T // gt:(s + 1) * T // gt, r * H // gr:(r + 1) * H // gr,
                                       c * W // gc:(c + 1) * W // gc]
                    v = blk[blk >= 0]
                    h = np.bincount(v, minlength=bins[plane]).astype(np.double)
                    assert h.size == bins[plane]
                    feat.append(h / h.sum() if h.sum() > 0 else h)
    return np.concatenate(feat)


def volume(T, H, W, seed):
    """Integer grey levels (ties are common, as in 8-bit video): a moving blob, stripes and noise."""
    rng = np.random.RandomState(seed)
    t, y, x = np.meshgrid(np.arange(T), np.arange(H), np.arange(W), indexing="ij")
    blob = 120 * np.exp(-((x - W / 3 - t) ** 2 + (y - H / 2) ** 2) / (2 * (H / 5) ** 2))
    stripes = 40 * np.sin(0.7 * x + 0.3 * y + 0.5 * t)
    return np.clip(np.round(60 + blob + stripes + rng.randint(-12, 13, size=(T, H, W))), 0, 255).astype(np.float32)


CASES = {
    # MEGC2019-like: radius 1 everywhere, 8 neighbours, u2 (59 bins); 2 time segments
    "u2_r1": dict(shape=(8, 24, 24), seed=1, grid=(2, 2, 3), radii=(1.0, 1.0, 1.0), p=(8, 8, 8), mapping="u2"),
    # unequal radii and neighbours: XT and YT are ellipses (numpy), XY a circle of radius 2 (skimage)
    "u2_ellipse": dict(shape=(9, 20, 22), seed=2, grid=(1, 3, 2), radii=(2.0, 2.0, 3.0), p=(12, 8, 6),
                       mapping="u2"),
    # rotation invariant uniform, fractional radius, 4x4 grid that does not divide the size
    "riu2_r15": dict(shape=(7, 19, 21), seed=3, grid=(1, 4, 4), radii=(1.5, 1.5, 1.5), p=(8, 8, 8),
                     mapping="riu2"),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/lbptop/lbptop_ref.h5"
    with h5py.File(out, "w") as f:
        for name, c in CASES.items():
            vol = volume(*c["shape"], c["seed"])
            codes = [plane_codes(vol, pl, c["radii"], c["p"], c["mapping"]) for pl in ("xy", "xt", "yt")]
            feat = features(codes, c["grid"], c["p"], c["mapping"])
            g = f.create_group(name)
            g.create_dataset("vol", data=vol, compression="gzip", compression_opts=9)
            g["grid"] = np.array(c["grid"], dtype=np.int64)
            g["radii"] = np.array(c["radii"], dtype=np.double)
            g["p"] = np.array(c["p"], dtype=np.int64)
            g["mapping"] = c["mapping"]
            for pl, cd in zip(("xy", "xt", "yt"), codes):
                g.create_dataset("codes_" + pl, data=cd.astype(np.int16), compression="gzip", compression_opts=9)
            g["feat"] = feat
            used = [np.unique(cd[cd >= 0]).size for cd in codes]
            print(f"{name}: {vol.shape}, {feat.size} features, distinct codes xy/xt/yt {used}")


if __name__ == "__main__":
    main()
