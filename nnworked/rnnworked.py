"""The working of one element of an rnn layer, as the table of quantities gives it (`workings._WORKERS`) and
the walkthrough prints it: z_t, h_t, δ_t (the gradient through time), each shared weight's gradient as the
sum of every step's contribution, and ∂L/∂x_t. Each number carries the name of the quantity it is: h_{t−1}
is a{k}[n,t−1,u] when the layer returns the sequence; with return: last an earlier h_t is no quantity of
its own, so it carries the name of the z it is computed from. The carried engine (`rules.layers.rnn`)
rounds exactly where these expressions do."""

from __future__ import annotations


from nnworked import worked
from nnworked.expr import Expr, num, op
from nnworked.rules.activations import ACTIVATIONS


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


def hidden_label(r, p, n: int, t: int, u: int) -> str:  # noqa: ANN001
    """The name h_t[u] of example n carries: a{k}[n,t,u], or (return: last, before the last step) the z it
    is computed from; the last step's h is a{k}[u] then."""
    from nnworked.quantities import computed_from

    positions = r.z.shape[1]
    if r.returns == "sequence":
        return p.at("a", r.layer, (t, u), n)
    if t == positions - 1:
        return p.at("a", r.layer, u, n)
    return computed_from(p.at("z", r.layer, (t, u), n))


def previous_h(r, p, n: int, t: int, u: int) -> Expr:  # noqa: ANN001
    """h_{t−1}[u]: the initial state (given) at the first step."""
    if t == 0:
        return num(r.initial[u], True)
    return num(p.value(hidden_label(r, p, n, t - 1, u), r.h[n, t - 1, u]), label=hidden_label(r, p, n, t - 1, u))


def recurrence(r, kind: str, p) -> Expr:  # noqa: ANN001
    """z_t[i] = Σⱼ W_x[i,j]·x_t[j] + Σᵤ W_h[i,u]·h_{t−1}[u] + b[i]; h_t[i] = f(z_t[i])."""
    k, n = r.layer, p.n
    if kind == "a":
        t = p.unit[0] if p.sequence else r.z.shape[1] - 1
        i = p.i
        names = [p.at("z", k, (t, u), n) for u in range(r.z.shape[2])]
        return ACTIVATIONS[r.activation].row_expr(p.values(names, r.z[n, t]), i, r.slope, names)
    t, i = p.unit
    terms: list[Expr] = []
    for j in range(r.inputs.shape[2]):
        label = p.at("a", k - 1, (t, j), n) if k > 1 else ""
        terms.append(op("mul", num(r.input_weights[i, j], p.first, p.before("Wx", k, i, j)),
                        num(p.value(label, r.inputs[n, t, j]), k == 1, label)))
    for u in range(r.z.shape[2]):
        terms.append(op("mul", num(r.recurrent_weights[i, u], p.first, p.before("Wh", k, i, u)), previous_h(r, p, n, t, u)))
    if r.bias is not None:
        terms.append(num(r.bias[i], p.first, p.before("b", k, i)))
    return _sum(terms)


def _forward(r, p):  # noqa: ANN001, ANN202
    from nnworked.workings import _pass

    return next(op for op in _pass(p.trace, p.key.step)[0].operations if getattr(op, "layer", None) == r.layer)


def total(r, p, n: int, t: int, i: int) -> Expr:  # noqa: ANN001
    """∂L/∂h_t[i] = ∂L/∂a_t[i] (what the layers after it send) + Σᵤ W_h[u,i]·δ_{t+1}[u] (through h_{t+1})."""
    k, positions = r.layer, r.delta.shape[1]
    parts: list[Expr] = []
    if r.returns == "sequence":
        label = p.at("da", k, (t, i), n)
        parts.append(num(p.value(label, r.gradient[n, t, i]), label=label))
    elif t == positions - 1:
        label = p.at("da", k, i, n)
        parts.append(num(p.value(label, r.gradient[n, i]), label=label))
    if t < positions - 1:
        units = range(r.delta.shape[2])
        labels = [p.at("dz", k, (t + 1, u), n) for u in units]
        parts.append(worked.backprop(_forward(r, p).recurrent_weights[:, i],
                                     p.values(labels, r.delta[n, t + 1]), p.first, labels,
                                     [p.before("Wh", k, u, i) for u in units]))
    return _sum(parts)


def through_time(r, kind: str, p) -> Expr:  # noqa: ANN001
    """δ_t[i] = ∂L/∂h_t[i] × f′(z_t[i]); a weight's gradient = Σ_t (its contribution at step t)."""
    k = r.layer
    if kind == "dz":
        (t, i), n = p.unit, p.n
        forward = _forward(r, p)
        a = hidden_label(forward, p, n, t, i)
        derivative, _ = worked.derivative(r.activation, p.value(p.at("z", k, (t, i), n), forward.z[n, t, i]),
                                          p.value(a, forward.h[n, t, i]), r.slope, a)
        return op("mul", total(r, p, n, t, i), derivative)
    return _sum([contribution(r, kind, p, t, *p.key.index) for t in range(r.delta.shape[1])])


def contribution(r, kind: str, p, t: int, i: int, j: int | None = None) -> Expr:  # noqa: ANN001
    """Step t's share of ∂L/∂W_x[i,j] (Σₙ δ_t[i]·x_t[j]), ∂L/∂W_h[i,j] (Σₙ δ_t[i]·h_{t−1}[j]) or ∂L/∂b[i] (Σₙ δ_t[i])."""
    k, examples = r.layer, r.delta.shape[0]
    deltas = [p.at("dz", k, (t, i), n) for n in range(examples)]
    values = p.values(deltas, r.delta[:, t, i])
    if kind == "db":
        return worked.bias_gradient(values, deltas)
    forward = _forward(r, p)
    if kind == "dWx":
        labels = [p.at("a", k - 1, (t, j), n) for n in range(examples)] if k > 1 else None
        return worked.weight_gradient(values, p.values(labels, forward.inputs[:, t, j]), p.first and k == 1, deltas,
                                      labels)
    terms = [op("mul", num(v, label=d), previous_h(forward, p, n, t, j)) for n, (v, d) in enumerate(zip(values, deltas))]
    return _sum(terms)


def back_to_input(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂x_t[j] = Σᵢ W_x[i,j]·δ_t[i]."""
    k, (t, j), units = r.layer, p.unit, range(r.delta.shape[2])
    deltas = [p.at("dz", k, (t, u), p.n) for u in units]
    return worked.backprop(r.input_weights[:, j], p.values(deltas, r.delta[p.n, t]), p.first, deltas,
                           [p.before("Wx", k, u, j) for u in units])


WORKERS = {"Recurrence": recurrence, "ThroughTime": through_time, "RnnBackToInput": back_to_input}
LOOKING = set(WORKERS)  # each takes grading's look-up of a student's values itself (p.value, p.values)
