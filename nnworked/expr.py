"""Small expression trees: built once, evaluated for the value, printed for the explanation.

A worked line such as `z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21` is one tree,
reduced a level at a time by `chain`: every operation whose operands are all numbers becomes a number.
Under `rounding: carry` each new number is rounded as it is shown, so later stages use it as rounded.
`check_chain` proves each stage agrees with the final value at the printed precision (interval
arithmetic over the shown digits), so a worked solution cannot disagree with itself.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, NamedTuple, Union

from nnworked.engine.rounding import Precision


class Num(NamedTuple):
    value: float
    given: bool = False  # a number the user wrote: shown as written, never rounded
    label: str = ""  # the quantity it is, such as "z1[0]", so an exercise sheet can blank it everywhere


class Op(NamedTuple):
    """op is one of: add, sub, mul, div, neg, pow, exp, ln, max, sqrt, tanh."""

    op: str
    args: tuple[Expr, ...]


def num(value: float, given: bool = False, label: str = "") -> Num:
    return Num(float(value), given, label)


def op(name: str, *args: Expr) -> Op:
    return Op(name, tuple(args))


def _div(values: list[float]) -> float:
    if values[1] == 0:  # the engine reports a non-finite value as a user-facing error, never a traceback
        return math.nan if values[0] == 0 else math.copysign(math.inf, values[0])
    return values[0] / values[1]


# Each operation of an expression tree, keyed by its name: a new operation is one line here (and one in
# the printers), never a branch that an unknown name falls through.
_OPERATIONS: dict[str, Callable[[list[float]], float]] = {
    "add": lambda v: _fsum(v),
    "sub": lambda v: v[0] - v[1],
    "mul": math.prod,
    "div": _div,
    "neg": lambda v: -v[0],
    "pow": lambda v: _pow(v[0], v[1]),
    "exp": lambda v: math.exp(v[0]) if v[0] < 709 else math.inf,
    "ln": lambda v: math.log(v[0]) if v[0] > 0 else -math.inf,
    "max": max,
    "sqrt": lambda v: math.sqrt(v[0]),
    "tanh": lambda v: math.tanh(v[0]),
}


def _apply(name: str, values: list[float]) -> float:
    operation = _OPERATIONS.get(name)
    if operation is None:
        raise ValueError(f"unknown operation {name}: choose from: {', '.join(_OPERATIONS)}")
    return operation(values)


def _pow(base: float, exponent: float) -> float:
    try:
        return base ** exponent
    except OverflowError:  # beyond ±1.8e308: reported as a NumericalError with its place, like a product
        return math.copysign(math.inf, base) if float(exponent).is_integer() and exponent % 2 else math.inf


def _fsum(values) -> float:  # noqa: ANN001
    """math.fsum, but ∞ − ∞ is undefined (nan) rather than a ValueError: the engine reports it with its place."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):
        return sum(values)


def evaluate(expr: Expr) -> float:
    if isinstance(expr, Num):
        return expr.value
    assert isinstance(expr, Op)
    return _apply(expr.op, [evaluate(a) for a in expr.args])


Expr = Union["Num", "Op"]
Rounder = Callable[[float], float]


def _step(expr: Expr, rounder: Rounder) -> Expr:
    """Reduce every operation whose operands are all numbers; a negation folds with its operand."""
    if isinstance(expr, Num):
        return expr
    assert isinstance(expr, Op)
    if all(isinstance(a, Num) for a in expr.args):
        value = _apply(expr.op, [a.value for a in expr.args])  # type: ignore[union-attr]
        if expr.op == "neg":
            return Num(value, expr.args[0].given, expr.args[0].label)  # type: ignore[union-attr]
        return Num(rounder(value), label=derived(expr.args))  # type: ignore[arg-type]
    reduced = tuple(_step(a, rounder) for a in expr.args)
    if expr.op == "neg" and isinstance(reduced[0], Num):
        return Num(-reduced[0].value, label=reduced[0].label)
    return Op(expr.op, reduced)


def leaves(expr: Expr) -> list[Num]:
    """The numbers of an expression, left to right."""
    return [expr] if isinstance(expr, Num) else [leaf for a in expr.args for leaf in leaves(a)]


def derived(args: tuple[Num, ...]) -> str:
    """The label of a number computed from others: theirs, joined by "|" (so a value worked from a blank
    on an exercise sheet is itself not shown: 1 × ? must not reappear as 2 one stage later)."""
    return _union(tuple(dict.fromkeys(a.label for a in args if a.label)))


@functools.lru_cache(maxsize=4096)
def _union(labels: tuple[str, ...]) -> str:
    """The parts of these labels, sorted and joined. Cached: an attention layer's intermediates all carry
    one label of thousands of names, and splitting it again at every stage of every line cost minutes."""
    return "|".join(sorted({part for label in labels for part in label.split("|")}))


def chain(expr: Expr, rounder: Rounder | None = None) -> list[Expr]:
    """The stages from `expr` down to a single number, the last stage."""
    rounder = rounder or (lambda v: v)
    stages = [expr]
    while not isinstance(stages[-1], Num):
        stages.append(_step(stages[-1], rounder))
    return stages


# ---- interval arithmetic over shown digits ---------------------------------------------------------

def shown_interval(value: float, precision: Precision, given: bool = False) -> tuple[float, float]:
    """The values a reader cannot tell apart from the printed one.

    A number the user wrote is exact. Under carry every computed number is a rounding, so it stands for
    half a unit of the last place either side; otherwise only a number that printing rounded does.
    """
    if given or not math.isfinite(value):
        return value, value
    if precision.carry:
        half = 0.5 * 10.0**-precision.places
        return value - half, value + half
    decimals, shown, exact = precision.display(value)
    if exact:
        return value, value
    half = 0.5 * 10.0**-decimals
    return shown - half, shown + half


def interval(expr: Expr, precision: Precision) -> tuple[float, float]:
    """Every value the printed expression could stand for."""
    if isinstance(expr, Num):
        return shown_interval(expr.value, precision, expr.given)
    assert isinstance(expr, Op)
    spans = [interval(a, precision) for a in expr.args]
    name = expr.op
    if name == "add":
        return _fsum([s[0] for s in spans]), _fsum([s[1] for s in spans])
    if name == "sub":
        return spans[0][0] - spans[1][1], spans[0][1] - spans[1][0]
    if name == "neg":
        return -spans[0][1], -spans[0][0]
    if name == "pow" and spans[0][0] < 0 < spans[0][1] and spans[1][0] == spans[1][1] and spans[1][0] % 2 == 0:
        top = max(spans[0][0] ** spans[1][0], spans[0][1] ** spans[1][0])
        return 0.0, top  # an even power of a range around 0 reaches down to 0
    if name in ("mul", "div", "pow"):
        low, high = spans[0]
        for other in spans[1:]:
            if name == "div" and other[0] <= 0 <= other[1]:
                return -math.inf, math.inf
            corners = [_apply(name, [a, b]) for a in (low, high) for b in other]
            low, high = min(corners), max(corners)
        return low, high
    if name == "max":
        return max(s[0] for s in spans), max(s[1] for s in spans)
    if name == "sqrt":  # a carried 0 stands for [−half, half]: only its non-negative part has a square root
        return math.sqrt(max(0.0, spans[0][0])), math.sqrt(max(0.0, spans[0][1]))
    # the rest are increasing functions of one argument
    return _apply(name, [spans[0][0]]), _apply(name, [spans[0][1]])


def agree(left: Expr, right: Expr, precision: Precision) -> bool:
    """Can `left = right` be true for the printed digits?"""
    low, high = interval(left, precision)
    r_low, r_high = interval(right, precision)
    tol = 1e-9 * max(1.0, abs(low), abs(high))
    return low - tol <= r_high and r_low <= high + tol


class InconsistentChain(AssertionError):
    """An internal error: a worked line would contradict itself. Never caused by user input."""


def check_chain(stages: list[Expr], precision: Precision, label: str) -> None:
    """Every `=` in a worked line holds at the printed precision."""
    for left, right in zip(stages, stages[1:]):
        if not agree(left, right, precision):
            raise InconsistentChain(f"{label}: {left} does not equal {right} at {precision}")
