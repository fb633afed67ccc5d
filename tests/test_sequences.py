"""The foundation every sequence layer stands on: inputs [example][position][feature], dense layers (with
their activation, softmax included), layer_norm, residual and dropout at every position, targets at every
position and the loss over examples and positions, the names [example, position, unit], the JSON shapes,
both rounding modes, every printed line, and `validate`'s messages. A test-only first layer that reads
sequences (tests/sequences.py) stands in for a sequence rule, so none of this depends on one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import assume, example, given, settings, strategies as st

import nnworked
from nnworked import api
from nnworked import quantities
from nnworked.engine.network import solve
from nnworked.errors import ScenarioError
from nnworked.gradcheck import autograd, finite_differences
from nnworked.render import get
from nnworked.render.settings import Settings
from tests import equations as eq
from tests.sequence_reference import positionwise as reference
from tests.sequences import positionwise
from tests.helpers import assert_every_quantity_is_its_working, solved_carried


@pytest.fixture(autouse=True)
def _sequence_rule():  # noqa: ANN202
    with positionwise():
        yield


def network(rng: np.random.Generator, examples: int, positions: int, features: int, units: int, kinds: tuple,
            loss: str = "mse", batch: str = "mean", rounding: str = "exact", precision: int = 4):  # noqa: ANN201
    """A first position-wise dense layer, the middle `kinds`, and a dense output at every position."""
    x = rng.uniform(-2, 2, (examples, positions, features)).round(2)
    outputs = 3 if loss == "cross_entropy" else 2
    if loss == "cross_entropy":
        y = np.eye(outputs)[rng.integers(0, outputs, (examples, positions))]
    else:
        y = rng.uniform(-1, 1, (examples, positions, outputs)).round(2)
    layers = [{"type": "positionwise_test", "weights": rng.uniform(-1, 1, (units, features)).round(2).tolist(),
               "bias": rng.uniform(-0.5, 0.5, units).round(2).tolist(), "activation": "tanh", "name": "start"}]
    for kind in kinds:
        if kind == "dense":
            layers.append({"weights": rng.uniform(-1, 1, (units, units)).round(2).tolist(),
                           "bias": rng.uniform(-0.5, 0.5, units).round(2).tolist(), "activation": "sigmoid"})
        elif kind == "layer_norm":
            layers.append({"type": "layer_norm", "epsilon": 0.001, "gamma": rng.uniform(0.5, 1.5, units).round(2).tolist(),
                           "beta": rng.uniform(-0.5, 0.5, units).round(2).tolist()})
        elif kind == "residual":
            layers.append({"type": "residual", "from": "start"})
        else:
            mask = (rng.random((examples, positions, units)) < 0.7).astype(int).tolist()
            layers.append({"type": "dropout", "rate": 0.5, "mask": mask})
    layers.append({"weights": rng.uniform(-1, 1, (outputs, units)).round(2).tolist(),
                   "bias": rng.uniform(-0.5, 0.5, outputs).round(2).tolist(),
                   "activation": "softmax" if loss == "cross_entropy" else "linear"})
    return nnworked.load({"inputs": x.tolist(), "targets": y.tolist(), "layers": layers,
                          "loss": {"name": loss, "batch": batch}, "learning_rate": 0.1, "rounding": rounding,
                          "precision": precision})


KINDS = st.lists(st.sampled_from(["dense", "layer_norm", "residual", "dropout"]), max_size=3)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), kinds=KINDS, examples=st.integers(1, 3), positions=st.integers(1, 4),
       features=st.integers(1, 3), units=st.integers(2, 3), loss=st.sampled_from(["mse", "cross_entropy"]),
       batch=st.sampled_from(["mean", "sum"]))
# found in CI: ŷ = 1.8e-5 at the target, where a step of 1e-6 misread ∂L/∂ŷ by 0.1% (gradcheck's step)
@example(seed=0, kinds=["dropout", "dropout"], examples=2, positions=4, features=1, units=2, loss="cross_entropy",
         batch="mean")
def test_every_gradient_at_every_position_agrees_with_central_finite_differences(
        seed, kinds, examples, positions, features, units, loss, batch) -> None:  # noqa: ANN001
    s = network(np.random.default_rng(seed), examples, positions, features, units, tuple(kinds), loss, batch)
    variances = [r.variance for r in solve(s).steps[0].forward.operations if hasattr(r, "variance")]
    assume(all(np.all(v > 1e-6) for v in variances))  # as in test_norms: 1/√ε curves too fast to difference
    checks = finite_differences(s)
    assert [c.name for c in checks if not c.ok] == []
    assert {"W1", "b1", f"W{len(kinds) + 2}"} <= {c.name for c in checks}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("loss, batch", [("mse", "mean"), ("cross_entropy", "mean"), ("mse", "sum")])
def test_dense_and_layer_norm_at_every_position_match_the_plain_numpy_reference(seed: int, loss: str,
                                                                                 batch: str) -> None:
    rng = np.random.default_rng(seed)
    examples, positions = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    s = network(rng, examples, positions, 2, 3, ("layer_norm", "dense"), loss, batch)
    layers = []
    for layer in s.layers:
        if layer.type == "layer_norm":
            layers.append({"gamma": layer.gamma, "beta": layer.beta, "eps": layer.epsilon})
        else:
            layers.append({"W": layer.weights, "b": layer.bias, "activation": layer.activation})
    value, expected = reference(layers, s.inputs, s.targets, loss, batch)
    step = solve(s._replace(learning_rate=None)).steps[0]
    assert step.loss.value == pytest.approx(value, rel=1e-12)
    got = step.gradients()
    for name, array in expected.items():
        np.testing.assert_allclose(got[name], array, rtol=1e-9, atol=1e-12, err_msg=name)


def test_pytorch_agrees_at_every_position() -> None:
    pytest.importorskip("torch", reason="PyTorch is an optional extra")
    s = network(np.random.default_rng(3), 2, 3, 2, 3, ("layer_norm", "residual", "dense"), "cross_entropy")
    checks = autograd(s)
    assert {c.name for c in checks} == {"W1", "b1", "gamma2", "beta2", "W4", "b4", "W5", "b5"}
    assert all(c.ok for c in checks), [(c.name, c.worst_relative) for c in checks]


@pytest.mark.parametrize("seed", range(6))
def test_carried_values_are_what_the_printed_workings_evaluate_to(seed: int) -> None:
    rng = np.random.default_rng(seed)
    trace = solved_carried(lambda: network(rng, int(rng.integers(1, 3)), int(rng.integers(1, 4)), 2, 2,
                                           ("layer_norm", "residual", "dropout", "dense"),
                                           str(rng.choice(["mse", "cross_entropy"])), rounding="carry",
                                           precision=int(rng.integers(2, 5))))
    assert any(key.count(",") == 2 for key in quantities.table(trace).values)  # sequence names were made
    assert_every_quantity_is_its_working(trace)


# ---- names, JSON, printed text ----------------------------------------------------------------------

SMALL = {"inputs": [[[1, 0], [0, 2]]], "targets": [[[1], [0]]],
         "layers": [{"type": "positionwise_test", "weights": [[1, -1], [0.5, 0]], "activation": "relu"},
                    {"weights": [[1, 1]], "bias": [0.5]}],
         "loss": "mse", "learning_rate": 0.5}


def test_a_sequence_value_is_named_example_position_unit() -> None:
    table = quantities.table(solve(nnworked.load(SMALL)))
    # z1 at example 0, position 1: [0.5·0 ... ] = (1·0 + (−1)·2, 0.5·0 + 0·2) = (−2, 0)
    assert table.values["z1[0,1,0]"] == -2 and table.values["z1[0,1,1]"] == 0
    assert table.values["a2[0,0,0]"] == 1 + 0.5 + 0.5  # relu(1, 0.5) · [1, 1] + 0.5
    assert table.values["a2[0,1,0]"] == 0.5
    # L = ((2 − 1)² + (0.5 − 0)²) / 2 positions
    assert table.values["L"] == 0.625
    assert table.depends("L") == {"a2[0,0,0]", "a2[0,1,0]"}
    assert table.depends("dW2[0,0]") == {"dz2[0,0,0]", "dz2[0,1,0]", "a1[0,0,0]", "a1[0,1,0]"}


def test_json_gives_sequence_arrays_in_example_position_unit_shape() -> None:
    data = json.loads(api.render(solve(nnworked.load(SMALL)), "json"))
    step = data["steps"][0]
    assert step["forward"]["z1"] == [[[1, 0.5], [-2, 0]]]
    assert step["forward"]["a2"] == [[[2], [0.5]]]
    assert step["loss_per_example"] == [[1, 0.25]]  # at each position: (2 − 1)², (0.5 − 0)²
    assert step["gradients"]["z2"] == [[[1], [0.5]]]  # 2(ŷ − y) / 2 positions
    assert step["gradients"]["W2"] == [[1.0, 0.5]]  # 1 × (1, 0.5) + 0.5 × (0, 0)
    assert step["parameters"]["W2"] == [[0.5, 0.75]]  # [1, 1] − 0.5 × [1, 0.5]


def terminal(s, **settings) -> str:  # noqa: ANN001
    from tests.helpers import WIDTH
    from rich.console import Console

    console = Console(width=WIDTH, no_color=True, color_system=None, record=True, file=open("/dev/null", "w"),
                      highlight=False)
    console.print(get("terminal")(solve(s), Settings(**settings)), soft_wrap=True)
    return console.export_text()


def test_the_walkthrough_works_every_position() -> None:
    text = terminal(nnworked.load(SMALL))
    for line in ["  • Input: sequences of 2 positions, 2 features at each",
                 "    z₁[1,0] = (1 × 0) + (−1 × 2) = 0 − 2 = −2",
                 "    h[0,1] = max(0, 0.5) = 0.5",
                 "    L = (1/2) × Σₙ Σₜ Lₜ⁽ⁿ⁾   (the mean over the 1 example and 2 positions)",
                 "    L[1] = (ŷ[1] − y[1])² = (0.5 − 0)² = 0.5² = 0.25",
                 "    L = (1 + 0.25) / 2 = 1.25 / 2 = 0.625",
                 "    ∂L/∂W₂[0] = (1 × 1) + (0.5 × 0) = 1 + 0 = 1",
                 "    ∂L/∂b₂ = Σₙ Σₜ δ₂ₜ⁽ⁿ⁾"]:
        assert line in text.splitlines(), line


@pytest.mark.parametrize("rounding", ["exact", "carry"])
@pytest.mark.parametrize("fmt", ["markdown", "latex", "html", "terminal"])
def test_every_text_format_writes_a_sequence_network(rounding: str, fmt: str) -> None:
    s = network(np.random.default_rng(1), 2, 3, 2, 2, ("layer_norm", "residual", "dropout"), "cross_entropy",
                rounding=rounding)
    trace = solve(s)
    text = api.render(trace, fmt)
    final = trace.losses[-1]
    assert f"{final:.4f}".rstrip("0") in text  # down to the pass after the update


@pytest.mark.parametrize("settings", [{}, {"full": True}, {"detail": "full"}])
def test_every_printed_equation_of_a_sequence_network_is_consistent(settings: dict) -> None:
    s = network(np.random.default_rng(5), 2, 3, 2, 2, ("layer_norm", "residual", "dropout", "dense"),
                "cross_entropy")
    report = eq.check_markdown(get("markdown")(solve(s), Settings(**settings)))
    assert not report.failures, report.describe_failures()
    assert report.equations > 100


# ---- validate ----------------------------------------------------------------------------------------

SEQUENCE_FILE = """inputs: [[[1, 0], [0, 2], [1, 1]]]
targets: {targets}
layers:
  - {{type: positionwise_test, weights: [[1, -1], [0.5, 0]]}}
  - {middle}
loss: mse
"""


@pytest.mark.parametrize("targets, middle, message, line, col", [
    ("[[[1], [0]]]", "weights: [[1, 1]]", "the targets do not give one row per position of each example", 2, 10),
    ("[[[1, 0], [0, 1], [1, 1]]]", "weights: [[1, 1]]", "the targets do not fit the output layer", 2, 10),
    ("[[[1], [0], [1]]]", "{type: batch_norm}", "layer 2 (batch_norm) takes one vector of features per example", 5, 5),
    ("[[[1], [0], [1]]]", "{type: dropout, rate: 0.5, mask: [[1, 0], [1, 1]]}",
     "the dropout mask must be 3 levels of lists: [example][position][feature]", 5, 40),
    ("[[[1], [0], [1]]]", "weights: [[1, 1, 1]]", "the weights of layer 2 do not fit layer 1", 5, 14),
])
def test_a_shape_that_does_not_fit_is_reported_with_its_line(targets: str, middle: str, message: str, line: int,
                                                              col: int) -> None:
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(SEQUENCE_FILE.format(targets=targets, middle=middle))
    assert (message, line, col) in [(p.message, p.line, p.column) for p in raised.value.problems]


def test_inputs_that_are_not_sequences_are_reported() -> None:
    text = SEQUENCE_FILE.format(targets="[[1]]", middle="weights: [[1, 1]]").replace(
        "inputs: [[[1, 0], [0, 2], [1, 1]]]", "inputs: [1, 0]")
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(text)
    problem = raised.value.problems[0]
    assert (problem.message, problem.line, problem.expected) == (
        "sequences must be 2 or 3 levels of lists", 1, "[example][position][feature] (a 2-D list is one sequence)")


def test_a_2d_list_is_one_sequence_and_class_indices_become_one_hot() -> None:
    s = nnworked.load({**SMALL, "inputs": [[1, 0], [0, 2]], "targets": [[[0], [1]]],
                       "layers": [SMALL["layers"][0], {"weights": [[1, 1], [0, 1]], "activation": "softmax"}],
                       "loss": "cross_entropy"})
    assert s.inputs.shape == (1, 2, 2)
    assert s.targets.tolist() == [[[1, 0], [0, 1]]]
