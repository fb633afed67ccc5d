"""Self-attention's arithmetic, forward and backward, over a Backend (`Exact` or `Carried`), so both
rounding modes work: every product of two matrices is `math.pairs` or `math.linear`, each row's softmax is
the softmax rule's, each sum of paths `math.add_paths`. Conventions are PyTorch's
(`scaled_dot_product_attention`, `nn.MultiheadAttention` with no biases): d_model is split into H
contiguous heads, the scores are divided by √d_k, a causal mask lets position i attend to j ≤ i only."""

from __future__ import annotations

import numpy as np

from nnworked.attention_records import Attend, AttentionBack, AttentionGradient
from nnworked.engine.backend import Backend
from nnworked.rules.activations import ACTIVATIONS

SOFTMAX = ACTIVATIONS["softmax"]


def split(values: np.ndarray, heads: int) -> np.ndarray:
    """(N, T, H·d) → (N, H, T, d): head h takes features h·d … (h + 1)·d − 1, as PyTorch splits them."""
    n, t, width = values.shape
    return values.reshape(n, t, heads, width // heads).transpose(0, 2, 1, 3)


def join(values: np.ndarray) -> np.ndarray:
    """(N, H, T, d) → (N, T, H·d): the heads side by side."""
    n, h, t, d = values.shape
    return values.transpose(0, 2, 1, 3).reshape(n, t, h * d)


def _project(math: Backend, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x·Wᵀ at every position: (N, T, F) → (N, T, rows of W)."""
    n, t, f = x.shape
    return math.linear(weights, x.reshape(n * t, f), None).reshape(n, t, weights.shape[0])


def causal_mask(positions: int) -> np.ndarray:
    """True where position i may attend to position j: j ≤ i."""
    return np.tril(np.ones((positions, positions), dtype=bool))


def _rows(values: np.ndarray) -> np.ndarray:
    return values.reshape(-1, values.shape[-1])


def attend(math: Backend, k: int, x: np.ndarray, wq: np.ndarray, wk: np.ndarray, wv: np.ndarray,
           wo: np.ndarray | None, heads: int, causal: bool, scaled: bool, given: bool) -> Attend:
    """The forward record of self-attention layer k over the sequences x (N, T, F)."""
    q = split(_project(math, wq, x), heads)
    key = split(_project(math, wk, x), heads)
    v = split(_project(math, wv, x), heads)
    scores = math.pairs(q, key)
    root = math.root(q.shape[-1]) if scaled else None
    scaled_scores = math.share(scores, root) if scaled else scores
    mask = causal_mask(x.shape[1]) if causal else None
    logits = scaled_scores if mask is None else np.where(mask, scaled_scores, -np.inf)  # e^(−∞) = 0: no weight
    weights = math.activate(SOFTMAX, _rows(logits), 0.0).reshape(logits.shape)
    mixed = math.pairs(weights, np.swapaxes(v, -1, -2))
    concat = join(mixed)
    a = concat if wo is None else _project(math, wo, concat)
    return Attend(k, heads, causal, scaled, x, wq, wk, wv, wo, q, key, v, scores, root, scaled_scores, mask,
                  weights, mixed, concat, given, a)


def attend_back(math: Backend, f: Attend, gradient: np.ndarray, to_input: bool
                ) -> tuple[AttentionGradient, AttentionBack | None]:
    """The backward records from ∂L/∂a (N, T, d_out); ∂L/∂X only when `to_input` (X is not data)."""
    n, t, _ = gradient.shape
    output_grad = None
    if f.output_weights is None:
        concat_grad = gradient
    else:
        output_grad = math.weight_gradient(_rows(gradient), _rows(f.concat))
        concat_grad = math.backprop(f.output_weights, _rows(gradient)).reshape(f.concat.shape)
    mixed_grad = split(concat_grad, f.heads)
    weights_grad = math.pairs(mixed_grad, f.v)  # ∂L/∂A[i, j] = Σ_d ∂L/∂out[i, d] × V[j, d]
    value_grad = math.pairs(np.swapaxes(f.weights, -1, -2), np.swapaxes(mixed_grad, -1, -2))  # Σ_i A[i, j] ∂L/∂out[i, d]
    _, logits_grad = math.through(SOFTMAX, _rows(f.scaled_scores), _rows(f.weights), _rows(weights_grad), 0.0)
    logits_grad = logits_grad.reshape(f.weights.shape)  # 0 where masked: a masked weight is 0
    scores_grad = math.share(logits_grad, f.root) if f.scaled else logits_grad
    query_grad = math.pairs(scores_grad, np.swapaxes(f.k, -1, -2))  # Σ_j ∂L/∂S[i, j] × K[j, d]
    key_grad = math.pairs(np.swapaxes(scores_grad, -1, -2), np.swapaxes(f.q, -1, -2))  # Σ_i ∂L/∂S[i, j] × Q[i, d]
    x = _rows(f.inputs)
    flat = [_rows(join(g)) for g in (query_grad, key_grad, value_grad)]
    wq_grad, wk_grad, wv_grad = (math.weight_gradient(g, x) for g in flat)
    record = AttentionGradient(f.layer, gradient, output_grad, concat_grad, weights_grad, value_grad, logits_grad,
                               scores_grad, query_grad, key_grad, wq_grad, wk_grad, wv_grad, f.scaled, f.mask)
    if not to_input:
        return record, None
    paths = tuple(math.backprop(w, g).reshape(f.inputs.shape)
                  for w, g in zip((f.query_weights, f.key_weights, f.value_weights), flat))
    upstream = math.add_paths(list(paths))
    return record, AttentionBack(f.layer, paths, upstream)  # type: ignore[arg-type]
