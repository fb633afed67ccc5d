"""Text from a scenario file is untrusted: no control character reaches a terminal, and every format
escapes it for itself (a student's file must not clear the teacher's screen or run a script)."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nnworked.text import printable
from tests.test_exports import LATEX_UNAVAILABLE, compile_latex

HOSTILE = r'''title: "Evil \e]0;pwned\a<script>alert(1)</script> [x](javascript:alert(1)) \\input{/etc/passwd} ]]> {1:NUMERICAL:=5}"
description: "line one\nline \u202eeno\e[2J two {2:NUMERICAL:=7}"
input_names: ["x\e[31m1", "x2"]
inputs: [[0.5, 0.3]]
targets: [[1]]
layers:
  - weights: [[0.1, 0.2], [0.3, 0.4]]
    bias: [0.1, 0.2]
    activation: relu
    name: "hid\rden"
  - weights: [[0.5, 0.6]]
    bias: [0.1]
    activation: sigmoid
loss: binary_cross_entropy
learning_rate: 0.1
steps: 2
'''
TITLE = r"Evil \x1b]0;pwned\x07<script>alert(1)</script> [x](javascript:alert(1)) \input{/etc/passwd} ]]> " \
        r"{1:NUMERICAL:=5}"
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "hostile.yaml"
    path.write_text(HOSTILE, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "nnworked", "run", str(path), *args], capture_output=True,
                          text=True, env={"COLUMNS": "100", "PATH": "/usr/bin:/bin"})


def test_printable_shows_every_control_and_bidi_character_as_an_escape() -> None:
    assert printable("a\x1b[2Jb\x07c\x9bd\u202ee\u200bf\x7f") == r"a\x1b[2Jb\x07c\x9bd\u202ee\u200bf\x7f"
    assert printable("one\ntwo\tthree") == r"one\x0atwo\x09three"
    assert printable("one\ntwo\tthree", newlines=True) == "one\ntwo\tthree"
    assert printable("x₁ − ŷ → σ′ “ok”") == "x₁ − ŷ → σ′ “ok”"


def test_the_terminal_gets_no_control_character_from_a_scenario(tmp_path: Path) -> None:
    result = run(tmp_path)
    assert result.returncode == 0 and CONTROL.search(result.stdout) is None
    lines = result.stdout.splitlines()
    title = lines.index("")
    assert " ".join(lines[:title]) == TITLE  # a title wider than the terminal wraps at its spaces
    assert lines[title + 1] == r"line one line \u202eeno\x1b[2J two {2:NUMERICAL:=7}"
    assert r"  • Input layer: 2 neurons (features: x\x1b[31m1, x2)" in lines
    assert r"  • Hidden layer “hid\x0dden”: 2 neurons with ReLU activation" in lines


def test_markdown_shows_html_and_links_as_text(tmp_path: Path) -> None:
    text = run(tmp_path, "--format", "markdown").stdout
    assert text.splitlines()[0] == r"# Evil \x1b]0;pwned\x07&lt;script>alert(1)&lt;/script> [x]\(javascript:alert(1)) " \
                                   r"\input{/etc/passwd} ]]> {1:NUMERICAL:=5}"
    assert "<script" not in text and "](javascript" not in text and CONTROL.search(text) is None


def test_html_escapes_the_scenarios_text(tmp_path: Path) -> None:
    page = run(tmp_path, "--format", "html").stdout
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert CONTROL.search(page) is None


def test_moodle_xml_parses_and_has_only_its_own_fields(tmp_path: Path) -> None:
    xml = run(tmp_path, "--format", "moodle", "--exercise").stdout
    question = ET.fromstring(xml).find("question")
    assert question is not None
    text = question.find("questiontext/text").text
    assert "{2:NUMERICAL:=7}" not in text and "&#123;2:NUMERICAL:=7}" in text
    assert text.count("{1:NUMERICAL:=") == 6  # the sheet's six blanks, each a field of its own
    assert question.find("name/text").text.startswith(r"Evil \x1b]0;pwned\x07<script>")


def test_latex_escapes_the_scenarios_text(tmp_path: Path) -> None:
    document = run(tmp_path, "--format", "latex").stdout
    assert r"\textbackslash{}input\{/etc/passwd\}" in document and r"\input{/etc" not in document
    assert CONTROL.search(document) is None


@pytest.mark.skipif(bool(LATEX_UNAVAILABLE), reason=LATEX_UNAVAILABLE)
def test_latex_with_a_hostile_title_compiles(tmp_path: Path) -> None:
    assert compile_latex(run(tmp_path, "--format", "latex").stdout, tmp_path).startswith(b"%PDF")


def test_the_loss_chart_escapes_the_title(tmp_path: Path) -> None:
    assert run(tmp_path, "--format", "markdown", "--output", str(tmp_path / "out.md")).returncode == 0
    chart = (tmp_path / "out.loss.svg").read_text(encoding="utf-8")
    ET.fromstring(chart)  # well-formed XML
    assert "&lt;script&gt;" in chart and "<script" not in chart and CONTROL.search(chart) is None
    assert "![The loss at every step](out.loss.svg)" in (tmp_path / "out.md").read_text(encoding="utf-8")


def test_an_error_quoting_the_file_shows_its_control_characters_as_escapes(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text('inputs: [[1]]\nlayers:\n  - weights: [[1]]\n    activation: "re\\e[2Jlu"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "nnworked", "validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and CONTROL.search(result.stderr) is None
    assert r"re\x1b[2Jlu" in result.stderr
