"""The bundled attention scenarios: attention_three_tokens against its source (Raimi Karim, "Illustrated:
Self-Attention", Towards Data Science, 2019) and ai-by-hand/8-self-attention against Tom Yeh's AI by Hand
exercise (Jeremy London's transcription), number by number, recording where each source is wrong; the
transformer block against PyTorch and finite differences (`verify`); the printed walkthroughs."""

from __future__ import annotations

import numpy as np
import pytest

import nnworked
from nnworked.attention_records import Attend
from tests.helpers import trace_of


def _attend(name: str) -> Attend:
    return next(r for r in trace_of(name).steps[0].forward.operations if isinstance(r, Attend))


def test_attention_three_tokens_reproduces_its_source_number_by_number() -> None:
    r = _attend("attention_three_tokens")
    # the source's queries, keys and values (its weights multiply from the right: ours are them turned)
    np.testing.assert_array_equal(r.q[0, 0], [[1, 0, 2], [2, 2, 2], [2, 1, 3]])
    np.testing.assert_array_equal(r.k[0, 0], [[0, 1, 1], [4, 4, 0], [2, 3, 1]])
    np.testing.assert_array_equal(r.v[0, 0], [[1, 2, 3], [2, 8, 0], [2, 6, 3]])
    np.testing.assert_array_equal(r.scores[0, 0, 0], [2, 4, 4])  # "[1, 0, 2] x keysᵀ = [2, 4, 4]"
    assert r.root is None  # its numbers are not divided by √d_k, though its formula says so
    # its code's softmax printout: [[0.063379, 0.46831, 0.46831], [6.0337e-06, 0.98201, 0.017986],
    # [2.9539e-04, 0.88054, 0.11917]]
    np.testing.assert_allclose(r.weights[0, 0], [[0.063379, 0.46831, 0.46831], [6.0337e-06, 0.98201, 0.017986],
                                                 [2.9539e-04, 0.88054, 0.11917]], rtol=5e-5)
    # its code's second printout of the outputs, from the softmax as computed
    np.testing.assert_allclose(r.a[0], [[1.9366, 6.6831, 1.5951], [2.0000, 7.9640, 0.0540],
                                        [1.9997, 7.7599, 0.3584]], atol=5e-5)


def test_where_the_source_is_wrong_nnworked_prints_the_right_value() -> None:
    r = _attend("attention_three_tokens")
    # the source rounds softmax([2, 4, 4]) to [0.0, 0.5, 0.5]: 0.0634 is 0.1 to one decimal, not 0.0
    assert round(float(r.weights[0, 0, 0, 0]), 1) == 0.1
    # so its outputs [2.0, 7.0, 1.5], [2.0, 8.0, 0.0], [2.0, 7.8, 0.3] are those of the rounded weights; to
    # one decimal the outputs are:
    np.testing.assert_array_equal(np.round(r.a[0], 1), [[1.9, 6.7, 1.6], [2.0, 8.0, 0.1], [2.0, 7.8, 0.4]])
    text = nnworked.run("attention_three_tokens").render("terminal", width=100)
    assert "0.0634" in text and "1.9366" in text and "6.6831" in text


def _columns_softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores)
    return e / e.sum(axis=0)


def test_ai_by_hand_self_attention_reproduces_the_exercise_where_it_is_exact() -> None:
    r = _attend("ai-by-hand/8-self-attention")
    # the transcription's X (a column per token), WQ, WK and WV, and what its code prints for Q, K and Kᵀ·Q
    x = np.array([[2, 0, 0, 2], [0, 1, 0, 0], [0, 2, 1, 0], [0, 0, 1, 1], [2, 0, 0, 0], [1, 0, 1, 1]])
    q = [[2, 1, 0, 2], [0, 1, 1, 1], [3, 2, 2, 1]]
    k = [[0, 2, 1, 0], [0, 1, 0, 0], [1, 0, -1, 1]]
    scores = [[3, 2, 2, 1], [4, 3, 1, 5], [-1, -1, -2, 1], [3, 2, 2, 1]]
    np.testing.assert_array_equal(r.inputs[0].T, x)
    np.testing.assert_array_equal(r.q[0, 0].T, q)  # ours: a row per token; the sheet's: a column
    np.testing.assert_array_equal(r.k[0, 0].T, k)
    np.testing.assert_array_equal(r.v[0, 0].T, [[20, 0, 0, 20], [0, 0, 10, 10], [0, 10, 0, 0]])
    np.testing.assert_array_equal(r.scores[0, 0].T, scores)  # Kᵀ·Q: row j a key, column i a query
    # from there the exact softmax down each column of Kᵀ·Q / √3, and Z = V·A, in plain numpy
    a = _columns_softmax(np.array(scores) / np.sqrt(3))
    np.testing.assert_allclose(r.weights[0, 0].T, a, rtol=1e-12)
    np.testing.assert_allclose(r.a[0].T, r.v[0, 0].T @ a, rtol=1e-12)
    np.testing.assert_allclose(trace_of("ai-by-hand/8-self-attention").steps[0].forward.output[0], r.a[0])


def test_where_the_ai_by_hand_exercise_approximates_nnworked_prints_the_exact_value() -> None:
    r = _attend("ai-by-hand/8-self-attention")
    scores = r.scores[0, 0].T
    # the exercise scales by whole numbers: its code floors a score over 2 (over √3, plus 1, below 0)
    theirs = np.where(scores < 0, np.floor(scores / np.sqrt(3)) + 1, np.floor(scores / 2))
    np.testing.assert_array_equal(theirs, [[1, 1, 1, 0], [2, 1, 0, 2], [0, 0, -1, 0], [1, 1, 1, 0]])
    assert r.scaled_scores[0, 0, 3, 1] == pytest.approx(5 / np.sqrt(3)) and round(5 / np.sqrt(3), 4) == 2.8868
    # e^x ≈ 3^x (a negative score's weight taken as 0), then the weights to one decimal
    e = np.where(theirs < 0, 0, 3.0 ** theirs)
    rounded = np.round(e / e.sum(axis=0), 1)
    np.testing.assert_array_equal(rounded[:, 0], [0.2, 0.6, 0.1, 0.2])  # a column that adds to 1.1
    np.testing.assert_allclose(r.weights[0, 0, 0], [0.2577, 0.4590, 0.0256, 0.2577], atol=5e-5)
    # the transcription's last line takes V·Aᵀ: its Z is neither V·A of its weights nor the exact Z
    v = r.v[0, 0].T
    np.testing.assert_array_equal((v @ rounded.T)[:, 0], [6, 5, 3])
    np.testing.assert_array_equal((v @ rounded)[:, 0], [8, 3, 6])
    np.testing.assert_allclose(r.a[0, 0], [10.3076, 2.8328, 4.5903], atol=5e-5)
    text = nnworked.run("ai-by-hand/8-self-attention").render("terminal", width=100)
    assert "A₁[1,0] = e^(2.3094) / (e^(1.7321) + e^(2.3094) + e^(−0.5774) + e^(1.7321))" in text
    assert "= 10.0684 / (5.6522 + 10.0684 + 0.5614 + 5.6522) = 10.0684 / 21.9342 = 0.4590" in text
    assert "Z₁[0,0] = (0.2577 × 20) + (0.4590 × 0) + (0.0256 × 0) + (0.2577 × 20) = 5.1538 + 0 + 0 + 5.1538" in text


def test_the_attention_scenarios_pass_verify() -> None:
    for name in ("attention_three_tokens", "transformer_block", "ai-by-hand/8-self-attention"):
        result = nnworked.verify(name)
        assert result.ok, name


def test_the_transformer_block_agrees_with_pytorch_step_by_step() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install '.[torch]')")
    trace = trace_of("transformer_block")
    step = trace.steps[0]
    x = torch.tensor(trace.scenario.inputs, requires_grad=False)
    params = {name: torch.tensor(value, requires_grad=True) for name, value in
              ((u.name, u.old) for u in step.updates)}
    n, t, _ = x.shape

    def heads(w):  # noqa: ANN001, ANN202
        return (x @ w.T).reshape(n, t, 2, 2).transpose(1, 2)

    attended = torch.nn.functional.scaled_dot_product_attention(
        heads(params["WQ1"]), heads(params["WK1"]), heads(params["WV1"]), is_causal=True)
    a1 = attended.transpose(1, 2).reshape(n, t, 4) @ params["WO1"].T
    a3 = torch.nn.functional.layer_norm(a1 + x, (4,), params["gamma3"], params["beta3"], eps=1e-5)
    z4 = a3 @ params["W4"].T + params["b4"]
    targets = torch.tensor(trace.scenario.targets.reshape(n, t, -1))
    loss = torch.nn.functional.cross_entropy(z4.reshape(n * t, -1), targets.reshape(n * t, -1).argmax(-1)
                                             if targets.shape[-1] > 1 else targets.reshape(-1).long())
    loss.backward()
    assert step.loss.value == pytest.approx(float(loss.detach()), rel=1e-12)
    for update in step.updates:
        np.testing.assert_allclose(update.grad, params[update.name].grad.numpy(), rtol=1e-9, atol=1e-12,
                                   err_msg=update.name)


def _random_attention(rng: np.random.Generator, causal: bool, heads: int, output: bool, **options: object) -> dict:
    """A small sequence scenario: self_attention, residual, layer_norm, a dense softmax at every position."""
    examples, positions, features = int(rng.integers(1, 3)), int(rng.integers(1, 4)), 2 * heads

    def draw(*shape: int) -> list:
        return np.round(rng.uniform(-1, 1, shape), 1).tolist()
    attention = {"type": "self_attention", "heads": heads, "causal": causal,
                 **{key: draw(features, features) for key in ("query_weights", "key_weights", "value_weights")}}
    if output:
        attention["output_weights"] = draw(features, features)
    return {"inputs": draw(examples, positions, features),
            "targets": rng.integers(0, 2, (examples, positions, 1)).tolist(), "loss": "cross_entropy",
            "learning_rate": 0.1, **options,
            "layers": [attention, {"type": "residual", "from": "input"}, {"type": "layer_norm"},
                       {"weights": draw(2, features), "bias": [0, 0], "activation": "softmax"}]}


@pytest.mark.parametrize("seed", range(6))
def test_carried_values_are_what_the_printed_workings_evaluate_to(seed: int) -> None:
    from nnworked import quantities, worked
    from nnworked.attentionworked import Back, Head
    from nnworked.engine.network import solve
    from nnworked.workings import Place

    rng = np.random.default_rng(seed)
    data = _random_attention(rng, bool(seed % 2), 1 + seed % 2, seed % 3 != 0, rounding="carry",
                             precision=int(rng.integers(3, 5)))
    trace = solve(nnworked.load(data))
    table, precision = quantities.table(trace), trace.precision
    for key, value in table.values.items():  # every quantity: forward, loss, backward, updated
        assert worked.value(table.expression(key), precision) == value, key
    step = trace.steps[0]
    f = next(r for r in step.forward.operations if isinstance(r, Attend))
    g = next(r for r in step.backward if type(r).__name__ == "AttentionGradient")
    examples, heads, positions, d_k = f.q.shape
    for e, h in np.ndindex(examples, heads):  # every intermediate the walkthrough prints, as carried
        place = Place(trace, quantities.parse(f"a1[{e},0,0]"), examples, (0, 0), e, True, sequence=True)
        head, back = Head(f, place, e, h), Back(g, place, e, f)
        value = lambda expr: worked.value(expr, precision)  # noqa: E731
        for t, d in np.ndindex(positions, d_k):
            assert value(head.projection("Q", t, d)) == f.q[e, h, t, d]
            assert value(head.projection("V", t, d)) == f.v[e, h, t, d]
            assert value(head.mixed(t, d)) == f.mixed[e, h, t, d]
            assert value(back.query(h, t, d)) == g.query_grad[e, h, t, d]
            assert value(back.key(h, t, d)) == g.key_grad[e, h, t, d]
            assert value(back.value(h, t, d)) == g.value_grad[e, h, t, d]
        for i in range(positions):
            for j in head.allowed(i):
                assert value(head.score(i, j)) == f.scores[e, h, i, j]
                assert value(head.scaled(i, j)) == f.scaled_scores[e, h, i, j]
                assert value(head.softmax(i, j)) == f.weights[e, h, i, j]
                assert value(back.weights(h, i, j)) == g.weights_grad[e, h, i, j]
                assert value(back.logits(h, i, j)) == g.logits_grad[e, h, i, j]
                assert value(back.scores(h, i, j)) == g.scores_grad[e, h, i, j]
