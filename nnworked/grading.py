"""Marking a student's answers to an exercise sheet, with errors carried forward.

Each blank is recomputed from the values the student had in front of them: the sheet's printed numbers,
and the student's own answers for the blanks before it. A later value that is right for the student's
own (wrong) earlier value earns its credit ("carried"). Tolerances follow the scenario's rounding: an
answer stands for half a unit of its last decimal either side, exactly as the printed numbers do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.expr import Expr, Num, Op, interval, num, op
from nnworked.trace import Trace

_KEY = re.compile(r"^([a-zA-Z]+?)(\d*)(?:\[(\d+)(?:,(\d+))?\])?$")
ORDER = {"C": 0, "z": 1, "a": 2, "L": 3, "da": 4, "dz": 5, "dW": 6, "db": 7, "W": 8, "b": 9}


@dataclass(frozen=True)
class Mark:
    key: str
    answer: float | None
    correct: float
    status: str  # correct, carried, wrong, missing
    note: str = ""

    @property
    def credit(self) -> bool:
        return self.status in ("correct", "carried")


def parse(key: str) -> tuple[str, int, int, int]:
    """kind, layer, first index, second index (0 when absent)."""
    match = _KEY.match(key)
    if not match:
        raise ValueError(key)
    kind, layer, i, j = match.groups()
    return kind, int(layer or 0), int(i or 0), int(j or 0)


def sort_key(key: str) -> tuple:
    """The order a student works in: layer by layer forward (z then a), the loss, layer by layer backward,
    then the updates."""
    kind, layer, i, j = parse(key)
    if kind in ("C", "z", "a"):
        return (0, layer, ORDER[kind], i, j)
    if kind == "L":
        return (1, 0, 0, i, j)
    if kind in ("da", "dz", "dW", "db"):
        return (2, -layer, ORDER[kind], i, j)
    return (3, layer, ORDER[kind], i, j)


def formula(trace: Trace, key: str) -> Expr:
    """How the value named `key` is worked from the values before it; those values carry their names."""
    s, step = trace.scenario, trace.steps[0] if trace.steps else None
    examples = s.inputs.shape[0]
    kind, k, i, j = parse(key)

    def name(kind_: str, layer: int, unit: int, example: int) -> str:
        return f"{kind_}{layer}[{unit}]" if examples == 1 else f"{kind_}{layer}[{unit},{example}]"

    if kind == "C":
        m = trace.matmul
        return worked.linear(m.a[i], m.b[:, j], None, True, True)
    assert step is not None
    n = j  # for per-example quantities the second index is the example
    if kind == "z":
        lin = step.forward.linear[k - 1]
        labels = [name("a", k - 1, u, n) for u in range(lin.inputs.shape[1])] if k > 1 else None
        return worked.linear(lin.weights[i], lin.inputs[n], None if lin.bias is None else lin.bias[i], True, k == 1,
                             labels)
    if kind == "a":
        act = step.forward.activate[k - 1]
        return ACTIVATIONS[act.activation].row_expr(act.z[n], i, act.slope,
                                                    [name("z", k, u, n) for u in range(act.z.shape[1])])
    loss = step.loss
    assert loss is not None
    units = loss.yhat.shape[1]
    last = len(s.layers)
    if kind == "L":
        if examples == 1:
            return worked.loss_example(loss.spec, loss.yhat[0], loss.y[0], [name("a", last, u, 0) for u in range(units)])
        return worked.loss_total(loss.spec, loss.per_example, [f"L[{e}]" for e in range(examples)])
    grads = {type(g).__name__ + str(g.layer): g for g in step.backward}
    if kind == "da" and k == last:
        return worked.loss_gradient(loss.spec, loss.yhat[n, i], loss.y[n, i], examples, units, name("a", k, i, n))
    if kind == "dz" and k == last:
        output = grads[f"OutputDelta{k}"]
        if output.shortcut is not None:
            return worked.shortcut(loss.spec, loss.yhat[n, i], loss.y[n, i], examples, units, name("a", k, i, n))
        return worked.product(output.dl_dyhat[n, i], output.dyhat_dz[n, i], name("da", k, i, n))
    if kind == "dW":
        g = grads[f"LayerGradient{k}"]
        inputs = [name("a", k - 1, j, e) for e in range(examples)] if k > 1 else None
        return worked.weight_gradient(g.delta[:, i], g.inputs[:, j], k == 1, [name("dz", k, i, e) for e in range(examples)],
                                      inputs)
    if kind == "db":
        g = grads[f"LayerGradient{k}"]
        return worked.bias_gradient(g.delta[:, i], [name("dz", k, i, e) for e in range(examples)])
    if kind == "da":
        back = grads[f"BackToPrevious{k + 1}"]
        return worked.backprop(back.weights[:, i], back.delta[n], True,
                               [name("dz", k + 1, u, n) for u in range(back.delta.shape[1])])
    if kind == "dz":
        through = grads[f"ThroughActivation{k}"]
        derivative, _ = worked.derivative(through.activation, through.z[n, i], through.a[n, i], through.slope,
                                          name("a", k, i, n))
        return op("mul", num(through.upstream[n, i], label=name("da", k, i, n)), derivative)
    update = next(u for u in step.updates if u.name == f"{kind}{k}")
    index = (i, j) if update.old.ndim == 2 else (i,)
    grad_label = f"d{kind}{k}[{','.join(map(str, index))}]"
    lines = worked.optimizer_update(s.optimizer, update.old[index], update.grad[index], s.learning_rate or 0.0,
                                    {}, 1, trace.precision, True, grad_label)
    return lines[-1][1]


def _substitute(expr: Expr, values: dict[str, float]) -> Expr:
    if isinstance(expr, Num):
        return Num(values[expr.label], False, expr.label) if expr.label in values else expr
    return Op(expr.op, tuple(_substitute(a, values) for a in expr.args))


def _half(value: float, trace: Trace) -> float:
    """Half a unit of the last decimal printed for `value`."""
    p = trace.precision
    return 0.5 * 10.0 ** -p.decimals_for(value) + 1e-12 * max(1.0, abs(value))


def tolerance(target: float, trace: Trace) -> float:
    """How far an answer may be from `target` and still be right (the Moodle writer gives each field the
    same). Under `rounding: carry` the student rounds exactly as the key does: half a unit of the last
    decimal. Otherwise one decimal fewer is accepted too (−0.381 for −0.3806), since where a student rounds
    an intermediate moves the last digit."""
    half = 0.5 * 10.0 ** -trace.precision.decimals_for(target)
    return half if trace.precision.carry else 10 * half


def _near(answer: float, target: float, trace: Trace) -> bool:
    noise = 1e-12 * max(1.0, abs(target))  # what binary arithmetic adds to a decimal
    return abs(answer - target) <= tolerance(target, trace) + (noise if trace.precision.carry else 10 * noise)


def grade(trace: Trace, keys: frozenset[str], answers: dict[str, float]) -> list[Mark]:
    """One mark per blank, in the order a student works them."""
    from nnworked.sheets import quantities

    truth = quantities(trace)
    known: dict[str, float] = {}
    marks = []
    for key in sorted(keys, key=sort_key):
        correct = truth[key]
        if key not in answers:
            marks.append(Mark(key, None, correct, "missing"))
            known[key] = correct
            continue
        answer = answers[key]
        known[key] = answer
        if _near(answer, correct, trace):
            marks.append(Mark(key, answer, correct, "correct"))
            continue
        low, high = interval(_substitute(formula(trace, key), {k: v for k, v in known.items() if k != key}),
                             trace.precision)
        slack = _half(answer, trace)
        if low - slack <= answer <= high + slack and any(k in known and not _near(known[k], truth[k], trace)
                                                         for k in _leaves(formula(trace, key))):
            marks.append(Mark(key, answer, correct, "carried", "right for the earlier value used"))
            continue
        marks.append(Mark(key, answer, correct, "wrong", diagnose(trace, key, answer, correct)))
    return marks


def _leaves(expr: Expr) -> set[str]:
    if isinstance(expr, Num):
        return {expr.label} if expr.label else set()
    return set().union(*(_leaves(a) for a in expr.args))


def diagnose(trace: Trace, key: str, answer: float, correct: float) -> str:
    """The likely mistake, from a catalogue, when the numbers fit one; "" otherwise."""
    from nnworked.sheets import quantities

    s, truth = trace.scenario, quantities(trace)
    kind, k, i, j = parse(key)
    gradient = kind in ("da", "dz", "dW", "db")
    candidates: list[tuple[str, float]] = []
    if correct != 0:
        candidates.append(("the sign is flipped (ŷ − y and y − ŷ confused)" if gradient else "the sign is flipped",
                           -correct))
    if gradient and s.loss is not None:
        candidates += s.loss.rule.likely_mistakes(correct)
    examples = s.inputs.shape[0]
    if gradient and s.loss is not None and s.loss.batch == "mean" and examples > 1:
        candidates.append((f"the batch mean forgotten (the sum over the {examples} examples, not the mean)",
                           examples * correct))
    if kind == "dz":
        other = truth.get(key.replace("dz", "da", 1))
        act = s.layers[k - 1].activation
        if other is not None and other != correct and ACTIVATIONS[act].elementwise:
            candidates.append((f"the activation's derivative forgotten ({act}′ not multiplied in)", other))
        if LOSSES[s.loss.name].output_activation == act and k == len(s.layers) and other is not None:
            candidates.append(("σ′ forgotten: ∂L/∂ŷ given as δ", other))
    if kind == "da" and k < len(s.layers) and trace.steps and trace.steps[0].updates:
        update = next((u for u in trace.steps[0].updates if u.name == f"W{k + 1}"), None)
        back = next((b for b in trace.steps[0].backward if type(b).__name__ == "BackToPrevious" and b.layer == k + 1),
                    None)
        if update is not None and back is not None:
            candidates.append(("the updated weights used in backprop (gradients use the weights before the update)",
                               float(update.new[:, i] @ back.delta[j])))
    for mistake, value in candidates:
        if _near(answer, value, trace):
            return mistake
    return ""


def summary(results: dict[str, list[Mark]]) -> dict[str, object]:
    per_value: dict[str, list[bool]] = {}
    mistakes: dict[str, int] = {}
    for marks in results.values():
        for m in marks:
            per_value.setdefault(m.key, []).append(m.credit)
            if m.note and m.status == "wrong":
                mistakes[m.note] = mistakes.get(m.note, 0) + 1
    scores = [sum(m.credit for m in marks) for marks in results.values()]
    return {"students": len(results), "mean": float(np.mean(scores)) if scores else 0.0,
            "per_value": {k: sum(v) / len(v) for k, v in per_value.items()}, "mistakes": mistakes}
