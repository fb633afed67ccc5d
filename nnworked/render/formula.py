"""Expression trees as text: `(0.1 × 0.5) + (0.2 × 0.3) + 0.1`, `1 / (1 + e^(−0.487))`."""

from __future__ import annotations

import math

from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Num, Op, chain
from nnworked.render.numbers import MINUS, blank_state, fmt, scientific, superscript

_FUNCTIONS = {"exp": "e^", "ln": "ln", "max": "max", "sqrt": "√", "tanh": "tanh"}


def show(expr: Expr, precision: Precision, top: bool = True) -> str:
    if isinstance(expr, Num):
        return fmt(expr.value, precision, expr.given, expr.label)
    assert isinstance(expr, Op)
    name, args = expr.op, expr.args
    if name == "add":
        parts = [_term(args[0], precision, first=True)]
        for a in args[1:]:
            if isinstance(a, Num) and a.value < 0 and not _hidden(a):  # 2 − 1 + 3 − 5, not 2 + (−1) + 3 + (−5)
                parts.append(f"{MINUS} {fmt(-a.value, precision, a.given)}")
            else:
                parts.append(f"+ {_term(a, precision)}")
        return _wrap(" ".join(parts), top)
    if name == "sub":
        left, right = args
        if isinstance(right, Num) and right.value < 0 and not _hidden(right):  # 0.5 + 0.00799, as the seeds do
            return _wrap(f"{_term(left, precision, first=True)} + {fmt(-right.value, precision, right.given)}", top)
        return _wrap(f"{_term(left, precision, first=True)} {MINUS} {_term(right, precision)}", top)
    if name == "mul":
        factors = [_factor(args[0], precision, first=True)] + [_factor(a, precision) for a in args[1:]]
        return _wrap(" × ".join(factors), top)
    if name == "div":
        return _wrap(f"{_factor(args[0], precision, first=True)} / {_factor(args[1], precision)}", top)
    if name == "neg":
        inner = args[0]
        if isinstance(inner, Op) and inner.op in ("mul", "div"):  # −1 / 0.6194 reads as −(1 / 0.6194)
            return MINUS + show(inner, precision)
        body = show(inner, precision, top=False)
        if isinstance(inner, Op) and inner.op in ("add", "sub"):
            body = f"[{body[1:-1]}]" if body.startswith("(") else f"[{body}]"
        return MINUS + body
    if name == "pow":
        base, exponent = args
        text = _factor(base, precision, first=False)
        if isinstance(exponent, Num) and float(exponent.value).is_integer():
            return text + superscript(int(exponent.value))
        return f"{text}^({show(exponent, precision)})"
    if name == "exp":
        return f"e^({show(args[0], precision)})"
    return f"{_FUNCTIONS[name]}({', '.join(show(a, precision) for a in args)})"


def _hidden(expr: Num) -> bool:
    """A blank on an exercise sheet: printed as ?, and its sign is not given away either."""
    return blank_state(expr.label) == "hidden"


def _wrap(text: str, top: bool) -> str:
    return text if top else f"({text})"


def _term(expr: Expr, precision: Precision, first: bool = False) -> str:
    """An operand of + or −: products keep their parentheses, as in (0.1 × 0.5) + (0.2 × 0.3)."""
    if isinstance(expr, Num):
        text = fmt(expr.value, precision, expr.given, expr.label)
        return text if first or expr.value >= 0 or _hidden(expr) else f"({text})"
    return show(expr, precision, top=isinstance(expr, Op) and expr.op in ("exp", "ln", "max", "sqrt", "tanh",
                                                                              "pow", "neg"))


def _factor(expr: Expr, precision: Precision, first: bool = False) -> str:
    """An operand of × or /: sums are parenthesised, negative numbers too unless they lead, and numbers in
    scientific notation always (1 / (2.9245 × 10²²), not 1 / 2.9245 × 10²²)."""
    if isinstance(expr, Num):
        text = fmt(expr.value, precision, expr.given, expr.label)
        return text if (first or expr.value >= 0 or _hidden(expr)) and not scientific(text) else f"({text})"
    if isinstance(expr, Op) and expr.op in ("exp", "ln", "max", "sqrt", "tanh", "pow"):
        return show(expr, precision)
    if first and isinstance(expr, Op) and expr.op == "neg" and isinstance(expr.args[0], Num):
        return show(expr, precision)
    return show(expr, precision, top=False)


def worked_line(lhs: str, expr: Expr, precision: Precision, prefix: list[str] | None = None,
                label: str = "") -> tuple[str, float, list[Expr]]:
    """`lhs = stage = stage = value`, checked stage by stage at the printed precision. Returns the text,
    the value it arrives at (rounded as shown when carrying) and the stages it prints (a stage that reads
    as the one before it is left out). The value is the quantity `label` names: it prints as that
    quantity does, whatever it was computed from."""
    from nnworked.expr import check_chain

    stages = chain(expr, precision.carried)
    result = stages[-1].value  # type: ignore[union-attr]
    check_chain(stages, precision, lhs)
    if len(stages) > 1 and not follows_from_a_blank(expr):
        stages[-1] = Num(result, label=label)
    before = list(prefix or [])
    texts = [*before, *(show(s, precision) for s in stages)]
    kept = [i for i in range(len(texts)) if i == 0 or texts[i] != texts[i - 1]]
    printed = [stages[i - len(before)] for i in kept if i >= len(before)]
    return f"{lhs} = " + " = ".join(texts[i] for i in kept), result, printed


def follows_from_a_blank(expr: Expr) -> bool:
    """Whether the value of `expr` follows from a number the sheet hides: then the line ends in a blank
    too (`L = −ln(?) = ?`, never `= 0.4790`, from which the student could read ŷ back). A blank that
    cannot move the value (0 × ?) gives nothing away, so `0 + ? + 5 = 5` may stand."""
    hidden = {leaf.label for leaf in _leaves(expr) if leaf.label and _hidden(leaf)}
    if not hidden:
        return False
    from nnworked.expr import evaluate

    base = evaluate(expr)
    for shift in (1.0, -0.37):
        moved = evaluate(_shifted(expr, hidden, shift))
        if not (moved == base or (math.isnan(moved) and math.isnan(base))):
            return True
    return False


def _leaves(expr: Expr) -> list[Num]:
    return [expr] if isinstance(expr, Num) else [leaf for a in expr.args for leaf in _leaves(a)]


def _shifted(expr: Expr, labels: set[str], shift: float) -> Expr:
    if isinstance(expr, Num):
        return expr._replace(value=expr.value + shift) if expr.label in labels else expr
    return Op(expr.op, tuple(_shifted(a, labels, shift) for a in expr.args))
