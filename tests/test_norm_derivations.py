"""`--detail full` derives the backward rules of dropout, the norms and skip connections with the scenario's
own numbers: each derivation's numbers against the plain-numpy reference of tests/test_ai_by_hand_norms.py
(the three paths of a norm's ∂L/∂x taken separately there, through x̂, μ and σ²), and a sheet hides them
where they follow from a blank."""

from __future__ import annotations

import numpy as np
import pytest

import nnworked
from tests.helpers import numbers, to_float
from tests.test_ai_by_hand_norms import BLOCK, reference


@pytest.fixture(scope="module")
def text() -> str:
    return nnworked.run(BLOCK).render("terminal", detail="full", columns=100)


def value(text: str, start: str) -> float:
    """The last number of the worked line that starts with `start` (after the indent), continuation lines too."""
    lines = text.splitlines()
    i = next(i for i, l in enumerate(lines) if l.strip().startswith(start))
    j = i + 1
    while j < len(lines) and lines[j].startswith(" " * 8) and lines[j].strip().startswith(("=", "−", "+")):
        j += 1
    return to_float(numbers(lines[j - 1])[-1])


def test_every_backward_rule_of_these_layers_is_derived(text: str) -> None:
    derivations = text.split("Derivations ─")[1]
    for heading in ("Why a skip connection's gradient is the sum of its two paths (layer 5)",
                    "Where ∂L/∂γ₄ and ∂L/∂β₄ come from (layer 4)",
                    "Where the three terms of ∂L/∂a₃ come from (layer normalisation, layer 4)",
                    "Why the dropout mask multiplies the gradient (layer 3)",
                    "Where ∂L/∂γ₂ and ∂L/∂β₂ come from (layer 2)",
                    "Where the three terms of ∂L/∂a₁ come from (batch normalisation, layer 2)"):
        assert f"\n{heading}\n" in derivations, heading
    assert "    ∂L/∂xᵢ = ∂L/∂x̂ᵢ/σ − S₁/(M·σ) − x̂ᵢ·S₂/(M·σ) = (M·∂L/∂x̂ᵢ − S₁ − x̂ᵢ·S₂) / (M·σ)\n" in derivations


def test_the_three_paths_are_the_reference_derivations_terms(text: str) -> None:
    r = reference()
    batch = text.split("(batch normalisation, layer 2)\n")[1]
    layer = text.split("(layer normalisation, layer 4)\n")[1]
    # batch_norm, a₁⁽¹⁾[0]: feature 0 of example 1, its group the row of feature 0 (σ² = 8/3, M = 3)
    sigma, m = np.sqrt(r["var2"][0, 0]), 3
    xhat = (r["a1"][0, 0] - r["mu2"][0, 0]) / sigma
    paths = [r["dxhat2"][0, 0] / sigma, r["s1_2"][0] / (m * sigma), xhat * r["s2_2"][0] / (m * sigma)]
    found = [value(batch, start) for start in ("through x̂:", "through μ:", "through σ²:")]
    np.testing.assert_allclose(found, paths, atol=5e-5)
    assert value(batch, "∂L/∂a₁⁽¹⁾[0] from layer 2") == pytest.approx(r["main"][0, 0], abs=5e-5)
    # layer_norm, a₃⁽¹⁾[0]: its group the column of example 1 (M = 3 features)
    sigma = np.sqrt(r["var4"][0, 0])
    paths = [r["dxhat4"][0, 0] / sigma, r["s1_4"][0] / (m * sigma), r["xhat4"][0, 0] * r["s2_4"][0] / (m * sigma)]
    found = [value(layer, start) for start in ("through x̂:", "through μ:", "through σ²:")]
    np.testing.assert_allclose(found, paths, atol=5e-5)
    assert value(layer, "∂L/∂a₃⁽¹⁾[0] from layer 4") == pytest.approx(r["da3"][0, 0], abs=5e-5)


def test_the_dropout_and_skip_derivations_use_the_scenarios_numbers(text: str) -> None:
    assert "    ∂L/∂a₂⁽¹⁾[0] through the dropout = 1 × (−0.5324) × 2 = −1.0649   (kept)\n" in text
    assert "    ∂L/∂a₂⁽¹⁾[2] through the dropout = 0 × 0.0826 × 2 = 0   (dropped)\n" in text
    assert "    (1 − 0.5) × 1/(1 − 0.5) = (1 − 0.5) × 2 = 0.5 × 2 = 1\n" in text  # kept on average: unchanged
    assert "    ∂L/∂γ₂[0] = (−1.0649 × (−1.2247)) + (0 × 0) + (0.3683 × 1.2247) = 1.3042 + 0 + 0.4510 = 1.7552\n" in text
    skip = text.split("Why a skip connection's gradient is the sum of its two paths (layer 5)")[1]
    assert value(skip, "∂L/∂a₁⁽¹⁾[0] =") == pytest.approx(reference()["da1"][0, 0], abs=5e-5)  # main path + skip
    assert "= −0.0711 − 0.4953 = −0.5664\n" in skip


def test_a_sheet_hides_a_derivations_numbers_that_follow_from_a_blank() -> None:
    sheet = nnworked.run(BLOCK).render("terminal", detail="full", exercise=True, blanks="da2[0,0]", columns=100)
    batch = sheet.split("(batch normalisation, layer 2)\n")[1]
    assert "    through x̂:  ∂L/∂x̂ / σ = ? / 1.6330 = ?\n" in batch  # ∂L/∂x̂ = ∂L/∂a₂ × γ₂, from the blank
