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
from nnworked.fromtorch_model import read_array, read_layers
from nnworked.fromtorch_training import read_loss, read_optimizer
from nnworked.rules.layers import LAYERS


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

    layers, activation_modules = read_layers(torch, model)
    x = read_array(torch, inputs, "inputs")
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
        data["loss"], data["targets"] = read_loss(torch, loss_fn, targets, layers, activation_modules, sequence)
    if optimizer is not None:
        data.update(read_optimizer(torch, optimizer, model))
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
