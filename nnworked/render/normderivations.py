"""`--detail full` for a normalisation layer: where the three terms of its backward rule come from. Each
input reaches the loss through its own x̂, through the mean and through the variance of its group; the
chain rule along each path gives one term, worked with the numbers of the first element of the first
group, read from the trace (the sum is the ∂L/∂input the backward pass worked)."""

from __future__ import annotations

from nnworked import normworked
from nnworked.expr import num, op
from nnworked.render.blocks import Block, Bullets, Heading, Math, Para
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import line
from nnworked.render.normalise import _place, _symbols
from nnworked.trace import NormBack, Trace


def norm_derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    back = next((r for r in trace.steps[0].backward if isinstance(r, NormBack)), None)
    return [] if back is None else _three_terms(trace, w, back)


def _three_terms(trace: Trace, w: ForwardWriter, r: NormBack) -> list[Block]:
    n, k, p = w.n, r.layer, trace.precision
    mu, var, xh, sigma = _symbols(k)
    x = n.a(k - 1)
    group = normworked.BackGroup(r, _place(w.page, r, 0), 0)
    e, j = group.members[0]
    count = len(group.members)
    over = f"feature {j} over the batch" if r.over_batch else f"example {e + 1}'s features"
    ghat, xhat = group.ghat_num(e, j), group.xhat_num(e, j)
    std = num(float(r.std[0]), label=group.forward.input_labels())
    s1 = num(float(r.s1[0]), label=normworked._from(*sorted(_labels(group.s1()))))
    s2 = num(float(r.s2[0]), label=normworked._from(*sorted(_labels(group.s2()))))
    m = num(count, True)
    own = op("div", ghat, std)
    mean = op("div", s1, op("mul", m, std))
    spread = op("div", op("mul", xhat, s2), op("mul", m, std))
    where = n.element(x, e, j, r.xhat.shape[1])
    lines = [*line(f"through {xh} itself:  ∂L/∂{xh} / {sigma}", own, p, w.s.width),
             *line(f"through {mu} (subtracted):  S₁ / (M × {sigma})", mean, p, w.s.width),
             *line(f"through {var} (subtracted):  {xh} × S₂ / (M × {sigma})", spread, p, w.s.width),
             *line(f"∂L/∂{where}", op("sub", op("sub", own, mean), spread), p, w.s.width)]
    return [Heading(3, f"Where the three terms of ∂L/∂{x} come from (layer {k})"),
            Para(f"Take one group, {over}: M = {count} values xᵢ, {mu} = Σ xⱼ / M, {var} = Σ (xⱼ − {mu})² / M, "
                 f"{sigma} = √({var} + ε) and {xh}ᵢ = (xᵢ − {mu}) / {sigma}. An input xᵢ reaches the loss along three "
                 f"paths, and the chain rule adds them:"),
            Bullets([f"its own {xh}ᵢ: ∂{xh}ᵢ/∂xᵢ is 1 / {sigma}, so the term is ∂L/∂{xh}ᵢ / {sigma};",
                     f"the mean: ∂{mu}/∂xᵢ is 1 / M, and every {xh}ⱼ of the group falls by 1 / {sigma} as {mu} rises, "
                     f"so the term is −Σ ∂L/∂{xh}ⱼ / (M × {sigma}), that is −S₁ / (M × {sigma});",
                     f"the variance: ∂{var}/∂xᵢ is 2(xᵢ − {mu}) / M and ∂{xh}ⱼ/∂{var} is −(xⱼ − {mu}) / (2{sigma}³), "
                     f"so the term is −{xh}ᵢ × S₂ / (M × {sigma}) (S₂ = Σ ∂L/∂{xh}ⱼ × {xh}ⱼ)."]),
            Math([f"∂L/∂xᵢ = (M × ∂L/∂{xh}ᵢ − S₁ − {xh}ᵢ × S₂) / (M × {sigma})"]),
            Para(f"(The variance's own dependence on {mu} adds nothing: Σ (xⱼ − {mu}) = 0.) For the first value of "
                 f"the group, with ∂L/∂{xh} = {_plain(ghat, p)}, {sigma} = {_plain(std, p)}, S₁ = {_plain(s1, p)} and "
                 f"S₂ = {_plain(s2, p)} from the backward pass, the three terms are:"),
            Math(lines)]


def _labels(expr):  # noqa: ANN001, ANN202
    from nnworked.quantities import labels

    return labels(expr)


def _plain(value, p) -> str:  # noqa: ANN001
    from nnworked.render.numbers import fmt

    return fmt(value.value, p, label=value.label)
