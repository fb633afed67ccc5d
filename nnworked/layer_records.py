"""The records of the layers beyond dense ones (convolution, pooling, flatten, dropout, normalisation,
residual), forward and backward: data only, each naming what it produces, as `nnworked.trace`'s dense
records do. `nnworked.trace` imports them, and its unions of record types name them."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def outputs(kind: str):  # noqa: ANN201
    """A forward record whose output is its field `kind` (a or z), the quantity named kind{layer}: the two
    pieces most forward records share, written once (a NamedTuple takes no mixin)."""
    def add(cls):  # noqa: ANN001, ANN202
        cls.output = property(lambda self: getattr(self, kind), doc=f"{kind}: what the next operation receives")
        cls.produces = lambda self: {f"{kind}{self.layer}": getattr(self, kind)}
        return cls
    return add


@outputs("z")
class Convolve(NamedTuple):
    """z = K ⋆ a + b: layer k's cross-correlation of its input images with each kernel, as every framework
    computes it (no flip), over zero-padded inputs, at a stride."""

    layer: int
    kernels: np.ndarray  # (out channels, in channels, rows, cols)
    bias: np.ndarray | None  # (out channels,)
    inputs: np.ndarray  # (examples, in channels, rows, cols), unpadded
    z: np.ndarray  # (examples, out channels, out rows, out cols)
    stride: int
    padding: int
    given: bool


@outputs("a")
class Pool(NamedTuple):
    """a = the max (or the mean) of each window of each channel."""

    layer: int
    kind: str  # the layer type: max_pool or avg_pool
    size: int
    stride: int
    inputs: np.ndarray  # (examples, channels, rows, cols)
    a: np.ndarray  # (examples, channels, out rows, out cols)
    winners: np.ndarray | None  # max pooling: the index within each window (row-major) of its first maximum


@outputs("a")
class Flatten(NamedTuple):
    """a = every channel's rows one after another: (channel, row, col) → one vector, row-major."""

    layer: int
    inputs: np.ndarray
    a: np.ndarray


@outputs("a")
class Dropout(NamedTuple):
    """a = mask × a_{k−1} × 1/(1 − rate): inverted dropout with the file's mask (1 keeps, 0 drops)."""

    layer: int
    rate: float
    scale: float  # 1 / (1 − rate), as worked once
    mask: np.ndarray  # the shape of the input
    inputs: np.ndarray
    a: np.ndarray


@outputs("a")
class Normalise(NamedTuple):
    """a = γ × x̂ + β with x̂ = (x − mean) / √(variance + ε): batch_norm's statistics are each feature's over
    the batch, layer_norm's each example's over its features (a group: one mean, variance and σ)."""

    layer: int
    kind: str  # the layer type: batch_norm or layer_norm
    over_batch: bool  # the statistics are each feature's over the batch (else each example's over its features)
    inputs: np.ndarray  # (examples, features)
    mean: np.ndarray  # per group: (features,) for batch_norm, (examples,) for layer_norm
    variance: np.ndarray  # biased: the mean of the squared deviations
    std: np.ndarray  # √(variance + ε)
    xhat: np.ndarray  # (examples, features)
    gamma: np.ndarray  # (features,)
    beta: np.ndarray
    epsilon: float
    a: np.ndarray


@outputs("a")
class Residual(NamedTuple):
    """a_k = a_{k−1} + a_j: the previous layer's output plus an earlier one's (j = 0: the inputs)."""

    layer: int
    source: int  # j
    inputs: np.ndarray  # a_{k−1}
    branch: np.ndarray  # a_j
    a: np.ndarray


class KernelGradient(NamedTuple):
    """∂L/∂K = the correlation of the (padded) input with δ, summed over the batch; ∂L/∂b = Σ δ per channel."""

    layer: int
    delta: np.ndarray  # (examples, out channels, out rows, out cols)
    inputs: np.ndarray  # unpadded
    stride: int
    padding: int
    kernels_grad: np.ndarray
    bias_grad: np.ndarray | None

    def produces(self) -> dict[str, np.ndarray]:
        out = {f"K{self.layer}": self.kernels_grad}
        if self.bias_grad is not None:
            out[f"b{self.layer}"] = self.bias_grad
        return out


class ConvBackToPrevious(NamedTuple):
    """∂L/∂a_{k−1} = the full convolution of δ (spread by the stride, padded by the kernel's size − 1) with
    the flipped kernel, cropped by the padding."""

    layer: int
    kernels: np.ndarray
    delta: np.ndarray
    stride: int
    padding: int
    upstream: np.ndarray  # ∂L/∂a_{k−1}

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class PoolBack(NamedTuple):
    """∂L/∂a_{k−1}: each window's gradient routed to its winning element (max), or shared evenly (avg)."""

    layer: int
    kind: str
    size: int
    stride: int
    winners: np.ndarray | None
    gradient: np.ndarray  # ∂L/∂a_k
    upstream: np.ndarray  # ∂L/∂a_{k−1}

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class Unflatten(NamedTuple):
    """∂L/∂a_{k−1}: the gradient of the flat vector put back into the shape of the images."""

    layer: int
    gradient: np.ndarray
    upstream: np.ndarray

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class DropoutBack(NamedTuple):
    """∂L/∂a_{k−1} = mask × ∂L/∂a_k × 1/(1 − rate): the gradient passes where the value was kept, scaled alike."""

    layer: int
    rate: float
    scale: float
    mask: np.ndarray
    gradient: np.ndarray  # ∂L/∂a_k
    upstream: np.ndarray  # ∂L/∂a_{k−1}

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class NormGradient(NamedTuple):
    """∂L/∂γ = Σₙ ∂L/∂a × x̂ and ∂L/∂β = Σₙ ∂L/∂a, per feature, over the batch."""

    layer: int
    kind: str
    gradient: np.ndarray  # ∂L/∂a_k (examples, features)
    xhat: np.ndarray
    gamma_grad: np.ndarray
    beta_grad: np.ndarray

    def produces(self) -> dict[str, np.ndarray]:
        return {f"gamma{self.layer}": self.gamma_grad, f"beta{self.layer}": self.beta_grad}


class NormBack(NamedTuple):
    """∂L/∂a_{k−1} = (M·∂L/∂x̂ − S₁ − x̂·S₂) / (M·σ) per group of M values: ∂L/∂x̂ = ∂L/∂a × γ, S₁ = Σ ∂L/∂x̂,
    S₂ = Σ ∂L/∂x̂ × x̂; the three terms are the paths through x̂, the mean and the variance."""

    layer: int
    kind: str
    over_batch: bool
    gradient: np.ndarray  # ∂L/∂a_k
    gamma: np.ndarray
    xhat: np.ndarray
    std: np.ndarray  # per group
    ghat: np.ndarray  # ∂L/∂x̂ (examples, features)
    s1: np.ndarray  # per group
    s2: np.ndarray
    upstream: np.ndarray  # ∂L/∂a_{k−1}

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class ResidualBack(NamedTuple):
    """∂L/∂a_{k−1} = ∂L/∂a_k: a sum passes its gradient unchanged to both branches (the skip's copy goes to
    a_j, where a GradientSum adds it)."""

    layer: int
    source: int
    gradient: np.ndarray  # ∂L/∂a_k
    upstream: np.ndarray  # ∂L/∂a_{k−1}, the same numbers (and the main path's sum, when a_{k−1} is also a_j)

    def produces(self) -> dict[str, np.ndarray]:
        return {f"a{self.layer - 1}": self.upstream}


class GradientSum(NamedTuple):
    """∂L/∂a_j = the main path's gradient + each skip connection's: a_j feeds the next layer and a residual
    layer later on. The record before it (the main path's) already holds the sum as its `upstream`."""

    layer: int  # j
    main: np.ndarray  # what reached a_j along the main path
    sources: tuple[int, ...]  # the residual layers whose skips add in
    skips: tuple[np.ndarray, ...]
    total: np.ndarray

    def produces(self) -> dict[str, np.ndarray]:
        return {}  # a_j's gradient is the main path's record's (its working ends in + the skips)
