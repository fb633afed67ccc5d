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


def grade_inputs(key: Optional[str], answers: Optional[str], manifest: Optional[str], blanks: Optional[str],
                 output: Optional[str], gradebook: Optional[str], feedback: Optional[str]) -> tuple[Optional[str],
                                                                                                  list[str]]:
    """The checks of `grade`'s arguments: KEY ANSWERS, or a manifest (`--manifest`, or in KEY's place) and
    ANSWERS alone; where it writes. Returns the manifest (or None) and the other arguments given."""
    import os

    from nnworked import manifest as manifests

    given = [a for a in (key, answers) if a is not None]
    if manifest is None and len(given) == 2 and manifests.looks_like(given[0]):
        manifest, given = given[0], given[1:]
    if manifest is not None:
        if len(given) != 1:
            raise typer.BadParameter("with a manifest, give the answers alone: nnworked grade --manifest "
                                     "manifest.csv ANSWERS", param_hint="'--manifest'")
        if blanks is not None:
            raise typer.BadParameter("each variant of a manifest records its own blanks", param_hint="'--blanks'")
    elif len(given) != 2:
        raise typer.BadParameter("give the KEY and the ANSWERS (or --manifest manifest.csv ANSWERS)",
                                 param_hint="'KEY ANSWERS'")
    if output is not None and (gradebook is not None or feedback is not None):
        raise typer.BadParameter("--output writes the gradebook and the feedback together: leave out --gradebook "
                                 "and --feedback, or give them alone", param_hint="'--output'")
    for option, folder in (("--output", output), ("--feedback", feedback)):
        if folder is not None and os.path.exists(folder) and not os.path.isdir(folder):
            raise typer.BadParameter(f"'{folder}' is a file: give a folder (it is made if it does not exist)",
                                     param_hint=f"'{option}'")
    if gradebook is not None and not gradebook.lower().endswith((".csv", ".json")):
        raise typer.BadParameter(f"'{gradebook}': name a .csv or a .json file", param_hint="'--gradebook'")
    return manifest, given


def roster_inputs(roster: Optional[str], output_dir: Optional[str], combined: bool, report: bool) -> None:
    """The checks of `generate --roster`: it writes personal sheets and a manifest, so it needs a folder."""
    if roster is None:
        return
    if output_dir is None:
        raise typer.BadParameter("it needs --output DIR (each student's sheet and the manifest are written there)",
                                 param_hint="'--roster'")
    if combined or report:
        raise typer.BadParameter("a roster gives each student their own sheet: leave out --combined and --report",
                                 param_hint="'--roster'")
