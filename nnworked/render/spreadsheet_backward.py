"""The backward pass and the updates of a spreadsheet step (`--format xlsx`): ∂L/∂ŷ and ∂L/∂z from the
loss rule and the activation rule, ∂L/∂[W | b] beside ∂L/∂z, ∂L/∂a, and each update as the optimizer's one
`update` written against `FormulaArithmetic`, its state in cells of their own."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from nnworked.engine.losses import LossSpec
from nnworked.quantities import name as quantity_name, parse as quantity_parse
from nnworked.render.numbers import spreadsheet_number
from nnworked.render.spreadsheet_cells import Grid, Matrix, Place, Rounding, outer
from nnworked.render.spreadsheet_attention import AttentionGradientCells
from nnworked.render.spreadsheet_images import ImageGradientCells
from nnworked.render.spreadsheet_lstm import LSTMGradientCells
from nnworked.render.spreadsheet_sequences import RecurrentGradientCells
from nnworked.render.spreadsheet_tensors import as_block, param_at
from nnworked.render.spreadsheet_vectors import VectorGradientCells
from nnworked.rules.activations import ACTIVATIONS
from nnworked.rules.optimizers.base import Arithmetic
from nnworked.trace import BackToPrevious, LayerGradient, OutputDelta, ThroughActivation, TrainingStep


class FormulaArithmetic(Arithmetic):
    """An optimizer's one update written as spreadsheet formulas: θ, g and η are cell references, each
    value the optimizer defines becomes a cell (those the trace keeps as state) or part of the formula."""

    def __init__(self, previous: Callable[[str], str], cell_of: Callable[[str, str], str], places: int | None):
        self._previous, self._cell_of = previous, cell_of
        self.places = places  # under rounding: carry, each operation rounded as the engine rounds it

    def _r(self, text: str) -> str:
        return text if self.places is None else f"ROUND({outer(text)},{self.places})"

    def const(self, x: float) -> str:
        return spreadsheet_number(x)

    def complement(self, x: float) -> str:
        return spreadsheet_number(round(1 - x, 12))

    def previous(self, name: str) -> str:
        return self._previous(name)

    def add(self, a: str, b: str) -> str:
        return self._r(f"({a}+{b})")

    def sub(self, a: str, b: str) -> str:
        return self._r(f"({a}-{b})")

    def mul(self, a: str, b: str) -> str:
        return self._r(f"{a}*{b}")

    def div(self, a: str, b: str) -> str:
        return self._r(f"{a}/{b}")

    def square(self, a: str) -> str:
        return self._r(f"{a}^2")

    def sqrt(self, a: str) -> str:
        return self._r(f"SQRT({a})")

    def power(self, base: float, exponent: int) -> str:
        return f"{spreadsheet_number(base)}^{exponent}"

    def define(self, name: str, value: str) -> str:
        return self._cell_of(name, outer(value))


class Backward(ImageGradientCells, VectorGradientCells, RecurrentGradientCells, AttentionGradientCells,
               LSTMGradientCells):
    """One step's backward records and updates, each record by its type's `_cells_<Record>` (a record type
    it lacks fails loudly; the layers beyond dense ones are the mixins'). It writes with its layout's cells,
    matrices and headings, which it reads as its own attributes."""

    def __init__(self, layout: Any):
        self.layout = layout

    def __getattr__(self, name: str) -> Any:
        return getattr(self.layout, name)

    def record(self, grid: Grid, row: int, record: Any, step: TrainingStep, places: dict[str, Matrix]) -> int:
        return getattr(self, f"_cells_{type(record).__name__}", self._lacking)(grid, row, record, step, places)

    def _lacking(self, grid: Grid, row: int, record: Any, *_: Any) -> int:
        raise TypeError(f"the spreadsheet has no cells for a {type(record).__name__} record")

    def _per_example(self, kind: str, k: int, step: int) -> Callable[[int, int], str]:
        return lambda i, e: self.unit_key(kind, k, i, e, step)

    def _cells_OutputDelta(self, grid: Grid, row: int, record: OutputDelta, step: TrainingStep,
                           places: dict[str, Matrix]) -> int:
        n, k, spec = self.n, record.layer, step.loss.spec
        rule, act = spec.rule, ACTIVATIONS[record.activation]
        examples, units = record.delta.shape
        yhat, y = places[f"a{k}"], places["y"]
        core = rule.gradient_formula.split(" = ", 1)[-1]  # "∂L/∂ŷ = 2 × (ŷ − y)": its right-hand side
        row = self.heading(grid, row, f"∂L/∂{n.a(k)} = {_scaled_text(spec, examples, units, core)}")
        da = self.matrix(grid, row, self.example_col, record.dl_dyhat.T, lambda i, e, r, c, v: self.computed(
            grid, r, c, v, lambda read: _scaled(spec, rule.spreadsheet_gradient(read(yhat[i][e]), read(y[i][e]),
                                                                             self.rounding), examples, units,
                                                self.rounding), self._per_example("da", k, step.number)(i, e)))
        places[f"da{k}"] = da
        row += units + 1
        if record.shortcut is not None:
            row = self.heading(grid, row, f"∂L/∂{n.z(k)} = {_scaled_text(spec, examples, units, 'ŷ − y')}   "
                               f"({act.label} with this loss: the shortcut)")
            build = lambda i, e: lambda read: _scaled(  # noqa: E731
                spec, self.rounding(f"{read(yhat[i][e])}-{read(y[i][e])}"), examples, units, self.rounding)
        else:
            row = self.heading(grid, row, f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ {act.label}′({n.z(k)})")
            z, a = places[f"z{k}"], places[f"a{k}"]
            build = lambda i, e: lambda read: act.spreadsheet_backward(  # noqa: E731
                [read(da[u][e]) for u in range(units)], [read(z[u][e]) for u in range(units)],
                [read(a[u][e]) for u in range(units)], i, self.s.layers[k - 1].slope, self.rounding)
        places[f"dz{k}"] = self.matrix(grid, row, self.example_col, record.delta.T, lambda i, e, r, c, v: self.computed(
            grid, r, c, v, build(i, e), self._per_example("dz", k, step.number)(i, e)))
        places[f"dz{k}@row"] = [[Place(grid.title, row, 0)]]
        return row + units + 1

    def _cells_ThroughActivation(self, grid: Grid, row: int, record: ThroughActivation, step: TrainingStep,
                                 places: dict[str, Matrix]) -> int:
        if record.delta.ndim == 4:
            return self.image_through(grid, row, record, step, places)
        n, k = self.n, record.layer
        act = ACTIVATIONS[record.activation]
        units = record.delta.shape[1]
        da, z, a = places[f"da{k}"], places[f"z{k}"], places[f"a{k}"]
        row = self.heading(grid, row, f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ {act.label}′({n.z(k)}): "
                           f"{act.derivative_formula}")
        places[f"dz{k}"] = self.matrix(grid, row, self.example_col, record.delta.T, lambda i, e, r, c, v: self.computed(
            grid, r, c, v, lambda read: act.spreadsheet_backward(
                [read(da[u][e]) for u in range(units)], [read(z[u][e]) for u in range(units)],
                [read(a[u][e]) for u in range(units)], i, record.slope, self.rounding),
            self._per_example("dz", k, step.number)(i, e)))
        places[f"dz{k}@row"] = [[Place(grid.title, row, 0)]]
        return row + units + 1

    def _cells_LayerGradient(self, grid: Grid, row: int, record: LayerGradient, step: TrainingStep,
                             places: dict[str, Matrix]) -> int:
        """∂L/∂[W | b] = ∂L/∂z · [a | 1]ᵀ, in the rows of ∂L/∂z, where [W | b] stands above."""
        n, k = self.n, record.layer
        at = places[f"dz{k}@row"][0][0].row
        dz, inputs = places[f"dz{k}"], places[f"a{k - 1}"]
        examples = record.delta.shape[0]
        has_bias = record.bias_grad is not None
        self.text(grid, at, 0, f"∂L/∂[{n.W(k)} | {n.b(k)}] and ∂L/∂{n.z(k)}" if has_bias else
                  f"∂L/∂{n.W(k)} and ∂L/∂{n.z(k)}")
        first = step.number == 1
        places[f"dW{k}"] = self.matrix(grid, at, self.param_col, record.weights_grad, lambda i, j, r, c, v: self.computed(
            grid, r, c, v, lambda read: "+".join(self.times(read(dz[i][e]), read(inputs[j][e])) for e in range(examples)),
            quantity_name("dW", k, i, j) if first else ""))
        if has_bias:
            places[f"db{k}"] = self.matrix(grid, at, self.col(self.param_col, record.weights_grad.shape[1]),
                                           record.bias_grad[:, None], lambda i, j, r, c, v: self.computed(
                                               grid, r, c, v, lambda read: "+".join(read(dz[i][e]) for e in range(examples)),
                                               quantity_name("db", k, i) if first else ""))
        return row

    def _cells_BackToPrevious(self, grid: Grid, row: int, record: BackToPrevious, step: TrainingStep,
                              places: dict[str, Matrix]) -> int:
        n, k = self.n, record.layer
        weights, dz = places[f"W{k}"], places[f"dz{k}"]
        units = record.delta.shape[1]
        upstream, keyed = self.landing(k - 1, record.upstream, step)  # (a skip connection's gradient adds later)
        row = self.heading(grid, row, f"∂L/∂{n.a(k - 1)} = {n.W(k)}ᵀ · ∂L/∂{n.z(k)}   (the bias column takes no part)")
        places[f"da{k - 1}"] = self.matrix(grid, row, self.example_col, upstream.T, lambda j, e, r, c, v: self.computed(
            grid, r, c, v, lambda read: "+".join(self.times(read(weights[i][j]), read(dz[i][e])) for i in range(units)),
            self._per_example("da", k - 1, step.number)(j, e) if keyed else ""))
        return row + record.upstream.shape[1] + 1

    # -- the updates --

    def updates(self, grid: Grid, row: int, step: TrainingStep, places: dict[str, Matrix]) -> int:
        s = self.s
        optimizer = s.optimizer
        assert s.learning_rate is not None
        row = self.heading(grid, row, f"Updates: {optimizer.name}, " + "; ".join(optimizer.rule.rule_lines) +
                           f"   (η = {spreadsheet_number(s.learning_rate)})")
        self.text(grid, row, 0, "η (learning rate)", "label")
        lr = self.given(grid, row, self.param_col, s.learning_rate) if "lr" not in places else self.computed(
            grid, row, self.param_col, s.learning_rate, lambda read: read(places["lr"][0][0]))
        places["lr"] = [[lr]]
        row += 2
        first = step.number == 1
        for update in step.updates:
            parsed = quantity_parse(update.name)
            kind, k, shape = parsed.kind, parsed.layer, update.new.shape
            old, grad = places[update.name], places[f"d{update.name}"]
            state_cells: dict[str, Any] = {}
            for state_name, values in update.state.items():
                title = optimizer.rule.symbols.get(state_name, state_name)
                row = self.heading(grid, row, f"{title} for {self.param_symbol(update.name)}")
                state_cells[state_name] = self.param_places(grid, row, shape)
                row += self.param_height(shape) + 1
            frozen = " (frozen: it keeps its value)" if update.frozen else ""
            row = self.heading(grid, row, f"{self.param_symbol(update.name)} after the update{frozen}")
            new = self.param_places(grid, row, shape)
            for index in np.ndindex(*shape):
                key = quantity_name(kind, k, *index, part=parsed.part) if first else ""  # (part: an LSTM's gate)
                at = new[index]
                new[index] = self.updated(grid, at.row, at.col, update, index, old, grad, state_cells, places, step,
                                          key)
            places[f"{update.name}@new"] = as_block(new)
            for state_name, cells in state_cells.items():
                places[f"{update.name}@state:{state_name}"] = cells
            row += self.param_height(shape) + 1
        return row

    def updated(self, grid: Grid, row: int, col: int, update: Any, index: tuple[int, ...], old: Any, grad: Any,
                state_cells: dict[str, Any], places: dict[str, Any], step: TrainingStep, key: str) -> Place:
        """One parameter's new value, the optimizer's state cells it defines on the way."""
        s = self.s
        if update.frozen:
            return self.computed(grid, row, col, update.new[index], lambda read: read(param_at(old, index)), key)
        result: dict[str, str] = {}

        def build(read: Callable[[Place], str]) -> str:
            def previous(state_name: str) -> str:
                before = places.get(f"{update.name}@previous:{state_name}")
                return read(param_at(before, index)) if before is not None else "0"

            def cell_of(state_name: str, formula: str) -> str:
                if state_name in state_cells:
                    place = state_cells[state_name][index]
                    sources = [param_at(old, index), param_at(grad, index), places["lr"][0][0],
                               *(param_at(cells, index) for name, cells in places.items()
                                 if name.startswith(f"{update.name}@previous:"))]
                    # (what the state may be computed from: a cell that waits for a blank waits with it)
                    self.computed(grid, place.row, place.col, update.state[state_name][index],
                                  lambda r: ([r(source) for source in sources], formula)[1])
                    return read(place)
                if state_name == "new":
                    result["new"] = formula
                    return formula
                return f"({formula})"  # a value the trace does not keep (g with weight decay): inline

            arithmetic = FormulaArithmetic(previous, cell_of, self.p.places if self.p.carry else None)
            s.optimizer.rule.step(arithmetic, read(param_at(old, index)), read(param_at(grad, index)),
                                  read(places["lr"][0][0]),
                                  s.optimizer.get, step.number)
            return str(result["new"])

        return self.computed(grid, row, col, update.new[index], build, key)


def _scaled(spec: LossSpec, core: str, examples: int, units: int, r: Rounding) -> str:
    """core × scale ÷ (what is averaged over), as `rules.losses.base.scaled` writes it (the product
    rounded under carry, as engine.carry's _scaled rounds it; the quotient is the cell's last stage)."""
    if spec.scale != 1:
        core = r(f"{spreadsheet_number(spec.scale)}*({core})")
    divisor = round(spec.scale / spec.factor(examples, units))
    return core if divisor == 1 else f"({core})/{divisor}"


def _scaled_text(spec: LossSpec, examples: int, units: int, core: str) -> str:
    divisor = round(spec.scale / spec.factor(examples, units))
    scale = f"{spreadsheet_number(spec.scale)} × " if spec.scale != 1 else ""
    return f"{scale}({core})" + (f" ÷ {divisor}" if divisor != 1 else "") if scale or divisor != 1 else core
