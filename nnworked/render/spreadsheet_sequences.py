"""Sequences in a spreadsheet (`--format xlsx`): each token (an example's position) a column, its features
down, as AI by Hand draws them; and the rnn layer over those columns, forward and back through time.

A dense, softmax, layer norm, residual or dropout layer applied at every position is the dense layout with
the positions as its columns (`flat_step` reshapes their records so), as the engine takes a sequence's
loss and dense layers with a sequence's positions as rows; a sequence layer writes its own records over
the tokens (nnworked/render/spreadsheet_attention.py for attention). An rnn: [W_x | W_h | b] left of z,
each z_t = W_x·x_t + W_h·h_(t−1) + b a cell per unit and step reading h_(t−1) one column to its left (h₀ at
the first step), h_t = f(z_t) by the activation rule's formula; back through time: W_hᵀ·δ_(t+1), ∂L/∂h_t
(both paths), δ_t = ∂L/∂h_t ⊙ f′(z_t), each step's share of ∂L/∂[W_x | W_h | b] and their sum.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.attention_records import Attend, AttentionBack, AttentionGradient
from nnworked.lstm_records import LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.quantities import cell as quantity_cell, name as quantity_name
from nnworked.render.spreadsheet_cells import Grid, Matrix, Place
from nnworked.rnn_records import Recurrence, RnnBackToInput, ThroughTime
from nnworked.rules.activations import ACTIVATIONS

Read = Callable[[Place], str]
OWN = (Attend, AttentionGradient, AttentionBack, Recurrence, ThroughTime, RnnBackToInput, LSTMForward, LSTMBackward,
       LSTMBackToInput)  # laid out over the tokens by their own cells
PER_ROW = ("mean", "variance", "std", "s1", "s2", "per_example")  # one value per token: (examples, positions)


def _rows(record: Any) -> Any:
    """A record of a layer applied at every position, with (examples, positions, …) arrays as rows."""
    if record is None or isinstance(record, OWN):
        return record
    fields = record._asdict()
    if not any(isinstance(v, np.ndarray) and v.ndim == 3 for v in fields.values()):
        return record
    return record._replace(**{name: v.reshape(-1, v.shape[-1]) if v.ndim == 3 else v.reshape(-1)
                              for name, v in fields.items() if isinstance(v, np.ndarray)
                              and (v.ndim == 3 or (v.ndim == 2 and name in PER_ROW))})


def flat_step(trace: Any, forward: Any, loss: Any, *backward: Any) -> tuple[Any, ...]:
    """A step's forward pass, loss (and backward records) with a sequence's positions as columns; as they
    are when the inputs are not sequences."""
    if trace.scenario.inputs.ndim != 3:
        return (forward, loss, *backward)
    out = (forward._replace(operations=tuple(_rows(op) for op in forward.operations)), _rows(loss))
    return out + tuple(tuple(_rows(record) for record in records) for records in backward)


class SequenceCells:
    """The tokens as columns, and an rnn's forward pass, for Layout."""

    def sequence_names(self, trace: Any) -> frozenset[str]:
        """a0, z3, a3, …: the per-example values that are sequences, (examples, positions, units)."""
        if trace.matmul is not None or trace.scenario.inputs.ndim != 3 or not trace.steps:
            return frozenset()
        arrays = trace.steps[0].forward.arrays()
        return frozenset({"a0"} | {name for name, values in arrays.items() if values.ndim == 3})

    def sequence_columns(self, trace: Any, examples: int) -> int:
        """The columns of the loss: a token each where the last layer's output is a sequence."""
        if not self.sequences:
            return examples
        output = trace.steps[0].forward.output
        return output.shape[0] * output.shape[1] if output.ndim == 3 else examples

    @property
    def positions(self) -> int:
        return self.s.inputs.shape[1]

    def unit_key(self, kind: str, k: int, unit: int, column: int, step: int | str) -> str:
        """A per-example value's name: [example, position, unit] for a sequence's token in `column`."""
        if f"{kind.removeprefix('d')}{k}" in self.sequences:
            return quantity_name(kind, k, column // self.positions, column % self.positions, unit, step=step)
        return quantity_cell(kind, k, unit, column, self.examples, step)

    def column_labels(self) -> list[str]:
        if not self.sequences:
            return [f"example {e + 1}" for e in range(self.examples)] if self.examples > 1 else []
        examples, positions = self.s.inputs.shape[:2]
        return [f"t = {t + 1}" if examples == 1 else f"{n + 1}: t = {t + 1}"
                for n in range(examples) for t in range(positions)]

    def sequence_inputs(self, grid: Grid, row: int, before: dict[str, Matrix] | None) -> tuple[int, dict[str, Matrix]]:
        """x: each token a column (given on the first sheet, read from it on the others)."""
        x = self.s.inputs.reshape(-1, self.s.inputs.shape[-1]).T
        ones = self.ones_below(0)
        row = self.heading(grid, row, (f"[{self.n.a(0)} ; 1]" if ones else self.n.a(0)) + ": each token a column, "
                           "its features down")
        if before is None:
            a0 = self.matrix(grid, row, self.example_col, x, lambda i, j, r, c, v: self.given(grid, r, c, v))
        else:
            a0 = self.matrix(grid, row, self.example_col, x, lambda i, j, r, c, v: self.computed(
                grid, r, c, v, lambda read: read(before["a0"][i][j])))
        row += x.shape[0]
        if ones:
            self.ones_across(grid, row, x.shape[1])
            row += 1
        places = {"a0": a0}
        if before is not None and "y" in before:
            places["y"] = before["y"]
        return row + 1, places

    def ones_across(self, grid: Grid, row: int, columns: int) -> None:
        for e in range(columns):
            self.given(grid, row, self.col(self.example_col, e), 1.0)

    def param_matrix(self, grid: Grid, row: int, name: str, values: np.ndarray, before: dict[str, Matrix] | None,
                     offset: int = 0) -> Matrix:
        """A parameter left of the tokens from column `offset` of the parameters' area: given on the first
        sheet, the values the previous step left on the others; a vector as a column."""
        values = values[:, None] if values.ndim == 1 else values

        def fill(i: int, j: int, r: int, c: int, v: float) -> Place:
            if before is None:
                return self.given(grid, r, c, v)
            return self.computed(grid, r, c, v, lambda read: read(before[name][i][j]))

        return self.matrix(grid, row, self.col(self.param_col, offset), values, fill)

    def token_places(self, grid: Grid, row: int, units: int, columns: int) -> Matrix:
        """Where a block of `units` rows, a token a column, will go (for a formula that reads it first)."""
        return [[Place(grid.title, row + u, self.col(self.example_col, c)) for c in range(columns)]
                for u in range(units)]

    def _cells_Recurrence(self, grid: Grid, row: int, rec: Recurrence, places: dict[str, Any],
                          before: dict[str, Matrix] | None, step: int | str) -> int:
        k, rule = rec.layer, ACTIVATIONS[rec.activation]
        examples, positions, units = rec.z.shape
        features, columns = rec.inputs.shape[2], examples * positions
        x = places[f"a{k - 1}"]
        row = self.heading(grid, row, f"Layer {k}: recurrent, h_t = {rule.label}(W_x·x_t + W_h·h_(t−1) + b), "
                           "each time step a column; h₀ (left, below) is the state before the first")
        self.text(grid, row, 0, "[W_x | W_h | b] and z" if rec.bias is not None else "[W_x | W_h] and z")
        wx = self.param_matrix(grid, row, f"Wx{k}", rec.input_weights, before)
        wh = self.param_matrix(grid, row, f"Wh{k}", rec.recurrent_weights, before, features)
        bias = None if rec.bias is None else self.param_matrix(grid, row, f"b{k}", rec.bias, before, features + units)
        places.update({f"Wx{k}": wx, f"Wh{k}": wh, **({f"b{k}": bias} if bias is not None else {})})
        h_row = row + units + 1
        h = self.token_places(grid, h_row, units, columns)
        self.text(grid, h_row - 1, 0, "h₀ | h_t")
        h0 = self.param_matrix(grid, h_row, f"given:h0{k}", rec.initial, before)
        places[f"given:h0{k}"] = h0

        def previous(v: int, c: int) -> Place:
            return h0[v][0] if c % positions == 0 else h[v][c - 1]

        def z_cell(u: int, c: int, r: int, col: int, value: float) -> Place:
            def build(read: Read) -> str:
                terms = [self.times(read(wx[u][f]), read(x[f][c])) for f in range(features)]
                terms += [self.times(read(wh[u][v]), read(previous(v, c))) for v in range(units)]
                return "+".join(terms + ([read(bias[u][0])] if bias is not None else []))
            return self.computed(grid, r, col, value, build, self.unit_key("z", k, u, c, step))

        z = self.matrix(grid, row, self.example_col, rec.z.reshape(columns, units).T, z_cell)
        last = rec.returns != "sequence"

        def h_cell(u: int, c: int, r: int, col: int, value: float) -> Place:
            key = self.unit_key("a", k, u, c // positions if last else c, step) \
                if not last or c % positions == positions - 1 else ""
            return self.computed(grid, r, col, value, lambda read: rule.spreadsheet_formula(
                [read(z[v][c]) for v in range(units)], u, rec.slope, self.rounding), key)

        self.matrix(grid, h_row, self.example_col, rec.h.reshape(columns, units).T, h_cell)
        places[f"z{k}"], places[f"h{k}"] = z, h
        places[f"a{k}"] = [[h[u][e * positions + positions - 1] for e in range(examples)] for u in range(units)] \
            if last else h
        row = h_row + units
        if self.ones_below(k):
            self.ones_across(grid, row, len(places[f"a{k}"][0]))
            row += 1
        return row + 1


class RecurrentGradientCells:
    """Backpropagation through time of an rnn, for spreadsheet_backward.Backward."""

    def _cells_ThroughTime(self, grid: Grid, row: int, rec: ThroughTime, step: Any, places: dict[str, Any]) -> int:
        k, rule = rec.layer, ACTIVATIONS[rec.activation]
        examples, positions, units = rec.delta.shape
        columns = examples * positions
        g, wh, z, h, h0, x = (places[f"da{k}"], places[f"Wh{k}"], places[f"z{k}"], places[f"h{k}"],
                              places[f"given:h0{k}"], places[f"a{k - 1}"])
        features = len(x)
        last = rec.returns != "sequence"
        row = self.heading(grid, row, f"Layer {k}: back through time, from the last step to the first: W_hᵀ·δ_(t+1) "
                           "(what h_t sent to the next step), ∂L/∂h_t (both paths), δ_t = ∂L/∂h_t ⊙ "
                           f"{rule.label}′(z_t)")
        self.text(grid, row, 0, "W_hᵀ·δ_(t+1)")
        total_row = row + units + 1
        delta_row = total_row + units + 1
        delta = self.token_places(grid, delta_row, units, columns)

        def recurrent(u: int, c: int, r: int, col: int, value: float) -> Place | None:
            if c % positions == positions - 1:
                return None  # the last step sends nothing on
            return self.computed(grid, r, col, value, lambda read: "+".join(
                self.times(read(wh[v][u]), read(delta[v][c + 1])) for v in range(units)))

        back = self.matrix(grid, row, self.example_col, rec.recurrent.reshape(columns, units).T, recurrent)
        self.text(grid, total_row, 0, "∂L/∂h_t")

        def total(u: int, c: int, r: int, col: int, value: float) -> Place:
            e, t = divmod(c, positions)
            paths = [g[u][e]] if last and t == positions - 1 else [] if last else [g[u][c]]
            paths += [back[u][c]] if t < positions - 1 else []
            return self.computed(grid, r, col, value, lambda read: self.total([read(p) for p in paths]))

        dh = self.matrix(grid, total_row, self.example_col, rec.total.reshape(columns, units).T, total)
        self.text(grid, delta_row, 0, "δ_t = ∂L/∂z_t")
        self.matrix(grid, delta_row, self.example_col, rec.delta.reshape(columns, units).T,
                    lambda u, c, r, col, value: self.computed(grid, r, col, value, lambda read: rule.spreadsheet_backward(
                        [read(dh[v][c]) for v in range(units)], [read(z[v][c]) for v in range(units)],
                        [read(h[v][c]) for v in range(units)], u, rec.slope, self.rounding),
                        self.unit_key("dz", k, u, c, step.number)))
        places[f"dz{k}"] = delta
        row = delta_row + units + 1

        def previous(v: int, c: int) -> Place:
            return h0[v][0] if c % positions == 0 else h[v][c - 1]

        sources = {f"Wx{k}": lambda c, j: x[j][c], f"Wh{k}": lambda c, j: previous(j, c)}
        offsets = {f"Wx{k}": 0, f"Wh{k}": features, f"b{k}": features + units}
        shares: dict[str, list[Matrix]] = {name: [] for name in rec.contributions}
        for t in range(positions):
            row = self.heading(grid, row, f"time step {t + 1}'s share of ∂L/∂[W_x | W_h | b]: δ_{t + 1} ⊗ x_{t + 1}, "
                               f"δ_{t + 1} ⊗ h_{t}, δ_{t + 1} (summed over the examples)")
            for name, values in rec.contributions.items():
                cells = [e * positions + t for e in range(examples)]
                values = values[t][:, None] if values[t].ndim == 1 else values[t]
                if name in sources:
                    source = sources[name]
                    build = lambda i, j: lambda read: "+".join(  # noqa: E731
                        self.times(read(delta[i][c]), read(source(c, j))) for c in cells)
                else:
                    build = lambda i, j: lambda read: self.total([read(delta[i][c]) for c in cells])  # noqa: E731
                shares[name].append(self.matrix(grid, row, self.col(self.param_col, offsets[name]), values,
                                                lambda i, j, r, c, v, build=build: self.computed(grid, r, c, v,
                                                                                                 build(i, j))))
            row += units + 1
        row = self.heading(grid, row, "∂L/∂[W_x | W_h | b] = the sum of the time steps' shares")
        first = step.number == 1
        for name, values in rec.gradients.items():
            values = values[:, None] if values.ndim == 1 else values
            parts = shares[name]
            kind = "d" + name.rstrip("0123456789")
            places[f"d{name}"] = self.matrix(grid, row, self.col(self.param_col, offsets[name]), values,
                                             lambda i, j, r, c, v, parts=parts, kind=kind: self.computed(
                                                 grid, r, c, v, lambda read: self.total([read(p[i][j]) for p in parts]),
                                                 (quantity_name(kind, k, i, j) if kind != "db" else
                                                  quantity_name(kind, k, i)) if first else ""))
        return row + units + 1

    def _cells_RnnBackToInput(self, grid: Grid, row: int, rec: RnnBackToInput, step: Any,
                              places: dict[str, Any]) -> int:
        n, k = self.n, rec.layer
        wx, delta = places[f"Wx{k}"], places[f"dz{k}"]
        units = rec.delta.shape[2]
        upstream, keyed = self.landing(k - 1, rec.upstream, step)
        upstream = upstream.reshape(-1, upstream.shape[-1])  # a token a row (a GradientSum's main is already)
        row = self.heading(grid, row, f"∂L/∂{n.a(k - 1)} = W_xᵀ · δ_t at every step")
        places[f"da{k - 1}"] = self.matrix(grid, row, self.example_col, upstream.T,
                                           lambda f, c, r, col, v: self.computed(grid, r, col, v, lambda read: "+".join(
                                               self.times(read(wx[u][f]), read(delta[u][c])) for u in range(units)),
                                               self.unit_key("da", k - 1, f, c, step.number) if keyed else ""))
        return row + upstream.shape[1] + 1
