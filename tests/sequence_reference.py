"""An independent, plain-numpy reference for sequence networks, written from CONTRACT.md's formulas.

Nothing here imports nnworked. Arrays are (examples, positions, features); every layer is written as a
loop over the examples and positions, one vector at a time, exactly as a student works it, and every
gradient is derived by hand (the recurrence unrolled backwards through time for an rnn), so agreement
with the package, which computes over whole arrays, is evidence and not a tautology.
"""

from __future__ import annotations

import numpy as np


# ---- the layers at one position --------------------------------------------------------------------

def act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "relu":
        return np.maximum(z, 0)
    if name == "softmax":
        e = np.exp(z - z.max())
        return e / e.sum()
    assert name == "linear"
    return z.copy()


def act_back(name: str, z: np.ndarray, a: np.ndarray, g: np.ndarray) -> np.ndarray:
    """∂L/∂z of one vector from ∂L/∂a (softmax through its full Jacobian matrix)."""
    if name == "tanh":
        return g * (1 - a ** 2)
    if name == "sigmoid":
        return g * a * (1 - a)
    if name == "relu":
        return g * (z > 0)
    if name == "softmax":
        jacobian = np.diag(a) - np.outer(a, a)
        return jacobian.T @ g
    return g.copy()


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    xhat = (x - mu) / np.sqrt(var + eps)
    return gamma * xhat + beta, xhat


def layer_norm_back(x: np.ndarray, gamma: np.ndarray, eps: float, dy: np.ndarray) -> np.ndarray:
    """Through x̂, σ² and μ separately (Ba, Kiros & Hinton 2016, with the batch-norm derivation of Ioffe &
    Szegedy 2015 §3 over one vector's features)."""
    m = x.size
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    dxhat = dy * gamma
    dvar = np.sum(dxhat * (x - mu)) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dxhat / np.sqrt(var + eps)) + dvar * np.mean(-2 * (x - mu))
    return dxhat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m


# ---- the loss over examples and positions ------------------------------------------------------------

def loss_and_gradient(name: str, yhat: np.ndarray, y: np.ndarray, batch: str) -> tuple[float, np.ndarray]:
    """mse (mean over the outputs) or cross-entropy at every position; the mean (or sum) over examples and
    positions together. Gives L and ∂L/∂ŷ (N, T, O)."""
    count = yhat.shape[0] * yhat.shape[1] if batch == "mean" else 1
    if name == "mse":
        units = yhat.shape[2]
        return float(((yhat - y) ** 2).mean(axis=2).sum() / count), 2 * (yhat - y) / units / count
    assert name == "cross_entropy"
    return float(-(y * np.log(yhat)).sum() / count), -y / yhat / count


# ---- a network of position-wise layers ------------------------------------------------------------

def positionwise(layers: list[dict], x: np.ndarray, y: np.ndarray, loss: str, batch: str = "mean"
                 ) -> tuple[float, dict[str, np.ndarray]]:
    """Dense layers ({W, b, activation}) and layer norms ({gamma, beta, eps}) applied at every position, one
    vector at a time; the loss and every parameter's gradient (W1, b1, gamma2, …) and each layer's ∂L/∂a."""
    examples, positions = x.shape[:2]
    cache: dict = {}
    values = [x]
    for k, layer in enumerate(layers, start=1):
        before = values[-1]
        after = []
        for n in range(examples):
            row = []
            for t in range(positions):
                v = before[n, t]
                if "W" in layer:
                    z = layer["W"] @ v + layer["b"]
                    a = act(layer["activation"], z)
                    cache[k, n, t] = (v, z, a)
                else:
                    a, _ = layer_norm(v, layer["gamma"], layer["beta"], layer["eps"])
                    cache[k, n, t] = (v,)
                row.append(a)
            after.append(row)
        values.append(np.array(after))
    value, upstream = loss_and_gradient(loss, values[-1], y, batch)
    grads: dict[str, np.ndarray] = {}
    for k in range(len(layers), 0, -1):
        layer = layers[k - 1]
        grads[f"a{k}"] = upstream
        below = np.zeros(values[k - 1].shape)
        if "W" in layer:
            grads[f"W{k}"] = np.zeros(layer["W"].shape)
            grads[f"b{k}"] = np.zeros(layer["b"].shape)
        else:
            grads[f"gamma{k}"] = np.zeros(layer["gamma"].shape)
            grads[f"beta{k}"] = np.zeros(layer["beta"].shape)
        for n in range(examples):
            for t in range(positions):
                g = upstream[n, t]
                if "W" in layer:
                    v, z, a = cache[k, n, t]
                    delta = act_back(layer["activation"], z, a, g)
                    grads[f"W{k}"] += np.outer(delta, v)
                    grads[f"b{k}"] += delta
                    below[n, t] = layer["W"].T @ delta
                else:
                    (v,) = cache[k, n, t]
                    _, xhat = layer_norm(v, layer["gamma"], layer["beta"], layer["eps"])
                    grads[f"gamma{k}"] += g * xhat
                    grads[f"beta{k}"] += g
                    below[n, t] = layer_norm_back(v, layer["gamma"], layer["eps"], g)
        upstream = below
    return value, grads
