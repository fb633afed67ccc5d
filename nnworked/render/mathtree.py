"""Typeset mathematics as a small presentation tree, the layer between what is worked and how a format
draws it: LaTeX (nnworked/render/texmath.py) and MathML (nnworked/render/mathml.py) each print these nodes.

A worked line's stages become nodes from their expression trees (`expression`), the same trees the
fixed-width text is printed from (nnworked/render/formula.py), so `1 / (1 + e^(−0.487))` becomes a fraction
over `1 + e^{−0.487}`; symbols and formulas written as text (`∂L/∂W₂[0,1]`, `σ(z) = 1 / (1 + e^(−z))`) are
read by nnworked/render/mathtext.py. Numbers are printed by numbers.fmt, as everywhere.
"""

from __future__ import annotations

from typing import NamedTuple, Union

from nnworked.engine.rounding import Precision
from nnworked.expr import Expr, Num, Op
from nnworked.render.numbers import MINUS, fmt, scientific


class Ident(NamedTuple):
    """A name: one letter is a variable (italic), a longer one a function or operator (upright)."""

    text: str
    hat: bool = False  # ŷ, m̂, v̂


class Number(NamedTuple):
    text: str  # as numbers.fmt wrote it: "−0.0799", "21,850"; a leading − is a minus sign


class Operator(NamedTuple):
    text: str  # "=", "+", "−", "×", "(", "[", "→", …


class Words(NamedTuple):
    """Prose inside a formula, upright, its spaces kept: "(input features)"."""

    text: str


class Row(NamedTuple):
    items: tuple[Node, ...]


class Script(NamedTuple):
    base: Node
    sub: Node | None = None
    sup: Node | None = None


class Fraction(NamedTuple):
    numerator: Node
    denominator: Node


class Root(NamedTuple):
    body: Node


class Fenced(NamedTuple):
    """Brackets that grow with what they hold (a fraction inside parentheses)."""

    body: Node
    open: str = "("
    close: str = ")"


class Box(NamedTuple):
    """A blank on an exercise sheet: an empty box as wide as `chars` characters of the answer."""

    chars: int


class Space(NamedTuple):
    """A wide gap, where the text had two or more spaces (before a note such as "(z > 0)")."""


class Matrix(NamedTuple):
    """A bracketed grid; `bar` is the index of the column a vertical rule stands before ([W | b]),
    `rule` the index of the row a horizontal rule stands before ([X ; 1]); -1 for none."""

    rows: tuple[tuple[Node, ...], ...]
    bar: int = -1
    rule: int = -1


Node = Union[Ident, Number, Operator, Words, Row, Script, Fraction, Root, Fenced, Box, Space, Matrix]

_FUNCTIONS = {"ln": "ln", "max": "max", "tanh": "tanh"}


def row(*items: Node) -> Row:
    return Row(tuple(items))


def blank_box(value: float, precision: Precision, given: bool = False) -> Box:
    """Room for the answer: as many characters as it prints with, and one to spare."""
    return Box(len(fmt(value, precision, given)) + 1)


class ExpressionNodes:
    """An expression tree as nodes, bracketed as formula.show brackets its text (so the typeset line
    reads as the text line does), with division as a fraction. `hidden` holds the labels of numbers a
    sheet shows as blanks (decided when the line was built)."""

    def __init__(self, precision: Precision, hidden: frozenset[str] = frozenset()):
        self.p, self.hidden = precision, hidden

    def is_blank(self, expr: Expr) -> bool:
        return isinstance(expr, Num) and bool(expr.label) and expr.label in self.hidden

    def number(self, expr: Num) -> Node:
        if self.is_blank(expr):
            return blank_box(expr.value, self.p, expr.given)
        return self._digits(fmt(expr.value, self.p, expr.given))

    @staticmethod
    def _digits(text: str) -> Node:
        """"2.9245 × 10²²" as a mantissa times a power of ten; "∞" and "undefined" as themselves."""
        if scientific(text):
            mantissa, power = text.split(" × 10")
            exponent = power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789−"))
            return row(Number(mantissa), Operator("×"), Script(Number("10"), sup=Number(exponent)))
        if text.lstrip(MINUS) == "∞":
            return row(*([Operator(MINUS)] if text.startswith(MINUS) else []), Operator("∞"))
        if text == "undefined":
            return Words(text)
        return Number(text)

    def node(self, expr: Expr) -> Node:
        if isinstance(expr, Num):
            return self.number(expr)
        assert isinstance(expr, Op)
        method = getattr(self, f"_{expr.op}", None)
        if method is None:
            raise TypeError(f"no typeset form for the operation {expr.op}")
        return method(expr.args)

    def _negative(self, expr: Expr) -> bool:
        return isinstance(expr, Num) and expr.value < 0 and not self.is_blank(expr)

    def term(self, expr: Expr, first: bool = False) -> Node:
        """An operand of + or −: products keep their parentheses, as the text does."""
        if isinstance(expr, Num):
            return self.number(expr) if first or not self._negative(expr) else Fenced(self.number(expr))
        if expr.op in ("exp", "ln", "max", "sqrt", "tanh", "pow", "neg", "div"):
            return self.node(expr)
        return Fenced(self.node(expr))

    def _factor(self, expr: Expr, first: bool = False) -> Node:
        """An operand of × or a power: sums and negative numbers bracketed, unless a negative number leads."""
        if isinstance(expr, Num):
            number = self.number(expr)
            power = isinstance(number, Row) and Operator("×") in number.items  # m × 10ⁿ, bracketed as the text does
            plain = (first or not self._negative(expr)) and not power
            return number if plain or self.is_blank(expr) else Fenced(number)
        if expr.op in ("exp", "ln", "max", "sqrt", "tanh", "pow", "div"):
            return self.node(expr)
        if first and expr.op == "neg" and isinstance(expr.args[0], Num):
            return self.node(expr)
        return Fenced(self.node(expr))

    def _add(self, args: tuple[Expr, ...]) -> Node:
        items: list[Node] = [self.term(args[0], first=True)]
        for a in args[1:]:
            if isinstance(a, Num) and self._negative(a):  # 2 − 1 + 3, not 2 + (−1) + 3
                items += [Operator(MINUS), self.number(a._replace(value=-a.value))]
            else:
                items += [Operator("+"), self.term(a)]
        return Row(tuple(items))

    def _sub(self, args: tuple[Expr, ...]) -> Node:
        left, right = args
        if isinstance(right, Num) and self._negative(right):  # 0.5 + 0.00799, as the seeds write it
            return row(self.term(left, first=True), Operator("+"), self.number(right._replace(value=-right.value)))
        return row(self.term(left, first=True), Operator(MINUS), self.term(right))

    def _mul(self, args: tuple[Expr, ...]) -> Node:
        items: list[Node] = [self._factor(args[0], first=True)]
        for a in args[1:]:
            items += [Operator("×"), self._factor(a)]
        return Row(tuple(items))

    def _div(self, args: tuple[Expr, ...]) -> Node:
        return Fraction(self.node(args[0]), self.node(args[1]))

    def _neg(self, args: tuple[Expr, ...]) -> Node:
        inner = args[0]
        if isinstance(inner, Op) and inner.op in ("add", "sub"):
            return row(Operator(MINUS), Fenced(self.node(inner), "[", "]"))
        return row(Operator(MINUS), self.node(inner))

    def _pow(self, args: tuple[Expr, ...]) -> Node:
        base, exponent = args
        return Script(self._factor(base), sup=self.node(exponent))

    def _exp(self, args: tuple[Expr, ...]) -> Node:
        return Script(Ident("e"), sup=self.node(args[0]))

    def _sqrt(self, args: tuple[Expr, ...]) -> Node:
        return Root(self.node(args[0]))

    def _function(self, name: str, args: tuple[Expr, ...]) -> Node:
        inside: list[Node] = []
        for i, a in enumerate(args):
            inside += ([Operator(",")] if i else []) + [self.node(a)]
        return row(Ident(name), Fenced(Row(tuple(inside))))

    def _ln(self, args: tuple[Expr, ...]) -> Node:
        return self._function("ln", args)

    def _max(self, args: tuple[Expr, ...]) -> Node:
        return self._function("max", args)

    def _tanh(self, args: tuple[Expr, ...]) -> Node:
        return self._function("tanh", args)
