"""The walkthrough as one rich Text; the CLI's Console prints it (colour only on a terminal).

Everything is laid out here: paragraphs wrapped to the console's width, worked lines never wrapped, tables
aligned. The console prints it with `soft_wrap=True` in one pass: a walkthrough is hundreds of blocks, and
rich's per-renderable layout would otherwise cost more than solving the network.
"""

from __future__ import annotations

import re
import textwrap

from rich.text import Text

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Heading, Image, Math, Para, Rule, Table
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_INLINE = re.compile(r"\*\*(.+?)\*\*|`(.+?)`", re.DOTALL)


def render(trace: Trace, settings: Settings) -> Text:
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


def _wrap(text: str, columns: int, indent: str = "", hanging: str = "") -> str:
    return textwrap.fill(text, width=columns, initial_indent=indent, subsequent_indent=hanging or indent,
                         break_long_words=False, break_on_hyphens=False)


def _table(table: Table) -> Text:
    """Columns aligned as asked, a rule under the bold header, indented like the worked lines (laid out
    here, in one pass, rather than by rich's table measuring)."""
    rows = [table.headers, *table.rows]
    widths = [max(len(row[j]) for row in rows) for j in range(len(table.headers))]
    align = table.align or ("left",) * len(widths)

    def cells(row: list[str]) -> str:
        return "    " + "   ".join(c.rjust(w) if a == "right" else c.ljust(w)
                                   for c, w, a in zip(row, widths, align)).rstrip()

    out = Text(cells(table.headers), style="bold")
    out.append("\n    " + "─" * (sum(widths) + 3 * (len(widths) - 1)))
    for row in table.rows:
        out.append("\n" + cells(row))
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
        if block.level == 1:
            self.add(block.text, "bold magenta")
        elif block.level == 2:
            rule = "─" * max(self.columns - len(block.text) - 1, 3)
            self.add(Text.assemble((block.text, "bold blue"), " ", (rule, "blue")), blank_before=True)
        else:
            self.add(block.text, "bold yellow", blank_before=True)

    def _print_Para(self, block: Para) -> None:
        self.add(inline(_wrap(block.text, self.columns)), blank_before=True)

    def _print_Image(self, block: Image) -> None:  # a terminal shows no picture: it names the file
        self.add(inline(f"{block.alt}: `{block.path}`"), blank_before=True)

    def _print_Math(self, block: Math) -> None:
        self.add("\n".join(f"    {line}" if line else "" for line in block.lines), "green", blank_before=self.after_math)

    def _print_Bullets(self, block: Bullets) -> None:
        self.add(inline("\n".join(_wrap(item, self.columns, "  • ", "    ") for item in block.items)))

    def _print_Table(self, block: Table) -> None:
        self.add(_table(block))

    def _print_Rule(self, block: Rule) -> None:
        pass  # a level-2 heading already draws its own rule


def blocks_to_text(blocks: list[Block], columns: int) -> Text:
    printer = _Printer(columns)
    for block in blocks:
        printer.print_block(block)
    printer.text.rstrip()
    return printer.text
