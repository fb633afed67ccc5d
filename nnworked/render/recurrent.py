"""The walkthrough of an rnn layer: the recurrence unrolled, time step by time step, forward; and
backpropagation through time, from the last step to the first, with each step's ∂L/∂h_t (what the layers
after it send plus what comes back through W_h), its δ_t, and its contribution to each shared weight's
gradient, then their sums. Every value comes from the table of quantities (`nnworked.rnnworked`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked import rnnworked
from nnworked.quantities import computed_from
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, subscript, vector
from nnworked.render.page import Numbering, Page
from nnworked.rnn_records import Recurrence, RnnBackToInput, ThroughTime
from nnworked.rules.activations import ACTIVATIONS


def _symbols(k: int) -> tuple[str, str, str]:
    s = subscript(str(k))
    return f"Wx{s}", f"Wh{s}", f"b{s}"  # as the setup names them


class _Rnn:
    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _line(self, lhs: str, expr: Any, label: str = "") -> list[str]:
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _place(self, record: Any, n: int, t: int, kind: str = "z") -> Any:
        """Where an element at example n, step t is worked (for the lines no quantity names)."""
        from nnworked import quantities
        from nnworked.workings import Place

        key = quantities.parse(self.n.key(kind, record.layer, (t, 0), n))
        table = self.page.table
        return Place(table.trace, key, table.trace.scenario.inputs.shape[0], (t, 0), n,
                     key.step == quantities.FIRST_STEP, sequence=True)


class RecurrentForward(_Rnn):
    """The forward record of an rnn layer, on a Page."""

    def _print_Recurrence(self, r: Recurrence, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, r.layer, numbering.next()
        wx, wh, b = _symbols(k)
        act = ACTIVATIONS[r.activation]
        f = act.symbol or "f"
        examples, positions, units = r.z.shape
        h = n.a(k)
        bias = f" + {b}" if r.bias is not None else ""
        out: list[Block] = [
            Heading(3, f"Step {step}: Recurrent Layer, Time Step by Time Step"),
            Para(f"**The recurrence** (as PyTorch's nn.RNN): the same weights at every time step t = 0 … "
                 f"{positions - 1}; each step's {h}_t reads the input at t and the state {h}_(t−1) the step before "
                 f"left, starting from the initial state {h}_(−1) = {vector(r.initial, self.p, given=True)}."),
            Math([f"z_t = {wx} · x_t + {wh} · {h}_(t−1){bias}", f"{h}_t = {f}(z_t)"])]
        lines: list[str] = []
        shown_e, hidden_e = pick(examples, self.s.elements)
        shown_u, hidden_u = pick(units, self.s.elements)
        for t in range(positions):
            lines.append(f"Time step t = {t}:")
            for e in shown_e:
                for i in shown_u:
                    lines += self._line(n.element(n.z(k), e, (t, i), units), self.page.expression("z", k, (t, i), e),
                                        n.key("z", k, (t, i), e))
                for i in shown_u:
                    lines += self._line(n.element(h, e, (t, i), units), self._h_expression(r, e, t, i),
                                        self._h_label(r, e, t, i))
            if hidden_u or hidden_e:
                lines.append(elided_note(examples * units - len(shown_e) * len(shown_u)))
            lines.append("")
        out.append(Math(lines[:-1]))
        out += self.page.result(n.z(k), r.z, n.keys("z", k))
        if r.returns == "last":
            out.append(Para(f"**The layer returns the last state only:** {h} = {h}_{positions - 1}."))
        return out + self.page.result(h, r.output, n.keys("a", k))

    def _h_label(self, r: Recurrence, e: int, t: int, i: int) -> str:
        return rnnworked.hidden_label(r, self._place(r, e, t), e, t, i)

    def _h_expression(self, r: Recurrence, e: int, t: int, i: int) -> Any:
        if r.returns == "sequence":
            return self.page.expression("a", r.layer, (t, i), e)
        if t == r.z.shape[1] - 1:
            return self.page.expression("a", r.layer, i, e)
        names = [self.n.key("z", r.layer, (t, u), e) for u in range(r.z.shape[2])]
        return ACTIVATIONS[r.activation].row_expr(list(r.z[e, t]), i, r.slope, names)

    def _compact_Recurrence(self, r: Recurrence) -> list[str]:
        return [*self.page.array(self.n.a(r.layer), r.output, self.n.keys("a", r.layer)), ""]


class RecurrentBackward(_Rnn):
    """The backward records of an rnn layer, on a Page."""

    def __init__(self, page: Page, training: Any):
        super().__init__(page)
        self.training = training

    def _print_ThroughTime(self, r: ThroughTime, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, r.layer, numbering.next()
        wx, wh, b = _symbols(k)
        act = ACTIVATIONS[r.activation]
        h, d = n.a(k), n.delta(k)
        examples, positions, units = r.delta.shape
        after = ("at every time step" if r.returns == "sequence" else f"at the last step only, since the layer "
                 f"returns {h}_{positions - 1}")
        out: list[Block] = [
            Heading(3, f"Step {label}: Backpropagation Through Time"),
            Para(f"**Backwards through the steps, from t = {positions - 1} to 0:** {h}_t reaches the loss through the "
                 f"layers after it ({after}) and through {h}_(t+1), which it fed, so its gradient sums both paths; the "
                 f"last step has no successor. Every step uses the same {wx}, {wh}" +
                 (f" and {b}" if "b" + str(k) in r.gradients else "") +
                 ", so each step adds its own contribution to their gradients, and the gradient is the sum."),
            Math([f"∂L/∂{h}_t = ∂L/∂a_t (from the layers after it) + {wh}ᵀ · {d}_(t+1)",
                  "(∂L/∂W)ₜ: the share of step t in a shared weight's gradient",
                  f"{d}_t = ∂L/∂{h}_t ⊙ {act.symbol or 'f'}′(z_t)" + (f",   {act.derivative_formula}"
                                                                        if act.elementwise else "")])]
        shown_e, _ = pick(examples, self.s.elements)
        shown_u, _ = pick(units, self.s.elements)
        lines: list[str] = []
        for t in range(positions - 1, -1, -1):
            lines.append(f"Time step t = {t}:")
            for e in shown_e:
                for i in shown_u:
                    lines += self._line(n.element(d, e, (t, i), units), self.page.expression("dz", k, (t, i), e),
                                        n.key("dz", k, (t, i), e))
            for name in r.gradients:
                lines += self._contributions(r, name, t)
            lines.append("")
        if examples * units > len(shown_e) * len(shown_u):
            lines.append(elided_note(examples * units - len(shown_e) * len(shown_u)))
        out.append(Math(lines[:-1] if lines[-1] == "" else lines))
        out += self.page.result(d, r.delta, n.keys("dz", k))
        out.append(Para(f"**Each shared weight's gradient is the sum of its {positions} contributions:**"))
        lines = []
        for name, grad in r.gradients.items():
            kind = name.rstrip("0123456789")
            for index in self._cells(grad):
                lines += self._line(f"∂L/∂{self._param(name)}[{','.join(map(str, index))}]",
                                    self.page.table.expression(n.wkey("d" + kind, k, *index)),
                                    n.wkey("d" + kind, k, *index))
        out.append(Math(lines))
        out += self._shrinking(r)
        return out

    def _param(self, name: str) -> str:
        k = int("".join(c for c in name if c.isdigit()))
        wx, wh, b = _symbols(k)
        return {"Wx": wx, "Wh": wh, "b": b}[name.rstrip("0123456789")]

    def _cells(self, grad: np.ndarray) -> list[tuple[int, ...]]:
        rows, _ = pick(grad.shape[0], self.s.elements)
        if grad.ndim == 1:
            return [(i,) for i in rows]
        cols, _ = pick(grad.shape[1], self.s.elements)
        return [(i, j) for i in rows for j in cols]

    def _contributions(self, r: ThroughTime, name: str, t: int) -> list[str]:
        """Step t's share of one shared parameter's gradient, cell by cell (no quantity of its own)."""
        from nnworked.quantities import labels

        kind = "d" + name.rstrip("0123456789")
        lines: list[str] = []
        for index in self._cells(r.gradients[name]):
            expr = rnnworked.contribution(r, kind, self._place(r, 0, t, "dz"), t, *index)
            lines += self._line(f"(∂L/∂{self._param(name)}[{','.join(map(str, index))}])ₜ₌{subscript(str(t))}", expr,
                                computed_from(*sorted(labels(expr))) if labels(expr) else "")
        return lines

    def _shrinking(self, r: ThroughTime) -> list[Block]:
        """How the size of δ_t changes from one step to the one before: vanishing or exploding through time."""
        from nnworked.render.numbers import on_sheet

        positions = r.delta.shape[1]
        if positions < 2 or on_sheet():  # on a sheet the trend would tell what the blanked δ are
            return []
        from nnworked.render.observations import _norm

        sizes = [_norm(r.delta[:, t]) for t in range(positions)]  # scaled first: squares of 1e200 overflow
        if not all(np.isfinite(sizes)):
            return []  # a size too large to write says nothing a reader can use
        examples, units = r.delta.shape[0], r.delta.shape[2]
        keys = [[self.n.key("dz", r.layer, (t, i), e) for e in range(examples) for i in range(units)]
                for t in range(positions)]  # a size hides on a sheet with the δ it is computed from
        shown = "; ".join(f"step {t}: {fmt(v, self.p, label=computed_from(*keys[t]))}" for t, v in enumerate(sizes))
        late, early = sizes[-1], sizes[0]
        if late == 0:
            trend = ""
        elif early < late / 2:
            trend = (" The gradient shrinks as it goes back in time (it vanishes): the early steps learn least, "
                     "each pass back through the recurrence multiplying it by f′ and W_h again.")
        elif early > late * 2:
            trend = " The gradient grows as it goes back in time (it explodes): each pass back through W_h enlarges it."
        else:
            trend = " Its size stays within a factor of 2 across the steps."
        return [Para(f"**The size of δ at each step** (√ of the sum of its squares): {shown}.{trend}")]

    def _print_RnnBackToInput(self, r: RnnBackToInput, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, r.layer, numbering.next()
        wx = _symbols(k)[0]
        a = n.a(k - 1)
        out: list[Block] = [Heading(3, f"Step {label}: Backpropagate to {n.layer_name(k - 1)} Layer"),
                            Math([f"∂L/∂{a}_t = {wx}ᵀ × {n.delta(k)}_t   (at every time step)", ""])]
        lines: list[str] = []
        shown, hidden = self.page.elements(*r.upstream.shape)
        for e, unit in shown:
            lines += self._line(f"∂L/∂{n.element(a, e, unit, r.upstream.shape[-1])}",
                                self.page.expression("da", k - 1, unit, e), n.key("da", k - 1, unit, e))
        if hidden:
            lines.append(elided_note(hidden))
        out.append(Math(lines))
        return out + self.page.result(f"∂L/∂{a}", r.upstream, n.keys("da", k - 1))
