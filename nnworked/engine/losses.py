"""Losses, keyed by the name a scenario uses (the rules in `nnworked.rules.losses`), with their
reductions stated.

Values are computed in numerically stable forms (from the output layer's z where the activation allows
it) while the walkthrough shows the textbook formula. The gradient with respect to ŷ includes the
reductions (÷K over outputs, ÷N over the batch) so the backward pass can be read literally. The rule
knows one output of one example; this module applies the scale and the reductions around it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.rules.losses import LOSSES, LossRule
from nnworked.rules.losses.base import scaled

__all__ = ["LOSSES", "LossRule", "LossSpec", "element_losses", "example_expr", "fused_delta", "grad_expr",
           "grad_yhat", "scaled", "total_loss"]


class LossSpec(NamedTuple):
    name: str
    scale: float = 1.0
    outputs: str = "mean"  # mean | sum over output units
    batch: str = "mean"  # mean | sum over examples

    @property
    def rule(self) -> LossRule:
        return LOSSES[self.name]

    def factor(self, examples: int, units: int) -> float:
        """What multiplies each per-element gradient because of the scale and the reductions."""
        per_output = units if (self.outputs == "mean" and self.rule.averages_over_outputs) else 1
        return self.scale / per_output / (examples if self.batch == "mean" else 1)


def element_losses(spec: LossSpec, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The loss of each output unit of each example, before reductions and scale, computed stably."""
    return spec.rule.element_losses(yhat, y, z)


def total_loss(spec: LossSpec, per_element: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-example losses (after the output reduction and scale) and the total."""
    if not spec.rule.averages_over_outputs or spec.outputs == "sum":
        per_example = spec.scale * per_element.sum(axis=1)
    else:
        per_example = spec.scale * per_element.mean(axis=1)
    total = per_example.mean() if spec.batch == "mean" else per_example.sum()
    return per_example, float(total)


def grad_yhat(spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂ŷ, reductions included. A term whose target weight is 0 contributes exactly 0 (never 0/0);
    the rest is infinite where ŷ saturates, and the fused shortcut is used then."""
    factor = spec.factor(*yhat.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return factor * spec.rule.gradient(yhat, y)


def fused_delta(spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂z = (ŷ − y) × factor, for a loss with its paired output activation (its `shortcut`)."""
    return spec.factor(*yhat.shape) * (yhat - y)


def example_expr(spec: LossSpec, yhat: list[float], y: list[float], labels: list[str] | None = None) -> Expr:
    """The loss of one example as the textbook writes it, specialised to its targets (y = 1: −ln ŷ)."""
    rule = spec.rule
    terms: list[Expr] = []
    for index, (value, t) in enumerate(zip(yhat, y)):
        term = rule.term_expr(num(value, label=labels[index] if labels else ""), t)
        if term is not None:
            terms.append(term)
    if not terms:
        return num(0, True)
    body = terms[0] if len(terms) == 1 else op("add", *terms)
    units = len(yhat)
    if rule.averages_over_outputs and spec.outputs == "mean" and units > 1:
        body = op("div", body, num(units, True))
    if spec.scale != 1:
        body = op("mul", num(spec.scale, True), body)
    return body


def grad_expr(spec: LossSpec, value: float, t: float, examples: int, units: int, label: str = "") -> Expr:
    """One element of ∂L/∂ŷ, specialised to its target, with the reductions as a visible factor."""
    core = spec.rule.gradient_expr(num(value, label=label), t)
    if core is None:
        return num(0, True)  # a term the target gives no weight contributes nothing (never 0/0)
    return scaled(spec, core, examples, units)
