"""The AI by Hand layout of dropout, normalisation and residual layers, as Tom Yeh's sheets lay them out:
each example a column and each feature a row; a normalisation's statistics written beside the rows it
takes them along (batch_norm: each feature's row over the batch) or below the columns (layer_norm: each
example's column over its features), then x̂ with the scale γ and shift β of each row beside it; dropout's
mask beside the values, cell for cell; a residual connection's two branches, then their sum. The
backward records the same way: ∂L/∂γ and ∂L/∂β as the sums beside the rows of ∂L/∂a, ∂L/∂x̂ with its sums
S₁ and S₂ and σ beside (or below) it, the mask beside the gradient, and the two paths a gradient takes back.

Every cell is the trace's number, each named as the table of quantities names it, so a sheet blanks it;
the worked lines are the table's (and `nnworked.normworked`'s, for the statistics in between). An image
(dropout or a residual connection after a convolution) is worked as in the standard layout."""

from __future__ import annotations

from typing import Callable

import numpy as np

from nnworked import normworked, quantities
from nnworked.quantities import computed_from
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.normalise import NormBackward, NormForward, _params, _place, _symbols
from nnworked.render.numbers import fmt
from nnworked.render.page import Numbering, Page
from nnworked.trace import (Dropout, DropoutBack, GradientSum, NormBack, NormGradient, Normalise, Residual, ResidualBack,
                            TrainingStep)

Cell = Callable[[int, int], str]  # (row, column) -> the label of the number in that cell


def grid(symbol: str, page: Page, main: np.ndarray, labels: Cell | None = None, given: bool = False,
         beside: np.ndarray | None = None, beside_labels: Cell | None = None, below: np.ndarray | None = None,
         below_labels: Cell | None = None, beside_given: bool = False) -> list[str]:
    """`symbol = | … |`: a matrix with more columns beside it, set off by a bar (as [W | b] is), or more rows
    below it, set off by a rule (as [x ; 1] is). Each part keeps its first and last rows and columns when
    it is elided, so the statistics beside or below a large matrix are never cut away."""
    limit = page.s.elements

    def shown(count: int) -> list[int]:
        indices, hidden = pick(count, limit)
        return indices[:-1] + [-1] + indices[-1:] if hidden else indices

    def cells(values: np.ndarray, rows: list[int], cols: list[int], name: Cell | None, plain: bool) -> list[list[str]]:
        return [["⋮" if r == -1 else "…" if c == -1 else
                 fmt(values[r, c], page.p, plain, name(r, c) if name else "") for c in cols] for r in rows]

    rows, cols = shown(main.shape[0]), shown(main.shape[1])
    body = cells(main, rows, cols, labels, given)
    extra = cells(beside, rows, shown(beside.shape[1]), beside_labels, beside_given) if beside is not None else None
    under = cells(below, list(range(below.shape[0])), cols, below_labels, False) if below is not None else []
    left = body + under
    widths = [max(len(row[j]) for row in left) for j in range(len(cols))]
    lines = ["| " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in left]
    if extra is not None:
        extra_widths = [max(len(row[j]) for row in extra) for j in range(len(extra[0]))]
        lines = [text + " │ " + "  ".join(cell.rjust(w) for cell, w in zip(row, extra_widths))
                 for text, row in zip(lines, extra)]
    lines = [text + " |" for text in lines]
    if under:
        lines.insert(len(body), "| " + "-" * (len(lines[0]) - 4) + " |")
    pad = " " * (len(symbol) + 3)
    return [f"{symbol} = {lines[0]}", *(pad + text for text in lines[1:])]


class ByHandNorms:
    """The records of dropout, normalisation and residual layers in the AI by Hand layout, on a Page."""

    def __init__(self, page: Page, training: TrainingStep | None = None):
        self.page, self.p, self.n, self.s, self.training = page, page.p, page.n, page.s, training
        self.first_step = training is None or training.number == 1
        self.standard_forward = NormForward(page)
        self.standard_backward = NormBackward(page, training) if training is not None else None

    # -- what every printer here shares --

    def _cell(self, symbol: str, row: int, column: int, examples: int) -> str:
        """symbol[row,column] (a feature's row, an example's column); symbol[row] for one example."""
        return f"{symbol}[{row},{column}]" if examples > 1 else f"{symbol}[{row}]"

    def _worked(self, lhs: str, expr, label: str) -> list[str]:  # noqa: ANN001
        return line(lhs, expr, self.p, self.s.width, label=label)

    def _cells(self, values: np.ndarray) -> tuple[list[tuple[int, int]], int]:
        """The (row, column) cells of a (examples, features) array worked one by one, rows first, and how
        many are elided."""
        examples, features = values.shape
        rows, _ = pick(features, self.s.elements)
        cols, _ = pick(examples, self.s.elements)
        shown = [(j, e) for j in rows for e in cols]
        return shown, examples * features - len(shown)

    def _table_lines(self, symbol: str, kind: str, k: int, values: np.ndarray) -> list[str]:
        """Each shown cell's worked line, from the table (kind a: the layer's output; da: a gradient)."""
        lines: list[str] = []
        shown, hidden = self._cells(values)
        for j, e in shown:
            key = self.n.key(kind, k, j, e)
            lines += self._worked(self._cell(symbol, j, e, values.shape[0]), self.page.table.expression(key), key)
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _columns(self, symbol: str, values: np.ndarray, kind: str, k: int) -> list[str]:
        """An (examples, features) array as the layout writes it: a column per example, each cell named."""
        return grid(symbol, self.page, values.T, lambda j, e: self.n.key(kind, k, j, e))

    def _standard(self, blocks: list[Block], heading: str) -> list[Block]:
        """An image's record, worked as the standard layout works it, under this layout's heading."""
        return [Heading(3, heading), *blocks[1:]]

    def _group(self, record, g: int) -> normworked.Group:  # noqa: ANN001
        return normworked.Group(record, _place(self.page, record, g), g)

    def _back_group(self, record, g: int) -> normworked.BackGroup:  # noqa: ANN001
        return normworked.BackGroup(record, _place(self.page, record, g), g)

    def _stat_name(self, symbol: str, over_batch: bool, g: int) -> str:
        """A statistic of row g (batch_norm: feature g) or of column g (layer_norm: example g)."""
        return f"{symbol}[{g}]" if over_batch else f"{symbol}[·,{g}]"

    def _beside_or_below(self, symbol: str, stats: list[str], values: np.ndarray, labels: Cell,
                         columns: np.ndarray, column_labels: Cell, over_batch: bool) -> list[str]:
        """`values` (features × examples) with the statistics of each group beside its row (batch_norm) or
        below its column (layer_norm): `columns` holds them, one column per statistic, one row per group."""
        if over_batch:
            return grid(f"[{symbol} | {'  '.join(stats)}]", self.page, values, labels, beside=columns,
                        beside_labels=column_labels)
        return grid(f"[{symbol} ; {' ; '.join(stats)}]", self.page, values, labels, below=columns.T,
                    below_labels=lambda s, g: column_labels(g, s))

    # -- forward --

    def _print_Normalise(self, norm: Normalise) -> list[Block]:
        n, k = self.n, norm.layer
        mu, var, xh, sigma = _symbols(k)
        gamma, beta = _params(k)
        x, a = n.a(k - 1), n.a(k)
        examples, features = norm.xhat.shape
        groups = features if norm.over_batch else examples
        count = examples if norm.over_batch else features
        where = ("beside each row, which holds one feature across the batch" if norm.over_batch else
                 "below each column, which holds one example's features")
        along = "along each row" if norm.over_batch else "down each column"
        shown_groups, hidden_groups = pick(groups, self.s.elements)
        made = {g: self._group(norm, g) for g in shown_groups}
        out: list[Block] = [
            Heading(3, f"Layer {k}: {_label(norm.kind)} ({'each row over the batch' if norm.over_batch else 'each column over its features'})"),
            Para(f"Each example is a column and each feature a row. The statistics are taken {along}, over its "
                 f"{count} value{'s' if count != 1 else ''}, and written {where}: the mean {mu}, the variance "
                 f"{var} (biased: divided by {count}) and {sigma} = √({var} + ε), ε = {norm.epsilon:g}. Each cell "
                 f"becomes {xh} = (x − {mu}) / {sigma}; then row j is scaled by {gamma}[j] and shifted by "
                 f"{beta}[j], its own pair, beside it: {a} = {gamma} × {xh} + {beta}.")]
        lines: list[str] = []
        for g in shown_groups:
            group, label = made[g], made[g].input_labels()
            lines += self._worked(self._stat_name(mu, norm.over_batch, g), group.mean(), label)
            lines += self._worked(self._stat_name(var, norm.over_batch, g), group.variance(), label)
        if hidden_groups:
            lines.append(elided_note(hidden_groups, "groups"))
        statistics = np.stack([norm.mean, norm.variance, norm.std], axis=1)  # one row per group
        group_label = lambda g, _: self._group(norm, g).input_labels()  # noqa: E731
        stats = self._beside_or_below(x, [mu, var, sigma], norm.inputs.T,
                                      _input_labels(n, k, norm.inputs.shape[0]), statistics, group_label,
                                      norm.over_batch)
        xhat_lines: list[str] = []
        shown, hidden = self._cells(norm.xhat)
        for j, e in shown:
            g = normworked.group_of(norm, e, j)
            group = made.get(g) or self._group(norm, g)
            xhat_lines += self._worked(self._cell(xh, j, e, examples), group.xhat(e, j), group.input_labels())
        if hidden:
            xhat_lines.append(elided_note(hidden))
        xhat_label = lambda j, e: self._group(norm, normworked.group_of(norm, e, j)).input_labels()  # noqa: E731
        scale = np.stack([norm.gamma, norm.beta], axis=1)
        before = lambda j, c: n.before(("gamma", "beta")[c], k, j)  # noqa: E731
        scaled = grid(f"[{xh} | {gamma}  {beta}]", self.page, norm.xhat.T, xhat_label, beside=scale,
                      beside_labels=before, beside_given=self.first_step)
        return out + [Math(lines), Math(stats), Math(xhat_lines), Math(scaled),
                      Math(self._table_lines(a, "a", k, norm.a)), Math(self._columns(a, norm.a, "a", k))]

    def _print_Dropout(self, drop: Dropout) -> list[Block]:
        n, k = self.n, drop.layer
        a, x = n.a(k), n.a(k - 1)
        heading = f"Layer {k}: dropout (rate {drop.rate:g})"
        if drop.a.ndim != 2:
            return self._standard(self.standard_forward._print_Dropout(drop, Numbering(k)), heading)
        return [Heading(3, heading),
                Para(f"The mask is written beside the values, cell for cell: 1 keeps the value, 0 drops it. Each "
                     f"kept value is also multiplied by 1/(1 − {drop.rate:g}), so that the kept values make up for "
                     "the dropped ones (nothing needs rescaling at test time)."),
                Math([f"{a} = mask ⊙ {x} × 1/(1 − rate)",
                      *self._worked("1/(1 − rate)", normworked.scale(drop.rate), "")]),
                Math(grid(f"[{x} | mask]", self.page, drop.inputs.T, _input_labels(n, k, drop.inputs.shape[0]),
                          given=self.first_step and k == 1, beside=drop.mask.T, beside_given=True)),
                Math(self._table_lines(a, "a", k, drop.a)), Math(self._columns(a, drop.a, "a", k))]

    def _print_Residual(self, res: Residual) -> list[Block]:
        n, k = self.n, res.layer
        a, previous, branch = n.a(k), n.a(k - 1), n.a(res.source)
        heading = f"Layer {k}: residual connection ({previous} + {branch})"
        if res.a.ndim != 2:
            return self._standard(self.standard_forward._print_Residual(res, Numbering(k)), heading)
        skipped = f"layer {k - 1}" if res.source == k - 2 else f"layers {res.source + 1}–{k - 1}"
        first = self.first_step
        return [Heading(3, heading),
                Para(f"Two branches meet here, each a matrix of the same shape: the main branch {previous}, the "
                     f"output of the layer before, and the shortcut {branch}, which skipped {skipped}. They are "
                     "added cell by cell."),
                Math(grid(f"{previous} (main branch)", self.page, res.inputs.T, _input_labels(n, k, res.inputs.shape[0]),
                          given=first and k == 1)),
                Math(grid(f"{branch} (shortcut)", self.page, res.branch.T,
                          _input_labels(n, res.source + 1, res.branch.shape[0]), given=first and res.source == 0)),
                Math([f"{a} = {previous} + {branch}", "", *self._table_lines(a, "a", k, res.a)]),
                Math(self._columns(a, res.a, "a", k))]

    # -- backward --

    def _print_NormGradient(self, step: NormGradient) -> list[Block]:
        n, k = self.n, step.layer
        gamma, beta = _params(k)
        xh, a = _symbols(k)[2], n.a(k)
        examples, features = step.gradient.shape
        lines = [f"∂L/∂{gamma}[j] = Σ (row j of ∂L/∂{a} ⊙ {xh})", f"∂L/∂{beta}[j] = Σ (row j of ∂L/∂{a})", ""]
        rows, hidden = pick(features, self.s.elements)
        for role, symbol in (("gamma", gamma), ("beta", beta)):
            for j in rows:
                key = quantities.name(f"d{role}", k, j, step=n.step)
                lines += self._worked(f"∂L/∂{symbol}[{j}]", self.page.table.expression(key), key)
            if hidden:
                lines.append(elided_note(hidden))
        forward = self._forward(k)
        xhat_label = lambda j, e: self._group(forward, normworked.group_of(forward, e, j)).input_labels()  # noqa: E731
        sums = np.stack([step.gamma_grad, step.beta_grad], axis=1)
        names = lambda j, c: quantities.name(("dgamma", "dbeta")[c], k, j, step=n.step)  # noqa: E731
        across = f"the {examples} examples of its row" if examples > 1 else "its row"
        return [Heading(3, f"Layer {k}: ∂L/∂{gamma} and ∂L/∂{beta}"),
                Para(f"{gamma}[j] scaled row j of {xh} and {beta}[j] shifted it, so each gradient sums over {across}: "
                     f"∂L/∂{gamma}[j] the cell-by-cell products of row j of ∂L/∂{a} with row j of {xh}, "
                     f"∂L/∂{beta}[j] row j of ∂L/∂{a} itself. Both sums are written beside the row."),
                Math(grid(xh, self.page, step.xhat.T, xhat_label)),
                Math(lines),
                Math(grid(f"[∂L/∂{a} | ∂L/∂{gamma}  ∂L/∂{beta}]", self.page, step.gradient.T,
                          lambda j, e: n.key("da", k, j, e), beside=sums, beside_labels=names))]

    def _print_NormBack(self, step: NormBack) -> list[Block]:
        n, k = self.n, step.layer
        _, var, xh, sigma = _symbols(k)
        gamma = _params(k)[0]
        x, a = n.a(k - 1), n.a(k)
        examples, features = step.xhat.shape
        groups = features if step.over_batch else examples
        count = examples if step.over_batch else features
        where = "beside each row" if step.over_batch else "below each column"
        along = "row" if step.over_batch else "column"
        shown_groups, hidden_groups = pick(groups, self.s.elements)
        made = {g: self._back_group(step, g) for g in shown_groups}
        lines: list[str] = []
        shown, hidden = self._cells(step.xhat)
        for j, e in shown:
            group = self._made(made, step, normworked.group_of(step, e, j))
            lines += self._worked(self._cell(f"∂L/∂{xh}", j, e, examples), group.ghat(e, j), group.ghat_num(e, j).label)
        if hidden:
            lines.append(elided_note(hidden))
        lines.append("")
        for g in shown_groups:
            group = made[g]
            lines += self._worked(self._stat_name("S₁", step.over_batch, g), group.s1(), group.s1_label())
            lines += self._worked(self._stat_name("S₂", step.over_batch, g), group.s2(), group.sums_label())
        if hidden_groups:
            lines.append(elided_note(hidden_groups, "groups"))
        ghat_label = lambda j, e: self._made(made, step, normworked.group_of(step, e, j)).ghat_num(e, j).label  # noqa: E731

        def stat_label(g: int, c: int) -> str:
            group = self._made(made, step, g)
            return (group.s1_label(), group.sums_label(), group.forward.input_labels())[c]
        statistics = np.stack([step.s1, step.s2, step.std], axis=1)
        sums = self._beside_or_below(f"∂L/∂{xh}", ["S₁", "S₂", sigma], step.ghat.T, ghat_label, statistics,
                                     stat_label, step.over_batch)
        return [Heading(3, f"Layer {k - 1}: ∂L/∂{x} back through the {_label(step.kind)}"),
                Para(f"First ∂L/∂{xh} = ∂L/∂{a} × {gamma}, row j scaled by {gamma}[j]. Then, {where} (the M = {count} "
                     f"values one mean and variance were taken over), its two sums: S₁ = Σ ∂L/∂{xh}, the path through "
                     f"the mean, and S₂ = Σ ∂L/∂{xh} × {xh}, the path through the variance, with {sigma} = √({var} + ε) "
                     f"from the forward pass. Each cell's own path through {xh} and those two give, per {along}:"),
                Math([f"∂L/∂{x} = (M × ∂L/∂{xh} − S₁ − {xh} × S₂) / (M × {sigma}),   M = {count}"]),
                Math(lines), Math(sums),
                Math(self._table_lines(f"∂L/∂{x}", "da", k - 1, step.upstream)),
                Math(self._columns(f"∂L/∂{x}", step.upstream, "da", k - 1))]

    def _print_DropoutBack(self, step: DropoutBack) -> list[Block]:
        n, k = self.n, step.layer
        heading = f"Layer {k - 1}: ∂L/∂{n.a(k - 1)} back through the dropout"
        if step.upstream.ndim != 2:
            assert self.standard_backward is not None
            return self._standard(self.standard_backward._print_DropoutBack(step, Numbering(k)), heading)
        da, after = f"∂L/∂{n.a(k - 1)}", f"∂L/∂{n.a(k)}"
        return [Heading(3, heading),
                Para(f"The same mask, beside the gradient: a dropped cell (0) did not reach the loss, so it passes 0 "
                     f"back; a kept one passes {after} back × 1/(1 − {step.rate:g}), the factor it was scaled by."),
                Math([f"{da} = mask ⊙ {after} × 1/(1 − rate)"]),
                Math(grid(f"[{after} | mask]", self.page, step.gradient.T, lambda j, e: n.key("da", k, j, e),
                          beside=step.mask.T, beside_given=True)),
                Math(self._table_lines(da, "da", k - 1, step.upstream)),
                Math(self._columns(da, step.upstream, "da", k - 1))]

    def _print_ResidualBack(self, step: ResidualBack) -> list[Block]:
        n, k = self.n, step.layer
        previous, branch, da = n.a(k - 1), n.a(step.source), f"∂L/∂{n.a(k)}"
        heading = f"Layer {k - 1}: ∂L/∂{previous} back through the residual connection"
        if step.upstream.ndim != 2:
            assert self.standard_backward is not None
            return self._standard(self.standard_backward._print_ResidualBack(step, Numbering(k)), heading)
        skip = (f"; the same {da} goes back along the shortcut to {branch}, where it is added to what reaches "
                f"{branch} along the main branch" if step.source > 0 else
                "; the shortcut's copy reaches the inputs, which are data: nothing is done with it")
        return [Heading(3, heading),
                Para(f"A sum passes its gradient unchanged to both of its branches: ∂L/∂{previous} = {da}, cell for "
                     f"cell{skip}."),
                Math(self._table_lines(f"∂L/∂{previous}", "da", k - 1, step.upstream)),
                Math(self._columns(f"∂L/∂{previous}", step.upstream, "da", k - 1))]

    def _print_GradientSum(self, step: GradientSum) -> list[Block]:
        n, j = self.n, step.layer
        a = n.a(j)
        if step.total.ndim != 2:
            assert self.standard_backward is not None
            return self.standard_backward._print_GradientSum(step, Numbering(j))
        sources = ", ".join(map(str, step.sources))
        out: list[Block] = [
            Para(f"{a} feeds two paths, the next layer and the residual connection{'s' if len(step.sources) > 1 else ''} "
                 f"at layer {sources}, so its gradient is the sum of both (each line above ends in it): what "
                 "reached it along the main path, plus what came back along each shortcut."),
            Math(grid(f"∂L/∂{a} along the main path", self.page, step.main.T,
                      lambda i, e: computed_from(n.key("da", j, i, e))))]
        for source, skip in zip(step.sources, step.skips):
            out.append(Math(grid(f"∂L/∂{n.a(source)} back along the shortcut from layer {source}", self.page, skip.T,
                                 lambda i, e, s=source: n.key("da", s, i, e))))
        paths = " + ".join(["main path", *("shortcut" for _ in step.sources)])
        return out + [Math(self._columns(f"∂L/∂{a} = {paths}", step.total, "da", j))]

    # -- the setup --

    def scale_shift(self, k: int, gamma: np.ndarray, beta: np.ndarray) -> list[str]:
        """[γ | β] of a normalisation layer as the file gives them: one row per feature."""
        g, b = _params(k)
        return grid(f"[{g} | {b}]", self.page, gamma[:, None], given=True, beside=beta[:, None], beside_given=True)

    # -- helpers of the backward printers --

    def _forward(self, k: int) -> Normalise:
        """Layer k's forward record in this step (its x̂ and statistics name the numbers of the backward)."""
        assert self.training is not None
        return next(op for op in self.training.forward.operations if getattr(op, "layer", None) == k)

    def _made(self, made: dict, step, g: int) -> normworked.BackGroup:  # noqa: ANN001
        if g not in made:
            made[g] = self._back_group(step, g)
        return made[g]


def _label(kind: str) -> str:
    """"batch normalisation": the layer rule's own label."""
    from nnworked.rules.layers import LAYERS

    return LAYERS[kind].label


def _input_labels(n, k: int, examples: int) -> Cell | None:  # noqa: ANN001
    """The names of layer k's inputs, by (row, column) = (feature, example); None for the data."""
    return (lambda j, e: n.key("a", k - 1, j, e)) if k > 1 else None
