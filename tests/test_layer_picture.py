"""The picture of a network with image, pooling, dropout, normalisation and residual layers, drawn as a
textbook draws a CNN: every number parsed out of the SVG and checked (the CNN's against numbers worked by
hand in the comments, the other layers' forward values against a plain numpy pass written here, their
gradients against the trace's own), the windows, winners, crosses and skips where they belong, large layers
elided to a bounded size, text escaped, the LaTeX compiled, the HTML opened in a real browser."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nnworked
from nnworked.render import stages
from nnworked.render.network import drawable, svg, tikz
from nnworked.render.numbers import fmt
from tests.helpers import trace_of
from tests.test_exports import CHROMIUM, LATEX_UNAVAILABLE, chromium, compile_latex
from tests.test_network_picture import _tikz_unavailable

TIKZ_UNAVAILABLE = LATEX_UNAVAILABLE or _tikz_unavailable()

SVG = "{http://www.w3.org/2000/svg}"

# every layer type cnn_edge lacks: avg_pool, dropout and a residual over images; flatten; dense; batch_norm,
# layer_norm, dropout and a residual over vectors. Two examples (batch norm needs a batch); the picture shows
# the first.
EVERY_OTHER = {
    "title": "Every other layer",
    "inputs": [[[[1, 2, 3, 4], [5, 6, 7, 8], [2, 0, 1, 3], [4, 2, 0, 1]]],
               [[[0, 1, 0, 1], [1, 0, 1, 0], [2, 2, 2, 2], [3, 1, 3, 1]]]],
    "targets": [[1], [0]],
    "layers": [
        {"type": "avg_pool", "size": 2, "name": "pooled"},
        {"type": "dropout", "rate": 0.5, "mask": [[[[1, 0], [1, 1]]], [[[1, 1], [0, 1]]]]},
        {"type": "residual", "from": "pooled"},
        {"type": "flatten"},
        {"weights": [[0.1, -0.2, 0.05, 0.1], [0.2, 0.1, -0.1, 0.05], [-0.1, 0.05, 0.2, -0.05]], "bias": [0, 0.1, -0.1],
         "activation": "relu", "name": "hidden"},
        {"type": "batch_norm", "gamma": [1, 0.5, 2], "beta": [0, 0.1, -0.1]},
        {"type": "layer_norm"},
        {"type": "dropout", "rate": 0.25, "mask": [[1, 0, 1], [1, 1, 0]]},
        {"type": "residual", "from": "hidden"},
        {"weights": [[0.3, -0.2, 0.1]], "bias": [0.05], "activation": "sigmoid"},
    ],
    "loss": "binary_cross_entropy", "learning_rate": 0.1,
}


def _texts(root: ET.Element, kind: str) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") == kind]


def _shapes(root: ET.Element, tag: str, kind: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if e.get("class") == kind]


def _cell(root: ET.Element, tip: str) -> ET.Element:
    """The rectangle of a grid's cell, by its tooltip ("a₁[0][0,1] = 14")."""
    return next(r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None
                and r.find(f"{SVG}title").text == tip and r.get("class") != "window")


def test_the_cnn_as_a_textbook_draws_it() -> None:
    root = ET.fromstring(svg(trace_of("cnn_edge")))
    assert _texts(root, "stage") == ["Input", "K₁, stride 1, padding 0", "Hidden 1", "Hidden 2", "Hidden 3", "Output"]
    assert _texts(root, "stage-note") == ["conv 1@3×3, ReLU", "max pool 2×2", "stride 1", "flatten", "row by row",
                                          "2, Softmax"]
    assert _texts(root, "map-name") == ["x[0]", "a₁[0]", "a₂[0]"]
    assert _texts(root, "input-value") == ["1", "2", "3", "0", "1", "4", "5", "6", "1", "2", "7", "8", "9", "0", "3",
                                           "2", "1", "0", "4", "5", "6", "3", "2", "1", "0"]  # the file's image
    assert _texts(root, "kernel-name") == ["K₁[0,0]"] and _texts(root, "operator") == ["⋆"]
    assert _texts(root, "kernel-value") == ["1", "0", "−1"] * 3
    # the source's feature map after ReLU [[0, 14, 12], [0, 9, 5], [4, 7, 3]], pooled [[14, 14], [9, 9]]
    assert _texts(root, "map-value") == ["0", "14", "12", "0", "9", "5", "4", "7", "3", "14", "14", "9", "9"]
    # flatten [14, 14, 9, 9]; z = W·a = [0.28 − 0.14 + 0.27 + 0.09, −0.28 + 0.14 + 0.09 + 0.18] = [0.5, 0.13];
    # softmax: 1 / (1 + e^(−0.37)) = 0.5915
    assert _texts(root, "value") == ["14", "14", "9", "9", "0.5915", "0.4085"]
    assert _texts(root, "name") == ["a₃[0]", "a₃[1]", "a₃[2]", "a₃[3]", "ŷ[0]", "ŷ[1]"]
    assert _texts(root, "weight") == ["0.02", "−0.01", "0.03", "0.01", "−0.02", "0.01", "0.01", "0.02"]
    # δ = ŷ − y = [−0.4085, 0.4085]; ∂L/∂a₃ = Wᵀδ: 0.02 × (−0.4085) − 0.02 × 0.4085 = −0.0163, …
    assert _texts(root, "gradient") == ["∂L/∂a = −0.0163", "∂L/∂a = 0.00817", "∂L/∂a = −0.00817",
                                        "∂L/∂a = 0.00409", "δ = −0.4085", "δ = 0.4085"]
    assert _texts(root, "gradient-name") == ["∂L/∂K₁[0,0]", "δ₁[0]", "∂L/∂a₂[0]"]
    # max pooling sends −0.0163 and 0.00817 to the 14 at (0,1), −0.00817 and 0.00409 to the 9 at (1,1)
    assert _texts(root, "map-gradient") == ["0", "−0.00817", "0", "0", "−0.00409", "0", "0", "0", "0",
                                            "−0.0163", "0.00817", "−0.00817", "0.00409"]
    # ∂L/∂K[r,c] = Σ δ₁ × x shifted: K[0,0] = −0.00817 × 2 − 0.004085 × 5 = −0.0368 (numpy gave the rest)
    assert _texts(root, "kernel-gradient") == ["−0.0368", "−0.0490", "−0.00409", "−0.0735", "−0.0858", "−0.00817",
                                               "−0.0695", "−0.0735", "−0.0163"]
    assert _texts(root, "bias") == ["b₁[0] = 0, ∂L/∂b = −0.0123", "b = 0", "b = 0"]  # Σ δ₁ = −0.01226


def test_the_windows_and_the_winners_sit_on_their_cells() -> None:
    root = ET.fromstring(svg(trace_of("cnn_edge")))
    windows = [(w.get("x"), w.get("y"), w.get("width"), w.get("height")) for w in _shapes(root, "rect", "window")]
    first_x, a1_00, a2_00 = _cell(root, "x[0][0,0] = 1"), _cell(root, "a₁[0][0,0] = 0"), _cell(root, "a₂[0][0,0] = 14")
    width = float(first_x.get("width"))
    # the kernel's 3×3 window on the image and the output it gives; the pool's 2×2 window on a₁ and its output
    assert windows == [(first_x.get("x"), first_x.get("y"), f"{3 * width:.1f}", "60.0"),
                       (a1_00.get("x"), a1_00.get("y"), a1_00.get("width"), "20.0"),
                       (a1_00.get("x"), a1_00.get("y"), f"{2 * float(a1_00.get('width')):.1f}", "40.0"),
                       (a2_00.get("x"), a2_00.get("y"), a2_00.get("width"), "20.0")]
    assert " ".join(_texts(root, "caption")) == (
        "Values after the forward pass; in red, the gradients after the backward pass (δ = ∂L/∂z; ∂L/∂a where a "
        "layer has no z); each bias above its unit; each weight on its edge; dashed, the window that gives the first "
        "output; outlined, the maximum of each pooling window.")
    winners = [(w.get("x"), w.get("y")) for w in _shapes(root, "rect", "winner")]
    assert winners == [(c.get("x"), c.get("y"))
                       for c in (_cell(root, "a₁[0][0,1] = 14"), _cell(root, "a₁[0][1,1] = 9"))]


def test_a_padded_convolutions_window_reaches_into_the_padding() -> None:
    scenario = {"title": "padded", "inputs": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "targets": [[1]],
                "layers": [{"type": "conv2d", "kernels": [[[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]], "padding": 1},
                           {"type": "flatten"}, {"weights": [[0.1] * 9], "activation": "sigmoid"}],
                "loss": "binary_cross_entropy"}
    root = ET.fromstring(svg(nnworked.solve(scenario)))
    first = _cell(root, "x[0][0,0] = 1")
    x, y, width = float(first.get("x")), float(first.get("y")), float(first.get("width"))
    window = _shapes(root, "rect", "window")[0]
    # one row and one column of zeros above and left of the image, then its first two rows and columns
    assert [float(window.get(k)) for k in ("x", "y", "width", "height")] == \
        pytest.approx([x - width, y - 20, 3 * width, 60], abs=0.15)  # (each written to 0.1 pixel)
    # z[0,0] = the diagonal over the padded corner: 0 + 1 + 5
    assert _texts(root, "map-value")[0] == "6" and _texts(root, "stage")[1] == "K₁, stride 1, padding 1"


def _reference_forward() -> list[np.ndarray]:
    """Every layer's output for both examples, in plain numpy."""
    x = np.array(EVERY_OTHER["inputs"], dtype=float)[:, 0]
    pooled = x.reshape(2, 2, 2, 2, 2).mean(axis=(2, 4))
    dropped = pooled * np.array(EVERY_OTHER["layers"][1]["mask"], dtype=float)[:, 0] * 2
    summed = dropped + pooled
    flat = summed.reshape(2, 4)
    dense = EVERY_OTHER["layers"][4]
    hidden = np.maximum(flat @ np.array(dense["weights"]).T + dense["bias"], 0)
    batch = (hidden - hidden.mean(0)) / np.sqrt(hidden.var(0) + 1e-5) * [1, 0.5, 2] + [0, 0.1, -0.1]
    layer = (batch - batch.mean(1, keepdims=True)) / np.sqrt(batch.var(1, keepdims=True) + 1e-5)
    drop = layer * np.array(EVERY_OTHER["layers"][7]["mask"]) / 0.75
    residual = drop + hidden
    out = 1 / (1 + np.exp(-(residual @ np.array([0.3, -0.2, 0.1]) + 0.05)))
    return [pooled, dropped, summed, flat, hidden, batch, layer, drop, residual, out[:, None]]


def test_every_other_layer_type_with_its_numbers() -> None:
    trace = nnworked.solve(EVERY_OTHER)
    root = ET.fromstring(svg(trace))
    p = trace.precision
    ref = _reference_forward()
    assert ref[0][0].tolist() == [[3.5, 5.5], [2, 1.25]]  # the means of the 2×2 windows of example 1
    assert _texts(root, "stage-note") == [
        "avg pool 2×2", "stride 2", "dropout 0.5", "kept × 2", "+ a1", "flatten", "row by row", "3, ReLU",
        "batch norm", "a = γ·(x − μ)/σ + β", "μ, σ over the batch", "layer norm", "a = γ·(x − μ)/σ + β",
        "μ, σ over the features", "dropout 0.25", "kept × 1.3333", "+ a5", "1, Sigmoid"]
    assert _texts(root, "map-name") == ["x[0]", "a₁[0]", "a₂[0]", "a₃[0]"]
    assert _texts(root, "map-value") == [fmt(v, p) for k in range(3) for v in ref[k][0].ravel()]
    assert _texts(root, "map-value")[4:8] == ["7", "0", "4", "2.5"]  # kept × 2, the second dropped
    vectors = [fmt(v, p) for k in range(3, 10) for v in ref[k][0]]
    assert _texts(root, "value") == vectors
    assert _texts(root, "name") == [*(f"a₄[{i}]" for i in range(4)), *(f"a{s}[{i}]" for s in "₅₆₇₈₉" for i in range(3)),
                                    "ŷ"]
    assert _texts(root, "gamma") == ["γ = 1", "γ = 0.5", "γ = 2", "γ = 1", "γ = 1", "γ = 1"]
    assert _texts(root, "beta") == ["β = 0", "β = 0.1", "β = −0.1", "β = 0", "β = 0", "β = 0"]
    assert _texts(root, "bias") == ["b = 0", "b = 0.1", "b = −0.1", "b = 0.05"]
    # the gradients the trace computed (tests/test_norms.py checks them), each under its own unit or cell
    grads = trace.steps[0].gradients()
    assert _texts(root, "map-gradient") == [fmt(v, p) for k in (1, 2, 3) for v in grads[f"a{k}"][0].ravel()]
    assert _texts(root, "gradient") == [
        *(f"∂L/∂a = {fmt(v, p)}" for v in grads["a4"][0]), *(f"δ = {fmt(v, p)}" for v in grads["z5"][0]),
        *(f"∂L/∂a = {fmt(v, p)}" for k in (6, 7, 8, 9) for v in grads[f"a{k}"][0]), f"δ = {fmt(grads['z10'][0, 0], p)}"]
    # dropout's dropped units: cell (0,1) of a₂ and unit 1 of a₈, each crossed out (two strokes)
    assert len(_shapes(root, "polyline", "dropped")) == 4
    assert [c.find(f"{SVG}title").text for c in _shapes(root, "circle", "dropped-neuron")] == \
        [f"a₈[1] = 0, ∂L/∂a = {fmt(grads['a8'][0, 1], p)}"]
    # each residual: a skip arrow from its source (a₁, a₅) in its own lane into a ⊕
    assert _texts(root, "skip-label") == ["+ a₁", "+ a₅"]
    assert [c.find(f"{SVG}title").text for c in _shapes(root, "circle", "sum")] == ["a₃ = a₂ + a₁", "a₉ = a₈ + a₅"]
    skips = _shapes(root, "polyline", "skip")
    assert len(skips) == 4 and all(s.get("marker-end") == "url(#arrow)" for s in skips)
    sum_x = [c.get("cx") for c in _shapes(root, "circle", "sum")]
    assert [s.get("points").split()[-1].split(",")[0] for s in skips[::2]] == sum_x  # each lane ends at its ⊕
    assert "(example 1 of 2)" in _texts(root, "caption")[-1]


def _wide(size: int, channels: int, kernels: int) -> dict:
    rng = np.random.default_rng(size)
    return {"title": "wide", "inputs": rng.integers(0, 9, (1, channels, size, size)).tolist(), "targets": [[0]],
            "layers": [{"type": "conv2d", "kernels": rng.integers(-1, 2, (kernels, channels, 3, 3)).tolist(),
                        "activation": "relu"},
                       {"type": "max_pool", "size": 2}, {"type": "flatten"},
                       {"weights": np.full((2, kernels * ((size - 2) // 2) ** 2), 0.001).tolist(),
                        "activation": "softmax"}],
            "loss": "cross_entropy"}


def test_a_large_image_network_is_elided_to_a_bounded_drawing() -> None:
    small = ET.fromstring(svg(nnworked.solve(_wide(28, 5, 8))))
    assert _texts(small, "map-name") == ["x[0]", "x[1]", "x[4]", "a₁[0]", "a₁[1]", "a₁[7]", "a₂[0]", "a₂[1]", "a₂[7]"]
    assert _texts(small, "kernel-name")[:3] == ["K₁[0,0]", "K₁[0,1]", "K₁[0,4]"]
    assert _texts(small, "gap")[:2] == ["⋯", "⋯"]  # the first row of x[0]: 5 columns, ⋯, the last
    assert [t for t in _texts(small, "gap") if "more" in t] == [  # 8 × 13 × 13 = 1,352 flattened, 6 shown
        "⋮ 2 more channels", "⋯ 2 more", "⋯ 2 more", "⋮ 5 more kernels", "⋯ 2 more", "⋮ 5 more channels",
        "⋮ 5 more channels", "⋮ 1,346 more"]
    assert len(_texts(small, "input-value")) == 3 * 36  # 6 × 6 shown cells of each channel
    assert "a large layer shows its first and last units, rows, columns and channels" in \
        " ".join(_texts(small, "caption"))
    large = ET.fromstring(svg(nnworked.solve(_wide(60, 6, 16))))
    def kinds(root: ET.Element) -> Counter:  # (max pooling's winners depend on the numbers)
        return Counter((e.tag, e.get("class")) for e in root.iter() if e.get("class") not in ("winner", None))

    assert kinds(large) == kinds(small)  # the same drawing, with its bigger numbers
    for root in (small, large):
        assert float(root.get("width")) < 2000 and float(root.get("height")) < 1400


def test_the_scenarios_text_is_escaped() -> None:
    scenario = {"title": 'Evil <script>alert(1)</script> & "q" \x1b[2J', "input_names": ["<b>", "a&b\x07"],
                "inputs": [[1, 2], [3, 5]], "layers": [{"type": "batch_norm"}, {"weights": [[1, 1]]}]}
    trace = nnworked.solve(scenario)
    text = svg(trace)
    root = ET.fromstring(text)
    assert "<script" not in text and "\x1b" not in text and "\x07" not in text
    assert root.find(f"{SVG}title").text == 'Evil <script>alert(1)</script> & "q" \\x1b[2J: the network'
    assert _texts(root, "name") == ["<b>", "a&b\\x07", "h[0]", "h[1]", "ŷ"]  # h: as the seeds name a hidden layer
    figure = tikz(trace)
    assert r"{\textless{}b\textgreater{}}" in figure and r"a\&b\textbackslash{}x07" in figure and "\x07" not in figure


def test_a_layer_the_picture_cannot_draw_gets_none(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """As a layer type added later (a sequence layer) would be: no picture, and everything else as before."""
    monkeypatch.delitem(stages._STAGES, stages.Pool)
    trace = trace_of("cnn_edge")
    assert not drawable(trace)
    assert "<svg" not in nnworked.run("cnn_edge").render("html")
    assert r"\begin{tikzpicture}" not in nnworked.run("cnn_edge").render("latex")
    written = nnworked.api.files(trace, "markdown", str(tmp_path / "walk.md"))
    assert list(written) == [str(tmp_path / "walk.md")]


def test_markdown_written_with_output_gets_the_cnn_picture_beside_it(tmp_path: Path) -> None:
    out = tmp_path / "walk.md"
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", "cnn_edge", "-f", "markdown", "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "walk-network.svg").read_text(encoding="utf-8") == svg(trace_of("cnn_edge"))
    assert "![The network of A small CNN: a vertical edge, one training step](walk-network.svg)" in \
        out.read_text(encoding="utf-8")
    assert "<svg" not in nnworked.run("cnn_edge").render("html", exercise=True)  # it would give blanks away


@pytest.mark.skipif(bool(TIKZ_UNAVAILABLE), reason=TIKZ_UNAVAILABLE)
@pytest.mark.parametrize("source, shown", [
    ("cnn_edge", ["−0.0368", "−0.0858", "0.5915", "δ = −0.4085", "= 0, ∂L/∂b = −0.0123"]),
    (EVERY_OTHER, ["3.5", "1.25", "kept × 2", "γ = 0.5", "β = −0.1", "+ a1"])])
def test_latex_draws_the_picture_and_compiles(tmp_path: Path, source: object, shown: list[str]) -> None:
    import shutil

    text = nnworked.run(source).render("latex")
    assert r"\begin{tikzpicture}" in text
    compile_latex(text, tmp_path)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (poppler-utils; CI installs it: .ci/run)")
    pdf = subprocess.run(["pdftotext", "-enc", "UTF-8", "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60).stdout
    figure = pdf[:pdf.index("Problem Setup")]  # the picture opens the document
    for value in shown:
        assert value in figure


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it)")
@pytest.mark.parametrize("source", ["cnn_edge", EVERY_OTHER])
def test_html_with_the_picture_in_a_headless_browser(tmp_path: Path, source: object) -> None:
    page = tmp_path / "walk.html"
    page.write_text(nnworked.run(source).render("html"), encoding="utf-8")
    result = chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '<figure class="network"><svg' in result.stdout and 'class="map-value"' in result.stdout
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr
