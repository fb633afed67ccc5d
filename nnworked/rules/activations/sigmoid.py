"""The logistic sigmoid σ(z) = 1 / (1 + e^(−z)), computed without exponentiating a large number."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.activations.base import ElementwiseActivation

SATURATED = 0.05  # σ′ = σ(1 − σ) below this passes on less than a twentieth of the gradient (σ beyond 0.95)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # never exponentiates a large positive number
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class Sigmoid(ElementwiseActivation):
    name = "sigmoid"
    torch_module = "Sigmoid"
    label = "Sigmoid"
    symbol = "σ"
    formula = "σ(z) = 1 / (1 + e^(−z))"
    derivative_formula = "σ′(z) = σ(z)·(1 − σ(z))"
    convention = None
    derivative_in_a = "{a}(1 − {a})"
    observation_rank = 1

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return _sigmoid(z)


    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        beyond = -z > 700  # the working writes the value itself there: 0 to every printed digit
        inside = np.where(beyond, 0.0, z)
        a = c.op("div", 1.0, c.op("add", 1.0, c.op("exp", -inside)))
        return c.again(np.where(beyond, c.round(self.value(z, slope)), a))

    def carried_derivative(self, c: Any, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return c.again(c.op("mul", a, c.op("sub", 1.0, a)))

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return a * (1.0 - a)

    def expand(self, z: float, slope: float, label: str) -> Expr:
        if -z > 700:  # e^(−z) would overflow: the value is 0 to every printed digit
            return num(float(_sigmoid(np.array(z))))
        return op("div", num(1, True), op("add", num(1, True), op("exp", num(-z, label=label))))

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return op("mul", num(a, label=label), op("sub", num(1, True), num(a, label=label))), "σ(z)·(1 − σ(z))"

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["σ(z) = 1 / (1 + e^(−z)) = (1 + e^(−z))^(−1)",
                "σ′(z) = −(1 + e^(−z))^(−2) × (−e^(−z)) = e^(−z) / (1 + e^(−z))²    (chain rule: outer × inner)",
                "      = [1 / (1 + e^(−z))] × [e^(−z) / (1 + e^(−z))] = σ(z) × (1 − σ(z))",
                "        since 1 − σ(z) = (1 + e^(−z) − 1) / (1 + e^(−z)) = e^(−z) / (1 + e^(−z))"]

    def observe(self, act: Any, n: Any, p: Any, has_bias: bool) -> list[str]:
        """A σ near 0 or 1 has a tiny slope: the chain rule passes on only that fraction of the gradient."""
        from nnworked.render.numbers import fmt

        out = []
        slope = act.a * (1 - act.a)
        for index, s in np.ndenumerate(slope):
            if s < SATURATED:
                e, i = index[0], index[1:] if len(index) > 2 else index[1]  # a sequence's unit is (position, unit)
                out.append(f"**Saturated sigmoid:** {n.element(n.a(act.layer), e, i, act.a.shape[-1])} = "
                           f"{fmt(act.a[index], p)}, so σ′ = {fmt(act.a[index], p)} × (1 − {fmt(act.a[index], p)}) = "
                           f"{fmt(s, p)}: the chain rule passes on only that fraction of the gradient.")
        return out

    def rejects(self, act: Any, constraints: Any) -> str | None:
        if not constraints.allow_saturation and np.any(act.a * (1 - act.a) < SATURATED):
            return "saturated sigmoid"
        return None

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        exp = r(f"EXP(-{z})")
        return f"1/{r(f'(1+{exp})')}"  # as carried: 1 / R(1 + R(e^(−z)))

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        complement = r(f"(1-{a})")
        return r(f"{a}*{complement}")  # R(a × R(1 − a))

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.sigmoid(z)
