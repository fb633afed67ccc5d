"""The identity: a = z. The layer passes its linear combination through unchanged."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num
from nnworked.rules.activations.base import ElementwiseActivation


class Linear(ElementwiseActivation):
    name = "linear"
    torch_module = "Identity"
    label = "Linear"
    symbol = ""
    formula = "f(z) = z"
    derivative_formula = "f′(z) = 1"
    convention = None
    identity = True
    show_call = False
    exact_by_hand = True

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return z


    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        return c.round(z)

    def carried_derivative(self, c: Any, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return c.round(np.ones_like(z))

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return np.ones_like(z)

    def expand(self, z: float, slope: float, label: str) -> Expr:
        return num(z, label=label)

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return num(1, True), "the identity"

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["f(z) = z, so f′(z) = 1: the gradient passes through unchanged."]

    def byhand_forward(self, w: Any, act: Any) -> list:
        from nnworked.render.blocks import Para

        n, k = w.n, act.layer
        return [Para(f"No activation on this layer{' (the output layer has no ReLU)' if k == n.layers else ''}:"
                     f" {n.a(k)} = {n.z(k)}.")]

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        return z

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        return "1"

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return z
