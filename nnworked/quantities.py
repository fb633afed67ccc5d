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

import math
import re
from typing import Callable, Iterable, NamedTuple

import numpy as np

from nnworked import worked
from nnworked.expr import Expr, Num, num, op
from nnworked.rules.activations import ACTIVATIONS
from nnworked.trace import Trace

_NAME = re.compile(r"^([a-zA-Z]+?)(\d*)(?:\[(\d+(?:,\d+)*)\])?(?:@(\d+|final))?$")
_ORDER = {"C": 0, "z": 1, "a": 2, "L": 3, "da": 4, "dz": 5, "dW": 6, "db": 7, "W": 8, "b": 9}
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


def cell(kind: str, layer: int, unit: int, example: int, examples: int, step: int | str = FIRST_STEP) -> str:
    """A per-example value: z1[0] with one example, z1[0,1] (unit 0 of example 1) in a batch."""
    return name(kind, layer, unit, step=step) if examples == 1 else name(kind, layer, unit, example, step=step)


def at_step(text: str, step: int | str) -> str:
    """The same quantity in another pass: at_step("a2[0]", 2) is "a2[0]@2"."""
    return str(parse(text)._replace(step=step)) if text else text


def sort_key(text: str) -> tuple:
    """The order a student works in: layer by layer forward (z then a), the loss, layer by layer backward,
    then the updates."""
    n = parse(text)
    i, j = (list(n.index) + [0, 0])[:2]
    if n.kind in ("C", "z", "a"):
        return (0, n.layer, _ORDER[n.kind], i, j)
    if n.kind == "L":
        return (1, 0, 0, i, j)
    if n.kind in ("da", "dz", "dW", "db"):
        return (2, -n.layer, _ORDER[n.kind], i, j)
    return (3, n.layer, _ORDER[n.kind], i, j)


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
    """The first step's quantities of a solved scenario: values by name, worked expressions, dependencies."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.values = _values(trace)
        self._expressions: dict[str, Expr] = {}
        self._depends: dict[str, frozenset[str]] = {}

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def expression(self, key: str) -> Expr:
        """How the value named `key` is worked from the values before it; those values carry their names."""
        if key not in self._expressions:
            self._expressions[key] = _expression(self.trace, parse(key))
        return self._expressions[key]

    def expression_with(self, key: str, look: Look) -> Expr:
        """The worked expression of `key` from other values of its operands: `look(name, value)` gives
        each operand's (grading works a student's value again from their own earlier values)."""
        return _expression(self.trace, parse(key), look)

    def depends(self, key: str) -> frozenset[str]:
        """The quantities `key` is computed from (a batch's per-example loss L[e] stands for its outputs)."""
        if key not in self._depends:  # the blank policies ask for every quantity's, often more than once
            out: set[str] = set()
            for label in labels(self.expression(key)):
                out |= self.depends(label) if parse(label).kind == "L" else {label}
            self._depends[key] = frozenset(out)
        return self._depends[key]

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


def keep(built: Table) -> None:
    """Make `built` the table `table` gives for its trace again (a class's marking returns to a variant's
    sheet after others: its expressions need not be built twice)."""
    _LAST[:] = [built]


def _values(trace: Trace) -> dict[str, float]:
    if trace.matmul is not None:
        return {name("C", 0, i, j): float(v) for (i, j), v in np.ndenumerate(trace.matmul.c)}
    step = trace.steps[0]
    examples = trace.scenario.inputs.shape[0]

    def cells(kind: str, k: int, values: np.ndarray) -> dict[str, float]:  # rows are examples
        # the names `cell` gives, written directly: a class's marking builds a table for every variant
        stem = f"{kind}{k or ''}["
        return {(f"{stem}{i}]" if examples == 1 else f"{stem}{i},{n}]"): v
                for n, row in enumerate(values.tolist()) for i, v in enumerate(row) if math.isfinite(v)}

    def every(kind: str, k: int, values: np.ndarray) -> dict[str, float]:  # a parameter's cells
        stem = f"{kind}{k or ''}["
        if values.ndim == 1:
            return {f"{stem}{i}]": v for i, v in enumerate(values.tolist())}
        if values.ndim == 2:
            return {f"{stem}{i},{j}]": v for i, row in enumerate(values.tolist()) for j, v in enumerate(row)}
        return {name(kind, k, *index): float(v) for index, v in np.ndenumerate(values)}

    out: dict[str, float] = {}
    for key, values in step.forward.arrays().items():
        out.update(cells(key[0], int(key[1:]), values))
    if step.loss is not None:
        out["L"] = step.loss.value
    for key, values in step.gradients().items():
        kind, k = key[0], int(key[1:])
        if kind in "za":
            out.update(cells("d" + kind, k, values))
        else:
            out.update(every("d" + kind, k, values))
    for update in step.updates:
        kind, k = update.name[0], int(update.name[1:])
        out.update(every(kind, k, update.new))
    return out


def _same(label: str, value: float) -> float:
    return value


Look = Callable[[str, float], float]  # (an operand's name, the key's value of it) → the value to work with


def _expression(trace: Trace, key: Name, look: Look = _same) -> Expr:
    """The worked expression of `key`; `look` gives each named operand's value (by default the key's own),
    so grading can work a value again from a student's own earlier values, through every rule."""
    s, step = trace.scenario, trace.steps[0] if trace.steps else None
    examples = s.inputs.shape[0]
    kind, k = key.kind, key.layer
    i, j = (list(key.index) + [0, 0])[:2]

    def at(kind_: str, layer: int, unit: int, example: int) -> str:
        return cell(kind_, layer, unit, example, examples)

    def looked(labels: list[str], values: Iterable[float]) -> list[float]:
        return [look(label, float(v)) for label, v in zip(labels, values)]

    if kind == "C":
        m = trace.matmul
        return worked.linear(m.a[i], m.b[:, j], None, True, True)
    assert step is not None
    n = j  # for per-example quantities the second index is the example
    if kind == "z":
        lin = step.forward.linear[k - 1]
        inputs = [at("a", k - 1, u, n) for u in range(lin.inputs.shape[1])] if k > 1 else None
        row = looked(inputs, lin.inputs[n]) if inputs else lin.inputs[n]
        return worked.linear(lin.weights[i], row, None if lin.bias is None else lin.bias[i], True, k == 1, inputs)
    if kind == "a":
        act = step.forward.activate[k - 1]
        zs = [at("z", k, u, n) for u in range(act.z.shape[1])]
        return ACTIVATIONS[act.activation].row_expr(looked(zs, act.z[n]), i, act.slope, zs)
    loss = step.loss
    assert loss is not None
    units = loss.yhat.shape[1]
    last = len(s.layers)
    if kind == "L":
        if examples == 1 or key.index:  # the loss of one example
            e = key.index[0] if key.index else 0
            outputs = [at("a", last, u, e) for u in range(units)]
            return worked.loss_example(loss.spec, looked(outputs, loss.yhat[e]), loss.y[e], outputs)
        names = [name("L", 0, e) for e in range(examples)]
        return worked.loss_total(loss.spec, looked(names, loss.per_example), names)
    grads = {type(g).__name__ + str(g.layer): g for g in step.backward}
    if kind == "da" and k == last:
        output = at("a", k, i, n)
        return worked.loss_gradient(loss.spec, look(output, loss.yhat[n, i]), loss.y[n, i], examples, units, output)
    if kind == "dz" and k == last:
        output = grads[f"OutputDelta{k}"]
        yhat = at("a", k, i, n)
        if output.shortcut is not None:
            return worked.shortcut(loss.spec, look(yhat, loss.yhat[n, i]), loss.y[n, i], examples, units, yhat)
        dyhat_dz = output.dyhat_dz[n, i]
        if look is not _same:  # ∂ŷ/∂z worked again from the student's own z and ŷ
            act = step.forward.activate[k - 1]
            z, a = look(at("z", k, i, n), act.z[n, i]), look(yhat, loss.yhat[n, i])
            dyhat_dz = worked.value(worked.derivative(act.activation, z, a, act.slope)[0], trace.precision)
        return worked.product(look(at("da", k, i, n), output.dl_dyhat[n, i]), dyhat_dz, at("da", k, i, n),
                              computed_from(yhat))
    if kind == "dW":
        g = grads[f"LayerGradient{k}"]
        deltas = [at("dz", k, i, e) for e in range(examples)]
        inputs = [at("a", k - 1, j, e) for e in range(examples)] if k > 1 else None
        return worked.weight_gradient(looked(deltas, g.delta[:, i]), looked(inputs, g.inputs[:, j]) if inputs else
                                      g.inputs[:, j], k == 1, deltas, inputs)
    if kind == "db":
        g = grads[f"LayerGradient{k}"]
        deltas = [at("dz", k, i, e) for e in range(examples)]
        return worked.bias_gradient(looked(deltas, g.delta[:, i]), deltas)
    if kind == "da":
        back = grads[f"BackToPrevious{k + 1}"]
        deltas = [at("dz", k + 1, u, n) for u in range(back.delta.shape[1])]
        return worked.backprop(back.weights[:, i], looked(deltas, back.delta[n]), True, deltas)
    if kind == "dz":
        through = grads[f"ThroughActivation{k}"]
        derivative, _ = worked.derivative(through.activation, look(at("z", k, i, n), through.z[n, i]),
                                          look(at("a", k, i, n), through.a[n, i]), through.slope, at("a", k, i, n))
        return op("mul", num(look(at("da", k, i, n), through.upstream[n, i]), label=at("da", k, i, n)), derivative)
    update = next(u for u in step.updates if u.name == f"{kind}{k}")
    index = key.index if update.old.ndim == 2 else key.index[:1]
    gradient = name("d" + kind, k, *index)
    lines = worked.optimizer_update(s.optimizer, update.old[index], look(gradient, update.grad[index]),
                                    s.learning_rate or 0.0, {}, 1, trace.precision, True, gradient)
    return lines[-1][1]
