"""The picture of sequence networks: an RNN unrolled over its time steps, an LSTM's cells with their gates,
self-attention's Q, K, V and its weights shaded by size (the causal mask's zeros drawn as masked), and a
sequence of vectors as a grid with a row per position. Every number parsed out of the SVG is checked against
a published source where one exists (the bundled scenarios' descriptions cite them) and against the plain
numpy references in tests/ (which import nothing of nnworked); the carried-state arrows end on the next
step's state; a long sequence is elided to a bounded drawing; the LaTeX compiles; HTML, Markdown and a
notebook carry the picture."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nnworked
from nnworked.notebook import run_cell
from nnworked.render.network import drawable, svg, tikz
from nnworked.render.numbers import fmt
from tests import attention_reference, lstm_reference, sequence_reference
from tests.helpers import trace_of
from tests.test_exports import CHROMIUM, chromium, compile_latex
from tests.test_layer_picture import SVG, TIKZ_UNAVAILABLE, _cell, _shapes, _texts

SEQUENCES = ["rnn_three_steps", "lstm_step", "attention_three_tokens", "transformer_block"]
WEIGHT_TEXTS = ("attention-value", "attention-value-light", "masked-value")


def _root(name: str) -> tuple[nnworked.trace.Trace, ET.Element]:
    trace = trace_of(name)
    return trace, ET.fromstring(svg(trace))


def _weights(root: ET.Element) -> list[str]:
    """Every attention weight as printed, in the order drawn (the masked ones too)."""
    return [t.text or "" for t in root.iter(f"{SVG}text") if t.get("class") in WEIGHT_TEXTS]


def _rows(values: np.ndarray, p: object) -> list[str]:
    return [fmt(v, p) for v in np.ravel(values)]


def test_the_rnn_unrolled_over_its_time_steps() -> None:
    trace, root = _root("rnn_three_steps")
    p = trace.precision
    assert _texts(root, "stage") == ["Input", "Hidden", "Output"]
    assert _texts(root, "stage-note") == ["a row per position", "rnn 2, last, tanh", "Wx₁ from below, Wh₁ across",
                                          "returns the last h_t", "1"]
    assert _texts(root, "step") == ["t = 0", "t = 1", "t = 2"] and _texts(root, "cell-label") == ["tanh"] * 3
    assert _texts(root, "map-name") == ["x", "h[0]", "x[0]", "h[1]", "x[1]", "h[2]", "x[2]", "h[−1]"]
    assert _texts(root, "input-value") == ["0.2", "0.3", "0.4"] * 2  # the sequence, then each x_t under its cell
    # h_t = tanh(W_x·x_t + W_h·h_(t−1)), by hand in numpy
    wx, wh, v, x = np.array([[2.0], [1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2.0, 4.0]), [0.2, 0.3, 0.4]
    hs, h = [], np.zeros(2)
    for x_t in x:
        h = np.tanh(wx[:, 0] * x_t + wh @ h)
        hs.append(h)
    assert _texts(root, "map-value") == [*_rows(np.array(hs), p), "0", "0"]  # each h_t, then h_(−1) = 0
    assert _texts(root, "map-value")[4:6] == ["0.99860590", "0.99999815"]  # the source's h3 = 0.9986059, 0.99999815
    # backpropagation through time from ∂L/∂ŷ = ŷ − y (½ squared error): δ_t = ∂L/∂h_t ⊙ (1 − h_t²)
    yhat = v @ hs[-1]
    dh, deltas = v * (yhat - 7), [None] * 3
    for t in (2, 1, 0):
        deltas[t] = dh * (1 - hs[t] ** 2)
        dh = wh.T @ deltas[t]
    assert _texts(root, "gradient-name") == ["δ₁[0]", "δ₁[1]", "δ₁[2]"]
    assert _texts(root, "map-gradient") == _rows(np.array(deltas), p)
    assert _texts(root, "value") == [fmt(yhat, p)] == ["5.99720442"]  # the source's ŷ = 5.99720442
    # x_t up into each cell through W_x; h carried from h_(−1) to h_0, h_0 to h_1, h_1 to h_2 through W_h
    assert _texts(root, "carry-label") == ["Wx₁"] * 3 + ["Wh₁"] * 3
    carries = _shapes(root, "polyline", "carry")
    assert all(c.get("marker-end") == "url(#arrow)" for c in carries)
    ends = [c.get("points").split()[-1] for c in carries]
    targets = [_cell(root, f"h[{t}][0,0] = {_rows(hs[t], p)[0]}") for t in range(3)]
    heights = [float(c.get("y")) + 20 for c in targets]  # the middle of a column of two cells
    assert ends == [f"{float(c.get('x')) - 4:.1f},{y:.1f}" for c, y in zip(targets, heights)]
    assert [b.find(f"{SVG}title").text for b in _shapes(root, "rect", "recurrent-cell")] == \
        [f"the cell at t = {t}" for t in range(3)]
    assert _texts(root, "weight") == ["2", "4"]  # the dense layer reads h_2, from its cells
    assert "a recurrent layer unrolled over its time steps, each state carried to the next step." in \
        " ".join(_texts(root, "caption"))


def test_the_lstm_cells_with_their_gates_and_the_cell_state_on_top() -> None:
    trace, root = _root("lstm_step")
    p = trace.precision
    x = np.array([[[1.0, 2.0], [0.5, 3.0]]])
    gates = {"i": ([0.95, 0.8], 0.8, 0.65), "f": ([0.7, 0.45], 0.1, 0.15), "g": ([0.45, 0.25], 0.15, 0.2),
             "o": ([0.6, 0.4], 0.25, 0.1)}
    wx = np.array([[g[0]] for g in gates.values()])
    wh = np.array([[[g[1]]] for g in gates.values()])
    cache = lstm_reference.lstm_forward(x, lstm_reference.join(wx, wh), np.array([g[2] for g in gates.values()]),
                                        np.zeros(1), np.zeros(1))
    assert _texts(root, "step") == ["t = 0", "t = 1"] and _texts(root, "cell-label") == ["LSTM"] * 2
    assert _texts(root, "map-name") == ["x", "c[0]", "i", "f", "g", "o", "h[0]", "x[0]", "c[1]", "i", "f", "g", "o",
                                        "h[1]", "x[1]", "c[−1]", "h[−1]", "ŷ"]
    shown = [_rows(v, p) for t in range(2) for v in (cache["c"][0, t], *cache["gates"][t], cache["h"][0, t])]
    assert _texts(root, "map-value") == [*sum(shown, []), "0", "0", *_rows(cache["h"][0], p)]
    # Gomez's post: c = 0.78572 (0.785726…, one unit low), h = 0.53631, c = 1.5176, h = 0.77197 (0.771981…)
    assert [_texts(root, "map-value")[i] for i in (0, 5, 6, 11)] == ["0.78573", "0.53631", "1.51763", "0.77198"]
    # ½(h − label)² at each step, summed: ∂L/∂h from outside = h − label
    back = lstm_reference.lstm_backward(cache, cache["h"] - np.array([[[0.5], [1.25]]]))
    assert _texts(root, "map-gradient")[:4] == [fmt(back[key][0, t, 0], p) for t in range(2) for key in ("dc", "dh")]
    assert _texts(root, "gradient-name")[:4] == ["∂L/∂c[0]", "∂L/∂h[0]", "∂L/∂c[1]", "∂L/∂h[1]"]
    # c along the top line through ⊙ f, h through W_h, x_t up through W_x
    assert _texts(root, "carry-label") == ["Wx₁", "Wx₁", "⊙ f", "⊙ f", "Wh₁", "Wh₁"]
    c_line = [c.get("points") for c in _shapes(root, "polyline", "carry")][:2]
    assert len({point.split(",")[1] for line in c_line for point in line.split()}) == 1  # one straight line
    assert _texts(root, "stage-note")[2] == "c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)"


KARIM_Q = [[1, 0, 2], [2, 2, 2], [2, 1, 3]]
KARIM_K = [[0, 1, 1], [4, 4, 0], [2, 3, 1]]
KARIM_V = [[1, 2, 3], [2, 8, 0], [2, 6, 3]]


def _attention(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The bundled scenario's attention by the plain reference: its output and weights, example 1."""
    spec = nnworked.load(name).layers[0]
    out, saved = attention_reference.forward(np.asarray(nnworked.load(name).inputs, dtype=float), spec.query_weights,
                                             spec.key_weights, spec.value_weights, spec.output_weights, spec.heads,
                                             spec.causal, spec.scaled)
    return out[0], saved


def test_self_attention_its_q_k_v_and_its_weights_shaded_by_size() -> None:
    trace, root = _root("attention_three_tokens")
    p = trace.precision
    out, saved = _attention("attention_three_tokens")
    assert _texts(root, "stage") == ["Input", "Hidden: attention", "Hidden", "W₂, at every position", "Output"]
    assert _texts(root, "kernel-name") == ["Q", "K", "V", "W₂", "b₂"]
    assert _texts(root, "kernel-value")[:27] == [str(v) for m in (KARIM_Q, KARIM_K, KARIM_V) for row in m for v in row]
    assert _weights(root) == _rows(saved["weights"][0, 0], p)
    assert _weights(root)[:3] == ["0.0634", "0.4683", "0.4683"]  # the source's softmax of [2, 4, 4]
    # darker for larger: five shades by fifths, white text on the two darkest
    for (r, c), w in np.ndenumerate(saved["weights"][0, 0]):
        cell = _cell(root, f"attention[{r},{c}] = {fmt(w, p)}")
        assert cell.get("class") == f"attention-cell-{min(4, int(w * 5))}"
    assert _cell(root, "attention[1,1] = 0.9820").get("class") == "attention-cell-4"
    assert _texts(root, "attention-value-light") == ["0.9820", "0.8805"]
    # the weighted sums of values, as the source's own code prints them
    assert _texts(root, "map-value")[:9] == _rows(out, p) == ["1.9366", "6.6831", "1.5951", "2.0000", "7.9640",
                                                               "0.0540", "1.9997", "7.7599", "0.3584"]
    assert _texts(root, "operator") == ["·"]
    assert "each attention weight shaded darker for larger." in " ".join(_texts(root, "caption"))


def test_the_transformer_block_with_its_causal_mask_and_its_layer_norm() -> None:
    trace, root = _root("transformer_block")
    p = trace.precision
    out, saved = _attention("transformer_block")
    assert _texts(root, "kernel-name") == ["Q[0]", "K[0]", "V[0]", "Q[1]", "K[1]", "V[1]", "γ", "β", "W₄", "b₄"]
    q, k, v = (saved[key][0] for key in "qkv")
    heads = [[q[:, h * 2:h * 2 + 2], k[:, h * 2:h * 2 + 2], v[:, h * 2:h * 2 + 2]] for h in range(2)]
    assert _texts(root, "kernel-value")[:36] == [fmt(x, p) for head in heads for m in head for x in m.ravel()]
    assert _weights(root) == _rows(saved["weights"][0], p)
    assert saved["weights"][0, :, 0, 0].tolist() == [1, 1]  # the first position sees only itself
    masked = _shapes(root, "rect", "masked-cell")
    assert [m.find(f"{SVG}title").text for m in masked] == [f"attention[{h}][{r},{c}] = 0" for h in (0, 1)
                                                            for r, c in ((0, 1), (0, 2), (1, 2))]
    assert _texts(root, "masked-value") == ["0"] * 6
    # the residual adds x back, the layer norm (γ = 1, β = 0) at every position, then softmax(a₃·W₄ᵀ + b₄)
    x = np.asarray(nnworked.load("transformer_block").inputs, dtype=float)[0]
    summed = out + x
    normed = np.array([sequence_reference.layer_norm(row, np.ones(4), np.zeros(4), 1e-5)[0] for row in summed])
    logits = normed @ np.asarray(nnworked.load("transformer_block").layers[3].weights).T
    yhat = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert _texts(root, "map-value") == [fmt(v, p) for m in (out, summed, normed, yhat) for v in m.ravel()]
    assert _texts(root, "kernel-value")[36:44] == ["1"] * 4 + ["0"] * 4  # γ, β
    assert _texts(root, "skip-label") == ["+ x"]
    assert [c.find(f"{SVG}title").text for c in _shapes(root, "circle", "sum")] == ["a₂ = a₁ + x"]
    notes = _texts(root, "stage-note")
    assert notes[1:4] == ["one row per query position, one column per key", "÷ √d_k = 1.4142",
                          "causal: a later position is masked (0)"]
    assert " ".join(_texts(root, "caption")).endswith(
        "each attention weight shaded darker for larger; grey, the weights the causal mask sets to 0.")


def _block(positions: int, features: int, heads: int, seed: int = 0) -> dict:
    """benchmarks/transformer.py's block, one example: attention, residual, layer norm, two dense layers."""
    rng = np.random.default_rng(seed)

    def draw(*shape: int) -> list:
        return np.round(rng.uniform(-0.2, 0.2, shape), 2).tolist()
    return {"title": "block", "loss": "cross_entropy", "learning_rate": 0.01,
            "inputs": draw(1, positions, features), "targets": rng.integers(0, 10, (1, positions, 1)).tolist(),
            "layers": [{"type": "self_attention", "heads": heads, **{key: draw(features, features) for key in (
                "query_weights", "key_weights", "value_weights", "output_weights")}},
                {"type": "residual", "from": "input"}, {"type": "layer_norm"},
                {"weights": draw(features, features), "bias": draw(features), "activation": "relu"},
                {"weights": draw(10, features), "bias": draw(10), "activation": "softmax"}]}


def _kinds(root: ET.Element) -> Counter:
    """What a drawing is made of (its shades depend on the numbers)."""
    return Counter((e.tag, "shade" if (e.get("class") or "").startswith("attention-") else e.get("class"))
                   for e in root.iter())


def test_a_large_transformer_block_is_elided_to_a_bounded_drawing() -> None:
    small = ET.fromstring(svg(nnworked.solve(_block(8, 32, 4))))
    large = ET.fromstring(svg(nnworked.solve(_block(32, 64, 4))))  # as benchmarks/transformer.py builds it
    assert _kinds(large) == _kinds(small)  # the same drawing, with other numbers
    assert _texts(large, "kernel-name")[:9] == ["Q[0]", "K[0]", "V[0]", "Q[1]", "K[1]", "V[1]", "Q[3]", "K[3]", "V[3]"]
    assert "⋮ 1 more head" in _texts(large, "gap")
    assert len(_weights(large)) == 3 * 36  # 6 × 6 shown weights of 3 heads
    assert "a large layer shows its first and last units, rows, columns and channels" in \
        " ".join(_texts(large, "caption"))
    assert float(large.get("width")) < 6000 and float(large.get("height")) < 1300


def _rnn(steps: int, units: int) -> dict:
    rng = np.random.default_rng(steps)
    return {"title": "long", "inputs": rng.uniform(-1, 1, (steps, units)).round(2).tolist(), "targets": [[1]],
            "layers": [{"type": "rnn", "input_weights": rng.uniform(-0.3, 0.3, (units, units)).round(2).tolist(),
                        "recurrent_weights": rng.uniform(-0.3, 0.3, (units, units)).round(2).tolist(),
                        "return": "last"},
                       {"weights": rng.uniform(-0.3, 0.3, (1, units)).round(2).tolist()}],
            "loss": "mse"}


def test_a_long_sequence_shows_its_first_steps_and_its_last() -> None:
    short = ET.fromstring(svg(nnworked.solve(_rnn(10, 8))))
    long = ET.fromstring(svg(nnworked.solve(_rnn(40, 20))))
    assert _texts(short, "step") == ["t = 0", "t = 1", "t = 2", "t = 9"]
    assert _texts(long, "step") == ["t = 0", "t = 1", "t = 2", "t = 39"]
    assert [t for t in _texts(long, "gap") if "more" in t] == ["⋯ 36 more steps"]
    assert len(_shapes(long, "polyline", "edge")) == 6  # ŷ reads h_39's shown units: 5, ⋮, its last
    assert " ".join(_texts(short, "caption")).endswith("a long sequence shows its first and last time steps.")
    assert _kinds(long) == _kinds(short)
    assert float(long.get("width")) < 2000 and float(long.get("height")) < 1000


@pytest.mark.parametrize("name", SEQUENCES)
def test_html_markdown_and_a_notebook_carry_the_picture(tmp_path: Path, name: str) -> None:
    trace = trace_of(name)
    assert drawable(trace)
    picture = svg(trace)
    assert f'<figure class="network">{picture}' in nnworked.run(name).render("html")
    assert picture.strip() in nnworked.run(name)._repr_html_()  # Jupyter's display
    assert picture.strip() in run_cell("", name).html  # a %%nnworked cell
    written = nnworked.api.files(trace, "markdown", str(tmp_path / "walk.md"))
    assert written[str(tmp_path / "walk-network.svg")] == picture
    assert f"![The network of {trace.scenario.title}](walk-network.svg)" in written[str(tmp_path / "walk.md")]
    assert r"\begin{tikzpicture}" in tikz(trace) and r"\begin{tikzpicture}" in nnworked.run(name).render("latex")


@pytest.mark.skipif(bool(TIKZ_UNAVAILABLE), reason=TIKZ_UNAVAILABLE)
@pytest.mark.parametrize("name, shown", [
    ("rnn_three_steps", ["t = 2", "0.99860590", "0.99999815", "−0.00558808", "tanh"]),
    ("lstm_step", ["0.78573", "1.51763", "0.77198", "LSTM", "0.96083"]),
    ("attention_three_tokens", ["0.0634", "0.4683", "0.9820", "7.7599"]),
    ("transformer_block", ["0.7346", "0.6539", "1.4142", "1.2526"])])
def test_latex_draws_the_sequence_picture_and_compiles(tmp_path: Path, name: str, shown: list[str]) -> None:
    import shutil

    compile_latex(nnworked.run(name).render("latex"), tmp_path)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (poppler-utils; CI installs it: .ci/run)")
    pdf = subprocess.run(["pdftotext", "-enc", "UTF-8", "doc.pdf", "-"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60).stdout
    pages = pdf.split("\f")
    opening = next(i for i, page in enumerate(pages) if "Problem Setup" in page)
    figure = "".join(pages[:opening + 1])  # the picture opens the document (a sideways one's text comes last)
    for value in shown:
        assert value in figure


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it)")
def test_html_with_the_sequence_picture_in_a_headless_browser(tmp_path: Path) -> None:
    page = tmp_path / "walk.html"
    page.write_text(nnworked.run("transformer_block").render("html"), encoding="utf-8")
    result = chromium("--dump-dom", page.as_uri(), tmp=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '<figure class="network"><svg' in result.stdout and 'class="masked-cell"' in result.stdout
    assert "CONSOLE" not in result.stderr and "Uncaught" not in result.stderr
