"""Dropout, batch_norm and layer_norm: their gradients against central finite differences over random
shapes and batches, against a plain-numpy reference written here (the textbook derivation through ∂L/∂μ
and ∂L/∂σ², not the compact form the library uses), against PyTorch where installed; carried values are
the printed workings; the shapes are checked with their line; one walkthrough is checked word for word."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

import nnworked
from nnworked import workings, quantities, worked
from nnworked.engine.network import solve
from nnworked.errors import ScenarioError
from nnworked.gradcheck import finite_differences
from nnworked.normworked import BackGroup, Group
from tests.helpers import assert_every_quantity_is_its_working, solved_carried


def scenario(inputs, middle: list[dict], targets, hidden_units: int, rng: np.random.Generator, rounding="exact",
             loss="mse", activation="tanh"):  # noqa: ANN001, ANN201
    features = len(inputs[0])
    first = {"weights": rng.uniform(-1, 1, (hidden_units, features)).round(2).tolist(),
             "bias": rng.uniform(-1, 1, hidden_units).round(2).tolist(), "activation": activation, "name": "block_in"}
    last = {"weights": rng.uniform(-1, 1, (len(targets[0]), hidden_units)).round(2).tolist(), "bias": [0.1],
            "activation": "linear" if loss == "mse" else "sigmoid"}
    last["bias"] = [0.1] * len(targets[0])
    return nnworked.load({"inputs": inputs, "targets": targets, "layers": [first, *middle, last], "loss": loss,
                          "learning_rate": 0.1, "rounding": rounding, "precision": 4})


def random_case(seed: int, kinds: tuple[str, ...], examples: int, features: int, units: int):  # noqa: ANN201
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-2, 2, (examples, features)).round(2).tolist()
    targets = rng.uniform(-1, 1, (examples, 1)).round(2).tolist()
    middle = []
    for kind in kinds:
        if kind == "residual":
            middle.append({"type": "residual", "from": "block_in"})
        elif kind == "dense":
            middle.append({"weights": rng.uniform(-1, 1, (units, units)).round(2).tolist(), "activation": "tanh"})
        elif kind == "dropout":
            mask = (rng.random((examples, units)) < 0.7).astype(int).tolist()
            middle.append({"type": "dropout", "rate": float(rng.choice([0.2, 0.25, 0.5])), "mask": mask})
        else:
            middle.append({"type": kind, "gamma": rng.uniform(0.5, 1.5, units).round(2).tolist(),
                           "beta": rng.uniform(-0.5, 0.5, units).round(2).tolist()})
    return scenario(inputs, middle, targets, units, rng)


LAYER_KINDS = st.lists(st.sampled_from(["dropout", "batch_norm", "layer_norm", "residual", "dense"]), min_size=1,
                       max_size=4)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), kinds=LAYER_KINDS, examples=st.integers(2, 5), features=st.integers(1, 3),
       units=st.integers(2, 4))
def test_every_gradient_agrees_with_central_finite_differences(seed, kinds, examples, features, units) -> None:  # noqa: ANN001
    case = random_case(seed, tuple(kinds), examples, features, units)
    # a normalised group whose variance is (near) 0 (dropout zeroed a feature for the whole batch) has
    # ∂L/∂x of order 1/√ε, curving faster than a central difference of step 1e-6 can follow: not checkable
    # this way (the plain-numpy reference test covers the formula itself)
    variances = [r.variance for r in solve(case).steps[0].forward.operations if hasattr(r, "variance")]
    assume(all(np.all(v > 1e-6) for v in variances))
    checks = finite_differences(case)
    assert [c.name for c in checks if not c.ok] == []
    names = {c.name for c in checks}
    for k, kind in enumerate(kinds, start=2):
        assert f"a{k}" in names
        if kind in ("batch_norm", "layer_norm"):
            assert {f"gamma{k}", f"beta{k}"} <= names


# ---- an independent reference: the textbook derivation, step by step -------------------------------------

def reference_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float, dy: np.ndarray,
                   axis: int) -> tuple[np.ndarray, ...]:
    """Forward, then backward through x̂, σ² and μ separately (Ioffe & Szegedy 2015, Algorithm 1 and §3)."""
    m = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=axis, keepdims=True)
    xhat = (x - mu) / np.sqrt(var + eps)
    y = gamma * xhat + beta
    dxhat = dy * gamma
    dvar = np.sum(dxhat * (x - mu), axis=axis, keepdims=True) * -0.5 * (var + eps) ** -1.5
    dmu = np.sum(-dxhat / np.sqrt(var + eps), axis=axis, keepdims=True) + dvar * np.mean(-2 * (x - mu), axis=axis,
                                                                                        keepdims=True)
    dx = dxhat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / m + dmu / m
    return y, dx, np.sum(dy * xhat, axis=0), np.sum(dy, axis=0)


@pytest.mark.parametrize("kind, axis", [("batch_norm", 0), ("layer_norm", 1)])
@pytest.mark.parametrize("seed", range(6))
def test_forward_and_backward_match_the_plain_numpy_reference(kind: str, axis: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    examples, units = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    s = random_case(seed, (kind,), examples, 2, units)
    step = solve(s).steps[0]
    x, y = step.forward.arrays()["a1"], step.forward.arrays()["a2"]
    layer = s.layers[1]
    grads = step.gradients()
    ref_y, ref_dx, ref_dgamma, ref_dbeta = reference_norm(x, layer.gamma, layer.beta, layer.epsilon, grads["a2"], axis)
    np.testing.assert_allclose(y, ref_y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["a1"], ref_dx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads["gamma2"], ref_dgamma, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grads["beta2"], ref_dbeta, rtol=1e-12, atol=1e-12)


def test_a_residual_block_matches_the_plain_numpy_reference() -> None:
    """a1 → dense → residual(+a1): ∂L/∂a1 = Wᵀ(∂L/∂a3 ⊙ tanh′) + ∂L/∂a3, the sum of its two paths."""
    s = random_case(7, ("dense", "residual"), 3, 2, 3)
    step = solve(s).steps[0]
    a1, z2 = step.forward.arrays()["a1"], step.forward.arrays()["z2"]
    np.testing.assert_allclose(step.forward.arrays()["a3"], np.tanh(z2) + a1, rtol=1e-15)
    da3 = step.gradients()["a3"]
    main = (da3 * (1 - np.tanh(z2) ** 2)) @ s.layers[1].weights
    np.testing.assert_allclose(step.gradients()["a1"], main + da3, rtol=1e-12)
    record = next(r for r in step.backward if type(r).__name__ == "GradientSum")
    np.testing.assert_allclose(record.main, main, rtol=1e-12)
    assert record.sources == (3,)


def test_two_skips_into_one_output_add_up_with_the_main_path() -> None:
    s = random_case(8, ("residual", "dense", "residual"), 2, 2, 2)
    step = solve(s).steps[0]
    record = next(r for r in step.backward if type(r).__name__ == "GradientSum")
    assert record.sources == (4, 2) and record.layer == 1
    np.testing.assert_allclose(record.total, record.main + record.skips[0] + record.skips[1], rtol=1e-15)
    assert [c.name for c in finite_differences(s) if not c.ok] == []


def test_dropout_matches_the_plain_numpy_reference() -> None:
    s = random_case(3, ("dropout",), 4, 2, 3)
    step = solve(s).steps[0]
    layer = s.layers[1]
    x = step.forward.arrays()["a1"]
    np.testing.assert_allclose(step.forward.arrays()["a2"], x * layer.mask / (1 - layer.rate), rtol=1e-15)
    np.testing.assert_allclose(step.gradients()["a1"], step.gradients()["a2"] * layer.mask / (1 - layer.rate),
                               rtol=1e-15)


# ---- PyTorch ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kinds", [("batch_norm",), ("layer_norm",), ("dropout",), ("batch_norm", "dropout", "layer_norm"),
                                   ("dense", "residual")])
def test_pytorch_agrees_on_values_and_gradients(kinds: tuple[str, ...]) -> None:
    torch = pytest.importorskip("torch")
    s = random_case(11, kinds, 4, 3, 3)
    step = solve(s).steps[0]
    a = torch.tensor(step.forward.arrays()["a1"], dtype=torch.float64, requires_grad=True)
    out, params = a, {}
    for k, layer in enumerate(s.layers[1:-1], start=2):
        if layer.type == "residual":
            out = out + a  # block_in is layer 1, whose output is a
        elif layer.type == "dense":
            out = torch.tanh(out @ torch.tensor(layer.weights).T)
        elif layer.type == "dropout":
            out = torch.nn.functional.dropout(out, p=0.0) * torch.tensor(layer.mask) / (1 - layer.rate)
        else:
            gamma = torch.tensor(layer.gamma, requires_grad=True)
            beta = torch.tensor(layer.beta, requires_grad=True)
            params[k] = (gamma, beta)
            out = (torch.nn.functional.batch_norm(out, None, None, gamma, beta, training=True, eps=layer.epsilon)
                   if layer.type == "batch_norm" else
                   torch.nn.functional.layer_norm(out, out.shape[1:], gamma, beta, eps=layer.epsilon))
    last = len(s.layers) - 1
    np.testing.assert_allclose(out.detach().numpy(), step.forward.arrays()[f"a{last}"], rtol=1e-10, atol=1e-12)
    out.backward(torch.tensor(step.gradients()[f"a{last}"]))
    grads = step.gradients()
    np.testing.assert_allclose(a.grad.numpy(), grads["a1"], rtol=1e-8, atol=1e-12)
    for k, (gamma, beta) in params.items():
        np.testing.assert_allclose(gamma.grad.numpy(), grads[f"gamma{k}"], rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(beta.grad.numpy(), grads[f"beta{k}"], rtol=1e-8, atol=1e-12)


def test_verify_runs_pytorch_on_the_new_layers() -> None:
    pytest.importorskip("torch")
    from nnworked.gradcheck import verify

    checks = verify(random_case(5, ("batch_norm", "dropout", "dense", "residual", "layer_norm"), 3, 2, 3))
    assert {c.name for c in checks if c.reference == "PyTorch autograd"} >= {"gamma2", "beta2", "W4", "gamma6", "beta6"}
    assert all(c.ok for c in checks)


# ---- carried values are the printed workings -----------------------------------------------------------

@pytest.mark.parametrize("seed", range(8))
def test_carried_values_are_what_the_printed_workings_evaluate_to(seed: int) -> None:
    rng = np.random.default_rng(seed)

    def draw():  # noqa: ANN202
        kinds = tuple(rng.choice(["dropout", "batch_norm", "layer_norm", "residual", "dense"], int(rng.integers(1, 5))))
        base = random_case(int(rng.integers(10**6)), kinds, int(rng.integers(1, 5)), 2, int(rng.integers(2, 4)))
        return base._replace(rounding="carry", precision=int(rng.integers(2, 6)))
    trace = solved_carried(draw)
    s, precision = trace.scenario, trace.precision
    assert_every_quantity_is_its_working(trace)
    step = trace.steps[0]
    for record in step.forward.operations + tuple(step.backward):  # and every statistic printed between them
        kind = type(record).__name__
        if kind not in ("Normalise", "NormBack"):
            continue
        groups = record.xhat.shape[1] if record.over_batch else record.xhat.shape[0]
        for g in range(groups):
            place = workings.Place(trace, quantities.parse("a1[0]"), s.inputs.shape[0], (0,), 0, True)
            if kind == "Normalise":
                group = Group(record, place, g)
                assert worked.value(group.mean(), precision) == record.mean[g]
                assert worked.value(group.variance(), precision) == record.variance[g]
                for e, j in group.members:
                    assert worked.value(group.xhat(e, j), precision) == record.xhat[e, j]
            else:
                back = BackGroup(record, place, g)
                assert worked.value(back.s1(), precision) == record.s1[g]
                assert worked.value(back.s2(), precision) == record.s2[g]
                for e, j in back.members:
                    assert worked.value(back.ghat(e, j), precision) == record.ghat[e, j]


# ---- bad files ----------------------------------------------------------------------------------------

NETWORK = """inputs: [[1, 2], [3, 4]]
targets: [[1], [0]]
layers:
  - weights: [[0.1, 0.2], [0.3, 0.4]]
  - {middle}
  - weights: [[0.5, -0.5]]
loss: mse
"""


@pytest.mark.parametrize("middle, message, line", [
    ("{type: batch_norm, gamma: [1, 1, 1]}", "the gamma of layer 2 does not fit its input", 5),
    ("{type: dropout, rate: 0.5, mask: [[1, 0]]}", "the dropout mask of layer 2 does not fit its input", 5),
    ("{type: dropout, rate: 0.5, mask: [[1, 0], [2, 1]]}", "a dropout mask holds only 1 (keep) and 0 (drop)", 5),
    ("{type: dropout, rate: 1, mask: [[1, 0], [1, 1]]}", "the dropout rate must be from 0 up to (not including) 1", 5),
    ("{type: layer_norm, epsilon: -1}", "epsilon must not be negative", 5),
    ("{type: residual, from: block}", "layer 2 (residual) adds no earlier output it can name", 5),
])
def test_a_layer_that_does_not_fit_is_reported_with_its_line(middle: str, message: str, line: int) -> None:
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(NETWORK.format(middle=middle))
    problems = [(p.message, p.line) for p in raised.value.problems]
    assert (message, line) in problems


def test_a_residual_of_another_shape_is_reported_with_its_line() -> None:
    text = NETWORK.format(middle="{type: residual, from: input}").replace("[[0.1, 0.2], [0.3, 0.4]]", "[[0.1, 0.2]]")
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(text)
    assert [(p.message, p.line) for p in raised.value.problems] == [
        ("layer 2 (residual) adds outputs of different shapes", 5)]


def test_a_norm_layer_cannot_end_the_network() -> None:
    text = NETWORK.format(middle="{type: layer_norm}").replace("  - weights: [[0.5, -0.5]]\n", "")
    with pytest.raises(ScenarioError) as raised:
        nnworked.load(text)
    assert [p.message for p in raised.value.problems] == ["a layer_norm layer cannot be the last layer"]


def test_gamma_and_beta_left_out_are_ones_and_zeros_and_trained() -> None:
    trace = solve(nnworked.load(NETWORK.format(middle="{type: batch_norm}") + "learning_rate: 0.5\n"))
    updates = {u.name: u for u in trace.steps[0].updates}
    assert updates["gamma2"].old.tolist() == [1.0, 1.0] and updates["beta2"].old.tolist() == [0.0, 0.0]
    assert not np.array_equal(updates["beta2"].new, updates["beta2"].old)


# ---- one walkthrough, word for word (every number worked by hand: μ = 2 and 4, σ² = 1 and 4, x̂ = ∓1;
# ŷ = −2 and 4 against 0 and 1 give ∂L/∂a₂ = ∓2, 3 under the mean squared error's mean, ×2 where kept) ----

SMALL = """title: Small
inputs: [[1, 2], [3, 6]]
targets: [[0], [1]]
layers:
  - type: batch_norm
    epsilon: 0
  - type: dropout
    rate: 0.5
    mask: [[1, 0], [1, 1]]
  - weights: [[1, 1]]
loss: mse
learning_rate: 0.1
"""

FORWARD = '''### Step 1.1: Batch Normalisation

**Normalise each feature over the 2 examples of the batch (training mode):** the mean, the variance (biased: divided by the count, as in training), each value's distance from the mean in standard deviations, then the trained scale γ₁ and shift β₁ of its feature.

```
x̂₁ = (x − μ₁) / √(σ²₁ + ε),   ε = 0
a₁ = γ₁ × x̂₁ + β₁
```

```
μ₁[0] = (1 + 3) / 2 = 4 / 2 = 2
σ²₁[0] = ((1 − 2)² + (3 − 2)²) / 2 = ((−1)² + 1²) / 2 = (1 + 1) / 2 = 2 / 2 = 1
x̂₁⁽¹⁾[0] = (1 − 2) / √(1 + 0) = −1 / √(1) = −1 / 1 = −1
x̂₁⁽²⁾[0] = (3 − 2) / √(1 + 0) = 1 / √(1) = 1 / 1 = 1

μ₁[1] = (2 + 6) / 2 = 8 / 2 = 4
σ²₁[1] = ((2 − 4)² + (6 − 4)²) / 2 = ((−2)² + 2²) / 2 = (4 + 4) / 2 = 8 / 2 = 4
x̂₁⁽¹⁾[1] = (2 − 4) / √(4 + 0) = −2 / √(4) = −2 / 2 = −1
x̂₁⁽²⁾[1] = (6 − 4) / √(4 + 0) = 2 / √(4) = 2 / 2 = 1

a₁⁽¹⁾[0] = (1 × (−1)) + 0 = −1 + 0 = −1
a₁⁽¹⁾[1] = (1 × (−1)) + 0 = −1 + 0 = −1
a₁⁽²⁾[0] = (1 × 1) + 0 = 1 + 0 = 1
a₁⁽²⁾[1] = (1 × 1) + 0 = 1 + 0 = 1
```

**Result:**

```
a₁ = | −1  −1 |
     |  1   1 |
(one row per example)
```

### Step 1.2: Dropout (rate 0.5)

**Inverted dropout with the given mask:** each value of a₁ is multiplied by its mask (1 keeps it, 0 drops it) and by 1/(1 − 0.5), so that the kept values make up for the dropped ones (nothing needs rescaling at test time).

```
a₂ = mask × a₁ × 1/(1 − rate)
1/(1 − rate) = 1 / (1 − 0.5) = 1 / 0.5 = 2

a₂⁽¹⁾[0] = 1 × (−1) × 2 = −2
a₂⁽¹⁾[1] = 0 × (−1) × 2 = 0
a₂⁽²⁾[0] = 1 × 1 × 2 = 2
a₂⁽²⁾[1] = 1 × 1 × 2 = 2
```

**Result:**

```
a₂ = | −2  0 |
     |  2  2 |
(one row per example)
```

'''

BACKWARD = '''### Step 3.4: Backpropagate through Dropout

**The mask applied to the gradient:** a dropped value (mask 0) did not reach the loss, so its gradient is 0; a kept one passes ∂L/∂a₂ back scaled by the same 1/(1 − 0.5).

```
∂L/∂a₁ = mask × ∂L/∂a₂ × 1/(1 − rate)

∂L/∂a₁⁽¹⁾[0] = 1 × (−2) × 2 = −4
∂L/∂a₁⁽¹⁾[1] = 0 × (−2) × 2 = 0
∂L/∂a₁⁽²⁾[0] = 1 × 3 × 2 = 6
∂L/∂a₁⁽²⁾[1] = 1 × 3 × 2 = 6
```

**Result:**

```
∂L/∂a₁ = | −4  0 |
         |  6  6 |
(one row per example)
```

### Step 3.5: Gradients for γ₁ and β₁

**Scale and shift:** γ₁ multiplied each x̂₁ of its feature and β₁ was added to it, so their gradients sum ∂L/∂a₁ × x̂₁ and ∂L/∂a₁ over the examples.

```
∂L/∂γ₁[j] = Σₙ ∂L/∂a₁[j] × x̂₁[j]
∂L/∂β₁[j] = Σₙ ∂L/∂a₁[j]

∂L/∂γ₁[0] = (−4 × (−1)) + (6 × 1) = 4 + 6 = 10
∂L/∂γ₁[1] = (0 × (−1)) + (6 × 1) = 0 + 6 = 6
∂L/∂β₁[0] = −4 + 6 = 2
∂L/∂β₁[1] = 0 + 6 = 6
```

'''


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i)]


def test_the_batch_norm_and_dropout_walkthrough_word_for_word() -> None:
    text = nnworked.run(SMALL).render("markdown")
    assert _section(text, "### Step 1.1: Batch", "### Step 1.3") == FORWARD
    assert _section(text, "### Step 3.4: Backpropagate through Dropout", "---") == BACKWARD


# ---- a published example ------------------------------------------------------------------------------

CLICK4AI_DROPOUT = """title: Inverted dropout with a given mask
description: >
  Click4AI's "Dropout Layer" problem (https://click4ai.perfionixai.com/problems/dropout-layer): inputs
  [[1, 2], [3, 4]], rate 0.5, mask [[1, 0], [1, 0]]. It says inverted dropout scales kept values by
  1/(1 − rate), but gives the output [[1, 0], [3, 0]], without the scale.
inputs: [[1, 2], [3, 4]]
targets: [[2], [6]]
layers:
  - type: dropout
    rate: 0.5
    mask: [[1, 0], [1, 0]]
  - weights: [[0.5, 0.5]]
    bias: [0]
loss: mse
learning_rate: 0.1
"""


def test_the_click4ai_dropout_example_with_its_missing_scale_put_back() -> None:
    """The source's expected output [[1, 0], [3, 0]] leaves out the 1/(1 − 0.5) = 2 its own text asks for:
    nnworked prints the scaled values, 2 and 6, and each line says × 2."""
    text = nnworked.run(CLICK4AI_DROPOUT).render("markdown")
    assert "1/(1 − rate) = 1 / (1 − 0.5) = 1 / 0.5 = 2" in text
    for worked_line in ("h⁽¹⁾[0] = 1 × 1 × 2 = 2", "h⁽¹⁾[1] = 0 × 2 × 2 = 0", "h⁽²⁾[0] = 1 × 3 × 2 = 6",
                        "h⁽²⁾[1] = 0 × 4 × 2 = 0"):
        assert worked_line in text
    step = solve(nnworked.load(CLICK4AI_DROPOUT)).steps[0]
    assert step.forward.arrays()["a1"].tolist() == [[2.0, 0.0], [6.0, 0.0]]  # the source printed [[1, 0], [3, 0]]


# ---- a residual block word for word: a₁ = x = [1, 2], a₂ = [2·1, 2] = [2, 2], a₃ = a₂ + a₁ = [3, 4], ŷ = 7;
# ½-less squared error against 5 gives ∂L/∂ŷ = 2·(7 − 5) = 4, so ∂L/∂a₃ = ∂L/∂a₂ = [4, 4], and ∂L/∂a₁ is
# W₂ᵀ·[4, 4] = [8, 4] along the main path plus [4, 4] along the skip: [12, 8] ----

SKIP = """title: Skip
inputs: [[1, 2]]
targets: [[5]]
layers:
  - weights: [[1, 0], [0, 1]]
    name: block_in
  - weights: [[2, 0], [0, 1]]
  - type: residual
    from: block_in
  - weights: [[1, 1]]
loss: mse
learning_rate: 0.1
"""

SKIP_FORWARD = '''### Step 1.5: Residual Connection

**The skip connection adds two branches:** the output of the layer before, a₂ (the main branch), and the earlier a₁ it skipped over (the shortcut), element by element.

```
a₃ = a₂ + a₁

a₃[0] = 2 + 1 = 3
a₃[1] = 2 + 2 = 4
```

**Result:** `a₃ = [3, 4]`

'''

SKIP_BACKWARD = '''### Step 3.6: Backpropagate to Hidden 1 Layer

**Gradient w.r.t. hidden 1 output:**

```
∂L/∂a₁ = W₂ᵀ × δ₂

∂L/∂a₁[0] = ((2 × 4) + (0 × 4)) + 4 = (8 + 0) + 4 = 8 + 4 = 12
∂L/∂a₁[1] = ((0 × 4) + (1 × 4)) + 4 = (0 + 4) + 4 = 4 + 4 = 8
```

**a₁ feeds two paths**, the next layer and the residual connection at layer 3, so its gradient is the sum of both: what reached it along the main path plus ∂L/∂a₃ (the shortcut into layer 3). Each line above ends in that sum.

**Result:** `∂L/∂a₁ = [12, 8]`

'''


def test_the_residual_walkthrough_word_for_word() -> None:
    text = nnworked.run(SKIP).render("markdown")
    assert _section(text, "### Step 1.5: Residual", "### Step 1.6") == SKIP_FORWARD
    assert _section(text, "### Step 3.6: Backpropagate to Hidden 1", "**Gradient through Linear") == SKIP_BACKWARD
    assert "∂L/∂a₂[0] = 4\n∂L/∂a₂[1] = 4" in text  # the residual passes ∂L/∂a₃ on unchanged


def test_a_sheet_blanks_through_the_statistics_of_a_norm_layer() -> None:
    """A blank before a batch norm hides the mean, variance and x̂ worked from it, wherever they appear."""
    text = SMALL.replace("  - type: batch_norm\n", "  - weights: [[1, 0], [0, 1]]\n  - type: batch_norm\n")
    sheet = nnworked.run(text).render("markdown", exercise=True, blanks="a1[0,0]")
    for hidden in ("μ₂[0] = (____ + 3) / 2 = ____", "σ²₂[0] = ((____ − ____)² + (3 − ____)²) / 2 = ____",
                   "x̂₂⁽¹⁾[0] = (____ − ____) / √(____ + 0) = ____", "x̂₂⁽²⁾[0] = (3 − ____) / √(____ + 0) = ____"):
        assert hidden in sheet
    assert "μ₂[1] = (2 + 6) / 2 = 8 / 2 = 4" in sheet  # the other feature's statistics do not use the blank


def test_dropout_on_images_and_a_residual_from_the_inputs_agree_with_finite_differences() -> None:
    images = nnworked.load("""inputs: [[1, 2, 0], [0, 1, 3], [2, 1, 0]]
targets: [[1]]
layers:
  - type: conv2d
    kernels: [[[[1, -1], [0.5, 1]]], [[[0, 1], [-1, 0.5]]]]
    activation: tanh
  - type: dropout
    rate: 0.25
    mask: [[[[1, 0], [1, 1]], [[0, 1], [1, 1]]]]
  - type: flatten
  - type: layer_norm
  - weights: [[0.1, -0.2, 0.3, 0.1, 0.2, -0.1, 0.05, 0.1]]
    activation: sigmoid
loss: binary_cross_entropy
""")
    skip = nnworked.load("""inputs: [[1, 2]]
targets: [[1]]
layers:
  - weights: [[1, 0.5], [0.2, 1]]
    activation: tanh
  - type: residual
    from: input
  - weights: [[1, -1]]
    activation: sigmoid
loss: binary_cross_entropy
""")
    for s in (images, skip):
        checks = finite_differences(s)
        assert checks and all(c.ok for c in checks)
    step = solve(images).steps[0]
    np.testing.assert_allclose(step.forward.arrays()["a2"], step.forward.arrays()["a1"] * images.layers[1].mask / 0.75,
                               rtol=1e-15)
