"""`rounding: carry` at numpy speed: whole arrays, with the hand working's rounding reproduced exactly.

A carried value is what `nnworked.expr.chain` gives when it reduces a worked line (`nnworked.worked`) with
every stage rounded: each operation's result is rounded half away from zero to `places` decimals
(`round_half_away`), a negation is not rounded (it only flips a rounded number), the numbers a line
starts from are used as they are, and the last stage is rounded once more. So for a linear combination
`z = R(Σ R(wⱼ × aⱼ) + b)`, where Σ is `math.fsum` (the correctly rounded sum).

Here each of those operations is one numpy operation over a whole array, then one vectorised rounding.
Where numpy could differ from the scalar working, the element is worked again with the scalar function
(`expr._apply`, `rounding.round_half_away`), so the result is identical, bit for bit, to the element-by-
element working (tests/test_carry.py proves it against that working on every bundled scenario and on
hundreds of random networks). numpy can differ only:
- for a sum of three or more terms (numpy does not sum as `fsum` does): the rounding is decided from
  numpy's sum where a bound on its error shows the rounded result cannot change;
- for exp, ln, tanh and pow (numpy's and the C library's last bits may differ): likewise, with a
  relative margin far above either's error;
- for a non-finite result (0/0, overflow, ln 0, √ of a negative) or one of 2³⁰ units of the last place
  or more: always worked again, so the scalar working's own values and errors stay.
The renderers still build the expression trees, but only for the lines they print.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Union

import numpy as np

from nnworked.engine.losses import LossSpec
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import round_half_away as round_scalar
from nnworked.expr import Expr, _apply
from nnworked.rules.optimizers import Arithmetic

# round(y, 6) + 0.5 reaches the next integer exactly when y's fractional part is at least the decimal
# 0.4999995 (never a binary number, so never a tie): this is the smallest double that is not below it
# (tests/test_carry.py derives it exactly with fractions.Fraction; written out here, the import costs every start)
HALF_UP = float.fromhex("0x1.ffffde7210beap-2")  # 0.49999950000000004
# below this the argument above holds with room to spare (a unit in the last place is < 2.5e-7 there);
# at and above it, and for inf and nan, the scalar function decides
SAFE = 2.0**30
# numpy's exp/ln/tanh/pow and the C library's are each within a few units in the last place (2⁻⁵²)
TRANSCENDENTAL_MARGIN = 2.0**-40
SUM_ERROR = 2.0**-51  # per term, twice the bound of any summation order plus fsum's own rounding
FSUM_KEEPS_NEGATIVE_ZERO = math.copysign(1.0, math.fsum([-0.0, -0.0])) < 0


def round_half_away(values: np.ndarray, decimals: int) -> np.ndarray:
    """`rounding.round_half_away` over an array, bit for bit."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is only marked as not safe
        return _round_half_away(np.asarray(values, dtype=float), decimals, 10.0**decimals)


def _round_half_away(values: np.ndarray, decimals: int, scale: float) -> np.ndarray:
    out, _, safe = _rounded(values, scale)
    if not safe.all():
        out, flat = out.reshape(-1), values.reshape(-1)
        for i in np.flatnonzero(~safe.reshape(-1)):
            out[i] = round_scalar(float(flat[i]), decimals)
    return out.reshape(values.shape)


def _rounded(values: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """copysign(floor(round(|v| × scale, 6) + 0.5) / scale, v) where |v| × scale is below SAFE, the
    fractional part of |v| × scale (the rounding tips over at HALF_UP), and where it is below SAFE."""
    if values.ndim == 0:
        values = values.reshape(1)
    scaled = np.abs(values) * scale
    if scaled.size and scaled.max() < SAFE:  # one pass where all are safe, as nearly always (nan fails it)
        safe = np.True_
    else:
        safe = scaled < SAFE  # False for inf and nan too
        scaled = np.where(safe, scaled, 0.0)
    whole = np.floor(scaled)
    fraction = np.subtract(scaled, whole, out=scaled)  # exact below 2⁵²
    whole += fraction >= HALF_UP
    whole /= scale
    return np.copysign(whole, values, out=whole), fraction, safe


Operand = Union[np.ndarray, float]


class Carrier:
    """The operations of a worked line, over arrays, each result rounded as the carried working rounds it.
    Its methods expect numpy's floating-point warnings off, as `solve` has them."""

    def __init__(self, places: int):
        self.places, self.scale = places, 10.0**places

    def round(self, values: np.ndarray) -> np.ndarray:
        return _round_half_away(np.asarray(values, dtype=float), self.places, self.scale)

    def again(self, rounded: np.ndarray) -> np.ndarray:
        """The last stage's rounding of a value that is already rounded. That changes nothing below SAFE
        (n/10ᵖ scaled back is within 2.5e-7 of n, which rounds to n): only the rest is worked again."""
        rounded = np.asarray(rounded, dtype=float)
        return rounded if rounded.size == 0 or np.abs(rounded).max() * self.scale < SAFE else self.round(rounded)

    def op(self, name: str, *operands: Operand) -> np.ndarray:
        """R(name(operands)), elementwise."""
        candidate = np.asarray(_NUMPY[name](*operands), dtype=float)
        if name == "add" and not FSUM_KEEPS_NEGATIVE_ZERO:
            candidate = np.where(candidate == 0, 0.0, candidate)  # fsum([−0.0, −0.0]) is 0.0
        # IEEE operations are correctly rounded in numpy and in Python alike; exp, ln, tanh and pow are not
        # (e^x from 709 on, which the working calls infinite, is far above SAFE: worked again too)
        bound = np.abs(candidate) * TRANSCENDENTAL_MARGIN if name in _TRANSCENDENTAL else None
        out, doubt = self._settle(candidate, bound)
        if doubt.any():
            columns = [np.broadcast_to(np.asarray(o, dtype=float), candidate.shape) for o in operands]
            for index in zip(*np.nonzero(doubt)):
                out[index] = round_scalar(_apply(name, [float(c[index]) for c in columns]), self.places)
        return out

    def total(self, terms: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
        """Σ over the last axis (and `extra`, one more term per sum) as the working writes it: a single
        term is itself, unrounded; two or more are one `add` (math.fsum), rounded."""
        columns = [terms[..., j] for j in range(min(terms.shape[-1], 2))] + ([] if extra is None else [extra])
        count = terms.shape[-1] + (extra is not None)
        if count == 1:
            return terms[..., 0]
        if count == 2:
            return self.op("add", *columns)
        candidate = terms.sum(axis=-1)
        magnitude = np.abs(terms).sum(axis=-1)
        if extra is not None:
            candidate += extra
            magnitude += np.abs(extra)
        if not FSUM_KEEPS_NEGATIVE_ZERO:
            candidate = np.where(magnitude == 0, 0.0, candidate)
        out, doubt = self._settle(candidate, magnitude * (SUM_ERROR * count))
        if doubt.any():
            more = [] if extra is None else [np.broadcast_to(extra, candidate.shape)]
            for index in zip(*np.nonzero(doubt)):
                values = [float(v) for v in terms[index]] + [float(m[index]) for m in more]
                out[index] = round_scalar(_apply("add", values), self.places)
        return out

    def _settle(self, candidate: np.ndarray, bound: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The candidate rounded, and where that could differ from rounding the working's value, which is
        within `bound` of it (None: it is the candidate). Rounding |v| depends only on which side of
        k + HALF_UP the value |v| × scale lies: decided where the candidate's is farther from it than
        the bound (scaled, with a margin for the scaling's own rounding) and the bound keeps the sign;
        every non-finite or unsafe value is undecided."""
        out, fraction, safe = _rounded(candidate, self.scale)
        doubt = ~safe
        if bound is not None:
            margin = bound * (self.scale * 1.01) + np.abs(candidate) * (self.scale * 2.0**-50) + 2.0**-50
            doubt |= (np.abs(fraction - HALF_UP) <= margin) | ((np.abs(candidate) <= bound) & (bound > 0))
        return out, doubt

    def worked(self, shape: tuple[int, ...], element: Callable[..., Expr]) -> np.ndarray:
        """Each element from its own hand working (the expression tree element(*index) builds), rounded
        stage by stage as the walkthrough rounds it: for a rule that writes no working over arrays."""
        from nnworked.engine.rounding import Precision
        from nnworked.worked import value

        precision = Precision(self.places, True)
        out = np.empty(shape)
        for index in np.ndindex(*shape):
            out[index] = value(element(*index), precision)
        return out

    def constant(self, name: str, *values: float) -> float:
        """One operation on numbers the scenario gave (1 − β₁ᵗ): worked once, by the scalar working."""
        return round_scalar(_apply(name, [float(v) for v in values]), self.places)


def _max(first: Operand, second: Operand) -> np.ndarray:
    # Python's max keeps the first argument unless a later one is strictly greater (max(0, −0.0) is 0)
    return np.where(np.asarray(second) > first, second, first)


_NUMPY: dict[str, Callable[..., np.ndarray]] = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power, "exp": np.exp,
    "ln": np.log, "max": _max, "sqrt": np.sqrt, "tanh": np.tanh,
}
_TRANSCENDENTAL = {"exp", "ln", "tanh", "pow"}


# ---- the operations of a layer (nnworked.worked writes one element of each) ----------------------------

def combine(c: Carrier, products: np.ndarray, extra: np.ndarray | None = None) -> np.ndarray:
    """Σⱼ R(xⱼ × yⱼ) (+ extra, unrounded) over the last axis of `products` (the raw products)."""
    return c.again(c.total(c.round(products), extra))


def matmul(c: Carrier, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return combine(c, a[:, None, :] * b.T[None, :, :])


def linear(c: Carrier, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """z[n, i] = Σⱼ R(W[i, j] × a[n, j]) + b[i], rounded."""
    return combine(c, weights[None, :, :] * inputs[:, None, :], bias)


def weight_gradient(c: Carrier, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    """∂L/∂W[i, j] = Σₙ R(δ[n, i] × a[n, j])."""
    return combine(c, delta.T[:, None, :] * inputs.T[None, :, :])


def bias_gradient(c: Carrier, delta: np.ndarray) -> np.ndarray:
    return c.round(c.total(delta.T))


def backprop(c: Carrier, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """∂L/∂a[n, j] = Σᵢ R(W[i, j] × δ[n, i])."""
    return combine(c, weights.T[None, :, :] * delta[:, None, :])


def product(c: Carrier, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return c.op("mul", left, right)


# ---- what the rules' workings share (each rule writes its own: nnworked.rules) ------------------------

def by_target(y: np.ndarray, branches: dict[str, Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
    """Each element worked by the branch its target selects ("one": y = 1, "zero": y = 0, "other"), each
    branch only on its own elements (another branch's working could fail where this one is defined)."""
    out = np.zeros(y.shape)
    for key, mask in (("one", y == 1), ("zero", y == 0), ("other", (y != 1) & (y != 0))):
        if mask.any() and key in branches:
            out[mask] = branches[key](mask)
    return out


def per_example_loss(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each example's loss as losses.example_expr writes it: its terms summed (a term its target gives no
    weight is not written), divided by the outputs averaged over, scaled."""
    rule = spec.rule
    terms, present = rule.carried_terms(c, yhat, y)
    units = yhat.shape[1]
    count = present.sum(axis=1)
    single = terms[np.arange(len(terms)), present.argmax(axis=1)]
    several = c.total(terms) if units > 1 else terms[:, 0]  # an unwritten term is 0: it adds nothing
    body = np.where(count > 1, several, single)
    if rule.averages_over_outputs and spec.outputs == "mean" and units > 1:
        body = c.op("div", body, float(units))
    if spec.scale != 1:
        body = np.where(count > 0, c.op("mul", spec.scale, body), body)
    return np.where(count > 0, c.again(body), 0.0)


def loss_total(c: Carrier, spec: LossSpec, per_example: np.ndarray) -> float:
    body = c.total(per_example[None, :])
    if spec.batch == "mean" and len(per_example) > 1:
        body = c.op("div", body, float(len(per_example)))
    return float(c.round(body)[0])


def _scaled(c: Carrier, spec: LossSpec, core: np.ndarray, examples: int, units: int) -> np.ndarray:
    if spec.scale != 1:
        core = c.op("mul", spec.scale, core)
    divisor = round(spec.scale / spec.factor(examples, units))
    return c.again(core if divisor == 1 else c.op("div", core, float(divisor)))


def loss_gradient(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂ŷ per element, reductions included; an unwritten term's gradient is 0, unscaled."""
    core, present = spec.rule.carried_gradient(c, yhat, y)
    return np.where(present, _scaled(c, spec, core, *yhat.shape), 0.0)


def shortcut(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _scaled(c, spec, c.op("sub", yhat, y), *yhat.shape)


# ---- optimizers: the rule's one update, run with carried arithmetic ------------------------------------

State = dict[str, np.ndarray]


class CarriedArithmetic(Arithmetic):
    """An optimizer rule's update over whole arrays, each operation rounded as its worked lines round it
    (rules.optimizers.WorkedArithmetic writes one element; this computes all of them)."""

    def __init__(self, c: Carrier, state: State):
        self.c, self.before = c, state
        self.defined: State = {}

    def const(self, x: float) -> float:
        return x

    def complement(self, x: float) -> float:
        return round(1 - x, 12)

    def previous(self, name: str) -> Any:
        return self.before.get(name, 0.0)

    def add(self, a: Any, b: Any) -> Any:
        return self._op("add", a, b)

    def sub(self, a: Any, b: Any) -> Any:
        return self._op("sub", a, b)

    def mul(self, a: Any, b: Any) -> Any:
        return self._op("mul", a, b)

    def div(self, a: Any, b: Any) -> Any:
        return self._op("div", a, b)

    def square(self, a: Any) -> Any:
        return self._op("pow", a, 2.0)

    def sqrt(self, a: Any) -> Any:
        return self._op("sqrt", a)

    def power(self, base: float, exponent: int) -> float:
        return self.c.constant("pow", base, exponent)

    def over_root(self, numerator: Any, root: Any, epsilon: float) -> Any:
        """As `WorkedArithmetic.over_root` works it: where root + ε rounds to 0, a numerator of 0 gives 0
        (ε is never rounded away) and any other the x / 0 the working gives (nan or ±inf: the carry hint)."""
        divisor = self.add(root, epsilon)
        quotient = self.div(numerator, divisor)
        if isinstance(quotient, np.ndarray):
            quotient = np.where((divisor == 0) & (np.asarray(numerator) == 0), 0.0, quotient)
        return quotient

    def define(self, name: str, value: Any) -> Any:
        self.defined[name] = self.c.again(value) if isinstance(value, np.ndarray) else self.c.round(value)
        return self.defined[name]

    def _op(self, name: str, *operands: Any) -> Any:
        """Numbers the scenario gave are worked once, by the scalar working; arrays by the Carrier."""
        if all(isinstance(o, float) for o in operands):
            return self.c.constant(name, *operands)
        return self.c.op(name, *operands)


def update(c: Carrier, spec: OptimizerSpec, theta: np.ndarray, grad: np.ndarray, lr: float, state: State,
           t: int) -> tuple[np.ndarray, State]:
    """One parameter's update; the new value and the optimizer state after it, as carried arrays."""
    arithmetic = CarriedArithmetic(c, state)
    spec.rule.step(arithmetic, theta, grad, lr, spec.get, t)
    defined = arithmetic.defined
    return defined["new"], {name: value for name, value in defined.items() if name not in ("g", "new")}
