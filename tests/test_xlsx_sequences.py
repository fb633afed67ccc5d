"""`--format xlsx` for sequences: self-attention (attention_three_tokens, and transformer_block: two causal
heads, W_O, a residual, a layer norm and a softmax at every position, also under rounding: carry), an rnn
over three time steps and an LSTM (lstm_step), and stacks of them over two sequences, each token a column,
as live formulas stored with the trace's values.

Recalculated by LibreOffice headless (tests/test_xlsx.py's helpers, which strip the stored values first),
every computed cell equals the trace to the printed precision; a token's feature and a weight typed into the
file recompute every cell to what nnworked solves for the edited scenario; an exercise's status cells say
NOT DONE, CORRECT and INCORRECT.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import nnworked
from nnworked import bundled
from nnworked.quantities import table
from nnworked.render.spreadsheet import Layout
from tests.test_xlsx import SOFFICE, _compare, answered_sheets, assert_status_cells, _formulas, _recalculated, _values, _write, needs_libreoffice, openpyxl

SEQUENCES = ["attention_three_tokens", "transformer_block", "rnn_three_steps", "lstm_step"]
# two sequences each; attention after an rnn (so ∂L/∂x along its three projections), an rnn after attention
# (so ∂L/∂x_t = W_xᵀ·δ_t), an initial state, Adam and momentum over two steps
STACKED = """\
title: Attention, an rnn, attention again, over two sequences
inputs:
  - [[1, 0], [0, 1], [1, 1]]
  - [[0.5, -1], [2, 0], [0, 0.5]]
targets:
  - [[1, 0], [0, 1], [1, 0]]
  - [[0, 1], [0, 1], [1, 0]]
layers:
  - type: self_attention
    query_weights: [[0.3, 0.8], [-0.4, 0.7]]
    key_weights: [[1.0, 0.6], [-0.6, -0.7]]
    value_weights: [[-1.0, -0.6], [-0.3, -1.0]]
  - type: rnn
    input_weights: [[0.3, -0.2], [0.1, 0.5], [0.2, 0.2], [-0.1, 0.4]]
    recurrent_weights: [[0.4, 0.1, 0, 0.2], [-0.3, 0.2, 0.1, 0], [0.1, 0, 0.2, -0.1], [0, 0.3, -0.2, 0.1]]
    bias: [0.05, -0.05, 0, 0.1]
    initial_state: [0.1, -0.2, 0, 0.3]
  - type: self_attention
    heads: 2
    causal: true
    query_weights: [[0.3, 0.8, 0.6, -0.5], [-0.4, 0.7, -1.0, 0.6], [0.6, -0.1, -0.4, -0.4], [-0.5, -0.1, 0.0, 0.1]]
    key_weights: [[1.0, 0.6, 0.2, 1.0], [-0.6, -0.7, 0.2, -0.9], [-0.9, 0.0, -0.1, 0.8], [0.3, 0.0, 0.0, -0.5]]
    value_weights: [[-1.0, -0.6, 0.4, -0.6], [-0.3, -1.0, 0.7, -0.7], [-0.5, 0.8, 0.0, 0.7], [0.3, 0.5, -0.8, 0.1]]
    output_weights: [[0.2, -0.1, 0.3, 0.1], [-0.3, 0.2, 0.1, 0.4]]
  - weights: [[0.2, -0.1], [-0.3, 0.2]]
    bias: [0, 0]
    activation: softmax
loss: cross_entropy
learning_rate: 0.5
optimizer: adam
steps: 2
precision: 4
"""
LAST = """\
title: Attention, then an rnn returning its last state, two sequences
inputs:
  - [[1, 0], [0, 1], [1, 1]]
  - [[0.5, -1], [2, 0], [0, 0.5]]
targets: [[0.5], [-0.2]]
layers:
  - type: self_attention
    query_weights: [[0.3, 0.8], [-0.4, 0.7]]
    key_weights: [[1.0, 0.6], [-0.6, -0.7]]
    value_weights: [[-1.0, -0.6], [-0.3, -1.0]]
    scaled: false
  - type: rnn
    input_weights: [[0.3, -0.2], [0.1, 0.5]]
    recurrent_weights: [[0.4, 0.1], [-0.3, 0.2]]
    bias: [0.05, -0.05]
    initial_state: [0.1, -0.2]
    return: last
  - weights: [[0.7, -0.4]]
    bias: [0.1]
loss: mse
learning_rate: 0.1
optimizer: momentum
steps: 2
precision: 4
"""
EVERY_STATE = """\
title: An rnn returning every state, two sequences
inputs:
  - [[1, 0], [0, 1]]
  - [[0.5, -1], [2, 0]]
targets:
  - [[1, 0], [0, 1]]
  - [[0, 1], [1, 0]]
layers:
  - type: rnn
    input_weights: [[0.3, -0.2], [0.1, 0.5]]
    recurrent_weights: [[0.4, 0.1], [-0.3, 0.2]]
    activation: relu
  - type: layer_norm
  - weights: [[0.7, -0.4], [0.2, 0.3]]
    bias: [0.1, 0]
    activation: softmax
loss: cross_entropy
learning_rate: 0.1
steps: 2
precision: 4
"""
GATED = """\
title: Attention, then an LSTM returning its last state, two sequences
inputs:
  - [[1, 0], [0, 1], [1, 1]]
  - [[0.5, -1], [2, 0], [0, 0.5]]
targets: [[0.5], [-0.2]]
layers:
  - type: self_attention
    query_weights: [[0.3, 0.8], [-0.4, 0.7]]
    key_weights: [[1.0, 0.6], [-0.6, -0.7]]
    value_weights: [[-1.0, -0.6], [-0.3, -1.0]]
  - type: lstm
    input_weights: {i: [[0.3, -0.2], [0.1, 0.5]], f: [[0.2, 0.1], [-0.3, 0.4]], g: [[0.5, -0.1], [0.2, 0.2]], o: [[-0.4, 0.3], [0.1, -0.2]]}
    recurrent_weights: {i: [[0.4, 0.1], [-0.3, 0.2]], f: [[0.1, 0], [0.2, -0.1]], g: [[0.3, -0.2], [0, 0.1]], o: [[-0.1, 0.2], [0.3, 0]]}
    bias: {i: [0.05, -0.05], f: [1, 1], g: [0, 0.1], o: [0.1, -0.1]}
    initial_state: {h: [0.1, -0.2], c: [0.3, 0]}
    return: last
  - weights: [[0.7, -0.4]]
    bias: [0.1]
loss: mse
learning_rate: 0.1
optimizer: adam
steps: 2
precision: 4
"""
FILES = {"stacked": STACKED, "last": LAST, "every_state": EVERY_STATE, "gated": GATED}


@pytest.mark.parametrize("name", SEQUENCES + list(FILES))
def test_every_named_cell_stores_the_trace_value(name: str) -> None:
    """Every quantity of the table (a{k}[example, position, unit], ∂L/∂W_Q, ∂L/∂W_h, …) has its cell, and
    the value stored with its formula is the table's."""
    trace = nnworked.solve(FILES.get(name, name))
    cells = [cell for grid in Layout(trace).build(trace.steps[:1]) for cell in grid.cells.values() if cell.key]
    values = table(trace).values
    named = {cell.key: cell.value for cell in cells if cell.key in values}
    assert set(values) <= set(named), sorted(set(values) - set(named))
    assert all(named[key] == values[key] for key in values)


def test_attention_is_laid_out_as_a_student_works_it(tmp_path: Path) -> None:
    """transformer_block: x a token a column (H5:J8), W_Q left of Q, each score a row of Q_h against a
    column of K_h, ÷ √2, each row's stable softmax over j ≤ i (a masked weight is 0); the stored weights
    are numpy's own softmax of the scenario's numbers."""
    path = _write("transformer_block", tmp_path / "block.xlsx")
    sheet = openpyxl.load_workbook(path)["Step 1"]
    stored = openpyxl.load_workbook(path, data_only=True)["Step 1"]
    assert [sheet.cell(row=3, column=c).value for c in (8, 9, 10)] == ["t = 1", "t = 2", "t = 3"]
    assert sheet["H12"].value == "=B12*H5+C12*H6+D12*H7+E12*H8"  # Q[0] of token 1: W_Q's row 0 times x₁
    assert sheet["B29"].value == "=SQRT(2)"
    assert sheet["I32"].value == "=H12*I18+H13*I19"  # head 1: Q of token 1 against K of token 2
    assert sheet["I37"].value == "=I32/B29"
    assert sheet["I42"].value == "=0"  # token 1 may not attend to token 2
    assert sheet["I43"].value == "=EXP(I38-MAX(H38,I38))/(EXP(H38-MAX(H38,I38))+EXP(I38-MAX(H38,I38)))"
    layer = nnworked.load("transformer_block").layers[0]
    x = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]], dtype=float)
    for h, top in ((0, 42), (1, 57)):
        q, k = (x @ layer.query_weights.T)[:, 2 * h:2 * h + 2], (x @ layer.key_weights.T)[:, 2 * h:2 * h + 2]
        for i in range(3):
            scores = q[i] @ k[:i + 1].T / np.sqrt(2)
            expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            got = [stored.cell(row=top + i, column=8 + j).value for j in range(3)]
            assert np.allclose(got, list(expected) + [0] * (2 - i), rtol=0, atol=1e-12), (h, i, got)


def _carried() -> str:
    """transformer_block under rounding: carry, two steps, a ReLU output layer and mean squared error (its
    bundled softmax and cross-entropy under carry are tests/test_xlsx_carry.py's)."""
    text = Path(bundled.resolve("transformer_block")).read_text()
    for old, new in (("targets: [[[1], [2], [0]]]", "targets: [[[0, 1, 0], [0, 0, 1], [1, 0, 0]]]"),
                     ("    activation: softmax\n", "    activation: relu\n"),
                     ("loss: cross_entropy", "loss: {name: mse, scale: 1}"),
                     ("precision: 4", "precision: 4\nrounding: carry\nsteps: 2")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each scenario's walkthrough (and two training steps of attention and the rnn with the pass after
    training), an input and a weight typed into a file, and each exercise untouched, filled with the key and
    with a slip, recalculated in one run of LibreOffice."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui (.ci/run "
                    "installs it)")
    tmp = tmp_path_factory.mktemp("sequences")
    files = {name: _write(name, tmp / f"{name}.xlsx") for name in SEQUENCES}
    for name in ("attention_three_tokens", "rnn_three_steps"):
        files[f"{name}-2"] = _write(name, tmp / f"{name}-2.xlsx", "--steps", "2", "--all-steps")
    for name, text in FILES.items():
        (tmp / f"{name}.yaml").write_text(text)
        files[name] = _write(str(tmp / f"{name}.yaml"), tmp / f"{name}.xlsx", "--all-steps")
    carried = tmp / "carried.yaml"
    carried.write_text(_carried())
    files["carried"] = _write(str(carried), tmp / "carried.xlsx", "--all-steps")
    # a token's feature and a weight of W_Q of the transformer; an input and a recurrent weight of the rnn; a
    # weight of the LSTM's forget gate and an input
    edits = {"transformer_block": (("  - [0, 1, 0, 1]\n", "  - [0, 1.5, 0, 1]\n"),
                                   ("[[0.3, 0.8, 0.6, -0.5]", "[[0.3, -0.2, 0.6, -0.5]")),
             "rnn_three_steps": (("inputs: [[0.2], [0.3], [0.4]]", "inputs: [[0.2], [-0.3], [0.4]]"),
                                 ("recurrent_weights: [[1, 2], [3, 4]]", "recurrent_weights: [[1, 2], [0.5, 4]]")),
             "lstm_step": (("f: [[0.7, 0.45]]", "f: [[-0.7, 0.45]]"), ("inputs: [[1, 2], [0.5, 3]]", "inputs: [[1, 2], [0.5, 2]]"))}
    edited: dict[str, str] = {}
    for name, pairs in edits.items():
        source = str(bundled.resolve(name))
        for old, new in pairs:
            text = Path(source).read_text()
            assert text.count(old) == 1, old
            source = str(tmp / f"{name}-edited.yaml")
            Path(source).write_text(text.replace(old, new))
        edited[name] = source
        expected = _write(source, tmp / f"{name}-expected.xlsx")
        book, before, after = openpyxl.load_workbook(files[name]), _values(files[name]), _values(expected)
        formulas = _formulas(files[name])
        typed = [at for (sheet, at), v in before.items() if (sheet, at) not in formulas and v != after[(sheet, at)]]
        assert len(typed) == 2, typed  # the only given cells that differ
        for at in typed:
            book["Step 1"][at] = after[("Step 1", at)]
        book.save(tmp / f"{name}-typed.xlsx")
        files[f"{name}-typed"], files[f"{name}-expected"] = tmp / f"{name}-typed.xlsx", expected
    exercises: dict[str, Any] = {}
    for name in ("transformer_block", "rnn_three_steps", "lstm_step"):
        answered, exercises[name] = answered_sheets(name, name, "all", tmp)
        files.update(answered)
    names = list(files)
    again = dict(zip(names, _recalculated([files[name] for name in names], tmp)))
    return {"files": files, "again": again, "edited": edited, "exercises": exercises}


@needs_libreoffice
def test_libreoffice_recalculates_every_sequence_scenario_to_the_trace(recalculated: dict[str, Any]) -> None:
    files, again = recalculated["files"], recalculated["again"]
    counts = {name: _compare(nnworked.solve(name), files[name], again[name]) for name in SEQUENCES}
    counts.update({f"{name}-2": _compare(nnworked.solve(name, steps=2), files[f"{name}-2"], again[f"{name}-2"])
                   for name in ("attention_three_tokens", "rnn_three_steps")})
    counts.update({name: _compare(nnworked.solve(text), files[name], again[name]) for name, text in FILES.items()})
    assert counts["stacked"] > 3000 and counts["last"] > 800 and counts["every_state"] > 400, counts
    assert counts["lstm_step"] > 170 and counts["gated"] > 2200, counts
    counts["carried"] = _compare(nnworked.solve(_carried()), files["carried"], again["carried"])
    assert counts["transformer_block"] > 800 and counts["attention_three_tokens"] > 300, counts
    assert counts["carried"] > 1400, counts  # two steps under carry and the pass after training
    carried = " ".join(_formulas(files["carried"]).values())
    assert "IF(MAX(H38,I38)>50,MAX(H38,I38),0)" in carried
    assert counts["rnn_three_steps"] > 90 and counts["rnn_three_steps-2"] > counts["rnn_three_steps"] + 80, counts
    assert openpyxl.load_workbook(files["rnn_three_steps-2"]).sheetnames == ["Step 1", "Step 2", "After training"]
    block, rnn = " ".join(_formulas(files["transformer_block"]).values()), " ".join(_formulas(files["rnn_three_steps"]).values())
    for part in ("EXP(", "MAX(", "SQRT(2)", "=0"):
        assert part in block, part
    assert "TANH(" in rnn


@needs_libreoffice
@pytest.mark.parametrize("name", ["transformer_block", "rnn_three_steps", "lstm_step"])
def test_typing_a_token_and_a_weight_recomputes_every_cell(recalculated: dict[str, Any], name: str) -> None:
    """Every computed cell of the file with the two numbers typed in equals what nnworked solves for the
    edited scenario, and most of the sheet moved."""
    files, again = recalculated["files"], recalculated["again"]
    trace = nnworked.solve(recalculated["edited"][name])
    compared = _compare(trace, files[f"{name}-expected"], again[f"{name}-typed"])
    before, after = _values(files[name]), _values(again[f"{name}-typed"])
    moved = [where for where in _formulas(files[name])
             if isinstance(before.get(where), float) and before[where] != after.get(where)]
    assert compared > 90 and len(moved) > compared // 2, (compared, len(moved))


@needs_libreoffice
@pytest.mark.parametrize("name", ["transformer_block", "rnn_three_steps", "lstm_step"])
def test_an_exercise_says_not_done_then_correct_then_incorrect(recalculated: dict[str, Any], name: str) -> None:
    assert_status_cells(recalculated, name)


def test_a_sequence_s_loss_heading_counts_tokens(tmp_path: Path) -> None:
    def headings(name: str) -> list[str]:
        book = openpyxl.load_workbook(_write(name, tmp_path / f"{name}.xlsx"))
        return [c.value for row in book["Step 1"].iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("Loss")]

    assert headings("transformer_block") == ["Loss of each token: Cross-Entropy, L = −Σₖ yₖ·ln(ŷₖ)"]
    assert headings("xor_batch") == ["Loss of each example: Binary Cross-Entropy, L = −[y·ln(ŷ) + (1 − y)·ln(1 − ŷ)]"]
