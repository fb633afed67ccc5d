"""The scenarios that ship with nnworked, found by name (`spam`, `house_price`, `ai-by-hand/…`).

Listing reads only each file's title line, so `nnworked list` stays fast and never imports numpy.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from nnworked.errors import NnworkedError



def _root() -> Path:
    """Where the scenarios are: inside the installed package, or the repository's top-level folder.

    A wheel installs the folder `scenarios/` as the package `nnworked.scenarios` (pyproject.toml maps it);
    a source checkout, editable or not installed at all, has it beside the package. Looking at two paths
    is cheaper than asking the import system, and `nnworked list` must start fast.
    """
    installed = Path(__file__).parent / "scenarios"
    return installed if installed.is_dir() else Path(__file__).parent.parent / "scenarios"


ROOT = _root()
SCHEMA = ROOT / "scenario.schema.json"
_TITLE = re.compile(r"^title:\s*(.+?)\s*$", re.MULTILINE)


def names() -> list[str]:
    return sorted(p.relative_to(ROOT).with_suffix("").as_posix() for p in ROOT.rglob("*.yaml"))


def title(name: str) -> str:
    match = _TITLE.search((ROOT / f"{name}.yaml").read_text(encoding="utf-8"))
    return match.group(1).strip("\"'") if match else name


def resolve(scenario: str) -> str:
    """A path to a YAML file: the argument itself if it is a file, else the bundled scenario of that name."""
    if os.path.isfile(scenario):
        return scenario
    bundled = ROOT / f"{scenario}.yaml"
    if bundled.is_file():
        return str(bundled)
    if os.path.exists(scenario):
        raise NnworkedError(f"{scenario}: not a file")
    raise NnworkedError(f"{scenario}: no such file, and no bundled scenario of that name.{_closest(scenario)}")


def path(name: str) -> Path:
    """The file of the bundled scenario `name`, and only a bundled one (`nnworked show` prints it)."""
    if name in names():
        return ROOT / f"{name}.yaml"
    raise NnworkedError(f"{name}: no bundled scenario of that name.{_closest(name)}")


def complete(incomplete: str) -> list[str]:
    """The bundled names that start with what has been typed, for shell completion."""
    return [name for name in names() if name.startswith(incomplete)]


def _closest(name: str) -> str:
    import difflib  # only a mistyped name needs it

    close = difflib.get_close_matches(name, names(), n=1)
    return f" Did you mean '{close[0]}'?" if close else " `nnworked list` shows the bundled scenarios."
