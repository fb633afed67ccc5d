"""`--format xlsx` for every layer type beyond dense ones: convolution (padding, stride, several channels),
max and average pooling, flatten, dropout, batch and layer normalisation and residual connections, forward,
backward and updated, as live formulas stored with the trace's values.

Recalculated by LibreOffice headless (tests/test_xlsx.py's helpers, which strip the stored values first),
every computed cell equals the trace to the printed precision, for scenarios/cnn_edge.yaml and a scenario
with every other layer type, in both rounding modes; an exercise's status cells say NOT DONE, CORRECT and
INCORRECT; an edited input recomputes every cell to the trace of the edited scenario.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import nnworked
from nnworked.errors import NnworkedError
from nnworked.quantities import table
from nnworked.render import xlsx
from nnworked.render.spreadsheet import LAID_OUT, Layout
from nnworked.rules.layers import LAYERS
from tests.test_xlsx import SOFFICE, _compare, answered_sheets, assert_status_cells, _formulas, _recalculated, _values, _write, needs_libreoffice, openpyxl

EVERY = """\
title: Every layer type in a spreadsheet
inputs:
  - [[[1, 2, 0, -1, 3], [0, 1, 2, 1, 0], [2, -1, 1, 0, 1], [1, 0, -2, 1, 2], [0, 1, 1, -1, 0]],
     [[0.5, 0, 1, 2, -1], [1, 1, 0, 0, 2], [-1, 0.5, 2, 1, 0], [0, 2, 1, -0.5, 1], [1, 0, 0, 1, 1]]]
  - [[[0, 1, 1, 2, 0], [1, -1, 0, 1, 2], [2, 0, 1, 1, -1], [0, 1, 0, 2, 1], [1, 2, -1, 0, 0]],
     [[1, 0, -1, 0.5, 1], [0, 2, 1, 1, 0], [1, 1, 0, -1, 2], [2, 0, 0.5, 1, 0], [0, -1, 1, 2, 1]]]
targets: [[1, 0], [0, 1]]
layers:
  - type: conv2d
    kernels: [[[[0.2, -0.1, 0.3], [0.1, 0.4, -0.2], [0, 0.1, 0.2]], [[-0.3, 0.2, 0.1], [0.2, 0, -0.1], [0.1, -0.2, 0.3]]],
              [[[0.1, 0.1, -0.2], [0.3, -0.1, 0], [0.2, 0.2, 0.1]], [[0.2, -0.3, 0.1], [0, 0.1, 0.2], [-0.1, 0.3, 0]]]]
    bias: [0.1, -0.05]
    stride: 2
    padding: 1
    activation: tanh
  - type: max_pool
    size: 2
    stride: 1
  - type: conv2d
    kernels: [[[[0.5, -0.2], [0.1, 0.3]], [[0.2, 0.4], [-0.3, 0.1]]],
              [[[-0.1, 0.3], [0.2, 0.2]], [[0.4, -0.2], [0.1, 0.5]]]]
    bias: [0.05, 0.1]
    stride: 2
    padding: 1
    activation: relu
  - type: avg_pool
    size: 2
    stride: 1
  - type: dropout
    rate: 0.25
    mask: [[[[1]], [[0]]], [[[1]], [[1]]]]
  - type: flatten
  - type: layer_norm
    gamma: [1.2, 0.8]
    beta: [0.1, -0.1]
  - weights: [[0.5, -0.4], [0.3, 0.8], [-0.6, 0.2]]
    bias: [0.1, 0, -0.1]
    activation: relu
    name: block
  - type: batch_norm
  - type: residual
    from: block
  - weights: [[0.4, -0.3, 0.2], [-0.2, 0.5, 0.1]]
    bias: [0, 0.05]
    activation: softmax
loss: cross_entropy
learning_rate: 0.1
optimizer: adam
steps: 2
precision: 4
"""
# rounding: carry, each operation rounded to 4 places (Adam's first steps divide by a rounded 0 there: momentum);
# the batch's mean loss, its ∂L/∂ŷ rounded before and after ÷ 2 as carry rounds it
CARRY = EVERY.replace("precision: 4", "precision: 4\nrounding: carry").replace(
    "optimizer: adam", "optimizer: {name: momentum, momentum: 0.9}")
EXERCISES = {"cnn_edge": "all", "every": "all", "carry": "one-per-layer"}


def _scenario(tmp_path: Path, text: str, name: str) -> str:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def test_every_layer_type_is_laid_out_and_another_is_refused_by_name() -> None:
    """Every layer type has its cells; one that has none (here a made-up gru) gets a message that names it,
    never a traceback: a new layer type fails here until it is laid out."""
    assert set(LAYERS.names()) - set(LAID_OUT) == set()
    trace = SimpleNamespace(scenario=SimpleNamespace(layers=[SimpleNamespace(type="dense"),
                                                             SimpleNamespace(type="gru")]), steps=[])
    with pytest.raises(NnworkedError) as error:
        xlsx._laid_out(trace)
    assert str(error.value) == ("--format xlsx lays out dense, conv2d, max_pool, avg_pool, flatten, dropout, "
                                "batch_norm, layer_norm, residual, rnn, self_attention and lstm layers; this scenario "
                                "has gru layers, which the spreadsheet cannot write yet: use another format")


def test_the_edge_detector_is_a_sumproduct_of_the_kernel_and_its_patch(tmp_path: Path) -> None:
    """cnn_edge: x (5×5) from H5, K₁ left of z₁ from B12, each z₁ cell SUMPRODUCT(K₁, its 3×3 patch) + b₁;
    the feature map is the published one, [[−6, 14, 12], [−2, 9, 5], [4, 7, 3]], pooled [[14, 14], [9, 9]]."""
    path = _write("cnn_edge", tmp_path / "edge.xlsx")
    sheet = openpyxl.load_workbook(path)["Step 1"]
    values = openpyxl.load_workbook(path, data_only=True)["Step 1"]
    assert [[sheet.cell(row=r, column=c).value for c in range(2, 5)] for r in range(12, 15)] == [[1, 0, -1]] * 3
    assert sheet["H12"].value == "=SUMPRODUCT(B12:D14,H5:J7)+F12"
    assert sheet["J14"].value == "=SUMPRODUCT(B12:D14,J7:L9)+F12"  # the patch two right and two down
    assert [[values.cell(row=r, column=c).value for c in range(8, 11)] for r in range(12, 15)] == \
        [[-6, 14, 12], [-2, 9, 5], [4, 7, 3]]
    assert sheet["H22"].value == "=MAX(H17,I17,H18,I18)"
    assert [[values.cell(row=r, column=c).value for c in range(8, 10)] for r in (22, 23)] == [[14, 14], [9, 9]]
    assert [sheet.cell(row=r, column=8).value for r in range(26, 30)] == ["=H22", "=I22", "=H23", "=I23"]  # flatten
    # ∂L/∂a₁: the window at (0, 0) is won by its 14 at (0, 1) (I17), the first of the maxima
    assert sheet["I68"].value.startswith("=IF(AND(I17>H17,I17>=H18,I17>=I18),H64,0)+")
    assert sheet["B73"].value == "=SUMPRODUCT(H73:J75,H5:J7)"  # ∂L/∂K₁[0,0,0,0]: ∂L/∂z₁ against x
    trace = nnworked.solve("cnn_edge")
    grads = trace.steps[0].gradients()
    assert values["B73"].value == grads["K1"][0, 0, 0, 0]


@pytest.mark.parametrize("name", ["cnn_edge", "every", "carry"])
def test_every_named_cell_stores_the_trace_value(tmp_path: Path, name: str) -> None:
    source = {"cnn_edge": "cnn_edge", "every": _scenario(tmp_path, EVERY, "every"),
              "carry": _scenario(tmp_path, CARRY, "carry")}[name]
    trace = nnworked.solve(source)
    cells = [cell for grid in Layout(trace).build(trace.steps[:1]) for cell in grid.cells.values() if cell.key]
    values = table(trace).values
    named = {cell.key: cell.value for cell in cells if cell.key in values}
    assert set(values) <= set(named), sorted(set(values) - set(named))  # every quantity has its cell
    assert all(named[key] == values[key] for key in values)
    kinds = {key.split("[")[0] for key in values}
    assert {"K1", "dK3", "dgamma7", "gamma9", "dbeta9", "a10", "da8"} <= kinds or name == "cnn_edge"


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every file the LibreOffice tests read, written and then recalculated in one run of LibreOffice:
    the walkthroughs; an input edited in one; each exercise untouched, filled with the key, and with a slip."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui (.ci/run "
                    "installs it)")
    tmp = tmp_path_factory.mktemp("layers")
    sources = {"cnn_edge": "cnn_edge", "every": _scenario(tmp, EVERY, "every"), "carry": _scenario(tmp, CARRY, "carry")}
    files: dict[str, Path] = {name: _write(source, tmp / f"{name}.xlsx", "--all-steps") for name, source in sources.items()}
    # a pixel of the first image (now the largest of its pooling window), a kernel weight and γ, typed in
    edited = EVERY.replace("[[[1, 2, 0, -1, 3]", "[[[9, 2, 0, -1, 3]").replace(
        "[[[[0.5, -0.2]", "[[[[-0.5, -0.2]").replace("gamma: [1.2, 0.8]", "gamma: [0.7, 0.8]")
    sources["edited"] = _scenario(tmp, edited, "edited")
    original, expected = _write(sources["every"], tmp / "one-step.xlsx"), _write(sources["edited"], tmp / "edited.xlsx")
    book, before, after = openpyxl.load_workbook(original), _values(original), _values(expected)
    formulas = _formulas(original)
    typed = [at for (sheet, at), v in before.items() if (sheet, at) not in formulas and v != after[(sheet, at)]]
    for at in typed:
        book["Step 1"][at] = after[("Step 1", at)]
    book.save(tmp / "typed.xlsx")
    files["typed"] = tmp / "typed.xlsx"
    exercises: dict[str, Any] = {}
    for name, blanks in EXERCISES.items():
        answered, exercises[name] = answered_sheets(sources[name], name, blanks, tmp)
        files.update(answered)
    names = list(files)
    again = dict(zip(names, _recalculated([files[name] for name in names], tmp)))
    return {"sources": sources, "files": files, "again": again, "typed": typed, "expected": expected,
            "exercises": exercises}


@needs_libreoffice
def test_libreoffice_recalculates_every_layer_type_to_the_trace(recalculated: dict[str, Any]) -> None:
    """cnn_edge; two examples through a padded, strided two-channel convolution, max pooling, a second
    convolution (its ∂L/∂input the full convolution), average pooling, dropout on images, flatten, layer
    and batch normalisation and a residual connection, two Adam steps and the pass after training; and the
    same under rounding: carry."""
    sources, files, again = recalculated["sources"], recalculated["files"], recalculated["again"]
    counts = {name: _compare(nnworked.solve(sources[name]), files[name], again[name])
              for name in ("cnn_edge", "every", "carry")}
    assert counts["cnn_edge"] > 150 and counts["every"] > 2000 and counts["carry"] > 2000, counts
    assert openpyxl.load_workbook(files["every"]).sheetnames == ["Step 1", "Step 2", "After training"]
    exact, carried = " ".join(_formulas(files["every"]).values()), " ".join(_formulas(files["carry"]).values())
    for part in ("SUMPRODUCT(", "AVERAGE(", "MAX(", "SQRT(", "IF(AND("):
        assert part in exact, part
    assert "SUMPRODUCT(ROUND(" in carried and "SUMPRODUCT(ROUND(" not in exact


@needs_libreoffice
def test_editing_an_input_recomputes_every_cell(recalculated: dict[str, Any]) -> None:
    """A pixel of the first image, a kernel weight and γ edited in the file and recalculated: every computed
    cell equals what nnworked solves for the edited scenario (a different winner of a max-pooling window
    included: the pixel becomes the largest of its patch)."""
    assert len(recalculated["typed"]) == 3, recalculated["typed"]  # the only given cells that differ
    trace = nnworked.solve(recalculated["sources"]["edited"])
    assert _compare(trace, recalculated["expected"], recalculated["again"]["typed"]) > 1000
    edited = _values(recalculated["again"]["typed"])
    before = _values(recalculated["files"]["every"])
    moved = [where for where in _formulas(recalculated["expected"])
             if where[0] == "Step 1" and isinstance(before.get(where), float) and before[where] != edited.get(where)]
    assert len(moved) > 500  # most of the sheet depends on what was typed


@needs_libreoffice
@pytest.mark.parametrize("name", list(EXERCISES))
def test_an_exercise_says_not_done_then_correct_then_incorrect(recalculated: dict[str, Any], name: str) -> None:
    assert_status_cells(recalculated, name)
