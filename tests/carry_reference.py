"""The carried values worked element by element, from each element's expression tree (`nnworked.worked`),
as the engine computed them before `nnworked.engine.carry`: the reference tests/test_carry.py holds the
vectorised carry mode to. Same functions, same arguments as `nnworked.engine.carry`."""

from __future__ import annotations

from typing import Callable

import numpy as np

from nnworked import worked
from nnworked.engine.carry import Carrier
from nnworked.engine.losses import LossSpec
from nnworked.engine.optimizers import OptimizerSpec
from nnworked.engine.rounding import Precision
from nnworked.expr import Expr


def _precision(c: Carrier) -> Precision:
    return Precision(c.places, carry=True)


def fill(shape: tuple[int, ...], element: Callable[..., Expr], precision: Precision) -> np.ndarray:
    """An array whose every element is the carried value of its working."""
    out = np.empty(shape)
    for index in np.ndindex(*shape):
        out[index] = worked.value(element(*index), precision)
    return out


def matmul(c: Carrier, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return fill((a.shape[0], b.shape[1]), lambda i, j: worked.linear(a[i], b[:, j], None, True, True), _precision(c))


def linear(c: Carrier, W: np.ndarray, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    return fill((a.shape[0], W.shape[0]), lambda n, i: worked.linear(W[i], a[n], None if b is None else b[i],
                                                                     False, False), _precision(c))


def activation(c: Carrier, name: str, z: np.ndarray, slope: float) -> np.ndarray:
    precision = _precision(c)
    if name != "softmax":
        return fill(z.shape, lambda n, i: worked.activation(name, z[n, i], slope), precision)
    rows = []
    for row in z:
        exps, total, share = worked.softmax_parts(row)
        e = [worked.value(x, precision) for x in exps]
        sigma = worked.value(total(e), precision)
        rows.append([precision.carried(worked.value(share(v, sigma), precision)) for v in e])
    return np.array(rows)


def per_example_loss(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.array([worked.value(worked.loss_example(spec, p, t), _precision(c)) for p, t in zip(yhat, y)])


def loss_total(c: Carrier, spec: LossSpec, per_example: np.ndarray) -> float:
    return worked.value(worked.loss_total(spec, per_example), _precision(c))


def weight_gradient(c: Carrier, delta: np.ndarray, inputs: np.ndarray) -> np.ndarray:
    return fill((delta.shape[1], inputs.shape[1]), lambda i, j: worked.weight_gradient(
        delta[:, i], inputs[:, j], False), _precision(c))


def bias_gradient(c: Carrier, delta: np.ndarray) -> np.ndarray:
    return fill((delta.shape[1],), lambda i: worked.bias_gradient(delta[:, i]), _precision(c))


def backprop(c: Carrier, W: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return fill((delta.shape[0], W.shape[1]), lambda n, j: worked.backprop(W[:, j], delta[n], False), _precision(c))


def derivative(c: Carrier, name: str, z: np.ndarray, a: np.ndarray, slope: float) -> np.ndarray:
    return fill(z.shape, lambda n, i: worked.derivative(name, z[n, i], a[n, i], slope)[0], _precision(c))


def product(c: Carrier, upstream: np.ndarray, derivative: np.ndarray) -> np.ndarray:
    return fill(upstream.shape, lambda n, i: worked.product(upstream[n, i], derivative[n, i]), _precision(c))


def loss_gradient(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    examples, units = yhat.shape
    return fill(yhat.shape, lambda n, i: worked.loss_gradient(spec, yhat[n, i], y[n, i], examples, units),
                _precision(c))


def shortcut(c: Carrier, spec: LossSpec, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    examples, units = yhat.shape
    return fill(yhat.shape, lambda n, i: worked.shortcut(spec, yhat[n, i], y[n, i], examples, units), _precision(c))


def update(c: Carrier, spec: OptimizerSpec, old: np.ndarray, grad: np.ndarray, lr: float,
           state: dict[str, np.ndarray], t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    new = np.empty_like(old)
    after: dict[str, np.ndarray] = {}
    for index in np.ndindex(*old.shape):
        lines = worked.optimizer_update(spec, old[index], grad[index], lr, {k: v[index] for k, v in state.items()},
                                        t, _precision(c), t == 1)
        for name, _, value in lines:
            if name == "new":
                new[index] = value
            elif name != "g":
                after.setdefault(name, np.zeros_like(old))[index] = value
    return new, after
