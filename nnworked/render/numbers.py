"""The one place numbers are turned into text.

A number the user wrote is shown as written (0.0000001, never 1e-07). A computed number is shown with
the scenario's decimals (see engine.rounding.Precision): in full when rounding lost nothing (0.21, 9),
with all its decimals when it is a rounded value (0.4790). Five-digit integer parts get thousands
separators, as the seeds write them (2000, 1150, 21,850, 330,625). The minus sign is U+2212.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator, NamedTuple

import numpy as np

from nnworked.engine.rounding import Precision, round_half_away

MINUS = "−"


class Blanks(NamedTuple):
    """The quantities an exercise sheet leaves for the student (keys such as "z1[0]", "dW2[0,1]"). On the
    sheet each prints as ?, wherever it appears; in the answer key it prints, and its own line is marked."""

    keys: frozenset[str]
    answers: bool = False
    variant: str = ""
    glyph: str = "?"  # how a blank prints: ? in the terminal, ____ in Markdown
    field: str = ""  # where the student writes the answer (its own worked line), e.g. a Moodle input: "{key}"
    reveal: str = "guided"  # the sheet's policy: "guided" (later values given) or "none" (an exam)
    hidden: frozenset[str] = frozenset()  # not asked, but hidden on the sheet: they would give a blank away
    points: int = 1  # what each blank is worth (an exam prints it; Moodle and QTI weight their fields by it)
    exam: bool = False  # a printable exam (render/exam.py): answer boxes, name and ID, the variant on every page


_BLANKS: ContextVar[Blanks | None] = ContextVar("blanks", default=None)


@contextmanager
def blanking(blanks: Blanks | None) -> Iterator[None]:
    """Every number printed inside this block consults `blanks` (a rendering pass, not global state)."""
    token = _BLANKS.set(blanks)
    try:
        yield
    finally:
        _BLANKS.reset(token)


def blank(asked: str = "") -> str:
    """How a blank prints; `asked` names the blank whose own line this is, where the answer is written."""
    blanks = _BLANKS.get()
    if blanks is None:
        return "?"
    return blanks.field.replace("{key}", asked) if asked in blanks.keys and blanks.field else blanks.glyph


def blank_state(label: str) -> str:
    """"hidden" on a sheet, "answer" in a key, "" when `label` is not a blank."""
    blanks = _BLANKS.get()
    if not label or blanks is None:
        return ""
    if "|" in label:  # computed from several values: hidden on a sheet if any of them is
        return "hidden" if not blanks.answers and any(_hides(blanks, part) for part in label.split("|") if part) \
            else ""
    if label in blanks.keys:
        return "answer" if blanks.answers else "hidden"
    return "hidden" if not blanks.answers and _hides(blanks, label) else ""


def on_sheet() -> bool:
    """An exercise sheet, not its key: observations, which comment on the answers in words, are left out."""
    blanks = _BLANKS.get()
    return blanks is not None and not blanks.answers


def exam_sheet() -> bool:
    """An exam sheet (`--reveal none`): every value computed from a blank is hidden, so are observations
    and charts, which comment on such values."""
    blanks = _BLANKS.get()
    return blanks is not None and not blanks.answers and blanks.reveal == "none"


def hides_working(label: str) -> bool:
    """On an exam, a later pass's line is `lhs = ?` alone: its operands (the updated weights, the state of
    the optimizer) are computed from the blanks too."""
    return exam_sheet() and "@" in label


def is_asked(label: str) -> bool:
    """Whether `label` is one of the sheet's blanks (a value the student writes down)."""
    blanks = _BLANKS.get()
    return blanks is not None and label in blanks.keys


def _hides(blanks: Blanks, label: str) -> bool:
    """Whether a sheet hides the value `label` names: a blank, a value the policy hides with it, or (on an
    exam) any value of a later pass, which is computed from the first step's updates."""
    return label in blanks.keys or label in blanks.hidden or (blanks.reveal == "none" and "@" in label)

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def subscript(text: object) -> str:
    return str(text).translate(_SUBSCRIPT)


def superscript(text: object) -> str:
    return str(text).translate(_SUPERSCRIPT)


def _group(digits: str) -> str:
    whole, _, frac = digits.partition(".")
    if len(whole) >= 5:
        whole = f"{int(whole):,}"
    return whole + ("." + frac if frac else "")


def _plain(value: float, decimals: int | None, trim: bool) -> str:
    """`value` is already rounded to `decimals` (None: as written, the shortest decimal that reads back)."""
    if decimals is None:
        from decimal import Decimal  # only numbers the user wrote need it

        text = format(Decimal(repr(value)), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{abs(value):.{decimals}f}"
        if trim and "." in text:
            text = text.rstrip("0").rstrip(".")
    text = text.lstrip("-")
    negative = value < 0 and text.strip("0.") != ""
    return (MINUS if negative else "") + _group(text)


def fmt(value: float, precision: Precision, given: bool = False, label: str = "") -> str:
    if blank_state(label) == "hidden":
        return blank()
    value = float(value)
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "∞" if value > 0 else MINUS + "∞"
    if abs(value) >= 1e15:
        exponent = math.floor(math.log10(abs(value)))
        mantissa = _plain(round_half_away(value / 10.0**exponent, precision.places), precision.places, trim=True)
        return f"{mantissa} × 10{superscript(exponent)}"
    if given:
        return _plain(value, None, trim=True)
    decimals, shown, exact = precision.display(value)
    if precision.scientific(value):  # tiny: the decimals it needs, counted from its first digit
        exponent = math.floor(math.log10(abs(shown)))
        places = decimals + exponent
        mantissa = round_half_away(shown / 10.0**exponent if exponent > -300 else shown * 1e300 / 10.0**(exponent + 300),
                                   places)
        return f"{_plain(mantissa, places, trim=exact)} × 10{superscript(exponent)}"
    return _plain(shown, decimals, trim=exact)


def machine(value: float) -> str:
    """A number for a program that reads it back (an answer field of Moodle or Canvas): 12 significant
    digits, so binary noise (0.21000000000000002) is gone, with its exponent whole (1.5e-10, never 1.5e-1)
    and an ASCII minus."""
    return f"{float(value):.12g}"


def spreadsheet_number(value: float) -> str:
    """A number inside a spreadsheet formula: the shortest text that reads back as the same float (0.01,
    1E-08, 3), as Excel and LibreOffice read it."""
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value).upper()


def spreadsheet_format(value: float, precision: Precision, given: bool = False) -> str:
    """The number format of a spreadsheet cell, so that it shows what the walkthrough prints: the decimals
    `fmt` shows (0.21, 0.4790, 0.00799), scientific where `fmt` is, as written for a given number."""
    value = float(value)
    if given or not math.isfinite(value):
        return "General"
    if abs(value) >= 1e15 or precision.scientific(value):
        return "0." + "0" * max(precision.places - 1, 2) + "E+00"
    decimals, shown, exact = precision.display(value)
    if exact:
        text = _plain(shown, decimals, trim=True)
        decimals = len(text.partition(".")[2])
    return "0" if decimals == 0 else "0." + "0" * decimals


def scientific(text: str) -> bool:
    """A number printed as m × 10ⁿ: as an operand of ×, / or a power it needs brackets to read right."""
    return " × 10" in text


Labels = Callable[..., str]


def vector(values: np.ndarray, precision: Precision, given: bool = False, limit: int = 0,
           labels: Labels | None = None) -> str:
    """[0.21, 0.47]; with a limit, the middle of a long vector is elided. labels(i) names element i."""
    index = _elide(list(range(len(values))), limit) if limit else range(len(values))
    items = [fmt(values[i], precision, given, labels(i) if labels else "") for i in index]
    if limit and len(values) > limit:
        head = limit - 1
        items = items[:head] + ["…"] + items[head:]
    return "[" + ", ".join(items) + "]"


def _elide(values: list, limit: int) -> list:
    return values if len(values) <= limit else values[: limit - 1] + values[-1:]


def matrix_lines(values: np.ndarray, precision: Precision, given: bool = False, limit: int = 0,
                 labels: Labels | None = None) -> list[str]:
    """| 0.1   0.2 | rows, columns aligned on the right; large matrices keep corners and elide the rest.
    labels(r, c) names the cell in row r, column c."""
    rows = list(range(values.shape[0]))
    cols = list(range(values.shape[1]))
    if limit and len(rows) > limit:
        rows = rows[: limit - 1] + [-1] + rows[-1:]
    if limit and len(cols) > limit:
        cols = cols[: limit - 1] + [-1] + cols[-1:]
    cells = [["⋮" if r == -1 else ("…" if c == -1 else fmt(values[r, c], precision, given,
                                                          labels(r, c) if labels else "")) for c in cols]
             for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cols))]
    return ["| " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) + " |" for row in cells]


def literal(values: object) -> str:
    """A number, a nested list of numbers or a tuple of them as Python source, exactly: repr round-trips
    every float64, so a script (--format pytorch) rebuilds the very numbers the scenario holds. A whole
    number given as int (an axis, dim=-1) stays one."""
    if isinstance(values, (bool, int)):
        return repr(values)
    if isinstance(values, tuple):
        return "(" + ", ".join(literal(v) for v in values) + ")"
    return repr(np.asarray(values, dtype=float).tolist())
