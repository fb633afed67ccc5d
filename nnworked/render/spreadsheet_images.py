"""The image layers of a spreadsheet (`--format xlsx`): convolution, pooling and flatten, forward and back.

A convolution's input, padded with its zeros, stands above; each kernel stands left of the output channel
it makes ([K | b], its input channels side by side), and each output cell is the SUMPRODUCT of the kernel
and its patch (summed over the input channels) plus the bias. Its kernel gradient stands left of ∂L/∂z,
each cell the correlation of the padded input with ∂L/∂z; ∂L/∂(input) is the full convolution: the kernel
turned 180° beside ∂L/∂z spread by the stride and padded by the kernel's size − 1, each cell a SUMPRODUCT
of the two. A pooled cell is the MAX or the AVERAGE of its window, and its gradient goes back to the
window's first maximum (or shared evenly); flatten and its gradient are references.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.engine.windows import pad
from nnworked.quantities import name as quantity_name
from nnworked.render.spreadsheet_cells import Grid, Place
from nnworked.render.spreadsheet_tensors import symbol
from nnworked.rules.activations import ACTIVATIONS

Read = Callable[[Place], str]


class ImageCells:
    """The forward records of image layers, for Layout."""

    def image_inputs(self, grid: Grid, row: int, before: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        """The input images: given on the first sheet, read from it on the others."""
        places: dict[str, Any] = {}
        x = self.s.inputs
        row = self.heading(grid, row, f"{self.n.a(0)} (the input image{'s' if x.shape[0] > 1 else ''})")

        def fill(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            if before is None:
                return self.given(grid, r, c, v)
            return self.computed(grid, r, c, v, lambda read: read(before["a0"][index]))

        places["a0"], row = self.image_block(grid, row, x, fill)
        if before is not None and "y" in before:
            places["y"] = before["y"]
        return row + 1, places

    def kernel_cells(self, grid: Grid, row: int, k: int, kernels: np.ndarray, bias: np.ndarray | None,
                     before: dict[str, Any] | None, band: int) -> dict[str, Any]:
        """[K | b] left of z: given, or the values the previous step left."""
        spots = self.param_places(grid, row, kernels.shape, band)
        out: dict[str, Any] = {f"K{k}": np.empty(kernels.shape, dtype=object)}
        for index in np.ndindex(*kernels.shape):
            at, v = spots[index], kernels[index]
            out[f"K{k}"][index] = self.given(grid, at.row, at.col, v) if before is None else self.computed(
                grid, at.row, at.col, v, lambda read, index=index: read(before[f"K{k}"][index]))
        if bias is not None:
            _, channels, rows, cols = kernels.shape
            col = self.col(self.param_col, channels * (cols + 1))
            out[f"b{k}"] = [[self.given(grid, row + o * (max(band, rows) + 1), col, v) if before is None else
                             self.computed(grid, row + o * (max(band, rows) + 1), col, v,
                                           lambda read, o=o: read(before[f"b{k}"][o][0]))]
                            for o, v in enumerate(bias.tolist())]
        return out

    def _cells_Convolve(self, grid: Grid, row: int, conv: Any, places: dict[str, Any],
                        before: dict[str, Any] | None, step: int | str) -> int:
        n, k = self.n, conv.layer
        _, channels, rows, cols = conv.kernels.shape
        s, padding = conv.stride, conv.padding
        x = places[f"a{k - 1}"]
        if padding:
            height, width = conv.inputs.shape[2:]
            row = self.heading(grid, row, f"Layer {k}: {n.a(k - 1)} padded with {padding} zero"
                               f"{'s' if padding > 1 else ''} on every side")

            def padded(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
                e, ch, y, xx = index
                if padding <= y < padding + height and padding <= xx < padding + width:
                    return self.computed(grid, r, c, v, lambda read: read(x[e, ch, y - padding, xx - padding]))
                return self.zero(grid, r, c)
            x, row = self.image_block(grid, row, pad(conv.inputs, padding), padded)
            row += 1
        places[f"a{k - 1}@padded"] = x
        K, b = symbol(f"K{k}"), n.b(k)
        has_bias = conv.bias is not None
        row = self.heading(grid, row, f"Layer {k}: convolution, {n.z(k)} = {K} ⋆ {n.a(k - 1)}" +
                           (f" + {b}" if has_bias else "") + f" (stride {s}): each cell the SUMPRODUCT of {K} and "
                           f"its patch" + (f"; [{K} | {b}] left of {n.z(k)}" if has_bias else f"; {K} left of {n.z(k)}"))
        band = max(rows, conv.z.shape[2])
        params = self.kernel_cells(grid, row, k, conv.kernels, conv.bias, before, band)
        places.update(params)
        kernels, bias = params[f"K{k}"], params.get(f"b{k}")

        def z_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, o, i, j = index

            def build(read: Read) -> str:
                pairs = [(kernels[o, ch], x[e, ch, i * s: i * s + rows, j * s: j * s + cols]) for ch in range(channels)]
                return self.dot(read, pairs) + (f"+{read(bias[o][0])}" if bias is not None else "")
            return self.computed(grid, r, c, v, build, self.key_of("z", k, index, step))

        places[f"z{k}"], row = self.image_block(grid, row, conv.z, z_cell, band)
        return row + 1

    def image_activate(self, grid: Grid, row: int, act: Any, places: dict[str, Any], step: int | str) -> int:
        """a = f(z) of each cell (a rule over a row, softmax, takes the row the cell is in)."""
        n, k, rule = self.n, act.layer, ACTIVATIONS[act.activation]
        row = self.heading(grid, row, f"{n.a(k)} = {rule.label}({n.z(k)}): {rule.formula}")
        z, width = places[f"z{k}"], act.z.shape[3]

        def a_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, ch, y, x = index
            return self.computed(grid, r, c, v, lambda read: rule.spreadsheet_formula(
                [read(z[e, ch, y, u]) for u in range(width)], x, act.slope, self.rounding),
                self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.image_block(grid, row, act.a, a_cell)
        return row + 1

    def _cells_Pool(self, grid: Grid, row: int, pool: Any, places: dict[str, Any],
                    before: dict[str, Any] | None, step: int | str) -> int:
        n, k, size, s = self.n, pool.layer, pool.size, pool.stride
        x, count = places[f"a{k - 1}"], size * size
        is_max = pool.winners is not None  # max pooling records each window's winner
        what = "MAX" if is_max else "AVERAGE"
        row = self.heading(grid, row, f"Layer {k}: {'Max' if is_max else 'Average'} Pooling ({size}×{size} windows, "
                           f"stride {s}): each cell of {n.a(k)} the {what} of its window of {n.a(k - 1)}")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, ch, i, j = index

            def build(read: Read) -> str:
                cells = [read(x[e, ch, i * s + p, j * s + q]) for p in range(size) for q in range(size)]
                if is_max or not self.p.carry:
                    return f"{what}({','.join(cells)})"
                return f"{self.total(cells)}/{count}"  # the sum rounded, then the division, as carried
            return self.computed(grid, r, c, v, build, self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.image_block(grid, row, pool.a, cell)
        return row + 1

    def _cells_Flatten(self, grid: Grid, row: int, flat: Any, places: dict[str, Any],
                       before: dict[str, Any] | None, step: int | str) -> int:
        n, k = self.n, flat.layer
        x, shape = places[f"a{k - 1}"], flat.inputs.shape[1:]
        row = self.heading(grid, row, f"Layer {k}: flatten, {n.a(k)} = each channel of {n.a(k - 1)} row by row, one "
                           "after another (each cell a reference)")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, f = index
            source = (e, *map(int, np.unravel_index(f, shape)))
            return self.computed(grid, r, c, v, lambda read: read(x[source]), self.key_of("a", k, index, step))

        places[f"a{k}"], row = self.block(grid, row, flat.a, cell)
        if self.ones_below(k):
            self.ones(grid, row)
            row += 1
        return row + 1


class ImageGradientCells:
    """The backward records of image layers, for spreadsheet_backward.Backward."""

    def image_through(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        """∂L/∂z = ∂L/∂a ⊙ f′(z) of a convolution, in the rows where its kernel gradient will stand."""
        n, k = self.n, record.layer
        act = ACTIVATIONS[record.activation]
        da, z, a = places[f"da{k}"], places[f"z{k}"], places[f"a{k}"]
        kernel_rows = self.s.layers[k - 1].kernels.shape[2]
        band, width = max(kernel_rows, record.delta.shape[2]), record.delta.shape[3]
        K = symbol(f"K{k}")
        grads = f"∂L/∂[{K} | {n.b(k)}]" if self.s.layers[k - 1].bias is not None else f"∂L/∂{K}"
        row = self.heading(grid, row, f"Layer {k}: ∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ {act.label}′({n.z(k)}): "
                           f"{act.derivative_formula}; the kernel gradients and biases {grads} left of it")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, ch, y, x = index
            return self.computed(grid, r, c, v, lambda read: act.spreadsheet_backward(
                [read(da[e, ch, y, u]) for u in range(width)], [read(z[e, ch, y, u]) for u in range(width)],
                [read(a[e, ch, y, u]) for u in range(width)], x, record.slope, self.rounding),
                self.key_of("dz", k, index, step.number))

        places[f"dz{k}"], end = self.image_block(grid, row, record.delta, cell, band)
        places[f"dz{k}@row"] = [[Place(grid.title, row, 0)]]
        return end + 1

    def _cells_KernelGradient(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        """∂L/∂K[o, c, p, q] = Σ over the batch of the SUMPRODUCT of ∂L/∂z[o] and the padded input's cells at
        offset (p, q), a stride apart (the correlation); ∂L/∂b[o] = the sum of ∂L/∂z[o]."""
        k, at = record.layer, places[f"dz{record.layer}@row"][0][0].row
        dz, x = places[f"dz{k}"], places[f"a{k - 1}@padded"]
        shape = record.kernels_grad.shape
        _, channels, rows, cols = shape
        examples, _, out_rows, out_cols = record.delta.shape
        band, s, first = max(rows, out_rows), record.stride, step.number == 1
        spots = self.param_places(grid, at, shape, band)
        grads = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            o, c, p, q = index
            grads[index] = self.computed(grid, spots[index].row, spots[index].col, record.kernels_grad[index],
                                         lambda read, o=o, c=c, p=p, q=q: self.dot(read, [
                                             (dz[e, o], x[e, c, p: p + s * out_rows: s, q: q + s * out_cols: s])
                                             for e in range(examples)]),
                                         quantity_name("dK", k, *index) if first else "")
        places[f"dK{k}"] = grads
        if record.bias_grad is not None:
            col = self.col(self.param_col, channels * (cols + 1))
            places[f"db{k}"] = [[self.computed(grid, at + o * (band + 1), col, v, lambda read, o=o: self.total(
                [read(cell) for cell in dz[:, o].ravel()]), quantity_name("db", k, o) if first else "")]
                for o, v in enumerate(record.bias_grad.tolist())]
        return row

    def _cells_ConvBackToPrevious(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, record.layer
        kernels, delta, s, padding = record.kernels, record.delta, record.stride, record.padding
        _, channels, rows, cols = kernels.shape
        examples, outs, out_rows, out_cols = delta.shape
        height, width = record.upstream.shape[2:]
        K, dz = places[f"K{k}"], places[f"dz{k}"]
        # δ spaced by the stride, framed by the kernel's size − 1, and wide enough for every window the
        # cropped output reads (rows a stride never reached stay 0)
        spaced_rows, spaced_cols = (out_rows - 1) * s + 1, (out_cols - 1) * s + 1
        spread = np.zeros((examples, outs, max(spaced_rows + 2 * (rows - 1), height + padding + rows - 1),
                           max(spaced_cols + 2 * (cols - 1), width + padding + cols - 1)))
        spread[:, :, rows - 1: rows - 1 + spaced_rows: s, cols - 1: cols - 1 + spaced_cols: s] = delta
        band = max(rows, spread.shape[2])
        row = self.heading(grid, row, f"Layer {k}: ∂L/∂{n.a(k - 1)} = the full convolution of ∂L/∂{n.z(k)} with "
                           f"{symbol(f'K{k}')} turned 180° (left); ∂L/∂{n.z(k)} spread by the stride {s} and padded "
                           f"by the kernel's size − 1 (right)")
        spots = self.param_places(grid, row, kernels.shape, band)
        turned = np.empty(kernels.shape, dtype=object)
        for index in np.ndindex(*kernels.shape):
            o, c, p, q = index
            source = (o, c, rows - 1 - p, cols - 1 - q)
            turned[index] = self.computed(grid, spots[index].row, spots[index].col, kernels[source],
                                          lambda read, source=source: read(K[source]))

        def spread_cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, o, y, x = index
            i, j = y - (rows - 1), x - (cols - 1)
            if i >= 0 and j >= 0 and i % s == 0 and j % s == 0 and i // s < out_rows and j // s < out_cols:
                return self.computed(grid, r, c, v, lambda read: read(dz[e, o, i // s, j // s]))
            return self.zero(grid, r, c)

        wide, row = self.image_block(grid, row, spread, spread_cell, band)
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        row = self.heading(grid, row + 1, f"∂L/∂{n.a(k - 1)}: each cell the SUMPRODUCT of the turned kernels and "
                           "their window, summed over the output channels" +
                           (f" (the padding's {padding} row{'s' if padding > 1 else ''} and columns cropped)"
                            if padding else ""))

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, ch, y, x = index
            return self.computed(grid, r, c, v, lambda read: self.dot(read, [
                (turned[o, ch], wide[e, o, y + padding: y + padding + rows, x + padding: x + padding + cols])
                for o in range(outs)]), self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.image_block(grid, row, upstream, cell)
        return row + 1

    def _cells_PoolBack(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k, size, s = self.n, record.layer, record.size, record.stride
        x, g, count = places[f"a{k - 1}"], places[f"da{k}"], size * size
        out_rows, out_cols = record.gradient.shape[2:]
        is_max = record.winners is not None
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        overlap = ", summed where windows overlap" if s < size else ""
        row = self.heading(grid, row, f"Layer {k}: back through the pooling, ∂L/∂{n.a(k - 1)}: " + (
            f"each window's ∂L/∂{n.a(k)} goes to its first maximum, 0 elsewhere" if is_max else
            f"each window's ∂L/∂{n.a(k)} shared evenly among its {count} cells") + overlap)

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, ch, y, xx = index
            windows = [(i, j) for i in range(out_rows) for j in range(out_cols)
                       if i * s <= y < i * s + size and j * s <= xx < j * s + size]

            def build(read: Read) -> str:
                terms = []
                for i, j in windows:
                    grad = read(g[e, ch, i, j])
                    if not is_max:
                        terms.append(self.r(f"{grad}/{count}"))
                        continue
                    me, mine = read(x[e, ch, y, xx]), (y - i * s) * size + (xx - j * s)
                    # the first maximum: above every cell before it in the window, not below any after it
                    tests = [f"{me}{'>' if u < mine else '>='}{read(x[e, ch, i * s + u // size, j * s + u % size])}"
                             for u in range(count) if u != mine]
                    terms.append(f"IF(AND({','.join(tests)}),{grad},0)" if tests else grad)
                return "+".join(terms) or "0"
            return self.computed(grid, r, c, v, build, self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.image_block(grid, row, upstream, cell)
        return row + 1

    def _cells_Unflatten(self, grid: Grid, row: int, record: Any, step: Any, places: dict[str, Any]) -> int:
        n, k = self.n, record.layer
        g, shape = places[f"da{k}"], record.upstream.shape[1:]
        upstream, keyed = self.landing(k - 1, record.upstream, step)
        row = self.heading(grid, row, f"Layer {k}: back through the flatten, ∂L/∂{n.a(k - 1)} = ∂L/∂{n.a(k)} put back "
                           "into the shape of the images (each cell a reference)")

        def cell(index: tuple[int, ...], r: int, c: int, v: float) -> Place:
            e, rest = index[0], index[1:]
            f = int(np.ravel_multi_index(rest, shape))
            return self.computed(grid, r, c, v, lambda read: read(g[f][e]),
                                 self.key_of("da", k - 1, index, step.number) if keyed else "")

        places[f"da{k - 1}"], row = self.block(grid, row, upstream, cell)
        return row + 1
