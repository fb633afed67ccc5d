"""A Trace as a walkthrough: the sections of the seed documents, as blocks any format can print."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.render.backward import BackwardWriter
from nnworked.render.blocks import Block, Bullets, Heading, Image, Math, Para, Rule, Table
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.chart import sparkline
from nnworked.render.notation import Notation
from nnworked.render.observations import all_dead, observations
from nnworked.render.numbers import Blanks, blanking, fmt, matrix_lines, vector
from nnworked.render.settings import Settings
from nnworked.scenario import Scenario
from nnworked.trace import Trace, TrainingStep, Update

SUMMARY_ROWS = 24  # rows of the summary table before it is elided
LONG_VECTOR = 12  # worked in full, a vector longer than this gets one summary row per element


def build(trace: Trace, settings: Settings) -> list[Block]:
    """The walkthrough; on an exercise sheet every blanked value prints as ?, wherever it appears."""
    if settings.blanks is not None:  # a sheet works every element: no blank may hide in an elided one
        settings = settings._replace(full=True)
    with blanking(settings.blanks):
        blocks = _build(trace, settings)
    if settings.blanks is None:
        return blocks
    return _exercise_header(settings.blanks) + blocks[1:] + _answers(trace, settings.blanks)


def _exercise_header(blanks: Blanks) -> list[Block]:
    count = len(blanks.keys)
    if blanks.answers:
        return [Para(f"**Answer key** · variant {blanks.variant} · the {count} values to fill in are marked "
                     "← answer and listed at the end")]
    return [Para(f"**Exercise** · variant {blanks.variant} · fill in each {blanks.glyph} ({count} values); work each "
                 "one from the values around it")]


NAMING = ("Values are named as in the answers: z1[1,0] is unit 1 of the first example (counting from 0), "
          "dW2[0,1] is ∂L/∂W₂[0,1], W2[0,1] is W₂[0,1] after the update.")


def _answers(trace: Trace, blanks: Blanks) -> list[Block]:
    if not blanks.answers:
        return []
    from nnworked.exercise import quantities

    values = quantities(trace)
    rows = [[key, fmt(values[key], trace.precision)] for key in sorted(blanks.keys, key=_natural)]
    return [Rule(), Heading(2, f"Answers (variant {blanks.variant})"), Para(NAMING),
            Table(["Value", "Answer"], rows, ("left", "right"))]


def _natural(key: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _build(trace: Trace, settings: Settings) -> list[Block]:
    s = trace.scenario
    out: list[Block] = [Heading(1, s.title)]
    if s.description:
        out.append(Para(s.description))
    if trace.matmul is not None:
        return out + _matmul(trace, settings)
    if (settings.layout or s.layout) == "ai-by-hand":
        from nnworked.render import byhand

        return out + byhand.build(trace, settings)
    notation = Notation(len(s.layers), s.inputs.shape[0])
    writer = BackwardWriter(trace.precision, notation, settings, s.loss)
    out += _setup(trace, writer)
    for step in shown_steps(trace, settings):
        if step.number > 1 and not settings.all_steps:
            break
        if len(trace.steps) > 1:
            out += [Rule(), Heading(2, f"Training Step {step.number} of {len(trace.steps)}")]
        if settings.detail == "brief":
            from nnworked.render import brief

            out += brief.forward(step, writer)
        else:
            out += [Rule(), Heading(2, "Forward Pass"), *writer.forward(step.forward, 1)]
        if step.loss is None:
            out += [Rule(), Heading(2, "Result"), *_prediction(writer, step)]
            continue
        if settings.detail == "brief":
            from nnworked.render import brief

            out += brief.backward(step, writer)
        else:
            out += [Rule(), Heading(2, "Loss Computation"), *writer.loss(step.loss)]
            out += [Rule(), Heading(2, "Backward Pass (Backpropagation)"),
                    Para("We compute gradients using the **chain rule**, propagating from output to input."),
                    *writer.backward(step, 3)]
        if not step.updates:
            out += [Rule(), Para("No learning rate is given, so the walkthrough stops at the gradients."),
                    *key_observations(trace, step, writer)]
            continue
        out += [Rule(), *updates(trace, step, writer), *key_observations(trace, step, writer)]
    if trace.final is not None:
        out += after_training(trace, writer, settings)
    return out + explanations(trace, writer, settings)


def shown_steps(trace: Trace, settings: Settings):  # noqa: ANN201
    """The steps to work (the loops stop after step 1 unless --all-steps), with a bar when every one is."""
    if not settings.all_steps:
        return trace.steps
    from nnworked import progress

    return progress.track(trace.steps, len(trace.steps), "Working every step")


def explanations(trace: Trace, w: BackwardWriter, settings: Settings) -> list[Block]:
    """--detail full: the derivations and why matrices; --why-matrices: the latter alone."""
    out: list[Block] = []
    if settings.detail == "full":
        from nnworked.render.derivations import derivations  # only when asked: the command starts faster

        out += derivations(trace, w)
    if settings.detail == "full" or settings.why_matrices:
        from nnworked.render.matrices import why_matrices

        out += why_matrices(trace, w)
    return out


# ---- problem setup -----------------------------------------------------------------------------------

def _architecture(s: Scenario, n: Notation) -> str:
    parts = [f"Input ({s.inputs.shape[1]})"]
    for k, layer in enumerate(s.layers, start=1):
        act = ACTIVATIONS[layer.activation]
        parts.append(f"{n.layer_name(k)} ({layer.units}" + (f", {act.label})" if not act.identity else ")"))
    if s.loss:
        parts.append("Loss")
    return "  →  ".join(parts)


def _setup(trace: Trace, w: BackwardWriter) -> list[Block]:
    s, n, p = trace.scenario, w.n, trace.precision
    names = f" (features: {', '.join(s.input_names)})" if s.input_names else ""
    bullets = [f"**Input layer:** {s.inputs.shape[1]} neuron{'s' if s.inputs.shape[1] != 1 else ''}{names}"]
    for k, layer in enumerate(s.layers, start=1):
        act = ACTIVATIONS[layer.activation]
        with_act = f" with **{act.label}** activation" if not act.identity else " (no activation)"
        name = f" “{layer.name}”" if layer.name and layer.name.lower() not in ("hidden", "output") else ""
        plural = "s" if layer.units != 1 else ""
        bullets.append(f"**{n.layer_name(k)} layer{name}:** {layer.units} neuron{plural}{with_act}"
                       + ("" if layer.bias is not None else ", no bias"))
    if s.loss:
        bullets.append(f"**Loss function:** {LOSSES[s.loss.name].label}")
    out: list[Block] = [Rule(), Heading(2, "Problem Setup"), Para("**Network Architecture:**"), Bullets(bullets),
                        Math([_architecture(s, n)]), Heading(3, "Initial Values")]
    examples = s.inputs.shape[0]
    out.append(Para("**Input and Target:**" if s.targets is not None else "**Input:**"))
    if examples == 1:
        x = s.inputs[0]
        lines = [f"x = {vector(x, p, given=True, limit=w.s.elements)}"]
        if s.targets is not None:
            y = s.targets[0]
            lines.append(f"y = {fmt(y[0], p, given=True) if y.size == 1 else vector(y, p, given=True)}")
        width = max(len(l) for l in lines) + 4
        lines = [l.ljust(width) + note for l, note in zip(lines, ["(input features)", "(target)"])]
    else:
        lines = _matrix("X", s.inputs, p, w.s.elements, given=True) + [f"(one row per example: {examples} examples)"]
        if s.targets is not None:
            lines += [""] + _matrix("Y", s.targets, p, w.s.elements, given=True)
    out.append(Math(lines))
    out.append(Para("**Weights and Biases:**"))
    for k, layer in enumerate(s.layers, start=1):
        out.append(Para(f"Layer {k} ({n.layer_name(k - 1)} → {n.layer_name(k)}):"))
        lines = _matrix(n.W(k), layer.weights, p, w.s.elements, given=True)
        if layer.bias is not None:
            bias = layer.bias[:, None] if layer.bias.size > 1 else layer.bias
            lines += [""] + _matrix(n.b(k), bias, p, w.s.elements, given=True)
        out.append(Math(lines))
    out += parameter_count(s, w)
    if s.learning_rate is not None:
        out.append(Para(f"**Learning rate:** η = {fmt(s.learning_rate, p, given=True)}"))
        extra = []
        if s.optimizer.rule.has_state:
            settings = ", ".join(f"{k} = {fmt(s.optimizer.get(k), p, given=True)}" for k in
                                 sorted(set(s.optimizer.params) | set(s.optimizer.rule.defaults))
                                 if k != "weight_decay" or s.optimizer.get(k))
            extra.append(f"**Optimizer:** {s.optimizer.name} ({settings})")
        if s.steps > 1:
            extra.append(f"**Training steps:** {s.steps} (the whole batch each step)")
        if s.freeze:
            extra.append(f"**Frozen (never updated):** {', '.join(n.param(f) for f in sorted(s.freeze))}")
        out += [Para(e) for e in extra]
    out.append(Para("**Conventions:** " + conventions(trace)))
    return out


def parameter_count(s: Scenario, w: BackwardWriter) -> list[Block]:
    shapes = [(layer.units, layer.weights.shape[1], layer.bias is not None) for layer in s.layers]
    first_units, first_inputs, first_bias = shapes[0]
    per_neuron = f"{first_inputs} + 1" if first_bias else f"{first_inputs}"
    what = "one weight per input plus its bias" if first_bias else "one weight per input (no bias)"
    text = (f"**Parameters:** each neuron has {what}, {per_neuron} in layer 1; a layer has that many for each "
            "of its neurons:")
    expr = worked.parameter_count(shapes)
    return [Para(text), Math(line("parameters", expr, w.p, w.s.width))]


def conventions(trace: Trace) -> str:
    s, p = trace.scenario, trace.precision
    parts = []
    if s.loss:
        parts.append(s.loss.rule.convention(s.loss))
        units = s.layers[-1].units
        if units > 1 and s.loss.rule.averages_over_outputs:
            parts.append(f"the loss is the {s.loss.outputs} over the {units} outputs")
        if s.inputs.shape[0] > 1:
            parts.append(f"the loss is the {s.loss.batch} over the batch")
        parts = ["δ means ∂L/∂z", "gradients use the weights before the update", *parts]
    for sentence in dict.fromkeys(ACTIVATIONS[l.activation].convention for l in s.layers):
        if sentence:  # each once, in the order of the layers (ReLU and leaky ReLU share theirs)
            parts.append(sentence)
    if p.carry:
        parts.append(f"each shown intermediate is rounded to {p.places} decimals (half away from zero) "
                     "and used as rounded (rounding: carry)")
    else:
        parts.append(f"computed exactly, shown to {p.places} decimals (more where a small value needs them)")
    return "; ".join(parts) + "."


def _matrix(symbol: str, values: np.ndarray, p, limit: int, given: bool = False,  # noqa: ANN001
            labels: Callable[[int, int], str] | None = None) -> list[str]:
    """A matrix with its shape; a vector or a single row as [a, b], as the seeds write them.
    labels(row, column) names a cell (a vector's elements count as rows, a single row's as columns)."""
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


def _prediction(w: BackwardWriter, step: TrainingStep) -> list[Block]:
    out = step.forward.output
    lines = w.array(w.n.a(w.n.layers), out, w.n.keys("a", w.n.layers))
    return [Para("There are no targets, so this is a forward pass only."), Math(lines)]


# ---- updates -----------------------------------------------------------------------------------------

def updates(trace: Trace, step: TrainingStep, w: BackwardWriter) -> list[Block]:
    s, p = trace.scenario, trace.precision
    rules = s.optimizer.rule.rule_lines
    decay = s.optimizer.get("weight_decay")
    rule_lines = ["θ_new = θ_old − η × ∂L/∂θ"] if not s.optimizer.rule.has_state and not decay else \
        [f"{r}   (g = ∂L/∂θ{' + λ·θ' if decay else ''})" if i == 0 else r for i, r in enumerate(rules)]
    if decay:
        rule_lines.append(f"λ = {fmt(decay, p, given=True)}: weight decay (L2), its own term λ·θ in g; the loss "
                          "shown is the data loss")
    out: list[Block] = [Heading(2, "Weight Updates"), Para("**Update rule:**"), Math(rule_lines)]
    if s.optimizer.rule.has_state:
        out.append(Para(f"The optimizer's state starts at zero; this is step t = {step.number}."
                        if step.number == 1 else f"The state carries over from step {step.number - 1}; "
                        f"t = {step.number}."))
    order = sorted(step.updates, key=lambda u: (-int(u.name[1:]), u.name[0] != "W"))
    previous = {u.name: u.state for u in trace.steps[step.number - 2].updates} if step.number > 1 else {}
    for update in order if w.s.detail != "brief" else ():
        out += _update(update, trace, step, w, previous.get(update.name, {}))
    out.append(Heading(3, "Summary of Updates"))
    out.append(_summary(order, p, w, given=step.number == 1))
    return out


def key_observations(trace: Trace, step: TrainingStep, w: BackwardWriter) -> list[Block]:
    following = trace.steps[step.number].loss if step.number < len(trace.steps) else \
        (trace.final[1] if trace.final else None)
    notes = observations(trace, step, w.n, following.value if following else None)
    return [Heading(3, "Key Observations"), Bullets(notes)] if notes else []


def _update(u: Update, trace: Trace, step: TrainingStep, w: BackwardWriter,
            state: dict[str, np.ndarray]) -> list[Block]:
    """Every picked element's update worked, with the optimizer's state arithmetic (`state` is what the
    previous step left)."""
    s, n, p = trace.scenario, w.n, trace.precision
    symbol = n.param(u.name)
    out: list[Block] = [Heading(3, f"Update {symbol}:")]
    if u.frozen:
        return out + [Para(f"{symbol} is frozen: it keeps its value, whatever its gradient.")]
    old = u.old if u.old.ndim == 2 else u.old[:, None]
    kind, k = u.name[0], int(u.name[1:])
    after = (lambda i, j: n.wkey(kind, k, i, j)) if u.old.ndim == 2 else (lambda i, j: n.wkey(kind, k, i))
    lines: list[str] = []
    lr = s.learning_rate
    assert lr is not None
    cells = [(i, j) for i in pick(old.shape[0], w.s.elements)[0] for j in pick(old.shape[1], w.s.elements)[0]]
    grad = u.grad if u.grad.ndim == 2 else u.grad[:, None]
    before = {k: (v if v.ndim == 2 else v[:, None]) for k, v in state.items()}
    gradient = (lambda i, j: n.wkey("d" + kind, k, i, j)) if u.old.ndim == 2 else \
        (lambda i, j: n.wkey("d" + kind, k, i))
    for i, j in cells:
        where = n.weight(symbol, i, j, old.shape[0]) if u.old.ndim == 2 else \
            (f"{symbol}[{i}]" if old.shape[0] > 1 else symbol)
        index = where[len(symbol):]
        steps = worked.optimizer_update(s.optimizer, old[i, j], grad[i, j], lr,
                                        {name: v[i, j] for name, v in before.items()}, step.number, p,
                                        step.number == 1, gradient(i, j))
        for name, expr, _ in steps:
            lhs = where + "_new" if name == "new" else f"{s.optimizer.rule.symbols.get(name, name)}{index}"
            lines += line(lhs, expr, p, w.s.width, label=after(i, j) if name == "new" else "")
        if len(steps) > 1:
            lines.append("")
    if old.size > len(cells):
        lines.append(elided_note(old.size - len(cells)))
    while lines and not lines[-1]:
        lines.pop()
    if u.new.size > 1:
        lines += [""] + _matrix(f"{symbol}_new", u.new, p, w.s.elements, labels=after)
    out.append(Math(lines))
    return out


def _summary(updates: list[Update], p, w: BackwardWriter, given: bool) -> Table:  # noqa: ANN001
    """Before and after for every parameter: matrices element by element, vectors whole, as the seed does.
    Rows are formatted only if they are shown; a large network's table is cut to SUMMARY_ROWS."""
    def rows_of(u: Update):  # noqa: ANN202
        symbol = w.n.param(u.name)
        frozen = " (frozen)" if u.frozen else ""  # after the element's name: W₁[0,0] (frozen)
        kind, k = u.name[0], int(u.name[1:])
        if u.old.ndim == 2:
            key = lambda i, j: w.n.wkey(kind, k, i, j)  # noqa: E731
        else:
            key = lambda i, j: w.n.wkey(kind, k, i + j)  # noqa: E731  (a vector: one index)
        flat = lambda f: key(*np.unravel_index(f, u.old.shape)) if u.old.ndim == 2 else key(f, 0)  # noqa: E731
        if u.old.ndim == 2 and min(u.old.shape) > 1:
            for i, j in np.ndindex(*u.old.shape):
                yield lambda i=i, j=j: [f"{symbol}[{i},{j}]{frozen}", fmt(u.old[i, j], p, given),
                                        fmt(u.new[i, j], p, label=key(i, j))]
        elif u.old.size == 1:
            yield lambda: [symbol + frozen, fmt(u.old.ravel()[0], p, given), fmt(u.new.ravel()[0], p, label=flat(0))]
        elif not w.s.elements and u.old.size > LONG_VECTOR:
            # worked in full, a long vector in one cell would widen every row of the table to its length
            # (output growing with the square of the units): element by element instead
            old, new = u.old.ravel(), u.new.ravel()
            for f in range(old.size):
                yield lambda f=f: [f"{symbol}[{f}]{frozen}", fmt(old[f], p, given), fmt(new[f], p, label=flat(f))]
        else:
            yield lambda: [symbol + frozen, vector(u.old.ravel(), p, given, limit=w.s.elements),
                           vector(u.new.ravel(), p, limit=w.s.elements, labels=flat)]

    ordered = sorted(updates, key=lambda u: (int(u.name[1:]), u.name[0] != "W"))
    pending = [row for u in ordered for row in rows_of(u)]
    if w.s.elements and len(pending) > SUMMARY_ROWS:
        hidden = len(pending) - SUMMARY_ROWS + 1
        rows = [row() for row in pending[: SUMMARY_ROWS - 1]] + [[f"… {hidden:,} more rows (--full shows all)", "", ""]]
    else:
        rows = [row() for row in pending]
    return Table(["Parameter", "Before", "After"], rows, ("left", "right", "right"))


# ---- after training ----------------------------------------------------------------------------------

def after_training(trace: Trace, w: BackwardWriter, settings: Settings) -> list[Block]:
    p = trace.precision
    forward, loss = trace.final  # type: ignore[misc]
    assert loss is not None
    out: list[Block] = [Rule()]
    losses = trace.losses
    if len(trace.steps) > 1:
        out += [Heading(2, "Loss at Every Step")]
        rows = [[str(i + 1), fmt(v, p, label="L" if i == 0 else "")] for i, v in enumerate(losses[:-1])]
        rows.append([f"after step {len(trace.steps)}", fmt(losses[-1], p)])
        if not settings.full and len(rows) > SUMMARY_ROWS:
            rows = rows[:10] + [["…", "…"]] + rows[-10:]
        out.append(Table(["Step", "Loss"], rows, ("left", "right")))
        out.append(Math([f"loss   {fmt(losses[0], p)} {sparkline(losses)} {fmt(losses[-1], p)}   "
                         f"({len(losses) - 1} steps)"]))
        if settings.image:
            out.append(Image("The loss at every step", settings.image))
    out.append(Heading(2, "Next Forward Pass (with updated weights)"))
    if settings.detail != "brief":
        out.append(Math(w.compact(forward)))
    out.append(Para("**New Loss:**"))
    out.append(w.loss(loss)[-1])
    out.append(Para(f"**{_closing(losses, forward, w.n, p)}**"))
    return out


def _closing(losses: list[float], forward, n: Notation, p) -> str:  # noqa: ANN001
    """The last sentence, true to the numbers: whether the loss fell, whether it is still moving at the end,
    and whether the last step left a layer whose every ReLU unit is dead (then nothing flows through it)."""
    first, last = losses[0], losses[-1]
    verb = "decreased" if fmt(last, p) != fmt(first, p) and last < first else \
        "increased" if fmt(last, p) != fmt(first, p) else "did not change (at the printed precision)"
    sentence = f"Loss {verb} from {fmt(first, p, label='L')} to {fmt(last, p)}" if "not" not in verb else \
        f"Loss {verb}"
    since = _still_since(losses, p)
    dead = all_dead(forward)
    if verb != "decreased" or not (since or dead):
        if verb == "decreased":
            return sentence + "! The network is learning."
        if verb == "increased":
            return sentence + ": the step overshot; a smaller learning rate would help."
        return sentence + "."
    if since:
        steps = f"step {since + 1}" if since + 1 == len(losses) - 1 else f"steps {since + 1}–{len(losses) - 1}"
        sentence += f", but {steps} left it at {fmt(last, p)}: training has stalled"
    for act in dead:
        units = act.z.shape[1]
        kind = ACTIVATIONS[act.activation].label
        which = f"the {kind} unit" if units == 1 else f"both {kind} units" if units == 2 else f"all {units} {kind} units"
        state = f"{n.a(act.layer)} = {vector(act.a[0], p)}" if act.a.shape[0] == 1 else "z ≤ 0 on every example"
        verb_dead = "is" if units == 1 else "are"
        sentence += (f"{'. ' if since else ', but '}{which[0].upper() + which[1:] if since else which} of layer "
                     f"{act.layer} {verb_dead} now dead ({state}): no gradient can flow through them, so the "
                     f"weights into and out of them cannot change any more")
    return sentence + "."


def _still_since(losses: list[float], p) -> int:  # noqa: ANN001
    """The last step that moved the loss at the printed precision (0 if the last step still moved it).
    losses[k] is the loss before step k + 1; the last is the loss after the last step."""
    if len(losses) < 3:  # one step: nothing to compare the last change with
        return 0
    k = len(losses) - 1
    while k > 0 and fmt(losses[k - 1], p) == fmt(losses[-1], p):
        k -= 1
    return k if k < len(losses) - 1 else 0


# ---- matrix multiplication ---------------------------------------------------------------------------

def _matmul(trace: Trace, settings: Settings) -> list[Block]:
    m, p = trace.matmul, trace.precision
    assert m is not None
    (r, inner), cols = m.a.shape, m.b.shape[1]
    out: list[Block] = [Rule(), Heading(2, "The Matrices"),
                        Math(_matrix("A", m.a, p, settings.elements, True) + [""] +
                             _matrix("B", m.b, p, settings.elements, True)),
                        Heading(2, "Dimensions"),
                        Math([f"A: ({r} × {inner})   B: ({inner} × {cols})   C = A·B: ({r} × {cols})"]),
                        Bullets([f"The inner dimensions must match: A has {inner} columns and B has {inner} rows.",
                                 f"C has A's rows ({r}) and B's columns ({cols}).",
                                 "Another row in A gives another row in C; another column in B gives another "
                                 "column in C; the inner dimension can grow only in A and B together."]),
                        Heading(2, "Each Cell of C"),
                        Para("Each cell is the dot product of a row of A and a column of B:")]
    lines: list[str] = []
    rows, cols_shown = pick(r, settings.elements)[0], pick(cols, settings.elements)[0]
    for i in rows:
        for j in cols_shown:
            expr = worked.linear(m.a[i], m.b[:, j], None, True, True)
            lines += line(f"C[{i},{j}]", expr, p, settings.width, label=f"C[{i},{j}]")
    if r * cols > len(rows) * len(cols_shown):
        lines.append(elided_note(r * cols - len(rows) * len(cols_shown)))
    out += [Math(lines), Para("**Result:**"),
            Math(_matrix("C", m.c, p, settings.elements, labels=lambda i, j: f"C[{i},{j}]"))]
    return out
