"""`nnworked verify`: every gradient of a trace against central finite differences of the loss (and
against PyTorch's autograd when PyTorch is installed).

The finite differences run the forward pass and the loss again with one number nudged up and down; they
share nothing with the backward pass they check. Rounding is switched to exact first: a carried
(hand-rounded) gradient is meant to differ from the calculus in its last digits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnworked import progress
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import element_losses, total_loss
from nnworked.engine.backend import Exact, rows
from nnworked.engine.network import solve
from nnworked.quantities import parse
from nnworked.rules.layers import LAYERS
from nnworked.scenario import Scenario, parameters

EPSILON = 1e-6  # the step, relative to the nudged value's size (an absolute 1e-6 below 1)
TOLERANCE = 1e-5  # on |analytic − numeric| / max(1, |numeric|, the loss's rounding noise / TOLERANCE)
ROUNDOFF = 4 * float(np.finfo(float).eps)  # the relative error of one computed loss, with a margin
SAMPLE = 64  # entries checked per array: all of a small one, the largest and a random spread of a big one


@dataclass(frozen=True)
class Check:
    name: str  # W1, b1, z1, a1, …
    checked: int
    of: int
    worst_difference: float
    worst_relative: float
    worst_index: tuple[int, ...]
    reference: str  # "finite differences" or "PyTorch autograd"
    kinks: tuple[tuple[int, ...], ...] = ()  # elements whose window crosses a kink: not checkable there

    @property
    def ok(self) -> bool:
        return self.worst_relative <= TOLERANCE


def _forward_from(scenario: Scenario, params: dict[str, np.ndarray], start: int, value: np.ndarray,
                  what: str, branches: list | None = None, earlier: dict[int, np.ndarray] | None = None) -> float:
    """The loss computed from layer `start` on, by the layers' forward rules alone: with what="a", `value`
    is that layer's input (the previous layer's a; the network's input when start is 1); with what="z", it
    is that layer's z. `branches` collects, for each kink the pass goes through (an activation's, a max
    pooling window's winner), which side of it every value lies on."""
    math, a, z_last = Exact(), value, None
    outputs = {0: scenario.inputs, **(earlier or {})}  # by layer, for a residual connection's earlier output
    if what == "a":
        outputs[start - 1] = value
    for k, layer in enumerate(scenario.layers, start=1):
        if k < start:
            continue
        rule = LAYERS[layer.type]
        if k == start and what == "z":
            source = rule.source(layer)
            records: tuple = rule.from_z(math, k, layer, params, outputs[k - 1] if source is None else
                                         (outputs[k - 1], outputs[source]), value, _finite)
        else:
            source = rule.source(layer)
            records = rule.forward(math, k, layer, params, a if source is None else (a, outputs[source]), False,
                                   _finite)
        for record in records:
            if branches is not None:
                branches += _sides(record)
            if hasattr(record, "z"):
                z_last = record.z
        a = outputs[k] = records[-1].output
    spec, y = scenario.loss, scenario.targets
    assert spec is not None and y is not None and a is not None
    a, y = rows(a), rows(y)  # a sequence's loss is at every position: one row each
    if z_last is None or rows(z_last).shape != a.shape:
        return total_loss(spec, spec.rule.textbook_losses(a, y))[1]  # the prediction is not a z's activation
    return total_loss(spec, element_losses(spec, a, y, rows(z_last)))[1]


def _finite(array: np.ndarray, where: str) -> np.ndarray:
    return array


def _sides(record: object) -> list[np.ndarray]:
    """Where a nudge could cross a kink: each activation's z against its kink, each max window's winner."""
    rule = ACTIVATIONS[record.activation] if hasattr(record, "activation") else None
    if rule is not None and rule.kink is not None:
        return [record.z > rule.kink]
    winners = getattr(record, "winners", None)
    return [winners] if winners is not None else []


def _indices(array: np.ndarray, analytic: np.ndarray, rng: np.random.Generator) -> list[tuple[int, ...]]:
    every = list(np.ndindex(*array.shape))
    if len(every) <= SAMPLE:
        return every
    largest = np.argsort(-np.abs(analytic).ravel())[: SAMPLE // 2]
    spread = rng.choice(len(every), SAMPLE - len(largest), replace=False)
    return [every[i] for i in sorted(set(largest.tolist()) | set(spread.tolist()))]


def finite_differences(scenario: Scenario) -> list[Check]:
    """Check ∂L/∂W, ∂L/∂b, ∂L/∂z and ∂L/∂a of the first step."""
    exact = scenario._replace(rounding="exact", learning_rate=None, steps=1)
    step = solve(exact).steps[0]
    gradients = step.gradients()
    params = parameters(exact.layers)
    forward = step.forward.arrays()
    earlier = {k: forward[f"a{k}"] for k in range(1, len(exact.layers) + 1) if f"a{k}" in forward}
    rng = np.random.default_rng(0)
    checks = []
    for name, analytic in progress.track(gradients.items(), len(gradients), "Checking every gradient"):
        parsed = parse(name)
        kind, k = parsed.kind, parsed.layer
        is_parameter = name in params
        base = params[name] if is_parameter else forward[name]
        worst = (0.0, 0.0, ())
        indices = _indices(base, analytic, rng)
        kinks = []
        for index in indices:
            # a step in proportion to the value: a fixed 1e-6 on 10⁵ is lost in its last digits; and at most a
            # thousandth of a small one: a step of 1e-6 on ŷ = 1.8e-5 bends −ln(ŷ) by 1e-3 of its slope
            value = abs(float(base[index]))
            h = EPSILON * max(1.0, value)
            h = min(h, value / 1000) if value >= 1e-9 else h  # a denormal's thousandth is no step at all
            values, sides = [], []
            for sign in (1, -1):
                nudged = base.copy()
                nudged[index] += sign * h
                branches: list = []
                if is_parameter:
                    values.append(_forward_from(exact, {**params, name: nudged}, 1, exact.inputs, "a", branches))
                else:
                    values.append(_forward_from(exact, params, k + 1 if kind == "a" else k, nudged, kind, branches,
                                                earlier))
                sides.append(branches)
            if any(not np.array_equal(up, down) for up, down in zip(*sides)):
                kinks.append(index)  # the two nudges land on different sides of a kink: the slopes differ there
                continue
            numeric = (values[0] - values[1]) / (2 * h)
            difference = abs(float(analytic[index]) - numeric)
            # each loss carries rounding noise in proportion to its size; divided by 2h it is the noise floor
            noise = ROUNDOFF * max(1.0, abs(values[0]), abs(values[1])) / h
            relative = difference / max(1.0, abs(numeric), noise / TOLERANCE)
            if relative >= worst[1]:
                worst = (difference, relative, index)
        checks.append(Check(name, len(indices) - len(kinks), base.size, worst[0], worst[1], worst[2],
                            "finite differences", tuple(kinks)))
    return checks


def autograd(scenario: Scenario) -> list[Check]:
    """The parameter gradients again, from PyTorch (an optional extra); [] when it is not installed. A layer
    PyTorch computes two ways (self-attention: scaled_dot_product_attention, then nn.MultiheadAttention given
    the same weights) gets a second pass, checking the gradients that flow through it (its layer's and those
    before); each check's reference names the torch computations of its pass."""
    try:
        import torch
    except ImportError:
        return []
    exact = scenario._replace(rounding="exact", learning_rate=None, steps=1)
    gradients = solve(exact).steps[0].gradients()
    references = [LAYERS[layer.type].torch_references(layer) for layer in exact.layers]
    first = list(dict.fromkeys(names[0] for names in references if names))
    checks = _autograd_pass(torch, exact, gradients, None,
                            "PyTorch autograd" + (f" ({', '.join(first)})" if first else ""))
    for j, names in enumerate(references, 1):
        for reference in names[1:]:
            checks += [c for c in _autograd_pass(torch, exact, gradients, (j, reference),
                                                 f"PyTorch autograd ({reference})") if parse(c.name).layer <= j]
    return checks


def _autograd_pass(torch: object, exact: Scenario, gradients: dict[str, np.ndarray],
                   alternative: tuple[int, str] | None, reference: str) -> list[Check]:
    """One backward pass of PyTorch, each layer its rule's torch_forward (`alternative`: layer j as the torch
    computation named)."""
    tensors = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
               for name, value in parameters(exact.layers).items()}
    a = torch.tensor(exact.inputs, dtype=torch.float64)
    outputs = [a]
    for k, layer in enumerate(exact.layers, 1):
        rule = LAYERS[layer.type]
        source = rule.source(layer)
        inputs = a if source is None else (a, outputs[source])
        if alternative is not None and alternative[0] == k:
            a = rule.torch_alternative(torch, k, layer, tensors, inputs, alternative[1])
        else:
            a = rule.torch_forward(torch, k, layer, tensors, inputs)
        outputs.append(a)
    spec, y = exact.loss, torch.tensor(rows(exact.targets), dtype=torch.float64)
    assert spec is not None
    a = a.reshape(-1, a.shape[-1]) if a.dim() == 3 else a  # a sequence's loss is at every position: one row each
    per = spec.rule.torch_loss(torch, a, y)
    per_example = spec.scale * (per.sum(dim=1) if not spec.rule.averages_over_outputs or spec.outputs == "sum"
                                else per.mean(dim=1))
    loss = per_example.mean() if spec.batch == "mean" else per_example.sum()
    loss.backward()
    checks = []
    for name, tensor in tensors.items():
        reference_values, analytic = tensor.grad.numpy(), gradients[name]
        difference = np.abs(analytic - reference_values)
        relative = difference / np.maximum(1.0, np.abs(reference_values))
        index = np.unravel_index(int(np.argmax(relative)), relative.shape)
        checks.append(Check(name, reference_values.size, reference_values.size, float(difference[index]),
                            float(relative[index]), tuple(int(i) for i in index), reference))
    return checks


def verify(scenario: Scenario, show_progress: bool = False) -> list[Check]:
    """Finite differences, and PyTorch's autograd if installed; `show_progress`: a bar on a terminal's stderr
    while a large network takes long."""
    if scenario.targets is None or scenario.loss is None:
        return []
    with progress.shown(show_progress):
        return finite_differences(scenario) + autograd(scenario)
