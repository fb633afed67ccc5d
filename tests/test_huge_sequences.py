"""Huge but finite numbers in sequence networks (found by tests/test_fuzz.py's mutations): a size of δ per
time step is computed without squaring past ±1.8e308, and a layer norm whose variance overflows stops with
the place, never with an internal error or an ∞ printed as a value."""

from __future__ import annotations

import pytest
import yaml

import nnworked
from nnworked import bundled
from nnworked.errors import NumericalError


def _bundled(name: str) -> dict:
    with open(bundled.resolve(name), encoding="utf-8") as file:
        return yaml.safe_load(file)


def test_the_size_of_delta_at_each_time_step_is_finite_when_its_squares_are_not() -> None:
    data = _bundled("rnn_three_steps")
    data["layers"][-1]["weights"] = [[1e100, 4]]  # δ reaches about 1e197: its square is beyond ±1.8e308
    text = nnworked.run(data).render("terminal", columns=100)
    (line,) = [line for line in text.splitlines() if line.startswith("The size of δ at each step")]
    assert "∞" not in text
    assert "× 10¹⁹⁷" in line


def test_a_layer_norm_whose_variance_overflows_names_its_place() -> None:
    data = _bundled("transformer_block")
    data["layers"][0]["output_weights"][0][2] = 1e305
    with pytest.raises(NumericalError, match="^the forward pass of step 1, at the variance of layer 3 overflowed"):
        nnworked.run(data)
