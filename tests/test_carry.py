"""`rounding: carry` over whole arrays (nnworked.engine.carry) gives, bit for bit, what working every element
from its expression tree gives (tests/carry_reference.py): on every bundled scenario and on a few hundred
random small networks with every activation, loss and optimizer."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from nnworked import bundled, scenario
from nnworked.engine import carry, network
from nnworked.engine.carry import Carrier, round_half_away
from nnworked.engine.losses import LossSpec
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import round_half_away as round_scalar
from nnworked.errors import NumericalError
from nnworked.expr import _apply
from nnworked.scenario import Layer, Scenario
from tests import carry_reference

# ---- the vectorised rounding is the scalar one ----------------------------------------------------------

ADVERSARIAL = [0.0, -0.0, 0.125, 2.675, 1.005, 0.005175, 0.495, 0.0005, 0.00049999999, 14.997815, 0.5, 1.5,
               2.5, 0.045, 1.0000005, 0.49999949999, 0.4999995, 0.4999995000001, 123456.78905, 5e-324, 1e-320,
               1e-12, 1e9, 1.0737418235e5, 1e15, 1e20, 1e290, math.inf, math.nan, 2.0**30, 2.0**30 - 0.5]


def same(left: np.ndarray, right: np.ndarray) -> bool:
    """Equal element by element, with the same sign on zeros and nan where nan."""
    left, right = np.asarray(left, dtype=float), np.asarray(right, dtype=float)
    both_nan = np.isnan(left) & np.isnan(right)
    return left.shape == right.shape and bool(np.all(both_nan | ((left == right)
                                                                 & (np.signbit(left) == np.signbit(right)))))


def scalar_rounding(values: np.ndarray, decimals: int) -> np.ndarray:
    return np.array([round_scalar(float(v), decimals) for v in values.ravel()]).reshape(values.shape)


def near_halves(rng: np.random.Generator, decimals: int, count: int) -> np.ndarray:
    """Values a few units in the last place either side of k + 0.5 units of the last decimal, and of the
    point 0.4999995 where round(·, 6) tips over."""
    k = rng.integers(0, 10**6, count).astype(float)
    centre = np.where(rng.random(count) < 0.5, k + 0.5, k + 0.4999995) / 10.0**decimals
    ulps = rng.integers(-4, 5, count)
    return np.array([steps(c, u) for c, u in zip(centre, ulps)]) * np.where(rng.random(count) < 0.5, 1.0, -1.0)


def steps(value: float, ulps: int) -> float:
    for _ in range(abs(ulps)):
        value = math.nextafter(value, math.copysign(math.inf, ulps))
    return value


@pytest.mark.parametrize("decimals", range(0, 11))
def test_vectorised_rounding_is_the_scalar_rounding_bit_for_bit(decimals: int) -> None:
    rng = np.random.default_rng(decimals)
    values = np.concatenate([
        np.array(ADVERSARIAL), -np.array(ADVERSARIAL),
        rng.uniform(-1, 1, 20000), rng.uniform(-1000, 1000, 20000),
        rng.normal(size=20000) * 10.0 ** rng.integers(-12, 12, 20000),
        np.round(rng.uniform(-100, 100, 20000), decimals + 1),  # exact decimal halves, in binary
        (rng.integers(-10**6, 10**6, 20000) + 0.5) / 10.0**decimals,
        near_halves(rng, decimals, 20000),
    ])
    assert same(round_half_away(values, decimals), scalar_rounding(values, decimals))
    table = values[:7000].reshape(-1, 7)
    assert same(round_half_away(table, decimals), scalar_rounding(table, decimals))


def test_the_documented_halves_round_away_from_zero() -> None:
    values = np.array([0.125, 2.675, 1.005, 0.005175, -0.125, -2.675])
    assert round_half_away(values, 2).tolist() == [0.13, 2.68, 1.01, 0.01, -0.13, -2.68]
    assert round_half_away(np.array([0.005175, -0.005175]), 5).tolist() == [0.00518, -0.00518]


@pytest.mark.parametrize("places", [1, 2, 4])
def test_carried_sums_are_fsum_rounded_also_where_they_cancel(places: int) -> None:
    rng = np.random.default_rng(places)
    c = Carrier(places)
    terms = c.round(rng.uniform(-1, 1, (4000, 5)))
    terms[:1000, 4] = -terms[:1000, :4].sum(axis=1)  # sums at or next to 0
    terms[1000:2000, 4] = 0.5 / 10.0**places - terms[1000:2000, :4].sum(axis=1)  # sums next to a half
    terms[2000:2100] = [[1e16, 1.0, -1e16, 0.5 / 10.0**places, 0.0]] * 100  # numpy loses the 1.0
    terms[2100:2200] = -0.0
    expected = np.array([round_scalar(math.fsum(row), places) for row in terms])
    assert same(c.total(terms), expected)


@pytest.mark.parametrize("name", ["exp", "ln", "tanh", "sqrt"])
def test_each_carried_function_is_the_working_s_function_rounded(name: str) -> None:
    rng = np.random.default_rng(7)
    x = np.concatenate([[0.0, -0.0, 1.0, 690.0, 709.0, 709.5, 710.0, -745.2, -800.0, 1e-300],
                        rng.uniform(-20, 20, 3000), rng.uniform(0, 3, 3000)])
    if name in ("ln", "sqrt"):
        x = np.abs(x)  # the working takes neither of a negative number (sqrt would raise)
    for places in (1, 3, 4):
        expected = [round_scalar(_apply(name, [float(v)]), places) for v in x]
        with np.errstate(all="ignore"):
            assert same(Carrier(places).op(name, x), np.array(expected))


def test_carried_divisions_by_zero_are_the_working_s() -> None:
    top, bottom = np.array([1.0, -1.0, 0.0, 2.0, -0.0]), np.array([0.0, -0.0, 0.0, 4.0, 0.0])
    expected = [round_scalar(_apply("div", [float(a), float(b)]), 2) for a, b in zip(top, bottom)]
    with np.errstate(all="ignore"):
        assert same(Carrier(2).op("div", top, bottom), np.array(expected))


# ---- whole traces: the vectorised carry mode against the element-by-element working -----------------

def arrays_of(value: Any, path: str = "trace") -> dict[str, Any]:
    """Every array and number a trace holds, by where it is."""
    if isinstance(value, np.ndarray):
        return {path: value}
    if isinstance(value, (float, int)) and not isinstance(value, bool):
        return {path: np.array(value, dtype=float)}
    found: dict[str, Any] = {}
    if isinstance(value, Scenario):
        return found  # the input, shared by both
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(arrays_of(item, f"{path}[{key}]"))
    elif isinstance(value, tuple):
        names = getattr(value, "_fields", None) or [str(i) for i in range(len(value))]
        for name, item in zip(names, value):
            found.update(arrays_of(item, f"{path}.{name}"))
    return found


def solved(s: Scenario) -> dict[str, Any] | str:
    """The trace's arrays, or the error that stopped it (both paths must stop the same way)."""
    try:
        return arrays_of(network.solve(s))
    except (NumericalError, ValueError, OverflowError) as error:
        return f"{type(error).__name__}: {error}"


def assert_both_paths_agree(s: Scenario, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any] | str:
    fast = solved(s)
    with monkeypatch.context() as patch:
        patch.setattr(network, "carry", carry_reference)
        slow = solved(s)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return fast
    assert fast.keys() == slow.keys()
    different = [key for key in slow if not same(fast[key], slow[key])]
    assert not different, f"{different[0]}: {fast[different[0]]} vs {slow[different[0]]}"
    return fast


@pytest.mark.parametrize("name", bundled.names())
@pytest.mark.parametrize("places", [None, 1, 2])
def test_every_bundled_scenario_carries_as_worked_element_by_element(name: str, places: int | None,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    s = scenario.load(bundled.resolve(name)).with_options(rounding="carry", precision=places)
    assert isinstance(assert_both_paths_agree(s, monkeypatch), dict)


ACTIVATIONS = ["linear", "relu", "leaky_relu", "sigmoid", "tanh"]


def random_values(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Hand-sized numbers with one to three decimals, now and then a long float or a 0."""
    values = np.round(rng.uniform(-2, 2, shape), rng.integers(1, 4))
    values[rng.random(shape) < 0.1] = 0.0
    long = rng.random(shape) < 0.2
    values[long] = rng.normal(size=shape)[long]
    return values


def random_network(seed: int) -> Scenario:
    rng = np.random.default_rng(seed)
    loss_name = ["mse", "binary_cross_entropy", "cross_entropy"][seed % 3]
    features, examples = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    widths = [int(rng.integers(1, 4)) for _ in range(int(rng.integers(1, 4)))]
    layers, previous = [], features
    for k, units in enumerate(widths):
        last = k == len(widths) - 1
        activation = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(loss_name) if last else None
        activation = activation or str(rng.choice(ACTIVATIONS + (["softmax"] if last else [])))
        slope = float(rng.choice([0.01, 0.1, 0.25]))
        bias = random_values(rng, (units,)) if rng.random() < 0.7 else None
        layers.append(Layer(random_values(rng, (units, previous)), bias, activation, slope))
        previous = units
    outputs = widths[-1]
    if loss_name == "mse":
        targets = random_values(rng, (examples, outputs))
        spec = LossSpec("mse", scale=float(rng.choice([1.0, 0.5, 2.0])), outputs=str(rng.choice(["mean", "sum"])),
                        batch=str(rng.choice(["mean", "sum"])))
    elif loss_name == "binary_cross_entropy":
        targets = np.where(rng.random((examples, outputs)) < 0.8, rng.integers(0, 2, (examples, outputs)),
                           np.round(rng.random((examples, outputs)), 2))
        spec = LossSpec("binary_cross_entropy", batch=str(rng.choice(["mean", "sum"])))
    else:
        targets = np.eye(outputs)[rng.integers(0, outputs, examples)]
        if rng.random() < 0.2:  # soft targets
            targets = np.round(0.8 * targets + 0.2 / outputs, 3)
        spec = LossSpec("cross_entropy", batch=str(rng.choice(["mean", "sum"])))
    optimizer = str(rng.choice(["sgd", "momentum", "rmsprop", "adam"]))
    params = {"weight_decay": float(rng.choice([0.01, 0.1]))} if rng.random() < 0.3 else {}
    if optimizer == "rmsprop":
        params["epsilon"] = 0.01  # a gradient carried to 0 would divide by √0 + 1e-8 and overflow the next step
    if optimizer == "adam":
        params["epsilon"] = 0.01
    names = [f"{p}{k}" for k, layer in enumerate(layers, start=1) for p in "Wb" if p == "W" or layer.bias is not None]
    freeze = frozenset(str(n) for n in rng.choice(names, int(rng.integers(0, 2)), replace=False))
    return Scenario(title="random", source="test", inputs=random_values(rng, (examples, features)), targets=targets,
                    layers=tuple(layers), loss=spec, learning_rate=float(rng.choice([0.01, 0.1, 0.5])),
                    optimizer=OptimizerSpec(optimizer, params), steps=int(rng.integers(1, 4)), freeze=freeze,
                    precision=int(rng.integers(1, 5)), rounding="carry")


@pytest.mark.parametrize("block", range(10))
def test_random_networks_carry_as_worked_element_by_element(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    finished = 0
    for seed in range(block * 30, block * 30 + 30):
        finished += isinstance(assert_both_paths_agree(random_network(seed), monkeypatch), dict)
    assert finished >= 20  # most runs finish: the comparison is of numbers, not only of errors


def test_the_carried_step_uses_the_vectorised_path_only() -> None:
    """The engine no longer works elements one by one: no fill function is left in the package."""
    from nnworked import worked

    assert not hasattr(worked, "fill") and network.carry is carry


def test_the_tipping_point_written_out_is_the_smallest_double_not_below_the_decimal_0_4999995() -> None:
    from fractions import Fraction

    half = Fraction(4999995, 10**7)
    assert Fraction(carry.HALF_UP) >= half
    assert Fraction(math.nextafter(carry.HALF_UP, 0.0)) < half
