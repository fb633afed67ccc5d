"""What every activation rule holds. A class that leaves an abstract piece undefined cannot be
instantiated, so it cannot be registered (`Registry.register` names what is missing)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from nnworked.expr import Expr

if TYPE_CHECKING:
    from nnworked.engine.carry import Carrier
    from nnworked.engine.rounding import Precision
    from nnworked.render.blocks import Block
    from nnworked.render.notation import Notation
    from nnworked.render.spreadsheet_cells import Rounding
    from nnworked.trace import Activate


class ActivationRule(ABC):
    """One activation: value, backward, worked expressions, texts, observations, PyTorch counterpart."""

    # -- plain facts: each rule defines them as class attributes --

    @property
    @abstractmethod
    def name(self) -> str:
        """As a scenario writes it."""

    @property
    @abstractmethod
    def label(self) -> str:
        """In prose: "ReLU", "Sigmoid"."""

    @property
    @abstractmethod
    def symbol(self) -> str:
        """In formulas: "ReLU", "σ" ("" for the identity, printed as f)."""

    @property
    @abstractmethod
    def formula(self) -> str:
        """f(z) as the walkthrough states it."""

    @property
    @abstractmethod
    def derivative_formula(self) -> str:
        """f′(z) as the walkthrough states it."""

    @property
    @abstractmethod
    def convention(self) -> str | None:
        """The sentence under "Conventions" when a layer uses it (None: there is nothing to say)."""

    elementwise: bool = True  # a′ is one number per element (softmax mixes a row: it has a Jacobian)
    identity: bool = False  # a = z: the walkthrough says "no activation" instead of working it
    piecewise: bool = False  # the derivative is a case of z's sign: lines show the reason, "(z > 0)"
    has_slope: bool = False  # takes a slope α (leaky ReLU): `activation: {name: …, slope: …}`
    show_call: bool = True  # print "σ(0.487) = …" before the expansion
    derivative_in_a: str | None = None  # a′ written with a, such as "{a}(1 − {a})", shown before the numbers
    exact_by_hand: bool = False  # + − × only: a value after it has finitely many decimals (generate)
    observation_rank: int = 0  # observations of different rules print in this order
    kink: float | None = None  # where the derivative jumps (ReLU′(0) is taken as 0): finite differences
    # whose two nudges land on different sides of it measure neither slope, so verify does not use them

    # -- value and backward --

    @abstractmethod
    def value(self, z: np.ndarray, slope: float) -> np.ndarray:
        """a = f(z), vectorised and numerically stable (rows are examples)."""

    @abstractmethod
    def vjp(self, z: np.ndarray, a: np.ndarray, upstream: np.ndarray, slope: float) -> np.ndarray:
        """∂L/∂z from ∂L/∂a (rows are examples)."""

    @abstractmethod
    def derivative(self, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray | None:
        """f′(z) element by element; None where there is none to show (softmax's Jacobian)."""

    # -- by hand --

    @abstractmethod
    def row_expr(self, z: Sequence[float], i: int, slope: float, labels: Sequence[str]) -> Expr:
        """Element i of a = f(z) for one example, worked from the z's (labels name them)."""

    def carried(self, c: Carrier, z: np.ndarray, slope: float) -> np.ndarray:
        """f(z) as its hand working computes it, each shown intermediate rounded (rounding: carry), over
        whole arrays with the Carrier's operations. By default the working of each element, one by one:
        exact, and slower; a rule writes its working over arrays to be fast (tests/test_carry.py proves
        that the two agree bit for bit)."""
        return c.worked(z.shape, lambda n, i: self.row_expr(z[n], i, slope, [""] * z.shape[1]))

    def carried_backward(self, c: Carrier, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                         slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        """f′(z) (None where there is none per element) and ∂L/∂z, as the working computes them."""
        raise NotImplementedError(f"{self.name} has no carried backward")

    @abstractmethod
    def derivation_lines(self, p: Precision, slope: float) -> list[str]:
        """Where the derivative comes from, for --detail full."""

    @abstractmethod
    def forward_lines(self, w: Any, act: Activate, symbol: str) -> list[str]:
        """The worked lines of the forward step (w is the ForwardWriter)."""

    def jacobian_sentence(self, d: str, a: str, z: str, at_output: bool) -> str:
        """How δ is found where there is no f′ per element (only rules that are not elementwise)."""
        return f"{d} = ∂L/∂{z} goes through the Jacobian of {self.label}."

    @property
    def byhand_derivative(self) -> str:
        """How the AI by Hand layout says what multiplies ∂L/∂a."""
        return f"multiply by {self.derivative_formula}"

    def byhand_forward(self, w: Any, act: Activate) -> list[Block] | None:
        """The AI by Hand layout's activation step; None: the worked lines of the standard layout."""
        return None

    # -- in a spreadsheet (--format xlsx): formulas over cell references such as "E7", each operation
    # passed through `r` where `carried` rounds it (under rounding: carry the cell then recalculates to the
    # trace's digits; its last stage is rounded by the cell itself) --

    @abstractmethod
    def spreadsheet_formula(self, z: Sequence[str], i: int, slope: float, r: Rounding) -> str:
        """Element i of a = f(z) for one example, as a spreadsheet formula (no leading =) over the cells of
        that example's z, rounded stage by stage as `carried` rounds it."""

    @abstractmethod
    def spreadsheet_backward(self, upstream: Sequence[str], z: Sequence[str], a: Sequence[str], i: int,
                             slope: float, r: Rounding) -> str:
        """Element i of ∂L/∂z for one example, as a spreadsheet formula over the cells of that example's
        ∂L/∂a (`upstream`), z and a, rounded stage by stage as `carried_backward` rounds it."""

    # -- reading the numbers --

    def observe(self, act: Activate, n: Notation, p: Precision, has_bias: bool) -> list[str]:
        """Observations about this layer's own numbers (dead units, saturation); none by default."""
        return []

    def dead_units(self, z: np.ndarray) -> list[int]:
        """The units that pass no gradient back on any example (rows of z are examples); none by default."""
        return []

    def rejects(self, act: Activate, constraints: Any) -> str | None:
        """Why `generate` should draw again for this layer (a dead unit, …); None: it is fine."""
        return None

    # -- verification --

    @abstractmethod
    def torch_value(self, torch: Any, z: Any, slope: float) -> Any:
        """The same function in PyTorch, for `verify` (torch is the imported module)."""

    # the torch.nn module computing it, as a model writes it: `from_torch` reads a model's layers by it and
    # `--format pytorch` writes it (None: torch.nn has none, so neither can use this rule)
    torch_module: str | None = None

    def torch_arguments(self, slope: float) -> dict[str, Any]:
        """The torch.nn module's arguments for a layer with this slope (a script writes them)."""
        return {}

    def torch_slope(self, module: Any) -> float:
        """The slope a torch.nn module of this rule's class was built with (only rules with has_slope)."""
        raise NotImplementedError(f"the {self.name} activation takes no slope")


class ElementwiseActivation(ActivationRule):
    """An activation applied to each element on its own: a′ is a number per element."""

    @abstractmethod
    def expand(self, z: float, slope: float, label: str) -> Expr:
        """One element by hand, from z (label names z, so a sheet can blank it)."""

    @abstractmethod
    def derivative_expr(self, z: float, a: float, slope: float, label: str = "") -> tuple[Expr, str]:
        """One element of f′ worked, with the reason in words (label names a)."""

    def vjp(self, z: np.ndarray, a: np.ndarray, upstream: np.ndarray, slope: float) -> np.ndarray:
        return upstream * self.derivative(z, a, slope)  # type: ignore[operator]

    def row_expr(self, z: Sequence[float], i: int, slope: float, labels: Sequence[str]) -> Expr:
        return self.expand(z[i], slope, labels[i])

    def carried_derivative(self, c: Carrier, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
        """f′(z) as its working computes it (by default element by element, as `carried`)."""
        return c.worked(z.shape, lambda n, i: self.derivative_expr(z[n, i], a[n, i], slope)[0])

    def carried_backward(self, c: Carrier, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                         slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        derivative = self.carried_derivative(c, z, a, slope)
        return derivative, c.op("mul", upstream, derivative)

    def forward_lines(self, w: Any, act: Activate, symbol: str) -> list[str]:
        return w.element_lines(act)

    @abstractmethod
    def spreadsheet_element(self, z: str, slope: float, r: Rounding) -> str:
        """f(z) as a spreadsheet formula over the cell z, each inner stage through `r` as `carried` rounds
        it (the last stage is the cell's own)."""

    @abstractmethod
    def spreadsheet_derivative(self, z: str, a: str, slope: float, r: Rounding) -> str:
        """f′(z) as a spreadsheet formula over the cells z and a, every stage through `r` as
        `carried_derivative` rounds it (the last one too: ∂L/∂z multiplies the rounded f′), written so that
        it can be multiplied without parentheses (a function call, a product, or itself in parentheses)."""

    def spreadsheet_formula(self, z: Sequence[str], i: int, slope: float, r: Rounding) -> str:
        return self.spreadsheet_element(z[i], slope, r)

    def spreadsheet_backward(self, upstream: Sequence[str], z: Sequence[str], a: Sequence[str], i: int,
                             slope: float, r: Rounding) -> str:
        return f"{upstream[i]}*{self.spreadsheet_derivative(z[i], a[i], slope, r)}"
