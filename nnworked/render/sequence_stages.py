"""The stages of the picture (nnworked/render/stages.py) for sequence layers, drawn as the lecture notes draw
them: a recurrent layer unrolled over its time steps (x_t into each step's cell, the state carried to the
next step by an arrow labelled with the weights it goes through, the values of h_t in the cell; an LSTM's
cell holds its four gates i, f, g, o, with c_t along the top line), self-attention as each head's Q, K and V
and its attention weights as a grid of their values, shaded darker for larger (a causal mask's zeros drawn
as masked), and a sequence of vectors (the input, a dense layer at every position, a residual, a layer
norm) as a grid with one row per position and one column per feature.

Drawn from the first example of the first training step's trace, as the other stages are. A long sequence
shows its first time steps and its last, a head's grids their first rows and columns and their last, and
a layer its first heads and its last, with how many lie between, so the drawing stays bounded.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.attention_records import Attend
from nnworked.lstm_records import GATES, LSTMBackward, LSTMForward
from nnworked.render.lines import pick
from nnworked.render.numbers import fmt, subscript
from nnworked.render.stages import (MAX_MAPS, Context, GridSpec, Item, Stage, TextSpec, _labels, _output,
                                    grid_spec)
from nnworked.rnn_records import Recurrence
from nnworked.trace import Linear

MAX_STEPS = 4  # time steps drawn of a recurrent layer: its first 3, how many more, its last
SHADES = 5  # the attention weights' shades, from light (near 0) to dark (near 1)


class Step(NamedTuple):
    """One time step of an unrolled recurrent layer: its cell (rows of grids, top to bottom, the carried
    states keyed (name, t)) and the input it reads."""

    t: int
    rows: list[list[Item]]
    inputs: GridSpec


class Steps(NamedTuple):
    """A recurrent layer unrolled: the initial states, then each shown step, the gap before the last."""

    initial: list[GridSpec]  # the carried states before the first step, keyed (name, −1), each level with its own
    steps: list[Step]
    hidden: int  # time steps between the shown ones' last two
    cell: str  # what the cell's box is labelled with
    carries: tuple[tuple[str, str], ...]  # (the key name of a carried state, the label of its arrow)
    output: str  # the key name of the state the layers after it read
    reads: str  # the label of the arrow from x_t into its cell: the input weights


def column(title: str, title_cls: str, values: np.ndarray, text_cls: str, cell_cls: str, p: Any,
           key: Any = None) -> GridSpec:
    """A vector as a grid of one column (a unit per row)."""
    return grid_spec(title, title_cls, values[:, None], text_cls, cell_cls, p, key)


def _step_inputs(ctx: Context, k: int, x: np.ndarray, t: int) -> GridSpec:
    first = k == 1
    return column(f"{ctx.name(k - 1)}[{t}]", "map-name", x, "input-value" if first else "map-value",
                  "input-cell" if first else "cell", ctx.p)


def _unrolled(ctx: Context, k: int, length: int, inputs: np.ndarray, initial: list[GridSpec],
              cell_rows: Any, cell: str, carries: tuple[tuple[str, str], ...]) -> Steps:
    shown, hidden = pick(length, MAX_STEPS)
    steps = [Step(t, cell_rows(t), _step_inputs(ctx, k, inputs[t], t)) for t in shown]
    return Steps(initial, steps, hidden, cell, carries, "h", f"Wx{subscript(k)}")


def _rnn(ctx: Context, k: int, records: list) -> list[Stage]:
    rec: Recurrence = records[0]
    h, name = rec.h[0], ctx.name(k)
    delta = ctx.gradients.get(f"z{k}")

    def cell(t: int) -> list[list[Item]]:
        rows: list[list[Item]] = [[column(f"{name}[{t}]", "map-name", h[t], "map-value", "cell", ctx.p, ("h", t))]]
        if delta is not None:
            rows.append([column(f"{ctx.n.delta(k)}[{t}]", "gradient-name", delta[0, t], "map-gradient",
                                "gradient-cell", ctx.p)])
        return rows

    initial = [column(f"{name}[−1]", "map-name", rec.initial, "map-value", "cell", ctx.p, ("h", -1))]
    carry = ctx.n.param(f"Wh{k}")
    body = _unrolled(ctx, k, h.shape[0], rec.inputs[0], initial, cell, rec.activation, (("h", carry),))
    returns = "returns every h_t" if rec.returns == "sequence" else "returns the last h_t"
    labels = _labels(ctx, k) + (f"{ctx.n.param(f'Wx{k}')} from below, {carry} across", returns)
    return [Stage(k, body, labels, "flow", rec)]


def _lstm(ctx: Context, k: int, records: list) -> list[Stage]:
    rec: LSTMForward = records[0]
    back = next((r for r in ctx.backward if isinstance(r, LSTMBackward) and r.layer == k), None)
    h, c, name, sub = rec.h[0], rec.c[0], ctx.name(k), subscript(k)

    def cell(t: int) -> list[list[Item]]:
        gates: list[Item] = [column(gate, "map-name", rec.gates[q, 0, t], "map-value", "cell", ctx.p)
                             for q, gate in enumerate(GATES)]
        rows: list[list[Item]] = [[column(f"c[{t}]", "map-name", c[t], "map-value", "cell", ctx.p, ("c", t))],
                                  gates,
                                  [column(f"{name}[{t}]", "map-name", h[t], "map-value", "cell", ctx.p, ("h", t))]]
        if back is not None:
            rows.append([column(f"∂L/∂c[{t}]", "gradient-name", back.dc[0, t], "map-gradient", "gradient-cell",
                                ctx.p),
                         column(f"∂L/∂h[{t}]", "gradient-name", back.dh[0, t], "map-gradient", "gradient-cell",
                                ctx.p)])
        return rows

    initial = [column("c[−1]", "map-name", rec.c0, "map-value", "cell", ctx.p, ("c", -1)),
               column(f"{name}[−1]", "map-name", rec.h0, "map-value", "cell", ctx.p, ("h", -1))]
    body = _unrolled(ctx, k, h.shape[0], rec.inputs[0], initial, cell, "LSTM", (("c", "⊙ f"), ("h", f"Wh{sub}")))
    returns = "returns every h_t" if rec.returns == "sequence" else "returns the last h_t"
    labels = _labels(ctx, k) + ("c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)", returns)
    return [Stage(k, body, labels, "flow", rec)]


def _shades(weights: np.ndarray, mask: np.ndarray | None) -> dict[tuple[int, int], tuple[str, str]]:
    """Each attention weight's cell and text class: darker for larger, masked where the causal mask hides it."""
    out = {}
    for (r, c), w in np.ndenumerate(weights):
        if mask is not None and not mask[r, c]:
            out[r, c] = ("masked-cell", "masked-value")
        else:
            shade = min(SHADES - 1, int(float(w) * SHADES))
            out[r, c] = (f"attention-cell-{shade}", "attention-value-light" if shade >= 3 else "attention-value")
    return out


def _attention(ctx: Context, k: int, records: list) -> list[Stage]:
    rec: Attend = records[0]
    heads, hidden = pick(rec.heads, MAX_MAPS)
    rows: list[list[Item]] = []
    for head in heads:
        if hidden and head == heads[-1]:
            rows.append([TextSpec(f"⋮ {hidden:,} more head{'s' if hidden > 1 else ''}", "gap")])
        at = f"[{head}]" if rec.heads > 1 else ""
        rows.append([grid_spec(f"{role}{at}", "kernel-name", values[0, head], "kernel-value", "kernel-cell", ctx.p)
                     for role, values in (("Q", rec.q), ("K", rec.k), ("V", rec.v))])
        spec = grid_spec(f"attention{at}", "map-name", rec.weights[0, head], "attention-value", "attention-cell-0",
                         ctx.p, ("weights", head))
        shades = _shades(rec.weights[0, head], rec.mask)
        rows.append([spec._replace(shades={cell: shades[cell] for cell in spec.texts})])
    scale = f"÷ √d_k = {fmt(rec.root, ctx.p)}" if rec.root is not None else "scores not scaled"
    notes = ("one row per query position, one column per key", scale)
    if rec.causal:
        notes += ("causal: a later position is masked (0)",)
    return [Stage(-k, rows, (f"{ctx.n.layer_name(k)}: attention",) + notes, "flow", rec),
            Stage(k, _output(ctx, k, records, False), _labels(ctx, k) + (_heads(rec),), "flow", rec)]


def _heads(rec: Attend) -> str:
    joined = f"{rec.heads} heads side by side" if rec.heads > 1 else "the head's weighted values"
    return joined + (" · W_Oᵀ" if rec.output_weights is not None else "")


def dense_at_every_position(ctx: Context, k: int, records: list) -> list[Stage]:
    """A dense layer over a sequence: its weights, then its output (a row per position)."""
    lin: Linear = records[0]
    symbol = ctx.n.W(k)
    grads = ctx.gradients.get(f"W{k}")
    rows: list[list[Item]] = [[grid_spec(symbol, "kernel-name", lin.weights, "kernel-value", "kernel-cell", ctx.p)]]
    if lin.bias is not None:
        bias_grads = ctx.gradients.get(f"b{k}")
        rows.append([column(ctx.n.b(k), "kernel-name", lin.bias, "kernel-value", "kernel-cell", ctx.p)])
        if bias_grads is not None:
            rows[-1].append(column(f"∂L/∂{ctx.n.b(k)}", "gradient-name", bias_grads, "kernel-gradient",
                                   "gradient-cell", ctx.p))
    if grads is not None:
        rows.append([grid_spec(f"∂L/∂{symbol}", "gradient-name", grads, "kernel-gradient", "gradient-cell", ctx.p)])
    return [Stage(-k, rows, (f"{symbol}, at every position",), "dot", lin),
            Stage(k, _output(ctx, k, records, True), _labels(ctx, k), "flow", lin)]


SEQUENCE_STAGES = {Recurrence: _rnn, LSTMForward: _lstm, Attend: _attention}
