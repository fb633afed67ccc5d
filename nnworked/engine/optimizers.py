"""Optimizers, keyed by the name a scenario uses. Each update is returned with the state it used,
so a walkthrough can show the arithmetic and JSON can carry the state per step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class OptimizerSpec(NamedTuple):
    name: str = "sgd"
    params: dict[str, float] = {}  # never mutated: a shared default is safe

    def get(self, key: str) -> float:
        return self.params.get(key, DEFAULTS[self.name][key])


DEFAULTS: dict[str, dict[str, float]] = {
    "sgd": {"weight_decay": 0.0},
    "momentum": {"momentum": 0.9, "weight_decay": 0.0},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-8, "weight_decay": 0.0},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.0},
}
# What each setting may be: (lowest, highest, whether the lowest itself is allowed); the highest never is.
# 0 is a setting like any other (momentum 0 is plain SGD, weight_decay 0 none); a decay rate of 1 never
# forgets (Adam's bias correction would divide by 1 − 1ᵗ = 0), and ε = 0 divides by zero where g is 0.
LIMITS: dict[str, tuple[float, float, bool]] = {
    "momentum": (0.0, 1.0, True), "rho": (0.0, 1.0, True), "beta1": (0.0, 1.0, True), "beta2": (0.0, 1.0, True),
    "epsilon": (0.0, float("inf"), False), "weight_decay": (0.0, float("inf"), True),
}
# weight_decay λ is L2 regularisation written as its own gradient term: g = ∂L/∂θ + λ·θ (the loss shown
# is the data loss; the penalty (λ/2)·‖θ‖² only enters through this term)

RULES: dict[str, list[str]] = {
    "sgd": ["θ ← θ − η·g"],  # with weight decay: g = ∂L/∂θ + λ·θ
    "momentum": ["v ← μ·v + g", "θ ← θ − η·v"],
    "rmsprop": ["s ← ρ·s + (1 − ρ)·g²", "θ ← θ − η·g / (√s + ε)"],
    "adam": ["m ← β₁·m + (1 − β₁)·g", "v ← β₂·v + (1 − β₂)·g²", "m̂ = m / (1 − β₁ᵗ)", "v̂ = v / (1 − β₂ᵗ)",
             "θ ← θ − η·m̂ / (√v̂ + ε)"],
}


def step(spec: OptimizerSpec, theta: np.ndarray, grad: np.ndarray, lr: float, state: dict[str, np.ndarray],
         t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One update of one parameter; returns the new value and the new state (state starts at zero)."""
    zero = np.zeros_like(theta)
    decay = spec.get("weight_decay")
    if decay:
        grad = grad + decay * theta
    if spec.name == "sgd":
        return theta - lr * grad, {}
    if spec.name == "momentum":
        v = spec.get("momentum") * state.get("v", zero) + grad
        return theta - lr * v, {"v": v}
    if spec.name == "rmsprop":
        rho, eps = spec.get("rho"), spec.get("epsilon")
        s = rho * state.get("s", zero) + (1 - rho) * grad**2
        return theta - lr * grad / (np.sqrt(s) + eps), {"s": s}
    b1, b2, eps = spec.get("beta1"), spec.get("beta2"), spec.get("epsilon")
    m = b1 * state.get("m", zero) + (1 - b1) * grad
    v = b2 * state.get("v", zero) + (1 - b2) * grad**2
    m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), {"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat}
