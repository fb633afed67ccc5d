"""Binary cross-entropy, −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)], on a sigmoid output, where δ = ŷ − y."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, Num, num, op
from nnworked.rules.losses.base import LossRule


class BinaryCrossEntropy(LossRule):
    name = "binary_cross_entropy"
    torch_module = "BCELoss"
    label = "Binary Cross-Entropy"
    formula = "L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]"
    gradient_formula = "∂L/∂ŷ = −y/ŷ + (1 − y)/(1 − ŷ)"
    output_activation = "sigmoid"
    shortcut = "ŷ − y"
    pair = "sigmoid + binary cross-entropy"

    def element_losses(self, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        # −[y ln σ(z) + (1−y) ln(1−σ(z))] = max(z, 0) − z·y + ln(1 + e^(−|z|))
        return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))

    def textbook_losses(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat))

    def gradient(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        positive = np.where(y != 0, -y / yhat, 0.0)
        return positive + np.where(y != 1, (1.0 - y) / (1.0 - yhat), 0.0)

    def carried_terms(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from nnworked.engine.carry import by_target

        def other(m: np.ndarray) -> np.ndarray:
            t = y[m]
            return -c.op("add", c.op("mul", t, c.op("ln", p[m])),
                         c.op("mul", 1 - t, c.op("ln", c.op("sub", 1.0, p[m]))))
        terms = by_target(y, {"one": lambda m: -c.op("ln", p[m]),
                              "zero": lambda m: -c.op("ln", c.op("sub", 1.0, p[m])), "other": other})
        return terms, np.ones(p.shape, dtype=bool)

    def carried_gradient(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from nnworked.engine.carry import by_target

        def other(m: np.ndarray) -> np.ndarray:
            t = y[m]
            return c.op("add", -c.op("div", t, p[m]), c.op("div", 1 - t, c.op("sub", 1.0, p[m])))
        core = by_target(y, {"one": lambda m: -c.op("div", 1.0, p[m]),
                             "zero": lambda m: c.op("div", 1.0, c.op("sub", 1.0, p[m])), "other": other})
        return core, np.ones(p.shape, dtype=bool)

    def term_expr(self, p: Num, t: float) -> Expr:
        if t == 1:
            return op("neg", op("ln", p))
        if t == 0:
            return op("neg", op("ln", op("sub", num(1, True), p)))
        return op("neg", op("add", op("mul", num(t, True), op("ln", p)),
                            op("mul", num(1 - t, True), op("ln", op("sub", num(1, True), p)))))

    def gradient_expr(self, p: Num, t: float) -> Expr:
        if t == 1:
            return op("neg", op("div", num(1, True), p))
        if t == 0:
            return op("div", num(1, True), op("sub", num(1, True), p))
        return op("add", op("neg", op("div", num(t, True), p)),
                  op("div", num(1 - t, True), op("sub", num(1, True), p)))

    def formula_core(self, spec: Any, units: int) -> str:
        if units == 1:
            return "−[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]"
        return "Σₖ −[yₖ·ln(ŷₖ) + (1 − yₖ)·ln(1 − ŷₖ)]" if spec.outputs == "sum" else \
            f"(1/{units}) × Σₖ −[yₖ·ln(ŷₖ) + (1 − yₖ)·ln(1 − ŷₖ)]"

    def symbolic(self, target: np.ndarray, yhat: str, y: str) -> str:
        if target.size == 1 and target[0] in (0, 1):
            return f"−ln({yhat})" if target[0] == 1 else f"−ln(1 − {yhat})"
        return ""

    def specialisation(self, targets: np.ndarray) -> str:
        if targets.size == 1 and targets[0, 0] in (0, 1):
            return "Since y = 1, the second term vanishes:" if targets[0, 0] == 1 else \
                "Since y = 0, the first term vanishes:"
        return ""

    def convention(self, spec: Any) -> str:
        return "ln is the natural logarithm"

    def target_problems(self, targets: np.ndarray) -> list[tuple[str, str, str]]:
        if np.any((targets < 0) | (targets > 1)):
            return [("binary cross-entropy targets must lie between 0 and 1", "0 ≤ y ≤ 1", str(targets.tolist()))]
        return []

    def draw_targets(self, rows: list[list[Any]], rng: Any, draw: Any, classes: int) -> list[list[Any]]:
        return [[rng.choice([0, 1]) for _ in row] for row in rows]

    def derivation(self, trace: Any, w: Any, output: Any) -> list:
        from nnworked import worked
        from nnworked.engine.activations import ACTIVATIONS
        from nnworked.render.blocks import Block, Heading, Math, Para
        from nnworked.render.derivations import meaning
        from nnworked.render.lines import line
        from nnworked.render.numbers import fmt

        p, n = trace.precision, w.n
        loss = trace.steps[0].loss
        assert loss is not None
        sigmoid = ACTIVATIONS[self.output_activation]
        e, i = 0, 0
        yhat, y = float(loss.yhat[e, i]), float(loss.y[e, i])
        z = float(trace.steps[0].forward.linear[-1].z[e, i])
        units = loss.yhat.shape[1]
        g = n.element(n.a(n.layers), e, i, units)
        out: list[Block] = [Heading(3, "Where ∂L/∂ŷ comes from"), Math([
            "L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]",
            "d/dŷ [ln(ŷ)] = 1/ŷ;   d/dŷ [ln(1 − ŷ)] = 1/(1 − ŷ) × (−1)      (chain rule: the inside, 1 − ŷ, has slope −1)",
            "∂L/∂ŷ = −[y/ŷ − (1 − y)/(1 − ŷ)] = −y/ŷ + (1 − y)/(1 − ŷ)"]),
            Heading(3, f"Where {sigmoid.derivative_formula} comes from"), Math(sigmoid.derivation_lines(p, 0.0)),
            Para("With this scenario's numbers:"),
            Math(line(f"σ′({fmt(z, p)})", sigmoid.derivative_expr(z, yhat, 0.0)[0], p, w.s.width)),  # type: ignore[attr-defined]
            Heading(3, "Why δ = ŷ − y for a sigmoid with binary cross-entropy"),
            Math(["∂L/∂z = ∂L/∂ŷ × ∂ŷ/∂z = [−y/ŷ + (1 − y)/(1 − ŷ)] × ŷ(1 − ŷ)",
                  "      = −y(1 − ŷ) + (1 − y)ŷ = −y + yŷ + ŷ − yŷ = ŷ − y"]),
            Para("With this scenario's numbers:")]
        out.append(Math(line(f"{n.delta(n.layers)} = {g} − y", worked.shortcut(loss.spec, yhat, y, *loss.yhat.shape),
                             p, w.s.width)))
        out.append(Para("The sigmoid's σ′ cancels against the loss's 1/(ŷ(1 − ŷ)): even where the sigmoid saturates "
                        "and σ′ is tiny, the gradient stays as large as the error. "
                        + meaning(float(output.delta[e, i]), p, n.element(n.delta(n.layers), e, i, units))))
        return out

    def spreadsheet_formula(self, p: str, y: str, r: Any) -> str:
        # a term whose target weight is 0 is exactly 0 (never 0 × ln 0); as carried: −R(R(y × R(ln p)) +
        # R((1 − y) × R(ln R(1 − p)))), where y = 1 or y = 0 leaves one of them (× 1 and + 0 change nothing)
        complement = r(f"1-{p}")
        one, zero = r(f"{y}*{r(f'LN({p})')}"), r(f"(1-{y})*{r(f'LN({complement})')}")
        return "-" + r(f"(IF({y}=0,0,{one})+IF({y}=1,0,{zero}))")

    def spreadsheet_gradient(self, p: str, y: str, r: Any) -> str:
        # as carried: R(−R(y / p) + R((1 − y) / R(1 − p)))
        first, second = r(f"{y}/{p}"), r(f"(1-{y})/{r(f'(1-{p})')}")
        return r(f"IF({y}=0,0,-{first})+IF({y}=1,0,{second})")

    def torch_loss(self, torch: Any, a: Any, y: Any) -> Any:
        return -(y * torch.log(a) + (1 - y) * torch.log(1 - a))
