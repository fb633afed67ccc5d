"""A dense (fully connected) layer: z = W·a + b, then a = f(z).

Backward: δ = ∂L/∂a ⊙ f′(z) (through the activation), ∂L/∂W = Σₙ δ⁽ⁿ⁾ ⊗ a⁽ⁿ⁾ and ∂L/∂b = Σₙ δ⁽ⁿ⁾ (the
layer's gradients), and ∂L/∂a_{k−1} = Wᵀδ (passed back to the layer before).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.activated import activate, through, with_activation
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import Layer
from nnworked.trace import BackToPrevious, LayerGradient, Linear


class Dense(LayerRule):
    name = "dense"
    neurons = True
    activated = True
    torch_module = "Linear"

    def torch_script(self, k: int, layer: Any) -> str:
        return f"nn.Linear({layer.weights.shape[1]}, {layer.weights.shape[0]}" + \
            ("" if layer.bias is not None else ", bias=False") + ")"

    def torch_names(self, k: int) -> dict[str, str]:
        return {f"W{k}": "weight", f"b{k}": "bias"}

    def from_torch(self, module: Any) -> dict[str, Any]:
        layer = {"weights": module.weight.detach().cpu().double().numpy()}
        if module.bias is not None:
            layer["bias"] = module.bias.detach().cpu().double().numpy()
        return layer
    keys = ("weights", "bias", "activation", "name")

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        if "weights" not in spec:
            check.add(path, f"layer {k} has no weights", "weights: one row per neuron", "none")
            return None
        weights = check.matrix(spec["weights"], path + ("weights",), f"the weights of layer {k}")
        if weights is None:
            return None
        if shape is not None and len(shape) not in (1, 2):  # a vector, or one at every position of a sequence
            check.add(path, f"layer {k} (dense) takes one vector per example from {previous}",
                      "a vector of features per example", "×".join(map(str, shape)) + " per example",
                      f"add a flatten layer before layer {k}")
            return None
        width = shape[-1] if shape is not None else None
        if width is not None and weights.shape[1] != width:
            hint = ("it looks transposed: write one row per neuron, one column per input"
                    if weights.shape[0] == width else f"layer {k} takes {width} inputs from {previous}")
            check.add(path + ("weights",), f"the weights of layer {k} do not fit {previous}",
                      f"{width} columns (one per input)", f"{weights.shape[1]} columns "
                      f"({weights.shape[0]}×{weights.shape[1]})", hint)
        bias = check.sized_vector(spec["bias"], path + ("bias",), f"the bias of layer {k}", weights.shape[0],
                                  "its weights", "one per neuron") if "bias" in spec else None
        activation, slope = check.activation(spec.get("activation", "linear"), path + ("activation",))
        name = check.layer_name(spec.get("name"), path + ("name",))
        positions = tuple(shape[:-1]) if shape is not None else ()  # a sequence: the same layer at every position
        return Layer(weights, bias, activation or "linear", slope, name), positions + (weights.shape[0],)

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        z = inputs @ params[f"W{k}"].T + (params[f"b{k}"] if f"b{k}" in params else 0.0)
        return ACTIVATIONS[layer.activation].torch_value(torch, z, layer.slope)

    def describe(self, layer: Any) -> str:
        units = layer.weights.shape[0]
        return f"{units} neuron{'s' if units != 1 else ''}{with_activation(layer)}" + \
            ("" if layer.bias is not None else ", no bias")

    def summary(self, layer: Any) -> str:
        return str(layer.weights.shape[0])

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        params = {f"W{k}": layer.weights}
        if layer.bias is not None:
            params[f"b{k}"] = layer.bias
        return params

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        weights, bias = params[f"W{k}"], params.get(f"b{k}")
        z = finite(math.linear(weights, inputs, bias), f"z{k}")
        return Linear(k, weights, bias, inputs, z, given), activate(math, k, layer, z, finite)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        linear, act = records
        out: list[Any] = []
        if delta is None:  # a hidden layer: through its activation first
            out.append(through(math, k, act, upstream, finite))
            delta = out[-1].delta
        weights_grad = finite(math.weight_gradient(delta, linear.inputs), f"∂L/∂W{k}")
        bias_grad = math.bias_gradient(delta) if linear.bias is not None else None
        out.append(LayerGradient(k, delta, linear.inputs, weights_grad, bias_grad))
        gradients = {f"W{k}": weights_grad, **({f"b{k}": bias_grad} if bias_grad is not None else {})}
        if k == 1:
            return Backward(tuple(out), gradients, None)
        downstream = finite(math.backprop(linear.weights, delta), f"∂L/∂a{k - 1}")
        out.append(BackToPrevious(k, linear.weights, delta, downstream))
        return Backward(tuple(out), gradients, downstream)
