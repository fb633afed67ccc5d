"""What every optimizer rule holds, and the two arithmetics its ONE update runs on.

An optimizer writes its update once (`update`), against an arithmetic: `NumpyArithmetic` computes whole
arrays in float64 (rounding: exact); `WorkedArithmetic` builds the expression a person writes for one
element, each defined value on its own line, rounded as shown under rounding: carry. So the numbers the
engine computes and the lines the walkthrough prints cannot disagree about what the optimizer does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from nnworked.expr import Expr, Num, num, op

if TYPE_CHECKING:
    from nnworked.engine.rounding import Precision


class Arithmetic(ABC):
    """The operations an update is written with. `define` names a value the working writes on its own
    line (state such as v, s, m, m̂, v̂; g with weight decay; "new" for the parameter after the update)."""

    @abstractmethod
    def const(self, x: float) -> Any:
        """A hyperparameter, as the user wrote it."""

    @abstractmethod
    def complement(self, x: float) -> Any:
        """1 − x for a hyperparameter, as a reader writes it (0.1, not 0.09999999999999998)."""

    @abstractmethod
    def previous(self, name: str) -> Any:
        """The state `name` as the previous step left it (zero at the first step)."""

    @abstractmethod
    def add(self, a: Any, b: Any) -> Any: ...

    @abstractmethod
    def sub(self, a: Any, b: Any) -> Any: ...

    @abstractmethod
    def mul(self, a: Any, b: Any) -> Any: ...

    @abstractmethod
    def div(self, a: Any, b: Any) -> Any: ...

    @abstractmethod
    def square(self, a: Any) -> Any: ...

    @abstractmethod
    def sqrt(self, a: Any) -> Any: ...

    @abstractmethod
    def power(self, base: float, exponent: int) -> Any:
        """A hyperparameter to a whole power (β₁ᵗ)."""

    @abstractmethod
    def define(self, name: str, value: Any) -> Any:
        """Name a value the working shows on its own line; returns it for later use."""

    def over_root(self, numerator: Any, root: Any, epsilon: float) -> Any:
        """numerator / (root + ε), the step of an adaptive optimizer, ε added to the root as PyTorch adds it.
        ε is a given constant, not a worked value: under rounding: carry it is never rounded away (see
        `WorkedArithmetic.over_root`)."""
        return self.div(numerator, self.add(root, self.const(epsilon)))


class NumpyArithmetic(Arithmetic):
    """Whole arrays in float64: the engine's update under rounding: exact."""

    def __init__(self, theta: np.ndarray, state: dict[str, np.ndarray]):
        self.zero, self.before = np.zeros_like(theta), state
        self.defined: dict[str, np.ndarray] = {}

    def const(self, x: float) -> float:
        return x

    def complement(self, x: float) -> float:
        return 1 - x

    def previous(self, name: str) -> np.ndarray:
        return self.before.get(name, self.zero)

    def add(self, a: Any, b: Any) -> Any:
        return a + b

    def sub(self, a: Any, b: Any) -> Any:
        return a - b

    def mul(self, a: Any, b: Any) -> Any:
        return a * b

    def div(self, a: Any, b: Any) -> Any:
        return a / b

    def square(self, a: Any) -> Any:
        return a**2

    def sqrt(self, a: Any) -> Any:
        return np.sqrt(a)

    def power(self, base: float, exponent: int) -> float:
        return base**exponent

    def define(self, name: str, value: Any) -> Any:
        self.defined[name] = value
        return value


class WorkedArithmetic(Arithmetic):
    """One element, as the lines a person writes: (name, working, value) in order. Each later line uses
    the earlier values as shown (carried under rounding: carry)."""

    def __init__(self, state: dict[str, float], precision: Precision):
        self.before, self.precision = state, precision
        self.lines: list[tuple[str, Expr, float]] = []

    def const(self, x: float) -> Num:
        return num(x, True)

    def complement(self, x: float) -> Num:
        return num(round(1 - x, 12), True)

    def previous(self, name: str) -> Num:
        return num(self.before.get(name, 0.0))

    def add(self, a: Expr, b: Expr) -> Expr:
        return op("add", a, b)

    def sub(self, a: Expr, b: Expr) -> Expr:
        return op("sub", a, b)

    def mul(self, a: Expr, b: Expr) -> Expr:
        return op("mul", a, b)

    def div(self, a: Expr, b: Expr) -> Expr:
        return op("div", a, b)

    def square(self, a: Expr) -> Expr:
        return op("pow", a, num(2, True))

    def sqrt(self, a: Expr) -> Expr:
        return op("sqrt", a)

    def power(self, base: float, exponent: int) -> Expr:
        return op("pow", num(base, True), num(exponent, True))

    def over_root(self, numerator: Expr, root: Expr, epsilon: float) -> Expr:
        """Under carry, root + ε rounds as every stage, so with ε below the last place and a root of 0 it
        would round to 0. A numerator of 0 (a gradient of exactly 0: m̂, or g, is 0) then takes the step
        0 / ε = 0, as PyTorch's does: ε is given and never rounded away. A nonzero numerator over a root
        that carrying rounded to 0 stays 0/0-like (x / 0): its quotient depends on the digits carrying
        dropped, and the engine reports it with the carry hint."""
        from nnworked.worked import value as carried_value

        divisor = op("add", root, num(epsilon, True))
        if self.precision.carry and carried_value(divisor, self.precision) == 0 \
                and carried_value(numerator, self.precision) == 0:
            return op("div", numerator, num(epsilon, True))
        return op("div", numerator, divisor)

    def define(self, name: str, value: Expr) -> Num:
        from nnworked.worked import value as carried_value

        result = carried_value(value, self.precision)
        self.lines.append((name, value, result))
        return num(result, label=_computed_from(value))


def _computed_from(expr: Expr) -> str:
    """The label of a value defined from `expr` (v from g): the names it is computed from, joined by | (a
    sheet hides it wherever one of them is hidden)."""
    def leaves(e: Expr) -> list[str]:
        return [e.label] if isinstance(e, Num) else [label for a in e.args for label in leaves(a)]

    parts = sorted({part for label in leaves(expr) for part in label.split("|") if part})
    return "|".join(parts) + ("|" if len(parts) == 1 else "")


class OptimizerRule(ABC):
    """One optimizer: its hyperparameters, its update (written once), its rule lines."""

    symbols: dict[str, str] = {}  # how a defined value is written where its name is not (m_hat: m̂)

    @property
    @abstractmethod
    def name(self) -> str:
        """As a scenario writes it."""

    @property
    @abstractmethod
    def defaults(self) -> dict[str, float]:
        """Every hyperparameter it accepts, with its default (weight_decay included)."""

    @property
    @abstractmethod
    def rule_lines(self) -> list[str]:
        """The update rule as the walkthrough states it, g being the gradient."""

    @property
    @abstractmethod
    def has_state(self) -> bool:
        """Carries state from step to step (the walkthrough says where it starts)."""

    @abstractmethod
    def update(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        """Write the update with `a`, defining the state it keeps and, last, "new" (the parameter after
        it). hyper(key) gives a hyperparameter, default filled in."""

    # torch.optim's class with the same update (None: there is none), and how its settings map: `from_torch`
    # reads an optimizer by them, `--format pytorch` writes one
    torch_class: str | None = None

    def torch_arguments(self, hyper: Any) -> dict[str, Any]:
        """The torch.optim class's keyword arguments besides the parameters and lr (hyper as in update)."""
        return {}

    def from_torch(self, group: dict[str, Any]) -> dict[str, float]:
        """The hyperparameters of a torch.optim parameter group of torch_class, as a scenario writes them."""
        return {}

    def step(self, a: Arithmetic, theta: Any, g: Any, lr: Any, hyper: Any, t: int) -> None:
        """Weight decay λ, as its own term of the gradient (g = ∂L/∂θ + λ·θ), then the update."""
        decay = hyper("weight_decay")
        if decay:
            g = a.define("g", a.add(g, a.mul(a.const(decay), theta)))
        self.update(a, theta, g, lr, hyper, t)
