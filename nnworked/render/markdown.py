"""Markdown that reads like the seed documents and renders well on GitHub."""

from __future__ import annotations

from urllib.parse import quote

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Figure, Heading, Image, Math, Para, Rule, Table
from nnworked.render.network import with_picture
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace


def render(trace: Trace, settings: Settings) -> str:
    if settings.blanks is not None:  # a blank on paper is a line to write on
        settings = settings._replace(blanks=settings.blanks._replace(glyph="____"))
    return blocks_to_markdown(with_picture(build(trace, settings), trace, settings) if settings.network else
                              build(trace, settings))  # the picture only where it is written beside the file


def _text(text: str) -> str:
    """Prose as Markdown shows it, never as HTML or a link: a scenario's title or a layer's name may hold
    `<script>` or `[x](javascript:…)`, which a Markdown viewer would otherwise run or follow."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("](", "]\\(")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


class _Printer(BlockPrinter):
    def _print_Heading(self, block: Heading) -> str:
        return "#" * block.level + " " + _text(block.text)

    def _print_Para(self, block: Para) -> str:
        return _text(block.text)

    def _print_Image(self, block: Image) -> str:  # the path percent-encoded: it may hold spaces and brackets
        return f"![{_text(block.alt)}]({quote(block.path)})"

    def _print_Math(self, block: Math) -> str:
        return "```\n" + "\n".join(block.lines) + "\n```"

    def _print_Bullets(self, block: Bullets) -> str:
        return "\n".join(f"- {_text(item)}" for item in block.items)

    def _print_Table(self, block: Table) -> str:
        marks = ["---:" if a == "right" else "---" for a in (block.align or ["left"] * len(block.headers))]
        rows = [block.headers, *block.rows]
        return "\n".join(["| " + " | ".join(_cell(c) for c in rows[0]) + " |", "| " + " | ".join(marks) + " |",
                          *("| " + " | ".join(_cell(c) for c in r) + " |" for r in rows[1:])])

    def _print_Rule(self, block: Rule) -> str:
        return "---"

    def _print_Figure(self, block: Figure) -> str:  # SVG inside Markdown is not shown on GitHub: linked instead
        return _text(block.alt)


def blocks_to_markdown(blocks: list[Block]) -> str:
    printer = _Printer()
    return "\n\n".join(printer.print_block(block) for block in blocks) + "\n"  # type: ignore[misc]


def render_parts(trace: Trace, parts: list[Settings]) -> str:
    """Several renderings in one document, separated by a rule: a sheet and then its key."""
    return "\n---\n\n".join(render(trace, settings) for settings in parts)
