"""The walkthrough as a rich renderable; the CLI's Console prints it (colour only on a terminal).

Everything but tables goes into one styled Text, with paragraphs wrapped here and worked lines never
wrapped, so the console prints it with `soft_wrap=True` in one pass: a walkthrough is hundreds of blocks,
and rich's per-renderable layout would otherwise cost more than solving the network.
"""

from __future__ import annotations

import re
import textwrap

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table as RichTable
from rich.text import Text

from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule, Table
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_INLINE = re.compile(r"\*\*(.+?)\*\*|`(.+?)`", re.DOTALL)


def render(trace: Trace, settings: Settings) -> RenderableType:
    return Group(*blocks_to_renderables(build(trace, settings), settings.columns))


def print_to(console, renderable: RenderableType) -> None:  # noqa: ANN001
    """Print a walkthrough. Without colour the text is already laid out, so it is written as it is and
    only tables go through rich's layout (a good part of a small run's time otherwise)."""
    if console.color_system is not None or not isinstance(renderable, Group):
        console.print(renderable, soft_wrap=True)
        return
    for part in renderable.renderables:
        if isinstance(part, Text):
            console.file.write(part.plain + "\n")
        else:
            console.print(part, soft_wrap=True)


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


def blocks_to_renderables(blocks: list[Block], columns: int) -> list[RenderableType]:
    out: list[RenderableType] = []
    text = Text()

    def add(piece: Text | str, style: str = "", blank_before: bool = False) -> None:
        if blank_before and (text.plain or out):
            text.append("\n")
        text.append_text(piece) if isinstance(piece, Text) else text.append(piece, style=style)
        text.append("\n")

    previous: Block | None = None
    for block in blocks:
        after_math, previous = isinstance(previous, Math), block
        if isinstance(block, Heading):
            if block.level == 1:
                add(block.text, "bold magenta")
            elif block.level == 2:
                add(Text.assemble((block.text, "bold blue"), " ", ("─" * max(columns - len(block.text) - 1, 3),
                                                                    "blue")), blank_before=True)
            else:
                add(block.text, "bold yellow", blank_before=True)
        elif isinstance(block, Para):
            add(inline(_wrap(block.text, columns)), blank_before=True)
        elif isinstance(block, Math):
            add("\n".join(f"    {line}" if line else "" for line in block.lines), "green", blank_before=after_math)
        elif isinstance(block, Bullets):
            add(inline("\n".join(_wrap(item, columns, "  • ", "    ") for item in block.items)))
        elif isinstance(block, Table):
            table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for header, align in zip(block.headers, block.align or ("left",) * len(block.headers)):
                table.add_column(header, justify=align)  # type: ignore[arg-type]
            for row in block.rows:
                table.add_row(*(Text(cell) for cell in row))
            if text.plain:
                text.rstrip()
                out.append(text)
                text = Text()
            out.append(Padding(table, (0, 0, 0, 4), expand=False))
        elif isinstance(block, Rule):
            continue  # a level-2 heading already draws its own rule
    if text.plain:
        text.rstrip()
        out.append(text)
    return out
