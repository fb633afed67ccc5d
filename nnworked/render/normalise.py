"""The walkthrough of dropout and the normalisation layers: their forward and backward records, worked
element by element (each value from the table of quantities, each statistic in between from
`nnworked.normworked`), as a teacher works them on the board."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnworked import normworked, quantities
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import fmt, subscript
from nnworked.render.page import Numbering, Page
from nnworked.trace import (Dropout, DropoutBack, GradientSum, NormBack, NormGradient, Normalise, Residual, ResidualBack,
                            TrainingStep)



def _title(kind: str) -> str:
    """"Batch Normalisation": the layer rule's own label."""
    from nnworked.rules.layers import LAYERS

    return LAYERS[kind].label.title()


def _symbols(k: int) -> tuple[str, str, str, str]:
    """μₖ, σ²ₖ, x̂ₖ, σₖ."""
    s = subscript(str(k))
    return f"μ{s}", f"σ²{s}", f"x̂{s}", f"σ{s}"


def _params(k: int) -> tuple[str, str]:
    s = subscript(str(k))
    return f"γ{s}", f"β{s}"


class _Lines:
    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _worked(self, lhs: str, expr: Any, label: str = "") -> list[str]:
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _elements(self, lhs: str, kind: str, k: int, values: np.ndarray) -> list[str]:
        """Each shown element's worked line from the table (kind a: the layer's output; da: a gradient)."""
        n, lines = self.n, []
        shown, hidden = self.page.elements(*values.shape)
        for e, unit in shown:
            lines += self._worked(f"{lhs}{n.element('', e, unit, values.shape[1] if values.ndim == 2 else 0)}"
                                  if values.ndim == 2 else f"{lhs}{n.element('', e, unit, 0)}",
                                  self.page.expression(kind, k, unit, e), n.key(kind, k, unit, e))
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _group_name(self, symbol: str, record: Any, g: int, groups: int) -> str:
        """A statistic of feature g (batch_norm) or of example g (layer_norm; of the example and position of
        a sequence: μ⁽²⁾[1])."""
        if record.over_batch:
            return f"{symbol}[{g}]" if groups > 1 else symbol
        at = normworked.row_of(record, g)
        return f"{symbol}{self.n.example(at[0])}" + (f"[{at[1]}]" if len(at) == 2 else "")

    def _cell(self, symbol: str, e: int, j: int, features: int) -> str:
        return self.n.element(symbol, e, j, features)

    def _groups(self, count: int) -> tuple[list[int], int]:
        return pick(count, self.s.elements)


class NormForward(_Lines):
    """The forward records of dropout and the normalisation layers, on a Page."""

    def _print_Dropout(self, drop: Dropout, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, drop.layer, numbering.next()
        a, x = n.a(k), n.a(k - 1)
        return [Heading(3, f"Step {step}: Dropout (rate {drop.rate:g})"),
                Para(f"**Inverted dropout with the given mask:** each value of {x} is multiplied by its mask (1 "
                     f"keeps it, 0 drops it) and by 1/(1 − {drop.rate:g}), so that the kept values make up for "
                     "the dropped ones (nothing needs rescaling at test time)."),
                Math([f"{a} = mask × {x} × 1/(1 − rate)", *self._worked("1/(1 − rate)", normworked.scale(drop.rate)),
                      "", *self._elements(a, "a", k, drop.a)]),
                *self.page.result(a, drop.a, n.keys("a", k))]

    def _print_Normalise(self, norm: Normalise, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, norm.layer, numbering.next()
        mu, var, xh, _ = _symbols(k)
        gamma, beta = _params(k)
        x, a = n.a(k - 1), n.a(k)
        examples, features = norm.xhat.shape[0], norm.xhat.shape[-1]
        over = (f"each feature over the {examples} examples of the batch (training mode)" if norm.over_batch
                else f"each example over its {features} features" if norm.xhat.ndim == 2
                else f"each position of each example over its {features} features")
        out: list[Block] = [
            Heading(3, f"Step {step}: {_title(norm.kind)}"),
            Para(f"**Normalise {over}:** the mean, the variance (biased: divided by the count, as in training), "
                 f"each value's distance from the mean in standard deviations, then the trained scale {gamma} "
                 f"and shift {beta} of its feature."),
            Math([f"{xh} = ({x} − {mu}) / √({var} + ε),   ε = {fmt(norm.epsilon, self.p, given=True)}", f"{a} = {gamma} × {xh} + {beta}"])]
        groups = normworked.groups(norm)
        shown, hidden = self._groups(groups)
        lines: list[str] = []
        for g in shown:
            group = normworked.Group(norm, _place(self.page, norm, g), g)
            label = group.input_labels()
            lines += self._worked(self._group_name(mu, norm, g, groups), group.mean(), label)
            lines += self._worked(self._group_name(var, norm, g, groups), group.variance(), label)
            members, more = pick(len(group.members), self.s.elements)
            for m in members:
                e, j = group.members[m]
                lines += self._worked(self._cell(xh, e, j, features), group.xhat(e, j), label)
            if more:
                lines.append(elided_note(more))
            lines.append("")
        if hidden:
            lines += [elided_note(hidden, "groups"), ""]
        lines += self._elements(a, "a", k, norm.a)
        return out + [Math(lines), *self.page.result(a, norm.a, n.keys("a", k))]

    def _print_Residual(self, res: Residual, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, res.layer, numbering.next()
        a, previous, branch = n.a(k), n.a(k - 1), n.a(res.source)
        return [Heading(3, f"Step {step}: Residual Connection"),
                Para(f"**The skip connection adds two branches:** the output of the layer before, {previous} (the "
                     f"main branch), and the earlier {branch} it skipped over (the shortcut), element by element."),
                Math([f"{a} = {previous} + {branch}", "", *self._elements(a, "a", k, res.a)]),
                *self.page.result(a, res.a, n.keys("a", k))]

    def _compact_Residual(self, res: Residual) -> list[str]:
        return [*self.page.array(self.n.a(res.layer), res.a, self.n.keys("a", res.layer)), ""]

    def _compact_Dropout(self, drop: Dropout) -> list[str]:
        return [*self.page.array(self.n.a(drop.layer), drop.a, self.n.keys("a", drop.layer)), ""]

    def _compact_Normalise(self, norm: Normalise) -> list[str]:
        return [*self.page.array(self.n.a(norm.layer), norm.a, self.n.keys("a", norm.layer)), ""]


class NormBackward(_Lines):
    """The backward records of dropout and the normalisation layers, on a Page."""

    def __init__(self, page: Page, training: TrainingStep):
        super().__init__(page)
        self.training = training

    def _print_DropoutBack(self, step: DropoutBack, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        da = f"∂L/∂{n.a(k - 1)}"
        return [Heading(3, f"Step {label}: Backpropagate through Dropout"),
                Para(f"**The mask applied to the gradient:** a dropped value (mask 0) did not reach the loss, so its "
                     f"gradient is 0; a kept one passes ∂L/∂{n.a(k)} back scaled by the same 1/(1 − {step.rate:g})."),
                Math([f"{da} = mask × ∂L/∂{n.a(k)} × 1/(1 − rate)", "", *self._elements(da, "da", k - 1, step.upstream)]),
                *self.page.result(da, step.upstream, n.keys("da", k - 1))]

    def _print_ResidualBack(self, step: ResidualBack, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        da, previous, branch = f"∂L/∂{n.a(k)}", n.a(k - 1), n.a(step.source)
        skip = (f" The same {da} also goes back along the shortcut to {branch}, where it adds to what reaches "
                f"{branch} along the main branch." if step.source > 0 else
                " (The shortcut's copy reaches the inputs, which are data: nothing is done with it.)")
        return [Heading(3, f"Step {label}: Backpropagate through the Residual Connection"),
                Para(f"**A sum passes its gradient unchanged to both of its branches** (∂({previous} + {branch})/∂"
                     f"{previous} = 1), so ∂L/∂{previous} = {da}.{skip}"),
                Math(self._elements(f"∂L/∂{previous}", "da", k - 1, step.upstream)),
                *self.page.result(f"∂L/∂{previous}", step.upstream, n.keys("da", k - 1))]

    def _print_GradientSum(self, step: GradientSum, numbering: Numbering) -> list[Block]:
        n, j = self.n, step.layer
        a = n.a(j)
        skips = " and ".join(f"∂L/∂{n.a(k)} (the shortcut into layer {k})" for k in step.sources)
        return [Para(f"**{a} feeds two paths**, the next layer and the residual connection"
                     f"{'s' if len(step.sources) > 1 else ''} at layer {', '.join(map(str, step.sources))}, so its "
                     f"gradient is the sum of both: what reached it along the main path plus {skips}. Each line "
                     "above ends in that sum."),
                *self.page.result(f"∂L/∂{a}", step.total, n.keys("da", j))]

    def _print_NormGradient(self, step: NormGradient, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        gamma, beta = _params(k)
        xh = _symbols(k)[2]
        a = n.a(k)
        batch = "Σₙ Σₜ " if step.gradient.ndim == 3 else "Σₙ " if step.gradient.shape[0] > 1 else ""
        lines = [f"∂L/∂{gamma}[j] = {batch}∂L/∂{a}[j] × {xh}[j]", f"∂L/∂{beta}[j] = {batch}∂L/∂{a}[j]", ""]
        features = step.gradient.shape[-1]
        shown, hidden = pick(features, self.s.elements)
        for role, symbol in (("gamma", gamma), ("beta", beta)):
            for j in shown:
                key = quantities.name(f"d{role}", k, j, step=n.step)
                lines += self._worked(f"∂L/∂{symbol}[{j}]", self.page.table.expression(key), key)
            if hidden:
                lines.append(elided_note(hidden))
        return [Heading(3, f"Step {label}: Gradients for {gamma} and {beta}"),
                Para(f"**Scale and shift:** {gamma} multiplied each {xh} of its feature and {beta} was added to it, "
                     f"so their gradients sum ∂L/∂{a} × {xh} and ∂L/∂{a} over the examples."), Math(lines)]

    def _print_NormBack(self, step: NormBack, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        mu, var, xh, sigma = _symbols(k)
        gamma = _params(k)[0]
        x, a = n.a(k - 1), n.a(k)
        examples, features = step.xhat.shape[0], step.xhat.shape[-1]
        count = examples if step.over_batch else features
        over = "feature's batch" if step.over_batch else "example's features" if step.xhat.ndim == 2 else \
            "position's features"
        out: list[Block] = [
            Heading(3, f"Step {label}: Backpropagate through {_title(step.kind)}"),
            Para(f"**Three paths:** each input reaches the loss through its own {xh}, and through the mean {mu} and "
                 f"the variance {var} of its {over}, which every {xh} of the group uses. With ∂L/∂{xh} = ∂L/∂{a} × "
                 f"{gamma}, S₁ = Σ ∂L/∂{xh} (through the mean) and S₂ = Σ ∂L/∂{xh} × {xh} (through the variance), "
                 f"summed over the group's M = {count} values, the three terms add up to:"),
            Math([f"∂L/∂{x} = (M × ∂L/∂{xh} − S₁ − {xh} × S₂) / (M × {sigma}),   {sigma} = √({var} + ε)"])]
        groups = normworked.groups(step)
        shown, hidden = self._groups(groups)
        lines: list[str] = []
        for g in shown:
            group = normworked.BackGroup(step, _place(self.page, step, g), g)
            members, more = pick(len(group.members), self.s.elements)
            for m in members:
                e, j = group.members[m]
                lines += self._worked(self._cell(f"∂L/∂{xh}", e, j, features), group.ghat(e, j),
                                      group.ghat_num(e, j).label)
            if more:
                lines.append(elided_note(more))
            label_sums = group.sums_label()
            lines += self._worked(self._group_name("S₁", step, g, groups), group.s1(), group.s1_label())
            lines += self._worked(self._group_name("S₂", step, g, groups), group.s2(), label_sums)
            lines.append("")
        if hidden:
            lines += [elided_note(hidden, "groups"), ""]
        lines += self._elements(f"∂L/∂{x}", "da", k - 1, step.upstream)
        return out + [Math(lines), *self.page.result(f"∂L/∂{x}", step.upstream, n.keys("da", k - 1))]


def _place(page: Page, record: Any, g: int) -> Any:
    """Where a group's statistics are worked: the pass of this page, its first member's example."""
    at = normworked.row_of(record, g)
    members_example = 0 if record.over_batch else at[0]
    key = quantities.parse(page.n.key("a", record.layer, 0 if len(at) == 1 else (at[1], 0), members_example))
    table = page.table
    from nnworked.workings import Place

    return Place(table.trace, key, table.trace.scenario.inputs.shape[0], (0,), members_example,
                 key.step == quantities.FIRST_STEP)


class NormResults:
    """`--detail brief`: the result of each dropout, normalisation and residual record, without its working."""

    def __init__(self, w: Any):
        self.w, self.n = w, w.n

    def _output(self, layer: int, values: np.ndarray, what: str) -> list[str]:
        return [*self.w.array(f"{self.n.a(layer)} = {what}", values, self.n.keys("a", layer)), ""]

    def _gradient(self, layer: int, values: np.ndarray, what: str) -> list[str]:
        return [*self.w.array(f"∂L/∂{self.n.a(layer)} = {what}", values, self.n.keys("da", layer)), ""]

    def _print_Dropout(self, r: Dropout) -> list[str]:
        return self._output(r.layer, r.a, f"dropout({self.n.a(r.layer - 1)})")

    def _print_Normalise(self, r: Normalise) -> list[str]:
        return self._output(r.layer, r.a, f"{r.kind}({self.n.a(r.layer - 1)})")

    def _print_Residual(self, r: Residual) -> list[str]:
        return self._output(r.layer, r.a, f"{self.n.a(r.layer - 1)} + {self.n.a(r.source)}")

    def _print_DropoutBack(self, r: DropoutBack) -> list[str]:
        return self._gradient(r.layer - 1, r.upstream, "through dropout")

    def _print_NormBack(self, r: NormBack) -> list[str]:
        return self._gradient(r.layer - 1, r.upstream, f"through {r.kind}")

    def _print_ResidualBack(self, r: ResidualBack) -> list[str]:
        return self._gradient(r.layer - 1, r.upstream, f"∂L/∂{self.n.a(r.layer)}")

    def _print_GradientSum(self, r: GradientSum) -> list[str]:
        return []  # the main path's record above already shows the sum

    def _print_NormGradient(self, r: NormGradient) -> list[str]:
        from nnworked.render.numbers import vector

        gamma, beta = _params(r.layer)
        return [f"∂L/∂{gamma} = {vector(r.gamma_grad, self.w.p, limit=self.w.s.elements)}",
                f"∂L/∂{beta} = {vector(r.beta_grad, self.w.p, limit=self.w.s.elements)}", ""]
