"""How `nnworked.from_torch` reads a model: each module the nn.Sequential applies, in order, as a scenario
layer through the rule that names it as its counterpart (a layer's `torch_module`, an activation's), each
activation checked by behaviour against its rule, and each parameter tensor's nnworked name."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.errors import NnworkedError
from nnworked.rules.layers import LAYERS

_PROBE = [[-2.5, -1.0, -0.25, 0.0, 0.5, 3.0], [1.5, -0.75, 2.0, -3.0, 0.25, 0.0]]


def read_array(torch: Any, value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise NnworkedError(f"{what} must be a tensor or a list of numbers, not {type(value).__name__}") from None
    if not np.all(np.isfinite(array)):
        raise NnworkedError(f"{what} hold a value that is not a finite number")
    return array


def applied_modules(torch: Any, model: Any, where: str = "model") -> list[tuple[str, str, Any]]:
    """(where, name, module) for each module the model applies in order; nested nn.Sequential flattened."""
    if isinstance(model, torch.nn.Sequential):
        return [item for name, child in model.named_children()
                for item in applied_modules(torch, child, f"{where}[{name}]" if name.isdigit() else f"{where}.{name}")]
    if where == "model" and not isinstance(model, torch.nn.Linear):
        raise NnworkedError(f"from_torch reads an nn.Sequential of layers and activations, not "
                            f"{type(model).__name__}: nnworked cannot see the order a custom forward() "
                            "applies its layers in; write the model as nn.Sequential(...) (a residual connection, "
                            "which adds an earlier output, cannot be written in one, so from_torch cannot read it: "
                            "write that network as a scenario file with a residual layer)")
    return [(where, where.rsplit(".", 1)[-1] if "." in where else "", model)]


def read_layers(torch: Any, model: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each nn.Linear as a scenario layer with the activation that follows it; and, per layer, the
    activation module it came from (None: none followed)."""
    from nnworked.rules.activations import ACTIVATIONS
    from nnworked.rules.layers import LAYERS

    by_class = {rule.torch_module: rule for rule in ACTIVATIONS.values() if rule.torch_module}
    layers: list[dict[str, Any]] = []
    modules: list[Any] = []
    layer_rules = {rule.torch_module: rule for rule in LAYERS.values() if rule.torch_module and rule.in_sequential}
    for where, name, module in applied_modules(torch, model):
        wrapped = _wrapped(torch, module)  # (nn.RNN, nn.LSTM, nn.MultiheadAttention inside what passes it on)
        layer_rule, inner = wrapped if wrapped is not None else (layer_rules.get(type(module).__name__), module)
        if layer_rule is not None:
            try:
                layer = layer_rule.from_torch(inner)
            except ValueError as error:
                raise NnworkedError(f"{where} (nn.{layer_rule.torch_module}): {error}") from None
            if wrapped is not None:
                layer.update(_passed_on(torch, where, module, layer_rule, inner))
            if name:
                layer["name"] = name
            layers.append(layer)
            modules.append(None)
            continue
        rule = by_class.get(type(module).__name__)
        if rule is None:
            raise NnworkedError(f"{where} is nn.{type(module).__name__}, which nnworked has no rule for: from_torch "
                                f"reads {', '.join('nn.' + c for c in layer_rules)}, "
                                f"{', '.join('nn.' + r.torch_module for r in _sequence_rules())} (each wrapped to "
                                "pass on its output) and the activations "
                                f"{', '.join('nn.' + c for c in by_class)}")
        if rule.identity:
            continue  # applies nothing
        if not layers:
            raise NnworkedError(f"{where} ({type(module).__name__}) comes before any nn.Linear: nnworked applies an "
                                "activation to a layer's output, so the model must start with nn.Linear")
        if not LAYERS[layers[-1].get("type", "dense")].activated:
            raise NnworkedError(f"{where} ({type(module).__name__}) follows nn.{LAYERS[layers[-1]['type']].torch_module}: "
                                "nnworked applies an activation to a dense or conv2d layer's output")
        if modules[-1] is not None:
            raise NnworkedError(f"{where} ({type(module).__name__}) follows another activation: nnworked gives each "
                                "nn.Linear one activation; put an nn.Linear between them")
        slope = rule.torch_slope(module) if rule.has_slope else None
        _same_function(torch, where, module, rule, slope)
        layers[-1]["activation"] = {"name": rule.name, "slope": slope} if rule.has_slope else rule.name
        modules[-1] = module
    if not layers:
        raise NnworkedError("the model has no nn.Linear layer")
    return layers, modules


def _sequence_rules() -> list[Any]:
    """The layer rules whose torch.nn module nn.Sequential cannot chain (nn.RNN, nn.LSTM, nn.MultiheadAttention)."""
    return [rule for rule in LAYERS.values() if rule.torch_module and not rule.in_sequential]


def _wrapped(torch: Any, module: Any) -> tuple[Any, Any] | None:
    """(rule, the torch.nn module) when `module` is one nn.Sequential cannot chain, a subclass of one (as
    --format pytorch's SequenceRNN) or a module whose one child is one; None otherwise."""
    for candidate in (module, *([next(module.children())] if len(list(module.children())) == 1 else [])):
        for rule in _sequence_rules():
            if isinstance(candidate, getattr(torch.nn, rule.torch_module)):
                if candidate is not module and {id(p) for p in module.parameters()} != \
                        {id(p) for p in candidate.parameters()}:
                    return None  # the wrapper holds parameters of its own: not read
                return rule, candidate
    return None


def _passed_on(torch: Any, where: str, module: Any, rule: Any, inner: Any) -> dict[str, Any]:
    """The scenario keys that what `module` passes on decides ({"return": "last"}, {"causal": True}): its
    output on a probe against each reading of the torch.nn module it wraps."""
    x, readings = rule.torch_readings(torch, inner)
    tolerance = 1e-12 if x.dtype == torch.float64 else 1e-5
    try:
        with torch.no_grad():
            theirs = module(x)
    except (TypeError, RuntimeError):  # nn.MultiheadAttention called with x alone
        theirs = None
    for keys, ours in readings:
        if isinstance(theirs, torch.Tensor) and theirs.shape == ours.shape and \
                torch.allclose(theirs, ours, rtol=tolerance, atol=tolerance):
            return keys
    raise NnworkedError(f"{where} ({type(module).__name__}) does not pass on nn.{rule.torch_module}'s output as "
                        "nnworked reads it, one tensor nn.Sequential can chain: wrap nn.RNN or nn.LSTM in a module "
                        "whose forward returns rnn(x)[0] (every position) or rnn(x)[0][:, -1] (the last), from a "
                        "zero initial state, and nn.MultiheadAttention in one that returns attention(x, x, x)[0] "
                        "(attn_mask: none, or causal, True above the diagonal); `nnworked run transformer_block "
                        "--format pytorch` writes such classes")


def _same_function(torch: Any, where: str, module: Any, rule: Any, slope: float | None) -> None:
    """The module computes what the rule does (a setting such as Softmax's dim can make it differ)."""
    probe = torch.tensor(_PROBE, dtype=torch.float64)
    with torch.no_grad():
        theirs = module(probe)
        ours = rule.torch_value(torch, probe, slope)
    if theirs.shape != ours.shape or not torch.allclose(theirs, ours, rtol=1e-12, atol=1e-15):
        settings = ", ".join(f"{k}={v!r}" for k, v in rule.torch_arguments(slope).items()) or "as built"
        raise NnworkedError(f"{where} ({module!r}) does not compute nnworked's {rule.label} ({settings}): "
                            "nnworked cannot represent that setting")


def parameter_names(torch: Any, model: Any) -> list[tuple[Any, str]]:
    """Each parameter tensor with its nnworked name, W1, b1, K2, …: layer k is the k-th module a layer rule
    reads (an activation belongs to the layer before it)."""
    from nnworked.rules.layers import LAYERS

    layer_rules = {rule.torch_module: rule for rule in LAYERS.values() if rule.torch_module and rule.in_sequential}
    out, k = [], 0
    for _, _, module in applied_modules(torch, model):
        rule, wrapped = layer_rules.get(type(module).__name__), _wrapped(torch, module)
        if wrapped is not None:
            rule, module = wrapped
        if rule is None:
            continue
        k += 1
        for name, attribute in rule.torch_names(k).items():
            tensor = module
            for part in attribute.split("."):  # out_proj.weight
                tensor = getattr(tensor, part, None)
            if tensor is not None:
                out.append((tensor, name))
    return out
