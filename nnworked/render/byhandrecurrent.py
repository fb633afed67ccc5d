"""The AI by Hand layout of recurrent layers, as Tom Yeh's RNN and LSTM sheets draw them: the weights of a
step stacked side by side, [W_x | W_h | b], times one stacked column [x_t ; h_{t−1} ; 1] (a column per
example), so each time step is one matrix product; the steps unrolled one after another, the state each
leaves feeding the next column. An LSTM stacks its four gates' rows (i, f, g, o, PyTorch's order) into one
such matrix, so one product gives the whole gate stack; then c_t = f ⊙ c_{t−1} + i ⊙ g and h_t = o ⊙ tanh(c_t).

Backward through time, the same product read backwards: each step's share of ∂L/∂[W_x | W_h | b] is
δ_t · [x_t ; h_{t−1} ; 1]ᵀ, and the gradient is the sum of the steps' shares. Every number is the trace's,
every worked line the one the standard layout prints (the table's, `rnnworked`'s or `lstmworked`'s),
each cell named as there, so a sheet blanks it."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked import quantities, rnnworked
from nnworked.lstm_records import GATES, LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.render.lstm import worked
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.byhandsequences import Part, joined, tokens
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import subscript
from nnworked.render.page import Page
from nnworked.render.recurrent import RecurrentBackward, RecurrentForward
from nnworked.rnn_records import Recurrence, RnnBackToInput, ThroughTime
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.lstm import parameter_name
from nnworked.trace import TrainingStep


def _stack_symbol(k: int, bias: bool) -> str:
    s = subscript(str(k))
    return f"[Wx{s} | Wh{s}" + (f" | b{s}]" if bias else "]")


def rnn_weights(page: Page, k: int, wx: np.ndarray, wh: np.ndarray, b: np.ndarray | None, given: bool) -> list[str]:
    """[W_x | W_h | b]: a row per hidden unit; its columns meet x_t, then h_{t−1}, then the 1."""
    before = page.n.before  # a later pass's weights are the ones the update before left: named so, a sheet hides them
    parts = [Part(wx, lambda i, j: before("Wx", k, i, j), given), Part(wh, lambda i, j: before("Wh", k, i, j), given)]
    if b is not None:
        parts.append(Part(b[:, None], lambda i, _: before("b", k, i), given))
    return joined(_stack_symbol(k, b is not None), page, parts)


def lstm_weights(page: Page, k: int, wx: np.ndarray, wh: np.ndarray, b: np.ndarray | None, given: bool) -> list[str]:
    """The four gates' [W_x | W_h | b] stacked: the rows of i, then f, g and o, each band set off by a rule."""
    hidden = wx.shape[1]

    def before(role: str) -> Any:  # a later pass's weights are the ones the update before left: Wx1.i[u,j]
        return lambda row, j: page.n.before(role, k, row % hidden, *((j,) if role != "b" else ()),
                                            part=GATES[row // hidden])

    parts = [Part(wx.reshape(4 * hidden, -1), before("Wx"), given), Part(wh.reshape(4 * hidden, -1), before("Wh"), given)]
    if b is not None:
        parts.append(Part(b.reshape(-1)[:, None], before("b"), given))
    return joined(_stack_symbol(k, b is not None), page, parts, every=hidden) + \
        [f"(rows: the gates {', '.join(GATES)} in PyTorch's order, {hidden} row{'s' if hidden != 1 else ''} each)"]


class ByHandRecurrent:
    """The rnn and lstm records in the AI by Hand layout, on a Page."""

    def __init__(self, page: Page, training: TrainingStep | None = None):
        self.page, self.p, self.n, self.s, self.training = page, page.p, page.n, page.s, training
        self.first_step = training is None or training.number == 1
        self.rnn = RecurrentForward(page)
        self.rnn_back = RecurrentBackward(page, training) if training is not None else None

    def _line(self, lhs: str, expr: Any, label: str = "") -> list[str]:
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _column(self, k: int, t: int, inputs: np.ndarray, previous: np.ndarray, bias: bool,
                h_label: Any = None) -> list[str]:
        """[x_t ; h_{t−1} ; 1]: a column per example; the first layer's x and the initial state are given."""
        n = self.n
        x_labels = (lambda j, e: n.key("a", k - 1, (t, j), e)) if k > 1 else None
        parts = [Part(inputs[:, t].T, x_labels, k == 1),
                 Part(previous[:, t].T, h_label if t > 0 else None, t == 0)]
        if bias:
            parts.append(Part(np.ones((1, inputs.shape[0])), given=True))
        state = f"h_{t - 1}" if t else "h_(−1)"
        return joined(f"[x_{t} ; {state} ; 1]" if bias else f"[x_{t} ; {state}]", self.page, parts, stacked=True)

    def _cell(self, symbol: str, e: int, u: int, t: int) -> str:
        """symbol[unit,token] of example e, as the grids with a column per token show it."""
        return f"{symbol}{self.n.example(e)}[{u},{t}]"

    # -- rnn --

    def _print_Recurrence(self, r: Recurrence) -> list[Block]:
        n, k = self.n, r.layer
        act = ACTIVATIONS[r.activation]
        examples, positions, units = r.z.shape
        h, has_bias = n.a(k), r.bias is not None
        stack = _stack_symbol(k, has_bias)
        out: list[Block] = [
            Heading(3, f"Layer {k}: the recurrence unrolled, one stacked product per time step"),
            Para(("Each step stacks its input x_t, the state h_(t−1) the step before left and a 1" if has_bias else
                  "Each step stacks its input x_t and the state h_(t−1) the step before left")
                 + f" into one column (one per example), and the same {stack} "
                 f"times it gives z_t; {h}_t = {act.symbol or 'f'}(z_t) is the next step's state. The first step "
                 f"starts from the initial state. A cell is written [unit,token]."),
            Math([f"z_t = {stack} · [x_t ; h_(t−1)" + (" ; 1]" if has_bias else "]"),
                  f"{h}_t = {act.symbol or 'f'}(z_t)", "",
                  *rnn_weights(self.page, k, r.input_weights, r.recurrent_weights, r.bias, self.first_step)])]
        shown_e, hidden_e = pick(examples, self.s.elements)
        shown_u, hidden_u = pick(units, self.s.elements)
        shown_t, hidden_t = pick(positions, self.s.elements)
        previous = r.previous()
        for t in shown_t:
            h_label = (lambda u, e, t=t: rnnworked.hidden_label(r, self.rnn._place(r, e, t - 1), e, t - 1, u))
            lines = [*self._column(k, t, r.inputs, previous, has_bias, h_label), ""]
            for e in shown_e:
                for i in shown_u:
                    lines += self._line(self._cell(n.z(k), e, i, t), self.page.expression("z", k, (t, i), e),
                                        n.key("z", k, (t, i), e))
                for i in shown_u:
                    lines += self._line(self._cell(h, e, i, t), self.rnn._h_expression(r, e, t, i),
                                        self.rnn._h_label(r, e, t, i))
            if hidden_u or hidden_e:
                lines.append(elided_note(examples * units - len(shown_e) * len(shown_u)))
            out += [Para(f"**Time step t = {t}:**"), Math(lines)]
        if hidden_t:
            out.append(Para(elided_note(hidden_t, "time steps")))
        states = tokens(f"{h}_t", self.page, r.h, lambda e, unit: self.rnn._h_label(r, e, *unit))
        out.append(Math([*tokens(n.z(k), self.page, r.z, lambda e, unit: n.key("z", k, unit, e)), "", *states]))
        if r.returns == "last":
            out.append(Para(f"The layer returns the last state only: {h} = {h}_{positions - 1}, its last column."))
        return out

    def _print_ThroughTime(self, r: ThroughTime) -> list[Block]:
        assert self.rnn_back is not None
        n, k = self.n, r.layer
        act = ACTIVATIONS[r.activation]
        examples, positions, units = r.delta.shape
        h, d = n.a(k), n.delta(k)
        has_bias = f"b{k}" in r.gradients
        stack = _stack_symbol(k, has_bias)
        column = "[x_t ; h_(t−1) ; 1]" if has_bias else "[x_t ; h_(t−1)]"
        out: list[Block] = [
            Heading(3, f"Layer {k}: backpropagation through time, the stacked product read backwards"),
            Para(f"From the last step to the first: ∂L/∂{h}_t gathers what the layers after it send and what comes "
                 f"back from step t + 1 through Wh, and {d}_t = ∂L/∂{h}_t ⊙ {act.symbol or 'f'}′(z_t). Each step's "
                 f"share of ∂L/∂{stack} is {d}_t · {column}ᵀ (the column that step multiplied, summed over the "
                 "examples); the gradient is the sum of the shares, since every step used the same weights.")]
        fwd = self._forward_rnn(k)
        previous = fwd.previous()
        shown_e, _ = pick(examples, self.s.elements)
        shown_u, _ = pick(units, self.s.elements)
        shown_t, hidden_t = pick(positions, self.s.elements)
        for t in sorted(shown_t, reverse=True):
            lines: list[str] = []
            for e in shown_e:
                for i in shown_u:
                    lines += self._line(self._cell(d, e, i, t), self.page.expression("dz", k, (t, i), e),
                                        n.key("dz", k, (t, i), e))
            h_label = (lambda u, e, t=t: rnnworked.hidden_label(fwd, self.rnn._place(fwd, e, t - 1), e, t - 1, u))
            lines += ["", *self._column(k, t, fwd.inputs, previous, has_bias, h_label), ""]
            for name in r.gradients:
                lines += self.rnn_back._contributions(r, name, t)
            shares = [Part(r.contributions[name][t] if r.contributions[name][t].ndim == 2 else
                           r.contributions[name][t][:, None], self._share_label(r, name, t)) for name in r.gradients]
            lines += ["", *joined(f"(∂L/∂{stack})ₜ₌{subscript(str(t))}", self.page, shares)]
            out += [Para(f"**Time step t = {t}:**"), Math(lines)]
        if hidden_t:
            out.append(Para(elided_note(hidden_t, "time steps")))
        lines = []
        for name, grad in r.gradients.items():
            kind = name.rstrip("0123456789")
            for index in self.rnn_back._cells(grad):
                key = n.wkey("d" + kind, k, *index)
                lines += self._line(f"∂L/∂{self.rnn_back._param(name)}[{','.join(map(str, index))}]",
                                    self.page.table.expression(key), key)
        sums = [Part(grad if grad.ndim == 2 else grad[:, None],
                     (lambda i, j, kind=name.rstrip("0123456789"), flat=grad.ndim == 1:
                      n.wkey("d" + kind, k, i) if flat else n.wkey("d" + kind, k, i, j)))
                for name, grad in r.gradients.items()]
        out += [Para(f"**The sum of the {positions} shares:**"), Math(lines),
                Math([*joined(f"∂L/∂{stack}", self.page, sums), "",
                      *tokens(d, self.page, r.delta, lambda e, unit: n.key("dz", k, unit, e))])]
        return out + self.rnn_back._shrinking(r)

    def _share_label(self, r: ThroughTime, name: str, t: int) -> Any:
        """A cell of step t's share is named by what its working reads (δ_t, x_t, h_(t−1)), so it hides with them."""
        kind = "d" + name.rstrip("0123456789")
        place = self.rnn_back._place(r, 0, t, "dz")

        def label(i: int, j: int) -> str:
            expr = rnnworked.contribution(r, kind, place, t, i, *(() if kind == "db" else (j,)))
            names = quantities.labels(expr)
            return quantities.computed_from(*sorted(names)) if names else ""
        return label

    def _forward_rnn(self, k: int) -> Recurrence:
        assert self.training is not None
        return next(r for r in self.training.forward.operations if isinstance(r, Recurrence) and r.layer == k)

    def _to_input(self, k: int, upstream: np.ndarray, formula: str) -> list[Block]:
        n = self.n
        a = n.a(k - 1)
        examples, positions, features = upstream.shape
        lines: list[str] = []
        shown, hidden = self.page.elements(*upstream.shape)
        for e, (t, j) in shown:
            lines += self._line(self._cell(f"∂L/∂{a}", e, j, t), self.page.expression("da", k - 1, (t, j), e),
                                n.key("da", k - 1, (t, j), e))
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Layer {k - 1}: ∂L/∂{a}, at every token"), Math([formula, "", *lines]),
                Math(tokens(f"∂L/∂{a}", self.page, upstream, lambda e, unit: n.key("da", k - 1, unit, e)))]

    def _print_RnnBackToInput(self, r: RnnBackToInput) -> list[Block]:
        k = r.layer
        return self._to_input(k, r.upstream, f"∂L/∂{self.n.a(k - 1)}_t = Wx{subscript(str(k))}ᵀ · {self.n.delta(k)}_t")

    # -- lstm --

    def _print_LSTMForward(self, r: LSTMForward) -> list[Block]:
        n, k, s = self.n, r.layer, subscript(str(r.layer))
        examples, positions, hidden = r.h.shape
        has_bias = r.bias is not None
        stack = _stack_symbol(k, has_bias)
        w = worked(self.page, r)

        def named(kind: Any, t: int) -> Any:  # a gate stack's cell [gate row, example] by its quantity's name
            return lambda row, e: w.key(kind(GATES[row // hidden]), e, t, row % hidden)
        out: list[Block] = [
            Heading(3, f"Layer {k}: the LSTM unrolled, the gate stack one product per time step"),
            Para(f"The four gates' weights stacked into one matrix, {stack}: a band of rows per gate, i (input), "
                 f"f (forget), g (cell candidate) and o (output), PyTorch's order. Times the step's column "
                 f"[x_t ; h_(t−1)" + (" ; 1]" if has_bias else "]") + " it gives all four gates' z at once; then "
                 "i, f, o = σ(z), g = tanh(z), c_t = f ⊙ c_(t−1) + i ⊙ g and h_t = o ⊙ tanh(c_t). A cell is "
                 "written [unit,token] (a gate's rows, [gate row,example] in the stack)."),
            Math(lstm_weights(self.page, k, r.input_weights, r.recurrent_weights, r.bias, r.given))]
        shown_t, hidden_t = pick(positions, self.s.elements)
        shown_e, _ = pick(examples, self.s.elements)
        shown_u, hidden_u = pick(hidden, self.s.elements)
        previous = r.previous_h()
        for t in shown_t:
            h_label = (lambda u, e, t=t: w.hidden_key(e, t - 1, u))
            lines = [*self._column(k, t, r.inputs, previous, has_bias, h_label), ""]
            for q, gate in enumerate(GATES):
                for e in shown_e:
                    for u in shown_u:
                        lines += self._line(self._cell(f"z{s}.{gate}", e, u, t), w.pre_activation(q, e, t, u),
                                            w.key(f"z{gate}", e, t, u))
                        lines += self._line(self._cell(f"{gate}{s}", e, u, t), w.gate(q, e, t, u), w.key(gate, e, t, u))
            stacked = [Part(r.z[:, :, t].transpose(0, 2, 1).reshape(4 * hidden, examples), named(lambda q: f"z{q}", t))]
            gates = [Part(r.gates[:, :, t].transpose(0, 2, 1).reshape(4 * hidden, examples), named(lambda q: q, t))]
            lines += ["", *joined(f"z_{t}", self.page, stacked, every=hidden), "",
                      *joined(f"[i ; f ; g ; o]_{t}", self.page, gates, every=hidden), ""]
            for e in shown_e:
                for u in shown_u:
                    lines += self._line(self._cell(f"c{s}", e, u, t), w.cell(e, t, u), w.key("c", e, t, u))
            for e in shown_e:
                for u in shown_u:
                    lines += self._line(self._cell(f"h{s}", e, u, t), w.hidden(e, t, u), w.hidden_key(e, t, u))
            if hidden_u:
                lines.append(elided_note(hidden_u * len(shown_e) * 6, "elements"))
            out += [Para(f"**Time step t = {t}:**"), Math(lines)]
        if hidden_t:
            out.append(Para(elided_note(hidden_t, "time steps")))
        out.append(Math([*tokens(f"c{s}", self.page, r.c, lambda e, unit: w.key("c", e, *unit)), "",
                         *tokens(f"h{s}", self.page, r.h, lambda e, unit: w.hidden_key(e, *unit))]))
        what = "every hidden state h_t" if r.returns == "sequence" else "the last hidden state, h's last column"
        return out + [Para(f"The layer returns {what}: {n.a(k)}.")]

    def _print_LSTMBackward(self, b: LSTMBackward) -> list[Block]:
        assert self.training is not None
        n, k, s = self.n, b.layer, subscript(str(b.layer))
        r = next(f for f in self.training.forward.operations if isinstance(f, LSTMForward) and f.layer == k)
        w = worked(self.page, r, b)

        def named(kind: Any, t: int) -> Any:  # a gate stack's cell [gate row, example] by its quantity's name
            return lambda row, e: w.key(kind(GATES[row // hidden]), e, t, row % hidden)

        def share(role: str, t: int) -> Any:  # a cell of step t's share, by what its working reads
            return lambda row, j: w.step_share(role, row // hidden, t, row % hidden, *((j,) if role != "b" else ())).label
        examples, positions, hidden = r.h.shape
        has_bias = b.bias_steps is not None
        stack = _stack_symbol(k, has_bias)
        out: list[Block] = [
            Heading(3, f"Layer {k}: the LSTM backwards through time, the gate stack read backwards"),
            Para("From the last step to the first: ∂L/∂h_t gathers what the layers above send and what comes back "
                 "through the next step's gate stack; ∂L/∂c_t what comes through h_t and from c_(t+1) (× f_(t+1)); "
                 "then each gate's ∂L/∂ and its ∂L/∂z, stacked as the forward stack was. Each step's share of "
                 f"∂L/∂{stack} is ∂L/∂z_t · [x_t ; h_(t−1)" + (" ; 1]" if has_bias else "]") + "ᵀ, summed over the "
                 "examples; the gradient is the sum of the shares.")]
        shown_t, hidden_t = pick(positions, self.s.elements)
        shown_e, _ = pick(examples, self.s.elements)
        shown_u, _ = pick(hidden, self.s.elements)
        for t in sorted(shown_t, reverse=True):
            lines: list[str] = []
            for e in shown_e:
                for u in shown_u:
                    lines += self._line(self._cell(f"∂L/∂h{s}", e, u, t), w.dh(e, t, u), w.dh_key(e, t, u))
                    lines += self._line(self._cell(f"∂L/∂c{s}", e, u, t), w.dc(e, t, u), w.key("dc", e, t, u))
            for q, gate in enumerate(GATES):
                for e in shown_e:
                    for u in shown_u:
                        lines += self._line(self._cell(f"∂L/∂{gate}{s}", e, u, t), w.dgate(q, e, t, u),
                                            w.key(f"d{gate}", e, t, u))
                        lines += self._line(self._cell(f"∂L/∂z{s}.{gate}", e, u, t), w.dz(q, e, t, u),
                                            w.key(f"dz{gate}", e, t, u))
            dz = [Part(b.dz[:, :, t].transpose(0, 2, 1).reshape(4 * hidden, examples), named(lambda q: f"dz{q}", t))]
            shares = [Part(b.input_steps[:, t].reshape(4 * hidden, -1), share("Wx", t)),
                      Part(b.recurrent_steps[:, t].reshape(4 * hidden, -1), share("Wh", t))]
            if has_bias:
                shares.append(Part(b.bias_steps[:, t].reshape(-1)[:, None], share("b", t)))
            lines += ["", *joined(f"∂L/∂z_{t}", self.page, dz, every=hidden), "",
                      *joined(f"(∂L/∂{stack})ₜ₌{subscript(str(t))}", self.page, shares, every=hidden)]
            out += [Para(f"**Time step t = {t}:**"), Math(lines)]
        if hidden_t:
            out.append(Para(elided_note(hidden_t, "time steps")))
        lines = []
        for q, gate in enumerate(GATES):
            for role, grad in (("Wx", b.input_grad[q]), ("Wh", b.recurrent_grad[q])) + \
                    ((("b", b.bias_grad[q]),) if has_bias else ()):
                rows, _ = pick(grad.shape[0], self.s.elements)
                cols = [None] if grad.ndim == 1 else pick(grad.shape[1], self.s.elements)[0]
                for u in rows:
                    for j in cols:
                        index = (u,) if j is None else (u, j)
                        key = quantities.name(f"d{role}", k, *index, step=n.step, part=gate)
                        lines += self._line(f"∂L/∂{n.param(parameter_name(role, k, gate))}[{','.join(map(str, index))}]",
                                            self.page.table.expression(key), key)
        def key(role: str, row: int, j: int | None) -> str:
            q, u = divmod(row, hidden)
            return quantities.name(f"d{role}", k, *((u,) if j is None else (u, j)), step=n.step, part=GATES[q])
        sums = [Part(b.input_grad.reshape(4 * hidden, -1), lambda row, j: key("Wx", row, j)),
                Part(b.recurrent_grad.reshape(4 * hidden, -1), lambda row, j: key("Wh", row, j))]
        if has_bias:
            sums.append(Part(b.bias_grad.reshape(-1)[:, None], lambda row, _: key("b", row, None)))
        return out + [Para(f"**The sum of the {positions} shares:**"), Math(lines),
                      Math(joined(f"∂L/∂{stack}", self.page, sums, every=hidden))]

    def _print_LSTMBackToInput(self, b: LSTMBackToInput) -> list[Block]:
        k = b.layer
        return self._to_input(k, b.upstream, f"∂L/∂{self.n.a(k - 1)}_t = Σ_q Wx{subscript(str(k))}.qᵀ · ∂L/∂z_q,t")
