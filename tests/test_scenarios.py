"""Every bundled scenario runs in every format, and the JSON keeps the shape CONTRACT.md promises."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnworked import bundled
from nnworked.render.settings import Settings
from tests.helpers import markdown, terminal, trace_of

NAMES = bundled.names()


def test_the_bundled_scenarios_are_there() -> None:
    assert {"spam", "house_price", "xor_batch", "iris_softmax", "forward_only", "gradients_only",
            "ai-by-hand/1-matrix-multiplication", "ai-by-hand/7-backpropagation"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_every_bundled_scenario_renders_in_every_format(name: str) -> None:
    from nnworked.render import get

    trace = trace_of(name)
    text = markdown(name)
    assert text.startswith(f"# {trace.scenario.title}\n")
    assert "nan" not in text and "inf" not in text.replace("information", "")
    assert terminal(name).startswith(trace.scenario.title)
    full = get("markdown")(trace, Settings(full=True, all_steps=True))
    assert len(full) >= len(text)
    data = json.loads(get("json")(trace, Settings()))
    assert data["title"] == trace.scenario.title


def _output_shape(layer, shape: tuple) -> tuple[tuple, bool]:  # noqa: ANN001
    """One example's output of `layer` given its input shape, as the contract defines it, and whether the
    layer has a pre-activation z."""
    if getattr(layer, "type", "") == "self_attention":  # a sequence in, a sequence out
        out = layer.output_weights if layer.output_weights is not None else layer.value_weights
        return (shape[0], out.shape[0]), False
    if getattr(layer, "type", "") in ("residual", "layer_norm", "batch_norm", "dropout"):
        return tuple(shape), False
    if getattr(layer, "weights", None) is not None and len(shape) == 2:  # at every position of a sequence
        return (shape[0], layer.weights.shape[0]), True
    if getattr(layer, "weights", None) is not None:
        return (*shape[:-1], layer.weights.shape[0]), True  # a sequence: at every position
    if getattr(layer, "input_weights", None) is not None and layer.input_weights.ndim == 3:  # lstm: each h_t, or the last
        hidden = layer.input_weights.shape[1]
        return ((shape[0], hidden) if layer.returns == "sequence" else (hidden,)), False
    if getattr(layer, "input_weights", None) is not None:  # rnn: z is per position even when it returns the last h
        units = layer.input_weights.shape[0]
        return ((shape[0], units), True) if layer.returns == "sequence" else ((units,), False)
    if getattr(layer, "kernels", None) is not None:
        out_c, _, rows, cols = layer.kernels.shape
        _, h, w = shape
        return (out_c, (h + 2 * layer.padding - rows) // layer.stride + 1,
                (w + 2 * layer.padding - cols) // layer.stride + 1), True
    if getattr(layer, "size", None) is not None:
        c, h, w = shape
        return (c, (h - layer.size) // layer.stride + 1, (w - layer.size) // layer.stride + 1), False
    return (int(np.prod(shape)),), False  # flatten


@pytest.mark.parametrize("name", [n for n in NAMES if not n.endswith("matrix-multiplication")])
def test_json_follows_the_contract(name: str) -> None:
    from nnworked.render.json import to_data

    trace = trace_of(name)
    s = trace.scenario
    data = json.loads(json.dumps(to_data(trace)))
    assert len(data["steps"]) == (s.steps if s.trains else 1)
    first = data["steps"][0]
    assert first["step"] == 1
    shape = s.inputs.shape[1:]  # one example, as each layer receives it
    for k, layer in enumerate(s.layers, start=1):
        shape, computes = _output_shape(layer, shape)
        examples = (s.inputs.shape[0], *shape)
        assert np.array(first["forward"][f"a{k}"]).shape == examples
        if computes:
            assert np.array(first["forward"][f"z{k}"]).shape == examples
        parameters = {name: value for name, value in
                      (("W", getattr(layer, "weights", None)), ("K", getattr(layer, "kernels", None)),
                       ("b", getattr(layer, "bias", None))) if value is not None}
        if getattr(layer, "input_weights", None) is not None:  # lstm: its parameters by gate, Wx{k}.i … b{k}.o
            from nnworked.rules.layers import LAYERS

            for name, value in LAYERS[layer.type].parameters(k, layer).items():
                assert s.targets is None or np.array(first["gradients"][name]).shape == value.shape
                assert not s.trains or np.array(first["parameters"][name]).shape == value.shape
            parameters = {}
        if s.targets is not None:
            for name, value in parameters.items():
                assert np.array(first["gradients"][f"{name}{k}"]).shape == value.shape
            if computes:
                assert np.array(first["gradients"][f"z{k}"]).shape == examples
        if s.trains:
            for name, value in parameters.items():
                assert np.array(first["parameters"][f"{name}{k}"]).shape == value.shape
    if s.targets is None:
        assert first["loss"] is None and "gradients" not in first and "final" not in data
    else:
        assert first["loss"] == pytest.approx(trace.steps[0].loss.value)
    if s.trains:
        assert data["final"]["loss"] == pytest.approx(trace.losses[-1])
        last = trace.steps[-1]
        for update in last.updates:
            np.testing.assert_allclose(data["steps"][-1]["parameters"][update.name], update.new)
    else:
        assert "final" not in data


def test_spam_json_numbers() -> None:
    from nnworked.render.json import to_data

    data = to_data(trace_of("spam"))
    step = data["steps"][0]
    np.testing.assert_allclose(step["forward"]["z1"], [[0.21, 0.47]])
    assert step["loss"] == pytest.approx(0.479005, abs=1e-6)
    np.testing.assert_allclose(step["gradients"]["W2"], [[-0.0799261, -0.1788823]], atol=1e-6)
    np.testing.assert_allclose(step["parameters"]["b2"], [0.1380601], atol=1e-6)
    assert data["final"]["loss"] == pytest.approx(0.4493036, abs=1e-6)


def test_matmul_json() -> None:
    from nnworked.render.json import to_data

    assert to_data(trace_of("ai-by-hand/1-matrix-multiplication"))["matmul"]["C"] == [[3, 9, 4], [1, -1, 0]]


def test_multi_step_shows_step_one_in_full_then_the_loss_table() -> None:
    text = markdown("xor_batch")
    assert text.count("## Forward Pass") == 1
    assert "## Loss at Every Step" in text
    losses = trace_of("xor_batch").losses
    assert len(losses) == 21 and losses[-1] < losses[0]
    every = markdown("xor_batch", Settings(all_steps=True))
    assert every.count("## Forward Pass") == 20
    assert "## Training Step 20 of 20" in every


def test_steps_option_overrides_the_file() -> None:
    assert len(trace_of("spam", steps=3).steps) == 3
    text = markdown("spam", steps=3)
    assert "| after step 3 |" in text


def test_gradients_only_stops_at_the_gradients() -> None:
    text = markdown("gradients_only")
    assert "No learning rate is given, so the walkthrough stops at the gradients." in text
    assert "## Weight Updates" not in text


def test_forward_only_has_no_loss() -> None:
    text = markdown("forward_only")
    assert "There are no targets, so this is a forward pass only." in text
    assert "## Loss Computation" not in text


def test_freeze_keeps_a_parameter(tmp_path) -> None:  # noqa: ANN001
    from nnworked import scenario
    from nnworked.engine.network import solve

    source = (bundled.ROOT / "spam.yaml").read_text() + "freeze: [b1, W2]\n"
    path = tmp_path / "frozen.yaml"
    path.write_text(source)
    trace = solve(scenario.load(str(path)))
    updates = {u.name: u for u in trace.steps[0].updates}
    assert np.array_equal(updates["b1"].new, updates["b1"].old) and updates["b1"].frozen
    assert np.array_equal(updates["W2"].new, updates["W2"].old)
    assert not np.array_equal(updates["W1"].new, updates["W1"].old)
