"""A residual (skip) connection: a_k = a_{k−1} + a_j, the previous layer's output plus an earlier one's (by
its `name`, or `input`), which must have the same shape.

Backward: a sum passes its gradient unchanged to both branches: ∂L/∂a_{k−1} = ∂L/∂a_k, and ∂L/∂a_k goes
back along the skip to a_j, where the solver adds it to what reaches a_j along the main path: a_j's
gradient is the sum of its two paths."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import ResidualLayer
from nnworked.trace import Residual, ResidualBack


# for --format pytorch: the addition of an earlier layer's output, which the script's Network hands it
SKIP = '''class Skip(nn.Module):
    """A residual connection: the previous layer's output plus layer `source`'s (0: the inputs)."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def forward(self, x, earlier):
        return x + earlier
'''


class ResidualRule(LayerRule):
    asks = "a"  # its output: it has no z of its own
    name = "residual"
    keys = ("from", "name")
    output = False

    def source(self, layer: Any) -> int | None:
        return layer.source

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        from nnworked.values import describe, suggest

        name = check.layer_name(spec.get("name"), path + ("name",))
        outputs = check.outputs[:k]  # the inputs and every layer before this one
        names = [str(n) for n, _ in outputs if n]
        value = spec.get("from")
        if not isinstance(value, str) or value not in names:
            check.add(path + ("from",), f"layer {k} (residual) adds no earlier output it can name",
                      f"input, or the name of an earlier layer: {', '.join(names)}", describe(value),
                      (suggest(value, names) if isinstance(value, str) else "") or
                      "give the layer whose output is added a name: (name: block_in), and write from: block_in")
            return None
        source = max(j for j, (n, _) in enumerate(outputs) if n == value)  # the nearest of that name
        branch = outputs[source][1]
        if shape is None or branch is None:
            return None
        if tuple(branch) != tuple(shape):
            check.add(path + ("from",), f"layer {k} (residual) adds outputs of different shapes",
                      f"{value}'s output the size of {previous}'s: {'×'.join(map(str, shape))} per example",
                      "×".join(map(str, branch)), "a skip connection adds element by element")
            return None
        return ResidualLayer(source, value, name), tuple(shape)

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        previous, branch = inputs
        return previous + branch

    def torch_script(self, k: int, layer: Any) -> str:
        return f"Skip({layer.source})"

    def torch_helper(self, layer: Any) -> str:
        return SKIP

    def describe(self, layer: Any) -> str:
        source = "the inputs" if layer.source == 0 else f"layer {layer.source}'s output ({layer.source_name})"
        return f"adds {source} to the previous layer's output (a residual connection)"

    def summary(self, layer: Any) -> str:
        return f"+ {'x' if layer.source == 0 else f'a{layer.source}'}"

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        return {}

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        previous, branch = inputs
        a = finite(math.add_paths([previous, branch]), f"a{k}")
        return (Residual(k, layer.source, previous, branch, a),)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        skips = ((layer.source, upstream),) if layer.source > 0 else ()  # the inputs are data: no gradient
        if k == 1:
            return Backward((), {}, None, skips)
        return Backward((ResidualBack(k, layer.source, upstream, upstream),), {}, upstream, skips)
