"""An independent, plain-numpy reference for the maths in CONTRACT.md, written from its formulas.

Nothing here imports nnworked: layers, losses and optimizers are described by the small records below,
and the tests convert a Scenario into them. Every gradient is derived by hand (the chain rule written out
per activation; softmax through its full Jacobian matrix), so agreement with the package is evidence,
not a tautology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class RefLayer:
    W: np.ndarray  # (units, inputs)
    b: np.ndarray | None  # (units,)
    activation: str = "linear"
    slope: float = 0.01


@dataclass(frozen=True)
class RefLoss:
    name: str  # mse | binary_cross_entropy | cross_entropy
    scale: float = 1.0
    outputs: str = "mean"  # mse (and bce): mean | sum over output units; cross_entropy always sums classes
    batch: str = "mean"  # mean | sum over examples


# ---- activations --------------------------------------------------------------------------------------

def activation(name: str, z: np.ndarray, slope: float = 0.01) -> np.ndarray:
    if name == "linear":
        return z.copy()
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, slope * z)
    if name == "sigmoid":
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise ValueError(name)


def activation_backward(name: str, z: np.ndarray, a: np.ndarray, upstream: np.ndarray,
                        slope: float = 0.01) -> np.ndarray:
    """∂L/∂z from ∂L/∂a. ReLU′(0) = 0 and leaky ReLU′(0) = slope (the contract's left derivative)."""
    if name == "linear":
        return upstream.copy()
    if name == "relu":
        return upstream * np.where(z > 0, 1.0, 0.0)
    if name == "leaky_relu":
        return upstream * np.where(z > 0, 1.0, slope)
    if name == "sigmoid":
        return upstream * a * (1.0 - a)
    if name == "tanh":
        return upstream * (1.0 - np.tanh(z) ** 2)
    if name == "softmax":
        # the Jacobian of each example, J[j, k] = ∂a_k/∂z_j = a_k (δ_jk − a_j), applied as a matrix
        out = np.empty_like(upstream)
        for n in range(z.shape[0]):
            s = a[n]
            jacobian = np.diag(s) - np.outer(s, s)
            out[n] = jacobian @ upstream[n]
        return out
    raise ValueError(name)


# ---- losses ---------------------------------------------------------------------------------------------

def _factor(loss: RefLoss, examples: int, units: int) -> float:
    per_output = units if (loss.name != "cross_entropy" and loss.outputs == "mean") else 1
    per_batch = examples if loss.batch == "mean" else 1
    return loss.scale / (per_output * per_batch)


def _reduce(loss: RefLoss, elements: np.ndarray) -> float:
    if loss.name == "cross_entropy" or loss.outputs == "sum":
        per_example = elements.sum(axis=1)
    else:
        per_example = elements.mean(axis=1)
    total = per_example.mean() if loss.batch == "mean" else per_example.sum()
    return float(loss.scale * total)


def loss_of_output(loss: RefLoss, yhat: np.ndarray, y: np.ndarray) -> float:
    """The textbook loss as a function of ŷ alone (used to differentiate with respect to ŷ)."""
    if loss.name == "mse":
        elements = (yhat - y) ** 2
    elif loss.name == "binary_cross_entropy":
        elements = -(y * np.log(yhat) + (1.0 - y) * np.log(1.0 - yhat))
    elif loss.name == "cross_entropy":
        elements = -(y * np.log(yhat))
    else:
        raise ValueError(loss.name)
    return _reduce(loss, elements)


def loss_of_logits(loss: RefLoss, z: np.ndarray, yhat: np.ndarray, y: np.ndarray) -> float:
    """The same loss computed from the output layer's z where the output is sigmoid / softmax (stable)."""
    if loss.name == "binary_cross_entropy":
        # −y ln σ(z) − (1−y) ln(1 − σ(z)) = y·softplus(−z) + (1−y)·softplus(z)
        elements = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
        return _reduce(loss, elements)
    if loss.name == "cross_entropy":
        log_softmax = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
        return _reduce(loss, -(y * log_softmax))
    return loss_of_output(loss, yhat, y)


def loss_grad_output(loss: RefLoss, yhat: np.ndarray, y: np.ndarray) -> np.ndarray:
    """∂L/∂ŷ with the scale and both reductions included."""
    factor = _factor(loss, *yhat.shape)
    with np.errstate(divide="ignore", invalid="ignore"):  # ŷ saturated at 0 or 1: ±inf, as it should be
        return _loss_grad_output(loss, yhat, y, factor)


def _loss_grad_output(loss: RefLoss, yhat: np.ndarray, y: np.ndarray, factor: float) -> np.ndarray:
    if loss.name == "mse":
        return factor * 2.0 * (yhat - y)
    if loss.name == "binary_cross_entropy":
        return factor * (yhat - y) / (yhat * (1.0 - yhat))
    if loss.name == "cross_entropy":
        return factor * (-y / yhat)
    raise ValueError(loss.name)


# ---- the network ----------------------------------------------------------------------------------------

@dataclass
class Pass:
    zs: list[np.ndarray]
    activations: list[np.ndarray]  # a1 … aL (inputs not included)
    loss: float | None = None
    grads: dict[str, np.ndarray] = field(default_factory=dict)


def run_from(layers: list[RefLayer], start: int, a: np.ndarray, z_start: np.ndarray | None = None
             ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Run layers[start:] (0-based) on `a`; if z_start is given, it replaces layers[start]'s z."""
    zs, acts = [], []
    for i in range(start, len(layers)):
        layer = layers[i]
        if i == start and z_start is not None:
            z = z_start
        else:
            z = np.einsum("ij,nj->ni", layer.W, a)
            if layer.b is not None:
                z = z + layer.b[None, :]
        a = activation(layer.activation, z, layer.slope)
        zs.append(z)
        acts.append(a)
    return zs, acts


def output_loss(layers: list[RefLayer], loss: RefLoss, z_last: np.ndarray, yhat: np.ndarray,
                y: np.ndarray) -> float:
    fused = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(loss.name)
    if fused is not None and layers[-1].activation == fused:
        return loss_of_logits(loss, z_last, yhat, y)
    return loss_of_output(loss, yhat, y)


def forward_backward(layers: list[RefLayer], x: np.ndarray, y: np.ndarray | None,
                     loss: RefLoss | None) -> Pass:
    zs, acts = run_from(layers, 0, x)
    result = Pass(zs, acts)
    if y is None or loss is None:
        return result
    L = len(layers)
    result.loss = output_loss(layers, loss, zs[-1], acts[-1], y)
    grads = result.grads
    yhat = acts[-1]
    grads[f"a{L}"] = loss_grad_output(loss, yhat, y)
    last = layers[-1]
    fused = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}.get(loss.name)
    if fused == last.activation:
        # σ′ · ∂L/∂ŷ and J_softmax · ∂L/∂ŷ both simplify to (ŷ − y) × factor (one-hot / probability targets)
        grads[f"z{L}"] = _factor(loss, *yhat.shape) * (yhat - y)
    else:
        grads[f"z{L}"] = activation_backward(last.activation, zs[-1], yhat, grads[f"a{L}"], last.slope)
    for k in range(L, 0, -1):
        layer = layers[k - 1]
        inputs = x if k == 1 else acts[k - 2]
        dz = grads[f"z{k}"]
        grads[f"W{k}"] = np.einsum("ni,nj->ij", dz, inputs)
        if layer.b is not None:
            grads[f"b{k}"] = np.einsum("ni->i", dz)
        if k > 1:
            below = layers[k - 2]
            grads[f"a{k - 1}"] = np.einsum("ni,ij->nj", dz, layer.W)
            grads[f"z{k - 1}"] = activation_backward(below.activation, zs[k - 2], acts[k - 2],
                                                     grads[f"a{k - 1}"], below.slope)
    return result


def parameters(layers: list[RefLayer]) -> dict[str, np.ndarray]:
    out = {}
    for k, layer in enumerate(layers, start=1):
        out[f"W{k}"] = layer.W
        if layer.b is not None:
            out[f"b{k}"] = layer.b
    return out


def with_parameters(layers: list[RefLayer], params: dict[str, np.ndarray]) -> list[RefLayer]:
    return [RefLayer(params[f"W{k}"], params.get(f"b{k}") if layer.b is not None else None,
                     layer.activation, layer.slope)
            for k, layer in enumerate(layers, start=1)]


# ---- optimizers -----------------------------------------------------------------------------------------

OPTIMIZER_DEFAULTS = {
    "sgd": {},
    "momentum": {"momentum": 0.9},
    "rmsprop": {"rho": 0.9, "epsilon": 1e-8},
    "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


def optimizer_update(name: str, hyper: dict[str, float], theta: np.ndarray, g: np.ndarray, lr: float,
                     state: dict[str, np.ndarray], t: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One update, written straight from the contract. `state` starts empty (meaning zero)."""
    h = {**OPTIMIZER_DEFAULTS[name], **hyper}
    if name == "sgd":
        return theta - lr * g, {}
    if name == "momentum":
        v = h["momentum"] * state.get("v", 0.0) + g
        return theta - lr * v, {"v": v}
    if name == "rmsprop":
        s = h["rho"] * state.get("s", 0.0) + (1.0 - h["rho"]) * g * g
        return theta - lr * g / (np.sqrt(s) + h["epsilon"]), {"s": s}
    if name == "adam":
        m = h["beta1"] * state.get("m", 0.0) + (1.0 - h["beta1"]) * g
        v = h["beta2"] * state.get("v", 0.0) + (1.0 - h["beta2"]) * g * g
        m_hat = m / (1.0 - h["beta1"] ** t)
        v_hat = v / (1.0 - h["beta2"] ** t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + h["epsilon"]), {"m": m, "v": v}
    raise ValueError(name)


def train(layers: list[RefLayer], x: np.ndarray, y: np.ndarray, loss: RefLoss, lr: float, optimizer: str,
          hyper: dict[str, float], steps: int, freeze: frozenset[str] = frozenset()
          ) -> list[tuple[Pass, dict[str, np.ndarray]]]:
    """Full-batch training; for each step, the pass before the update and the parameters after it."""
    params = {k: v.copy() for k, v in parameters(layers).items()}
    state: dict[str, dict[str, np.ndarray]] = {name: {} for name in params}
    history = []
    for t in range(1, steps + 1):
        result = forward_backward(with_parameters(layers, params), x, y, loss)
        new = {}
        for name, theta in params.items():
            if name in freeze:
                new[name] = theta
                continue
            new[name], state[name] = optimizer_update(optimizer, hyper, theta, result.grads[name], lr,
                                                      state[name], t)
        params = new
        history.append((result, {k: v.copy() for k, v in params.items()}))
    return history


# ---- central finite differences -------------------------------------------------------------------------

class KinkCrossed(Exception):
    """A finite-difference probe moved some ReLU / leaky ReLU pre-activation across 0."""


def _kink_signature(layers: list[RefLayer], zs: list[np.ndarray], first: int) -> tuple:
    return tuple((zs[i - first] > 0).tobytes() for i in range(first, len(layers))
                 if layers[i].activation in ("relu", "leaky_relu"))


def numeric_gradients(layers: list[RefLayer], x: np.ndarray, y: np.ndarray, loss: RefLoss,
                      step: float = 1e-5) -> dict[str, np.ndarray]:
    """Central differences of the loss for every W, b (perturb the parameter and rerun everything) and
    every z, a (perturb that value for one example and rerun the rest of the network). Raises KinkCrossed
    if a probe moves a ReLU's pre-activation across its kink (the difference would then be meaningless)."""
    L = len(layers)
    out: dict[str, np.ndarray] = {}

    # parameters
    base_zs, base_acts = run_from(layers, 0, x)
    base_sig = _kink_signature(layers, base_zs, 0)
    params = parameters(layers)
    for name, value in params.items():
        grad = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            h = step * max(1.0, abs(value[index]))
            values = []
            for sign in (1, -1):
                probe = {k: v.copy() for k, v in params.items()}
                probe[name][index] += sign * h
                probed = with_parameters(layers, probe)
                zs, acts = run_from(probed, 0, x)
                if _kink_signature(probed, zs, 0) != base_sig:
                    raise KinkCrossed(name, index)
                values.append(output_loss(probed, loss, zs[-1], acts[-1], y))
            grad[index] = (values[0] - values[1]) / (2 * h)
        out[name] = grad

    # pre-activations and activations, layer by layer
    for k in range(1, L + 1):
        i = k - 1
        for kind in ("z", "a"):
            value = base_zs[i] if kind == "z" else base_acts[i]
            grad = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                h = step * max(1.0, abs(value[index]))
                if kind == "a" and k == L and loss.name != "mse":
                    # ∂L/∂ŷ of a log loss: keep the probe well inside (0, 1) and small relative to ŷ
                    p = value[index]
                    h = min(h, 1e-3 * p)
                    if loss.name == "binary_cross_entropy":
                        h = min(h, 1e-3 * (1.0 - p))
                values = []
                for sign in (1, -1):
                    probe = value.copy()
                    probe[index] += sign * h
                    if kind == "z":
                        zs, acts = run_from(layers, i, None, z_start=probe)  # type: ignore[arg-type]
                        first = i
                    elif k < L:
                        zs, acts = run_from(layers, k, probe)
                        first = k
                    else:
                        zs, acts, first = [], [probe], L
                    if _kink_signature(layers, zs, first) != _kink_signature(layers, base_zs[first:], first):
                        raise KinkCrossed(f"{kind}{k}", index)
                    if kind == "a" and k == L:
                        values.append(loss_of_output(loss, probe, y))
                    else:
                        values.append(output_loss(layers, loss, zs[-1], acts[-1], y))
                grad[index] = (values[0] - values[1]) / (2 * h)
            out[f"{kind}{k}"] = grad
    return out


# ---- comparison -----------------------------------------------------------------------------------------

def gradient_mismatches(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], rtol: float,
                        atol: float) -> list[str]:
    """Every disagreement, as a readable line: |got − expected| > atol + rtol·max(|got|, |expected|)
    elementwise, a missing or extra name, a wrong shape, or a non-finite value."""
    problems = []
    for name in sorted(set(got) | set(expected)):
        if name not in got:
            problems.append(f"{name}: missing (expected {np.asarray(expected[name]).tolist()})")
            continue
        if name not in expected:
            problems.append(f"{name}: unexpected (got {np.asarray(got[name]).tolist()})")
            continue
        g, e = np.asarray(got[name], dtype=float), np.asarray(expected[name], dtype=float)
        if g.shape != e.shape:
            problems.append(f"{name}: shape {g.shape}, expected {e.shape}")
            continue
        for index in np.ndindex(g.shape):
            gv, ev = g[index], e[index]
            if not (np.isfinite(gv) and np.isfinite(ev)) or abs(gv - ev) > atol + rtol * max(abs(gv), abs(ev)):
                problems.append(f"{name}{list(index)}: got {gv!r}, expected {ev!r} (diff {gv - ev:.3g})")
    return problems


def assert_gradients_close(got: dict[str, np.ndarray], expected: dict[str, np.ndarray], rtol: float,
                           atol: float, what: str = "") -> None:
    problems = gradient_mismatches(got, expected, rtol, atol)
    assert not problems, f"{what} gradients disagree (rtol={rtol}, atol={atol:.3g}):\n  " + "\n  ".join(problems)
