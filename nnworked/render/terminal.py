"""The walkthrough as one rich Text; the CLI's Console prints it (colour only on a terminal).

Everything is laid out here, to the console's width (60 columns or more): paragraphs wrapped, worked lines
broken between their stages, matrices too wide cut between columns, tables narrowed. The console prints
it with `soft_wrap=True` in one pass: a walkthrough is hundreds of blocks, and rich's per-renderable
layout would otherwise cost more than solving the network.
"""

from __future__ import annotations

import re
import textwrap

from rich.text import Text

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Figure, Heading, Image, Math, Para, Rule, Table
from nnworked.render.fitting import break_line, is_grid_row, slice_grid
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_INLINE = re.compile(r"\*\*(.+?)\*\*|`(.+?)`", re.DOTALL)


MATH_INDENT = 4  # worked lines, matrices and tables sit this far in from the margin
HEADING_STYLES = {1: "bold underline", 2: "bold", 3: "bold italic"}  # no colour of their own: see _print_Heading


def render(trace: Trace, settings: Settings) -> Text:
    # worked lines break to fit the terminal, after the indent they are printed with
    settings = settings._replace(width=max(min(settings.width, settings.columns) - MATH_INDENT, 20))
    return blocks_to_text(build(trace, settings), settings.columns)


def print_to(console, text: Text) -> None:  # noqa: ANN001
    """Print a walkthrough. It is laid out already, so without colour it is written as it is (rich's
    rendering pass would cost more than solving a small network)."""
    if console.color_system is None:
        console.file.write(text.plain + "\n")
    else:
        console.print(text, soft_wrap=True)


def inline(text: str) -> Text:
    """**bold** and `code` as styles; everything else literally (no rich markup is interpreted)."""
    out = Text()
    position = 0
    for match in _INLINE.finditer(text):
        out.append(text[position:match.start()])
        if match.group(1) is not None:
            out.append(match.group(1), style="bold")
        else:
            out.append(match.group(2), style="cyan")
        position = match.end()
    out.append(text[position:])
    return out


_GLUE = "\ue000"  # holds a short formula in prose together while textwrap fills the lines (it never breaks there)
_GLUED = [(f" {op} ", f"{_GLUE}{op}{_GLUE}") for op in ("=", "−", "+", "×", "/")]


def _wrap(text: str, columns: int, indent: str = "", hanging: str = "") -> str:
    """Prose filled to `columns`; `y = 1` or `θ − η·g` never breaks across two lines. Only a word longer
    than a whole line (a cited web address) is cut, at the width: no number is ever that long."""
    for spaced, glued in _GLUED:
        text = text.replace(spaced, glued)
    filled = textwrap.fill(text, width=columns, initial_indent=indent, subsequent_indent=hanging or indent,
                           break_long_words=True, break_on_hyphens=False)
    return filled.replace(_GLUE, " ")


def _table(table: Table, width: int) -> Text:
    """Columns aligned as asked, a rule under the bold header, indented like the worked lines (laid out
    here, in one pass, rather than by rich's table measuring). A table wider than `width` narrows its
    widest columns, their cells wrapping at spaces onto further lines (a vector after a comma)."""
    rows = [table.headers, *table.rows]
    widths = _column_widths(rows, width - MATH_INDENT)
    align = table.align or ("left",) * len(widths)

    def cells(row: list[str]) -> str:
        pieces = [textwrap.wrap(c, w, break_long_words=False, break_on_hyphens=False) or [""]
                  for c, w in zip(row, widths)]
        height = max(len(p) for p in pieces)
        return "\n".join(
            "    " + "   ".join((p[k] if k < len(p) else "").rjust(w) if a == "right" else
                                (p[k] if k < len(p) else "").ljust(w)
                                for p, w, a in zip(pieces, widths, align)).rstrip()
            for k in range(height))

    out = Text(cells(table.headers), style="bold")
    out.append("\n    " + "─" * (sum(widths) + 3 * (len(widths) - 1)))
    for row in table.rows:
        out.append("\n" + cells(row))
    return out


def _column_widths(rows: list[list[str]], room: int) -> list[int]:
    """Each column as wide as its widest cell; while the table is wider than `room`, the widest column that
    can wrap gives up width, never below its longest word."""
    widths = [max(len(row[j]) for row in rows) for j in range(len(rows[0]))]
    floors = [max((len(word) for row in rows for word in row[j].split()), default=1) for j in range(len(widths))]
    while sum(widths) + 3 * (len(widths) - 1) > room:
        shrinkable = [j for j in range(len(widths)) if widths[j] > floors[j]]
        if not shrinkable:
            break
        j = max(shrinkable, key=lambda j: widths[j])
        widths[j] -= 1
    return widths


def _fit_math(lines: list[str], width: int) -> list[str]:
    """Lines of mathematics no wider than `width`: a matrix too wide is cut into slices of whole columns,
    any other line breaks between its stages or before an operator (worked lines come broken already)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if is_grid_row(lines[i]):
            j = i
            while j < len(lines) and is_grid_row(lines[j]):
                j += 1
            rows = lines[i:j]
            out += slice_grid(rows, width) if max(len(r) for r in rows) > width else rows
            i = j
        else:
            out += break_line(lines[i], width)
            i += 1
    return out


class _Printer(BlockPrinter):
    """Appends each block to one rich Text, laid out at `columns`, with the blank lines between them."""

    def __init__(self, columns: int):
        self.columns, self.text = columns, Text()
        self.started = False  # whether anything is written yet (asking text.plain would join it all: quadratic)
        self.after_math = False

    def add(self, piece: Text | str, style: str = "", blank_before: bool = False) -> None:
        if blank_before and self.started:
            self.text.append("\n")
        self.started = True
        self.text.append_text(piece) if isinstance(piece, Text) else self.text.append(piece, style=style)
        self.text.append("\n")

    def print_block(self, block: Block) -> None:
        super().print_block(block)
        self.after_math = isinstance(block, Math)

    def _print_Heading(self, block: Heading) -> None:
        # Headings keep the terminal's own text colour (bold, not yellow or blue letters), so they read as
        # well on a light background as on a dark one; only the rule of a section carries a colour.
        lines = _wrap(block.text, self.columns).splitlines() or [""]
        if block.level == 1:
            self.add("\n".join(lines), HEADING_STYLES[1])
        elif block.level == 2:
            rule = "─" * max(self.columns - len(lines[-1]) - 1, 3) if len(lines[-1]) + 4 <= self.columns else ""
            last = Text.assemble((lines[-1], HEADING_STYLES[2]), *((" ", (rule, "blue")) if rule else ()))
            self.add(Text("\n").join([*(Text(l, HEADING_STYLES[2]) for l in lines[:-1]), last]), blank_before=True)
        else:
            self.add("\n".join(lines), HEADING_STYLES[3], blank_before=True)

    def _print_Para(self, block: Para) -> None:
        self.add(inline(_wrap(block.text, self.columns)), blank_before=True)

    def _print_Image(self, block: Image) -> None:  # a terminal shows no picture: it names the file
        self.add(inline(f"{block.alt}: `{block.path}`"), blank_before=True)

    def _print_Math(self, block: Math) -> None:
        lines = _fit_math(block.lines, self.columns - MATH_INDENT)
        self.add("\n".join(f"    {line}" if line else "" for line in lines), "green", blank_before=self.after_math)

    def _print_Bullets(self, block: Bullets) -> None:
        self.add(inline("\n".join(_wrap(item, self.columns, "  • ", "    ") for item in block.items)))

    def _print_Table(self, block: Table) -> None:
        self.add(_table(block, self.columns))

    def _print_Rule(self, block: Rule) -> None:
        pass  # a level-2 heading already draws its own rule

    def _print_Figure(self, block: Figure) -> None:  # a terminal shows no picture: it says where one is
        self.add(inline(f"{block.alt}: in the HTML and LaTeX exports"), blank_before=True)


def blocks_to_text(blocks: list[Block], columns: int) -> Text:
    printer = _Printer(columns)
    for block in blocks:
        printer.print_block(block)
    printer.text.rstrip()
    return printer.text
