"""The AI by Hand layout of image layers. A convolution becomes one matrix product (image to columns): each
patch of the input, read row by row, is a column with a 1 below it, each kernel, read the same way, is a row
of [K | b], and their product has one column per output position; then the same numbers as images. Its
kernel gradient is the same product read backwards, δ's rows times the patches. Pooling, flatten and the
gradients they pass back are worked as in the standard layout, under the layout's headings, and a flat
vector is a column, as every vector is in this layout."""

from __future__ import annotations

import numpy as np

from nnworked import quantities
from nnworked.engine.windows import pad, patches
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.images import ImageBackward, ImageForward
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import matrix_lines
from nnworked.render.page import Numbering, Page
from nnworked.trace import ConvBackToPrevious, Convolve, Flatten, KernelGradient, Pool, PoolBack, TrainingStep, Unflatten


def columns(x: np.ndarray, kernels_shape: tuple[int, ...], stride: int, padding: int) -> np.ndarray:
    """The patches as columns: (channels·rows·cols, examples·positions), examples side by side."""
    _, in_c, rows, cols = kernels_shape
    view = patches(pad(x, padding), rows, cols, stride)  # (n, c, i, j, p, q)
    n, _, out_r, out_c = view.shape[:4]
    return view.transpose(1, 4, 5, 0, 2, 3).reshape(in_c * rows * cols, n * out_r * out_c)


def _grid(symbol: str, values: np.ndarray, page: Page, given: bool = False, bar: bool = False,
          labels=None) -> list[str]:  # noqa: ANN001
    """A matrix under its symbol; with `bar`, its last row set off (the 1s of the bias)."""
    body = matrix_lines(values, page.p, given, page.s.elements, labels)
    if bar:
        body.insert(len(body) - 1, "| " + "-" * (len(body[0]) - 4) + " |")
    pad_ = " " * (len(symbol) + 3)
    return [f"{symbol} = {body[0]}", *(pad_ + b for b in body[1:])]


def kernel_rows(symbol_k: str, symbol_b: str, kernels: np.ndarray, bias: np.ndarray | None, page: Page,
                given: bool, k: int = 0) -> list[str]:
    """[K | b]: one row per kernel, its weights row by row, the bias last. Each cell is named as this pass
    uses it (after the last update, in a later step), so a sheet hides what follows from a blank."""
    flat = kernels.reshape(kernels.shape[0], -1)
    n = page.n

    def cell(o: int, f: int) -> str:
        return n.before("K", k, o, *map(int, np.unravel_index(f, kernels.shape[1:]))) if k else ""
    main = matrix_lines(flat, page.p, given, page.s.elements, cell)
    if bias is None:
        pad_ = " " * (len(symbol_k) + 3)
        return [f"{symbol_k} = {main[0]}", *(pad_ + b for b in main[1:])]
    extra = matrix_lines(bias[:, None], page.p, given, page.s.elements,
                         lambda o, _: n.before("b", k, o) if k else "")
    body = [m[:-1] + "│" + e[1:] for m, e in zip(main, extra)]
    symbol = f"[{symbol_k} | {symbol_b}]"
    pad_ = " " * (len(symbol) + 3)
    return [f"{symbol} = {body[0]}", *(pad_ + b for b in body[1:])]


class ByHandImages:
    """The image records in the AI by Hand layout, on a Page."""

    def __init__(self, page: Page, training: TrainingStep | None = None):
        self.page, self.p, self.n, self.s, self.training = page, page.p, page.n, page.s, training
        self.first_step = training is None or training.number == 1
        self.forward = ImageForward(page)
        self.backward = ImageBackward(page, training) if training is not None else None

    def _positions(self, shape: tuple[int, ...]) -> str:
        n, _, rows, cols = shape
        return f"{rows}×{cols} = {rows * cols} positions" + (f" for each of the {n} examples" if n > 1 else "")

    def _print_Convolve(self, conv: Convolve) -> list[Block]:
        n, k, page = self.n, conv.layer, self.page
        K, b, a = n.param(f"K{k}"), n.b(k), n.a(k - 1)
        out_c, in_c, rows, cols = conv.kernels.shape
        has_bias = conv.bias is not None
        cols_x = columns(conv.inputs, conv.kernels.shape, conv.stride, conv.padding)
        patches_symbol = f"[patches of {a} ; 1]" if has_bias else f"patches of {a}"
        if has_bias:
            cols_x = np.vstack([cols_x, np.ones((1, cols_x.shape[1]))])
        out: list[Block] = [
            Heading(3, f"Layer {k}: convolution as one matrix product ({n.layer_name(k - 1)} → {n.layer_name(k)})"),
            Para(f"Image to columns: each patch of {a} ({in_c}×{rows}×{cols}, read channel by channel and row by row) "
                 f"becomes a column{' with a 1 below it' if has_bias else ''}, one column per output position "
                 f"({self._positions(conv.z.shape)}, row by row); each kernel, read the same way, becomes a row"
                 f"{', its bias last' if has_bias else ''}. Each cell of the product is one kernel row times one "
                 "patch column: the cross-correlation (no flip), every framework's convolution."
                 + (f" The patches are taken from {a} padded with {conv.padding} zero"
                    f"{'s' if conv.padding != 1 else ''} on every side." if conv.padding else "")),
            Math(kernel_rows(K, b, conv.kernels, conv.bias, page, self.first_step, k)),
            Math(_grid(patches_symbol, cols_x, page, given=self.first_step and k == 1, bar=has_bias)),
            Math([f"{n.z(k)} = {'[' + K + ' | ' + b + ']' if has_bias else K} · {patches_symbol}"
                  f"   ({out_c}×{cols_x.shape[0]}) · ({cols_x.shape[0]}×{cols_x.shape[1]}) → "
                  f"({out_c}×{cols_x.shape[1]})"])]
        lines: list[str] = []
        shown, hidden = page.elements(*conv.z.shape)
        for e, unit in shown:
            lines += line(n.element(n.z(k), e, unit, 0), page.expression("z", k, unit, e), self.p, self.s.width,
                          label=n.key("z", k, unit, e))
        if hidden:
            lines.append(elided_note(hidden))
        flat = conv.z.transpose(1, 0, 2, 3).reshape(out_c, -1)
        positions = conv.z.shape[2] * conv.z.shape[3]

        def label(o: int, column: int) -> str:
            e, rest = divmod(column, positions)
            i, j = divmod(rest, conv.z.shape[3])
            return n.key("z", k, (o, i, j), e)
        out += [Math(lines), Math(_grid(n.z(k), flat, page, labels=label)),
                Para("The same numbers as images (row o of the product, cut into rows):"),
                Math(page.images(n.z(k), conv.z, n.keys("z", k)))]
        return out

    def _print_Pool(self, pool: Pool) -> list[Block]:
        blocks = self.forward._print_Pool(pool, Numbering(pool.layer))
        return [Heading(3, f"Layer {pool.layer}: {blocks[0].text.split(': ', 1)[1]}"), *blocks[1:]]

    def _print_Flatten(self, flat: Flatten) -> list[Block]:
        n, k = self.n, flat.layer
        channels, rows, cols = flat.inputs.shape[1:]
        labels = lambda i, e: n.key("a", k, i, e)  # noqa: E731
        return [Heading(3, f"Layer {k}: flatten"),
                Para(f"Each example's {channels}×{rows}×{cols} values are stacked into one column, channel by channel "
                     f"and row by row: {n.a(k)}[c·{rows * cols} + i·{cols} + j] = {n.a(k - 1)}[c,i,j]."),
                Math(_grid(n.a(k), flat.a.T, self.page, labels=labels))]

    # -- backward --

    def _print_KernelGradient(self, step: KernelGradient) -> list[Block]:
        n, k, page = self.n, step.layer, self.page
        K, b, d = n.param(f"K{k}"), n.b(k), n.delta(k)
        out_c = step.kernels_grad.shape[0]
        has_bias = step.bias_grad is not None
        target = f"[{K} | {b}]" if has_bias else K
        source = f"[patches of {n.a(k - 1)} ; 1]" if has_bias else f"patches of {n.a(k - 1)}"
        deltas = step.delta.transpose(1, 0, 2, 3).reshape(out_c, -1)
        positions = step.delta.shape[2] * step.delta.shape[3]

        def label(o: int, column: int) -> str:
            e, rest = divmod(column, positions)
            i, j = divmod(rest, step.delta.shape[3])
            return n.key("dz", k, (o, i, j), e)
        out: list[Block] = [
            Heading(3, f"Layer {k}: kernel gradients" + (" and biases" if has_bias else "")),
            Para(f"The forward product read backwards: ∂L/∂{target} = {d} · {source}ᵀ, {d} with one row per kernel "
                 "and one column per output position, so each kernel weight sums δ × the input it met at every "
                 "position" + (" of every example" if step.delta.shape[0] > 1 else "") +
                 " (the correlation of the input with δ)" + (", and each bias sums its row of δ." if has_bias else ".")),
            Math(_grid(d, deltas, page, labels=label))]
        lines: list[str] = []
        grads = step.kernels_grad
        flat, hidden_rows = pick(grads.shape[0], self.s.elements)
        size = int(np.prod(grads.shape[1:]))
        weights, hidden_cols = pick(size, self.s.elements)
        for o in flat:
            for f in weights:
                index = (o, *map(int, np.unravel_index(f, grads.shape[1:])))
                key = quantities.name("dK", k, *index, step=n.step)
                lines += line(f"∂L/∂{K}[{','.join(map(str, index))}]", page.table.expression(key), self.p, self.s.width,
                              label=key)
            if has_bias:
                key = quantities.name("db", k, o, step=n.step)
                lines += line(f"∂L/∂{b}[{o}]", page.table.expression(key), self.p, self.s.width, label=key)
        hidden = grads.size + (out_c if has_bias else 0) - len(lines)  # one worked line per element shown
        if hidden > 0 and (hidden_rows or hidden_cols):
            lines.append(elided_note(hidden))
        rows = np.hstack([grads.reshape(out_c, -1), step.bias_grad[:, None]]) if has_bias else grads.reshape(out_c, -1)

        def grad_label(o: int, c: int) -> str:
            if c == size:
                return quantities.name("db", k, o, step=n.step)
            return quantities.name("dK", k, o, *map(int, np.unravel_index(c, grads.shape[1:])), step=n.step)
        grid = _grid(f"∂L/∂{target}", rows, page, labels=grad_label)
        if has_bias:  # the bias column set off by a bar, as [K | b] is
            main = matrix_lines(rows[:, :-1], self.p, False, self.s.elements, grad_label)
            extra = matrix_lines(rows[:, -1:], self.p, False, self.s.elements, lambda o, _: grad_label(o, size))
            symbol = f"∂L/∂{target} = "
            grid = [(symbol if r == 0 else " " * len(symbol)) + m[:-1] + "│" + e[1:]
                    for r, (m, e) in enumerate(zip(main, extra))]
        out += [Math(lines), Math(grid)]
        return out

    def _standard(self, blocks: list[Block], heading: str) -> list[Block]:
        return [Heading(3, heading), *blocks[1:]]

    def _print_ConvBackToPrevious(self, step: ConvBackToPrevious) -> list[Block]:
        assert self.backward is not None
        n, k = self.n, step.layer
        blocks = self.backward._print_ConvBackToPrevious(step, Numbering(k))
        note = Para(f"In the matrix view: {n.param(f'K{k}')}ᵀ · {n.delta(k)} gives each patch column's gradient, and "
                    "adding every column back into the places its patch came from (columns to image) is this same sum.")
        return self._standard(blocks, f"Layer {k - 1}: ∂L/∂{n.a(k - 1)} (the flipped kernel)") + [note]

    def _print_PoolBack(self, step: PoolBack) -> list[Block]:
        assert self.backward is not None
        blocks = self.backward._print_PoolBack(step, Numbering(step.layer))
        return self._standard(blocks, f"Layer {step.layer - 1}: through the pooling")

    def _print_Unflatten(self, step: Unflatten) -> list[Block]:
        assert self.backward is not None
        blocks = self.backward._print_Unflatten(step, Numbering(step.layer))
        return self._standard(blocks, f"Layer {step.layer - 1}: back through the flatten")
