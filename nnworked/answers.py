"""Students' answer files, read as a teacher running a hundred of them would want: every problem in every
file listed at once, each with its place (file, row, student and column; or file:line:col in YAML), and
nothing read silently wrong.

Three shapes: a YAML mapping of value name → number (one student, named by the file); a CSV of two
columns, name and value (one student); a CSV whose first column is headed `student`, one row per student.
A folder holds any number of these. An empty cell is a value left unanswered. A decimal comma is read as
a decimal point where that is unambiguous (`0,2689`, in a quoted cell or a file separated by `;`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from typing import Any

from nnworked.errors import NnworkedError
from nnworked.text import printable

Answers = dict[str, dict[str, float]]  # student → value name → number
EXTENSIONS = (".yaml", ".yml", ".csv")
_DECIMAL_COMMA = re.compile(r"^[+\-−]?\d+,\d+$")
_OPEN_NAME, _CLOSE_INDEX = re.compile(r"^\s*[A-Za-z]\w*\[\d+$"), re.compile(r"^\d+\]\s*$")


class AnswerError(NnworkedError):
    """Every problem found in the answer files, reported together (exit 1)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = len(problems)
        super().__init__("\n".join([f"{count} problem{'s' if count != 1 else ''} in the answers:", *problems]))


def read(path: str) -> Answers:
    """Every student's answers in a file or a folder; raise AnswerError listing every problem found."""
    problems: list[str] = []
    students: Answers = {}
    where: dict[str, str] = {}  # student → where their answers came from, to name both places of a repeat
    if os.path.isdir(path):
        files = [os.path.join(path, entry) for entry in sorted(os.listdir(path)) if entry.endswith(EXTENSIONS)]
        if not files:
            raise AnswerError([f"{path}: no answer files in this folder (expected {', '.join(EXTENSIONS)} files)"])
    elif os.path.isfile(path):
        files = [path]
    else:
        raise AnswerError([f"{path}: no such file or folder"])
    for file in files:
        for student, (answers, place) in _read_file(file, problems).items():
            if student in students:
                problems.append(f"{place}: the student '{student}' appears twice (also {where[student]}); keep one")
                continue
            students[student], where[student] = answers, place
    if problems:
        raise AnswerError([printable(p, newlines=True) for p in problems])
    if not students:
        raise AnswerError([f"{path}: no answers found: a CSV needs a row for each student under its header, a "
                           "YAML file a mapping such as z1[0]: 0.21"])
    return students


def _read_file(file: str, problems: list[str]) -> dict[str, tuple[dict[str, float], str]]:
    try:
        with open(file, encoding="utf-8-sig", newline="") as handle:  # a spreadsheet's "CSV UTF-8" has a BOM
            text = handle.read()
    except UnicodeDecodeError:
        problems.append(f"{file}: not UTF-8 text (save it as CSV UTF-8)")
        return {}
    except OSError as error:
        problems.append(f"{file}: cannot read the file: {error.strerror}")
        return {}
    student = os.path.splitext(os.path.basename(file))[0]
    if file.endswith(".csv"):
        return _read_csv(text, file, student, problems)
    return _read_yaml(text, file, student, problems)


def _read_yaml(text: str, file: str, student: str, problems: list[str]) -> dict:
    from nnworked.errors import ScenarioError
    from nnworked.yamlsource import load_text

    try:
        doc = load_text(text, file)
    except ScenarioError as error:
        problems.extend(str(issue) for issue in error.issues)
        return {}
    if not isinstance(doc.data, dict) or not doc.data:
        problems.append(f"{file}: expected a mapping of value names to numbers, such as z1[0]: 0.21")
        return {}
    answers: dict[str, float] = {}
    for key, value in doc.data.items():
        line, column = doc.position((key,))
        number = _number(value, f"{file}:{line}:{column}: {key}", problems)
        if number is not None:
            answers[str(key)] = number
    return {student: (answers, file)}


def _read_csv(text: str, file: str, student: str, problems: list[str]) -> dict:
    delimiter = ";" if _separated_by_semicolons(text) else ","
    rows = [(number, _rejoin(row)) for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter),
                                                                start=1) if any(cell.strip() for cell in row)]
    if not rows:
        return {}
    first = [cell.strip() for cell in rows[0][1]]
    if first and first[0].lower() == "student":
        return _read_class(rows, first, file, problems)
    answers: dict[str, float] = {}
    seen: dict[str, int] = {}
    for number, row in rows:
        if [cell.strip().lower() for cell in row] == ["name", "value"]:
            continue
        place = f"{file}, row {number}"
        if len(row) != 2:
            problems.append(f"{place}: expected two cells, a value's name and its number, given {len(row)}"
                            + (" — a decimal comma? write 0.2689, or quote the number" if len(row) == 3 else ""))
            continue
        name = row[0].strip()
        if name in seen:
            problems.append(f"{place}: '{name}' is answered twice (also row {seen[name]}); keep one")
            continue
        seen[name] = number
        value = _number(row[1], f"{place}, {name}", problems)
        if value is not None:
            answers[name] = value
    return {student: (answers, file)} if seen else {}


def _read_class(rows: list[tuple[int, list[str]]], header: list[str], file: str, problems: list[str]) -> dict:
    names = header[1:]
    repeated = sorted({name for name in names if names.count(name) > 1})
    for name in repeated:
        problems.append(f"{file}, row {rows[0][0]}: the column '{name}' appears twice; keep one")
    if repeated:
        return {}
    out: dict[str, tuple[dict[str, float], str]] = {}
    for number, row in rows[1:]:
        student = row[0].strip()
        place = f"{file}, row {number}"
        if not student:
            problems.append(f"{place}: the student's name is empty")
            continue
        if len(row) > len(header):
            problems.append(f"{place}, {student}: {len(row)} cells under a header of {len(header)}"
                            " — a decimal comma? write 0.2689, or quote the number")
            continue
        if student in out:
            problems.append(f"{place}: the student '{student}' appears twice (also {out[student][1]}); keep one")
            continue
        answers: dict[str, float] = {}
        for name, cell in zip(names, row[1:]):
            if cell.strip():  # an empty cell is a value left unanswered
                value = _number(cell, f"{place}, {student}, column {name}", problems)
                if value is not None:
                    answers[name] = value
        out[student] = (answers, place)
    return out


def _separated_by_semicolons(text: str) -> bool:
    """A spreadsheet set to decimal commas writes `;` between cells."""
    first = text.split("\n", 1)[0]
    return ";" in first and "," not in re.sub(r"\[[^\]]*\]", "", first)


def _rejoin(cells: list[str]) -> list[str]:
    """dW1[0,0] written unquoted in a CSV arrives as "dW1[0" and "0]": put the name back together."""
    out: list[str] = []
    for cell in cells:
        if out and _OPEN_NAME.match(out[-1]) and _CLOSE_INDEX.match(cell):
            out[-1] += "," + cell
        else:
            out.append(cell)
    return out


_WRITTEN = re.compile(r"^[+\-]?\d*\.(\d+)$")


class Written(float):
    """A number as a student wrote it in a cell, keeping how many decimals they wrote (0.2100 has 4; the
    float alone would say 0.21 has 2): grading gives an answer the slack of its own last decimal."""

    decimals: int

    def __new__(cls, value: float, decimals: int) -> "Written":
        number = super().__new__(cls, value)
        number.decimals = decimals
        return number


def _number(value: Any, place: str, problems: list[str]) -> float | None:
    """A finite number, or None with the problem recorded at its place."""
    if isinstance(value, bool) or value is None:
        problems.append(f"{place}: expected a number, given {value!r}")
        return None
    if isinstance(value, (int, float)):
        number = _finite(value)
    else:
        text = str(value).strip().replace("−", "-")
        if _DECIMAL_COMMA.match(text):
            text = text.replace(",", ".")
        try:
            number = _finite(float(text)) if len(text) <= 400 else None
            if number is not None and (written := _WRITTEN.match(text)):
                number = Written(number, len(written.group(1)))
        except ValueError:
            problems.append(f"{place}: '{printable(str(value))}' is not a number"
                            + (" (write a decimal point, or one decimal comma)" if "," in text else ""))
            return None
    if number is None:
        problems.append(f"{place}: '{printable(str(value))[:40]}' is not a finite number (nan, infinity or "
                        "beyond ±1.8e308)")
    return number


def _finite(value: float | int) -> float | None:
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None
