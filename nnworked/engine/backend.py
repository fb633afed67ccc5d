"""The two ways `solve` computes: plain float64 numpy (`rounding: exact`) and carried decimal rounding
(`rounding: carry`, each shown intermediate rounded as a student with a calculator would). Layer rules
call these methods and never ask which mode is in force, so every layer type gets both modes at once."""

from __future__ import annotations

import numpy as np

from nnworked.engine import carry
from nnworked.rules.activations import ActivationRule


def rows(values: np.ndarray) -> np.ndarray:
    """(examples, positions, units) as one row per example and position, in that order (a matrix stays as
    it is, and so do images): a dense layer, an activation and a loss apply at every position alike."""
    return values.reshape(-1, values.shape[-1]) if values.ndim == 3 else values


def _like(values: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """Rows back in the shape of a sequence (examples, positions, units)."""
    if values is None or len(shape) != 3:
        return values
    return values.reshape(shape[:-1] + values.shape[-1:])


class Exact:
    """float64 numpy, vectorised over examples (and over the positions of a sequence: the dense
    operations below take (examples, positions, units) arrays as rows and give them back in that shape)."""

    carry = False

    def linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return _like(self._linear(weights, rows(inputs), bias), inputs.shape)

    def _linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return inputs @ weights.T + (bias if bias is not None else 0.0)

    def activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return _like(self._activate(rule, rows(z), slope), z.shape)

    def _activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.value(z, slope)

    def through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        """f′(z) and ∂L/∂z = ∂L/∂a ⊙ f′(z); softmax goes through its Jacobian and has no f′ to show."""
        derivative, delta = self._through(rule, rows(z), rows(a), rows(upstream), slope)
        return _like(derivative, z.shape), _like(delta, z.shape)

    def _through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                 slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        if not rule.elementwise:
            return None, rule.vjp(z, a, upstream, slope)
        derivative = rule.derivative(z, a, slope)
        return derivative, upstream * derivative

    def weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        """Σ over examples (and positions) of δ ⊗ a."""
        return self._weight_gradient(rows(delta), rows(inputs))

    def _weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return delta.T @ inputs

    def bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return self._bias_gradient(rows(delta))

    def _bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return delta.sum(axis=0)

    def backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return _like(self._backprop(weights, rows(delta)), delta.shape[:-1] + (weights.shape[1],))

    def _backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
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

    # -- dropout, normalisation, residual connections (each over the last axis: the rule arranges it) --

    def dropout_scale(self, rate: float) -> float:
        """1 / (1 − rate): what inverted dropout multiplies a kept value by."""
        return 1.0 / (1.0 - rate)

    def masked(self, values: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
        """mask × value × scale, elementwise: dropout's output, and its gradient."""
        return mask * values * scale

    def statistics(self, x: np.ndarray, epsilon: float) -> tuple[np.ndarray, ...]:
        """Per group (the last axis): the mean, the biased variance, σ = √(variance + ε), and each value
        normalised, x̂ = (x − mean) / σ."""
        count = x.shape[-1]
        mean = x.sum(axis=-1) / count
        deviation = x - mean[..., None]
        variance = (deviation ** 2).sum(axis=-1) / count
        std = np.sqrt(variance + epsilon)
        return mean, variance, std, deviation / std[..., None]

    def scale_shift(self, gamma: np.ndarray, xhat: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """γ × x̂ + β, elementwise (γ and β broadcast)."""
        return gamma * xhat + beta

    def group_sum(self, values: np.ndarray) -> np.ndarray:
        """Σ over the last axis: ∂L/∂β."""
        return values.sum(axis=-1)

    def group_dot(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Σ left × right over the last axis: ∂L/∂γ."""
        return (left * right).sum(axis=-1)

    def norm_back(self, gradient: np.ndarray, gamma: np.ndarray, xhat: np.ndarray,
                  std: np.ndarray) -> tuple[np.ndarray, ...]:
        """∂L/∂x̂ = ∂L/∂a × γ; its sum S₁ and its sum against x̂, S₂, per group; and ∂L/∂x = (M·∂L/∂x̂ − S₁ −
        x̂·S₂) / (M·σ), the three paths through x̂, the mean and the variance."""
        count = gradient.shape[-1]
        ghat = gradient * gamma
        s1 = ghat.sum(axis=-1)
        s2 = (ghat * xhat).sum(axis=-1)
        dx = (count * ghat - s1[..., None] - xhat * s2[..., None]) / (count * std)[..., None]
        return ghat, s1, s2, dx

    def add_paths(self, paths: list[np.ndarray]) -> np.ndarray:
        """The sum of the gradients that reach one value along several paths (or of two branches)."""
        return np.sum(paths, axis=0)

    # -- elementwise arithmetic (the LSTM's cell and hidden states and their gradients) --

    def elementwise(self, name: str, *operands: np.ndarray | float) -> np.ndarray:
        """One operation of an expression tree (add, sub, mul, pow, tanh: two operands at most), elementwise."""
        return np.asarray(carry._NUMPY[name](*operands), dtype=float)
    # -- attention (over the last two axes, batched over the axes before them) --

    def pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """out[..., i, j] = Σ_d left[..., i, d] × right[..., j, d]: every row of `left` with every row of
        `right` (Q·Kᵀ, A·V with V turned, and each of their gradients)."""
        return left @ np.swapaxes(right, -1, -2)

    def root(self, value: float) -> float:
        """√value, worked once: the √d_k attention divides its scores by."""
        return float(np.sqrt(value))


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

    def _linear(self, weights: np.ndarray, inputs: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return carry.linear(self.c, weights, inputs, bias)

    def _activate(self, rule: ActivationRule, z: np.ndarray, slope: float) -> np.ndarray:
        return rule.carried(self.c, z, slope)

    def _through(self, rule: ActivationRule, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                 slope: float) -> tuple[np.ndarray | None, np.ndarray]:
        return rule.carried_backward(self.c, z, a, upstream, slope)

    def _weight_gradient(self, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
        return carry.weight_gradient(self.c, delta, inputs)

    def _bias_gradient(self, delta: np.ndarray) -> np.ndarray:
        return carry.bias_gradient(self.c, delta)

    def _backprop(self, weights: np.ndarray, delta: np.ndarray) -> np.ndarray:
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

    def dropout_scale(self, rate: float) -> float:
        return self.c.constant("div", 1.0, self.c.constant("sub", 1.0, rate))

    def masked(self, values: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
        return self.c.op("mul", mask * values, scale)  # mask × value is exact: 0, or the value itself

    def statistics(self, x: np.ndarray, epsilon: float) -> tuple[np.ndarray, ...]:
        c, count = self.c, x.shape[-1]
        mean = c.op("div", c.total(x), count)  # one value is divided as it is: the total rounds two or more
        deviation = c.op("sub", x, mean[..., None])
        variance = c.op("div", c.total(c.op("pow", deviation, 2.0)), count)
        std = c.op("sqrt", c.op("add", variance, epsilon))
        return mean, variance, std, c.op("div", deviation, std[..., None])

    def scale_shift(self, gamma: np.ndarray, xhat: np.ndarray, beta: np.ndarray) -> np.ndarray:
        return self.c.again(self.c.op("add", self.c.op("mul", gamma, xhat), beta))

    def group_sum(self, values: np.ndarray) -> np.ndarray:
        return self.c.total(values)

    def group_dot(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return carry.combine(self.c, left * right)

    def norm_back(self, gradient: np.ndarray, gamma: np.ndarray, xhat: np.ndarray,
                  std: np.ndarray) -> tuple[np.ndarray, ...]:
        c, count = self.c, gradient.shape[-1]
        ghat = c.op("mul", gradient, gamma)
        s1 = c.total(ghat)
        s2 = carry.combine(c, ghat * xhat)
        top = c.op("sub", c.op("sub", c.op("mul", float(count), ghat), s1[..., None]), c.op("mul", xhat, s2[..., None]))
        return ghat, s1, s2, c.op("div", top, c.op("mul", float(count), std)[..., None])

    def add_paths(self, paths: list[np.ndarray]) -> np.ndarray:
        return self.c.total(np.stack(paths, axis=-1))

    def elementwise(self, name: str, *operands: np.ndarray | float) -> np.ndarray:
        return self.c.op(name, *operands)
    def pairs(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return carry.combine(self.c, left[..., :, None, :] * right[..., None, :, :])

    def root(self, value: float) -> float:
        return self.c.constant("sqrt", value)


Backend = Exact  # the type layer rules are given: Exact or its Carried subclass
