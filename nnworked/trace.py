"""The Trace: what `engine.solve` records, as plain data, for renderers to interpret.

A solved scenario is a sequence of operation records, one per operation a person writes by hand (a
layer's linear combination, its activation, the loss, each gradient, each update), holding whole arrays;
examples are rows. Each record names the quantities it produces (`produces()`: "z1", "a1", "W2", …), so
that consumers (the table of quantities, the JSON, the printers) walk records generically, and a new layer
type is new record types plus its rule (`nnworked.rules.layers`), not a change to every consumer. Printers
dispatch on a record's type (`_print_Linear`, …) and fail loudly on a type they lack.

The per-element working (`z₁[0] = (0.1 × 0.5) + …`) is rebuilt from these arrays by `nnworked.worked` when
a renderer asks. Records are NamedTuples (immutable, and several times cheaper to define than frozen
dataclasses, which matters for a command that should start as fast as its imports).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import NamedTuple, Union

import numpy as np

from nnworked.engine.losses import LossSpec
from nnworked.engine.rounding import Precision
from nnworked.scenario import Scenario
from nnworked.layer_records import (  # noqa: F401  (each record type is a trace's: imported from here too)
    ConvBackToPrevious, Convolve, Dropout, DropoutBack, Flatten, GradientSum, KernelGradient, NormBack, NormGradient,
    Normalise, Pool, PoolBack, Residual, ResidualBack, Unflatten, outputs)


@outputs("z")
class Linear(NamedTuple):
    """z = a·Wᵀ + b for every example: layer k's linear combination."""

    layer: int
    weights: np.ndarray
    bias: np.ndarray | None
    inputs: np.ndarray  # (examples, inputs)
    z: np.ndarray  # (examples, units)
    given: bool  # weights and inputs are the numbers the user wrote (the first forward pass)


@outputs("a")
class Activate(NamedTuple):
    """a = f(z): layer k's activation (the identity for a linear layer)."""

    layer: int
    activation: str
    slope: float
    z: np.ndarray
    a: np.ndarray


ForwardOperation = Union[Linear, Activate, Convolve, Pool, Flatten, Dropout, Normalise, Residual]


class Forward(NamedTuple):
    """A forward pass: every operation in the order it is computed; the last one's output is ŷ."""

    operations: tuple[ForwardOperation, ...]

    @property
    def output(self) -> np.ndarray:
        return self.operations[-1].output

    def arrays(self) -> dict[str, np.ndarray]:
        """Every quantity the pass computes, by name: z1, a1, … (the JSON's `forward`)."""
        out: dict[str, np.ndarray] = {}
        for operation in self.operations:
            out.update(operation.produces())
        return out

    def of_type(self, kind: type) -> tuple:
        return tuple(op for op in self.operations if isinstance(op, kind))

    @property
    def linear(self) -> tuple[Linear, ...]:
        """The linear combinations of the dense layers, first layer first."""
        return self.of_type(Linear)

    @property
    def activate(self) -> tuple[Activate, ...]:
        """The activations, first layer first."""
        return self.of_type(Activate)


class LossValue(NamedTuple):
    spec: LossSpec
    yhat: np.ndarray
    y: np.ndarray
    per_example: np.ndarray
    value: float


class OutputDelta(NamedTuple):
    """δ at the output layer: ∂L/∂ŷ × ∂ŷ/∂z, and the fused shortcut ŷ − y where one exists."""

    layer: int
    activation: str
    dl_dyhat: np.ndarray  # may hold ±inf where ŷ saturates; δ then comes from the shortcut
    dyhat_dz: np.ndarray | None  # elementwise activations only
    product: np.ndarray  # the chain rule, multiplied out (softmax: through its Jacobian)
    shortcut: np.ndarray | None
    delta: np.ndarray  # what the rest of the backward pass uses

    def produces(self) -> dict[str, np.ndarray]:
        return {f"z{self.layer}": self.delta, f"a{self.layer}": self.dl_dyhat}


class LayerGradient(NamedTuple):
    """∂L/∂W = Σₙ δ⁽ⁿ⁾ ⊗ a⁽ⁿ⁾ and ∂L/∂b = Σₙ δ⁽ⁿ⁾ for layer k."""

    layer: int
    delta: np.ndarray
    inputs: np.ndarray
    weights_grad: np.ndarray
    bias_grad: np.ndarray | None

    def produces(self) -> dict[str, np.ndarray]:
        out = {f"W{self.layer}": self.weights_grad}
        if self.bias_grad is not None:
            out[f"b{self.layer}"] = self.bias_grad
        return out


class BackToPrevious(NamedTuple):
    """∂L/∂a_{k−1} = δ_k · W_k (Wᵀδ for each example)."""

    layer: int  # k: the layer whose δ is passed back
    weights: np.ndarray
    delta: np.ndarray
    upstream: np.ndarray  # ∂L/∂a_{k−1}

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class ThroughActivation(NamedTuple):
    """δ_k = ∂L/∂a_k ⊙ f′(z_k) (softmax: its Jacobian)."""

    layer: int
    activation: str
    slope: float
    z: np.ndarray
    a: np.ndarray
    upstream: np.ndarray
    derivative: np.ndarray | None
    delta: np.ndarray

    def produces(self) -> dict[str, np.ndarray]:
        return {f"z{self.layer}": self.delta}


BackwardStep = Union[OutputDelta, LayerGradient, BackToPrevious, ThroughActivation, KernelGradient, ConvBackToPrevious,
                     PoolBack, Unflatten, DropoutBack, NormGradient, NormBack, ResidualBack, GradientSum]


class Update(NamedTuple):
    name: str  # "W1", "b1", …
    old: np.ndarray
    grad: np.ndarray
    new: np.ndarray
    frozen: bool
    state: dict[str, np.ndarray]  # optimizer state after this update (empty for plain SGD)


class TrainingStep(NamedTuple):
    number: int
    forward: Forward
    loss: LossValue | None
    backward: tuple[BackwardStep, ...] = ()
    updates: tuple[Update, ...] = ()

    def gradients(self) -> dict[str, np.ndarray]:
        """∂L/∂· for every parameter, pre-activation and activation, keyed as in the JSON contract: each
        backward record names the gradients it produces."""
        out: dict[str, np.ndarray] = {}
        for step in self.backward:
            out.update(step.produces())
        return out


class MatmulResult(NamedTuple):
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


class Steps(Sequence):
    """Every training step: the first few in full, the rest by their loss alone.

    A walkthrough shows step 1 in full and the loss at every step; holding each of 100,000 steps' forward
    pass, backward records and updates would grow memory with the steps for nothing. A step past the kept
    ones comes back as a TrainingStep with an empty forward pass and a LossValue holding only its value.
    """

    def __init__(self, kept: tuple[TrainingStep, ...], losses: Sequence[float], spec: LossSpec):
        self.kept, self.values, self.spec = kept, np.asarray(losses, dtype=float), spec

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = range(len(self))[index]  # negative indices, and IndexError past the end
        if index < len(self.kept):
            return self.kept[index]
        return TrainingStep(index + 1, Forward(()),
                            LossValue(self.spec, None, None, None, float(self.values[index])))  # type: ignore[arg-type]


class Trace(NamedTuple):
    scenario: Scenario
    precision: Precision
    steps: tuple[TrainingStep, ...] | Steps = ()  # Steps when the solver kept only the first steps in full
    final: tuple[Forward, LossValue | None] | None = None  # a forward pass after the last update
    matmul: MatmulResult | None = None

    def every_step(self) -> Iterator[TrainingStep]:
        """Every step in full, one at a time: those held, or (when only the first were kept) solved again
        step by step, so that a consumer of every step (the JSON) never holds them all."""
        if not isinstance(self.steps, Steps):
            return iter(self.steps)
        from nnworked.engine.network import training_steps

        return training_steps(self.scenario)

    @property
    def losses(self) -> list[float]:
        """The loss before each step, then the loss after the last one."""
        values = self.steps.values.tolist() if isinstance(self.steps, Steps) else \
            [s.loss.value for s in self.steps if s.loss is not None]
        if self.final is not None and self.final[1] is not None:
            values.append(self.final[1].value)
        return values
