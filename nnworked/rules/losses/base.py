"""What every loss rule holds. A class that leaves an abstract piece undefined cannot be instantiated,
so it cannot be registered (`Registry.register` names what is missing).

A rule works on one output unit of one example (its term, its gradient with respect to ŷ); the
reductions (÷K over outputs, ÷N over the batch) and the scale are applied around it, from the LossSpec.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from nnworked.expr import Expr, Num, num, op

if TYPE_CHECKING:
    from nnworked.engine.losses import LossSpec
    from nnworked.render.spreadsheet_cells import Rounding
    from nnworked.render.blocks import Block
    from nnworked.trace import OutputDelta, Trace


class LossRule(ABC):
    """One loss: its value, its gradient, its worked terms, its texts, its PyTorch counterpart."""

    averages_over_outputs: bool = True  # `outputs: mean` divides by the output units (cross-entropy's sum
    # over classes is the loss itself, so it never does)
    accepts_class_index: bool = False  # a target row may be one class index, made one-hot
    zero_target_terms_vanish: bool = False  # a term whose target is 0 is exactly 0: not shown
    pair: str | None = None  # "sigmoid + binary cross-entropy": the pair the shortcut belongs to
    exact_by_hand: bool = False  # its gradient needs + − × only: what follows has finite decimals (generate)

    # -- plain facts: each rule defines them as class attributes --

    @property
    @abstractmethod
    def name(self) -> str:
        """As a scenario writes it."""

    @property
    @abstractmethod
    def label(self) -> str:
        """In prose: "Mean Squared Error"."""

    @property
    @abstractmethod
    def formula(self) -> str:
        """The loss of one example."""

    @property
    @abstractmethod
    def gradient_formula(self) -> str:
        """∂L/∂ŷ as the backward pass states it."""

    @property
    @abstractmethod
    def output_activation(self) -> str | None:
        """The activation the output layer must have (None: any), with which the shortcut holds."""

    @property
    @abstractmethod
    def shortcut(self) -> str | None:
        """The fused ∂L/∂z with that activation ("ŷ − y"), or None."""

    # -- value and gradient, vectorised --

    @abstractmethod
    def element_losses(self, yhat: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """The loss of each output unit of each example, before reductions and scale, computed stably
        (from the output layer's z where the activation allows it)."""

    @abstractmethod
    def textbook_losses(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The element losses by the textbook formula, from ŷ alone (verify perturbs ŷ itself)."""

    @abstractmethod
    def gradient(self, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂(element loss)/∂ŷ; a term whose target weight is 0 contributes exactly 0 (never 0/0)."""

    # -- by hand --

    @abstractmethod
    def term_expr(self, p: Num, t: float) -> Expr | None:
        """One output's term of one example's loss, specialised to its target (None: the term is 0)."""

    @abstractmethod
    def gradient_expr(self, p: Num, t: float) -> Expr | None:
        """One element of ∂L/∂ŷ before reductions, specialised to its target (None: exactly 0)."""

    def carried_terms(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each output's term as its working computes it over arrays (rounding: carry), and where a term
        is written at all. By default element by element from term_expr: exact, and slower; a rule writes
        its working over arrays to be fast (tests/test_carry.py proves the two agree bit for bit)."""
        from nnworked.expr import num

        present = np.vectorize(lambda v, t: self.term_expr(num(v), t) is not None, otypes=[bool])(p, y)
        terms = c.worked(p.shape, lambda n, i: self.term_expr(num(p[n, i]), y[n, i]) or num(0.0))
        return terms, present

    def carried_gradient(self, c: Any, p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂ŷ before the reductions, as its working computes it, and where it is written at all
        (elsewhere it is 0: a term the target gives no weight contributes nothing)."""
        from nnworked.expr import num

        present = np.vectorize(lambda v, t: self.gradient_expr(num(v), t) is not None, otypes=[bool])(p, y)
        core = c.worked(p.shape, lambda n, i: self.gradient_expr(num(p[n, i]), y[n, i]) or num(0.0))
        return core, present

    # -- in a spreadsheet (--format xlsx): formulas over cell references such as "E7", each operation
    # passed through `r` where the carried working rounds it (under rounding: carry the cells then
    # recalculate to the trace's digits) --

    @abstractmethod
    def spreadsheet_formula(self, p: str, y: str, r: Rounding) -> str:
        """One output's term of one example's loss, before the reductions and the scale, as a spreadsheet
        formula (no leading =) over the cells of the prediction p and the target y, every stage rounded as
        `carried_terms` rounds it."""

    @abstractmethod
    def spreadsheet_gradient(self, p: str, y: str, r: Rounding) -> str:
        """One element of ∂L/∂ŷ before the reductions and the scale, as a spreadsheet formula over the
        cells p and y, every stage rounded as `carried_gradient` rounds it."""

    @abstractmethod
    def formula_core(self, spec: LossSpec, units: int) -> str:
        """The right-hand side of "L = …" for one example, with the output reduction, without the scale."""

    @abstractmethod
    def symbolic(self, target: np.ndarray, yhat: str, y: str) -> str:
        """One example's loss in symbols where that is short ("(ŷ − y)²", "−ln(ŷ)"), else ""."""

    @abstractmethod
    def specialisation(self, targets: np.ndarray) -> str:
        """"Since y = 1:" where the targets make the formula simpler, else ""."""

    @abstractmethod
    def convention(self, spec: LossSpec) -> str:
        """The conventions sentence: "squared error with no ½", "ln is the natural logarithm"."""

    @abstractmethod
    def derivation(self, trace: Trace, w: Any, output: OutputDelta) -> list[Block]:
        """Where ∂L/∂ŷ (and the shortcut) come from, with the scenario's numbers, for --detail full."""

    # -- checking, generating, grading, verifying --

    def target_problems(self, targets: np.ndarray) -> list[tuple[str, str, str]]:
        """(message, expected, given) for each way the targets do not suit this loss."""
        return []

    def draw_targets(self, rows: list[list[Any]], rng: Any, draw: Callable[[], Any], classes: int) -> list[list[Any]]:
        """New targets of the kind this loss expects, a row for each of `rows`, for `generate` (draw: a value
        from the grid; classes: the network's outputs)."""
        return draw_from_grid(rows, draw)

    def likely_mistakes(self, spec: LossSpec, correct: float) -> list[tuple[str, float]]:
        """Mistakes particular to this loss under its conventions `spec`, for grading's diagnosis: (what went
        wrong, the value a gradient whose right value is `correct` would have)."""
        return []

    @abstractmethod
    def torch_loss(self, torch: Any, a: Any, y: Any) -> Any:
        """The element losses in PyTorch, for `verify` (torch is the imported module)."""

    # the torch.nn loss computing it: `from_torch` reads a loss function by it and `--format pytorch` writes
    # it (None: torch.nn has none). Its reduction "mean" averages over every output of every example, "sum"
    # sums them, as `outputs` and `batch` do together.
    torch_module: str | None = None
    torch_applies_output_activation: bool = False  # the module takes the output layer's z and applies
    # output_activation itself (nn.CrossEntropyLoss applies softmax): the torch model ends without it


def draw_from_grid(rows: list[list[Any]], draw: Callable[[], Any]) -> list[list[Any]]:
    return [[draw() for _ in row] for row in rows]


def scaled(spec: LossSpec, core: Expr, examples: int, units: int) -> Expr:
    """core × scale ÷ (units averaged over × examples averaged over), as a reader would write it."""
    if spec.scale != 1:
        core = op("mul", num(spec.scale, True), core)
    divisor = round(spec.scale / spec.factor(examples, units))
    return core if divisor == 1 else op("div", core, num(divisor, True))
