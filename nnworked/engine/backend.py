"""The two ways `solve` computes: plain float64 numpy (`rounding: exact`) and carried decimal rounding
(`rounding: carry`, each shown intermediate rounded as a student with a calculator would). Layer rules
call these methods and never ask which mode is in force, so every layer type gets both modes at once."""

from __future__ import annotations

import numpy as np

from nnworked.engine import carry
from nnworked.rules.activations import ActivationRule


class Exact:
    """float64 numpy, vectorised over examples."""

    carry = False

    def linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return inputs @ weights.T + (bias if bias is not None else 0.0)

    def activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.value(z, slope)

    def through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        """f′(z) and ∂L/∂z = ∂L/∂a ⊙ f′(z); softmax goes through its Jacobian and has no f′ to show."""
        if not rule.elementwise:
            return None, rule.vjp(z, a, upstream, slope)
        derivative = rule.derivative(z, a, slope)
        return derivative, upstream * derivative

    def weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return delta.T @ inputs

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return delta.sum(axis=0)

    def backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return delta @ weights


class Carried(Exact):
    """Every shown intermediate rounded to the scenario's places, as `nnworked.worked` writes it."""

    carry = True

    def __init__(self, carrier: carry.Carrier):
        self.c = carrier

    def linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return carry.linear(self.c, weights, inputs, bias)

    def activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.carried(self.c, z, slope)

    def through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        return rule.carried_backward(self.c, z, a, upstream, slope)

    def weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return carry.weight_gradient(self.c, delta, inputs)

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return carry.bias_gradient(self.c, delta)

    def backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return carry.backprop(self.c, weights, delta)


Backend = Exact  # the type layer rules are given: Exact or its Carried subclass
