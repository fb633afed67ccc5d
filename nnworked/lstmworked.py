"""Each value of an LSTM layer worked as one expression tree, from its forward and backward records: a gate's
pre-activation and value, the cell and hidden states, and backward through time ∂L/∂h_t and ∂L/∂c_t (both
paths), each gate's derivative, each step's contribution to a shared weight's gradient and their sum, and
∂L/∂x_t. Each tree is built exactly as the rule computed the value (`nnworked.rules.layers.lstm`: the
same operations in the same nesting), so under `rounding: carry` its worked line ends in the stored value
digit for digit; tests/test_lstm.py proves it for every element."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.lstm_records import GATES, LSTMBackward, LSTMForward
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.lstm import GATE_ACTIVATIONS


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


class Worked(NamedTuple):
    """The expressions of one LSTM layer's values in one pass (`back` is None for a forward pass alone)."""

    fwd: LSTMForward
    back: LSTMBackward | None = None

    @property
    def first_layer(self) -> bool:
        return self.fwd.layer == 1

    # -- forward --

    def pre_activation(self, q: int, e: int, t: int, u: int) -> Expr:
        """z_q[e, t, u] = Σⱼ W_x,q[u, j] × x_t[j] + Σⱼ W_h,q[u, j] × h_{t−1}[j] + b_q[u]."""
        f = self.fwd
        h_prev = f.previous_h()[e, t]
        state_given = t == 0  # h₀ is the file's (or zeros)
        terms: list[Expr] = [op("mul", num(w, f.given), num(x, self.first_layer))
                             for w, x in zip(f.input_weights[q, u], f.inputs[e, t])]
        terms += [op("mul", num(w, f.given), num(h, state_given)) for w, h in zip(f.recurrent_weights[q, u], h_prev)]
        if f.bias is not None:
            terms.append(num(f.bias[q, u], f.given))
        return _sum(terms)

    def gate(self, q: int, e: int, t: int, u: int) -> Expr:
        """i, f, o = σ(z), g = tanh(z)."""
        rule = ACTIVATIONS[GATE_ACTIVATIONS[GATES[q]]]
        return rule.expand(float(self.fwd.z[q, e, t, u]), 0.0, "")

    def _gate(self, q: int, e: int, t: int, u: int) -> Expr:
        return num(self.fwd.gates[q, e, t, u])

    def cell(self, e: int, t: int, u: int) -> Expr:
        """c_t = f × c_{t−1} + i × g."""
        c_prev = num(self.fwd.previous_c()[e, t, u], t == 0)
        return op("add", op("mul", self._gate(1, e, t, u), c_prev), op("mul", self._gate(0, e, t, u), self._gate(2, e, t, u)))

    def hidden(self, e: int, t: int, u: int) -> Expr:
        """h_t = o × tanh(c_t)."""
        return op("mul", self._gate(3, e, t, u), op("tanh", num(self.fwd.c[e, t, u])))

    # -- backward through time --

    def _back(self) -> LSTMBackward:
        assert self.back is not None, "a forward pass alone has no backward working"
        return self.back

    def _sent(self, e: int, t: int, u: int) -> float | None:
        b, f = self._back(), self.fwd
        if f.returns == "sequence":
            return float(b.upstream[e, t, u])
        return float(b.upstream[e, u]) if t == f.h.shape[1] - 1 else None

    def recurrent_terms(self, e: int, t: int, u: int) -> list[Expr]:
        """W_h,q[v, u] × ∂L/∂z_q[t + 1, v] for every gate q and unit v: what h_t sends into step t + 1."""
        b, f = self._back(), self.fwd
        hidden = f.h.shape[2]
        return [op("mul", num(f.recurrent_weights[q, v, u], f.given), num(b.dz[q, e, t + 1, v]))
                for q in range(4) for v in range(hidden)]

    def dh(self, e: int, t: int, u: int) -> Expr:
        """∂L/∂h_t = what the layers after it send + Σ W_h,qᵀ·∂L/∂z_q,t+1 (none after the last step)."""
        sent = self._sent(e, t, u)
        if t == self.fwd.h.shape[1] - 1:
            return num(sent if sent is not None else 0.0)
        back = _sum(self.recurrent_terms(e, t, u))
        return back if sent is None else op("add", num(sent), back)

    def dc(self, e: int, t: int, u: int) -> Expr:
        """∂L/∂c_t = ∂L/∂h_t × o_t × (1 − tanh²(c_t)) + ∂L/∂c_{t+1} × f_{t+1}."""
        b, f = self._back(), self.fwd
        through = op("mul", op("mul", num(b.dh[e, t, u]), self._gate(3, e, t, u)),
                     op("sub", num(1, True), op("pow", num(f.tanh_c[e, t, u]), num(2, True))))
        if t == f.h.shape[1] - 1:
            return through
        return op("add", through, op("mul", num(b.dc[e, t + 1, u]), num(f.gates[1, e, t + 1, u])))

    def dgate(self, q: int, e: int, t: int, u: int) -> Expr:
        """∂L/∂i = ∂L/∂c × g, ∂L/∂f = ∂L/∂c × c_{t−1}, ∂L/∂g = ∂L/∂c × i, ∂L/∂o = ∂L/∂h × tanh(c)."""
        b, f = self._back(), self.fwd
        dc = num(b.dc[e, t, u])
        if q == 0:
            return op("mul", dc, self._gate(2, e, t, u))
        if q == 1:
            return op("mul", dc, num(f.previous_c()[e, t, u], t == 0))
        if q == 2:
            return op("mul", dc, self._gate(0, e, t, u))
        return op("mul", num(b.dh[e, t, u]), num(f.tanh_c[e, t, u]))

    def dz(self, q: int, e: int, t: int, u: int) -> Expr:
        """∂L/∂z_q = ∂L/∂q × σ′ (= q(1 − q)) for i, f, o, × tanh′ (= 1 − g²) for g."""
        b, f = self._back(), self.fwd
        rule = ACTIVATIONS[GATE_ACTIVATIONS[GATES[q]]]
        derivative, _ = rule.derivative_expr(float(f.z[q, e, t, u]), float(f.gates[q, e, t, u]), 0.0)
        return op("mul", num(b.dgates[q, e, t, u]), derivative)

    def input_step(self, q: int, t: int, u: int, j: int) -> Expr:
        """Step t's contribution to ∂L/∂W_x,q[u, j]: Σₙ ∂L/∂z_q[n, t, u] × x[n, t, j]."""
        b, f = self._back(), self.fwd
        return _sum([op("mul", num(b.dz[q, n, t, u]), num(f.inputs[n, t, j], self.first_layer))
                     for n in range(f.inputs.shape[0])])

    def recurrent_step(self, q: int, t: int, u: int, j: int) -> Expr:
        """Step t's contribution to ∂L/∂W_h,q[u, j]: Σₙ ∂L/∂z_q[n, t, u] × h_{t−1}[n, j]."""
        b, f = self._back(), self.fwd
        h_prev = f.previous_h()
        return _sum([op("mul", num(b.dz[q, n, t, u]), num(h_prev[n, t, j], t == 0))
                     for n in range(f.inputs.shape[0])])

    def bias_step(self, q: int, t: int, u: int) -> Expr:
        """Step t's contribution to ∂L/∂b_q[u]: Σₙ ∂L/∂z_q[n, t, u]."""
        b = self._back()
        return _sum([num(b.dz[q, n, t, u]) for n in range(b.dz.shape[1])])

    def total(self, steps: np.ndarray) -> Expr:
        """A shared weight's gradient: the sum of every step's contribution (`steps`, one per position)."""
        return _sum([num(v) for v in steps])

    def input_gradient(self, e: int, t: int, j: int) -> Expr:
        """∂L/∂x_t[j] = Σ_q Σᵤ W_x,q[u, j] × ∂L/∂z_q[t, u]."""
        b, f = self._back(), self.fwd
        hidden = f.h.shape[2]
        return _sum([op("mul", num(f.input_weights[q, u, j], f.given), num(b.dz[q, e, t, u]))
                     for q in range(4) for u in range(hidden)])


# ---- the table of quantities: how each named value of an LSTM layer is worked (nnworked.workings) ------

def _output(r: LSTMForward, kind: str, p) -> Expr:  # noqa: ANN001
    """a_k at (example, position, unit): the hidden state h_t (h_T for return: last)."""
    t, u = (p.unit[0], p.unit[-1]) if p.sequence else (r.h.shape[1] - 1, p.i)
    return Worked(r).hidden(p.n, t, u)


def _to_input(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂a_{k−1}[n, t, j] = Σ_q Σᵤ W_x,q[u, j] × ∂L/∂z_q[n, t, u]."""
    t, j = p.unit[0], p.unit[-1]
    hidden = r.dz.shape[3]
    return _sum([op("mul", num(r.input_weights[q, u, j], p.first), num(r.dz[q, p.n, t, u]))
                 for q in range(4) for u in range(hidden)])


def _gradient(r: LSTMBackward, kind: str, p) -> Expr:  # noqa: ANN001
    """A shared weight's gradient: the sum of each step's contribution."""
    q, index = GATES.index(p.key.part), p.key.index
    steps = {"dWx": r.input_steps, "dWh": r.recurrent_steps, "db": r.bias_steps}[kind]
    assert steps is not None
    return _sum([num(v) for v in steps[(q, slice(None), *index)]])


WORKERS = {"LSTMForward": _output, "LSTMBackToInput": _to_input, "LSTMBackward": _gradient}
