#!/usr/bin/python3
"""Benchmark (not a test): cv2.CascadeClassifier.detectMultiScale per image, best of N, 1 thread and
default threads, to compare with tests/ref/bench_face.c on the same images.
    /usr/bin/python3 tests/ref/bench_opencv.py REPEATS IMAGE...
"""
import sys
import time

import cv2

reps = int(sys.argv[1])
cc = cv2.CascadeClassifier("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
for threads in (1, cv2.getNumberOfCPUs()):
    cv2.setNumThreads(threads)
    for path in sys.argv[2:]:
        im = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        best = 1e9
        for _ in range(reps):
            t0 = time.perf_counter()
            faces = cc.detectMultiScale(im, 1.1, 3)
            best = min(best, time.perf_counter() - t0)
        print("%s threads %d faces %d: detect %.2f ms" % (path, threads, len(faces), best * 1e3))
