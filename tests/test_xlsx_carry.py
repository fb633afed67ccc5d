"""`--format xlsx` under rounding: carry recalculates to the walkthrough's own digits.

Every formula rounds each stage where the carried working rounds it (an activation's and a loss's formula
come from its rule, which takes a Rounding: nnworked/render/spreadsheet_cells.py), so LibreOffice
recalculates every cell of xor_batch (all 20 steps), rnn_three_steps, lstm_step and transformer_block, each
made a carry variant here, to exactly the trace's value: not within half a unit of the last digit (the slack
tests/test_xlsx.py's _compare allows under exact rounding), equal. When each rule's formula was rounded once,
as a whole, 423 of xor_batch's 2,456 cells (2 of 95 in step 1), 10 of rnn_three_steps' 98, 22 of lstm_step's
178 and 5 of transformer_block's 821 were off by one in the last digit. A number the scenario gives is never
rounded by the carried working, so a later sheet reads it as it is (transformer_block's ε = 0.00001).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import nnworked
from nnworked import bundled
from tests.test_xlsx import SOFFICE, _compare, _formulas, _recalculated, _values, _write, needs_libreoffice

CARRIED = ["xor_batch", "rnn_three_steps", "lstm_step", "transformer_block"]


def _carry_variant(name: str, folder: Path) -> str:
    """The bundled scenario with `rounding: carry` added (none of them sets a rounding)."""
    text = Path(bundled.resolve(name)).read_text()
    assert "rounding:" not in text and text.endswith("\n"), name
    path = folder / f"{name}.yaml"
    path.write_text(text + "rounding: carry\n")
    return str(path)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each carry variant's workbook, every step, recalculated in one run of LibreOffice."""
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui (.ci/run "
                    "installs it)")
    tmp = tmp_path_factory.mktemp("carry")
    sources = {name: _carry_variant(name, tmp) for name in CARRIED}
    files = {name: _write(source, tmp / f"{name}.xlsx", "--all-steps") for name, source in sources.items()}
    again = dict(zip(CARRIED, _recalculated([files[name] for name in CARRIED], tmp)))
    return {"sources": sources, "files": files, "again": again}


@needs_libreoffice
def test_every_cell_recalculates_to_the_carried_digits(recalculated: dict[str, Any]) -> None:
    sources, files, again = recalculated["sources"], recalculated["files"], recalculated["again"]
    traces = {name: nnworked.solve(sources[name]) for name in CARRIED}
    assert all(trace.precision.carry for trace in traces.values())
    counts = {name: _compare(traces[name], files[name], again[name]) for name in CARRIED}
    assert counts["xor_batch"] > 2400 and counts["rnn_three_steps"] > 90, counts
    assert counts["lstm_step"] > 170 and counts["transformer_block"] > 800, counts


@needs_libreoffice
def test_each_rule_rounds_where_its_working_rounds(recalculated: dict[str, Any]) -> None:
    """The formulas themselves: σ as 1 / R(1 + R(e^(−z))) (lstm_step's gates, 5 places), tanh′ as
    R(1 − R(h²)) (rnn_three_steps, 8 places), binary cross-entropy's ∂L/∂ŷ with each quotient and 1 − ŷ
    rounded before the mean over the batch divides it (xor_batch), softmax's e^(z − shift) and their sum
    rounded, cross-entropy's ln ŷ and y·ln ŷ, and the three tokens' losses summed and rounded before ÷ 3
    (transformer_block)."""
    formulas = {name: _formulas(recalculated["files"][name]) for name in CARRIED}
    assert formulas["lstm_step"][("Step 1", "G12")] == "=ROUND(1/ROUND(1+ROUND(EXP(-G10),5),5),5)"
    assert formulas["rnn_three_steps"][("Step 1", "I45")] == "=ROUND(I42*ROUND(1-ROUND(I11^2,8),8),8)"
    assert formulas["xor_batch"][("Step 1", "H37")] == \
        "=ROUND((ROUND(IF(H27=0,0,-ROUND(H27/H24,4))+IF(H27=1,0,ROUND((1-H27)/ROUND(1-H24,4),4)),4))/4,4)"
    block = formulas["transformer_block"]
    exp = [f"ROUND(EXP(I{row}-IF(MAX(I101,I102,I103)>50,MAX(I101,I102,I103),0)),4)" for row in (101, 102, 103)]
    assert block[("Step 1", "I106")] == f"=ROUND({exp[0]}/ROUND({'+'.join(exp)},4),4)"
    assert block[("After training", "J116")] == "=ROUND(" + "+".join(
        f"IF(J{y}=0,0,-ROUND(J{y}*ROUND(LN(J{p}),4),4))" for y, p in ((111, 106), (112, 107), (113, 108))) + ",4)"
    assert block[("After training", "H118")] == "=ROUND(ROUND(H116+I116+J116,4)/3,4)"


@needs_libreoffice
def test_a_given_number_is_copied_to_the_next_sheet_unrounded(recalculated: dict[str, Any]) -> None:
    """A layer norm's ε = 0.00001 is a number the scenario gives, which the carried working never rounds:
    the sheet after training reads it as it is (rounded to 4 places it was 0 there)."""
    files, again = recalculated["files"], recalculated["again"]
    assert _formulas(files["transformer_block"])[("After training", "B80")] == "='Step 1'!B80"
    assert _values(again["transformer_block"])[("After training", "B80")] == 1e-05
