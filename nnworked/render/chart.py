"""The loss over training steps: a one-line chart for the terminal, an SVG image for documents."""

from __future__ import annotations

from nnworked.engine.rounding import Precision
from nnworked.render.numbers import fmt

BARS = "▁▂▃▄▅▆▇█"


def escape(text: str) -> str:
    """Text for SVG (xml.sax's escape would cost the command tens of milliseconds of imports)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sparkline(values: list[float], width: int = 60) -> str:
    """One character per step (every k-th step when there are more than `width`), low to high."""
    stride = max(1, -(-len(values) // width))
    picked = values[::stride]
    if picked[-1] != values[-1]:
        picked.append(values[-1])
    low, high = min(picked), max(picked)
    span = high - low or 1.0
    return "".join(BARS[min(len(BARS) - 1, int((v - low) / span * len(BARS)))] for v in picked)


def svg(values: list[float], precision: Precision, title: str) -> str:
    """A self-contained SVG line chart of the loss before each step and after the last."""
    width, height, left, right, top, bottom = 640, 320, 70, 20, 40, 50
    low, high = min(values), max(values)
    span = high - low or 1.0
    inner_w, inner_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + inner_w * i / max(1, len(values) - 1)

    def y(v: float) -> float:
        return top + inner_h * (1 - (v - low) / span)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    ticks = "".join(
        f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{escape(fmt(v, precision))}</text>'
        for v in ({high, low} if high != low else {high}))
    last = len(values) - 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">'
        f'<title>{escape(title)}</title><rect width="100%" height="100%" fill="white"/>'
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="black"/>'
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" stroke="black"/>'
        f'{ticks}<text x="{left}" y="{height - 28}" text-anchor="middle">0</text>'
        f'<text x="{left + inner_w}" y="{height - 28}" text-anchor="middle">{last}</text>'
        f'<text x="{left + inner_w / 2}" y="{height - 10}" text-anchor="middle">steps taken</text>'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
        + "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="#1f77b4"/>'
                  for i, v in enumerate(values) if len(values) <= 60)
        + "</svg>\n")
