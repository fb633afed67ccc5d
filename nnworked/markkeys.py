"""A generated variant's marking key: what `grade --manifest` needs to mark a student who is right without
solving the variant again.

`generate` writes `VARIANT.marking-key.json` beside `VARIANT.yaml`: every asked value's canonical name, its
value (exact, as the solver gave it), its decimals and its text as printed, the rounding policy grading's
rule reads, the scenario's title (the feedback and the class report print it), and the sha256 of the exact
bytes of the .yaml it was solved from. Marking uses it only when
that fingerprint matches the file it is about to mark from and every value a student gave is right by
grading's own rule (`grading.is_right`); anything else (a wrong or unreadable value, a name the key does not
ask, no key, an edited variant) is marked by solving, exactly as without a key. A variant is solved only
when one of its students needs a worked correction: the report and a right student's feedback read the
title and the precision from the key. The key is the teacher's own output, read from beside the teacher's
scenario: never an answer a student hands in.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Callable

from nnworked import grading
from nnworked.grading import Mark
from nnworked.quantities import sort_key

SUFFIX = ".marking-key.json"
FORMAT = 1


def path_for(scenario: str) -> str:
    """The key beside a variant's scenario: spam-3f2a.yaml → spam-3f2a.marking-key.json."""
    return os.path.splitext(scenario)[0] + SUFFIX


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build(trace: Any, keys: frozenset[str], variant: str, scenario_text: str) -> str:
    """The key of a variant solved as `trace`, asking `keys`, written as `scenario_text`."""
    from nnworked import quantities
    from nnworked.render.numbers import fmt

    p = trace.precision
    truth = quantities.table(trace).values
    values = {k: {"value": float(truth[k]), "decimals": p.decimals_for(truth[k]), "printed": fmt(truth[k], p)}
              for k in sorted(keys, key=sort_key)}
    body = {"nnworked_marking_key": FORMAT, "nnworked": _version(), "variant": variant,
            "sha256": fingerprint(scenario_text.encode("utf-8")), "carry": bool(p.carry), "places": int(p.places),
            "title": trace.scenario.title, "values": values}
    return json.dumps({**body, "check": _check(body)}, indent=1, ensure_ascii=False) + "\n"


def _check(body: dict[str, Any]) -> str:
    """A checksum of everything else in the key: a value changed by hand (the key edited, not regenerated)
    no longer matches, and the key is ignored. Not a signature: whoever can write the teacher's folder can
    change the scenario itself."""
    fields = {k: v for k, v in body.items() if k != "check"}
    return fingerprint(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode("utf-8"))


def _version() -> str:
    from nnworked import __version__

    return __version__


class Key:
    """A read key, valid for the scenario bytes it was checked against."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.variant = str(data["variant"])
        self.carry, self.places = bool(data["carry"]), int(data["places"])
        title = data.get("title")  # a key written before titles were recorded has none: solved for it
        self.title = title if isinstance(title, str) else None
        self.values = {str(k): (float(v["value"]), int(v["decimals"])) for k, v in data["values"].items()}
        self.keys = frozenset(self.values)
        self.order = sorted(self.keys, key=sort_key)

    def marks(self, answers: dict[str, float]) -> list[Mark] | None:
        """The marks `grading.grade_sheet` gives, when every given value is asked and right by the key;
        None when any is not (then only solving can mark it: carried credit, diagnosis)."""
        if any(name not in self.values for name in answers):
            return None
        marks = []
        for key in self.order:
            correct, decimals = self.values[key]
            if key not in answers:
                marks.append(Mark(key, None, correct, "missing"))
            elif grading.is_right(answers[key], correct, self.carry, self.places, decimals):
                marks.append(Mark(key, answers[key], correct, "correct"))
            else:
                return None
        return marks


def read(scenario: str) -> Key | None:
    """The key beside `scenario` if it is there, readable and made from the scenario's current bytes."""
    try:
        with open(path_for(scenario), encoding="utf-8") as f:
            data = json.load(f)
        with open(scenario, "rb") as f:
            current = fingerprint(f.read())
        if data.get("nnworked_marking_key") != FORMAT or data.get("nnworked") != _version() or \
                data.get("sha256") != current or data.get("check") != _check(data):
            return None  # another version's key (its solver may differ), the variant or the key edited since
        return Key(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no key, or not one we can read: solve instead


class Outline:
    """A keyed variant's trace as the class report and a right student's feedback read it: `precision` and
    `scenario.title` from the key; anything else (the values, the layers) solves the variant, once."""

    def __init__(self, sheet: "KeyedSheet") -> None:
        from nnworked.engine.rounding import Precision

        self._sheet = sheet
        self.precision = Precision(sheet.key.places, sheet.key.carry)
        self.scenario = _Titled(sheet)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._sheet.solved.trace, name)


class _Titled:
    """The scenario's title from the key; any other of its fields from the solved variant."""

    def __init__(self, sheet: "KeyedSheet") -> None:
        self._sheet, self.title = sheet, sheet.key.title

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._sheet.solved.trace.scenario, name)


class KeyedSheet:
    """A variant's sheet as far as its key knows it (the asked values, in order); everything else a
    sheet has (the trace, the table, another spelling of a name) comes from solving the variant, once,
    the first time it is needed."""

    def __init__(self, key: Key, solve: Callable[[], grading.Sheet]) -> None:
        self.key, self._solve = key, solve
        self.keys, self.order = key.keys, key.order
        self._sheet: grading.Sheet | None = None

    @property
    def solved(self) -> grading.Sheet:
        if self._sheet is None:
            self._sheet = self._solve()
        return self._sheet

    @property
    def trace(self) -> Any:
        """The solved variant's trace once it is solved; until then, what the class report and a right
        student's feedback read of it (the title and the precision), from the key: no variant is solved
        only to print its title."""
        if self._sheet is None and self.key.title is not None:
            return Outline(self)
        return self.solved.trace

    def canonical(self, answers: dict[str, float]) -> dict[str, float]:
        return answers if all(k in self.keys for k in answers) else self.solved.canonical(answers)

    def grade(self, answers: dict[str, float]) -> list[Mark]:
        marks = self.key.marks(answers)
        return marks if marks is not None else self.solved.grade(answers)

    def __getattr__(self, name: str) -> Any:  # trace, table, truth, policy, ...: the solved sheet's
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.solved, name)
