"""Typeset mathematics: a worked line reaches the printers as a record of its stages (expression trees), and
LaTeX (amsmath) and HTML (MathML) set those stages as mathematics, while the terminal and Markdown print the
line's text as before (the golden files prove that). The expected LaTeX and MathML below were written by
hand from the spam walkthrough's golden lines (tests/golden/spam.md) and AI by Hand 7's sheet."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nnworked.bundled import names
from nnworked.render import html, latex
from nnworked.render.blocks import Math, Worked
from nnworked.render.formula import show
from nnworked.render.numbers import fmt, scientific
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from tests.helpers import trace_of
from tests.test_exports import AI, LATEX_UNAVAILABLE, compile_latex, sheet_settings

PDFTOTEXT_UNAVAILABLE = LATEX_UNAVAILABLE or ("" if shutil.which("pdftotext") else
                                              "pdftotext is not installed (poppler-utils; CI installs it: .ci/run)")


def worked_lines(blocks: list) -> list[Worked]:
    return [item for b in blocks if isinstance(b, Math) for item in b.items if isinstance(item, Worked)]


def test_a_worked_line_carries_its_stages_beside_its_text() -> None:
    trace = trace_of("spam")
    first = worked_lines(build(trace, Settings()))[1]  # after the parameter count
    assert first.text == ("z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21",)
    assert first.lhs == "z₁[0]" and first.prefix == () and first.blank == "" and first.suffix == ""
    assert [show(s, trace.precision) for s in first.stages] == ["(0.1 × 0.5) + (0.2 × 0.3) + 0.1",
                                                                 "0.05 + 0.06 + 0.1", "0.21"]
    assert first.value == pytest.approx(0.21)
    sigmoid = next(w for w in worked_lines(build(trace, Settings())) if w.lhs == "ŷ")
    assert sigmoid.prefix == ("σ(0.487)",)
    assert Math(["a note", sigmoid]).lines == ["a note", "ŷ = σ(0.487) = 1 / (1 + e^(−0.487)) = 1 / (1 + 0.6145) = "
                                                         "1 / 1.6145 = 0.6194"]


def test_a_worked_line_records_its_blank_when_it_is_built() -> None:
    """A sheet is decided while its lines are built: the record says which numbers are blanks, so a printer
    that prints it later needs no sheet of its own."""
    name = AI + "7-backpropagation"
    sheet = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, False))) if w.lhs == "z₁[0]")
    assert sheet.blank == "hidden" and sheet.value == -1 and sheet.text[0].endswith("(−5 × 1) = ?")
    # a blank used later: shown as a blank there too (0 × ? gives nothing away, so the value stands)
    later = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, False))) if w.lhs == "z₂[1]")
    assert later.hidden == {"a1[0]"} and later.blank == "" and later.value == 4
    assert later.text == ("z₂[1] = (0 × ?) + (1 × 3) + (−1 × 5) + (1 × 3) + (3 × 1) = ? + 3 − 5 + 3 + 3 = 4",)
    key = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, True))) if w.lhs == "z₁[0]")
    assert key.blank == "answer" and key.suffix == "" and key.hidden == frozenset()
    assert key.text == ("z₁[0] = (1 × 2) + (−1 × 1) + (1 × 3) + (−5 × 1) = 2 − 1 + 3 − 5 = −1   ← answer",)


# ---- LaTeX ------------------------------------------------------------------------------------------------

def test_latex_sets_each_worked_line_as_aligned_mathematics() -> None:
    document = latex.render(trace_of("spam"), Settings())
    assert r"\begin{alltt}" not in document  # no worked line is typewriter text
    assert "{\\small\n\\begin{align*}\n"  \
           "z_{1} [ 0 ] &= (0.1 \\times 0.5) + (0.2 \\times 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21 \\\\[1ex]\n" \
           "z_{1} [ 1 ] &= (0.3 \\times 0.5) + (0.4 \\times 0.3) + 0.2 = 0.15 + 0.12 + 0.2 = 0.47\n" \
           "\\end{align*}\n}" in document
    lines = document.splitlines()
    assert r"\hat{y} &= \sigma ( 0.487 ) = \frac{1}{1 + e^{-0.487}} = \frac{1}{1 + 0.6145} = \frac{1}{1.6145} = 0.6194" \
        in lines
    assert r"\frac{\partial L}{\partial W_{2} [ 0 ]} &= -0.3806 \times 0.21 = -0.0799 \\" in lines
    assert r"W_{2} [ 0 ]^{\text{new}} &= 0.5 - (0.1 \times (-0.0799)) = 0.5 + 0.00799 = 0.5080 \\" in lines
    assert r"W_{1} &= \begin{bmatrix} 0.1 & 0.2 \\ 0.3 & 0.4 \end{bmatrix} \quad ( 2 \times 2 ) \\[1ex]" in lines
    assert r"\delta_{2} &= \hat{y} - y = 0.6194 - 1 = -0.3806 \quad \checkmark" in lines


def test_latex_has_sections_and_a_table_of_contents() -> None:
    document = latex.render(trace_of("spam"), Settings())
    assert document.index(r"\tableofcontents") < document.index(r"{\LARGE\bfseries Spam filter: one training step\par}")
    assert r"\section{Forward Pass}" in document and r"\subsection{Step 1.1: Input to Hidden Layer}" in document
    assert r"\textbf{Result:} $z_{1} = [ 0.21 , 0.47 ]$" in document  # a stated value is mathematics too


def test_a_long_line_breaks_between_its_stages() -> None:
    document = latex.render(trace_of(AI + "6-seven-layers"), Settings())
    assert "\n".join([r"\text{parameters} &= (5 \times 3) + (2 \times 5) + (3 \times 2) + (2 \times 3) + (2 \times 2) + "
                      r"(2 \times 2) + (1 \times 2) \\",
                      r" &= 15 + 10 + 6 + 6 + 4 + 4 + 2 = 47"]) in document


def test_a_sheet_has_boxes_sized_for_the_answers_and_the_key_marks_them() -> None:
    name = AI + "7-backpropagation"
    sheet = latex.render(trace_of(name), sheet_settings(name, False)).splitlines()
    # z₁[0] is −1: two characters, and room for one more
    box = r"\fbox{\rule{0pt}{1.8ex}\rule{1.65em}{0pt}}"
    assert rf"z_{{1}} [ 0 ] &= (1 \times 2) + (-1 \times 1) + (1 \times 3) + (-5 \times 1) = {box} \\" in sheet
    key = latex.render(trace_of(name), sheet_settings(name, True)).splitlines()
    assert r"z_{1} [ 0 ] &= (1 \times 2) + (-1 \times 1) + (1 \times 3) + (-5 \times 1) = 2 - 1 + 3 - 5 = \boxed{-1} " \
           r"\tag*{$\leftarrow$ answer} \\" in key


def test_latex_prose_uses_true_minus_signs() -> None:
    assert latex.escape("δ = ŷ − y") == r"\ensuremath{\delta} = \ensuremath{\hat{y}} \ensuremath{-} y"


def _pdf_text(document: str, folder: Path) -> str:
    compile_latex(document, folder)
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", "doc.pdf", "-"], cwd=folder, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _shown(line: Worked) -> str:
    return fmt(line.value, line.precision)


@pytest.mark.skipif(bool(PDFTOTEXT_UNAVAILABLE), reason=PDFTOTEXT_UNAVAILABLE)
@pytest.mark.parametrize("name", names())
def test_every_bundled_scenario_compiles_and_its_pdf_holds_the_worked_numbers(tmp_path: Path, name: str) -> None:
    trace = trace_of(name)
    text = _pdf_text(latex.render(trace, Settings()), tmp_path)
    values = [_shown(line) for line in worked_lines(build(trace, Settings())) if not line.terms]
    assert values
    missing = [v for v in values if not scientific(v) and v not in text]
    assert not missing, missing


@pytest.mark.skipif(bool(PDFTOTEXT_UNAVAILABLE), reason=PDFTOTEXT_UNAVAILABLE)
def test_a_sheet_and_its_key_compile_and_the_key_marks_every_answer_line(tmp_path: Path) -> None:
    name = AI + "6-seven-layers"
    trace = trace_of(name)
    sheet, key = sheet_settings(name, False), sheet_settings(name, True)
    text = _pdf_text(latex.render_parts(trace, [sheet, key]), tmp_path)
    sheet_text, key_text = text.split("Answer key", 1)
    marked = [line for line in worked_lines(build(trace, key)) if line.blank == "answer"]
    assert len(marked) >= 5
    assert "← answer" not in sheet_text and key_text.count("← answer") == len(marked) + 1  # and the key's header
    for line in marked:
        assert _shown(line) in key_text


# ---- HTML -------------------------------------------------------------------------------------------------

Z1 = ('<mtr><mtd class="lhs"><mrow><msub><mi>z</mi><mn>1</mn></msub><mo stretchy="false" lspace="0" rspace="0">[</mo>'
      '<mn>0</mn><mo stretchy="false" lspace="0" rspace="0">]</mo></mrow></mtd><mtd class="rhs"><mrow><mo>=</mo><mrow>'
      '<mrow><mo lspace="0" rspace="0">(</mo><mrow><mn>0.1</mn><mo>×</mo><mn>0.5</mn></mrow><mo lspace="0" rspace="0">)'
      '</mo></mrow><mo>+</mo><mrow><mo lspace="0" rspace="0">(</mo><mrow><mn>0.2</mn><mo>×</mo><mn>0.3</mn></mrow>'
      '<mo lspace="0" rspace="0">)</mo></mrow><mo>+</mo><mn>0.1</mn></mrow><mo>=</mo><mrow><mn>0.05</mn><mo>+</mo>'
      '<mn>0.06</mn><mo>+</mo><mn>0.1</mn></mrow><mo>=</mo><mn>0.21</mn></mrow></mtd></mtr>')
YHAT = ('<mtr><mtd class="lhs"><mrow><mover accent="true"><mi>y</mi><mo>^</mo></mover></mrow></mtd><mtd class="rhs">'
        '<mrow><mo>=</mo><mrow><mi>σ</mi><mo stretchy="false" lspace="0" rspace="0">(</mo><mn>0.487</mn>'
        '<mo stretchy="false" lspace="0" rspace="0">)</mo></mrow><mo>=</mo><mfrac><mn>1</mn><mrow><mn>1</mn><mo>+</mo>'
        '<msup><mi>e</mi><mrow><mo>−</mo><mn>0.487</mn></mrow></msup></mrow></mfrac><mo>=</mo><mfrac><mn>1</mn><mrow>'
        '<mn>1</mn><mo>+</mo><mn>0.6145</mn></mrow></mfrac><mo>=</mo><mfrac><mn>1</mn><mn>1.6145</mn></mfrac><mo>=</mo>'
        '<mn>0.6194</mn></mrow></mtd></mtr>')


def math_elements(page: str) -> list[ET.Element]:
    """Every <math> element of the page, parsed as XML: well-formed MathML or an error."""
    return [ET.fromstring(fragment) for fragment in re.findall(r"<math\b.*?</math>", page, re.DOTALL)]


def test_html_sets_worked_lines_as_mathml() -> None:
    page = html.render(trace_of("spam"), Settings())
    assert "<pre>" not in page and Z1 in page and YHAT in page
    elements = math_elements(page)
    assert len(elements) > 30
    tags = {e.tag for m in elements for e in m.iter()}
    assert {"math", "mrow", "mi", "mn", "mo", "mfrac", "msub", "msup", "mtable", "mtr", "mtd"} <= tags
    assert '<msub><mi>W</mi><mn>1</mn></msub></mrow></mtd><mtd class="rhs"><mrow><mo>=</mo><mrow><mo>[</mo>' \
           '<mtable class="matrix"><mtr><mtd><mrow><mn>0.1</mn></mrow></mtd><mtd><mrow><mn>0.2</mn></mrow></mtd></mtr>' \
           '<mtr><mtd><mrow><mn>0.3</mn></mrow></mtd><mtd><mrow><mn>0.4</mn></mrow></mtd></mtr></mtable><mo>]</mo>' in page


def test_html_sheet_boxes_and_key_marks() -> None:
    name = AI + "7-backpropagation"
    page = html.render_parts(trace_of(name), [sheet_settings(name, False), sheet_settings(name, True)])
    sheet, key = page.split('<section class="part">')[1:]
    math_elements(page)
    # z₁[0] is −1: a box of three characters' width
    assert '<mo>=</mo><mtext><span class="blank" style="width: 1.8em"></span></mtext></mrow></mtd></mtr>' in sheet
    assert 'class="answer"' not in sheet and key.count('<mtr class="answer">') == 7
    assert '<mo>=</mo><mrow class="answer"><mrow><mo>−</mo><mn>1</mn></mrow></mrow></mrow></mtd>' \
           '<mtd class="mark"><mtext>← answer</mtext></mtd></mtr>' in key


def test_moodle_keeps_worked_lines_as_text() -> None:
    """A Moodle question's editor may drop MathML: its worked lines stay preformatted text."""
    from nnworked.render import get

    name = AI + "7-backpropagation"
    question = get("moodle")(trace_of(name), sheet_settings(name, False))
    assert "<math" not in question and ("&lt;pre&gt;" in question or "<pre>" in question)


def test_text_read_as_mathematics_stays_escaped(tmp_path: Path) -> None:
    """A formula line may hold a scenario's names: TeX's specials and HTML's markup stay characters."""
    from nnworked.render.mathml import mathml
    from nnworked.render.mathtext import parse
    from nnworked.render.texmath import tex

    hostile = r"x$_1&#{}\input{/etc/passwd} ^~% <script>alert(1)</script> = 2"
    math = tex(parse(hostile))
    assert r"\input" not in math and "$" not in math.replace(r"\$", "")
    markup = mathml(parse(hostile))
    assert "<script" not in markup
    ET.fromstring(f"<math>{markup}</math>")
    if not LATEX_UNAVAILABLE:
        compile_latex(latex.document([f"\\[ {math} \\]\n"]), tmp_path)
