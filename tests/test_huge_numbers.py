"""Huge but finite numbers (found by tests/test_fuzz.py's mutations of the bundled scenarios): a size of δ per
time step is computed without squaring past ±1.8e308; a layer norm whose variance overflows stops with the
place; a convolution whose every ReLU a huge step killed is named in the closing sentence. Never an internal
error, never an ∞ printed as a value."""

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


def test_the_closing_sentence_names_a_convolution_whose_every_relu_unit_died() -> None:
    data = _bundled("cnn_edge")
    data["layers"][-1]["weights"][1][1] = 123456789012  # one huge weight: the step drives every z₁ below 0
    text = nnworked.run(data, precision=1).render("markdown")
    assert ("Loss decreased from 1,728,395,046,167.5 to 0.7, but all 9 ReLU units of layer 1 are now "
                                  "dead (z ≤ 0 everywhere, on every example): no gradient can flow through them, so "
                                  "the weights into and out of them cannot change any more.") in text
