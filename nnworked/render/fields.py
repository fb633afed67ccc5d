"""The asked values of a sheet as a learning platform's numerical answer fields (Moodle's cloze fields,
Canvas's QTI items): the value, the answers grading takes as right, the name a student reads on the sheet, and
the wrong values of grading's catalogue of mistakes, each with the mistake it means."""

from __future__ import annotations

import math
from typing import NamedTuple

from nnworked import grading, quantities
from nnworked.trace import Trace


class Mistake(NamedTuple):
    value: float
    tolerance: float  # grading's, for a value of this size
    what: str  # grading's words for it: "the sign is flipped", …


class Field(NamedTuple):
    key: str  # the name grade reads: z1[0]
    label: str  # the name the sheet prints: z₁[0], h[0], ∂L/∂W₂[1]
    value: float
    tolerance: float
    mistakes: tuple[Mistake, ...]
    right: tuple[tuple[float, float], ...] = ()  # grading.right_answers: (value, tolerance) each


def fields(trace: Trace, keys: frozenset[str]) -> list[Field]:
    """One field per asked value, in the order a student works them."""
    values = quantities.table(trace).values
    labels = spellings(trace)
    out = []
    for key in sorted(keys, key=quantities.sort_key):
        value = values[key]
        right = grading.right_answers(value, trace)
        out.append(Field(key, labels.get(key, key), value, right[0][1], tuple(mistakes(trace, key, value)), right))
    return out


def spellings(trace: Trace) -> dict[str, str]:
    """Each value's first spelling on the sheet (the symbol, with its subscripts), by its canonical name."""
    from nnworked.sheets import aliases

    out: dict[str, str] = {}
    for spelling, key in aliases(trace).items():
        out.setdefault(key, spelling)
    return out


def mistakes(trace: Trace, key: str, correct: float) -> list[Mistake]:
    """The wrong answers `nnworked grade` names a mistake for, one per distinct value, in the catalogue's
    order.

    grading holds the catalogue and its judgement: each likely wrong value (the sign flipped, doubled or
    halved by the ½ convention, the batch's sum for its mean, ∂L/∂a for δ, ∂L/∂a worked through the updated
    weights), rounded as the key prints it, is marked by `grading.grade` as a student's answer, and kept
    with the mistake grade names for it; a value grade names nothing for, or takes as right, is left out.
    So a platform's feedback never says other than `grade` does, and a mistake that changes nothing here
    (a sign flip of 0) is never offered as wrong. Values whose tolerances overlap are offered once: a
    platform takes the first answer that matches."""
    table = quantities.table(trace)
    name = quantities.parse(key)
    probes = [-correct, 2 * correct, correct / 2, trace.scenario.inputs.shape[0] * correct]
    if name.kind == "dz":
        probes.append(table.values.get(str(name._replace(kind="da")), math.nan))
    if name.kind == "da":
        probes += _updated_weights_values(trace, key)
    out: list[Mistake] = []
    for probe in probes:
        if not math.isfinite(probe):
            continue
        value = round(probe, trace.precision.decimals_for(probe))  # as a student writes it from the key's digits
        if abs(value - correct) <= 2 * grading.tolerance(correct, trace) or \
                any(abs(value - m.value) <= m.tolerance + grading.tolerance(value, trace) for m in out):
            continue
        mark = next(m for m in grading.grade(trace, frozenset([key]), {key: value}) if m.key == key)
        if mark.status == "wrong" and mark.note:
            out.append(Mistake(value, grading.tolerance(value, trace), mark.note))
    return out


def _updated_weights_values(trace: Trace, key: str) -> list[float]:
    """∂L/∂a_k worked back through layer k+1's weights after their update (from the key's δ)."""
    name = quantities.parse(key)
    k = name.layer
    i, example = (list(name.index) + [0])[:2]
    step = trace.steps[0] if trace.steps else None
    update = next((u for u in step.updates if u.name == f"W{k + 1}"), None) if step else None
    if update is None:
        return []
    values = quantities.table(trace).values
    examples = trace.scenario.inputs.shape[0]
    deltas = [values.get(quantities.cell("dz", k + 1, u, example, examples)) for u in range(update.new.shape[0])]
    if any(d is None for d in deltas):
        return []
    return [float(update.new[:, i] @ deltas)]
