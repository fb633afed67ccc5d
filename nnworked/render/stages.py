"""The picture of a network with layers beyond dense ones, drawn as a textbook draws a CNN, left to right:
the input image and each feature map as a small grid of its values (one grid per channel, its gradient's
grid below it after the backward pass), each convolution's kernels between its input and its maps, the
window of the first output dashed on the map it reads (max pooling's winners outlined), flatten as a column
of units feeding the dense neurons (drawn as the dense picture draws them), dropout with its dropped units
crossed out, batch and layer norm as a labelled stage with each unit's γ and β, and a residual layer as a
skip arrow from its source into a ⊕. Drawn from the first training step's trace (a batch: its first
example) as shapes (nnworked/render/shapes.py), which become SVG and TikZ alike.

Large layers stay legible, as the dense picture keeps them: a grid shows its first rows and columns and its
last, a layer its first channels and its last, each with how many lie between, so the drawing's size is
bounded per layer whatever the network's. The layers are told apart by the type of their trace records,
as printers dispatch: a record type without a stage here (a layer type added later) means no picture. The
sequence layers' stages (rnn, lstm, self_attention) are nnworked/render/sequence_stages.py's; a sequence of
vectors (the input, or a dense, norm or residual layer over one) is a grid with a row per position.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from nnworked.layer_records import Convolve, Dropout, Flatten, Normalise, Pool, Residual
from nnworked.render.lines import pick
from nnworked.render.network import MAX_UNITS
from nnworked.render.notation import Notation
from nnworked.render.numbers import fmt
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers import LAYERS
from nnworked.text import printable
from nnworked.trace import Linear, Trace

MAX_CELLS = 6  # rows (and columns) of a grid: a larger map shows its first 5, a ⋮ (⋯) row, its last
MAX_MAPS = 3  # channels (and kernels per row) of a layer: its first 2, how many more, its last
CELL_H, TITLE_H, CHAR_W = 20, 16, 6.2  # a grid's row, the line of its name, a character of its numbers (pixels)
GAP, MARGIN, PAD = 60, 40, 32  # between stages, around the drawing, above and below a column of units
LANE, LABEL_LINE = 12, 14  # between the skip arrows' lanes; between the lines under a stage


class Undrawable(Exception):
    """A layer the picture has no stage for: the document goes without a picture."""


class GridSpec(NamedTuple):
    """A grid of numbers to draw: its shown rows and columns (pick's), each shown value as printed."""

    title: str
    title_cls: str  # map-name, kernel-name or gradient-name
    rows: list[int]
    hidden_rows: int
    cols: list[int]
    hidden_cols: int
    texts: dict[tuple[int, int], str]  # (row, col) → the value as printed, for the shown cells
    text_cls: str  # map-value, input-value, kernel-value, map-gradient or kernel-gradient
    cell_cls: str
    key: Any = None  # a name other stages find the placed grid by (the windows drawn on a map)
    crossed: frozenset[tuple[int, int]] = frozenset()  # the shown cells whose value was dropped (dropout)
    shades: dict[tuple[int, int], tuple[str, str]] = {}  # (row, col) → its own cell and text class (attention)


def grid_spec(title: str, title_cls: str, values: np.ndarray, text_cls: str, cell_cls: str, p: Any, key: Any = None,
              dropped: np.ndarray | None = None) -> GridSpec:
    rows, hidden_rows = pick(values.shape[0], MAX_CELLS)
    cols, hidden_cols = pick(values.shape[1], MAX_CELLS)
    texts = {(r, c): fmt(values[r, c], p) for r in rows for c in cols}
    crossed = frozenset(cell for cell in texts if dropped is not None and dropped[cell])
    return GridSpec(title, title_cls, rows, hidden_rows, cols, hidden_cols, texts, text_cls, cell_cls, key, crossed)


class TextSpec(NamedTuple):
    text: str
    cls: str


Item = GridSpec | TextSpec


class Unit(NamedTuple):
    index: int
    name: str
    value: str
    gradient: str  # "δ = …" or "∂L/∂a = …", "" before the backward pass
    above: tuple[tuple[str, str], ...]  # (class, text) lines above the circle: its bias, or its γ and β
    tip: str
    cls: str  # input-neuron, neuron or dropped-neuron


class Column(NamedTuple):
    units: list[Unit]
    hidden: int  # units between the shown ones' last two


class Stage(NamedTuple):
    layer: int  # the layer whose output it shows (0: the input); a convolution's kernels: its layer, negated
    body: Column | list[list[Item]]  # a column of units, or rows of grids and texts
    labels: tuple[str, ...]  # under the stage: which layer, what it does
    join: str  # how the stage before feeds it: edges (dense), links (unit to unit), flow (an arrow), star (⋆)
    record: Any = None  # the layer's first forward record (its windows and skips are drawn from it)


class Grid(NamedTuple):
    """A placed grid: where each shown cell is."""

    x: float
    y: float  # the top of its first row
    cw: float
    rows: list[int]
    hidden_rows: int
    cols: list[int]
    hidden_cols: int

    def span(self, r0: int, r1: int, c0: int, c1: int) -> tuple[float, float, float, float] | None:
        """The box over rows r0…r1 and columns c0…c1 (negative: the zero padding outside the map), or None
        when part of it is elided."""
        if (self.hidden_rows and r1 >= len(self.rows) - 1) or (self.hidden_cols and c1 >= len(self.cols) - 1):
            return None
        return self.x + c0 * self.cw, self.y + r0 * CELL_H, (c1 - c0 + 1) * self.cw, (r1 - r0 + 1) * CELL_H

    def cell(self, r: int, c: int) -> tuple[float, float, float, float] | None:
        if r not in self.rows or c not in self.cols:
            return None
        return self.x + slot(c, self.cols, self.hidden_cols) * self.cw, \
            self.y + slot(r, self.rows, self.hidden_rows) * CELL_H, self.cw, CELL_H


class Placed(NamedTuple):
    left: float
    top: float
    right: float
    bottom: float
    units: dict[int, tuple[float, float]]
    grids: dict[Any, Grid]


def slot(index: int, shown: list[int], hidden: int) -> int:
    position = shown.index(index)
    return position + (1 if hidden and position == len(shown) - 1 else 0)  # the gap sits before the last


# ---- what each layer shows ---------------------------------------------------------------------------------

class Context(NamedTuple):
    n: Notation
    p: Any
    gradients: dict[str, np.ndarray]
    scenario: Any
    backward: tuple = ()  # the first step's backward records (an LSTM's ∂L/∂c_t is in no table)

    def name(self, k: int) -> str:
        return self.n.a(k)


def _grids(ctx: Context, k: int, values: np.ndarray, gradient: np.ndarray | None, gradient_name: str,
           crossed: np.ndarray | None = None) -> list[list[Item]]:
    """One grid per shown channel of an image (channels, rows, cols), its gradient's grid below it."""
    channels, hidden = pick(values.shape[0], MAX_MAPS)
    rows: list[list[Item]] = []
    for c in channels:
        if hidden and c == channels[-1]:
            rows.append([TextSpec(f"⋮ {hidden:,} more channel{'s' if hidden > 1 else ''}", "gap")])
        rows.append([grid_spec(f"{ctx.name(k)}[{c}]", "map-name", values[c], "input-value" if k == 0 else "map-value",
                               "input-cell" if k == 0 else "cell", ctx.p, ("value", c),
                               None if crossed is None else crossed[c])])
        if gradient is not None:
            rows.append([grid_spec(f"{gradient_name}[{c}]", "gradient-name", gradient[c], "map-gradient",
                                   "gradient-cell", ctx.p)])
    return rows


def _column(ctx: Context, k: int, values: np.ndarray, gradient: np.ndarray | None, gradient_name: str,
            above: Callable[[int], tuple[tuple[str, str], ...]] = lambda i: (),
            dropped: np.ndarray | None = None, tips: Callable[[int], str] = lambda i: "") -> Column:
    units, hidden = pick(values.shape[0], MAX_UNITS)
    names = ctx.scenario.input_names if k == 0 else None
    out = []
    for i in units:
        if names and i < len(names):
            name = printable(names[i])
        else:
            name = f"{ctx.name(k)}[{i}]" if values.shape[0] > 1 else ctx.name(k)
        value = fmt(values[i], ctx.p)
        grad = f"{gradient_name} = {fmt(gradient[i], ctx.p)}" if gradient is not None else ""
        cls = "input-neuron" if k == 0 else "dropped-neuron" if dropped is not None and dropped[i] else "neuron"
        out.append(Unit(i, name, value, grad, above(i), f"{name} = {value}" + (f", {grad}" if grad else "") + tips(i),
                        cls))
    return Column(out, hidden)


def _output(ctx: Context, k: int, records: list, delta: bool, **extra: Any) -> list[list[Item]] | Column:
    """Layer k's output for the first example, with ∂L/∂z (δ, `delta`) or ∂L/∂a below it."""
    values = records[-1].output[0]
    grads = ctx.gradients.get(f"z{k}" if delta else f"a{k}")
    gradient = grads[0] if grads is not None else None
    if values.ndim == 3:
        return _grids(ctx, k, values, gradient, ctx.n.delta(k) if delta else f"∂L/∂{ctx.name(k)}",
                      extra.get("crossed"))
    if values.ndim == 2:  # a sequence: a row per position, a column per feature
        name = ctx.n.delta(k) if delta else f"∂L/∂{ctx.name(k)}"
        value = grid_spec(ctx.name(k), "map-name", values, "map-value", "cell", ctx.p, ("value", 0),
                          extra.get("crossed"))
        rows: list[list[Item]] = [[value]]
        if gradient is not None:
            rows.append([grid_spec(name, "gradient-name", gradient, "map-gradient", "gradient-cell", ctx.p)])
        return rows
    if values.ndim == 1:
        return _column(ctx, k, values, gradient, "δ" if delta else "∂L/∂a", **{
            key: value for key, value in extra.items() if key != "crossed"})
    raise Undrawable(f"layer {k} gives {values.ndim}-D values per example")


def _labels(ctx: Context, k: int) -> tuple[str, ...]:
    layer = ctx.scenario.layers[k - 1]
    act = ACTIVATIONS[getattr(layer, "activation", "linear")]
    return ctx.n.layer_name(k), LAYERS[layer.type].summary(layer) + ("" if act.identity else f", {act.label}")


def _join(previous: Any) -> str:
    """Unit to unit from a column, an arrow from grids."""
    return "links" if np.ndim(previous) == 1 else "flow"


def _dense(ctx: Context, k: int, records: list) -> list[Stage]:
    lin: Linear = records[0]
    if lin.inputs.ndim == 3:
        from nnworked.render.sequence_stages import dense_at_every_position

        return dense_at_every_position(ctx, k, records)
    if lin.inputs.ndim != 2:
        raise Undrawable(f"layer {k} is dense over {lin.inputs.ndim - 1}-D values")
    bias = (lambda i: (("bias", f"b = {fmt(lin.bias[i], ctx.p)}"),)) if lin.bias is not None else (lambda i: ())
    return [Stage(k, _output(ctx, k, records, True, above=bias), _labels(ctx, k), "edges", lin)]


def _conv(ctx: Context, k: int, records: list) -> list[Stage]:
    conv: Convolve = records[0]
    symbol = ctx.n.param(f"K{k}")
    grads = ctx.gradients.get(f"K{k}")
    bias_grads = ctx.gradients.get(f"b{k}")
    outs, hidden_out = pick(conv.kernels.shape[0], MAX_MAPS)
    ins, hidden_in = pick(conv.kernels.shape[1], MAX_MAPS)
    rows: list[list[Item]] = []
    for o in outs:
        if hidden_out and o == outs[-1]:
            rows.append([TextSpec(f"⋮ {hidden_out:,} more kernel{'s' if hidden_out > 1 else ''}", "gap")])
        kernels: list[Item] = []
        gradients: list[Item] = []
        for i in ins:
            if hidden_in and i == ins[-1]:
                kernels.append(TextSpec(f"⋯ {hidden_in:,} more", "gap"))
            kernels.append(grid_spec(f"{symbol}[{o},{i}]", "kernel-name", conv.kernels[o, i], "kernel-value",
                                     "kernel-cell", ctx.p))
            if grads is not None:
                gradients.append(grid_spec(f"∂L/∂{symbol}[{o},{i}]", "gradient-name", grads[o, i], "kernel-gradient",
                                           "gradient-cell", ctx.p))
        rows.append(kernels)
        if conv.bias is not None:
            bias = f"{ctx.n.b(k)}[{o}] = {fmt(conv.bias[o], ctx.p)}"
            rows.append([TextSpec(bias + (f", ∂L/∂b = {fmt(bias_grads[o], ctx.p)}" if bias_grads is not None else ""),
                                  "bias")])
        if gradients:
            rows.append(gradients)
    kernel_labels = (f"{symbol}, stride {conv.stride}, padding {conv.padding}",)
    return [Stage(-k, rows, kernel_labels, "star", conv),
            Stage(k, _output(ctx, k, records, True), _labels(ctx, k), "flow", conv)]


def _pool(ctx: Context, k: int, records: list) -> list[Stage]:
    pool: Pool = records[0]
    return [Stage(k, _output(ctx, k, records, False), _labels(ctx, k) + (f"stride {pool.stride}",), "flow", pool)]


def _flatten(ctx: Context, k: int, records: list) -> list[Stage]:
    flat: Flatten = records[0]
    return [Stage(k, _output(ctx, k, records, False), _labels(ctx, k) + ("row by row",), _join(flat.inputs[0]), flat)]


def _dropout(ctx: Context, k: int, records: list) -> list[Stage]:
    drop: Dropout = records[0]
    dropped = drop.mask[0] == 0
    body = _output(ctx, k, records, False, crossed=dropped, dropped=dropped)
    return [Stage(k, body, _labels(ctx, k) + (f"kept × {fmt(drop.scale, ctx.p)}",), _join(drop.inputs[0]), drop)]


def _norm(ctx: Context, k: int, records: list) -> list[Stage]:
    norm: Normalise = records[0]
    g_grad, b_grad = ctx.gradients.get(f"gamma{k}"), ctx.gradients.get(f"beta{k}")

    def above(i: int) -> tuple[tuple[str, str], ...]:
        return ("gamma", f"γ = {fmt(norm.gamma[i], ctx.p)}"), ("beta", f"β = {fmt(norm.beta[i], ctx.p)}")

    def tips(i: int) -> str:
        return "" if g_grad is None else f", ∂L/∂γ = {fmt(g_grad[i], ctx.p)}, ∂L/∂β = {fmt(b_grad[i], ctx.p)}"

    over = "μ, σ over the batch" if norm.over_batch else "μ, σ over the features"
    body = _output(ctx, k, records, False, above=above, tips=tips)
    if not isinstance(body, Column):  # a sequence: γ and β as rows of their own, one value per feature
        params: list[Item] = [grid_spec(name, "kernel-name", values[None, :], "kernel-value", "kernel-cell", ctx.p)
                              for name, values in (("γ", norm.gamma), ("β", norm.beta))]
        grads: list[Item] = [grid_spec(f"∂L/∂{name}", "gradient-name", values[None, :], "kernel-gradient",
                                       "gradient-cell", ctx.p) for name, values in (("γ", g_grad), ("β", b_grad))
                             if values is not None]
        body = [params, *([grads] if grads else []), *body]
    return [Stage(k, body, _labels(ctx, k) + ("a = γ·(x − μ)/σ + β", over), _join(norm.inputs[0]), norm)]


def _residual(ctx: Context, k: int, records: list) -> list[Stage]:
    res: Residual = records[0]
    return [Stage(k, _output(ctx, k, records, False), _labels(ctx, k), _join(res.inputs[0]), res)]


# The stage of each layer, by the type of its first forward record (an Activate follows Linear and Convolve)
_STAGES: dict[type, Callable[[Context, int, list], list[Stage]]] = {
    Linear: _dense, Convolve: _conv, Pool: _pool, Flatten: _flatten, Dropout: _dropout, Normalise: _norm,
    Residual: _residual}


def stages(trace: Trace) -> list[Stage]:
    """Every stage of the picture, the input first; Undrawable when a layer has none."""
    step = trace.steps[0]
    by_layer: dict[int, list] = {}
    for record in step.forward.operations:
        by_layer.setdefault(record.layer, []).append(record)
    layers = len(trace.scenario.layers)
    if sorted(by_layer) != list(range(1, layers + 1)):
        raise Undrawable("a layer without forward records")
    from nnworked.render.sequence_stages import SEQUENCE_STAGES  # (a module that builds on this one's specs)

    builders = [_STAGES.get(type(by_layer[k][0]), SEQUENCE_STAGES.get(type(by_layer[k][0])))
                for k in range(1, layers + 1)]
    if None in builders:  # before any record is read: a layer type added later may hold other fields
        raise Undrawable(f"layer {builders.index(None) + 1} has no stage")
    ctx = Context(Notation(layers, trace.scenario.inputs.shape[0]), trace.precision,
                  step.gradients() if step.backward else {}, trace.scenario, tuple(step.backward or ()))
    inputs = by_layer[1][0].inputs[0]
    first: Column | list[list[Item]]
    if inputs.ndim == 2:  # a sequence
        first = [[grid_spec("x", "map-name", inputs, "input-value", "input-cell", ctx.p, ("value", 0))]]
    elif inputs.ndim == 3:
        first = _grids(ctx, 0, inputs, None, "")
    elif inputs.ndim == 1:
        first = _column(ctx, 0, inputs, None, "")
    else:
        raise Undrawable(f"the input is {inputs.ndim}-D per example")
    out = [Stage(0, first, ("Input",) + (("a row per position",) if inputs.ndim == 2 else ()), "")]
    for k, build in enumerate(builders, start=1):
        out += build(ctx, k, by_layer[k])
    return out
