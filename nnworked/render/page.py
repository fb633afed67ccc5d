"""What every writer of one pass shares: the precision, the notation of this pass, the reader's settings
and the loss; and the helpers that print a whole array. Writers are composed around a Page (they hold
one), never inherited from one another, and a Page is immutable: a later step's writer gets its own."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nnworked.engine.losses import LossSpec
from nnworked.engine.rounding import Precision
from nnworked.expr import Expr
from nnworked.quantities import Table
from nnworked.render.blocks import Block, Math, Para
from nnworked.render.lines import pick
from nnworked.render.notation import Notation
from nnworked.render.numbers import Labels, fmt, matrix_lines, vector
from nnworked.render.settings import Settings


class Page(NamedTuple):
    p: Precision
    n: Notation
    s: Settings
    table: Table  # the worked expression of every value a line prints comes from here
    spec: LossSpec | None = None

    def expression(self, kind: str, k: int, i: int, e: int = 0) -> Expr:
        """The worked expression of a per-example value of this pass (z, a, dz, da), from the table."""
        return self.table.expression(self.n.key(kind, k, i, e))

    def weight_expression(self, kind: str, k: int, i: int, j: int | None = None) -> Expr:
        """The worked expression of a parameter's gradient of this pass (dW, db), from the table."""
        return self.table.expression(self.n.wkey(kind, k, i, j))

    def at(self, **notation: Any) -> "Page":
        """The same page for another pass: at(step=2), at(step=FINAL, steps=3)."""
        return self._replace(n=self.n._replace(**notation))

    def array(self, symbol: str, values: np.ndarray, labels: Labels | None = None) -> list[str]:
        """`z₁ = [0.21, 0.47]` for one example; a matrix (rows are examples) for a batch.
        labels(example, unit) names each value, so an exercise sheet can blank it."""
        if values.shape[0] == 1:
            row = values[0]
            name = (lambda i: labels(0, i)) if labels else None
            shown = fmt(row[0], self.p, label=name(0) if name else "") if row.size == 1 else \
                vector(row, self.p, limit=self.s.elements, labels=name)
            return [f"{symbol} = {shown}"]
        lines = matrix_lines(values, self.p, limit=self.s.elements, labels=labels)
        pad = " " * (len(symbol) + 3)
        return [f"{symbol} = {lines[0]}", *(pad + l for l in lines[1:]), "(one row per example)"]

    def result(self, symbol: str, values: np.ndarray, labels: Labels | None = None) -> list[Block]:
        lines = self.array(symbol, values, labels)
        if len(lines) == 1:
            return [Para(f"**Result:** `{lines[0]}`")]
        return [Para("**Result:**"), Math(lines)]

    def elements(self, rows: int, cols: int) -> tuple[list[tuple[int, int]], int]:
        """The (example, unit) pairs worked element by element, and how many are elided."""
        examples, _ = pick(rows, self.s.elements)
        units, _ = pick(cols, self.s.elements)
        shown = [(n, i) for n in examples for i in units]
        return shown, rows * cols - len(shown)


class Numbering:
    """Step labels within a section (1.1, 1.2, …): a printer takes the next one when it opens a step, so a
    record that continues the step before (the activation derivative after Wᵀδ) takes none."""

    def __init__(self, section: int):
        self.section, self.count = section, 0

    def next(self) -> str:
        self.count += 1
        return f"{self.section}.{self.count}"


def dispatch(printer: object, record: object, *args: Any, prefix: str = "_print_") -> Any:
    """`printer._print_<Type>(record, *args)`, found through the record type's MRO as sympy's printers
    find theirs. A record type the printer lacks is an error at once, never a silent skip: a new operation
    must be given to every printer that meets it."""
    for cls in type(record).__mro__:
        method = getattr(printer, f"{prefix}{cls.__name__}", None)
        if method is not None:
            return method(record, *args)
    raise TypeError(f"{type(printer).__name__} has no way to print a {type(record).__name__} record")
