"""Worked lines and their elision: which elements to show, how long lines break."""

from __future__ import annotations

from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Op
from nnworked.render.fitting import break_line
from nnworked.render.formula import show, worked_line
from nnworked.worked import value
from nnworked.render.numbers import blank, blank_state, fmt, hides_working, is_asked

MAX_TERMS = 12  # a sum with more terms is shown with its first and last few, and how many in all


def pick(count: int, limit: int) -> tuple[list[int], int]:
    """The indices to work when there are `count` elements and at most `limit` may be shown."""
    if not limit or count <= limit:
        return list(range(count)), 0
    return list(range(limit - 1)) + [count - 1], count - limit


def elided_note(hidden: int, what: str = "elements") -> str:
    return f"… {hidden:,} more {what} worked the same way (--full shows every one)"


_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _plain_name(symbol: str) -> str:
    """z1[0] for z₁[0]: a symbol that only subscripts the canonical name needs no note beside it."""
    return symbol.translate(_DIGITS).replace(" ", "")


def line(lhs: str, expr: Expr, precision: Precision, width: int, prefix: list[str] | None = None,
         suffix: str = "", label: str = "") -> list[str]:
    """A worked line, broken to fit `width`. A sum of many terms is shown by its first and last terms and
    its value (formatting and checking hundreds of products that are not printed would be wasted).

    `label` names the quantity on the left. On an exercise sheet where it is a blank, the line keeps only
    what is to be computed and ends in ?; in the answer key the whole line is worked and marked."""
    state = blank_state(label)
    if is_asked(label) and _plain_name(lhs) != label:  # where the student writes: the name grade reads
        lhs = f"{lhs} ({label})"
    if state == "hidden" and hides_working(label):
        return [f"{lhs} = {blank()}"]
    if state == "hidden":
        return wrap(f"{lhs} = " + " = ".join([*(prefix or []), show(expr, precision)]) + f" = {blank(label if '|' not in label else '')}", width)
    if state == "answer":
        suffix = f"{suffix}   ← answer"
    if isinstance(expr, Op) and expr.op == "add" and len(expr.args) > MAX_TERMS:
        head = " + ".join(show(a, precision, top=False) if isinstance(a, Op) else show(a, precision)
                          for a in expr.args[:3])
        last = expr.args[-1]
        tail = show(last, precision, top=not isinstance(last, Op))
        result = fmt(value(expr, precision), precision)
        return wrap(f"{lhs} = {head} + … + {tail}   ({len(expr.args):,} terms) = {result}{suffix}", width)
    text, _ = worked_line(lhs, expr, precision, prefix, label)
    return wrap(text + suffix, width)


def wrap(text: str, width: int) -> list[str]:
    """Break a worked line between its stages (before an "="), continuation lines with their "=" under the
    first; a stage too long for a line breaks before an operator (render/fitting.py)."""
    return break_line(text, width)
