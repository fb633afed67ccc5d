"""`--detail full` for the recurrent layers: backpropagation through time derived from the forward rule by
the chain rule, then worked with the scenario's own numbers. For an rnn layer: why ∂L/∂h_t has two paths
(the layers after it, and h_{t+1} through W_h), the derivative of its activation read off h_t, and why a
weight used at every step gets the sum of each step's share. For an lstm layer: why ∂L/∂c_t has two paths
(through h_t, and through the forget gate into c_{t+1}), each gate's derivative with its σ′ or tanh′ factor,
and one weight's gradient summed over the steps. Every number is the trace's, worked by the same expressions
as the walkthrough (`nnworked.rnnworked`, `nnworked.lstmworked`), so each line is checked like any other."""

from __future__ import annotations

from typing import Any

from nnworked import quantities, rnnworked
from nnworked.lstm_records import GATES, LSTMBackward, LSTMForward
from nnworked.lstmworked import Worked
from nnworked.render.lstm import worked as on_page
from nnworked.quantities import computed_from, labels
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import line
from nnworked.render.numbers import subscript
from nnworked.render.recurrent import RecurrentBackward, _symbols
from nnworked.rnn_records import Recurrence, ThroughTime
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.layers.lstm import GATE_ACTIVATIONS, GATE_NAMES, parameter_name
from nnworked.trace import Trace


def recurrent_derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    """Each recurrent layer's backward rule, derived once per layer."""
    step = trace.steps[0]
    out: list[Block] = []
    for record in step.backward:
        if isinstance(record, ThroughTime):
            forward = next(r for r in step.forward.operations if isinstance(r, Recurrence) and r.layer == record.layer)
            out += _through_time(w, step, record, forward)
        elif isinstance(record, LSTMBackward):
            forward = next(r for r in step.forward.operations if isinstance(r, LSTMForward) and r.layer == record.layer)
            out += _lstm(w, record, forward)
    return out


def _from(expr: Any) -> str:
    """The label of a line no quantity names: what its numbers are computed from (it hides with them)."""
    found = labels(expr)
    return computed_from(*sorted(found)) if found else ""


# ---- rnn ----------------------------------------------------------------------------------------------

def _through_time(w: ForwardWriter, step: Any, r: ThroughTime, f: Recurrence) -> list[Block]:
    n, k, p, width = w.n, r.layer, w.p, w.s.width
    wx, wh, b = _symbols(k)
    act = ACTIVATIONS[r.activation]
    fn = act.symbol or "f"
    h, d, x = n.a(k), n.delta(k), n.a(k - 1)
    examples, positions, units = r.delta.shape
    last = positions - 1
    printer = RecurrentBackward(w.page, step)  # the walkthrough's own places and names of these lines
    bias = f" + {b}" if f.bias is not None else ""
    sent = ("every step's state is the layer's output" if r.returns == "sequence" else
            f"only the last state {h}_{last} is the layer's output, so this path is 0 at every earlier step")
    out: list[Block] = [
        Heading(3, f"Backpropagation through time, derived (layer {k})"),
        Para(f"Unrolled, the layer is one dense step per time step, each with the same {wx}, {wh}"
             f"{' and ' + b if bias else ''}: "
             f"z_t = {wx}·{x}_t + {wh}·{h}_(t−1){bias} and {h}_t = {fn}(z_t). Two questions make backpropagation "
             "through time: where ∂L/∂h_t comes from, and how a weight used at every step gets one gradient."),
        Para(f"**Why ∂L/∂{h}_t has two paths.** {h}_t is used twice: by the layers after it ({sent}), and by "
             f"z_(t+1), which reads it through {wh}: z_(t+1)[u] = … + Σᵢ {wh}[u,i] × {h}_t[i] + …, so "
             f"∂z_(t+1)[u]/∂{h}_t[i] = {wh}[u,i]. The chain rule for a value used twice adds its two paths (the "
             f"last step has no {h}_(t+1), so only the first):"),
        Math([f"∂L/∂{h}_t[i] = ∂L/∂a_t[i] + Σᵤ ∂L/∂z_(t+1)[u] × ∂z_(t+1)[u]/∂{h}_t[i]"
              f" = ∂L/∂a_t[i] + Σᵤ {wh}[u,i] × {d}_(t+1)[u]"]),
        Para(f"The sum runs down column i of {wh}, not along row i: that is why the backward pass multiplies by "
             f"{wh}ᵀ.")]
    lines: list[str] = []
    for t in sorted({last, max(last - 1, 0)}, reverse=True):
        expr = rnnworked.total(r, printer._place(r, 0, t, "dz"), 0, t, 0)
        note = ("the last step: the layers after it alone" if t == last else
                f"through {h}_(t+1)" + (" and the layers after it" if r.returns == "sequence" else " alone"))
        lines += line(f"∂L/∂{n.element(h, 0, (t, 0), units)}", expr, p, width, suffix=f"   ({note})",
                      label=_from(expr))
    out += [Para(f"With this scenario's numbers, for unit 0 at t = {last}" + (f" and t = {last - 1}" if last else "")
                 + (" (the first example)" if examples > 1 else "") + ":"), Math(lines)]
    out += _activation(w, r, f, act, last, printer)
    out += _shares(w, r, f, printer)
    return out


def _activation(w: ForwardWriter, r: ThroughTime, f: Recurrence, act: Any, t: int,
                printer: RecurrentBackward) -> list[Block]:
    n, k, p, width = w.n, r.layer, w.p, w.s.width
    fn, h, units = act.symbol or "f", n.a(k), r.delta.shape[2]
    a = rnnworked.hidden_label(f, printer._place(r, 0, t, "dz"), 0, t, 0)
    z, value = float(f.z[0, t, 0]), float(f.h[0, t, 0])
    derivative, _ = act.derivative_expr(z, value, r.slope, a)
    in_a = f" = {act.derivative_in_a.format(a=h + '_t')}" if act.derivative_in_a else ""
    zt = n.element(n.z(k), 0, (t, 0), units)
    return [Para(f"**The derivative of {act.label}, read off {h}_t.** δ_t = ∂L/∂z_t = ∂L/∂{h}_t × ∂{h}_t/∂z_t, "
                 f"and {act.derivative_formula}{in_a}: the output the forward pass already has gives it."),
            Math([*act.derivation_lines(p, r.slope), "",
                  *line(f"{fn}′({zt})", derivative, p, width, label=_from(derivative)),
                  *line(n.element(n.delta(k), 0, (t, 0), units), w.page.expression("dz", k, (t, 0), 0), p, width,
                        label=n.key("dz", k, (t, 0), 0))])]


def _shares(w: ForwardWriter, r: ThroughTime, f: Recurrence, printer: RecurrentBackward) -> list[Block]:
    n, k, p, width = w.n, r.layer, w.p, w.s.width
    wx, wh, b = _symbols(k)
    h, d, x = n.a(k), n.delta(k), n.a(k - 1)
    examples, positions = r.delta.shape[:2]
    over = "Σₙ " if examples > 1 else ""
    rules = [f"(∂L/∂{wx}[i,j])ₜ = {over}{d}_t[i] × {x}_t[j]",
             f"(∂L/∂{wh}[i,j])ₜ = {over}{d}_t[i] × {h}_(t−1)[j]"]
    sums = [f"∂L/∂{wx} = Σₜ (∂L/∂{wx})ₜ", f"∂L/∂{wh} = Σₜ (∂L/∂{wh})ₜ"]
    if f"b{k}" in r.gradients:
        rules.append(f"(∂L/∂{b}[i])ₜ = {over}{d}_t[i]")
        sums.append(f"∂L/∂{b} = Σₜ (∂L/∂{b})ₜ")
    start = ("zero here, so step 0 adds nothing to the gradient of " + wh if not f.initial.any() else
             "the initial state given")
    out: list[Block] = [
        Para(f"**Each step's share of a shared weight, and their sum.** Picture the unrolled layer with its own "
             f"copy of {wx}, {wh}{' and ' + b if f.bias is not None else ''} at each step. Inside step t the rule is "
             f"a dense layer's: ∂z_t[i]/∂{wx}[i,j] = {x}_t[j], ∂z_t[i]/∂{wh}[i,j] = {h}_(t−1)[j]"
             + (f", ∂z_t[i]/∂{b}[i] = 1" if f.bias is not None else "")
             + f", so the copy at step t gets {d}_t[i] times that input"
             + (", summed over the examples" if examples > 1 else "")
             + f". The copies are one weight, used at {positions} places, and the chain rule adds what each place "
               f"sends ({h}_(−1) is the initial state: {start}):"),
        Math([*rules, *sums])]
    lines: list[str] = []
    for name, grad in r.gradients.items():
        kind = "d" + name.rstrip("0123456789")
        index = (0,) * grad.ndim
        where = ",".join(map(str, index))
        symbol = printer._param(name)
        for t in range(positions):
            expr = rnnworked.contribution(r, kind, printer._place(r, 0, t, "dz"), t, *index)
            lines += line(f"(∂L/∂{symbol}[{where}])ₜ₌{subscript(str(t))}", expr, p, width, label=_from(expr))
        key = n.wkey(kind, k, *index)
        lines += line(f"∂L/∂{symbol}[{where}]", w.page.table.expression(key), p, width, label=key)
        lines.append("")
    return out + [Para("With this scenario's numbers, element [0,0] of each (each step's share, then the sum):"),
                  Math(lines[:-1])]


# ---- lstm ---------------------------------------------------------------------------------------------

def _lstm(w: ForwardWriter, b: LSTMBackward, f: LSTMForward) -> list[Block]:
    k, p, width = b.layer, w.p, w.s.width
    s = subscript(k)
    worked = on_page(w.page, f, b)  # each number named as its quantity, so a sheet hides exactly a blank
    positions = f.h.shape[1]
    last = positions - 1

    def at(symbol: str, t: int) -> str:  # example 0, unit 0 at step t, as the walkthrough names them
        return f"{symbol}[0,{t},0]"

    lines: list[str] = []
    for t in sorted({last, max(last - 1, 0)}, reverse=True):
        note = "the last step: through h_t alone" if t == last else "through h_t and into c_(t+1)"
        lines += line(at(f"∂L/∂c{s}", t), worked.dc(0, t, 0), p, width, suffix=f"   ({note})",
                      label=worked.key("dc", 0, t, 0))
    out: list[Block] = [
        Heading(3, f"Backpropagation through an LSTM, derived (layer {k})"),
        Para("**Why ∂L/∂c_t has two paths.** The cell state c_t is read twice: by h_t = o_t ⊙ tanh(c_t), and by "
             "the next step's c_(t+1) = f_(t+1) ⊙ c_t + i_(t+1) ⊙ g_(t+1). Their local derivatives are "
             "∂h_t/∂c_t = o_t × (1 − tanh²(c_t)) and ∂c_(t+1)/∂c_t = f_(t+1), and the chain rule adds the two paths:"),
        Math(["∂L/∂c_t = ∂L/∂h_t × ∂h_t/∂c_t + ∂L/∂c_(t+1) × ∂c_(t+1)/∂c_t",
              "        = ∂L/∂h_t × o_t × (1 − tanh²(c_t)) + ∂L/∂c_(t+1) × f_(t+1)"]),
        Para("The second path multiplies by the forget gate alone, with no activation's derivative in between: "
             "while f stays near 1 the gradient passes back through the cell almost whole, which is why an LSTM "
             f"keeps a gradient over more steps than a plain RNN. With this scenario's numbers, for unit 0 at "
             f"t = {last}" + (f" and t = {last - 1}" if last else "") + ":"),
        Math(lines)]
    return out + _gates(w, worked, s, last) + _summed(w, b, worked, positions)


def _gates(w: ForwardWriter, worked: Worked, s: str, t: int) -> list[Block]:
    p, width = w.p, w.s.width
    formulas, lines = [], []
    local = {"i": "∂c_t/∂i = g", "f": "∂c_t/∂f = c_(t−1)", "g": "∂c_t/∂g = i", "o": "∂h_t/∂o = tanh(c_t)"}
    for q, gate in enumerate(GATES):
        rule = ACTIVATIONS[GATE_ACTIVATIONS[gate]]
        factor = rule.derivative_in_a.format(a=gate) if rule.derivative_in_a else f"{rule.symbol}′(z_{gate})"
        formulas.append(f"{gate} ({GATE_NAMES[gate]}): {local[gate]},   {gate} = {rule.symbol}(z_{gate}), "
                        f"so ∂{gate}/∂z_{gate} = {factor}")
        lines += line(f"∂L/∂{gate}{s}[0,{t},0]", worked.dgate(q, 0, t, 0), p, width, label=worked.key(f"d{gate}", 0, t, 0))
        lines += line(f"∂L/∂z{s}.{gate}[0,{t},0]", worked.dz(q, 0, t, 0), p, width, suffix=f"   (× {factor})",
                      label=worked.key(f"dz{gate}", 0, t, 0))
    return [Para("**Each gate's derivative.** From c_t = f ⊙ c_(t−1) + i ⊙ g and h_t = o ⊙ tanh(c_t), each gate's "
                 "local derivative is the value it multiplies; then through its own activation, whose derivative "
                 "is read off the gate's value: σ′(z) = σ(z)(1 − σ(z)) for i, f and o, tanh′(z) = 1 − tanh²(z) for g."),
            Math(formulas),
            Para(f"With this scenario's numbers, at t = {t} (∂L/∂c_t and ∂L/∂h_t from the backward pass):"),
            Math(lines)]


def _summed(w: ForwardWriter, b: LSTMBackward, worked: Worked, positions: int) -> list[Block]:
    n, k, p, width = w.n, b.layer, w.p, w.s.width
    gate = GATES[0]
    symbol = n.param(parameter_name("Wx", k, gate))
    over = "Σₙ " if b.dz.shape[1] > 1 else ""
    lines: list[str] = []
    for t in range(positions):
        lines += line(f"step {t}: ∂L/∂{symbol}[0,0]", worked.input_step(0, t, 0, 0), p, width,
                      label=worked.step_share("Wx", 0, t, 0, 0).label)
    key = quantities.name("dWx", k, 0, 0, step=n.step, part=gate)
    lines += line(f"∂L/∂{symbol}[0,0]", w.page.table.expression(key), p, width, label=key)
    return [Para(f"**One weight's gradient, summed over time.** {symbol}[u,j] enters z_{gate} at every step: "
                 f"z_{gate},t[u] = Σⱼ {symbol}[u,j] × x_t[j] + …, so step t's share is {over}∂L/∂z_{gate},t[u] × "
                 f"x_t[j], and the one weight's gradient is the sum of the {positions} shares. For {symbol}[0,0]:"),
            Math(lines)]
