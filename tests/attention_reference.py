"""An independent, plain-numpy reference for self-attention as CONTRACT.md states it, written from the
formulas with explicit loops over examples, heads and positions. Nothing here imports nnworked. The
backward pass multiplies each attention row's upstream gradient by its full softmax Jacobian matrix
diag(a) − a·aᵀ (nnworked uses the vector form a ⊙ (g − g·a)), and the projections' gradients are summed
position by position, so agreement is evidence, not a tautology."""

from __future__ import annotations

import math

import numpy as np


def _softmax(row: np.ndarray) -> np.ndarray:
    e = np.exp(row - row.max())
    return e / e.sum()


def forward(x, wq, wk, wv, wo, heads, causal, scaled):  # noqa: ANN001, ANN201
    """The output (N, T, d_out) and what the backward pass needs."""
    n_examples, positions, _ = x.shape
    d_k, d_v = wq.shape[0] // heads, wv.shape[0] // heads
    q = np.einsum("ntf,mf->ntm", x, wq)
    k = np.einsum("ntf,mf->ntm", x, wk)
    v = np.einsum("ntf,mf->ntm", x, wv)
    weights = np.zeros((n_examples, heads, positions, positions))
    concat = np.zeros((n_examples, positions, heads * d_v))
    for n in range(n_examples):
        for h in range(heads):
            qs, ks = slice(h * d_k, (h + 1) * d_k), slice(h * d_v, (h + 1) * d_v)
            for i in range(positions):
                allowed = i + 1 if causal else positions
                scores = np.array([sum(q[n, i, qs][d] * k[n, j, qs][d] for d in range(d_k)) for j in range(allowed)])
                if scaled:
                    scores = scores / math.sqrt(d_k)
                weights[n, h, i, :allowed] = _softmax(scores)
                concat[n, i, ks] = sum(weights[n, h, i, j] * v[n, j, ks] for j in range(allowed))
    out = concat if wo is None else np.einsum("ntm,om->nto", concat, wo)
    return out, dict(q=q, k=k, v=v, weights=weights, concat=concat)


def backward(x, wq, wk, wv, wo, heads, causal, scaled, gradient):  # noqa: ANN001, ANN201
    """∂L/∂X and ∂L/∂W_Q, W_K, W_V (and W_O), given ∂L/∂(output)."""
    _, saved = forward(x, wq, wk, wv, wo, heads, causal, scaled)
    q, k, v, weights, concat = (saved[key] for key in ("q", "k", "v", "weights", "concat"))
    n_examples, positions, _ = x.shape
    d_k, d_v = wq.shape[0] // heads, wv.shape[0] // heads
    grads = {}
    if wo is not None:
        grads["WO"] = sum(np.outer(gradient[n, t], concat[n, t]) for n in range(n_examples) for t in range(positions))
        d_concat = np.einsum("nto,om->ntm", gradient, wo)
    else:
        d_concat = gradient
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    for n in range(n_examples):
        for h in range(heads):
            qs, vs = slice(h * d_k, (h + 1) * d_k), slice(h * d_v, (h + 1) * d_v)
            for i in range(positions):
                a = weights[n, h, i]
                d_a = np.array([d_concat[n, i, vs] @ v[n, j, vs] for j in range(positions)])
                for j in range(positions):
                    dv[n, j, vs] += a[j] * d_concat[n, i, vs]
                jacobian = np.diag(a) - np.outer(a, a)
                d_scores = jacobian @ d_a  # a masked position has a = 0: its row and column are 0
                if scaled:
                    d_scores = d_scores / math.sqrt(d_k)
                for j in range(positions):
                    dq[n, i, qs] += d_scores[j] * k[n, j, qs]
                    dk[n, j, qs] += d_scores[j] * q[n, i, qs]
    for name, d in (("WQ", dq), ("WK", dk), ("WV", dv)):
        grads[name] = sum(np.outer(d[n, t], x[n, t]) for n in range(n_examples) for t in range(positions))
    grads["X"] = np.einsum("ntm,mf->ntf", dq, wq) + np.einsum("ntm,mf->ntf", dk, wk) + \
        np.einsum("ntm,mf->ntf", dv, wv)
    return grads
