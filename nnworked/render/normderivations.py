"""`--detail full` for dropout, the normalisation layers and skip connections: why the mask multiplies the
gradient (and why the kept values are scaled), where ∂L/∂γ and ∂L/∂β come from, where the three terms of
a norm's ∂L/∂x come from (the paths through x̂, the mean and the variance), and why a skip connection's
gradient is the sum of its two paths; each derived from the forward rule by the chain rule, then worked
with the scenario's own numbers (the trace's, named as the table names them, so a sheet hides its blanks)."""

from __future__ import annotations

from nnworked import normworked, quantities
from nnworked.expr import num, op
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import line
from nnworked.render.normalise import _params, _place, _symbols
from nnworked.trace import DropoutBack, GradientSum, NormBack, NormGradient, ResidualBack, Trace


def norm_derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    """Each backward rule of these layers once, at the first layer that uses it (per norm type)."""
    out: list[Block] = []
    backward = trace.steps[0].backward
    seen: set[str] = set()
    for record in backward:
        kind = type(record).__name__ + getattr(record, "kind", "")
        if kind in seen or not isinstance(record, (DropoutBack, NormGradient, NormBack, ResidualBack)):
            continue
        seen.add(kind)
        if isinstance(record, DropoutBack):
            out += _dropout(w, record)
        elif isinstance(record, NormGradient):
            out += _scale_shift(w, record)
        elif isinstance(record, NormBack):
            out += _three_terms(w, record)
        else:
            out += _residual(w, record, next((r for r in backward if isinstance(r, GradientSum)
                                             and record.layer in r.sources), None))
    return out


def _first(values, pick) -> tuple[int, int] | None:  # noqa: ANN001
    """The first (example, unit) of a 2-D array, or of an image's first channel row, where pick(value) holds."""
    for e in range(values.shape[0]):
        flat = values[e].ravel()
        for u, v in enumerate(flat):
            if pick(v):
                return e, u
    return None


def _dropout(w: ForwardWriter, r: DropoutBack) -> list[Block]:
    n, k, p = w.n, r.layer, w.p
    a, x = n.a(k), n.a(k - 1)
    s = f"1/(1 − {r.rate:g})"
    out: list[Block] = [
        Heading(3, f"Why the dropout mask multiplies the gradient (layer {k})"),
        Para(f"The forward rule is {a} = m × {x} × {s}, with the mask m given, not learned. Each output element "
             f"depends on its own input alone, and linearly, so its local derivative is the factor it was "
             f"multiplied by: ∂{a}/∂{x} = m × {s}, that is {s} where the value was kept and 0 where it was dropped "
             f"(a dropped value did not reach the loss at all). The chain rule multiplies ∂L/∂{a} by it:"),
        Math([f"∂L/∂{x} = ∂L/∂{a} × ∂{a}/∂{x} = ∂L/∂{a} × m × {s}",
              *line(s, normworked.scale(r.rate), p, w.s.width)])]
    lines: list[str] = []
    mask = r.mask.reshape(r.mask.shape[0], -1)
    for kept, note in ((1.0, "kept"), (0.0, "dropped")):
        found = _first(mask, lambda v, kept=kept: v == kept)
        if found is None:
            continue
        e, u = found
        unit = u if r.upstream.ndim == 2 else _unravel(u, r.upstream.shape[1:])
        index = (e, unit) if r.upstream.ndim == 2 else (e, *unit)
        units = r.upstream.shape[1] if r.upstream.ndim == 2 else 0
        # the mask's part alone (a skip connection into this input would add its own after it)
        expr = op("mul", num(r.mask[index], True), num(r.gradient[index], label=n.key("da", k, unit, e)),
                  num(r.scale))
        lines += line(f"∂L/∂{n.element(x, e, unit, units)} through the dropout", expr, p, w.s.width,
                      suffix=f"   ({note})", label=quantities.computed_from(n.key("da", k - 1, unit, e)))
    expected = op("mul", op("sub", num(1, True), num(r.rate, True)), num(r.scale))
    return out + [Para("With this scenario's numbers, one kept value and one dropped:"), Math(lines),
                  Para(f"Why scale the kept values at all: each is kept with probability 1 − {r.rate:g}, so on "
                       f"average the output is (1 − {r.rate:g}) × {s} × {x} = {x}, the value the next layer sees at "
                       "test time, when nothing is dropped:"),
                  Math(line(f"(1 − {r.rate:g}) × {s}", expected, p, w.s.width))]


def _unravel(index: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    import numpy as np

    return tuple(int(i) for i in np.unravel_index(index, shape))


def _scale_shift(w: ForwardWriter, r: NormGradient) -> list[Block]:
    n, k, p, page = w.n, r.layer, w.p, w.page
    gamma, beta = _params(k)
    xh, a = _symbols(k)[2], n.a(k)
    sequence = r.gradient.ndim == 3  # a sequence: one γ[j] at every example and position
    at, over, once = ("n,t,j", "Σₙ,ₜ", "every example n at every position t") if sequence else ("n,j", "Σₙ",
                                                                                                "every example n")
    lines = [f"∂{a}[{at}]/∂{gamma}[j] = {xh}[{at}]   and   ∂{a}[{at}]/∂{beta}[j] = 1",
             f"∂L/∂{gamma}[j] = {over} ∂L/∂{a}[{at}] × {xh}[{at}]",
             f"∂L/∂{beta}[j] = {over} ∂L/∂{a}[{at}] × 1", ""]
    for role, symbol in (("gamma", gamma), ("beta", beta)):
        key = quantities.name(f"d{role}", k, 0, step=n.step)
        lines += line(f"∂L/∂{symbol}[0]", page.table.expression(key), p, w.s.width, label=key)
    return [Heading(3, f"Where ∂L/∂{gamma} and ∂L/∂{beta} come from (layer {k})"),
            Para(f"The last step of the forward rule is {a}[{at}] = {gamma}[j] × {xh}[{at}] + {beta}[j]. One "
                 f"{gamma}[j] scales feature j of {once}, so it reaches the loss once per "
                 f"{'example and position' if sequence else 'example'}, and the chain rule sums over them, each term "
                 "∂L/∂a times the local derivative (x̂ for the scale, 1 for the shift). Here, for feature 0:"),
            Math(lines)]


def _three_terms(w: ForwardWriter, r: NormBack) -> list[Block]:
    n, k, p = w.n, r.layer, w.p
    mu, var, xh, sigma = _symbols(k)
    x = n.a(k - 1)
    over = ("a feature's values over the batch" if r.over_batch else
            "an example's features at one position" if r.upstream.ndim == 3 else "an example's features")
    out: list[Block] = [
        Heading(3, f"Where the three terms of ∂L/∂{x} come from ({_label(r.kind)}, layer {k})"),
        Para(f"Take one group, {over}: M values x₁ … x_M with μ = Σⱼ xⱼ / M, σ² = Σⱼ (xⱼ − μ)² / M, "
             f"σ = √(σ² + ε) and x̂ⱼ = (xⱼ − μ) / σ. An input xᵢ reaches the loss along three paths: through its "
             "own x̂ᵢ, through the mean μ and through the variance σ², which every x̂ⱼ of the group uses. The "
             "chain rule adds the three:"),
        Math(["∂L/∂xᵢ = ∂L/∂x̂ᵢ × ∂x̂ᵢ/∂xᵢ + ∂L/∂μ × ∂μ/∂xᵢ + ∂L/∂σ² × ∂σ²/∂xᵢ",
              "∂x̂ᵢ/∂xᵢ = 1/σ   (μ and σ held),   ∂μ/∂xᵢ = 1/M,   ∂σ²/∂xᵢ = 2(xᵢ − μ)/M = 2σ·x̂ᵢ/M",
              "S₁ = Σⱼ ∂L/∂x̂ⱼ,   S₂ = Σⱼ ∂L/∂x̂ⱼ × x̂ⱼ",
              "∂L/∂σ² = Σⱼ ∂L/∂x̂ⱼ × ∂x̂ⱼ/∂σ² = Σⱼ ∂L/∂x̂ⱼ × (−x̂ⱼ / (2σ²)) = −S₂ / (2σ²)",
              "∂L/∂μ = Σⱼ ∂L/∂x̂ⱼ × (−1/σ) + ∂L/∂σ² × ∂σ²/∂μ = −S₁/σ + 0   (∂σ²/∂μ = −2·Σⱼ (xⱼ − μ)/M = 0)",
              "∂L/∂xᵢ = ∂L/∂x̂ᵢ/σ − S₁/(M·σ) − x̂ᵢ·S₂/(M·σ) = (M·∂L/∂x̂ᵢ − S₁ − x̂ᵢ·S₂) / (M·σ)"])]
    e, j = 0, ((0, 0) if r.upstream.ndim == 3 else 0)  # a sequence's first position
    g = normworked.group_of(r, e, j)
    group = normworked.BackGroup(r, _place(w.page, r, g), g)
    count = num(len(group.members), True)
    at = group.forward.at  # the group's place in the statistics: (g,), or (example, position) of a sequence
    std = num(r.std[at], label=group.forward.input_labels())
    s1, s2 = num(r.s1[at], label=group.s1_label()), num(r.s2[at], label=group.sums_label())
    ghat, xhat = group.ghat_num(e, j), group.xhat_num(e, j)
    through_xhat = op("div", ghat, std)
    through_mean = op("div", s1, op("mul", count, std))
    through_variance = op("div", op("mul", xhat, s2), op("mul", count, std))
    cell = n.element(x, e, j, r.upstream.shape[1])
    where = f"{mu}[{j}], {var}[{j}]" if r.over_batch else f"{mu}{n.example(e)}, {var}{n.example(e)}"
    lines = [*line("through x̂:  ∂L/∂x̂ / σ", through_xhat, p, w.s.width),
             *line("through μ:  S₁ / (M·σ)", through_mean, p, w.s.width),
             *line("through σ²: x̂·S₂ / (M·σ)", through_variance, p, w.s.width),
             *line(f"∂L/∂{cell} from layer {k}", op("sub", op("sub", through_xhat, through_mean), through_variance), p,
                   w.s.width)]
    return out + [Para(f"With this scenario's numbers, for {cell} (its group's {where}, {sigma} = √({var} + ε), and S₁, "
                       f"S₂ and ∂L/∂{xh} from the backward pass, M = {len(group.members)}), the three paths:"),
                  Math(lines),
                  Para("The same number as the compact form the backward pass works, as the algebra says it must be:"),
                  Math(line("(M × ∂L/∂x̂ − S₁ − x̂ × S₂) / (M × σ)", group.dx(e, j), p, w.s.width))]


def _residual(w: ForwardWriter, r: ResidualBack, joined: GradientSum | None) -> list[Block]:
    n, k, p, page = w.n, r.layer, w.p, w.page
    a, previous, branch = n.a(k), n.a(k - 1), n.a(r.source)
    out: list[Block] = [
        Heading(3, f"Why a skip connection's gradient is the sum of its two paths (layer {k})"),
        Para(f"The forward rule is {a} = {previous} + {branch}, so ∂{a}/∂{previous} = 1 and ∂{a}/∂{branch} = 1: "
             f"∂L/∂{a} passes back unchanged along both branches."
             + (f" {branch} is also the input of layer {r.source + 1}, so it reaches the loss along two paths, and "
                f"the chain rule for a value used twice adds them: ∂L/∂{branch} = (what comes back through layer "
                f"{r.source + 1}) + ∂L/∂{a}." if r.source > 0 else
                f" {branch} is the data: the shortcut's copy of the gradient ends there."))]
    if joined is None or r.upstream.ndim not in (2, 3):  # an image's skip: its working is the walkthrough's
        return out
    j, unit = joined.layer, ((0, 0) if r.upstream.ndim == 3 else 0)  # a sequence's first position
    key = n.key("da", j, unit, 0)
    return out + [Para(f"Here, for ∂L/∂{n.element(branch, 0, unit, joined.total.shape[-1])}: the main path's working, "
                       f"then + ∂L/∂{a} from the shortcut:"),
                  Math(line(f"∂L/∂{n.element(branch, 0, unit, joined.total.shape[-1])}", page.table.expression(key), p,
                            w.s.width, label=key))]


def _label(kind: str) -> str:
    from nnworked.rules.layers import LAYERS

    return LAYERS[kind].label
