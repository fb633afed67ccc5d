"""The hyperbolic tangent: like a sigmoid centred on 0, with values from −1 to 1."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.activations.base import ElementwiseActivation


class Tanh(ElementwiseActivation):
    name = "tanh"
    torch_module = "Tanh"
    label = "tanh"
    symbol = "tanh"
    formula = "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))"
    derivative_formula = "tanh′(z) = 1 − tanh²(z)"
    convention = None
    derivative_in_a = "1 − {a}²"
    show_call = False

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return np.tanh(z)


    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        return c.again(c.op("tanh", z))

    def carried_derivative(self, c: Any, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return c.again(c.op("sub", 1.0, c.op("pow", a, 2.0)))

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return 1.0 - a * a

    def expand(self, z: float, slope: float, label: str) -> Expr:
        return op("tanh", num(z, label=label))

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return op("sub", num(1, True), op("pow", num(a, label=label), num(2, True))), "1 − tanh²(z)"

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z))",
                "tanh′(z) = [(e^z + e^(−z))² − (e^z − e^(−z))²] / (e^z + e^(−z))²  (quotient rule)",
                "         = 1 − tanh²(z)"]

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        return f"TANH({z})"

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        square = r(f"{a}^2")
        return r(f"(1-{square})")  # as carried: R(1 − R(a²))

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.tanh(z)
