"""`validate` checks every layer type's shape against its neighbours and says, with the line, what the layer
receives and what it expects: one case per layer type (the dense, conv2d and max_pool cases of
tests/test_layers.py and the norm, dropout and residual ones of tests/test_norms.py aside)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import nnworked
from nnworked.errors import ScenarioError
from tests.test_norms import NETWORK

IMAGE = """inputs: [[1, 2, 0], [0, 1, 3], [2, 1, 0]]
targets: [[1]]
layers:
  - type: conv2d
    kernels: [[[[1, 0], [0, -1]]]]
  - {middle}
  - type: flatten
  - weights: [[0.1, 0.2, 0.3, 0.4]]
loss: mse
"""
VECTOR = NETWORK  # a dense network with a layer to fill in, as the norm tests use


@pytest.mark.parametrize("network, middle, expected", [
    (VECTOR, "{type: avg_pool, size: 2}",
     (5, 5, "layer 2 (avg_pool) takes images from layer 1", "[channel][row][col] per example", "2 per example",
      "pooling comes after a conv2d layer")),
    (VECTOR, "{type: conv2d, kernels: [[[[1]]]]}",
     (5, 5, "layer 2 (conv2d) takes images from layer 1", "[example][channel][row][col] (1 channel)",
      "2 per example", "a conv2d layer comes first (its inputs are images) or after another conv2d or pooling layer")),
    (IMAGE, "{type: batch_norm}",
     (6, 5, "layer 2 (batch_norm) takes one vector of features per example", "[example][feature]",
      "1×2×2 per example from layer 1", "add a flatten layer before it")),
    (IMAGE, "{type: layer_norm}",
     (6, 5, "layer 2 (layer_norm) takes one vector of features per example", "[example][feature]",
      "1×2×2 per example from layer 1", "add a flatten layer before it")),
    (VECTOR, "{type: layer_norm, beta: [1, 2, 3]}",
     (5, 30, "the beta of layer 2 does not fit its input", "2 numbers (one per feature)", "3",
      "layer 2 receives 2 features from layer 1")),
    (VECTOR, "{type: dropout, rate: 0.5}",
     (5, 5, "layer 2 (dropout) has no mask", "rate: the probability of dropping, and mask: [example][…] of 1 (keep) "
      "and 0 (drop)", "none", "")),
    (IMAGE, "{type: dropout, rate: 0.5, mask: [[1, 0]]}",
     (6, 40, "the dropout mask must be 4 levels of lists: [example][channel][row][col]", "a list", "1", "")),
    (IMAGE, "{type: residual, from: input}",
     (6, 28, "layer 2 (residual) adds outputs of different shapes", "input's output the size of layer 1's: 1×2×2 per "
      "example", "1×3×3", "a skip connection adds element by element")),
])
def test_each_layer_type_that_does_not_fit_says_what_it_receives_and_expects(network: str, middle: str,
                                                                              expected: tuple) -> None:
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(network.format(middle=middle))
    assert [(p.line, p.column, p.message, p.expected, p.given, p.hint) for p in raised.value.problems] == [expected]


def test_validate_prints_the_place_and_exits_1(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "pool.yaml"
    path.write_text(VECTOR.format(middle="{type: max_pool, size: 2}"))
    result = subprocess.run([sys.executable, "-m", "nnworked", "validate", str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{path}:5:5: layers[1]: layer 2 (max_pool) takes images from layer 1 — expected [channel][row][col] per " \
           "example, given 2 per example\n    hint: pooling comes after a conv2d layer\n" in result.stdout + result.stderr
