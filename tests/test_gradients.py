"""Every gradient nnworked prints is the derivative of the loss it prints.

Two independent witnesses check each trace:
- central finite differences of the loss (perturb a parameter and rerun the network; for ∂L/∂z and ∂L/∂a,
  perturb that value of one example and rerun the rest of the network);
- `tests.reference`, a plain-numpy implementation written from CONTRACT.md's formulas (no nnworked code).

Property tests draw random networks (1–4 layers, 1–5 units, every activation, every loss the output layer
allows, batches of 1–4, with and without biases); explicit tests cover the bundled spam network, a
softmax + cross-entropy batch and a scaled, summed MSE; optimizer tests follow three steps of sgd,
momentum, rmsprop and adam; and the checker itself is shown to fail on a corrupted gradient.
"""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, reject, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnworked import bundled
from nnworked.engine.losses import LossSpec
from nnworked.engine.network import solve
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.scenario import Layer, Scenario, load
from tests.reference import (KinkCrossed, RefLayer, RefLoss, assert_gradients_close, forward_backward,
                             gradient_mismatches, numeric_gradients, train)

HIDDEN_ACTIVATIONS = ["linear", "relu", "leaky_relu", "sigmoid", "tanh"]
KINK_MARGIN = 1e-3  # draws with a ReLU / leaky ReLU pre-activation this close to 0 are rejected
SATURATION = 1e-6  # draws whose log-loss output ŷ is this close to 0 (or 1 for bce) are rejected

# Finite differences: central, step 1e-5·max(1, |x|). Truncation error is O(h²) relative; rounding noise
# in the loss is ~1e-13·(1 + |L|), i.e. ~1e-8·(1 + |L|) in the quotient: atol leaves a 10× margin.
FD_RTOL = 1e-5
FD_ATOL = 1e-7
# Reference: the same maths in a different order of operations; only rounding differs.
REF_RTOL = 1e-7
REF_ATOL = 1e-10

SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# ---- bridging a Scenario to the reference ---------------------------------------------------------------

def ref_layers(scenario: Scenario) -> list[RefLayer]:
    return [RefLayer(np.array(l.weights, dtype=float), None if l.bias is None else np.array(l.bias, dtype=float),
                     l.activation, l.slope) for l in scenario.layers]


def ref_loss(scenario: Scenario) -> RefLoss:
    spec = scenario.loss
    assert spec is not None
    return RefLoss(spec.name, spec.scale, spec.outputs, spec.batch)


def reference_pass(scenario: Scenario):
    return forward_backward(ref_layers(scenario), scenario.inputs, scenario.targets, ref_loss(scenario))


def fd_gradients(scenario: Scenario) -> dict[str, np.ndarray]:
    return numeric_gradients(ref_layers(scenario), scenario.inputs, scenario.targets, ref_loss(scenario))


def package_loss(scenario: Scenario, params: dict[str, np.ndarray]) -> float:
    """The loss nnworked itself reports for the scenario with these parameter values."""
    layers = tuple(layer._replace(weights=params[f"W{k}"], bias=params.get(f"b{k}", layer.bias))
                   for k, layer in enumerate(scenario.layers, start=1))
    trace = solve(scenario._replace(layers=layers, learning_rate=None, steps=1))
    return trace.steps[0].loss.value


def package_fd_parameter_gradients(scenario: Scenario, h: float = 1e-6) -> dict[str, np.ndarray]:
    """Central differences of nnworked's own loss with respect to every parameter (no reference code)."""
    params = {}
    for k, layer in enumerate(scenario.layers, start=1):
        params[f"W{k}"] = np.array(layer.weights, dtype=float)
        if layer.bias is not None:
            params[f"b{k}"] = np.array(layer.bias, dtype=float)
    out = {}
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            probes = []
            for sign in (1, -1):
                probe = {k: v.copy() for k, v in params.items()}
                probe[name][index] += sign * h
                probes.append(package_loss(scenario, probe))
            grad[index] = (probes[0] - probes[1]) / (2 * h)
        out[name] = grad
    return out


def parameter_part(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v for k, v in grads.items() if k[0] in "Wb"}


def gradient_scale(grads: dict[str, np.ndarray]) -> float:
    return max(float(np.max(np.abs(g))) for g in grads.values())


def _require(condition: bool) -> None:
    assert condition, "an explicit test case must sit away from ReLU kinks and log-loss saturation"


def check_trace(scenario: Scenario, drawn: bool = False) -> None:
    """The full check of one scenario: forward, loss, every gradient vs the reference and vs finite
    differences. A drawn scenario sitting on a ReLU kink or with a saturated log-loss output is rejected
    (hypothesis `assume`); an explicit one must not be in either place."""
    require = assume if drawn else _require
    layers, loss = ref_layers(scenario), ref_loss(scenario)
    ref = reference_pass(scenario)
    for layer, z in zip(layers, ref.zs):
        if layer.activation in ("relu", "leaky_relu"):
            require(bool(np.all(np.abs(z) > KINK_MARGIN)))
    yhat = ref.activations[-1]
    if loss.name == "binary_cross_entropy":
        require(bool(np.all((yhat > SATURATION) & (yhat < 1 - SATURATION))))
    if loss.name == "cross_entropy":
        require(bool(np.all(yhat > SATURATION)))
    if drawn:
        event(f"loss: {loss.name}, output: {layers[-1].activation}")
        event(f"depth: {len(layers)}")

    trace = solve(scenario)
    step = trace.steps[0]
    forward = step.forward.arrays()
    expected_forward = {}
    for k, (z, a) in enumerate(zip(ref.zs, ref.activations), start=1):
        expected_forward[f"z{k}"], expected_forward[f"a{k}"] = z, a
    assert_gradients_close(forward, expected_forward, REF_RTOL, REF_ATOL, "forward pass (not gradients):")

    assert step.loss is not None
    assert step.loss.value == pytest.approx(ref.loss, rel=1e-9, abs=1e-12), "loss value vs reference"

    grads = step.gradients()
    scale = 1.0 + gradient_scale(ref.grads)
    assert_gradients_close(grads, ref.grads, REF_RTOL, REF_ATOL * scale, "nnworked vs reference:")

    try:
        numeric = fd_gradients(scenario)
    except KinkCrossed:
        if not drawn:
            raise
        reject()
    assert_gradients_close(grads, numeric, FD_RTOL, FD_ATOL * (1.0 + abs(ref.loss)),
                           "nnworked vs finite differences:")


# ---- random networks ------------------------------------------------------------------------------------

values = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


def matrix(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, shape, elements=values)


@st.composite
def networks(draw: st.DrawFn, trains: bool = False) -> Scenario:
    depth = draw(st.integers(1, 4), label="depth")
    features = draw(st.integers(1, 5), label="features")
    widths = [draw(st.integers(1, 5)) for _ in range(depth)]
    examples = draw(st.integers(1, 4), label="examples")
    loss_name = draw(st.sampled_from(["mse", "binary_cross_entropy", "cross_entropy"]), label="loss")

    layers = []
    previous = features
    for k, units in enumerate(widths):
        last = k == depth - 1
        if last and loss_name == "binary_cross_entropy":
            activation = "sigmoid"
        elif last and loss_name == "cross_entropy":
            activation = "softmax"
        elif last:
            activation = draw(st.sampled_from(HIDDEN_ACTIVATIONS + ["softmax"]))
        else:
            activation = draw(st.sampled_from(HIDDEN_ACTIVATIONS))
        slope = 0.01
        if activation == "leaky_relu":
            slope = draw(st.one_of(st.just(0.01), st.floats(0.001, 0.5)), label="slope")
        weights = draw(matrix((units, previous)))
        bias = draw(matrix((units,))) if draw(st.booleans(), label="has bias") else None
        layers.append(Layer(weights=weights, bias=bias, activation=activation, slope=slope))
        previous = units

    inputs = draw(matrix((examples, features)))
    outputs = widths[-1]
    batch = draw(st.sampled_from(["mean", "sum"]), label="batch")
    if loss_name == "mse":
        targets = draw(matrix((examples, outputs)))
        scale = draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0]), st.floats(0.1, 3.0)), label="scale")
        spec = LossSpec("mse", scale=scale, outputs=draw(st.sampled_from(["mean", "sum"])), batch=batch)
    elif loss_name == "binary_cross_entropy":
        targets = draw(arrays(np.float64, (examples, outputs),
                              elements=st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))))
        spec = LossSpec("binary_cross_entropy", batch=batch)
    else:
        classes = draw(st.lists(st.integers(0, outputs - 1), min_size=examples, max_size=examples))
        targets = np.eye(outputs)[classes]
        spec = LossSpec("cross_entropy", batch=batch)

    learning_rate, optimizer, steps = None, OptimizerSpec(), 1
    if trains:
        learning_rate = draw(st.sampled_from([0.01, 0.1, 0.5]), label="learning rate")
        name = draw(st.sampled_from(["sgd", "momentum", "rmsprop", "adam"]), label="optimizer")
        params = {}
        if name == "momentum" and draw(st.booleans()):
            params = {"momentum": draw(st.floats(0.1, 0.99))}
        elif name == "rmsprop" and draw(st.booleans()):
            params = {"rho": draw(st.floats(0.5, 0.99)), "epsilon": draw(st.sampled_from([1e-8, 1e-4, 0.1]))}
        elif name == "adam" and draw(st.booleans()):
            params = {"beta1": draw(st.floats(0.5, 0.99)), "beta2": draw(st.floats(0.9, 0.9999)),
                      "epsilon": draw(st.sampled_from([1e-8, 1e-4, 0.1]))}
        optimizer = OptimizerSpec(name, params)
        steps = draw(st.integers(1, 3), label="steps")
        names = [f"{p}{k}" for k, layer in enumerate(layers, start=1) for p in "Wb"
                 if p == "W" or layer.bias is not None]
        freeze = frozenset(draw(st.lists(st.sampled_from(names), unique=True, max_size=2), label="freeze"))
    return Scenario(title="random network", source="test", inputs=inputs, targets=targets, layers=tuple(layers),
                    loss=spec, learning_rate=learning_rate, optimizer=optimizer, steps=steps,
                    freeze=freeze if trains else frozenset())


@SETTINGS
@given(networks())
def test_every_gradient_matches_finite_differences_and_the_reference(scenario: Scenario) -> None:
    check_trace(scenario, drawn=True)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(networks(trains=True))
def test_random_training_runs_follow_the_reference_optimizer(scenario: Scenario) -> None:
    check_training(scenario, drawn=True)


# ---- explicit cases -------------------------------------------------------------------------------------

def spam() -> Scenario:
    return load(bundled.resolve("spam"))


def test_spam_network_by_hand_and_by_finite_differences() -> None:
    scenario = spam()
    step = solve(scenario).steps[0]
    # by hand: z1 = [0.21, 0.47] (both ReLUs pass), z2 = 0.487, ŷ = σ(0.487), L = −ln ŷ, δ2 = ŷ − 1
    yhat = 1.0 / (1.0 + np.exp(-0.487))
    forward = step.forward.arrays()
    np.testing.assert_allclose(forward["z1"], [[0.21, 0.47]], rtol=1e-12)
    np.testing.assert_allclose(forward["z2"], [[0.487]], rtol=1e-12)
    assert step.loss.value == pytest.approx(-np.log(yhat), rel=1e-12)
    grads = step.gradients()
    np.testing.assert_allclose(grads["z2"], [[yhat - 1.0]], rtol=1e-12)
    np.testing.assert_allclose(grads["W2"], [[(yhat - 1.0) * 0.21, (yhat - 1.0) * 0.47]], rtol=1e-12)
    np.testing.assert_allclose(grads["a1"], [[(yhat - 1.0) * 0.5, (yhat - 1.0) * 0.6]], rtol=1e-12)
    np.testing.assert_allclose(grads["W1"], [[(yhat - 1) * 0.5 * 0.5, (yhat - 1) * 0.5 * 0.3],
                                             [(yhat - 1) * 0.6 * 0.5, (yhat - 1) * 0.6 * 0.3]], rtol=1e-12)

    # nnworked's parameter gradients are the slopes of nnworked's own loss (no reference code involved)
    assert_gradients_close(parameter_part(grads), package_fd_parameter_gradients(scenario), 1e-6, 1e-9,
                           "spam: nnworked vs differences of nnworked's loss:")
    # and every gradient, z and a included, against the independent checks
    check_trace(scenario)
    # the update: plain sgd with η = 0.1
    for update in solve(scenario).steps[0].updates:
        np.testing.assert_allclose(update.new, update.old - 0.1 * grads[update.name], rtol=1e-12)


def softmax_batch(batch: str) -> Scenario:
    layers = (
        Layer(np.array([[0.4, -0.6], [0.9, 0.2], [-0.3, 0.8]]), np.array([0.1, -0.2, 0.05]), "tanh"),
        Layer(np.array([[0.5, -1.0, 0.3], [-0.7, 0.6, 1.1], [0.2, 0.4, -0.9]]), np.array([0.0, 0.1, -0.1]),
              "softmax"),
    )
    inputs = np.array([[1.0, 2.0], [-0.5, 0.7], [1.5, -1.2]])
    targets = np.eye(3)[[2, 0, 1]]
    return Scenario(title="softmax batch", source="test", inputs=inputs, targets=targets, layers=layers,
                    loss=LossSpec("cross_entropy", batch=batch))


@pytest.mark.parametrize("batch, divisor", [("mean", 3.0), ("sum", 1.0)])
def test_softmax_cross_entropy_batch(batch: str, divisor: float) -> None:
    scenario = softmax_batch(batch)
    step = solve(scenario).steps[0]
    yhat, y = step.forward.arrays()["a2"], scenario.targets
    np.testing.assert_allclose(yhat.sum(axis=1), 1.0, rtol=1e-12)
    expected_loss = -np.sum(y * np.log(yhat)) / divisor
    assert step.loss.value == pytest.approx(expected_loss, rel=1e-12)
    grads = step.gradients()
    np.testing.assert_allclose(grads["z2"], (yhat - y) / divisor, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(grads["a2"], -y / yhat / divisor, rtol=1e-12)
    assert_gradients_close(parameter_part(grads), package_fd_parameter_gradients(scenario), 1e-6, 1e-9,
                           f"softmax batch ({batch}): nnworked vs differences of nnworked's loss:")
    check_trace(scenario)


def test_mse_half_sum_sum() -> None:
    layers = (
        Layer(np.array([[0.5, -0.4], [0.3, 0.8]]), np.array([0.1, -0.1]), "sigmoid"),
        Layer(np.array([[1.2, -0.7], [0.4, 0.9]]), None, "linear"),
    )
    inputs = np.array([[1.0, 0.5], [-1.0, 2.0]])
    targets = np.array([[0.5, -0.2], [1.0, 0.3]])
    scenario = Scenario(title="half sum sum", source="test", inputs=inputs, targets=targets, layers=layers,
                        loss=LossSpec("mse", scale=0.5, outputs="sum", batch="sum"))
    step = solve(scenario).steps[0]
    yhat = step.forward.arrays()["a2"]
    # L = ½ Σₙ Σₖ (ŷ − y)², so ∂L/∂ŷ = ŷ − y exactly, with no division anywhere
    assert step.loss.value == pytest.approx(0.5 * np.sum((yhat - targets) ** 2), rel=1e-12)
    grads = step.gradients()
    np.testing.assert_allclose(grads["a2"], yhat - targets, rtol=1e-12)
    np.testing.assert_allclose(grads["z2"], yhat - targets, rtol=1e-12)  # linear output
    assert "b2" not in grads
    assert_gradients_close(parameter_part(grads), package_fd_parameter_gradients(scenario), 1e-6, 1e-9,
                           "mse ½/sum/sum: nnworked vs differences of nnworked's loss:")
    check_trace(scenario)


@pytest.mark.parametrize("activation, slope, expected", [("relu", 0.01, 0.0), ("leaky_relu", 0.2, 0.2)])
def test_relu_derivative_at_zero_is_taken_from_the_left(activation: str, slope: float, expected: float) -> None:
    # z1 = 1·1 − 1·1 = 0 exactly, so ∂L/∂z1 = ∂L/∂a1 × (ReLU′(0) = 0, leaky ReLU′(0) = slope)
    layers = (Layer(np.array([[1.0, -1.0]]), None, activation, slope), Layer(np.array([[2.0]]), None, "linear"))
    scenario = Scenario(title="kink", source="test", inputs=np.array([[1.0, 1.0]]), targets=np.array([[1.0]]),
                        layers=layers, loss=LossSpec("mse"))
    grads = solve(scenario).steps[0].gradients()
    assert solve(scenario).steps[0].forward.arrays()["z1"][0, 0] == 0.0
    np.testing.assert_allclose(grads["a1"], [[2.0 * 2.0 * (0.0 - 1.0)]])
    np.testing.assert_allclose(grads["z1"], grads["a1"] * expected)
    assert_gradients_close(grads, reference_pass(scenario).grads, 1e-12, 1e-15, "at the kink:")


# ---- optimizers over several steps ----------------------------------------------------------------------

# RMSprop and Adam divide a gradient by its own running size, so a gradient that is zero up to rounding
# (a symmetric network, W = 0) moves its parameter by about η, one way or the other as the rounding fell:
# two correct implementations then part, and every later step with them. Such a draw says nothing.
NORMALISING = ("rmsprop", "adam")
ROUNDOFF = 1e-9


def _gradient_at_roundoff(trace_steps, history) -> bool:  # noqa: ANN001
    for step, (before, _) in zip(trace_steps, history):
        scale = 1.0 + gradient_scale(before.grads)
        for update in step.updates:
            for g in (update.grad, before.grads[update.name]):
                if np.any((g != 0) & (np.abs(g) <= ROUNDOFF * scale)):
                    return True
    return False


def check_training(scenario: Scenario, drawn: bool = False) -> None:
    layers, loss = ref_layers(scenario), ref_loss(scenario)
    opt = scenario.optimizer
    history = train(layers, scenario.inputs, scenario.targets, loss, scenario.learning_rate, opt.name,
                    dict(opt.params), scenario.steps, scenario.freeze)
    trace = solve(scenario)
    assert len(trace.steps) == scenario.steps
    if drawn and opt.name in NORMALISING and _gradient_at_roundoff(trace.steps, history):
        reject()
    for t, (step, (before, after)) in enumerate(zip(trace.steps, history), start=1):
        assert step.number == t
        assert step.loss.value == pytest.approx(before.loss, rel=1e-8, abs=1e-12), f"loss of step {t}"
        names = [u.name for u in step.updates]
        assert names == list(after), f"step {t}: updates for {names}, expected {list(after)}"
        scale = 1.0 + gradient_scale(after)
        for update in step.updates:
            where = f"step {t}, {update.name}"
            np.testing.assert_allclose(update.grad, before.grads[update.name], rtol=1e-7, atol=1e-10 * scale,
                                       err_msg=f"{where}: gradient")
            np.testing.assert_allclose(update.new, after[update.name], rtol=1e-7, atol=1e-10 * scale,
                                       err_msg=f"{where}: new value")
            if update.name in scenario.freeze:
                assert update.frozen and np.array_equal(update.new, update.old), f"{where}: frozen but moved"
    if trace.final is not None:
        final = forward_backward(
            [RefLayer(history[-1][1][f"W{k}"], history[-1][1].get(f"b{k}"), l.activation, l.slope)
             for k, l in enumerate(layers, start=1)], scenario.inputs, scenario.targets, loss)
        assert trace.final[1].value == pytest.approx(final.loss, rel=1e-7, abs=1e-12), "loss after training"


def small_training(optimizer: OptimizerSpec, freeze: frozenset[str] = frozenset()) -> Scenario:
    layers = (
        Layer(np.array([[0.3, -0.5], [0.8, 0.2], [-0.4, 0.6]]), np.array([0.1, -0.2, 0.3]), "tanh"),
        Layer(np.array([[0.7, -0.3, 0.5]]), np.array([0.05]), "sigmoid"),
    )
    inputs = np.array([[0.5, -1.0], [1.5, 0.3]])
    targets = np.array([[1.0], [0.0]])
    return Scenario(title="three steps", source="test", inputs=inputs, targets=targets, layers=layers,
                    loss=LossSpec("binary_cross_entropy"), learning_rate=0.1, optimizer=optimizer, steps=3,
                    freeze=freeze)


@pytest.mark.parametrize("optimizer", [
    OptimizerSpec("sgd"),
    OptimizerSpec("momentum"),
    OptimizerSpec("momentum", {"momentum": 0.5}),
    OptimizerSpec("rmsprop"),
    OptimizerSpec("rmsprop", {"rho": 0.8, "epsilon": 1e-3}),
    OptimizerSpec("adam"),
    OptimizerSpec("adam", {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-4}),
], ids=lambda o: f"{o.name}{'-' + '-'.join(f'{k}={v}' for k, v in o.params.items()) if o.params else ''}")
def test_three_optimizer_steps_follow_the_contract(optimizer: OptimizerSpec) -> None:
    scenario = small_training(optimizer)
    check_training(scenario)
    # the parameters really moved, and differently each step (so a stale-state bug would show)
    trace = solve(scenario)
    w1 = [u.new for s in trace.steps for u in s.updates if u.name == "W1"]
    assert len(w1) == 3 and not np.allclose(w1[0], w1[1]) and not np.allclose(w1[1], w1[2])


def test_adam_first_step_moves_each_parameter_by_about_the_learning_rate() -> None:
    # at t = 1, m̂ = g and v̂ = g², so every entry moves by η·g/(|g| + ε) ≈ η·sign(g)
    trace = solve(small_training(OptimizerSpec("adam")))
    for update in trace.steps[0].updates:
        np.testing.assert_allclose(update.old - update.new, 0.1 * np.sign(update.grad), rtol=1e-6)


def test_frozen_parameters_stay_put_while_the_rest_train() -> None:
    check_training(small_training(OptimizerSpec("momentum"), freeze=frozenset({"b1", "W2"})))


# ---- the checker can fail -------------------------------------------------------------------------------

def test_the_comparison_reports_a_corrupted_gradient() -> None:
    scenario = softmax_batch("mean")
    grads = solve(scenario).steps[0].gradients()
    numeric = fd_gradients(scenario)
    loss = solve(scenario).steps[0].loss.value
    atol = FD_ATOL * (1.0 + abs(loss))
    assert gradient_mismatches(grads, numeric, FD_RTOL, atol) == []  # the honest trace passes

    for name, index, change in [("W1", (1, 0), 1e-4), ("b2", (2,), -1e-4), ("z1", (0, 2), 1e-4),
                                ("a2", (2, 1), 1e-3)]:
        broken = {k: v.copy() for k, v in grads.items()}
        broken[name][index] += change * (1 + abs(broken[name][index]))
        problems = gradient_mismatches(broken, numeric, FD_RTOL, atol)
        assert len(problems) == 1 and problems[0].startswith(f"{name}{list(index)}:"), problems
        with pytest.raises(AssertionError, match=rf"{name}\[{', '.join(map(str, index))}\]"):
            assert_gradients_close(broken, numeric, FD_RTOL, atol)

    # a transposed gradient, a sign flip, a missing entry and a NaN are all caught too
    assert gradient_mismatches({**grads, "W2": grads["W2"].T}, numeric, FD_RTOL, atol)
    assert gradient_mismatches({**grads, "z2": -grads["z2"]}, numeric, FD_RTOL, atol)
    assert gradient_mismatches({k: v for k, v in grads.items() if k != "a1"}, numeric, FD_RTOL, atol)
    nan = {k: v.copy() for k, v in grads.items()}
    nan["b1"][0] = np.nan
    assert gradient_mismatches(nan, numeric, FD_RTOL, atol)


def test_finite_differences_reject_a_wrong_chain_rule() -> None:
    # a gradient that forgets σ′ at the hidden layer (a classic bug) is far outside the tolerance
    scenario = small_training(OptimizerSpec("sgd"))
    grads = solve(scenario).steps[0].gradients()
    wrong = dict(grads)
    wrong["z1"] = grads["a1"]  # skipped tanh′
    wrong["W1"] = grads["a1"].T @ scenario.inputs
    problems = gradient_mismatches(wrong, fd_gradients(scenario), FD_RTOL, FD_ATOL)
    assert {p.split("[")[0] for p in problems} == {"z1", "W1"}


# ---- saturated outputs: a term with target weight 0 contributes 0, never 0/0 ---------------------------

@pytest.mark.parametrize("case", ["cross_entropy", "binary_cross_entropy"])
def test_output_gradient_is_finite_where_the_unused_term_saturates(case: str) -> None:
    if case == "cross_entropy":
        # logits ±400: ŷ = [0, 1] in float64; L = −ln ŷ₁, so ∂L/∂ŷ = [−0/ŷ₀ → 0, −1]
        layer, targets, expected = Layer(np.array([[-400.0], [400.0]]), None, "softmax"), [[0.0, 1.0]], [[0.0, -1.0]]
    else:
        # z = 40: ŷ = 1 in float64 and y = 1, so L = −ln ŷ and ∂L/∂ŷ = −1/ŷ = −1
        layer, targets, expected = Layer(np.array([[40.0]]), None, "sigmoid"), [[1.0]], [[-1.0]]
    scenario = Scenario(title="saturated", source="test", inputs=np.array([[1.0]]), targets=np.array(targets),
                        layers=(layer,), loss=LossSpec(case))
    np.testing.assert_allclose(solve(scenario).steps[0].gradients()["a1"], expected)
