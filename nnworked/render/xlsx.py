"""`--format xlsx`: the AI by Hand layout as a spreadsheet (the cells are nnworked/render/spreadsheet.py's),
written with XlsxWriter, which stores each formula with its value, so a file opens showing the trace's
numbers and recomputes when an input is edited. A binary format: the command line writes it to --output.

A walkthrough is one sheet per training step shown (step 1, or every step with --all-steps, then the
forward pass after training); an exercise is the first step with its blanks, each with a status cell; a
sheet with its key (--exercise --answers) is two sheets of one workbook.
"""

from __future__ import annotations

import io
from typing import Any

from nnworked.errors import NnworkedError
from nnworked.render.numbers import spreadsheet_format
from nnworked.render.settings import Settings
from nnworked.render.spreadsheet import LAID_OUT, Layout, matmul_grid
from nnworked.render.spreadsheet_cells import CORRECT, INCORRECT, NOT_DONE, Cell, Grid
from nnworked.trace import Trace

STYLES: dict[str, dict[str, Any]] = {
    "title": {"bold": True, "font_size": 14},
    "note": {"italic": True, "font_color": "#555555"},
    "heading": {"bold": True},
    "label": {"italic": True, "font_color": "#555555"},
    "given": {"border": 1, "border_color": "#BBBBBB"},
    "computed": {"border": 1, "border_color": "#BBBBBB", "bg_color": "#EAF2FB"},
    "blank": {"border": 2, "border_color": "#C9A400", "bg_color": "#FFF4C2", "locked": False},
    "answer": {"border": 2, "border_color": "#C9A400", "bg_color": "#FFF4C2", "bold": True},
    "status": {"font_size": 9, "align": "center"},
}
STATUS_COLOURS = {CORRECT: "#C6EFCE", INCORRECT: "#FFC7CE", NOT_DONE: "#EEEEEE"}


def render(trace: Trace, settings: Settings) -> bytes:
    _laid_out(trace)
    return workbook(trace, _grids(trace, settings))


def _laid_out(trace: Trace) -> None:
    """The spreadsheet lays out the layer types it has cells for (LAID_OUT); others are refused, by name."""
    other = sorted({layer.type for layer in trace.scenario.layers if layer.type not in LAID_OUT})
    if other:
        raise NnworkedError(f"--format xlsx lays out {_listed(list(LAID_OUT))} layers; this scenario has "
                            f"{_listed(other)} layers, which the spreadsheet cannot write yet: use another format")


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def render_parts(trace: Trace, parts: list[Settings]) -> bytes:
    """An exercise sheet and its key, as two sheets of one workbook."""
    _laid_out(trace)
    grids: list[Grid] = []
    for part, prefix in zip(parts, ("Exercise", "Answer key")):
        grids += _grids(trace, part, prefix)
    return workbook(trace, grids)


def _grids(trace: Trace, settings: Settings, prefix: str = "") -> list[Grid]:
    if trace.matmul is not None:
        return [matmul_grid(trace, settings, prefix)]
    blanks = settings.blanks
    steps = list(trace.steps)
    if blanks is not None:  # the blanks are the first step's values
        exam = blanks.reveal == "none"
        layout = Layout(trace, blanks.keys, blanks.answers, status=not exam, prefix=prefix + " · " if prefix else "")
        what = "Answer key" if blanks.answers else "Exercise"
        note = (f"{what} · variant {blanks.variant} · fill in each yellow cell ({len(blanks.keys)} values); "
                + ("a cell computed from yours shows once yours are filled, from your own numbers."
                   if exam else "the cell beside it says NOT DONE, CORRECT or INCORRECT; a cell computed from "
                   "yours shows once yours are filled, from your own numbers, so a slip carries forward."))
        if len(steps) > 1:
            note += f" (Step 1 of {len(steps)}.)"
        return layout.build(steps[:1], note)
    shown = steps if settings.all_steps else steps[:1]
    note = "Given numbers are plain cells; every other cell is a formula: edit an input and the sheet recomputes."
    if len(shown) < len(steps):
        note += f" Step 1 of {len(steps)} is worked here; --all-steps gives every step, each on its own sheet."
    return Layout(trace, prefix=prefix + " · " if prefix else "").build(shown, note, final=len(shown) == len(steps))


def workbook(trace: Trace, grids: list[Grid]) -> bytes:
    try:
        import xlsxwriter
    except ImportError:
        raise NnworkedError("--format xlsx needs XlsxWriter: pip install \"nnworked[xlsx]\"") from None
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    book.set_properties({"title": trace.scenario.title, "comments": "Written by nnworked"})
    formats: dict[tuple[str, str], Any] = {}

    def style(name: str, number: str = "General") -> Any:
        if (name, number) not in formats:
            formats[(name, number)] = book.add_format({**STYLES.get(name, {}), "num_format": number})
        return formats[(name, number)]

    for grid in grids:
        sheet = book.add_worksheet(grid.title)
        sheet.set_column(0, 0, 18)
        widest = max((col for _, col in grid.cells), default=0)
        sheet.set_column(1, widest, 10)
        sheet.freeze_panes(3, 1)  # the title, the note and the examples' header stay, and so do the labels
        sheet.set_landscape()
        sheet.fit_to_pages(1, 0)  # printed: as wide as one page, as long as it takes
        for (row, col), cell in sorted(grid.cells.items()):
            _write(sheet, row, col, cell, style, trace)
        statuses = [(row, col) for (row, col), cell in grid.cells.items() if cell.style == "status"]
        if statuses:
            rows = [row for row, _ in statuses]
            cols = [col for _, col in statuses]
            for word, colour in STATUS_COLOURS.items():
                sheet.conditional_format(min(rows), min(cols), max(rows), max(cols), {
                    "type": "cell", "criteria": "==", "value": f'"{word}"',
                    "format": book.add_format({"bg_color": colour})})
    book.close()
    return out.getvalue()


def _write(sheet: Any, row: int, col: int, cell: Cell, style: Any, trace: Trace) -> None:
    if cell.formula:
        number = spreadsheet_format(cell.shown, trace.precision) if cell.shown is not None else "General"
        sheet.write_formula(row, col, "=" + cell.formula, style(cell.style, number),
                            cell.value if cell.value is not None else "")
    elif cell.style in ("given", "answer", "blank"):
        if cell.value is None:
            sheet.write_blank(row, col, None, style(cell.style))
        else:
            given = cell.style == "given"
            shown = cell.value if given or cell.shown is None else cell.shown
            sheet.write_number(row, col, float(cell.value),
                               style(cell.style, spreadsheet_format(float(shown), trace.precision, given)))
    else:
        sheet.write_string(row, col, str(cell.value), style(cell.style))
