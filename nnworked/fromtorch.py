"""`nnworked.from_torch`: the scenario of a small PyTorch model, so a student sees the worked step of the
model they wrote.

Every torch class is read through the rule that names it as its counterpart (an activation's
`torch_module`, a loss's `torch_module`, an optimizer's `torch_class`), never by a list kept here; each
layer is then checked by behaviour (the module's output against the rule's `torch_value`) and the whole by
the loss, so a setting this module does not read cannot pass unnoticed. Anything nnworked cannot
represent raises NnworkedError saying what and why.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.errors import NnworkedError
from nnworked.rules.layers import LAYERS

# settings of a torch.optim parameter group that choose how it runs, not what it computes
_IMPLEMENTATION = {"params", "lr", "foreach", "fused", "capturable", "differentiable", "initial_lr"}
# torch's reductions, as nnworked's reductions over the outputs and over the batch
_REDUCTIONS = {"mean": ("mean", "mean"), "sum": ("sum", "sum")}
_PROBE = [[-2.5, -1.0, -0.25, 0.0, 0.5, 3.0], [1.5, -0.75, 2.0, -3.0, 0.25, 0.0]]


def from_torch(model: Any, inputs: Any, targets: Any = None, loss_fn: Any = None, optimizer: Any = None, *,
               steps: int = 1, title: str | None = None, precision: int = 4):  # noqa: ANN201
    """The Scenario of `model` (an nn.Sequential of nn.Linear and activations, and the other modules a layer
    rule reads: nn.Conv2d, pooling, nn.Flatten, nn.BatchNorm1d in training mode, nn.LayerNorm) on `inputs`: with `targets`
    and `loss_fn` its loss and every gradient; with `optimizer` too, `steps` training steps as it takes
    them. Raises NnworkedError for anything nnworked cannot represent."""
    torch = _torch()
    from nnworked.api import _plain
    from nnworked.scenario import from_document
    from nnworked.yamlsource import Document

    layers, activation_modules = _layers(torch, model)
    x = _array(torch, inputs, "inputs")
    if x.ndim == 1:
        x = x[None, :]
    if not LAYERS[layers[0].get("type", "dense")].in_sequential and x.ndim == 2:
        x = x[None]  # one sequence
    # the model's output is a sequence: the loss is taken at every position, one row each
    sequence = x.ndim == 3 and all(layer.get("return", "sequence") == "sequence" for layer in layers)
    if "weights" in layers[0] and (x.ndim != 2 or x.shape[1] != len(layers[0]["weights"][0])):
        raise NnworkedError(f"inputs of shape {tuple(x.shape)} do not fit the first nn.Linear, which takes "
                            f"{len(layers[0]['weights'][0])} features: give one row per example, "
                            f"shape (examples, {len(layers[0]['weights'][0])})")
    data: dict[str, Any] = {"title": title or _title(model, layers, loss_fn, optimizer), "inputs": x,
                            "layers": layers, "precision": precision}
    if (targets is None) != (loss_fn is None):
        raise NnworkedError("give targets and loss_fn together (or neither, for the forward pass alone)")
    if optimizer is not None and loss_fn is None:
        raise NnworkedError("an optimizer needs targets and a loss_fn to take a step")
    if loss_fn is not None:
        data["loss"], data["targets"] = _loss(torch, loss_fn, targets, layers, activation_modules, sequence)
    if optimizer is not None:
        data.update(_optimizer(torch, optimizer, model))
        data["steps"] = steps
    # read as a scenario file is, every check included; a problem names from_torch as its source
    scenario = from_document(Document(_plain(data), "<from_torch>", None))
    _check_against_torch(torch, scenario, model, x, targets, loss_fn, sequence)
    return scenario


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise NnworkedError("from_torch needs PyTorch: pip install torch") from None
    return torch


def _array(torch: Any, value: Any, what: str) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise NnworkedError(f"{what} must be a tensor or a list of numbers, not {type(value).__name__}") from None
    if not np.all(np.isfinite(array)):
        raise NnworkedError(f"{what} hold a value that is not a finite number")
    return array


def _modules(torch: Any, model: Any, where: str = "model") -> list[tuple[str, str, Any]]:
    """(where, name, module) for each module the model applies in order; nested nn.Sequential flattened."""
    if isinstance(model, torch.nn.Sequential):
        return [item for name, child in model.named_children()
                for item in _modules(torch, child, f"{where}[{name}]" if name.isdigit() else f"{where}.{name}")]
    if where == "model" and not isinstance(model, torch.nn.Linear):
        raise NnworkedError(f"from_torch reads an nn.Sequential of layers and activations, not "
                            f"{type(model).__name__}: nnworked cannot see the order a custom forward() "
                            "applies its layers in; write the model as nn.Sequential(...) (a residual connection, "
                            "which adds an earlier output, cannot be written in one, so from_torch cannot read it: "
                            "write that network as a scenario file with a residual layer)")
    return [(where, where.rsplit(".", 1)[-1] if "." in where else "", model)]


def _layers(torch: Any, model: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    """Each nn.Linear as a scenario layer with the activation that follows it; and, per layer, the
    activation module it came from (None: none followed)."""
    from nnworked.rules.activations import ACTIVATIONS
    from nnworked.rules.layers import LAYERS

    by_class = {rule.torch_module: rule for rule in ACTIVATIONS.values() if rule.torch_module}
    layers: list[dict[str, Any]] = []
    modules: list[Any] = []
    layer_rules = {rule.torch_module: rule for rule in LAYERS.values() if rule.torch_module and rule.in_sequential}
    for where, name, module in _modules(torch, model):
        layer_rule = layer_rules.get(type(module).__name__)
        wrapped = _wrapped(torch, module)
        if wrapped is not None:
            layer_rule, inner = wrapped
            try:
                layer = {**layer_rule.from_torch(inner), **_passed_on(torch, where, module, layer_rule, inner)}
            except ValueError as error:
                raise NnworkedError(f"{where} (nn.{layer_rule.torch_module}): {error}") from None
            if name:
                layer["name"] = name
            layers.append(layer)
            modules.append(None)
            continue
        if layer_rule is not None:
            try:
                layer = layer_rule.from_torch(module)
            except ValueError as error:
                raise NnworkedError(f"{where} (nn.{type(module).__name__}): {error}") from None
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


def _loss(torch: Any, loss_fn: Any, targets: Any, layers: list[dict[str, Any]],
          modules: list[Any], sequence: bool = False) -> tuple[dict[str, Any], Any]:
    from nnworked.rules.activations import ACTIVATIONS
    from nnworked.rules.losses import LOSSES

    name = type(loss_fn).__name__
    rule = next((r for r in LOSSES.values() if r.torch_module == name), None)
    if rule is None:
        raise NnworkedError(f"nn.{name} has no nnworked loss rule: from_torch reads "
                            f"{', '.join('nn.' + r.torch_module for r in LOSSES.values() if r.torch_module)}")
    reduction = getattr(loss_fn, "reduction", None)
    if reduction not in _REDUCTIONS:
        raise NnworkedError(f"nn.{name}(reduction={reduction!r}): a training step needs one number; use "
                            f"reduction={' or '.join(map(repr, _REDUCTIONS))}")
    for setting, neutral in (("weight", None), ("pos_weight", None), ("label_smoothing", 0.0)):
        if getattr(loss_fn, setting, neutral) is not None and getattr(loss_fn, setting, neutral) != neutral:
            raise NnworkedError(f"nn.{name} has {setting}={getattr(loss_fn, setting)!r}: nnworked's "
                                f"{rule.label} has no {setting}; leave it at its default")
    output = rule.output_activation
    if rule.torch_applies_output_activation:
        if modules[-1] is not None:
            raise NnworkedError(f"nn.{name} applies {ACTIVATIONS[output].label} to the scores itself, and the model "
                                f"ends in nn.{type(modules[-1]).__name__}: PyTorch applies it twice, which "
                                "nnworked does not represent; end the model with its nn.Linear")
        layers[-1]["activation"] = output  # nnworked shows it as the output layer's activation
    elif output is not None and layers[-1].get("activation") != output:
        raise NnworkedError(f"nn.{name} needs the model to end in nn.{ACTIVATIONS[output].torch_module} "
                            f"(nnworked's {rule.label} is taken of {ACTIVATIONS[output].label} outputs)")
    if "weights" not in layers[-1]:
        raise NnworkedError(f"the model ends in a {layers[-1].get('type')} layer: nnworked's loss is taken of a "
                            "dense layer's outputs; end the model with nn.Linear (and its activation)")
    units = len(layers[-1]["weights"])
    y = _sequence_targets(torch, targets, rule, units, name) if sequence else _targets(torch, targets, rule, units, name)
    outputs, batch = _REDUCTIONS[reduction]
    return {"name": rule.name, "outputs": outputs, "batch": batch}, y


def _targets(torch: Any, targets: Any, rule: Any, units: int, loss_name: str) -> Any:
    is_index = (isinstance(targets, torch.Tensor) and not targets.is_floating_point()) and targets.ndim == 1
    if is_index:
        if not rule.accepts_class_index:
            raise NnworkedError(f"nn.{loss_name} takes targets of floats, not class indices")
        classes = targets.tolist()
        if any(c < 0 or c >= units for c in classes):
            raise NnworkedError(f"class indices must be 0 … {units - 1} for {units} outputs, given {classes}")
        return [[c] for c in classes]  # the loader makes each row one-hot
    y = _array(torch, targets, "targets")
    if y.ndim == 1 and units == 1:
        raise NnworkedError(f"targets of shape {tuple(y.shape)} for outputs of shape ({len(y)}, 1): PyTorch "
                            f"would broadcast them to ({len(y)}, {len(y)}); give them shape ({len(y)}, 1), "
                            "as targets.view(-1, 1) does")
    if y.ndim == 1:
        y = y[None, :]
    if y.ndim != 2 or y.shape[1] != units:
        raise NnworkedError(f"targets of shape {tuple(y.shape)} do not fit the model's {units} outputs: give one "
                            f"row per example, shape (examples, {units})")
    return y


def _sequence_targets(torch: Any, targets: Any, rule: Any, units: int, loss_name: str) -> Any:
    """Targets at every position: class indices (examples, positions) or values (examples, positions, units)."""
    if isinstance(targets, torch.Tensor) and not targets.is_floating_point():
        if not rule.accepts_class_index:
            raise NnworkedError(f"nn.{loss_name} takes targets of floats, not class indices")
        classes = targets.reshape(-1, targets.shape[-1]).tolist() if targets.ndim > 1 else [targets.tolist()]
        if any(c < 0 or c >= units for row in classes for c in row):
            raise NnworkedError(f"class indices must be 0 … {units - 1} for {units} outputs, given {classes}")
        return [[[c] for c in row] for row in classes]  # the loader makes each position's one-hot
    y = _array(torch, targets, "targets")
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3 or y.shape[2] != units:
        raise NnworkedError(f"targets of shape {tuple(y.shape)} do not fit the model's {units} outputs at every "
                            f"position: give (examples, positions, {units}), or class indices (examples, positions)")
    return y


def _optimizer(torch: Any, optimizer: Any, model: Any) -> dict[str, Any]:
    from nnworked.rules.optimizers import OPTIMIZERS

    name = type(optimizer).__name__
    candidates = [r for r in OPTIMIZERS.values() if r.torch_class == name]
    if not candidates:
        known = sorted({f"torch.optim.{r.torch_class}" for r in OPTIMIZERS.values() if r.torch_class})
        raise NnworkedError(f"torch.optim.{name} has no nnworked optimizer rule: from_torch reads {', '.join(known)}")
    if optimizer.state:
        raise NnworkedError(f"the {name} optimizer has taken steps already: nnworked's optimizers start with "
                            "their state at zero; give from_torch a new one")
    groups = optimizer.param_groups
    settings = [{k: v for k, v in g.items() if k != "params"} for g in groups]
    if any(s != settings[0] for s in settings[1:]):
        raise NnworkedError(f"the {name} optimizer has parameter groups with different settings: nnworked uses "
                            "one learning rate and one set of settings for every parameter")
    group = groups[0]
    # the rule whose own settings, written back into torch, rebuild this very group (SGD is plain SGD or
    # momentum by its momentum); a setting no rule writes (nesterov, amsgrad) differs for every candidate
    readings = [(rule, _differences(torch, optimizer, rule, group)) for rule in candidates]
    rule, (params, differences) = min(readings, key=lambda reading: len(reading[1][1]))
    if differences:
        raise NnworkedError(f"torch.optim.{name} with {', '.join(differences)}: nnworked's {rule.name} optimizer "
                            "has no such setting; leave it at its default")
    optimized = {id(p) for g in groups for p in g["params"]}
    names = _parameter_names(torch, model)
    named = {id(p) for p, _ in names}
    trained = [label for label, p in model.named_parameters() if id(p) not in named and p.requires_grad]
    if trained:  # nn.RNN's and nn.LSTM's second bias: nnworked's one b is the sum of both, trained once
        raise NnworkedError(f"{', '.join(trained)} is trained, and nnworked has no parameter for it: nn.RNN and "
                            "nn.LSTM add two biases, nnworked's b is their sum, trained once; keep bias_hh_l0 at zero "
                            "with requires_grad_(False) (as --format pytorch's SequenceRNN does), or build without bias")
    optimized -= {id(p) for p in model.parameters() if not p.requires_grad}  # never given a gradient
    if optimized - named:
        raise NnworkedError(f"the {name} optimizer holds tensors that are not the model's parameters: build it "
                            "from model.parameters()")
    frozen = [label for p, label in names if id(p) not in optimized or not p.requires_grad]
    out: dict[str, Any] = {"learning_rate": float(group["lr"]),
                           "optimizer": {"name": rule.name, **params}}
    if frozen:
        out["freeze"] = frozen
    return out


def _differences(torch: Any, optimizer: Any, rule: Any, group: dict[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The rule's reading of a parameter group, and the group's settings that reading does not rebuild."""
    params = {k: float(v) for k, v in rule.from_torch(group).items()}
    rebuilt = type(optimizer)([torch.zeros(1, requires_grad=True)], lr=float(group["lr"]),
                              **rule.torch_arguments(lambda k: params.get(k, rule.defaults[k])))
    return params, [f"{k}={group.get(k)!r}" for k, v in rebuilt.param_groups[0].items()
                    if k not in _IMPLEMENTATION and group.get(k) != v]


def _parameter_names(torch: Any, model: Any) -> list[tuple[Any, str]]:
    """Each parameter tensor with its nnworked name, W1, b1, K2, …: layer k is the k-th module a layer rule
    reads (an activation belongs to the layer before it)."""
    from nnworked.rules.layers import LAYERS

    layer_rules = {rule.torch_module: rule for rule in LAYERS.values() if rule.torch_module and rule.in_sequential}
    out, k = [], 0
    for _, _, module in _modules(torch, model):
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


def _check_against_torch(torch: Any, scenario: Any, model: Any, x: np.ndarray, targets: Any, loss_fn: Any,
                         sequence: bool = False) -> None:
    """nnworked's first loss (or output) equals PyTorch's: a setting read wrongly or not at all shows here."""
    from nnworked.engine.network import solve

    first = solve(scenario._replace(learning_rate=None, steps=1), keep=1).steps[0]
    dtype = next(model.parameters()).dtype
    tolerance = 1e-9 if dtype == torch.float64 else 1e-4
    # a training-mode nn.BatchNorm1d updates its running statistics on every call: the user's model is left
    # as it was given
    buffers = [(buffer, buffer.clone()) for buffer in model.buffers()]
    try:
        ours, theirs, what = _outputs(torch, first, model, x, targets, loss_fn, dtype, sequence)
    finally:
        with torch.no_grad():
            for buffer, saved in buffers:
                buffer.copy_(saved)
    if not np.allclose(ours, theirs, rtol=tolerance, atol=tolerance):
        raise NnworkedError(f"nnworked's {what} ({ours}) differs from PyTorch's ({theirs}): the model or the loss "
                            "uses something from_torch does not read")


def _outputs(torch: Any, first: Any, model: Any, x: np.ndarray, targets: Any, loss_fn: Any, dtype: Any,
             sequence: bool = False) -> tuple:
    """nnworked's first output or loss, PyTorch's, and which it is (`sequence`: the loss at every position,
    loss_fn(output.reshape(-1, outputs), targets.reshape(-1) or (-1, outputs)), as a training loop takes it)."""
    with torch.no_grad():
        out = model(torch.tensor(x, dtype=dtype))
        if loss_fn is None:
            ours, theirs, what = first.forward.output, out.double().numpy(), "output"
        else:
            y = targets if isinstance(targets, torch.Tensor) else torch.tensor(np.asarray(targets), dtype=dtype)
            if sequence:
                out = out.reshape(-1, out.shape[-1])
                y = y.reshape(-1) if not y.is_floating_point() else y.reshape(-1, out.shape[-1])
            ours, theirs, what = first.loss.value, float(loss_fn(out, y)), "loss"
    return ours, theirs, what


def _title(model: Any, layers: list[dict[str, Any]], loss_fn: Any, optimizer: Any) -> str:
    if not all("weights" in layer for layer in layers):
        parts = [type(p).__name__ for p in (loss_fn, optimizer) if p is not None]
        return "A PyTorch network of " + ", ".join(layer.get("type", "dense") for layer in layers) + \
            (f" ({', '.join(parts)})" if parts else "")
    shape = "-".join(str(n) for n in [len(layers[0]["weights"][0]), *(len(layer["weights"]) for layer in layers)])
    parts = [type(p).__name__ for p in (loss_fn, optimizer) if p is not None]
    return f"A PyTorch {shape} network" + (f" ({', '.join(parts)})" if parts else "")
