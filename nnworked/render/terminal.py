"""The walkthrough as rich renderables; the CLI's Console prints them (colour only on a terminal)."""

from __future__ import annotations

import re

from rich import box
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.padding import Padding
from rich.rule import Rule as RichRule
from rich.table import Table as RichTable
from rich.text import Text

from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule, Table
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

_INLINE = re.compile(r"\*\*(.+?)\*\*|`(.+?)`")


def render(trace: Trace, settings: Settings) -> RenderableType:
    return Group(*blocks_to_renderables(build(trace, settings)))


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


def blocks_to_renderables(blocks: list[Block]) -> list[RenderableType]:
    out: list[RenderableType] = []
    for block in blocks:
        if isinstance(block, Heading):
            if block.level == 1:
                out.append(Text(block.text, style="bold magenta"))
            elif block.level == 2:
                out += [Text(""), RichRule(escape(block.text), style="blue", align="left")]
            else:
                out += [Text(""), Text(block.text, style="bold yellow")]
        elif isinstance(block, Para):
            out += [Text(""), inline(block.text)]
        elif isinstance(block, Math):
            # indented by hand: Padding would pad every line with spaces to the console's width
            out.append(Text("\n".join(f"    {l}" if l else "" for l in block.lines), style="green", no_wrap=True,
                            overflow="ignore"))
        elif isinstance(block, Bullets):
            out.append(Text("\n").join(Text("  • ") + inline(item) for item in block.items))
        elif isinstance(block, Table):
            table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for header, align in zip(block.headers, block.align or ["left"] * len(block.headers)):
                table.add_column(header, justify=align)  # type: ignore[arg-type]
            for row in block.rows:
                table.add_row(*row)
            out.append(Padding(table, (0, 0, 0, 4), expand=False))
        elif isinstance(block, Rule):
            continue
    return out
