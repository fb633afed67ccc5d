"""Losses, keyed by the name a scenario uses, with their reductions stated.

Values are computed in numerically stable forms (from the output layer's z where the activation allows
it) while the walkthrough shows the textbook formula. The gradient with respect to ŷ includes the
reductions (÷K over outputs, ÷N over the batch) so the backward pass can be read literally.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnworked.expr import Expr, num, op


class LossSpec(NamedTuple):
    name: str
    scale: float = 1.0
    outputs: str = "mean"  # mean | sum over output units
    batch: str = "mean"  # mean | sum over examples

    def factor(self, examples: int, units: int) -> float:
        """What multiplies each per-element gradient because of the scale and the reductions."""
        per_output = units if (self.outputs == "mean" and self.name != "cross_entropy") else 1
        return self.scale / per_output / (examples if self.batch == "mean" else 1)


class LossInfo(NamedTuple):
    name: str
    label: str
    formula: str  # for one example
    output_activation: str | None  # the activation it requires on the output layer, if any
    shortcut: str | None  # the fused ∂L/∂z with that activation


LOSSES: dict[str, LossInfo] = {
    "mse": LossInfo("mse", "Mean Squared Error", "L = (ŷ − y)²", None, None),
    "binary_cross_entropy": LossInfo("binary_cross_entropy", "Binary Cross-Entropy",
                                     "L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]", "sigmoid", "ŷ − y"),
    "cross_entropy": LossInfo("cross_entropy", "Cross-Entropy", "L = −Σₖ yₖ·ln(ŷₖ)", "softmax", "ŷ − y"),
}


def element_losses(spec: LossSpec, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The loss of each output unit of each example, before reductions and scale, computed stably."""
    if spec.name == "mse":
        return (yhat - y) ** 2
    if spec.name == "binary_cross_entropy":
        # −[y ln σ(z) + (1−y) ln(1−σ(z))] = max(z, 0) − z·y + ln(1 + e^(−|z|))
        return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))
    # cross-entropy with softmax: −Σ yₖ (zₖ − logsumexp(z)), all of it on one column per example
    top = np.max(z, axis=-1, keepdims=True)
    log_softmax = z - top - np.log(np.sum(np.exp(z - top), axis=-1, keepdims=True))
    return -(y * log_softmax)


def total_loss(spec: LossSpec, per_element: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-example losses (after the output reduction and scale) and the total."""
    if spec.name == "cross_entropy" or spec.outputs == "sum":
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
        if spec.name == "mse":
            return factor * 2.0 * (yhat - y)
        positive = np.where(y != 0, -y / yhat, 0.0)
        if spec.name == "binary_cross_entropy":
            return factor * (positive + np.where(y != 1, (1.0 - y) / (1.0 - yhat), 0.0))
        return factor * positive


def fused_delta(spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂z = (ŷ − y) × factor, for sigmoid + BCE and softmax + cross-entropy."""
    return spec.factor(*yhat.shape) * (yhat - y)


def example_expr(spec: LossSpec, yhat: list[float], y: list[float], labels: list[str] | None = None) -> Expr:
    """The loss of one example as the textbook writes it, specialised to its targets (y = 1: −ln ŷ)."""
    terms: list[Expr] = []
    for index, (value, t) in enumerate(zip(yhat, y)):
        p = num(value, label=labels[index] if labels else "")
        if spec.name == "mse":
            terms.append(op("pow", op("sub", p, num(t, True)), num(2, True)))
        elif spec.name == "binary_cross_entropy":
            if t == 1:
                terms.append(op("neg", op("ln", p)))
            elif t == 0:
                terms.append(op("neg", op("ln", op("sub", num(1, True), p))))
            else:
                terms.append(op("neg", op("add", op("mul", num(t, True), op("ln", p)),
                                          op("mul", num(1 - t, True), op("ln", op("sub", num(1, True), p))))))
        elif t != 0:
            term = op("ln", p)
            terms.append(op("neg", term) if t == 1 else op("neg", op("mul", num(t, True), term)))
    if not terms:
        return num(0, True)
    body = terms[0] if len(terms) == 1 else op("add", *terms)
    units = len(yhat)
    if spec.name != "cross_entropy" and spec.outputs == "mean" and units > 1:
        body = op("div", body, num(units, True))
    if spec.scale != 1:
        body = op("mul", num(spec.scale, True), body)
    return body


def grad_expr(spec: LossSpec, value: float, t: float, examples: int, units: int, label: str = "") -> Expr:
    """One element of ∂L/∂ŷ, specialised to its target, with the reductions as a visible factor."""
    p = num(value, label=label)
    if spec.name == "mse":
        core: Expr = op("mul", num(2, True), op("sub", p, num(t, True)))
    elif spec.name == "binary_cross_entropy":
        if t == 1:
            core = op("neg", op("div", num(1, True), p))
        elif t == 0:
            core = op("div", num(1, True), op("sub", num(1, True), p))
        else:
            core = op("add", op("neg", op("div", num(t, True), p)),
                      op("div", num(1 - t, True), op("sub", num(1, True), p)))
    elif t == 0:
        return num(0, True)  # a class the target gives no weight contributes nothing (never 0/0)
    else:
        core = op("neg", op("div", num(t, True), p))
    return scaled(spec, core, examples, units)


def scaled(spec: LossSpec, core: Expr, examples: int, units: int) -> Expr:
    """core × scale ÷ (units averaged over × examples averaged over), as a reader would write it."""
    if spec.scale != 1:
        core = op("mul", num(spec.scale, True), core)
    divisor = round(spec.scale / spec.factor(examples, units))
    return core if divisor == 1 else op("div", core, num(divisor, True))
