"""Rendered text, exactly, at a fixed width and without colour.

The golden files were read line by line against the seed documents when they were written. To accept a
deliberate change in the output, run `NNWORKED_UPDATE_GOLDEN=1 python -m pytest tests/test_render_exact.py`
and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nnworked import sheets
from nnworked.render.numbers import Blanks
from nnworked.render.settings import Settings
from tests.helpers import markdown, terminal, trace_of


def _sheet(answers: bool) -> Settings:
    trace = trace_of("ai-by-hand/6-seven-layers")
    keys = sheets.choose(trace, "one-per-layer", 3)
    return Settings(layout="ai-by-hand", blanks=Blanks(keys, answers, sheets.variant(trace, keys)))

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "spam.txt": lambda: terminal("spam"),
    "spam_60.txt": lambda: terminal("spam", Settings(columns=60)),  # a narrow terminal: lines break between stages
    "spam.md": lambda: markdown("spam"),
    "house_price.md": lambda: markdown("house_price"),
    "iris_softmax.md": lambda: markdown("iris_softmax"),
    "matrix_multiplication.txt": lambda: terminal("ai-by-hand/1-matrix-multiplication"),
    "xor_batch_elided.md": lambda: markdown("xor_batch", Settings(limit=3)),
    "by_hand_7_backpropagation.md": lambda: markdown("ai-by-hand/7-backpropagation", Settings(layout="ai-by-hand")),
    "by_hand_5_batch.txt": lambda: terminal("ai-by-hand/5-batch", Settings(layout="ai-by-hand")),
    "by_hand_spam.md": lambda: markdown("spam", Settings(layout="ai-by-hand")),
    "exercise_6_sheet.txt": lambda: terminal("ai-by-hand/6-seven-layers", _sheet(answers=False)),
    "exercise_6_key.md": lambda: markdown("ai-by-hand/6-seven-layers", _sheet(answers=True)),
    "cnn_edge.txt": lambda: terminal("cnn_edge"),
    "cnn_edge.md": lambda: markdown("cnn_edge"),
    "cnn_edge_sheet.txt": lambda: terminal("cnn_edge", _cnn_sheet()),
    "lstm_step.txt": lambda: terminal("lstm_step"),
    "lstm_step.md": lambda: markdown("lstm_step"),
    "attention_three_tokens.txt": lambda: terminal("attention_three_tokens"),
    "attention_three_tokens.md": lambda: markdown("attention_three_tokens"),
}


def _cnn_sheet() -> Settings:
    trace = trace_of("cnn_edge")
    keys = sheets.choose(trace, "one-per-layer", 2)
    return Settings(blanks=Blanks(keys, False, sheets.variant(trace, keys)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendered_text_is_exactly_the_golden_file(name: str) -> None:
    text = CASES[name]()
    path = GOLDEN / name
    if os.environ.get("NNWORKED_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_terminal_lines_have_no_colour_codes_and_fit_the_width() -> None:
    text = terminal("spam")
    assert "\x1b" not in text
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100
