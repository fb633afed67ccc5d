"""The rnn layer: h_t = tanh(W_x·x_t + W_h·h_(t−1) + b) and backpropagation through time, against central
finite differences over random lengths, sizes and batches, against a plain-numpy reference that unrolls
each loss term by itself (tests/sequence_reference.py), against PyTorch's nn.RNN where installed; carried
values are the printed workings; the three-step scenario reproduces a published notebook's forward pass
digit for digit and records where its backward pass is wrong; exact text at a fixed width."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nnworked
from nnworked import api, quantities, worked
from nnworked.engine.network import solve
from nnworked.errors import NnworkedError, ScenarioError
from nnworked.gradcheck import autograd, finite_differences
from nnworked.render import get
from nnworked.render.settings import Settings
from tests import equations as eq
from tests.sequence_reference import rnn_then_dense

GOLDEN = pathlib.Path(__file__).parent / "golden"
SOURCE = pathlib.Path(__file__).parent.parent / "scenarios" / "rnn_three_steps.yaml"


def network(rng: np.random.Generator, examples: int, positions: int, features: int, units: int, returns: str,
            bias: bool = True, initial: bool = False, batch: str = "mean", rounding: str = "exact",
            precision: int = 4):  # noqa: ANN201
    x = rng.uniform(-1, 1, (examples, positions, features)).round(2)
    outputs = 2
    y = rng.uniform(-1, 1, (examples, positions, outputs) if returns == "sequence" else (examples, outputs)).round(2)
    rnn = {"type": "rnn", "input_weights": rng.uniform(-1, 1, (units, features)).round(2).tolist(),
           "recurrent_weights": rng.uniform(-1, 1, (units, units)).round(2).tolist(), "return": returns}
    if bias:
        rnn["bias"] = rng.uniform(-0.5, 0.5, units).round(2).tolist()
    if initial:
        rnn["initial_state"] = rng.uniform(-0.5, 0.5, units).round(2).tolist()
    dense = {"weights": rng.uniform(-1, 1, (outputs, units)).round(2).tolist(),
             "bias": rng.uniform(-0.5, 0.5, outputs).round(2).tolist()}
    return nnworked.load({"inputs": x.tolist(), "targets": y.tolist(), "layers": [rnn, dense],
                          "loss": {"name": "mse", "batch": batch}, "learning_rate": 0.1, "rounding": rounding,
                          "precision": precision})


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), examples=st.integers(1, 3), positions=st.integers(1, 5),
       features=st.integers(1, 3), units=st.integers(1, 3), returns=st.sampled_from(["sequence", "last"]),
       bias=st.booleans(), initial=st.booleans(), batch=st.sampled_from(["mean", "sum"]))
def test_every_gradient_through_time_agrees_with_central_finite_differences(
        seed, examples, positions, features, units, returns, bias, initial, batch) -> None:  # noqa: ANN001
    s = network(np.random.default_rng(seed), examples, positions, features, units, returns, bias, initial, batch)
    checks = finite_differences(s)
    assert [c.name for c in checks if not c.ok] == []
    assert {"Wx1", "Wh1", "z1", "a1"} <= {c.name for c in checks}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("returns", ["sequence", "last"])
def test_backpropagation_through_time_matches_the_plain_numpy_reference(seed: int, returns: str) -> None:
    rng = np.random.default_rng(seed)
    s = network(rng, int(rng.integers(1, 4)), int(rng.integers(1, 5)), 2, 3, returns, initial=True)
    rnn, dense = s.layers
    value, expected = rnn_then_dense(rnn.input_weights, rnn.recurrent_weights, rnn.bias, rnn.initial_state, returns,
                                     dense.weights, dense.bias, s.inputs, s.targets)
    step = solve(s).steps[0]
    got = step.gradients()
    assert step.loss.value == pytest.approx(value, rel=1e-12)
    for ours, theirs in (("Wx1", "Wx"), ("Wh1", "Wh"), ("b1", "b"), ("W2", "V"), ("b2", "c"), ("z1", "dz")):
        np.testing.assert_allclose(got[ours], expected[theirs], rtol=1e-9, atol=1e-14, err_msg=ours)


@pytest.mark.parametrize("returns", ["sequence", "last"])
def test_pytorch_nn_rnn_agrees_on_values_and_gradients(returns: str) -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is an optional extra")
    s = network(np.random.default_rng(7), 2, 4, 3, 2, returns, initial=True)
    rnn = s.layers[0]
    module = torch.nn.RNN(3, 2, batch_first=True).double()
    with torch.no_grad():
        module.weight_ih_l0.copy_(torch.tensor(rnn.input_weights))
        module.weight_hh_l0.copy_(torch.tensor(rnn.recurrent_weights))
        module.bias_ih_l0.copy_(torch.tensor(rnn.bias))
        module.bias_hh_l0.zero_()
    h0 = torch.tensor(rnn.initial_state).reshape(1, 1, 2).expand(1, 2, 2).contiguous()
    output, _ = module(torch.tensor(s.inputs), h0)
    record = solve(s).steps[0].forward.operations[0]
    np.testing.assert_allclose(record.h, output.detach().numpy(), rtol=1e-12)
    checks = autograd(s)
    assert {c.name for c in checks} == {"Wx1", "Wh1", "b1", "W2", "b2"}
    assert all(c.ok for c in checks), [(c.name, c.worst_relative) for c in checks]


@pytest.mark.parametrize("seed", range(6))
def test_carried_values_are_what_the_printed_workings_evaluate_to(seed: int) -> None:
    rng = np.random.default_rng(seed)
    s = network(rng, int(rng.integers(1, 3)), int(rng.integers(1, 4)), 2, 2, str(rng.choice(["sequence", "last"])),
                initial=bool(rng.integers(2)), rounding="carry", precision=int(rng.integers(2, 6)))
    trace = solve(s)
    table, precision = quantities.table(trace), trace.precision
    for key, value in table.values.items():
        assert worked.value(table.expression(key), precision) == value, key


# ---- the published three-step example --------------------------------------------------------------

def test_the_notebook_s_forward_pass_is_reproduced_and_its_backward_pass_is_recorded_as_wrong() -> None:
    """github.com/thsis/INFOSYS, models/RNN-backprop.ipynb (In [37]–[48]), every number it prints."""
    step = solve(nnworked.load(str(SOURCE))).steps[0]
    h = step.forward.operations[0].h[0]
    source_h = {0: [0.37994896, 0.19737532], 1: [0.87975882, 0.97711011], 2: [0.9986059, 0.99999815]}
    for t, values in source_h.items():  # right: to every digit it prints
        np.testing.assert_allclose(h[t], values, atol=5e-9)
    assert step.forward.output[0, 0] == pytest.approx(5.99720442000804, abs=1e-13)
    grads = step.gradients()
    # wrong: its dlossdW = [0.00034735, 0.00272708] and dlossdU = [[0.00053191, 0.00212484]] take ∂L/∂ŷ as
    # y − ŷ (the sign reversed), follow W only from h1 and U only from h2, and multiply element by element;
    # backpropagation through time sums every step's contribution, with the loss's own sign:
    source_dw, source_du = [0.00034735, 0.00272708], [0.00053191, 0.00212484]
    assert np.sign(grads["Wx1"][:, 0]).tolist() == [-1, -1] and np.sign(source_dw).tolist() == [1, 1]
    np.testing.assert_allclose(grads["Wx1"][:, 0], [-0.0030960573, -0.0010387890], atol=5e-11)
    np.testing.assert_allclose(grads["Wh1"], [[-0.0053998708, -0.0057114457], [-0.0002062230, -0.0001148322]],
                               atol=5e-11)
    assert grads["Wh1"].shape == (2, 2) and np.shape(source_du) == (2,)  # its "gradient" of a 2×2 U has 2 numbers
    # its updates (W = [1.99999965, 0.99999727], U = [[0.99999947, 1.99999788], [2.99999947, 3.99999788]])
    # move the weights the wrong way; η = 0.001 against the true gradients raises them:
    updated = {u.name: u.new for u in step.updates}
    np.testing.assert_allclose(updated["Wx1"][:, 0], [2.0000030961, 1.0000010388], atol=5e-11)
    assert np.all(updated["Wh1"] > [[1, 2], [3, 4]])


def test_the_source_values_agree_with_finite_differences() -> None:
    checks = finite_differences(nnworked.load(str(SOURCE)))
    assert all(c.ok for c in checks) and {"Wx1", "Wh1", "W2", "z1"} <= {c.name for c in checks}


def _terminal(s, width: int = 100, **options) -> str:  # noqa: ANN001
    from rich.console import Console

    console = Console(width=width, no_color=True, color_system=None, record=True, file=open("/dev/null", "w"),
                      highlight=False)
    console.print(get("terminal")(solve(s), Settings(**options)), soft_wrap=True)
    return console.export_text()


@pytest.mark.parametrize("fmt, golden", [("terminal", "rnn_three_steps.txt"), ("markdown", "rnn_three_steps.md")])
def test_the_three_step_walkthrough_matches_its_golden_file(fmt: str, golden: str) -> None:
    s = nnworked.load(str(SOURCE))
    text = _terminal(s) if fmt == "terminal" else get("markdown")(solve(s), Settings())
    assert text == (GOLDEN / golden).read_text(encoding="utf-8")


@pytest.mark.parametrize("options", [{}, {"full": True}, {"detail": "full"}, {"rounding": "carry"}])
def test_every_printed_equation_of_the_three_step_walkthrough_is_consistent(options: dict) -> None:
    s = nnworked.load(str(SOURCE))
    if "rounding" in options:
        s = s._replace(rounding="carry")
    report = eq.check_markdown(get("markdown")(solve(s), Settings(**{k: v for k, v in options.items()
                                                                     if k != "rounding"})))
    assert report.places == 8
    assert not report.failures, report.describe_failures()
    assert report.equations >= 60


def test_the_walkthrough_works_each_step_s_contribution_and_their_sum() -> None:
    text = _terminal(nnworked.load(str(SOURCE)))
    lines = [l.strip() for l in text.splitlines()]
    assert "z₁[1,0] = (2 × 0.3) + (1 × 0.37994896) + (2 × 0.19737532) = 0.6 + 0.37994896 + 0.39475064" in lines
    assert "h[2,1] = tanh(6.94771691) = 0.99999815" in lines
    assert "(∂L/∂Wx₁[0,0])ₜ₌₂ = −0.00558808 × 0.4 = −0.00223523" in lines
    assert "∂L/∂Wx₁[0,0] = (−0.00239450 × 0.2) + (−0.00127309 × 0.3) + (−0.00558808 × 0.4)" in lines


def test_json_names_the_rnn_s_arrays_by_the_contract() -> None:
    data = json.loads(api.render(solve(nnworked.load(str(SOURCE))), "json"))
    step = data["steps"][0]
    assert np.shape(step["forward"]["z1"]) == (1, 3, 2)  # [example][position][unit] even with return: last
    assert np.shape(step["forward"]["a1"]) == (1, 2)
    assert set(step["parameters"]) == {"Wx1", "Wh1", "W2"}
    assert np.shape(step["gradients"]["Wh1"]) == (2, 2)


# ---- bad files and formats that cannot hold it ----------------------------------------------------------

RNN_FILE = """inputs: [[[1], [0], [2]]]
targets: [[1]]
layers:
  - {{type: rnn, input_weights: {wx}, recurrent_weights: {wh}, return: last}}
  - weights: [[1, 1]]
loss: mse
"""


@pytest.mark.parametrize("wx, wh, message, col", [
    ("[[1], [2]]", "[[1, 2]]", "the recurrent weights of layer 1 are not 2×2", 63),
    ("[[1, 2], [3, 4]]", "[[1, 0], [0, 1]]", "the input weights of layer 1 do not fit the inputs", 32),
])
def test_a_recurrent_layer_that_does_not_fit_is_reported_with_its_line(wx: str, wh: str, message: str,
                                                                      col: int) -> None:
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(RNN_FILE.format(wx=wx, wh=wh))
    assert (message, 4, col) in [(p.message, p.line, p.column) for p in raised.value.problems]


def test_an_rnn_cannot_end_the_network() -> None:
    text = RNN_FILE.format(wx="[[1], [2]]", wh="[[1, 0], [0, 1]]").replace("  - weights: [[1, 1]]\n", "")
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(text)
    assert [p.message for p in raised.value.problems] == ["a rnn layer cannot be the last layer"]


def test_a_spreadsheet_lays_out_a_recurrent_network() -> None:
    """An .xlsx workbook (a zip); its cells are tests/test_xlsx_sequences.py's."""
    assert api.render(solve(nnworked.load(str(SOURCE))), "xlsx")[:2] == b"PK"


def test_a_pytorch_script_refuses_an_rnn_nn_rnn_cannot_compute_saying_why() -> None:
    sigmoid = nnworked.load(str(SOURCE))
    sigmoid = sigmoid._replace(layers=[sigmoid.layers[0]._replace(activation="sigmoid"), *sigmoid.layers[1:]])
    with pytest.raises(NnworkedError) as raised:
        api.render(solve(sigmoid), "pytorch")
    assert str(raised.value) == ("nn.RNN computes tanh or ReLU only: a Sigmoid rnn layer cannot be written with it "
                                 "(`nnworked verify` compares it with PyTorch by hand)")


@pytest.mark.parametrize("fmt", ["latex", "html"])
def test_the_typeset_formats_write_the_recurrent_walkthrough(fmt: str) -> None:
    text = api.render(solve(nnworked.load(str(SOURCE))), fmt)
    assert "0.00309606" in text and "5.99720442" in text  # ∂L/∂Wx₁[0,0] and ŷ, as the walkthrough works them


def test_ai_by_hand_rnn_reproduces_the_exercise() -> None:
    """Tom Yeh's RNN exercise (Jeremy London's transcription): h_t = ReLU(A·h_(t−1) + B·x_t) from [0, 0],
    y_t = C·h_t; its outputs Y = [3, 16, 28, 40], and every state worked here in plain Python."""
    a, b, c = [[1, -1], [1, 1]], [1, 2], [-1, 1]
    h, states, outputs = [0, 0], [], []
    for x in (3, 4, 5, 6):
        h = [max(0, a[u][0] * h[0] + a[u][1] * h[1] + b[u] * x) for u in range(2)]
        states.append(h)
        outputs.append(c[0] * h[0] + c[1] * h[1])
    assert outputs == [3, 16, 28, 40]  # the transcription's printed Y
    step = solve(api.load("ai-by-hand/9-rnn"), keep=1).steps[0]
    np.testing.assert_array_equal(step.forward.operations[0].h[0], states)
    np.testing.assert_array_equal(step.forward.output[0, :, 0], outputs)
    text = nnworked.run("ai-by-hand/9-rnn").render("terminal", width=100)
    assert "    z₁[0,2] = (1 × 5) + (1 × 1) + (−1 × 17) = 5 + 1 − 17 = −11\n" in text
    assert "    h[0,2] = max(0, −11) = 0\n" in text
