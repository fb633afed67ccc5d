"""How `nnworked.from_torch` reads a loss function, its targets and an optimizer: each through the rule
that names the torch class as its counterpart (a loss's `torch_module`, an optimizer's `torch_class`); a
setting the rule cannot rebuild raises NnworkedError naming it."""

from __future__ import annotations

from typing import Any

from nnworked.errors import NnworkedError
from nnworked.fromtorch_model import parameter_names, read_array

# settings of a torch.optim parameter group that choose how it runs, not what it computes
_IMPLEMENTATION = {"params", "lr", "foreach", "fused", "capturable", "differentiable", "initial_lr"}
# torch's reductions, as nnworked's reductions over the outputs and over the batch
_REDUCTIONS = {"mean": ("mean", "mean"), "sum": ("sum", "sum")}


def read_loss(torch: Any, loss_fn: Any, targets: Any, layers: list[dict[str, Any]],
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
    y = read_array(torch, targets, "targets")
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
    y = read_array(torch, targets, "targets")
    if y.ndim == 2:
        y = y[None]
    if y.ndim != 3 or y.shape[2] != units:
        raise NnworkedError(f"targets of shape {tuple(y.shape)} do not fit the model's {units} outputs at every "
                            f"position: give (examples, positions, {units}), or class indices (examples, positions)")
    return y


def read_optimizer(torch: Any, optimizer: Any, model: Any) -> dict[str, Any]:
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
    names = parameter_names(torch, model)
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
