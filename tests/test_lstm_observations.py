"""The LSTM layer's Key Observation: the size of ∂L/∂c at each time step and the forget gates that scale it on
the way back, checked against the independent plain-numpy LSTM of tests/lstm_reference.py on Aidan Gomez's
worked example (scenarios/lstm_step.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import nnworked
from tests import lstm_reference as ref

SOURCE = Path(__file__).parent.parent / "scenarios" / "lstm_step.yaml"
X = np.array([[[1, 2], [0.5, 3]]], dtype=float)  # the file's two steps, one example
W = ref.join(np.array([[[0.95, 0.8]], [[0.7, 0.45]], [[0.45, 0.25]], [[0.6, 0.4]]]),
             np.array([[[0.8]], [[0.1]], [[0.15]], [[0.25]]]))
B = np.array([0.65, 0.15, 0.2, 0.1])
LABELS = np.array([0.5, 1.25])


def _note() -> str:
    text = nnworked.run(str(SOURCE)).render("markdown")
    notes = [line for line in text.splitlines() if line.startswith("- **The memory of LSTM layer 1")]
    assert len(notes) == 2 and notes[0] == notes[1]  # in the Key Observations and again in the Key Takeaways
    return notes[0]


def _close(printed: str, exact: float) -> bool:
    """The printed number is `exact` rounded at its last printed digit."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return abs(float(printed) - exact) <= 0.5 * 10.0 ** -decimals + 1e-12


def test_the_cell_gradient_of_each_step_and_the_forget_gates_match_an_independent_lstm() -> None:
    cache = ref.lstm_forward(X, W, B, np.zeros(1), np.zeros(1))
    dh_out = cache["h"] - LABELS[None, :, None]  # ½(h − label)², summed: ∂L/∂h = h − label at each step
    dc = ref.lstm_backward(cache, dh_out)["dc"]
    forget = np.array([gates[1] for gates in cache["gates"]])
    note = _note()
    sizes = re.findall(r"step (\d): ([0-9.]+)", note)
    assert [int(t) for t, _ in sizes] == [0, 1]
    for t, printed in sizes:
        assert _close(printed, float(np.sqrt(np.sum(dc[:, int(t)] ** 2)))), (t, printed)
    mean, low, high = re.search(r"averages ([0-9.]+) here \(from ([0-9.]+) to ([0-9.]+)\)", note).groups()
    assert _close(mean, float(forget.mean())) and _close(low, float(forget.min())) and _close(high, float(forget.max()))
    # 0.0535 at step 0 and 0.0711 at step 1: within a factor of 2, the cell carries the gradient back
    assert "it keeps its size, within a factor of 2, back to the first step" in note


def test_one_time_step_has_no_note_and_its_one_output_is_compared_with_its_target() -> None:
    one_step = nnworked.run({"title": "one step", "inputs": [[[1, 2]]], "targets": [[[0.5]]], "loss": "mse",
                             "learning_rate": 0.1,
                             "layers": [{"type": "lstm", "input_weights": {q: [[0.5, 0.5]] for q in "ifgo"},
                                         "recurrent_weights": {q: [[0.1]] for q in "ifgo"}},
                                        {"weights": [[1]], "bias": [0]}]}).render("markdown")
    assert "The memory of LSTM layer" not in one_step
    # a sequence of one example and one position has one output: it is compared with its target (this
    # raised a TypeError on the (1, 1, 1) array before)
    assert "is **higher** than the target y = 0.5" in one_step
