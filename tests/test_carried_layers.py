"""Carried credit backward through the layers beyond dense ones (issue 13, "a value right for the student's
own earlier values earns its credit through any operation"): batch_norm and layer_norm (∂L/∂a into ∂L/∂γ,
∂L/∂β and ∂L/∂x through both sums; a wrong input into ∂L/∂γ through x̂), a residual's skip gradient, and
dropout. Each student's own values are worked here independently: the normalisation's backward by the
textbook derivation through ∂L/∂σ² and ∂L/∂μ (Ioffe & Szegedy 2015), not the compact form nnworked prints;
under `rounding: carry`, stage by stage with Decimal rounding half away from zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np

import nnworked
from nnworked import sheets
from nnworked.grading import grade

GAMMA = np.array([2.0, 3.0, -1.0])  # batch_norm_step's γ


def marks_of(trace, rule: str, changed: dict[str, float]) -> dict[str, str]:  # noqa: ANN001
    """Each asked value's status, every answer as the key prints it but `changed`."""
    keys = sheets.choose(trace, rule, 1)
    values = sheets.quantities(trace)
    answers = {k: round(values[k], trace.precision.decimals_for(values[k])) for k in keys}
    answers.update(changed)
    return {m.key: m.status for m in grade(trace, keys, answers)}


def norm_backward(x: np.ndarray, dy: np.ndarray, gamma: np.ndarray, axis: int) -> tuple[np.ndarray, ...]:
    """∂L/∂x, ∂L/∂γ and ∂L/∂β of y = γ·x̂ + β (ε = 0), through x̂, σ² and μ separately."""
    m = x.shape[axis]
    mu, var = x.mean(axis, keepdims=True), x.var(axis, keepdims=True)
    xhat = (x - mu) / np.sqrt(var)
    dxhat = dy * gamma
    dvar = (dxhat * (x - mu) * -0.5 * var ** -1.5).sum(axis, keepdims=True)
    dmu = (-dxhat / np.sqrt(var)).sum(axis, keepdims=True) + dvar * (-2 * (x - mu)).mean(axis, keepdims=True)
    dx = dxhat / np.sqrt(var) + dvar * 2 * (x - mu) / m + dmu / m
    return dx, (dy * xhat).sum(0), dy.sum(0)


def batch_norm_answers(values: dict[str, float], wrong: float) -> dict[str, float]:
    """A student who wrote ∂L/∂a₂[0] of example 0 as `wrong` and worked everything after it correctly from
    that value (each answer rounded to 4 decimals, and worked from their own rounded answers)."""
    a1 = np.array([[values[f"a1[{j},{n}]"] for j in range(3)] for n in range(4)])
    z1 = np.array([[values[f"z1[{j},{n}]"] for j in range(3)] for n in range(4)])
    da2 = np.array([[round(values[f"da2[{j},{n}]"], 4) for j in range(3)] for n in range(4)])
    da2[0, 0] = wrong
    da1, dgamma, dbeta = norm_backward(a1, da2, GAMMA, 0)
    da1 = np.round(da1, 4)
    dz1 = da1 * (z1 > 0)  # ReLU
    x = np.array([[1, 0, 2], [0, 3, 1], [3, 1, 0], [0, 1, 2]], dtype=float)  # the scenario's inputs
    dW1 = dz1.T @ x
    out = {"da2[0,0]": wrong}
    for j in range(3):
        out[f"dgamma2[{j}]"], out[f"dbeta2[{j}]"] = round(dgamma[j], 4), round(dbeta[j], 4)
        for n in range(4):
            out[f"da1[{j},{n}]"], out[f"dz1[{j},{n}]"] = da1[n, j], round(dz1[n, j], 4)
        for i in range(3):
            out[f"dW1[{j},{i}]"] = round(dW1[j, i], 4)
    return out


RULE = "da2, dgamma2, dbeta2, da1, dz1, dW1"


def test_a_wrong_upstream_gradient_carries_through_batch_norm_into_every_value_after_it() -> None:
    trace = nnworked.solve("batch_norm_step", keep=1)
    values = sheets.quantities(trace)
    assert round(values["da2[0,0]"], 4) == -0.0046
    answers = batch_norm_answers(values, 0.5)
    # feature 0's values follow from the wrong ∂L/∂a₂ (both sums of its group, so every example's ∂L/∂x),
    # and dW1's row 0 from those; the rest differ from the key only by the student's rounded digits
    assert answers["da1[0,1]"] == -0.0023 and round(values["da1[0,1]"], 4) == -0.113
    assert (answers["dbeta2[1]"], round(values["dbeta2[1]"], 4)) == (-0.0316, -0.0317)
    marks = marks_of(trace, RULE, answers)
    carried = {"dgamma2[0]", "dbeta2[0]", *(f"da1[0,{n}]" for n in range(4)), *(f"dz1[0,{n}]" for n in range(4)),
               *(f"dW1[0,{i}]" for i in range(3))}
    assert all(abs(answers[k] - values[k]) > 0.01 for k in carried)
    assert marks["da2[0,0]"] == "wrong"
    assert {k for k, status in marks.items() if status == "carried"} == carried
    assert {marks[k] for k in marks.keys() - carried - {"da2[0,0]"}} == {"correct"}


def test_a_value_wrong_even_for_the_students_own_gradient_earns_nothing() -> None:
    trace = nnworked.solve("batch_norm_step", keep=1)
    answers = batch_norm_answers(sheets.quantities(trace), 0.5)
    for key in ("da1[0,2]", "dgamma2[0]", "dbeta2[0]"):
        # (0.001 off is within what the student's own rounded answers allow: 0.5 written with one decimal)
        marks = marks_of(trace, RULE, {**answers, key: answers[key] + 0.005})
        assert marks[key] == "wrong"
        assert marks["da1[0,0]"] == "carried"


def test_a_wrong_input_carries_into_the_scale_gradient_through_its_normalised_values() -> None:
    # a₁[0] of example 0 written 4 for 3: feature 0's mean, variance and every x̂ move, so ∂L/∂γ₀ = Σ ∂L/∂a₂ × x̂
    trace = nnworked.solve("batch_norm_step", keep=1)
    values = sheets.quantities(trace)
    assert values["a1[0,0]"] == 3.0
    a1 = np.array([values[f"a1[0,{n}]"] for n in range(4)])
    a1[0] = 4.0
    xhat = (a1 - a1.mean()) / a1.std()
    own = round(float(sum(round(values[f"da2[0,{n}]"], 4) * xhat[n] for n in range(4))), 4)
    assert own != round(values["dgamma2[0]"], 4)
    marks = marks_of(trace, "a1[0,0], da2, dgamma2", {"a1[0,0]": 4.0, "dgamma2[0]": own})
    assert (marks["a1[0,0]"], marks["dgamma2[0]"]) == ("wrong", "carried")


def _round(value: Decimal | float) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def test_under_carry_the_norms_backward_is_worked_from_the_students_own_rounded_gradient() -> None:
    # each stage rounded to 4 places as the walkthrough prints it: ∂L/∂x̂ = R(∂L/∂a × γ), S₁ = R(Σ ∂L/∂x̂),
    # S₂ = R(Σ R(∂L/∂x̂ × x̂)), ∂L/∂x = R(R(R(4·∂L/∂x̂) − S₁) − R(x̂·S₂)) / R(4σ)), x̂ and σ likewise
    trace = nnworked.solve("batch_norm_step", rounding="carry", keep=1)
    values = sheets.quantities(trace)
    x = [Decimal(v) for v in (3, 1, 3, 2)]  # feature 0 of a₁ = ReLU(x·W₁[0])
    assert [values[f"a1[0,{n}]"] for n in range(4)] == [float(v) for v in x]
    mean = _round(sum(x) / 4)
    std = _round(Decimal(float(_round(sum(_round(_round(v - mean) ** 2) for v in x) / 4))).sqrt())
    xhat = [_round(_round(v - mean) / std) for v in x]
    assert (xhat, std) == ([Decimal(v) for v in ("0.9045", "-1.5075", "0.9045", "-0.3015")], Decimal("0.8292"))
    da2 = [_round(values[f"da2[0,{n}]"]) for n in range(4)]
    da2[0] = Decimal("0.5")
    ghat = [_round(g * 2) for g in da2]
    s1, s2 = _round(sum(ghat)), _round(sum(_round(g * x) for g, x in zip(ghat, xhat)))
    own = {f"da1[0,{n}]": float(_round((_round(_round(4 * ghat[n]) - s1) - _round(xhat[n] * s2)) / _round(4 * std)))
           for n in range(4)}
    assert own["da1[0,1]"] != values["da1[0,1]"]
    marks = marks_of(trace, "da2, da1", {"da2[0,0]": 0.5, **own})
    assert marks["da2[0,0]"] == "wrong"
    assert [marks[f"da1[0,{n}]"] for n in range(4)] == ["carried"] * 4
    # one unit of the last place off is wrong under carry, where the student rounds as the key does
    marks = marks_of(trace, "da2, da1", {"da2[0,0]": 0.5, **own, "da1[0,1]": own["da1[0,1]"] + 0.0001})
    assert marks["da1[0,1]"] == "wrong"


LAYER_NORM = {"inputs": [[1, 2, 4], [0, 1, -1]], "targets": [[1], [0]],
              "layers": [{"type": "layer_norm", "gamma": [1, 2, 0.5], "beta": [0, 0, 0], "epsilon": 0},
                         {"weights": [[1, -1, 0.5]], "bias": [0], "activation": "sigmoid"}],
              "loss": "binary_cross_entropy", "precision": 4}


def test_a_wrong_upstream_gradient_carries_through_layer_norm_into_its_examples_values() -> None:
    trace = nnworked.solve(LAYER_NORM, keep=1)
    values = sheets.quantities(trace)
    dy = np.array([[round(values[f"da1[{j},{n}]"], 4) for j in range(3)] for n in range(2)])
    dy[0, 1] = 0.25  # example 0's ∂L/∂a₁[1]
    x = np.array(LAYER_NORM["inputs"], dtype=float)
    dx = np.zeros_like(x)
    for n in range(2):  # layer norm: each example is its own group
        dx[n] = norm_backward(x[n:n + 1].T, dy[n:n + 1].T, np.array([[1], [2], [0.5]]), 0)[0][:, 0]
    own = {f"dgamma1[{j}]": round(float((dy[:, j] * (x[:, j] - x.mean(1)) / x.std(1)).sum()), 4) for j in range(3)}
    own.update({f"dbeta1[{j}]": round(float(dy[:, j].sum()), 4) for j in range(3)})
    changed = {"da1[1,0]": 0.25, "dgamma1[1]": own["dgamma1[1]"], "dbeta1[1]": own["dbeta1[1]"],
               **{f"da0[{j},0]": round(float(dx[0, j]), 4) for j in range(3)}}
    # ∂L/∂x of the network's inputs is no quantity: the layer's own gradients and ∂L/∂a₁ are asked
    keys = sheets.choose(trace, "da1, dgamma1, dbeta1", 1)
    answers = {k: round(values[k], 4) for k in keys}
    answers.update({k: v for k, v in changed.items() if k in keys})
    marks = {m.key: m.status for m in grade(trace, keys, answers)}
    assert marks["da1[1,0]"] == "wrong"
    assert (marks["dgamma1[1]"], marks["dbeta1[1]"]) == ("carried", "carried")
    assert {marks[k] for k in keys - {"da1[1,0]", "dgamma1[1]", "dbeta1[1]"}} == {"correct"}


LAYER_NORM_INSIDE = {**LAYER_NORM, "layers": [{"weights": [[1, 0], [0, 1], [1, 1]], "bias": [0, 0, 1]},
                                               *LAYER_NORM["layers"]], "inputs": [[1, 2], [0, 1]]}


def test_through_layer_norm_into_the_gradient_of_the_layer_before() -> None:
    trace = nnworked.solve(LAYER_NORM_INSIDE, keep=1)
    values = sheets.quantities(trace)
    x = np.array([[values[f"a1[{j},{n}]"] for j in range(3)] for n in range(2)])
    assert x.tolist() == [[1, 2, 4], [0, 1, 2]]
    dy = np.array([[round(values[f"da2[{j},{n}]"], 4) for j in range(3)] for n in range(2)])
    dy[0, 1] = 0.25
    dx = norm_backward(x[0:1].T, dy[0:1].T, np.array([[1], [2], [0.5]]), 0)[0][:, 0]
    own = {f"da1[{j},0]": round(float(dx[j]), 4) for j in range(3)}
    assert all(own[k] != round(values[k], 4) for k in own)
    marks = marks_of(trace, "da2, da1", {"da2[1,0]": 0.25, **own})
    assert marks["da2[1,0]"] == "wrong"
    assert [marks[f"da1[{j},0]"] for j in range(3)] == ["carried"] * 3
    assert {marks[f"da1[{j},1]"] for j in range(3)} == {"correct"}  # example 1 is a group of its own


def test_a_wrong_gradient_carries_along_a_residuals_skip() -> None:
    # residual_block: ∂L/∂a₁ = W₂ᵀ·δ₂ (the main path) + ∂L/∂a₄ (the skip); ∂L/∂a₄[0] written 1 for 2
    trace = nnworked.solve("residual_block", keep=1)
    values = sheets.quantities(trace)
    assert (values["da4[0]"], values["da1[0]"]) == (2.0, 3.0)
    # da3 = da4 (passed on), δ₃ = da3 (linear), da2 = 0.5·δ₃[0], δ₂ = da2 (ReLU on), da1 = 1·δ₂[0] + 0·δ₂[1] + da4
    own = {"da4[0]": 1.0, "da3[0]": 1.0, "dz3[0]": 1.0, "da2[0]": 0.5, "dz2[0]": 0.5, "da1[0]": 1.5, "dz1[0]": 1.5}
    marks = marks_of(trace, "da4, da3, dz3, da2, dz2, da1, dz1", own)
    assert marks["da4[0]"] == "wrong"
    assert [marks[k] for k in own if k != "da4[0]"] == ["carried"] * 6
    assert marks_of(trace, "da4, da3, dz3, da2, dz2, da1, dz1", {**own, "da1[0]": 2.0})["da1[0]"] == "wrong"


def test_a_wrong_gradient_carries_through_dropout() -> None:
    # dropout_step: ∂L/∂a₃ = mask × ∂L/∂a₄ × 1/(1 − 0.33); ∂L/∂a₄[0,0] written −4 for −3.9403
    trace = nnworked.solve("dropout_step", keep=1)
    values = sheets.quantities(trace)
    assert round(values["da4[0,0]"], 4) == -3.9403
    own = round(-4 * (1 / (1 - 0.33)), 4)
    marks = marks_of(trace, "da4, da3", {"da4[0,0]": -4.0, "da3[0,0]": own})
    assert (marks["da4[0,0]"], marks["da3[0,0]"]) == ("wrong", "carried")


def test_a_wrong_gradient_carries_through_max_pooling_and_the_convolution() -> None:
    # cnn_edge: ∂L/∂a₂[0,0,0] (the pool's first output) written 0.5; the pool routes it to its window's
    # winner, a₁[0,0,1], whose ∂L/∂a₁ = 0.5 + ∂L/∂a₂[0,0,1] (it wins two windows); ReLU passes it on; and
    # ∂L/∂K₁[0,0,0,0] = Σ δ₁[i, j] × x[i, j] moves by (the student's δ₁[0,0,1] − the key's) × x[0, 1]
    trace = nnworked.solve("cnn_edge", keep=1)
    values = sheets.quantities(trace)
    x01 = float(trace.scenario.inputs[0, 0, 0, 1])
    assert x01 == 2
    delta = round(0.5 + values["da2[0,0,1]"], 4)
    own = {"da2[0,0,0]": 0.5, "da1[0,0,1]": delta, "dz1[0,0,1]": delta,
           "dK1[0,0,0,0]": round(values["dK1[0,0,0,0]"] + (delta - values["dz1[0,0,1]"]) * x01, 4)}
    assert own["dK1[0,0,0,0]"] != round(values["dK1[0,0,0,0]"], 4)
    marks = marks_of(trace, "da2, da1, dz1, dK1", own)
    assert marks["da2[0,0,0]"] == "wrong"
    assert [marks[k] for k in ("da1[0,0,1]", "dz1[0,0,1]", "dK1[0,0,0,0]")] == ["carried"] * 3
    assert {status for k, status in marks.items() if k not in own} == {"correct"}
