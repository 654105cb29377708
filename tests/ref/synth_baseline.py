#!/usr/bin/python3
"""Difficulty check of a generated dataset (benchmark, not a test): nearest-centroid LOSO on
onset->apex difference images.

    /usr/bin/python3 tests/ref/synth_baseline.py DATASET_ROOT [--size 64] [--align]

Reads ROOT/coding.csv (CASME II columns). For each sample: grey apex minus grey onset, cropped to the
face found by OpenCV's Haar cascade on the onset frame (--align) or the whole frame, resized to SIZE,
L2-normalised. One fold per subject: class centroids from the other subjects, nearest centroid (cosine)
for the held-out subject. Prints accuracy, UF1, UAR pooled over folds (as core/metrics.h), and chance.
"""
import argparse, csv, os, sys
import numpy as np
import cv2

ap = argparse.ArgumentParser()
ap.add_argument("root")
ap.add_argument("--size", type=int, default=64)
ap.add_argument("--align", action="store_true", help="crop the Haar face box of the onset frame")
a = ap.parse_args()

cc = cv2.CascadeClassifier("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
rows = list(csv.DictReader(open(os.path.join(a.root, "coding.csv"))))
X, y, subj = [], [], []
classes = sorted({r["Estimated Emotion"] for r in rows})
for r in rows:
    d = os.path.join(a.root, "sub%02d" % int(r["Subject"]), r["Filename"])
    on = cv2.imread(os.path.join(d, "img%s.jpg" % r["OnsetFrame"]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    apx = cv2.imread(os.path.join(d, "img%s.jpg" % r["ApexFrame"]), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    diff = apx - on
    if a.align:
        f = cc.detectMultiScale(on.astype(np.uint8), 1.1, 3, minSize=(60, 60))
        if len(f):
            x0, y0, w, h = max(f, key=lambda b: b[2] * b[3])
            diff = diff[y0:y0 + h, x0:x0 + w]
    v = cv2.resize(diff, (a.size, a.size), interpolation=cv2.INTER_AREA).ravel()
    v /= np.linalg.norm(v) + 1e-9
    X.append(v); y.append(classes.index(r["Estimated Emotion"])); subj.append(r["Subject"])
X, y, subj = np.array(X), np.array(y), np.array(subj)
pred = np.zeros_like(y)
for s in np.unique(subj):
    tr, te = subj != s, subj == s
    C = np.stack([X[tr & (y == k)].mean(0) for k in range(len(classes))])
    C /= np.linalg.norm(C, axis=1, keepdims=True) + 1e-9
    pred[te] = np.argmax(X[te] @ C.T, axis=1)
K = len(classes)
f1, rec = [], []
for k in range(K):
    tp = np.sum((pred == k) & (y == k)); fp = np.sum((pred == k) & (y != k)); fn = np.sum((pred != k) & (y == k))
    f1.append(2 * tp / max(2 * tp + fp + fn, 1)); rec.append(tp / max(tp + fn, 1))
print("samples %d subjects %d classes %s" % (len(y), len(np.unique(subj)), classes))
print("accuracy %.3f  UF1 %.3f  UAR %.3f  (chance %.3f)" % (np.mean(pred == y), np.mean(f1), np.mean(rec), 1 / K))
cm = np.zeros((K, K), int)
for t, p in zip(y, pred): cm[t, p] += 1
print("confusion (rows truth):\n", cm)
