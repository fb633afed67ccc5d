"""An independent, plain-numpy LSTM, written from the equations of CONTRACT.md (gates i, f, g, o as PyTorch
orders them; c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh(c_t)). Nothing here imports nnworked.

It is arranged unlike the library on purpose: one weight matrix W of shape (4H, F + H) acting on the
concatenation [x_t, h_{t−1}], the gates sliced from one vector, and backpropagation through time written
as the textbook's loop over steps with ∂L/∂h and ∂L/∂c carried back, per example."""

from __future__ import annotations

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def lstm_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray, h0: np.ndarray, c0: np.ndarray) -> dict:
    """x (N, T, F); W (4H, F + H), rows i, f, g, o; b (4H,). Every intermediate by step, for backward."""
    N, T, _ = x.shape
    H = h0.shape[0]
    h, c = np.tile(h0, (N, 1)), np.tile(c0, (N, 1))
    cache = {"x": x, "W": W, "hs": [h], "cs": [c], "gates": []}
    for t in range(T):
        v = np.concatenate([x[:, t], h], axis=1) @ W.T + b
        i, f, g, o = _sigmoid(v[:, :H]), _sigmoid(v[:, H:2 * H]), np.tanh(v[:, 2 * H:3 * H]), _sigmoid(v[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        cache["gates"].append((i, f, g, o))
        cache["hs"].append(h)
        cache["cs"].append(c)
    cache["h"] = np.stack(cache["hs"][1:], axis=1)  # (N, T, H)
    cache["c"] = np.stack(cache["cs"][1:], axis=1)
    return cache


def lstm_backward(cache: dict, dh_out: np.ndarray) -> dict:
    """dh_out (N, T, H): ∂L/∂h_t from outside the layer at each step. Returns ∂L/∂W, ∂L/∂b, ∂L/∂x, and the
    ∂L/∂h_t, ∂L/∂c_t (both paths) of every step."""
    x, W = cache["x"], cache["W"]
    N, T, F = x.shape
    H = W.shape[0] // 4
    dW, db, dx = np.zeros_like(W), np.zeros(4 * H), np.zeros_like(x)
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    dhs, dcs = np.zeros((N, T, H)), np.zeros((N, T, H))
    for t in reversed(range(T)):
        i, f, g, o = cache["gates"][t]
        c, c_prev, h_prev = cache["cs"][t + 1], cache["cs"][t], cache["hs"][t]
        dh = dh_out[:, t] + dh_next
        dc = dc_next + dh * o * (1 - np.tanh(c) ** 2)
        di, df, dg, do = dc * g, dc * c_prev, dc * i, dh * np.tanh(c)
        dv = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1)
        joined = np.concatenate([x[:, t], h_prev], axis=1)
        dW += dv.T @ joined
        db += dv.sum(axis=0)
        djoined = dv @ W
        dx[:, t] = djoined[:, :F]
        dh_next = djoined[:, F:]
        dc_next = dc * f
        dhs[:, t], dcs[:, t] = dh, dc
    return {"dW": dW, "db": db, "dx": dx, "dh": dhs, "dc": dcs}


def split(W: np.ndarray, F: int) -> tuple[np.ndarray, np.ndarray]:
    """(W_x, W_h) per gate, (4, H, F) and (4, H, H), from the joined (4H, F + H)."""
    H = W.shape[0] // 4
    return W[:, :F].reshape(4, H, F), W[:, F:].reshape(4, H, H)


def join(wx: np.ndarray, wh: np.ndarray) -> np.ndarray:
    """The joined (4H, F + H) from W_x (4, H, F) and W_h (4, H, H)."""
    H = wx.shape[1]
    return np.concatenate([wx.reshape(4 * H, -1), wh.reshape(4 * H, H)], axis=1)
