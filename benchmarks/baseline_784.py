"""Baseline for the 784-128-10 benchmark: the same work done plainly, with nothing heavy written.

    python benchmarks/baseline_784.py benchmarks/out/big.yaml

Parses the scenario with PyYAML's C loader, then one SGD step of a ReLU / softmax network with mean
cross-entropy over the batch: forward pass, loss, backward pass, update. Prints one short line (the loss
and checksums of the updated parameters) so bench.py can check that nnworked computed the same thing.
"""

from __future__ import annotations

import sys

import numpy as np
import yaml


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    data = yaml.load(text, Loader=yaml.CSafeLoader)

    x = np.asarray(data["inputs"], dtype=float)                  # [example][input]
    (l1, l2) = data["layers"]
    w1, b1 = np.asarray(l1["weights"], dtype=float), np.asarray(l1["bias"], dtype=float)
    w2, b2 = np.asarray(l2["weights"], dtype=float), np.asarray(l2["bias"], dtype=float)
    eta = float(data["learning_rate"])
    targets = np.asarray(data["targets"])
    n = x.shape[0]
    if targets.shape[1] == 1:  # class-index rows
        y = np.zeros((n, w2.shape[0]))
        y[np.arange(n), targets[:, 0].astype(int)] = 1.0
    else:
        y = targets.astype(float)

    # forward
    z1 = x @ w1.T + b1
    a1 = np.maximum(z1, 0.0)
    z2 = a1 @ w2.T + b2
    shifted = z2 - z2.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    a2 = e / e.sum(axis=1, keepdims=True)

    # loss: mean over the batch of -sum_k y_k ln(yhat_k)
    log_a2 = shifted - np.log(e.sum(axis=1, keepdims=True))
    loss = float(-(y * log_a2).sum(axis=1).mean())

    # backward (dL/dz, batch mean)
    dz2 = (a2 - y) / n
    dw2 = dz2.T @ a1
    db2 = dz2.sum(axis=0)
    da1 = dz2 @ w2
    dz1 = da1 * (z1 > 0)  # ReLU'(0) = 0
    dw1 = dz1.T @ x
    db1 = dz1.sum(axis=0)

    # SGD
    w1 -= eta * dw1
    b1 -= eta * db1
    w2 -= eta * dw2
    b2 -= eta * db2

    print(f"loss={loss!r} W1={float(w1.sum())!r} b1={float(b1.sum())!r} "
          f"W2={float(w2.sum())!r} b2={float(b2.sum())!r}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/out/big.yaml")
