"""The records of a self_attention layer, forward and backward: data only, each naming what it produces,
as `nnworked.layer_records` does for the other layers beyond dense ones.

Shapes: N examples, T positions, F input features, H heads of d_k (queries and keys) and d_v (values)
each, so d_model = H·d_k. Per-head arrays are (N, H, T, ·); a position's row of scores or weights is the
last axis. Q, K, V, the scores and the weights are the intermediates a teacher writes on the board; the
table of quantities names the layer's output a{k} and the gradients the rule hands on."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Attend(NamedTuple):
    """a = concat_h(softmax(Q_h·K_hᵀ / √d_k)·V_h) (·W_Oᵀ), Q = X·W_Qᵀ, K = X·W_Kᵀ, V = X·W_Vᵀ."""

    layer: int
    heads: int
    causal: bool
    scaled: bool
    inputs: np.ndarray  # X (N, T, F)
    query_weights: np.ndarray  # W_Q (d_model, F)
    key_weights: np.ndarray
    value_weights: np.ndarray  # W_V (H·d_v, F)
    output_weights: np.ndarray | None  # W_O (d_out, H·d_v)
    q: np.ndarray  # (N, H, T, d_k)
    k: np.ndarray
    v: np.ndarray  # (N, H, T, d_v)
    scores: np.ndarray  # Q·Kᵀ (N, H, T, T), before scaling and masking
    root: float | None  # √d_k as worked (None when not scaled)
    scaled_scores: np.ndarray  # scores / √d_k (the scores themselves when not scaled)
    mask: np.ndarray | None  # (T, T), True where position i may attend to j (causal only)
    weights: np.ndarray  # each row's softmax (N, H, T, T); 0 where masked
    mixed: np.ndarray  # each head's weighted sum of values (N, H, T, d_v)
    concat: np.ndarray  # the heads side by side (N, T, H·d_v)
    given: bool  # the parameters are the ones the user wrote (step 1)
    a: np.ndarray  # the output (N, T, d_out): concat·W_Oᵀ, or concat itself

    @property
    def output(self) -> np.ndarray:
        return self.a

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer}": self.a}

    def intermediates(self) -> dict[str, np.ndarray]:
        """The intermediates a sheet can ask, by kind, each indexed as its name is: q, k, v and (with output
        weights) O by [example, position, feature of d_model]; S, Sc (scaled) and A by [example, i, j] with
        one head, [example, head, i, j] with several."""
        def rows(a: np.ndarray) -> np.ndarray:
            return _pairs(a, self.mask)

        out = {"q": _flat(self.q), "k": _flat(self.k), "v": _flat(self.v), "S": rows(self.scores)}
        if self.scaled:
            out["Sc"] = rows(self.scaled_scores)
        out["A"] = rows(self.weights)
        if self.output_weights is not None:
            out["O"] = self.concat
        return out


class AttentionGradient(NamedTuple):
    """From ∂L/∂a back to the weights: ∂L/∂concat (through W_O), each head's ∂L/∂(weights) = ∂L/∂out·Vᵀ
    and ∂L/∂V = weightsᵀ·∂L/∂out, each row through the softmax Jacobian to ∂L/∂scores (÷ √d_k), ∂L/∂Q =
    ∂L/∂S·K and ∂L/∂K = ∂L/∂Sᵀ·Q, then ∂L/∂W = Σ over examples and positions of ∂L/∂(Q, K, V) ⊗ X."""

    layer: int
    gradient: np.ndarray  # ∂L/∂a (N, T, d_out)
    output_grad: np.ndarray | None  # ∂L/∂W_O
    concat_grad: np.ndarray  # ∂L/∂concat (N, T, H·d_v)
    weights_grad: np.ndarray  # ∂L/∂(attention weights) (N, H, T, T)
    value_grad: np.ndarray  # ∂L/∂V (N, H, T, d_v)
    logits_grad: np.ndarray  # ∂L/∂(scaled scores): each row through its softmax Jacobian (N, H, T, T)
    scores_grad: np.ndarray  # ∂L/∂(Q·Kᵀ) = the above ÷ √d_k
    query_grad: np.ndarray  # ∂L/∂Q (N, H, T, d_k)
    key_grad: np.ndarray
    query_weights_grad: np.ndarray  # ∂L/∂W_Q
    key_weights_grad: np.ndarray
    value_weights_grad: np.ndarray
    scaled: bool = True  # as the forward record's: ∂L/∂(scaled scores) is a step of its own
    mask: np.ndarray | None = None  # as the forward record's: a masked pair's gradient is no quantity

    def produces(self) -> dict[str, np.ndarray]:
        k = self.layer
        out = {f"WQ{k}": self.query_weights_grad, f"WK{k}": self.key_weights_grad, f"WV{k}": self.value_weights_grad}
        if self.output_grad is not None:
            out[f"WO{k}"] = self.output_grad
        return out

    def intermediates(self) -> dict[str, np.ndarray]:
        """The backward intermediates a sheet can ask, by kind, each indexed as its forward twin (see
        `Attend.intermediates`): ∂L/∂O (with output weights: ∂L/∂concat), ∂L/∂A, ∂L/∂Sc (scaled: what the
        softmax passes back), ∂L/∂S, ∂L/∂q, ∂L/∂k and ∂L/∂v, in the order the walkthrough works them."""
        def rows(a: np.ndarray) -> np.ndarray:
            return _pairs(a, self.mask)

        out = {"dO": self.concat_grad} if self.output_grad is not None else {}
        out.update({"dA": rows(self.weights_grad), "dv": _flat(self.value_grad)})
        if self.scaled:
            out["dSc"] = rows(self.logits_grad)
        out.update({"dS": rows(self.scores_grad), "dq": _flat(self.query_grad), "dk": _flat(self.key_grad)})
        return out


class AttentionBack(NamedTuple):
    """∂L/∂X = ∂L/∂Q·W_Q + ∂L/∂K·W_K + ∂L/∂V·W_V: X reaches the loss along its three projections."""

    layer: int
    paths: tuple[np.ndarray, np.ndarray, np.ndarray]  # through Q, K and V, each (N, T, F)
    upstream: np.ndarray  # ∂L/∂a_{k−1}: their sum

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


def _flat(a: np.ndarray) -> np.ndarray:
    """Each head's (N, H, T, d) side by side, as a quantity is indexed: (N, T, H·d)."""
    return a.transpose(0, 2, 1, 3).reshape(a.shape[0], a.shape[2], -1)


def _pairs(a: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """A per-pair array (N, H, T, T) as a quantity is indexed: [n, i, j] with one head, [n, h, i, j] with
    several; a masked pair is no quantity (NaN): the walkthrough never works it."""
    a = a if mask is None else np.where(mask, a, np.nan)
    return a[:, 0] if a.shape[1] == 1 else a
