"""One self-contained HTML file: no script, no font or stylesheet fetched, and it prints cleanly.

Worked lines are MathML, which browsers render natively, set from the same expression trees as the text
(nnworked/render/typeset.py): each line's `=` chain in a table whose `=` signs align, broken between stages
when it is long. A blank on a sheet is an empty box sized for its answer (<span class="blank">); in a key
the answer's row is marked (class="answer") and its value highlighted. `body` without MathML prints worked
lines as preformatted text (a Moodle question, whose editor may not keep MathML, uses it).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Heading, Image, Math, Para, Rule, Table
from nnworked.render.mathml import mathml
from nnworked.render.mathtext import BLANK as GLYPH, parse  # a blank while the page is built
from nnworked.render.typeset import Line, lines
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

STYLE = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #111; }
.math { overflow-x: auto; overflow-y: hidden; margin: 0.5rem 0; }
math { font-size: 1.05em; }
mtable.worked mtd { padding: 0.15em 0; }
mtable.worked mtd.lhs { text-align: right; }
mtable.worked mtd.rhs { text-align: left; }
mtable.worked mtr.gap mtd { padding-top: 0.8em; }
mtable.worked mtd.mark { padding-left: 1.2em; font-style: italic; }
mtable.matrix mtd { padding: 0.1em 0.4em; text-align: right; }
mtable.matrix mtd.bar { border-left: 1px solid #000; }
mtable.matrix mtr.rule mtd { border-top: 1px solid #000; }
mrow.answer { background: #fff3a8; padding: 0 0.2em; }
p.note { margin: 0.3rem 0; }
pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.85rem; background: #f6f6f2;
      padding: 0.6rem 0.8rem; overflow-x: auto; white-space: pre; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border-bottom: 1px solid #bbb; padding: 0.2rem 0.8rem; }
td.right, th.right { text-align: right; font-family: monospace; }
.blank { display: inline-block; min-width: 3.5em; border-bottom: 1px solid #000; height: 1em; }
math .blank { min-width: 1.5em; border: 1px solid #000; height: 0.95em; vertical-align: -0.2em; }
mark.answer { background: #fff3a8; }
hr { border: 0; border-top: 1px solid #ccc; margin: 1.5rem 0; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  pre { background: none; border-left: 2px solid #999; white-space: pre-wrap; font-size: 8.5pt; }
  h2, h3 { page-break-after: avoid; }
  pre, table, .math { page-break-inside: avoid; }
  .math { overflow: visible; }
  mrow.answer { background: none; border: 1px solid #000; }
  .part { page-break-before: always; }
  .part:first-of-type { page-break-before: auto; }
}
"""
BLANK = '<span class="blank"></span>'


def inline(text: str, typeset: bool = False) -> str:
    """**bold**, `code`; with `typeset`, a code span that states a value (`z₁ = [0.21, 0.47]`) as MathML."""
    out = []
    for part in re.split(r"(\*\*.+?\*\*|`.+?`)", text):
        if part.startswith("**") and part.endswith("**"):
            out.append(f"<strong>{_text(part[2:-2])}</strong>")
        elif typeset and part.startswith("`") and part.endswith("`") and " = " in part:  # `z₁ = [0.21, 0.47]`
            out.append(f"<math>{mathml(parse(part[1:-1]))}</math>")
        elif part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{_text(part[1:-1])}</code>")
        else:
            out.append(_text(part))
    return "".join(out)


def _text(text: str) -> str:
    escaped = html.escape(text, quote=False).replace("\x01", BLANK)
    if ANSWER not in escaped:
        return escaped
    # line by line: a regular expression `(.*?)   ← answer$` retried at every position of a long worked line
    # without the mark costs the square of its length
    return "\n".join(f'<mark class="answer">{line[:-len(ANSWER)]}</mark>' if line.endswith(ANSWER) else line
                     for line in escaped.split("\n"))


ANSWER = "   ← answer"


class _Printer(BlockPrinter):
    def __init__(self, typeset: bool = False):
        self.typeset = typeset  # worked lines as MathML (else as preformatted text)

    def inline(self, text: str) -> str:
        return inline(text, self.typeset)

    def _print_Heading(self, block: Heading) -> str:
        return f"<h{block.level}>{self.inline(block.text)}</h{block.level}>"

    def _print_Para(self, block: Para) -> str:
        return f"<p>{self.inline(block.text)}</p>"

    def _print_Image(self, block: Image) -> str:  # the loss chart: an SVG file beside the page
        return f'<p><img src="{html.escape(quote(block.path))}" alt="{html.escape(block.alt)}"></p>'

    def _print_Math(self, block: Math) -> str:
        if self.typeset:
            return _math(block)
        return "<pre>" + "\n".join(_text(line) for line in block.lines) + "</pre>"

    def _print_Bullets(self, block: Bullets) -> str:
        return "<ul>" + "".join(f"<li>{self.inline(item)}</li>" for item in block.items) + "</ul>"

    def _print_Table(self, block: Table) -> str:
        align = block.align or ("left",) * len(block.headers)
        head = "".join(f'<th class="{a}">{self.inline(h)}</th>' for h, a in zip(block.headers, align))
        rows = "".join("<tr>" + "".join(f'<td class="{a}">{self.inline(c)}</td>' for c, a in zip(row, align)) + "</tr>"
                       for row in block.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"

    def _print_Rule(self, block: Rule) -> str:
        return "<hr>"


def _math(block: Math) -> str:
    """Lines with an `=` in one table, their = signs under each other; a line without one on its own."""
    out: list[str] = []
    rows: list[str] = []
    for line in lines(block):
        if line.lhs is None:
            if rows:
                out.append(_table(rows))
                rows = []
            out.append(f'<p class="note"><math>{mathml(line.stages[0])}</math></p>')
            continue
        rows += _rows(line, gap=line.gap and bool(rows))
    if rows:
        out.append(_table(rows))
    return "\n".join(out)


def _table(rows: list[str]) -> str:
    return '<div class="math"><math display="block"><mtable class="worked">' + "".join(rows) + "</mtable></math></div>"


def _rows(line: Line, gap: bool) -> list[str]:
    """`lhs = stage = stage` and `= stage` for each further row; in a key the answer highlighted and marked."""
    stages = [mathml(s) for s in line.stages]
    if line.answer:
        stages[-1] = f'<mrow class="answer">{stages[-1]}</mrow>'
    out, k = [], 0
    parts = line.rows()
    for number, part in enumerate(parts):
        chain = "".join(f"<mo>=</mo>{stage}" for stage in stages[k:k + len(part)])
        k += len(part)
        lhs = mathml(line.lhs) if number == 0 else ""  # type: ignore[arg-type]
        if number == len(parts) - 1 and line.note is not None:
            chain += f'<mspace width="1em"></mspace>{mathml(line.note)}'
        mark = '<mtd class="mark"><mtext>← answer</mtext></mtd>' if line.answer and number == len(parts) - 1 else ""
        classes = " ".join(c for c, on in (("gap", gap and number == 0), ("answer", bool(mark))) if on)
        attribute = f' class="{classes}"' if classes else ""
        out.append(f'<mtr{attribute}><mtd class="lhs">{lhs}</mtd><mtd class="rhs"><mrow>{chain}</mrow></mtd>{mark}'
                   "</mtr>")
    return out


def body(blocks: list[Block], typeset: bool = False) -> str:
    printer = _Printer(typeset)
    return "\n".join(printer.print_block(block) for block in blocks)  # type: ignore[misc]


def document(title: str, bodies: list[str]) -> str:
    parts = "\n".join(f'<section class="part">\n{b}\n</section>' for b in bodies)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{parts}\n</body>\n</html>\n")


def part(trace: Trace, settings: Settings) -> str:
    if settings.blanks is not None:
        settings = settings._replace(blanks=settings.blanks._replace(glyph=GLYPH))
    return body(build(trace, settings), typeset=True)


def render(trace: Trace, settings: Settings) -> str:
    return document(trace.scenario.title, [part(trace, settings)])


def render_parts(trace: Trace, parts: list[Settings]) -> str:
    """Several renderings on one page, each printed from a new sheet of paper: a sheet and then its key."""
    return document(trace.scenario.title, [part(trace, settings) for settings in parts])
