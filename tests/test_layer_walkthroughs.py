"""Dropout, normalisation and residual layers through the options beyond the default walkthrough:
--detail brief names each result, --why-matrices says which layers are matrix products, a frozen
parameter's quantity is its given value, a batch norm whose σ rounds to 0 under rounding: carry says
how to get past it, on the command line without a traceback, generate draws again where a normalised group
hardly varies, and grading carries a wrong input through its group's statistics."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import nnworked
from nnworked import quantities
from nnworked.engine.network import solve
from nnworked.errors import NumericalError
from nnworked.expr import chain
from tests.helpers import lines_starting
from tests.test_norms import SMALL


def test_brief_names_each_dropout_and_norm_result() -> None:
    text = nnworked.run(SMALL).render("terminal", detail="brief", width=100)
    # by hand: x̂ = ∓1 per feature, kept × 2; ŷ = [−2, 4] against [0, 1] gives ∂L/∂ŷ = [−2, 3] (the mean's ½ × 2)
    assert "    a₁ = γ₁ × x̂₁ + β₁,   x̂₁ = (x − μ₁) / √(σ²₁ + ε) = | −1  −1 |\n" in text
    assert "    a₂ = mask × a₁ × 1/(1 − 0.5) = | −2  0 |\n" \
           "                                   |  2  2 |\n" in text
    assert "    ∂L/∂a₁ = mask × ∂L/∂a₂ × 1/(1 − 0.5) = | −4  0 |\n" \
           "                                           |  6  6 |\n" in text
    assert lines_starting(text, "∂L/∂γ₁ = ") == ["∂L/∂γ₁ = [10, 6]"]
    assert lines_starting(text, "∂L/∂β₁ = ") == ["∂L/∂β₁ = [2, 6]"]


def test_brief_says_a_skip_gradient_is_the_sum_of_its_paths() -> None:
    text = nnworked.run("residual_block").render("terminal", detail="brief", width=100)
    # ∂L/∂a₄ = W₅ᵀ·1 = [2, −0.5] passes the sum unchanged; along the main path x gets [1, −0.25], plus the skip
    assert "    ∂L/∂a₃ = ∂L/∂a₄ = [2, −0.5]\n" in text
    assert "    ∂L/∂a₁ = W₂ᵀ · δ₂ = [3, −0.75]\n" \
           "        (∂L/∂a₁ is the sum of its paths: the product above plus ∂L/∂a₄ along the skip connection)\n" in text


def test_why_matrices_without_a_convolution_takes_the_dense_layers_around_the_norm() -> None:
    text = nnworked.run("batch_norm_step").render("terminal", why_matrices=True, width=120)
    section = text.split("Why We Use Matrices")[1]
    assert "    W₁ (3×3) · x (3×1) → z₁ (3×1)   inner: 3 = 3 ✓\n" \
           "    W₃ (1×3) · a₂ (3×1) → z₃ (1×1)   inner: 3 = 3 ✓\n" in section  # the norm between them: no product


def test_a_frozen_parameter_is_its_given_value_in_the_table() -> None:
    trace = solve(nnworked.load("batch_norm_step"))
    table = quantities.table(trace)
    for i, given in enumerate([0, -1, 0]):  # b1 as the file gives it
        key = quantities.name("b", 1, i)
        assert table.values[key] == given
        assert chain(table.expression(key), trace.precision.carried)[-1].value == given
        assert table.depends(key) == frozenset()  # nothing a student computes: a blank there has no carried marks


def test_a_batch_norm_sigma_that_rounds_to_zero_under_carry_gives_the_carry_hint(tmp_path) -> None:  # noqa: ANN001
    # feature 0 is 1 and 1.001: σ² = 2.5e−7, + ε = 1e−5, rounds to 0.00 at 2 places, so σ = 0 and x̂ = x/0
    path = tmp_path / "flat.yaml"
    path.write_text("inputs: [[1, 2], [1.001, 3]]\ntargets: [[1], [0]]\nlayers:\n  - type: batch_norm\n"
                    "  - weights: [[1, 1]]\nloss: mse\nlearning_rate: 0.1\nrounding: carry\nprecision: 2\n")
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr == ("the forward pass of step 1, at the normalised values of layer 1 overflowed or became "
                             "undefined (a value beyond ±1.8e308, or 0/0); with rounding: carry a small value can "
                             "round to 0 first (ln 0 and x/0 are undefined): try a larger --precision or --rounding "
                             "exact\n")
    larger = subprocess.run([sys.executable, "-m", "nnworked", "run", str(path), "--precision", "6"],
                            capture_output=True, text=True)
    assert larger.returncode == 0, larger.stderr  # the hint's way out works


BN_TEMPLATE = """title: BN template
inputs: [[1, 2], [3, 1], [0, 2]]
targets: [[1], [0], [1]]
layers:
  - weights: [[1, -1], [2, 1]]
    activation: relu
  - type: batch_norm
  - weights: [[1, 1]]
    activation: sigmoid
loss: binary_cross_entropy
learning_rate: 0.1
"""


def test_generate_draws_again_where_a_normalised_group_hardly_varies(tmp_path) -> None:  # noqa: ANN001
    from nnworked import variants
    from nnworked.yamlsource import load_file

    path = tmp_path / "bn.yaml"
    path.write_text(BN_TEMPLATE)
    constraints = variants.Constraints(None, True, False, 0.05, None)  # dead ReLU units allowed: they zero a feature
    report = variants.generate(load_file(str(path)), 5, 1, "integers", constraints)
    assert len(report.variants) == 5 and report.rejected["a normalised group with almost no variance"] > 0
    for variant in report.variants:
        norm = next(op for op in variant.trace.steps[0].forward.operations if type(op).__name__ == "Normalise")
        assert (norm.variance >= norm.epsilon).all()
    made = nnworked.generate("dropout_step", count=2, seed=3)  # the bundled layers make variants as they are
    assert len(made.variants) == 2


def test_grading_carries_a_wrong_input_through_the_mean_and_variance_of_its_group() -> None:
    from nnworked.grading import grade

    trace = solve(nnworked.load("batch_norm_step"))
    keys = frozenset({"z1[0,0]", "a1[0,0]", "a2[0,0]", "a2[0,1]", "a2[1,0]"})
    # the student's z₁ of example 1, feature 0 is 4 (the key's 3): feature 0 is then 4, 1, 3, 2 over the batch,
    # mean 2.5, variance (2.25 + 2.25 + 0.25 + 0.25) / 4 = 1.25; γ = 2: 2 × 1.5 / √1.25 = 2.6833 and
    # 2 × (−1.5) / √1.25 = −2.6833; feature 1 (a2[1,0]) is another group: its key value stands
    answers = {"z1[0,0]": 4, "a1[0,0]": 4, "a2[0,0]": 2.6833, "a2[0,1]": -2.6833, "a2[1,0]": -2.8868}
    marks = {m.key: m.status for m in grade(trace, keys, answers)}
    assert marks == {"z1[0,0]": "wrong", "a1[0,0]": "carried", "a2[0,0]": "carried", "a2[0,1]": "carried",
                     "a2[1,0]": "correct"}
    other = {m.key: m.status for m in grade(trace, keys, {**answers, "a2[0,0]": 2.0})}
    assert other["a2[0,0]"] == "wrong"  # neither the key's 1.8091 nor the student's own 2.6833


def test_full_detail_derives_the_three_terms_of_the_batch_norm_backward_with_the_numbers() -> None:
    text = SMALL.replace("  - type: batch_norm\n", "  - weights: [[1, 0], [0, 1]]\n  - type: batch_norm\n")
    out = nnworked.run(text).render("terminal", detail="full", width=100)
    section = out[out.index("Where the three terms of ∂L/∂a₁ come from (batch normalisation, layer 2)"):
                  out.index("Why We Use Matrices")]
    assert "    through x̂:  ∂L/∂x̂ / σ = −4 / 1 = −4\n" \
           "    through μ:  S₁ / (M·σ) = 2 / (2 × 1) = 2 / 2 = 1\n" \
           "    through σ²: x̂·S₂ / (M·σ) = (−1 × 10) / (2 × 1) = −10 / 2 = −5\n" \
           "    ∂L/∂a₁⁽¹⁾[0] from layer 2 = ((−4 / 1) − (2 / (2 × 1))) − ((−1 × 10) / (2 × 1))\n" \
           "                              = (−4 − (2 / 2)) − (−10 / 2) = (−4 − 1) + 5 = −5 + 5 = 0\n" in section
    trace = solve(nnworked.load(text))
    back = next(r for r in trace.steps[0].backward if type(r).__name__ == "NormBack")
    assert back.upstream[0, 0] == 0 and back.s1[0] == 2 and back.s2[0] == 10
    layer = nnworked.run(text.replace("batch_norm", "layer_norm")).render("terminal", detail="full", width=100)
    assert "Where the three terms of ∂L/∂a₁ come from (layer normalisation, layer 2)" in layer


MIXED = {"title": "every layer", "inputs": [[[[1, 2, 0], [0, 1, 3], [2, 1, 0]]], [[[0, 1, 2], [1, 3, 0], [2, 0, 1]]]],
         "layers": [{"type": "conv2d", "kernels": [[[[1, -1], [0.5, 1]]]], "bias": [0.1], "activation": "relu"},
                    {"type": "flatten", "name": "flat"},
                    {"type": "batch_norm", "gamma": [1, 0.5, 2, 1], "beta": [0, 0.1, 0, -0.1]},
                    {"type": "dropout", "rate": 0.25, "mask": [[1, 0, 1, 1], [1, 1, 0, 1]]},
                    {"weights": [[0.2, -0.1, 0.3, 0.1], [0.1, 0.2, -0.2, 0.3], [0.3, 0.1, 0.1, -0.2],
                                 [-0.1, 0.2, 0.2, 0.1]], "activation": "tanh"},
                    {"type": "residual", "from": "flat"}, {"type": "layer_norm"},
                    {"weights": [[0.5, -0.3, 0.2, 0.1], [-0.2, 0.4, 0.1, 0.3]], "bias": [0, 0]}],
         "learning_rate": 0.05, "steps": 2, "precision": 4}
LOSSES = {"mse": ([[1, 0], [0, 1]], "linear"), "binary_cross_entropy": ([[1, 0], [0, 1]], "sigmoid"),
          "cross_entropy": ([[1], [0]], "softmax")}


@pytest.mark.parametrize("optimizer", ["sgd", {"name": "momentum", "momentum": 0.9}, "rmsprop", "adam"],
                         ids=["sgd", "momentum", "rmsprop", "adam"])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("rounding", ["exact", "carry"])
def test_every_layer_type_mixes_with_every_loss_optimizer_rounding_and_format(optimizer, loss, rounding) -> None:  # noqa: ANN001
    from nnworked.render import FORMATS

    targets, activation = LOSSES[loss]
    layers = [*MIXED["layers"][:-1], {**MIXED["layers"][-1], "activation": activation}]
    data = {**MIXED, "layers": layers, "targets": targets, "loss": loss, "optimizer": optimizer, "rounding": rounding}
    if rounding == "carry" and optimizer in ("rmsprop", "adam"):
        # √s + ε with ε = 1e−8 rounded to 4 places is 0 where a gradient is exactly 0 (a dropped unit's): 0/0,
        # which the message explains (as it would for a dead ReLU unit in a dense network)
        with pytest.raises(NumericalError, match="try a larger --precision or --rounding exact"):
            nnworked.run(data)
        return
    run = nnworked.run(data)
    assert len(run.trace.steps) == 2 and all(np.isfinite(run.trace.losses))
    for fmt in FORMATS:
        if fmt == "xlsx":  # the spreadsheet of these layers is another piece of work
            continue
        if fmt == "pytorch":  # a skip: a Network (tests/test_pytorch_format.py runs one)
            script = run.render(fmt)
            assert "model = Network([0, 2, 3, 4, 5, 7, 8, 9, " in script and "    Skip(2),\n" in script
            continue
        out = run.render(fmt, exercise=True) if fmt in ("moodle", "qti") else run.render(fmt)  # questions need blanks
        assert out and (isinstance(out, bytes) or "every layer" in out or "variant v-" in out)
    if optimizer == "adam" and rounding == "exact":  # step 1: m̂ = g and v̂ = g², so θ − η·g / (|g| + ε)
        for update in run.trace.steps[0].updates:
            if update.name in ("K1", "gamma3", "beta7"):
                expected = update.old - 0.05 * update.grad / (np.abs(update.grad) + 1e-8)
                np.testing.assert_allclose(update.new, expected, rtol=1e-12, atol=1e-15)
