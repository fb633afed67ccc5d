"""The shapes a picture is drawn with (boxes, circles, paths, texts, each with a class that says what it shows)
and the two ways they are written out: SVG for HTML and Markdown, TikZ for LaTeX. The picture of a network
with image, pooling, normalisation and residual layers (nnworked/render/stages.py) lays itself out as these
shapes, so that both formats draw the same thing from one layout.

Every text is untrusted until escaped: the SVG writer escapes markup, the TikZ writer LaTeX's specials.
"""

from __future__ import annotations

from typing import NamedTuple

from nnworked.text import printable


class Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    cls: str  # its style (below) and its SVG class
    tip: str = ""  # a tooltip in SVG (a <title>)


class Circle(NamedTuple):
    x: float
    y: float
    r: float
    cls: str
    tip: str = ""


class Path(NamedTuple):
    points: tuple[tuple[float, float], ...]
    cls: str
    tip: str = ""
    arrow: bool = False  # an arrowhead at the last point


class Label(NamedTuple):
    x: float
    y: float  # the baseline
    text: str
    cls: str
    anchor: str = "middle"  # start, middle or end


Shape = Box | Circle | Path | Label


class Drawing(NamedTuple):
    shapes: list[Shape]
    width: float
    height: float  # its caption's lines included
    title: str  # the SVG's accessible name
    caption: str


# Each class's look: SVG attributes, and the TikZ options that draw it the same way. A class missing here is a
# programming error (KeyError), found by the tests of each picture.
_SVG = {
    "frame": 'fill="none" stroke="#bbb" stroke-dasharray="3 3"',
    "cell": 'fill="white" stroke="#999"', "input-cell": 'fill="#e8f0fb" stroke="#999"',
    "kernel-cell": 'fill="#eef7e8" stroke="#999"', "gradient-cell": 'fill="#fbeeee" stroke="#d9b3b3"',
    "window": 'fill="none" stroke="#1f5fbf" stroke-width="2" stroke-dasharray="5 3"',
    "winner": 'fill="none" stroke="#d08000" stroke-width="2.2"',
    "dropped": 'fill="none" stroke="#b03030" stroke-width="1.6"',
    "neuron": 'fill="#fdf3e1" stroke="#333" stroke-width="1.5"', "input-neuron": 'fill="#e8f0fb" stroke="#333" '
    'stroke-width="1.5"', "dropped-neuron": 'fill="#eeeeee" stroke="#999" stroke-width="1.5" stroke-dasharray="4 3"',
    "sum": 'fill="white" stroke="#333" stroke-width="1.5"', "sum-cross": 'stroke="#333" stroke-width="1.5"',
    "edge": 'stroke="#888" stroke-width="1.2" fill="none"', "link": 'stroke="#888" stroke-width="1.2" fill="none"',
    "flow": 'stroke="#555" stroke-width="1.5" fill="none"', "skip": 'stroke="#1f5fbf" stroke-width="1.5" fill="none"',
    "map-value": 'font-size="10"', "input-value": 'font-size="10"', "kernel-value": 'font-size="10"',
    "map-gradient": 'font-size="9" fill="#b03030"', "kernel-gradient": 'font-size="9" fill="#b03030"',
    "gap": 'fill="#555"', "map-name": 'font-style="italic"', "kernel-name": 'font-style="italic"',
    "gradient-name": 'font-style="italic" fill="#b03030"', "stage": 'font-weight="bold"',
    "stage-note": 'fill="#555"', "operator": 'font-size="24"', "skip-label": 'fill="#1f5fbf"',
    "value": 'font-weight="bold"', "name": 'font-style="italic"', "bias": 'fill="#555"', "gamma": 'fill="#555"',
    "beta": 'fill="#555"', "gradient": 'fill="#b03030"', "weight": 'fill="#333" stroke="white" stroke-width="3" '
    'paint-order="stroke"', "caption": 'font-size="10" fill="#555"',
    # sequences: a recurrent cell and what it carries; attention weights, lighter to darker; masked weights
    "recurrent-cell": 'fill="#fdf8ee" stroke="#333" stroke-width="1.5" rx="6"', "cell-label": 'font-style="italic" '
    'fill="#555"', "step": 'font-weight="bold"', "carry": 'stroke="#333" stroke-width="1.5" fill="none"',
    "carry-label": 'font-style="italic" fill="#333"',
    **{f"attention-cell-{i}": f'fill="{fill}" stroke="#999"' for i, fill in enumerate(
        ("#f4f8fd", "#d6e4f5", "#a9c6ea", "#5f93d3", "#2659a8"))},
    "attention-value": 'font-size="10"', "attention-value-light": 'font-size="10" fill="white"',
    "masked-cell": 'fill="#e6e6e6" stroke="#bbb"', "masked-value": 'font-size="10" fill="#888"',
}
_TIKZ = {
    "frame": "draw=gray!50, dashed", "cell": "draw=gray, fill=white", "input-cell": "draw=gray, fill=blue!8",
    "kernel-cell": "draw=gray, fill=green!8", "gradient-cell": "draw=red!25, fill=red!5",
    "window": "draw=blue!70!black, thick, dashed", "winner": "draw=orange!90!black, very thick",
    "dropped": "draw=red!60!black, thick", "neuron": "draw, thick, fill=orange!10", "input-neuron":
    "draw, thick, fill=blue!8", "dropped-neuron": "draw=gray, thick, dashed, fill=gray!15",
    "sum": "draw, thick, fill=white",
    "sum-cross": "draw, thick", "edge": "draw=gray", "link": "draw=gray", "flow": "draw=black!70, thick",
    "skip": "draw=blue!70!black, thick",
    "map-value": r"font=\tiny", "input-value": r"font=\tiny", "kernel-value": r"font=\tiny",
    "map-gradient": r"font=\tiny, red!60!black", "kernel-gradient": r"font=\tiny, red!60!black",
    "gap": "gray", "map-name": r"font=\scriptsize\itshape", "kernel-name": r"font=\scriptsize\itshape",
    "gradient-name": r"font=\scriptsize\itshape, red!60!black", "stage": r"font=\scriptsize\bfseries",
    "stage-note": r"font=\scriptsize, gray", "operator": r"font=\large",
    "skip-label": r"font=\scriptsize, blue!70!black",
    "value": r"font=\scriptsize\bfseries", "name": r"font=\scriptsize\itshape", "bias": r"font=\scriptsize, gray",
    "gamma": r"font=\scriptsize, gray", "beta": r"font=\scriptsize, gray",
    "gradient": r"font=\scriptsize, red!60!black",
    "weight": r"font=\scriptsize, fill=white, inner sep=1pt", "caption": r"font=\footnotesize",
    "recurrent-cell": "draw, thick, rounded corners, fill=orange!4", "cell-label": r"font=\scriptsize\itshape, gray",
    "step": r"font=\scriptsize\bfseries", "carry": "draw, thick", "carry-label": r"font=\scriptsize\itshape",
    **{f"attention-cell-{i}": f"draw=gray, fill=blue!{share}" for i, share in enumerate((4, 15, 30, 60, 85))},
    "attention-value": r"font=\tiny", "attention-value-light": r"font=\tiny, white",
    "masked-cell": "draw=gray!60, fill=gray!20", "masked-value": r"font=\tiny, gray",
}


def xml(text: str) -> str:
    """Text for SVG, in an element or an attribute: control characters shown as escapes, markup escaped."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _tip(tip: str) -> str:
    return f"<title>{xml(tip)}</title>" if tip else ""


def _svg_shape(shape: Shape) -> str:
    style = _SVG[shape.cls]
    if isinstance(shape, Box):
        return (f'<rect class="{shape.cls}" x="{shape.x:.1f}" y="{shape.y:.1f}" width="{shape.w:.1f}" '
                f'height="{shape.h:.1f}" {style}>{_tip(shape.tip)}</rect>')
    if isinstance(shape, Circle):
        return (f'<circle class="{shape.cls}" cx="{shape.x:.1f}" cy="{shape.y:.1f}" r="{shape.r:.1f}" {style}>'
                f'{_tip(shape.tip)}</circle>')
    if isinstance(shape, Path):
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in shape.points)
        head = ' marker-end="url(#arrow)"' if shape.arrow else ""
        return f'<polyline class="{shape.cls}" points="{points}" {style}{head}>{_tip(shape.tip)}</polyline>'
    return (f'<text class="{shape.cls}" x="{shape.x:.1f}" y="{shape.y:.1f}" text-anchor="{shape.anchor}" {style}>'
            f'{xml(shape.text)}</text>')


CAPTION_CHAR = 5.6  # the width of a character of the caption (10 pixels, sans-serif), to wrap it in SVG
CAPTION_LINE = 13


def caption_lines(caption: str, width: float) -> list[str]:
    """The caption broken after its semicolons into lines that fit `width` (SVG text does not wrap)."""
    out: list[str] = []
    for part in caption.replace("; ", ";\n").split("\n"):
        if out and CAPTION_CHAR * (len(out[-1]) + 1 + len(part)) <= width:
            out[-1] += " " + part
        else:
            out.append(part)
    return out


def svg(drawing: Drawing) -> str:
    """The drawing as one self-contained SVG document."""
    width, height = round(drawing.width), round(drawing.height)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           f'font-family="sans-serif" font-size="11" role="img" aria-label="{xml(drawing.title)}">',
           f"<title>{xml(drawing.title)}</title>",
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
           '<rect width="100%" height="100%" fill="white"/>']
    out += [_svg_shape(shape) for shape in drawing.shapes]
    lines = caption_lines(drawing.caption, drawing.width - 20)
    out += [_svg_shape(Label(drawing.width / 2, drawing.height - 12 - CAPTION_LINE * (len(lines) - 1 - i), line,
                             "caption")) for i, line in enumerate(lines)]
    return "\n".join(out) + "\n</svg>\n"


TEXT_WIDTH_CM, TEXT_HEIGHT_CM = 17.0, 23.0  # what an A4 page with the documents' 1.6 cm margins holds, and room
# for a title and a caption; a wider picture is scaled down (text too)
PIXEL_CM = 0.02  # a pixel of the SVG, in TikZ, when the picture fits the page at that size
SIDEWAYS_BELOW = 0.7  # a picture that would shrink to less than this across the page is turned a quarter, to
# run along the page's height, as a textbook prints a wide table


def fit(drawing: Drawing) -> tuple[float, bool]:
    """Centimetres per pixel, and whether the picture is turned sideways, for it to fit an A4 page."""
    across = min(PIXEL_CM, TEXT_WIDTH_CM / drawing.width, TEXT_HEIGHT_CM / drawing.height)
    if across >= SIDEWAYS_BELOW * PIXEL_CM:
        return across, False
    return min(PIXEL_CM, TEXT_HEIGHT_CM / drawing.width, TEXT_WIDTH_CM / drawing.height), True


# Symbols the pictures use that LaTeX's prose escaping (nnworked/render/latex.py) has no spelling for
_SYMBOLS = {"γ": r"\ensuremath{\gamma}", "⋯": r"\ensuremath{\cdots}", "⋱": r"\ensuremath{\ddots}",
            "⋆": r"\ensuremath{\star}", "⊕": r"\ensuremath{\oplus}", "⊙": r"\ensuremath{\odot}",
            "√": r"\ensuremath{\surd}", "ᵀ": r"\textsuperscript{T}"}


def tex(text: str) -> str:
    """Text for LaTeX: escaped as prose is, the pictures' own symbols spelled as mathematics."""
    from nnworked.render.latex import escape

    out, run = [], ""
    for char in printable(text):
        if char in _SYMBOLS:
            out += [escape(run), _SYMBOLS[char]]
            run = ""
        else:
            run += char
    return "".join(out) + escape(run)


def tikz(drawing: Drawing) -> str:
    """The same drawing as a TikZ figure, scaled (text too) to fit the page's width. A document without TikZ
    prints a note in its place, so that it still compiles."""
    scale, sideways = fit(drawing)

    def at(x: float, y: float) -> str:
        return f"({x * scale:.2f},{-y * scale:.2f})"

    lines = [r"\begin{center}\ifdefined\tikzpicture" + (r"\rotatebox{90}{%" if sideways else ""),
             rf"\begin{{tikzpicture}}[font=\scriptsize, every node/.style={{scale={scale / PIXEL_CM:.2f}}}]"]
    for shape in drawing.shapes:
        style = _TIKZ[shape.cls]
        if isinstance(shape, Box):
            corner = at(shape.x + shape.w, shape.y + shape.h)
            lines.append(rf"\path[{style}] {at(shape.x, shape.y)} rectangle {corner};")
        elif isinstance(shape, Circle):
            lines.append(rf"\path[{style}] {at(shape.x, shape.y)} circle ({shape.r * scale:.2f});")
        elif isinstance(shape, Path):
            tip = ", -stealth" if shape.arrow else ""
            lines.append(rf"\path[{style}{tip}] " + " -- ".join(at(x, y) for x, y in shape.points) + ";")
        else:
            anchor = {"start": "base west", "middle": "base", "end": "base east"}[shape.anchor]
            lines.append(rf"\node[anchor={anchor}, inner sep=0pt, {style}] at {at(shape.x, shape.y)} "
                         rf"{{{tex(shape.text)}}};")
    lines += [r"\end{tikzpicture}" + ("}" if sideways else "") + r"\\", rf"{{\footnotesize {tex(drawing.caption)}}}",
              rf"\else {{\footnotesize {tex('(The picture of the network needs the LaTeX package tikz.)')}}}\fi",
              r"\end{center}"]
    return "\n".join(lines)
