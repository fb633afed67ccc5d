"""The cells of a spreadsheet (`--format xlsx`): where a cell is, what it holds, and how a formula names
another cell. The layout (nnworked/render/spreadsheet.py) fills a Grid per worksheet; the writer
(nnworked/render/xlsx.py) writes them."""

from __future__ import annotations

import re
from typing import NamedTuple

NOT_DONE, CORRECT, INCORRECT = "NOT DONE", "CORRECT", "INCORRECT"


class Place(NamedTuple):
    sheet: str
    row: int
    col: int


class Cell(NamedTuple):
    value: float | str | None  # a given number, a label's text, or a formula's stored value
    formula: str = ""  # without the leading "="; "" for a given number or a text
    style: str = "given"  # title, note, heading, label, given, computed, blank, answer, status
    key: str = ""  # the quantity's canonical name (z1[0,1]), where the cell holds one
    shown: float | None = None  # the value whose printed decimals the cell's number format follows


def column_letter(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def reference(place: Place, sheet: str) -> str:
    """E7, or 'Step 1'!E7 from another sheet."""
    local = f"{column_letter(place.col)}{place.row + 1}"
    return local if place.sheet == sheet else f"'{place.sheet}'!{local}"


class Grid:
    """One worksheet: its cells by (row, column)."""

    def __init__(self, title: str):
        self.title = title
        self.cells: dict[tuple[int, int], Cell] = {}

    def put(self, row: int, col: int, cell: Cell) -> Place:
        self.cells[(row, col)] = cell
        return Place(self.title, row, col)


Matrix = list[list[Place]]  # [row][column] as the sheet shows it


def mentions(formula: str, ref: str) -> bool:
    """Whether the formula reads the cell `ref` (E1, not the E1 of E12 or of AE1)."""
    return re.search(rf"(?<![A-Za-z0-9!']){re.escape(ref)}(?![0-9])", formula) is not None


class Rounding(NamedTuple):
    """How a formula rounds each operation a rule writes into it (a rule's spreadsheet pieces take one):
    under rounding: carry, ROUND(…, places) around each operation whose result the carried working rounds
    (its `carried`, the stages the walkthrough prints), so the cell recalculates to the trace's digits;
    under exact, the operation's text as it is, with the parentheses it needs as an operand."""

    places: int | None = None  # None: rounding: exact

    @property
    def carry(self) -> bool:
        return self.places is not None

    def __call__(self, text: str) -> str:
        return text if self.places is None else f"ROUND({outer(text)},{self.places})"


EXACT = Rounding()


def outer(text: str) -> str:
    """A formula without the parentheses around the whole of it."""
    if text.startswith("(") and text.endswith(")"):
        depth = 0
        for index, char in enumerate(text):
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0 and index < len(text) - 1:
                return text
        return text[1:-1]
    return text
