"""How numbers are printed and rounded: the one place, tested directly."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nnworked.engine.rounding import Precision, round_half_away
from nnworked.render.numbers import fmt

P4, P5_CARRY = Precision(4), Precision(5, carry=True)


@pytest.mark.parametrize("value, given, text", [
    (0.21000000000000002, False, "0.21"),      # exact at the shown decimals: printed in full, no zeros
    (0.47900489, False, "0.4790"),             # rounded: all its decimals, trailing zero kept
    (-0.38060055, False, "−0.3806"),           # U+2212
    (0.0079928, False, "0.00799"),             # below 0.1: three significant figures
    (0.0000001, True, "0.0000001"),            # as written, never 1e-07
    (2000.0, True, "2000"),                    # four digits: no separator, as the seeds write them
    (330625.0, False, "330,625"),
    (46_000_000.0, False, "46,000,000"),
    (-0.00001, False, "−0.00001"),
    (-0.0000123456, False, "−0.0000123"),
    (1.5e20, False, "1.5 × 10²⁰"),
    (math.nan, False, "undefined"),
    (-0.0, False, "0"),
    (3.4123e-23, False, "3.41 × 10⁻²³"),        # too small for plain decimals: never 0, never a run of zeros
    (-1.23456e-13, False, "−1.23 × 10⁻¹³"),
    (5e-324, False, "4.94 × 10⁻³²⁴"),          # a denormal
    (1e305, False, "1 × 10³⁰⁵"),                # no overflow in rounding
])
def test_fmt(value: float, given: bool, text: str) -> None:
    assert fmt(value, P4, given) == text


def test_a_value_below_one_never_prints_as_zero() -> None:
    assert fmt(0.3354, Precision(0)) == "0.3"


def test_carry_rounds_half_away_from_zero_in_decimal() -> None:
    assert round_half_away(0.002185, 5) == 0.00219
    assert round_half_away(0.0000001 * 51_750, 5) == 0.00518   # 0.005174999… in binary
    assert round_half_away(-0.5, 0) == -1.0
    assert P5_CARRY.carried(14.997815) == 14.99782
    assert Precision(1, carry=True).carried(0.495) == 0.5


def test_softmax_of_huge_logits_is_shifted_not_infinite(tmp_path: Path) -> None:
    from nnworked import scenario
    from nnworked.engine.network import solve
    from nnworked.render import get
    from nnworked.render.settings import Settings

    path = tmp_path / "huge.yaml"
    path.write_text("inputs: [[1]]\ntargets: [[1]]\nlayers:\n  - weights: [[800], [790], [-5]]\n"
                    "    activation: softmax\nloss: cross_entropy\nlearning_rate: 0.1\n")
    text = get("markdown")(solve(scenario.load(str(path))), Settings())
    assert "e^(z₁[0] − 800) = e^(0) = 1" in text
    assert "∞" not in text and "inf" not in text and "nan" not in text


def test_a_number_in_scientific_notation_is_bracketed_as_an_operand_of_a_product_or_quotient(tmp_path: Path) -> None:
    from tests.helpers import WIDTH
    from nnworked import scenario
    from nnworked.engine.network import solve
    from nnworked.render import get
    from nnworked.render.settings import Settings

    path = tmp_path / "tiny.yaml"
    path.write_text("inputs: [[1]]\ntargets: [[0]]\nlayers:\n  - weights: [[-50]]\n    bias: [-1.73]\n"
                    "    activation: sigmoid\nloss: mse\nlearning_rate: 0.1\noptimizer: {name: adam}\n")
    text = get("markdown")(solve(scenario.load(str(path))), Settings(width=WIDTH))
    assert ("ŷ = σ(−51.73) = 1 / (1 + e^(51.73)) = 1 / (1 + 2.9245 × 10²²) = 1 / (2.9245 × 10²²) = 3.42 × 10⁻²³"
            in text)
    assert "v̂[0] = (5.47 × 10⁻⁹³) / (1 − 0.999¹) = (5.47 × 10⁻⁹³) / (1 − 0.999) = (5.47 × 10⁻⁹³) / 0.001" in text


def test_a_value_near_the_float_limit_prints_in_every_text_format(tmp_path: Path) -> None:
    from nnworked import bundled, scenario
    from nnworked.engine.network import solve
    from nnworked.render import get
    from nnworked.render.settings import Settings

    path = tmp_path / "big.yaml"
    path.write_text((bundled.ROOT / "spam.yaml").read_text().replace("[[0.5, 0.3]]", "[[1e305, 0.3]]"))
    trace = solve(scenario.load(str(path)))
    for name in ("terminal", "markdown", "latex", "html"):
        get(name)(trace, Settings())
    assert "= 1 × 10³⁰⁴ + 0.06 + 0.1 = 1 × 10³⁰⁴" in get("markdown")(trace, Settings())


def test_carry_with_rmsprop_and_a_gradient_that_rounds_to_zero_works_its_lines(tmp_path: Path) -> None:
    from nnworked import scenario
    from nnworked.engine.network import solve
    from nnworked.render import get
    from nnworked.render.settings import Settings

    path = tmp_path / "rms.yaml"  # s rounds to 0 under carry; its interval reaches below 0, where √ is undefined
    path.write_text("inputs: [[1]]\ntargets: [[0]]\nlayers:\n  - weights: [[0.00001]]\nloss: mse\n"
                    "learning_rate: 0.1\noptimizer: {name: rmsprop, epsilon: 0.001}\nrounding: carry\nprecision: 3\n")
    text = get("markdown")(solve(scenario.load(str(path))), Settings())
    assert "W₁[0]_new = 0.00001 − ((0.1 × 0) / (√(0) + 0.001)) = 0.00001 − (0 / (0 + 0.001))" in text


def test_carry_with_values_near_1e100_that_overflow_says_so(tmp_path: Path) -> None:
    from nnworked import bundled, scenario
    from nnworked.engine.network import solve
    from nnworked.errors import NumericalError

    path = tmp_path / "big.yaml"
    path.write_text((bundled.ROOT / "house_price.yaml").read_text().replace("[[350]]", "[[1e100]]"))
    with pytest.raises(NumericalError, match=r"^the loss after training overflowed or became undefined"):
        solve(scenario.load(str(path)))


def test_carry_with_a_softmax_output_and_mse_works_and_carries_delta(tmp_path: Path) -> None:
    from nnworked import bundled, scenario
    from nnworked.engine.network import solve
    from nnworked.render import get
    from nnworked.render.settings import Settings

    path = tmp_path / "softmax_mse.yaml"
    path.write_text((bundled.ROOT / "iris_softmax.yaml").read_text().replace("targets: [[2]]", "targets: [[0, 0, 1]]")
                    .replace("loss: cross_entropy", "loss: mse\nrounding: carry").replace("steps: 2", "steps: 1"))
    trace = solve(scenario.load(str(path)))
    text = get("markdown")(trace, Settings())
    assert ("δ₂[2] = 0.3354 × (−0.4431 − ((0.1864 × 0.2796) + (0.2567 × 0.385) + (−0.4431 × 0.3354)))\n"
            "      = 0.3354 × (−0.4431 − (0.0521 + 0.0988 − 0.1486)) = 0.3354 × (−0.4431 − 0.0023)\n"
            "      = 0.3354 × (−0.4454) = −0.1494") in text
    delta = trace.steps[0].backward[0].delta
    assert delta.tolist() == [[0.0515, 0.0979, -0.1494]]  # carried: exactly the printed digits


def test_a_matrix_product_that_overflows_says_so(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    path = tmp_path / "matmul.yaml"
    path.write_text("matmul:\n  A: [[1, 1], [-1, 1e100]]\n  B: [[1, 5, 2], [2, -1e305, 2]]\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", str(path)], capture_output=True, text=True)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("the product C = A·B overflowed or became undefined")
