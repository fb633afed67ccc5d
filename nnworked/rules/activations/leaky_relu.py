"""Leaky ReLU: z for z > 0, α·z otherwise, so a negative z still passes a little gradient."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.activations.base import ElementwiseActivation
from nnworked.rules.activations.relu import RELU_CONVENTION

DEFAULT_LEAKY_SLOPE = 0.01


class LeakyReLU(ElementwiseActivation):
    name = "leaky_relu"
    torch_module = "LeakyReLU"
    kink = 0.0
    label = "Leaky ReLU"
    symbol = "LeakyReLU"
    formula = "LeakyReLU(z) = z if z > 0, α·z if z ≤ 0"  # α is replaced by the layer's slope when shown
    derivative_formula = "LeakyReLU′(z) = 1 if z > 0, α if z ≤ 0"
    convention = RELU_CONVENTION
    piecewise = True
    has_slope = True
    exact_by_hand = True

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return np.where(z > 0, z, slope * z)


    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        return c.again(np.where(z > 0, c.round(z), c.op("mul", slope, z)))

    def carried_derivative(self, c: Any, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return c.round(np.where(z > 0, 1.0, slope))

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return np.where(z > 0, 1.0, slope)

    def expand(self, z: float, slope: float, label: str) -> Expr:
        return num(z, label=label) if z > 0 else op("mul", num(slope, True), num(z, label=label))

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return (num(1, True), "z > 0") if z > 0 else (num(slope, True), "z ≤ 0")

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        from nnworked.render.numbers import fmt

        return [f"LeakyReLU(z) = z for z > 0: slope 1;   {fmt(slope, p, given=True)}·z for z < 0: slope "
                f"{fmt(slope, p, given=True)}.", "At z = 0 nnworked takes the slope from the left."]

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        from nnworked.render.numbers import spreadsheet_number

        return f"IF({z}>0,{z},{spreadsheet_number(slope)}*{z})"

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        from nnworked.render.numbers import spreadsheet_number

        # leaky ReLU′(0) is the slope; carried rounds it (a slope finer than the places is worked as rounded)
        return r(f"IF({z}>0,1,{spreadsheet_number(slope)})")

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.where(z > 0, z, slope * z)

    def torch_arguments(self, slope: float) -> dict[str, Any]:
        return {"negative_slope": slope}

    def torch_slope(self, module: Any) -> float:
        return float(module.negative_slope)
