"""The AI by Hand layout of self-attention, RNN and LSTM layers (each token a column; a recurrent step as one
stacked product [W_x | W_h | b] · [x_t ; h_{t−1} ; 1]; an LSTM's four gates as one stacked matrix): three
walkthroughs exactly, in the terminal at a fixed width without colour and in Markdown; every worked number
the sheet prints equals the standard layout's for the same quantity (the sheet writes a cell [row,column]
as its grid shows it, the standard layout [position,unit]), and every grid cell equals the sheet's own
worked line for that cell; a large block is elided to a bounded size.

To accept a deliberate change in the golden files, run
`NNWORKED_UPDATE_GOLDEN=1 python -m pytest tests/test_ai_by_hand_sequences.py` and read the diff."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from nnworked.render.settings import Settings
from tests.helpers import NUMBER, markdown, terminal

GOLDEN = Path(__file__).parent / "golden"
BY_HAND = Settings(layout="ai-by-hand")
SCENARIOS = ("attention_three_tokens", "rnn_three_steps", "lstm_step", "ai-by-hand/8-self-attention", "ai-by-hand/9-rnn")
CASES = {f"by_hand_{name.replace('/', '_')}.{ext}": (name, ext) for name in SCENARIOS for ext in ("txt", "md")}


@pytest.mark.parametrize("golden", sorted(CASES))
def test_the_sheet_is_exactly_the_golden_file(golden: str) -> None:
    name, ext = CASES[golden]
    text = terminal(name, BY_HAND) if ext == "txt" else markdown(name, BY_HAND)
    path = GOLDEN / golden
    if os.environ.get("NNWORKED_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


WORKED = re.compile(r"^\s*(\S+?)\[(\d+(?:,\d+)*)\] = (.*)$")


def worked_values(text: str) -> dict[tuple[str, tuple[int, ...]], str]:
    """Each worked line's last stage, by (symbol, index): continuation lines (a stage that broke onto the
    next line, indented) are joined first."""
    joined: list[str] = []
    for raw in text.splitlines():
        if joined and re.match(r"^\s+[=+−-]\s", raw) and not re.match(r"^\s*\S+\[", raw):
            joined[-1] += " " + raw.strip()
        else:
            joined.append(raw)
    out = {}
    for text_line in joined:
        match = WORKED.match(text_line)
        if match and " = " in match.group(3) + " = ":
            last = match.group(3).split(" = ")[-1].strip()
            if re.fullmatch(NUMBER.pattern, last):
                out[(match.group(1), tuple(int(i) for i in match.group(2).split(",")))] = last
    return out


PARAMETER = re.compile(r"^(∂L/∂)?(W|b|J$)")  # a weight's index is [row,column] in both layouts


def standard_name(symbol: str, index: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Where the standard layout prints the value the sheet names symbol[row,column]."""
    if PARAMETER.match(symbol) or len(index) != 2:
        return [(symbol, index)] + ([(symbol, index[1:])] if len(index) == 2 and index[0] == 0 else [])  # W₂[j]
    row, column = index
    symbol = re.sub(r"^((?:∂L/∂)?)Z", r"\1O", symbol)  # the sheet's Z = V · A is the standard layout's O
    return [(symbol, (column, row)), (symbol, (0, column, row))]  # [position,unit], or [example,position,unit]


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_worked_number_of_the_sheet_is_the_standard_layouts(name: str) -> None:
    # up to the updates: the pass after training is written in the standard layout's own naming in both
    sheet = worked_values(terminal(name, BY_HAND).split("Weight Updates")[0])
    standard_text = terminal(name, Settings(layout="standard", detail="full")).split("Weight Updates")[0]
    standard = worked_values(standard_text)
    if "passes its linear combination through unchanged: ŷ = z" in standard_text:  # ŷ is not worked there
        sheet = {key: value for key, value in sheet.items() if key[0] != "ŷ"}
    matched = {}
    for (symbol, index), value in sheet.items():
        for candidate in standard_name(symbol, index):
            if candidate in standard:
                matched[(symbol, index)] = (value, standard[candidate])
                break
    assert {key: pair for key, pair in matched.items() if pair[0] != pair[1]} == {}
    unmatched = sorted(set(sheet) - set(matched))
    # left: the cells of a dense layer over one vector, which the standard layout writes without an index
    assert len(matched) >= 0.9 * len(sheet) and len(matched) >= 20, unmatched


GRID = re.compile(r"^\s*(\S+) = \| (.*) \|$")


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_grid_cell_is_the_sheets_worked_value_of_that_cell(name: str) -> None:
    text = terminal(name, BY_HAND).split("Weight Updates")[0]
    worked = worked_values(text)
    lines, checked = text.splitlines(), 0
    for start, head in enumerate(lines):
        match = GRID.match(head)
        if not match or "│" in head or "-" * 3 in head:
            continue
        symbol, pad = match.group(1), head.index("|")
        rows = [match.group(2)]
        for more in lines[start + 1:]:
            if len(more) <= pad or more[pad] != "|" or more[:pad].strip():
                break
            rows.append(more[pad + 2:-2])
        for r, row in enumerate(rows):
            for c, cell in enumerate(row.split()):
                if (symbol, (r, c)) in worked:
                    assert cell == worked[(symbol, (r, c))], (symbol, r, c)
                    checked += 1
    assert checked >= 10


LONG = """title: Attention over 32 tokens
inputs: {inputs}
targets: {targets}
layers:
  - type: self_attention
    query_weights: [[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]]
    key_weights: [[0, 1, 0, 1], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0]]
    value_weights: [[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 1, 1], [0, 0, 0, 1]]
    heads: 2
    causal: true
  - weights: [[0.1, -0.1, 0.2, 0], [0, 0.1, -0.1, 0.2]]
    bias: [0, 0]
    activation: softmax
loss: cross_entropy
learning_rate: 0.1
"""


def test_a_long_sequence_is_elided_to_a_bounded_size(tmp_path: Path) -> None:
    import nnworked

    tokens = [[(t + f) % 3 - 1 for f in range(4)] for t in range(32)]
    targets = [[1, 0] if t % 2 else [0, 1] for t in range(32)]
    path = tmp_path / "long.yaml"
    path.write_text(LONG.format(inputs=[tokens, tokens[::-1]], targets=[targets, targets]), encoding="utf-8")
    walkthrough = nnworked.run(str(path))
    text = walkthrough.render("terminal", layout="ai-by-hand", columns=100)
    assert "more elements worked the same way (--full shows every one)" in text
    assert len(text) < 250_000  # worked in full, its 32 × 32 scores alone would be 4,096 lines per head
    grids = [line for line in text.splitlines() if line.strip().startswith("|")]
    assert max(len(NUMBER.findall(line)) for line in grids) <= Settings().elements  # 6 columns of 32, at most
    assert "  …  " in "".join(grids)  # the elided columns are marked
