"""A scenario: the frozen record a scenario file becomes, and loading one (nnworked.validation checks it
and lists every problem in a ScenarioError)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.engine.activations import DEFAULT_LEAKY_SLOPE
from nnworked.engine.losses import LossSpec
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.errors import ScenarioError
from nnworked.yamlsource import Document, load_file

TOP_KEYS = ["title", "description", "input_names", "inputs", "targets", "layers", "loss", "learning_rate",
            "optimizer", "steps", "freeze", "precision", "rounding", "layout", "exercise", "matmul"]
LAYOUTS = ["standard", "ai-by-hand"]
ROUNDINGS = ["exact", "carry"]
REVEALS = ["guided", "none"]  # an exercise sheet's policy (sheets.REVEALS); kept here so loading needs no renderer
LOSS_KEYS = ["name", "scale", "outputs", "batch"]


# Records are NamedTuples (immutable) rather than frozen dataclasses: defining a dataclass generates and
# compiles its methods at import, which costs a command that should start in a few milliseconds.
class Layer(NamedTuple):
    weights: np.ndarray  # (units, inputs): one row per neuron
    bias: np.ndarray | None  # (units,)
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE  # leaky_relu only
    name: str | None = None
    type: str = "dense"  # the layer rule (nnworked.rules.layers) that computes it

    @property
    def units(self) -> int:
        return self.weights.shape[0]


class ConvLayer(NamedTuple):
    kernels: np.ndarray  # (out channels, in channels, rows, cols)
    bias: np.ndarray | None  # (out channels,)
    stride: int = 1
    padding: int = 0
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE
    name: str | None = None
    type: str = "conv2d"


class PoolLayer(NamedTuple):
    type: str  # max_pool or avg_pool
    size: int
    stride: int
    name: str | None = None
    activation: str = "linear"  # none: what every layer says of itself
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


class FlattenLayer(NamedTuple):
    name: str | None = None
    type: str = "flatten"
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


class DropoutLayer(NamedTuple):
    rate: float  # the probability of dropping
    mask: np.ndarray  # (examples, *one example's shape): 1 keeps, 0 drops
    name: str | None = None
    type: str = "dropout"
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


class NormLayer(NamedTuple):
    type: str  # batch_norm or layer_norm
    gamma: np.ndarray  # (features,): ones when the file leaves it out
    beta: np.ndarray  # (features,): zeros when the file leaves it out
    epsilon: float = 1e-5
    name: str | None = None
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


class ResidualLayer(NamedTuple):
    source: int  # the layer whose output is added (0: the inputs)
    source_name: str  # as the file wrote it: a layer's name, or input
    name: str | None = None
    type: str = "residual"
    activation: str = "linear"
    slope: float = DEFAULT_LEAKY_SLOPE
    bias: None = None


class Matmul(NamedTuple):
    a: np.ndarray
    b: np.ndarray


class Scenario(NamedTuple):
    title: str
    source: str
    description: str = ""
    inputs: np.ndarray = np.zeros((0, 0))  # (examples, features)
    targets: np.ndarray | None = None  # (examples, outputs); class indices already one-hot
    layers: tuple[Layer, ...] = ()
    loss: LossSpec | None = None
    learning_rate: float | None = None
    optimizer: OptimizerSpec = OptimizerSpec()
    steps: int = 1
    freeze: frozenset[str] = frozenset()
    precision: int = 4
    rounding: str = "exact"
    layout: str = "standard"  # how the walkthrough is arranged unless the reader asks otherwise
    blanks: tuple[str, ...] = ()  # an exercise's blanks, as `nnworked generate` records them in a variant
    variant: str = ""  # and its id, printed on the sheet and its key
    reveal: str = ""  # and its policy (guided, none), when the variant records one
    input_names: tuple[str, ...] | None = None
    matmul: Matmul | None = None

    @property
    def trains(self) -> bool:
        return self.targets is not None and self.learning_rate is not None

    def parameter_counts(self) -> list[int]:
        """Per layer: one weight per input for every neuron, plus its bias."""
        from nnworked.rules.layers import LAYERS

        return [sum(p.size for p in LAYERS[layer.type].parameters(k, layer).values())
                for k, layer in enumerate(self.layers, start=1)]

    def with_options(self, **options: Any) -> "Scenario":
        """Command-line options override the file's own settings (None means not given)."""
        return self._replace(**{k: v for k, v in options.items() if v is not None})


def parameters(layers: tuple[Layer, ...] | list[Layer]) -> dict[str, np.ndarray]:
    """Every trainable parameter by its canonical name (W1, b1, …), in the order they update; each layer's
    rule says which it has."""
    from nnworked.rules.layers import LAYERS

    out: dict[str, np.ndarray] = {}
    for k, layer in enumerate(layers, start=1):
        out.update(LAYERS[layer.type].parameters(k, layer))
    return out


def parameter_names(layers: tuple[Layer, ...] | list[Layer]) -> list[str]:
    return list(parameters(layers))


# ---- loading ----------------------------------------------------------------------------------------

def load(path: str) -> Scenario:
    """Read and validate a scenario file; raise ScenarioError with every problem found."""
    return from_document(load_file(path))


def from_document(doc: Document) -> Scenario:
    from nnworked.validation import Checker

    checker = Checker(doc)
    scenario = checker.scenario()
    if checker.issues:
        raise ScenarioError(checker.issues)
    assert scenario is not None
    return scenario
