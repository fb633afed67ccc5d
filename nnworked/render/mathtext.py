"""The plain-text mathematics the writers print (`∂L/∂W₂[0,1]`, `σ(z) = 1 / (1 + e^(−z))`, `W₁ = | 0.1  0.2 |`)
read back into typeset nodes (nnworked/render/mathtree.py), for the symbols of worked lines and the formula
lines written as text. Unicode subscripts and superscripts become scripts, `e^(…)` a power, `∂a/∂b` a
fraction, words upright; any character it does not know stays a character (each format escapes it), so a
scenario's own names never break a document.
"""

from __future__ import annotations

import re

from nnworked.render.mathtree import Box, Fraction, Ident, Matrix, Node, Number, Operator, Row, Script, Space, Words

BLANK = "\x01"  # how a blank prints while a typeset document is built (latex.py and html.py set the glyph)

_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙ₊₋", "0123456789ijkn+−"))
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺⁽⁾ᵗᵀⁿⁱ", "0123456789−+()tTni"))
_GREEK = set("αβγδεηθλμρσφψωΣΔ")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,.:;!'’-]+[A-Za-z]{2,})*[,.:;!]?")
_LETTERS = re.compile(r"[A-Za-z]+")
_FUNCTIONS = {"ln", "max", "min", "tanh", "exp", "sign", "log"}
_HAT = "\u0302"


def parse(text: str) -> Row:
    """One line of text as a row of nodes."""
    items, _ = _Reader(text).row()
    return Row(tuple(items))


def is_matrix_row(line: str) -> bool:
    """A row of a matrix as numbers.matrix_lines draws it: `| 0.1  0.2 |`, perhaps after `W₁ = `."""
    return bool(re.search(r"\| .* \|", line))


def matrix(lines: list[str]) -> tuple[str, Matrix, str] | None:
    """`W₁ = | 0.1  0.2 |` over `     | 0.3  0.4 |    (2×2)`: the text before the grid, the grid, the text
    after it; None when the rows do not line up as one grid."""
    start = lines[0].find("| ")
    ends = [line.rfind(" |") for line in lines]
    if start < 0 or any(len(line) < start or line[start] != "|" for line in lines) or len(set(ends)) != 1:
        return None
    before, after = lines[0][:start].rstrip(), " ".join(line[ends[0] + 2:].strip() for line in lines).strip()
    cells, bar, rule = [], -1, -1
    for line in lines:
        inner = line[start + 1:ends[0]].strip()
        if set(inner) <= set("- "):  # the rule of [X ; 1]
            rule = len(cells)
            continue
        if "│" in inner:
            left, right = inner.split("│", 1)
            parts = left.split() + right.split()
            bar = len(left.split())
        else:
            parts = inner.split()
        cells.append(tuple(Row(tuple(_Reader(cell).row()[0])) for cell in _join_cells(parts)))
    if len({len(r) for r in cells}) != 1:
        return None
    return before.removesuffix("=").rstrip(), Matrix(tuple(cells), bar, rule), after


def _join_cells(parts: list[str]) -> list[str]:
    """Cells are separated by spaces; "2.9 × 10²²" is one cell, not three."""
    out: list[str] = []
    for part in parts:
        if out and (part == "×" or out[-1].endswith("×")):
            out[-1] += " " + part
        else:
            out.append(part)
    return out


class _Reader:
    def __init__(self, text: str):
        self.text, self.i = text, 0

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.text[j] if j < len(self.text) else ""

    def row(self, close: str = "") -> tuple[list[Node], bool]:
        """Nodes up to `close` (consumed) or the end; whether `close` was found."""
        items: list[Node] = []
        while self.i < len(self.text):
            char = self.text[self.i]
            if close and char == close:
                self.i += 1
                return items, True
            self.one(items)
        return items, not close

    def one(self, items: list[Node]) -> None:
        text, char = self.text, self.text[self.i]
        if char == " ":
            run = len(text[self.i:]) - len(text[self.i:].lstrip(" "))
            self.i += run
            if run >= 2 and items:
                items.append(Space())
            return
        if char == BLANK:
            self.i += 1
            items.append(Box(4))
            return
        if char in _SUBSCRIPTS or char in _SUPERSCRIPTS:
            table = _SUBSCRIPTS if char in _SUBSCRIPTS else _SUPERSCRIPTS
            run = ""
            while self.peek() in table and self.peek():
                run += table[self.peek()]
                self.i += 1
            self.attach(items, _script_body(run), sub=table is _SUBSCRIPTS)
            return
        if char == "^" and items:
            self.i += 1
            if self.peek() == "(":
                self.i += 1
                inner, _ = self.row(")")
                self.attach(items, Row(tuple(inner)), sub=False)
            else:
                inner = []
                if self.i < len(text):
                    self.one(inner)
                self.attach(items, Row(tuple(inner)), sub=False)
            return
        if char == "_" and items and (match := _LETTERS.match(text, self.i + 1)):  # W₂_new: W₂ to the power "new",
            self.i = match.end()  # as textbooks write a value after the update
            self.attach(items, Words(match.group()), sub=False)
            return
        if char == "∂" and self.partial(items):
            return
        match = _NUMBER.match(text, self.i)
        if match:
            self.i = match.end()
            items.append(Number(match.group()))
            return
        match = _WORDS.match(text, self.i)
        if match and not self.function_name(match.group()):
            self.i = match.end()
            spaced = (" " if self.i - len(match.group()) > 0 and text[self.i - len(match.group()) - 1] == " " else "") \
                + match.group() + (" " if self.peek() == " " else "")
            items.append(Words(spaced))
            return
        match = _LETTERS.match(text, self.i)
        if match:
            self.i = match.end()
            name = match.group()
            if self.peek() == _HAT:
                self.i += 1
                items.append(Ident(name, hat=True))
            else:
                items.append(Ident(name))
            return
        self.i += 1
        if char == "ŷ":
            items.append(Ident("y", hat=True))
        elif char in _GREEK:
            items.append(Ident(char))
        else:
            items.append(Operator(char))

    def function_name(self, word: str) -> bool:
        """`max(`, `ReLU′(`: a name applied to something, not prose."""
        after = self.text[self.i + len(word):self.i + len(word) + 1]
        return word in _FUNCTIONS or bool(re.fullmatch(r"[A-Za-z]+", word)) and after in ("(", "′")

    def attach(self, items: list[Node], body: Node, sub: bool) -> None:
        base = items.pop() if items else Row(())
        if isinstance(base, Script) and (base.sub is None if sub else base.sup is None):
            items.append(base._replace(**{"sub" if sub else "sup": body}))
        else:
            items.append(Script(base, sub=body) if sub else Script(base, sup=body))

    def partial(self, items: list[Node]) -> bool:
        """`∂L/∂W₂[0,1]` as the fraction a textbook writes; False (nothing read) when it is not one."""
        start = self.i
        top = self.partial_name()
        if top is not None and self.peek() == "/" and self.peek(1) == "∂":
            self.i += 1
            bottom = self.partial_name()
            if bottom is not None:
                items.append(Fraction(Row((Operator("∂"), *top)), Row((Operator("∂"), *bottom))))
                return True
        self.i = start
        return False

    def partial_name(self) -> list[Node] | None:
        """After ∂: a name with its scripts and one bracketed index, such as W₂[0,1] or ŷ."""
        self.i += 1  # the ∂
        name: list[Node] = []
        char = self.peek()
        if not char or not (char.isalpha() or char == "ŷ"):
            return None
        self.one(name)
        while self.peek() and (self.peek() in _SUBSCRIPTS or self.peek() in _SUPERSCRIPTS or self.peek() == _HAT):
            self.one(name)
        if self.peek() == "[":
            end = self.text.find("]", self.i)
            if end < 0:
                return None
            while self.i <= end:
                self.one(name)
        return name


def _script_body(run: str) -> Node:
    """The inside of a script: "12" a number, "i" a letter, "−1" a signed number."""
    items: list[Node] = []
    for part in re.findall(r"\d+|[A-Za-z]|.", run):
        items.append(Number(part) if part.isdigit() else Ident(part) if part.isalpha() else Operator(part))
    return items[0] if len(items) == 1 else Row(tuple(items))
