"""--detail brief and full, and the why-matrices section: generated from the scenario's own numbers."""

from __future__ import annotations

from pathlib import Path

from nnworked import bundled, scenario
from nnworked.engine.network import solve
from nnworked.render import get
from nnworked.render.settings import Settings
from tests.helpers import markdown


def variant(tmp_path: Path, name: str, old: str, new: str, settings: Settings) -> str:
    text = (bundled.ROOT / f"{name}.yaml").read_text()
    assert old in text
    path = tmp_path / "variant.yaml"
    path.write_text(text.replace(old, new))
    return get("markdown")(solve(scenario.load(str(path))), settings)


FULL = Settings(detail="full")


def test_full_derives_the_spam_gradients_with_its_numbers(tmp_path: Path) -> None:
    text = markdown("spam", FULL)
    assert "σ′(z) = −(1 + e^(−z))^(−2) × (−e^(−z)) = e^(−z) / (1 + e^(−z))²" in text
    assert "σ′(0.487) = 0.6194 × (1 − 0.6194) = 0.6194 × 0.3806 = 0.2357" in text
    assert "      = −y(1 − ŷ) + (1 − y)ŷ = −y + yŷ + ŷ − yŷ = ŷ − y" in text
    assert "δ₂ = ŷ − y = 0.6194 − 1 = −0.3806" in text.split("## Derivations")[1]
    assert "is negative: the prediction is too low" in text.split("## Derivations")[1]
    # change a number and the derivation follows it
    changed = variant(tmp_path, "spam", "bias: [0.1]", "bias: [0.3]", FULL)
    assert "σ′(0.687) = " in changed and "σ′(0.487)" not in changed


def test_full_derives_squared_error_and_says_what_one_half_changes(tmp_path: Path) -> None:
    text = markdown("house_price", FULL).split("## Derivations")[1]
    assert "Part 2:       ∂error/∂ŷ = ∂ŷ/∂ŷ − ∂y/∂ŷ = 1 − 0 = 1" in text
    assert "2 × (ŷ − y) = 2 × (925 − 350) = 2 × 575 = 1150" in text
    assert "∂L/∂ŷ = 1150 is positive: the prediction is too high" in text
    assert "giving ∂L/∂ŷ = ŷ − y = 575 here instead of 1150" in text
    halved = variant(tmp_path, "house_price", "loss: mse", "loss: {name: mse, scale: 0.5}", FULL)
    assert "This scenario uses L = ½(ŷ − y)² (scale 0.5)" in halved and "ŷ − y = 575" in halved


def test_full_derives_softmax_with_cross_entropy() -> None:
    text = markdown("iris_softmax", FULL).split("## Derivations")[1]
    assert "       = −yⱼ + ŷⱼ·Σₖ yₖ = ŷⱼ − yⱼ      (the targets sum to 1)" in text
    assert "δ₂[2] = ŷ[2] − y[2] = 0.3354 − 1 = −0.6646" in text


def test_why_matrices_is_built_from_the_network() -> None:
    text = markdown("spam", Settings(why_matrices=True))
    assert "## Derivations" not in text
    section = text.split("## Why We Use Matrices")[1]
    assert "W₁ (2×2) · x (2×1) → z₁ (2×1)   inner: 2 = 2 ✓" in section
    # W₁·x without the bias is named as what it is, never z₁ (the seed's slip)
    assert "(W₁ · x)[0] = [0.1, 0.2] · [0.5, 0.3] = (0.1 × 0.5) + (0.2 × 0.3) = 0.05 + 0.06 = 0.11" in section
    assert "z₁[0] = (W₁ · x)[0] + b₁[0] = 0.11 + 0.1 = 0.21" in section
    assert "Transpose:      ∂L/∂h = W₂ᵀ · δ₂ = W₂ᵀ (2×1) · δ₂ (1×1) → (2×1)" in section
    assert "Hadamard:       δ₁ = ∂L/∂h ⊙ ReLU′(z₁), element by element: [−0.1903 × 1 , −0.2284 × 1]" in section
    big = markdown("xor_batch", Settings(why_matrices=True)).split("## Why We Use Matrices")[1]
    assert "For the batch of 4 the examples are the rows of X" in big


def test_brief_gives_results_per_layer_only() -> None:
    text = markdown("spam", Settings(detail="brief"))
    assert "z₁ = W₁ · x + b₁ = [0.21, 0.47]" in text and "L = 0.4790" in text
    assert "δ₁ = ∂L/∂h ⊙ ReLU′(z₁) = [−0.1903, −0.2284]" in text
    assert "z₁[0] =" not in text and "W₂[0]_new" not in text
    assert "| W₂ | [0.5, 0.6] | [0.5080, 0.6179] |" in text
    assert len(text) < len(markdown("spam")) / 2


def test_the_mse_derivation_names_only_the_factors_its_loss_has() -> None:
    import nnworked

    def derived(loss: dict) -> str:
        text = nnworked.run({"title": "t", "inputs": [[1.0], [2.0]], "targets": [[0.0], [1.0]], "loss": loss,
                             "learning_rate": 0.1, "layers": [{"weights": [[0.5]], "bias": [0.0]}]}).render(
            "terminal", detail="full", columns=100)
        (worked,) = [line.strip() for line in text.splitlines() if line.strip().startswith("× ") and " gives " in line]
        return worked

    # ŷ⁽¹⁾ = 0.5, y = 0: 2 × (0.5 − 0) = 1, then the loss's own factors
    assert derived({"name": "mse"}) == "× 0.5 for the mean (÷ 2) gives ∂L/∂ŷ⁽¹⁾ = 0.5"
    assert derived({"name": "mse", "scale": 0.5}) == "× 0.25 for the scale and the mean (÷ 2) gives ∂L/∂ŷ⁽¹⁾ = 0.25"
    assert derived({"name": "mse", "scale": 0.5, "batch": "sum"}) == "× 0.5 for the scale gives ∂L/∂ŷ⁽¹⁾ = 0.5"
