"""Dropout, normalisation and residual layers in a spreadsheet (`--format xlsx`), forward and back.

Dropout: the rate and 1 / (1 − rate) as cells, the mask as given cells, each output mask × value × 1 /
(1 − rate), and the same mask on the gradient. Batch and layer normalisation: ε, each group's mean,
variance and σ = √(variance + ε) (a feature's left of its row, or an example's in rows below its column),
each value normalised, then γ × x̂ + β with [γ | β] left of the output; back: ∂L/∂γ and ∂L/∂β, ∂L/∂x̂ with
each group's sums S₁ and S₂, and the three-term ∂L/∂x. A residual output is the sum of its two inputs, and
the gradient that reaches the earlier one is the sum of its two paths. Each formula rounds as the engine
rounds under rounding: carry.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.quantities import name as quantity_name
from nnworked.render.numbers import spreadsheet_number
from nnworked.render.spreadsheet_cells import Grid, Place
from nnworked.render.spreadsheet_tensors import symbol, unit_at
from nnworked.trace import GradientSum

Read = Callable[[Place], str]
LABELS = {True: "each feature over the batch", False: "each example over its features"}


def _groups(over_batch: bool, examples: int, features: int) -> list[list[tuple[int, int]]]:
    """The (example, feature) indices of each group one mean and variance are taken over."""
    if over_batch:
        return [[(e, f) for e in range(examples)] for f in range(features)]
    return [[(e, f) for f in range(features)] for e in range(examples)]


class VectorCells:
    """The forward records of dropout, normalisation and residual layers, for Layout."""

    def constant(self, grid: Grid, row: int, label: str, name: str, value: float, places: dict[str, Any],
                 before: dict[str, Any] | None) -> Place:
        """A number the scenario gives a layer (a rate, ε): given on the first sheet, read from it after."""
        self.text(grid, row, 0, label)
        place = self.given(grid, row, self.param_col, value) if before is None else self.computed(
            grid, row, self.param_col, value, lambda read: read(before[name][0][0]))
        places[name] = [[place]]
        return place

    def below(self, grid: Grid, row: int, k: int) -> int:
        """A row of 1s below a_k where a dense layer with a bias follows; the row after the block."""
        if self.ones_below(k):
            self.ones(grid, row)
            row += 1
        return row + 1

    def _cells_Dropout(self, grid: Grid, row: int, drop: Any, places: dict[str, Any],
                       before: dict[str, Any] | None, step: int | str) -> int:
        n, k = self.n, drop.layer
        x = places[f"a{k - 1}"]
        row = self.heading(grid, row, f"Layer {k}: dropout, {n.a(k)} = mask × {n.a(k - 1)} / (1 − rate) (inverted "
                           "dropout with the given mask: 1 keeps, 0 drops)")
        rate = self.constant(grid, row, "rate", f"given:rate{k}", drop.rate, places, before)
        self.text(grid, row + 1, 0, "1 / (1 − rate)")
        scale = self.computed(grid, row + 1, self.param_col, drop.scale, lambda read: f"1/{self.rp(f'1-{read(rate)}')}")
        places[f"scale{k}"] = [[scale]]
        row = self.heading(grid, row + 3, "mask")

        def mask_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            if before is None:
                return self.given(grid, r, c, v)
            return self.computed(grid, r, c, v, lambda read: read(unit_at(before[f"given:mask{k}"], index)))

        mask, row = self.block(grid, row, drop.mask, mask_cell)
        places[f"given:mask{k}"] = mask
        row = self.heading(grid, row + 1, f"{n.a(k)} = mask × {n.a(k - 1)} × 1 / (1 − rate)")

        def a_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: f"{read(unit_at(mask, index))}*{read(unit_at(x, index))}"
                                 f"*{read(scale)}", self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.block(grid, row, drop.a, a_cell)
        return self.below(grid, row, k)

    def _cells_Normalise(self, grid: Grid, row: int, norm: Any, places: dict[str, Any],
                         before: dict[str, Any] | None, step: int | str) -> int:
        n, k, over = self.n, norm.layer, norm.over_batch
        x = places[f"a{k - 1}"]
        examples, features = norm.inputs.shape
        groups = _groups(over, examples, features)
        size = len(groups[0])
        gamma, beta = symbol(f"gamma{k}"), symbol(f"beta{k}")
        label = "Batch Normalisation" if over else "Layer Normalisation"
        row = self.heading(grid, row, f"Layer {k}: {label} of {LABELS[over]}: x̂ = ({n.a(k - 1)} − μ) / √(σ² + ε), "
                           f"{n.a(k)} = {gamma} × x̂ + {beta}")
        eps = self.constant(grid, row, "ε", f"given:epsilon{k}", norm.epsilon, places, before)
        row += 2
        if over:  # a feature's statistics left of its row of x̂
            row = self.heading(grid, row, "μ | σ² | σ of each feature (left, over the batch) and x̂ (right)")
            spots = [[(row + g, self.col(self.param_col, j)) for j in range(3)] for g in range(len(groups))]
            stats_row = row
        else:  # an example's statistics in three rows below its column
            row = self.heading(grid, row, "μ, σ² and σ of each example (over its features)")
            for j, name in enumerate(("μ", "σ²", "σ")):
                self.text(grid, row + j, 0, name)
            spots = [[(row + j, self.col(self.example_col, g)) for j in range(3)] for g in range(len(groups))]
            stats_row = row + 4
        stats: list[list[Place]] = []
        for g, members in enumerate(groups):
            (mr, mc), (vr, vc), (sr, sc) = spots[g]
            cells = [unit_at(x, index) for index in members]
            mean = self.computed(grid, mr, mc, norm.mean[g], lambda read, cells=cells: self.total(
                [read(c) for c in cells]) + f"/{size}")
            variance = self.computed(grid, vr, vc, norm.variance[g], lambda read, cells=cells, mean=mean: self.total(
                [self.r(f"{self.rp(f'{read(c)}-{read(mean)}')}^2") for c in cells]) + f"/{size}")
            std = self.computed(grid, sr, sc, norm.std[g], lambda read, variance=variance: "SQRT(" + self.r(
                f"{read(variance)}+{read(eps)}") + ")")
            stats.append([mean, variance, std])
        of = {index: stats[g] for g, members in enumerate(groups) for index in members}  # each value's group
        if not over:
            row = self.heading(grid, stats_row, "x̂ = (x − μ) / σ")

        def xhat_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            mean, _, std = of[index]
            return self.computed(grid, r, c, v, lambda read: f"{self.rp(f'{read(unit_at(x, index))}-{read(mean)}')}"
                                 f"/{read(std)}")

        xhat, row = self.block(grid, row, norm.xhat, xhat_cell)
        places[f"xhat{k}"], places[f"stats{k}"] = xhat, stats
        row = self.heading(grid, row + 1, f"[{gamma} | {beta}] and {n.a(k)} = {gamma} × x̂ + {beta}")
        for kind, values, j in (("gamma", norm.gamma, 0), ("beta", norm.beta, 1)):
            places[f"{kind}{k}"] = [[self.given(grid, row + f, self.col(self.param_col, j), v) if before is None else
                                     self.computed(grid, row + f, self.col(self.param_col, j), v,
                                                   lambda read, f=f, kind=kind: read(before[f"{kind}{k}"][f][0]))]
                                    for f, v in enumerate(values.tolist())]
        scale, shift = places[f"gamma{k}"], places[f"beta{k}"]

        def a_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            f = index[1]
            return self.computed(grid, r, c, v, lambda read: self.r(f"{read(scale[f][0])}*{read(unit_at(xhat, index))}")
                                 + f"+{read(shift[f][0])}", self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.block(grid, row, norm.a, a_cell)
        return self.below(grid, row, k)

    def _cells_Residual(self, grid: Grid, row: int, res: Any, places: dict[str, Any],
                        before: dict[str, Any] | None, step: int | str) -> int:
        n, k, j = self.n, res.layer, res.source
        x, branch = places[f"a{k - 1}"], places[f"a{j}"]
        row = self.heading(grid, row, f"Layer {k}: residual connection, {n.a(k)} = {n.a(k - 1)} + {n.a(j)}")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: self.total(
                [read(unit_at(x, index)), read(unit_at(branch, index))]), self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.block(grid, row, res.a, cell)
        return self.below(grid, row, k)


class VectorGradientCells:
    """The backward records of dropout, normalisation and residual layers, for spreadsheet_backward.Backward;
    and where a gradient lands that a skip connection adds to."""

    def landing(self, j: int, values: np.ndarray, step: Any) -> tuple[np.ndarray, bool]:
        """What a record writes as ∂L/∂a_j, and whether those cells are the quantity: where a skip connection
        adds to a_j, the main path's part (a GradientSum record adds the skips' and holds the quantity)."""
        for record in step.backward:
            if isinstance(record, GradientSum) and record.layer == j:
                return record.main, False
        return values, True

    def _cells_DropoutBack(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, record.layer
        g, mask, scale = places[f"da{k}"], places[f"given:mask{k}"], places[f"scale{k}"][0][0]
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        row = self.heading(grid, row, f"Layer {k}: back through the dropout, ∂L/∂{n.a(k - 1)} = mask × ∂L/∂{n.a(k)} "
                           "× 1 / (1 − rate) (the gradient passes where the value was kept)")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: f"{read(unit_at(mask, index))}*{read(unit_at(g, index))}"
                                 f"*{read(scale)}", self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.block(grid, row, upstream, cell)
        return row + 1

    def _cells_NormGradient(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, record.layer
        g, xhat = places[f"da{k}"], places[f"xhat{k}"]
        examples, features = record.gradient.shape
        gamma, beta = symbol(f"gamma{k}"), symbol(f"beta{k}")
        first = step.number == 1
        row = self.heading(grid, row, f"Layer {k}: ∂L/∂{gamma} = Σ over the batch of ∂L/∂{n.a(k)} × x̂, ∂L/∂{beta} = Σ "
                           f"over the batch of ∂L/∂{n.a(k)}")
        self.text(grid, row, 0, f"∂L/∂[{gamma} | {beta}]")
        places[f"dgamma{k}"] = [[self.computed(grid, row + f, self.param_col, v, lambda read, f=f: "+".join(
            self.times(read(g[f][e]), read(xhat[f][e])) for e in range(examples)),
            quantity_name("dgamma", k, f) if first else "")] for f, v in enumerate(record.gamma_grad.tolist())]
        places[f"dbeta{k}"] = [[self.computed(grid, row + f, self.col(self.param_col, 1), v, lambda read, f=f: self.total(
            [read(g[f][e]) for e in range(examples)]), quantity_name("dbeta", k, f) if first else "")]
            for f, v in enumerate(record.beta_grad.tolist())]
        return row + features + 1

    def _cells_NormBack(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k, over = self.n, record.layer, record.over_batch
        g, xhat, gamma, stats = places[f"da{k}"], places[f"xhat{k}"], places[f"gamma{k}"], places[f"stats{k}"]
        examples, features = record.gradient.shape
        groups = _groups(over, examples, features)
        size = spreadsheet_number(len(groups[0]))
        row = self.heading(grid, row, f"Layer {k}: back through the normalisation, ∂L/∂x̂ = ∂L/∂{n.a(k)} × "
                           f"{symbol(f'gamma{k}')}, S₁ = Σ ∂L/∂x̂ and S₂ = Σ ∂L/∂x̂ × x̂ over each group"
                           + (" (left)" if over else " (below)"))

        def ghat_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: f"{read(unit_at(g, index))}*{read(gamma[index[1]][0])}")

        ghat, end = self.block(grid, row, record.ghat, ghat_cell)
        if over:
            self.text(grid, row, 0, "S₁ | S₂ and ∂L/∂x̂")
            spots = [[(row + f, self.col(self.param_col, j)) for j in range(2)] for f in range(features)]
        else:
            for j, name in enumerate(("S₁", "S₂")):
                self.text(grid, end + j, 0, name)
            spots = [[(end + j, self.col(self.example_col, e)) for j in range(2)] for e in range(examples)]
            end += 2
        sums = {}
        for index, members in enumerate(groups):
            (r1, c1), (r2, c2) = spots[index]
            s1 = self.computed(grid, r1, c1, record.s1[index], lambda read, members=members: self.total(
                [read(unit_at(ghat, m)) for m in members]))
            s2 = self.computed(grid, r2, c2, record.s2[index], lambda read, members=members: "+".join(
                self.times(read(unit_at(ghat, m)), read(unit_at(xhat, m))) for m in members))
            sums.update({m: (s1, s2, stats[index][2]) for m in members})
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        row = self.heading(grid, end + 1, f"∂L/∂{n.a(k - 1)} = (M·∂L/∂x̂ − S₁ − x̂·S₂) / (M·σ), M = {size}: the paths "
                           "through x̂, the mean and the variance")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            s1, s2, std = sums[index]

            def build(read: Read) -> str:
                top = self.r(f"{self.r(f'{size}*{read(unit_at(ghat, index))}')}-{read(s1)}")
                top = self.rp(f"{top}-{self.r(f'{read(unit_at(xhat, index))}*{read(s2)}')}")
                return f"{top}/{self.rp(f'{size}*{read(std)}')}"
            return self.computed(grid, r, c, v, build, self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.block(grid, row, upstream, cell)
        return row + 1

    def _cells_ResidualBack(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, record.layer
        g = places[f"da{k}"]
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        row = self.heading(grid, row, f"Layer {k}: back through the residual connection, ∂L/∂{n.a(k - 1)} = "
                           f"∂L/∂{n.a(k)} (a sum passes its gradient to both of its inputs)")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: read(unit_at(g, index)),
                                 self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.block(grid, row, upstream, cell)
        return row + 1

    def _cells_GradientSum(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, j = self.n, record.layer
        main, skips = places[f"da{j}"], [places[f"da{source}"] for source in record.sources]
        row = self.heading(grid, row, f"∂L/∂{n.a(j)} = the sum of its paths: the one above + " +
                           " + ".join(f"∂L/∂{n.a(source)} along the skip connection" for source in record.sources))

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: self.total(
                [read(unit_at(main, index))] + [read(unit_at(skip, index)) for skip in skips]),
                self.key_of("da", j, index, step.number))

        places[f"da{j}"], row = self.block(grid, row, record.total, cell)
        return row + 1
