"""Image layers through every option: --detail brief and full, --why-matrices, the AI by Hand layout's
image-to-columns view, the observations (a dead feature map, a tied max window), exercise sheets, grading
and generate; and the bundled cnn_edge scenario against its source, number by number."""

from __future__ import annotations

import numpy as np
import pytest

import nnworked
from nnworked import api, sheets
from nnworked.grading import grade
from nnworked.render.settings import Settings
from nnworked.render.byhandimages import columns
from tests.helpers import lines_starting, terminal, trace_of

# "CNN Fully Solved Numericals", Numerical 1 (PrimeLearnPoint): the image and the vertical edge kernel
IMAGE = np.array([[1, 2, 3, 0, 1], [4, 5, 6, 1, 2], [7, 8, 9, 0, 3], [2, 1, 0, 4, 5], [6, 3, 2, 1, 0]], float)
KERNEL = np.array([[1, 0, -1]] * 3, float)
SOURCE_FEATURE_MAP = [[-6, 14, 12], [-2, 9, 5], [4, 7, 3]]  # as the page prints them, FM[0,0] … FM[2,2]
SOURCE_RELU = [[0, 14, 12], [0, 9, 5], [4, 7, 3]]
POOLED = [[14, 14], [9, 9]]  # 2×2 windows at stride 1 over SOURCE_RELU, taken by hand


def test_cnn_edge_reproduces_its_source_number_by_number() -> None:
    step = trace_of("cnn_edge").steps[0]
    forward = step.forward.arrays()
    by_loops = [[float(np.sum(IMAGE[i:i + 3, j:j + 3] * KERNEL)) for j in range(3)] for i in range(3)]
    assert by_loops == SOURCE_FEATURE_MAP  # the source's arithmetic is right: nothing to record
    assert forward["z1"][0, 0].tolist() == SOURCE_FEATURE_MAP
    assert forward["a1"][0, 0].tolist() == SOURCE_RELU
    assert forward["a2"][0, 0].tolist() == POOLED
    assert forward["a3"][0].tolist() == [14, 14, 9, 9]
    # the step the scenario adds: z = W·a, softmax, −ln ŷ₀, worked by hand to 4 places
    assert forward["z4"][0].tolist() == pytest.approx([0.5, 0.13])
    assert step.loss.value == pytest.approx(-np.log(1 / (1 + np.exp(-0.37))))
    text = terminal("cnn_edge")
    assert "    z₁[0,0,0] = (1 × 1) + (0 × 2) + (−1 × 3) + (1 × 4) + (0 × 5) + (−1 × 6) + (1 × 7) + (0 × 8)\n" \
           "                  + (−1 × 9) + 0\n" in text  # a stage too long for the line breaks before an operator
    assert "    a₂[0] = | 14  14 |" in text


def test_brief_names_each_image_result() -> None:
    text = terminal("cnn_edge", Settings(detail="brief"))
    assert lines_starting(text, "z₁ = ") == ["z₁ = K₁ ⋆ x + b₁   (cross-correlation)"]
    assert lines_starting(text, "a₂[0] = ") == ["a₂[0] = | 14  14 |"]
    assert lines_starting(text, "∂L/∂a₁[0] = ") == ["∂L/∂a₁[0] = | 0  −0.00817  0 |"]
    assert lines_starting(text, "∂L/∂K₁[0,0] = ") == ["∂L/∂K₁[0,0] = | −0.0368  −0.0490  −0.00409 |"]
    assert lines_starting(text, "∂L/∂b₁ = ") == ["∂L/∂b₁ = −0.0123"]


def test_by_hand_lays_the_patches_out_as_columns() -> None:
    x = np.arange(2 * 2 * 4 * 4, dtype=float).reshape(2, 2, 4, 4)
    got = columns(x, (3, 2, 2, 2), 2, 1)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected = np.array([[padded[n, c, 2 * i + p, 2 * j + q] for n in range(2) for i in range(3) for j in range(3)]
                         for c in range(2) for p in range(2) for q in range(2)])
    assert np.array_equal(got, expected)
    text = terminal("cnn_edge", Settings(layout="ai-by-hand"))
    assert "    z₁ = [K₁ | b₁] · [patches of x ; 1]   (1×10) · (10×9) → (1×9)" in text
    assert "    [patches of x ; 1] = | 1  2  3  4  5  …  9 |" in text
    assert "    ∂L/∂K₁[0,0,1,1] = (0 × 5) + (−0.00817 × 6) + (0 × 1) + (0 × 8) + (−0.00409 × 9) + (0 × 0)\n" \
           "                        + (0 × 1) + (0 × 0) + (0 × 4)\n" in text
    # ∂L/∂K₁[0,0,0,0] = δ[0,1]·x[0,1] + δ[1,1]·x[1,1] = −0.00817·2 − 0.00409·5; ∂L/∂b₁ = Σ δ; K₁[0,0,2,2]: −0.00409·4
    assert "    ∂L/∂[K₁ | b₁] = | −0.0368  −0.0490  −0.00409  −0.0735  −0.0858  …  −0.0163 │ −0.0123 |" in text


def test_full_detail_derives_the_image_rules_with_the_numbers() -> None:
    text = terminal("cnn_edge", Settings(detail="full"))
    assert "Why ∂L/∂K₁ is the input correlated with δ₁" in text
    assert "                    = 0 − 0.0490 + 0 + 0 − 0.0368 + 0 + 0 + 0 + 0 = −0.0858" in text
    assert "Why the kernel would flip in ∂L/∂input" in text  # its convolution takes the data: no ∂L/∂x
    # the window over [[0, 14], [0, 9]] is won by 14, and −0.0163 = 0.02 × (−0.4085) + (−0.02) × 0.4085 goes to it
    assert "Here the window at [0,0,0] (rows 0–1, cols 0–1) was won by a₁[0,0,1] = 14, so ∂L/∂a₂[0,0,0] = −0.0163" \
        in " ".join(text.split())
    assert "    K₁ as rows (1×9) · patches of x as columns (9×9) → z₁ (1×9) = 1×3×3 per example\n" \
           "      inner: 9 = 1·3·3 ✓\n" in text


def test_the_flip_is_derived_where_a_gradient_passes_a_convolution() -> None:
    data = {"inputs": [[[[1, 2, 0], [0, 1, 3], [2, 1, 0]]]], "targets": [[1]], "loss": "mse",
            "layers": [{"type": "conv2d", "kernels": [[[[1, 0], [0, -1]]]]},
                       {"type": "conv2d", "kernels": [[[[1, 2], [3, 4]]]]},
                       {"type": "flatten"}, {"weights": [[1]]}]}
    text = api.run(data).render("terminal", detail="full", width=200)
    # ∂L/∂a₁[0,1,1] collects δ₂[0,i,j] × K₂[0,0,1 − i,1 − j]: the kernel's indices fall as δ's rise
    assert "∂L/∂a₁[0,1,1] = δ₂[0,1,1] × K₂[0,0,0,0] + δ₂[0,1,0] × K₂[0,0,0,1] + δ₂[0,0,1] × K₂[0,0,1,0] + " \
           "δ₂[0,0,0] × K₂[0,0,1,1]" not in text  # a 2×2 z₂ has one position: only δ₂[0,0,0] reaches it
    assert "∂L/∂a₁[0,1,1] = δ₂[0,0,0] × K₂[0,0,1,1]" in text


def _dead_and_tied() -> dict:
    return {"inputs": [[1, 2, 0, 1], [0, 1, 3, 2], [2, 1, 0, 1], [1, 0, 2, 3]], "targets": [[1]],
            "loss": "binary_cross_entropy", "learning_rate": 0.1,
            "layers": [{"type": "conv2d", "kernels": [[[[1, 0], [0, -1]]], [[[-1, 0], [0, -1]]]], "bias": [0, 0],
                        "activation": "relu"},
                       {"type": "max_pool", "size": 2, "stride": 1}, {"type": "flatten"},
                       {"weights": [[0.1, -0.2, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1]], "activation": "sigmoid"}]}


def test_observations_name_a_dead_feature_map_and_a_tied_window() -> None:
    text = " ".join(api.run(_dead_and_tied()).render("terminal", width=100).split())
    # channel 1's kernel is −x[i,j] − x[i+1,j+1] over non-negative pixels: every z is ≤ 0, the largest −1
    assert ("Dead feature map: all 9 elements of channel 1 of z₁ are ≤ 0 (the largest is −1), so ReLU′ = 0 over the "
            "whole map and no gradient flows through it: kernel K₁[1] and b₁[1] get a zero gradient") in text
    assert ("A tie in max pooling: the window of a₂[1,0,0] holds its maximum 0 4 times; its whole gradient goes to "
            "the first, a₁[1,0,0] (PyTorch's choice), and the others get none from it; 3 more windows tie too.") in text


def test_sheets_ask_one_value_per_layer_and_read_image_names() -> None:
    trace = trace_of("cnn_edge")
    groups = sheets._layer_groups(trace)
    assert groups == ["z1", "a2", "z4", "dK1", "dW4"]  # the flatten computes nothing to ask
    keys = sheets.choose(trace, "one-per-layer", 1)
    assert {k.split("[")[0] for k in keys} >= {"z1", "a2", "z4", "dK1", "dW4"}
    spelled = sheets.aliases(trace)
    assert spelled["z₁[0,1,2]"] == "z1[0,1,2]"
    assert spelled["∂L/∂K₁[0,0,1,1]"] == "dK1[0,0,1,1]"
    assert spelled["K₁[0,0,1,1]_new"] == "K1[0,0,1,1]"
    sheet = terminal("cnn_edge", Settings(blanks=sheets_blanks(trace, keys, False)))
    assert "= ?" in sheet


def sheets_blanks(trace, keys, answers):  # noqa: ANN001, ANN201
    from nnworked.render.numbers import Blanks

    return Blanks(keys, answers, sheets.variant(trace, keys))


def test_a_dense_variant_id_is_unchanged() -> None:
    trace = trace_of("spam")  # the id the README's and the golden sheets' spam variants were made with
    keys = sheets.choose(trace, "z1[0]", 1)
    import hashlib
    import json

    s = trace.scenario
    source = {"inputs": s.inputs.tolist(), "layers": [[l.weights.tolist(), None if l.bias is None else l.bias.tolist()]
                                                      for l in s.layers], "matmul": None,
              "targets": s.targets.tolist(), "blanks": sorted(keys)}
    assert sheets.variant(trace, keys) == "v-" + hashlib.sha256(json.dumps(source).encode()).hexdigest()[:6]


def test_grading_image_values_with_carried_errors() -> None:
    trace = trace_of("cnn_edge")
    keys = frozenset({"z1[0,1,1]", "a1[0,1,1]", "a2[0,1,0]", "dK1[0,0,1,1]"})
    marks = {m.key: m for m in grade(trace, keys, {"z1[0,1,1]": 8, "a1[0,1,1]": 8, "a2[0,1,0]": 8,
                                                   "dK1[0,0,1,1]": 0.0858})}
    assert marks["z1[0,1,1]"].status == "wrong"
    assert marks["a1[0,1,1]"].status == "carried"  # ReLU(8) = 8: right for the student's own z
    assert marks["a2[0,1,0]"].status == "carried"  # max(0, 8, 4, 7) = 8
    assert marks["dK1[0,0,1,1]"].status == "wrong" and "sign is flipped" in marks["dK1[0,0,1,1]"].note


def test_generate_draws_image_variants_without_dead_feature_maps() -> None:
    made = nnworked.generate("cnn_edge", count=2, seed=3, style="integers")
    assert len(made.variants) == 2
    for variant in made.variants:
        z = variant.trace.steps[0].forward.arrays()["z1"]
        assert all(np.any(z[:, c] > 0) for c in range(z.shape[1]))


STRIDED = {"title": "two convolutions", "targets": [[1], [0]], "loss": "cross_entropy", "learning_rate": 0.1,
           "inputs": [[[[1, 2, 0, 1, 2], [0, 1, 3, 2, 1], [2, 1, 0, 1, 0], [1, 0, 2, 3, 1], [0, 2, 1, 0, 2]]],
                      [[[0, 1, 0, 1, 2], [1, 1, 3, 0, 1], [2, 0, 0, 1, 0], [1, 0, 1, 3, 1], [0, 2, 1, 1, 2]]]],
           "layers": [{"type": "conv2d", "kernels": [[[[1, 0], [0, -1]]], [[[0.5, 1], [0, 1]]]], "bias": [0, 0.1],
                       "padding": 1, "stride": 2, "activation": "relu"},
                      {"type": "conv2d", "kernels": [[[[1, 0], [0, -1]], [[0.5, 1], [0, 1]]]], "activation": "relu"},
                      {"type": "avg_pool", "size": 2}, {"type": "flatten"},
                      {"weights": [[0.1], [-0.2]], "bias": [0, 0], "activation": "softmax"}]}


@pytest.mark.parametrize("options", [
    {"detail": "brief"}, {"detail": "full"}, {"why_matrices": True}, {"layout": "ai-by-hand"},
    {"layout": "ai-by-hand", "detail": "full", "full": True}, {"all_steps": True},
    {"exercise": True, "answers": True}, {"exercise": True, "layout": "ai-by-hand", "blanks": "all"}])
@pytest.mark.parametrize("fmt", ["terminal", "markdown", "latex", "html"])
@pytest.mark.parametrize("rounding", ["exact", "carry"])
def test_every_option_and_format_works_a_strided_padded_batch(options: dict, fmt: str, rounding: str) -> None:
    run = api.run({**STRIDED, "rounding": rounding}, steps=2)
    text = run.render(fmt, **options)
    # a sheet opens with its variant instead of the title
    assert "variant v-" in text if options.get("exercise") else "two convolutions" in text
    assert (rounding == "carry") == ("rounding: carry" in text)  # the conventions say how it computed
    assert run.trace.steps[0].forward.arrays()["z2"].shape == (2, 1, 2, 2)


def test_the_json_of_image_layers_names_their_arrays() -> None:
    data = api.run(STRIDED).data
    first = data["steps"][0]
    assert np.array(first["forward"]["z1"]).shape == (2, 2, 3, 3)  # ⌊(5 + 2 − 2) / 2⌋ + 1 = 3
    assert np.array(first["forward"]["a3"]).shape == (2, 1, 1, 1)
    assert np.array(first["gradients"]["K2"]).shape == (1, 2, 2, 2)
    assert np.array(first["parameters"]["K1"]).shape == (2, 1, 2, 2)
