"""A transformer block's training step, in-process: nnworked against the same step in plain numpy, as a
ratio of medians of interleaved rounds (the style of lenet.py), and the size of its elided Markdown
walkthrough.

    python benchmarks/transformer.py            # 7 interleaved rounds (after one warm-up round)
    python benchmarks/transformer.py --quick    # 3 rounds

The block: sequences of 32 positions with 64 features, a batch of 8; self-attention with 4 heads (d_model
64, d_k 16) and output weights, no biases; a residual connection from the inputs; layer normalisation at
every position; a position-wise dense layer of 64 (ReLU); a position-wise dense layer of 10 (softmax);
cross-entropy at every position (the mean over examples and positions); one SGD step with learning rate
0.01; weights and inputs with two decimals (a fixed seed). "One traced step" is
`nnworked.engine.network.solve` of the loaded scenario: the forward pass, the loss, the backward pass and
the update, each recorded in the trace, and the forward pass and loss after the update. The plain numpy
step does exactly that arithmetic, batched over examples and heads, and nothing else.

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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nnworked import api  # noqa: E402
from sidebyside import compare  # noqa: E402

BATCH, POSITIONS, D_MODEL, HEADS, HIDDEN, CLASSES, RATE, EPSILON = 8, 32, 64, 4, 64, 10, 0.01, 1e-5


def block(seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)

    def draw(*shape: int, scale: float) -> list:
        return np.round(rng.uniform(-scale, scale, shape), 2).tolist()
    return {"title": "A transformer block's step", "loss": "cross_entropy", "learning_rate": RATE,
            "inputs": draw(BATCH, POSITIONS, D_MODEL, scale=1.0),
            "targets": rng.integers(0, CLASSES, (BATCH, POSITIONS, 1)).tolist(),
            "layers": [{"type": "self_attention", "heads": HEADS, "name": "attention",
                        **{key: draw(D_MODEL, D_MODEL, scale=0.2) for key in
                           ("query_weights", "key_weights", "value_weights", "output_weights")}},
                       {"type": "residual", "from": "input"},
                       {"type": "layer_norm"},
                       {"weights": draw(HIDDEN, D_MODEL, scale=0.2), "bias": draw(HIDDEN, scale=0.1),
                        "activation": "relu"},
                       {"weights": draw(CLASSES, HIDDEN, scale=0.2), "bias": draw(CLASSES, scale=0.1),
                        "activation": "softmax"}]}


# -- the same step in plain numpy --

def _heads(values: np.ndarray) -> np.ndarray:
    n, t, d = values.shape
    return values.reshape(n, t, HEADS, d // HEADS).transpose(0, 2, 1, 3)


def _forward(p, x):  # noqa: ANN001, ANN202
    q, k, v = (_heads(x @ p[name].T) for name in ("WQ1", "WK1", "WV1"))
    s = q @ k.swapaxes(-1, -2) / np.sqrt(q.shape[-1])
    e = np.exp(s - s.max(-1, keepdims=True))
    att = e / e.sum(-1, keepdims=True)
    concat = (att @ v).transpose(0, 2, 1, 3).reshape(x.shape)
    a1 = concat @ p["WO1"].T
    a2 = a1 + x
    mean = a2.mean(-1, keepdims=True)
    std = np.sqrt(((a2 - mean) ** 2).mean(-1, keepdims=True) + EPSILON)
    xhat = (a2 - mean) / std
    a3 = p["gamma3"] * xhat + p["beta3"]
    z4 = a3 @ p["W4"].T + p["b4"]
    a4 = np.maximum(z4, 0)
    z5 = a4 @ p["W5"].T + p["b5"]
    e5 = np.exp(z5 - z5.max(-1, keepdims=True))
    return locals() | {"yhat": e5 / e5.sum(-1, keepdims=True)}


def _loss(yhat: np.ndarray, y: np.ndarray) -> float:
    return float(-np.log(np.take_along_axis(yhat, y[..., None], -1)).mean())


def numpy_step(p: dict, x: np.ndarray, y: np.ndarray) -> tuple[dict, float]:
    f = _forward(p, x)
    count = y.size  # examples × positions
    d5 = f["yhat"].copy()
    np.put_along_axis(d5, y[..., None], np.take_along_axis(d5, y[..., None], -1) - 1, -1)
    d5 /= count
    flat = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731
    g = {"W5": flat(d5).T @ flat(f["a4"]), "b5": flat(d5).sum(0)}
    d4 = (d5 @ p["W5"]) * (f["z4"] > 0)
    g |= {"W4": flat(d4).T @ flat(f["a3"]), "b4": flat(d4).sum(0)}
    da3 = d4 @ p["W4"]
    g |= {"gamma3": flat(da3 * f["xhat"]).sum(0), "beta3": flat(da3).sum(0)}
    ghat = da3 * p["gamma3"]
    m = ghat.shape[-1]
    da2 = (m * ghat - ghat.sum(-1, keepdims=True) - f["xhat"] * (ghat * f["xhat"]).sum(-1, keepdims=True)) / \
        (m * f["std"])
    g["WO1"] = flat(da2).T @ flat(f["concat"])
    dmix = _heads(da2 @ p["WO1"])
    datt = dmix @ f["v"].swapaxes(-1, -2)
    dv = f["att"].swapaxes(-1, -2) @ dmix
    ds = f["att"] * (datt - (datt * f["att"]).sum(-1, keepdims=True)) / np.sqrt(f["q"].shape[-1])
    dq, dk = ds @ f["k"], ds.swapaxes(-1, -2) @ f["q"]
    for name, d in (("WQ1", dq), ("WK1", dk), ("WV1", dv)):
        g[name] = flat(d.transpose(0, 2, 1, 3).reshape(x.shape)).T @ flat(x)
    new = {name: p[name] - RATE * g[name] for name in p}
    return new, _loss(_forward(new, x)["yhat"], y)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 7")
    rounds = 3 if parser.parse_args().quick else 7
    data = block()
    loaded = api.load(data)
    x = np.array(data["inputs"], dtype=float)
    y = np.array(data["targets"])[..., 0]
    attention = data["layers"][0]
    params = {f"W{role}1": np.array(attention[f"{key}_weights"])
              for role, key in (("Q", "query"), ("K", "key"), ("V", "value"), ("O", "output"))}
    params |= {"gamma3": np.ones(D_MODEL), "beta3": np.zeros(D_MODEL)}
    for k in (4, 5):
        params[f"W{k}"] = np.array(data["layers"][k - 1]["weights"])
        params[f"b{k}"] = np.array(data["layers"][k - 1]["bias"])

    return compare("transformer block step, batch 8 × 32: nnworked / numpy", loaded, lambda: numpy_step(params, x, y), rounds)


if __name__ == "__main__":
    sys.exit(main())
