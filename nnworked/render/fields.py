"""The asked values of a sheet as a learning platform's numerical answer fields (Moodle's cloze fields,
Canvas's QTI items): the value, the tolerance grading allows, the name a student reads on the sheet, and
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


def fields(trace: Trace, keys: frozenset[str]) -> list[Field]:
    """One field per asked value, in the order a student works them."""
    values = quantities.table(trace).values
    labels = spellings(trace)
    out = []
    for key in sorted(keys, key=quantities.sort_key):
        value = values[key]
        out.append(Field(key, labels.get(key, key), value, grading.tolerance(value, trace),
                         tuple(mistakes(trace, key, value))))
    return out


def spellings(trace: Trace) -> dict[str, str]:
    """Each value's first spelling on the sheet (the symbol, with its subscripts), by its canonical name."""
    from nnworked.sheets import aliases

    out: dict[str, str] = {}
    for spelling, key in aliases(trace).items():
        out.setdefault(key, spelling)
    return out


def mistakes(trace: Trace, key: str, correct: float) -> list[Mistake]:
    """The wrong answers grading would name for `key`, one per distinct value.

    The candidate values are those of grading's catalogue (grading.diagnose holds it, with no list of its
    own to read); each is kept only where `diagnose` names that very mistake for it, so the feedback an
    LMS gives can never disagree with what `nnworked grade` says, and a value within the tolerance of the
    right answer (a mistake that changes nothing here) is never offered as wrong: nor one so close that
    the two answers' tolerances overlap, where a platform would take the first it lists."""
    s = trace.scenario
    candidates = [-correct]
    kind = quantities.parse(key).kind
    gradient = kind in ("da", "dz", "dW", "db")
    if gradient and s.loss is not None:
        candidates += [value for _, value in s.loss.rule.likely_mistakes(correct)]
        candidates.append(s.inputs.shape[0] * correct)
    if kind == "dz":
        other = quantities.table(trace).values.get(key.replace("dz", "da", 1))
        if other is not None:
            candidates.append(other)
    if kind == "da" and trace.steps and trace.steps[0].updates:
        candidates += _updated_weights_values(trace, key)
    out: list[Mistake] = []
    for value in candidates:
        if not math.isfinite(value) or abs(value - correct) <= 2 * grading.tolerance(correct, trace) or \
                any(abs(value - m.value) <= 2 * grading.tolerance(m.value, trace) for m in out):
            continue
        what = grading.diagnose(trace, key, value, correct)
        if what:
            out.append(Mistake(value, grading.tolerance(value, trace), what))
    return out


def _updated_weights_values(trace: Trace, key: str) -> list[float]:
    """∂L/∂a worked back through the weights after the update (the catalogue's last mistake)."""
    _, k, i, j = grading.parse(key)
    step = trace.steps[0]
    update = next((u for u in step.updates if u.name == f"W{k + 1}"), None)
    back = next((b for b in step.backward if type(b).__name__ == "BackToPrevious" and b.layer == k + 1), None)
    if update is None or back is None:
        return []
    return [float(update.new[:, i] @ back.delta[j])]
