"""Cross-entropy, −Σₖ yₖ·ln(ŷₖ), on a softmax output, where δ = ŷ − y. The sum over classes is the
loss of one example, so `outputs: mean` never divides it."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, Num, num, op
from nnworked.rules.losses.base import LossRule


class CrossEntropy(LossRule):
    name = "cross_entropy"
    torch_module = "CrossEntropyLoss"
    torch_applies_output_activation = True  # it takes the scores z
    label = "Cross-Entropy"
    formula = "L = −Σₖ yₖ·ln(ŷₖ)"
    gradient_formula = "∂L/∂ŷₖ = −yₖ/ŷₖ"
    output_activation = "softmax"
    shortcut = "ŷ − y"
    pair = "softmax + cross-entropy"
    averages_over_outputs = False
    accepts_class_index = True
    zero_target_terms_vanish = True

    def element_losses(self, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        # with softmax: −Σ yₖ (zₖ − logsumexp(z)), all of it on one column per example
        top = np.max(z, axis=-1, keepdims=True)
        log_softmax = z - top - np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))
        return -(y * log_softmax)

    def textbook_losses(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return -(y * np.log(yhat))

    def gradient(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.where(y != 0, -y / yhat, 0.0)

    def carried_terms(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from nnworked.engine.carry import by_target

        terms = by_target(y, {"one": lambda m: -c.op("ln", p[m]),
                              "other": lambda m: -c.op("mul", y[m], c.op("ln", p[m]))})
        return terms, y != 0

    def carried_gradient(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from nnworked.engine.carry import by_target

        core = by_target(y, {"one": lambda m: -c.op("div", y[m], p[m]), "other": lambda m: -c.op("div", y[m], p[m])})
        return core, y != 0

    def term_expr(self, p: Num, t: float) -> Expr | None:
        if t == 0:
            return None
        term = op("ln", p)
        return op("neg", term) if t == 1 else op("neg", op("mul", num(t, True), term))

    def gradient_expr(self, p: Num, t: float) -> Expr | None:
        if t == 0:
            return None  # a class the target gives no weight contributes nothing (never 0/0)
        return op("neg", op("div", num(t, True), p))

    def formula_core(self, spec: Any, units: int) -> str:
        return "−Σₖ yₖ·ln(ŷₖ)"

    def symbolic(self, target: np.ndarray, yhat: str, y: str) -> str:
        if np.count_nonzero(target) == 1 and target.max() == 1:
            return f"−ln({yhat}[{int(np.argmax(target))}])"
        return ""

    def specialisation(self, targets: np.ndarray) -> str:
        if np.all((targets == 0) | (targets == 1)):
            return "The targets are one-hot, so only the true class's term remains: L = −ln(ŷ of the true class)."
        return ""

    def convention(self, spec: Any) -> str:
        return "ln is the natural logarithm"

    def target_problems(self, targets: np.ndarray) -> list[tuple[str, str, str]]:
        if np.any(targets < 0) or not np.allclose(targets.sum(axis=1), 1):
            return [("each cross-entropy target row must be one-hot (or probabilities summing to 1)",
                     "for example [0, 1, 0] or the class index [1]", str(targets.tolist()))]
        return []

    def draw_targets(self, rows: list[list[Any]], rng: Any, draw: Any, classes: int) -> list[list[Any]]:
        """One-hot rows stay one-hot; a row of one class index [c] draws c from every class of the network."""
        return [[1 if i == c else 0 for i in range(len(row))] if len(row) > 1 else [c]
                for row in rows for c in [rng.randrange(len(row) if len(row) > 1 else classes)]]

    def derivation(self, trace: Any, w: Any, output: Any) -> list:
        from nnworked import worked
        from nnworked.render.blocks import Block, Heading, Math, Para
        from nnworked.render.lines import line

        p, n = trace.precision, w.n
        loss = trace.steps[0].loss
        assert loss is not None
        units = loss.yhat.shape[1]
        out: list[Block] = [Heading(3, "Why δ = ŷ − y for softmax with cross-entropy"), Math([
            "L = −Σₖ yₖ·ln(ŷₖ)                 so  ∂L/∂ŷₖ = −yₖ/ŷₖ",
            "ŷₖ = e^(zₖ) / Σᵢ e^(zᵢ)           so  ∂ŷₖ/∂zⱼ = ŷₖ·(1 − ŷₖ) if k = j,  −ŷₖ·ŷⱼ if k ≠ j",
            "                                        = ŷₖ·(1[k = j] − ŷⱼ)",
            "∂L/∂zⱼ = Σₖ ∂L/∂ŷₖ × ∂ŷₖ/∂zⱼ = Σₖ (−yₖ/ŷₖ) × ŷₖ·(1[k = j] − ŷⱼ)",
            "       = −yⱼ + ŷⱼ·Σₖ yₖ = ŷⱼ − yⱼ      (the targets sum to 1)"]),
            Para("With this scenario's numbers:")]
        lines = []
        for j in range(min(units, w.s.elements or units)):
            lines += line(f"{n.element(n.delta(n.layers), 0, j, units)} = {n.element(n.a(n.layers), 0, j, units)} − "
                          f"{n.element('y', 0, j, units)}",
                          worked.shortcut(loss.spec, float(loss.yhat[0, j]), float(loss.y[0, j]), *loss.yhat.shape),
                          p, w.s.width)
        out.append(Math(lines))
        out.append(Para("Every class gets a gradient: the true class (yⱼ = 1) a negative one that pushes its score up, "
                        "every other class a positive one, its own probability, that pushes its score down."))
        return out

    def spreadsheet_formula(self, p: str, y: str, r: Any) -> str:
        # a term whose target is 0 is exactly 0 (never 0 × ln 0); as carried: −R(y × R(ln p))
        ln = r(f"LN({p})")
        return f"IF({y}=0,0,-{r(f'{y}*{ln}')})"

    def spreadsheet_gradient(self, p: str, y: str, r: Any) -> str:
        return f"IF({y}=0,0,-{r(f'{y}/{p}')})"  # −R(y / p)

    def torch_loss(self, torch: Any, a: Any, y: Any) -> Any:
        return -(y * torch.log(a))
