"""Where an unrolled recurrent layer's parts go (nnworked/render/sequence_stages.py's Steps): each time step a
column, its label (t = 0) on top, its cell a box holding the cell's grids, the input x_t below it with an
arrow up into the cell labelled with the input weights; the initial states left of the first step; each
carried state an arrow from one step's grid to the next step's, labelled with what it goes through; a
"⋯ N more steps" between the last two shown steps of a long sequence."""

from __future__ import annotations

from typing import Any

from nnworked.render.sequence_stages import Steps
from nnworked.render.shapes import Box, Label, Path, Shape
from nnworked.render.stages import CELL_H, CHAR_W, TITLE_H, Grid, Placed, slot

STEP_LABEL, BOX_PAD, CELL_LABEL, UP = 18, 8, 14, 40  # pixels: a step's label line, inside its box, the box's
# label, the arrow from x_t up into the box


def _notes():  # noqa: ANN202 (stage_layout's Notes; imported late: stage_layout imports this module)
    from nnworked.render import stage_layout

    return stage_layout


def _rows_size(rows: list) -> tuple[float, float]:
    layout = _notes()
    sizes = [layout._row_size(row) for row in rows]
    return max(w for w, _ in sizes), sum(h for _, h in sizes) + 6 * (len(sizes) - 1)


def _gaps(body: Steps) -> tuple[float, float]:
    """The room between two steps (an arrow and its label), and between the last two when steps are hidden."""
    carry = max(CHAR_W * len(label) for _, label in body.carries) + 30
    gap = max(carry, CHAR_W * len(_gap_text(body)) + 16) if body.hidden else carry
    return carry, gap


def _gap_text(body: Steps) -> str:
    return f"⋯ {body.hidden:,} more step{'s' if body.hidden > 1 else ''}"


def _columns(body: Steps) -> tuple[list[float], float, float, float]:
    """Each column's width (the initial states first), the boxes' height, the inputs' height, the initial's width."""
    layout = _notes()
    initial = max(layout._item_size(spec)[0] for spec in body.initial)
    boxes = [_rows_size(step.rows) for step in body.steps]
    inputs = [layout._item_size(step.inputs) for step in body.steps]
    widths = [max(w + 2 * BOX_PAD, iw, CHAR_W * len(body.cell) + 2 * BOX_PAD) for (w, _), (iw, _) in zip(boxes, inputs)]
    box_h = max(h for _, h in boxes) + 2 * BOX_PAD + CELL_LABEL
    return widths, box_h, max(h for _, h in inputs), initial


def size(body: Steps) -> tuple[float, float]:
    widths, box_h, inputs_h, initial = _columns(body)
    carry, gap = _gaps(body)
    between = carry * len(widths) + (gap - carry if body.hidden else 0)  # the initial states' arrow too
    return initial + sum(widths) + between, STEP_LABEL + box_h + UP + inputs_h


def _extent(grid: Grid) -> tuple[float, float, float, float]:
    width = grid.cw * (len(grid.cols) + (1 if grid.hidden_cols else 0))
    height = CELL_H * (len(grid.rows) + (1 if grid.hidden_rows else 0))
    return grid.x, grid.y, width, height


def place(body: Steps, x: float, top: float, width: float, height: float, notes: Any) -> tuple[list[Shape], Placed]:
    layout = _notes()
    widths, box_h, _, initial = _columns(body)
    carry, gap = _gaps(body)
    width_used, _ = size(body)
    out: list[Shape] = []
    grids: dict[Any, Grid] = {}
    left = x + (width - width_used) / 2
    cx = left + initial + carry
    box_top = top + STEP_LABEL
    notes.unrolled = True
    notes.steps_elided |= bool(body.hidden)
    for n, (step, w) in enumerate(zip(body.steps, widths)):
        if body.hidden and n == len(body.steps) - 1:
            cx += gap - carry
            out.append(Label(cx - gap / 2, box_top + box_h + UP / 2 + 4, _gap_text(body), "gap"))
        out.append(Label(cx + w / 2, top + 12, f"t = {step.t}", "step"))
        out.append(Box(cx, box_top, w, box_h, "recurrent-cell", f"the cell at t = {step.t}"))
        out.append(Label(cx + 5, box_top + 12, body.cell, "cell-label", "start"))
        inner_w, inner_h = _rows_size(step.rows)
        y = box_top + CELL_LABEL + BOX_PAD + (box_h - CELL_LABEL - 2 * BOX_PAD - inner_h) / 2
        for row in step.rows:
            row_w, row_h = layout._row_size(row)
            rx = cx + (w - row_w) / 2
            for item in row:
                shapes, grid, item_w = layout._grid(item, rx, y, notes)
                out += shapes
                if item.key is not None:
                    grids[item.key] = grid
                rx += item_w + 10
            y += row_h + 6
        inputs_w, _ = layout._item_size(step.inputs)
        shapes, grid, _ = layout._grid(step.inputs, cx + (w - inputs_w) / 2, box_top + box_h + UP, notes)
        out += shapes
        arrow_x = cx + w / 2
        out.append(Path(((arrow_x, box_top + box_h + UP - 2), (arrow_x, box_top + box_h + 2)), "flow",
                        f"x[{step.t}] into the cell through {body.reads}", arrow=True))
        out.append(Label(arrow_x + 6, box_top + box_h + UP / 2 + 4, body.reads, "carry-label", "start"))
        cx += w + carry
    for spec in body.initial:  # beside the first step's state of the same name
        target = grids[(spec.key[0], body.steps[0].t)]
        shapes, grid, _ = layout._grid(spec, left, target.y - TITLE_H, notes)
        out += shapes
        grids[spec.key] = grid
    out += _carries(body, grids)
    last = grids.get((body.output, body.steps[-1].t))
    units = {}
    if last is not None and len(last.cols) == 1:  # the state the layers after it read, a unit per row
        units = {r: (last.x + last.cw / 2, last.y + slot(r, last.rows, last.hidden_rows) * CELL_H + CELL_H / 2)
                 for r in last.rows}
    return out, Placed(x, top, x + width, top + height, units, grids)


def _carries(body: Steps, grids: dict[Any, Grid]) -> list[Shape]:
    """Each carried state's arrow from one step to the next, labelled with what it goes through."""
    out: list[Shape] = []
    times = [-1, *(step.t for step in body.steps)]
    for name, label in body.carries:
        for before, after in zip(times, times[1:]):
            sx, sy, sw, sh = _extent(grids[(name, before)])
            tx, ty, _, th = _extent(grids[(name, after)])
            start, end = (sx + sw + 4, sy + sh / 2), (tx - 4, ty + th / 2)
            middle = start[0] + 8
            points = (start, end) if start[1] == end[1] else (start, (middle, start[1]), (middle, end[1]), end)
            out.append(Path(points, "carry", f"{name}[{before}] carried to t = {after} through {label}", arrow=True))
            out.append(Label((middle + end[0]) / 2 + 4, end[1] - 5, label, "carry-label"))
    return out
