"""The closing "Key Takeaways" of a document, as the seed documents close, drawn from this scenario's own
numbers: how the loss moved, the largest gradient and what it did to its parameter, and the observations
that last (the output pushed up or down, dead or saturated units, gradients that grow or shrink towards the
input). Change a number and the sentences change with it."""

from __future__ import annotations

import numpy as np

from nnworked.engine.rounding import Precision
from nnworked.render.blocks import Block, Bullets, Heading
from nnworked.render.notation import Notation
from nnworked.render.numbers import fmt
from nnworked.render.observations import lasting
from nnworked.trace import Trace

PERCENT = Precision(1)  # a change in the loss, in per cent: its size, not its last digits


def key_takeaways(trace: Trace) -> list[Block]:
    """The section, or nothing for a matrix product (it has no network, no loss, no gradient)."""
    if trace.matmul is not None or not trace.steps or not trace.steps[0].forward.linear:
        return []
    step, p = trace.steps[0], trace.precision
    n = Notation(len(step.forward.linear), step.forward.linear[0].inputs.shape[0])
    notes = [*_loss(trace), *_largest_gradient(trace, n), *lasting(trace, step, n)]
    if not notes:
        sizes = [step.forward.linear[0].inputs.shape[1:], *(lin.z.shape[1:] for lin in step.forward.linear)]
        # a network of vectors is named by its sizes (2-2-1); one of sequences or images by its layers
        shape = "-".join(str(size[0]) for size in sizes) + " " if all(len(size) == 1 for size in sizes) else ""
        notes = [f"A forward pass through this {shape}network gives {n.a(n.layers)} = "
                 f"{_values(step.forward.output[0], p)}; with targets it would give a loss to learn from."]
    return [Heading(2, "Key Takeaways"), Bullets(notes)]


def _values(values: np.ndarray, p: Precision, limit: int = 6) -> str:
    """One number, a list, or a list of lists (a value per position of a sequence), at most `limit` per list."""
    if values.size == 1:
        return fmt(float(values.reshape(-1)[0]), p)
    shown = [fmt(float(v), p) if values.ndim == 1 else _values(v, p, limit) for v in values[:limit]]
    return "[" + ", ".join(shown) + (f", … ({len(values) - limit} more)" if len(values) > limit else "") + "]"


def _loss(trace: Trace) -> list[str]:
    losses, p = trace.losses, trace.precision
    if not losses:
        return []
    if len(losses) == 1:
        return [f"**The loss** is L = {fmt(losses[0], p)}; its gradients say which way each parameter would move "
                "to lower it."]
    first, last, steps = losses[0], losses[-1], len(losses) - 1
    change = f" ({fmt((last - first) / first * 100, PERCENT)} %)" if first else ""
    went = "fell" if last < first else "rose" if last > first else "stayed"
    return [f"**The loss {went}** from {fmt(first, p)} to {fmt(last, p)}{change} in {steps} "
            f"step{'s' if steps != 1 else ''} with the learning rate η = "
            f"{fmt(float(trace.scenario.learning_rate), p, given=True)}."]


def _largest_gradient(trace: Trace, n: Notation) -> list[str]:
    """The parameter the loss is most sensitive to, and what the update did to it."""
    step, p = trace.steps[0], trace.precision
    gradients = {name: g for name, g in step.gradients().items() if name[0] in "Wb"}
    if not gradients:
        return []
    name, grad = max(gradients.items(), key=lambda item: float(np.max(np.abs(item[1]))))
    index = np.unravel_index(int(np.argmax(np.abs(grad))), grad.shape)
    shown = index[1:] if grad.ndim == 2 and grad.shape[0] == 1 else index  # W₂[1] of a single output, as shown
    symbol = n.param(name) + (f"[{','.join(str(i) for i in shown)}]" if grad.size > 1 else "")
    value = float(grad[index])
    when = " of step 1" if len(trace.steps) > 1 else ""
    sentence = f"**The largest gradient**{when} is ∂L/∂{symbol} = {fmt(value, p)}"
    update = next((u for u in step.updates if u.name == name), None)
    if update is not None and not update.frozen:
        old, new = float(update.old[index]), float(update.new[index])
        return [f"{sentence}: the loss is most sensitive to {symbol}, which the update moved from "
                f"{fmt(old, p, given=True)} to {fmt(new, p)}."]
    return [f"{sentence}: the loss is most sensitive to {symbol}."]
