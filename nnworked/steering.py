"""Drawing smarter for `generate`: a unit that would make the whole draw fail is drawn again on its own.

A draw of a 3-4-2 network fails when any one of its units is dead (a ReLU whose z is never above 0), a
sigmoid is saturated, a unit repeats another of its layer, or a z has more decimals than asked; drawing
the whole network again for one bad unit throws away every good one. So, layer by layer, each unit's
weights and bias are drawn again (from the same template, the same grid, the same seeded generator) until
its activation rule accepts it, before the network is solved. The search stays bounded (`TRIES` per unit)
and every kept variant still passes `variants.check` on the solved trace, which has the last word.

Only networks of dense layers are steered (other layers' units are not rows of a matrix); the rest are
drawn whole, as before.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.engine.activations import ACTIVATIONS, DEFAULT_LEAKY_SLOPE
from nnworked.trace import Activate

TRIES = 40  # redraws of one unit before leaving it to the whole-draw check
Redraw = Callable[[Any, tuple], Any]  # (template value, its path) -> a new draw of it
Drawn = Callable[[Any, tuple], bool]  # (template value, its path) -> whether a draw can change it


def steer(data: dict[str, Any], template: dict[str, Any], redraw: Redraw, drawn: Drawn, constraints: Any,
          like_template: bool = False) -> None:
    """Redraw, in place in `data`, each dense unit that its rule rejects or that repeats a unit before it.
    `like_template` (a bundled scenario drawn anew): also each unit whose |z| is more than twice the largest
    of its layer in the template (or of the drawing span), so the numbers stay the size of the exercise the
    template is: a 3-4-2-3 network of whole numbers otherwise reaches logits in the hundreds, where every
    softmax is saturated."""
    x = _inputs(data)
    layers, patterns = data.get("layers"), template.get("layers")
    if x is None or not _dense(layers) or not _dense(patterns) or len(layers) != len(patterns):
        return
    bounds = _template_sizes(template) if like_template else None
    for k, (layer, pattern) in enumerate(zip(layers, patterns), 1):
        limit = 2 * max(bounds[k - 1], _span(layer)) if bounds else None
        constraints = _Limited(constraints, limit)
        name, slope = _activation(layer)
        if name not in ACTIVATIONS:
            return  # validation names the mistake when the scenario is read
        rule = ACTIVATIONS[name]
        weights = np.array(layer["weights"], dtype=float)
        if weights.ndim != 2 or weights.shape[1] != x.shape[1]:
            return
        bias = np.array(layer["bias"], dtype=float) if "bias" in layer else np.zeros(weights.shape[0])
        if bias.shape != (weights.shape[0],):
            return
        if rule.elementwise:
            for i in range(weights.shape[0]):
                _steer_unit(layer, pattern, k, i, x, weights, bias, rule, name, slope, redraw, drawn, constraints)
        else:  # a rule that mixes its units (softmax) judges them together: the layer is drawn again whole
            weights, bias = _steer_layer(layer, pattern, k, x, weights, bias, rule, name, slope, redraw, drawn,
                                         constraints)
        z = x @ weights.T + bias
        x = rule.value(z, slope)


def _steer_unit(layer: dict, pattern: dict, k: int, i: int, x: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                rule: Any, name: str, slope: float, redraw: Redraw, drawn: Drawn, constraints: Any) -> None:
    where = ("layers", k - 1)
    row = pattern["weights"][i] if i < len(pattern["weights"]) else None
    b = pattern["bias"][i] if isinstance(pattern.get("bias"), list) and i < len(pattern["bias"]) and \
        "bias" in layer else None
    redraw_row = row is not None and drawn(row, (*where, "weights", i))
    redraw_bias = b is not None and drawn(b, (*where, "bias", i))
    if not (redraw_row or redraw_bias):
        return  # nothing in this unit is drawn: only the check can reject it
    for _ in range(TRIES):
        if not _rejected(x @ weights[i] + bias[i], weights, bias, i, rule, name, slope, k, constraints):
            return
        if redraw_row:
            layer["weights"][i] = redraw(row, (*where, "weights", i))
            weights[i] = np.array(layer["weights"][i], dtype=float)
        if redraw_bias:
            layer["bias"][i] = redraw(b, (*where, "bias", i))
            bias[i] = float(layer["bias"][i])


def _steer_layer(layer: dict, pattern: dict, k: int, x: np.ndarray, weights: np.ndarray, bias: np.ndarray,
                 rule: Any, name: str, slope: float, redraw: Redraw, drawn: Drawn,
                 constraints: Any) -> tuple[np.ndarray, np.ndarray]:
    where = ("layers", k - 1)
    has_bias = isinstance(pattern.get("bias"), list) and "bias" in layer
    redraw_weights = drawn(pattern["weights"], (*where, "weights"))
    redraw_bias = has_bias and drawn(pattern["bias"], (*where, "bias"))
    for _ in range(TRIES):
        z = x @ weights.T + bias
        if rule.rejects(Activate(k, name, slope, z, rule.value(z, slope)), constraints) is None and \
                not any(_rejected(z[:, i], weights, bias, i, None, name, slope, k, constraints)
                        for i in range(weights.shape[0])):
            break
        if not (redraw_weights or redraw_bias):
            break
        if redraw_weights:
            layer["weights"] = redraw(pattern["weights"], (*where, "weights"))
            weights = np.array(layer["weights"], dtype=float)
        if redraw_bias:
            layer["bias"] = redraw(pattern["bias"], (*where, "bias"))
            bias = np.array(layer["bias"], dtype=float)
    return weights, bias


def _rejected(z: np.ndarray, weights: np.ndarray, bias: np.ndarray, i: int, rule: Any, name: str, slope: float,
              k: int, constraints: Any) -> bool:
    column = z.reshape(-1, 1)
    if rule is not None and rule.rejects(Activate(k, name, slope, column, rule.value(column, slope)),
                                         constraints) is not None:
        return True
    if constraints.max_decimals is not None and any(_decimals(v) > constraints.max_decimals for v in z):
        return True
    if getattr(constraints, "limit", None) is not None and np.any(np.abs(z) > constraints.limit):
        return True
    # a unit the same as one before it in its layer: two identical neurons teach nothing twice
    return any(np.array_equal(weights[i], weights[j]) and bias[i] == bias[j] for j in range(i))


class _Limited:
    """The constraints, with the largest |z| this layer may reach (None: any)."""

    def __init__(self, constraints: Any, limit: float | None) -> None:
        self._constraints, self.limit = constraints, limit

    def __getattr__(self, name: str) -> Any:
        return getattr(self._constraints, name)


def _template_sizes(template: dict[str, Any]) -> list[float] | None:
    """The largest |z| of each layer of the template's own forward pass (None when it has no plain numbers)."""
    x = _inputs(template)
    out = []
    try:
        for layer in template["layers"]:
            name, slope = _activation(layer)
            weights = np.array(layer["weights"], dtype=float)
            z = x @ weights.T + (np.array(layer["bias"], dtype=float) if "bias" in layer else 0.0)
            out.append(float(np.max(np.abs(z))))
            x = ACTIVATIONS[name].value(z, slope)
    except (TypeError, ValueError, KeyError):
        return None
    return out


def _span(layer: dict[str, Any]) -> float:
    """The largest number drawn into the layer (its weights and bias)."""
    values = [abs(float(v)) for row in layer["weights"] for v in row] + \
        [abs(float(v)) for v in layer.get("bias", []) if isinstance(layer.get("bias"), list)]
    return max(values, default=1.0)


def _decimals(value: float) -> int:
    text = f"{value:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _inputs(data: dict[str, Any]) -> np.ndarray | None:
    try:
        x = np.array(data.get("inputs"), dtype=float)
    except (TypeError, ValueError):
        return None
    if x.ndim == 1:
        x = x[None, :]
    return x if x.ndim == 2 and x.size else None


def _dense(layers: Any) -> bool:
    return isinstance(layers, list) and bool(layers) and all(
        isinstance(layer, dict) and _neurons(layer.get("type", "dense")) and isinstance(layer.get("weights"), list)
        and all(isinstance(row, list) for row in layer["weights"]) for layer in layers)


def _neurons(kind: Any) -> bool:
    """Whether a layer of this type is rows of neuron weights (what steering draws again unit by unit)."""
    from nnworked.rules.layers import LAYERS

    return isinstance(kind, str) and kind in LAYERS and LAYERS[kind].neurons


def _activation(layer: dict[str, Any]) -> tuple[str, float]:
    spec = layer.get("activation", "linear")
    if isinstance(spec, dict):
        return str(spec.get("name", "")), float(spec.get("slope", DEFAULT_LEAKY_SLOPE))
    return str(spec), DEFAULT_LEAKY_SLOPE
