"""Flatten: each example's channels, rows and columns into one vector, row-major (channel by channel, row
by row), as PyTorch's nn.Flatten does; the gradient goes back into the same places."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import FlattenLayer
from nnworked.trace import Flatten, Unflatten


class FlattenRule(LayerRule):
    name = "flatten"
    torch_module = "Flatten"

    def torch_script(self, k: int, layer: Any) -> str:
        return "nn.Flatten()"

    def from_torch(self, module: Any) -> dict[str, Any]:
        if module.start_dim != 1 or module.end_dim != -1:
            raise ValueError("nnworked reads nn.Flatten() as it comes: from dimension 1 to the last")
        return {"type": self.name}
    keys = ("name",)
    asks = ""  # a flatten moves numbers without computing any

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        name = check.layer_name(spec.get("name"), path + ("name",))
        return FlattenLayer(name), None if shape is None else (int(np.prod(shape)),)

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.flatten(inputs, 1)

    def describe(self, layer: Any) -> str:
        return "flattens each example into one vector"

    def summary(self, layer: Any) -> str:
        return "flatten"

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        return {}

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        return (Flatten(k, inputs, inputs.reshape(inputs.shape[0], -1)),)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (flat,) = records
        if k == 1:
            return Backward((), {}, None)  # the inputs are data: nothing to pass back to
        downstream = upstream.reshape(flat.inputs.shape)
        return Backward((Unflatten(k, upstream, downstream),), {}, downstream)
