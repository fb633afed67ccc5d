"""Self-attention's arithmetic (nnworked.engine.attention, the self_attention rule): against central finite
differences, against the plain-numpy reference in tests/attention_reference.py, against PyTorch where it
is installed, and in the carried rounding mode, over random lengths, sizes, heads and masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnworked.engine import carry
from nnworked.engine.attention import attend, attend_back
from nnworked.engine.backend import Carried, Exact
from tests import attention_reference as reference


def _draw(seed: int, examples: int, positions: int, features: int, heads: int, d_k: int, d_v: int,
          outputs: int | None) -> dict:
    rng = np.random.default_rng(seed)
    return dict(x=rng.normal(size=(examples, positions, features)),
                wq=rng.normal(size=(heads * d_k, features)), wk=rng.normal(size=(heads * d_k, features)),
                wv=rng.normal(size=(heads * d_v, features)),
                wo=None if outputs is None else rng.normal(size=(outputs, heads * d_v)), heads=heads)


SHAPES = dict(seed=st.integers(0, 10**6), examples=st.integers(1, 3), positions=st.integers(1, 5),
              features=st.integers(1, 4), heads=st.integers(1, 3), d_k=st.integers(1, 3), d_v=st.integers(1, 3),
              outputs=st.none() | st.integers(1, 3), causal=st.booleans(), scaled=st.booleans())


def _solve(math, p: dict, causal: bool, scaled: bool, gradient: np.ndarray | None = None):  # noqa: ANN001, ANN202
    record = attend(math, 2, p["x"], p["wq"], p["wk"], p["wv"], p["wo"], p["heads"], causal, scaled, True)
    if gradient is None:
        return record, None, None
    grads, back = attend_back(math, record, gradient, to_input=True)
    return record, grads, back


def _analytic(grads, back) -> dict:  # noqa: ANN001
    out = {"X": back.upstream, "WQ": grads.query_weights_grad, "WK": grads.key_weights_grad,
           "WV": grads.value_weights_grad}
    if grads.output_grad is not None:
        out["WO"] = grads.output_grad
    return out


_KEYS = {"X": "x", "WQ": "wq", "WK": "wk", "WV": "wv", "WO": "wo"}


@settings(max_examples=60, deadline=None)
@given(**SHAPES)
def test_every_gradient_agrees_with_central_finite_differences(seed, examples, positions, features, heads, d_k, d_v,
                                                               outputs, causal, scaled) -> None:  # noqa: ANN001
    p = _draw(seed, examples, positions, features, heads, d_k, d_v, outputs)
    upstream = np.random.default_rng(seed + 1).normal(size=(examples, positions, outputs or heads * d_v))
    record, grads, back = _solve(Exact(), p, causal, scaled, upstream)

    def loss(changed: dict) -> float:  # L = Σ ∂L/∂a ⊙ a, so ∂L/∂a is the upstream gradient given
        return float((_solve(Exact(), changed, causal, scaled)[0].a * upstream).sum())

    h = 1e-6
    for name, analytic in _analytic(grads, back).items():
        key = _KEYS[name]
        for index in np.ndindex(*p[key].shape):
            plus, minus = p[key].copy(), p[key].copy()
            plus[index] += h
            minus[index] -= h
            numeric = (loss({**p, key: plus}) - loss({**p, key: minus})) / (2 * h)
            assert analytic[index] == pytest.approx(numeric, rel=1e-5, abs=1e-6), (name, index)


@settings(max_examples=60, deadline=None)
@given(**SHAPES)
def test_forward_and_backward_agree_with_the_plain_numpy_reference(seed, examples, positions, features, heads, d_k,
                                                                   d_v, outputs, causal, scaled) -> None:  # noqa: ANN001
    p = _draw(seed, examples, positions, features, heads, d_k, d_v, outputs)
    upstream = np.random.default_rng(seed + 2).normal(size=(examples, positions, outputs or heads * d_v))
    record, grads, back = _solve(Exact(), p, causal, scaled, upstream)
    args = (p["x"], p["wq"], p["wk"], p["wv"], p["wo"], heads, causal, scaled)
    expected, saved = reference.forward(*args)
    np.testing.assert_allclose(record.a, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(record.weights, saved["weights"], rtol=1e-12, atol=1e-12)
    want = reference.backward(*args, upstream)
    for name, analytic in _analytic(grads, back).items():
        np.testing.assert_allclose(analytic, want[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_a_causal_mask_gives_later_positions_no_weight_and_each_row_sums_to_one() -> None:
    p = _draw(3, 2, 4, 3, 2, 2, 2, None)
    record, _, _ = _solve(Exact(), p, True, True)
    assert np.all(record.weights[..., np.triu_indices(4, 1)[0], np.triu_indices(4, 1)[1]] == 0)
    np.testing.assert_allclose(record.weights.sum(axis=-1), 1.0)
    assert np.all(record.weights[..., 0, 0] == 1.0)  # the first position sees only itself


def test_a_hand_worked_single_head_example() -> None:
    """Two tokens, d_k = 1, unscaled: scores q·k worked by hand."""
    x = np.array([[[1.0, 0.0], [0.0, 1.0]]])
    wq, wk, wv = np.array([[1.0, 1.0]]), np.array([[2.0, 0.0]]), np.array([[1.0, 3.0]])
    record = attend(Exact(), 1, x, wq, wk, wv, None, 1, False, False, True)
    # q = [1, 1], k = [2, 0], v = [1, 3]; scores row i = q_i × [2, 0] = [2, 0] for both rows
    np.testing.assert_array_equal(record.scores[0, 0], [[2.0, 0.0], [2.0, 0.0]])
    a = np.exp(2) / (np.exp(2) + 1)  # softmax([2, 0])
    np.testing.assert_allclose(record.weights[0, 0, 0], [a, 1 - a])
    np.testing.assert_allclose(record.a[0, :, 0], [a * 1 + (1 - a) * 3] * 2)


@settings(max_examples=100, deadline=None)
@given(**SHAPES)
def test_the_carried_mode_rounds_every_value_and_stays_near_the_exact_one(seed, examples, positions, features, heads,
                                                                          d_k, d_v, outputs, causal, scaled) -> None:  # noqa: ANN001
    p = _draw(seed, examples, positions, features, heads, d_k, d_v, outputs)
    # moderate numbers, as a hand-worked exercise has: a row of scores far below 0 has every e^z round to 0
    # at the carried decimals (0/0), which the solver reports as undefined with a hint to raise the precision
    p = {key: np.round(value / 2, 1) if isinstance(value, np.ndarray) else value for key, value in p.items()}
    upstream = np.round(np.random.default_rng(seed + 3).normal(size=(examples, positions, outputs or heads * d_v)), 2)
    exact = _solve(Exact(), p, causal, scaled, upstream)
    carried = _solve(Carried(carry.Carrier(6)), p, causal, scaled, upstream)
    for mine, theirs in ((carried[0].a, exact[0].a), (carried[0].weights, exact[0].weights),
                         *zip(_analytic(*carried[1:]).values(), _analytic(*exact[1:]).values())):
        np.testing.assert_array_equal(mine, np.round(mine, 6))  # every value carried at 6 decimals
        np.testing.assert_allclose(mine, theirs, atol=1e-3 * max(1.0, float(np.abs(theirs).max())))


def test_the_carried_root_of_d_k_is_rounded_once() -> None:
    assert Carried(carry.Carrier(4)).root(2) == 1.4142
    assert Exact().root(4) == 2.0


@settings(max_examples=25, deadline=None)
@given(**SHAPES)
def test_agrees_with_pytorch_scaled_dot_product_attention(seed, examples, positions, features, heads, d_k, d_v,
                                                          outputs, causal, scaled) -> None:  # noqa: ANN001
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install '.[torch]')")
    p = _draw(seed, examples, positions, features, heads, d_k, d_v, outputs)
    upstream = np.random.default_rng(seed + 4).normal(size=(examples, positions, outputs or heads * d_v))
    record, grads, back = _solve(Exact(), p, causal, scaled, upstream)
    x = torch.tensor(p["x"], requires_grad=True)
    weights = {name: torch.tensor(p[_KEYS[name]], requires_grad=True) for name in ("WQ", "WK", "WV", "WO")
               if p[_KEYS[name]] is not None}

    def split(w):  # noqa: ANN001, ANN202
        return (x @ w.T).reshape(examples, positions, heads, -1).transpose(1, 2)

    out = torch.nn.functional.scaled_dot_product_attention(
        split(weights["WQ"]), split(weights["WK"]), split(weights["WV"]), is_causal=causal,
        scale=None if scaled else 1.0).transpose(1, 2).reshape(examples, positions, -1)
    if "WO" in weights:
        out = out @ weights["WO"].T
    (out * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(record.a, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    analytic = _analytic(grads, back)
    np.testing.assert_allclose(analytic["X"], x.grad.numpy(), rtol=1e-9, atol=1e-12)
    for name, tensor in weights.items():
        np.testing.assert_allclose(analytic[name], tensor.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_agrees_with_pytorch_multihead_attention_given_the_same_weights() -> None:
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install '.[torch]')")
    p = _draw(11, 2, 5, 4, 2, 2, 2, 4)  # nn.MultiheadAttention: d_in = d_model = d_v, with output weights
    module = torch.nn.MultiheadAttention(4, 2, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        module.in_proj_weight.copy_(torch.tensor(np.concatenate([p["wq"], p["wk"], p["wv"]])))
        module.out_proj.weight.copy_(torch.tensor(p["wo"]))
    x = torch.tensor(p["x"])
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), 1)
    for causal in (False, True):
        expected, _ = module(x, x, x, need_weights=False, attn_mask=mask if causal else None)
        record, _, _ = _solve(Exact(), p, causal, True)
        np.testing.assert_allclose(record.a, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
