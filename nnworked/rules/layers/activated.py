"""What the layers with an activation share (dense, conv2d): the step back through the activation."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.base import Finite
from nnworked.trace import Activate, ThroughActivation


def with_activation(layer: Any) -> str:
    """" with **ReLU** activation", or " (no activation)"."""
    act = ACTIVATIONS[layer.activation]
    return f" with **{act.label}** activation" if not act.identity else " (no activation)"


def activate(math: Any, k: int, layer: Any, z: np.ndarray, finite: Finite) -> Activate:
    """a = f(z), elementwise (softmax: over the last axis)."""
    a = finite(math.activate(ACTIVATIONS[layer.activation], z, layer.slope), f"a{k}")
    return Activate(k, layer.activation, layer.slope, z, a)


def through(math: Any, k: int, act: Activate, upstream: np.ndarray, finite: Finite) -> ThroughActivation:
    """δ = ∂L/∂a ⊙ f′(z) (softmax: through its Jacobian)."""
    derivative, delta = math.through(ACTIVATIONS[act.activation], act.z, act.a, upstream, act.slope)
    return ThroughActivation(k, act.activation, act.slope, act.z, act.a, upstream, derivative,
                             finite(delta, f"∂L/∂z{k}"))
