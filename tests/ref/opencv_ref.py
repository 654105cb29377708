#!/usr/bin/python3
"""Reference boxes from OpenCV's CascadeClassifier for the face detector parity test.

Run with Debian's interpreter (python3-opencv, python3-skimage):
    /usr/bin/python3 tests/ref/opencv_ref.py tests/fixtures/face

1. Builds the fixture images ONCE from public-domain / CC0 photographs shipped in python3-skimage
   (provenance in tests/fixtures/face/README.md), converts them to 8-bit grey with OpenCV's
   BGR2GRAY and writes them as lossless grey PNG. The C test decodes the same PNG, so both sides
   see identical pixels (channel conversion: io/media/image.h).
2. Runs cv2.CascadeClassifier.detectMultiScale on every (image, cascade, parameters) case and
   writes tests/fixtures/face/opencv_boxes.txt, one case per line:
       IMAGE CASCADE SCALE MIN_NEIGHBORS MIN_SIZE MAX_SIZE N x y w h x y w h ...
   min_neighbors 0 gives the raw candidates (before grouping): an exact test of the scan itself.
   Boxes are sorted (OpenCV's order depends on its parallel stripes).
"""
import os
import sys

import cv2
import numpy as np
from skimage import data

CASCADES = [
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml",
    "/usr/share/opencv4/haarcascades/haarcascade_frontalface_alt2.xml",
    "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface.xml",
    "/usr/share/opencv4/lbpcascades/lbpcascade_frontalface_improved.xml",
]

EXTRA_CASCADES = [
    "/usr/share/opencv4/haarcascades/haarcascade_eye_tree_eyeglasses.xml",  # tilted features, 2-3 node trees
    "/usr/share/opencv4/haarcascades/haarcascade_upperbody.xml",           # tilted features
]


def grey(rgb):
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)


def make_images():
    astro = grey(data.astronaut())                    # 512x512, NASA, public domain
    camera = data.camera()                            # 512x512 grey, CC0 (Lav Varshney)
    coffee = grey(data.coffee())                      # 400x600, CC0 (Rachel Michetti): no face
    imgs = {}
    imgs["astronaut.png"] = astro
    # a smaller scene with several faces at different scales and positions: the camera photo as
    # background, the astronaut's head pasted at three sizes (one mirrored)
    scene = cv2.resize(camera, (384, 288), interpolation=cv2.INTER_AREA)
    head = astro[20:260, 110:330]                     # head and shoulders
    for (s, x, y, flip) in [(0.55, 10, 20, False), (0.40, 200, 100, True), (0.30, 300, 10, False)]:
        h = cv2.resize(head, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        if flip:
            h = h[:, ::-1]
        hh, ww = h.shape
        scene[y:y + hh, x:x + ww] = h
    imgs["scene.png"] = scene
    # odd-sized crop, to exercise the pyramid with non-round sizes
    imgs["astronaut_odd.png"] = cv2.resize(astro, (301, 277), interpolation=cv2.INTER_AREA)
    # rotated by 8 degrees, lower contrast, brighter: a harder pose/exposure for detector and landmarks
    rot = cv2.warpAffine(astro, cv2.getRotationMatrix2D((256, 256), 8, 1.0), (512, 512), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)
    rot = cv2.resize(rot, (352, 352), interpolation=cv2.INTER_AREA)
    imgs["astronaut_rot.png"] = np.clip(rot.astype(np.float64) * 0.7 + 60, 0, 255).astype(np.uint8)
    imgs["coffee.png"] = cv2.resize(coffee, (300, 200), interpolation=cv2.INTER_AREA)
    return imgs


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/face"
    os.makedirs(out, exist_ok=True)
    imgs = make_images()
    for name, im in imgs.items():
        cv2.imwrite(os.path.join(out, name), im)
    lines = []
    cases = [(1.1, 3, 0, 0), (1.2, 5, 0, 0), (1.1, 0, 0, 0), (1.25, 0, 0, 0), (1.05, 3, 40, 0), (1.3, 2, 0, 150)]
    for name in imgs:
        im = cv2.imread(os.path.join(out, name), cv2.IMREAD_UNCHANGED)  # re-read: exactly what C sees
        assert im.ndim == 2 and im.dtype == np.uint8
        for cas in CASCADES:
            cc = cv2.CascadeClassifier(cas)
            assert not cc.empty(), cas
            for (sf, mn, mins, maxs) in cases:
                boxes = cc.detectMultiScale(im, scaleFactor=sf, minNeighbors=mn,
                                            minSize=(mins, mins), maxSize=(maxs, maxs))
                boxes = sorted(tuple(int(v) for v in b) for b in boxes)
                flat = " ".join("%d %d %d %d" % b for b in boxes)
                lines.append("%s %s %g %d %d %d %d %s" % (name, os.path.basename(cas), sf, mn, mins, maxs,
                                                          len(boxes), flat))
    # cascades with tilted (45 degree) Haar features and deeper trees, on the astronaut only
    im = cv2.imread(os.path.join(out, "astronaut.png"), cv2.IMREAD_UNCHANGED)
    for cas in EXTRA_CASCADES:
        cc = cv2.CascadeClassifier(cas)
        for (sf, mn, mins, maxs) in [(1.1, 3, 0, 0), (1.1, 0, 0, 0)]:
            boxes = sorted(tuple(int(v) for v in b) for b in cc.detectMultiScale(im, scaleFactor=sf, minNeighbors=mn))
            flat = " ".join("%d %d %d %d" % b for b in boxes)
            lines.append("astronaut.png %s %g %d %d %d %d %s" % (os.path.basename(cas), sf, mn, mins, maxs, len(boxes), flat))
    with open(os.path.join(out, "opencv_boxes.txt"), "w") as f:
        f.write("# generated by tests/ref/opencv_ref.py with OpenCV %s\n" % cv2.__version__)
        f.write("\n".join(lines) + "\n")
    print("\n".join(l[:100] for l in lines if " 0 0 0 " not in l[:60]))


if __name__ == "__main__":
    main()
