#!/usr/bin/python3
"""Speed of mer's TV-L1 (core/flow/tvl1.c, via tests/ref/bench_flow.c) against OpenCV's DualTVL1
(cv2.optflow, Debian 12's python3-opencv 4.6) on the same face-like crops (tests/ref/flow_fixture.py's pattern
and motion, scaled to each size), one thread each, OpenCV's defaults; also the endpoint difference between
the two flows.

  cmake --build build && cc -O2 -I. tests/ref/bench_flow.c build/libmerlib.a -lm -o /tmp/bench_flow
  /usr/bin/python3 tests/ref/flow_bench.py /tmp/bench_flow [REPEATS] [SIZE...]
"""
import os
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flow_fixture import face, motion  # noqa: E402


def crops(size):
    """Onset and apex at size x size: the 48 px fixture's face and motion sampled on a finer grid (the motion
    grows with the size, in pixels)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) * (48.0 / size)
    px, py = x.copy(), y.copy()
    for _ in range(20):
        du, dv = motion(px, py)
        px, py = x - du, y - dv
    return face(x, y).astype(np.float32), face(px, py).astype(np.float32)


def main():
    exe = sys.argv[1]
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    sizes = [int(s) for s in sys.argv[3:]] or [64, 112]
    cv2.setNumThreads(1)
    tv = cv2.optflow.DualTVL1OpticalFlow_create()
    print(f"OpenCV {cv2.__version__}; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as d:
        for s in sizes:
            i0, i1 = crops(s)
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                ref = tv.calc(i0, i1, None)
                ts.append(time.perf_counter() - t0)
            ts.sort()
            print(f"OpenCV {s}x{s}: best {ts[0] * 1e3:.2f} ms, median {ts[len(ts) // 2] * 1e3:.2f} ms per flow")
            f0, f1, fo = (os.path.join(d, n) for n in ("i0.f32", "i1.f32", "flow.f32"))
            i0.tofile(f0)
            i1.tofile(f1)
            subprocess.run([exe, str(reps), str(s), str(s), f0, f1, fo], check=True)
            mer = np.fromfile(fo, np.float32).reshape(s, s, 2)
            e = np.hypot(*(mer - ref).transpose(2, 0, 1))
            print(f"  endpoint difference mer vs OpenCV at {s}x{s}: mean {e.mean():.2e} max {e.max():.2e} px")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
