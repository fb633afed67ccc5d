"""Activation functions, keyed by the name a scenario uses.

Each knows its value (vectorised, numerically stable), its derivative, how to pass a gradient back
(`vjp`), and how one element is worked by hand (`expand`), which `rounding: carry` also uses to compute.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from nnworked.expr import Expr, num, op


class Activation(NamedTuple):
    name: str
    label: str  # as written in prose: "ReLU", "Sigmoid"
    symbol: str  # the function in formulas: "ReLU", "σ"
    formula: str
    derivative_formula: str
    forward: Callable[[np.ndarray, float], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None  # None: not elementwise
    expand: Callable[[float, float, str], Expr] | None  # one element by hand: (z, slope, label of z) -> a
    show_call: bool = True  # print "σ(0.487) = …" before the expansion
    kink: float | None = None  # where the derivative jumps (ReLU′(0) is taken as 0): finite differences fail there

    def vjp(self, z: np.ndarray, a: np.ndarray, upstream: np.ndarray, slope: float) -> np.ndarray:
        """∂L/∂z from ∂L/∂a (rows are examples)."""
        if self.derivative is not None:
            return upstream * self.derivative(z, a, slope)
        # softmax: ∂L/∂zⱼ = aⱼ (gⱼ − Σₖ gₖ aₖ)
        return a * (upstream - np.sum(upstream * a, axis=-1, keepdims=True))


def _sigmoid(z: np.ndarray, _: float) -> np.ndarray:
    # never exponentiates a large positive number
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _softmax(z: np.ndarray, _: float) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _sigmoid_expand(z: float, _: float, label: str) -> Expr:
    if -z > 700:  # e^(−z) would overflow: the value is 0 to every printed digit
        return num(float(_sigmoid(np.array(z), 0.0)))
    return op("div", num(1, True), op("add", num(1, True), op("exp", num(-z, label=label))))


def _leaky_expand(z: float, slope: float, label: str) -> Expr:
    return num(z, label=label) if z > 0 else op("mul", num(slope, True), num(z, label=label))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in [
        Activation("linear", "Linear", "", "f(z) = z", "f′(z) = 1",
                   lambda z, s: z, lambda z, a, s: np.ones_like(z), lambda z, s, l: num(z, label=l), show_call=False),
        Activation("relu", "ReLU", "ReLU", "ReLU(z) = max(0, z)", "ReLU′(z) = 1 if z > 0, 0 if z ≤ 0",
                   lambda z, s: np.maximum(z, 0.0), lambda z, a, s: (z > 0).astype(float),
                   lambda z, s, l: op("max", num(0, True), num(z, label=l)), show_call=False, kink=0.0),
        Activation("leaky_relu", "Leaky ReLU", "LeakyReLU", "LeakyReLU(z) = z if z > 0, α·z if z ≤ 0",
                   "LeakyReLU′(z) = 1 if z > 0, α if z ≤ 0",
                   lambda z, s: np.where(z > 0, z, s * z), lambda z, a, s: np.where(z > 0, 1.0, s), _leaky_expand,
                   kink=0.0),
        Activation("sigmoid", "Sigmoid", "σ", "σ(z) = 1 / (1 + e^(−z))", "σ′(z) = σ(z)·(1 − σ(z))",
                   _sigmoid, lambda z, a, s: a * (1.0 - a), _sigmoid_expand),
        Activation("tanh", "tanh", "tanh", "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))", "tanh′(z) = 1 − tanh²(z)",
                   lambda z, s: np.tanh(z), lambda z, a, s: 1.0 - a * a, lambda z, s, l: op("tanh", num(z, label=l)),
                   show_call=False),
        Activation("softmax", "Softmax", "softmax", "softmax(z)ₖ = e^(zₖ) / Σⱼ e^(zⱼ)",
                   "∂ŷₖ/∂zⱼ = ŷₖ·(1 − ŷⱼ) if k = j, −ŷₖ·ŷⱼ otherwise", _softmax, None, None),
    ]
}

DEFAULT_LEAKY_SLOPE = 0.01


def derivative_expr(name: str, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
    """One element of the activation's derivative, worked, with the reason in words (label names a)."""
    if name == "relu":
        return (num(1, True), "z > 0") if z > 0 else (num(0, True), "z ≤ 0")
    if name == "leaky_relu":
        return (num(1, True), "z > 0") if z > 0 else (num(slope, True), "z ≤ 0")
    if name == "sigmoid":
        return op("mul", num(a, label=label), op("sub", num(1, True), num(a, label=label))), "σ(z)·(1 − σ(z))"
    if name == "tanh":
        return op("sub", num(1, True), op("pow", num(a, label=label), num(2, True))), "1 − tanh²(z)"
    return num(1, True), "the identity"
