#!/usr/bin/python3
"""Write small dlib shape_predictor files in dlib's serialisation format (as core/face/landmarks.c reads it), used as fuzz
seeds and by tests/unit/test_face_bad_input.c:
  seeds_dat/tiny.dat      3 parts, 2 cascades x 2 depth-1 trees, 4 feature pixels per cascade
  seeds_dat/big_pool.dat  3 parts, 2 cascades with 1500 and 3000 feature pixels (feature buffers > 1024)
    python3 tests/fuzz/make_dat_seeds.py tests/fuzz/seeds_dat
"""
import math
import os
import sys


def pint(v):
    neg, a, b = v < 0, abs(v), []
    while True:
        b.append(a & 255)
        a >>= 8
        if a == 0:
            break
    return bytes([len(b) | (0x80 if neg else 0)]) + bytes(b)


def pfloat(x):
    if x == 0:
        return pint(0) + pint(0)
    m, e = math.frexp(x)
    mant, e = int(m * (1 << 24)), e - 24
    while mant % 256 == 0:
        mant //= 256
        e += 8
    return pint(mant) + pint(e)


def col(vals):
    return pint(-len(vals)) + pint(-1) + b"".join(pfloat(v) for v in vals)


def model(pools):
    out = pint(1) + col([0.2, 0.3, 0.8, 0.3, 0.5, 0.8]) + pint(len(pools))
    for npix in pools:
        out += pint(2)
        for t in range(2):
            out += pint(1) + pint(t) + pint(npix - 1) + pfloat(-4.5 + t)
            out += pint(2) + col([0.01, -0.02, 0.0, 0.01, 0.005, 0.0]) + col([-0.01, 0.0, 0.02, -0.01, 0.0, 0.003])
    out += pint(len(pools)) + b"".join(pint(n) + b"".join(pint(i % 3) for i in range(n)) for n in pools)
    out += pint(len(pools)) + b"".join(
        pint(n) + b"".join(pfloat(0.05 * (i % 7)) + pfloat(-0.03 * (i % 5)) for i in range(n)) for n in pools)
    return out


d = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/seeds_dat"
os.makedirs(d, exist_ok=True)
open(os.path.join(d, "tiny.dat"), "wb").write(model([4, 4]))
open(os.path.join(d, "big_pool.dat"), "wb").write(model([1500, 3000]))
