"""Normalisation layers: a = γ × x̂ + β with x̂ = (x − mean) / √(variance + ε). batch_norm (training mode)
takes each feature's mean and biased variance over the examples of the batch; layer_norm takes each
example's over its own features. γ and β are one per feature, trained (ones and zeros when the file leaves
them out). A group is the M values one mean and variance are taken over.

Backward: ∂L/∂γ = Σₙ ∂L/∂a × x̂ and ∂L/∂β = Σₙ ∂L/∂a per feature; ∂L/∂x̂ = ∂L/∂a × γ; and each input reaches
the loss through its own x̂, through the mean and through the variance of its group, three terms that
sum to ∂L/∂x = (M·∂L/∂x̂ − Σ ∂L/∂x̂ − x̂·Σ ∂L/∂x̂·x̂) / (M·σ), σ = √(variance + ε)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.engine.backend import rows
from nnworked.rules.layers.base import Backward, Finite, LayerRule
from nnworked.scenario import NormLayer
from nnworked.trace import NormBack, NormGradient, Normalise

EPSILON = 1e-5  # PyTorch's default


class Normalisation(LayerRule):
    asks = "a"  # its output: it has no z of its own
    keys = ("gamma", "beta", "epsilon", "name")
    output = False
    over_batch: bool  # the statistics are each feature's over the batch (else each example's over its features)
    per_position: bool = False  # it takes a sequence too, normalising each position on its own

    def parse(self, check, spec, path, k, shape, previous):  # noqa: ANN001, ANN201
        name = check.layer_name(spec.get("name"), path + ("name",))
        if shape is None:
            return None
        if len(shape) != 1 and not (self.per_position and len(shape) == 2):
            check.add(path, f"layer {k} ({self.name}) takes one vector of features per example",
                      "[example][feature]", "×".join(map(str, shape)) + f" per example from {previous}",
                      "add a flatten layer before it")
            return None
        features = shape[-1]
        params = {}
        for key, default in (("gamma", 1.0), ("beta", 0.0)):
            params[key] = np.full(features, default)
            if key in spec:
                given = check.vector(spec[key], path + (key,), f"the {key} of layer {k}")
                if given is None:
                    return None
                if given.shape[0] != features:
                    check.add(path + (key,), f"the {key} of layer {k} does not fit its input",
                              f"{features} number{'s' if features != 1 else ''} (one per feature)",
                              f"{given.shape[0]}", f"layer {k} receives {features} features from {previous}")
                    return None
                params[key] = given
        epsilon = EPSILON
        if "epsilon" in spec:
            epsilon = check.number(spec["epsilon"], path + ("epsilon",), "epsilon")
            if epsilon is not None and epsilon < 0:
                check.add(path + ("epsilon",), "epsilon must not be negative", "0 or more (default 1e-5)",
                          repr(spec["epsilon"]))
                epsilon = None
            if epsilon is None:
                return None
        return NormLayer(self.name, params["gamma"], params["beta"], float(epsilon), name), tuple(shape)

    def describe(self, layer: Any) -> str:
        over = "each feature over the batch (training mode)" if self.over_batch else "each example over its features"
        return f"{self.label} of {over}, ε = {layer.epsilon:g}, with a trained scale γ and shift β per feature"

    def summary(self, layer: Any) -> str:
        return self.name.replace("_", " ")

    def parameters(self, k: int, layer: Any) -> dict[str, np.ndarray]:
        return {f"gamma{k}": layer.gamma, f"beta{k}": layer.beta}

    def group(self, values: np.ndarray) -> np.ndarray:
        """(examples, features) arranged with each group on the last axis."""
        return values.T if self.over_batch else values

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        gamma, beta = params[f"gamma{k}"], params[f"beta{k}"]
        mean, variance, std, xhat = math.statistics(self.group(inputs), layer.epsilon)
        xhat = finite(self.group(xhat), f"the normalised values of layer {k}")
        a = finite(math.scale_shift(gamma, xhat, beta), f"a{k}")
        return (Normalise(k, self.name, self.over_batch, inputs, mean, variance, std, xhat, gamma, beta, layer.epsilon, a),)

    def backward(self, math, k, layer, params, records, upstream, delta, finite: Finite) -> Backward:  # noqa: ANN001
        (norm,) = records
        flat, xhat = rows(upstream), rows(norm.xhat)  # a sequence's positions count as examples here
        gamma_grad = finite(math.group_dot(flat.T, xhat.T), f"∂L/∂gamma{k}")
        beta_grad = finite(math.group_sum(flat.T), f"∂L/∂beta{k}")
        gradients = {f"gamma{k}": gamma_grad, f"beta{k}": beta_grad}
        records_out: list[Any] = [NormGradient(k, self.name, upstream, norm.xhat, gamma_grad, beta_grad)]
        if k == 1:
            return Backward(tuple(records_out), gradients, None)
        gamma = norm.gamma[:, None] if self.over_batch else norm.gamma[None, :]
        ghat, s1, s2, dx = math.norm_back(self.group(upstream), gamma, self.group(norm.xhat), norm.std)
        downstream = finite(self.group(dx), f"∂L/∂a{k - 1}")
        records_out.append(NormBack(k, self.name, self.over_batch, upstream, norm.gamma, norm.xhat, norm.std, self.group(ghat), s1, s2,
                                    downstream))
        return Backward(tuple(records_out), gradients, downstream)


class BatchNorm(Normalisation):
    name = "batch_norm"
    label = "batch normalisation"
    over_batch = True

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.nn.functional.batch_norm(inputs, None, None, params[f"gamma{k}"], params[f"beta{k}"],
                                              training=True, eps=layer.epsilon)


class LayerNorm(Normalisation):
    name = "layer_norm"
    label = "layer normalisation"
    over_batch = False
    per_position = True

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.nn.functional.layer_norm(inputs, inputs.shape[-1:], params[f"gamma{k}"], params[f"beta{k}"],
                                              eps=layer.epsilon)
