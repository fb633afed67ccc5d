"""The neutral layout a walkthrough is built from; terminal and Markdown each print these.

Prose uses a small markup both can print: **bold** and `code`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Heading:
    level: int  # 1 = title, 2 = section, 3 = step
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Math:
    """Lines of arithmetic, shown verbatim in a fixed-width font."""

    lines: list[str]


@dataclass(frozen=True)
class Bullets:
    items: list[str]


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    align: list[str] = field(default_factory=list)  # "left" | "right" per column


@dataclass(frozen=True)
class Rule:
    pass


Block = Heading | Para | Math | Bullets | Table | Rule
