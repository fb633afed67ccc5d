"""The rnn layer's scenario record and its trace records: data only, each naming what it produces, as
`nnworked.trace`'s records do.

Forward, one record holds every time step (z_t and h_t for t = 0 … T−1, arrays (examples, positions,
units)); the walkthrough works it step by step. Backward (backpropagation through time), one record holds
each step's ∂L/∂h_t (what the layers after it send plus what h_{t+1} sends back through W_h), its δ_t =
∂L/∂z_t, and each step's contribution to the shared weights' gradients, which are their sum."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnworked.engine.activations import DEFAULT_LEAKY_SLOPE


class RnnLayer(NamedTuple):
    input_weights: np.ndarray  # W_x (units, inputs)
    recurrent_weights: np.ndarray  # W_h (units, units)
    bias: np.ndarray | None  # (units,)
    initial_state: np.ndarray  # h₀ (units,), zeros unless given
    returns: str = "sequence"  # sequence (every h_t) or last (h_T only)
    activation: str = "tanh"
    slope: float = DEFAULT_LEAKY_SLOPE
    name: str | None = None
    type: str = "rnn"

    @property
    def units(self) -> int:
        return self.input_weights.shape[0]


class Recurrence(NamedTuple):
    """h_t = f(W_x·x_t + W_h·h_{t−1} + b) at every time step, h_{−1} = h₀ (the initial state)."""

    layer: int
    activation: str
    slope: float
    input_weights: np.ndarray
    recurrent_weights: np.ndarray
    bias: np.ndarray | None
    initial: np.ndarray  # h₀ (units,)
    inputs: np.ndarray  # x (examples, positions, inputs)
    z: np.ndarray  # (examples, positions, units)
    h: np.ndarray  # (examples, positions, units)
    returns: str
    given: bool  # the weights are the numbers the user wrote (the first forward pass)

    @property
    def output(self) -> np.ndarray:
        return self.h if self.returns == "sequence" else self.h[:, -1]

    def previous(self) -> np.ndarray:
        """h_{t−1} for each step t: h₀ at the first, (examples, positions, units)."""
        start = np.broadcast_to(self.initial, (self.h.shape[0], 1, self.h.shape[2]))
        return np.concatenate([start, self.h[:, :-1]], axis=1)

    def produces(self) -> dict[str, np.ndarray]:
        return {f"z{self.layer}": self.z, f"a{self.layer}": self.output}


class ThroughTime(NamedTuple):
    """Backpropagation through time, from the last step to the first: ∂L/∂h_t = ∂L/∂a_t (from the layers
    after it; at the last step only, for return: last) + W_hᵀ·δ_{t+1}; δ_t = ∂L/∂h_t ⊙ f′(z_t); and each
    step's contribution δ_t ⊗ x_t, δ_t ⊗ h_{t−1}, δ_t (summed over the batch) to ∂L/∂W_x, ∂L/∂W_h, ∂L/∂b,
    which are their sums over the steps."""

    layer: int
    activation: str
    slope: float
    returns: str
    gradient: np.ndarray  # ∂L/∂a_k as the layers after it send it: (N, T, H), or (N, H) for return: last
    recurrent: np.ndarray  # W_hᵀ·δ_{t+1} (N, T, H); 0 at the last step, which has no successor
    total: np.ndarray  # ∂L/∂h_t (N, T, H)
    derivative: np.ndarray | None  # f′(z_t)
    delta: np.ndarray  # δ_t = ∂L/∂z_t (N, T, H)
    contributions: dict[str, np.ndarray]  # by parameter name: each step's share, (T, *shape)
    gradients: dict[str, np.ndarray]  # by parameter name: the sum over the steps

    def produces(self) -> dict[str, np.ndarray]:
        return {f"z{self.layer}": self.delta, **self.gradients}


class RnnBackToInput(NamedTuple):
    """∂L/∂x_t = W_xᵀ·δ_t at every step: what the layer before receives."""

    layer: int
    input_weights: np.ndarray
    delta: np.ndarray
    upstream: np.ndarray  # ∂L/∂a_{k−1} (N, T, inputs)

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}
