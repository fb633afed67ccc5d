"""What every layer rule holds: its parameters, its forward pass and its backward pass, as operation
records (`nnworked.trace`). The solver runs the rules in order and never asks which type a layer is."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from nnworked.engine.backend import Backend


# Checks a computed array: it raises NumericalError, naming `where`, when a value overflowed.
Finite = Callable[[np.ndarray, str], np.ndarray]


class Backward(NamedTuple):
    """What a layer's backward pass gives: its records, its parameters' gradients by name, and ∂L/∂ of
    its input (None for the first layer, whose input is the data)."""

    records: tuple[Any, ...]
    gradients: dict[str, np.ndarray]
    downstream: np.ndarray | None
    skips: tuple[tuple[int, np.ndarray], ...] = ()  # (layer j, ∂L/∂a_j along a skip connection): the solver adds it
    # to what reaches a_j along the main path


class LayerRule(ABC):
    """One layer type, registered under the `type:` a scenario writes."""

    neurons: bool = False  # its parameters are one weight per input for each neuron, plus a bias (dense)
    activated: bool = False  # an activation follows its linear part (dense, conv2d)
    torch_module: str | None = None  # its torch.nn counterpart, for from_torch and --format pytorch

    def torch_script(self, k: int, layer: Any) -> str:
        """The torch.nn module that computes this layer, as Python text (its parameters are loaded apart)."""
        raise NotImplementedError(f"a {self.name} layer has no torch.nn counterpart")

    def torch_helper(self, layer: Any) -> str:
        """The definition of a small nn.Module class that torch_script's text builds, where torch.nn has
        none (Python source, written once into the script); "" when torch.nn's own module serves."""
        return ""

    def torch_names(self, k: int) -> dict[str, str]:
        """The torch module's parameter attributes by nnworked's names: {"W1": "weight", "b1": "bias"}."""
        return {}

    def from_torch(self, module: Any) -> dict[str, Any]:
        """The scenario mapping of this layer from its torch.nn module (`type` and its keys)."""
        raise NotImplementedError(f"a {self.name} layer cannot be read from PyTorch")

    def torch_rows(self, k: int, layer: Any) -> dict[str, tuple[int, int]]:
        """The parameters that are a block of rows of one torch tensor (nn.LSTM stacks its four gates,
        nn.MultiheadAttention W_Q, W_K and W_V), by nnworked's name: (first row, row after the last)."""
        return {}

    def torch_note(self, layer: Any) -> str:
        """A remark a --format pytorch script makes above this layer's module (which torch computation it
        uses, and why); "" for none."""
        return ""

    def torch_outputs(self, k: int) -> dict[str, str]:
        """Values of the walkthrough's forward pass besides the module's output, by name, and the method of
        the script's module that computes them from its input: {"z1": "pre_activations"}."""
        return {}

    def torch_readings(self, torch: Any, module: Any) -> tuple[Any, list[tuple[dict[str, Any], Any]]]:
        """For a torch.nn module that nn.Sequential cannot chain (in_sequential False), read inside a module
        that wraps or subclasses it: a probe input, and each output such a module may pass on with the
        scenario keys that say so ({"return": "last"}). from_torch keeps the keys whose output it passes on."""
        raise NotImplementedError(f"a {self.name} layer cannot be read from PyTorch")

    def torch_references(self, layer: Any) -> tuple[str, ...]:
        """The PyTorch computations `verify` compares this layer with, by name ("nn.RNN"): the first is
        torch_forward's, each other one torch_alternative's, in a pass of its own; () names none."""
        return ()

    def torch_alternative(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any,
                          reference: str) -> Any:
        """The layer as the PyTorch computation `reference` (one of torch_references after the first)."""
        raise NotImplementedError(reference)
    def observe(self, forward: tuple[Any, ...], backward: tuple[Any, ...], n: Any, p: Any) -> list[str]:
        """What a teacher would remark on in this layer's own numbers (its forward records, and its backward
        records when the step has a backward pass), each sentence citing them; nothing by default."""
        return []

    def rejects(self, forward: tuple[Any, ...], constraints: Any) -> str | None:
        """Why `generate` should draw again for this layer's forward records; None: it is fine."""
        return None
    output: bool = True  # it may be the last layer (the loss's gradient starts from its activation)
    by_hand: bool = True  # the AI by Hand layout can draw it (else the walkthrough keeps the standard layout)
    in_sequential: bool = True  # its torch.nn module can sit in an nn.Sequential (nn.RNN returns a pair: it cannot)
    asks: str = "z"  # the kind of value a one-per-layer exercise sheet asks for in this layer ("": none)
    exact_by_hand: bool = True  # its output is worked with + − × alone (a softmax inside it is not: --max-decimals)

    @property
    @abstractmethod
    def name(self) -> str:
        """As a scenario writes it (`type: dense`)."""

    @property
    @abstractmethod
    def keys(self) -> tuple[str, ...]:
        """The keys a scenario may write in a layer of this type, besides `type`."""

    @abstractmethod
    def parse(self, check: Any, spec: dict, path: tuple, k: int, shape: tuple[int, ...] | None,
              previous: str) -> tuple[Any, tuple[int, ...]] | None:
        """Layer k from its mapping in the file, every problem added to `check` (a validation.Checker) with
        its path; `shape` is one example as the layer receives it from `previous` (None when unknown).
        Returns the layer and the shape of one example of its output (None when what it receives is unknown:
        the problem is reported where it arose, and nothing after it is checked against it), or None when
        the layer cannot be built."""

    def source(self, layer: Any) -> int | None:
        """An earlier layer whose output this layer reads besides the previous one's (0: the inputs), or None.
        A layer with one is given (the previous output, that output) as its inputs, in every pass."""
        return None

    def parse_inputs(self, check: Any, value: Any) -> np.ndarray | None:
        """The scenario's `inputs` when this is the first layer: rows of features, one per example (a flat
        list is one example). A layer that takes images or sequences says how it reads them."""
        return check.matrix(value, ("inputs",), "inputs")

    @abstractmethod
    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        """The same layer in PyTorch (float64 tensors, `params` by canonical name), for `verify`."""

    @abstractmethod
    def describe(self, layer: Any) -> str:
        """The layer in words, for the walkthrough's setup: "2 neurons with **ReLU** activation"."""

    @abstractmethod
    def summary(self, layer: Any) -> str:
        """The layer in a few characters, for `validate` and the architecture line: "16", "conv 2@3×3"."""

    @abstractmethod
    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        """Layer k's trainable parameters by their canonical names (W1, b1), in the order they update."""

    @abstractmethod
    def forward(self, math: "Backend", k: int, layer: Any, params: dict[str, np.ndarray], inputs: np.ndarray,
                given: bool, finite: Finite) -> tuple[Any, ...]:
        """The forward records of layer k; the last one's `output` feeds the next layer."""

    def from_z(self, math: "Backend", k: int, layer: Any, params: dict[str, np.ndarray], inputs: Any, z: np.ndarray,
               finite: Finite) -> tuple[Any, ...]:
        """The layer's forward records when its z is `z` (verify nudges one element of z and runs on): by
        default its activation of z. A layer whose z feeds more than its own activation (a recurrence) says
        how."""
        from nnworked.rules.layers.activated import activate

        return (activate(math, k, layer, z, finite),)

    @abstractmethod
    def backward(self, math: "Backend", k: int, layer: Any, params: dict[str, np.ndarray],
                 records: tuple[Any, ...], upstream: np.ndarray | None, delta: np.ndarray | None,
                 finite: Finite) -> Backward:
        """Layer k's backward pass from ∂L/∂(its output) `upstream`, or, at the output layer, from the δ
        the loss rule fused with its activation (`delta`, ∂L/∂z: the activation step is then done)."""
