"""Each value's worked expression, by the record that produced it: one function per trace record type
(`_WORKERS`), each building the expression tree of one element exactly as the walkthrough prints it, with
its operands named (`quantities` names every value; this module says how each is worked)."""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from nnworked import worked
from nnworked.expr import Expr, Num, num, op
from nnworked.quantities import FINAL, FIRST_STEP, INTERMEDIATE, LSTM_BACKWARD, PER_EXAMPLE, Name, cell, computed_from, name
from nnworked.quantities import GRADIENT_INTERMEDIATE
from nnworked.rules.activations import ACTIVATIONS
from nnworked.trace import Trace


def _same(label: str, value: float) -> float:
    return value


Look = Callable[[str, float], float]  # (an operand's name, the key's value of it) → the value to work with


def _pass(trace: Trace, step: int | str):  # noqa: ANN202
    """The forward pass, the loss and (for a training step) the step whose values carry this qualifier."""
    if step == FINAL:
        assert trace.final is not None
        forward, loss = trace.final
        return forward, loss, None
    training = trace.steps[int(step) - 1]
    return training.forward, training.loss, training


class Place(NamedTuple):
    """Where an expression is worked: the pass, the example, the unit, and how its operands are named."""

    trace: Trace
    key: Name
    examples: int
    unit: tuple[int, ...]  # (i,) for a vector per example, (channel, row, col) for an image
    n: int  # the example
    first: bool  # the first step: the parameters are the numbers the user wrote
    look: Look = _same  # each named operand's value to work with (grading: the student's own)
    sequence: bool = False  # the value is a sequence's: unit is (position, unit), its name [example, position, unit]

    @property
    def looked(self) -> bool:
        """Whether operands take other values than the key's (then a derivative is worked again too)."""
        return self.look is not _same

    def value(self, label: str, value: float) -> float:
        """An operand's value: the key's, or what `look` gives for its name."""
        return self.look(label, float(value)) if label else float(value)

    def values(self, labels: list[str] | None, values: np.ndarray) -> list[float]:
        return [float(v) for v in values] if labels is None else \
            [self.value(label, v) for label, v in zip(labels, values)]

    @property
    def i(self) -> int:
        """The unit (of a vector, or at one position of a sequence)."""
        return self.unit[-1] if self.sequence else self.unit[0]

    @property
    def row(self) -> tuple[int, ...]:
        """Where the value's row is in a per-example array: (example,), or (example, position)."""
        return (self.n, *self.unit[:-1]) if self.sequence else (self.n,)

    def at_row(self, kind: str, layer: int, unit: int) -> str:
        """The name of another unit of the same row (the same example, and position of a sequence)."""
        return self.at(kind, layer, (*self.unit[:-1], unit) if self.sequence else unit)

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


def expression(trace: Trace, key: Name, look: Look = _same) -> Expr:
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
        units, last = loss.yhat.shape[-1], len(s.layers)
        place = Place(trace, key, examples, (), 0, first, look)
        rows = loss.per_example.shape  # (examples,), or (examples, positions) when the loss is at every position
        if int(np.prod(rows)) == 1 or key.index:  # the loss of one example (at one position)
            row = key.index if key.index else (0,) * len(rows)
            unit = (lambda u: (row[1], u)) if len(rows) == 2 else (lambda u: u)
            outputs = [place.at("a", last, unit(u), row[0]) for u in range(units)]
            return worked.loss_example(loss.spec, place.values(outputs, loss.yhat[row]), loss.y[row], outputs)
        names = [name("L", 0, *index, step=key.step) for index in np.ndindex(*rows)]
        return worked.loss_total(loss.spec, place.values(names, loss.per_example.reshape(-1)), names)
    if kind in INTERMEDIATE or kind in LSTM_BACKWARD or kind in GRADIENT_INTERMEDIATE:  # worked by the layer's own module
        records = forward.operations if kind in INTERMEDIATE else step.backward
        record = next(r for r in records if getattr(r, "layer", None) == k and hasattr(r, "intermediates"))
        place = Place(trace, key, examples, tuple(key.index[1:]), key.index[0], first, look, True)
        worker = type(record).__name__ + ".intermediate"
        expr = _WORKERS[worker](record, kind, place)
        return expr if worker in _LOOKING else _looked(expr, place)  # a worker that looks its operands up itself
    per_example = kind in PER_EXAMPLE
    array = f"{kind}{k}" if kind in ("z", "a") else f"{kind[1:]}{k}" + (f".{key.part}" if key.part else "")
    if kind in ("z", "a"):
        records = forward.operations
    elif kind.startswith("d"):
        assert step is not None
        records = step.backward
    else:  # a parameter after its update
        assert step is not None
        return _updated(trace, step, key, look)
    record = next(r for r in records if array in r.produces())
    sequence = per_example and record.produces()[array].ndim == 3  # named [example, position, unit]
    if sequence:
        unit, n = key.index[1:], key.index[0]
    else:
        unit, n = (key.index, 0) if not per_example or examples == 1 else (key.index[:-1], key.index[-1])
    place = Place(trace, key, examples, tuple(unit), n, first, look, sequence)
    worker = _WORKERS.get(type(record).__name__)
    if worker is None:
        raise TypeError(f"the table of quantities has no working for a {type(record).__name__} record")
    expr = worker(record, kind, place)
    if type(record).__name__ not in _LOOKING:  # its leaves take the student's values here instead
        expr = _looked(expr, place)
    joined = next((r for r in records if hasattr(r, "skips") and kind == "da" and r.layer == k), None)
    return expr if joined is None else _WORKERS["GradientSum"](joined, expr, place)  # + each skip's gradient


def _looked(expr: Expr, p: "Place") -> Expr:
    """Each named number of `expr` with the value the place works with (the student's own, in grading)."""
    if not p.looked:
        return expr
    if isinstance(expr, Num):
        return expr._replace(value=p.value(expr.label, expr.value)) if expr.label and "|" not in expr.label else expr
    return expr._replace(args=tuple(_looked(a, p) for a in expr.args))


def _updated(trace: Trace, step, key: Name, look: Look) -> Expr:  # noqa: ANN001
    s, kind, k = trace.scenario, key.kind, key.layer
    update = next(u for u in step.updates if u.name == f"{kind}{k}" + (f".{key.part}" if key.part else ""))
    index = key.index if update.old.ndim >= 2 else key.index[:1]
    if update.frozen:  # it keeps the value the file gave, whatever its gradient
        return num(float(update.old[index]), True)
    gradient = name("d" + kind, k, *index, part=key.part)
    lines = worked.optimizer_update(s.optimizer, update.old[index], look(gradient, float(update.grad[index])),
                                    s.learning_rate or 0.0, {}, 1, trace.precision, True, gradient)
    return lines[-1][1]


# ---- each record type's working of one element -------------------------------------------------------

def _linear(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    k, i = r.layer, p.i
    inputs = [p.at_row("a", k - 1, u) for u in range(r.inputs.shape[-1])] if k > 1 else None
    return worked.linear(r.weights[i], p.values(inputs, r.inputs[p.row]), None if r.bias is None else r.bias[i], p.first,
                         k == 1, inputs,
                         [p.before("W", k, i, u) for u in range(r.weights.shape[1])], p.before("b", k, i))


def _activate(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    rule, z = ACTIVATIONS[r.activation], r.z[p.row]
    if z.ndim == 1:  # a row: one example's (at one position of a sequence), softmax over it
        names = [p.at_row("z", r.layer, u) for u in range(z.shape[0])]
        return rule.row_expr(p.values(names, z), p.i, r.slope, names)
    names = p.names("z", r.layer, z.shape)  # an image: elementwise, so only this element's z is worked
    own = z.copy()
    own[p.unit] = p.value(names[p.unit], z[p.unit])
    return rule.row_expr(own, p.unit, r.slope, names)


def _convolve(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    """Σ K[o, c, p, q] × a[c, i·s + p − P, j·s + q − P] + b[o]; a position in the padding is a given 0."""
    k, (o, i, j) = r.layer, p.unit
    _, channels, rows, cols = r.kernels.shape
    height, width = r.inputs.shape[2:]
    terms: list[Expr] = []
    for c, dy, dx in np.ndindex(channels, rows, cols):
        y, x = i * r.stride + dy - r.padding, j * r.stride + dx - r.padding
        inside = 0 <= y < height and 0 <= x < width
        label = p.at("a", k - 1, (c, y, x)) if inside and k > 1 else ""
        value = p.value(label, r.inputs[p.n, c, y, x]) if inside else 0.0
        terms.append(op("mul", num(r.kernels[o, c, dy, dx], p.first, p.before("K", k, o, c, dy, dx)),
                        num(value, k == 1 or not inside, label)))
    if r.bias is not None:
        terms.append(num(r.bias[o], p.first, p.before("b", k, o)))
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _window(r, p: Place) -> list[Expr]:  # noqa: ANN001
    """The elements of the pooling window under output (c, i, j), row by row, by name."""
    k, (c, i, j) = r.layer, p.unit
    out = []
    for dy, dx in np.ndindex(r.size, r.size):
        y, x = i * r.stride + dy, j * r.stride + dx
        label = p.at("a", k - 1, (c, y, x)) if k > 1 else ""
        out.append(num(p.value(label, r.inputs[p.n, c, y, x]), k == 1, label))
    return out


def _pool(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    window = _window(r, p)
    if r.winners is not None:
        return op("max", *window)
    return op("div", op("add", *window) if len(window) > 1 else window[0], num(len(window), True))


def _flatten(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    """The same number, now at position i of the vector."""
    source = tuple(int(v) for v in np.unravel_index(p.i, r.inputs.shape[1:]))
    label = p.at("a", r.layer - 1, source) if r.layer > 1 else ""
    return num(p.value(label, r.inputs[(p.n, *source)]), r.layer == 1, label)


def _output_delta(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    loss = _pass(p.trace, p.key.step)[1]
    units, k, i = loss.yhat.shape[-1], r.layer, p.i
    at = (*p.row, i)
    rows = loss.yhat.size // units  # the loss's rows: examples, or examples × positions of a sequence
    yhat = p.at_row("a", k, i)
    if kind == "da":
        return worked.loss_gradient(loss.spec, p.value(yhat, loss.yhat[at]), loss.y[at], rows, units, yhat)
    if r.shortcut is not None:
        return worked.shortcut(loss.spec, p.value(yhat, loss.yhat[at]), loss.y[at], rows, units, yhat)
    dyhat_dz = r.dyhat_dz[at]
    if p.looked:  # ∂ŷ/∂z worked again from the student's own z and ŷ
        activation = _activation_record(p, k)
        z, a = p.value(p.at_row("z", k, i), activation.z[at]), p.value(yhat, loss.yhat[at])
        dyhat_dz = worked.value(worked.derivative(r.activation, z, a, activation.slope)[0], p.trace.precision)
    return worked.product(p.value(p.at_row("da", k, i), r.dl_dyhat[at]), dyhat_dz, p.at_row("da", k, i),
                          computed_from(yhat))


def _activation_record(p: Place, k: int):  # noqa: ANN202
    forward = _pass(p.trace, p.key.step)[0]
    return next(r for r in forward.operations if f"a{k}" in r.produces())



def _through_activation(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    index = (p.n, *p.unit)
    unit = p.unit if len(p.unit) > 1 else p.i
    a, da = p.at("a", r.layer, unit), p.at("da", r.layer, unit)
    derivative, _ = worked.derivative(r.activation, p.value(p.at("z", r.layer, unit), r.z[index]),
                                      p.value(a, r.a[index]), r.slope, a)
    return op("mul", num(p.value(da, r.upstream[index]), label=da), derivative)


def _layer_gradient(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    k = r.layer
    i = p.key.index[0]
    # summed over the examples, and over the positions of a sequence (example by example, position by position)
    rows = list(np.ndindex(*r.delta.shape[:-1]))
    unit = (lambda row, u: (row[1], u)) if r.delta.ndim == 3 else (lambda row, u: u)
    deltas = [p.at("dz", k, unit(row, i), row[0]) for row in rows]
    delta_values = [r.delta[(*row, i)] for row in rows]
    if kind == "db":
        return worked.bias_gradient(p.values(deltas, delta_values), deltas)
    j = p.key.index[1]
    inputs = [p.at("a", k - 1, unit(row, j), row[0]) for row in rows] if k > 1 else None
    return worked.weight_gradient(p.values(deltas, delta_values), p.values(inputs, [r.inputs[(*row, j)] for row in rows]),
                                  p.first and k == 1, deltas, inputs)


def _back_to_previous(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    k, j, rows = r.layer, p.i, range(r.delta.shape[-1])
    deltas = [p.at_row("dz", k, u) for u in rows]
    return worked.backprop(r.weights[:, j], p.values(deltas, r.delta[p.row]), p.first, deltas,
                           [p.before("W", k, u, j) for u in rows])


def _kernel_gradient(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    """∂L/∂K[o, c, p, q] = Σ_n,i,j δ[n, o, i, j] × a[n, c, i·s + p − P, j·s + q − P]; ∂L/∂b[o] = Σ δ[n, o, ·, ·]."""
    k = r.layer
    examples, _, out_rows, out_cols = r.delta.shape
    height, width = r.inputs.shape[2:]
    if kind == "db":
        (o,) = p.key.index
        terms = [_named(p, p.at("dz", k, (o, i, j), e), r.delta[e, o, i, j])
                 for e, i, j in np.ndindex(examples, out_rows, out_cols)]
        return terms[0] if len(terms) == 1 else op("add", *terms)
    o, c, dy, dx = p.key.index
    terms = []
    for e, i, j in np.ndindex(examples, out_rows, out_cols):
        y, x = i * r.stride + dy - r.padding, j * r.stride + dx - r.padding
        if not (0 <= y < height and 0 <= x < width):
            continue  # a position in the padding: its product is 0
        source = p.at("a", k - 1, (c, y, x), e) if k > 1 else ""
        terms.append(op("mul", _named(p, p.at("dz", k, (o, i, j), e), r.delta[e, o, i, j]),
                        num(p.value(source, r.inputs[e, c, y, x]), k == 1 and p.first, source)))
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _conv_back(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    """∂L/∂a[c, y, x] = Σ_o,p,q δ[o, i, j] × K[o, c, p, q] over the outputs (i, j) whose window covered (y, x)
    at kernel position (p, q): the full convolution with the flipped kernel, read element by element."""
    from nnworked.rules.layers.conv2d import input_terms

    k, c = r.layer, p.unit[0]
    terms = [op("mul", _named(p, p.at("dz", k, (o, i, j)), r.delta[p.n, o, i, j]),
                num(r.kernels[o, c, dy, dx], p.first, p.before("K", k, o, c, dy, dx)))
             for o, i, j, dy, dx in input_terms(r, p.unit)]
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _pool_back(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    """∂L/∂a[c, y, x] = the gradients of the windows it won (max) or its share of every window over it (avg)."""
    k, (c, y, x) = r.layer, p.unit
    out_rows, out_cols = r.gradient.shape[2:]
    terms: list[Expr] = []
    for i, j in np.ndindex(out_rows, out_cols):
        dy, dx = y - i * r.stride, x - j * r.stride
        if not (0 <= dy < r.size and 0 <= dx < r.size):
            continue
        gradient = _named(p, p.at("da", k, (c, i, j)), r.gradient[p.n, c, i, j])
        if r.winners is None:
            terms.append(op("div", gradient, num(r.size * r.size, True)))
        elif r.winners[p.n, c, i, j] == dy * r.size + dx:
            terms.append(gradient)
    if not terms:
        return num(0.0, True)
    return terms[0] if len(terms) == 1 else op("add", *terms)


def _unflatten(r, kind: str, p: Place) -> Expr:  # noqa: ANN001
    position = int(np.ravel_multi_index(p.unit, r.upstream.shape[1:]))
    return _named(p, p.at("da", r.layer, position), r.gradient[p.n, position])


def _named(p: Place, label: str, value: float) -> Expr:
    """A computed operand, by its name, with the value the place works with."""
    return num(p.value(label, value), label=label)


_WORKERS: dict[str, Callable[..., Expr]] = {"Linear": _linear, "Activate": _activate, "Convolve": _convolve, "Pool": _pool, "Flatten": _flatten,
            "OutputDelta": _output_delta, "ThroughActivation": _through_activation, "LayerGradient": _layer_gradient,
            "BackToPrevious": _back_to_previous, "KernelGradient": _kernel_gradient,
            "ConvBackToPrevious": _conv_back, "PoolBack": _pool_back, "Unflatten": _unflatten}
_LOOKING = set(_WORKERS)  # the workers above take grading's look-up themselves


def _more_workers() -> None:
    from nnworked.normworked import WORKERS  # dropout, residual and normalisation: their own module
    from nnworked.lstmworked import WORKERS as LSTM_WORKERS  # the lstm layer: its own module
    from nnworked.lstmworked import LOOKING as LSTM_LOOKING

    _WORKERS.update(WORKERS)
    from nnworked.rnnworked import LOOKING as RNN_LOOKING, WORKERS as RNN  # the rnn layer's: its own module
    from nnworked.attentionworked import WORKERS as ATTENTION  # self_attention: its own module

    _WORKERS.update(RNN)
    _LOOKING.update(RNN_LOOKING)
    _WORKERS.update(LSTM_WORKERS)
    _LOOKING.update(LSTM_LOOKING)
    _WORKERS.update(ATTENTION)


_more_workers()
