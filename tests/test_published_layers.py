"""The bundled batch-norm, dropout and residual scenarios against the published examples they reproduce,
number by number. Each source's numbers are written here as it prints them; where its arithmetic is
wrong, the test records its value and the right one (worked here in plain numpy, not read from nnworked)
and checks that nnworked prints the right one."""

from __future__ import annotations

import numpy as np
import pytest

from nnworked.gradcheck import autograd, finite_differences
from tests.helpers import markdown, trace_of


def _forward(name: str) -> dict[str, np.ndarray]:
    return trace_of(name).steps[0].forward.arrays()


# ---- Tom Yeh, "12. Can you calculate Dropout by hand?", as transcribed by Jeremy London (solve-by-hand) ----

X = np.array([[3, 4], [5, 1]], float)  # X1, X2
W1, B1 = np.array([[1, 0], [1, 1], [0, 1], [1, -1]], float), np.array([0, 0, 1, 0], float)
W3, B3 = np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 0, -1, -1]], float), np.array([0, 0, 1], float)
W5, B5 = np.array([[1, -1, 0], [0, 1, -1]], float), np.array([0, -2], float)
Y_PRIME = np.array([[-4, 10], [7, 5]], float)  # the transcription's Y′ is [output][example]: here per example
KEEP_1, KEEP_2 = np.array([1, 0, 1, 0], float), np.array([1, 1, 0], float)  # [◯, ╳, ◯, ╳] and [◯, ◯, ╳]
# what the exercise arrives at with its scale 1/(1 − 0.33) = 1.5, per example
SOURCE_SCALE_2 = 1.5
SOURCE_AFTER_DROPOUT_2 = [[9, 15, 0], [15, 6, 0]]
SOURCE_Y = [[-6, 13], [9, 4]]
SOURCE_GRADIENT = [[-4, 6], [4, -2]]  # 2 × (Y − Y′)


def test_the_dropout_step_reproduces_its_source_and_puts_the_second_scale_right() -> None:
    forward = _forward("dropout_step")
    # the numbers the exercise gets right, exactly
    assert forward["a1"].tolist() == [[3, 7, 5, 0], [5, 6, 2, 4]]
    assert forward["a2"].tolist() == [[6, 0, 10, 0], [10, 0, 4, 0]]  # scale 1/(1 − 0.5) = 2
    assert forward["a3"].tolist() == [[6, 10, 0], [10, 4, 7]]
    # the exercise's 1/(1 − 0.33) = 1.5 is 1/0.67 = 1.4925…: nnworked prints the right scale
    right_scale = 1 / (1 - 0.33)
    assert SOURCE_SCALE_2 != round(right_scale, 4) == 1.4925
    text = markdown("dropout_step")
    assert "1/(1 − rate) = 1 / (1 − 0.33) = 1 / 0.67 = 1.4925" in text
    # everything after it, by hand in plain numpy with the right scale, against the source's values
    h = np.maximum(X @ W1.T + B1, 0) * KEEP_1 * 2
    h = np.maximum(h @ W3.T + B3, 0) * KEEP_2 * right_scale
    y = h @ W5.T + B5
    gradient = 2 * (y - Y_PRIME)
    for got, right, source in ((forward["a4"], h, SOURCE_AFTER_DROPOUT_2), (forward["z5"], y, SOURCE_Y),
                               (trace_of("dropout_step").steps[0].backward[0].delta, gradient, SOURCE_GRADIENT)):
        np.testing.assert_allclose(got, right, rtol=1e-12)
        assert not np.allclose(right, source)  # the source's value is not the right one
    # the source's values, recorded beside the right ones (4 decimals, as nnworked prints them)
    assert np.round(h, 4).tolist() == [[8.9552, 14.9254, 0], [14.9254, 5.9701, 0]]  # source: [[9, 15, 0], [15, 6, 0]]
    assert np.round(y, 4).tolist() == [[-5.9701, 12.9254], [8.9552, 3.9701]]  # source: [[−6, 13], [9, 4]]
    assert np.round(gradient, 4).tolist() == [[-3.9403, 5.8507], [3.9104, -2.0597]]  # source: [[−4, 6], [4, −2]]
    for line in ("a₄⁽¹⁾[0] = 1 × 6 × 1.4925 = 8.9552", "a₄⁽²⁾[1] = 1 × 4 × 1.4925 = 5.9701",
                 "z₅⁽¹⁾[1] = (0 × 8.9552) + (1 × 14.9254) + (−1 × 0) − 2 = 0 + 14.9254 + 0 − 2 = 12.9254",
                 "∂L/∂ŷ⁽¹⁾[0] = 2 × (−5.9701 + 4) = 2 × (−1.9701) = −3.9403"):
        assert line in text
    # with the exercise's own scale the arithmetic is the source's, number for number
    h15 = np.maximum(np.maximum(X @ W1.T + B1, 0) * KEEP_1 * 2 @ W3.T + B3, 0) * KEEP_2 * SOURCE_SCALE_2
    assert h15.tolist() == SOURCE_AFTER_DROPOUT_2
    assert (h15 @ W5.T + B5).tolist() == SOURCE_Y
    assert (2 * (h15 @ W5.T + B5 - Y_PRIME)).tolist() == SOURCE_GRADIENT


# ---- Tom Yeh, "Batch Normalization by Hand", as transcribed by Jeremy London (solve-by-hand) ----

BN_X = np.array([[1, 0, 2], [0, 3, 1], [3, 1, 0], [0, 1, 2]], float)
BN_W, BN_B = np.array([[1, 0, 1], [1, 1, 0], [0, 2, -1]], float), np.array([0, -1, 0], float)
GAMMA, BETA = np.array([2, 3, -1], float), np.array([0, 0, 1], float)
# the transcription prints features as rows, examples as columns
SOURCE_LINEAR = [[3, 1, 3, 2], [0, 2, 3, 0], [-2, 5, 2, 0]]
SOURCE_RELU = [[3, 1, 3, 2], [0, 2, 3, 0], [0, 5, 2, 0]]
SOURCE_SUM = [9, 5, 7]
SOURCE_MEAN, SOURCE_VARIANCE, SOURCE_STD = [2, 1, 2], [1, 2, 4], [1, 1, 2]  # each rounded to a whole number
SOURCE_OUTPUT = [[2, -2, 2, 0], [-3, 3, 6, -3], [2, -0.5, 1, 2]]  # γ × (x − μ) / σ + β with those


def test_the_batch_norm_step_reproduces_its_source_and_keeps_the_statistics_exact() -> None:
    trace = trace_of("batch_norm_step")
    forward = trace.steps[0].forward.arrays()
    assert forward["z1"].T.tolist() == SOURCE_LINEAR
    assert forward["a1"].T.tolist() == SOURCE_RELU
    norm = next(op for op in trace.steps[0].forward.operations if type(op).__name__ == "Normalise")
    relu = np.array(SOURCE_RELU, float)
    assert relu.sum(axis=1).tolist() == SOURCE_SUM
    text = markdown("batch_norm_step")
    for line in ("μ₂[0] = (3 + 1 + 3 + 2) / 4 = 9 / 4 = 2.25", "μ₂[1] = (0 + 2 + 3 + 0) / 4 = 5 / 4 = 1.25",
                 "μ₂[2] = (0 + 5 + 2 + 0) / 4 = 7 / 4 = 1.75"):
        assert line in text  # the source's sums 9, 5, 7 inside the worked means
    # the source rounds the statistics; the right ones, by hand: the mean, the biased variance, its root
    mean = relu.mean(axis=1)
    variance = ((relu - mean[:, None]) ** 2).mean(axis=1)
    assert mean.tolist() == [2.25, 1.25, 1.75]  # source: [2, 1, 2]
    assert variance.tolist() == [0.6875, 1.6875, 4.1875]  # source: [1, 2, 4]
    assert np.round(np.sqrt(variance), 4).tolist() == [0.8292, 1.2990, 2.0463]  # source: [1, 1, 2]
    assert [SOURCE_MEAN, SOURCE_VARIANCE] == [np.round(mean).tolist(), np.round(variance).tolist()]
    assert SOURCE_STD == np.round(np.sqrt(np.round(variance))).tolist()  # √2 = 1.41 rounded to 1 as well
    np.testing.assert_array_equal(norm.mean, mean)
    np.testing.assert_array_equal(norm.variance, variance)
    right = GAMMA[:, None] * (relu - mean[:, None]) / np.sqrt(variance)[:, None] + BETA[:, None]
    np.testing.assert_allclose(forward["a2"].T, right, rtol=1e-12)
    assert np.round(right, 4).tolist() == [[1.8091, -3.0151, 1.8091, -0.603], [-2.8868, 1.7321, 4.0415, -2.8868],
                                           [1.8552, -0.5882, 0.8778, 1.8552]]  # source: SOURCE_OUTPUT
    # the source's output is its own arithmetic with the rounded statistics
    rounded = GAMMA[:, None] * (relu - np.array(SOURCE_MEAN)[:, None]) / np.array(SOURCE_STD)[:, None] + BETA[:, None]
    assert rounded.tolist() == SOURCE_OUTPUT
    assert "x̂₂⁽²⁾[0] = (1 − 2.25) / √(0.6875 + 0) = −1.25 / √(0.6875) = −1.25 / 0.8292 = −1.5076" in text
    assert "a₂⁽³⁾[1] = (3 × 1.3472) + 0 = 4.0415 + 0 = 4.0415" in text


def test_the_batch_norm_step_freezes_the_bias_batch_norm_takes_out() -> None:
    step = trace_of("batch_norm_step").steps[0]
    b1 = next(u for u in step.updates if u.name == "b1")
    assert b1.frozen and np.array_equal(b1.new, b1.old)
    # feature 0 passes ReLU on every example, so Σₙ ∂L/∂a₁[0] over the batch is 0: a bias there changes nothing
    assert abs(b1.grad[0]) < 1e-15 and abs(b1.grad[1]) > 0.01 and abs(b1.grad[2]) > 0.01


# ---- Deep-ML problem 113, "Implement a Simple Residual Block with Shortcut Connection" ----

SOURCE_RESIDUAL = {"w1 @ x": [1.0, 2.0], "ReLU": [1.0, 2.0], "w2 @ h": [0.5, 1.0], "+ x": [1.5, 3.0],
                   "final ReLU": [1.5, 3.0]}


def test_the_residual_block_reproduces_its_source_and_sums_the_two_paths() -> None:
    forward = _forward("residual_block")
    assert forward["a1"].tolist() == [[1, 2]]  # the stem gives x
    assert forward["z2"][0].tolist() == SOURCE_RESIDUAL["w1 @ x"]
    assert forward["a2"][0].tolist() == SOURCE_RESIDUAL["ReLU"]
    assert forward["z3"][0].tolist() == SOURCE_RESIDUAL["w2 @ h"]
    assert forward["a4"][0].tolist() == SOURCE_RESIDUAL["+ x"]
    assert np.maximum(forward["a4"][0], 0).tolist() == SOURCE_RESIDUAL["final ReLU"]  # left out: it changes nothing
    text = markdown("residual_block")
    assert "a₄[0] = 0.5 + 1 = 1.5\na₄[1] = 1 + 2 = 3\n" in text
    # carried on by hand: ŷ = 2·1.5 − 0.5·3 = 1.5 against 1, ∂L/∂ŷ = 2·0.5 = 1, ∂L/∂a₄ = [2, −0.5]; the main path
    # to x gives W₂ᵀ·(W₃ᵀ·[2, −0.5]) = [1, −0.25] (ReLU passes both), the skip [2, −0.5]: [3, −0.75]
    step = trace_of("residual_block").steps[0]
    grads = {u.name: u.grad.tolist() for u in step.updates}
    assert grads == {"W1": [[3, 6], [-0.75, -1.5]], "W2": [[1, 2], [-0.25, -0.5]], "W3": [[2, 4], [-0.5, -1]],
                     "W5": [[1.5, 3]]}
    assert "∂L/∂a₁[0] = ((1 × 1) + (0 × (−0.25))) + 2 = (1 + 0) + 2 = 1 + 2 = 3" in text


@pytest.mark.parametrize("name", ["dropout_step", "batch_norm_step", "residual_block"])
def test_the_published_layer_scenarios_agree_with_finite_differences_and_pytorch(name: str) -> None:
    s = trace_of(name).scenario
    checks = finite_differences(s)
    assert checks and all(c.ok for c in checks)
    pytest.importorskip("torch")
    checks = autograd(s)
    assert checks and all(c.ok for c in checks)
