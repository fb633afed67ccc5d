"""Errors meant for people: what is wrong, where, what was expected, what was given, how to fix it."""

from __future__ import annotations

from typing import NamedTuple


class NnworkedError(Exception):
    """A problem the user can fix; the CLI prints it and exits 1, never with a traceback."""


class OptionError(NnworkedError):
    """An option names something the scenario does not have (`--blanks z9`): a command-line mistake, exit 2."""

    def __init__(self, option: str, message: str):
        self.option, self.message = option, message
        super().__init__(f"{option}: {message}")


class Issue(NamedTuple):
    """One problem in a scenario file, addressed by file, line and column (both 1-based)."""

    file: str
    line: int
    col: int
    path: str  # where in the YAML, e.g. "layers[0].weights"
    message: str
    expected: str = ""
    given: str = ""
    hint: str = ""

    @property
    def column(self) -> int:
        return self.col

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.col}: {self.path + ': ' if self.path else ''}{self.message}"
        detail = ", ".join(p for p in (f"expected {self.expected}" if self.expected else "",
                                       f"given {self.given}" if self.given else "") if p)
        if detail:
            text += f" — {detail}"
        if self.hint:
            text += f"\n    hint: {self.hint}"
        return text


class ScenarioError(NnworkedError):
    """Every problem found in a scenario file, reported together."""

    def __init__(self, issues: list[Issue]):
        self.issues = sorted(issues, key=lambda i: (i.line, i.col))
        count = len(self.issues)
        head = f"{count} problem{'s' if count != 1 else ''} found:"
        super().__init__("\n".join([head, *map(str, self.issues)]))

    @property
    def problems(self) -> list[Issue]:
        """Each problem with its file, line, column, path, message, expected, given and hint."""
        return self.issues


class NumericalError(NnworkedError):
    """A value overflowed or became undefined; we say where instead of printing nan or inf."""
