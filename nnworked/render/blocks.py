"""The neutral layout a walkthrough is built from; terminal and Markdown each print these.

Prose uses a small markup both can print: **bold** and `code`.
"""

from __future__ import annotations

from typing import NamedTuple


class Heading(NamedTuple):
    level: int  # 1 = title, 2 = section, 3 = step
    text: str


class Para(NamedTuple):
    text: str


class Math(NamedTuple):
    """Lines of arithmetic, shown verbatim in a fixed-width font."""

    lines: list[str]


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
