"""Each value of an LSTM layer worked as one expression tree, from its forward and backward records: a gate's
pre-activation and value, the cell and hidden states, and backward through time ∂L/∂h_t and ∂L/∂c_t (both
paths), each gate's derivative, each step's contribution to a shared weight's gradient and their sum, and
∂L/∂x_t. Each tree is built exactly as the rule computed the value (`nnworked.rules.layers.lstm`: the
same operations in the same nesting), so under `rounding: carry` its worked line ends in the stored value
digit for digit; tests/test_lstm.py proves it for every element."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.expr import Expr, num, op
from nnworked.lstm_records import GATES, LSTMBackToInput, LSTMBackward, LSTMForward
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.lstm import GATE_ACTIVATIONS


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


class Worked(NamedTuple):
    """The expressions of one LSTM layer's values in one pass (`back` is None for a forward pass alone). With a
    place (`workings.Place`) each number carries the name of the quantity it is, in that place's pass (the
    gates zi1[n,t,u] … o1, c1, the states a1 or h1, back through time dh1, dc1, di1 … dzo1, a weight
    after an earlier update), with the value the place works with (grading: the student's own), so a sheet
    hides exactly a blank and what is computed from it; without one (the tests of the rule) none is named."""

    fwd: LSTMForward
    back: LSTMBackward | None = None
    p: Any = None  # a workings.Place, or None

    @property
    def first_layer(self) -> bool:
        return self.fwd.layer == 1

    # -- the names of the numbers --

    def key(self, kind: str, e: int, t: int, u: int) -> str:
        """The name of a value of step t (zi1[e,t,u], c1[e,t,u], dh1[e,t,u] …) in this pass; "" without a place."""
        return "" if self.p is None else self.p.at(kind, self.fwd.layer, (t, u), e)

    def hidden_key(self, e: int, t: int, u: int) -> str:
        """h_t's name: the output a{k}[e,t,u] (return: sequence), a{k}[u] at the last step (return: last), else
        the intermediate h{k}[e,t,u]."""
        f = self.fwd
        if f.returns == "sequence":
            return self.key("a", e, t, u)
        if t == f.h.shape[1] - 1:
            return "" if self.p is None else self.p.at("a", f.layer, u, e)
        return self.key("h", e, t, u)

    def dh_key(self, e: int, t: int, u: int) -> str:
        """∂L/∂h_t's name: dh{k}[e,t,u], but at the last step it is what the layers after it send, ∂L/∂a{k}."""
        f = self.fwd
        if t < f.h.shape[1] - 1:
            return self.key("dh", e, t, u)
        if self.p is None:
            return ""
        return self.p.at("da", f.layer, (t, u) if f.returns == "sequence" else u, e)

    def _named(self, label: str, value: float, given: bool = False) -> Expr:
        """A number by its name, with the value the place works with."""
        value = float(value)
        return num(value if self.p is None or not label else self.p.value(label, value), given, label)

    def _before(self, role: str, q: int, *index: int) -> str:
        """A weight as this pass uses it: "" in step 1 (given), else its value after the update before."""
        from nnworked.quantities import FINAL, name

        if self.p is None:
            return ""
        step = self.p.key.step
        previous = len(self.p.trace.steps) if step == FINAL else int(step) - 1
        return "" if previous < 1 else name(role, self.fwd.layer, *index, step=previous, part=GATES[q])

    def _weight(self, role: str, q: int, *index: int) -> Expr:
        f = self.fwd
        array = {"Wx": f.input_weights, "Wh": f.recurrent_weights, "b": f.bias}[role]
        return self._named(self._before(role, q, *index), array[(q, *index)], f.given)

    def _input(self, e: int, t: int, j: int) -> Expr:
        """x_t[j]: given to the first layer, the layer before's output a{k−1}[e,t,j] to a later one."""
        label = "" if self.first_layer or self.p is None else self.p.at("a", self.fwd.layer - 1, (t, j), e)
        return self._named(label, self.fwd.inputs[e, t, j], self.first_layer)

    def previous_h(self, e: int, t: int, u: int) -> Expr:
        """h_{t−1}[u]: the initial state (given) at the first step."""
        f = self.fwd
        if t == 0:
            return num(f.h0[u], True)
        return self._named(self.hidden_key(e, t - 1, u), f.h[e, t - 1, u])

    def previous_c(self, e: int, t: int, u: int) -> Expr:
        f = self.fwd
        if t == 0:
            return num(f.c0[u], True)
        return self._named(self.key("c", e, t - 1, u), f.c[e, t - 1, u])

    def _gate(self, q: int, e: int, t: int, u: int) -> Expr:
        return self._named(self.key(GATES[q], e, t, u), self.fwd.gates[q, e, t, u])

    def _tanh_c(self, e: int, t: int, u: int) -> Expr:
        """tanh(c_t) as one number: no quantity of its own (no line works it alone), it is named by the c it is
        computed from, and grading works it again from a student's own c."""
        from nnworked.quantities import computed_from
        from nnworked.worked import value

        label = self.key("c", e, t, u)
        looked = self.p is not None and self.p.looked
        tanh_c = value(self.tanh_cell(e, t, u), self.p.trace.precision) if looked else float(self.fwd.tanh_c[e, t, u])
        return num(tanh_c, label=computed_from(label) if label else "")

    # -- forward --

    def pre_activation(self, q: int, e: int, t: int, u: int) -> Expr:
        """z_q[e, t, u] = Σⱼ W_x,q[u, j] × x_t[j] + Σⱼ W_h,q[u, j] × h_{t−1}[j] + b_q[u]."""
        f = self.fwd
        terms: list[Expr] = [op("mul", self._weight("Wx", q, u, j), self._input(e, t, j))
                             for j in range(f.inputs.shape[2])]
        terms += [op("mul", self._weight("Wh", q, u, j), self.previous_h(e, t, j)) for j in range(f.h.shape[2])]
        if f.bias is not None:
            terms.append(self._weight("b", q, u))
        return _sum(terms)

    def gate(self, q: int, e: int, t: int, u: int) -> Expr:
        """i, f, o = σ(z), g = tanh(z)."""
        rule = ACTIVATIONS[GATE_ACTIVATIONS[GATES[q]]]
        label = self.key(f"z{GATES[q]}", e, t, u)
        return rule.expand(self._named(label, self.fwd.z[q, e, t, u]).value, 0.0, label)

    def cell(self, e: int, t: int, u: int) -> Expr:
        """c_t = f × c_{t−1} + i × g."""
        return op("add", op("mul", self._gate(1, e, t, u), self.previous_c(e, t, u)),
                  op("mul", self._gate(0, e, t, u), self._gate(2, e, t, u)))

    def tanh_cell(self, e: int, t: int, u: int) -> Expr:
        """tanh(c_t)."""
        return op("tanh", self._named(self.key("c", e, t, u), self.fwd.c[e, t, u]))

    def hidden(self, e: int, t: int, u: int) -> Expr:
        """h_t = o × tanh(c_t)."""
        return op("mul", self._gate(3, e, t, u), self.tanh_cell(e, t, u))

    # -- backward through time --

    def _back(self) -> LSTMBackward:
        assert self.back is not None, "a forward pass alone has no backward working"
        return self.back

    def _sent(self, e: int, t: int, u: int) -> float | None:
        b, f = self._back(), self.fwd
        if f.returns == "sequence":
            return float(b.upstream[e, t, u])
        return float(b.upstream[e, u]) if t == f.h.shape[1] - 1 else None

    def _dz(self, q: int, e: int, t: int, u: int) -> Expr:
        return self._named(self.key(f"dz{GATES[q]}", e, t, u), self._back().dz[q, e, t, u])

    def _dh(self, e: int, t: int, u: int) -> Expr:
        return self._named(self.dh_key(e, t, u), self._back().dh[e, t, u])

    def _dc(self, e: int, t: int, u: int) -> Expr:
        return self._named(self.key("dc", e, t, u), self._back().dc[e, t, u])

    def recurrent_terms(self, e: int, t: int, u: int) -> list[Expr]:
        """W_h,q[v, u] × ∂L/∂z_q[t + 1, v] for every gate q and unit v: what h_t sends into step t + 1."""
        hidden = self.fwd.h.shape[2]
        return [op("mul", self._weight("Wh", q, v, u), self._dz(q, e, t + 1, v)) for q in range(4) for v in range(hidden)]

    def dh(self, e: int, t: int, u: int) -> Expr:
        """∂L/∂h_t = what the layers after it send + Σ W_h,qᵀ·∂L/∂z_q,t+1 (none after the last step)."""
        sent = self._sent(e, t, u)
        if t == self.fwd.h.shape[1] - 1:
            return self._named(self.dh_key(e, t, u), sent if sent is not None else 0.0)
        back = _sum(self.recurrent_terms(e, t, u))
        if sent is None:
            return back
        f = self.fwd
        label = "" if self.p is None else self.p.at("da", f.layer, (t, u), e)
        return op("add", self._named(label, sent), back)

    def dc(self, e: int, t: int, u: int) -> Expr:
        """∂L/∂c_t = ∂L/∂h_t × o_t × (1 − tanh²(c_t)) + ∂L/∂c_{t+1} × f_{t+1}."""
        through = op("mul", op("mul", self._dh(e, t, u), self._gate(3, e, t, u)),
                     op("sub", num(1, True), op("pow", self._tanh_c(e, t, u), num(2, True))))
        if t == self.fwd.h.shape[1] - 1:
            return through
        return op("add", through, op("mul", self._dc(e, t + 1, u), self._gate(1, e, t + 1, u)))

    def dgate(self, q: int, e: int, t: int, u: int) -> Expr:
        """∂L/∂i = ∂L/∂c × g, ∂L/∂f = ∂L/∂c × c_{t−1}, ∂L/∂g = ∂L/∂c × i, ∂L/∂o = ∂L/∂h × tanh(c)."""
        if q == 0:
            return op("mul", self._dc(e, t, u), self._gate(2, e, t, u))
        if q == 1:
            return op("mul", self._dc(e, t, u), self.previous_c(e, t, u))
        if q == 2:
            return op("mul", self._dc(e, t, u), self._gate(0, e, t, u))
        return op("mul", self._dh(e, t, u), self._tanh_c(e, t, u))

    def dz(self, q: int, e: int, t: int, u: int) -> Expr:
        """∂L/∂z_q = ∂L/∂q × σ′ (= q(1 − q)) for i, f, o, × tanh′ (= 1 − g²) for g."""
        b, f = self._back(), self.fwd
        rule = ACTIVATIONS[GATE_ACTIVATIONS[GATES[q]]]
        z, gate = self._named(self.key(f"z{GATES[q]}", e, t, u), f.z[q, e, t, u]), self._gate(q, e, t, u)
        derivative, _ = rule.derivative_expr(z.value, gate.value, 0.0, gate.label)
        return op("mul", self._named(self.key(f"d{GATES[q]}", e, t, u), b.dgates[q, e, t, u]), derivative)

    def input_step(self, q: int, t: int, u: int, j: int) -> Expr:
        """Step t's contribution to ∂L/∂W_x,q[u, j]: Σₙ ∂L/∂z_q[n, t, u] × x[n, t, j]."""
        return _sum([op("mul", self._dz(q, n, t, u), self._input(n, t, j)) for n in range(self.fwd.inputs.shape[0])])

    def recurrent_step(self, q: int, t: int, u: int, j: int) -> Expr:
        """Step t's contribution to ∂L/∂W_h,q[u, j]: Σₙ ∂L/∂z_q[n, t, u] × h_{t−1}[n, j]."""
        return _sum([op("mul", self._dz(q, n, t, u), self.previous_h(n, t, j)) for n in range(self.fwd.inputs.shape[0])])

    def bias_step(self, q: int, t: int, u: int) -> Expr:
        """Step t's contribution to ∂L/∂b_q[u]: Σₙ ∂L/∂z_q[n, t, u]."""
        return _sum([self._dz(q, n, t, u) for n in range(self._back().dz.shape[1])])

    def step(self, role: str, q: int, t: int, *index: int) -> Expr:
        """Step t's contribution to the gradient of W_x, W_h or b of gate q at `index`."""
        if role == "b":
            return self.bias_step(q, t, *index)
        return (self.input_step if role == "Wx" else self.recurrent_step)(q, t, *index)

    def step_share(self, role: str, q: int, t: int, *index: int) -> Expr:
        """Step t's contribution as one number, named by what its working reads (it hides with them, and grading
        works it again from a student's own ∂L/∂z)."""
        from nnworked.quantities import computed_from, labels
        from nnworked.worked import value

        b = self._back()
        steps = {"Wx": b.input_steps, "Wh": b.recurrent_steps, "b": b.bias_steps}[role]
        assert steps is not None
        expr = self.step(role, q, t, *index)
        stored = float(steps[(q, t, *index)])
        looked = self.p is not None and self.p.looked
        found = labels(expr)
        return num(value(expr, self.p.trace.precision) if looked else stored,
                   label=computed_from(*sorted(found)) if found else "")

    def total(self, steps: np.ndarray) -> Expr:
        """A shared weight's gradient: the sum of every step's contribution (`steps`, one per position)."""
        return _sum([num(v) for v in steps])

    def input_gradient(self, e: int, t: int, j: int) -> Expr:
        """∂L/∂x_t[j] = Σ_q Σᵤ W_x,q[u, j] × ∂L/∂z_q[t, u]."""
        hidden = self.fwd.h.shape[2]
        return _sum([op("mul", self._weight("Wx", q, u, j), self._dz(q, e, t, u)) for q in range(4) for u in range(hidden)])


# ---- the table of quantities: how each named value of an LSTM layer is worked (nnworked.workings) ------

def _records(p, k: int) -> tuple[LSTMForward, LSTMBackward | None]:  # noqa: ANN001
    """Layer k's forward and backward records in the pass of `p`."""
    from nnworked.workings import _pass

    forward, _, step = _pass(p.trace, p.key.step)
    fwd = next(r for r in forward.operations if isinstance(r, LSTMForward) and r.layer == k)
    back = None if step is None else next((r for r in step.backward if isinstance(r, LSTMBackward) and r.layer == k),
                                          None)
    return fwd, back


def _output(r: LSTMForward, kind: str, p) -> Expr:  # noqa: ANN001
    """a_k at (example, position, unit): the hidden state h_t (h_T for return: last)."""
    t, u = (p.unit[0], p.unit[-1]) if p.sequence else (r.h.shape[1] - 1, p.i)
    return Worked(r, p=p).hidden(p.n, t, u)


def _forward_intermediate(r: LSTMForward, kind: str, p) -> Expr:  # noqa: ANN001
    """zi1[n,t,u] … o1, c1, h1: worked as the walkthrough prints them."""
    w, (t, u) = Worked(r, p=p), p.unit
    if kind in GATES:
        return w.gate(GATES.index(kind), p.n, t, u)
    if kind.startswith("z"):
        return w.pre_activation(GATES.index(kind[1:]), p.n, t, u)
    return {"c": w.cell, "h": w.hidden}[kind](p.n, t, u)


def _backward_intermediate(r: LSTMBackward, kind: str, p) -> Expr:  # noqa: ANN001
    """dh1[n,t,u], dc1, di1 … do1, dzi1 … dzo1: worked as the walkthrough prints them."""
    fwd, _ = _records(p, r.layer)
    w, (t, u) = Worked(fwd, r, p), p.unit
    if kind in ("dh", "dc"):
        return (w.dh if kind == "dh" else w.dc)(p.n, t, u)
    if kind.startswith("dz"):
        return w.dz(GATES.index(kind[2:]), p.n, t, u)
    return w.dgate(GATES.index(kind[1:]), p.n, t, u)


def _to_input(r: LSTMBackToInput, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂a_{k−1}[n, t, j] = Σ_q Σᵤ W_x,q[u, j] × ∂L/∂z_q[n, t, u]."""
    fwd, back = _records(p, r.layer)
    return Worked(fwd, back, p).input_gradient(p.n, p.unit[0], p.unit[-1])


def _gradient(r: LSTMBackward, kind: str, p) -> Expr:  # noqa: ANN001
    """A shared weight's gradient: the sum of each step's contribution, each named by what it reads."""
    q, index = GATES.index(p.key.part), p.key.index
    fwd, _ = _records(p, r.layer)
    w = Worked(fwd, r, p)
    return _sum([w.step_share(kind[1:], q, t, *index) for t in range(r.dz.shape[2])])


WORKERS = {"LSTMForward": _output, "LSTMBackToInput": _to_input, "LSTMBackward": _gradient,
           "LSTMForward.intermediate": _forward_intermediate, "LSTMBackward.intermediate": _backward_intermediate}
LOOKING = set(WORKERS)  # each looks grading's values of its operands up itself (Worked._named)
