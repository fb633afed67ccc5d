"""Worked lines and their elision: which elements to show, how long lines break."""

from __future__ import annotations

from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Num, Op, leaves
from nnworked.render.blocks import Worked
from nnworked.render.fitting import break_line
from nnworked.render.formula import show, worked_line
from nnworked.worked import value
from nnworked.render.numbers import blank, blank_state, fmt, hides_working, is_asked, on_sheet

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
         suffix: str = "", label: str = "") -> list[Worked]:
    """A worked line, broken to fit `width`, as one `Worked` record (its text, and its stages as trees). A sum of many terms is shown by its first and last terms and
    its value (formatting and checking hundreds of products that are not printed would be wasted).

    `label` names the quantity on the left. On an exercise sheet where it is a blank, the line keeps only
    what is to be computed and ends in ?; in the answer key the whole line is worked and marked."""
    state = blank_state(label)
    if is_asked(label) and _plain_name(lhs) != label:  # where the student writes: the name grade reads
        lhs = f"{lhs} ({label})"
    if state == "hidden" and (hides_working(label) or _hidden_number(expr, prefix)):  # `lhs = ?`, never `? = ?`
        return [_worked([f"{lhs} = {blank()}"], lhs, [], [], precision, state, value(expr, precision))]
    if state == "hidden":
        text = wrap(f"{lhs} = " + " = ".join([*(prefix or []), show(expr, precision)]) + f" = {blank(label if '|' not in label else '')}", width)
        return [_worked(text, lhs, prefix, [expr], precision, state, value(expr, precision))]
    shown_suffix = f"{suffix}   ← answer" if state == "answer" else suffix
    if isinstance(expr, Op) and expr.op == "add" and len(expr.args) > MAX_TERMS:
        head = " + ".join(show(a, precision, top=False) if isinstance(a, Op) else show(a, precision)
                          for a in expr.args[:3])
        last = expr.args[-1]
        tail = show(last, precision, top=not isinstance(last, Op))
        total = value(expr, precision)
        text = wrap(f"{lhs} = {head} + … + {tail}   ({len(expr.args):,} terms) = {fmt(total, precision)}{shown_suffix}", width)
        return [_worked(text, lhs, prefix, [expr, Num(total)], precision, state, total, suffix, len(expr.args))]
    text, result, stages = worked_line(lhs, expr, precision, prefix, label)
    return [_worked(wrap(text + shown_suffix, width), lhs, prefix, stages, precision, state, result, suffix)]


def _hidden_number(expr: Expr, prefix: list[str] | None) -> bool:
    """A working that is one number, itself hidden on the sheet (a gradient passed on unchanged)."""
    return not prefix and isinstance(expr, Num) and blank_state(expr.label) == "hidden"


def _worked(text: list[str], lhs: str, prefix: list[str] | None, stages: list[Expr], precision: Precision,
            state: str, result: float, suffix: str = "", terms: int = 0) -> Worked:
    """The record, with the labels of the numbers a sheet shows as blanks (the sheet is decided now, while
    the line is built; a printer may print it later)."""
    hidden = frozenset(leaf.label for stage in stages for leaf in leaves(stage)
                       if leaf.label and blank_state(leaf.label) == "hidden") if on_sheet() else frozenset()
    return Worked(tuple(text), lhs, tuple(prefix or ()), tuple(stages), precision, state, hidden, suffix, terms,
                  result)


def wrap(text: str, width: int) -> list[str]:
    """Break a worked line between its stages (before an "="), continuation lines with their "=" under the
    first; a stage too long for a line breaks before an operator (render/fitting.py)."""
    return break_line(text, width)
