"""Observations come from the scenario's own numbers: change a number and the sentence changes with it."""

from __future__ import annotations

from pathlib import Path

from nnworked import bundled, scenario
from nnworked.engine.network import solve
from nnworked.render import get
from nnworked.render.settings import Settings
from tests.helpers import markdown


def spam_variant(tmp_path: Path, *replacements: tuple[str, str]) -> str:
    text = (bundled.ROOT / "spam.yaml").read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "variant.yaml"
    path.write_text(text)
    return get("markdown")(solve(scenario.load(str(path))), Settings())


def observations(text: str) -> str:
    return text.split("### Key Observations")[1].split("\n---")[0]


def test_spam_reads_like_the_seed() -> None:
    notes = observations(markdown("spam"))
    assert "The prediction ŷ = 0.6194 is **lower** than the target y = 1, so δ₂ = ∂L/∂z₂ = −0.3806 is negative" in notes
    assert "**All 9 parameters increased**, because every gradient was negative" in notes


def test_a_target_of_zero_turns_the_observation_around(tmp_path: Path) -> None:
    notes = observations(spam_variant(tmp_path, ("targets: [[1]]", "targets: [[0]]")))
    assert "The prediction ŷ = 0.6194 is **higher** than the target y = 0, so δ₂ = ∂L/∂z₂ = 0.6194 is positive" in notes
    assert "**All 9 parameters decreased**, because every gradient was positive" in notes


def test_dead_relu_units_are_named_with_their_values(tmp_path: Path) -> None:
    notes = observations(spam_variant(tmp_path, ("bias: [0.1, 0.2]", "bias: [-0.5, 0.2]")))
    assert "**Dead ReLU unit:** z₁[0] = −0.39, never above 0, so ReLU′ = 0" in notes
    assert "row 0 of W₁ and b₁[0] get a zero gradient" in notes
    # W₁'s row 0 and b₁[0], and W₂[0], which multiplies the dead unit's output 0
    assert "Of 9 parameters, 5 increased, 4 did not move" in notes
    assert "Dead ReLU" not in observations(markdown("spam"))


def test_saturated_sigmoids_and_oversized_steps(tmp_path: Path) -> None:
    text = spam_variant(tmp_path, ("weights: [[0.5, 0.6]]", "weights: [[5, 6]]"), ("learning_rate: 0.1", "learning_rate: 40"))
    notes = observations(text)
    assert "**Saturated sigmoid:** ŷ = 0.9815, so σ′ = 0.9815 × (1 − 0.9815) = 0.0182" in notes
    assert "**A step larger than the weight:** b₁[0] went from 0.1 to 3.8048, a change 37.05 times" in notes


def test_a_loss_that_went_up(tmp_path: Path) -> None:
    path = tmp_path / "overshoot.yaml"
    path.write_text("inputs: [[1]]\ntargets: [[0]]\nlayers:\n  - weights: [[1]]\nloss: mse\nlearning_rate: 1.5\n")
    notes = observations(get("markdown")(solve(scenario.load(str(path))), Settings()))
    assert "**The loss went up**, from 1 to 4: the step overshot the minimum" in notes


def test_exploding_gradients_and_oversized_steps_in_the_house_price_seed() -> None:
    notes = observations(markdown("house_price"))
    assert "**Exploding gradients** towards the input: ‖∂L/∂W₁‖ = 57,500,064.69, ‖∂L/∂W₂‖ = 42,797.93" in notes
    assert "**A step larger than the weight:** W₁[0,0] went from 0.001 to −4.599, a change 4600 times its own size" in notes


def test_the_summary_table_marks_a_frozen_element_after_its_name(tmp_path: Path) -> None:
    text = spam_variant(tmp_path, ("steps: 1", "steps: 1\nfreeze: [W1, b2]"))
    summary = text.split("| Parameter")[1].split("\n\n")[0]
    assert "| W₁[0,0] (frozen) | 0.1 " in summary and "| b₂ (frozen) | 0.1 " in summary
    assert "(frozen)[" not in summary


def test_no_push_is_claimed_when_nothing_moved() -> None:
    # house_price's first step kills both ReLU units; in step 2 no gradient flows and nothing moves
    step2 = markdown("house_price", Settings(all_steps=True), steps=2).split("### Key Observations")[2].split("\n---")[0]
    assert ("δ₂ = ∂L/∂z₂ = −700 is negative: the gradient would push the output up, but no parameter moved."
            in step2)
    assert "Of 6 parameters, 6 did not move" in step2 and "pushes" not in step2


def test_a_denormal_parameter_is_no_size_to_compare_a_step_with(tmp_path: Path, recwarn) -> None:  # noqa: ANN001
    notes = observations(spam_variant(tmp_path, ("bias: [0.1, 0.2]", "bias: [5e-324, 0.2]")))
    assert "∞" not in notes and "A step larger than the weight" not in notes
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_the_closing_sentence_says_when_training_stalled() -> None:
    def closing_of(text: str) -> str:  # the last line before the Key Takeaways
        return text.split("\n\n---\n\n## Key Takeaways")[0].splitlines()[-1]

    closing = closing_of(markdown("house_price", steps=3))
    assert closing == ("**Loss decreased from 330,625 to 122,500, but steps 2–3 left it at 122,500: training has "
                       "stalled. Both ReLU units of layer 1 are now dead (h = [0, 0]): no gradient can flow through "
                       "them, so the weights into and out of them cannot change any more.**")
    assert closing_of(markdown("spam", steps=3)) == "**Loss decreased from 0.4790 to 0.3952! The network is learning.**"


def test_gradients_too_large_for_a_norm_give_no_infinity_and_no_warning(tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    from nnworked import bundled

    path = tmp_path / "huge.yaml"
    path.write_text((bundled.ROOT / "xor_batch.yaml").read_text(encoding="utf-8")
                    .replace("[[0.7, -0.5, 0.4]]", "[[0.7, -1e305, 0.4]]"), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "nnworked", "run", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""  # no numpy overflow warning either
    assert "∞" not in result.stdout
    assert "  • Exploding gradients towards the input: ‖∂L/∂W₁‖ = 2.88 × 10³⁰⁴,\n    ‖∂L/∂W₂‖ = 0.24; the first " \
           "layer's gradient is 1.2 × 10³⁰⁵ times the last's." in result.stdout  # (a formula never broken)


# ---- a normalised group whose variance is near zero: ε sets σ, the x̂ shrink, the gradient grows ----

FLAT_FEATURE = """inputs: [[1, 2], [1.001, 3]]
targets: [[1], [0]]
layers:
  - weights: [[1, 0], [0, 1]]
  - type: {kind}
  - weights: [[1, 1]]
loss: mse
learning_rate: 0.1
"""


def test_a_batch_norm_feature_with_almost_no_variance_is_named_with_its_numbers() -> None:
    import numpy as np

    import nnworked

    text = nnworked.run(FLAT_FEATURE.format(kind="batch_norm")).render("markdown")
    notes = " ".join(observations(text).split())
    # by hand: feature 0 is 1 and 1.001, its mean 1.0005 and σ² = 0.0005² = 2.5e−7 < ε = 1e−5, so σ = √(1.025e−5)
    x = np.array([1, 1.001])
    variance = np.mean((x - x.mean()) ** 2)
    std = np.sqrt(variance + 1e-5)
    xhat = (x - x.mean()) / std
    other = (np.array([2.0, 3.0]) - 2.5) / np.sqrt(0.25 + 1e-5)  # feature 1: ±1 (almost)
    yhat = xhat + other
    g = yhat - np.array([1.0, 0.0])  # ∂L/∂ŷ of the mean squared error over 2 examples: 2(ŷ − y)/2, and γ = 1
    dx = (2 * g - g.sum() - xhat * (g * xhat).sum()) / (2 * std)
    assert (round(variance, 10), round(std, 5), round(float(np.max(np.abs(xhat))), 4),
            round(2 * std, 5), round(float(np.max(np.abs(dx))), 4)) == (2.5e-7, 0.0032, 0.1562, 0.0064, 504.6786)
    assert ("**A batch-norm feature with almost no variance:** feature 0 of a₁ varies by σ² = 0.00000025 over the "
            "batch, less than ε = 0.00001, so σ = √(σ² + ε) = 0.00320 is set mostly by ε: its normalised values "
            "reach only ±0.1562 instead of about ±1, and every gradient through them is divided by "
            "M·σ = 2 × 0.00320 = 0.00640: ∂L/∂a₁ there reaches 504.6786. A feature that hardly varies carries "
            "almost no information; ε keeps the division finite, not meaningful.") in notes
    assert "feature 1" not in notes  # σ² = 0.25 is far above ε


def test_no_variance_note_where_every_feature_varies() -> None:
    import nnworked

    text = nnworked.run(FLAT_FEATURE.format(kind="batch_norm").replace("1.001", "3")).render("markdown")
    assert "almost no variance" not in text
    assert "almost no variance" not in markdown("batch_norm_step")


def test_a_layer_norm_example_with_almost_no_variance_is_named_too() -> None:
    import nnworked

    text = nnworked.run(FLAT_FEATURE.format(kind="layer_norm").replace("[[1, 2], [1.001, 3]]", "[[1, 1.001], [1, 3]]")
                        ).render("markdown")
    notes = " ".join(observations(text).split())
    # example 1's features are 1 and 1.001: the same numbers as the batch-norm feature above, over features
    assert ("**A layer-norm example with almost no variance:** example 1's features in a₁ vary by σ² = 0.00000025, "
            "less than ε = 0.00001, so σ = √(σ² + ε) = 0.00320 is set mostly by ε: its normalised values reach only "
            "±0.1562 instead of about ±1") in notes
    assert "example 2" not in notes
