"""The loss over training steps: a one-line chart for the terminal, an SVG image for documents."""

from __future__ import annotations

import math

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


def nice_ticks(low: float, high: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 × 10ⁿ apart) from at or below `low` to at or above `high`, at most `most`."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    for exponent in range(math.floor(math.log10((high - low) / most)) - 1, 400):
        for mantissa in (1, 2, 5):
            step = mantissa * 10.0**exponent
            first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
            if last - first + 1 <= most:
                return [round(i * step, 12) for i in range(first, last + 1)]
    return [low, high]


def svg(values: list[float], precision: Precision, title: str, from_zero: bool = True) -> str:
    """A self-contained SVG line chart of the loss before each step and after the last, its axes labelled
    (step, loss) with round ticks. The loss axis starts at zero (a 3 % drop drawn from the data's own low
    would look like a cliff) unless `from_zero` is False or a loss is negative."""
    width, height, left, right, top, bottom = 640, 340, 80, 24, 40, 62
    inner_w, inner_h = width - left - right, height - top - bottom
    low = min(0.0, min(values)) if from_zero else min(values)
    y_ticks = nice_ticks(low, max(values))
    low, high = y_ticks[0], y_ticks[-1]
    span = high - low or 1.0
    last = len(values) - 1
    x_ticks = sorted({int(t) for t in nice_ticks(0, max(last, 1), 8) if float(t).is_integer() and t <= max(last, 1)})

    def x(i: float) -> float:
        return left + inner_w * i / max(1, last)

    def y(v: float) -> float:
        return top + inner_h * (1 - (v - low) / span)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    grid = "".join(f'<line x1="{left}" y1="{y(t):.1f}" x2="{left + inner_w}" y2="{y(t):.1f}" stroke="#e4e4e4"/>'
                   f'<text class="y-tick" x="{left - 8}" y="{y(t) + 4:.1f}" text-anchor="end">'
                   f'{escape(fmt(t, precision))}</text>' for t in y_ticks)
    steps = "".join(f'<line x1="{x(t):.1f}" y1="{top + inner_h}" x2="{x(t):.1f}" y2="{top + inner_h + 5}" '
                    f'stroke="black"/><text class="x-tick" x="{x(t):.1f}" y="{top + inner_h + 18}" '
                    f'text-anchor="middle">{t}</text>' for t in x_ticks)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">'
        f'<title>{escape(title)}</title><rect width="100%" height="100%" fill="white"/>'
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>'
        f'{grid}{steps}'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + inner_h}" stroke="black"/>'
        f'<line x1="{left}" y1="{top + inner_h}" x2="{left + inner_w}" y2="{top + inner_h}" stroke="black"/>'
        f'<text class="x-label" x="{left + inner_w / 2}" y="{height - 12}" text-anchor="middle">step</text>'
        f'<text class="y-label" x="18" y="{top + inner_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {top + inner_h / 2})">loss</text>'
        f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>'
        + "".join(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="#1f77b4"/>'
                  for i, v in enumerate(values) if len(values) <= 60)
        + "</svg>\n")
