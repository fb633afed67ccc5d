"""A LeNet-sized training step, in-process: nnworked against the same step in plain numpy, as a ratio of
medians of interleaved rounds (the style of step.py), and the size of its elided Markdown walkthrough.

    python benchmarks/lenet.py            # 7 interleaved rounds (after one warm-up round)
    python benchmarks/lenet.py --quick    # 3 rounds

The network: one 28×28 channel, six 5×5 kernels (ReLU), 2×2 max pooling, sixteen 5×5 kernels (ReLU), 2×2
max pooling, flatten (256), dense 120 (ReLU), 84 (ReLU), 10 (softmax), cross-entropy, a batch of 8, one
SGD step with learning rate 0.01, weights and inputs with two decimals (a fixed seed). "One traced step"
is `nnworked.engine.network.solve` of the loaded scenario: the forward pass, the loss, the backward pass
and the update, each recorded in the trace, and the forward pass and loss after the update. The plain
numpy step does exactly that arithmetic with image-to-columns products and nothing else.

1. nnworked (rounding: exact) / plain numpy          target <= 5
2. the elided Markdown walkthrough, in bytes          target < 2 MB

PASS/FAIL against the targets is printed, never asserted. The exit status is 1 only when the two steps
disagree, never because of a timing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnworked import api  # noqa: E402
from sidebyside import compare  # noqa: E402

BATCH, RATE = 8, 0.01


def lenet(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)

    def draw(*shape: int, scale: float) -> list:
        return np.round(rng.uniform(-scale, scale, shape), 2).tolist()
    return {"title": "LeNet-sized step", "inputs": np.round(rng.uniform(0, 1, (BATCH, 1, 28, 28)), 2).tolist(),
            "targets": [[int(c)] for c in rng.integers(0, 10, BATCH)], "loss": "cross_entropy",
            "learning_rate": RATE,
            "layers": [{"type": "conv2d", "kernels": draw(6, 1, 5, 5, scale=0.4), "bias": draw(6, scale=0.1),
                        "activation": "relu"},
                       {"type": "max_pool", "size": 2},
                       {"type": "conv2d", "kernels": draw(16, 6, 5, 5, scale=0.15), "bias": draw(16, scale=0.1),
                        "activation": "relu"},
                       {"type": "max_pool", "size": 2},
                       {"type": "flatten"},
                       {"weights": draw(120, 256, scale=0.1), "bias": draw(120, scale=0.1), "activation": "relu"},
                       {"weights": draw(84, 120, scale=0.15), "bias": draw(84, scale=0.1), "activation": "relu"},
                       {"weights": draw(10, 84, scale=0.2), "bias": draw(10, scale=0.1), "activation": "softmax"}]}


# -- the same step in plain numpy --

def _cols(x: np.ndarray, size: int) -> np.ndarray:
    """(n, c, h, w) → (n, out h, out w, c·size·size): each patch, flat."""
    view = sliding_window_view(x, (size, size), axis=(2, 3))  # (n, c, i, j, p, q)
    return view.transpose(0, 2, 3, 1, 4, 5).reshape(x.shape[0], view.shape[2], view.shape[3], -1)


def _conv(x, k, b):  # noqa: ANN001, ANN202
    cols = _cols(x, k.shape[2])
    return (cols @ k.reshape(k.shape[0], -1).T + b).transpose(0, 3, 1, 2), cols


def _pool(a):  # noqa: ANN001, ANN202
    n, c, h, w = a.shape
    windows = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    winners = windows.argmax(-1)
    return np.take_along_axis(windows, winners[..., None], -1)[..., 0], winners


def _unpool(g, winners, shape):  # noqa: ANN001, ANN202
    n, c, h, w = shape
    out = np.zeros((n, c, h // 2, w // 2, 4))
    np.put_along_axis(out, winners[..., None], g[..., None], -1)
    return out.reshape(n, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(shape)


def _conv_input_grad(delta, k, shape):  # noqa: ANN001, ANN202
    size = k.shape[2]
    padded = np.pad(delta, ((0, 0), (0, 0), (size - 1, size - 1), (size - 1, size - 1)))
    flipped = k[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    return _conv(padded, flipped, 0.0)[0]


def _forward(p, x):  # noqa: ANN001, ANN202
    z1, c1 = _conv(x, p["K1"], p["b1"])
    a1 = np.maximum(z1, 0)
    a2, w2 = _pool(a1)
    z3, c3 = _conv(a2, p["K3"], p["b3"])
    a3 = np.maximum(z3, 0)
    a4, w4 = _pool(a3)
    a5 = a4.reshape(x.shape[0], -1)
    z6 = a5 @ p["W6"].T + p["b6"]
    a6 = np.maximum(z6, 0)
    z7 = a6 @ p["W7"].T + p["b7"]
    a7 = np.maximum(z7, 0)
    z8 = a7 @ p["W8"].T + p["b8"]
    e = np.exp(z8 - z8.max(1, keepdims=True))
    return locals() | {"yhat": e / e.sum(1, keepdims=True)}


def numpy_step(p: dict, x: np.ndarray, y: np.ndarray) -> tuple[dict, float]:
    f = _forward(p, x)
    n = x.shape[0]
    loss = float(-np.log(f["yhat"][np.arange(n), y]).mean())
    d8 = f["yhat"].copy()
    d8[np.arange(n), y] -= 1
    d8 /= n
    g = {"W8": d8.T @ f["a7"], "b8": d8.sum(0)}
    d7 = (d8 @ p["W8"]) * (f["z7"] > 0)
    g |= {"W7": d7.T @ f["a6"], "b7": d7.sum(0)}
    d6 = (d7 @ p["W7"]) * (f["z6"] > 0)
    g |= {"W6": d6.T @ f["a5"], "b6": d6.sum(0)}
    da4 = (d6 @ p["W6"]).reshape(f["a4"].shape)
    d3 = _unpool(da4, f["w4"], f["a3"].shape) * (f["z3"] > 0)
    g |= {"K3": np.einsum("nijo,nijf->of", d3.transpose(0, 2, 3, 1), f["c3"]).reshape(p["K3"].shape),
          "b3": d3.sum((0, 2, 3))}
    da2 = _conv_input_grad(d3, p["K3"], f["a2"].shape)
    d1 = _unpool(da2, f["w2"], f["a1"].shape) * (f["z1"] > 0)
    g |= {"K1": np.einsum("nijo,nijf->of", d1.transpose(0, 2, 3, 1), f["c1"]).reshape(p["K1"].shape),
          "b1": d1.sum((0, 2, 3))}
    new = {name: p[name] - RATE * g[name] for name in p}
    after = _forward(new, x)
    return new, float(-np.log(after["yhat"][np.arange(n), y]).mean())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    rounds = 3 if parser.parse_args().quick else 7
    data = lenet()
    loaded = api.load(data)
    x = np.array(data["inputs"], dtype=float)
    y = np.array([t[0] for t in data["targets"]])
    params = {"K1": np.array(data["layers"][0]["kernels"]), "b1": np.array(data["layers"][0]["bias"]),
              "K3": np.array(data["layers"][2]["kernels"]), "b3": np.array(data["layers"][2]["bias"])}
    for k, layer in ((6, 5), (7, 6), (8, 7)):
        params[f"W{k}"] = np.array(data["layers"][layer]["weights"])
        params[f"b{k}"] = np.array(data["layers"][layer]["bias"])

    return compare("LeNet step, batch 8: nnworked / plain numpy", loaded, lambda: numpy_step(params, x, y), rounds)


if __name__ == "__main__":
    sys.exit(main())
