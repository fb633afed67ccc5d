"""Adam's and RMSprop's ε under `rounding: carry`: a given constant, added to the root as PyTorch adds it and
never rounded away, so a gradient of exactly 0 takes the step 0 / ε = 0 (it stopped with the carry hint,
0/0, because √v̂ + ε rounded to 0). A nonzero step over a root that carrying rounded to 0 keeps the hint."""

from __future__ import annotations

import pytest

import nnworked
from nnworked.errors import NumericalError
from tests.helpers import WIDTH


def scenario(optimizer: str, second_input: float = 0) -> dict:
    # z = 0.5·1 − 0.25·x₂ + 0.1; with x₂ = 0: σ(0.6) = 0.6457, δ = ∂L/∂W[0] = ∂L/∂b = −0.3543, ∂L/∂W[1] = 0
    return {"inputs": [[1, second_input]], "targets": [[1]],
            "layers": [{"weights": [[0.5, -0.25]], "bias": [0.1], "activation": "sigmoid"}],
            "loss": "binary_cross_entropy", "learning_rate": 0.1, "optimizer": optimizer, "precision": 4,
            "rounding": "carry"}


# worked by hand, each stage rounded to 4 places, half away from zero:
# adam: m = R(0.1 × −0.3543) = −0.0354, m̂ = −0.0354 / 0.1 = −0.354, v = R(0.001 × R(0.3543²)) = R(0.001 ×
#   0.1255) = 0.0001, v̂ = 0.0001 / 0.001 = 0.1, √v̂ = 0.3162; R(0.1 × −0.354) = −0.0354; −0.0354 / 0.3162 =
#   −0.11195… → −0.112: W[0] = 0.5 + 0.112 = 0.612, b = 0.1 + 0.112 = 0.212
# rmsprop: s = R(0.1 × 0.1255) = 0.0126 (0.01255, half away), √s = 0.1122; −0.0354 / 0.1122 = −0.3155:
#   W[0] = 0.8155, b = 0.4155
@pytest.mark.parametrize("optimizer, w0, b", [("adam", 0.612, 0.212), ("rmsprop", 0.8155, 0.4155)])
def test_a_zero_gradient_takes_no_step_under_carry(optimizer: str, w0: float, b: float) -> None:
    trace = nnworked.solve(scenario(optimizer))
    step = trace.steps[0]
    assert step.gradients()["W1"].tolist() == [[-0.3543, 0.0]]
    new = {u.name: u.new.tolist() for u in step.updates}
    assert new == {"W1": [[w0, -0.25]], "b1": [b]}


def test_the_walkthrough_divides_zero_by_epsilon() -> None:
    from rich.console import Console

    from nnworked.render import get
    from nnworked.render.settings import Settings

    console = Console(width=WIDTH, no_color=True, color_system=None, record=True, file=open("/dev/null", "w"),
                      highlight=False)
    console.print(get("terminal")(nnworked.solve(scenario("adam")), Settings()), soft_wrap=True)
    text = console.export_text()
    assert "    W₁[1]_new = −0.25 − ((0.1 × 0) / 0.00000001) = −0.25 − (0 / 0.00000001) = −0.25 − 0 = −0.25\n" in text
    # a nonzero root keeps ε in its sum, which rounds as every stage does
    assert "              = 0.5 − (−0.0354 / (0.3162 + 0.00000001)) = 0.5 − (−0.0354 / 0.3162) = 0.5 + 0.112\n" in text


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_a_nonzero_step_over_a_root_rounded_to_zero_still_gets_the_carry_hint(optimizer: str) -> None:
    # x₂ = 0.03: ∂L/∂W[1] ≈ −0.0106, whose square (0.0001) times 1 − β₂ (or 1 − ρ) rounds to 0 at 4 places,
    # while η·m̂ (η·g) does not: the step depends on the digits carrying dropped
    with pytest.raises(NumericalError, match="try a larger --precision or --rounding exact"):
        nnworked.solve(scenario(optimizer, 0.03))
    # the same scenario worked exactly takes a finite step
    exact = nnworked.solve({**scenario(optimizer, 0.03), "rounding": "exact"})
    assert all(abs(v) < 1 for v in exact.steps[0].updates[0].new.ravel())
