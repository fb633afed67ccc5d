"""A printable exam sheet (`--exam`): a name and student-ID box, the points of each blank and their total,
an answer box where each asked value is worked, and the variant code on every page (with a QR code in
HTML and LaTeX, when segno is installed: `pip install "nnworked[exam]"`).

The walkthrough marks where an answer goes with `\\x02key\\x03` (the sheet's `field`); each printer turns
the mark into its own box with `box`. Every box of a sheet is as wide as the longest answer on it, printed:
a box sized for its own answer would give away how many digits it has.
"""

from __future__ import annotations

import re

from nnworked.render.numbers import Blanks, fmt
from nnworked.trace import Trace

MARK = "\x02{key}\x03"  # the sheet's field: where the student writes the value `key`
_MARKED = re.compile(r"\x02([^\x03]+)\x03")


def is_exam(blanks: Blanks | None) -> bool:
    return blanks is not None and blanks.exam and not blanks.answers


def marked(blanks: Blanks) -> Blanks:
    """The sheet's blanks with each answer's place marked, for a printer to draw its box."""
    return blanks._replace(field=MARK)


def width(trace: Trace, blanks: Blanks) -> int:
    """Characters in the widest answer of the sheet, as printed, and room for a minus sign and a digit more
    than the key shows (a student's own rounding)."""
    from nnworked.quantities import table

    values = table(trace).values
    return max((len(fmt(values[key], trace.precision)) for key in blanks.keys), default=4) + 2


def boxes(text: str, box) -> str:  # noqa: ANN001
    """`text` with every answer mark replaced by `box(key)`."""
    return _MARKED.sub(lambda match: box(match.group(1)), text)


def unmarked(trace: Trace, blanks: Blanks, text: str) -> list[tuple[str, str]]:
    """(line to write on, its mark) for each asked value the sheet shows only inside a matrix (the AI by Hand
    layout), which so has no line of its own: every asked value gets a box. The line names the value as
    the sheet prints it and as grade reads it: "z₂[1,1] (z2[1,1]) = "."""
    from nnworked.quantities import sort_key
    from nnworked.render.fields import spellings

    shown = set(_MARKED.findall(text))
    names = spellings(trace)
    out = []
    for key in sorted(blanks.keys - shown, key=sort_key):
        label = names.get(key, key)
        out.append((f"{label} ({key}) = " if label != key else f"{key} = ", MARK.replace("{key}", key)))
    return out


def points(blanks: Blanks) -> str:
    return f"{blanks.points:g} pt" if blanks.points == 1 else f"{blanks.points:g} pts"


def total(blanks: Blanks) -> int:
    return blanks.points * len(blanks.keys)


def code(blanks: Blanks) -> str:
    """What the QR code holds and every page shows: the variant, which `grade` needs to mark the sheet."""
    return blanks.variant


def qr_matrix(text: str) -> list[list[bool]] | None:
    """The QR code of `text`, dark modules True, without its quiet zone; None when segno is not installed."""
    try:
        import segno
    except ImportError:
        return None
    return [[bool(cell) for cell in row] for row in segno.make(text, error="m", micro=False).matrix]


def qr_svg(text: str, scale: int = 2) -> str:
    """An inline SVG of the QR code of `text` (dark rows drawn as runs), or "" without segno."""
    matrix = qr_matrix(text)
    if matrix is None:
        return ""
    size = len(matrix) + 8  # a quiet zone of four modules each side, as the standard asks
    runs = []
    for y, row in enumerate(matrix):
        for x, length in _runs(row):
            runs.append(f"M{x + 4} {y + 4}h{length}v1h-{length}z")
    return (f'<svg class="qr" xmlns="http://www.w3.org/2000/svg" width="{size * scale}" height="{size * scale}" '
            f'viewBox="0 0 {size} {size}" role="img" aria-label="QR code: {text}"><rect width="{size}" '
            f'height="{size}" fill="#fff"/><path fill="#000" d="{"".join(runs)}"/></svg>')


def qr_latex(text: str, module_mm: float = 0.6) -> str:
    """The QR code of `text` as a LaTeX picture of rules (no package, no image file), or "" without segno."""
    matrix = qr_matrix(text)
    if matrix is None:
        return ""
    n = len(matrix)
    rules = "".join(f"\\put({x},{n - 1 - y}){{\\rule{{{length}\\unitlength}}{{\\unitlength}}}}"
                    for y, row in enumerate(matrix) for x, length in _runs(row))
    return f"{{\\setlength{{\\unitlength}}{{{module_mm:g}mm}}\\begin{{picture}}({n},{n}){rules}\\end{{picture}}}}"


def _runs(row: list[bool]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules in a row."""
    out, start = [], None
    for x, dark in enumerate([*row, False]):
        if dark and start is None:
            start = x
        elif not dark and start is not None:
            out.append((start, x - start))
            start = None
    return out
