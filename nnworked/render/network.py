"""A picture of the network, as textbooks start their worked examples: each neuron a circle holding its
value after the forward pass, its gradient δ = ∂L/∂z after the backward pass written below it, its bias
above it, and each weight on its edge. Drawn from the trace of the first training step (for a batch, its
first example), as SVG (no library: every text escaped) and as TikZ for LaTeX.

A large layer is elided as the walkthrough elides it: its first neurons and its last, with how many lie
between; the weights are written on the edges only while there are few enough to read.
"""

from __future__ import annotations

from typing import NamedTuple

from nnworked.render.lines import pick
from nnworked.render.notation import Notation
from nnworked.render.numbers import fmt
from nnworked.text import printable
from nnworked.trace import Trace

MAX_UNITS = 6  # neurons drawn per layer: a larger layer shows its first 5, its last, and a "⋮ N more"
MAX_LABELLED_EDGES = 16  # between two layers with more edges than this, the weights are left off the edges
COLUMN, ROW, RADIUS, MARGIN = 190, 96, 26, 70  # the layout, in SVG pixels
EDGE_LABEL_AT = 0.3  # how far along an edge, from its source, its weight is written (fan-outs spread there)


class Neuron(NamedTuple):
    layer: int  # 0 = the input
    unit: int
    x: float
    y: float
    name: str  # x₁, h₂, ŷ
    value: str  # after the forward pass
    gradient: str  # δ = ∂L/∂z after the backward pass ("" for an input or without a backward pass)
    bias: str  # "" for an input or a layer without bias


class Edge(NamedTuple):
    source: Neuron
    target: Neuron
    weight: str
    gradient: str  # ∂L/∂W of this weight ("" without a backward pass)
    labelled: bool  # whether the weight is written on the edge


class Gap(NamedTuple):
    """Where a large layer's hidden neurons would be: `⋮ N more`."""

    x: float
    y: float
    hidden: int


class Picture(NamedTuple):
    neurons: list[Neuron]
    edges: list[Edge]
    gaps: list[Gap]
    width: int
    height: int
    caption: str


def drawable(trace: Trace) -> bool:
    """A network with a first step held in full (a matrix product has no network to draw) whose layers the
    picture draws: dense layers as circles and edges (`layout`), image, pooling, dropout, normalisation,
    residual and sequence layers as the stages of nnworked/render/stages.py. A layer type it has no drawing
    for gets no picture."""
    return _neurons_only(trace) or _staged(trace) is not None


def _neurons_only(trace: Trace) -> bool:
    """Only dense layers: the picture of neurons and edges below."""
    from nnworked.rules.layers import LAYERS

    return trace.matmul is None and bool(trace.steps) and bool(trace.steps[0].forward.linear) and \
        all(layer.type in LAYERS and LAYERS[layer.type].neurons for layer in trace.scenario.layers)


def _staged(trace: Trace):  # noqa: ANN202 (a shapes.Drawing, or None)
    """The picture of a network with layers beyond dense ones, as shapes; None where it cannot be drawn."""
    from nnworked.render.stage_layout import drawing
    from nnworked.render.stages import Undrawable

    if trace.matmul is not None or not trace.steps or not trace.steps[0].forward.operations:
        return None
    try:
        return drawing(trace)
    except Undrawable:
        return None


def layout(trace: Trace) -> Picture:
    """Where every neuron, edge and gap goes, with the numbers written on them."""
    step, p = trace.steps[0], trace.precision
    forward = step.forward
    layers = len(forward.linear)
    n = Notation(layers, forward.linear[0].inputs.shape[0])
    gradients = step.gradients() if step.backward else {}
    sizes = [forward.linear[0].inputs.shape[1], *(lin.z.shape[1] for lin in forward.linear)]
    shown = [pick(size, MAX_UNITS) for size in sizes]
    tallest = max(len(units) + (1 if hidden else 0) for units, hidden in shown)
    height = 2 * MARGIN + (tallest - 1) * ROW
    width = 2 * MARGIN + (layers * COLUMN)
    names = trace.scenario.input_names
    neurons: list[list[Neuron]] = []
    gaps: list[Gap] = []
    for k, (units, hidden) in enumerate(shown):
        slots = len(units) + (1 if hidden else 0)
        top = (height - (slots - 1) * ROW) / 2
        x = MARGIN + k * COLUMN
        column = []
        for slot, unit in enumerate(units):
            slot += 1 if hidden and slot == len(units) - 1 else 0  # the gap sits before the last neuron
            y = top + slot * ROW
            if k == 0:
                name = names[unit] if names and unit < len(names) else f"x{_sub(unit + 1)}"
                column.append(Neuron(0, unit, x, y, printable(name), fmt(forward.linear[0].inputs[0, unit], p), "", ""))
                continue
            lin = forward.linear[k - 1]
            delta = gradients.get(f"z{k}")
            column.append(Neuron(
                k, unit, x, y, f"{n.a(k)}{_sub(unit + 1)}" if sizes[k] > 1 else n.a(k),
                fmt(forward.activate[k - 1].a[0, unit], p),
                fmt(delta[0, unit], p) if delta is not None else "",
                fmt(lin.bias[unit], p) if lin.bias is not None else ""))
        if hidden:
            gaps.append(Gap(x, top + (len(units) - 1) * ROW, hidden))
        neurons.append(column)
    edges = []
    for k in range(1, layers + 1):
        weights, grad = forward.linear[k - 1].weights, gradients.get(f"W{k}")
        labelled = len(neurons[k]) * len(neurons[k - 1]) <= MAX_LABELLED_EDGES
        edges += [Edge(source, target, fmt(weights[target.unit, source.unit], p),
                       fmt(grad[target.unit, source.unit], p) if grad is not None else "", labelled)
                  for target in neurons[k] for source in neurons[k - 1]]
    examples = forward.linear[0].inputs.shape[0]
    caption = ("Values after the forward pass in the circles; δ = ∂L/∂z after the backward pass below them; "
               "each bias above its neuron; each weight on its edge") if gradients else \
        "Values after the forward pass in the circles; each bias above its neuron; each weight on its edge"
    if examples > 1:
        caption += f" (example 1 of {examples})"
    if not all(e.labelled for e in edges):
        caption += "; weights are left off where the edges are too many to read"
    return Picture([nr for column in neurons for nr in column], edges, gaps, width, height, caption + ".")


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _sub(number: int) -> str:
    return str(number).translate(_SUBSCRIPTS)


def _xml(text: str) -> str:
    """Text for SVG, in an element or an attribute: control characters shown as escapes, markup escaped."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _along(edge: Edge) -> tuple[float, float]:
    t = EDGE_LABEL_AT
    return edge.source.x + t * (edge.target.x - edge.source.x), edge.source.y + t * (edge.target.y - edge.source.y)


def svg(trace: Trace) -> str:
    """The picture as one self-contained SVG document."""
    if not _neurons_only(trace):
        from nnworked.render import shapes

        return shapes.svg(_staged(trace))
    picture = layout(trace)
    title = f"{printable(trace.scenario.title)}: the network"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{picture.width}" height="{picture.height + 30}" '
           f'viewBox="0 0 {picture.width} {picture.height + 30}" font-family="sans-serif" font-size="11" '
           f'role="img" aria-label="{_xml(title)}">',
           f"<title>{_xml(title)}</title>", '<rect width="100%" height="100%" fill="white"/>']
    for edge in picture.edges:
        tip = f"{edge.target.name} ← {edge.source.name}: w = {edge.weight}" + \
              (f", ∂L/∂w = {edge.gradient}" if edge.gradient else "")
        out.append(f'<line class="edge" x1="{edge.source.x:.1f}" y1="{edge.source.y:.1f}" x2="{edge.target.x:.1f}" '
                   f'y2="{edge.target.y:.1f}" stroke="#888" stroke-width="1.2"><title>{_xml(tip)}</title></line>')
    for edge in picture.edges:
        if edge.labelled:
            x, y = _along(edge)
            out.append(f'<text class="weight" x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle" fill="#333" '
                       f'stroke="white" stroke-width="3" paint-order="stroke">{_xml(edge.weight)}</text>')
    for nr in picture.neurons:
        fill = "#e8f0fb" if nr.layer == 0 else "#fdf3e1"
        out.append(f'<circle class="neuron" cx="{nr.x:.1f}" cy="{nr.y:.1f}" r="{RADIUS}" fill="{fill}" '
                   f'stroke="#333" stroke-width="1.5"><title>{_xml(nr.name)} = {_xml(nr.value)}</title></circle>')
        out.append(f'<text class="value" x="{nr.x:.1f}" y="{nr.y + 4:.1f}" text-anchor="middle" '
                   f'font-weight="bold">{_xml(nr.value)}</text>')
        out.append(f'<text class="name" x="{nr.x - RADIUS - 4:.1f}" y="{nr.y - RADIUS + 4:.1f}" '
                   f'text-anchor="end" font-style="italic">{_xml(nr.name)}</text>')
        if nr.bias:
            out.append(f'<text class="bias" x="{nr.x:.1f}" y="{nr.y - RADIUS - 6:.1f}" text-anchor="middle" '
                       f'fill="#555">b = {_xml(nr.bias)}</text>')
        if nr.gradient:
            out.append(f'<text class="gradient" x="{nr.x:.1f}" y="{nr.y + RADIUS + 14:.1f}" text-anchor="middle" '
                       f'fill="#b03030">δ = {_xml(nr.gradient)}</text>')
    for gap in picture.gaps:
        out.append(f'<text class="gap" x="{gap.x:.1f}" y="{gap.y + 4:.1f}" text-anchor="middle">'
                   f'⋮ {gap.hidden:,} more</text>')
    out.append(f'<text class="caption" x="{picture.width / 2:.1f}" y="{picture.height + 14}" text-anchor="middle" '
               f'font-size="10" fill="#555">{_xml(picture.caption)}</text>')
    return "\n".join(out) + "\n</svg>\n"


def tikz(trace: Trace) -> str:
    """The same picture as a TikZ figure (a pixel of the SVG is 0.02 cm). A document without TikZ prints
    a note in its place, so that it still compiles."""
    from nnworked.render.latex import escape

    if not _neurons_only(trace):
        from nnworked.render import shapes

        return shapes.tikz(_staged(trace))
    picture = layout(trace)
    scale = 0.02

    def at(x: float, y: float) -> str:
        return f"({x * scale:.2f},{-y * scale:.2f})"

    lines = [r"\begin{center}\ifdefined\tikzpicture", r"\begin{tikzpicture}[font=\scriptsize]"]
    for edge in picture.edges:
        lines.append(rf"\draw[gray] {at(edge.source.x, edge.source.y)} -- {at(edge.target.x, edge.target.y)};")
    for edge in picture.edges:
        if edge.labelled:
            lines.append(rf"\node[fill=white, inner sep=1pt] at {at(*_along(edge))} {{{escape(edge.weight)}}};")
    for nr in picture.neurons:
        lines.append(rf"\node[circle, draw, thick, minimum size={2 * RADIUS * scale:.2f}cm, inner sep=0pt, "
                     rf"fill={'blue!8' if nr.layer == 0 else 'orange!10'}] at {at(nr.x, nr.y)} "
                     rf"{{\textbf{{{escape(nr.value)}}}}};")
        lines.append(rf"\node[anchor=east] at {at(nr.x - RADIUS, nr.y - RADIUS)} {{\textit{{{escape(nr.name)}}}}};")
        if nr.bias:
            lines.append(rf"\node[gray] at {at(nr.x, nr.y - RADIUS - 10)} {{b = {escape(nr.bias)}}};")
        if nr.gradient:
            lines.append(rf"\node[red!60!black] at {at(nr.x, nr.y + RADIUS + 10)} {{{escape('δ = ' + nr.gradient)}}};")
    for gap in picture.gaps:
        lines.append(rf"\node at {at(gap.x, gap.y)} {{{escape(f'⋮ {gap.hidden:,} more')}}};")
    lines += [r"\end{tikzpicture}\\", rf"{{\footnotesize {escape(picture.caption)}}}",
              rf"\else {{\footnotesize {escape('(The picture of the network needs the LaTeX package tikz.)')}}}\fi",
              r"\end{center}"]
    return "\n".join(lines)


def with_picture(blocks: list, trace: Trace, settings) -> list:  # noqa: ANN001
    """The walkthrough's blocks with the picture of the network before its first section (as a textbook's
    worked example starts from one): drawn in (a Figure) or, with `settings.network` naming a file beside
    the document, linked (an Image). Never on an exercise sheet or key, whose blanks it would give away."""
    from nnworked.render.blocks import Figure, Heading, Image, Rule

    if settings.blanks is not None or not drawable(trace):
        return blocks
    alt = f"The network of {printable(trace.scenario.title)}"
    picture = Image(alt, settings.network) if settings.network else Figure(alt, svg(trace), tikz(trace))
    first = next((i for i, b in enumerate(blocks) if isinstance(b, Heading) and b.level == 2), len(blocks))
    if first and isinstance(blocks[first - 1], Rule):  # with the introduction, before the rule
        first -= 1
    return [*blocks[:first], picture, *blocks[first:]]
