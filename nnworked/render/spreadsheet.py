"""The AI by Hand layout as spreadsheet cells, for `--format xlsx` (nnworked/render/xlsx.py writes them).

Each example is a column; [W | b] stands to the left of the z it makes, beside [x ; 1] above it, and each
later block follows below: a, y, the loss, ∂L/∂ŷ, ∂L/∂z with ∂L/∂[W | b] beside it, ∂L/∂a, the optimizer's
state and the parameters after the update. A number the scenario gives is a plain cell; every other cell is
a live formula over the cells it is computed from (an activation's and a loss's formula come from its rule,
an update from the optimizer's one `update`, written against `FormulaArithmetic`), stored with the trace's
value, never one recomputed here. A later step's sheet reads the parameters its previous step left.

On an exercise sheet a blank is an empty cell with a status cell beside it (NOT DONE, CORRECT or
INCORRECT by grading's rule for a typed number, by a formula), and a cell computed from a blank waits for
it (it shows nothing until the cells it reads are filled) and then computes from the student's own value, so a
mistake carries forward as it does in `nnworked grade`.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from nnworked.errors import NnworkedError
from nnworked.grading import right_answers
from nnworked.quantities import FINAL, name as quantity_name
from nnworked.render.notation import Notation
from nnworked.render.numbers import spreadsheet_number
from nnworked.render.spreadsheet_backward import Backward
from nnworked.render.spreadsheet_cells import (CORRECT, INCORRECT, NOT_DONE, Cell, Grid, Matrix, Place, Rounding,
                                               mentions, outer, reference)
from nnworked.render.spreadsheet_attention import AttentionCells
from nnworked.render.spreadsheet_images import ImageCells
from nnworked.render.spreadsheet_lstm import LSTMCells
from nnworked.render.spreadsheet_sequences import SequenceCells, flat_step
from nnworked.render.spreadsheet_tensors import TensorCells, param_width
from nnworked.render.spreadsheet_vectors import VectorCells
from nnworked.rules.activations import ACTIVATIONS
from nnworked.text import printable
from nnworked.trace import Activate, Linear, Trace, TrainingStep

FORMULA_LIMIT = 8192 - 200  # Excel's limit on a formula's length, less room for a blank's guard
# the layer types whose records the spreadsheet has cells for (a type not here is refused by name)
LAID_OUT = ("dense", "conv2d", "max_pool", "avg_pool", "flatten", "dropout", "batch_norm", "layer_norm", "residual",
            "rnn", "self_attention", "lstm")

class Layout(ImageCells, VectorCells, TensorCells, SequenceCells, AttentionCells, LSTMCells):
    """The workbook's sheets for one trace: a walkthrough, an exercise sheet or its key. The layers beyond
    dense ones are written by the mixins (spreadsheet_images.py, spreadsheet_vectors.py)."""

    def __init__(self, trace: Trace, keys: frozenset[str] = frozenset(), answers: bool = False,
                 status: bool = True, prefix: str = ""):
        self.trace, self.s, self.p = trace, trace.scenario, trace.precision
        self.rounding = Rounding(self.p.places if self.p.carry else None)  # how rules' formulas round each stage
        self.keys, self.answers, self.status = keys, answers, status and bool(keys)
        self.prefix = prefix  # sheet names' prefix, so that a sheet and its key share one workbook
        matmul = trace.matmul
        examples = self.s.inputs.shape[0] if matmul is None else matmul.b.shape[1]
        self.sequences = self.sequence_names(trace)  # the per-example values that are sequences (a token a column)
        examples = self.sequence_columns(trace, examples)
        self.examples = examples
        self.n = Notation(len(self.s.layers), examples)
        self.stride = 2 if self.status else 1  # a status column beside every column of numbers
        widest = max((param_width(layer) for layer in self.s.layers),
                     default=0 if matmul is None else matmul.a.shape[1])
        self.param_col = 1
        self.example_col = self.param_col + widest * self.stride + 1
        self.waiting: set[Place] = set()  # blanks, and cells computed from one, on a sheet (not its key)
        self.zeros: set[Place] = set()  # the zeros of padding: a product with one adds nothing and is left out
        self.grids: list[Grid] = []

    # -- cells --

    def given(self, grid: Grid, row: int, col: int, value: float) -> Place:
        return grid.put(row, col, Cell(float(value), style="given"))

    def text(self, grid: Grid, row: int, col: int, text: str, style: str = "label") -> None:
        grid.put(row, col, Cell(printable(text), style=style))

    def computed(self, grid: Grid, row: int, col: int, value: float, build: Callable[[Callable[[Place], str]], str],
                 key: str = "") -> Place:
        """A live formula (`build` writes it, reading each cell through the function it is given) stored
        with the trace's `value`; a blank on an exercise sheet, or a cell that waits for one."""
        here = Place(grid.title, row, col)
        value = float(value)
        if key and key in self.keys:
            return self.blank(grid, row, col, value, key)
        used: list[Place] = []

        def read(place: Place) -> str:
            used.append(place)
            return reference(place, grid.title)

        formula = build(read)
        used = [p for p in used if mentions(formula, reference(p, grid.title))]  # (a rule may not use them all)
        if self.p.carry and not self._rounds_nothing(formula, used, grid.title):
            formula = f"ROUND({formula},{self.p.places})"  # each shown value rounded; the next step uses it so
        if len(formula) > FORMULA_LIMIT:
            raise NnworkedError(f"the formula of {key or 'a cell'} would be {len(formula):,} characters long, more "
                                f"than a spreadsheet takes ({FORMULA_LIMIT:,}): this network is too wide for "
                                "--format xlsx")
        waits = sorted({p for p in used if p in self.waiting})
        if waits:
            empty = ",".join(f'{reference(p, grid.title)}=""' for p in waits)
            formula = f'IF(OR({empty}),"",{formula})'
            if not self.answers:
                self.waiting.add(here)
                return grid.put(row, col, Cell("", formula, "computed", key, value))
        return grid.put(row, col, Cell(value if np.isfinite(value) else "", formula, "computed", key, value))

    def _rounds_nothing(self, formula: str, used: list[Place], sheet: str) -> bool:
        """Whether ROUND around the formula would change nothing under carry, so it is left off: a copy of
        one cell (a carried value is rounded already, and a given one, such as ε = 0.00001 or an input, is
        never rounded by the working), or a formula that is one ROUND to the places already."""
        if len(used) == 1 and formula == reference(used[0], sheet):
            return True
        return formula.startswith("ROUND(") and formula.endswith(f",{self.p.places})") and \
            outer(formula[len("ROUND"):]) != formula[len("ROUND"):]

    def blank(self, grid: Grid, row: int, col: int, value: float, key: str) -> Place:
        here = grid.put(row, col, Cell(value if self.answers else None, style="answer" if self.answers else "blank",
                                       key=key, shown=value))
        if not self.answers:
            self.waiting.add(here)
        if self.status:
            me = reference(here, grid.title)
            right = ",".join(f"ABS({me}-({spreadsheet_number(target)}))<={spreadsheet_number(_near(target, room))}"
                             for target, room in right_answers(value, self.trace))
            formula = (f'IF({me}="","{NOT_DONE}",IF(ISNUMBER({me}),IF(OR({right}),"{CORRECT}",'
                       f'"{INCORRECT}"),"{INCORRECT}"))')
            grid.put(row, col + 1, Cell(CORRECT if self.answers else NOT_DONE, formula, "status", key))
        return here

    def times(self, left: str, right: str) -> str:
        """One product of a sum of products; rounded under rounding: carry, as the walkthrough rounds each
        product it shows before adding."""
        return f"ROUND({left}*{right},{self.p.places})" if self.p.carry else f"{left}*{right}"

    def col(self, area: int, j: int) -> int:
        return area + j * self.stride

    def matrix(self, grid: Grid, row: int, area: int, values: np.ndarray,
               fill: Callable[[int, int, int, int, float], Place]) -> Matrix:
        """values[i][j] at rows from `row`, columns from `area`; fill(i, j, row, col, value) writes each."""
        return [[fill(i, j, row + i, self.col(area, j), float(values[i, j])) for j in range(values.shape[1])]
                for i in range(values.shape[0])]

    def heading(self, grid: Grid, row: int, text: str) -> int:
        self.text(grid, row, 0, text, "heading")
        return row + 1

    # -- the sheets --

    def build(self, steps: Sequence[TrainingStep], note: str = "", final: bool = False) -> list[Grid]:
        previous: dict[str, Matrix] | None = None
        for step in steps:
            title = f"{self.prefix}Step {step.number}" if len(self.trace.steps) > 1 or not self.prefix else \
                self.prefix.rstrip(" ·")
            previous = self.step_sheet(Grid(title[:31]), step, previous, note if step.number == 1 else "")
        if final and self.trace.final is not None and previous is not None:
            forward, loss = self.trace.final
            forward, loss = flat_step(self.trace, forward, loss)
            grid = Grid(f"{self.prefix}After training"[:31])
            row = self.top(grid, "The forward pass with the parameters after training.")
            row, places = self.inputs(grid, row, previous)
            row, places = self.forward(grid, row, forward.operations, places, previous, FINAL)
            if loss is not None:
                self.loss(grid, row, loss, places, FINAL)
            self.grids.append(grid)
        return self.grids

    def top(self, grid: Grid, note: str) -> int:
        self.text(grid, 0, 0, self.s.title, "title")
        self.text(grid, 1, 0, note, "note")
        for e, label in enumerate(self.column_labels()):  # each example (each token of a sequence) a column
            self.text(grid, 2, self.col(self.example_col, e), label, "label")
        return 3

    def inputs(self, grid: Grid, row: int, before: dict[str, Matrix] | None) -> tuple[int, dict[str, Matrix]]:
        """[x ; 1] and y: given on the first sheet, read from it on the others."""
        places: dict[str, Matrix] = {}
        x, n = self.s.inputs.T, self.n
        first = before is None
        if self.s.inputs.ndim == 4:
            return self.image_inputs(grid, row, before)
        if self.s.inputs.ndim == 3:
            return self.sequence_inputs(grid, row, before)
        row = self.heading(grid, row, f"[{n.a(0)} ; 1]" if self.ones_below(0) else n.a(0))

        def take(name: str) -> Callable[[int, int, int, int, float], Place]:
            if first:
                return lambda i, j, r, c, v: self.given(grid, r, c, v)
            return lambda i, j, r, c, v: self.computed(grid, r, c, v, lambda read: read(before[name][i][j]))

        places["a0"] = self.matrix(grid, row, self.example_col, x, take("a0"))
        row += x.shape[0]
        if self.ones_below(0):
            self.ones(grid, row)
            row += 1
        if before is not None and "y" in before:
            places["y"] = before["y"]  # read again below ŷ
        return row + 1, places

    def ones(self, grid: Grid, row: int) -> None:
        for e in range(self.examples):
            self.given(grid, row, self.col(self.example_col, e), 1.0)

    def parameters(self, grid: Grid, row: int, k: int, weights: np.ndarray, bias: np.ndarray | None,
                   before: dict[str, Matrix] | None) -> dict[str, Matrix]:
        """[W | b] left of z, in the same rows: given, or the values the previous step left."""
        out: dict[str, Matrix] = {}
        if before is None:
            out[f"W{k}"] = self.matrix(grid, row, self.param_col, weights, lambda i, j, r, c, v: self.given(grid, r, c, v))
            if bias is not None:
                out[f"b{k}"] = self.matrix(grid, row, self.col(self.param_col, weights.shape[1]), bias[:, None],
                                           lambda i, j, r, c, v: self.given(grid, r, c, v))
            return out
        old = before
        out[f"W{k}"] = self.matrix(grid, row, self.param_col, weights,
                                   lambda i, j, r, c, v: self.computed(grid, r, c, v, lambda read: read(old[f"W{k}"][i][j])))
        if bias is not None:
            out[f"b{k}"] = self.matrix(grid, row, self.col(self.param_col, weights.shape[1]), bias[:, None],
                                       lambda i, j, r, c, v: self.computed(grid, r, c, v,
                                                                           lambda read: read(old[f"b{k}"][i][0])))
        return out

    def forward(self, grid: Grid, row: int, operations: Sequence[Any], places: dict[str, Matrix],
                before: dict[str, Matrix] | None, step: int | str) -> tuple[int, dict[str, Matrix]]:
        """Each operation by its record type's `_cells_<Record>` (a type it lacks fails loudly)."""
        for operation in operations:
            write = getattr(self, f"_cells_{type(operation).__name__}", None)
            if write is None:
                raise TypeError(f"the spreadsheet has no cells for a {type(operation).__name__} record")
            row = write(grid, row, operation, places, before, step)
        return row, places

    def _cells_Linear(self, grid: Grid, row: int, lin: Linear, places: dict[str, Matrix],
                      before: dict[str, Matrix] | None, step: int | str) -> int:
        """z = [W | b] · [a ; 1]: [W | b] left of z, each z a row times a column."""
        n, k, has_bias = self.n, lin.layer, lin.bias is not None
        product = f"[{n.W(k)} | {n.b(k)}] · [{n.a(k - 1)} ; 1]" if has_bias else f"{n.W(k)} · {n.a(k - 1)}"
        row = self.heading(grid, row, f"Layer {k}: {n.z(k)} = {product}")
        self.text(grid, row, 0, f"[{n.W(k)} | {n.b(k)}] and {n.z(k)}" if has_bias else f"{n.W(k)} and {n.z(k)}")
        params = self.parameters(grid, row, k, lin.weights, lin.bias, before)
        places.update(params)
        weights, inputs, bias = params[f"W{k}"], places[f"a{k - 1}"], params.get(f"b{k}")

        def z_cell(i: int, e: int, r: int, c: int, v: float) -> Place:
            def build(read: Callable[[Place], str]) -> str:
                terms = [self.times(read(weights[i][j]), read(inputs[j][e])) for j in range(len(inputs))]
                return "+".join(terms + ([read(bias[i][0])] if bias is not None else []))
            return self.computed(grid, r, c, v, build, self.unit_key("z", k, i, e, step))

        places[f"z{k}"] = self.matrix(grid, row, self.example_col, lin.z.T, z_cell)
        return row + lin.z.shape[1] + 1

    def _cells_Activate(self, grid: Grid, row: int, act: Activate, places: dict[str, Matrix],
                        before: dict[str, Matrix] | None, step: int | str) -> int:
        """a = f(z), each cell the activation rule's formula; a row of 1s below it where the next layer has
        a bias."""
        n, k, rule = self.n, act.layer, ACTIVATIONS[act.activation]
        if act.a.ndim == 4:
            return self.image_activate(grid, row, act, places, step)
        row = self.heading(grid, row, f"{n.a(k)} = {rule.label}({n.z(k)}): {rule.formula}")
        z = places[f"z{k}"]

        def a_cell(i: int, e: int, r: int, c: int, v: float) -> Place:
            return self.computed(grid, r, c, v, lambda read: rule.spreadsheet_formula(
                [read(z[u][e]) for u in range(len(z))], i, act.slope, self.rounding), self.unit_key("a", k, i, e, step))

        places[f"a{k}"] = self.matrix(grid, row, self.example_col, act.a.T, a_cell)
        row += act.a.shape[1]
        if self.ones_below(k):
            self.ones(grid, row)
            row += 1
        return row + 1

    def loss(self, grid: Grid, row: int, loss: Any, places: dict[str, Matrix], step: int | str) -> tuple[int, Place]:
        """y below ŷ, each example's loss, then L."""
        spec = loss.spec
        last = len(self.s.layers)
        row = self.heading(grid, row, "y (the target)")
        if "y" not in places:
            places["y"] = self.matrix(grid, row, self.example_col, loss.y.T, lambda i, j, r, c, v: self.given(grid, r, c, v))
        else:
            source = places["y"]
            places["y"] = self.matrix(grid, row, self.example_col, loss.y.T, lambda i, j, r, c, v: self.computed(
                grid, r, c, v, lambda read: read(source[i][j])))
        row += loss.y.shape[1] + 1
        rule = spec.rule
        each = "Loss of each token: " if self.sequences else "Loss of each example: "  # a sequence's columns are tokens
        row = self.heading(grid, row, (each if self.examples > 1 else "Loss: ") +
                           f"{rule.label}, {rule.formula}" +
                           (f", × {spreadsheet_number(spec.scale)}" if spec.scale != 1 else ""))
        yhat, y = places[f"a{last}"], places["y"]
        units = len(yhat)
        divisor = units if rule.averages_over_outputs and spec.outputs == "mean" else 1
        per_example: list[Place] = []
        for e in range(self.examples):
            def build(read: Callable[[Place], str], e: int = e) -> str:
                r = self.rounding  # as engine.carry's per_example_loss: the sum, the quotient, the product rounded
                terms = "+".join(rule.spreadsheet_formula(read(yhat[i][e]), read(y[i][e]), r) for i in range(units))
                if r.carry and units > 1:
                    terms = r(terms)
                body = f"({terms})/{divisor}" if divisor != 1 else terms
                return f"{spreadsheet_number(spec.scale)}*({r(body) if divisor != 1 else body})" if spec.scale != 1 \
                    else body
            key = "" if self.examples > 1 else ("L" if step == 1 else quantity_name("L", 0, step=step))
            per_example.append(self.computed(grid, row, self.col(self.example_col, e), loss.per_example[e], build, key))
        row += 1
        total = per_example[0]
        if self.examples > 1:
            how = "the mean" if spec.batch == "mean" else "the sum"
            row = self.heading(grid, row, f"L = {how} of the examples' losses")
            total = self.computed(grid, row, self.example_col, loss.value,  # the sum rounded before ÷, as carried
                                  lambda read: (f"{self.total([read(p) for p in per_example])}/{self.examples}"
                                                if spec.batch == "mean" else "+".join(read(p) for p in per_example)),
                                  "L" if step == 1 else quantity_name("L", 0, step=step))
            row += 1
        return row + 1, total

    # -- one training step --

    def step_sheet(self, grid: Grid, step: TrainingStep, before: dict[str, Matrix] | None, note: str) -> dict[str, Matrix]:
        number = step.number
        step = step._replace(**dict(zip(("forward", "loss", "backward"), flat_step(self.trace, step.forward, step.loss,
                                                                                  step.backward))))
        row = self.top(grid, note or f"Training step {number} of {len(self.trace.steps)}.")
        row, places = self.inputs(grid, row, before)
        if before is not None:  # η and the optimizer's state as the previous step left them
            places.update({name: cells for name, cells in before.items() if name == "lr" or "@previous:" in name})
        row, places = self.forward(grid, row, step.forward.operations, places, before, number)
        if step.loss is None:
            self.grids.append(grid)
            return places
        row, _ = self.loss(grid, row, step.loss, places, number)
        row = self.heading(grid, row, "Backpropagation") + 1
        backward = Backward(self)
        for record in step.backward:
            row = backward.record(grid, row, record, step, places)
        if step.updates:
            row = backward.updates(grid, row, step, places)
        self.grids.append(grid)
        return self.left(places)

    def left(self, places: dict[str, Matrix]) -> dict[str, Matrix]:
        """What the next sheet reads: the inputs and targets, η, and each parameter and optimizer state as
        this step left them."""
        out = {name: places[name] for name in ("a0", "y", "lr") if name in places}
        out.update({name: cells for name, cells in places.items() if name.startswith("given:")})  # masks, ε
        for name, cells in places.items():
            if name.endswith("@new"):
                out[name[:-4]] = cells
            elif "@state:" in name:
                out[name.replace("@state:", "@previous:")] = cells
        return out


def _near(target: float, room: float) -> float:
    """A right answer's room (grading.right_answers: the key as printed ± half a unit of its last decimal, so
    0.1092 is never right for 0.1095, as `grade`, Moodle and Canvas judge it), with room for binary noise."""
    return room + 1e-12 * max(1.0, abs(target))


def matmul_grid(trace: Trace, settings: Any, prefix: str = "") -> Grid:
    """A matrix product, C = A · B: A left of C, B above it, each cell of C a row times a column."""
    m, blanks = trace.matmul, settings.blanks
    layout = Layout(trace, blanks.keys if blanks else frozenset(), bool(blanks and blanks.answers),
                    status=bool(blanks and blanks.reveal != "none"))
    grid = Grid((prefix or "Matrix product")[:31])
    row = layout.top(grid, "C = A · B: each cell of C is a row of A times a column of B. Given numbers are "
                           "plain cells; every cell of C is a formula.")
    row = layout.heading(grid, row, "B")
    b = layout.matrix(grid, row, layout.example_col, m.b, lambda i, j, r, c, v: layout.given(grid, r, c, v))
    row += m.b.shape[0] + 1
    row = layout.heading(grid, row, "A (left) and C = A · B")
    a = layout.matrix(grid, row, layout.param_col, m.a, lambda i, j, r, c, v: layout.given(grid, r, c, v))
    layout.matrix(grid, row, layout.example_col, m.c, lambda i, j, r, c, v: layout.computed(
        grid, r, c, v, lambda read: "+".join(layout.times(read(a[i][u]), read(b[u][j])) for u in range(m.a.shape[1])),
        quantity_name("C", 0, i, j)))
    return grid
