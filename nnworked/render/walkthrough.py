"""A Trace as a walkthrough: the sections of the seed documents, as blocks any format can print."""

from __future__ import annotations

import re

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.engine.losses import LOSSES
from nnworked.render.backward import BackwardWriter
from nnworked.render.forward import ForwardWriter
from nnworked.rules.layers import LAYERS
from nnworked.render.page import Page
from nnworked.render.blocks import Block, Bullets, Heading, Math, Para, Rule, Table
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.notation import Notation
from nnworked.quantities import FINAL, table
from nnworked.render.numbers import Blanks, blanking, fmt, vector
from nnworked.render.settings import Settings
from nnworked.scenario import Scenario
from nnworked.render.sections import (after_training, conventions, explanations, key_observations,
                                      matrix_block, parameter_count, prediction, shown_steps, updates)
from nnworked.trace import Trace


def build(trace: Trace, settings: Settings) -> list[Block]:
    """The walkthrough; on an exercise sheet every blanked value prints as ?, wherever it appears."""
    if settings.blanks is not None:  # a sheet works every element: no blank may hide in an elided one
        from nnworked.sheets import hidden

        blanks = settings.blanks
        settings = settings._replace(full=True, blanks=blanks._replace(
            hidden=blanks.hidden | hidden(trace, blanks.keys, blanks.reveal)))
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
    return [Para(f"**Exercise** · variant {blanks.variant} · fill in each {blanks.glyph} ({count} values, each "
                 f"named as grade reads it); work each one from the values around it. {POLICY[blanks.reveal]}")]


POLICY = {"guided": "Values that follow from the blanks alone (such as the loss from ŷ) are hidden too, though not "
                    "asked; later values you need stay given.",
          "none": "Every value computed from a blank is hidden too, wherever it appears."}


NAMING = ("Values are named as in the answers: z1[1,0] is unit 1 of the first example (counting from 0), "
          "dW2[0,1] is ∂L/∂W₂[0,1], W2[0,1] is W₂[0,1] after the update.")


def _answers(trace: Trace, blanks: Blanks) -> list[Block]:
    if not blanks.answers:
        return []
    values = table(trace).values
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
    if (settings.layout or s.layout) == "ai-by-hand" and s.inputs.ndim != 3:  # sequences: the standard layout,
        from nnworked.render import byhand                                   # attention with tokens as columns

        return out + byhand.build(trace, settings)
    page = Page(trace.precision, Notation(len(s.layers), s.inputs.shape[0]), settings, table(trace), s.loss)
    out += _setup(trace, ForwardWriter(page))
    for step in shown_steps(trace, settings):
        if step.number > 1 and not settings.all_steps:
            break
        this = page.at(step=step.number)  # a later step's values are other quantities
        writer = ForwardWriter(this)
        if len(trace.steps) > 1:
            out += [Rule(), Heading(2, f"Training Step {step.number} of {len(trace.steps)}")]
        if settings.detail == "brief":
            from nnworked.render import brief

            out += brief.forward(step, writer)
        else:
            out += [Rule(), Heading(2, "Forward Pass"), *writer.forward(step.forward, 1)]
        if step.loss is None:
            out += [Rule(), Heading(2, "Result"), *prediction(writer, step)]
            continue
        if settings.detail == "brief":
            from nnworked.render import brief

            out += brief.backward(step, writer)
        else:
            out += [Rule(), Heading(2, "Loss Computation"), *writer.loss(step.loss)]
            out += [Rule(), Heading(2, "Backward Pass (Backpropagation)"),
                    Para("We compute gradients using the **chain rule**, propagating from output to input."),
                    *BackwardWriter(this, step).backward(3)]
        if not step.updates:
            out += [Rule(), Para("No learning rate is given, so the walkthrough stops at the gradients."),
                    *key_observations(trace, step, writer)]
            continue
        out += [Rule(), *updates(trace, step, writer), *key_observations(trace, step, writer)]
    if trace.final is not None:
        out += after_training(trace, ForwardWriter(page.at(step=FINAL, steps=len(trace.steps))), settings)
    return out + explanations(trace, ForwardWriter(page), settings)


# ---- problem setup -----------------------------------------------------------------------------------

def _architecture(s: Scenario, n: Notation) -> str:
    parts = [f"Input ({'×'.join(map(str, s.inputs.shape[1:]))})"]
    for k, layer in enumerate(s.layers, start=1):
        act = ACTIVATIONS[layer.activation]
        parts.append(f"{n.layer_name(k)} ({LAYERS[layer.type].summary(layer)}" +
                     (f", {act.label})" if not act.identity else ")"))
    if s.loss:
        parts.append("Loss")
    return "  →  ".join(parts)


def _setup(trace: Trace, w: ForwardWriter) -> list[Block]:
    s, n, p = trace.scenario, w.n, trace.precision
    names = f" (features: {', '.join(s.input_names)})" if s.input_names else ""
    images = s.inputs.ndim > 3
    sequences = s.inputs.ndim == 3
    bullets = [f"**Input:** {'×'.join(map(str, s.inputs.shape[1:]))} images (channels × rows × columns)" if images
               else f"**Input:** sequences of {s.inputs.shape[1]} positions, {s.inputs.shape[2]} feature"
                    f"{'s' if s.inputs.shape[2] != 1 else ''} at each{names}" if sequences
               else f"**Input layer:** {s.inputs.shape[1]} neuron{'s' if s.inputs.shape[1] != 1 else ''}{names}"]
    for k, layer in enumerate(s.layers, start=1):
        name = f" “{layer.name}”" if layer.name and layer.name.lower() not in ("hidden", "output") else ""
        bullets.append(f"**{n.layer_name(k)} layer{name}:** {LAYERS[layer.type].describe(layer)}")
    if s.loss:
        bullets.append(f"**Loss function:** {LOSSES[s.loss.name].label}")
    out: list[Block] = [Rule(), Heading(2, "Problem Setup"), Para("**Network Architecture:**"), Bullets(bullets),
                        Math([_architecture(s, n)]), Heading(3, "Initial Values")]
    examples = s.inputs.shape[0]
    out.append(Para("**Input and Target:**" if s.targets is not None else "**Input:**"))
    if sequences:
        lines = w.page.sequences("x", s.inputs, given=True)
        if s.targets is not None:
            lines += [""] + (w.page.sequences("y", s.targets, given=True) if s.targets.ndim == 3 else
                             matrix_block("Y" if examples > 1 else "y", s.targets if examples > 1 else s.targets[0], p,
                                          w.s.elements, given=True))
    elif images:
        lines = w.page.images("x", s.inputs, given=True)
        if s.targets is not None:
            lines += [""] + matrix_block("Y" if examples > 1 else "y", s.targets if examples > 1 else s.targets[0], p,
                                         w.s.elements, given=True)
    elif examples == 1:
        x = s.inputs[0]
        lines = [f"x = {vector(x, p, given=True, limit=w.s.elements)}"]
        if s.targets is not None:
            y = s.targets[0]
            lines.append(f"y = {fmt(y[0], p, given=True) if y.size == 1 else vector(y, p, given=True)}")
        width = max(len(l) for l in lines) + 4
        lines = [l.ljust(width) + note for l, note in zip(lines, ["(input features)", "(target)"])]
    else:
        lines = matrix_block("X", s.inputs, p, w.s.elements, given=True) + [f"(one row per example: {examples} examples)"]
        if s.targets is not None:
            lines += [""] + matrix_block("Y", s.targets, p, w.s.elements, given=True)
    out.append(Math(lines))
    out.append(Para("**Weights and Biases:**"))
    for k, layer in enumerate(s.layers, start=1):
        parameters = LAYERS[layer.type].parameters(k, layer)
        if not parameters:  # pooling, flatten: nothing to learn
            continue
        out.append(Para(f"Layer {k} ({n.layer_name(k - 1)} → {n.layer_name(k)}):"))
        lines: list[str] = []
        for name, value in parameters.items():
            shown = value[:, None] if value.ndim == 1 and value.size > 1 else value  # a bias as a column
            lines += [""] + matrix_block(n.param(name), shown, p, w.s.elements, given=True)
        out.append(Math(lines[1:]))
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


# ---- updates -----------------------------------------------------------------------------------------

# ---- after training ----------------------------------------------------------------------------------

# ---- matrix multiplication ---------------------------------------------------------------------------

def _matmul(trace: Trace, settings: Settings) -> list[Block]:
    m, p = trace.matmul, trace.precision
    assert m is not None
    (r, inner), cols = m.a.shape, m.b.shape[1]
    out: list[Block] = [Rule(), Heading(2, "The Matrices"),
                        Math(matrix_block("A", m.a, p, settings.elements, True) + [""] +
                             matrix_block("B", m.b, p, settings.elements, True)),
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
            Math(matrix_block("C", m.c, p, settings.elements, labels=lambda i, j: f"C[{i},{j}]"))]
    return out
