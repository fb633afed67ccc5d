"""The two ways `solve` computes: plain float64 numpy (`rounding: exact`) and carried decimal rounding
(`rounding: carry`, each shown intermediate rounded as a student with a calculator would). Layer rules
call these methods and never ask which mode is in force, so every layer type gets both modes at once."""

from __future__ import annotations

import numpy as np

from nnworked.engine import carry
from nnworked.rules.activations import ActivationRule


class Exact:
    """float64 numpy, vectorised over examples."""

    carry = False

    def linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return inputs @ weights.T + (bias if bias is not None else 0.0)

    def activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.value(z, slope)

    def through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        """f′(z) and ∂L/∂z = ∂L/∂a ⊙ f′(z); softmax goes through its Jacobian and has no f′ to show."""
        if not rule.elementwise:
            return None, rule.vjp(z, a, upstream, slope)
        derivative = rule.derivative(z, a, slope)
        return derivative, upstream * derivative

    def weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return delta.T @ inputs

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return delta.sum(axis=0)

    def backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return delta @ weights

    # -- windows (convolution, pooling) --

    def correlate(self, x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None, stride: int) -> np.ndarray:
        """z[n, o, i, j] = Σ_c,p,q K[o, c, p, q] × x[n, c, i·s + p, j·s + q] + b[o], x already padded."""
        # one matrix product of the patches (as rows) with the kernels (as columns): the sum of the products
        # without holding each of them (the carried mode rounds each, so it keeps _terms)
        flat = _patch_rows(x, kernels.shape, stride)  # (n, i, j, c·p·q)
        z = (flat @ kernels.reshape(kernels.shape[0], -1).T).transpose(0, 3, 1, 2)
        return z + (bias[None, :, None, None] if bias is not None else 0.0)

    def kernel_gradient(self, x: np.ndarray, delta: np.ndarray, shape: tuple[int, ...], stride: int) -> np.ndarray:
        """∂L/∂K[o, c, p, q] = Σ_n,i,j δ[n, o, i, j] × x[n, c, i·s + p, j·s + q], x padded."""
        flat = _patch_rows(x, shape, stride)[:, : delta.shape[2], : delta.shape[3]]  # (n, i, j, c·p·q)
        deltas = delta.transpose(1, 0, 2, 3).reshape(shape[0], -1)  # (o, n·i·j)
        return (deltas @ flat.reshape(deltas.shape[1], -1)).reshape(shape)

    def channel_sum(self, delta: np.ndarray) -> np.ndarray:
        """Σ over examples and positions, per channel: ∂L/∂b of a convolution."""
        return delta.sum(axis=(0, 2, 3))

    def mean(self, windows: np.ndarray) -> np.ndarray:
        """The mean over the last axis: (x₁ + … + xₘ) / m."""
        return windows.sum(axis=-1) / windows.shape[-1]

    def share(self, gradient: np.ndarray, count: int) -> np.ndarray:
        """A gradient divided evenly among the `count` elements of a window."""
        return gradient / count

    def accumulate(self, values: np.ndarray, overlaps: bool) -> np.ndarray:
        """A gradient summed where windows overlap (`values` already added up by position)."""
        return values


def _patch_rows(x: np.ndarray, shape: tuple[int, ...], stride: int) -> np.ndarray:
    """Each patch of the padded `x`, flat, in the order of a kernel's weights: (n, out rows, out cols, c·p·q)."""
    from nnworked.engine.windows import patches

    _, in_c, rows, cols = shape
    view = patches(x, rows, cols, stride)  # (n, c, i, j, p, q)
    return view.transpose(0, 2, 3, 1, 4, 5).reshape(view.shape[0], view.shape[2], view.shape[3], in_c * rows * cols)


def _terms(x: np.ndarray, kernels: np.ndarray, stride: int) -> np.ndarray:
    from nnworked.engine.windows import patches

    out_c, in_c, rows, cols = kernels.shape
    view = patches(x, rows, cols, stride)  # (n, c, i, j, p, q)
    n, _, out_r, out_q = view.shape[:4]
    flat = view.transpose(0, 2, 3, 1, 4, 5).reshape(n, 1, out_r, out_q, in_c * rows * cols)
    return flat * kernels.reshape(1, out_c, 1, 1, -1)


def _kernel_terms(x: np.ndarray, delta: np.ndarray, shape: tuple[int, ...], stride: int) -> np.ndarray:
    from nnworked.engine.windows import patches

    out_c, in_c, rows, cols = shape
    view = patches(x, rows, cols, stride)[:, :, : delta.shape[2], : delta.shape[3]]  # (n, c, i, j, p, q)
    inputs = view.transpose(1, 4, 5, 0, 2, 3).reshape(1, in_c, rows, cols, -1)
    deltas = delta.transpose(1, 0, 2, 3).reshape(out_c, 1, 1, 1, -1)
    return deltas * inputs


class Carried(Exact):
    """Every shown intermediate rounded to the scenario's places, as `nnworked.worked` writes it."""

    carry = True

    def __init__(self, carrier: carry.Carrier):
        self.c = carrier

    def linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return carry.linear(self.c, weights, inputs, bias)

    def activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.carried(self.c, z, slope)

    def through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        return rule.carried_backward(self.c, z, a, upstream, slope)

    def weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return carry.weight_gradient(self.c, delta, inputs)

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return carry.bias_gradient(self.c, delta)

    def backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return carry.backprop(self.c, weights, delta)

    def correlate(self, x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | None, stride: int) -> np.ndarray:
        extra = None if bias is None else np.broadcast_to(bias[None, :, None, None], _terms(x, kernels, stride).shape[:4])
        return carry.combine(self.c, _terms(x, kernels, stride), extra)

    def kernel_gradient(self, x: np.ndarray, delta: np.ndarray, shape: tuple[int, ...], stride: int) -> np.ndarray:
        return carry.combine(self.c, _kernel_terms(x, delta, shape, stride))

    def channel_sum(self, delta: np.ndarray) -> np.ndarray:
        return self.c.round(self.c.total(delta.transpose(1, 0, 2, 3).reshape(delta.shape[1], -1)))

    def mean(self, windows: np.ndarray) -> np.ndarray:
        return self.c.op("div", self.c.round(self.c.total(windows)), windows.shape[-1])

    def share(self, gradient: np.ndarray, count: int) -> np.ndarray:
        return self.c.op("div", gradient, count)

    def accumulate(self, values: np.ndarray, overlaps: bool) -> np.ndarray:
        return self.c.round(values) if overlaps else values


Backend = Exact  # the type layer rules are given: Exact or its Carried subclass
