"""Where each stage of the picture (nnworked/render/stages.py) goes, and what joins them: the stages side by
side, each centred on one line, its name and what it does under it; dense layers joined by their weighted
edges as the dense picture joins them, other layers unit to unit or by an arrow; a convolution's and a
pooling's first window dashed on the map it reads, max pooling's winners outlined, each skip connection an
arrow in its own lane above the stages into the ⊕ of its residual layer."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.layer_records import Convolve, Normalise, Pool, Residual
from nnworked.render.network import COLUMN, EDGE_LABEL_AT, MAX_LABELLED_EDGES, RADIUS, ROW
from nnworked.render.notation import Notation
from nnworked.render.numbers import fmt
from nnworked.render.shapes import CAPTION_LINE, Box, Circle, Drawing, Label, Path, Shape, caption_lines
from nnworked.render import sequence_layout
from nnworked.render.sequence_stages import Steps
from nnworked.render.stages import (CELL_H, CHAR_W, GAP, LABEL_LINE, LANE, MARGIN, PAD, TITLE_H, Column, Grid, GridSpec,
                                    Item, Placed, Stage, TextSpec, slot, stages)
from nnworked.text import printable
from nnworked.trace import Trace

SUM_R = 9  # the ⊕ of a residual layer


class Notes:
    """What the drawing shows, for its caption."""

    def __init__(self) -> None:
        self.elided = self.unlabelled = self.windows = self.winners = self.dropped = False
        self.unrolled = self.shaded = self.masked = False  # a recurrent layer; attention weights; a causal mask
        self.steps_elided = False  # a recurrent layer's time steps


# ---- sizes -------------------------------------------------------------------------------------------------

def _cell_width(spec: GridSpec) -> float:
    return max(26.0, CHAR_W * max(len(text) for text in spec.texts.values()) + 10)


def _item_size(item: Item) -> tuple[float, float]:
    if isinstance(item, TextSpec):
        return CHAR_W * len(item.text) + 4, 16
    width = _cell_width(item) * (len(item.cols) + (1 if item.hidden_cols else 0))
    return max(width, CHAR_W * len(item.title)), TITLE_H + CELL_H * (len(item.rows) + (1 if item.hidden_rows else 0))


def _row_size(row: list[Item]) -> tuple[float, float]:
    sizes = [_item_size(item) for item in row]
    return sum(w for w, _ in sizes) + 10 * (len(sizes) - 1), max(h for _, h in sizes)


def _size(stage: Stage) -> tuple[float, float]:
    labels = max(CHAR_W * len(text) for text in stage.labels) + 8
    if isinstance(stage.body, Steps):
        width, height = sequence_layout.size(stage.body)
        return max(width, labels), height
    if isinstance(stage.body, Column):
        slots = len(stage.body.units) + (1 if stage.body.hidden else 0)
        return max(2 * RADIUS, labels), (slots - 1) * ROW + 2 * RADIUS + 2 * PAD
    rows = [_row_size(row) for row in stage.body]
    return max(max(w for w, _ in rows), labels), sum(h for _, h in rows) + 6 * (len(rows) - 1)


# ---- placing -----------------------------------------------------------------------------------------------

def _grid(spec: GridSpec, x: float, y: float, notes: Notes) -> tuple[list[Shape], Grid, float]:
    rows, hidden_rows, cols, hidden_cols = spec.rows, spec.hidden_rows, spec.cols, spec.hidden_cols
    cw = _cell_width(spec)
    width, _ = _item_size(spec)
    left = x + (width - cw * (len(cols) + (1 if hidden_cols else 0))) / 2
    top = y + TITLE_H
    notes.elided |= bool(hidden_rows or hidden_cols)
    out: list[Shape] = [Label(x + width / 2, y + 11, spec.title, spec.title_cls)]
    for r in rows:
        for c in cols:
            cx, cy = left + slot(c, cols, hidden_cols) * cw, top + slot(r, rows, hidden_rows) * CELL_H
            value = spec.texts[r, c]
            cell_cls, text_cls = spec.shades.get((r, c), (spec.cell_cls, spec.text_cls))
            notes.shaded |= cell_cls.startswith("attention-cell")
            notes.masked |= cell_cls == "masked-cell"
            out.append(Box(cx, cy, cw, CELL_H, cell_cls, f"{spec.title}[{r},{c}] = {value}"))
            out.append(Label(cx + cw / 2, cy + 14, value, text_cls))
            if (r, c) in spec.crossed:
                notes.dropped = True
                out += [Path(((cx + 3, cy + 3), (cx + cw - 3, cy + CELL_H - 3)), "dropped"),
                        Path(((cx + 3, cy + CELL_H - 3), (cx + cw - 3, cy + 3)), "dropped")]
    gap_r = len(rows) - 1 if hidden_rows else None
    gap_c = len(cols) - 1 if hidden_cols else None
    for r in range(len(rows) + (1 if hidden_rows else 0)):
        for c in range(len(cols) + (1 if hidden_cols else 0)):
            if r == gap_r or c == gap_c:
                mark = "⋱" if r == gap_r and c == gap_c else "⋮" if r == gap_r else "⋯"
                out.append(Label(left + c * cw + cw / 2, top + r * CELL_H + 14, mark, "gap"))
    return out, Grid(left, top, cw, rows, hidden_rows, cols, hidden_cols), width


def _place(stage: Stage, x: float, top: float, width: float, height: float, notes: Notes) -> tuple[list[Shape], Placed]:
    out: list[Shape] = []
    if isinstance(stage.body, Steps):
        return sequence_layout.place(stage.body, x, top, width, height, notes)
    if isinstance(stage.body, Column):
        column, cx = stage.body, x + width / 2
        notes.elided |= bool(column.hidden)
        units: dict[int, tuple[float, float]] = {}
        for position, unit in enumerate(column.units):
            position += 1 if column.hidden and position == len(column.units) - 1 else 0
            y = top + PAD + RADIUS + position * ROW
            units[unit.index] = (cx, y)
            out.append(Circle(cx, y, RADIUS, unit.cls, unit.tip))
            if unit.cls == "dropped-neuron":
                notes.dropped = True
                d = RADIUS * 0.7
                out += [Path(((cx - d, y - d), (cx + d, y + d)), "dropped"),
                        Path(((cx - d, y + d), (cx + d, y - d)), "dropped")]
            out.append(Label(cx, y + 4, unit.value, "value"))
            out.append(Label(cx - RADIUS - 4, y - RADIUS + 4, unit.name, "name", "end"))
            for i, (cls, text) in enumerate(unit.above):
                out.append(Label(cx, y - RADIUS - 6 - 12 * (len(unit.above) - 1 - i), text, cls))
            if unit.gradient:
                out.append(Label(cx, y + RADIUS + 14, unit.gradient, "gradient"))
        if column.hidden:
            gap_y = top + PAD + RADIUS + (len(column.units) - 1) * ROW
            out.append(Label(cx, gap_y + 4, f"⋮ {column.hidden:,} more", "gap"))
        return out, Placed(cx - RADIUS, top, cx + RADIUS, top + height, units, {})
    grids: dict[Any, Grid] = {}
    y = top
    for row in stage.body:
        row_width, row_height = _row_size(row)
        rx = x + (width - row_width) / 2
        for item in row:
            w, _ = _item_size(item)
            if isinstance(item, TextSpec):
                out.append(Label(rx + w / 2, y + 12, item.text, item.cls))
            else:
                shapes, grid, _ = _grid(item, rx, y, notes)
                out += shapes
                if item.key is not None:
                    grids[item.key] = grid
            rx += w + 10
        y += row_height + 6
    return out, Placed(x, top, x + width, top + height, {}, grids)


def _join(stage: Stage, before: Placed, after: Placed, middle: float, trace: Trace, n: Notation,
          notes: Notes) -> list[Shape]:
    """What feeds a stage from the one before it: the dense layer's edges (with its weights, as the dense
    picture writes them), unit-to-unit links, an arrow, or the ⋆ of a convolution."""
    if stage.join == "links":
        return [Path(((x0 + RADIUS, y0), (after.units[i][0] - RADIUS, after.units[i][1])), "link")
                for i, (x0, y0) in before.units.items() if i in after.units]
    if stage.join in ("star", "dot"):  # a convolution's ⋆; a dense layer's product at every position
        return [Label((before.right + after.left) / 2, middle + 6, "⋆" if stage.join == "star" else "·", "operator")]
    if stage.join == "flow":
        return [Path(((before.right + 8, middle), (after.left - 8, middle)), "flow", arrow=True)]
    k, p = stage.layer, trace.precision
    weights, grads = stage.record.weights, trace.steps[0].gradients().get(f"W{k}") if trace.steps[0].backward else None
    labelled = len(before.units) * len(after.units) <= MAX_LABELLED_EDGES
    notes.unlabelled |= not labelled
    lines, labels = [], []
    for t, (tx, ty) in after.units.items():
        for s, (sx, sy) in before.units.items():
            weight = fmt(weights[t, s], p)
            tip = f"{n.a(k)}[{t}] ← {n.a(k - 1)}[{s}]: w = {weight}" + \
                (f", ∂L/∂w = {fmt(grads[t, s], p)}" if grads is not None else "")
            lines.append(Path(((sx, sy), (tx, ty)), "edge", tip))
            if labelled:
                along = (sx + EDGE_LABEL_AT * (tx - sx), sy + EDGE_LABEL_AT * (ty - sy) + 4)
                labels.append(Label(*along, weight, "weight"))
    return lines + labels


def _windows(stage: Stage, before: Placed, after: Placed, n: Notation, notes: Notes) -> list[Shape]:
    """The window of the first output dashed on the map it reads and on that output; max pooling's winners."""
    record = stage.record
    if isinstance(record, Convolve):
        rows, cols = record.kernels.shape[2:]
        start = -record.padding
    elif isinstance(record, Pool):
        rows = cols = record.size
        start = 0
    else:
        return []
    source, target = before.grids.get(("value", 0)), after.grids.get(("value", 0))
    out: list[Shape] = []
    span = source.span(start, start + rows - 1, start, start + cols - 1) if source else None
    cell = target.cell(0, 0) if target else None
    if span and cell:
        notes.windows = True
        tip = f"the window that gives {n.a(stage.layer)}[0][0,0]"
        out += [Box(*span, "window", tip), Box(*cell, "window", tip)]
    if isinstance(record, Pool) and record.winners is not None:
        marked: set[tuple[Any, int, int]] = set()
        for key, grid in before.grids.items():
            channel = key[1]
            for (i, j), index in np.ndenumerate(record.winners[0, channel]):
                r, c = i * record.stride + index // record.size, j * record.stride + index % record.size
                box = grid.cell(int(r), int(c))
                if box and (key, r, c) not in marked:
                    marked.add((key, r, c))
                    tip = f"the maximum of a window: {n.a(stage.layer - 1)}[{channel}][{r},{c}]"
                    out.append(Box(*box, "winner", tip))
        notes.winners |= bool(marked)
    return out


def drawing(trace: Trace) -> Drawing:
    """The whole picture as shapes (stages.Undrawable when a layer has no stage)."""
    every = stages(trace)
    n = Notation(len(trace.scenario.layers), trace.scenario.inputs.shape[0])
    skips = [s for s in every if isinstance(s.record, Residual) and s.layer > 0]
    band = MARGIN + (len(skips) * LANE + 4 * SUM_R + 10 if skips else 0)  # the skip lanes and the ⊕ above the stages
    sizes = [_size(stage) for stage in every]
    tallest = max(h for _, h in sizes)
    middle = band + tallest / 2
    notes = Notes()
    back: list[Shape] = []
    front: list[Shape] = []
    placed: dict[int, Placed] = {}
    x, before = MARGIN, None
    for stage, (width, height) in zip(every, sizes):
        if before is not None:
            x += COLUMN - 2 * RADIUS if stage.join == "edges" else GAP
        shapes, here = _place(stage, x, band + (tallest - height) / 2, width, height, notes)
        front += shapes
        for i, text in enumerate(stage.labels):
            front.append(Label((here.left + here.right) / 2, band + tallest + 18 + i * LABEL_LINE, text,
                               "stage" if i == 0 else "stage-note"))
        if before is not None:
            back += _join(stage, before, here, middle, trace, n, notes)
        if stage.layer > 0:
            front += _windows(stage, placed[stage.layer - 1], here, n, notes)
        placed[stage.layer] = here
        x, before = x + width, here
    for lane, stage in enumerate(skips):
        source, target = placed[stage.record.source], placed[stage.layer]
        sx, cx, cy = source.right + 6, (target.left + target.right) / 2, band - SUM_R - 8
        y = MARGIN + lane * LANE
        name = n.a(stage.record.source)
        back += [Path(((sx, source.top), (sx, y), (cx, y), (cx, cy - SUM_R)), "skip", f"{name} skips ahead to ⊕",
                      arrow=True),
                 Path(((cx, cy + SUM_R), (cx, target.top)), "skip", arrow=True)]
        front += [Circle(cx, cy, SUM_R, "sum", f"{n.a(stage.layer)} = {n.a(stage.layer - 1)} + {name}"),
                  Path(((cx - SUM_R, cy), (cx + SUM_R, cy)), "sum-cross"),
                  Path(((cx, cy - SUM_R), (cx, cy + SUM_R)), "sum-cross"),
                  Label(cx - SUM_R - 4, y - 3, f"+ {name}", "skip-label", "end")]
    labels = max(len(stage.labels) for stage in every)
    caption = _caption(trace, every, notes)
    lines = len(caption_lines(caption, x + MARGIN - 20))
    height = band + tallest + 18 + labels * LABEL_LINE + 30 + CAPTION_LINE * (lines - 1)
    return Drawing(back + front, x + MARGIN, height, f"{printable(trace.scenario.title)}: the network", caption)


def _caption(trace: Trace, every: list[Stage], notes: Notes) -> str:
    parts = ["Values after the forward pass"]
    if trace.steps[0].backward:
        parts.append("in red, the gradients after the backward pass (δ = ∂L/∂z; ∂L/∂a where a layer has no z)")
    above = ["bias"] if any(s.join == "edges" and s.record.bias is not None for s in every) else []
    above += ["γ and β"] if any(isinstance(s.record, Normalise) and isinstance(s.body, Column) for s in every) else []
    if above:
        parts.append(f"each {', '.join(above)} above its unit")
    if any(s.join == "edges" for s in every):
        parts.append("each weight on its edge")
    if notes.windows:
        parts.append("dashed, the window that gives the first output")
    if notes.winners:
        parts.append("outlined, the maximum of each pooling window")
    if notes.dropped:
        parts.append("crossed out, what dropout drops")
    if notes.unrolled:
        parts.append("a recurrent layer unrolled over its time steps, each state carried to the next step")
    if notes.shaded:
        parts.append("each attention weight shaded darker for larger")
    if notes.masked:
        parts.append("grey, the weights the causal mask sets to 0")
    text = "; ".join(parts)
    examples = trace.scenario.inputs.shape[0]
    if examples > 1:
        text += f" (example 1 of {examples})"
    if notes.elided:
        text += "; a large layer shows its first and last units, rows, columns and channels"
    if notes.steps_elided:
        text += "; a long sequence shows its first and last time steps"
    if notes.unlabelled:
        text += "; weights are left off where the edges are too many to read"
    return text + "."
