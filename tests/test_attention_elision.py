"""Without --full, an attention layer works the intermediates of at most `limit` (example, head) pairs, as a
dense layer works at most `limit` elements, so a batch of long sequences with several heads stays a page a
reader can follow and a Markdown file of a bounded size (benchmarks/transformer.py measures the size)."""

from __future__ import annotations

import re

import nnworked

LIMIT = 6  # Settings.limit


def _scenario(examples: int, heads: int) -> dict:
    d_model = 2 * heads
    weights = [[round(0.1 * ((i + 2 * j) % 5 - 2), 1) for j in range(d_model)] for i in range(d_model)]
    inputs = [[[round(0.1 * ((e + t + f) % 4), 1) for f in range(d_model)] for t in range(2)] for e in range(examples)]
    return {"title": "pairs", "inputs": inputs, "targets": [[[0.0] * d_model] * 2] * examples, "loss": "mse",
            "learning_rate": 0.1,
            "layers": [{"type": "self_attention", "heads": heads, "query_weights": weights,
                        "key_weights": weights, "value_weights": weights},
                       {"weights": weights, "bias": [0.0] * d_model}]}


def _titles(text: str) -> list[str]:
    return re.findall(r"\*\*(Example \d+, head \d+|Example \d+|Head \d+):\*\*", text)


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_at_most_limit_example_head_pairs_are_worked_and_the_rest_are_counted() -> None:
    text = nnworked.run(_scenario(examples=4, heads=2)).render("markdown")
    forward = _section(text, "Self-Attention (2 Heads)", "## Loss")
    # 8 pairs: the first five and the last, as `pick` chooses elements
    assert _titles(forward) == ["Example 1, head 0", "Example 1, head 1", "Example 2, head 0",
                                "Example 2, head 1", "Example 3, head 0", "Example 4, head 1"]
    assert "… 2 more heads of the examples worked the same way (--full shows every one)" in forward
    backward = _section(text, "Backpropagate through Self-Attention", "## Weight Updates")
    assert backward.count("… 2 more heads of the examples worked the same way") == 1


def test_full_works_every_pair() -> None:
    text = nnworked.run(_scenario(examples=4, heads=2)).render("markdown", full=True)
    assert len(_titles(_section(text, "Self-Attention (2 Heads)", "## Loss"))) == 8
    assert "more heads of the examples" not in text


def test_the_worked_pairs_do_not_grow_with_the_batch() -> None:
    counts = {examples: len(_titles(nnworked.run(_scenario(examples, heads=3)).render("markdown")))
              for examples in (1, 2, 5)}
    # forward titles only name pairs; one example has 3 heads, then at most LIMIT however large the batch
    assert counts == {1: 3, 2: LIMIT, 5: LIMIT}


def test_one_head_counts_examples_and_one_example_counts_heads() -> None:
    many_examples = nnworked.run(_scenario(examples=8, heads=1)).render("markdown")
    assert "… 2 more examples worked the same way" in many_examples
    many_heads = nnworked.run(_scenario(examples=1, heads=8)).render("markdown")
    assert "… 2 more heads worked the same way" in many_heads


def test_the_ai_by_hand_sheet_works_the_same_pairs() -> None:
    text = nnworked.run(_scenario(examples=4, heads=2)).render("markdown", layout="ai-by-hand")
    assert text.count("… 2 more heads of the examples worked the same way (--full shows every one)") == 2  # fwd, back
    full = nnworked.run(_scenario(examples=4, heads=2)).render("markdown", layout="ai-by-hand", full=True)
    assert "more heads of the examples" not in full
