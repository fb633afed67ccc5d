"""The seven AI by Hand exercises, number by number against shared/seeds/ai_by_hand_data.md.

The data file writes batches with examples as columns; the trace keeps them as rows, so those are
compared transposed.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnworked.render.json import to_data
from nnworked.render.settings import Settings
from tests.helpers import markdown, numbers, trace_of

AI = "ai-by-hand/"
STANDARD = Settings(layout="standard")  # the bundled exercises print in their own layout unless asked


def forward(name: str, **options: object) -> dict[str, np.ndarray]:
    return trace_of(AI + name, **options).steps[0].forward.arrays()


def test_1_matrix_multiplication() -> None:
    trace = trace_of(AI + "1-matrix-multiplication")
    assert trace.matmul.c.tolist() == [[3, 9, 4], [1, -1, 0]]
    text = markdown(AI + "1-matrix-multiplication")
    assert "A: (2 × 2)   B: (2 × 3)   C = A·B: (2 × 3)" in text
    assert "C[0,1] = (1 × 5) + (1 × 4) = 5 + 4 = 9" in text


def test_2_single_neuron() -> None:
    f = forward("2-single-neuron")
    assert f["z1"].tolist() == [[-1]] and f["a1"].tolist() == [[0]]
    text = markdown(AI + "2-single-neuron", STANDARD)
    assert "z₁ = (1 × 2) + (−1 × 1) + (1 × 3) − 5 = 2 − 1 + 3 − 5 = −1" in text
    assert "ŷ = max(0, −1) = 0" in text


def test_3_four_neurons_and_their_parameters() -> None:
    f = forward("3-four-neurons")
    assert f["z1"].tolist() == [[-1, 3, 5, 3]] and f["a1"].tolist() == [[0, 3, 5, 3]]
    assert "parameters = 4 × (3 + 1) = 4 × 4 = 16" in markdown(AI + "3-four-neurons")
    assert to_data(trace_of(AI + "3-four-neurons"))["parameters_count"] == {"per_layer": [16], "total": 16}


def test_4_hidden_layer() -> None:
    f = forward("4-hidden-layer")
    assert f["a1"].tolist() == [[0, 3, 5, 3]]
    assert f["z2"].tolist() == [[-2, 3]] and f["a2"].tolist() == [[0, 3]]
    text = markdown(AI + "4-hidden-layer")
    assert "parameters = (4 × (3 + 1)) + (2 × (4 + 1)) = (4 × 4) + (2 × 5) = 16 + 10 = 26" in text
    assert to_data(trace_of(AI + "4-hidden-layer"))["parameters_count"] == {"per_layer": [16, 10], "total": 26}


def test_5_batch_of_three() -> None:
    f = forward("5-batch")
    assert f["z1"].T.tolist() == [[-1, -5, -5], [3, 2, 1], [5, 2, 3], [3, -1, -1]]
    assert f["a1"].T.tolist() == [[0, 0, 0], [3, 2, 1], [5, 2, 3], [3, 0, 0]]
    assert f["z2"].T.tolist() == [[-2, 0, -2], [3, 3, 4]]
    assert f["a2"].T.tolist() == [[0, 0, 0], [3, 3, 4]]


def test_6_seven_layers() -> None:
    f = forward("6-seven-layers")
    expected = {1: [[5, 3], [4, 4], [3, 5], [7, 9], [9, 7]], 2: [[6, 2], [1, 7]], 3: [[7, 9], [5, 0], [8, 16]],
                4: [[2, 9], [3, 16]], 5: [[3, 16], [2, 9]], 6: [[1, 7], [5, 25]], 7: [[-4, -18]]}
    for k, columns in expected.items():
        assert f[f"a{k}"].T.tolist() == columns, k
    text = markdown(AI + "6-seven-layers", STANDARD)
    # the five "missing values" the exercise asks for, each worked as the exercise does
    assert "z₁⁽²⁾[3] = (1 × 5) + (1 × 4) + (0 × 3) = 5 + 4 + 0 = 9" in text
    assert "z₂⁽¹⁾[1] = (0 × 5) + (0 × 4) + (1 × 3) + (1 × 7) + (−1 × 9) = 0 + 0 + 3 + 7 − 9 = 1" in text
    assert "z₃⁽¹⁾[2] = (1 × 6) + (2 × 1) = 6 + 2 = 8" in text
    assert "z₄⁽¹⁾[1] = (0 × 7) + (−1 × 5) + (1 × 8) = 0 − 5 + 8 = 3" in text
    assert "z₅⁽¹⁾[1] = (1 × 2) + (0 × 3) = 2 + 0 = 2" in text


def test_integer_exercises_print_integers() -> None:
    for name in ("2-single-neuron", "3-four-neurons", "4-hidden-layer", "5-batch", "6-seven-layers"):
        text = markdown(AI + name)
        code = "\n".join(l for l in text.split("```")[1::2])
        assert not [n for n in numbers(code) if "." in n], name


PUBLISHED = {  # ai_by_hand_data.md, exercise 7, with the prediction rounded to [0.5, 0.5, 0]
    "z3": [[0.5, -0.5, 0]], "b3": [0.5, -0.5, 0], "W3": [[1, 2], [-1, -2], [0, 0]], "a2": [[1, -1]],
    "z2": [[1, -1]], "b2": [1, -1], "W2": [[0, 3, 5, 3], [0, -3, -5, -3]], "a1": [[1, -2, 2, -1]],
    "z1": [[0, -2, 2, -1]], "b1": [0, -2, 2, -1], "W1": [[0, 0, 0], [-4, -2, -6], [4, 2, 6], [-2, -1, -3]],
}


def test_7_backpropagation_reproduces_the_published_gradients_when_carrying_one_decimal() -> None:
    step = trace_of(AI + "7-backpropagation").steps[0]
    f = step.forward.arrays()
    assert f["z1"].tolist() == [[-1, 3, 5, 3]] and f["a1"].tolist() == [[0, 3, 5, 3]]
    assert f["z2"].tolist() == [[2, 4]] and f["z3"].tolist() == [[3, 3, -1]]
    assert f["a3"].tolist() == [[0.5, 0.5, 0]]
    gradients = step.gradients()
    for name, expected in PUBLISHED.items():
        np.testing.assert_allclose(gradients[name], expected, atol=1e-12, err_msg=name)
    assert step.loss.value == pytest.approx(0.7)  # −ln 0.5 = 0.693…, carried at one decimal
    assert not step.updates  # no learning rate is given


def test_7_backpropagation_exact_softmax_changes_only_layer_3() -> None:
    exact = trace_of(AI + "7-backpropagation", rounding="exact", precision=4).steps[0]
    np.testing.assert_allclose(exact.forward.arrays()["a3"], [[0.4955, 0.4955, 0.0091]], atol=5e-5)
    np.testing.assert_allclose(exact.gradients()["z3"], [[0.4955, -0.5045, 0.0091]], atol=5e-5)
    assert exact.loss.value == pytest.approx(0.7023, abs=5e-5)
    assert exact.loss.value != pytest.approx(0.6931, abs=5e-4)  # not −ln 0.5
    gradients = exact.gradients()
    for name in ("a2", "z2", "b2", "W2", "a1", "z1", "b1", "W1"):
        np.testing.assert_allclose(gradients[name], PUBLISHED[name], atol=1e-9, err_msg=name)
    text = markdown(AI + "7-backpropagation", STANDARD, rounding="exact", precision=4)
    assert "δ₃[1] = ŷ[1] − y[1] = 0.4955 − 1 = −0.5045 ✓" in text


def test_the_ai_by_hand_layout_folds_biases_and_uses_columns() -> None:
    from nnworked.render.settings import Settings

    text = markdown(AI + "7-backpropagation", Settings(layout="ai-by-hand"))
    assert "[W₁ | b₁] = | 1  −1  1 │ −5 |" in text
    assert "z₁[0] = (1 × 2) + (−1 × 1) + (1 × 3) + (−5 × 1) = 2 − 1 + 3 − 5 = −1" in text
    assert "∂L/∂[W₃ | b₃] = ∂L/∂z₃ · [a₂ | 1]ᵀ" in text
    assert "∂L/∂[W₁ | b₁] = |  0   0   0 │  0 |" in text
    batch = markdown(AI + "5-batch", Settings(layout="ai-by-hand"))
    # the hidden layer before ReLU, columns = samples, exactly as ai_by_hand_data.md writes it
    assert "z₁ = | −1  −5  −5 |\n     |  3   2   1 |\n     |  5   2   3 |\n     |  3  −1  −1 |" in batch
    assert "z₁[3,1] = −1 → 0" in batch


def test_the_layout_option_works_for_any_scenario_with_batch_sums() -> None:
    from nnworked.render.settings import Settings

    text = markdown("xor_batch", Settings(layout="ai-by-hand"))
    assert "∂L/∂[W₂ | b₂] = ∂L/∂z₂ · [h | 1]ᵀ; the product sums over the examples" in text


def test_the_bundled_exercises_print_in_their_own_layout_by_default() -> None:
    text = markdown(AI + "5-batch")
    assert "## Setup (AI by Hand layout)" in text
    assert "## Setup (AI by Hand layout)" not in markdown(AI + "5-batch", STANDARD)
    assert "## Setup (AI by Hand layout)" not in markdown("spam")
