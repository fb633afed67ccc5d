"""The marks of a class as text: each student's score, their first wrong value with its likely mistake,
every mark, and the class summary. Names come from students' files: shown printable, never raw."""

from __future__ import annotations

from typing import Any

from nnworked.render.numbers import fmt
from nnworked.text import printable


def report(trace: Any, keys: frozenset[str], variant: str, students: dict[str, dict[str, float]],
           results: dict[str, list[Any]], summary: dict[str, Any] | None, sort_key: Any) -> str:
    p = trace.precision
    lines = [f"{trace.scenario.title} · variant {variant} · {len(keys)} values"]
    for name, marks in results.items():
        credit = sum(m.credit for m in marks)
        carried = sum(m.status == "carried" for m in marks)
        lines += ["", f"{name}: {credit} of {len(marks)}" + (f" ({carried} carried forward)" if carried else "")]
        ignored = sorted(set(students[name]) - keys)
        if ignored:
            lines.append(f"  not asked on this sheet, ignored: {', '.join(ignored)}")
        first = next((m for m in marks if m.status == "wrong"), None)
        if first is not None:
            lines.append(f"  first wrong value: {first.key} = {fmt(first.answer, p, given=True)}, expected "
                         f"{fmt(first.correct, p)}" + (f" — likely {first.note}" if first.note else ""))
        for m in marks:
            shown = "—" if m.answer is None else fmt(m.answer, p, given=True)
            lines.append(f"  {m.key:<12} {shown:>12} {fmt(m.correct, p):>12}  {m.status}" +
                         (f": {m.note}" if m.note else ""))
    if summary is not None:
        lines += ["", *_summary(summary, len(keys), sort_key)]
    return printable("\n".join(lines), newlines=True) + "\n"


def _summary(summary: dict[str, Any], out_of: int | str, sort_key: Any) -> list[str]:
    lines = [f"class: {summary['students']} students, mean {summary['mean']:.1f} of {out_of}"]
    for k, share in sorted(summary["per_value"].items(), key=lambda kv: sort_key(kv[0])):
        lines.append(f"  {k:<12} {share:>5.0%} earned credit")
    for mistake, students in sorted(summary["mistakes"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {students} student{'s' if students != 1 else ''}: {mistake}")
    return lines


def class_report(marked: Any) -> str:
    """A class marked from a manifest: a line per student (their score, their first wrong value and its
    likely mistake), then the class."""
    from nnworked.quantities import sort_key

    students = marked.students
    variants = {s.variant for s in students}
    lines = [f"{len(students)} students, {len(variants)} variant{'s' if len(variants) != 1 else ''}"]
    for s in students:
        p = s.sheet.trace.precision
        text = f"{s.id}{' (' + s.name + ')' if s.name else ''} · {s.variant}: {s.score} of {len(s.marks)}"
        if s.carried:
            text += f" ({s.carried} carried forward)"
        first = s.first_wrong
        if s.answers is None:
            text += " · no answers handed in"
        elif first is not None:
            text += (f" · first wrong: {first.key} = {fmt(first.answer, p, given=True)}, expected "
                     f"{fmt(first.correct, p)}" + (f" — likely {first.note}" if first.note else ""))
        lines.append(text)
    sizes = {len(s.marks) for s in students}
    lines += ["", *_summary(marked.summary, sizes.pop() if len(sizes) == 1 else f"{min(sizes)}–{max(sizes)}", sort_key)]
    return printable("\n".join(lines), newlines=True) + "\n"
