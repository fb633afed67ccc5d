"""Dropout, normalisation and residual layers through the options beyond the default walkthrough:
--detail brief names each result, --why-matrices says which layers are matrix products, a frozen
parameter's quantity is its given value, and a batch norm whose σ rounds to 0 under rounding: carry says
how to get past it, on the command line without a traceback."""

from __future__ import annotations

import subprocess
import sys

import nnworked
from nnworked import quantities
from nnworked.engine.network import solve
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


def test_why_matrices_without_a_convolution_names_the_layers_that_are_no_product() -> None:
    text = nnworked.run("batch_norm_step").render("terminal", why_matrices=True, width=120)
    section = text.split("Why We Use Matrices")[1]
    assert "1. Which layers are matrix products" in section
    assert "    W₁ (3×3) · x (3×1) → z₁ (3×1)   inner: 3 = 3 ✓\n" \
           "    a₂: normalisation is no product; each value is centred, scaled and shifted on its own\n" \
           "    W₃ (1×3) · a₂ (3×1) → z₃ (1×1)   inner: 3 = 3 ✓\n" in section
    dropout = nnworked.run("dropout_step").render("terminal", detail="full", width=120)
    assert "    a₂: dropout is no product; each value is multiplied by its mask and the scale\n" in dropout
    skip = nnworked.run("residual_block").render("terminal", detail="full", width=120)
    assert "    a₄: a residual connection is no product; it adds two outputs element by element\n" in skip


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

