"""A Math block as typeset lines, for the formats that set mathematics (LaTeX, HTML's MathML): each worked
line's stages as nodes from its expression trees, each text line (a formula, a matrix, a note) read back
from its text, and where a long line breaks between its stages. The formats differ only in how they draw
the nodes and align the `=` signs."""

from __future__ import annotations

import re
from typing import NamedTuple

from nnworked.render.blocks import Math, Worked
from nnworked.render.mathtext import is_matrix_row, matrix, parse
from nnworked.render.mathtree import (Box, ExpressionNodes, Fenced, Fraction, Ident, Matrix, Node, Number, Operator,
                                      Root, Row, Script, Space, Words, blank_box, row)

ROW_WIDTH = 78  # characters of a line's text (about) that fit one row of the page; longer lines break at an =

_ASKED = re.compile(r"^(.*) \(([A-Za-z][\w.]*\[[\d,]+\](?:@\w+)?)\)$")  # h[0] (a1[0]): where the answer goes


class Line(NamedTuple):
    lhs: Node | None  # None: a line with no "=", such as a note; printed as a row of its own
    stages: tuple[Node, ...]  # what follows each "="
    note: Node | None = None  # after the value: "(z > 0)", "✓"
    answer: bool = False  # in a key: the asked value, marked
    gap: bool = False  # a blank line stood before it (the next group of lines)

    def rows(self) -> list[list[Node]]:
        """The stages, broken into rows of about ROW_WIDTH characters, between stages only."""
        out: list[list[Node]] = [[]]
        used = width(self.lhs) if self.lhs is not None else 0
        for stage in self.stages:
            size = width(stage) + 3
            if out[-1] and used + size > ROW_WIDTH:
                out.append([])
                used = width(self.lhs) if self.lhs is not None else 0
            out[-1].append(stage)
            used += size
        return out


def lines(block: Math) -> list[Line]:
    out: list[Line] = []
    gap = False
    items = block.items
    i = 0
    while i < len(items):
        item = items[i]
        if isinstance(item, Worked):
            out.append(worked(item)._replace(gap=gap))
        elif not item.strip():
            gap = bool(out)
            i += 1
            continue
        elif is_matrix_row(item):
            end = i
            while end + 1 < len(items) and isinstance(items[end + 1], str) and is_matrix_row(items[end + 1]):
                end += 1
            grid = matrix([str(x) for x in items[i:end + 1]])
            if grid is None:
                out += [text_line(str(x)) for x in items[i:end + 1]]
            else:
                before, nodes, after = grid
                out.append(Line(parse(before) if before else None, (nodes,), parse(after) if after else None,
                                gap=gap))
            i = end
        else:
            out.append(text_line(item)._replace(gap=gap))
        gap = False
        i += 1
    return out


def text_line(text: str) -> Line:
    """`z₁ = W₁ · x + b₁`: the left side, then each stage; a line without " = " is one row of its own."""
    text = text.strip()
    if text.startswith("= "):  # the continuation of the line above it, under its "="
        text = " " + text
    if " = " not in text:
        return Line(None, (parse(text),))
    lhs, *stages = text.split(" = ")
    last, note = _note(stages[-1])
    return Line(parse(lhs), tuple(parse(s) for s in [*stages[:-1], last]), note)


def _note(text: str) -> tuple[str, Node | None]:
    """"0.21   (z > 0)": the value and the note after it (set off by three spaces)."""
    value, sep, note = text.partition("   ")
    return (value, parse(note.strip())) if sep and note.strip() else (text, None)


def worked(line: Worked) -> Line:
    printer = ExpressionNodes(line.precision, line.hidden)
    asked = _ASKED.match(line.lhs)
    lhs: Node = row(parse(asked.group(1)), Space(), Words(f"({asked.group(2)})")) if asked else parse(line.lhs)
    stages: list[Node] = [parse(p) for p in line.prefix]
    if line.terms:  # a long sum: its first and last terms, and how many there are
        expr = line.stages[0]
        terms = expr.args  # type: ignore[union-attr]
        shown: list[Node] = []
        for a in terms[:3]:
            shown += [printer.term(a, first=not shown), Operator("+")]
        shown += [Operator("…"), Operator("+"), printer.term(terms[-1]), Space(), Words(f"({line.terms:,} terms)")]
        stages += [Row(tuple(shown)), printer.node(line.stages[-1])]
    else:
        stages += [printer.node(s) for s in line.stages]
    if line.blank == "hidden":
        stages.append(blank_box(line.value, line.precision))
    note = parse(line.suffix.strip()) if line.suffix.strip() else None
    return Line(lhs, tuple(stages), note, answer=line.blank == "answer")


def width(node: Node | None) -> float:
    """About how many characters wide a node prints (a fraction as wide as its wider part)."""
    if node is None:
        return 0
    if isinstance(node, Row):
        return sum(width(item) for item in node.items)
    if isinstance(node, (Number, Words)):
        return len(node.text)
    if isinstance(node, Ident):
        return len(node.text)
    if isinstance(node, Operator):
        return 2 if node.text in "=+−×" else 1
    if isinstance(node, Script):
        return width(node.base) + 0.7 * max(width(node.sub), width(node.sup))
    if isinstance(node, Fraction):
        return max(width(node.numerator), width(node.denominator))
    if isinstance(node, (Root, Fenced)):
        return width(node.body) + 2
    if isinstance(node, Box):
        return node.chars
    if isinstance(node, Matrix):
        return sum(max(width(r[j]) for r in node.rows) + 2 for j in range(len(node.rows[0]))) if node.rows else 2
    return 3  # a wide space
