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

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Figure, Heading, Image, Math, Para, Rule, Table
from nnworked.render.mathml import mathml
from nnworked.render.mathtext import BLANK as GLYPH, parse  # a blank while the page is built
from nnworked.render.network import with_picture
from nnworked.render.numbers import Blanks
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
figure.network { margin: 1rem 0; text-align: center; }
figure.network svg { max-width: 100%; height: auto; }
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

    def _print_Figure(self, block: Figure) -> str:  # the SVG inline: the page stays one file
        return f'<figure class="network">{block.svg}</figure>'


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
    from nnworked.render import exam

    blanks = settings.blanks
    if not exam.is_exam(blanks):  # mathematics typeset as MathML, each blank a box as wide as its answer
        if blanks is not None:
            settings = settings._replace(blanks=blanks._replace(glyph=GLYPH))
        return body(with_picture(build(trace, settings), trace, settings), typeset=True)
    # an exam keeps its worked lines as text: its answer boxes, points and names go where the blanks are
    assert blanks is not None
    settings = settings._replace(blanks=blanks._replace(glyph="\x01"))
    assert settings.blanks is not None
    text = body(build(trace, settings._replace(blanks=exam.marked(settings.blanks))))
    return _exam_page(trace, blanks, text)


EXAM_STYLE = """<style>
.exam-id { display: flex; gap: 0.6em; align-items: flex-end; border: 1px solid #000; padding: 0.8em; margin: 0 0 1em; }
.exam-id .write { flex: 1; border-bottom: 1px solid #000; height: 1.4em; }
.answer-box { display: inline-block; border: 1px solid #000; height: 1.7em; vertical-align: middle;
              text-align: right; font-size: 0.7em; color: #555; line-height: 1em; box-sizing: border-box; padding: 1px 2px; }
table.exam-page { width: 100%; border-collapse: collapse; }
table.exam-page > thead td, table.exam-page > tbody > tr > td { border: 0; padding: 0; }
.exam-code { display: flex; justify-content: flex-end; align-items: center; gap: 0.5em; font-family: monospace; }
</style>"""


def _exam_page(trace: Trace, blanks: Blanks, text: str) -> str:
    """An exam: the name and ID box first, an answer box at each asked value, and the variant code (and
    its QR code) in the head of a table around the page, which a browser repeats on every printed page."""
    from nnworked.render import exam

    rest = exam.unmarked(trace, blanks, text)
    if rest:  # values the layout shows only inside a matrix get a line and a box of their own
        text += "\n<h2>Also fill in</h2>\n<pre>" + "\n".join(html.escape(line) + mark for line, mark in rest) + "</pre>"
    width = exam.width(trace, blanks)
    text = exam.boxes(text, lambda key: f'<span class="answer-box" style="width: {width + 2}ch" '
                                        f'title="{html.escape(key)}">{exam.points(blanks)}</span>')
    code = html.escape(exam.code(blanks))
    identity = ('<div class="exam-id"><span>Name</span><span class="write"></span><span>Student ID</span>'
                f'<span class="write"></span><span>Score: ____ / {exam.total(blanks)}</span></div>')
    head = f'<div class="exam-code">{exam.qr_svg(exam.code(blanks))}<span>variant {code}</span></div>'
    return (f"{EXAM_STYLE}\n<table class=\"exam-page\"><thead><tr><td>{head}</td></tr></thead>\n"
            f"<tbody><tr><td>\n{identity}\n{text}\n</td></tr></tbody></table>")


def render(trace: Trace, settings: Settings) -> str:
    return document(trace.scenario.title, [part(trace, settings)])


def render_parts(trace: Trace, parts: list[Settings]) -> str:
    """Several renderings on one page, each printed from a new sheet of paper: a sheet and then its key."""
    return document(trace.scenario.title, [part(trace, settings) for settings in parts])
