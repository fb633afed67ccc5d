"""A complete LaTeX document that compiles with pdflatex: the walkthrough, an exercise sheet, its key.

Worked lines are typeset mathematics (amsmath): each line's `=` chain aligned, broken between its stages
when it is long, its stages set from the same expression trees the text is printed from (nnworked/render/
typeset.py), matrices as bmatrix; on a sheet a blank is an empty box sized for its answer, in a key the
answer is boxed and marked. Sections are numbered in a table of contents (pdflatex, run twice, fills it
in). Prose is escaped: every character outside plain ASCII is written as the LaTeX command that prints it,
so no Unicode font setup is needed.
"""

from __future__ import annotations

import re

from nnworked.render.blocks import Block, BlockPrinter, Bullets, Figure, Heading, Image, Math, Para, Rule, Table
from nnworked.render.mathtext import BLANK, parse
from nnworked.render.network import with_picture
from nnworked.render.numbers import Blanks
from nnworked.render.texmath import box, tex
from nnworked.render.typeset import Line, lines
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from nnworked.trace import Trace

PREAMBLE = r"""\documentclass[11pt,a4paper]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage[margin=1.6cm]{geometry}
\usepackage{alltt}  % an exam sheet's worked lines, where its answer boxes go
\usepackage{amssymb}
\usepackage{amsmath}
\IfFileExists{tikz.sty}{\RequirePackage{tikz}}{}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
\setcounter{secnumdepth}{0}
\allowdisplaybreaks
\begin{document}
\tableofcontents
"""

_MATH = {
    "−": "-", "×": r"\times", "·": r"\cdot", "∂": r"\partial", "σ": r"\sigma", "δ": r"\delta", "η": r"\eta",
    "θ": r"\theta", "λ": r"\lambda", "μ": r"\mu", "ρ": r"\rho", "β": r"\beta", "γ": r"\gamma", "ε": r"\varepsilon",
    "α": r"\alpha", "Σ": r"\Sigma", "⊙": r"\odot", "⊗": r"\otimes", "→": r"\rightarrow", "←": r"\leftarrow",
    "≤": r"\leq", "≥": r"\geq", "÷": r"\div", "½": r"\tfrac{1}{2}",
    "√": r"\surd", "∞": r"\infty", "⋮": r"\vdots", "′": r"'", "ŷ": r"\hat{y}", "ᵀ": r"^{T}",
    "│": r"|", "✓": r"\checkmark", "…": r"\ldots", "≈": r"\approx", "‖": r"\|",
}
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙ", "0123456789ijkn"))
_SUP = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁽⁾ᵗⁿ", "0123456789-()tn"))
_TEXT = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
         "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}", "─": "-", "•": r"\textbullet{}",
         "“": "``", "”": "''", "’": "'", "‘": "`", "—": "---", "–": "--", "|": r"\textbar{}", "<": r"\textless{}",
         ">": r"\textgreater{}"}


def escape(text: str) -> str:
    """Plain text to LaTeX; runs of subscripts and superscripts become one \\textsubscript{…}."""
    text = text.replace("m̂", "\x00m").replace("v̂", "\x00v")  # a letter with a combining hat
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\x00":
            out.append(rf"\ensuremath{{\hat{{{text[i + 1]}}}}}")
            i += 2
            continue
        for table, command in ((_SUB, r"\textsubscript"), (_SUP, r"\textsuperscript")):
            if char in table:
                run = ""
                while i < len(text) and text[i] in table:
                    run += table[text[i]]
                    i += 1
                out.append(f"{command}{{{run}}}")
                break
        else:
            if char in _MATH:
                out.append(f"\\ensuremath{{{_MATH[char]}}}")
            elif char in _TEXT:
                out.append(_TEXT[char])
            elif ord(char) < 128:
                out.append(char)
            else:
                out.append("?")  # a character with no LaTeX spelling here: visible, never a compile error
            i += 1
    return "".join(out)


def inline(text: str) -> str:
    parts = re.split(r"(\*\*.+?\*\*|`.+?`)", text)
    out = []
    for part in parts:
        if part.startswith("**") and part.endswith("**"):
            out.append(r"\textbf{" + escape(part[2:-2]) + "}")
        elif part.startswith("`") and part.endswith("`") and " = " in part:  # a result: `z₁ = [0.21, 0.47]`
            out.append(f"${tex(parse(part[1:-1]))}$")
        elif part.startswith("`") and part.endswith("`"):
            out.append(r"\texttt{" + escape(part[1:-1]) + "}")
        else:
            out.append(escape(part))
    return "".join(out)


class _Printer(BlockPrinter):
    def __init__(self, typeset: bool = True):
        self.typeset = typeset  # mathematics typeset (amsmath); else worked lines as fixed-width text

    def _print_Heading(self, block: Heading) -> str:
        if block.level == 1:  # the title
            return rf"{{\LARGE\bfseries {inline(block.text)}\par}}"
        command = {2: r"\section", 3: r"\subsection"}.get(block.level, r"\subsubsection")
        return f"{command}{{{inline(block.text)}}}"

    def _print_Para(self, block: Para) -> str:
        return inline(block.text)

    def _print_Image(self, block: Image) -> str:
        # the chart is an SVG beside the document, which pdflatex cannot include: the document names it
        return inline(f"{block.alt}: `{block.path}`")

    def _print_Math(self, block: Math) -> str:
        """Lines with an `=` in one align* (their = signs under each other); a line without one, such as
        a note, as a line of its own. Untypeset (an exam's, which draws its boxes in the text), as alltt."""
        if not self.typeset:
            return "{\\footnotesize\\begin{alltt}\n" + "\n".join(escape(line) for line in block.lines) + \
                "\n\\end{alltt}}"
        out: list[str] = []
        rows: list[str] = []
        for line in lines(block):
            if line.lhs is None:
                if rows:
                    out.append(_align(rows))
                    rows = []
                out.append(rf"\noindent${tex(line.stages[0])}$\par")
                continue
            if line.gap and rows:
                rows[-1] += "[1ex]"
            rows += _rows(line)
        if rows:
            out.append(_align(rows))
        return "{\\small\n" + "\n".join(out) + "\n}"

    def _print_Bullets(self, block: Bullets) -> str:
        return "\\begin{itemize}\n" + "\n".join(f"\\item {inline(item)}" for item in block.items) + "\n\\end{itemize}"

    def _print_Table(self, block: Table) -> str:
        align = "".join("r" if a == "right" else "l" for a in (block.align or ("left",) * len(block.headers)))
        rows = [" & ".join(inline(c) for c in row) + r" \\" for row in block.rows]
        return (f"\\begin{{tabular}}{{{align}}}\n\\hline\n" + " & ".join(rf"\textbf{{{inline(h)}}}" for h in block.headers)
                + " \\\\\n\\hline\n" + "\n".join(rows) + "\n\\hline\n\\end{tabular}")

    def _print_Rule(self, block: Rule) -> str:
        return r"\medskip\hrule\medskip"

    def _print_Figure(self, block: Figure) -> str:  # drawn by TikZ, which pdflatex compiles
        return block.tikz


def _rows(line: Line) -> list[str]:
    """`lhs &= stage = stage` and `&= stage` for each further row; in a key the answer boxed and marked."""
    stages = [tex(s) for s in line.stages]
    if line.answer:
        stages[-1] = rf"\boxed{{{stages[-1]}}}"
    out, k = [], 0
    for number, part in enumerate(line.rows()):
        chain = " = ".join(stages[k:k + len(part)])
        k += len(part)
        out.append((tex(line.lhs) if number == 0 else "") + " &= " + chain)  # type: ignore[arg-type]
    if line.note is not None:
        out[-1] += r" \quad " + tex(line.note)
    if line.answer:
        out[-1] += r" \tag*{$\leftarrow$ answer}"
    return [r + r" \\" for r in out]


def _align(rows: list[str]) -> str:
    rows[-1] = rows[-1].removesuffix(r" \\")
    return "\\begin{align*}\n" + "\n".join(rows) + "\n\\end{align*}"


def body(blocks: list[Block], typeset: bool = True) -> str:
    printer = _Printer(typeset)
    return "\n\n".join(printer.print_block(block) for block in blocks) + "\n"  # type: ignore[misc]


def document(bodies: list[str]) -> str:
    """One document of one or more parts (a sheet and its key), each on its own pages."""
    return PREAMBLE + "\n\\newpage\n".join(bodies) + "\\end{document}\n"


def part(trace: Trace, settings: Settings) -> str:
    from nnworked.render import exam

    blanks = settings.blanks
    if not exam.is_exam(blanks):  # typeset, each blank a box as wide as its answer
        if blanks is not None:
            settings = settings._replace(blanks=blanks._replace(glyph=BLANK))
        return body(with_picture(build(trace, settings), trace, settings)).replace(BLANK, box(4))
    # an exam keeps its worked lines as text: its answer boxes and points go where the blanks are
    assert blanks is not None
    settings = settings._replace(blanks=blanks._replace(glyph="\x01"))
    assert settings.blanks is not None
    text = body(build(trace, settings._replace(blanks=exam.marked(settings.blanks))), typeset=False)
    return _exam_page(trace, blanks, text.replace("\x01", r"\underline{\hspace{2.5em}}"))


def _exam_page(trace: Trace, blanks: Blanks, text: str) -> str:
    """An exam: the name and ID box first, an answer box at each asked value, and the variant code (and
    its QR code) at the top of every page, in a page style of this part's own (a document of several
    variants gives each its own code)."""
    from nnworked.render import exam

    rest = exam.unmarked(trace, blanks, text)
    if rest:  # values the layout shows only inside a matrix get a line and a box of their own
        text += ("\n\\section*{Also fill in}\n\\begin{alltt}\n" +
                 "\n".join(escape(line) + mark for line, mark in rest) + "\n\\end{alltt}\n")
    width = exam.width(trace, blanks)
    text = exam.boxes(text, lambda key: rf"\fbox{{\rule{{0pt}}{{1.1em}}\makebox[{width + 1}ex][r]"
                                        rf"{{\tiny {escape(exam.points(blanks))}}}}}")
    code = escape(exam.code(blanks))
    qr = exam.qr_latex(exam.code(blanks))
    head = (r"\makeatletter\def\ps@exam{\def\@oddhead{\hfil\raisebox{-0.6\height}[0pt][0pt]{" + qr +
            r"}\quad\texttt{variant " + code + r"}}\def\@evenhead{\@oddhead}"
            r"\def\@oddfoot{\hfil\thepage\hfil}\def\@evenfoot{\@oddfoot}}\makeatother\pagestyle{exam}")
    identity = (r"\noindent\framebox[\linewidth]{\rule{0pt}{2.2em}Name:\ \hrulefill\quad Student ID:\ "
                rf"\hrulefill\quad Score: \underline{{\hspace{{3em}}}} / {exam.total(blanks)}}}")
    return f"{head}\n\n{identity}\n\n{text}"


def render(trace: Trace, settings: Settings) -> str:
    return document([part(trace, settings)])


def render_parts(trace: Trace, parts: list[Settings]) -> str:
    """Several renderings in one document, each from a new page: a sheet and then its key."""
    return document([part(trace, settings) for settings in parts])
