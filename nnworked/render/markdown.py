"""Markdown that reads like the seed documents and renders well on GitHub."""

from __future__ import annotations

import re
from urllib.parse import quote

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Figure, Heading, Image, Math, Para, Rule, Table
from nnworked.render.network import with_picture
from nnworked.render.settings import Settings
from nnworked.render.takeaways import key_takeaways
from nnworked.render.walkthrough import build
from nnworked.trace import Trace


def render(trace: Trace, settings: Settings) -> str:
    from nnworked.render import exam

    blanks = settings.blanks
    if blanks is not None:  # a blank on paper is a line to write on
        settings = settings._replace(blanks=blanks._replace(glyph="____"))
    if not exam.is_exam(blanks):
        blocks = build(trace, settings)
        if settings.network:  # the picture only where it is written beside the file
            blocks = with_picture(blocks, trace, settings)
        closing = key_takeaways(trace) if settings.blanks is None else []  # a sheet's answers it would state
        if closing:
            blocks = [*blocks, Rule(), *closing]
        return blocks_to_markdown(blocks, contents=True)
    assert blanks is not None and settings.blanks is not None
    # an exam: the name and ID line first, a box at each answer sized for the widest answer, the points
    text = blocks_to_markdown(build(trace, settings._replace(blanks=exam.marked(settings.blanks))))
    rest = exam.unmarked(trace, blanks, text)
    if rest:  # values the layout shows only inside a matrix get a line and a box of their own
        text += "\n## Also fill in\n\n```\n" + "\n".join(line + mark for line, mark in rest) + "\n```\n"
    width = exam.width(trace, blanks)
    text = exam.boxes(text, lambda key: f"[{'_' * width}] ({exam.points(blanks)})")
    identity = (f"**Name:** ______________________  **Student ID:** ______________  "
                f"**Score:** ____ / {exam.total(blanks)}  ·  variant {exam.code(blanks)}")
    return identity + "\n\n" + text


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


def blocks_to_markdown(blocks: list[Block], contents: bool = False) -> str:
    """The blocks as Markdown; with `contents`, a numbered table of contents of the sections (linked to the
    anchors GitHub gives their headings) before the first of them."""
    printer = _Printer()
    texts: list[str] = [printer.print_block(block) for block in blocks]  # type: ignore[misc]
    sections = [b.text for b in blocks if isinstance(b, Heading) and b.level == 2]
    if contents and len(sections) > 1:
        first = next(i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level == 2)
        if first and isinstance(blocks[first - 1], Rule):  # with the introduction, before its rule
            first -= 1
        texts.insert(first, table_of_contents(sections))
    return "\n\n".join(texts) + "\n"


def table_of_contents(sections: list[str]) -> str:
    """`## Table of Contents` and a numbered list of links, as the seed documents open."""
    seen: dict[str, int] = {}
    items = []
    for number, text in enumerate(sections, 1):
        slug = anchor(text)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        link = slug if count == 0 else f"{slug}-{count}"  # GitHub numbers a repeated heading's anchor
        label = _text(text).replace("[", "\\[").replace("]", "\\]")
        items.append(f"{number}. [{label}](#{link})")
    return "## Table of Contents\n\n" + "\n".join(items)


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


body = blocks_to_markdown  # neutral blocks as a part of a document, named as the other document printers name it


def render_parts(trace: Trace, parts: list[Settings]) -> str:
    """Several renderings in one document, separated by a rule: a sheet and then its key."""
    return "\n---\n\n".join(render(trace, settings) for settings in parts)
