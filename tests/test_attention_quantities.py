"""Self-attention's intermediates as quantities: Q, K, V, each score, each weight (and O with output weights)
are named in the one table, worked as the walkthrough prints them, asked by a sheet and hidden alone."""

from __future__ import annotations

import numpy as np
import pytest

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


# transformer_block's attention in plain numpy: two heads of d_k = 2, causal, scaled, output weights
TX = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]], dtype=float)
TWQ = np.array([[0.3, 0.8, 0.6, -0.5], [-0.4, 0.7, -1.0, 0.6], [0.6, -0.1, -0.4, -0.4], [-0.5, -0.1, 0.0, 0.1]])
TWK = np.array([[1.0, 0.6, 0.2, 1.0], [-0.6, -0.7, 0.2, -0.9], [-0.9, 0.0, -0.1, 0.8], [0.3, 0.0, 0.0, -0.5]])
TWV = np.array([[-1.0, -0.6, 0.4, -0.6], [-0.3, -1.0, 0.7, -0.7], [-0.5, 0.8, 0.0, 0.7], [0.3, 0.5, -0.8, 0.1]])
TWO = np.array([[0.0, 0.7, -0.3, 0.2], [-0.9, -0.2, -0.4, -0.7], [0.6, -0.2, 1.0, 0.2], [0.2, 0.3, 0.4, -0.7]])


def _upstream(table: quantities.Table, positions: int, outputs: int) -> np.ndarray:
    """∂L/∂a1 as the table holds it: the gradient that reached the layer (what the layers after it send)."""
    return np.array([[table.values[f"da1[0,{t},{o}]"] for o in range(outputs)] for t in range(positions)])


def _backward(x: np.ndarray, wq: np.ndarray, wk: np.ndarray, wv: np.ndarray, wo: np.ndarray | None, heads: int,
              causal: bool, scaled: bool, upstream: np.ndarray) -> dict[str, float]:
    """Every backward intermediate by its name, from ∂L/∂a: each row's softmax Jacobian as the full matrix
    diag(a) − a·aᵀ (nnworked applies it as a ⊙ (g − a·g)); a masked pair has none."""
    q, k, v = x @ wq.T, x @ wk.T, x @ wv.T
    positions, d = x.shape[0], wq.shape[0] // heads
    d_out = upstream if wo is None else upstream @ wo  # ∂L/∂concat
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    out: dict[str, float] = {}
    for h in range(heads):
        cols = slice(h * d, (h + 1) * d)
        where = (h,) if heads > 1 else ()
        scores = q[:, cols] @ k[:, cols].T
        logits = scores / np.sqrt(d) if scaled else scores
        allowed = np.tril(np.ones((positions, positions), bool)) if causal else np.ones((positions, positions), bool)
        e = np.where(allowed, np.exp(logits), 0)
        weights = e / e.sum(axis=1, keepdims=True)
        d_weights = d_out[:, cols] @ v[:, cols].T
        dv[:, cols] = weights.T @ d_out[:, cols]
        d_logits = np.zeros_like(scores)
        for i in range(positions):
            a = weights[i, allowed[i]]
            d_logits[i, allowed[i]] = (np.diag(a) - np.outer(a, a)).T @ d_weights[i, allowed[i]]
        d_scores = d_logits / np.sqrt(d) if scaled else d_logits
        dq[:, cols], dk[:, cols] = d_scores @ k[:, cols], d_scores.T @ q[:, cols]
        for i, j in zip(*np.nonzero(allowed)):
            index = ",".join(map(str, (0, *where, i, j)))
            out[f"dA1[{index}]"], out[f"dS1[{index}]"] = d_weights[i, j], d_scores[i, j]
            if scaled:
                out[f"dSc1[{index}]"] = d_logits[i, j]
    for kind, values in (("dq", dq), ("dk", dk), ("dv", dv)) + ((("dO", d_out),) if wo is not None else ()):
        out.update({f"{kind}1[0,{t},{m}]": values[t, m] for t, m in np.ndindex(*values.shape)})
    for kind, values in (("dWQ", dq.T @ x), ("dWK", dk.T @ x), ("dWV", dv.T @ x)):
        out.update({f"{kind}1[{i},{j}]": values[i, j] for i, j in np.ndindex(*values.shape)})
    return out


def test_each_backward_intermediate_is_a_quantity_with_its_value() -> None:
    for name, args in (("attention_three_tokens", (X, WQ, WK, WV, None, 1, False, False)),
                       ("transformer_block", (TX, TWQ, TWK, TWV, TWO, 2, True, True))):
        table = quantities.table(nnworked.solve(name))
        expected = _backward(*args, _upstream(table, 3, args[4].shape[0] if args[4] is not None else 3))
        backward = {key for key in table.values if quantities.parse(key).kind in quantities.GRADIENT_INTERMEDIATE}
        assert backward == {key for key in expected if not key.startswith("dW")}, name
        for key, value in expected.items():
            assert table.values[key] == pytest.approx(value, abs=1e-12), (name, key)
    # not scaled and no output weights: no dSc, no dO (∂L/∂O is ∂L/∂a1); causal: a masked pair is no quantity
    assert len(backward) == 12 * 7 and "dA1[0,1,0,1]" not in table and "dS1[0,0,1,2]" not in table


def test_each_backward_intermediate_is_worked_from_the_one_before_it() -> None:
    table = quantities.table(nnworked.solve("transformer_block"))
    assert table.depends("dO1[0,1,2]") == {f"da1[0,1,{o}]" for o in range(4)}  # ∂L/∂concat through W_O
    assert table.depends("dA1[0,1,2,0]") == {"dO1[0,2,2]", "dO1[0,2,3]", "v1[0,0,2]", "v1[0,0,3]"}  # head 1
    assert table.depends("dv1[0,1,2]") == {"A1[0,1,1,1]", "A1[0,1,2,1]", "dO1[0,1,2]", "dO1[0,2,2]"}  # rows i ≥ 1
    assert table.depends("dSc1[0,0,1,0]") == {"A1[0,0,1,0]", "A1[0,0,1,1]", "dA1[0,0,1,0]", "dA1[0,0,1,1]"}
    assert table.depends("dS1[0,0,1,0]") == {"dSc1[0,0,1,0]"}
    assert table.depends("dq1[0,1,0]") == {"dS1[0,0,1,0]", "dS1[0,0,1,1]", "k1[0,0,0]", "k1[0,1,0]"}
    assert table.depends("dk1[0,1,3]") == {"dS1[0,1,1,1]", "dS1[0,1,2,1]", "q1[0,1,3]", "q1[0,2,3]"}
    assert table.depends("dWQ1[2,0]") == {"dq1[0,0,2]", "dq1[0,1,2]", "dq1[0,2,2]"}  # the tokens are given
    assert table.depends("dWV1[0,1]") == {"dv1[0,0,0]", "dv1[0,1,0]", "dv1[0,2,0]"}


def test_the_backward_intermediates_are_worked_after_da_and_before_the_weights_gradients() -> None:
    trace = nnworked.solve("transformer_block")
    keys = sorted((key for key in quantities.table(trace).values if quantities.parse(key).layer == 1
                   and quantities.parse(key).kind.startswith("d")), key=quantities.sort_key)
    kinds = [quantities.parse(key).kind for key in keys]
    assert kinds[:96] == [kind for kind in ("da", "dO", "dA", "dv", "dSc", "dS", "dq", "dk") for _ in range(12)]
    assert set(kinds[96:]) == {"dWQ", "dWK", "dWV", "dWO"}


def test_a_blank_gradient_hides_exactly_it_and_what_is_worked_from_it() -> None:
    """attention_three_tokens with ∂L/∂Q₁[0,0] blank: its own line ends in ?, and ∂L/∂WQ₁[0,·] shows ? where it
    enters; ∂L/∂S₁ and the other rows of ∂L/∂Q₁ stay (their numbers checked in plain numpy here)."""
    table = quantities.table(nnworked.solve("attention_three_tokens"))
    expected = _backward(X, WQ, WK, WV, None, 1, False, False, _upstream(table, 3, 3))
    assert [round(expected[f"dS1[0,0,{j}]"], 4) for j in range(3)] == [-0.0142, 0.0580, -0.0438]
    assert (round(expected["dq1[0,1,0]"], 5), round(expected["dq1[0,2,0]"], 4)) == (-0.00277, -0.0179)
    lines = nnworked.exercise("attention_three_tokens", blanks="dq1[0,0,0]").sheet("terminal", width=100).splitlines()
    assert "    ∂L/∂Q₁[0,0] (dq1[0,0,0]) = (−0.0142 × 0) + (0.0580 × 4) + (−0.0438 × 2) = ?" in lines
    assert "    ∂L/∂Q₁[0,2] = (−0.0142 × 1) + (0.0580 × 0) + (−0.0438 × 1) = −0.0142 + 0 − 0.0438 = −0.0580" in lines
    assert "    ∂L/∂WQ₁[0,0] = (? × 1) + (−0.00277 × 0) + (−0.0179 × 1) = ? + 0 − 0.0179 = ?" in lines


def test_the_ai_by_hand_sheet_and_the_derivation_hide_a_blank_gradient_alone() -> None:
    """transformer_block with ∂L/∂S₁ of head 0, row 1, column 0 blank: on the AI by Hand sheet (a column per
    query token, so the cell is [0,1]) and in the derivation (--detail full) its line ends in ?, and ∂L/∂Q₁
    shows ? where it enters; its neighbour ∂L/∂S₁[1,1] stays."""
    table = quantities.table(nnworked.solve("transformer_block"))
    expected = _backward(TX, TWQ, TWK, TWV, TWO, 2, True, True, _upstream(table, 3, 4))
    assert round(expected["dSc1[0,0,1,0]"], 4) == -0.0235 and round(expected["dS1[0,0,1,1]"], 4) == 0.0166
    assert [round(v, 1) for v in (TX @ TWK.T)[:2, 0]] == [1.2, 1.6]  # K₁,₀[0,0], K₁,₀[1,0]
    exercise = nnworked.exercise("transformer_block", blanks="dS1[0,0,1,0]")
    by_hand = exercise.sheet("terminal", width=110, layout="ai-by-hand").splitlines()
    assert "    ∂L/∂S₁,₀[0,1] (dS1[0,0,1,0]) = −0.0235 / √(2) = ?" in by_hand
    assert "    ∂L/∂Q₁,₀[0,1] = (? × 1.2) + (0.0166 × 1.6) = ? + 0.0266 = ?" in by_hand
    derived = exercise.sheet("terminal", width=110, detail="full").splitlines()
    assert "    ∂L/∂S₁,₀[1,0] (dS1[0,0,1,0]) = −0.0235 / √(2) = ?" in derived
    assert "    ∂L/∂Q₁,₀[1,0] = (? × 1.2) + (0.0166 × 1.6) = ? + 0.0266 = ?" in derived


def test_the_gradient_of_an_attention_layers_input_is_worked_from_dq_dk_and_dv() -> None:
    """Attention twice: ∂L/∂a₁ sums the second layer's three paths, each from its own ∂L/∂q, ∂L/∂k, ∂L/∂v; its
    value is their products with the weights (checked in plain numpy)."""
    wq, wk, wv = [[1, 0], [0, 1]], [[0, 1], [1, 1]], [[1, -1], [2, 0]]
    first = {"type": "self_attention", "query_weights": [[1, 0], [0, 1]], "key_weights": [[1, 0], [0, 1]],
             "value_weights": [[1, 0], [0, 1]]}
    trace = nnworked.solve({"inputs": [[[1, 2], [0, 1]]], "targets": [[[1, 0], [0, 1]]], "loss": "mse",
                            "layers": [first, {"type": "self_attention", "query_weights": wq, "key_weights": wk,
                                               "value_weights": wv}, {"weights": [[1, 0], [0, 1]]}]})
    table = quantities.table(trace)
    assert table.depends("da1[0,1,0]") == {f"d{kind}2[0,1,{m}]" for kind in "qkv" for m in range(2)}
    paths = {kind: np.array([table.values[f"d{kind}2[0,1,{m}]"] for m in range(2)]) for kind in "qkv"}
    expected = paths["q"] @ np.array(wq) + paths["k"] @ np.array(wk) + paths["v"] @ np.array(wv)
    assert [table.values[f"da1[0,1,{f}]"] for f in range(2)] == pytest.approx(expected.tolist(), abs=1e-12)
