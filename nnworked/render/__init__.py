"""Renderers: interpreters over a Trace. Each format is looked up by the name a user types."""

from __future__ import annotations

import importlib
from typing import Callable

FORMATS: dict[str, str] = {
    "terminal": "nnworked.render.terminal",
    "markdown": "nnworked.render.markdown",
    "json": "nnworked.render.json",
    "latex": "nnworked.render.latex",
    "html": "nnworked.render.html",
    "moodle": "nnworked.render.moodle",
}


def get(name: str) -> Callable:
    """The `render(trace, settings)` function of a format (imported only when asked for)."""
    return importlib.import_module(FORMATS[name]).render
