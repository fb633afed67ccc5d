"""Printable exam sheets (`--exam`): nothing computed from a blank shown, a name and ID box, an answer box
at each asked value (all as wide as the widest answer), points per blank and their total, the variant code
on every printed page (a QR code in HTML and LaTeX), and different blanks per variant when asked."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import nnworked
from nnworked.api import render
from nnworked.errors import NnworkedError
from tests.test_cli import cli
from tests.test_exports import CHROMIUM, LATEX_UNAVAILABLE, chromium, compile_latex

PDFTOTEXT = shutil.which("pdftotext")


def key_answers(name: str, *options: str) -> list[str]:
    """The answers as the key's closing table prints them (Value | Answer)."""
    key = cli("run", name, "--answers", "--format", "markdown", *options).stdout
    return re.findall(r"^\| \S+\[[0-9,]+\] \| (\S+) \|$", key.split("## Answers")[1], re.M)


def test_an_exam_in_markdown_has_a_name_box_answer_boxes_and_points() -> None:
    sheet = cli("run", "spam", "--exam", "--format", "markdown").stdout
    assert sheet.splitlines()[0] == ("**Name:** ______________________  **Student ID:** ______________  "
                                     "**Score:** ____ / 6  ·  variant v-18bc80")
    answers = key_answers("spam")
    assert len(answers) == 6 and max(map(len, answers)) == 7  # −0.1142
    box = "[" + "_" * 9 + "] (1 pt)"  # the widest answer and two characters more, on every box alike
    assert sheet.count(box) == 6 and sheet.count("] (1 pt)") == 6
    assert "z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = " + box in sheet.splitlines()
    # the reveal policy none: no value computed from a blank anywhere, the loss (0.4790) included
    assert not any(answer in sheet for answer in answers if answer not in ("0.21",)) and "0.4790" not in sheet
    assert "Every value computed from a blank is hidden too, wherever it appears." in sheet


def test_points_per_blank_are_settable_and_weight_the_lms_fields_too(tmp_path: Path) -> None:
    sheet = cli("run", "spam", "--exam", "--points", "2", "--format", "markdown").stdout
    assert "**Score:** ____ / 12" in sheet and sheet.count("] (2 pts)") == 6
    moodle = cli("run", "spam", "--exercise", "--points", "3", "--format", "moodle").stdout
    assert moodle.count("{3:NUMERICAL:=") == 6 and "{1:NUMERICAL:" not in moodle
    refused = cli("run", "spam", "--exam", "--points", "0")
    assert refused.returncode == 2 and "--points" in refused.stderr
    with pytest.raises(NnworkedError, match="an exam reveals nothing computed from a blank"):
        render(nnworked.solve("spam"), "markdown", exam=True, reveal="guided")


def test_the_answer_key_of_an_exam_is_a_plain_key() -> None:
    both = cli("run", "spam", "--exam", "--answers", "--format", "markdown").stdout
    sheet, key = both.split("\n---\n\n**Answer key**")
    assert sheet.count("] (1 pt)") == 6 and "(1 pt)" not in key and "**Name:**" not in key


def qr_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules an exam's SVG QR code draws: each path piece is `Mx yhNv1h-Nz`, a run of N."""
    dark = set()
    for x, y, length in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", svg):
        dark |= {(int(x) + i - 4, int(y) - 4) for i in range(int(length))}
    return dark


def test_the_qr_code_holds_the_variant_code() -> None:
    import segno

    from nnworked.render.exam import qr_svg

    svg = qr_svg("v-18bc80")
    matrix = segno.make("v-18bc80", error="m", micro=False).matrix
    assert qr_modules(svg) == {(x, y) for y, row in enumerate(matrix) for x, cell in enumerate(row) if cell}
    dark = qr_modules(svg)
    size = len(matrix)
    for left, top in ((0, 0), (size - 7, 0), (0, size - 7)):  # the three finder patterns: a ring, a 3×3 core
        ring = {(left + i, top + j) for i in range(7) for j in range(7) if i in (0, 6) or j in (0, 6)}
        core = {(left + i, top + j) for i in range(2, 5) for j in range(2, 5)}
        gap = {(left + i, top + j) for i in range(1, 6) for j in range(1, 6)} - core
        assert ring | core <= dark and not gap & dark


def test_an_html_exam_carries_its_code_and_qr_in_a_head_repeated_on_every_page() -> None:
    page = cli("run", "spam", "--exam", "--format", "html").stdout
    head = re.search(r'<table class="exam-page"><thead><tr><td>(.*?)</td></tr></thead>', page).group(1)
    assert "<span>variant v-18bc80</span>" in head and '<svg class="qr"' in head
    assert page.count('class="answer-box" style="width: 11ch"') == 6
    assert '<span>Name</span><span class="write"></span><span>Student ID</span>' in page
    assert "Score: ____ / 6" in page


@pytest.mark.skipif(CHROMIUM is None or PDFTOTEXT is None, reason="Chromium or pdftotext (poppler-utils) is not "
                    "installed (CI installs them)")
def test_every_printed_page_of_an_html_exam_shows_the_variant(tmp_path: Path) -> None:
    page = tmp_path / "exam.html"
    assert cli("run", "spam", "--exam", "--format", "html", "--output", str(page)).returncode == 0
    pdf = tmp_path / "exam.pdf"
    assert chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri(), tmp=tmp_path).returncode == 0
    pages = _pages(pdf)
    assert len(pages) > 2 and all("variant v-18bc80" in text for text in pages)


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [p for p in text.split("\f") if p.strip()]


@pytest.mark.skipif(bool(LATEX_UNAVAILABLE) or PDFTOTEXT is None, reason=LATEX_UNAVAILABLE or "pdftotext "
                    "(poppler-utils) is not installed (CI installs it)")
def test_every_page_of_a_latex_exam_shows_its_own_variant(tmp_path: Path) -> None:
    out = tmp_path / "exams"
    result = cli("generate", "spam", "--count", "2", "--seed", "3", "--exam", "--format", "latex", "--combined",
                 "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    ids = sorted(p.stem for p in out.glob("v-*.yaml"))
    document = (out / "sheets.tex").read_text(encoding="utf-8")
    assert document.count(r"\begin{picture}(21,21)") == 2 and document.count(r"\fbox{\rule{0pt}{1.1em}") == 12
    pages = _pages(_compiled(document, tmp_path))
    shown = [re.findall(r"variant (v-[0-9a-f]{6})", page)[0] for page in pages]
    assert sorted(set(shown)) == ids and shown == sorted(shown, key=shown.index)  # each sheet's pages, in turn
    assert all(page.count("Name:") == (1 if i == 0 or shown[i - 1] != shown[i] else 0) for i, page in enumerate(pages))


def _compiled(document: str, folder: Path) -> Path:
    compile_latex(document, folder)
    return folder / "doc.pdf"


def test_generate_varies_the_blanks_per_variant_when_asked(tmp_path: Path) -> None:
    def blanks(*extra: str) -> list[list[str]]:
        out = tmp_path / "-".join(extra or ("same",))
        result = cli("generate", "ai-by-hand/4-hidden-layer", "--count", "4", "--max-decimals", "0", "--seed", "5",
                     "--exam", "--output-dir", str(out), *extra)
        assert result.returncode == 0, result.stderr
        recorded = [yaml.safe_load(p.read_text(encoding="utf-8"))["exercise"] for p in sorted(out.glob("*.yaml"))]
        assert all(r["reveal"] == "none" for r in recorded)
        return [r["blanks"] for r in recorded]

    same, varied, again = blanks(), blanks("--vary-blanks"), blanks("--vary-blanks", "--points", "1")
    assert len({tuple(b) for b in same}) == 1  # one seed, one choice of cells, on every variant
    assert len({tuple(b) for b in varied}) > 1 and varied == again  # different, and the same every run
    sheet = next((tmp_path / "--vary-blanks").glob("*-sheet.md")).read_text(encoding="utf-8")
    assert sheet.startswith("**Name:**") and "(1 pt)" in sheet


def test_every_asked_value_gets_a_box_even_one_shown_only_inside_a_matrix() -> None:
    name = "ai-by-hand/6-seven-layers"  # its layout shows most activations only inside matrices
    sheet = cli("run", name, "--exam", "--format", "markdown").stdout
    asked = nnworked.exercise(name).blanks
    assert len(asked) == 14 and sheet.count("] (1 pt)") == 14 and "**Score:** ____ / 14" in sheet
    rest = sheet.split("## Also fill in\n\n```\n")[1].split("```")[0].splitlines()
    assert rest[-1] == "ŷ⁽²⁾ (a7[0,1]) = [_____] (1 pt)"
    listed = [line.split(" (")[1].split(")")[0] for line in rest]
    assert len(listed) == 7 and set(listed) <= set(asked)  # the other 7 have worked lines of their own
    for format in ("html", "latex"):
        text = cli("run", name, "--exam", "--format", format).stdout
        assert text.count('class="answer-box" style' if format == "html" else r"\fbox{\rule{0pt}{1.1em}") == 14
