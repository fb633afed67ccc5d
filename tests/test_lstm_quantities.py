"""An LSTM's values of each step as quantities: each gate's pre-activation and value, the cell state, the
earlier hidden states (return: last) and, back through time, ∂L/∂h, ∂L/∂c, each gate's ∂L/∂q and ∂L/∂z are
named in the one table, worked as the walkthrough prints them, asked by a sheet and hidden alone."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import nnworked
from nnworked import quantities, sheets
from nnworked.cli import app
from nnworked.engine.rounding import Precision
from nnworked.lstm_records import GATES
from nnworked.worked import value
from tests import lstm_reference as ref

# lstm_step (Aidan Gomez's example) in the reference's layout: W is (4H, F + H), rows i, f, g, o
X = np.array([[[1, 2], [0.5, 3]]], dtype=float)
W = np.array([[0.95, 0.8, 0.8], [0.7, 0.45, 0.1], [0.45, 0.25, 0.15], [0.6, 0.4, 0.25]])
B = np.array([0.65, 0.15, 0.2, 0.1])
TARGETS = np.array([0.5, 1.25])


def test_each_value_of_each_step_is_a_quantity_with_its_value() -> None:
    table = quantities.table(nnworked.solve("lstm_step"))
    cache = ref.lstm_forward(X, W, B, np.zeros(1), np.zeros(1))
    for t in range(2):
        joined = np.concatenate([X[0, t], cache["hs"][t][0]])
        z = W @ joined + B
        for q, gate in enumerate(GATES):
            assert table.values[f"z{gate}1[0,{t},0]"] == pytest.approx(z[q], abs=1e-12)
            assert table.values[f"{gate}1[0,{t},0]"] == pytest.approx(cache["gates"][t][q][0, 0], abs=1e-12)
        assert table.values[f"c1[0,{t},0]"] == pytest.approx(cache["c"][0, t, 0], abs=1e-12)
        assert f"h1[0,{t},0]" not in table and f"tanhc1[0,{t},0]" not in table  # h is a1; tanh(c) no line's own
    # back through time: the loss ½(h_t − y_t)² summed sends h_t − y_t to every step
    back = ref.lstm_backward(cache, (cache["h"][0, :, 0] - TARGETS)[None, :, None])
    assert table.values["dh1[0,0,0]"] == pytest.approx(back["dh"][0, 0, 0], abs=1e-12)
    assert "dh1[0,1,0]" not in table  # the last step's ∂L/∂h is ∂L/∂a1, what the layers after it send
    for t in range(2):
        i, f, g, o = (gate[0, 0] for gate in cache["gates"][t])
        dc, dh, c = back["dc"][0, t, 0], back["dh"][0, t, 0], cache["c"][0, t, 0]
        c_prev = cache["cs"][t][0, 0]
        assert table.values[f"dc1[0,{t},0]"] == pytest.approx(dc, abs=1e-12)
        expected = {"i": (dc * g, i * (1 - i)), "f": (dc * c_prev, f * (1 - f)), "g": (dc * i, 1 - g ** 2),
                    "o": (dh * np.tanh(c), o * (1 - o))}
        for gate, (dgate, slope) in expected.items():
            assert table.values[f"d{gate}1[0,{t},0]"] == pytest.approx(dgate, abs=1e-12)
            assert table.values[f"dz{gate}1[0,{t},0]"] == pytest.approx(dgate * slope, abs=1e-12)


def test_what_each_value_is_computed_from() -> None:
    table = quantities.table(nnworked.solve("lstm_step"))
    assert table.depends("zf1[0,1,0]") == {"a1[0,0,0]"}  # x_t and the weights are given; h₀ is a1[0,0,0]
    assert table.depends("f1[0,1,0]") == {"zf1[0,1,0]"}
    assert table.depends("c1[0,1,0]") == {"f1[0,1,0]", "c1[0,0,0]", "i1[0,1,0]", "g1[0,1,0]"}
    assert table.depends("a1[0,1,0]") == {"o1[0,1,0]", "c1[0,1,0]"}
    assert table.depends("c1[0,0,0]") == {"f1[0,0,0]", "i1[0,0,0]", "g1[0,0,0]"}  # c₀ = 0 is given
    assert table.depends("dh1[0,0,0]") == {"da1[0,0,0]", *(f"dz{gate}1[0,1,0]" for gate in GATES)}
    assert table.depends("dc1[0,0,0]") == {"dh1[0,0,0]", "o1[0,0,0]", "c1[0,0,0]", "dc1[0,1,0]", "f1[0,1,0]"}
    assert table.depends("dzf1[0,1,0]") == {"df1[0,1,0]", "f1[0,1,0]"}
    assert table.depends("dWh1.f[0,0]") == {"dzf1[0,0,0]", "dzf1[0,1,0]", "a1[0,0,0]"}  # step 0 reads h₀ = 0


def test_a_later_hidden_state_is_a_quantity_when_the_layer_returns_the_last_alone() -> None:
    document = {"inputs": [[1, 2], [0.5, 3]], "targets": [[0.5]], "loss": "mse", "learning_rate": 0.1,
                "layers": [{"type": "lstm", "return": "last",
                            "input_weights": {g: W[q:q + 1, :2].tolist() for q, g in enumerate(GATES)},
                            "recurrent_weights": {g: W[q:q + 1, 2:].tolist() for q, g in enumerate(GATES)},
                            "bias": {g: [B[q]] for q, g in enumerate(GATES)}},
                           {"weights": [[1]], "bias": [0]}]}
    table = quantities.table(nnworked.solve(nnworked.load(document)))
    cache = ref.lstm_forward(X, W, B, np.zeros(1), np.zeros(1))
    assert table.values["h1[0,0,0]"] == pytest.approx(cache["h"][0, 0, 0], abs=1e-12)
    assert table.values["a1[0]"] == pytest.approx(cache["h"][0, 1, 0], abs=1e-12) and "h1[0,1,0]" not in table
    assert table.depends("zi1[0,1,0]") == {"h1[0,0,0]"} and table.depends("h1[0,0,0]") == {"o1[0,0,0]", "c1[0,0,0]"}
    assert table.depends("dh1[0,0,0]") == {f"dz{gate}1[0,1,0]" for gate in GATES}  # no path from above at t = 0


def test_the_forward_rule_asks_them_step_by_step_and_the_backward_rule_asks_none() -> None:
    trace = nnworked.solve("lstm_step")
    forward = sorted(sheets.choose(trace, "forward", 1), key=quantities.sort_key)
    assert forward[:10] == ["zi1[0,0,0]", "i1[0,0,0]", "zf1[0,0,0]", "f1[0,0,0]", "zg1[0,0,0]", "g1[0,0,0]",
                            "zo1[0,0,0]", "o1[0,0,0]", "c1[0,0,0]", "zi1[0,1,0]"]
    every = sorted(sheets.choose(trace, "all", 1), key=quantities.sort_key)
    through_time = [key for key in every if quantities.parse(key).kind in quantities.LSTM_BACKWARD]
    assert through_time[:3] == ["dc1[0,1,0]", "di1[0,1,0]", "dzi1[0,1,0]"] and through_time[-1] == "dzo1[0,0,0]"
    assert every.index("da1[0,0,0]") < every.index("dc1[0,1,0]") and every.index("dzo1[0,0,0]") < every.index("db1.i[0]")
    assert "dh1[0,0,0]" in through_time and not set(through_time) & set(sheets.choose(trace, "backward", 1))


def test_a_blank_forget_gate_hides_exactly_it_and_what_is_worked_from_it() -> None:
    lines = nnworked.exercise("lstm_step", blanks="f1[0,1,0]").sheet("terminal", width=100).splitlines()
    assert "    f₁[0,1,0] = 1 / (1 + e^(−1.90363)) = ?" in lines
    assert "    f₁[0,0,0] = 1 / (1 + e^(−1.75)) = 1 / (1 + 0.17377) = 1 / 1.17377 = 0.85195" in lines  # another step's
    assert "    c₁[0,1,0] = (? × 0.78573) + (0.98118 × 0.84980) = ? + 0.83381 = ?" in lines
    assert "    ∂L/∂z₁.f[0,1,0] = −0.05587 × (? × (1 − ?)) = −0.05587 × (? × ?) = −0.05587 × ? = ?" in lines
    assert "    ∂L/∂c₁[0,0,0] = ((0.01804 × 0.81757) × (1 − 0.65598²)) + (−0.07111 × ?)" in lines
    # a name that is not printed as it is spelled is shown where the student writes it
    lines = nnworked.exercise("lstm_step", blanks="zf1[0,1,0], dc1[0,0,0]").sheet("terminal", width=120).splitlines()
    assert "    z₁.f[0,1,0] (zf1[0,1,0]) = (0.7 × 0.5) + (0.45 × 3) + (0.1 × 0.53631) + 0.15 = ?" in lines
    assert "    ∂L/∂c₁[0,0,0] (dc1[0,0,0]) = ((0.01804 × 0.81757) × (1 − 0.65598²)) + (−0.07111 × ?) = ?" in lines


def test_under_carry_each_named_value_is_worked_to_its_stored_digits() -> None:
    """The table's working of every LSTM quantity (its operands named, looked up) ends in the value the rule
    stored, digit for digit, when each stage is rounded as shown."""
    trace = nnworked.solve(nnworked.load("lstm_step").with_options(rounding="carry", steps=2))
    table, precision = quantities.table(trace), Precision(trace.precision.places, True)
    lstm = [key for key in table.values if quantities.parse(key).layer == 1]
    assert len(lstm) > 60
    for key in lstm:
        assert value(table.expression(key), precision) == table.values[key], key
    for key in ("c1[0,1,0]@2", "dzf1[0,0,0]@2", "a1[0,1,0]@final"):  # a later pass names its operands so too
        stored = quantities.parse(key)
        assert quantities.labels(table.expression(key)) and all(
            quantities.parse(label).step == stored.step for label in quantities.labels(table.expression(key))
            if quantities.parse(label).kind not in ("Wx", "Wh", "b")), key


RUNNER = CliRunner()


@pytest.mark.parametrize("blanks", [*sheets.RULES, "f1[0,1,0], dc1[0,0,0]"])
@pytest.mark.parametrize("layout", ["standard", "ai-by-hand"])
def test_every_blank_rule_makes_a_sheet_and_its_key_in_both_layouts(blanks: str, layout: str) -> None:
    for mode in (["--exercise"], ["--answers"], ["--exam"], ["--exercise", "--reveal", "none"]):
        result = RUNNER.invoke(app, ["run", "lstm_step", "--blanks", blanks, "--layout", layout, "--width", "100",
                                     "--format", "markdown", *mode])
        assert result.exit_code == 0, result.output
        assert ("____" in result.output) == (mode != ["--answers"]), mode


def test_an_xlsx_sheet_names_every_quantity_in_a_cell(tmp_path) -> None:  # noqa: ANN001
    from nnworked.render.spreadsheet import Layout

    trace = nnworked.solve("lstm_step")
    blanks = frozenset(sheets.choose(trace, "all", 1))
    grids = Layout(trace, blanks).build(trace.steps[:1])
    cells = {cell.key for grid in grids for cell in grid.cells.values() if cell.style == "blank"}
    assert cells == blanks and {"f1[0,1,0]", "dzo1[0,0,0]", "dh1[0,0,0]"} <= cells
    result = RUNNER.invoke(app, ["run", "lstm_step", "--exercise", "--format", "xlsx", "--output",
                                 str(tmp_path / "lstm.xlsx"), "--blanks", "forward"])
    assert result.exit_code == 0 and (tmp_path / "lstm.xlsx").stat().st_size > 0, result.output


def test_an_answer_may_name_a_value_as_the_walkthrough_prints_it() -> None:
    trace = nnworked.solve("lstm_step")
    answers = {"z₁.f[0,1,0]": 1.90363, "z1.o[0,0,0]": 1.5, "f₁[0,1,0]": 0.8703, "∂L/∂c₁[0,0,0]": -0.05348,
               "∂L/∂z1.g[0,1,0]": -0.01, "∂L/∂h₁[0,0,0]": 0.01804, "c1[0,1,0]": 1.51763}
    assert sheets.canonical(trace, answers) == {
        "zf1[0,1,0]": 1.90363, "zo1[0,0,0]": 1.5, "f1[0,1,0]": 0.8703, "dc1[0,0,0]": -0.05348,
        "dzg1[0,1,0]": -0.01, "dh1[0,0,0]": 0.01804, "c1[0,1,0]": 1.51763}
    from nnworked.grading import grade

    keys = sheets.choose(trace, "zf1[0,1,0], dc1[0,0,0]", 1)
    marks = grade(trace, keys, {"z₁.f[0,1,0]": 1.90363, "∂L/∂c₁[0,0,0]": -0.05348})
    assert [(mark.key, mark.status) for mark in marks] == [("zf1[0,1,0]", "correct"), ("dc1[0,0,0]", "correct")]
