"""The walkthrough of image layers (conv2d, pooling, flatten): their forward and backward records, worked
element by element from the table of quantities, as a teacher works them on the board."""

from __future__ import annotations

import numpy as np

from nnworked import quantities
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.lines import elided_note, line
from nnworked.render.page import Numbering, Page, matrix_block
from nnworked.trace import (ConvBackToPrevious, Convolve, Flatten, KernelGradient, Pool, PoolBack, TrainingStep,
                            Unflatten)

POOLING = {True: "Max", False: "Average"}  # by whether the pool has winners


def _span(start: int, size: int) -> str:
    return f"{start}" if size == 1 else f"{start}–{start + size - 1}"


class ImageForward:
    """The forward records of image layers, on a Page."""

    def __init__(self, page: Page):
        self.page, self.p, self.n, self.s = page, page.p, page.n, page.s

    def _elements(self, symbol: str, kind: str, k: int, values: np.ndarray, note=None) -> list[str]:  # noqa: ANN001
        """Each shown element's worked line, from the table; note(example, unit) adds where it comes from."""
        n, lines = self.n, []
        shown, hidden = self.page.elements(*values.shape)
        for e, unit in shown:
            suffix = f"   ({note(e, unit)})" if note else ""
            lines += line(n.element(symbol, e, unit, 0), self.page.expression(kind, k, unit, e), self.p,
                          self.s.width, suffix=suffix, label=n.key(kind, k, unit, e))
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _print_Convolve(self, conv: Convolve, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, conv.layer, numbering.next()
        out_c, in_c, rows, cols = conv.kernels.shape
        z, K, a, b = n.z(k), n.param(f"K{k}"), n.a(k - 1), n.b(k)
        shift = f" − {conv.padding}" if conv.padding else ""
        s = f"{conv.stride}·" if conv.stride > 1 else ""
        bias = f" + {b}[o]" if conv.bias is not None else ""
        channels = f"{in_c} input channel{'s' if in_c != 1 else ''}"
        out: list[Block] = [
            Heading(3, f"Step {step}: Convolution, {n.layer_name(k - 1)} to {n.layer_name(k)} Layer"),
            Para(f"**Cross-correlation ({z}):** each output element is the sum of kernel × patch over the "
                 f"{channels}{', plus the output channel’s bias' if conv.bias is not None else ''}. As every "
                 "framework computes it, the kernel is not flipped: this is cross-correlation (the flip appears "
                 "in the backward pass)."),
            Math([f"{z}[o,i,j] = Σ_c,p,q {K}[o,c,p,q] × {a}[c, {s}i + p{shift}, {s}j + q{shift}]{bias}",
                  f"{out_c} kernel{'s' if out_c != 1 else ''} of {in_c}×{rows}×{cols}, stride {conv.stride}, "
                  f"padding {conv.padding}: each example's output is {out_c}×{conv.z.shape[2]}×{conv.z.shape[3]}"])]
        if conv.padding:
            padded = np.pad(conv.inputs, ((0, 0), (0, 0), (conv.padding,) * 2, (conv.padding,) * 2))
            out += [Para(f"**The input with {conv.padding} row{'s' if conv.padding != 1 else ''} and column"
                         f"{'s' if conv.padding != 1 else ''} of zeros around it:**"),
                    Math(self.page.images(f"{a} padded", padded, given=k == 1))]
        out.append(Para("Calculate each element (the patch's rows and columns are those of the padded input):"
                        if conv.padding else "Calculate each element (the patch is named by its rows and columns):"))

        def patch(e: int, unit: tuple) -> str:
            _, i, j = unit
            return f"patch rows {_span(i * conv.stride, rows)}, cols {_span(j * conv.stride, cols)}"
        out.append(Math(self._elements(z, "z", k, conv.z, patch)))
        return out + self.page.result(z, conv.z, n.keys("z", k))

    def _print_Pool(self, pool: Pool, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, pool.layer, numbering.next()
        taking = pool.winners is not None
        what = ("its largest element (where several tie, the first: PyTorch's choice, and where the gradient "
                "will go)") if taking else "the mean of its elements"
        out: list[Block] = [
            Heading(3, f"Step {step}: {POOLING[taking]} Pooling ({pool.size}×{pool.size} windows, stride "
                       f"{pool.stride})"),
            Para(f"Each {pool.size}×{pool.size} window of each channel gives {what}.")]

        def window(e: int, unit: tuple) -> str:
            c, i, j = unit
            where = f"window rows {_span(i * pool.stride, pool.size)}, cols {_span(j * pool.stride, pool.size)}"
            if not taking:
                return where
            dy, dx = divmod(int(pool.winners[(e, *unit)]), pool.size)
            return f"{where}: takes [{c},{i * pool.stride + dy},{j * pool.stride + dx}]"
        out.append(Math(self._elements(n.a(k), "a", k, pool.a, window)))
        return out + self.page.result(n.a(k), pool.a, n.keys("a", k))

    def _print_Flatten(self, flat: Flatten, numbering: Numbering) -> list[Block]:
        n, k, step = self.n, flat.layer, numbering.next()
        channels, rows, cols = flat.inputs.shape[1:]
        return [Heading(3, f"Step {step}: Flatten"),
                Para(f"Each example's {channels}×{rows}×{cols} values become one vector of {flat.a.shape[1]}, channel "
                     "by channel and row by row (as PyTorch's flatten does):"),
                Math([f"{n.a(k)}[c·{rows * cols} + i·{cols} + j] = {n.a(k - 1)}[c,i,j]"]),
                *self.page.result(n.a(k), flat.a, n.keys("a", k))]

    # -- the pass after an update, in a few lines --

    def _compact_Convolve(self, conv: Convolve) -> list[str]:
        return self._elements(self.n.z(conv.layer), "z", conv.layer, conv.z)

    def _compact_Pool(self, pool: Pool) -> list[str]:
        return [*self.page.array(self.n.a(pool.layer), pool.a, self.n.keys("a", pool.layer)), ""]

    def _compact_Flatten(self, flat: Flatten) -> list[str]:
        return [*self.page.array(self.n.a(flat.layer), flat.a, self.n.keys("a", flat.layer)), ""]


class ImageBackward:
    """The backward records of image layers, on a Page."""

    def __init__(self, page: Page, training: TrainingStep):
        self.page, self.p, self.n, self.s, self.training = page, page.p, page.n, page.s, training

    def _lines(self, lhs: str, kind: str, k: int, values: np.ndarray) -> list[str]:
        n, lines = self.n, []
        shown, hidden = self.page.elements(*values.shape)
        for e, unit in shown:
            lines += line(f"{lhs}{n.element('', e, unit, 0)}", self.page.expression(kind, k, unit, e), self.p,
                          self.s.width, label=n.key(kind, k, unit, e))
        if hidden:
            lines.append(elided_note(hidden))
        return lines

    def _print_KernelGradient(self, step: KernelGradient, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        K, d, a, b = n.param(f"K{k}"), n.delta(k), n.a(k - 1), n.b(k)
        shift = f" − {step.padding}" if step.padding else ""
        s = f"{step.stride}·" if step.stride > 1 else ""
        batch = "n," if step.delta.shape[0] > 1 else ""
        out: list[Block] = [
            Heading(3, f"Step {label}: Gradients for {K}" + (f" and {b}" if step.bias_grad is not None else "")),
            Para(f"**Kernel gradient:** each weight of the kernel multiplied every input its position passed "
                 f"over, so ∂L/∂{K} is the correlation of the layer's input with {d}: the sum of {d} × input "
                 "over every output position" + (" and every example." if batch else ".")),
            Math([f"∂L/∂{K}[o,c,p,q] = Σ_{batch}i,j {d}[o,i,j] × {a}[c, {s}i + p{shift}, {s}j + q{shift}]"])]
        kernels = step.kernels_grad
        lines: list[str] = []
        shown = [tuple(int(v) for v in np.unravel_index(f, kernels.shape))
                 for f in range(kernels.size)][: self.s.elements or None]
        for index in shown:
            lines += line(f"∂L/∂{K}[{','.join(map(str, index))}]",
                          self.page.table.expression(quantities.name("dK", k, *index, step=n.step)), self.p,
                          self.s.width, label=quantities.name("dK", k, *index, step=n.step))
        if kernels.size > len(shown):
            lines.append(elided_note(kernels.size - len(shown)))
        lines += [""] + matrix_block(f"∂L/∂{K}", kernels, self.p, self.s.elements,
                                     labels=lambda *i: quantities.name("dK", k, *i, step=n.step))
        out.append(Math(lines))
        if step.bias_grad is not None:
            lines = [f"∂L/∂{b}[o] = Σ_{batch}i,j {d}[o,i,j]", ""]
            for o in range(step.bias_grad.shape[0])[: self.s.elements or None]:
                key = quantities.name("db", k, o, step=n.step)
                lines += line(f"∂L/∂{b}[{o}]", self.page.table.expression(key), self.p, self.s.width, label=key)
            out += [Para("**Bias gradient:** one bias per output channel, so its gradient sums δ over the "
                         "channel's positions" + (" and the examples:" if batch else ":")), Math(lines)]
        return out

    def _print_ConvBackToPrevious(self, step: ConvBackToPrevious, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        K, d, a = n.param(f"K{k}"), n.delta(k), n.a(k - 1)
        rows, cols = step.kernels.shape[2:]
        flipped = step.kernels[:, :, ::-1, ::-1]
        spread = (f", δ spread out by the stride ({step.stride - 1} zero{'s' if step.stride != 2 else ''} between "
                  "neighbours)") if step.stride > 1 else ""
        out: list[Block] = [
            Heading(3, f"Step {label}: Backpropagate to {n.layer_name(k - 1)} Layer"),
            Para(f"**∂L/∂{a} is the full convolution of {d} with the flipped kernel:** each input element "
                 f"reached every output whose window covered it, through the kernel weight at that position. "
                 f"Read from the input's side, the kernel runs backwards: {K} turned 180° slides over {d} padded "
                 f"with {rows - 1} zero{'s' if rows != 2 else ''}{spread}"
                 + (f", and the result loses the {step.padding} padding row(s) and column(s)." if step.padding else ".")),
            Para(f"**{K} turned 180°** (rows and columns reversed):"),
            Math(matrix_block(f"rot180({K})", flipped, self.p, self.s.elements)),
            Para("Each element, summing δ × the kernel weight that joined them:"),
            Math(self._lines(f"∂L/∂{a}", "da", k - 1, step.upstream))]
        return out + self.page.result(f"∂L/∂{a}", step.upstream, n.keys("da", k - 1))

    def _print_PoolBack(self, step: PoolBack, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        taking = step.winners is not None
        how = ("Each window's gradient goes to the element that won it (the first maximum); every other element "
               "of the window gets 0.") if taking else \
            f"Each window's gradient is shared equally among its {step.size * step.size} elements."
        overlap = " Where windows overlap, an element's shares add up." if step.stride < step.size else ""
        out: list[Block] = [Heading(3, f"Step {label}: Backpropagate through {POOLING[taking]} Pooling"),
                            Para(how + overlap),
                            Math(self._lines(f"∂L/∂{n.a(k - 1)}", "da", k - 1, step.upstream))]
        return out + self.page.result(f"∂L/∂{n.a(k - 1)}", step.upstream, n.keys("da", k - 1))

    def _print_Unflatten(self, step: Unflatten, numbering: Numbering) -> list[Block]:
        n, k, label = self.n, step.layer, numbering.next()
        return [Heading(3, f"Step {label}: Back Through the Flatten"),
                Para(f"The gradient of the flat vector goes back to the places its values came from: "
                     f"∂L/∂{n.a(k - 1)}[c,i,j] = ∂L/∂{n.a(k)}[c·{np.prod(step.upstream.shape[2:])} + "
                     f"i·{step.upstream.shape[3]} + j]."),
                *self.page.result(f"∂L/∂{n.a(k - 1)}", step.upstream, n.keys("da", k - 1))]
