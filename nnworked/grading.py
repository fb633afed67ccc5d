"""Marking a student's answers to an exercise sheet, with errors carried forward.

Each blank is recomputed from the values the student had in front of them: the sheet's printed numbers,
and the student's own answers for the blanks before it. A later value that is right for the student's
own (wrong) earlier value earns its credit ("carried"). Tolerances follow the scenario's rounding: an
answer stands for half a unit of its last decimal either side, exactly as the printed numbers do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnworked import quantities
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.expr import Expr, Num, Op, interval
from nnworked.trace import Trace


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
    name = quantities.parse(key)
    i, j = (list(name.index) + [0, 0])[:2]
    return name.kind, name.layer, i, j


sort_key = quantities.sort_key  # the order a student works in (the command line's report reads it here)


def formula(trace: Trace, key: str) -> Expr:
    """How the value named `key` is worked from the values before it: the table of quantities' expression."""
    return quantities.table(trace).expression(key)


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
    """One mark per blank, in the order a student works them. An answer may be named as the key names it
    (dW2[0,1]) or as the sheet shows it (∂L/∂W₂[1])."""
    from nnworked.sheets import canonical

    answers = canonical(trace, answers)
    truth = quantities.table(trace).values
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
                                                         for k in quantities.table(trace).depends(key)):
            marks.append(Mark(key, answer, correct, "carried", "right for the earlier value used"))
            continue
        marks.append(Mark(key, answer, correct, "wrong", diagnose(trace, key, answer, correct)))
    return marks


def diagnose(trace: Trace, key: str, answer: float, correct: float) -> str:
    """The likely mistake, from a catalogue, when the numbers fit one; "" otherwise."""
    s, truth = trace.scenario, quantities.table(trace).values
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
