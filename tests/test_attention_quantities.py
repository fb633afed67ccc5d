"""Self-attention's intermediates as quantities: Q, K, V, each score, each weight (and O with output weights)
are named in the one table, worked as the walkthrough prints them, asked by a sheet and hidden alone."""

from __future__ import annotations

import numpy as np

import nnworked
from nnworked import quantities, sheets

# attention_three_tokens in plain numpy (the scenario's tokens and weights; the scores are not scaled)
X = np.array([[1, 0, 1, 0], [0, 2, 0, 2], [1, 1, 1, 1]], dtype=float)
WQ = np.array([[1, 1, 0, 0], [0, 0, 0, 1], [1, 0, 1, 1]], dtype=float)
WK = np.array([[0, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 0]], dtype=float)
WV = np.array([[0, 0, 1, 1], [2, 3, 0, 1], [0, 0, 3, 0]], dtype=float)


def test_each_intermediate_is_a_quantity_with_its_value_and_what_it_is_computed_from() -> None:
    table = quantities.table(nnworked.solve("attention_three_tokens"))
    q, k, v = X @ WQ.T, X @ WK.T, X @ WV.T
    scores = q @ k.T
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    for kind, expected in (("q", q), ("k", k), ("v", v), ("S", scores), ("A", weights)):
        got = np.array([[table.values[f"{kind}1[0,{i},{j}]"] for j in range(3)] for i in range(3)])
        np.testing.assert_allclose(got, expected, atol=1e-12)
    assert "Sc1[0,0,0]" not in table and "O1[0,0,0]" not in table  # not scaled; no output weights (O is a1)
    assert table.depends("S1[0,0,1]") == {"q1[0,0,0]", "q1[0,0,1]", "q1[0,0,2]",
                                          "k1[0,1,0]", "k1[0,1,1]", "k1[0,1,2]"}
    assert table.depends("A1[0,0,1]") == {"S1[0,0,0]", "S1[0,0,1]", "S1[0,0,2]"}
    assert table.depends("a1[0,0,0]") == {"A1[0,0,0]", "A1[0,0,1]", "A1[0,0,2]",
                                          "v1[0,0,0]", "v1[0,1,0]", "v1[0,2,0]"}
    assert table.depends("q1[0,0,0]") == set()  # from the given tokens and weights


def test_the_forward_rule_asks_the_intermediates_in_the_order_a_student_works() -> None:
    trace = nnworked.solve("attention_three_tokens")
    keys = sorted(sheets.choose(trace, "forward", 1), key=quantities.sort_key)
    kinds = [quantities.parse(key).kind for key in keys]
    assert kinds[:45] == ["q"] * 9 + ["k"] * 9 + ["v"] * 9 + ["S"] * 9 + ["A"] * 9 and kinds[45] == "a"


def test_a_blank_score_hides_exactly_it_and_what_follows() -> None:
    sheet = nnworked.exercise("attention_three_tokens", blanks="S1[0,0,1]").sheet("terminal", width=100)
    lines = sheet.splitlines()
    assert "    S₁[0,1] (S1[0,0,1]) = (1 × 4) + (0 × 4) + (2 × 0) = ?" in lines
    assert "    S₁[0,2] = (1 × 2) + (0 × 3) + (2 × 1) = 2 + 0 + 2 = 4" in lines  # its neighbours stay
    assert "    A₁[0,1] = e^(?) / (e^(2) + e^(?) + e^(4)) = ? / (7.3891 + ? + 54.5982) = ? / ? = ?" in lines
    assert "    A₁[1,0] = e^(4) / (e^(4) + e^(16) + e^(12))" in lines  # another row's weights are worked in full
    assert "    O₁[0,0] = (0.0634 × 1) + (0.4683 × 2) + (0.4683 × 2) = 0.0634 + 0.9366 + 0.9366 = 1.9366" in lines
