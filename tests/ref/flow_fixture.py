#!/usr/bin/python3
"""Fixtures for mer's TV-L1 optical flow (core/flow/tvl1.c, checked by tests/unit/test_flow.c): two 48x48
face-like grey crops in [0, 1] with a known sub-pixel motion (a head shift of (0.4, -0.3) px plus a mouth-corner
raise of up to 1.2 px and a brow raise of up to 0.8 px), and the flow OpenCV's DualTVL1 computes for them
(cv2.optflow.DualTVL1OpticalFlow_create, OpenCV 4.6 from Debian's python3-opencv), once with OpenCV's
defaults and once with other settings (all options changed, gamma > 0). Also prints OpenCV's time per flow
on one thread.

  /usr/bin/python3 tests/ref/flow_fixture.py tests/fixtures/flow/tvl1_48.h5
"""
import sys
import time

import cv2
import h5py
import numpy as np

H = W = 48
OTHER = dict(tau=0.2, lambda_=0.3, theta=0.5, nscales=3, warps=3, epsilon=0.005, innnerIterations=20,
             outerIterations=5, scaleStep=0.6, gamma=0.05, medianFiltering=3)


def face(x, y):
    """A smooth face-like pattern defined everywhere, so it can be sampled at sub-pixel positions."""
    g = lambda cx, cy, sx, sy: np.exp(-((x - cx) ** 2 / (2 * sx * sx) + (y - cy) ** 2 / (2 * sy * sy)))
    img = 0.35 + 0.004 * x + 0.35 * g(24, 25, 13, 17)                   # lit background, face oval
    img -= 0.30 * (g(16, 19, 3.0, 1.8) + g(32, 19, 3.0, 1.8))           # eyes
    img -= 0.20 * (g(16, 14, 4.5, 1.0) + g(32, 14, 4.5, 1.0))           # brows
    img -= 0.25 * g(24, 35, 6.5, 1.4)                                    # mouth
    img += 0.10 * g(24, 27, 1.8, 4.0)                                    # nose
    img += 0.04 * np.sin(0.9 * x + 0.3 * y) * np.cos(0.7 * y - 0.2 * x)  # skin texture
    return img


def motion(x, y):
    g = lambda cx, cy, s: np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * s * s))
    u = 0.4 + 0.5 * (g(17.5, 35, 3.0) * -1 + g(30.5, 35, 3.0))          # mouth corners pull outwards
    v = -0.3 - 1.2 * (g(17.5, 35, 3.0) + g(30.5, 35, 3.0)) - 0.8 * (g(16, 14, 4) + g(32, 14, 4))
    return u, v


def main(out):
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    u, v = motion(x, y)
    onset = face(x, y)
    # apex(p) = onset(p - d): content at p in the onset moves to p + d, so the onset->apex flow is d. The
    # inverse map is solved by fixed-point iteration (d is smooth and small).
    px, py = x.copy(), y.copy()
    for _ in range(20):
        du, dv = motion(px, py)
        px, py = x - du, y - dv
    apex = face(px, py)
    onset, apex = onset.astype(np.float32), apex.astype(np.float32)
    cv2.setNumThreads(1)
    flows = {}
    for name, kw in (("default", {}), ("other", OTHER)):
        kw = {("lambda_" if k == "lambda_" else k): val for k, val in kw.items()}
        tv1 = cv2.optflow.DualTVL1OpticalFlow_create(**kw)
        flows[name] = tv1.calc(onset, apex, None)
        reps = 20
        t0 = time.perf_counter()
        for _ in range(reps):
            tv1.calc(onset, apex, None)
        ms = (time.perf_counter() - t0) / reps * 1e3
        err = np.hypot(flows[name][..., 0] - u, flows[name][..., 1] - v)
        print(f"OpenCV {cv2.__version__} DualTVL1 {name}: {ms:.2f} ms per {W}x{H} flow (1 thread); "
              f"endpoint error vs the true motion mean {err.mean():.3f} max {err.max():.3f} px")
    with h5py.File(out, "w") as f:
        f["onset"], f["apex"] = onset, apex
        f["true_flow"] = np.stack([u, v], -1).astype(np.float32)
        f["flow_default"] = flows["default"]
        f["flow_other"] = flows["other"]
        for k, val in OTHER.items():
            f[f"other/{k.rstrip('_')}"] = val
        f.attrs["opencv"] = cv2.__version__


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/flow/tvl1_48.h5")
