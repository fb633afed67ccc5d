"""Observations read off a step's own numbers, each citing the values it rests on: which parameters went
up or down and why, dead ReLU units, saturated sigmoids, gradients that explode or vanish towards the
input, a loss that went up. Nothing here is canned: change a number and the sentences change with it."""

from __future__ import annotations

import numpy as np

from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.rounding import Precision
from nnworked.render.notation import Notation
from nnworked.render.numbers import fmt
from nnworked.trace import LayerGradient, OutputDelta, Pool, Trace, TrainingStep

SUMMARY = Precision(2)  # norms and ratios: a reader wants their size, not their last digits
RATIO = 100.0  # gradient norms this many times apart from the output layer to the input layer


def observations(trace: Trace, step: TrainingStep, n: Notation, next_loss: float | None) -> list[str]:
    p = trace.precision
    out: list[str] = []
    out += _error_sign(step, n, p)
    out += _directions(step, n, p)
    out += _activation_notes(trace, step, n, p)
    out += _layer_notes(trace, step, n, p)
    out += _gradient_scale(step, n, p)
    out += _pool_ties(step, n, p)
    out += _attention_focus(step, n, p)
    out += _big_steps(step, n, p)
    if next_loss is not None and step.loss is not None and next_loss > step.loss.value:
        out.append(f"**The loss went up**, from {fmt(step.loss.value, p)} to {fmt(next_loss, p)}: the step "
                   "overshot the minimum along its direction; a smaller learning rate would go less far.")
    return out


def lasting(trace: Trace, step: TrainingStep, n: Notation) -> list[str]:
    """The observations a closing summary keeps: which way the error pushed the output, what the activations
    did (dead or saturated units), and how the gradient's size changed towards the input."""
    p = trace.precision
    return [*_error_sign(step, n, p), *_activation_notes(trace, step, n, p), *_layer_notes(trace, step, n, p),
            *_gradient_scale(step, n, p)]


def _error_sign(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    if step.loss is None or step.loss.yhat.size != 1:
        return []
    yhat, y = float(step.loss.yhat.flat[0]), float(step.loss.y.flat[0])  # one value, of a batch or a sequence
    if yhat == y:
        return []
    relation = "lower" if yhat < y else "higher"
    delta = next(s for s in step.backward if isinstance(s, OutputDelta)).delta.flat[0]
    return [f"The prediction {n.a(n.layers)} = {fmt(yhat, p)} is **{relation}** than the target y = "
            f"{fmt(y, p, given=True)}, so {n.delta(n.layers)} = ∂L/∂{n.z(n.layers)} = {fmt(delta, p)} is "
            f"{'negative' if delta < 0 else 'positive'}: {_push(step)} the output "
            f"{'up' if yhat < y else 'down'}{'' if _moved(step) else ', but no parameter moved'}."]


def _moved(step: TrainingStep) -> bool:
    """Whether the step changed any parameter (or is not a training step at all)."""
    return not step.updates or any(np.any(u.new != u.old) for u in step.updates)


def _push(step: TrainingStep) -> str:
    # a claim that the update pushed the output must not sit beside "no parameter moved"
    return "the update pushes" if _moved(step) else "the gradient would push"


def _directions(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    if not step.updates:
        return []
    up = down = same = 0
    for u in step.updates:
        if u.frozen:
            continue
        change = u.new - u.old
        up += int(np.sum(change > 0))
        down += int(np.sum(change < 0))
        same += int(np.sum(change == 0))
    total = up + down + same
    reason = "a parameter moves against its gradient (θ − η·g): a negative gradient raises it, a positive one " \
             "lowers it, a zero one leaves it"
    if up == total:
        return [f"**All {total} parameters increased**, because every gradient was negative; {reason}."]
    if down == total:
        return [f"**All {total} parameters decreased**, because every gradient was positive; {reason}."]
    parts = [f"{count} {word}" for count, word in ((up, "increased"), (down, "decreased"), (same, "did not move"))
             if count]
    return [f"Of {total} parameters, {', '.join(parts)}: {reason}."]


def _activation_notes(trace: Trace, step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    """What each layer's activation rule observes in its numbers (dead ReLU units, saturated sigmoids),
    grouped by rule in the rules' own order, layer by layer within a rule."""
    notes = []
    for act in step.forward.activate:
        rule = ACTIVATIONS[act.activation]
        has_bias = trace.scenario.layers[act.layer - 1].bias is not None
        notes.append((rule.observation_rank, act.layer, rule.observe(act, n, p, has_bias)))
    return [note for _, _, found in sorted(notes, key=lambda x: (x[0], x[1])) for note in found]


def _layer_notes(trace: Trace, step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    """What each layer's rule observes in its own records (a normalised group with almost no variance),
    layer by layer."""
    from nnworked.rules.layers import LAYERS

    notes = []
    for k, layer in enumerate(trace.scenario.layers, start=1):
        forward = tuple(r for r in step.forward.operations if r.layer == k)
        backward = tuple(r for r in step.backward if getattr(r, "layer", None) == k)
        notes += LAYERS[layer.type].observe(forward, backward, n, p)
    return notes


def all_dead(forward) -> list:  # noqa: ANN001
    """The activations of a forward pass none of whose units passes a gradient (every ReLU unit dead)."""
    return [act for act in forward.activate
            if len(ACTIVATIONS[act.activation].dead_units(act.z)) == act.z.shape[-1 if act.z.ndim == 3 else 1]]


def _norm(values: np.ndarray) -> float:
    """‖values‖, scaled first so that squaring large entries cannot overflow (a norm beyond ±1.8e308 is ∞)."""
    largest = float(np.max(np.abs(values))) if values.size else 0.0
    if largest == 0 or not np.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(values / largest))


def _gradient_scale(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    norms = {s.layer: _norm(s.weights_grad) for s in step.backward if isinstance(s, LayerGradient)}
    if len(norms) < 2 or not all(np.isfinite(v) for v in norms.values()):
        return []  # a norm or a ratio too large to write says nothing a reader can use
    first, last = norms[min(norms)], norms[max(norms)]
    with np.errstate(over="ignore"):
        ratios = [first / last if last > 0 else 0.0, last / first if first > 0 else 0.0]
    if not all(np.isfinite(r) for r in ratios):
        return []
    listing = ", ".join(f"‖∂L/∂{n.W(k)}‖ = {fmt(norms[k], SUMMARY)}" for k in sorted(norms))
    if last > 0 and first / last > RATIO:
        return [f"**Exploding gradients** towards the input: {listing}; the first layer's gradient is "
                f"{fmt(first / last, SUMMARY)} times the last's."]
    if first > 0 and last / first > RATIO or first == 0 < last:
        return [f"**Vanishing gradients** towards the input: {listing}; the first layer learns "
                f"{'nothing' if first == 0 else f'{fmt(last / first, SUMMARY)} times more slowly'}."]
    return []


def _pool_ties(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    """Max-pooling windows whose largest value appears more than once: the gradient goes to the first only."""
    out = []
    for pool in step.forward.of_type(Pool):
        if pool.winners is None:
            continue
        ties = []
        for index in np.ndindex(*pool.a.shape):
            e, c, i, j = index
            window = pool.inputs[e, c, i * pool.stride: i * pool.stride + pool.size,
                                 j * pool.stride: j * pool.stride + pool.size]
            if np.sum(window == pool.a[index]) > 1:
                ties.append(index)
        if not ties:
            continue
        e, c, i, j = ties[0]
        dy, dx = divmod(int(pool.winners[ties[0]]), pool.size)
        count = int(np.sum(pool.inputs[e, c, i * pool.stride: i * pool.stride + pool.size,
                                       j * pool.stride: j * pool.stride + pool.size] == pool.a[ties[0]]))
        where = n.element(n.a(pool.layer), e, (c, i, j), 0)
        others = f"; {len(ties) - 1} more window{'s tie' if len(ties) > 2 else ' ties'} too" \
            if len(ties) > 1 else ""
        out.append(f"**A tie in max pooling:** the window of {where} holds its maximum "
                   f"{fmt(pool.a[ties[0]], p)} {count} times; its whole gradient goes to the first, "
                   f"{n.a(pool.layer - 1)}[{c},{i * pool.stride + dy},{j * pool.stride + dx}] (PyTorch's choice), and the "
                   f"others get none from it{others}. Another library may pick another, with the same loss.")
    return out


def _big_steps(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    """The largest update relative to its parameter, when it is larger than the parameter itself."""
    worst = None
    for u in step.updates:
        change = np.abs(u.new - u.old)
        size = np.abs(u.old)
        with np.errstate(all="ignore"):  # a denormal size overflows the ratio; no warning on stderr
            ratio = np.where(size > 0, change / size, 0.0)
        # a parameter too small for its ratio to be a number is, like 0, no size to compare a step with
        ratio = np.where(np.isfinite(ratio), ratio, 0.0)
        index = np.unravel_index(int(np.argmax(ratio)), ratio.shape) if ratio.size else None
        if index is not None and ratio[index] > 1 and (worst is None or ratio[index] > worst[0]):
            worst = (float(ratio[index]), u, index)
    if worst is None:
        return []
    ratio, u, index = worst
    where = n.param(u.name) + ("[" + ",".join(map(str, index)) + "]" if u.old.size > 1 else "")
    return [f"**A step larger than the weight:** {where} went from {fmt(u.old[index], p, given=True)} to "
            f"{fmt(u.new[index], p)}, a change {fmt(ratio, SUMMARY)} times its own size; its gradient "
            f"{fmt(u.grad[index], p)} is large because of the size of what it multiplies."]


def _attention_focus(step: TrainingStep, n: Notation, p: Precision) -> list[str]:
    from nnworked.render.attention import attention_focus  # the attention layer's own observation

    return attention_focus(step, n, p)

