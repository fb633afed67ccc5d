"""`nnworked verify`: passes on every bundled scenario, and fails on a deliberately broken gradient."""

from __future__ import annotations

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from nnworked import bundled, gradcheck, scenario
from nnworked.cli import app
from nnworked.engine import activations
from tests.helpers import trace_of

WITH_TARGETS = [n for n in bundled.names() if trace_of(n).scenario.targets is not None]


@pytest.mark.parametrize("name", WITH_TARGETS)
def test_every_bundled_gradient_agrees_with_finite_differences(name: str) -> None:
    checks = gradcheck.verify(trace_of(name).scenario)
    names = {c.name for c in checks}
    layers = trace_of(name).scenario.layers  # every weight array: W of a dense layer, K of a convolution
    assert {key for key in scenario.parameters(layers) if not key.startswith("b")} <= names
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]


def test_the_command_prints_a_table_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["verify", "spam"])
    assert result.exit_code == 0, result.output
    assert "∂L/∂W1" in result.output
    assert re.search(r"All (8|12) gradients agree to within 1e-05 \(relative\)\.", result.output)  # 12 with PyTorch


@pytest.fixture
def broken_relu(monkeypatch: pytest.MonkeyPatch) -> None:
    """ReLU′ taken as 1 everywhere: wrong wherever z < 0."""
    relu = activations.ACTIVATIONS["relu"]
    monkeypatch.setattr(relu, "derivative", lambda z, a, s: np.ones_like(z))


@pytest.mark.usefixtures("broken_relu")
def test_a_broken_gradient_is_caught_and_the_command_exits_1() -> None:
    # exercise 7 has z1[0] = −1, so a wrong ReLU′ sends gradient through a unit that should pass none
    checks = {c.name: c for c in gradcheck.verify(trace_of("ai-by-hand/7-backpropagation").scenario)}
    assert not checks["z1"].ok and not checks["W1"].ok and not checks["b1"].ok
    assert checks["W3"].ok and checks["z2"].ok  # above the broken layer all is still right
    result = CliRunner().invoke(app, ["verify", "ai-by-hand/7-backpropagation"])
    assert result.exit_code == 1
    assert "FAIL" in result.output and "differ by more than 1e-05" in result.output


def test_a_scenario_without_targets_has_nothing_to_verify() -> None:
    assert gradcheck.verify(trace_of("forward_only").scenario) == []


# the torch computations verify names for the sequence layers; every other scenario's is autograd alone
REFERENCES = {"rnn_three_steps": {"PyTorch autograd (nn.RNN)"}, "lstm_step": {"PyTorch autograd (nn.LSTM)"},
              "attention_three_tokens": {"PyTorch autograd (scaled_dot_product_attention)"},
              "transformer_block": {"PyTorch autograd (scaled_dot_product_attention)",
                                    "PyTorch autograd (nn.MultiheadAttention)"}}


def test_pytorch_autograd_agrees_when_it_is_installed() -> None:
    pytest.importorskip("torch")
    for name in WITH_TARGETS:
        checks = [c for c in gradcheck.autograd(trace_of(name).scenario)]
        assert {c.reference for c in checks} == REFERENCES.get(name, {"PyTorch autograd"}), name
        assert all(c.ok for c in checks), (name, [c for c in checks if not c.ok])


def test_attention_is_checked_against_scaled_dot_product_attention_and_multihead_attention() -> None:
    pytest.importorskip("torch")
    checks = gradcheck.autograd(trace_of("transformer_block").scenario)
    by_pass = {reference: [c.name for c in checks if c.reference == reference] for reference in REFERENCES["transformer_block"]}
    assert by_pass == {"PyTorch autograd (scaled_dot_product_attention)": ["WQ1", "WK1", "WV1", "WO1", "gamma3", "beta3",
                                                                          "W4", "b4"],
                       "PyTorch autograd (nn.MultiheadAttention)": ["WQ1", "WK1", "WV1", "WO1"]}
    result = CliRunner().invoke(app, ["verify", "transformer_block"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert ("against central finite differences (ε = 1e-06) and PyTorch autograd, 1: scaled_dot_product_attention, "
            "2: nn.MultiheadAttention") in " ".join(result.output.split())
    assert re.search(r"∂L/∂WO1 +16 of 16 +\S+ +\S+ +\[\d, \d\] +autograd 2 +ok", result.output)


def test_a_multihead_attention_given_other_weights_fails_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from nnworked.rules.layers.attention import SelfAttention

    given = SelfAttention.torch_alternative

    def swapped(self, torch, k, layer, params, inputs, reference):  # noqa: ANN001, ANN202
        # W_Q and W_K swapped in in_proj_weight: the scores transposed, which the reference must catch
        return given(self, torch, k, layer, {**params, f"WQ{k}": params[f"WK{k}"], f"WK{k}": params[f"WQ{k}"]},
                     inputs, reference)

    monkeypatch.setattr(SelfAttention, "torch_alternative", swapped)
    checks = gradcheck.autograd(trace_of("transformer_block").scenario)
    failed = {c.name for c in checks if not c.ok}
    assert failed and failed <= {"WQ1", "WK1", "WV1", "WO1"}
    assert all(c.reference == "PyTorch autograd (nn.MultiheadAttention)" for c in checks if not c.ok)


KINK = """\
inputs: [[1, 1]]
targets: [[1]]
layers:
  - weights: [[0.5, -0.5], [0.3, 0.4]]
    bias: [0, 0]
    activation: relu
  - weights: [[0.5, 0.6]]
    activation: linear
loss: mse
learning_rate: 0.1
"""


def test_an_element_at_a_relu_kink_is_not_checkable_by_finite_differences_and_no_failure(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "kink.yaml"
    path.write_text(KINK)  # z1[0] = 0.5 − 0.5 = 0 exactly: ReLU′(0) = 0, but the two nudges see slopes 0 and 1
    checks = {c.name: c for c in gradcheck.finite_differences(scenario.load(str(path)))}
    assert all(c.ok for c in checks.values())
    assert checks["W1"].kinks == ((0, 0), (0, 1)) and checks["W1"].checked == 2
    assert checks["b1"].kinks == ((0,),) and checks["z1"].kinks == ((0, 0),)
    result = CliRunner().invoke(app, ["verify", str(path)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert ("∂L/∂W1: 2 element(s) at a kink (ReLU′(0) = 0), not checkable by finite differences there: "
            "[0, 0], [0, 1]") in " ".join(result.output.split())


def test_large_targets_are_checked_with_a_step_and_tolerance_to_their_scale(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "big.yaml"
    path.write_text((bundled.ROOT / "house_price.yaml").read_text().replace("[[350]]", "[[10000000]]"))
    checks = gradcheck.finite_differences(scenario.load(str(path)))
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
