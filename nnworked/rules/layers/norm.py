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


# for --format pytorch: batch normalisation in training mode with ε = 0, as the walkthrough computes it
BATCH_NORM_WITHOUT_EPSILON = '''class BatchNormWithoutEpsilon(nn.Module):
    """nn.BatchNorm1d in training mode with eps=0, which it refuses: weight × (x − mean) / √variance + bias,
    each feature's mean and biased variance over the batch."""

    def __init__(self, features):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(features))
        self.bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        mean, variance = x.mean(0), x.var(0, correction=0)
        return self.weight * (x - mean) / torch.sqrt(variance) + self.bias
'''


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
                given = check.sized_vector(spec[key], path + (key,), f"the {key} of layer {k}", features, "its input",
                                           "one per feature", f"layer {k} receives {features} features from {previous}")
                if given is None:
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

    def torch_names(self, k: int) -> dict[str, str]:
        return {f"gamma{k}": "weight", f"beta{k}": "bias"}

    def observe(self, forward: tuple[Any, ...], backward: tuple[Any, ...], n: Any, p: Any) -> list[str]:
        """A group whose variance is below ε: σ = √(σ² + ε) is then mostly ε, the normalised values stay far
        inside ±1, and the gradient to the group's inputs is divided by that small M·σ."""
        from nnworked.render.numbers import fmt

        (norm,) = forward
        back = next((r for r in backward if isinstance(r, NormBack)), None)
        k, out = norm.layer, []
        # a group is at (feature,) of the batch, or (example,) or (example, position) of a sequence
        for at in map(tuple, np.argwhere(norm.variance < norm.epsilon)):
            g, pick = at[0], (slice(None), *at) if self.over_batch else at
            xhat, variance, std = norm.xhat[pick], norm.variance[at], norm.std[at]
            count = xhat.size
            position = f" at position {at[1]}" if len(at) > 1 else ""
            where = (f"feature {g} of {n.a(k - 1)} varies by σ² = {fmt(variance, p)} over the batch"
                     if self.over_batch else f"example {g + 1}'s features in {n.a(k - 1)}{position} vary by σ² = "
                     f"{fmt(variance, p)}")
            group = "feature" if self.over_batch else "example"
            text = (f"**A {self.name.replace('_', '-')} {group} with almost no variance:** {where}, less than ε = "
                    f"{fmt(norm.epsilon, p, given=True)}, so σ = √(σ² + ε) = {fmt(std, p)} is set mostly by "
                    f"ε: its normalised values reach only ±{fmt(float(np.max(np.abs(xhat))), p)} instead of about ±1")
            if back is not None:
                gradient = back.upstream[pick]
                text += (f", and every gradient through them is divided by M·σ = {count} × {fmt(std, p)} = "
                         f"{fmt(count * std, p)}: ∂L/∂{n.a(k - 1)} there reaches "
                         f"{fmt(float(np.max(np.abs(gradient))), p)}")
            out.append(text + ". A feature that hardly varies carries almost no information; ε keeps the division "
                       "finite, not meaningful.")
        return out

    def rejects(self, forward: tuple[Any, ...], constraints: Any) -> str | None:
        # the observation above: an exercise on a group that hardly varies works ε, not the normalisation
        (norm,) = forward
        return "a normalised group with almost no variance" if np.any(norm.variance < norm.epsilon) else None

    def group(self, values: np.ndarray) -> np.ndarray:
        """(examples, features) arranged with each group on the last axis."""
        return values.T if self.over_batch else values

    def forward(self, math, k, layer, params, inputs, given, finite: Finite) -> tuple[Any, ...]:  # noqa: ANN001
        gamma, beta = params[f"gamma{k}"], params[f"beta{k}"]
        mean, variance, std, xhat = math.statistics(self.group(inputs), layer.epsilon)
        # a variance beyond ±1.8e308 divides every x − μ down to 0: x̂ would look finite, and be wrong
        variance = finite(variance, f"the variance of layer {k}")
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
    torch_module = "BatchNorm1d"

    def torch_script(self, k: int, layer: Any) -> str:
        from nnworked.render.numbers import literal

        if layer.epsilon == 0:  # nn.BatchNorm1d refuses ε = 0 in training mode, which a file may write
            return f"BatchNormWithoutEpsilon({layer.gamma.shape[0]})"
        return f"nn.BatchNorm1d({layer.gamma.shape[0]}, eps={literal(layer.epsilon)})"

    def torch_helper(self, layer: Any) -> str:
        return "" if layer.epsilon != 0 else BATCH_NORM_WITHOUT_EPSILON

    def from_torch(self, module: Any) -> dict[str, Any]:
        if not module.training and module.track_running_stats:
            raise ValueError("in eval mode nn.BatchNorm1d normalises with its running statistics, which nnworked "
                             "does not represent: nnworked's batch_norm is training mode (the batch's own mean "
                             "and variance); call model.train()")
        if not module.affine:
            raise ValueError("nnworked's batch_norm has a trained scale γ and shift β: build nn.BatchNorm1d with "
                             "affine=True (the default)")
        return {"type": self.name, "gamma": module.weight.detach().cpu().double().numpy(),
                "beta": module.bias.detach().cpu().double().numpy(), "epsilon": float(module.eps)}

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        if layer.epsilon == 0:  # torch's batch_norm refuses ε = 0, which a file may write: the same formula by hand
            mean, variance = inputs.mean(0), inputs.var(0, unbiased=False)
            return params[f"gamma{k}"] * (inputs - mean) / torch.sqrt(variance) + params[f"beta{k}"]
        return torch.nn.functional.batch_norm(inputs, None, None, params[f"gamma{k}"], params[f"beta{k}"],
                                              training=True, eps=layer.epsilon)


class LayerNorm(Normalisation):
    name = "layer_norm"
    label = "layer normalisation"
    over_batch = False
    per_position = True
    torch_module = "LayerNorm"

    def torch_script(self, k: int, layer: Any) -> str:
        from nnworked.render.numbers import literal

        return f"nn.LayerNorm({layer.gamma.shape[0]}, eps={literal(layer.epsilon)})"

    def from_torch(self, module: Any) -> dict[str, Any]:
        if len(module.normalized_shape) != 1:
            raise ValueError(f"normalized_shape={tuple(module.normalized_shape)}: nnworked's layer_norm normalises "
                             "each example over the last dimension only, nn.LayerNorm(features)")
        if not module.elementwise_affine or module.weight is None or module.bias is None:
            raise ValueError("nnworked's layer_norm has a trained scale γ and shift β per feature: build "
                             "nn.LayerNorm with elementwise_affine=True and bias=True (the defaults)")
        return {"type": self.name, "gamma": module.weight.detach().cpu().double().numpy(),
                "beta": module.bias.detach().cpu().double().numpy(), "epsilon": float(module.eps)}

    def torch_forward(self, torch: Any, k: int, layer: Any, params: dict[str, Any], inputs: Any) -> Any:
        return torch.nn.functional.layer_norm(inputs, inputs.shape[-1:], params[f"gamma{k}"], params[f"beta{k}"],
                                              eps=layer.epsilon)
