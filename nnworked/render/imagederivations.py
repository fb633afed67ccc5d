"""`--detail full` for image layers: why ∂L/∂K is the correlation of the input with δ, why the kernel flips
in ∂L/∂input, and where max (or average) pooling sends its gradient, each derived from the forward rule by
the chain rule and then worked with the scenario's own numbers, read from the table of quantities."""

from __future__ import annotations

import numpy as np

from nnworked import quantities
from nnworked.render.blocks import Block, Heading, Math, Para
from nnworked.render.forward import ForwardWriter
from nnworked.render.lines import line
from nnworked.render.numbers import fmt
from nnworked.rules.layers.conv2d import input_terms
from nnworked.trace import ConvBackToPrevious, KernelGradient, Pool, PoolBack, Trace


def image_derivations(trace: Trace, w: ForwardWriter) -> list[Block]:
    out: list[Block] = []
    backward = trace.steps[0].backward
    for record in backward:
        if isinstance(record, KernelGradient):
            out += _kernel(trace, w, record)
    for record in backward:
        if isinstance(record, ConvBackToPrevious):
            out += _flip(trace, w, record)
            break
    else:
        conv = next((r for r in backward if isinstance(r, KernelGradient)), None)
        if conv is not None:
            out += _flip_unused(w, conv)
    for record in backward:
        if isinstance(record, PoolBack):
            out += _pool(trace, w, record)
    return out


def _where(stride: int, padding: int, index: str, offset: str) -> str:
    s = f"{stride}·" if stride > 1 else ""
    return f"{s}{index} + {offset}" + (f" − {padding}" if padding else "")


def _kernel(trace: Trace, w: ForwardWriter, r: KernelGradient) -> list[Block]:
    n, k, p = w.n, r.layer, trace.precision
    K, d, a = n.param(f"K{k}"), n.delta(k), n.a(k - 1)
    row, col = _where(r.stride, r.padding, "i", "p"), _where(r.stride, r.padding, "j", "q")
    batch = r.delta.shape[0] > 1
    # the weight with the most terms that are not zero says the most; the first such
    grads = np.abs(r.kernels_grad)
    index = tuple(int(v) for v in np.unravel_index(int(np.argmax(grads)), grads.shape)) if grads.any() else (0, 0, 0, 0)
    key = quantities.name("dK", k, *index, step=n.step)
    o, c, kp, kq = index
    return [Heading(3, f"Why ∂L/∂{K} is the input correlated with {d}"),
            Para(f"One kernel weight {K}[o,c,p,q] is used at every output position: {n.z(k)}[o,i,j] = Σ_c,p,q "
                 f"{K}[o,c,p,q] × {a}[c, {row}, {col}] + b[o]. So it touches every {n.z(k)}[o,i,j] of its output "
                 f"channel, and each of them through one product, whose derivative with respect to the weight is "
                 f"the input it multiplied:"),
            Math([f"∂{n.z(k)}[o,i,j]/∂{K}[o,c,p,q] = {a}[c, {row}, {col}]",
                  f"∂L/∂{K}[o,c,p,q] = Σ_{'n,' if batch else ''}i,j ∂L/∂{n.z(k)}[o,i,j] × ∂{n.z(k)}[o,i,j]/∂{K}[o,c,p,q]"
                  f" = Σ_{'n,' if batch else ''}i,j {d}[o,i,j] × {a}[c, {row}, {col}]"]),
            Para(f"As (p, q) moves, the same grid of {d} slides over the input: δ plays the part of the kernel, "
                 "and the result is the correlation of the input with δ (no flip), one number per kernel weight. "
                 f"Here, for {K}[{o},{c},{kp},{kq}] (the input under each output position at offset ({kp}, {kq})"
                 f"{', every example' if batch else ''}):"),
            Math(line(f"∂L/∂{K}[{o},{c},{kp},{kq}]", w.page.table.expression(key), p, w.s.width))]


def _flip(trace: Trace, w: ForwardWriter, r: ConvBackToPrevious) -> list[Block]:
    n, k, p = w.n, r.layer, trace.precision
    K, d, a = n.param(f"K{k}"), n.delta(k), n.a(k - 1)
    rows, cols = r.kernels.shape[2:]
    grads = np.abs(r.upstream[0])
    unit = tuple(int(v) for v in np.unravel_index(int(np.argmax(grads)), grads.shape))
    terms = input_terms(r, unit)
    named = " + ".join(f"{n.element(d, 0, (o, i, j), 0)} × {K}[{o},{unit[0]},{dy},{dx}]" for o, i, j, dy, dx in terms[:4]) + \
        (" + …" if len(terms) > 4 else "")
    key = n.key("da", k - 1, unit, 0)
    return [Heading(3, f"Why the kernel flips in ∂L/∂{a}"),
            Para(f"An input element {a}[c,u,v] took part in every output whose patch covered it, each time through "
                 f"the kernel weight at its place in that patch: in the output at (i, j) it sits at kernel position "
                 f"(p, q) = (u − i, v − j){' (with the stride and padding: p = u + P − s·i)' if r.stride > 1 or r.padding else ''}. "
                 "By the chain rule its gradient sums over those outputs:"),
            Math([f"∂L/∂{a}[c,u,v] = Σ_o,i,j {d}[o,i,j] × ∂{n.z(k)}[o,i,j]/∂{a}[c,u,v] = "
                  f"Σ_o,i,j {d}[o,i,j] × {K}[o,c,u − i,v − j]"]),
            Para("The kernel's index u − i falls as the output's index i rises: read from the input's side, the "
                 "kernel runs backwards. That is a true convolution, which is a correlation with the kernel turned "
                 f"180° (p → {rows - 1} − p, q → {cols - 1} − q), over δ padded with {rows - 1} zero"
                 f"{'s' if rows != 2 else ''} so that the edges get their few terms. Here, for "
                 f"{n.element(f'∂L/∂{a}', 0, unit, 0)} (the kernel indices count down as δ's count up):"),
            Math([f"{n.element(f'∂L/∂{a}', 0, unit, 0)} = {named}",
                  *line(n.element(f"∂L/∂{a}", 0, unit, 0), w.page.table.expression(key), p, w.s.width)])]


def _flip_unused(w: ForwardWriter, r: KernelGradient) -> list[Block]:
    n, k = w.n, r.layer
    K, d, a = n.param(f"K{k}"), n.delta(k), n.a(k - 1)
    return [Heading(3, "Why the kernel would flip in ∂L/∂input"),
            Para(f"This scenario's convolution takes the data itself, so no gradient goes on to {a}. Had it one, "
                 f"an input element {a}[c,u,v] would collect {d}[o,i,j] × {K}[o,c,u − i,v − j] from every output "
                 "whose patch covered it: the kernel's index falls as the output's rises, so the sum is the "
                 f"correlation of {d} (padded) with {K} turned 180°, the full convolution of the backward rule.")]


def _pool(trace: Trace, w: ForwardWriter, r: PoolBack) -> list[Block]:
    n, k, p = w.n, r.layer, trace.precision
    a_in, a_out = n.a(k - 1), n.a(k)
    m = r.size * r.size
    grads = np.abs(r.gradient[0]) * (1 + _single_winner(trace, r))  # a window without a tie shows it best
    window = tuple(int(v) for v in np.unravel_index(int(np.argmax(grads)), grads.shape))
    c, i, j = window
    g = float(r.gradient[(0, *window)])
    where = f"the window at [{c},{i},{j}] (rows {i * r.stride}–{i * r.stride + r.size - 1}, cols " \
            f"{j * r.stride}–{j * r.stride + r.size - 1})"
    if r.winners is None:
        return [Heading(3, f"Where average pooling's gradient goes (layer {k})"),
                Para(f"{a_out}[c,i,j] = (x₁ + … + x{m}) / {m} over its window, so ∂{a_out}/∂xₘ = 1/{m} for every "
                     f"element: each gets an equal share of the window's gradient. Here {where} has "
                     f"∂L/∂{a_out} = {fmt(g, p)}, so each of its {m} elements gets {fmt(g, p)} / {m} = "
                     f"{fmt(g / m, p)} from it.")]
    dy, dx = divmod(int(r.winners[(0, *window)]), r.size)
    y, x = i * r.stride + dy, j * r.stride + dx
    return [Heading(3, f"Where max pooling's gradient goes (layer {k})"),
            Para(f"{a_out}[c,i,j] = max of its window: moving the winning element moves the output by as much, and "
                 f"moving any other (a little) does not move it at all. So ∂{a_out}/∂x is 1 for the winner and 0 for "
                 "the rest, and the window's gradient goes whole to its winner (where several tie, the first, as "
                 "PyTorch routes it; the maximum has a kink there, so any one of them is a valid choice)."),
            Para(f"Here {where} was won by {a_in}[{c},{y},{x}] = {fmt(_pool_input(trace, k)[0, c, y, x], p)}"
                 f", so ∂L/∂{a_out}[{c},{i},{j}] = {fmt(g, p)} goes to it and its other {m - 1} elements get 0 from "
                 "this window.")]


def _pool_input(trace: Trace, k: int) -> np.ndarray:
    return next(op for op in trace.steps[0].forward.operations if isinstance(op, Pool) and op.layer == k).inputs


def _single_winner(trace: Trace, r: PoolBack) -> np.ndarray:
    """1 where a window of the first example has one largest element, else 0 (ties, average pooling)."""
    if r.winners is None:
        return np.zeros(r.gradient.shape[1:])
    x = _pool_input(trace, r.layer)[0]
    out = np.zeros(r.gradient.shape[1:])
    for c, i, j in np.ndindex(*out.shape):
        window = x[c, i * r.stride: i * r.stride + r.size, j * r.stride: j * r.stride + r.size]
        out[c, i, j] = float(np.sum(window == window.max()) == 1)
    return out
