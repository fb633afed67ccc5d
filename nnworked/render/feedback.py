"""One student's feedback, as a document they can take away: their marks, their first wrong value with
its likely mistake, and the key's working of that value. Built as neutral blocks and printed by the
Markdown and HTML printers, which escape what is special to them; names and titles come from files a
teacher or student wrote, so they are shown printable first."""

from __future__ import annotations

from typing import Any

from nnworked.render.blocks import Block, Heading, Math, Para, Table
from nnworked.render.numbers import fmt
from nnworked.text import printable

_SAID = {"correct": "right", "carried": "carried: right for your own earlier value", "wrong": "wrong",
         "missing": "not answered"}


def blocks(student: Any) -> list[Block]:
    from nnworked.render.lines import line

    sheet = student.sheet
    trace = sheet.trace
    p = trace.precision
    who = f"{student.name} ({student.id})" if student.name else student.id
    marks = student.marks
    score = f"**{student.score} of {len(marks)}**"
    if student.carried:
        score += f" ({student.carried} carried forward: right for your own earlier value)"
    out: list[Block] = [Heading(1, printable(f"Feedback for {who}")),
                        Para(printable(f"{trace.scenario.title} · variant {student.variant}") + f" · {score}")]
    if student.answers is None:
        out.append(Para("No answers were received from you: every value is marked as not answered."))
    if student.ignored:
        out.append(Para(printable("Not asked on your sheet, so not marked: " + ", ".join(student.ignored))))
    rows = []
    for m in marks:
        said = _SAID[m.status] + (f": likely {m.note}" if m.status == "wrong" and m.note else "")
        rows.append([m.key, "—" if m.answer is None else fmt(m.answer, p, given=True), fmt(m.correct, p), said])
    out.append(Table(["Value", "Your answer", "Key", "Mark"], rows, ("left", "right", "right", "left")))
    first = student.first_wrong
    if first is not None:
        out += [Heading(2, f"Your first wrong value: {first.key}"),
                Para(f"You wrote {fmt(first.answer, p, given=True)}; the key has {fmt(first.correct, p)}."
                     + (f" The likely mistake: {first.note}." if first.note else "")),
                Para("How the key works it:"),
                Math(line(first.key, sheet.table.expression(first.key), p, 100))]
    elif marks and all(m.credit for m in marks):
        out.append(Para("Every value is right."))
    return out


def document(student: Any, format: str) -> str:  # noqa: A002
    """The feedback as a Markdown or an HTML document."""
    parts = blocks(student)
    if format == "html":
        from nnworked.render.html import body, document as page

        return page(printable(f"Feedback: {student.id}"), [body(parts)])
    if format == "markdown":
        from nnworked.render.markdown import blocks_to_markdown

        return blocks_to_markdown(parts)
    raise ValueError(f"feedback is written as markdown or html, not {format}")
