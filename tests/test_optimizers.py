"""Optimizers over several steps against values computed here independently, and their arithmetic as the
walkthrough shows it (momentum's velocity, RMSprop's running mean, Adam's m, v, m̂ and v̂, weight decay)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnworked import bundled, scenario
from nnworked.engine.network import solve
from nnworked.render import get
from nnworked.render.settings import Settings


def spam_with(tmp_path: Path, optimizer: str, steps: int = 3, extra: str = "") -> scenario.Scenario:
    text = (bundled.ROOT / "spam.yaml").read_text().replace("steps: 1", f"steps: {steps}")
    path = tmp_path / "s.yaml"
    path.write_text(text + f"optimizer: {optimizer}\n" + extra)
    return scenario.load(str(path))


def by_hand(s: scenario.Scenario, rule, steps: int) -> list[dict[str, np.ndarray]]:  # noqa: ANN001
    """Plain gradient descent on the spam network with `rule(θ, g, state, t)`, gradients from scratch."""
    W1, b1, W2, b2 = (l.weights.copy() if i % 2 == 0 else l.bias.copy()
                      for l in s.layers for i in (0, 1))
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    state: dict[str, dict] = {k: {} for k in params}
    history = []
    x, y = s.inputs[0], s.targets[0]
    for t in range(1, steps + 1):
        z1 = params["W1"] @ x + params["b1"]
        h = np.maximum(z1, 0)
        yhat = 1 / (1 + np.exp(-(params["W2"] @ h + params["b2"])))
        d2 = yhat - y
        d1 = (params["W2"].T @ d2) * (z1 > 0)
        grads = {"W2": np.outer(d2, h), "b2": d2, "W1": np.outer(d1, x), "b1": d1}
        params = {k: rule(params[k], grads[k], state[k], t) for k in params}
        history.append({k: v.copy() for k, v in params.items()})
    return history


def adam(lr=0.1, b1=0.9, b2=0.999, eps=1e-8, decay=0.0):  # noqa: ANN001, ANN201
    def rule(theta, g, state, t):  # noqa: ANN001, ANN202
        g = g + decay * theta
        state["m"] = b1 * state.get("m", 0) + (1 - b1) * g
        state["v"] = b2 * state.get("v", 0) + (1 - b2) * g * g
        m_hat, v_hat = state["m"] / (1 - b1**t), state["v"] / (1 - b2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return rule


def test_adam_over_three_steps(tmp_path: Path) -> None:
    trace = solve(spam_with(tmp_path, "{name: adam, beta1: 0.8, beta2: 0.99}"))
    expected = by_hand(trace.scenario, adam(b1=0.8, b2=0.99), 3)
    for step, want in zip(trace.steps, expected):
        for u in step.updates:
            np.testing.assert_allclose(u.new, want[u.name], rtol=1e-12, err_msg=f"{u.name}, step {step.number}")


def test_weight_decay_is_its_own_gradient_term(tmp_path: Path) -> None:
    trace = solve(spam_with(tmp_path, "{name: sgd, weight_decay: 0.01}"))
    expected = by_hand(trace.scenario, lambda th, g, st, t: th - 0.1 * (g + 0.01 * th), 3)
    for step, want in zip(trace.steps, expected):
        for u in step.updates:
            np.testing.assert_allclose(u.new, want[u.name], rtol=1e-12)
    text = get("markdown")(trace, Settings())
    assert "g = ∂L/∂θ + λ·θ" in text
    assert "g[0] = −0.0799 + (0.01 × 0.5) = −0.0799 + 0.005 = −0.0749" in text  # the decay term, written out
    assert "W₂[0]_new = 0.5 − (0.1 × (−0.0749)) = 0.5 + 0.00749 = 0.5075" in text


def test_adam_state_arithmetic_is_shown_per_parameter(tmp_path: Path) -> None:
    trace = solve(spam_with(tmp_path, "adam", steps=2))
    text = get("markdown")(trace, Settings(all_steps=True))
    # step 1, b₂: g = −0.3806; m = 0.1·g, v = 0.001·g², m̂ = m / 0.1, v̂ = v / 0.001, then the update
    assert "m = (0.9 × 0) + (0.1 × (−0.3806)) = 0 − 0.0381 = −0.0381" in text
    assert "v = (0.999 × 0) + (0.001 × (−0.3806)²) = 0 + (0.001 × 0.1449) = 0 + 0.000145 = 0.000145" in text
    assert "m̂ = −0.0381 / (1 − 0.9¹) = −0.0381 / (1 − 0.9) = −0.0381 / 0.1 = −0.3806" in text
    assert "The state carries over from step 1; t = 2." in text
    data = get("json")(trace, Settings())
    assert '"m_hat"' in data and '"optimizer_state"' in data


@pytest.mark.parametrize("optimizer", ["momentum", "{name: rmsprop, epsilon: 0.001}", "{name: sgd, weight_decay: 0.1}"])
def test_carried_updates_print_exactly_what_the_engine_uses(tmp_path: Path, optimizer: str) -> None:
    s = spam_with(tmp_path, optimizer, steps=2).with_options(rounding="carry")
    trace = solve(s)
    text = get("markdown")(trace, Settings(all_steps=True))
    step2 = text.split("## Training Step 2")[1]
    new_b2 = [u for u in trace.steps[1].updates if u.name == "b2"][0].new[0]
    lines = step2.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("b₂_new = "))
    following = []
    for l in lines[start + 1:]:
        if not l.startswith("       = "):
            break
        following.append(" = " + l.strip()[2:])
    worked_out = lines[start] + "".join(following)
    printed = worked_out.rsplit(" = ", 1)[1]
    assert float(printed.replace("−", "-")) == pytest.approx(new_b2, abs=1e-12)  # carried: exactly as used


def test_carrying_adam_at_four_decimals_says_why_it_cannot(tmp_path: Path) -> None:
    from nnworked.errors import NumericalError

    # v = 0.001 × g² rounds to 0 at four decimals, and so does √v̂ + ε: the division is undefined
    with pytest.raises(NumericalError, match="with rounding: carry a small value can round to 0"):
        solve(spam_with(tmp_path, "adam").with_options(rounding="carry"))
