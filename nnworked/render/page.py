"""What every writer of one pass shares: the precision, the notation of this pass, the reader's settings
and the loss; and the helpers that print a whole array. Writers are composed around a Page (they hold
one), never inherited from one another, and a Page is immutable: a later step's writer gets its own."""

from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple

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
        """`z₁ = [0.21, 0.47]` for one example; a matrix (rows are examples) for a batch; images (examples,
        channels, rows, cols) as one matrix per example and channel. labels(example, unit) names each value
        (unit: (channel, row, col) for an image), so an exercise sheet can blank it."""
        if values.ndim == 3:
            return self.sequences(symbol, values, labels)
        if values.ndim > 2:
            return self.images(symbol, values, labels)
        if values.shape[0] == 1:
            row = values[0]
            name = (lambda i: labels(0, i)) if labels else None
            shown = fmt(row[0], self.p, label=name(0) if name else "") if row.size == 1 else \
                vector(row, self.p, limit=self.s.elements, labels=name)
            return [f"{symbol} = {shown}"]
        lines = matrix_lines(values, self.p, limit=self.s.elements, labels=labels)
        pad = " " * (len(symbol) + 3)
        return [f"{symbol} = {lines[0]}", *(pad + l for l in lines[1:]), "(one row per example)"]

    def images(self, symbol: str, values: np.ndarray, labels: Labels | None = None, given: bool = False) -> list[str]:
        """Each example's channels, one matrix each: z₁[0] = | … | for channel 0 (of example ⁽²⁾ in a batch)."""
        examples, hidden_e = pick(values.shape[0], self.s.elements)
        channels, hidden_c = pick(values.shape[1], self.s.elements)
        lines: list[str] = []
        for e in examples:
            for c in channels:
                cell = (lambda i, j, e=e, c=c: labels(e, (c, i, j))) if labels else None
                grid = matrix_lines(values[e, c], self.p, given, self.s.elements, cell)
                head = f"{symbol}{self.n.example(e)}[{c}] = "
                lines += [head + grid[0], *(" " * len(head) + g for g in grid[1:]), ""]
            if hidden_c:
                lines += [f"… {hidden_c:,} more channels", ""]
        if hidden_e:
            lines += [f"… {hidden_e:,} more examples", ""]
        return lines[:-1]

    def sequences(self, symbol: str, values: np.ndarray, labels: Labels | None = None, given: bool = False) -> list[str]:
        """Each example's sequence as one matrix, a row per position: h₁⁽²⁾ = | … | (example ⁽²⁾ in a batch).
        labels(example, (position, unit)) names each value."""
        examples, hidden = pick(values.shape[0], self.s.elements)
        lines: list[str] = []
        for e in examples:
            cell = (lambda t, i, e=e: labels(e, (t, i))) if labels else None
            grid = matrix_lines(values[e], self.p, given, self.s.elements, cell)
            head = f"{symbol}{self.n.example(e)} = "
            lines += [head + grid[0], *(" " * len(head) + g for g in grid[1:])]
        if hidden:
            lines.append(f"… {hidden:,} more examples")
        return lines + ["(one row per position)"]

    def result(self, symbol: str, values: np.ndarray, labels: Labels | None = None) -> list[Block]:
        lines = self.array(symbol, values, labels)
        if len(lines) == 1:
            return [Para(f"**Result:** `{lines[0]}`")]
        return [Para("**Result:**"), Math(lines)]

    def elements(self, *shape: int) -> tuple[list[tuple[int, Any]], int]:
        """The (example, unit) pairs worked element by element, and how many are elided; a unit is an
        index for a vector per example, and (channel, row, col) for an image."""
        examples, _ = pick(shape[0], self.s.elements)
        count = int(np.prod(shape[1:]))
        flat, _ = pick(count, self.s.elements)
        units = flat if len(shape) == 2 else [tuple(int(i) for i in np.unravel_index(u, shape[1:])) for u in flat]
        shown = [(n, i) for n in examples for i in units]
        return shown, shape[0] * count - len(shown)


def matrix_block(symbol: str, values: np.ndarray, p, limit: int, given: bool = False,  # noqa: ANN001
            labels: Callable[[int, int], str] | None = None) -> list[str]:
    """A matrix with its shape; a vector or a single row as [a, b], as the seeds write them.
    labels(row, column) names a cell (a vector's elements count as rows, a single row's as columns)."""
    if values.ndim > 2:  # kernels: one matrix per leading index, K₁[o,c] = | … |
        lines: list[str] = []
        leading = values.shape[:-2]
        firsts = [pick(size, limit)[0] for size in leading]
        for index in itertools.product(*firsts):
            cell = (lambda r, c, index=index: labels(*index, r, c)) if labels else None
            grid = matrix_lines(values[index], p, given=given, limit=limit, labels=cell)
            head = f"{symbol}[{','.join(map(str, index))}] = "
            lines += [head + grid[0], *(" " * len(head) + g for g in grid[1:]), ""]
        hidden = int(np.prod(leading)) - int(np.prod([len(f) for f in firsts]))
        return lines[:-1] + ([f"… {hidden:,} more {'×'.join(map(str, values.shape[-2:]))} matrices"] if hidden else [])
    if values.ndim == 1 or values.shape[0] == 1:
        if labels is None:
            flat = None
        elif values.ndim == 1:
            flat = lambda i: labels(i, 0)  # noqa: E731
        else:
            flat = lambda j: labels(0, j)  # noqa: E731
        return [f"{symbol} = {vector(values.ravel(), p, given=given, limit=limit, labels=flat)}"]
    rows = matrix_lines(values, p, given=given, limit=limit, labels=labels)
    pad = " " * (len(symbol) + 3)
    shape = f"    ({values.shape[0]}×{values.shape[1]})"
    return [f"{symbol} = {rows[0]}" + (shape if len(rows) == 1 else ""), *(pad + r for r in rows[1:-1]),
            *([pad + rows[-1] + shape] if len(rows) > 1 else [])]


def at(values: np.ndarray, example: int, unit: int | tuple[int, ...]) -> float:
    """One element of a per-example array: unit i of a vector, (channel, row, col) of an image."""
    return values[(example, *unit)] if isinstance(unit, tuple) else values[example, unit]


class Numbering:
    """Step labels within a section (1.1, 1.2, …): a printer takes the next one when it opens a step, so a
    record that continues the step before (the activation derivative after Wᵀδ) takes none."""

    def __init__(self, section: int):
        self.section, self.count = section, 0

    def next(self) -> str:
        self.count += 1
        return f"{self.section}.{self.count}"


def dispatch(printers: object, record: object, *args: Any, prefix: str = "_print_") -> Any:
    """`printer._print_<Type>(record, *args)` of the first of `printers` (one printer or a tuple, each
    holding the methods of a family of records) that has one, found through the record type's MRO as
    sympy's printers find theirs. A record type none has is an error at once, never a silent skip: a new
    operation must be given to every printer that meets it."""
    every = printers if isinstance(printers, tuple) else (printers,)
    for cls in type(record).__mro__:
        for printer in every:
            method = getattr(printer, f"{prefix}{cls.__name__}", None)
            if method is not None:
                return method(record, *args)
    raise TypeError(f"{type(every[0]).__name__} has no way to print a {type(record).__name__} record")
