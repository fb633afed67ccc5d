"""generate with sequence templates (docs/templates): an rnn's and a self_attention's ranges reach --count 100
with the defaults, and --max-decimals keeps attention scores a student can work by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnworked.variants import Constraints, generate, shortfall
from nnworked.yamlsource import load_file

TEMPLATES = Path(__file__).parent.parent / "docs" / "templates"


def _scores(layer, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Q·Kᵀ of one head, from the variant's own numbers (plain numpy, not the engine)."""
    q, k = x @ layer.query_weights.T, x @ layer.key_weights.T
    return q, q @ k.T


def test_an_rnn_template_reaches_a_hundred_variants_with_the_defaults() -> None:
    report = generate(load_file(TEMPLATES / "rnn_three_steps.yaml"), 100, seed=1, style="integers",
                      constraints=Constraints())
    assert len(report.variants) == 100, shortfall(report, 100)
    assert len({v.id for v in report.variants}) == 100
    drawn = {tuple(v.scenario.layers[0].recurrent_weights.ravel()) for v in report.variants}
    possible = {(a, b, c, d) for a in (-1, 1) for b in (-1, 0, 1) for c in (-1, 0, 1) for d in (-1, 1)}
    assert drawn <= possible and len(drawn) > 20  # drawn from its ranges (36 matrices), not copied
    assert all(v.scenario.layers[0].input_weights.all() for v in report.variants)  # "except 0"


def test_an_attention_template_reaches_a_hundred_variants_with_integer_scores() -> None:
    report = generate(load_file(TEMPLATES / "attention_scores.yaml"), 100, seed=1, style="integers",
                      constraints=Constraints())
    assert len(report.variants) == 100, shortfall(report, 100)
    for v in report.variants:
        layer, x = v.scenario.layers[0], v.scenario.inputs[0]
        q, scores = _scores(layer, x)
        assert np.array_equal(scores, np.round(scores)) and np.array_equal(q, np.round(q))
        assert np.array_equal(scores, v.trace.steps[0].forward.operations[0].scores[0, 0])  # as the engine worked them
        halves = scores / 2  # √d_k = 2: every scaled score ends in .0 or .5
        assert np.array_equal(halves * 2, np.round(halves * 2))


ONE_DECIMAL = """
title: one-decimal attention
inputs: [[1, 0, 2], [0, 1, 1], [2, 1, 0]]
targets: [[[0], [1], [1]]]
layers:
  - type: self_attention
    query_weights: [["-0.9..0.9", "-0.9..0.9", "-0.9..0.9"], ["-0.9..0.9", "-0.9..0.9", "-0.9..0.9"]]
    key_weights: [["-0.9..0.9", "-0.9..0.9", "-0.9..0.9"], ["-0.9..0.9", "-0.9..0.9", "-0.9..0.9"]]
    value_weights: [[1, 0, 0], [0, 1, 0]]
    scaled: false
  - weights: [[1, -1], [-1, 1]]
    bias: [0, 0]
    activation: softmax
loss: cross_entropy
learning_rate: 0.1
"""


def test_max_decimals_keeps_the_attention_scores_short(tmp_path: Path) -> None:
    """One-decimal weights on whole tokens: Q has one decimal, a score Q·Kᵀ up to two. --max-decimals 2
    keeps every draw; --max-decimals 1 keeps only those whose every score has one decimal, and says why it
    rejected the others."""
    path = tmp_path / "template.yaml"
    path.write_text(ONE_DECIMAL, encoding="utf-8")
    two = generate(load_file(path), 20, seed=3, style="one-decimal", constraints=Constraints(max_decimals=2))
    assert len(two.variants) == 20 and "attention scores with more than 2 decimals" not in two.rejected
    one = generate(load_file(path), 20, seed=3, style="one-decimal", constraints=Constraints(max_decimals=1))
    assert one.rejected["attention scores with more than 1 decimals"] > 0
    for v in one.variants:
        q, scores = _scores(v.scenario.layers[0], v.scenario.inputs[0])
        assert np.allclose(scores * 10, np.round(scores * 10), atol=1e-9), v.id
        assert np.allclose(q * 10, np.round(q * 10), atol=1e-9), v.id
    some = [v for v in two.variants
            if not np.allclose((s := _scores(v.scenario.layers[0], v.scenario.inputs[0])[1]) * 10, np.round(s * 10))]
    assert some  # --max-decimals 2 keeps scores of two decimals: the constraint above is not vacuous


def test_a_bundled_sequence_with_a_class_at_every_position_generates_targets_of_its_shape() -> None:
    """transformer_block and attention_three_tokens give a class index at each of three positions: each
    variant draws one per position from every class (the loader makes it one-hot), as the template has."""
    from nnworked import bundled

    for name, classes in (("transformer_block", 3), ("attention_three_tokens", 2)):
        template = load_file(bundled.resolve(name))
        # (one decimal: whole-number weights saturate the transformer's softmax)
        report = generate(template, 8, seed=2, style="one-decimal", constraints=Constraints())
        assert len(report.variants) == 8, (name, shortfall(report, 8))
        drawn = set()
        for v in report.variants:
            assert v.scenario.targets.shape == (1, 3, classes), name
            np.testing.assert_array_equal(v.scenario.targets.sum(axis=-1), 1)  # one class per position
            drawn |= set(np.argmax(v.scenario.targets, axis=-1).ravel().tolist())
        assert drawn == set(range(classes)), (name, drawn)
