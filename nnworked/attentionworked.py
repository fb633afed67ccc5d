"""The working of one element of a self_attention layer, as the table of quantities gives it
(`workings._WORKERS`) and the walkthrough prints it: the output a{k}[n,t,o], each weight gradient
dWQ{k}[i,j] … dWO{k}[o,m], and ∂L/∂a{k−1}[n,t,f] as the sum of its three paths; and the working of the
intermediates in between, which the printers show line by line. The forward ones are quantities of their
own (`Attend.intermediates`, `intermediate` below): q{k}[n,t,m], k{k}, v{k}, the scores S{k}[n,i,j], the
scaled scores Sc{k}, the weights A{k} ([n,h,i,j] with several heads) and, with output weights, O{k}[n,t,m];
each number carries its own name, so a blank hides exactly it and grading works from a student's own. So
are the backward ones (`AttentionGradient.intermediates`, `Back`, `gradient_intermediate`): dO{k}[n,t,m]
(∂L/∂concat, with output weights), dA{k}, dSc{k}, dS{k}, dq{k}, dk{k} and dv{k}, indexed as their forward
twins; ∂L/∂W_Q, ∂L/∂W_K, ∂L/∂W_V and ∂L/∂a{k−1} are worked from dq, dk and dv.

The carried engine (`engine.attention` over `engine.backend.Carried`) rounds exactly where these
expressions do: each product, each sum, the √d_k once, each division, each e^x."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op


def _sum(terms: list[Expr]) -> Expr:
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _from(*keys: str) -> str:
    from nnworked.quantities import computed_from

    keys = tuple(key for key in keys if key)
    return computed_from(*keys) if keys else ""


_NAMES: dict[tuple, Any] = {}  # one example's labels, made once per pass: thousands of names in a large layer


def _cached(key: tuple, make: Any) -> Any:
    if len(_NAMES) > 4096:
        _NAMES.clear()
    if key not in _NAMES:
        _NAMES[key] = make()
    return _NAMES[key]


def _pass_key(r: Any, p: Any, n: int) -> tuple:
    return (id(p.trace), id(r), p.key.step, p.examples, n)


def _names(r: Any, p: Any, n: int) -> list[list[str]]:
    """The names of example n's inputs, row by row ("" for the given tokens of the first layer)."""
    def make() -> list[list[str]]:
        positions, features = r.inputs.shape[1:]
        k = r.layer
        return [[p.at("a", k - 1, (t, f), n) if k > 1 else "" for f in range(features)] for t in range(positions)]
    return _cached(("forward", *_pass_key(r, p, n)), make)


class Head:
    """The intermediates of one example n and one head h of the forward record `r` (an Attend), each
    worked from the example's inputs, each number by its own name (`cell`)."""

    def __init__(self, r: Any, p: Any, n: int, h: int):
        self.r, self.p, self.n, self.h = r, p, n, h
        self.d_k, self.d_v = r.q.shape[-1], r.v.shape[-1]
        self.inputs = _names(r, p, n)

    def _x(self, t: int, f: int) -> Expr:
        label = self.inputs[t][f]
        return num(self.p.value(label, self.r.inputs[self.n, t, f]), self.r.layer == 1, label)

    def projection(self, role: str, t: int, d: int) -> Expr:
        """q, k or v of position t, feature d of this head: Σ_f W[h·d_k + d, f] × x[t, f]."""
        weights = {"Q": self.r.query_weights, "K": self.r.key_weights, "V": self.r.value_weights}[role]
        row = self.h * (self.d_v if role == "V" else self.d_k) + d
        return _sum([op("mul", num(weights[row, f], self.p.first, self.p.before(f"W{role}", self.r.layer, row, f)),
                        self._x(t, f)) for f in range(weights.shape[1])])

    def key(self, kind: str, *index: int) -> str:
        """The name of one of this example's intermediates: q1[n,t,m] (m over d_model), S1[n,i,j] (S1[n,h,i,j]
        with several heads)."""
        from nnworked.quantities import name

        rows = index if len(index) == 2 and kind in ("q", "k", "v", "O") else \
            (index if self.r.heads == 1 else (self.h, *index))
        return name(kind, self.r.layer, self.n, *rows, step=self.p.key.step)

    def cell(self, role: str, i: int, j: int) -> str:
        """The name a printed cell of this head carries: Q, K, V or O at (position i, feature j of the head),
        S, Ŝ or A at (row i, column j). O is the layer's output itself when it has no output weights."""
        if role in ("Q", "K", "V"):
            return self.key(role.lower(), i, self.h * (self.d_v if role == "V" else self.d_k) + j)
        if role == "O":
            if self.r.output_weights is None:
                return self.p.at("a", self.r.layer, (i, self.h * self.d_v + j), self.n)
            return self.key("O", i, self.h * self.d_v + j)
        if role != "A" and j not in self.allowed(i):  # a masked score is worked but is no quantity: it hides
            return _from(*(self.cell(r, t, d) for r, t in (("Q", i), ("K", j)) for d in range(self.d_k)))  # with q, k
        return self.key({"S": "S", "Ŝ": "Sc", "A": "A"}[role], i, j)

    def _named(self, kind: str, value: float, *index: int) -> Expr:
        label = self.key(kind, *index)
        return num(self.p.value(label, value), label=label)

    def value(self, role: str, t: int, d: int) -> Expr:
        array = {"Q": self.r.q, "K": self.r.k, "V": self.r.v}[role]
        width = self.d_v if role == "V" else self.d_k
        return self._named(role.lower(), array[self.n, self.h, t, d], t, self.h * width + d)

    def allowed(self, i: int) -> range:
        positions = self.r.weights.shape[-1]
        return range(i + 1) if self.r.causal else range(positions)

    def score(self, i: int, j: int) -> Expr:
        """q_i · k_j."""
        return _sum([op("mul", self.value("Q", i, d), self.value("K", j, d)) for d in range(self.d_k)])

    def scaled(self, i: int, j: int) -> Expr:
        """(q_i · k_j) / √d_k."""
        return op("div", self._named("S", self.r.scores[self.n, self.h, i, j], i, j),
                  op("sqrt", num(self.d_k, True)))

    def logits(self, i: int) -> list[float]:
        return [float(self.r.scaled_scores[self.n, self.h, i, j]) for j in self.allowed(i)]

    def softmax(self, i: int, j: int) -> Expr:
        """e^(s_ij) / Σ_j′ e^(s_ij′) over the positions row i may attend to."""
        from nnworked.rules.activations.softmax import softmax_parts

        kind = "Sc" if self.r.scaled else "S"
        names = [self.key(kind, i, m) for m in self.allowed(i)]
        row = [self.p.value(label, v) for label, v in zip(names, self.logits(i))]
        exps, _, _ = softmax_parts(row, names)
        return op("div", exps[j], _sum(exps))

    def weight(self, i: int, j: int) -> Expr:
        return self._named("A", self.r.weights[self.n, self.h, i, j], i, j)

    def mixed(self, i: int, d: int) -> Expr:
        """Σ_j a_ij × v_j[d]: the weighted sum of values."""
        return _sum([op("mul", self.weight(i, j), self.value("V", j, d)) for j in self.allowed(i)])

    def concat(self, t: int, m: int) -> Expr:
        return self._named("O", self.r.concat[self.n, t, m], t, m)


def attend(r, kind: str, p) -> Expr:  # noqa: ANN001
    """a{k}[n, t, o] = Σ_m W_O[o, m] × concat[n, t, m], or (no output weights) head h's Σ_j a_tj × v_j[d]."""
    t, o = p.unit
    if r.output_weights is None:
        d_v = r.v.shape[-1]
        return Head(r, p, p.n, o // d_v).mixed(t, o % d_v)
    head = Head(r, p, p.n, 0)
    return _sum([op("mul", num(r.output_weights[o, m], p.first, p.before("WO", r.layer, o, m)), head.concat(t, m))
                 for m in range(r.output_weights.shape[1])])


class Back:
    """The backward intermediates of one example n of an AttentionGradient `r` (and its forward record), each
    number by its own name (`cell`): ∂L/∂O[n,t,m] (with output weights; else the ∂L/∂a{k} that reached the
    layer), ∂L/∂A, ∂L/∂Sc (scaled), ∂L/∂S, ∂L/∂q, ∂L/∂k and ∂L/∂v, indexed as their forward twins; so a blank
    hides exactly it, and grading works each from a student's own values."""

    def __init__(self, r: Any, p: Any, n: int, forward: Any):
        self.r, self.p, self.n, self.forward = r, p, n, forward

    def cell(self, role: str, h: int, i: int, j: int) -> str:
        """The name of a printed gradient of head h: of Q, K, V or O at (position i, feature j of the head), of
        A, Ŝ (scaled scores) or S at (row i, column j); "" for a masked pair (its gradient is no quantity). O is
        ∂L/∂a{k} itself when the layer has no output weights."""
        from nnworked.quantities import name

        f, k, step = self.forward, self.r.layer, self.p.key.step
        if role in ("Q", "K", "V", "O"):
            width = f.v.shape[-1] if role in ("V", "O") else f.q.shape[-1]
            if role == "O" and f.output_weights is None:
                return self.p.at("da", k, (i, h * width + j), self.n)
            return name("d" + (role if role == "O" else role.lower()), k, self.n, i, h * width + j, step=step)
        if j not in self._head(h).allowed(i):
            return ""
        rows = (i, j) if f.heads == 1 else (h, i, j)
        return name({"A": "dA", "Ŝ": "dSc", "S": "dS"}[role], k, self.n, *rows, step=step)

    def logit(self) -> str:
        """The role of what the softmax passes back: the scaled scores Ŝ, or the scores S when not scaled."""
        return "Ŝ" if self.forward.scaled else "S"

    def jacobian_cell(self, h: int, i: int, j: int, m: int) -> str:
        """The label of the Jacobian's ∂a_ij/∂s_im: computed from the weights a_ij and a_im."""
        head = self._head(h)
        return _from(head.cell("A", i, j), head.cell("A", i, m))

    def _named(self, role: str, value: float, h: int, i: int, j: int) -> Expr:
        label = self.cell(role, h, i, j)
        return num(self.p.value(label, value), label=label)

    def flat(self, kind: str, t: int, m: int) -> Expr:
        """∂L/∂q, ∂L/∂k or ∂L/∂v (kind dq, dk, dv) of position t, feature m (head m // d, its feature m % d)."""
        array = {"dq": self.r.query_grad, "dk": self.r.key_grad, "dv": self.r.value_grad}[kind]
        d = array.shape[-1]
        return self._named(kind[1].upper(), array[self.n, m // d, t, m % d], m // d, t, m % d)

    def _head(self, h: int) -> Head:
        return Head(self.forward, self.p, self.n, h)

    def concat(self, t: int, m: int) -> Expr:
        """∂L/∂concat[t, m] = Σ_o ∂L/∂a[t, o] × W_O[o, m]."""
        r, p, k = self.r, self.p, self.r.layer
        weights = self.forward.output_weights
        terms = []
        for o in range(weights.shape[0]):
            name = p.at("da", k, (t, o), self.n)
            terms.append(op("mul", num(p.value(name, r.gradient[self.n, t, o]), label=name),
                            num(weights[o, m], p.first, p.before("WO", k, o, m))))
        return _sum(terms)

    def mixed(self, h: int, t: int, d: int) -> Expr:
        """∂L/∂(head h's output)[t, d]: ∂L/∂a itself (no output weights) or ∂L/∂concat, its share."""
        d_v = self.forward.v.shape[-1]
        array = self.r.gradient if self.forward.output_weights is None else self.r.concat_grad
        return self._named("O", array[self.n, t, h * d_v + d], h, t, d)

    def weights(self, h: int, i: int, j: int) -> Expr:
        """∂L/∂A[i, j] = Σ_d ∂L/∂out[i, d] × V[j, d]."""
        head = self._head(h)
        return _sum([op("mul", self.mixed(h, i, d), head.value("V", j, d)) for d in range(head.d_v)])

    def value(self, h: int, j: int, d: int) -> Expr:
        """∂L/∂V[j, d] = Σ_i A[i, j] × ∂L/∂out[i, d], over the positions i that attend to j."""
        head = self._head(h)
        positions = self.forward.weights.shape[-1]
        rows = [i for i in range(positions) if j in head.allowed(i)]
        return _sum([op("mul", head.weight(i, j), self.mixed(h, i, d)) for i in rows])

    def weights_num(self, h: int, i: int, j: int) -> Expr:
        return self._named("A", self.r.weights_grad[self.n, h, i, j], h, i, j)

    def jacobian(self, h: int, i: int, j: int, m: int) -> Expr:
        """∂a_ij/∂s_im: a_ij × (1 − a_ij) on the diagonal, −a_ij × a_im off it."""
        head = self._head(h)
        if j == m:
            return op("mul", head.weight(i, j), op("sub", num(1, True), head.weight(i, j)))
        return op("neg", op("mul", head.weight(i, j), head.weight(i, m)))

    def logits(self, h: int, i: int, j: int) -> Expr:
        """∂L/∂s_ij = a_ij × (∂L/∂A[i, j] − Σ_m ∂L/∂A[i, m] × a_im): the row's softmax Jacobian applied."""
        head = self._head(h)
        allowed = list(head.allowed(i))
        weighted = _sum([op("mul", self.weights_num(h, i, m), head.weight(i, m)) for m in allowed])
        return op("mul", head.weight(i, j), op("sub", self.weights_num(h, i, j), weighted))

    def scores(self, h: int, i: int, j: int) -> Expr:
        """∂L/∂(q_i · k_j) = ∂L/∂s_ij / √d_k."""
        return op("div", self._named("Ŝ", self.r.logits_grad[self.n, h, i, j], h, i, j),
                  op("sqrt", num(self._head(h).d_k, True)))

    def scores_num(self, h: int, i: int, j: int) -> Expr:
        return self._named("S", self.r.scores_grad[self.n, h, i, j], h, i, j)

    def query(self, h: int, i: int, d: int) -> Expr:
        """∂L/∂Q[i, d] = Σ_j ∂L/∂S[i, j] × K[j, d]."""
        head = self._head(h)
        return _sum([op("mul", self.scores_num(h, i, j), head.value("K", j, d)) for j in head.allowed(i)])

    def key(self, h: int, j: int, d: int) -> Expr:
        """∂L/∂K[j, d] = Σ_i ∂L/∂S[i, j] × Q[i, d]."""
        head = self._head(h)
        positions = self.forward.weights.shape[-1]
        rows = [i for i in range(positions) if j in head.allowed(i)]
        return _sum([op("mul", self.scores_num(h, i, j), head.value("Q", i, d)) for i in rows])


def weight_gradient(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂W[i, j] = Σ_n,t ∂L/∂(q, k or v)[n, t, i] × x[n, t, j]; ∂L/∂W_O[o, m] = Σ_n,t ∂L/∂a[n, t, o] × concat[n, t, m]."""
    i, j = p.key.index
    examples, positions = r.gradient.shape[:2]
    forward = _forward_record(p, r.layer)
    backs = [Back(r, p, n, forward) for n in range(examples)]
    terms = []
    for n, t in np.ndindex(examples, positions):
        if kind == "dWO":
            gradient = p.at("da", r.layer, (t, i), n)
            terms.append(op("mul", num(p.value(gradient, r.gradient[n, t, i]), label=gradient),
                            Head(forward, p, n, 0).concat(t, j)))
            continue
        source = p.at("a", r.layer - 1, (t, j), n) if r.layer > 1 else ""
        terms.append(op("mul", backs[n].flat({"dWQ": "dq", "dWK": "dk", "dWV": "dv"}[kind], t, i),
                        num(p.value(source, forward.inputs[n, t, j]), r.layer == 1 and p.first, source)))
    return _sum(terms)


def input_gradient(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂x[n, t, f] = Σ_m ∂L/∂q[n, t, m] × W_Q[m, f] + (the same through K) + (the same through V)."""
    t, f = p.unit
    k = r.layer
    gradient = _gradient_record(p, k)
    forward = _forward_record(p, k)
    back = Back(gradient, p, p.n, forward)
    paths = []  # each path summed on its own, then the three added: as the engine adds them
    for role, weights in (("Q", forward.query_weights), ("K", forward.key_weights), ("V", forward.value_weights)):
        paths.append(_sum([op("mul", back.flat("d" + role.lower(), t, m),
                              num(weights[m, f], p.first, p.before(f"W{role}", k, m, f)))
                           for m in range(weights.shape[0])]))
    return op("add", *paths)


def _forward_record(p, k: int):  # noqa: ANN001, ANN202
    from nnworked.workings import _pass

    return next(op for op in _pass(p.trace, p.key.step)[0].operations if getattr(op, "layer", None) == k)


def _gradient_record(p, k: int):  # noqa: ANN001, ANN202
    from nnworked.workings import _pass

    step = _pass(p.trace, p.key.step)[2]
    return next(r for r in step.backward if type(r).__name__ == "AttentionGradient" and r.layer == k)


def intermediate(r, kind: str, p) -> Expr:  # noqa: ANN001
    """q1[n,t,m] … O1[n,t,m], S1[n,i,j] (S1[n,h,i,j] with several heads): worked as the walkthrough prints it."""
    index = p.unit
    if kind in ("q", "k", "v", "O"):
        (t, m), width = index, (r.v if kind in ("v", "O") else r.q).shape[-1]
        head = Head(r, p, p.n, m // width)
        return head.mixed(t, m % width) if kind == "O" else head.projection(kind.upper(), t, m % width)
    h, (i, j) = (0, index) if r.heads == 1 else (index[0], index[1:])
    head = Head(r, p, p.n, h)
    return {"S": head.score, "Sc": head.scaled, "A": head.softmax}[kind](i, j)


def gradient_intermediate(r, kind: str, p) -> Expr:  # noqa: ANN001
    """dO1[n,t,m], dv1, dq1, dk1 and dA1[n,i,j], dSc1, dS1 (dA1[n,h,i,j] with several heads): worked as the
    walkthrough prints them."""
    forward = _forward_record(p, r.layer)
    back = Back(r, p, p.n, forward)
    if kind in ("dO", "dq", "dk", "dv"):
        t, m = p.unit
        if kind == "dO":
            return back.concat(t, m)
        h, d = divmod(m, (forward.v if kind == "dv" else forward.q).shape[-1])
        return {"dq": back.query, "dk": back.key, "dv": back.value}[kind](h, t, d)
    h, (i, j) = (0, p.unit) if forward.heads == 1 else (p.unit[0], p.unit[1:])
    if kind == "dS" and forward.scaled:  # ÷ √d_k; unscaled, ∂L/∂S is what the softmax passes back
        return back.scores(h, i, j)
    return {"dA": back.weights, "dSc": back.logits, "dS": back.logits}[kind](h, i, j)


WORKERS = {"Attend.intermediate": intermediate, "Attend": attend, "AttentionGradient": weight_gradient, "AttentionBack": input_gradient,
           "AttentionGradient.intermediate": gradient_intermediate}
