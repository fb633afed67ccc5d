"""Typeset mathematics: a worked line reaches the printers as a record of its stages (expression trees),
while the terminal and Markdown print the line's text as before (the golden files prove that). The
expected values below were written by hand from the spam walkthrough's golden lines (tests/golden/spam.md)."""

from __future__ import annotations

import pytest

from nnworked.render.blocks import Math, Worked
from nnworked.render.formula import show
from nnworked.render.settings import Settings
from nnworked.render.walkthrough import build
from tests.helpers import trace_of


def worked_lines(blocks: list) -> list[Worked]:
    return [item for b in blocks if isinstance(b, Math) for item in b.items if isinstance(item, Worked)]


def test_a_worked_line_carries_its_stages_beside_its_text() -> None:
    trace = trace_of("spam")
    first = worked_lines(build(trace, Settings()))[1]  # after the parameter count
    assert first.text == ("z₁[0] = (0.1 × 0.5) + (0.2 × 0.3) + 0.1 = 0.05 + 0.06 + 0.1 = 0.21",)
    assert first.lhs == "z₁[0]" and first.prefix == () and first.blank == "" and first.suffix == ""
    assert [show(s, trace.precision) for s in first.stages] == ["(0.1 × 0.5) + (0.2 × 0.3) + 0.1",
                                                                 "0.05 + 0.06 + 0.1", "0.21"]
    assert first.value == pytest.approx(0.21)
    sigmoid = next(w for w in worked_lines(build(trace, Settings())) if w.lhs == "ŷ")
    assert sigmoid.prefix == ("σ(0.487)",)
    assert Math(["a note", sigmoid]).lines == ["a note", "ŷ = σ(0.487) = 1 / (1 + e^(−0.487)) = 1 / (1 + 0.6145) = "
                                                         "1 / 1.6145 = 0.6194"]


def test_a_worked_line_records_its_blank_when_it_is_built() -> None:
    """A sheet is decided while its lines are built: the record says which numbers are blanks, so a printer
    that prints it later needs no sheet of its own."""
    from tests.test_exports import AI, sheet_settings

    name = AI + "7-backpropagation"
    sheet = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, False))) if w.lhs == "z₁[0]")
    assert sheet.blank == "hidden" and sheet.value == -1 and sheet.text[0].endswith("(−5 × 1) = ?")
    # a blank used later: shown as a blank there too (0 × ? gives nothing away, so the value stands)
    later = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, False))) if w.lhs == "z₂[1]")
    assert later.hidden == {"a1[0]"} and later.blank == "" and later.value == 4
    assert later.text == ("z₂[1] = (0 × ?) + (1 × 3) + (−1 × 5) + (1 × 3) + (3 × 1) = ? + 3 − 5 + 3 + 3 = 4",)
    key = next(w for w in worked_lines(build(trace_of(name), sheet_settings(name, True))) if w.lhs == "z₁[0]")
    assert key.blank == "answer" and key.suffix == "" and key.hidden == frozenset()
    assert key.text == ("z₁[0] = (1 × 2) + (−1 × 1) + (1 × 3) + (−5 × 1) = 2 − 1 + 3 − 5 = −1   ← answer",)
