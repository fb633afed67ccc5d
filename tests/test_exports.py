"""LaTeX that compiles with pdflatex, HTML checked in a real headless browser, Moodle XML cloze questions.

CI installs pdflatex and Chromium from the system's packages (.ci/run); a machine without them skips the
compile and browser checks, and says so."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nnworked import sheets
from nnworked.render import get
from nnworked.render.numbers import Blanks
from nnworked.render.settings import Settings
from tests.helpers import trace_of

AI = "ai-by-hand/"


def sheet_settings(name: str, answers: bool, seed: int = 2, **options: object) -> Settings:
    trace = trace_of(name)
    keys = sheets.choose(trace, "one-per-layer", seed)
    return Settings(blanks=Blanks(keys, answers, sheets.variant(trace, keys)), **options)  # type: ignore[arg-type]


# ---- LaTeX ---------------------------------------------------------------------------------------------

def compile_latex(text: str, folder: Path) -> bytes:
    (folder / "doc.tex").write_text(text, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=folder,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    return (folder / "doc.pdf").read_bytes()


def _missing_latex_packages() -> list[str]:
    """The packages the documents load that this TeX installation lacks (kpsewhich finds installed ones)."""
    from nnworked.render.latex import PREAMBLE

    wanted = [f"{name}.sty" for name in re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]+)\}", PREAMBLE)]
    found = subprocess.run(["kpsewhich", *wanted], capture_output=True, text=True).stdout.split()
    return [name for name in wanted if not any(path.endswith("/" + name) for path in found)]


def _latex_unavailable() -> str:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return "pdflatex is not installed (CI installs it: .ci/run)"
    missing = _missing_latex_packages()
    return f"LaTeX packages missing: {', '.join(missing)} (CI installs them: .ci/run)" if missing else ""


LATEX_UNAVAILABLE = _latex_unavailable()


def test_the_documents_load_only_packages_found_by_name() -> None:
    from nnworked.render.latex import PREAMBLE

    assert re.findall(r"\\usepackage(?:\[[^]]*\])?\{([^}]+)\}", PREAMBLE) == \
        ["fontenc", "lmodern", "geometry", "alltt", "amssymb", "amsmath"]


@pytest.mark.skipif(bool(LATEX_UNAVAILABLE), reason=LATEX_UNAVAILABLE)
@pytest.mark.parametrize("name, kind", [("spam", "full"), ("house_price", "walkthrough"), ("xor_batch", "walkthrough"),
                                        (AI + "7-backpropagation", "sheet"), (AI + "6-seven-layers", "both"),
                                        (AI + "1-matrix-multiplication", "walkthrough"), ("iris_softmax", "full")])
def test_latex_compiles(tmp_path: Path, name: str, kind: str) -> None:
    from nnworked.render import latex

    trace = trace_of(name)
    if kind == "both":
        text = latex.render_parts(trace, [sheet_settings(name, False), sheet_settings(name, True)])
    elif kind == "sheet":
        text = latex.render(trace, sheet_settings(name, False))
    else:
        text = latex.render(trace, Settings(detail="full" if kind == "full" else "default"))
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert compile_latex(text, tmp_path).startswith(b"%PDF")


def test_latex_escapes_what_latex_would_misread() -> None:
    from nnworked.render.latex import escape

    assert escape("z₁[0] = 50% & $5") == r"z\textsubscript{1}[0] = 50\% \& \$5"
    assert escape("∂L/∂ŷ − σ′ ⁽²⁾") == r"\ensuremath{\partial}L/\ensuremath{\partial}\ensuremath{\hat{y}} \ensuremath{-} " \
                                     r"\ensuremath{\sigma}\ensuremath{'} \textsuperscript{(2)}"


# ---- HTML ----------------------------------------------------------------------------------------------

def test_html_is_one_self_contained_page() -> None:
    page = get("html")(trace_of(AI + "7-backpropagation"), sheet_settings(AI + "7-backpropagation", False))
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page) and "@import" not in page
    assert "@media print" in page
    assert page.count('<span class="blank"') >= 7
    key = get("html")(trace_of(AI + "7-backpropagation"), sheet_settings(AI + "7-backpropagation", True))
    assert key.count('<mtr class="answer">') == 7  # each asked value's line, marked (tests/test_typeset.py has one)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium(*args: str, tmp: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={tmp / 'profile'}", "--enable-logging=stderr", "--v=0", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it)")
def test_html_in_a_headless_browser(tmp_path: Path) -> None:
    name = AI + "7-backpropagation"
    page = tmp_path / "sheet.html"
    from nnworked.render import html

    trace = trace_of(name)
    page.write_text(html.render_parts(trace, [sheet_settings(name, False), sheet_settings(name, True)]),
                    encoding="utf-8")
    result = chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert dom.count('class="part"') == 2  # the sheet, then the key
    sheet_part, key_part = dom.split('class="part"')[1:]
    assert sheet_part.count('class="blank"') >= 7
    assert '<mtr class="answer">' not in sheet_part and key_part.count('<mtr class="answer">') == 7
    assert dom.count("<math") > 40 and "<mfrac>" in dom and "<mtable" in dom  # MathML, as the browser read it
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr
    pdf = tmp_path / "sheet.pdf"
    printed = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri(), tmp=tmp_path)
    assert printed.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")


# ---- Moodle ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [AI + "7-backpropagation", AI + "6-seven-layers", "spam", "house_price"])
def test_moodle_cloze_questions(name: str) -> None:
    from tests.test_lms import cloze_fields  # Moodle's embedded answers (cloze) syntax, parsed

    trace = trace_of(name)
    settings = sheet_settings(name, False)
    root = ET.fromstring(get("moodle")(trace, settings))
    assert root.tag == "quiz"
    question = root.find("question")
    assert question.get("type") == "cloze"
    assert question.find("idnumber").text == settings.blanks.variant
    text = question.find("questiontext").find("text").text
    assert question.find("questiontext").get("format") == "html"
    fields = cloze_fields(text)
    values = sheets.quantities(trace)
    spelled = sheets.aliases(trace)  # each field's feedback names its value as the sheet prints it
    keys = [spelled.get(answers[0][3].removeprefix("Right: "), answers[0][3].removeprefix("Right: "))
            for _, answers in fields]
    assert sorted(keys) == sorted(settings.blanks.keys)  # every asked value, once
    for key, (points, answers) in zip(keys, fields):
        # right: the key as printed ± half a unit of its last decimal; under rounding: exact also the key to
        # one decimal fewer, exactly (where that is another number); then the mistakes, at 0%
        decimals = trace.precision.decimals_for(values[key])
        right = [(float(answer), float(tol)) for grade, answer, tol, _ in answers if grade == "="]
        expected = [(_half_up(values[key], decimals), 0.5 * 10.0 ** -decimals)]
        fewer = _half_up(values[key], decimals - 1)
        if not trace.precision.carry and abs(fewer - expected[0][0]) > expected[0][1]:
            expected.append((fewer, 0.0))
        assert points == 1 and [grade for grade, *_ in answers[:len(right)]] == ["="] * len(right)
        assert right == [(pytest.approx(v, abs=1e-12), pytest.approx(t, abs=1e-15)) for v, t in expected]
        assert all(grade == "%0%" for grade, *_ in answers[len(right):])
    feedback = question.find("generalfeedback").find("text").text
    assert "← answer" in feedback


def _half_up(value: float, decimals: int) -> float:
    """`value` to `decimals` places, half away from zero, in decimal arithmetic (as a key prints it)."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def test_moodle_needs_blanks() -> None:
    from nnworked.errors import NnworkedError

    with pytest.raises(NnworkedError, match="needs blanks"):
        get("moodle")(trace_of("spam"), Settings())
