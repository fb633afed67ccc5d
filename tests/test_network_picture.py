"""The picture of the network: SVG parsed and checked against the numbers, inline in HTML, beside a
Markdown file and linked, drawn by TikZ in LaTeX; large layers elided; untrusted text escaped."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import nnworked
from nnworked.render.network import MAX_UNITS, svg
from tests.helpers import trace_of

SVG = "{http://www.w3.org/2000/svg}"


def _texts(root: ET.Element, kind: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == kind]


def test_the_spam_network_with_its_numbers() -> None:
    """Every number is the spam walkthrough's own, as the seed document works it by hand."""
    root = ET.fromstring(svg(trace_of("spam")))
    assert len(list(root.iter(f"{SVG}circle"))) == 2 + 2 + 1
    assert _texts(root, "value") == ["0.5", "0.3", "0.21", "0.47", "0.6194"]  # x, h after ReLU, ŷ
    assert _texts(root, "name") == ["x₁", "x₂", "h₁", "h₂", "ŷ"]
    # W₁ = [[0.1, 0.2], [0.3, 0.4]] edge by edge (into h₁ from x₁, x₂; into h₂ ...), then W₂ = [0.5, 0.6]
    assert _texts(root, "weight") == ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6"]
    assert _texts(root, "bias") == ["b = 0.1", "b = 0.2", "b = 0.1"]
    assert _texts(root, "gradient") == ["δ = −0.1903", "δ = −0.2284", "δ = −0.3806"]
    tips = [t.text for line in root.iter(f"{SVG}line") for t in line.iter(f"{SVG}title")]
    assert tips[-1] == "ŷ ← h₂: w = 0.6, ∂L/∂w = −0.1789"  # ∂L/∂W₂[1] = δ₂ × h[1] = −0.3806 × 0.47


def test_edges_join_the_neurons_they_name() -> None:
    root = ET.fromstring(svg(trace_of("spam")))
    centres = [(c.get("cx"), c.get("cy")) for c in root.iter(f"{SVG}circle")]
    x1, x2, h1, h2, yhat = centres
    ends = [((l.get("x1"), l.get("y1")), (l.get("x2"), l.get("y2"))) for l in root.iter(f"{SVG}line")]
    assert ends == [(x1, h1), (x2, h1), (x1, h2), (x2, h2), (h1, yhat), (h2, yhat)]


def test_a_forward_only_network_has_no_gradients() -> None:
    root = ET.fromstring(svg(trace_of("forward_only")))
    assert _texts(root, "gradient") == []
    assert "δ" not in _texts(root, "caption")[0]


def test_a_large_layer_is_elided() -> None:
    scenario = {"title": "wide", "inputs": [[0.01 * i for i in range(784)]], "targets": [[1]],
                "layers": [{"weights": [[0.001] * 784, [-0.001] * 784, [0.002] * 784], "activation": "relu"},
                           {"weights": [[1, 1, 1]], "activation": "sigmoid"}],
                "loss": "binary_cross_entropy"}
    root = ET.fromstring(svg(nnworked.solve(scenario)))
    assert len(list(root.iter(f"{SVG}circle"))) == MAX_UNITS + 3 + 1
    assert _texts(root, "gap") == [f"⋮ {784 - MAX_UNITS:,} more"]
    assert _texts(root, "name")[:MAX_UNITS] == ["x₁", "x₂", "x₃", "x₄", "x₅", "x₇₈₄"]
    assert _texts(root, "weight") == ["1", "1", "1"]  # 18 edges into the hidden layer: too many to label
    assert "too many to read" in _texts(root, "caption")[0]


def test_the_scenarios_text_is_escaped() -> None:
    scenario = {"title": 'Evil <script>alert(1)</script> & "quotes" \x1b[2J', "input_names": ["<b>", "a&b"],
                "inputs": [[1, 2]], "layers": [{"weights": [[1, 1]]}]}
    text = svg(nnworked.solve(scenario))
    root = ET.fromstring(text)  # well-formed
    assert "<script" not in text and "\x1b" not in text
    assert root.find(f"{SVG}title").text == 'Evil <script>alert(1)</script> & "quotes" \\x1b[2J: the network'
    assert _texts(root, "name") == ["<b>", "a&b", "ŷ"]


def test_html_draws_the_picture_inline() -> None:
    page = nnworked.run("spam").render("html")
    start, end = page.index("<svg"), page.index("</svg>") + len("</svg>")
    assert page.index('<figure class="network">') < start < page.index("<h2>Problem Setup</h2>")
    assert _texts(ET.fromstring(page[start:end]), "value") == ["0.5", "0.3", "0.21", "0.47", "0.6194"]
    assert "<svg" not in nnworked.run("spam").render("html", exercise=True)  # it would give blanks away


def test_markdown_written_with_output_gets_the_picture_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "walk.md"
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "spam", "-f", "markdown", "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    picture = tmp_path / "walk-network.svg"
    assert picture.read_text(encoding="utf-8") == svg(trace_of("spam"))
    text = out.read_text(encoding="utf-8")
    assert "![The network of Spam filter: one training step](walk-network.svg)\n\n## Table of Contents" in text
    assert "The network of" not in nnworked.run("spam").render("markdown")  # on stdout: no file to link


def test_nothing_is_written_when_the_picture_cannot_be(tmp_path: Path) -> None:
    (tmp_path / "walk-network.svg").mkdir()  # a folder where the picture would go
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "spam", "-f", "markdown", "-o",
                             str(tmp_path / "walk.md")], capture_output=True, text=True)
    assert result.returncode == 1 and "walk-network.svg" in result.stderr
    assert not (tmp_path / "walk.md").exists()


def _tikz_unavailable() -> str:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return "pdflatex is not installed (CI installs it: .ci/run)"
    found = subprocess.run(["kpsewhich", "tikz.sty"], capture_output=True, text=True).stdout.strip()
    return "" if found else "the LaTeX package tikz is missing (CI installs texlive-pictures: .ci/run)"


@pytest.mark.skipif(bool(_tikz_unavailable()), reason=_tikz_unavailable())
def test_latex_draws_the_picture_with_tikz(tmp_path: Path) -> None:
    text = nnworked.run("spam").render("latex")
    assert r"\begin{tikzpicture}" in text and text.count(r"\node[circle") == 5
    (tmp_path / "doc.tex").write_text(text, encoding="utf-8")
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]
    if shutil.which("pdftotext"):
        pdf = subprocess.run(["pdftotext", str(tmp_path / "doc.pdf"), "-"], capture_output=True, text=True).stdout
        assert "δ = −0.3806" in pdf and "b = 0.2" in pdf  # a true minus sign, as the document typesets
