"""An LSTM layer in a spreadsheet (`--format xlsx`), each time step a column, forward and back through time.

Forward, per gate q in PyTorch's order (i, f, g, o): [W_x,q | W_h,q | b_q] left of z_q = W_x,q·x_t +
W_h,q·h_(t−1) + b_q, then the gate by its activation rule's formula (σ, or tanh for g); then c_t = f·c_(t−1)
+ i·g with c₀ left of it, tanh(c_t), and h_t = o·tanh(c_t) with h₀ left of it. Back, from the last step
to the first: ∂L/∂h_t (what the layers after it send plus Σ_q W_h,qᵀ·∂L/∂z_q at t+1), ∂L/∂c_t (through
tanh(c_t) plus ∂L/∂c_(t+1)·f_(t+1)), each gate's ∂L/∂q and ∂L/∂z_q, each time step's share of every
gate's ∂L/∂[W_x | W_h | b] and their sums, and ∂L/∂x_t = Σ_q W_x,qᵀ·∂L/∂z_q.
"""

from __future__ import annotations

from typing import Any, Callable

from nnworked.lstm_records import GATES, LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.quantities import name as quantity_name
from nnworked.render.spreadsheet_cells import Grid, Matrix, Place
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.lstm import GATE_ACTIVATIONS, parameter_name

Read = Callable[[Place], str]


class LSTMCells:
    """An LSTM's forward record, for Layout."""

    def _cells_LSTMForward(self, grid: Grid, row: int, rec: LSTMForward, places: dict[str, Any],
                           before: dict[str, Matrix] | None, step: int | str) -> int:
        k = rec.layer
        examples, positions, hidden = rec.h.shape
        features, columns = rec.inputs.shape[2], examples * positions
        x = places[f"a{k - 1}"]
        row = self.heading(grid, row, f"Layer {k}: LSTM, gates i, f, g, o (PyTorch's order), each time step a column")
        state_row = row + 4 * (2 * hidden + 3)  # c, tanh(c) and h below the four gates
        c = self.token_places(grid, state_row + 1, hidden, columns)
        h = self.token_places(grid, state_row + 2 * hidden + 5, hidden, columns)
        h0 = self.param_matrix(grid, state_row + 2 * hidden + 5, f"given:h0{k}", rec.h0, before)
        c0 = self.param_matrix(grid, state_row + 1, f"given:c0{k}", rec.c0, before)
        places.update({f"given:h0{k}": h0, f"given:c0{k}": c0})

        def previous(block: Matrix, start: Matrix, u: int, col: int) -> Place:
            return start[u][0] if col % positions == 0 else block[u][col - 1]

        def key(kind: str, u: int, col: int) -> str:  # a cell named as its quantity (zi1[n,t,u] …), so a sheet blanks it
            return quantity_name(kind, k, *divmod(col, positions), u, step=step)

        gates, zs = [], []
        for q, gate in enumerate(GATES):
            rule = ACTIVATIONS[GATE_ACTIVATIONS[gate]]
            names = [parameter_name(role, k, gate) for role in ("Wx", "Wh", "b")]
            row = self.heading(grid, row, f"gate {gate}: [W_x,{gate} | W_h,{gate} | b_{gate}] (left) and z_{gate} = "
                               f"W_x,{gate}·x_t + W_h,{gate}·h_(t−1) + b_{gate}")
            wx = self.param_matrix(grid, row, names[0], rec.input_weights[q], before)
            wh = self.param_matrix(grid, row, names[1], rec.recurrent_weights[q], before, features)
            bias = None if rec.bias is None else self.param_matrix(grid, row, names[2], rec.bias[q], before,
                                                                    features + hidden)
            places.update({names[0]: wx, names[1]: wh, **({names[2]: bias} if bias is not None else {})})

            def z_cell(u: int, col: int, r: int, c_: int, v: float, wx: Matrix = wx, wh: Matrix = wh,
                       bias: Matrix | None = bias) -> Place:
                def build(read: Read) -> str:
                    terms = [self.times(read(wx[u][f]), read(x[f][col])) for f in range(features)]
                    terms += [self.times(read(wh[u][w]), read(previous(h, h0, w, col))) for w in range(hidden)]
                    return "+".join(terms + ([read(bias[u][0])] if bias is not None else []))
                return self.computed(grid, r, c_, v, build, key(f"z{gate}", u, col))

            z = self.matrix(grid, row, self.example_col, rec.z[q].reshape(columns, hidden).T, z_cell)
            row = self.heading(grid, row + hidden, f"{gate} = {rule.label}(z_{gate}): {rule.formula}")
            gates.append(self.matrix(grid, row, self.example_col, rec.gates[q].reshape(columns, hidden).T,
                                     lambda u, col, r, c_, v, z=z, rule=rule, gate=gate: self.computed(
                                         grid, r, c_, v, lambda read: rule.spreadsheet_formula(
                                             [read(z[w][col]) for w in range(hidden)], u, 0.0, self.rounding),
                                         key(gate, u, col))))
            zs.append(z)
            row += hidden + 1
        i, f, g, o = gates
        self.heading(grid, state_row, "c₀ (left) and c_t = f × c_(t−1) + i × g")
        self.matrix(grid, state_row + 1, self.example_col, rec.c.reshape(columns, hidden).T,
                    lambda u, col, r, c_, v: self.computed(grid, r, c_, v, lambda read: self.total(
                        [self.times(read(f[u][col]), read(previous(c, c0, u, col))),
                         self.times(read(i[u][col]), read(g[u][col]))]), key("c", u, col)))
        tanh = ACTIVATIONS["tanh"]
        self.heading(grid, state_row + hidden + 2, "tanh(c_t)")
        tanh_c = self.matrix(grid, state_row + hidden + 3, self.example_col, rec.tanh_c.reshape(columns, hidden).T,
                             lambda u, col, r, c_, v: self.computed(grid, r, c_, v, lambda read: tanh.spreadsheet_formula(
                                 [read(c[w][col]) for w in range(hidden)], u, 0.0, self.rounding)))
        self.heading(grid, state_row + 2 * hidden + 4, "h₀ (left) and h_t = o × tanh(c_t)")
        last = rec.returns != "sequence"

        def h_cell(u: int, col: int, r: int, c_: int, v: float) -> Place:
            name = self.unit_key("a", k, u, col // positions if last else col, step) \
                if not last or col % positions == positions - 1 else key("h", u, col)  # an earlier h: h1[n,t,u]
            return self.computed(grid, r, c_, v, lambda read: f"{read(o[u][col])}*{read(tanh_c[u][col])}", name)

        self.matrix(grid, state_row + 2 * hidden + 5, self.example_col, rec.h.reshape(columns, hidden).T, h_cell)
        places.update({f"lstm{k}": (zs, gates, c, tanh_c, h)})
        places[f"a{k}"] = [[h[u][e * positions + positions - 1] for e in range(examples)] for u in range(hidden)] \
            if last else h
        row = state_row + 3 * hidden + 5
        if self.ones_below(k):
            self.ones_across(grid, row, len(places[f"a{k}"][0]))
            row += 1
        return row + 1


class LSTMGradientCells:
    """An LSTM's backpropagation through time, for spreadsheet_backward.Backward."""

    def _cells_LSTMBackward(self, grid: Grid, row: int, rec: LSTMBackward, step: Any, places: dict[str, Any]) -> int:
        k = rec.layer
        _, examples, positions, hidden = rec.dz.shape
        columns = examples * positions
        zs, gates, c, tanh_c, h = places[f"lstm{k}"]
        i, f, g, o = gates
        x, h0, c0, sent = places[f"a{k - 1}"], places[f"given:h0{k}"], places[f"given:c0{k}"], places[f"da{k}"]
        features = len(x)
        last = rec.upstream.ndim == 2
        wh = [places[parameter_name("Wh", k, gate)] for gate in GATES]
        row = self.heading(grid, row, f"Layer {k}: back through time, from the last step to the first")
        titles = ["∂L/∂h_t = what the layers after send + Σ_q W_h,qᵀ·∂L/∂z_q(t+1)",
                  "∂L/∂c_t = ∂L/∂h_t × o × (1 − tanh²(c_t)) + ∂L/∂c_(t+1) × f_(t+1)"]
        titles += [f"∂L/∂{gate} and ∂L/∂z_{gate}" for gate in GATES]
        at = [row + b * (2 * hidden + 2) if b < 2 else row + 2 * (2 * hidden + 2) + (b - 2) * (2 * hidden + 3)
              for b in range(6)]  # ∂L/∂h, ∂L/∂c, then each gate's two blocks
        dh, dc = (self.token_places(grid, at[b] + 1, hidden, columns) for b in range(2))
        dgate = [self.token_places(grid, at[2 + q] + 1, hidden, columns) for q in range(4)]
        dz = [self.token_places(grid, at[2 + q] + hidden + 2, hidden, columns) for q in range(4)]

        def previous(block: Matrix, start: Matrix, u: int, col: int) -> Place:
            return start[u][0] if col % positions == 0 else block[u][col - 1]

        def key(kind: str, u: int, col: int) -> str:  # a cell named as its quantity (dc1[n,t,u] …), so a sheet blanks it
            return quantity_name(kind, k, *divmod(col, positions), u, step=step.number)

        def dh_cell(u: int, col: int, r: int, c_: int, v: float) -> Place:
            e, t = divmod(col, positions)
            paths = []
            if not last or t == positions - 1:
                paths.append(lambda read: read(sent[u][e] if last else sent[u][col]))
            if t < positions - 1:
                paths.append(lambda read: self.r("+".join(self.times(read(wh[q][w][u]), read(dz[q][w][col + 1]))
                                                          for q in range(4) for w in range(hidden))))
            # at the last step ∂L/∂h is ∂L/∂a, the cell the layers after it fill: no quantity of its own here
            return self.computed(grid, r, c_, v, lambda read: self.total([path(read) for path in paths]),
                                 key("dh", u, col) if t < positions - 1 else "")

        def dc_cell(u: int, col: int, r: int, c_: int, v: float) -> Place:
            t = col % positions

            def build(read: Read) -> str:
                slope = self.r(f"1-{self.r(f'{read(tanh_c[u][col])}^2')}")
                through = self.times(self.r(f"{read(dh[u][col])}*{read(o[u][col])}"), self.rp(slope))
                if t == positions - 1:
                    return through
                return self.total([self.r(through), self.times(read(dc[u][col + 1]), read(f[u][col + 1]))])
            return self.computed(grid, r, c_, v, build, key("dc", u, col))

        for b, (title, values, fill) in enumerate(((titles[0], rec.dh, dh_cell), (titles[1], rec.dc, dc_cell))):
            self.heading(grid, at[b], title)
            self.matrix(grid, at[b] + 1, self.example_col, values.reshape(columns, hidden).T, fill)
        factors = [lambda u, col: dc[u][col]] * 3 + [lambda u, col: dh[u][col]]
        others = [lambda u, col: g[u][col], lambda u, col: previous(c, c0, u, col), lambda u, col: i[u][col],
                  lambda u, col: tanh_c[u][col]]
        for q, gate in enumerate(GATES):
            rule = ACTIVATIONS[GATE_ACTIVATIONS[gate]]
            self.heading(grid, at[2 + q], f"∂L/∂{gate} = " + ("∂L/∂h_t × tanh(c_t)" if gate == "o" else
                                                           f"∂L/∂c_t × {dict(i='g', f='c_(t−1)', g='i')[gate]}"))
            self.matrix(grid, at[2 + q] + 1, self.example_col, rec.dgates[q].reshape(columns, hidden).T,
                        lambda u, col, r, c_, v, q=q, gate=gate: self.computed(grid, r, c_, v, lambda read: self.times(
                            read(factors[q](u, col)), read(others[q](u, col))), key(f"d{gate}", u, col)))
            self.text(grid, at[2 + q] + hidden + 1, 0, f"∂L/∂z_{gate} = ∂L/∂{gate} × {rule.label}′(z_{gate})")
            self.matrix(grid, at[2 + q] + hidden + 2, self.example_col, rec.dz[q].reshape(columns, hidden).T,
                        lambda u, col, r, c_, v, q=q, rule=rule, gate=gate: self.computed(grid, r, c_, v, lambda read: (
                            rule.spreadsheet_backward([read(dgate[q][w][col]) for w in range(hidden)],
                                                      [read(zs[q][w][col]) for w in range(hidden)],
                                                      [read(gates[q][w][col]) for w in range(hidden)], u, 0.0,
                                                      self.rounding)),
                            key(f"dz{gate}", u, col)))
        places[f"lstm-dz{k}"] = dz
        row = at[5] + 2 * hidden + 3
        sources = {"Wx": (lambda col, j: x[j][col], 0, rec.input_steps, rec.input_grad),
                   "Wh": (lambda col, j: previous(h, h0, j, col), features, rec.recurrent_steps, rec.recurrent_grad)}
        if rec.bias_steps is not None:
            sources["b"] = (None, features + hidden, rec.bias_steps[..., None], rec.bias_grad[..., None])
        shares: dict[tuple[str, int], list[Matrix]] = {}
        for t in range(positions):
            row = self.heading(grid, row, f"time step {t + 1}'s share of each gate's ∂L/∂[W_x | W_h | b] (summed over "
                               "the examples)")
            cols = [e * positions + t for e in range(examples)]
            for q, gate in enumerate(GATES):
                self.text(grid, row, 0, f"gate {gate}")
                for role, (source, offset, steps, _) in sources.items():
                    def build(u: int, j: int, q: int = q, source: Any = source) -> Callable[[Read], str]:
                        if source is None:
                            return lambda read: self.total([read(dz[q][u][col]) for col in cols])
                        return lambda read: "+".join(self.times(read(dz[q][u][col]), read(source(col, j)))
                                                     for col in cols)
                    shares.setdefault((role, q), []).append(self.matrix(
                        grid, row, self.col(self.param_col, offset), steps[q, t],
                        lambda u, j, r, c_, v, build=build: self.computed(grid, r, c_, v, build(u, j))))
                row += hidden
            row += 1
        row = self.heading(grid, row, "each gate's ∂L/∂[W_x | W_h | b] = the sum of the time steps' shares")
        first = step.number == 1
        for q, gate in enumerate(GATES):
            self.text(grid, row, 0, f"gate {gate}")
            for role, (_, offset, _, sums) in sources.items():
                parts = shares[(role, q)]
                name = parameter_name(role, k, gate)
                places[f"d{name}"] = self.matrix(
                    grid, row, self.col(self.param_col, offset), sums[q],
                    lambda u, j, r, c_, v, parts=parts, role=role, gate=gate: self.computed(
                        grid, r, c_, v, lambda read: self.total([read(p[u][j]) for p in parts]),
                        (quantity_name(f"d{role}", k, *((u,) if role == "b" else (u, j)), part=gate) if first else "")))
            row += hidden
        return row + 1

    def _cells_LSTMBackToInput(self, grid: Grid, row: int, rec: LSTMBackToInput, step: Any,
                               places: dict[str, Any]) -> int:
        n, k = self.n, rec.layer
        dz = places[f"lstm-dz{k}"]
        wx = [places[parameter_name("Wx", k, gate)] for gate in GATES]
        hidden = rec.dz.shape[-1]
        upstream, keyed = self.landing(k - 1, rec.upstream, step)
        upstream = upstream.reshape(-1, upstream.shape[-1])
        row = self.heading(grid, row, f"∂L/∂{n.a(k - 1)} = Σ over the gates W_x,qᵀ · ∂L/∂z_q at every step")
        places[f"da{k - 1}"] = self.matrix(grid, row, self.example_col, upstream.T, lambda j, col, r, c_, v: self.computed(
            grid, r, c_, v, lambda read: "+".join(self.times(read(wx[q][u][j]), read(dz[q][u][col]))
                                                  for q in range(4) for u in range(hidden)),
            self.unit_key("da", k - 1, j, col, step.number) if keyed else ""))
        return row + upstream.shape[1] + 1
