"""The neutral layout a walkthrough is built from; terminal and Markdown each print these.

Prose uses a small markup both can print: **bold** and `code`.
"""

from __future__ import annotations

from typing import NamedTuple

from nnworked.engine.rounding import Precision
from nnworked.expr import Expr


class Heading(NamedTuple):
    level: int  # 1 = title, 2 = section, 3 = step
    text: str


class Para(NamedTuple):
    text: str


class Worked(NamedTuple):
    """One worked line as data: `lhs = prefix… = stage = … = value`, each stage an expression tree, so a
    format that typesets mathematics (LaTeX, HTML) prints the same stages from the same trees, and one that
    shows text (terminal, Markdown) prints `text`, the line as it always was, broken to the width."""

    text: tuple[str, ...]  # the line as fixed-width text: one string per row after breaking
    lhs: str  # what the line computes, such as "z₁[0]" (with the name grade reads, "h[0] (a1[0])")
    prefix: tuple[str, ...]  # symbolic stages before the numbers, such as "σ(0.487)" or "ŷ − y"
    stages: tuple[Expr, ...]  # the numeric stages as printed: the expression, its reductions, its value
    precision: Precision
    blank: str = ""  # "hidden": on a sheet the line ends in a blank; "answer": in a key, the line is marked
    hidden: frozenset[str] = frozenset()  # labels of the numbers a sheet shows as blanks in this line
    suffix: str = ""  # text after the value, such as "   (z > 0)" or " ✓"
    terms: int = 0  # a long sum shown by its first and last terms: how many terms it has (0: all shown)
    value: float = 0.0  # the value the line arrives at (on a sheet, what the blank's box is sized for)


class Math(NamedTuple):
    """Lines of arithmetic, shown verbatim in a fixed-width font: text, and worked lines (`Worked`)."""

    items: list[str | Worked]

    @property
    def lines(self) -> list[str]:
        """Every row as fixed-width text, as the terminal and Markdown print it."""
        return [row for item in self.items for row in (item.text if isinstance(item, Worked) else (item,))]


class Bullets(NamedTuple):
    items: list[str]


class Table(NamedTuple):
    headers: list[str]
    rows: list[list[str]]
    align: tuple[str, ...] = ()  # "left" | "right" per column


class Image(NamedTuple):
    """A picture in a file beside the document (the loss chart), linked by its path."""

    alt: str
    path: str


class Rule(NamedTuple):
    """A horizontal rule between sections."""


class Figure(NamedTuple):
    """A picture drawn into the document itself (the network): SVG for a web page, TikZ for LaTeX."""

    alt: str
    svg: str
    tikz: str


Block = Heading | Para | Math | Bullets | Table | Image | Rule | Figure


class BlockPrinter:
    """Prints neutral blocks with one method per block type (`_print_Heading`, `_print_Para`, …), found
    through the type's MRO as sympy's printers find theirs. A block type a printer lacks is an error at
    once, never a silent skip: a new block type must be given to every printer."""

    def print_block(self, block: Block) -> str | None:
        for cls in type(block).__mro__:
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(block)
        raise TypeError(f"{type(self).__name__} has no way to print a {type(block).__name__} block")

