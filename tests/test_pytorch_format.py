"""`--format pytorch`: a script that rebuilds the scenario in PyTorch. Run in a subprocess, it prints the
trace's forward pass, its loss at every step, every gradient of step 1, the parameters after training and
the final loss, to 1e-12 (the trace is solved exactly: a carried scenario's script computes exactly too)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import nnworked
from nnworked.cli import app
from tests.test_layer_walkthroughs import MIXED

BUNDLED = ["spam", "house_price", "xor_batch", "iris_softmax", "forward_only", "gradients_only",
           "ai-by-hand/2-single-neuron", "ai-by-hand/6-seven-layers", "ai-by-hand/7-backpropagation"]

# every optimizer with its settings, a loss scaled and reduced as no torch reduction is, a frozen
# parameter, a layer without bias, leaky ReLU's slope and tanh
VARIED = {
    "title": "Every setting",
    "inputs": [[0.5, -1.0, 0.25], [1.5, 0.5, -0.75]],
    "targets": [[0.2, 0.9], [-0.4, 0.1]],
    "layers": [{"weights": [[0.3, -0.2, 0.5], [0.1, 0.4, -0.6]], "bias": [0.05, -0.1],
                "activation": {"name": "leaky_relu", "slope": 0.2}},
               {"weights": [[0.7, -0.3], [0.2, 0.5]], "activation": "tanh"}],
    "loss": {"name": "mse", "scale": 0.5, "outputs": "sum", "batch": "mean"},
    "learning_rate": 0.05,
    "steps": 3,
    "freeze": ["b1"],
}
# layers whose script needs a small module of its own (dropout's given mask, batch norm with ε = 0, the
# residual's addition, which an nn.Sequential cannot pass it) or torch.nn's (nn.BatchNorm1d, nn.LayerNorm)
LAYERED = ["batch_norm_step", "dropout_step", "residual_block"]
NORMS = {
    "title": "Both norms, ε as PyTorch's default and not",
    "inputs": [[0.5, -1.0, 0.25], [1.5, 0.5, -0.75], [-0.2, 0.3, 1.0]],
    "targets": [[0.2], [-0.4], [0.7]],
    "layers": [{"weights": [[0.3, -0.2, 0.5], [0.1, 0.4, -0.6], [0.2, 0.2, 0.1]], "bias": [0.05, -0.1, 0.0],
                "activation": "tanh"},
               {"type": "batch_norm", "gamma": [1.5, 0.5, 2.0], "beta": [0.1, -0.2, 0.3], "epsilon": 0.01},
               {"type": "layer_norm", "gamma": [0.5, 1.0, -1.0], "beta": [0.0, 0.2, 0.1]},
               {"weights": [[0.7, -0.3, 0.4]], "activation": "linear"}],
    "loss": "mse", "learning_rate": 0.1, "optimizer": "adam", "steps": 2,
}
# the sequence layers: nn.RNN and nn.LSTM wrapped to pass on their outputs, attention as nn.MultiheadAttention
# (transformer_block) or, where that cannot express it, scaled_dot_product_attention (attention_three_tokens)
SEQUENCES = ["rnn_three_steps", "lstm_step", "attention_three_tokens", "transformer_block"]
# what the bundled ones leave out: an RNN's bias, ReLU and initial state returning every h_t, an LSTM without
# bias from a given state returning its last h, causal attention of two heads with output weights of
# another width, unscaled, and Adam
SEQUENCE_SETTINGS = {
    "inputs": [[[0.5, -1.0], [0.25, 0.75], [-0.5, 0.1]], [[1.0, 0.2], [-0.3, 0.4], [0.6, -0.8]]],
    "targets": [[0.3, -0.2], [0.1, 0.4]],
    "layers": [{"type": "rnn", "input_weights": [[0.4, -0.3], [0.2, 0.5], [-0.6, 0.1], [0.3, 0.3]],
                "recurrent_weights": [[0.1, -0.2, 0.3, 0.0], [0.2, 0.1, -0.1, 0.3], [0.0, 0.2, 0.1, -0.3],
                                      [-0.2, 0.1, 0.0, 0.2]],
                "bias": [0.1, -0.1, 0.05, 0.0], "activation": "relu", "initial_state": [0.2, -0.1, 0.0, 0.3]},
               {"type": "self_attention", "heads": 2, "causal": True, "scaled": False,
                "query_weights": [[0.3, -0.2, 0.1, 0.4], [0.2, 0.1, -0.3, 0.2], [-0.1, 0.3, 0.2, 0.1],
                                  [0.4, 0.0, 0.1, -0.2]],
                "key_weights": [[0.1, 0.2, -0.2, 0.3], [-0.3, 0.1, 0.2, 0.1], [0.2, -0.1, 0.3, 0.0],
                                [0.1, 0.4, -0.1, 0.2]],
                "value_weights": [[0.5, -0.1, 0.2, 0.1], [0.1, 0.3, -0.2, 0.4], [-0.2, 0.2, 0.1, 0.3],
                                  [0.3, 0.1, 0.4, -0.1]],
                "output_weights": [[0.2, -0.1, 0.3, 0.1], [0.1, 0.2, -0.3, 0.2], [-0.2, 0.1, 0.1, 0.3]]},
               {"type": "lstm", "return": "last", "initial_state": {"h": [0.1, -0.2], "c": [0.3, 0.05]},
                "input_weights": {g: [[0.1 * (q + 1), -0.2, 0.3], [0.2, 0.1 * q, -0.1]] for q, g in enumerate("ifgo")},
                "recurrent_weights": {g: [[0.2, -0.1 * q], [0.1, 0.3]] for q, g in enumerate("ifgo")}},
               {"weights": [[0.5, -0.4], [0.3, 0.2]], "bias": [0.1, 0.0], "activation": "tanh"}],
    "loss": "mse", "learning_rate": 0.1, "optimizer": "adam", "steps": 2,
}
OPTIMIZERS = [{"name": "sgd", "weight_decay": 0.01}, {"name": "momentum", "momentum": 0.8},
              {"name": "rmsprop", "rho": 0.95, "epsilon": 1e-6}, {"name": "adam", "beta1": 0.8, "beta2": 0.99,
                                                                   "epsilon": 1e-7, "weight_decay": 0.1}]


CASES: dict[str, tuple[object, dict]] = {
    **{name: (name, {"steps": 3}) for name in BUNDLED},
    **{f"optimizer {o['name']}": ({**VARIED, "optimizer": o}, {}) for o in OPTIMIZERS},
    **{name: (name, {"steps": 2}) for name in LAYERED},
    "norms": (NORMS, {}),
    **{name: (name, {"steps": 2}) for name in SEQUENCES},
    "sequence settings": (SEQUENCE_SETTINGS, {}),
    # conv2d, flatten, batch norm, dropout, a skip from the flatten, layer norm (tests/test_layer_walkthroughs.py)
    "every layer": ({**MIXED, "targets": [[1, 0], [0, 1]], "loss": "mse", "optimizer": "momentum"}, {}),
    "matmul": ("ai-by-hand/1-matrix-multiplication", {}),
    "cnn": ({"inputs": [[[1, 2, 0, 1], [0, 1, 3, 2], [2, 1, 0, 1], [1, 0, 2, 3]]], "targets": [[1, 0]],
             "layers": [{"type": "conv2d", "kernels": [[[[1, 0], [0, -1]]], [[[0.5, 1], [-1, 0]]]], "bias": [0.1, 0],
                         "padding": 1, "stride": 2, "activation": "relu"},
                        {"type": "avg_pool", "size": 2, "stride": 1}, {"type": "flatten"},
                        {"weights": [[0.1, -0.2, 0.3, 0.1, 0.2, -0.1, 0.05, 0.1],
                                     [0.2, 0.1, -0.3, 0.2, 0.1, 0.1, -0.05, 0.3]], "activation": "softmax"}],
             "loss": "cross_entropy", "learning_rate": 0.1, "optimizer": "momentum", "steps": 2}, {}),
}
# every script runs in one Python process (each in a namespace of its own), so PyTorch is imported once
DRIVER = """
import contextlib, io, json, runpy, sys, traceback
out = {}
for case, path in json.loads(sys.argv[1]).items():
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(path, run_name="__main__")
        out[case] = buffer.getvalue()
    except Exception:
        out[case] = "FAILED\\n" + traceback.format_exc()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def printed_by(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What each case's script prints, run as `python script.py` runs it."""
    pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch)")
    folder = tmp_path_factory.mktemp("scripts")
    paths = {}
    for number, (case, (source, options)) in enumerate(CASES.items()):
        paths[case] = str(folder / f"script{number}.py")
        Path(paths[case]).write_text(nnworked.run(source, **options).render("pytorch"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(paths)], capture_output=True, text=True,
                            encoding="utf-8", timeout=600)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return json.loads(result.stdout)


def _printed(output: str) -> dict[str, object]:
    """Each printed line is `name = value`, value a Python literal."""
    assert not output.startswith("FAILED"), output
    printed = {}
    for line in output.splitlines():
        name, value = line.split(" = ", 1)
        assert name not in printed, f"{name} printed twice"
        printed[name] = ast.literal_eval(value)
    return printed


def _close(printed: object, expected: object, what: str) -> None:
    np.testing.assert_allclose(np.array(printed, dtype=float), np.array(expected, dtype=float), rtol=1e-12,
                               atol=1e-12, err_msg=what)


def _check(case: str, printed_by: dict[str, str]) -> dict[str, object]:
    """The script of a case against its exact trace, value by value; returns what it printed."""
    source, options = CASES[case]
    scenario = nnworked.load(source, **options)
    data = nnworked.run(scenario._replace(rounding="exact")).data
    printed = _printed(printed_by[case])
    expected: dict[str, object] = dict(data["steps"][0]["forward"])
    for step in data["steps"]:
        if step["loss"] is not None:
            expected[f"loss at step {step['step']}"] = step["loss"]
    first = data["steps"][0]
    expected.update({f"∂L/∂{name}": value for name, value in first.get("gradients", {}).items()
                     if name[0] not in "za"})  # the parameters' gradients
    last = data["steps"][-1]
    expected.update({f"{name} after step {last['step']}": value for name, value in last.get("parameters", {}).items()})
    if "final" in data:
        expected["loss after training"] = data["final"]["loss"]
    assert sorted(printed) == sorted(expected)
    for name, value in expected.items():
        _close(printed[name], value, name)
    return printed


@pytest.mark.parametrize("name", BUNDLED)
def test_the_script_of_a_bundled_scenario_prints_its_numbers(name: str, printed_by: dict[str, str]) -> None:
    _check(name, printed_by)


@pytest.mark.parametrize("optimizer", [o["name"] for o in OPTIMIZERS])
def test_the_script_keeps_every_setting(optimizer: str, printed_by: dict[str, str]) -> None:
    printed = _check(f"optimizer {optimizer}", printed_by)
    assert printed["b1 after step 3"] == [0.05, -0.1]  # frozen


def test_the_script_of_a_convolutional_network(printed_by: dict[str, str]) -> None:
    printed = _check("cnn", printed_by)
    assert {"∂L/∂K1", "z1", "a2", "a3", "K1 after step 2"} <= set(printed)


@pytest.mark.parametrize("name", LAYERED)
def test_the_script_of_a_bundled_scenario_with_dropout_norm_or_skip_prints_its_numbers(
        name: str, printed_by: dict[str, str]) -> None:
    printed = _check(name, printed_by)
    assert any(key.startswith("∂L/∂") for key in printed) and "loss at step 2" in printed


def test_the_script_of_both_norms_loads_gamma_and_beta_into_weight_and_bias(printed_by: dict[str, str]) -> None:
    printed = _check("norms", printed_by)
    assert {"∂L/∂gamma2", "∂L/∂beta2", "∂L/∂gamma3", "∂L/∂beta3", "a2", "a3"} <= set(printed)
    script = nnworked.run(NORMS).render("pytorch")
    assert "    nn.BatchNorm1d(3, eps=0.01),\n    nn.LayerNorm(3, eps=1e-05),\n" in script
    assert "    model[2].weight.copy_(torch.tensor([1.5, 0.5, 2.0]))\n" in script
    assert "nn.Sequential(" in script and "class " not in script  # torch.nn's own modules serve


def test_a_skip_makes_the_model_a_network_that_hands_each_skip_its_earlier_output() -> None:
    script = nnworked.run("residual_block").render("pytorch")
    assert "model = Network([0, 1, 3, 4, 5, 6],\n" in script and "    Skip(1),\n" in script
    assert "nn.Sequential(\n" not in script


def test_the_script_of_every_layer_type_mixed(printed_by: dict[str, str]) -> None:
    printed = _check("every layer", printed_by)
    assert {"∂L/∂K1", "∂L/∂gamma3", "∂L/∂beta7", "a6", "a7"} <= set(printed)


def test_dropout_holds_the_given_mask_never_a_random_draw() -> None:
    script = nnworked.run("dropout_step").render("pytorch")
    assert "nn.Dropout(" not in script and script.count("class GivenDropout(nn.Module):") == 1
    assert "    GivenDropout(0.5, [[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]]),\n" in script


def test_the_script_of_a_matrix_product(printed_by: dict[str, str]) -> None:
    data = nnworked.run("ai-by-hand/1-matrix-multiplication").data
    assert _printed(printed_by["matmul"]) == {"C": data["matmul"]["C"]}


def test_cross_entropy_leaves_softmax_to_the_loss_as_pytorch_does() -> None:
    script = nnworked.run("iris_softmax").render("pytorch")
    assert "    nn.Linear(3, 3),\n)\n" in script  # the model ends with its nn.Linear
    assert '"a2": nn.Softmax(dim=-1)(model(x))' in script
    assert 'loss_fn = nn.CrossEntropyLoss(reduction="mean")' in script
    assert ('optimizer = torch.optim.SGD([parameters[name] for name in ["W1", "b1", "W2", "b2"]], lr=0.5, '
            'momentum=0.9, weight_decay=0.0)') in script


def test_the_spam_script_reads_as_a_student_would_write_it() -> None:
    script = nnworked.run("spam").render("pytorch")
    assert script.startswith(
        "# Spam filter: one training step: the same computation in PyTorch.\n"
        "# Written by nnworked (--format pytorch); run it where PyTorch is installed (pip install torch).\n"
        "# It prints each value by nnworked's name (W1, b1, …), to set beside the walkthrough.\n"
        "# nnworked's walkthrough: loss 0.4790 at step 1, 0.4493 after training.\n")
    assert ("# layer 1 (hidden): ReLU, ReLU(z) = max(0, z)\n"
            "# layer 2 (output): Sigmoid, σ(z) = 1 / (1 + e^(−z))\n"
            "model = nn.Sequential(\n"
            "    nn.Linear(2, 2),\n"
            "    nn.ReLU(),\n"
            "    nn.Linear(2, 1),\n"
            "    nn.Sigmoid(),\n"
            ")\n"
            "with torch.no_grad():  # the scenario's weights and biases\n"
            "    model[0].weight.copy_(torch.tensor([[0.1, 0.2], [0.3, 0.4]]))\n"
            "    model[0].bias.copy_(torch.tensor([0.1, 0.2]))\n"
            "    model[2].weight.copy_(torch.tensor([[0.5, 0.6]]))\n"
            "    model[2].bias.copy_(torch.tensor([0.1]))\n") in script
    assert 'loss_fn = nn.BCELoss(reduction="mean")\n' in script


def test_a_loss_no_torch_reduction_gives_is_reduced_in_the_script() -> None:
    script = nnworked.run({**VARIED, "optimizer": OPTIMIZERS[0]}).render("pytorch")
    assert ("# over the outputs: the sum; over the batch: the mean; scaled by 0.5\n"
            'element_loss = nn.MSELoss(reduction="none")  # each term, reduced below\n\n\n'
            "def loss_of(output):\n"
            "    per_example = element_loss(output, y).reshape(len(y), -1).sum(dim=1)\n"
            "    return 0.5 * per_example.mean()\n") in script
    assert "    nn.Linear(3, 2),\n    nn.LeakyReLU(negative_slope=0.2),\n    nn.Linear(2, 2, bias=False),\n" in script
    assert "# b1 frozen: never updated\n" in script
    assert 'parameters[name] for name in ["W1", "W2"]' in script


def test_scenario_text_reaches_the_script_only_as_a_comment(tmp_path: Path) -> None:
    title = 'evil\nimport os; os.system("echo owned")\n"""'
    script = nnworked.run({**VARIED, "title": title, "optimizer": OPTIMIZERS[0]}).render("pytorch")
    assert script.splitlines()[0] == ('# evil\\x0aimport os; os.system("echo owned")\\x0a""": the same computation '
                                      "in PyTorch.")
    imported = [node for node in ast.walk(ast.parse(script)) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert [ast.unparse(node) for node in imported] == ["import torch", "from torch import nn"]


def test_a_script_is_a_key_never_a_sheet() -> None:
    result = CliRunner().invoke(app, ["run", "spam", "--format", "pytorch", "--exercise"])
    assert result.exit_code == 2
    assert ("a pytorch file computes every value, so it cannot be an exercise sheet: ask for its key (--answers) or "
            "leave out --exercise") in " ".join(result.output.replace("│", " ").split())
    key = CliRunner().invoke(app, ["run", "spam", "--format", "pytorch", "--answers"])
    assert key.exit_code == 0 and key.output == nnworked.run("spam").render("pytorch")


@pytest.mark.parametrize("name", SEQUENCES)
def test_the_script_of_a_sequence_scenario_prints_its_numbers(name: str, printed_by: dict[str, str]) -> None:
    printed = _check(name, printed_by)
    assert "loss at step 2" in printed and "loss after training" in printed


def test_the_script_of_every_sequence_setting_prints_its_numbers(printed_by: dict[str, str]) -> None:
    printed = _check("sequence settings", printed_by)
    assert {"z1", "a1", "a2", "a3", "∂L/∂b1", "∂L/∂WO2", "∂L/∂Wh3.o"} <= set(printed)
    script = nnworked.run(SEQUENCE_SETTINGS).render("pytorch")
    assert ("    SequenceRNN(2, 4, nonlinearity='relu', batch_first=True, h0=[0.2, -0.1, 0.0, 0.3]),\n"
            "    ScaledDotProductAttention(4, 4, 4, 2, outputs=3, causal=True, scaled=False),\n"
            "    SequenceLSTM(3, 2, batch_first=True, bias=False, last=True, h0=[0.1, -0.2], c0=[0.3, 0.05]),\n"
            ) in script
    assert ("# through scaled_dot_product_attention: nn.MultiheadAttention cannot express this layer (scores not "
            "scaled by √d_k; output weights to 3 features, not d_model = 4)\n") in script


def test_recurrent_layers_and_attention_are_wrapped_so_that_nn_sequential_chains_them() -> None:
    rnn = nnworked.run("rnn_three_steps").render("pytorch")
    assert "    SequenceRNN(1, 2, nonlinearity='tanh', batch_first=True, bias=False, last=True),\n" in rnn
    assert '"z1": model[0].pre_activations(model[:0](x))' in rnn and "class SequenceRNN(nn.RNN):" in rnn
    lstm = nnworked.run("lstm_step").render("pytorch")
    assert "    model[0].weight_ih_l0[1:2].copy_(torch.tensor([[0.7, 0.45]]))\n" in lstm  # the forget gate's row
    assert 'rows = {"Wx1.i": slice(0, 1), "Wx1.f": slice(1, 2)' in lstm
    block = nnworked.run("transformer_block").render("pytorch")
    assert ("# nn.MultiheadAttention(bias=False): in_proj_weight is W_Q, W_K and W_V stacked, out_proj.weight W_O\n"
            "# layer 2: + x\n") in block
    assert "    SelfAttention(4, 2, causal=True),\n    Skip(0),\n" in block
    assert "    model[0].in_proj_weight[8:12].copy_(torch.tensor([[-1.0, -0.6, 0.4, -0.6]," in block
    assert "list(dict.fromkeys(parameters[name] for name in" in block
    assert "def loss_of(output):\n    return loss_fn(output.reshape(len(y), -1), y)\n" in block
    three = nnworked.run("attention_three_tokens").render("pytorch")
    assert ("# through scaled_dot_product_attention: nn.MultiheadAttention cannot express this layer (scores not "
            "scaled by √d_k; no output weights; queries of 3 features from 4 inputs; values of 3 features, not "
            "d_model = 3)") not in three  # values as wide as the queries are not a reason
    assert ("(scores not scaled by √d_k; no output weights; queries of 3 features from 4 inputs)\n") in three


def test_a_shared_tensor_partly_frozen_is_refused_saying_why() -> None:
    with pytest.raises(nnworked.NnworkedError) as raised:
        nnworked.run(nnworked.load("transformer_block")._replace(freeze=frozenset({"WQ1"}))).render("pytorch")
    assert str(raised.value) == ("WK1, WQ1, WV1 share one torch tensor (in_proj_weight), which an optimizer "
                                 "updates whole: freeze all of them or none to write this scenario in PyTorch")
