"""Every activation's and loss's spreadsheet formulas (--format xlsx) round where its carried working rounds.

Each registered rule's pieces (spreadsheet_formula, spreadsheet_backward; spreadsheet_formula and
spreadsheet_gradient of a loss), written with Rounding(4), are evaluated here in Python (a small
translation of the formula; ROUND as the engine rounds, so this checks WHERE a formula rounds: how
LibreOffice's ROUND rounds is tests/test_xlsx_carry.py's) and must give, bit for bit, what the rule's
`carried`, `carried_backward`, `carried_terms` and `carried_gradient` give over the same numbers; written
with the exact Rounding, they must compute the rule's value and gradient. A new rule is checked by being
registered, without a line here (the toy rules of tests/test_rules.py are too), and a rule that rounds
its formula once, as a whole, or a softmax that never shifts z by its row's maximum, is caught.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import numpy as np
import pytest

from nnworked.engine.carry import Carrier
from nnworked.engine.rounding import round_half_away
from nnworked.render.spreadsheet_cells import EXACT, Rounding
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.activations.sigmoid import Sigmoid
from nnworked.rules.activations.softmax import Softmax
from nnworked.rules.losses import LOSSES

PLACES = 4
CARRY = Rounding(PLACES)
UNITS = 3

FUNCTIONS: dict[str, Callable[..., float]] = {
    "ROUND": lambda x, n: round_half_away(x, int(n)),
    "EXP": lambda x: math.exp(x) if x < 709 else math.inf,
    "LN": lambda x: math.log(x) if x > 0 else -math.inf,
    "TANH": math.tanh, "SQRT": math.sqrt, "ABS": abs, "MAX": max,
    "SIGN": lambda x: float((x > 0) - (x < 0)),
    "IF": lambda condition, then, otherwise: then if condition else otherwise,
}


def evaluate(formula: str, cells: dict[str, float]) -> float:
    """A rule's formula over named cells (Z0, G1, P, Y…), in Python: ^ is a power, = a comparison."""
    # a unary minus before a power, −x^2, is (−x)² in a spreadsheet and −(x²) in Python: never written
    assert not re.search(r"(?:^|[(,=<>*/+^-])-[A-Z0-9.]+\^", formula), formula
    python = re.sub(r"(?<![<>=])=(?!=)", "==", formula.replace("<>", "!=")).replace("^", "**")
    return float(eval(python, {"__builtins__": {}}, {**FUNCTIONS, **cells}))  # noqa: S307 (our own formulas)


def _values(rng: np.random.Generator, low: float, high: float, rows: int) -> np.ndarray:
    """Numbers with PLACES decimals, as the cells a formula reads hold under carry."""
    return np.round(rng.uniform(low, high, (rows, UNITS)), PLACES)


def activation_mismatches(rule: Any, rows: int = 120) -> list[str]:
    """Where the rule's spreadsheet formulas under carry differ from its carried working (forward and ∂L/∂z),
    each as 'what at which numbers: formula gives, working gives'."""
    rng = np.random.default_rng(11)
    slope = 0.1 if rule.has_slope else 0.0
    # around 50 softmax shifts z by its row's maximum (e^(z − max) rounds unlike e^z), or does not
    z = np.vstack([_values(rng, -3, 3, rows), _values(rng, 46, 56, 20), [[0.0, -0.5, 0.5]]])
    g = _values(rng, -2, 2, len(z))
    c = Carrier(PLACES)
    with np.errstate(all="ignore"):
        a = c.again(rule.carried(c, z, slope))
        dz = rule.carried_backward(c, z, a, g, slope)[1]
    names = {"Z": [f"Z{u}" for u in range(UNITS)], "A": [f"A{u}" for u in range(UNITS)],
             "G": [f"G{u}" for u in range(UNITS)]}
    out = []
    for n in range(len(z)):
        cells = {f"{kind}{u}": float(values[n, u]) for kind, values in (("Z", z), ("A", a), ("G", g))
                 for u in range(UNITS)}
        for i in range(UNITS):
            for what, formula, expected in (
                    ("a", rule.spreadsheet_formula(names["Z"], i, slope, CARRY), a[n, i]),
                    ("dz", rule.spreadsheet_backward(names["G"], names["Z"], names["A"], i, slope, CARRY), dz[n, i])):
                got = round_half_away(evaluate(formula, cells), PLACES)  # the cell's own ROUND, its last stage
                if got != expected:
                    out.append(f"{what}[{i}] at z = {list(z[n])}: {formula} gives {got}, the working {expected}")
    return out


def loss_mismatches(rule: Any, rows: int = 120) -> list[str]:
    rng = np.random.default_rng(12)
    p = _values(rng, 0.02, 0.98, rows)
    y = rng.choice([0.0, 1.0, 0.25], (rows, UNITS))
    c = Carrier(PLACES)
    with np.errstate(all="ignore"):
        terms, present = rule.carried_terms(c, p, y)
        core, written = rule.carried_gradient(c, p, y)
    out = []
    for (n, i), _ in np.ndenumerate(p):
        cells = {"P": float(p[n, i]), "Y": float(y[n, i])}
        for what, formula, expected in (
                ("term", rule.spreadsheet_formula("P", "Y", CARRY), terms[n, i] if present[n, i] else 0.0),
                ("gradient", rule.spreadsheet_gradient("P", "Y", CARRY), core[n, i] if written[n, i] else 0.0)):
            got = round_half_away(evaluate(formula, cells), PLACES)
            if got != expected:
                out.append(f"{what} at ŷ = {p[n, i]}, y = {y[n, i]}: {formula} gives {got}, the working {expected}")
    return out


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_each_activation_formula_rounds_where_its_working_rounds(name: str) -> None:
    assert activation_mismatches(ACTIVATIONS[name]) == []


@pytest.mark.parametrize("name", LOSSES.names())
def test_each_loss_formula_rounds_where_its_working_rounds(name: str) -> None:
    assert loss_mismatches(LOSSES[name]) == []


def test_a_new_rule_is_checked_by_being_registered(toy_rules: None) -> None:
    """tests/test_rules.py's softplus and absolute error, registered: checked as the bundled rules are."""
    assert activation_mismatches(ACTIVATIONS["softplus"]) == []
    assert loss_mismatches(LOSSES["mae"]) == []


class RoundedOnce(Sigmoid):
    """σ as every rule's formula was written before: rounded once, as a whole, by its cell."""

    def spreadsheet_element(self, z: str, slope: float, r: Any) -> str:
        return f"1/(1+EXP(-{z}))"

    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Any) -> str:
        return f"{a}*(1-{a})"


class Unshifted(Softmax):
    """Softmax under carry with each e^z rounded, but never shifted by the row's maximum above 50."""

    def spreadsheet_formula(self, z: Any, i: int, slope: float, r: Any) -> str:
        exps = [r(f"EXP({cell})") for cell in z]
        return f"{exps[i]}/{r('(' + '+'.join(exps) + ')')}"


def test_a_formula_rounded_once_or_unshifted_is_caught() -> None:
    mismatches = activation_mismatches(RoundedOnce())
    assert any(m.startswith("a[") for m in mismatches) and any(m.startswith("dz[") for m in mismatches)
    assert activation_mismatches(Sigmoid()) == []
    assert any(m.startswith("a[") for m in activation_mismatches(Unshifted()))


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_each_activation_formula_under_exact_rounding_is_its_function(name: str) -> None:
    """Rounding nothing, the formulas compute a = f(z) and ∂L/∂z = the rule's vjp (to binary noise)."""
    rule, rng = ACTIVATIONS[name], np.random.default_rng(13)
    slope = 0.1 if rule.has_slope else 0.0
    z, g = rng.uniform(-3, 3, (40, UNITS)), rng.uniform(-2, 2, (40, UNITS))
    a = rule.value(z, slope)
    dz = rule.vjp(z, a, g, slope)
    names = {kind: [f"{kind}{u}" for u in range(UNITS)] for kind in "ZAG"}
    for (n, i), _ in np.ndenumerate(z):
        cells = {f"{kind}{u}": float(values[n, u]) for kind, values in (("Z", z), ("A", a), ("G", g))
                 for u in range(UNITS)}
        formula = rule.spreadsheet_formula(names["Z"], i, slope, EXACT)
        assert "ROUND" not in formula
        assert evaluate(formula, cells) == pytest.approx(a[n, i], rel=1e-12, abs=1e-15), formula
        backward = rule.spreadsheet_backward(names["G"], names["Z"], names["A"], i, slope, EXACT)
        assert evaluate(backward, cells) == pytest.approx(dz[n, i], rel=1e-12, abs=1e-15), backward


@pytest.mark.parametrize("name", LOSSES.names())
def test_each_loss_formula_under_exact_rounding_is_its_function(name: str) -> None:
    rule, rng = LOSSES[name], np.random.default_rng(14)
    p, y = rng.uniform(0.02, 0.98, (40, UNITS)), rng.choice([0.0, 1.0, 0.25], (40, UNITS))
    losses, gradient = rule.textbook_losses(p, y), rule.gradient(p, y)
    for (n, i), _ in np.ndenumerate(p):
        cells = {"P": float(p[n, i]), "Y": float(y[n, i])}
        term, slope = rule.spreadsheet_formula("P", "Y", EXACT), rule.spreadsheet_gradient("P", "Y", EXACT)
        assert "ROUND" not in term + slope
        assert evaluate(term, cells) == pytest.approx(losses[n, i], rel=1e-12, abs=1e-15), term
        assert evaluate(slope, cells) == pytest.approx(gradient[n, i], rel=1e-12, abs=1e-15), slope
