"""The working of one element of dropout and the normalisation layers, as the table of quantities gives
it (`workings._WORKERS`) and the walkthrough prints it, and the working of the statistics in between
(a group's mean and variance, x̂, ∂L/∂x̂ and its two sums), which the printers show line by line. Each
number carries the name of the quantity it is, or of those it is computed from (an intermediate such as
a mean is no quantity of its own: it hides with the inputs it is worked from on an exercise sheet).

The carried engine (`engine.backend.Carried`) rounds exactly where these expressions do."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked.expr import Expr, num, op


def _from(*keys: str) -> str:
    from nnworked.quantities import computed_from

    keys = tuple(key for key in keys if key)
    return computed_from(*keys) if keys else ""


def _sum(terms: list[Expr]) -> Expr:
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _unit(p: Any) -> Any:
    return p.unit if len(p.unit) > 1 else p.i


# ---- dropout ------------------------------------------------------------------------------------------

def scale(rate: float) -> Expr:
    """1 / (1 − rate), worked once for the layer."""
    return op("div", num(1, True), op("sub", num(1, True), num(rate, True)))


def dropout(r, kind: str, p) -> Expr:  # noqa: ANN001
    """mask × value × 1/(1 − rate): the forward value (kind a) or the gradient passed back (kind da)."""
    index, unit = (p.n, *p.unit), _unit(p)
    if kind == "a":
        k = r.layer
        value = num(r.inputs[index], k == 1, p.at("a", k - 1, unit) if k > 1 else "")
    else:
        value = num(r.gradient[index], label=p.at("da", r.layer, unit))
    return op("mul", num(r.mask[index], True), value, num(r.scale))


# ---- normalisation ------------------------------------------------------------------------------------

def cell(e: int, unit: Any) -> tuple[int, ...]:
    """Where a member (example e, unit) is in the layer's arrays; a unit is a feature j, or (position, j) of
    a sequence."""
    return (e, *unit) if isinstance(unit, tuple) else (e, unit)


def row_of(r, g: int) -> tuple[int, ...]:  # noqa: ANN001
    """Where group g's statistics are: the feature (batch_norm), the example, or the example and position of
    a sequence (layer_norm: its groups are numbered row by row)."""
    return (g,) if r.over_batch or r.xhat.ndim == 2 else divmod(g, r.xhat.shape[1])


class Group:
    """The M values one mean and variance are taken over: a feature's over the batch (batch_norm), or an
    example's over its features (layer_norm; at each position of a sequence); `g` is the feature, or the
    example (the row: example × positions + position, for a sequence). Members are (example, unit)."""

    def __init__(self, r, p, g: int):  # noqa: ANN001
        self.r, self.p, self.g = r, p, g
        self.at = row_of(r, g)
        examples, features = r.xhat.shape[0], r.xhat.shape[-1]
        if r.over_batch:
            self.members = [(e, g) for e in range(examples)]
        elif len(self.at) == 2:
            self.members = [(self.at[0], (self.at[1], j)) for j in range(features)]
        else:
            self.members = [(g, j) for j in range(features)]

    def inputs(self) -> list[Expr]:
        r, p, k = self.r, self.p, self.r.layer
        return [num(r.inputs[cell(e, j)], k == 1, p.at("a", k - 1, j, e) if k > 1 else "") for e, j in self.members]

    def input_labels(self) -> str:
        return _from(*(x.label for x in self.inputs()))

    def mean(self) -> Expr:
        return op("div", _sum(self.inputs()), num(len(self.members), True))

    def variance(self) -> Expr:
        mean = num(self.r.mean[self.at], label=self.input_labels())
        squares = [op("pow", op("sub", x, mean), num(2, True)) for x in self.inputs()]
        return op("div", _sum(squares), num(len(self.members), True))

    def xhat(self, e: int, j: Any) -> Expr:
        """(x − mean) / √(variance + ε)."""
        r, p, k, labels = self.r, self.p, self.r.layer, self.input_labels()
        x = num(r.inputs[cell(e, j)], k == 1, p.at("a", k - 1, j, e) if k > 1 else "")
        return op("div", op("sub", x, num(r.mean[self.at], label=labels)),
                  op("sqrt", op("add", num(r.variance[self.at], label=labels), num(r.epsilon, True))))


def group_of(r, e: int, j: Any) -> int:  # noqa: ANN001
    if r.over_batch:
        return j
    return e * r.xhat.shape[1] + j[0] if isinstance(j, tuple) else e


def groups(r) -> int:  # noqa: ANN001
    """How many groups the statistics are taken over."""
    return r.xhat.shape[-1] if r.over_batch else int(np.prod(r.xhat.shape[:-1]))


def _gamma(r, p, kind: str, j: int) -> Expr:  # noqa: ANN001
    return num(getattr(r, kind)[j], p.first, p.before(kind, r.layer, j))


def normalise(r, kind: str, p) -> Expr:  # noqa: ANN001
    """a = γ × x̂ + β."""
    e, j, unit = p.n, p.i, _unit(p)
    group = Group(r, p, group_of(r, e, unit))
    xhat = num(_xhat_looked(group, e, unit) if p.looked else r.xhat[cell(e, unit)], label=group.input_labels())
    return op("add", op("mul", _gamma(r, p, "gamma", j), xhat), _gamma(r, p, "beta", j))


def _xhat_looked(group: Group, e: int, j: Any) -> float:
    """x̂ worked again from the student's own values of the group (grading: a wrong input carries through
    the mean and the variance into every x̂ of its group), rounded at each stage as the walkthrough's are."""
    return _own_statistics(group)[0][group.members.index((e, j))]


def _own_statistics(group: Group) -> tuple[list[float], float]:
    """Every x̂ of the group and its σ, worked again from the student's own inputs to it, each stage
    rounded as the walkthrough (and the carried engine) rounds it."""
    from nnworked.worked import value

    p, precision, count = group.p, group.p.trace.precision, num(len(group.members), True)
    xs = [num(p.value(x.label, x.value)) for x in group.inputs()]
    mean = num(value(op("div", _sum(xs), count), precision))
    variance = num(value(op("div", _sum([op("pow", op("sub", x, mean), num(2, True)) for x in xs]), count), precision))
    std = value(op("sqrt", op("add", variance, num(group.r.epsilon, True))), precision)
    return [value(op("div", op("sub", x, mean), num(std)), precision) for x in xs], std


def _own(p, n: Expr) -> Expr:  # noqa: ANN001
    """A named number with the value the place works with (the student's own, in grading)."""
    return n._replace(value=p.value(n.label, n.value)) if n.label and "|" not in n.label else n


def norm_gradient(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂γ[j] = Σₙ ∂L/∂a[n, j] × x̂[n, j]; ∂L/∂β[j] = Σₙ ∂L/∂a[n, j]."""
    (j,) = p.key.index
    # over the examples, and over the positions of a sequence (example by example, position by position)
    members = [(e, j) for e in range(r.gradient.shape[0])] if r.gradient.ndim == 2 else \
        [(e, (t, j)) for e, t in np.ndindex(*r.gradient.shape[:2])]
    gradients = [num(r.gradient[cell(e, u)], label=p.at("da", r.layer, u, e)) for e, u in members]
    if kind == "dbeta":
        return _sum(gradients)
    xhats = [num(_xhat_of(r, p, e, u) if p.looked else r.xhat[cell(e, u)], label=_xhat_label(r, p, e, u))
             for e, u in members]
    return _sum([op("mul", g, x) for g, x in zip(gradients, xhats)])


def _xhat_of(r, p, e: int, j: Any) -> float:  # noqa: ANN001
    """x̂[e, j] from the student's own inputs to its group (grading: ∂L/∂γ carries a wrong input too)."""
    forward = next(op for op in _forward(p) if getattr(op, "layer", None) == r.layer)
    return _xhat_looked(Group(forward, p, group_of(forward, e, j)), e, j)


def _xhat_label(r, p, e: int, j: Any) -> str:  # noqa: ANN001
    forward = next(op for op in _forward(p) if getattr(op, "layer", None) == r.layer)
    return Group(forward, p, group_of(forward, e, j)).input_labels()


def _forward(p):  # noqa: ANN001, ANN202
    from nnworked.workings import _pass

    return _pass(p.trace, p.key.step)[0].operations


class BackGroup:
    """The backward working of one group: ∂L/∂x̂ = ∂L/∂a × γ, S₁ = Σ ∂L/∂x̂, S₂ = Σ ∂L/∂x̂ × x̂."""

    def __init__(self, r, p, g: int):  # noqa: ANN001
        self.r, self.p, self.g = r, p, g
        forward = next(op for op in _forward(p) if getattr(op, "layer", None) == r.layer)
        self.forward = Group(forward, p, g)
        self.members = self.forward.members

    def ghat(self, e: int, j: Any) -> Expr:
        feature = j[-1] if isinstance(j, tuple) else j
        return op("mul", num(self.r.gradient[cell(e, j)], label=self.p.at("da", self.r.layer, j, e)),
                  _gamma(self.r, self.p, "gamma", feature))

    def ghat_num(self, e: int, j: Any) -> Expr:
        from nnworked.quantities import labels

        return num(self.r.ghat[cell(e, j)], label=_from(*labels(self.ghat(e, j))))

    def xhat_num(self, e: int, j: Any) -> Expr:
        return num(self.r.xhat[cell(e, j)], label=self.forward.input_labels())

    def s1(self) -> Expr:
        return _sum([self.ghat_num(e, j) for e, j in self.members])

    def s2(self) -> Expr:
        return _sum([op("mul", self.ghat_num(e, j), self.xhat_num(e, j)) for e, j in self.members])

    def sums_label(self) -> str:
        from nnworked.quantities import labels

        return _from(*labels(self.s2()))

    def s1_label(self) -> str:
        """S₁'s own: it is computed from the ∂L/∂x̂ alone (S₂ from the x̂ too, so from the inputs)."""
        from nnworked.quantities import labels

        return _from(*labels(self.s1()))

    def dx(self, e: int, j: int) -> Expr:
        """(M·∂L/∂x̂ − S₁ − x̂·S₂) / (M·σ)."""
        count, label = num(len(self.members), True), self.sums_label()
        at = self.forward.at
        s1, s2 = num(self.r.s1[at], label=self.s1_label()), num(self.r.s2[at], label=label)
        std = num(self.r.std[at], label=self.forward.input_labels())
        ghat, xhat = self.ghat_num(e, j), self.xhat_num(e, j)
        if self.p.looked:  # grading: every number worked again from the student's own values
            ghat, xhat, s1, s2, std = self._own(e, j, ghat, xhat, s1, s2, std)
        top = op("sub", op("sub", op("mul", count, ghat), s1), op("mul", xhat, s2))
        return op("div", top, op("mul", count, std))

    def _own(self, e: int, j: Any, *numbers: Expr) -> tuple[Expr, ...]:
        """∂L/∂x̂, x̂, S₁, S₂ and σ of the group from the student's own ∂L/∂a and inputs (grading: a wrong
        ∂L/∂a carries through both sums into every ∂L/∂x of its group, a wrong input through x̂ and σ),
        each rounded at each stage as the walkthrough's are; `numbers` are the key's, whose names they keep."""
        from nnworked.worked import value

        p, precision = self.p, self.p.trace.precision
        xhats, std = _own_statistics(self.forward)
        ghats = [value(op("mul", *(_own(p, n) for n in self.ghat(m, u).args)), precision) for m, u in self.members]
        s1 = value(_sum([num(g) for g in ghats]), precision)
        s2 = value(_sum([op("mul", num(g), num(x)) for g, x in zip(ghats, xhats)]), precision)
        at = self.members.index((e, j))
        return tuple(n._replace(value=v) for n, v in zip(numbers, (ghats[at], xhats[at], s1, s2, std)))


def norm_back(r, kind: str, p) -> Expr:  # noqa: ANN001
    e, unit = p.n, _unit(p)
    return BackGroup(r, p, group_of(r, e, unit)).dx(e, unit)


# ---- residual connections ------------------------------------------------------------------------------

def residual(r, kind: str, p) -> Expr:  # noqa: ANN001
    """a_{k−1} + a_j."""
    index, unit, k = (p.n, *p.unit), _unit(p), r.layer
    previous = num(r.inputs[index], k == 1, p.at("a", k - 1, unit) if k > 1 else "")
    branch = num(r.branch[index], r.source == 0, p.at("a", r.source, unit) if r.source > 0 else "")
    return op("add", previous, branch)


def residual_back(r, kind: str, p) -> Expr:  # noqa: ANN001
    """∂L/∂a_k, passed on unchanged."""
    return num(r.gradient[(p.n, *p.unit)], label=p.at("da", r.layer, _unit(p)))


def joined(r, main: Expr, p) -> Expr:  # noqa: ANN001
    """The main path's working + each skip's ∂L/∂a_k (the gradient of the residual layer k it reached)."""
    index, unit = (p.n, *p.unit), _unit(p)
    skips = [_own(p, num(gradient[index], label=p.at("da", source, unit))) for source, gradient in zip(r.sources, r.skips)]
    return op("add", main, *skips)


WORKERS = {"Residual": residual, "ResidualBack": residual_back, "GradientSum": joined, "Dropout": dropout, "DropoutBack": dropout, "Normalise": normalise, "NormGradient": norm_gradient,
           "NormBack": norm_back}
