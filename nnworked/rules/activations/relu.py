"""ReLU: max(0, z). Its derivative at the corner z = 0 is taken as 0, as most libraries do."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.activations.base import ElementwiseActivation

RELU_CONVENTION = "ReLU′(0) is taken as 0 (leaky ReLU′(0) as its slope)"


class ReLU(ElementwiseActivation):
    name = "relu"
    torch_module = "ReLU"
    label = "ReLU"
    symbol = "ReLU"
    formula = "ReLU(z) = max(0, z)"
    derivative_formula = "ReLU′(z) = 1 if z > 0, 0 if z ≤ 0"
    convention = RELU_CONVENTION
    piecewise = True
    show_call = False
    exact_by_hand = True
    byhand_derivative = "multiply by 1 where z > 0 and by 0 otherwise"  # type: ignore[assignment]
    observation_rank = 0  # dead units are reported before saturated sigmoids
    kink = 0.0

    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        return np.maximum(z, 0.0)


    def carried(self, c: Any, z: np.ndarray, slope: float) -> np.ndarray:
        return c.again(c.op("max", 0.0, z))

    def carried_derivative(self, c: Any, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return c.round(np.where(z > 0, 1.0, 0.0))

    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        return (z > 0).astype(float)

    def expand(self, z: float, slope: float, label: str) -> Expr:
        return op("max", num(0, True), num(z, label=label))

    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        return (num(1, True), "z > 0") if z > 0 else (num(0, True), "z ≤ 0")

    def derivation_lines(self, p: Any, slope: float) -> list[str]:
        return ["ReLU(z) = z for z > 0: slope 1;   ReLU(z) = 0 for z < 0: slope 0.",
                "At z = 0 the two slopes meet at a corner and there is no derivative; nnworked takes 0 there "
                "(the slope from the left), as most libraries do."]

    def byhand_forward(self, w: Any, act: Any) -> list:
        """AI by Hand's way: cross out each negative value and write 0 in its place."""
        from nnworked.render.blocks import Math, Para
        from nnworked.render.lines import elided_note
        from nnworked.render.numbers import fmt

        n, k = w.n, act.layer
        examples, units = act.z.shape
        crossed = [(i, e) for i in range(units) for e in range(examples) if act.z[e, i] < 0]
        text = "ReLU: cross out each negative value and write 0 in its place" + (":" if crossed else
                                                                                 "; there are none:")
        marks = [f"{w.cell(n.z(k), i, e, examples)} = {fmt(act.z[e, i], w.p, label=n.key('z', k, i, e))} → 0"
                 for i, e in crossed[: w.s.elements or None]]
        if w.s.elements and len(crossed) > w.s.elements:
            marks.append(elided_note(len(crossed) - w.s.elements, "crossings"))
        return [Para(text), Math(marks + [""] + w.columns(n.a(k), act.a, "a", k) if marks else
                                 w.columns(n.a(k), act.a, "a", k))]

    def observe(self, act: Any, n: Any, p: Any, has_bias: bool) -> list[str]:
        """A unit whose z is never above 0 passes no gradient: its weights cannot learn."""
        from nnworked.render.numbers import fmt

        out = []
        if act.z.ndim > 2:  # images: a channel is a feature map, all of it from one kernel
            return [self._dead_map(act, n, p, has_bias, i) for i in self.dead_units(act.z)]
        for i in self.dead_units(act.z):
            values = ", ".join(fmt(v, p) for v in act.z[..., i].ravel())
            where = f"{n.z(act.layer)}[{i}] = {values}" if act.z[..., i].size == 1 else \
                f"{n.z(act.layer)}[{i}] is {values} over the batch" + (" and positions" if act.z.ndim == 3 else "")
            out.append(f"**Dead ReLU unit:** {where}, never above 0, so ReLU′ = 0 and no gradient flows through "
                       f"it: row {i} of {n.W(act.layer)}"
                       f"{f' and {n.b(act.layer)}[{i}]' if has_bias else ''}"
                       " get a zero gradient, so an update leaves them as they are.")
        return out

    @staticmethod
    def _dead_map(act: Any, n: Any, p: Any, has_bias: bool, i: int) -> str:
        from nnworked.render.numbers import fmt

        channel = act.z[:, i]
        batch = " on every example" if act.z.shape[0] > 1 else ""
        return (f"**Dead feature map:** all {channel[0].size} elements of channel {i} of {n.z(act.layer)} are ≤ 0"
                f"{batch} (the largest is {fmt(channel.max(), p)}), so ReLU′ = 0 over the whole map and no gradient "
                f"flows through it: kernel {n.param(f'K{act.layer}')}[{i}]{f' and {n.b(act.layer)}[{i}]' if has_bias else ''}"
                " get a zero gradient, so an update leaves them as they are.")

    def dead_units(self, z: np.ndarray) -> list[int]:
        """A unit whose z is never above 0, on any example: neither the weights into it nor those out of it
        can change. For images a unit is a channel: a feature map that is ≤ 0 at every position."""
        if z.ndim == 3:  # a sequence's unit is the last axis, the same at every position
            return [i for i in range(z.shape[-1]) if np.all(z[..., i] <= 0)]
        return [i for i in range(z.shape[1]) if np.all(z[:, i] <= 0)]

    def rejects(self, act: Any, constraints: Any) -> str | None:
        if not constraints.allow_dead_relu and self.dead_units(act.z):
            return "dead feature map" if act.z.ndim > 2 else "dead ReLU"
        return None

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        return f"MAX(0,{z})"

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        return f"IF({z}>0,1,0)"  # ReLU′(0) = 0

    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        return torch.relu(z)
