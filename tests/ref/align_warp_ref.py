#!/usr/bin/python3
"""Reference for core/align's warp: cv2.warpAffine (INTER_LINEAR, BORDER_CONSTANT 0) of a small test image.

Run with Debian's python3 (python3-opencv, python3-numpy):
    /usr/bin/python3 tests/ref/align_warp_ref.py tests/fixtures/video
Writes warp_src.png (61x47 RGB pattern), warp_ref.png (40x40 RGB), warp_M.txt (the 2x3 matrix, source -> output).
OpenCV quantises the sampling position to 1/32 px and the weights to 1/1024 (INTER_BITS=5, fixed-point
remap), so our double-precision bilinear warp may differ by a grey level or two; the test allows 2.
"""
import math
import os
import sys

import cv2
import numpy as np

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/video"
os.makedirs(out, exist_ok=True)
h, w = 47, 61
y, x = np.mgrid[0:h, 0:w].astype(np.float64)
img = np.stack([
    128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0),
    60 + 2.5 * x + 0.8 * y,
    200 - 3.0 * y + 20 * np.sin((x + y) / 3.0),
], axis=-1)
img = np.clip(np.round(img), 0, 255).astype(np.uint8)  # RGB
a, s = math.radians(17.0), 0.83
M = np.array([[s * math.cos(a), -s * math.sin(a), 4.25],
              [s * math.sin(a), s * math.cos(a), -9.5]])
ref = cv2.warpAffine(img, M, (40, 40), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
# cv2 writes BGR: convert so the PNGs hold RGB
cv2.imwrite(os.path.join(out, "warp_src.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
cv2.imwrite(os.path.join(out, "warp_ref.png"), cv2.cvtColor(ref, cv2.COLOR_RGB2BGR))
with open(os.path.join(out, "warp_M.txt"), "w") as f:
    f.write(" ".join("%.17g" % v for v in M.reshape(-1)) + "\n")
print("cv2", cv2.__version__, "wrote", out)
