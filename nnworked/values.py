"""The checks of single values in a YAML document, each failure collected as an Issue at its place: a
number, an integer in a range, a choice from a list, a list of numbers, a matrix. nnworked.validation
builds a scenario's checks on these."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnworked.errors import Issue
from nnworked.yamlsource import Document


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the text '{value}'" if len(value) < 40 else "a piece of text"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def suggest(word: str, choices: list[str]) -> str:
    import difflib  # only a file with a mistake in it needs suggestions

    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


class ValueChecker:
    """Checks values of one document, collecting issues instead of stopping at the first."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.issues: list[Issue] = []
        self.output_shape: tuple[int, ...] | None = None  # one example's shape after the last layer

    def add(self, path: tuple, message: str, expected: str = "", given: str = "", hint: str = "",
            at_key: bool = False) -> None:
        self.issues.append(self.doc.issue(path, message, expected, given, hint, at_key))

    # -- primitive checks --

    def keys(self, mapping: dict, allowed: list[str], path: tuple, what: str) -> None:
        for key in mapping:
            if key not in allowed:
                hint = suggest(key, allowed) or f"{what} takes: {', '.join(allowed)}"
                self.add(path + (key,), f"unknown key '{key}'", f"one of {', '.join(allowed)}", f"'{key}'",
                         hint, at_key=True)

    def number(self, value: Any, path: tuple, what: str, positive: bool = False) -> float | None:
        if not is_number(value) or not math.isfinite(value):
            self.add(path, f"{what} must be a number", "a finite number", describe(value),
                     "write numbers plainly, such as 0.1 or 1e-7" if isinstance(value, str) else "")
            return None
        if positive and value <= 0:
            self.add(path, f"{what} must be positive", "a number above 0", repr(value))
            return None
        return float(value)

    def integer(self, value: Any, path: tuple, what: str, low: int, high: int) -> int | None:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.add(path, f"{what} must be a whole number from {low} to {high}", f"{low} to {high}",
                     describe(value))
            return None
        return value

    def choice(self, value: Any, choices: list[str], path: tuple, what: str) -> str | None:
        if not isinstance(value, str) or value not in choices:
            hint = suggest(value, choices) if isinstance(value, str) else ""
            self.add(path, f"unknown {what}", f"one of {', '.join(choices)}", describe(value),
                     hint or f"choose from: {', '.join(choices)}")
            return None
        return value

    def matrix(self, value: Any, path: tuple, what: str, flat_is_row: bool = True) -> np.ndarray | None:
        """A rectangular list of lists of finite numbers; a flat list is one row."""
        if isinstance(value, list) and value and not any(isinstance(v, list) for v in value) and flat_is_row:
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(r, list) and r for r in value):
            self.add(path, f"{what} must be a list of rows of numbers", "for example [[0.1, 0.2], [0.3, 0.4]]",
                     describe(value))
            return None
        nested = next(((i, j) for i, row in enumerate(value) for j, v in enumerate(row) if isinstance(v, list)), None)
        if nested is not None:  # numpy would make a third dimension of it, which no layer takes
            i, j = nested
            self.add(path + nested, f"each row of {what} must hold numbers, not lists", "a number",
                     f"{describe(value[i][j])} in row {i + 1}",
                     "one pair of brackets per row: [[1], [0]], not [[[1]], [[0]]]")
            return None
        widths = {len(r) for r in value}
        if len(widths) > 1:
            short = min(range(len(value)), key=lambda i: len(value[i]))
            self.add(path + (short,), f"the rows of {what} have different lengths",
                     f"{len(value[0])} numbers in every row", f"{len(value[short])} in row {short + 1}",
                     "every row needs one number per column")
            return None
        return self._numbers(value, path, what)

    def tensor(self, value: Any, path: tuple, what: str, rank: int, example: str) -> np.ndarray | None:
        """A rectangular nested list of finite numbers, `rank` levels deep (`example` says what each level
        is, for the message: "[out channel][in channel][row][col]")."""
        def check(node: Any, where: tuple, depth: int) -> tuple[int, ...] | None:
            if depth == rank:
                return ()
            if not isinstance(node, list) or not node:
                self.add(path + where, f"{what} must be {rank} levels of lists: {example}",
                         "a list" if depth < rank else "a number", describe(node))
                return None
            shapes = set()
            for i, item in enumerate(node):
                if depth + 1 < rank and not isinstance(item, list):
                    self.add(path + where + (i,), f"{what} must be {rank} levels of lists: {example}", "a list",
                             describe(item))
                    return None
                if depth + 1 == rank and isinstance(item, list):
                    self.add(path + where + (i,), f"{what} has one level of lists too many: {example}",
                             "a number", describe(item))
                    return None
                inner = check(item, where + (i,), depth + 1)
                if inner is None:
                    return None
                shapes.add(inner)
            if len(shapes) > 1:
                self.add(path + where, f"the lists of {what} have different lengths", "the same size in every one",
                         ", ".join(sorted("×".join(map(str, sh)) or "1" for sh in shapes)))
                return None
            return (len(node), *shapes.pop())

        if check(value, (), 0) is None:
            return None
        flat = np.array(value, dtype=object).reshape(-1).tolist()
        bad = [(i, v) for i, v in enumerate(flat) if not is_number(v) or not math.isfinite(v)]
        for _, v in bad[:5]:
            self.add(path, f"every entry of {what} must be a number", "a finite number", describe(v))
        return None if bad else np.array(value, dtype=float)

    def vector(self, value: Any, path: tuple, what: str) -> np.ndarray | None:
        if is_number(value):
            value = [value]
        if not isinstance(value, list) or not value or any(isinstance(v, list) for v in value):
            self.add(path, f"{what} must be a list of numbers", "for example [0.1, 0.2]", describe(value))
            return None
        return self._numbers(value, path, what)

    def sized_vector(self, value: Any, path: tuple, what: str, size: int, fits: str, each: str,
                     hint: str = "") -> np.ndarray | None:
        """A list of `size` numbers, one `each` ("one per neuron"); another length is reported as `what` that
        does not fit `fits` ("its weights")."""
        vector = self.vector(value, path, what)
        if vector is not None and vector.shape[0] != size:
            self.add(path, f"{what} does not fit {fits}", f"{size} number{'s' if size != 1 else ''} ({each})",
                     f"{vector.shape[0]}", hint)
            return None
        return vector

    def _numbers(self, value: list, path: tuple, what: str) -> np.ndarray | None:
        rows = value if isinstance(value[0], list) else [value]
        bad = [(i, j, v) for i, row in enumerate(rows) for j, v in enumerate(row)
               if not is_number(v) or not math.isfinite(v)] if not self._all_numbers(value) else []
        for i, j, v in bad[:5]:
            where = path + ((i, j) if isinstance(value[0], list) else (j,))
            self.add(where, f"every entry of {what} must be a number", "a finite number", describe(v))
        if bad:
            return None
        return np.array(value, dtype=float)

    @staticmethod
    def _all_numbers(value: list) -> bool:
        # the common case, fast: numpy accepts it and there is no boolean or non-finite value in it
        try:
            array = np.array(value, dtype=float)
        except (TypeError, ValueError):
            return False
        flat = value if not isinstance(value[0], list) else [v for row in value for v in row]
        return bool(np.all(np.isfinite(array))) and not any(type(v) is bool for v in flat)

    # -- the scenario --
