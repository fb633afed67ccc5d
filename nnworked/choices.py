"""The command line's choices and the checks of its options (exit 2 for a mistake), kept apart from the
commands so that `nnworked --help` reads them without importing the library."""

from __future__ import annotations

import math
from enum import Enum
from typing import Optional

import typer

from nnworked.render import FORMATS


def known_format(value: str) -> str:
    """The formats are read when the command runs, so one registered after import is a choice too."""
    if value not in FORMATS:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(repr(name) for name in FORMATS)}.")
    return value


class Layout(str, Enum):
    standard = "standard"
    ai_by_hand = "ai-by-hand"


class LossAxis(str, Enum):
    zero = "zero"
    data = "data"


class Detail(str, Enum):
    brief = "brief"
    default = "default"
    full = "full"


class Rounding(str, Enum):
    exact = "exact"
    carry = "carry"


class Reveal(str, Enum):
    guided = "guided"
    none = "none"


def bundled_names(incomplete: str) -> list[str]:
    """Shell completion of a scenario argument: the bundled names (a path falls back to the shell's files)."""
    from nnworked import bundled

    return bundled.complete(incomplete)


def finite(above: bool):  # noqa: ANN202
    """The check of a number option that must be finite and above 0 (or at least 0). A range alone lets nan
    through: every comparison with nan is false."""
    def check(value: Optional[float]) -> Optional[float]:
        if value is not None and (not math.isfinite(value) or value < 0 or (above and value == 0)):
            raise typer.BadParameter(f"expected a finite number {'above' if above else 'at least'} 0, given {value:g}")
        return value
    return check


def sheet_format(value: str) -> str:
    from nnworked.render import FORMATS  # the formats a sheet can be written in, checked before any work

    writable = [f.name for f in FORMATS.values() if f.exercises]
    if value not in writable:
        raise typer.BadParameter(f"'{value}' is not one of {', '.join(map(repr, writable))}")
    return value


class Style(str, Enum):
    integers = "integers"
    one_decimal = "one-decimal"
    two_decimals = "two-decimals"
