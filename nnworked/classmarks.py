"""Marking a class: every student on their own variant, into a gradebook and one feedback file each.

The manifest (`generate --roster` writes it) says which variant each student worked; the answers come as
a folder of answer files or one CSV of many students, of many variants at once. Each variant is solved
once, whatever the number of its students, and each student is marked against their own variant's sheet.
A student of the manifest who handed nothing in still has a row (every value unanswered); answers from a
student the manifest does not name are an error, listed with every other problem.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

from nnworked import grading
from nnworked.errors import NnworkedError
from nnworked.grading import Mark
from nnworked.quantities import sort_key

GRADEBOOK = "gradebook"


@dataclass
class Student:
    """One student's marking: who, which variant, what they handed in, and their marks."""

    id: str
    name: str
    variant: str
    sheet: grading.Sheet
    answers: dict[str, float] | None  # None: nothing handed in
    marks: list[Mark]

    @property
    def score(self) -> int:
        return sum(m.credit for m in self.marks)

    @property
    def carried(self) -> int:
        return sum(m.status == "carried" for m in self.marks)

    @property
    def first_wrong(self) -> Mark | None:
        return next((m for m in self.marks if m.status == "wrong"), None)

    @property
    def ignored(self) -> list[str]:
        """Values answered that this student's sheet did not ask."""
        given = self.sheet.canonical(self.answers or {})
        return sorted(set(given) - self.sheet.keys)


class ClassMarks:
    """A marked class: `students` (in the manifest's order), `summary`, the gradebook as CSV and JSON,
    each student's feedback as Markdown and HTML, and `files` (what --output writes)."""

    def __init__(self, students: list[Student]):
        self.students = students
        self.summary = grading.summary({s.id: s.marks for s in students})
        self.values = sorted({key for s in students for key in s.sheet.keys}, key=sort_key)

    # ---- the gradebook ---------------------------------------------------------------------------------

    def gradebook_csv(self) -> str:
        """One row per student: id, name, variant, one column per asked value (1 credit, 0 none, empty
        where the student's sheet did not ask it), the total and what it is out of."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["student_id", "name", "variant", *self.values, "total", "out_of"])
        for s in self.students:
            credit = {m.key: "1" if m.credit else "0" for m in s.marks}
            writer.writerow([_cell(s.id), _cell(s.name), s.variant, *(credit.get(v, "") for v in self.values),
                             s.score, len(s.marks)])
        return out.getvalue()

    def gradebook_json(self) -> str:
        def mark(m: Mark) -> dict[str, Any]:
            return {"answer": m.answer, "expected": m.correct, "status": m.status, "note": m.note}

        students = []
        for s in self.students:
            first = s.first_wrong
            students.append({
                "student_id": s.id, "name": s.name, "variant": s.variant, "total": s.score, "out_of": len(s.marks),
                "carried": s.carried, "handed_in": s.answers is not None,
                "first_wrong": None if first is None else {"value": first.key, **mark(first)},
                "marks": {m.key: mark(m) for m in s.marks}, "ignored": s.ignored})
        return json.dumps({"values": self.values, "students": students, "summary": self.summary}, indent=2,
                          ensure_ascii=False) + "\n"

    # ---- feedback --------------------------------------------------------------------------------------

    def feedback(self, student: Student, format: str = "markdown") -> str:  # noqa: A002
        """One student's feedback: their marks, the first wrong value, the likely mistake, and the key's
        working of that value."""
        from nnworked.render import feedback

        return feedback.document(student, format)

    def file_names(self) -> dict[str, str]:
        """Each student's feedback file name (without extension): their id, made safe for a file system,
        and unique."""
        names: dict[str, str] = {}
        taken: set[str] = {GRADEBOOK}
        for s in self.students:
            base = "feedback-" + (re.sub(r"[^A-Za-z0-9_-]+", "_", s.id).strip("_") or "student")
            name, n = base, 2
            while name.lower() in taken:
                name, n = f"{base}-{n}", n + 1
            taken.add(name.lower())
            names[s.id] = name
        return names

    def files(self, output: str | None = None, gradebook: str | None = None,
              feedback: str | None = None) -> dict[str, str]:
        """Path → text: with `output`, the gradebook (CSV and JSON) and every feedback file (Markdown and
        HTML) in that folder; `gradebook` (a .csv or .json file) and `feedback` (a folder) write each alone."""
        import os

        out: dict[str, str] = {}
        if output is not None:
            out[os.path.join(output, f"{GRADEBOOK}.csv")] = self.gradebook_csv()
            out[os.path.join(output, f"{GRADEBOOK}.json")] = self.gradebook_json()
        if gradebook is not None:
            out[gradebook] = self.gradebook_json() if gradebook.lower().endswith(".json") else self.gradebook_csv()
        folder = output if output is not None else feedback
        if folder is not None:
            names = self.file_names()
            for s in self.students:
                name = names[s.id]
                out[os.path.join(folder, f"{name}.md")] = self.feedback(s, "markdown")
                out[os.path.join(folder, f"{name}.html")] = self.feedback(s, "html")
        return out

    def write(self, output: str | None = None, gradebook: str | None = None, feedback: str | None = None,
              inputs: Iterable[str] = ()) -> list[str]:
        """Write `files(...)` all or nothing (the folder made if need be), never over one of `inputs` (the
        manifest and the answers it read); return the paths written."""
        import os

        from nnworked.errors import OptionError
        from nnworked.files import write_all

        files = self.files(output, gradebook, feedback)
        folder = output if output is not None else feedback
        for source in inputs:
            if folder is not None and os.path.isdir(source) and os.path.isdir(folder) and os.path.samefile(folder,
                                                                                                           source):
                raise OptionError("--output" if output else "--feedback", f"{folder} holds the answers it reads: "
                                  "the gradebook would be read as answers next time; give another folder")
        for path in files:
            for source in inputs:
                if os.path.exists(source) and os.path.isfile(source) and os.path.exists(path) and \
                        os.path.samefile(path, source):
                    option = "--gradebook" if path == gradebook else "--output" if output else "--feedback"
                    raise OptionError(option, f"writing {path} would replace {source}, which it reads: give "
                                              "another name")
        write_all(files, folder=folder)
        return list(files)

    def text(self) -> str:
        """The report the command line prints: a line per student, then the class."""
        from nnworked.render.marks import class_report

        return class_report(self)


def _cell(text: str) -> str:
    """A name from a roster, safe in a spreadsheet: a cell that starts with = + − @ would be run as a formula."""
    from nnworked.text import printable

    text = printable(text)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def mark_class(manifest: str, answers: Any, show_progress: bool = False) -> ClassMarks:
    """Every student of `manifest` (a path) marked against their own variant; `answers`: a folder of answer
    files, one CSV of many students, or a dict student → value name → number. Raises NnworkedError (the
    manifest's or the answers' problems, each by row and column) before anything is marked."""
    from nnworked import answers as answer_files
    from nnworked import manifest as manifests
    from nnworked import progress

    entries = manifests.read(manifest)
    given = dict(answers) if isinstance(answers, dict) else answer_files.read(str(answers))
    owner = _match(entries, given, manifest)
    sheets = _sheets(entries)
    students = []
    for entry in progress.track(entries, len(entries), "Marking"):
        sheet, variant = sheets[entry.scenario]
        handed = given.get(owner[entry.student]) if entry.student in owner else None
        marks = sheet.grade(handed or {})
        students.append(Student(entry.student, entry.name, entry.variant or variant, sheet, handed, marks))
    return ClassMarks(students)


def _match(entries: Iterable[Any], given: dict[str, dict[str, float]], manifest: str) -> dict[str, str]:
    """Manifest student id → the name their answers are filed under (their id, or else their name)."""
    entries = list(entries)
    by_id = {e.student: e for e in entries}
    names: dict[str, list[str]] = {}
    for e in entries:
        if e.name:
            names.setdefault(e.name, []).append(e.student)
    owner: dict[str, str] = {}
    problems = []
    for who in given:
        student = who if who in by_id else (names[who][0] if len(names.get(who, [])) == 1 else None)
        if student is None:
            why = "two students of the manifest have that name; file them by id" if who in names else \
                "no student of the manifest has that id or name"
            problems.append(f"answers of '{who}': {why} ({manifest})")
        elif student in owner:
            problems.append(f"answers of '{who}': the student {student} handed in twice (also as '{owner[student]}')")
        else:
            owner[student] = who
    if problems:
        from nnworked.answers import AnswerError

        raise AnswerError(problems)
    return owner


def _sheets(entries: Iterable[Any]) -> dict[str, tuple[grading.Sheet, str]]:
    """Each variant's sheet, solved once however many students work it."""
    from nnworked import markkeys, sheets
    from nnworked.api import solve
    from nnworked.errors import ScenarioError

    out: dict[str, tuple[Any, str]] = {}
    problems = []
    for entry in entries:
        if entry.scenario in out:
            continue
        key = markkeys.read(entry.scenario)
        if key is not None:  # marked from the key; solved only for a student it cannot mark
            out[entry.scenario] = (markkeys.KeyedSheet(key, lambda path=entry.scenario: _solved(path)), key.variant)
            continue
        try:
            trace = solve(entry.scenario, keep=1)
            keys, variant = sheets.for_scenario(trace, None, 1)
        except ScenarioError as error:
            problems.append(f"row {entry.row}, student {entry.student}: {error}")
            continue
        except NnworkedError as error:
            problems.append(f"row {entry.row}, student {entry.student}: {entry.scenario}: {error}")
            continue
        out[entry.scenario] = (grading.Sheet(trace, keys), variant)
    if problems:
        from nnworked.manifest import ManifestError

        raise ManifestError(problems)
    return out


def _solved(scenario: str) -> grading.Sheet:
    """A keyed variant's sheet, solved when a student's answers need it (its fingerprint matched, so it
    solves as it did when the key was made)."""
    from nnworked import sheets
    from nnworked.api import solve

    trace = solve(scenario, keep=1)
    keys, _ = sheets.for_scenario(trace, None, 1)
    return grading.Sheet(trace, keys)


def from_marks(marks: Any) -> ClassMarks:
    """A class marked against one key (`nnworked grade KEY ANSWERS`), as a gradebook: each student is
    named by their answers' file or row."""
    return ClassMarks([Student(name, "", marks.variant, marks.sheet, marks.answers[name], result)
                       for name, result in marks.results.items()])
