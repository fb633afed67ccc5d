"""What the spreadsheet's layers beyond dense ones share (spreadsheet_images.py, spreadsheet_vectors.py): a
block of cells of any shape, a sum of products, and each operation rounded as `rounding: carry` rounds it.

A vector per example is a column, as the dense layers lay it out (a Matrix, [unit][example]); an image is
a grid per example and channel (a numpy array of Places in the trace's own shape, (example, channel, row,
col)): the channels one below the other, the examples side by side. A kernel stands left of the output
channel it makes, its input channels side by side and its bias after them, as [W | b] stands left of z.
"""

from __future__ import annotations

from typing import Any, Callable, Union

import numpy as np

from nnworked.quantities import cell as quantity_cell, parse as quantity_parse
from nnworked.render.numbers import subscript
from nnworked.render.spreadsheet_cells import Cell, Grid, Matrix, Place, column_letter

Block = Union[Matrix, np.ndarray]  # a Matrix ([unit][example] or [row][col]) or an array of Places
Fill = Callable[[tuple[int, ...], int, int, float], Place]  # (index in the trace's array, row, col, value)
GREEK = {"gamma": "γ", "beta": "β"}


def param_width(layer: Any) -> int:
    """The columns a layer's parameters (and what stands beside them) take left of the examples."""
    if hasattr(layer, "weights"):  # [W | b]
        return layer.weights.shape[1] + 1
    if hasattr(layer, "kernels"):  # each input channel's kernel side by side, then the bias
        _, channels, _, cols = layer.kernels.shape
        return channels * (cols + 1) + 1
    if hasattr(layer, "gamma"):  # μ, σ², σ, then γ and β
        return 5
    if hasattr(layer, "query_weights"):  # W_Q, W_K, W_V (inputs wide), W_O (the heads' width)
        return max(layer.query_weights.shape[1], 0 if layer.output_weights is None else layer.output_weights.shape[1])
    if hasattr(layer, "recurrent_weights"):  # [W_x | W_h | b]
        return layer.recurrent_weights.shape[-1] + layer.input_weights.shape[-1] + 1
    return 2  # dropout's rate and 1 / (1 − rate)


def unit_at(block: Block, index: tuple[int, ...]) -> Place:
    """The cell of a per-example value, by its index in the trace's array (the example first)."""
    if isinstance(block, np.ndarray):
        return block[index]
    return block[index[1]][index[0]]


def param_at(block: Block, index: tuple[int, ...]) -> Place:
    """The cell of a parameter's value (W[i, j], b[i], K[o, c, p, q]) by its index."""
    if isinstance(block, np.ndarray):
        return block[index]
    return block[index[0]][index[1] if len(index) > 1 else 0]


def as_block(places: np.ndarray) -> Block:
    """A parameter's cells as the dense layout keeps them: W as [i][j], b as [i][0]; a kernel as its array."""
    if places.ndim == 2:
        return [list(row) for row in places]
    if places.ndim == 1:
        return [[place] for place in places]
    return places


def symbol(name: str) -> str:
    """W1 → W₁, K1 → K₁, gamma2 → γ₂."""
    parsed = quantity_parse(name)
    return GREEK.get(parsed.kind, parsed.kind) + subscript(str(parsed.layer))


class TensorCells:
    """Blocks of cells for Layout (whose cells, columns and headings these methods use)."""

    def r(self, text: str) -> str:
        """`text` rounded under rounding: carry, as the engine rounds that operation; as it is otherwise."""
        return f"ROUND({text},{self.p.places})" if self.p.carry else text

    def ones_below(self, k: int) -> bool:
        """Whether the layer after output k is a dense one with a bias: a row of 1s goes below a_k."""
        from nnworked.rules.layers import LAYERS

        layers = self.s.layers
        return k < len(layers) and LAYERS[layers[k].type].neurons and layers[k].bias is not None

    def key_of(self, kind: str, k: int, index: tuple[int, ...], step: int | str) -> str:
        if len(index) == 2:
            return self.unit_key(kind, k, index[1], index[0], step)
        return quantity_cell(kind, k, tuple(index[1:]), index[0], self.examples, step)

    def param_symbol(self, name: str) -> str:
        return symbol(name)

    # -- where blocks go --

    def image_block(self, grid: Grid, row: int, values: np.ndarray, fill: Fill, band: int = 0,
                    area: int | None = None) -> tuple[np.ndarray, int]:
        """values[e, c, y, x] at rows from `row` (each channel a band of at least `band` rows, a row apart),
        the examples side by side from column `area` (the examples' first column); the row after it."""
        examples, channels, height, width = values.shape
        band, area = max(band, height), self.example_col if area is None else area
        out = np.empty(values.shape, dtype=object)
        for index in np.ndindex(*values.shape):
            e, c, y, x = index
            out[index] = fill(index, row + c * (band + 1) + y, self.col(area, e * (width + 1) + x), float(values[index]))
        if channels > 1:
            for c in range(channels):
                self.text(grid, row + c * (band + 1), 0, f"channel {c + 1}")
        if examples > 1 and row > 0:  # each example's grid named on the heading's row
            for e in range(examples):
                self.text(grid, row - 1, self.col(area, e * (width + 1)), f"example {e + 1}")
        return out, row + channels * (band + 1) - 1

    def block(self, grid: Grid, row: int, values: np.ndarray, fill: Fill, band: int = 0) -> tuple[Block, int]:
        """A per-example value of any shape: an image as grids, a vector as a column per example; the row
        after it."""
        if values.ndim == 4:
            return self.image_block(grid, row, values, fill, band)
        places = self.matrix(grid, row, self.example_col, values.T, lambda i, e, r, c, v: fill((e, i), r, c, v))
        return places, row + values.shape[1]

    def param_places(self, grid: Grid, row: int, shape: tuple[int, ...], band: int = 0) -> np.ndarray:
        """Where a parameter's values go, left of the examples: a vector as a column, a matrix as rows, a
        kernel as kernel_spot places it."""
        out = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            if len(shape) == 4:
                r, c = self.kernel_spot(row, index, shape, band)
            else:
                r, c = row + index[0], self.col(self.param_col, index[1] if len(shape) > 1 else 0)
            out[index] = Place(grid.title, r, c)
        return out

    def kernel_spot(self, row: int, index: tuple[int, ...], shape: tuple[int, ...], band: int = 0) -> tuple[int, int]:
        """K[o, c, p, q]: kernel o in the band of output channel o, input channel c's grid c-th from the left."""
        o, c, p, q = index
        rows, cols = shape[2:]
        return row + o * (max(band, rows) + 1) + p, self.col(self.param_col, c * (cols + 1) + q)

    def param_height(self, shape: tuple[int, ...], band: int = 0) -> int:
        return shape[0] * (max(band, shape[2]) + 1) - 1 if len(shape) == 4 else shape[0]

    def zero(self, grid: Grid, row: int, col: int) -> Place:
        """A padding zero: a given 0 that a product leaves out."""
        place = grid.put(row, col, Cell(0.0, style="given"))
        self.zeros.add(place)
        return place

    # -- formulas --

    def dot(self, read: Callable[[Place], str], pairs: list[tuple[np.ndarray, np.ndarray]]) -> str:
        """Σ left × right over each pair of equal-shaped grids of cells: SUMPRODUCT of two ranges where
        both are rectangles of adjacent cells and the sheet has no blanks; otherwise each product written
        out (so that a cell waits for a blank it reads; a padding zero is left out)."""
        if not self.keys and all(_rectangle(left) and _rectangle(right) for left, right in pairs):
            def span(cells: np.ndarray) -> str:
                last = cells[-1, -1]
                return f"{read(cells[0, 0])}:{column_letter(last.col)}{last.row + 1}"
            parts = [f"SUMPRODUCT(ROUND({span(left)}*{span(right)},{self.p.places}))" if self.p.carry else
                     f"SUMPRODUCT({span(left)},{span(right)})" for left, right in pairs]
            return "+".join(parts)
        terms = [self.times(read(left), read(right)) for lefts, rights in pairs
                 for left, right in zip(lefts.ravel(), rights.ravel()) if left not in self.zeros and right not in self.zeros]
        return "+".join(terms) or "0"

    def rp(self, text: str) -> str:
        """`text` rounded under carry, in parentheses otherwise: an operand of a product or a quotient."""
        return self.r(text) if self.p.carry else f"({text})"

    def total(self, cells: list[str]) -> str:
        """(x₁ + … + xₘ), rounded under carry where there are two or more terms (as the engine's sum)."""
        return self.rp("+".join(cells)) if len(cells) > 1 else cells[0]


def _rectangle(cells: np.ndarray) -> bool:
    """Whether a grid of cells is a range: adjacent rows and columns, on one sheet."""
    first = cells[0, 0]
    return all(place.sheet == first.sheet and place.row == first.row + i and place.col == first.col + j
               for (i, j), place in np.ndenumerate(cells))
