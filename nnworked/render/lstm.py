"""The walkthrough of an LSTM layer: forward, each time step's four gates, cell state and hidden state worked
element by element; backward through time, each step's ∂L/∂h and ∂L/∂c (with the path back from the next
step), the gate derivatives, then every shared weight's gradient as the sum of each step's contribution.
Every worked line is an expression of `nnworked.lstmworked` (the named values' through the table of
quantities), so each ends in the number the rule computed."""

from __future__ import annotations

from typing import Any

from nnworked import quantities
from nnworked.lstm_records import GATES, LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.lstmworked import Worked
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, subscript
from nnworked.render.page import Numbering, Page
from nnworked.rules.layers.lstm import GATE_NAMES, parameter_name
from nnworked.trace import TrainingStep

EQUATIONS = ["z_q = W_x,q · x_t + W_h,q · h_{t−1} + b_q   for each gate q = i, f, g, o",
             "i = σ(z_i),  f = σ(z_f),  g = tanh(z_g),  o = σ(z_o)",
             "c_t = f ⊙ c_{t−1} + i ⊙ g",
             "h_t = o ⊙ tanh(c_t)"]
BACKWARD = ["∂L/∂h_t = ∂L/∂a_t + Σ_q W_h,qᵀ · ∂L/∂z_q,t+1   (from above, and back from the next step)",
            "∂L/∂c_t = ∂L/∂h_t × o_t × (1 − tanh²(c_t)) + ∂L/∂c_{t+1} × f_{t+1}",
            "∂L/∂i = ∂L/∂c_t × g,   ∂L/∂f = ∂L/∂c_t × c_{t−1},   ∂L/∂g = ∂L/∂c_t × i",
            "∂L/∂o = ∂L/∂h_t × tanh(c_t)",
            "∂L/∂z_q = ∂L/∂q × q × (1 − q) for q = i, f, o;   ∂L/∂z_g = ∂L/∂g × (1 − g²)"]


def worked(page: Page, r: LSTMForward, b: LSTMBackward | None = None) -> Worked:
    """The layer's expressions in the pass of `page`, each number named as its quantity (so a sheet blanks it)."""
    from nnworked.workings import Place

    key = quantities.parse(page.n.key("a", r.layer, (0, 0), 0))
    trace = page.table.trace
    return Worked(r, b, Place(trace, key, trace.scenario.inputs.shape[0], (0, 0), 0,
                              key.step == quantities.FIRST_STEP, sequence=True))


def _at(symbol: str, e: int, t: int, u: int) -> str:
    """A sequence value by [example, position, unit], as CONTRACT.md names them."""
    return f"{symbol}[{e},{t},{u}]"


class _Steps:
    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _line(self, lhs: str, expr: Any, label: str = "") -> list[str]:
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _cells(self, examples: int, hidden: int) -> tuple[list[tuple[int, int]], int]:
        """The (example, unit) pairs worked at each step, and how many are elided."""
        shown_e, _ = pick(examples, self.s.elements)
        shown_u, _ = pick(hidden, self.s.elements)
        cells = [(e, u) for e in shown_e for u in shown_u]
        return cells, examples * hidden - len(cells)

    def _positions(self, count: int) -> tuple[list[int], int]:
        return pick(count, self.s.elements)


class LSTMForwardPrinter(_Steps):
    """The forward record of an LSTM layer, on a Page."""

    def _print_LSTMForward(self, r: LSTMForward, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, r.layer, numbering.next()
        s = subscript(k)
        examples, positions, hidden = r.h.shape
        w = worked(self.page, r)
        state = ("from h₀ = c₀ = 0" if not (r.h0.any() or r.c0.any()) else
                 f"from the given h₀ = {list(map(lambda v: fmt(v, self.p, given=True), r.h0))} and "
                 f"c₀ = {list(map(lambda v: fmt(v, self.p, given=True), r.c0))}")
        out: list[Block] = [
            Heading(3, f"Step {step}: LSTM Layer {k} Through Time"),
            Para(f"**Four gates, in PyTorch's order:** i ({GATE_NAMES['i']}), f ({GATE_NAMES['f']}), g "
                 f"({GATE_NAMES['g']}) and o ({GATE_NAMES['o']}), each with its own weights, shared by every time "
                 f"step; the cell state c carries memory forward and the hidden state h is the output, {state}. A "
                 "value is named [example, position, unit]."),
            Math(EQUATIONS)]
        positions_shown, positions_hidden = self._positions(positions)
        cells, elided = self._cells(examples, hidden)
        for t in positions_shown:
            lines: list[str] = []
            for q, gate in enumerate(GATES):
                for e, u in cells:
                    lines += self._line(_at(f"z{s}.{gate}", e, t, u), w.pre_activation(q, e, t, u),
                                        w.key(f"z{gate}", e, t, u))
                    lines += self._line(_at(f"{gate}{s}", e, t, u), w.gate(q, e, t, u), w.key(gate, e, t, u))
                lines.append("")
            for e, u in cells:
                lines += self._line(_at(f"c{s}", e, t, u), w.cell(e, t, u), w.key("c", e, t, u))
            for e, u in cells:
                lines += self._line(_at(f"h{s}", e, t, u), w.hidden(e, t, u), w.hidden_key(e, t, u))
            if elided:
                lines.append(elided_note(elided))
            out += [Para(f"**Time step t = {t}**" + (" (h_{t−1} = h₀, c_{t−1} = c₀)" if t == 0 else "") + ":"),
                    Math(lines[:-1] if lines and lines[-1] == "" else lines)]
        if positions_hidden:
            out.append(Para(elided_note(positions_hidden, "time steps")))
        what = "every hidden state h_t" if r.returns == "sequence" else "the last hidden state h_T"
        out.append(Para(f"The layer returns {what}: {n.a(k)}."))
        return out + self.page.result(n.a(k), r.a, n.keys("a", k))

    def _compact_LSTMForward(self, r: LSTMForward) -> list[str]:
        return [*self.page.array(self.n.a(r.layer), r.a, self.n.keys("a", r.layer)), ""]


class LSTMBackwardPrinter(_Steps):
    """The backward records of an LSTM layer, on a Page."""

    def __init__(self, page: Page, training: TrainingStep):
        super().__init__(page)
        self.training = training

    def _forward(self, k: int) -> LSTMForward:
        return next(r for r in self.training.forward.operations if isinstance(r, LSTMForward) and r.layer == k)

    def _print_LSTMBackward(self, b: LSTMBackward, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, b.layer, numbering.next()
        s = subscript(k)
        r = self._forward(k)
        w = worked(self.page, r, b)
        examples, positions, hidden = r.h.shape
        sent = (f"∂L/∂{n.a(k)} at every position" if r.returns == "sequence" else
                f"∂L/∂{n.a(k)} at the last position only")
        out: list[Block] = [
            Heading(3, f"Step {step}: Backpropagation Through Time in LSTM Layer {k}"),
            Para(f"**From the last time step to the first.** h_t reaches the loss along two paths: through the "
                 f"layers above ({sent}) and through the next step's four gates, which read it as h_{{t−1}}; "
                 "c_t along two too: through h_t and into c_{t+1}. Each ∂L/∂ below gathers both."),
            Math(BACKWARD)]
        positions_shown, positions_hidden = self._positions(positions)
        cells, elided = self._cells(examples, hidden)
        for t in sorted(positions_shown, reverse=True):
            lines: list[str] = []
            for e, u in cells:
                lines += self._line(_at(f"∂L/∂h{s}", e, t, u), w.dh(e, t, u), w.dh_key(e, t, u))
            for e, u in cells:
                lines += self._line(_at(f"∂L/∂c{s}", e, t, u), w.dc(e, t, u), w.key("dc", e, t, u))
            lines.append("")
            for q, gate in enumerate(GATES):
                for e, u in cells:
                    lines += self._line(_at(f"∂L/∂{gate}{s}", e, t, u), w.dgate(q, e, t, u), w.key(f"d{gate}", e, t, u))
                    lines += self._line(_at(f"∂L/∂z{s}.{gate}", e, t, u), w.dz(q, e, t, u), w.key(f"dz{gate}", e, t, u))
            if elided:
                lines.append(elided_note(elided))
            last = " (no step after it: only the layers above send to h_t)" if t == positions - 1 else ""
            out += [Para(f"**Time step t = {t}**{last}:"), Math(lines)]
        if positions_hidden:
            out.append(Para(elided_note(positions_hidden, "time steps")))
        out += self._sums(b, w, s, hidden)
        return out

    def _sums(self, b: LSTMBackward, w: Worked, s: str, hidden: int) -> list[Block]:
        """Each shared weight's gradient: each step's contribution (Σ over the examples), then their sum."""
        n, k = self.n, b.layer
        positions = b.dz.shape[2]
        batch = "Σₙ " if b.dz.shape[1] > 1 else ""
        out: list[Block] = [Para(
            "**Every time step used the same weights, so each weight's gradient is the sum of each step's "
            f"contribution:** ∂L/∂W_x,q[u, j] = Σ_t {batch}∂L/∂z_q,t[u] × x_t[j], ∂L/∂W_h,q[u, j] = Σ_t {batch}∂L/∂z_q,t[u] "
            f"× h_{{t−1}}[j], ∂L/∂b_q[u] = Σ_t {batch}∂L/∂z_q,t[u].")]
        roles = [("Wx", b.input_steps, w.input_step), ("Wh", b.recurrent_steps, w.recurrent_step)]
        if b.bias_steps is not None:
            roles.append(("b", b.bias_steps, None))
        units, more_units = pick(hidden, self.s.elements)
        for q, gate in enumerate(GATES):
            lines: list[str] = []
            for role, steps, step_expr in roles:
                symbol = n.param(parameter_name(role, k, gate))
                columns = [None] if step_expr is None else list(range(steps.shape[3]))
                shown_columns, more_columns = pick(len(columns), self.s.elements)
                for u in units:
                    for c in shown_columns:
                        j = columns[c]
                        index = (u,) if j is None else (u, j)
                        where = ",".join(map(str, index))
                        for t in range(positions):
                            expr = w.bias_step(q, t, u) if j is None else step_expr(q, t, u, j)
                            lines += self._line(f"step {t}: ∂L/∂{symbol}[{where}]", expr, w.step_share(role, q, t, *index).label)
                        key = quantities.name(f"d{role}", k, *index, step=n.step, part=gate)
                        lines += self._line(f"∂L/∂{symbol}[{where}]", self.page.table.expression(key), key)
                    if more_columns:
                        lines.append(elided_note(more_columns))
                if more_units:
                    lines.append(elided_note(more_units))
            out += [Para(f"**Gate {gate} ({GATE_NAMES[gate]}):**"), Math(lines)]
        return out

    def _print_LSTMBackToInput(self, b: LSTMBackToInput, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, b.layer, numbering.next()
        da = f"∂L/∂{n.a(k - 1)}"
        examples, positions, features = b.upstream.shape
        lines: list[str] = []
        shown, hidden = self.page.elements(*b.upstream.shape)
        for e, (t, j) in shown:
            lines += self._line(_at(da, e, t, j), self.page.expression("da", k - 1, (t, j), e),
                                n.key("da", k - 1, (t, j), e))
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Step {step}: Backpropagate to the Inputs of LSTM Layer {k}"),
                Para(f"**Each input x_t fed the four gates of its step:** {da}[n, t, j] = Σ_q Σ_u "
                     f"W_x,q[u, j] × ∂L/∂z_q[n, t, u]."), Math(lines),
                *self.page.result(da, b.upstream, n.keys("da", k - 1))]
