"""The one table of quantities: every value of the first step a walkthrough prints, by its canonical name.

A name is what a teacher says and a student writes in an answer file: `z1[0]` (one example) or `z1[0,1]`
(unit 0 of example 1) for a layer's pre-activation, `a2[0]` its output, `dz1`/`da1` for ∂L/∂z₁ and ∂L/∂a₁,
`dW2[0,1]` and `db2[0]` for the gradients, `W2[0,1]` and `b2[0]` for the values after the update, `L` for
the loss, `C[0,1]` for a matrix product. A later pass is another quantity with the same name and a step
qualifier: `a2[0]@2` is step 2's output, `a2[0]@final` the forward pass after training.
A layer's intermediates are quantities too where its record names them (`intermediates()`, beside the
`produces()` the JSON reads): self-attention's q1[0,t,m], k1, v1, S1[0,i,j], Sc1, A1 and O1, worked before a1,
and backward its dO1, dA1, dv1, dSc1, dS1, dq1 and dk1, worked after da1 and before dWQ1;
an LSTM's zi1[0,t,u] … o1, c1 (and h1 with return: last), and back through time dh1, dc1, di1 … dzo1.

This module holds the ONE grammar (`parse`, `name`), the ONE order a student works in (`sort_key`), and
the ONE map from a name to its worked expression (`Table.expression`, built by `nnworked.workings` from the
record that produced the value), whose Num leaves carry the names of their operands; what a quantity is
computed from (`Table.depends`) is read off those leaves. Renderers, sheets, grading, the Moodle writer,
generate and the JSON exercise section all read it.
"""

from __future__ import annotations

import functools
import math
import re
from typing import TYPE_CHECKING, Iterable, NamedTuple

import numpy as np

from nnworked.expr import Expr, Num
from nnworked.trace import Trace

if TYPE_CHECKING:
    from nnworked.workings import Look

_NAME = re.compile(r"^([a-zA-Z]+?)(\d*)(?:\.([a-z]+))?(?:\[(\d+(?:,\d+)*)\])?(?:@(\d+|final))?$")
INTERMEDIATE = {"q": 1.1, "k": 1.2, "v": 1.3, "S": 1.4, "Sc": 1.5, "A": 1.6, "O": 1.7}  # worked before a layer's a
_ORDER = {**INTERMEDIATE, "C": 0, "z": 1, "a": 2, "L": 3, "da": 4, "dz": 5, "dW": 6, "dK": 6, "dgamma": 6, "db": 7, "dbeta": 7, "W": 8,
          "K": 8, "gamma": 8, "b": 9, "beta": 9}
# An LSTM's values of each step (lstm_records), worked step by step: each gate's z and value, c, and with
# return: last the earlier h; back through time from the last step, ∂L/∂h, ∂L/∂c, each gate's ∂L/∂q and ∂L/∂z
LSTM_FORWARD = {"zi": 0, "i": 1, "zf": 2, "f": 3, "zg": 4, "g": 5, "zo": 6, "o": 7, "c": 8, "h": 9}
LSTM_BACKWARD = {"dh": 0, "dc": 1, "di": 2, "dzi": 3, "df": 4, "dzf": 5, "dg": 6, "dzg": 7, "do": 8, "dzo": 9}
INTERMEDIATE.update(dict.fromkeys(LSTM_FORWARD, 1.8))  # worked before the layer's a, as attention's are
GRADIENT_INTERMEDIATE = {"dO": 4.1, "dA": 4.2, "dv": 4.3, "dSc": 4.4, "dS": 4.5, "dq": 4.6, "dk": 4.7}  # after a layer's da
_ORDER.update(GRADIENT_INTERMEDIATE)
PER_EXAMPLE = ("z", "a", "dz", "da")  # indexed [unit] with one example, [unit,example] in a batch
FIRST_STEP = 1
FINAL = "final"  # the step qualifier of the forward pass with the parameters after training


class Name(NamedTuple):
    kind: str  # z, a, dz, da, dW, db, W, b, L, C
    layer: int  # 0 when the kind has none (L, C)
    index: tuple[int, ...]
    step: int | str = FIRST_STEP  # 1, 2, …, or FINAL
    part: str = ""  # an LSTM's gate: the i of Wx2.i[0,1]

    def __str__(self) -> str:
        text = f"{self.kind}{self.layer or ''}" + (f".{self.part}" if self.part else "")
        if self.index:
            text += f"[{','.join(map(str, self.index))}]"
        return text if self.step == FIRST_STEP else f"{text}@{self.step}"


@functools.lru_cache(maxsize=1 << 16)  # the same few names are parsed again and again while a class is marked
def parse(text: str) -> Name:
    """Name("dW", 2, (0, 1)) from "dW2[0,1]"; ValueError when `text` is not a name."""
    match = _NAME.match(text)
    if not match:
        raise ValueError(text)
    kind, layer, part, index, step = match.groups()
    steps: int | str = FIRST_STEP if step is None else (FINAL if step == FINAL else int(step))
    return Name(kind, int(layer or 0), tuple(int(i) for i in index.split(",")) if index else (), steps, part or "")


def name(kind: str, layer: int, *index: int, step: int | str = FIRST_STEP, part: str = "") -> str:
    """"dW2[0,1]" from ("dW", 2, 0, 1); "dWx2.i[0,1]" with part "i" (an LSTM's gate)."""
    return str(Name(kind, layer, tuple(index), step, part))


def cell(kind: str, layer: int, unit: int | tuple[int, ...], example: int, examples: int,
         step: int | str = FIRST_STEP) -> str:
    """A per-example value: z1[0] with one example, z1[0,1] (unit 0 of example 1) in a batch; an image's
    element is indexed by (channel, row, col): z1[0,2,1], and z1[0,2,1,3] for example 3 of a batch. A
    sequence's element, unit (position, unit), is always [example, position, unit]: z3[0,1,2]."""
    units = unit if isinstance(unit, tuple) else (unit,)
    if len(units) == 2:
        return name(kind, layer, example, *units, step=step)
    return name(kind, layer, *units, step=step) if examples == 1 else name(kind, layer, *units, example, step=step)


def at_step(text: str, step: int | str) -> str:
    """The same quantity in another pass: at_step("a2[0]", 2) is "a2[0]@2"."""
    return str(parse(text)._replace(step=step)) if text else text


def sort_key(text: str) -> tuple:
    """The order a student works in: layer by layer forward (z then a), the loss, layer by layer backward,
    then the updates."""
    n = parse(text)
    if n.kind in LSTM_FORWARD:  # step by step: each gate, then c (and h) of step t, then step t + 1
        return (0, n.layer, INTERMEDIATE[n.kind], n.index[1], LSTM_FORWARD[n.kind], n.index[0], n.index[2])
    if n.kind in LSTM_BACKWARD:  # from the last step back, after ∂L/∂a and before the weights' gradients
        return (2, -n.layer, 4.5, -n.index[1], LSTM_BACKWARD[n.kind], n.index[0], n.index[2])
    i, j = (list(n.index) + [0, 0])[:2]
    if n.kind in ("C", "z", "a") or n.kind in INTERMEDIATE:
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
        self._depends: dict[str, frozenset[str]] = {}

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
            from nnworked.workings import expression  # it reads this module's names

            self._expressions[key] = expression(self.trace, parse(key))
        return self._expressions[key]

    def expression_with(self, key: str, look: Look) -> Expr:
        """The worked expression of `key` from other values of its operands: `look(name, value)` gives
        each operand's (grading works a student's value again from their own earlier values)."""
        from nnworked.workings import expression

        return expression(self.trace, parse(key), look)

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


def keep(built: Table) -> None:
    """Make `built` the table `table` gives for its trace again (a class's marking returns to a variant's
    sheet after others: its expressions need not be built twice)."""
    _LAST[:] = [built]


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
        if values.ndim == 2:  # the names `cell` gives, written directly: a class's marking builds many tables
            stem = f"{kind}{k or ''}["
            return {(f"{stem}{i}]" if examples == 1 else f"{stem}{i},{n}]"): v
                    for n, row in enumerate(values.tolist()) for i, v in enumerate(row) if math.isfinite(v)}
        return {cell(kind, k, tuple(index[1:]), index[0], examples): float(v)
                for index, v in np.ndenumerate(values) if np.isfinite(v)}

    def every(kind: str, k: int, values: np.ndarray, part: str = "") -> dict[str, float]:  # a parameter's cells
        stem = f"{kind}{k or ''}{'.' + part if part else ''}["
        if values.ndim == 1:
            return {f"{stem}{i}]": v for i, v in enumerate(values.tolist())}
        if values.ndim == 2:
            return {f"{stem}{i},{j}]": v for i, row in enumerate(values.tolist()) for j, v in enumerate(row)}
        return {name(kind, k, *index, part=part): float(v) for index, v in np.ndenumerate(values)}

    out: dict[str, float] = {}
    for key, values in step.forward.arrays().items():
        out.update(cells(key[0], int(key[1:]), values))
    for operation in step.forward.operations:  # a layer's named intermediates (self-attention's Q, S, A …)
        for kind, values in getattr(operation, "intermediates", dict)().items():
            out.update({name(kind, operation.layer, *index): float(v)
                        for index, v in np.ndenumerate(values) if np.isfinite(v)})
    for operation in step.backward:  # a layer's named gradients (an LSTM's ∂L/∂h, ∂L/∂c …, attention's ∂L/∂A …)
        for kind, values in getattr(operation, "intermediates", dict)().items():
            out.update({name(kind, operation.layer, *index): float(v)
                        for index, v in np.ndenumerate(values) if np.isfinite(v)})
    if step.loss is not None:
        out["L"] = step.loss.value
    for key, values in step.gradients().items():
        array = parse(key)
        if array.kind in PER_EXAMPLE:
            out.update(cells("d" + array.kind, array.layer, values))
        else:
            out.update(every("d" + array.kind, array.layer, values, array.part))
    for update in step.updates:
        parameter = parse(update.name)
        out.update(every(parameter.kind, parameter.layer, update.new, parameter.part))
    return out

