"""The sections both layouts of a walkthrough share (the standard one in nnworked.render.walkthrough, AI by
Hand's in nnworked.render.byhand): the parameter count, the conventions, the updates and their summary,
the observations, the pass after training and its closing sentence, and the explanations asked for."""

from __future__ import annotations


import numpy as np

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.render.forward import ForwardWriter
from nnworked.render.blocks import Block, Bullets, Heading, Image, Math, Para, Rule, Table
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.chart import sparkline
from nnworked.render.notation import Notation
from nnworked.render.observations import all_dead, observations
from nnworked.quantities import FINAL, FIRST_STEP, at_step, computed_from, name, parse
from nnworked.render.numbers import blank_state, exam_sheet, fmt, on_sheet, vector
from nnworked.render.page import matrix_block
from nnworked.render.settings import Settings
from nnworked.scenario import Scenario
from nnworked.trace import Trace, TrainingStep, Update

SUMMARY_ROWS = 24  # rows of the summary table before it is elided
LONG_VECTOR = 12  # worked in full, a vector longer than this gets one summary row per element

def shown_steps(trace: Trace, settings: Settings):  # noqa: ANN201
    """The steps to work (the loops stop after step 1 unless --all-steps), with a bar when every one is."""
    if not settings.all_steps:
        return trace.steps
    from nnworked import progress

    return progress.track(trace.steps, len(trace.steps), "Working every step")


def explanations(trace: Trace, w: ForwardWriter, settings: Settings) -> list[Block]:
    """--detail full: the derivations and why matrices; --why-matrices: the latter alone."""
    out: list[Block] = []
    if settings.detail == "full":
        from nnworked.render.derivations import derivations  # only when asked: the command starts faster

        out += derivations(trace, w)
    if settings.detail == "full" or settings.why_matrices:
        from nnworked.render.matrices import why_matrices

        out += why_matrices(trace, w)
    return out


def parameter_count(s: Scenario, w: ForwardWriter) -> list[Block]:
    from nnworked.rules.layers import LAYERS

    if not all(LAYERS[layer.type].neurons for layer in s.layers):
        return _parameter_sum(s, w)
    shapes = [(layer.units, layer.weights.shape[1], layer.bias is not None) for layer in s.layers]
    first_units, first_inputs, first_bias = shapes[0]
    per_neuron = f"{first_inputs} + 1" if first_bias else f"{first_inputs}"
    what = "one weight per input plus its bias" if first_bias else "one weight per input (no bias)"
    text = (f"**Parameters:** each neuron has {what}, {per_neuron} in layer 1; a layer has that many for each "
            "of its neurons:")
    expr = worked.parameter_count(shapes)
    return [Para(text), Math(line("parameters", expr, w.p, w.s.width))]


def _parameter_sum(s: Scenario, w: ForwardWriter) -> list[Block]:
    """Each parameter array's size, and their sum."""
    from nnworked.expr import num, op
    from nnworked.scenario import parameters

    sizes = {name: value.size for name, value in parameters(s.layers).items()}
    terms = [num(size, True, "") for size in sizes.values()]
    shapes = ", ".join(f"{w.n.param(name)} {'×'.join(map(str, value.shape))}"
                       for name, value in parameters(s.layers).items())
    expr = terms[0] if len(terms) == 1 else op("add", *terms)
    return [Para(f"**Parameters:** {shapes}{_without_parameters(s)}:"), Math(line("parameters", expr, w.p, w.s.width))]


def _without_parameters(s: Scenario) -> str:
    """"; max_pool and flatten layers have none", naming the types of this network's layers that learn nothing."""
    from nnworked.rules.layers import LAYERS

    types = [layer.type for k, layer in enumerate(s.layers, start=1) if not LAYERS[layer.type].parameters(k, layer)]
    if not types:
        return ""
    types = list(dict.fromkeys(types))
    listed = types[0] if len(types) == 1 else ", ".join(types[:-1]) + " and " + types[-1]
    return f"; {listed} layers have none"


def conventions(trace: Trace) -> str:
    s, p = trace.scenario, trace.precision
    parts = []
    if s.loss:
        parts.append(s.loss.rule.convention(s.loss))
        units = s.layers[-1].units
        if units > 1 and s.loss.rule.averages_over_outputs:
            parts.append(f"the loss is the {s.loss.outputs} over the {units} outputs")
        if s.targets is not None and s.targets.ndim == 3:  # a loss at every position of a sequence
            parts.append(f"the loss is the {s.loss.batch} over the examples and positions together")
        elif s.inputs.shape[0] > 1:
            parts.append(f"the loss is the {s.loss.batch} over the batch")
        parts = ["δ means ∂L/∂z", "gradients use the weights before the update", *parts]
    if s.inputs.ndim == 3:
        parts.append("a value of a sequence is written v[t,i] (position t and unit i, from 0)" +
                     (", with ⁽ⁿ⁾ for example n of the batch" if s.inputs.shape[0] > 1 else "") +
                     ", and named v[example,position,unit] in answers")
    for sentence in dict.fromkeys(ACTIVATIONS[l.activation].convention for l in s.layers):
        if sentence:  # each once, in the order of the layers (ReLU and leaky ReLU share theirs)
            parts.append(sentence)
    if p.carry:
        parts.append(f"each shown intermediate is rounded to {p.places} decimals (half away from zero) "
                     "and used as rounded (rounding: carry)")
    else:
        parts.append(f"computed exactly, shown to {p.places} decimals (more where a small value needs them)")
    return "; ".join(parts) + "."


def prediction(w: ForwardWriter, step: TrainingStep) -> list[Block]:
    out = step.forward.output
    lines = w.array(w.n.a(w.n.layers), out, w.n.keys("a", w.n.layers))
    return [Para("There are no targets, so this is a forward pass only."), Math(lines)]


def updates(trace: Trace, step: TrainingStep, w: ForwardWriter) -> list[Block]:
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
    order = sorted(step.updates, key=lambda u: (-parse(u.name).layer, u.name[0] != "W"))
    previous = {u.name: u.state for u in trace.steps[step.number - 2].updates} if step.number > 1 else {}
    for update in order if w.s.detail != "brief" else ():
        out += _update(update, trace, step, w, previous.get(update.name, {}))
    out.append(Heading(3, "Summary of Updates"))
    out.append(_summary(order, p, w, given=step.number == 1))
    return out


def key_observations(trace: Trace, step: TrainingStep, w: ForwardWriter) -> list[Block]:
    following = trace.steps[step.number].loss if step.number < len(trace.steps) else \
        (trace.final[1] if trace.final else None)
    if on_sheet():  # they comment on the answers ("ŷ = 0.6194 is lower than the target")
        return []
    notes = observations(trace, step, w.n, following.value if following else None)
    return [Heading(3, "Key Observations"), Bullets(notes)] if notes else []


def _update(u: Update, trace: Trace, step: TrainingStep, w: ForwardWriter,
            state: dict[str, np.ndarray]) -> list[Block]:
    """Every picked element's update worked, with the optimizer's state arithmetic (`state` is what the
    previous step left)."""
    s, n, p = trace.scenario, w.n, trace.precision
    symbol = n.param(u.name)
    out: list[Block] = [Heading(3, f"Update {symbol}:")]
    if u.frozen:
        return out + [Para(f"{symbol} is frozen: it keeps its value, whatever its gradient.")]
    parameter = parse(u.name)
    kind, k = parameter.kind, parameter.layer

    def key(prefix: str, index: tuple[int, ...]) -> str:  # W2[0,1] after the update, dW2[0,1] its gradient
        return name(prefix + kind, k, *index, step=n.step, part=parameter.part)  # an LSTM gate's: dWx1.i[0,1]

    lines: list[str] = []
    lr = s.learning_rate
    assert lr is not None
    for index in _elements(u.old.shape, w.s.elements):
        where = symbol + _index_text(index, u.old.shape, n)
        steps = worked.optimizer_update(s.optimizer, u.old[index], u.grad[index], lr,
                                        {state_name: v[index] for state_name, v in state.items()}, step.number, p,
                                        step.number == 1, key("d", index), n.before(kind, k, *index, part=parameter.part))
        for state_name, expr, _ in steps:
            lhs = where + "_new" if state_name == "new" else \
                f"{s.optimizer.rule.symbols.get(state_name, state_name)}{where[len(symbol):]}"
            lines += line(lhs, expr, p, w.s.width,
                          label=key("", index) if state_name == "new" else computed_from(key("", index)))
        if len(steps) > 1:
            lines.append("")
    shown = len(_elements(u.old.shape, w.s.elements))
    if u.old.size > shown:
        lines.append(elided_note(u.old.size - shown))
    while lines and not lines[-1]:
        lines.pop()
    if u.new.size > 1:
        # matrix_block names a vector's element i as (i, 0): the vector's own index is i alone
        named = (lambda i, _: key("", (i,))) if u.new.ndim == 1 else (lambda *i: key("", i))
        lines += [""] + matrix_block(f"{symbol}_new", u.new, p, w.s.elements, labels=named)
    out.append(Math(lines))
    return out


def _elements(shape: tuple[int, ...], limit: int) -> list[tuple[int, ...]]:
    """The elements of a parameter worked one by one: rows and columns picked for a matrix (as the
    seeds do), the first few in order for a vector or a stack of kernels."""
    if len(shape) == 2:
        return [(i, j) for i in pick(shape[0], limit)[0] for j in pick(shape[1], limit)[0]]
    flat = pick(int(np.prod(shape)), limit)[0]
    return [tuple(int(v) for v in np.unravel_index(f, shape)) for f in flat]


def _index_text(index: tuple[int, ...], shape: tuple[int, ...], n: Notation) -> str:
    """How the seeds index a parameter's element: W₂[0] for a one-row matrix, b₁ for a single bias."""
    if len(shape) == 2:
        return n.weight("", index[0], index[1], shape[0])
    if len(shape) == 1:
        return f"[{index[0]}]" if shape[0] > 1 else ""
    return "[" + ",".join(map(str, index)) + "]"


def _summary(updates: list[Update], p, w: ForwardWriter, given: bool) -> Table:  # noqa: ANN001
    """Before and after for every parameter: matrices element by element, vectors whole, as the seed does.
    Rows are formatted only if they are shown; a large network's table is cut to SUMMARY_ROWS."""
    def before(after: str) -> str:  # the value before this step is the one after the previous step
        step = parse(after).step
        return "" if given else at_step(after, step - 1 if step != 2 else FIRST_STEP)

    def rows_of(u: Update):  # noqa: ANN202
        symbol = w.n.param(u.name)
        frozen = " (frozen)" if u.frozen else ""  # after the element's name: W₁[0,0] (frozen)
        kind, k, part = parse(u.name).kind, parse(u.name).layer, parse(u.name).part
        if u.old.ndim > 2:  # kernels: element by element
            for index in np.ndindex(*u.old.shape):
                after = name(kind, k, *index, step=w.n.step)
                yield lambda index=index, after=after: [
                    f"{symbol}[{','.join(map(str, index))}]{frozen}", fmt(u.old[index], p, given, before(after)),
                    fmt(u.new[index], p, label=after)]
            return
        if u.old.ndim == 2:
            key = lambda i, j: w.n.wkey(kind, k, i, j, part)  # noqa: E731
        else:
            key = lambda i, j: w.n.wkey(kind, k, i + j, part=part)  # noqa: E731  (a vector: one index)
        flat = lambda f: key(*np.unravel_index(f, u.old.shape)) if u.old.ndim == 2 else key(f, 0)  # noqa: E731
        if u.old.ndim == 2 and min(u.old.shape) > 1:
            for i, j in np.ndindex(*u.old.shape):
                yield lambda i=i, j=j: [f"{symbol}[{i},{j}]{frozen}", fmt(u.old[i, j], p, given, before(key(i, j))),
                                        fmt(u.new[i, j], p, label=key(i, j))]
        elif u.old.size == 1:
            yield lambda: [symbol + frozen, fmt(u.old.ravel()[0], p, given, before(flat(0))),
                           fmt(u.new.ravel()[0], p, label=flat(0))]
        elif not w.s.elements and u.old.size > LONG_VECTOR:
            # worked in full, a long vector in one cell would widen every row of the table to its length
            # (output growing with the square of the units): element by element instead
            old, new = u.old.ravel(), u.new.ravel()
            for f in range(old.size):
                yield lambda f=f: [f"{symbol}[{f}]{frozen}", fmt(old[f], p, given, before(flat(f))),
                                   fmt(new[f], p, label=flat(f))]
        else:
            yield lambda: [symbol + frozen, vector(u.old.ravel(), p, given, limit=w.s.elements,
                                                   labels=lambda f: before(flat(f))),
                           vector(u.new.ravel(), p, limit=w.s.elements, labels=flat)]

    ordered = sorted(updates, key=lambda u: (parse(u.name).layer, u.name[0] != "W"))
    pending = [row for u in ordered for row in rows_of(u)]
    if w.s.elements and len(pending) > SUMMARY_ROWS:
        hidden = len(pending) - SUMMARY_ROWS + 1
        rows = [row() for row in pending[: SUMMARY_ROWS - 1]] + [[f"… {hidden:,} more rows (--full shows all)", "", ""]]
    else:
        rows = [row() for row in pending]
    return Table(["Parameter", "Before", "After"], rows, ("left", "right", "right"))


def after_training(trace: Trace, w: ForwardWriter, settings: Settings) -> list[Block]:
    p = trace.precision
    forward, loss = trace.final  # type: ignore[misc]
    assert loss is not None
    out: list[Block] = [Rule()]
    losses = trace.losses
    if len(trace.steps) > 1:
        out += [Heading(2, "Loss at Every Step")]
        rows = [[str(i + 1), fmt(v, p, label=at_step("L", i + 1))] for i, v in enumerate(losses[:-1])]
        rows.append([f"after step {len(trace.steps)}", fmt(losses[-1], p, label=at_step("L", FINAL))])
        if not settings.full and len(rows) > SUMMARY_ROWS:
            rows = rows[:10] + [["…", "…"]] + rows[-10:]
        out.append(Table(["Step", "Loss"], rows, ("left", "right")))
        if not on_sheet():  # the curve is drawn from values computed from the blanks
            out.append(Math([f"loss   {fmt(losses[0], p)} {sparkline(losses)} {fmt(losses[-1], p)}   "
                             f"({len(losses) - 1} steps)"]))
        if settings.image and not on_sheet():
            out.append(Image("The loss at every step", settings.image))
    out.append(Heading(2, "Next Forward Pass (with updated weights)"))
    if settings.detail != "brief":
        out.append(Math(w.compact(forward)))
    out.append(Para("**New Loss:**"))
    out.append(w.loss(loss)[-1])
    if not exam_sheet():  # whether the loss fell is computed from the blanks too
        if blank_state("L") == "hidden":  # a guided sheet hides the first loss: the student compares
            what = "the step" if len(trace.steps) == 1 else "training"
            if blank_state("L@final") == "hidden":  # the pass after the update hides what the first step hides
                out.append(Para(f"**Work out the new loss too, and compare it with the L you worked out: did {what} "
                                "lower it?**"))
            else:
                out.append(Para(f"**Compare the new loss, {fmt(losses[-1], p)}, with the L you worked out: did {what} "
                                "lower it?**"))
        else:
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
        units = int(np.prod(act.z.shape[1:]))  # an image's or a sequence's every element counts as a unit
        kind = ACTIVATIONS[act.activation].label
        which = f"the {kind} unit" if units == 1 else f"both {kind} units" if units == 2 else f"all {units} {kind} units"
        state = f"{n.a(act.layer)} = {vector(act.a[0], p)}" if act.a.shape[0] == 1 and act.a.ndim == 2 else \
            "z ≤ 0 on every example" if act.a.ndim == 2 else "z ≤ 0 everywhere, on every example"
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
