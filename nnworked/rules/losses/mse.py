"""Squared error, (ŷ − y)², with no ½ unless the scenario scales it (`scale: 0.5`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, Num, num, op
from nnworked.rules.losses.base import LossRule


class MeanSquaredError(LossRule):
    name = "mse"
    torch_module = "MSELoss"
    label = "Mean Squared Error"
    formula = "L = (ŷ − y)²"
    gradient_formula = "∂L/∂ŷ = 2 × (ŷ − y)"
    output_activation = None
    shortcut = None
    exact_by_hand = True

    def element_losses(self, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        return (yhat - y) ** 2

    def textbook_losses(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (yhat - y) ** 2

    def gradient(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return 2.0 * (yhat - y)

    def carried_terms(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return c.op("pow", c.op("sub", p, y), 2.0), np.ones(p.shape, dtype=bool)

    def carried_gradient(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return c.op("mul", 2.0, c.op("sub", p, y)), np.ones(p.shape, dtype=bool)

    def term_expr(self, p: Num, t: float) -> Expr:
        return op("pow", op("sub", p, num(t, True)), num(2, True))

    def gradient_expr(self, p: Num, t: float) -> Expr:
        return op("mul", num(2, True), op("sub", p, num(t, True)))

    def formula_core(self, spec: Any, units: int) -> str:
        return "(ŷ − y)²" if units == 1 else ("Σₖ (ŷₖ − yₖ)²" if spec.outputs == "sum" else
                                             f"(1/{units}) × Σₖ (ŷₖ − yₖ)²")

    def symbolic(self, target: np.ndarray, yhat: str, y: str) -> str:
        return f"({yhat} − {y})²" if target.size == 1 else ""

    def specialisation(self, targets: np.ndarray) -> str:
        return ""

    def convention(self, spec: Any) -> str:
        return "squared error with no ½" if spec.scale == 1 else f"squared error × {spec.scale:g}"

    def likely_mistakes(self, spec: Any, correct: float) -> list[tuple[str, float]]:
        # which way the ½ is confused depends on the loss's own convention: with the ½ (scale 0.5) a student
        # may leave it out (twice the gradient) or keep it and not bring the square's 2 down (half); without
        # it (scale 1) a student who assumes one gets half. Twice a loss without ½ is no ½ mistake.
        out = []
        if spec.scale != 0.5:
            has = "that this loss does not have" if spec.scale == 1 else f"where this loss has × {spec.scale:g}"
            out.append((f"the ½ convention confused (a ½ assumed {has}: the gradient is off by that factor)",
                        correct * 0.5 / spec.scale))
        else:
            out.append(("the ½ convention confused (the ½ of ½(ŷ − y)² left out: twice the gradient)", 2 * correct))
            out.append(("the ½ convention confused (the ½ kept and the square's 2 not brought down: half the "
                        "gradient)", correct / 2))
        return out

    def derivation(self, trace: Any, w: Any, output: Any) -> list:
        from nnworked.render.blocks import Block, Heading, Math, Para
        from nnworked.render.derivations import meaning
        from nnworked.render.lines import line
        from nnworked.render.numbers import fmt

        p, n = trace.precision, w.n
        spec = trace.scenario.loss
        assert spec is not None
        yhat, y = trace.steps[0].loss.yhat, trace.steps[0].loss.y
        e, i = 0, 0
        examples, units = yhat.shape
        g = n.a(n.layers)
        lines = ["Let error = ŷ − y, so that L = error².",
                 "",
                 "Chain rule:   ∂L/∂ŷ = ∂L/∂error × ∂error/∂ŷ",
                 "Part 1:       ∂L/∂error = 2 × error            (the derivative of a square)",
                 "Part 2:       ∂error/∂ŷ = ∂ŷ/∂ŷ − ∂y/∂ŷ = 1 − 0 = 1",
                 "              (y is the target, a constant: changing the prediction does not change it)",
                 "Combined:     ∂L/∂ŷ = 2 × error × 1 = 2 × (ŷ − y)",
                 "",
                 "(Written as (y − ŷ)², the same loss: then ∂error/∂ŷ = −1, and 2 × (y − ŷ) × (−1) = 2 × (ŷ − y) "
                 "again; the −1 is what points the gradient the right way.)"]
        out: list[Block] = [Heading(3, f"Where ∂L/∂{g} = 2 × (ŷ − y) comes from"), Math(lines),
                            Para("With this scenario's numbers:")]
        raw = op("mul", num(2, True), op("sub", num(yhat[e, i]), num(y[e, i], True)))
        worked_lines = line(f"2 × ({n.element(g, e, i, units)} − y)", raw, p, w.s.width)
        factor = spec.factor(examples, units)
        if factor != 1:
            divisor = (examples if spec.batch == "mean" else 1) * (units if spec.outputs == "mean" else 1)
            reasons = (["the scale"] if spec.scale != 1 else []) + ([f"the mean (÷ {divisor})"] if divisor > 1 else [])
            worked_lines.append(f"× {fmt(factor, p)} for {' and '.join(reasons)} "
                                f"gives ∂L/∂{n.element(g, e, i, units)} = {fmt(output.dl_dyhat[e, i], p)}")
        out.append(Math(worked_lines))
        out.append(Para(meaning(float(output.dl_dyhat[e, i]), p, f"∂L/∂{n.element(g, e, i, units)}")))
        half = spec.scale == 0.5
        two = float(2 * (yhat[e, i] - y[e, i]))
        out.append(Heading(3, "The factor of 2, and what ½ changes"))
        out.append(Para(
            ("This scenario uses L = ½(ŷ − y)² (scale 0.5): the ½ cancels the 2 from the square, so "
             f"∂L/∂ŷ = ŷ − y = {fmt(two / 2, p)}. Without the ½ every gradient would double, to {fmt(two, p)} here, "
             "and a learning rate half as large would give the same steps.") if half else
            ("Many texts use L = ½(ŷ − y)² instead: the ½ cancels the 2, giving ∂L/∂ŷ = ŷ − y = "
             f"{fmt(two / 2, p)} here instead of {fmt(two, p)}. Every gradient halves, which a learning rate twice as "
             "large undoes, so both conventions train the same network.")))
        return out

    def spreadsheet_formula(self, p: str, y: str, r: Any) -> str:
        return r(f"{r(f'({p}-{y})')}^2")  # as carried: R(R(ŷ − y)²)

    def spreadsheet_gradient(self, p: str, y: str, r: Any) -> str:
        return r(f"2*{r(f'({p}-{y})')}")  # R(2 × R(ŷ − y))

    def torch_loss(self, torch: Any, a: Any, y: Any) -> Any:
        return (a - y) ** 2
