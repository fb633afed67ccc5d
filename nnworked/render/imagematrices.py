""""Why we use matrices" for a network with image layers: a convolution is one matrix product too, once each
patch is laid out as a column (image to columns, im2col); the dimension check of every product, one kernel
row times one patch column in full, the same product read backwards for ∂L/∂K and ∂L/∂input, and the
parameter count."""

from __future__ import annotations

import numpy as np

from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import line
from nnworked.trace import Convolve, Linear, Pool, Trace


def image_matrices(trace: Trace, w: ForwardWriter) -> list[Block]:
    n, p = w.n, trace.precision
    operations = trace.steps[0].forward.operations
    examples = trace.scenario.inputs.shape[0]
    out: list[Block] = [Rule(), Heading(2, "Why We Use Matrices"), Heading(3, "1. A convolution is one matrix product"),
                        Para("Lay each patch out as a column (image to columns, or im2col) and each kernel as a row: "
                             "every output element is then a row times a column, and the whole layer one product. "
                             "The same kernel row meets every column: that is the weight sharing of a convolution.")]
    lines: list[str] = []
    for op in operations:
        if isinstance(op, Convolve):
            out_c, in_c, rows, cols = op.kernels.shape
            size, positions = in_c * rows * cols, op.z.shape[2] * op.z.shape[3]
            k = op.layer
            lines.append(f"{n.param(f'K{k}')} as rows ({out_c}×{size}) · patches of {n.a(k - 1)} as columns "
                         f"({size}×{positions}) → {n.z(k)} ({out_c}×{positions}) = {out_c}×{op.z.shape[2]}×"
                         f"{op.z.shape[3]} per example   inner: {size} = {in_c}·{rows}·{cols} ✓")
        elif isinstance(op, Linear):
            units, width = op.weights.shape
            lines.append(f"{n.W(op.layer)} ({units}×{width}) · {n.a(op.layer - 1)} ({width}×1) → {n.z(op.layer)} "
                         f"({units}×1)   inner: {width} = {op.inputs.shape[1]} ✓")
        elif isinstance(op, Pool):
            lines.append(f"{n.a(op.layer)}: pooling is no product; each {op.size}×{op.size} window gives one number, "
                         f"{op.inputs.shape[1]}×{op.inputs.shape[2]}×{op.inputs.shape[3]} → "
                         f"{op.a.shape[1]}×{op.a.shape[2]}×{op.a.shape[3]}")
    if examples > 1:
        lines += ["", f"For the batch of {examples} the patches of every example sit side by side as more columns, "
                      "and the same kernel rows serve them all."]
    out.append(Math(lines))
    conv = next((op for op in operations if isinstance(op, Convolve)), None)
    if conv is None:  # pooling alone: no product to lay out
        return out
    k, (_, in_c, rows, cols) = conv.layer, conv.kernels.shape
    key = n.key("z", k, (0, 0, 0), 0)
    out += [Heading(3, "2. One kernel row times one patch column, in full"),
            Para(f"Row 0 of {n.param(f'K{k}')} (kernel 0, read row by row) times the first patch column (rows "
                 f"0–{rows - 1}, cols 0–{cols - 1} of {n.a(k - 1)}), plus the bias, is {n.z(k)}[0,0,0]:"),
            Math(line(n.element(n.z(k), 0, (0, 0, 0), 0), w.page.table.expression(key), p, w.s.width))]
    out += [Heading(3, "3. The backward pass uses the same product"),
            Bullets([f"∂L/∂{n.param(f'K{k}')} = {n.delta(k)} as rows (out channels × positions) · the patches as rows "
                     "(positions × kernel size): each kernel weight sums δ × the input it met, over every position"
                     + (" and example" if examples > 1 else "") + ", the correlation of the input with δ.",
                     f"∂L/∂patches = {n.param(f'K{k}')}ᵀ · {n.delta(k)}; adding each patch's column back into the "
                     "place it came from (columns to image, col2im) sums, for each input element, δ × the kernel "
                     "weight that met it: the full convolution with the flipped kernel."])]
    counts = trace.scenario.parameter_counts()
    out += [Heading(3, "4. Parameters"),
            Para(f"{sum(counts):,} numbers, {int(np.prod(conv.kernels.shape)):,} of them in the kernels of layer {k}, "
                 "each used at every position of the image: a dense layer from the same input to the same output "
                 f"would need {int(np.prod(conv.inputs.shape[1:]) * np.prod(conv.z.shape[1:])):,} weights.")]
    return out
