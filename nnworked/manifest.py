"""The class manifest: which student works which variant, and where that variant's files are.

`generate --roster` writes it; `grade --manifest` reads it. A CSV with a header, one row per student:

    student_id,name,variant,scenario,sheet,key
    s001,Ana Lima,v-2bac46,v-2bac46.yaml,s001-sheet.md,v-2bac46-key.md

Paths are relative to the manifest's own folder. A teacher's own manifest needs only `student_id` (or
`student`) and `variant` (whose `VARIANT.yaml` lies beside it) or `scenario`. Every problem in the file is
reported at once, by row and column.
"""

from __future__ import annotations

import csv
import io
import os
from typing import NamedTuple

from nnworked.errors import NnworkedError
from nnworked.text import printable

COLUMNS = ("student_id", "name", "variant", "scenario", "sheet", "key")
_ID_SPELLINGS = ("student_id", "student", "id")


class Entry(NamedTuple):
    student: str  # the student's id, as the answers name them
    name: str
    variant: str
    scenario: str  # the variant's scenario file, as a path usable from here
    row: int  # where in the manifest, for messages


class ManifestError(NnworkedError):
    """Every problem found in a manifest, reported together (exit 1)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = len(problems)
        super().__init__("\n".join([f"{count} problem{'s' if count != 1 else ''} in the manifest:",
                                    *(printable(p, newlines=True) for p in problems)]))


def looks_like(path: str) -> bool:
    """Whether `path` is a manifest (a CSV whose header names students and variants), not a scenario."""
    if not path.lower().endswith(".csv"):
        return False
    try:
        with open(path, encoding="utf-8-sig") as handle:
            header = {cell.strip().lower() for cell in handle.readline().replace(";", ",").split(",")}
    except (OSError, UnicodeDecodeError):
        return False
    return bool(header & set(_ID_SPELLINGS)) and bool(header & {"variant", "scenario"})


def csv_rows(path: str) -> list[tuple[int, list[str]]]:
    """(row number, cells) of each non-empty row of a class's CSV (a manifest, a roster), read as a
    spreadsheet writes it: a byte-order mark, `;` between cells when the header has no comma. Raises
    ValueError saying why a file cannot be read."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text (save it as CSV UTF-8)") from None
    except OSError as error:
        raise ValueError(f"{path}: cannot read the file: {error.strerror}") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    return [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1)
            if any(cell.strip() for cell in row)]


def read(path: str) -> list[Entry]:
    """Every student of a manifest; raise ManifestError listing every problem (by row and column)."""
    try:
        rows = csv_rows(path)
    except ValueError as error:
        raise ManifestError([str(error)]) from None
    if not rows:
        raise ManifestError([f"{path}: empty: expected a header such as {','.join(COLUMNS)} and a row per student"])
    header = [cell.strip().lower() for cell in rows[0][1]]
    problems: list[str] = []
    id_column = next((c for c in _ID_SPELLINGS if c in header), None)
    if id_column is None:
        problems.append(f"{path}, row {rows[0][0]}: no student_id column (the header is "
                        f"{','.join(header) or 'empty'}; expected {','.join(COLUMNS)})")
    if "variant" not in header and "scenario" not in header:
        problems.append(f"{path}, row {rows[0][0]}: no variant or scenario column: each student needs the "
                        "variant they worked")
    for column in sorted({c for c in header if header.count(c) > 1 and c}):
        problems.append(f"{path}, row {rows[0][0]}: the column '{column}' appears twice; keep one")
    if problems:
        raise ManifestError(problems)
    folder = os.path.dirname(path)
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for number, row in rows[1:]:
        cells = dict(zip(header, (cell.strip() for cell in row)))
        place = f"{path}, row {number}"
        if len(row) > len(header):
            problems.append(f"{place}: {len(row)} cells under a header of {len(header)}")
            continue
        student = cells.get(id_column or "", "")
        if not student:
            problems.append(f"{place}, column {id_column}: the student's id is empty")
            continue
        if student in seen:
            problems.append(f"{place}, column {id_column}: the student '{student}' appears twice (also row "
                            f"{seen[student]}); keep one")
            continue
        seen[student] = number
        variant, scenario = cells.get("variant", ""), cells.get("scenario", "")
        if not variant and not scenario:
            problems.append(f"{place}, student {student}: no variant given (column variant or scenario)")
            continue
        file = os.path.join(folder, scenario or f"{variant}.yaml")
        if not os.path.isfile(file):
            column = "scenario" if scenario else "variant"
            problems.append(f"{place}, student {student}, column {column}: the variant's scenario {file} does not "
                            "exist (generate --roster writes it beside the manifest)")
            continue
        entries.append(Entry(student, cells.get("name", ""), variant, file, number))
    if problems:
        raise ManifestError(problems)
    if not entries:
        raise ManifestError([f"{path}: no students: add a row per student under the header"])
    return entries


def write(rows: list[dict[str, str]]) -> str:
    """The manifest's text: the header, then a row per student (cells of COLUMNS)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in COLUMNS])
    return out.getvalue()
