"""Marking a student's answers to an exercise sheet, with errors carried forward.

Each asked value is worked again in the student's own world: the numbers the sheet printed (the key's), the
student's own answers for the values asked, and the values the sheet hid without asking them (the student
worked those out themselves, so they follow from the student's own answers). Every value is rebuilt from
those through the table of quantities' expressions (`quantities.Table.expression_with`), so a value right
for the student's own earlier (wrong) values earns its credit ("carried") through any operation: a
linear combination, an activation, the loss, a sum over a batch, an update.

How far an answer may be from that value follows the scenario's rounding policy. Under `rounding: carry`
the student rounds as the key does, each stage to `precision` places, and uses the rounded value: the
answer must round to the carried value. Under `rounding: exact` an answer stands for half a unit of its
last written decimal (one decimal fewer than printed is accepted), and the value it is compared with may
move by what the digits the student worked from allow: the printed numbers as printed, and the student's
own rounded answers (each moved by half a unit of its last decimal, through the expression).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

import numpy as np

from nnworked import quantities
from nnworked.engine.activations import ACTIVATIONS
from nnworked.expr import Expr, evaluate, interval
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


def tolerance(target: float, trace: Trace) -> float:
    """How far an answer may be from `target` for a field that cannot see how the answer was written (the
    spreadsheet's; a learning platform's fields take `right_answers`). Under `rounding: carry` the student rounds exactly as the key does: half a unit of
    the last decimal. Otherwise one decimal fewer is accepted too (−0.381 for −0.3806). `grade` itself
    judges each answer by its own written digits and what it was worked from (see `Sheet`)."""
    half = 0.5 * 10.0 ** -trace.precision.decimals_for(target)
    return half if trace.precision.carry else 10 * half


def right_answers(target: float, trace: Trace) -> tuple[tuple[float, float], ...]:
    """The right answers of a field that sees only the number typed (a Moodle cloze field, a Canvas
    numerical question), as (value, tolerance), by the rule `grade` applies to an answer written to the
    key's decimals: the key as printed, give or take half a unit of its last decimal (so an answer that
    rounds to another value, 0.1092 for a key of 0.1095, is never right however many values are blank).
    Under `rounding: exact` the key to one decimal fewer (0.109) is right too, exactly as written: `grade`
    accepts it, and it is the only number so written that it accepts."""
    from nnworked.engine.rounding import round_half_away

    decimals = trace.precision.decimals_for(target)
    out = [(round_half_away(target, decimals), 0.5 * 10.0 ** -decimals)]
    if not trace.precision.carry and decimals > 0:
        fewer = round_half_away(target, decimals - 1)
        if abs(fewer - out[0][0]) > out[0][1]:  # 0.21 to three decimals is 0.21: asked once
            out.append((fewer, 0.0))
    return tuple(out)


def written_decimals(answer: float) -> int:
    """The decimals an answer was written with: 0.381 has 3. A cell of an answer file keeps its own count
    (0.2100 has 4); a plain float keeps the shortest text that reads back as itself, so its trailing zeros
    are lost (0.2100 counts as 0.21, which only widens its slack)."""
    decimals = getattr(answer, "decimals", None)
    if decimals is not None:
        return int(decimals)
    exponent = Decimal(repr(float(answer))).as_tuple().exponent
    return min(-exponent, 20) if isinstance(exponent, int) and exponent < 0 else 0


def answer_slack(answer: float, reference: float, trace: Trace) -> float:
    """Half a unit of the answer's last decimal, at least of the decimals the policy asks for: under carry
    `precision` places; otherwise one fewer than the value is printed with (−0.381 for −0.3806)."""
    p = trace.precision
    return _slack(answer, p.carry, p.places, p.decimals_for(reference))


def _slack(answer: float, carry: bool, places: int, decimals: int) -> float:
    """answer_slack from the policy alone (`decimals`: those the reference is printed with)."""
    if carry:
        return 0.5 * 10.0 ** -places
    wanted = max(0, decimals - 1)
    return 0.5 * 10.0 ** -max(written_decimals(answer), wanted)


def is_right(answer: float, correct: float, carry: bool, places: int, decimals: int) -> bool:
    """Whether an answer is the key's value by the rule `grade_sheet` applies first (so "correct" whatever
    else the student wrote), from the rounding policy and the key's printed decimals alone: what a marking
    key (nnworked/markkeys.py) needs to mark without solving."""
    return abs(answer - correct) <= _slack(answer, carry, places, decimals) + _noise(correct)


def _noise(value: float) -> float:
    return 1e-12 * max(1.0, abs(value))  # what binary arithmetic adds to a decimal


class Sheet:
    """What a sheet asks and what it hides, the same for every student of a variant (worked out once)."""

    def __init__(self, trace: Trace, keys: Iterable[str], reveal: str | None = None) -> None:
        self.trace, self.keys = trace, frozenset(keys)
        self.table = quantities.table(trace)
        self.truth = self.table.values
        self.policy = reveal or trace.scenario.reveal or "guided"
        from nnworked.scenario import REVEALS

        if self.policy not in REVEALS:
            from nnworked.errors import OptionError

            raise OptionError("--reveal", f"'{self.policy}' is not a policy; choose from: {', '.join(REVEALS)}")
        self.order = sorted(self.keys, key=sort_key)
        self.carry = trace.precision.carry
        self._spellings: dict[str, str] | None = None
        self._worked: frozenset[str] | None = None

    @property
    def worked(self) -> frozenset[str]:
        """What the student works out: the asked values and those the sheet hides with them (read from the
        table's dependencies, so worked out only when a student's answer is not the key's)."""
        if self._worked is None:
            from nnworked import sheets

            quantities.keep(self.table)
            self._worked = self.keys | sheets.hidden(self.trace, self.keys, self.policy)
        return self._worked

    def canonical(self, answers: dict[str, float]) -> dict[str, float]:
        """An answer file's values by canonical name: a sheet's own spelling (ŷ, ∂L/∂W₂[0]) is accepted too."""
        if all(key in self.truth for key in answers):
            return answers
        if self._spellings is None:
            from nnworked.sheets import aliases

            quantities.keep(self.table)
            self._spellings = aliases(self.trace)
        return {self._spellings.get(key.replace(" ", ""), key): value for key, value in answers.items()}

    def grade(self, answers: dict[str, float]) -> list["Mark"]:
        """One student's marks (answers named either way)."""
        return grade_sheet(self, self.canonical(answers))


class _World:
    """One student's values: the sheet's printed numbers, their answers, and what they worked from those."""

    def __init__(self, sheet: Sheet, answers: dict[str, float]) -> None:
        self.sheet, self.answers = sheet, answers
        self.status: dict[str, str] = {}  # the asked values marked so far
        self._worked: dict[str, tuple[float, frozenset[str]]] = {}
        self._spread: dict[str, float] = {}

    def look(self, label: str, key_value: float) -> float:
        """The value the student used for the operand `label` (the key's, `key_value`, where the sheet
        printed it or the student left it blank)."""
        s = self.sheet
        if label in s.keys:  # asked: known without working out what the sheet hides
            return self.answers.get(label, key_value)
        if label not in s.worked:
            return key_value
        return self.worked(label)

    def rebuild(self, label: str, changed: dict[str, float] | None = None) -> tuple[Expr, frozenset[str]]:
        """The worked expression of `label` from the student's values (`changed` overriding some), and the
        operands the student worked out themselves."""
        used: set[str] = set()

        def look(name: str, key_value: float) -> float:
            if name in self.sheet.keys or name in self.sheet.worked:
                used.add(name)
            if changed and name in changed:
                return changed[name]
            return self.look(name, key_value)

        return self.sheet.table.expression_with(label, look), frozenset(used)

    def value_of(self, expr: Expr) -> float:
        from nnworked.worked import value

        return value(expr, self.sheet.trace.precision) if self.sheet.carry else evaluate(expr)

    def worked(self, label: str) -> float:
        """`label` as the student would work it from their own values (for an asked value: what their
        answer should be, given their earlier answers)."""
        if label not in self._worked:
            expr, used = self.rebuild(label)
            self._worked[label] = (self.value_of(expr), used)
        return self._worked[label][0]

    def operands(self, label: str) -> frozenset[str]:
        self.worked(label)
        return self._worked[label][1]

    def slack(self, label: str) -> float:
        """How far the student's value of the operand `label` may be from what they wrote or worked out."""
        s = self.sheet
        if label in s.keys:
            return answer_slack(self.answers[label], self.answers[label], s.trace) if label in self.answers else 0.0
        return self.spread(label)

    def spread(self, label: str) -> float:
        """How far the digits the student worked from let `label` move (rounding: exact; 0 under carry,
        where every stage is rounded as the key rounds it): the printed operands as printed, and the
        student's own rounded values, each moved by its slack through the expression."""
        if self.sheet.carry:
            return 0.0
        if label not in self._spread:
            expr, used = self.rebuild(label)
            centre = self.value_of(expr)
            low, high = interval(expr, self.sheet.trace.precision)
            out = max(high - centre, centre - low)
            for operand in sorted(used):
                h = self.slack(operand)
                if h:
                    base = self.look(operand, self.sheet.truth.get(operand, 0.0))
                    up = self.value_of(self.rebuild(label, {operand: base + h})[0])
                    down = self.value_of(self.rebuild(label, {operand: base - h})[0])
                    out += abs(up - down) / 2
            self._spread[label] = out if math.isfinite(out) else math.inf
        return self._spread[label]

    def upstream_wrong(self, label: str) -> bool:
        """Whether `label` was worked from an answer the student got wrong (or carried), transitively
        through the values they worked out without being asked."""
        for operand in self.operands(label):
            if operand in self.sheet.keys:
                if self.status.get(operand) in ("wrong", "carried"):
                    return True
            elif self.upstream_wrong(operand):
                return True
        return False


def grade_sheet(sheet: Sheet, answers: dict[str, float]) -> list[Mark]:
    """One mark per asked value, in the order a student works them (answers by canonical name)."""
    world = _World(sheet, answers)
    trace = sheet.trace
    marks = []
    for key in sheet.order:
        correct = sheet.truth[key]
        if key not in answers:
            marks.append(Mark(key, None, correct, "missing"))
            world.status[key] = "missing"
            continue
        answer = answers[key]
        if is_right(answer, correct, trace.precision.carry, trace.precision.places, trace.precision.decimals_for(correct)):
            status, note = "correct", ""
        else:
            own = world.worked(key)
            room = world.spread(key) + answer_slack(answer, own, trace) + _noise(own)
            if math.isfinite(own) and abs(answer - own) <= room:
                status, note = ("carried", "right for the earlier value used") if world.upstream_wrong(key) \
                    else ("correct", "")
            else:
                status, note = "wrong", diagnose(world, key, answer)
        world.status[key] = status
        marks.append(Mark(key, answer, correct, status, note))
    return marks


def grade(trace: Trace, keys: frozenset[str], answers: dict[str, float], reveal: str | None = None) -> list[Mark]:
    """One mark per blank, in the order a student works them. An answer may be named as the key names it
    (dW2[0,1]) or as the sheet shows it (∂L/∂W₂[1]). `reveal`: the sheet's policy (by default the one the
    scenario records, else guided), which says which values the student worked out without being asked."""
    return Sheet(trace, keys, reveal).grade(answers)


def diagnose(world: _World, key: str, answer: float) -> str:
    """The likely mistake, from a catalogue, where its numbers fit the answer and no other mistake's fit
    better; "" otherwise. Each mistake is applied to the value as the student should have worked it (from
    their own earlier values), with the same slack as a right answer has."""
    sheet = world.sheet
    trace, s = sheet.trace, sheet.trace.scenario
    own, spread = world.worked(key), world.spread(key)
    if not (math.isfinite(own) and math.isfinite(spread)):
        return ""
    kind, k, i, j = parse(key)
    gradient = kind in ("da", "dz", "dW", "db")
    candidates: list[tuple[str, float, float]] = []  # (mistake, the value it gives, how far that may move)
    if own != 0:
        candidates.append(("the sign is flipped (ŷ − y and y − ŷ confused)" if gradient else "the sign is flipped",
                           -own, spread))
    if gradient and s.loss is not None:
        candidates += [(text, value, spread * abs(value / own) if own else spread)
                       for text, value in s.loss.rule.likely_mistakes(s.loss, own)]
    examples = s.inputs.shape[0]
    if gradient and s.loss is not None and s.loss.batch == "mean" and examples > 1:
        candidates.append((f"the batch mean forgotten (the sum over the {examples} examples, not the mean)",
                           examples * own, examples * spread))
    if kind == "dz" and ACTIVATIONS[s.layers[k - 1].activation].elementwise:
        upstream = quantities.name("da", k, *quantities.parse(key).index)
        if upstream in sheet.truth:
            value = world.look(upstream, sheet.truth[upstream])
            slack = world.slack(upstream) if upstream in sheet.keys or upstream in sheet.worked else 0.0
            act = s.layers[k - 1].activation
            where = " (∂L/∂ŷ given as δ)" if k == len(s.layers) else ""
            candidates.append((f"the activation's derivative forgotten ({act}′ not multiplied in){where}", value,
                               slack))
    if kind == "da" and k < len(s.layers) and trace.steps and trace.steps[0].updates:
        candidates += _updated_weights(world, k, i, j)
    fits = []
    for mistake, value, slack in candidates:
        room = slack + answer_slack(answer, value, trace) + _noise(value)
        if value != own and abs(answer - value) <= room:
            fits.append((abs(answer - value) / room, mistake, value, room))
    if not fits:
        return ""
    _, _, value, room = min(fits)
    # mistakes whose numbers coincide here (the ½ convention and a batch of 2) fit equally: name each, in
    # the catalogue's order
    same = [m for _, m, v, r in fits if abs(v - value) <= room + r]
    return " or ".join(dict.fromkeys(same))


def _updated_weights(world: _World, k: int, i: int, example: int) -> list[tuple[str, float, float]]:
    """∂L/∂a_k worked with layer k+1's weights after their update, from the student's own δ."""
    from nnworked import worked

    step = world.sheet.trace.steps[0]
    update = next((u for u in step.updates if u.name == f"W{k + 1}"), None)
    if update is None:
        return []
    s = world.sheet.trace.scenario
    examples = s.inputs.shape[0]
    deltas = [quantities.cell("dz", k + 1, u, example, examples) for u in range(update.new.shape[0])]
    values = [world.look(d, world.sheet.truth[d]) for d in deltas]
    expr = worked.backprop(update.new[:, i], values, True, deltas)
    value = world.value_of(expr)
    low, high = interval(expr, world.sheet.trace.precision)
    return [("the updated weights used in backprop (gradients use the weights before the update)", value,
             0.0 if world.sheet.carry else max(high - value, value - low))]


def summary(results: dict[str, list[Mark]]) -> dict[str, object]:
    """The class: its students, their mean, the share of students who earned each value's credit, and how
    many students made each likely mistake (a student who makes it on three values counts once)."""
    per_value: dict[str, list[bool]] = {}
    mistakes: dict[str, int] = {}
    for marks in results.values():
        for m in marks:
            per_value.setdefault(m.key, []).append(m.credit)
        for note in dict.fromkeys(m.note for m in marks if m.note and m.status == "wrong"):
            mistakes[note] = mistakes.get(note, 0) + 1
    scores = [sum(m.credit for m in marks) for marks in results.values()]
    return {"students": len(results), "mean": float(np.mean(scores)) if scores else 0.0,
            "per_value": {k: sum(v) / len(v) for k, v in per_value.items()}, "mistakes": mistakes}
