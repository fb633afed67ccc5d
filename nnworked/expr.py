"""Small expression trees: built once, evaluated for the value, printed for the explanation.

A worked line such as `z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21` is one tree,
reduced a level at a time by `chain`: every operation whose operands are all numbers becomes a number.
Under `rounding: carry` each new number is rounded as it is shown, so later stages use it as rounded.
`check_chain` proves each stage agrees with the final value at the printed precision (interval
arithmetic over the shown digits), so a worked solution cannot disagree with itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from nnworked.engine.rounding import Precision


class Expr:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Num(Expr):
    value: float
    given: bool = False  # a number the user wrote: shown as written, never rounded


@dataclass(frozen=True, slots=True)
class Op(Expr):
    """op is one of: add, sub, mul, div, neg, pow, exp, ln, max, sqrt, tanh."""

    op: str
    args: tuple[Expr, ...]


def num(value: float, given: bool = False) -> Num:
    return Num(float(value), given)


def op(name: str, *args: Expr) -> Op:
    return Op(name, tuple(args))


def _apply(name: str, values: list[float]) -> float:
    if name == "add":
        return math.fsum(values)
    if name == "sub":
        return values[0] - values[1]
    if name == "mul":
        return math.prod(values)
    if name == "div":
        return values[0] / values[1]
    if name == "neg":
        return -values[0]
    if name == "pow":
        return values[0] ** values[1]
    if name == "exp":
        return math.exp(values[0]) if values[0] < 709 else math.inf
    if name == "ln":
        return math.log(values[0]) if values[0] > 0 else -math.inf
    if name == "max":
        return max(values)
    if name == "sqrt":
        return math.sqrt(values[0])
    if name == "tanh":
        return math.tanh(values[0])
    raise ValueError(f"unknown operation {name}")


def evaluate(expr: Expr) -> float:
    if isinstance(expr, Num):
        return expr.value
    assert isinstance(expr, Op)
    return _apply(expr.op, [evaluate(a) for a in expr.args])


Rounder = Callable[[float], float]


def _step(expr: Expr, rounder: Rounder) -> Expr:
    """Reduce every operation whose operands are all numbers; a negation folds with its operand."""
    if isinstance(expr, Num):
        return expr
    assert isinstance(expr, Op)
    if all(isinstance(a, Num) for a in expr.args):
        value = _apply(expr.op, [a.value for a in expr.args])  # type: ignore[union-attr]
        if expr.op == "neg":
            return Num(value, expr.args[0].given)  # type: ignore[union-attr]
        return Num(rounder(value))
    reduced = tuple(_step(a, rounder) for a in expr.args)
    if expr.op == "neg" and isinstance(reduced[0], Num):
        return Num(-reduced[0].value)
    return Op(expr.op, reduced)


def chain(expr: Expr, rounder: Rounder | None = None) -> list[Expr]:
    """The stages from `expr` down to a single number, the last stage."""
    rounder = rounder or (lambda v: v)
    stages = [expr]
    while not isinstance(stages[-1], Num):
        stages.append(_step(stages[-1], rounder))
    return stages


def carry_rounder(precision: Precision) -> Rounder:
    return precision.carried


# ---- interval arithmetic over shown digits ---------------------------------------------------------

def shown_interval(value: float, precision: Precision, given: bool = False) -> tuple[float, float]:
    """The values a reader cannot tell apart from the printed one."""
    if given or not math.isfinite(value) or precision.is_exact(value):
        return value, value
    shown = precision.shown(value)
    half = 0.5 * 10.0 ** -precision.decimals_for(value)
    return shown - half, shown + half


def _interval(expr: Expr, precision: Precision) -> tuple[float, float]:
    if isinstance(expr, Num):
        return shown_interval(expr.value, precision, expr.given)
    assert isinstance(expr, Op)
    spans = [_interval(a, precision) for a in expr.args]
    name = expr.op
    if name == "add":
        return math.fsum(s[0] for s in spans), math.fsum(s[1] for s in spans)
    if name == "sub":
        return spans[0][0] - spans[1][1], spans[0][1] - spans[1][0]
    if name == "neg":
        return -spans[0][1], -spans[0][0]
    if name in ("mul", "div", "pow"):
        low, high = spans[0]
        for other in spans[1:]:
            if name == "div" and other[0] <= 0 <= other[1]:
                return -math.inf, math.inf
            corners = [_apply(name, [a, b]) for a in (low, high) for b in other]
            low, high = min(corners), max(corners)
        return low, high
    # monotone increasing functions
    return _apply(name, [s[0] for s in spans]), _apply(name, [s[1] for s in spans])


def consistent(stage: Expr, result: float, precision: Precision, slack: float = 1e-9) -> bool:
    low, high = _interval(stage, precision)
    r_low, r_high = shown_interval(result, precision)
    tol = slack * max(1.0, abs(result))
    return low - tol <= r_high and r_low <= high + tol


class InconsistentChain(AssertionError):
    """An internal error: a worked line would contradict itself. Never caused by user input."""


def check_chain(stages: list[Expr], result: float, precision: Precision, label: str) -> None:
    for stage in stages:
        if not consistent(stage, result, precision):
            raise InconsistentChain(f"{label}: a stage does not evaluate to {result!r} at precision {precision}")
