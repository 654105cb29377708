#!/usr/bin/python3
"""Reference optima of the linear classifiers for tests/unit/test_logreg.c (core/baseline/logreg.h).

    /usr/bin/python3 tests/ref/linear_ref.py tests/fixtures/linear/linear_ref.h5

Needs Debian's python3-sklearn (1.2), python3-numpy, python3-h5py.

A small overlapping 4-class problem (seeded numpy draws) is fitted by scikit-learn:
- LogisticRegression(multinomial, lbfgs): min (1/2)||W||^2 + C sum_i -log p_i[y_i] (intercept not penalised),
- LinearSVC(multi_class='crammer_singer') (LIBLINEAR): min (1/2)||W||^2 + C sum_i max(0, 1 + max_{k!=y} z_k - z_y),
  its intercept a feature of value intercept_scaling = 10 (so penalised by b^2 / 200: 4e-5 of the objective
  here, against intercept_scaling 30).
mer's losses are the same divided by C n: mean loss + (l2 / 2)||W||^2 with l2 = 1 / (C n). The script
evaluates each sklearn solution in mer's form (in float64) and stores it; the C test trains mer's classifier
on the same data and must reach that value (logistic regression: equal; the SVM: not above it, and not far
below it, since sklearn's point is optimal up to its tiny intercept penalty).

File: X f32 (n, D), y i64 (n), l2 f64, for each of logreg and svm: W f64 (K, D), b f64 (K), objective f64.
"""
import sys

import h5py
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

N_PER, D, K, C = 30, 12, 4, 0.5


def data():
    rng = np.random.default_rng(20261207)
    centres = rng.normal(0.0, 1.0, (K, D))
    X = np.concatenate([centres[k] + rng.normal(0.0, 2.0, (N_PER, D)) for k in range(K)])
    y = np.repeat(np.arange(K), N_PER)
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def objective(kind, W, b, X, y, l2):
    z = X @ W.T + b
    if kind == "logreg":
        zmax = z.max(axis=1, keepdims=True)
        logp = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(y)), y]
    else:
        other = z.copy()
        other[np.arange(len(y)), y] = -np.inf
        loss = np.maximum(0.0, 1.0 + other.max(axis=1) - z[np.arange(len(y)), y])
    return loss.mean() + 0.5 * l2 * (W * W).sum()


def main(path):
    X, y = data()
    Xd = X.astype(np.float64)
    n = len(y)
    l2 = 1.0 / (C * n)
    lr = LogisticRegression(C=C, solver="lbfgs", tol=1e-12, max_iter=100000).fit(Xd, y)
    def fit_svm(scaling):
        return LinearSVC(multi_class="crammer_singer", C=C, intercept_scaling=scaling, tol=1e-9,
                         max_iter=5000000).fit(Xd, y)
    svm = fit_svm(10.0)
    # self-check: the intercept penalty is negligible (LIBLINEAR may warn about convergence at this tolerance)
    o10 = objective("svm", svm.coef_, svm.intercept_, Xd, y, l2)
    s30 = fit_svm(30.0)
    o30 = objective("svm", s30.coef_, s30.intercept_, Xd, y, l2)
    assert abs(o10 - o30) < 1e-4 * o10, (o10, o30)
    with h5py.File(path, "w") as f:
        f["X"] = X
        f["y"] = y
        f["l2"] = l2
        for kind, m in (("logreg", lr), ("svm", svm)):
            W, b = m.coef_.astype(np.float64), m.intercept_.astype(np.float64)
            obj = objective(kind, W, b, Xd, y, l2)
            acc = (m.predict(Xd) == y).mean()
            f[f"{kind}/W"] = W
            f[f"{kind}/b"] = b
            f[f"{kind}/objective"] = obj
            print(f"{kind}: objective {obj:.10f} (mer's form, l2 {l2:.6g}), training accuracy {acc:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "linear_ref.h5")
