"""Optimizers, keyed by the name a scenario uses (the rules in `nnworked.rules.optimizers`). Each update
is returned with the state it used, so a walkthrough can show the arithmetic and JSON can carry the state
per step. The update is the rule's one implementation, run on whole arrays."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnworked.rules.optimizers import OPTIMIZERS, NumpyArithmetic, OptimizerRule

__all__ = ["OPTIMIZERS", "OptimizerSpec", "step"]


class OptimizerSpec(NamedTuple):
    name: str = "sgd"
    params: dict[str, float] = {}  # never mutated: a shared default is safe

    @property
    def rule(self) -> OptimizerRule:
        return OPTIMIZERS[self.name]

    def get(self, key: str) -> float:
        return self.params.get(key, self.rule.defaults[key])


# What each setting may be: (lowest, highest, whether the lowest itself is allowed); the highest never is.
# 0 is a setting like any other (momentum 0 is plain SGD, weight_decay 0 none); a decay rate of 1 never
# forgets (Adam's bias correction would divide by 1 − 1ᵗ = 0), and ε = 0 divides by zero where g is 0.
LIMITS: dict[str, tuple[float, float, bool]] = {
    "momentum": (0.0, 1.0, True), "rho": (0.0, 1.0, True), "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True),
    "epsilon": (0.0, float("inf"), False), "weight_decay": (0.0, float("inf"), True),
}
# weight_decay λ is L2 regularisation written as its own gradient term: g = ∂L/∂θ + λ·θ (the loss shown
# is the data loss; the penalty (λ/2)·‖θ‖² only enters through this term)


def step(spec: OptimizerSpec, theta: np.ndarray, grad: np.ndarray, lr: float, state: dict[str, np.ndarray],
         t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One update of one parameter; returns the new value and the new state (state starts at zero)."""
    arithmetic = NumpyArithmetic(theta, state)
    spec.rule.step(arithmetic, theta, grad, lr, spec.get, t)
    defined = arithmetic.defined
    return defined["new"], {name: value for name, value in defined.items() if name not in ("g", "new")}
