"""`--format xlsx`: the AI by Hand layout as a spreadsheet of live formulas stored with the trace's values.

The file is opened with openpyxl (formulas and stored values); then every formula is recomputed by
LibreOffice headless, from a copy whose stored values are removed (so nothing is read back unrecomputed),
and every computed cell must equal the trace to the printed precision, for every bundled scenario with
dense layers; an exercise's status cells say NOT DONE, then CORRECT with the key's values filled in, and
INCORRECT after a wrong one. The LibreOffice tests skip, saying why, where it is not installed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import nnworked
from nnworked import bundled, scenario
from nnworked.rules.layers import LAYERS
from nnworked.cli import app
from nnworked.quantities import table
from nnworked.render.spreadsheet import Layout
from nnworked.render.spreadsheet_cells import CORRECT, INCORRECT, NOT_DONE

openpyxl = pytest.importorskip("openpyxl", reason="the spreadsheet tests read .xlsx files with openpyxl")
pytest.importorskip("xlsxwriter", reason="--format xlsx writes with XlsxWriter (pip install \".[xlsx]\")")

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: apt-get "
                                       "install libreoffice-calc-nogui (.ci/run installs it)")
DENSE = [name for name in bundled.names() if "matrix-multiplication" not in name
         and all(LAYERS[layer.type].neurons for layer in scenario.load(bundled.resolve(name)).layers)]

# LibreOffice keeps the values stored in an .xlsx unless told to recalculate on load: a profile of its own
# that says so (0: always), so the test never reads back what nnworked wrote
RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse">
<value>0</value></prop></item>
</oor:items>
"""


def _formulas(path: Path) -> dict[tuple[str, str], str]:
    book = openpyxl.load_workbook(path)
    return {(sheet.title, cell.coordinate): cell.value for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if isinstance(cell.value, str) and cell.value.startswith("=")}


def _values(path: Path) -> dict[tuple[str, str], Any]:
    book = openpyxl.load_workbook(path, data_only=True)
    return {(sheet.title, cell.coordinate): cell.value for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.value is not None}


def _recalculated(paths: list[Path], tmp: Path) -> list[Path]:
    """Each file with its stored values removed (openpyxl keeps formulas only), recalculated by LibreOffice
    in one run, as the paths of the files it wrote."""
    stripped = tmp / "stripped"
    out = tmp / "recalculated"
    profile = tmp / "profile"
    for folder in (stripped, out, profile / "user"):
        folder.mkdir(parents=True, exist_ok=True)
    (profile / "user" / "registrymodifications.xcu").write_text(RECALCULATE)
    copies = []
    for path in paths:
        copy = stripped / path.name
        openpyxl.load_workbook(path).save(copy)
        copies.append(copy)
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "xlsx",
                    "--outdir", str(out), *map(str, copies)], check=True, capture_output=True, timeout=600)
    return [out / copy.name for copy in copies]


def _write(name: str, path: Path, *options: str) -> Path:
    result = CliRunner().invoke(app, ["run", name, "--format", "xlsx", "--output", str(path), *options])
    assert result.exit_code == 0, result.output
    return path


def _printed_half(value: float, trace: Any) -> float:
    """Half a unit of the last decimal the walkthrough prints for `value` (and binary noise); under rounding:
    carry binary noise only, since every formula rounds each stage where the walkthrough does, so a cell
    recalculates to the printed digits themselves (off by one in the last digit is a failure)."""
    noise = 1e-9 * max(1.0, abs(value))
    return noise if trace.precision.carry else 0.5 * 10.0 ** -trace.precision.decimals_for(value) + noise


# ---- the file itself ----------------------------------------------------------------------------------

def test_a_spreadsheet_needs_an_output_file() -> None:
    result = CliRunner().invoke(app, ["run", "spam", "--format", "xlsx"])
    assert result.exit_code == 2
    text = " ".join(result.output.replace("│", " ").split())
    assert ("xlsx is a binary format (a spreadsheet): give a file to write it to with --output, such as --output "
            "spam.xlsx") in text


def test_the_hidden_layer_exercise_is_cells_and_formulas(tmp_path: Path) -> None:
    """AI by Hand 4 (x = [2, 1, 3]): [W₁ | b₁] left of z₁, [x ; 1] above it, each z a row times a column."""
    path = _write("ai-by-hand/4-hidden-layer", tmp_path / "four.xlsx")
    assert zipfile.is_zipfile(path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Step 1"]
    sheet = book["Step 1"]
    x = [sheet.cell(row=r, column=8).value for r in range(5, 9)]
    assert x == [2, 1, 3, 1]  # the inputs, then the 1 the bias multiplies
    assert sheet["H11"].value == "=B11*H5+C11*H6+D11*H7+E11"
    assert [[sheet.cell(row=11, column=c).value for c in range(2, 6)]] == [[1, -1, 1, -5]]  # W₁[0] | b₁[0]
    assert sheet["H17"].value == "=MAX(0,H11)"
    values = openpyxl.load_workbook(path, data_only=True)["Step 1"]
    assert values["H11"].value == 1 * 2 - 1 * 1 + 1 * 3 - 5  # = −1, stored with the formula
    trace = nnworked.solve("ai-by-hand/4-hidden-layer")
    z1 = trace.steps[0].forward.linear[0].z
    assert [values.cell(row=r, column=8).value for r in range(11, 15)] == z1[0].tolist()


def test_a_network_with_other_layers_is_refused_with_a_message(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A layer type the spreadsheet has no cells for (here: as if it laid out dense layers only) is named."""
    from nnworked.render import xlsx

    monkeypatch.setattr(xlsx, "LAID_OUT", ("dense",))
    result = CliRunner().invoke(app, ["run", "cnn_edge", "--format", "xlsx", "--output", str(tmp_path / "c.xlsx")])
    assert result.exit_code == 1 and not (tmp_path / "c.xlsx").exists()
    assert ("--format xlsx lays out dense layers; this scenario has conv2d, flatten and max_pool layers, which the "
            "spreadsheet cannot write yet: use another format") in " ".join(result.output.split())


def test_every_named_cell_stores_the_trace_value() -> None:
    """Every quantity of the table has its cell, and the value stored with its formula is the table's."""
    for name in DENSE:
        trace = nnworked.solve(name)
        cells = [cell for grid in Layout(trace).build(trace.steps[:1]) for cell in grid.cells.values() if cell.key]
        values = table(trace).values
        named = {cell.key: cell.value for cell in cells if cell.key in values}
        assert named, name
        for key, value in named.items():
            assert value == values[key], (name, key)
        assert set(values) <= set(named), (name, sorted(set(values) - set(named)))  # every quantity has its cell


def test_an_update_is_the_optimizer_rule_written_as_formulas(tmp_path: Path) -> None:
    """iris_softmax trains with momentum: v ← μ·v + g, θ ← θ − η·v, each a cell."""
    path = _write("iris_softmax", tmp_path / "iris.xlsx")
    formulas = _formulas(path)
    momentum = [f for f in formulas.values() if f.startswith("=0.9*0+")]
    assert momentum, "v = μ·0 + g on the first step"
    text = " ".join(str(v) for v in _values(path).values())
    assert "v for W₁" in text and "W₁ after the update" in text and "softmax(z)ₖ = e^(zₖ) / Σⱼ e^(zⱼ)" in text


def test_without_xlsxwriter_the_message_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)
    result = CliRunner().invoke(app, ["run", "spam", "--format", "xlsx", "--output", str(tmp_path / "s.xlsx")])
    assert result.exit_code == 1
    assert result.output.strip() == '--format xlsx needs XlsxWriter: pip install "nnworked[xlsx]"'
    assert not (tmp_path / "s.xlsx").exists()


def test_untrusted_title_is_text_not_a_formula(tmp_path: Path) -> None:
    scenario = tmp_path / "evil.yaml"
    scenario.write_text('title: "=HYPERLINK(\\"http://x\\")\\u001b[2J"\ninputs: [[1]]\nlayers:\n'
                        '  - weights: [[2]]\n')
    path = _write(str(scenario), tmp_path / "evil.xlsx")
    sheet = openpyxl.load_workbook(path)["Step 1"]
    assert sheet["A1"].value == '=HYPERLINK("http://x")\\x1b[2J'
    assert sheet["A1"].data_type == "s"


# ---- recalculated by LibreOffice ----------------------------------------------------------------------

def answered_sheets(source: str, name: str, blanks: str, tmp: Path) -> tuple[dict[str, Path], tuple]:
    """An xlsx exercise of `source` as written (`NAME-untouched`), with every blank typed right
    (`NAME-right`), and with the first blank 1 off (`NAME-wrong`); and (exercise, where each blank is, the
    first blank) to read the status cells by."""
    sheet_path = _write(source, tmp / f"{name}-sheet.xlsx", "--exercise", "--blanks", blanks, "--seed", "3")
    trace, exercise = nnworked.solve(source), nnworked.exercise(source, blanks=blanks, seed=3)
    grids = Layout(trace, frozenset(exercise.blanks)).build(trace.steps[:1])
    at = {cell.key: where for grid in grids for where, cell in grid.cells.items() if cell.style == "blank"}
    first = sorted(exercise.blanks)[0]
    files = {}
    for label, slip in (("right", 0.0), ("wrong", 1.0)):
        book = openpyxl.load_workbook(sheet_path)
        for key, (row, col) in at.items():
            book["Step 1"].cell(row=row + 1, column=col + 1, value=exercise.answers[key] + (slip if key == first else 0))
        book.save(tmp / f"{name}-{label}.xlsx")
        files[f"{name}-{label}"] = tmp / f"{name}-{label}.xlsx"
    files[f"{name}-untouched"] = sheet_path
    return files, (exercise, at, first)


def assert_status_cells(recalculated: dict[str, Any], name: str) -> None:
    """Beside each blank of `answered_sheets`' exercise, recalculated: "not done" untouched, "correct" with
    every answer right, "incorrect" beside the one answer 1 off and "correct" beside the rest."""
    exercise, at, first = recalculated["exercises"][name]
    assert set(at) == set(exercise.blanks) and len(at) > 3
    marks = {}
    for label in ("untouched", "right", "wrong"):
        sheet = openpyxl.load_workbook(recalculated["again"][f"{name}-{label}"], data_only=True)["Step 1"]
        marks[label] = {key: sheet.cell(row=row + 1, column=col + 2).value for key, (row, col) in at.items()}
    assert marks["untouched"] == {key: NOT_DONE for key in at}
    assert marks["right"] == {key: CORRECT for key in at}
    assert marks["wrong"] == {key: INCORRECT if key == first else CORRECT for key in at}


def _compare(trace: Any, written: Path, recalculated: Path) -> int:
    """Every formula cell of the recalculated file equals the value nnworked stored (the trace's) to the
    printed precision; the number of cells compared."""
    stored, again = _values(written), _values(recalculated)
    compared = 0
    for where in _formulas(written):
        expected = stored.get(where)
        if not isinstance(expected, (int, float)):
            continue
        got = again.get(where)
        assert isinstance(got, (int, float)), (where, got)
        slack = _printed_half(expected, trace)
        assert abs(got - expected) <= slack, (where, got, expected)
        compared += 1
    return compared


@needs_libreoffice
def test_libreoffice_recalculates_every_bundled_scenario_to_the_trace(tmp_path: Path) -> None:
    written, traces = [], []
    for name in DENSE:
        for options in ([], ["--all-steps"]):
            path = tmp_path / f"{name.replace('/', '-')}{'-all' if options else ''}.xlsx"
            written.append(_write(name, path, *options))
            traces.append(nnworked.solve(name))
    recalculated = _recalculated(written, tmp_path)
    counts = {path.name: _compare(trace, path, again) for path, again, trace in zip(written, recalculated, traces)}
    assert all(counts.values()), counts
    assert counts["xor_batch-all.xlsx"] > 20 * counts["xor_batch.xlsx"] * 0.9  # 20 steps, each its own sheet


@needs_libreoffice
@pytest.mark.parametrize("name,blanks", [("ai-by-hand/7-backpropagation", "z1, dW2"),  # softmax, cross-entropy
                                         ("xor_batch", "one-per-layer"),  # a batch of four
                                         ("house_price", "all")])  # rounding: carry, every value blank
def test_an_exercise_says_not_done_then_correct_then_incorrect(tmp_path: Path, name: str, blanks: str) -> None:
    sheet_path = _write(name, tmp_path / "sheet.xlsx", "--exercise", "--blanks", blanks, "--seed", "2")
    trace = nnworked.solve(name)
    exercise = nnworked.exercise(name, blanks=blanks, seed=2)
    grids = Layout(trace, frozenset(exercise.blanks)).build(trace.steps[:1])
    blanks = {cell.key: where for grid in grids for where, cell in grid.cells.items() if cell.style == "blank"}
    assert set(blanks) == set(exercise.blanks)
    coordinate = {key: openpyxl.utils.get_column_letter(col + 1) + str(row + 1) for key, (row, col) in blanks.items()}
    status = {key: openpyxl.utils.get_column_letter(col + 2) + str(row + 1) for key, (row, col) in blanks.items()}
    stored = openpyxl.load_workbook(sheet_path, data_only=True)["Step 1"]
    assert {key: stored[at].value for key, at in status.items()} == {key: NOT_DONE for key in blanks}
    assert all(stored[at].value is None for at in coordinate.values())

    right, wrong = tmp_path / "right.xlsx", tmp_path / "wrong.xlsx"
    first = sorted(exercise.blanks)[0]
    for path, slip in ((right, 0.0), (wrong, 1.0)):
        book = openpyxl.load_workbook(sheet_path)
        for key, at in coordinate.items():
            book["Step 1"][at] = exercise.answers[key] + (slip if key == first else 0.0)
        book.save(path)
    untouched = tmp_path / "untouched.xlsx"
    shutil.copy(sheet_path, untouched)
    again = dict(zip(("right", "wrong", "untouched"), _recalculated([right, wrong, untouched], tmp_path)))
    marks = {label: {key: openpyxl.load_workbook(path, data_only=True)["Step 1"][at].value
                     for key, at in status.items()} for label, path in again.items()}
    assert marks["untouched"] == {key: NOT_DONE for key in blanks}
    assert marks["right"] == {key: CORRECT for key in blanks}
    assert marks["wrong"] == {key: INCORRECT if key == first else CORRECT for key in blanks}
    # the loss is computed from the student's own cells: all filled in, it is the trace's
    key = Layout(trace, frozenset(exercise.blanks), answers=True).build(trace.steps[:1])
    loss = next(cell for grid in key for cell in grid.cells.values() if cell.key == "L")
    assert loss.value == trace.steps[0].loss.value


@needs_libreoffice
def test_a_status_cell_refuses_what_grade_refuses(tmp_path: Path) -> None:
    """spam's updated W₁[0,0] is 0.10951… (printed 0.1095): 0.1092 rounds to another value and is wrong, as
    `grade`, Moodle and Canvas judge it (tests/test_lms.py), however many values are blank; 0.1095 is right,
    and so (rounding: exact) is 0.11, the key to one decimal fewer."""
    trace = nnworked.solve("spam")
    sheet_path = _write("spam", tmp_path / "sheet.xlsx", "--exercise", "--blanks", "all")
    grids = Layout(trace, frozenset(nnworked.exercise("spam", blanks="all").blanks)).build(trace.steps[:1])
    row, col = next(where for grid in grids for where, cell in grid.cells.items()
                    if cell.style == "blank" and cell.key == "W1[0,0]")
    cell, status = (openpyxl.utils.get_column_letter(c + 1) + str(row + 1) for c in (col, col + 1))
    typed = (0.1092, 0.1095, 0.11, 0.10944)
    paths = []
    for n, value in enumerate(typed):
        book = openpyxl.load_workbook(sheet_path)
        book["Step 1"][cell] = value
        paths.append(tmp_path / f"typed{n}.xlsx")
        book.save(paths[-1])
    marks = [openpyxl.load_workbook(path, data_only=True)["Step 1"][status].value
             for path in _recalculated(paths, tmp_path)]
    assert marks == [INCORRECT, CORRECT, CORRECT, INCORRECT]  # 0.10944 rounds to 0.1094


@needs_libreoffice
def test_a_cell_computed_from_a_blank_uses_the_students_own_value(tmp_path: Path) -> None:
    """AI by Hand 4 (x = [2, 1, 3]) with z1[0] blank, and so a1[0] (ReLU would give it away): z2[0] waits for
    a1[0], then computes from the student's own number, as `grade` carries a mistake forward."""
    name = "ai-by-hand/4-hidden-layer"
    sheet_path = _write(name, tmp_path / "sheet.xlsx", "--exercise", "--blanks", "z1[0]")
    book = openpyxl.load_workbook(sheet_path)
    sheet = book["Step 1"]
    # with a status column beside each column of numbers, the example's column is M and its status N
    assert sheet["M11"].value is None and sheet["M17"].value is None  # z1[0] and a1[0], to fill in
    assert sheet["N11"].value.startswith('=IF(M11="","NOT DONE",IF(ISNUMBER(M11),IF(OR(ABS(M11-(-1))<=')
    assert sheet["M24"].value == '=IF(OR(M17=""),"",B24*M17+D24*M18+F24*M19+H24*M20+J24)'
    assert openpyxl.load_workbook(sheet_path, data_only=True)["Step 1"]["M24"].value in (None, "")
    sheet["M11"] = 7  # wrong: z1[0] = 1·2 − 1·1 + 1·3 − 5 = −1
    sheet["M17"] = 7  # ReLU of the student's 7: wrong, but right for the value they used
    filled = tmp_path / "filled.xlsx"
    book.save(filled)
    again = openpyxl.load_workbook(_recalculated([filled], tmp_path)[0], data_only=True)["Step 1"]
    assert (again["N11"].value, again["N17"].value) == (INCORRECT, INCORRECT)
    # z2[0] = W2[0] · a1 + b2[0] = 1·7 + 1·3 − 1·5 + 0·3 + 0 with the student's a1[0] = 7 (the key's: −2)
    assert again["M24"].value == 5


def test_the_key_fills_each_blank_and_says_correct(tmp_path: Path) -> None:
    path = _write("spam", tmp_path / "both.xlsx", "--exercise", "--answers")
    book = openpyxl.load_workbook(path, data_only=True)
    assert book.sheetnames == ["Exercise", "Answer key"]
    sheet_words = [c.value for row in book["Exercise"].iter_rows() for c in row if c.value in (NOT_DONE, CORRECT)]
    key_words = [c.value for row in book["Answer key"].iter_rows() for c in row if c.value in (NOT_DONE, CORRECT)]
    assert sheet_words and set(sheet_words) == {NOT_DONE}
    assert len(key_words) == len(sheet_words) and set(key_words) == {CORRECT}


def test_an_exam_has_no_status_cells(tmp_path: Path) -> None:
    path = _write("spam", tmp_path / "exam.xlsx", "--exam")
    words = {c.value for row in openpyxl.load_workbook(path, data_only=True)["Step 1"].iter_rows() for c in row}
    assert NOT_DONE not in words and CORRECT not in words


def test_the_written_numbers_show_the_walkthroughs_decimals(tmp_path: Path) -> None:
    """spam's loss prints as 0.4790: its cell's number format shows four decimals."""
    path = _write("spam", tmp_path / "spam.xlsx")
    book = openpyxl.load_workbook(path)
    values = openpyxl.load_workbook(path, data_only=True)
    trace = nnworked.solve("spam")
    where = next(c for row in values["Step 1"].iter_rows() for c in row if c.value == trace.steps[0].loss.value)
    assert book["Step 1"][where.coordinate].number_format == "0.0000"
    assert np.isclose(where.value, 0.4790, atol=5e-5)


def test_a_network_too_wide_for_a_formula_says_so(tmp_path: Path) -> None:
    """Excel takes formulas of up to 8,192 characters: a 1,000-input neuron's sum of products is longer."""
    scenario = tmp_path / "wide.yaml"
    scenario.write_text(f"inputs: [{[1] * 1000}]\nlayers:\n  - weights: [{[0.5] * 1000}]\n")
    result = CliRunner().invoke(app, ["run", str(scenario), "--format", "xlsx", "--output", str(tmp_path / "w.xlsx")])
    assert result.exit_code == 1
    assert result.output.startswith("the formula of z1[0] would be ")
    assert "characters long, more than a spreadsheet takes (7,992): this network is too wide for --format xlsx" \
        in " ".join(result.output.split())
    assert not (tmp_path / "w.xlsx").exists()


RULES_SCENARIO = """\
title: Every rule in a spreadsheet
inputs: [[0.5, -1.0], [1.5, 0.25]]
targets: [[0.2, 0.9], [0.7, -0.1]]
layers:
  - weights: [[0.4, -0.3], [0.2, 0.6], [-0.5, 0.1]]
    bias: [0.1, -0.2, 0.05]
    activation: tanh
  - weights: [[0.3, -0.6, 0.2], [0.5, 0.4, -0.7]]
    bias: [0.05, -0.1]
    activation: {name: leaky_relu, slope: 0.1}
  - weights: [[0.7, -0.2], [0.1, 0.9]]
    activation: sigmoid
loss: {name: mse, scale: 0.5, outputs: sum, batch: sum}
learning_rate: 0.3
optimizer: OPTIMIZER
freeze: [b1]
steps: 3
"""


@needs_libreoffice
def test_libreoffice_recalculates_every_activation_loss_and_optimizer(tmp_path: Path) -> None:
    """tanh, leaky ReLU with its slope, a layer without a bias, a frozen bias, ½·squared error summed over
    outputs and batch, binary cross-entropy, and every optimizer with weight decay, over three steps."""
    optimizers = ["sgd", "{name: momentum, momentum: 0.8, weight_decay: 0.01}",
                  "{name: rmsprop, rho: 0.9, weight_decay: 0.01}", "{name: adam, weight_decay: 0.01}"]
    scenarios = [RULES_SCENARIO.replace("OPTIMIZER", optimizer) for optimizer in optimizers]
    scenarios.append(scenarios[0].replace("{name: mse, scale: 0.5, outputs: sum, batch: sum}", "binary_cross_entropy")
                     .replace("[0.7, -0.1]", "[0.7, 0.0]"))
    written, traces = [], []
    for number, text in enumerate(scenarios):
        source = tmp_path / f"rules{number}.yaml"
        source.write_text(text)
        written.append(_write(str(source), tmp_path / f"rules{number}.xlsx", "--all-steps"))
        traces.append(nnworked.solve(str(source)))
    recalculated = _recalculated(written, tmp_path)
    for path, again, trace in zip(written, recalculated, traces):
        assert _compare(trace, path, again) > 100, path.name
        assert openpyxl.load_workbook(path).sheetnames == ["Step 1", "Step 2", "Step 3", "After training"]
    formulas = " ".join(_formulas(written[3]).values())
    assert "TANH(G10)" in formulas and "IF(G21>0,G21,0.1*G21)" in formulas and "SQRT(" in formulas
