"""The one table of quantities: every value of the first step a walkthrough prints, by its canonical name.

A name is what a teacher says and a student writes in an answer file: `z1[0]` (one example) or `z1[0,1]`
(unit 0 of example 1) for a layer's pre-activation, `a2[0]` its output, `dz1`/`da1` for ∂L/∂z₁ and ∂L/∂a₁,
`dW2[0,1]` and `db2[0]` for the gradients, `W2[0,1]` and `b2[0]` for the values after the update, `L` for
the loss, `C[0,1]` for a matrix product. A later pass is another quantity with the same name and a step
qualifier: `a2[0]@2` is step 2's output, `a2[0]@final` the forward pass after training.

This module holds the ONE grammar (`parse`, `name`), the ONE order a student works in (`sort_key`), and
the ONE map from a name to its worked expression (`Table.expression`), whose Num leaves carry the names of
their operands; what a quantity is computed from (`Table.depends`) is read off those leaves. Renderers,
sheets, grading, the Moodle writer, generate and the JSON exercise section all read it.
"""

from __future__ import annotations

import re
from typing import Iterable, NamedTuple

import numpy as np

from nnworked import worked
from nnworked.expr import Expr, Num, num, op
from nnworked.rules.activations import ACTIVATIONS
from nnworked.trace import Trace

_NAME = re.compile(r"^([a-zA-Z]+?)(\d*)(?:\[(\d+(?:,\d+)*)\])?(?:@(\d+|final))?$")
_ORDER = {"C": 0, "z": 1, "a": 2, "L": 3, "da": 4, "dz": 5, "dW": 6, "dK": 6, "dgamma": 6, "db": 7, "dbeta": 7, "W": 8,
          "K": 8, "gamma": 8, "b": 9, "beta": 9}
PER_EXAMPLE = ("z", "a", "dz", "da")  # indexed [unit] with one example, [unit,example] in a batch
FIRST_STEP = 1
FINAL = "final"  # the step qualifier of the forward pass with the parameters after training


class Name(NamedTuple):
    kind: str  # z, a, dz, da, dW, db, W, b, L, C
    layer: int  # 0 when the kind has none (L, C)
    index: tuple[int, ...]
    step: int | str = FIRST_STEP  # 1, 2, …, or FINAL

    def __str__(self) -> str:
        text = f"{self.kind}{self.layer or ''}"
        if self.index:
            text += f"[{','.join(map(str, self.index))}]"
        return text if self.step == FIRST_STEP else f"{text}@{self.step}"


def parse(text: str) -> Name:
    """Name("dW", 2, (0, 1)) from "dW2[0,1]"; ValueError when `text` is not a name."""
    match = _NAME.match(text)
    if not match:
        raise ValueError(text)
    kind, layer, index, step = match.groups()
    steps: int | str = FIRST_STEP if step is None else (FINAL if step == FINAL else int(step))
    return Name(kind, int(layer or 0), tuple(int(i) for i in index.split(",")) if index else (), steps)


def name(kind: str, layer: int, *index: int, step: int | str = FIRST_STEP) -> str:
    """"dW2[0,1]" from ("dW", 2, 0, 1)."""
    return str(Name(kind, layer, tuple(index), step))


def cell(kind: str, layer: int, unit: int | tuple[int, ...], example: int, examples: int,
         step: int | str = FIRST_STEP) -> str:
    """A per-example value: z1[0] with one example, z1[0,1] (unit 0 of example 1) in a batch; an image's
    element is indexed by (channel, row, col): z1[0,2,1], and z1[0,2,1,3] for example 3 of a batch."""
    units = unit if isinstance(unit, tuple) else (unit,)
    return name(kind, layer, *units, step=step) if examples == 1 else name(kind, layer, *units, example, step=step)


def at_step(text: str, step: int | str) -> str:
    """The same quantity in another pass: at_step("a2[0]", 2) is "a2[0]@2"."""
    return str(parse(text)._replace(step=step)) if text else text


def sort_key(text: str) -> tuple:
    """The order a student works in: layer by layer forward (z then a), the loss, layer by layer backward,
    then the updates."""
    n = parse(text)
    i, j = (list(n.index) + [0, 0])[:2]
    if n.kind in ("C", "z", "a"):
        return (0, n.layer, _ORDER[n.kind], *n.index)
    if n.kind == "L":
        return (1, 0, 0, i, j)
    if n.kind.startswith("d"):
        return (2, -n.layer, _ORDER.get(n.kind, 7), *n.index)
    return (3, n.layer, _ORDER.get(n.kind, 9), *n.index)


def computed_from(*keys: str) -> str:
    """The label of a number that is not itself a quantity but is computed from these (∂ŷ/∂z from ŷ): it
    hides with them on a sheet, and grading never substitutes an answer for it."""
    return "|".join(sorted(keys)) + ("|" if len(keys) == 1 else "")


def labels(expr: Expr) -> set[str]:
    """The names an expression's numbers carry (a number computed from several carries theirs, joined by |)."""
    if isinstance(expr, Num):
        return {part for part in expr.label.split("|") if part}
    return set().union(*(labels(a) for a in expr.args))


class Table:
    """The quantities of a solved scenario: the first step's values by name, and the worked expression of
    any pass's value (`z1[0]`, `z1[0]@2`, `a2[0]@final`), which the walkthrough prints and a sheet, its key
    and grading read; dependencies are read off the expressions."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self._values: dict[str, float] | None = None
        self._expressions: dict[str, Expr] = {}

    @property
    def values(self) -> dict[str, float]:
        """The first step's values by name (made when first asked: a walkthrough of a large network reads
        only the expressions of the elements it works)."""
        if self._values is None:
            self._values = _values(self.trace)
        return self._values

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def expression(self, key: str) -> Expr:
        """How the value named `key` is worked from the values before it; those values carry their names."""
        if key not in self._expressions:
            self._expressions[key] = _expression(self.trace, parse(key))
        return self._expressions[key]

    def depends(self, key: str) -> frozenset[str]:
        """The quantities `key` is computed from (a batch's per-example loss L[e] stands for its outputs)."""
        out: set[str] = set()
        for label in labels(self.expression(key)):
            out |= self.depends(label) if parse(label).kind == "L" else {label}
        return frozenset(out)

    def dependents(self) -> dict[str, set[str]]:
        """The reverse graph: for each quantity, the quantities computed from it."""
        out: dict[str, set[str]] = {key: set() for key in self.values}
        for key in self.values:
            for source in self.depends(key):
                out.setdefault(source, set()).add(key)
        return out

    def downstream(self, keys: Iterable[str]) -> set[str]:
        """Every quantity that depends on one of `keys`, transitively (`keys` not included)."""
        reverse, seen, todo = self.dependents(), set(), list(keys)
        while todo:
            for after in reverse.get(todo.pop(), ()):
                if after not in seen:
                    seen.add(after)
                    todo.append(after)
        return seen


_LAST: list[Table] = []  # the table of the trace last asked for: a sheet, its key and grading ask again


def table(trace: Trace) -> Table:
    """The table of `trace` (a trace holds arrays, so it is recognised by identity, not hashed)."""
    if not _LAST or _LAST[0].trace is not trace:
        _LAST[:] = [Table(trace)]
    return _LAST[0]


def _values(trace: Trace) -> dict[str, float]:
    if trace.matmul is not None:
        return {name("C", 0, i, j): float(v) for (i, j), v in np.ndenumerate(trace.matmul.c)}
    step = trace.steps[0]
    examples = trace.scenario.inputs.shape[0]

    def cells(kind: str, k: int, values: np.ndarray) -> dict[str, float]:  # the first axis is the example
        return {cell(kind, k, tuple(index[1:]), index[0], examples): float(v)
                for index, v in np.ndenumerate(values) if np.isfinite(v)}

    out: dict[str, float] = {}
    for key, values in step.forward.arrays().items():
        out.update(cells(key[0], int(key[1:]), values))
    if step.loss is not None:
        out["L"] = step.loss.value
    for key, values in step.gradients().items():
        array = parse(key)
        if array.kind in PER_EXAMPLE:
            out.update(cells("d" + array.kind, array.layer, values))
        else:
            out.update({name("d" + array.kind, array.layer, *index): float(v) for index, v in np.ndenumerate(values)})
    for update in step.updates:
        parameter = parse(update.name)
        out.update({name(parameter.kind, parameter.layer, *index): float(v) for index, v in np.ndenumerate(update.new)})
    return out


def _pass(trace: Trace, step: int | str):  # noqa: ANN202
    """The forward pass, the loss and (for a training step) the step whose values carry this qualifier."""
    if step == FINAL:
        assert trace.final is not None
        forward, loss = trace.final
        return forward, loss, None
    training = trace.steps[int(step) - 1]
    return training.forward, training.loss, training


class _Place(NamedTuple):
    """Where an expression is worked: the pass, the example, the unit, and how its operands are named."""

    trace: Trace
    key: Name
    examples: int
    unit: tuple[int, ...]  # (i,) for a vector per example, (channel, row, col) for an image
    n: int  # the example
    first: bool  # the first step: the parameters are the numbers the user wrote

    @property
    def i(self) -> int:
        return self.unit[0]

    def at(self, kind: str, layer: int, unit: int | tuple[int, ...], example: int | None = None) -> str:
        return cell(kind, layer, unit, self.n if example is None else example, self.examples, self.key.step)

    def before(self, kind: str, layer: int, *index: int) -> str:
        """A parameter as this pass uses it: "" in step 1 (given), else its value after the last update."""
        previous = len(self.trace.steps) if self.key.step == FINAL else int(self.key.step) - 1
        return "" if previous < 1 else name(kind, layer, *index, step=previous)

    def names(self, kind: str, layer: int, shape: tuple[int, ...]) -> np.ndarray:
        """The names of every element of one example's array, in its shape (so a tuple indexes it)."""
        out = np.empty(shape, dtype=object)
        for index in np.ndindex(*shape):
            out[index] = self.at(kind, layer, index if len(shape) > 1 else index[0])
        return out


def _expression(trace: Trace, key: Name) -> Expr:
    """The worked expression of one value, exactly as the walkthrough prints it: its numbers carry the
    names of the values they are (a parameter after an update, an earlier value), so a blank hides and
    grading substitutes a student's own values where they gave them. Each value is worked by the record
    that produced it, through that record type's own function below."""
    s = trace.scenario
    examples = s.inputs.shape[0]
    kind, k = key.kind, key.layer
    if kind == "C":
        i, j = key.index
        m = trace.matmul
        return worked.linear(m.a[i], m.b[:, j], None, True, True)
    forward, loss, step = _pass(trace, key.step)
    first = key.step == FIRST_STEP
    if kind == "L":
        assert loss is not None
        units, last = loss.yhat.shape[1], len(s.layers)
        place = _Place(trace, key, examples, (), 0, first)
        if examples == 1 or key.index:  # the loss of one example
            e = key.index[0] if key.index else 0
            return worked.loss_example(loss.spec, loss.yhat[e], loss.y[e], [place.at("a", last, u, e) for u in range(units)])
        return worked.loss_total(loss.spec, loss.per_example, [name("L", 0, e, step=key.step) for e in range(examples)])
    per_example = kind in PER_EXAMPLE
    unit, n = (key.index, 0) if not per_example or examples == 1 else (key.index[:-1], key.index[-1])
    place = _Place(trace, key, examples, tuple(unit), n, first)
    array = f"{kind}{k}" if kind in ("z", "a") else f"{kind[1:]}{k}"
    if kind in ("z", "a"):
        records = forward.operations
    elif kind.startswith("d"):
        assert step is not None
        records = step.backward
    else:  # a parameter after its update
        assert step is not None
        return _updated(trace, step, key)
    record = next(r for r in records if array in r.produces())
    worker = _WORKERS.get(type(record).__name__)
    if worker is None:
        raise TypeError(f"the table of quantities has no working for a {type(record).__name__} record")
    expr = worker(record, kind, place)
    joined = next((r for r in records if hasattr(r, "skips") and kind == "da" and r.layer == k), None)
    return expr if joined is None else _WORKERS["GradientSum"](joined, expr, place)  # + each skip's gradient


def _updated(trace: Trace, step, key: Name) -> Expr:  # noqa: ANN001
    s, kind, k = trace.scenario, key.kind, key.layer
    update = next(u for u in step.updates if u.name == f"{kind}{k}")
    index = key.index if update.old.ndim >= 2 else key.index[:1]
    lines = worked.optimizer_update(s.optimizer, update.old[index], update.grad[index], s.learning_rate or 0.0,
                                    {}, 1, trace.precision, True, name("d" + kind, k, *index))
    return lines[-1][1]


# ---- each record type's working of one element -------------------------------------------------------

def _linear(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    k, i, n = r.layer, p.i, p.n
    inputs = [p.at("a", k - 1, u) for u in range(r.inputs.shape[1])] if k > 1 else None
    return worked.linear(r.weights[i], r.inputs[n], None if r.bias is None else r.bias[i], p.first, k == 1, inputs,
                         [p.before("W", k, i, u) for u in range(r.weights.shape[1])], p.before("b", k, i))


def _activate(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    rule, z = ACTIVATIONS[r.activation], r.z[p.n]
    if z.ndim == 1:
        return rule.row_expr(z, p.i, r.slope, [p.at("z", r.layer, u) for u in range(z.shape[0])])
    return rule.row_expr(z, p.unit, r.slope, p.names("z", r.layer, z.shape))  # an image: elementwise


def _convolve(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    """Σ K[o, c, p, q] × a[c, i·s + p − P, j·s + q − P] + b[o]; a position in the padding is a given 0."""
    k, (o, i, j) = r.layer, p.unit
    _, channels, rows, cols = r.kernels.shape
    height, width = r.inputs.shape[2:]
    terms: list[Expr] = []
    for c, dy, dx in np.ndindex(channels, rows, cols):
        y, x = i * r.stride + dy - r.padding, j * r.stride + dx - r.padding
        inside = 0 <= y < height and 0 <= x < width
        value = r.inputs[p.n, c, y, x] if inside else 0.0
        label = p.at("a", k - 1, (c, y, x)) if inside and k > 1 else ""
        terms.append(op("mul", num(r.kernels[o, c, dy, dx], p.first, p.before("K", k, o, c, dy, dx)),
                        num(value, k == 1 or not inside, label)))
    if r.bias is not None:
        terms.append(num(r.bias[o], p.first, p.before("b", k, o)))
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _window(r, p: _Place) -> list[Expr]:  # noqa: ANN001
    """The elements of the pooling window under output (c, i, j), row by row, by name."""
    k, (c, i, j) = r.layer, p.unit
    out = []
    for dy, dx in np.ndindex(r.size, r.size):
        y, x = i * r.stride + dy, j * r.stride + dx
        out.append(num(r.inputs[p.n, c, y, x], k == 1, p.at("a", k - 1, (c, y, x)) if k > 1 else ""))
    return out


def _pool(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    window = _window(r, p)
    if r.winners is not None:
        return op("max", *window)
    return op("div", op("add", *window) if len(window) > 1 else window[0], num(len(window), True))


def _flatten(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    """The same number, now at position i of the vector."""
    source = np.unravel_index(p.i, r.inputs.shape[1:])
    return num(r.inputs[(p.n, *source)], r.layer == 1,
               p.at("a", r.layer - 1, tuple(int(v) for v in source)) if r.layer > 1 else "")


def _output_delta(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    loss = _pass(p.trace, p.key.step)[1]
    units, k, i, n = loss.yhat.shape[1], r.layer, p.i, p.n
    if kind == "da":
        return worked.loss_gradient(loss.spec, loss.yhat[n, i], loss.y[n, i], p.examples, units, p.at("a", k, i))
    if r.shortcut is not None:
        return worked.shortcut(loss.spec, loss.yhat[n, i], loss.y[n, i], p.examples, units, p.at("a", k, i))
    return worked.product(r.dl_dyhat[n, i], r.dyhat_dz[n, i], p.at("da", k, i), computed_from(p.at("a", k, i)))


def _through_activation(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    index = (p.n, *p.unit)
    unit = p.unit if len(p.unit) > 1 else p.i
    derivative, _ = worked.derivative(r.activation, r.z[index], r.a[index], r.slope, p.at("a", r.layer, unit))
    return op("mul", num(r.upstream[index], label=p.at("da", r.layer, unit)), derivative)


def _layer_gradient(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    k, examples = r.layer, p.examples
    i = p.key.index[0]
    deltas = [p.at("dz", k, i, e) for e in range(examples)]
    if kind == "db":
        return worked.bias_gradient(r.delta[:, i], deltas)
    j = p.key.index[1]
    inputs = [p.at("a", k - 1, j, e) for e in range(examples)] if k > 1 else None
    return worked.weight_gradient(r.delta[:, i], r.inputs[:, j], p.first and k == 1, deltas, inputs)


def _back_to_previous(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    k, j, rows = r.layer, p.i, range(r.delta.shape[1])
    return worked.backprop(r.weights[:, j], r.delta[p.n], p.first, [p.at("dz", k, u) for u in rows],
                           [p.before("W", k, u, j) for u in rows])


def _kernel_gradient(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    """∂L/∂K[o, c, p, q] = Σ_n,i,j δ[n, o, i, j] × a[n, c, i·s + p − P, j·s + q − P]; ∂L/∂b[o] = Σ δ[n, o, ·, ·]."""
    k = r.layer
    examples, _, out_rows, out_cols = r.delta.shape
    height, width = r.inputs.shape[2:]
    if kind == "db":
        (o,) = p.key.index
        terms = [num(r.delta[e, o, i, j], label=p.at("dz", k, (o, i, j), e))
                 for e, i, j in np.ndindex(examples, out_rows, out_cols)]
        return terms[0] if len(terms) == 1 else op("add", *terms)
    o, c, dy, dx = p.key.index
    terms = []
    for e, i, j in np.ndindex(examples, out_rows, out_cols):
        y, x = i * r.stride + dy - r.padding, j * r.stride + dx - r.padding
        if not (0 <= y < height and 0 <= x < width):
            continue  # a position in the padding: its product is 0
        source = p.at("a", k - 1, (c, y, x), e) if k > 1 else ""
        terms.append(op("mul", num(r.delta[e, o, i, j], label=p.at("dz", k, (o, i, j), e)),
                        num(r.inputs[e, c, y, x], k == 1 and p.first, source)))
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _conv_back(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    """∂L/∂a[c, y, x] = Σ_o,p,q δ[o, i, j] × K[o, c, p, q] over the outputs (i, j) whose window covered (y, x)
    at kernel position (p, q): the full convolution with the flipped kernel, read element by element."""
    k, (c, y, x) = r.layer, p.unit
    out_c, _, rows, cols = r.kernels.shape
    out_rows, out_cols = r.delta.shape[2:]
    terms = []
    for o, dy, dx in np.ndindex(out_c, rows, cols):
        i, j = y + r.padding - dy, x + r.padding - dx
        if i % r.stride or j % r.stride:
            continue
        i, j = i // r.stride, j // r.stride
        if 0 <= i < out_rows and 0 <= j < out_cols:
            terms.append(op("mul", num(r.delta[p.n, o, i, j], label=p.at("dz", k, (o, i, j))),
                            num(r.kernels[o, c, dy, dx], p.first, p.before("K", k, o, c, dy, dx))))
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _pool_back(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    """∂L/∂a[c, y, x] = the gradients of the windows it won (max) or its share of every window over it (avg)."""
    k, (c, y, x) = r.layer, p.unit
    out_rows, out_cols = r.gradient.shape[2:]
    terms: list[Expr] = []
    for i, j in np.ndindex(out_rows, out_cols):
        dy, dx = y - i * r.stride, x - j * r.stride
        if not (0 <= dy < r.size and 0 <= dx < r.size):
            continue
        gradient = num(r.gradient[p.n, c, i, j], label=p.at("da", k, (c, i, j)))
        if r.winners is None:
            terms.append(op("div", gradient, num(r.size * r.size, True)))
        elif r.winners[p.n, c, i, j] == dy * r.size + dx:
            terms.append(gradient)
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _unflatten(r, kind: str, p: _Place) -> Expr:  # noqa: ANN001
    position = int(np.ravel_multi_index(p.unit, r.upstream.shape[1:]))
    return num(r.gradient[p.n, position], label=p.at("da", r.layer, position))


_WORKERS = {"Linear": _linear, "Activate": _activate, "Convolve": _convolve, "Pool": _pool, "Flatten": _flatten,
            "OutputDelta": _output_delta, "ThroughActivation": _through_activation, "LayerGradient": _layer_gradient,
            "BackToPrevious": _back_to_previous, "KernelGradient": _kernel_gradient,
            "ConvBackToPrevious": _conv_back, "PoolBack": _pool_back, "Unflatten": _unflatten}


def _more_workers() -> None:
    from nnworked.normworked import WORKERS  # dropout and normalisation: their own module

    _WORKERS.update(WORKERS)


_more_workers()
