"""nnworked: worked solutions for small neural networks, every number shown.

    import nnworked
    w = nnworked.run("spam", steps=3)      # a bundled name, a path, YAML text or a dict
    print(w.render("markdown"))            # exactly what `nnworked run spam --steps 3 --format markdown` prints
    w.data                                 # the `--format json` object

The names are imported when first used, so `import nnworked` (and `nnworked --help`) stays fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": "nnworked.api", "solve": "nnworked.api", "run": "nnworked.api", "render": "nnworked.api",
    "Walkthrough": "nnworked.api", "grade": "nnworked.teaching", "Marks": "nnworked.teaching",
    "grade_class": "nnworked.teaching", "ClassMarks": "nnworked.classmarks", "generate_roster": "nnworked.teaching",
    "exercise": "nnworked.teaching", "Exercise": "nnworked.teaching", "verify": "nnworked.api",
    "Verification": "nnworked.api", "generate": "nnworked.teaching", "Generated": "nnworked.teaching",
    "from_torch": "nnworked.api", "check": "nnworked.teaching", "Checked": "nnworked.checking",
    "ScenarioError": "nnworked.errors", "NnworkedError": "nnworked.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'nnworked' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext nnworked` in Jupyter or Colab: the %%nnworked cell magic, whose cell is a scenario's YAML
    and whose line takes the options of `nnworked run` (nnworked.notebook)."""
    from nnworked.notebook import load_ipython_extension as load

    load(ipython)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
