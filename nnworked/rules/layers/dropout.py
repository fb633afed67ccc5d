"""Inverted dropout with a given mask: a = mask × a_{k−1} × 1/(1 − rate), so a kept value is scaled up by
what dropping the others took away (and nothing changes at test time). The file gives the mask of every
example, as a teacher does, so that the step can be worked by hand.

Backward: ∂L/∂a_{k−1} = mask × ∂L/∂a_k × 1/(1 − rate): the gradient passes only where the value was kept,
scaled by the same factor."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import DropoutLayer
from nnworked.trace import Dropout, DropoutBack


# for --format pytorch: nn.Dropout draws its mask at random; this module holds the scenario's
GIVEN_DROPOUT = '''class GivenDropout(nn.Module):
    """Inverted dropout with a given mask in place of nn.Dropout's random draw: mask × x × 1/(1 − rate)."""

    def __init__(self, rate, mask):
        super().__init__()
        self.rate = rate
        self.register_buffer("mask", torch.tensor(mask))

    def forward(self, x):
        return self.mask * x * (1 / (1 - self.rate))
'''


class DropoutRule(LayerRule):
    asks = "a"  # its output: it has no z of its own
    name = "dropout"
    keys = ("rate", "mask", "name")
    output = False

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        name = check.layer_name(spec.get("name"), path + ("name",))
        if "rate" not in spec or "mask" not in spec:
            missing = " and ".join(key for key in ("rate", "mask") if key not in spec)
            check.add(path, f"layer {k} (dropout) has no {missing}", "rate: the probability of dropping, and "
                      "mask: [example][…] of 1 (keep) and 0 (drop)", "none")
            return None
        rate = check.number(spec["rate"], path + ("rate",), "the dropout rate")
        if rate is not None and not 0 <= rate < 1:
            check.add(path + ("rate",), "the dropout rate must be from 0 up to (not including) 1",
                      "0 ≤ rate < 1 (the probability of dropping)", repr(spec["rate"]))
            rate = None
        if shape is None or rate is None:
            return None
        levels = "[example]" + "".join(f"[{what}]" for what in {1: ("feature",), 2: ("position", "feature")}.get(
            len(shape), ("channel", "row", "col")))
        if len(shape) == 1:
            mask = check.matrix(spec["mask"], path + ("mask",), "the dropout mask")
        else:
            mask = check.tensor(spec["mask"], path + ("mask",), "the dropout mask", 1 + len(shape), levels)
        if mask is None:
            return None
        examples = getattr(check, "examples", None)
        expected = ((examples,) if examples is not None else mask.shape[:1]) + tuple(shape)
        if mask.shape != expected:
            check.add(path + ("mask",), f"the dropout mask of layer {k} does not fit its input",
                      f"{'×'.join(map(str, expected))} ({levels}: one mask per example)",
                      "×".join(map(str, mask.shape)),
                      f"layer {k} receives {'×'.join(map(str, shape))} per example from {previous}")
            return None
        if not np.isin(mask, (0.0, 1.0)).all():
            check.add(path + ("mask",), "a dropout mask holds only 1 (keep) and 0 (drop)", "0 or 1",
                      f"{next(v for v in mask.ravel() if v not in (0.0, 1.0)):g}")
            return None
        return DropoutLayer(rate, mask, name), tuple(shape)

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        mask = torch.tensor(layer.mask, dtype=torch.float64)
        return inputs * mask / (1 - layer.rate)  # what F.dropout computes, with this mask in place of its draw

    def torch_script(self, k: int, layer: Any) -> str:
        from nnworked.render.numbers import literal

        return f"GivenDropout({literal(layer.rate)}, {literal(layer.mask)})"

    def torch_helper(self, layer: Any) -> str:
        return GIVEN_DROPOUT

    def describe(self, layer: Any) -> str:
        return f"inverted dropout, rate {layer.rate:g}, with the given mask (kept values × 1/(1 − {layer.rate:g}))"

    def summary(self, layer: Any) -> str:
        return f"dropout {layer.rate:g}"

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        return {}

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        scale = math.dropout_scale(layer.rate)
        a = finite(math.masked(inputs, layer.mask, scale), f"a{k}")
        return (Dropout(k, layer.rate, scale, layer.mask, inputs, a),)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (drop,) = records
        if k == 1:
            return Backward((), {}, None)  # the inputs are data: nothing to pass back to
        downstream = finite(math.masked(upstream, drop.mask, drop.scale), f"∂L/∂a{k - 1}")
        return Backward((DropoutBack(k, drop.rate, drop.scale, drop.mask, upstream, downstream),), {}, downstream)
