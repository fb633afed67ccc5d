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


Block = Heading | Para | Math | Bullets | Table | Image | Rule
