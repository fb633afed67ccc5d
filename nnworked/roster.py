"""A course's roster: each student a variant of a template, a personal sheet, and the manifest `grade` reads.

A roster is a CSV with a header and a row per student: `student_id` (or `id`, `student`) and, optionally,
`name`. Which variant a student gets depends only on the template, the options, the seed and the student's
own id, never on the roster's order or on who else is on it:

- by default each student has a variant of their own, drawn with a seed made from the seed and their id;
- with `count`, the class shares a pool of that many variants (drawn as `generate` draws them), and each
  student's id and the seed choose one of the pool.

This is a thin layer over `nnworked.variants` (drawing, and each variant's scenario and key) and
`nnworked.manifest` (the manifest's format).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, NamedTuple

from nnworked.errors import NnworkedError
from nnworked.manifest import _ID_SPELLINGS, csv_rows, write as manifest_text
from nnworked.text import printable

MANIFEST = "manifest.csv"


class Student(NamedTuple):
    id: str
    name: str
    row: int


class RosterError(NnworkedError):
    """Every problem found in a roster, reported together (exit 1)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = len(problems)
        super().__init__("\n".join([f"{count} problem{'s' if count != 1 else ''} in the roster:",
                                    *(printable(p, newlines=True) for p in problems)]))


def read(path: str) -> list[Student]:
    """The students of a roster, in its order; raise RosterError listing every problem by row and column."""
    try:
        rows = csv_rows(path)
    except ValueError as error:
        raise RosterError([str(error)]) from None
    if not rows:
        raise RosterError([f"{path}: empty: expected a header (student_id,name) and a row per student"])
    header = [cell.strip().lower() for cell in rows[0][1]]
    column = next((c for c in _ID_SPELLINGS if c in header), None)
    if column is None:
        raise RosterError([f"{path}, row {rows[0][0]}: no student_id column (the header is "
                           f"{','.join(header) or 'empty'}; expected student_id,name)"])
    problems: list[str] = []
    students: list[Student] = []
    seen: dict[str, int] = {}
    for number, row in rows[1:]:
        place = f"{path}, row {number}"
        if len(row) > len(header):
            problems.append(f"{place}: {len(row)} cells under a header of {len(header)} (a comma in a name? "
                            "quote the name)")
            continue
        cells = dict(zip(header, (cell.strip() for cell in row)))
        student = cells.get(column, "")
        if not student:
            problems.append(f"{place}, column {column}: the student's id is empty")
            continue
        if student in seen:
            problems.append(f"{place}, column {column}: the student '{student}' appears twice (also row "
                            f"{seen[student]}); keep one")
            continue
        seen[student] = number
        students.append(Student(student, cells.get("name", ""), number))
    if problems:
        raise RosterError(problems)
    if not students:
        raise RosterError([f"{path}: no students: add a row per student under the header"])
    return students


def student_seed(seed: int, student: str) -> int:
    """The seed of a student's own draw: the same for the same seed and id, whoever else is on the roster."""
    return int(hashlib.sha256(f"{seed}\x00{student}".encode()).hexdigest()[:12], 16)


def assign(template: Any, students: list[Student], seed: int, count: int | None, style: str, constraints: Any,
           attempts: int, show_progress: bool = False, **numbers: Any) -> dict[str, Any]:
    """Student id → their variant (a `variants.Variant`): their own draw, or one of a pool of `count`."""
    from nnworked import progress, variants

    if count is not None:
        found = variants.generate(template, count, seed, style, constraints, attempts, show_progress=show_progress,
                                  **numbers)
        if len(found.variants) < count:
            raise NnworkedError(variants.shortfall(found, count))
        return {s.id: found.variants[student_seed(seed, s.id) % count] for s in students}
    out: dict[str, Any] = {}
    with progress.shown(show_progress), progress.bar(len(students), "Drawing each student's variant") as advance:
        for done, s in enumerate(students):
            advance(done)
            found = variants.generate(template, 1, student_seed(seed, s.id), style, constraints, attempts, **numbers)
            if not found.variants:
                raise NnworkedError(printable(f"student {s.id} (row {s.row}): " + variants.shortfall(found, 1)))
            out[s.id] = found.variants[0]
    return out


def files(students: list[Student], assigned: dict[str, Any], blanks: str, seed: int, fmt: str = "markdown",
          reveal: str = "guided", exam: bool = False, points: int = 1) -> dict[str, str]:
    """File name → text: each variant's scenario and key (once, however many students share it), each
    student's sheet headed with their name and id, and the manifest. Nothing is written here. `exam`:
    printable exam sheets (reveal none, `points` per blank), as `generate --exam` writes them."""
    from nnworked import sheets as exercises
    from nnworked.render import FORMATS
    from nnworked.render.blocks import Para
    from nnworked.render.numbers import Blanks
    from nnworked.render.settings import Settings
    from nnworked.variants import variant_files

    record = FORMATS[fmt] if fmt in FORMATS else None
    if record is None or record.exercises != "documents":
        writable = [f.name for f in FORMATS.values() if f.exercises == "documents"]
        from nnworked.errors import OptionError

        raise OptionError("--format", f"a roster's personal sheets are documents: choose from {', '.join(writable)}")
    printer = record.printer()
    unique = list({v.id: v for v in assigned.values()}.values())
    reveal = "none" if exam else reveal
    shared = variant_files(unique, False, blanks, seed, fmt, reveal, exam, points)
    out = {name: text for name, text in shared.items() if not name.endswith(f"-sheet.{record.extension}")}
    rows, taken = [], set(out) | {MANIFEST}
    for s in students:
        v = assigned[s.id]
        chosen = exercises.choose(v.trace, blanks, seed)
        sheet = getattr(printer, record.part)(v.trace, Settings(blanks=Blanks(chosen, False, v.id, reveal=reveal,
                                                                                points=points, exam=exam)))
        who = f"**Name:** {s.name} · **ID:** {s.id}" if s.name else f"**ID:** {s.id}"
        head = printer.body([Para(printable(f"{who} · variant {v.id}"))])
        name = _file_name(s.id, f"-sheet.{record.extension}", taken)
        out[name] = record.join(v.scenario.title, [head + "\n" + sheet])  # type: ignore[misc]
        rows.append({"student_id": s.id, "name": s.name, "variant": v.id, "scenario": f"{v.id}.yaml",
                     "sheet": name, "key": f"{v.id}-key.{record.extension}"})
    out[MANIFEST] = manifest_text(rows)
    return out


def _file_name(student: str, suffix: str, taken: set[str]) -> str:
    """A file name from a student's id: safe on any file system, and unique among `taken`."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", student).strip("_") or "student"
    name, n = base + suffix, 2
    while name.lower() in {t.lower() for t in taken}:
        name, n = f"{base}-{n}{suffix}", n + 1
    taken.add(name)
    return name


class Roster:
    """Each student of a roster with their variant: `students`, `assigned` (id → variant), `files(...)`
    (what --output writes) and `listing()`."""

    def __init__(self, students: list[Student], assigned: dict[str, Any], seed: int):
        self.students, self.assigned, self.seed = students, assigned, seed

    def files(self, blanks: str = "one-per-layer", format: str = "markdown", combined: bool = False,  # noqa: A002
              reveal: str = "guided", exam: bool = False, points: int = 1, vary_blanks: bool = False,
              show_progress: bool = False) -> dict[str, str]:
        """What `generate --roster --output DIR` writes, with the options `Generated.files` takes."""
        from nnworked import progress

        if combined:
            raise NnworkedError("a roster gives each student their own sheet: it cannot combine them")
        if vary_blanks:
            raise NnworkedError("a roster's students each have a variant of their own: --vary-blanks is for a pool "
                                "of variants shared in one room")
        with progress.shown(show_progress):
            return files(self.students, self.assigned, blanks, self.seed, format, reveal, exam, points)

    def note(self) -> str:
        variants, students = len({v.id for v in self.assigned.values()}), len(self.students)
        return (f" (a sheet for each of {students} student{'s' if students != 1 else ''}, {variants} "
                f"variant{'s' if variants != 1 else ''}, {MANIFEST})")

    def listing(self) -> str:
        return "".join(printable(f"{s.id}  {s.name}  {self.assigned[s.id].id}") + "\n" for s in self.students)


def make(template: str, roster: str, seed: int, count: int | None, style: str, constraints: Any, attempts: int,
         show_progress: bool = False, **numbers: Any) -> Roster:
    """`numbers`: the precision and rounding that replace the template's, as `generate` takes them."""
    from nnworked import bundled
    from nnworked.yamlsource import load_file

    students = read(roster)
    doc = load_file(bundled.resolve(str(template)))
    return Roster(students, assign(doc, students, seed, count, style, constraints, attempts, show_progress, **numbers),
                  seed)

