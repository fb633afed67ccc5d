"""`nnworked.check`: a student's own numbers, from a notebook, marked as `grade` marks a class: each value
right, carried forward (right for their own earlier value) or wrong, the first wrong value named with its
likely mistake. The result shows itself in Jupyter as a table and as text anywhere else.

The marking is grading.grade's, through teaching.Marks, unchanged. What is marked: the sheet's blanks when the
scenario records an exercise or `blanks` names them; otherwise exactly the values the student gave.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from nnworked.errors import NnworkedError, OptionError
from nnworked.text import printable

STUDENT = "you"  # how the report addresses the one student it marks
SAYS = {"correct": "✓ right", "carried": "✓ carried forward", "wrong": "✗ wrong", "missing": "— not answered"}


def check(trace: Any, answers: Any, blanks: str | None = None, seed: int = 1) -> "Checked":
    from nnworked import sheets
    from nnworked.teaching import Marks

    given = sheets.canonical(trace, _one_student(answers))  # ŷ is a2[0] wherever the report names it
    if blanks is not None or trace.scenario.blanks:
        keys, variant = sheets.for_scenario(trace, blanks, seed)
    else:
        keys = _named(trace, given)
        variant = sheets.variant(trace, keys)
    return Checked(Marks(trace, keys, variant, {STUDENT: given}))


def _number(value: Any) -> Any:
    """A numpy scalar by the digits it prints (float32(0.47) is 0.47, not 0.4699999988…: grading reads the
    decimals an answer is written with); a torch scalar by its value; anything else as it is."""
    import numpy as np

    if isinstance(value, np.floating):
        return float(str(value))
    return value.item() if hasattr(value, "item") else value


def _one_student(answers: Any) -> dict[str, float]:
    """A dict of value name → number, or the path of an answers file holding one student's."""
    if isinstance(answers, Mapping):
        problems, given = [], {}
        for name, value in answers.items():
            # a numpy or torch scalar, by the digits it prints: float32(0.47) is 0.47, not 0.4699999988…, since
            # grading reads the decimals an answer is written with
            number = _number(value)
            if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
                problems.append(f"{printable(str(name))}: expected a finite number, given {printable(repr(value))}")
            else:
                given[str(name)] = float(number)
        if problems:
            raise NnworkedError("\n".join(["the answers hold values that are not numbers:", *problems]))
        if not given:
            raise NnworkedError("no answers to check: give a dict such as {\"z1[0]\": 0.21}")
        return given
    from nnworked import answers as answer_files

    students = answer_files.read(str(answers))
    if len(students) != 1:
        raise NnworkedError(f"{printable(str(answers))} holds the answers of {len(students)} students: check marks "
                            "one student's; nnworked.grade marks a class")
    return next(iter(students.values()))


def _named(trace: Any, given: dict[str, float]) -> frozenset[str]:
    """The canonical names of the values the student gave (ŷ and ∂L/∂W₂[0] as a sheet spells them too);
    an unknown name is an error that says what the scenario has."""
    from nnworked import sheets

    available = sheets.quantities(trace)
    keys = set()
    for name in given:
        if name in available:
            keys.add(name)
            continue
        try:
            cells = sheets.named(name, available)
        except OptionError as error:
            # the list of values is what a student needs; the rules it ends with are for choosing blanks
            raise NnworkedError(printable(error.message.split("; or give a rule")[0]) + ".") from None
        raise NnworkedError(f"'{printable(name)}' names {len(cells)} values: give each its own number, such as "
                            f"{cells[0]}")
    return frozenset(keys)


class Checked:
    """A student's numbers marked: `marks` (one grading.Mark per value, in working order), `score`,
    `first_wrong`, `ok`, and the report as `text()`; shown in Jupyter as a table."""

    def __init__(self, marks: Any):
        self._marks = marks
        self.trace = marks.trace
        self.marks = marks.results[STUDENT]

    @property
    def score(self) -> tuple[int, int]:
        """Values that earned credit, of those marked."""
        return sum(m.credit for m in self.marks), len(self.marks)

    @property
    def ok(self) -> bool:
        return all(m.credit for m in self.marks)

    @property
    def first_wrong(self) -> Any:
        return next((m for m in self.marks if m.status == "wrong"), None)

    def text(self) -> str:
        """What `nnworked grade` prints for one student."""
        return self._marks.text()

    def __repr__(self) -> str:
        return self.text()

    def _rows(self) -> list[tuple[str, str, str, str]]:
        from nnworked.render.numbers import fmt

        p = self.trace.precision
        return [(m.key, "" if m.answer is None else fmt(m.answer, p, given=True), fmt(m.correct, p),
                 SAYS[m.status] + (f": {m.note}" if m.note else "")) for m in self.marks]

    def _summary(self) -> list[str]:
        from nnworked.render.numbers import fmt

        credit, of = self.score
        carried = sum(m.status == "carried" for m in self.marks)
        lines = [f"{credit} of {of} right" + (f" ({carried} carried forward)" if carried else "")]
        first = self.first_wrong
        if first is not None:
            lines.append(f"First wrong value: {first.key} = {fmt(first.answer, self.trace.precision, given=True)}, "
                         f"expected {fmt(first.correct, self.trace.precision)}" +
                         (f"; likely {first.note}" if first.note else ""))
        ignored = sorted(set(self._marks.answers[STUDENT]) - self._marks.keys)
        if ignored:
            lines.append(f"Not asked on this sheet, ignored: {', '.join(printable(n) for n in ignored)}")
        return lines

    def _repr_markdown_(self) -> str:
        def cell(text: str) -> str:  # as the Markdown format escapes a table cell
            return text.replace("&", "&amp;").replace("<", "&lt;").replace("](", "]\\(").replace("|", "\\|")

        lines = [f"**{cell(self._summary()[0])}** · {cell(printable(self.trace.scenario.title))}", ""]
        lines += [cell(line) + "  " for line in self._summary()[1:]]
        lines += ["", "| Value | Your answer | Expected | Mark |", "| --- | ---: | ---: | --- |"]
        lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in self._rows()]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        summary = self._summary()
        rows = "".join(f"<tr class=\"{m.status}\"><td><code>{html.escape(row[0])}</code></td>"
                       f"<td style=\"text-align:right\">{html.escape(row[1])}</td>"
                       f"<td style=\"text-align:right\">{html.escape(row[2])}</td><td>{html.escape(row[3])}</td></tr>"
                       for m, row in zip(self.marks, self._rows()))
        return (f"<div class=\"nnworked-check\"><p><strong>{html.escape(summary[0])}</strong> · "
                f"{html.escape(printable(self.trace.scenario.title))}</p>"
                + "".join(f"<p>{html.escape(line)}</p>" for line in summary[1:])
                + "<table><thead><tr><th>Value</th><th>Your answer</th><th>Expected</th><th>Mark</th></tr></thead>"
                f"<tbody>{rows}</tbody></table></div>")
