"""The AI by Hand layout, for any scenario: each example is a column, each bias is folded into its
weight matrix as [W | b] against [x | 1], every cell is a row times a column, and the backward pass
writes each gradient as ∂L/∂z · [a | 1]ᵀ (summed over the batch by the product itself).

The numbers are the trace's; only the arrangement differs from the standard walkthrough.
"""

from __future__ import annotations

import numpy as np

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.expr import num, op
from nnworked.quantities import FINAL, computed_from
from nnworked.render.backward import BackwardWriter
from nnworked.render.sections import (after_training, conventions, explanations, key_observations,
                                      parameter_count, shown_steps, updates)
from nnworked.render.blocks import Block, Heading, Math, Para, Rule
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import Labels, matrix_lines
from nnworked.trace import Forward, LayerGradient, OutputDelta, ThroughActivation, Trace, TrainingStep, BackToPrevious


def augmented_lines(symbol: str, left: np.ndarray, right: np.ndarray | None, w: BackwardWriter,
                    given: bool = False, below: bool = False, labels: Labels | None = None,
                    right_labels: Labels | None = None) -> list[str]:
    """A matrix with one more column ([W | b]) or one more row ([X ; 1]), the extra set off by a bar.
    labels(row, column) name the cells of `left`; right_labels(row, 0) those of the extra column."""
    limit = w.s.elements
    if right is None:
        body = matrix_lines(left, w.p, given, limit, labels)
    elif below:
        body = matrix_lines(np.vstack([left, right[None, :]]), w.p, given, limit)
        width = len(body[0])
        body.insert(len(body) - 1, "| " + "-" * (width - 4) + " |")
    else:
        main = matrix_lines(left, w.p, given, limit, labels)
        extra = matrix_lines(right[:, None], w.p, given, limit, right_labels)
        body = [m[:-1] + "│" + e[1:] for m, e in zip(main, extra)]
    pad = " " * (len(symbol) + 3)
    return [f"{symbol} = {body[0]}", *(pad + b for b in body[1:])]


class ByHandWriter(BackwardWriter):
    def cell(self, symbol: str, i: int, n: int, examples: int) -> str:
        return f"{symbol}[{i},{n}]" if examples > 1 else f"{symbol}[{i}]"

    def cells(self, rows: int, cols: int) -> tuple[list[tuple[int, int]], int]:
        shown_rows, _ = pick(rows, self.s.elements)
        shown_cols, _ = pick(cols, self.s.elements)
        shown = [(i, n) for i in shown_rows for n in shown_cols]
        return shown, rows * cols - len(shown)

    def columns(self, symbol: str, values: np.ndarray, kind: str = "", k: int = 0) -> list[str]:
        """Rows of the trace (examples) shown as columns; kind and k name the cells (z, 1 -> z1[i,n])."""
        labels = (lambda i, e: self.n.key(kind, k, i, e)) if kind else None
        return augmented_lines(symbol, values.T, None, self, labels=labels)

    # -- forward --

    def layer(self, forward: Forward, k: int, given: bool) -> list[Block]:
        n = self.n
        lin, act = forward.linear[k - 1], forward.activate[k - 1]
        examples, units = lin.z.shape
        a_prev = n.a(k - 1)
        has_bias = lin.bias is not None
        product = f"[{n.W(k)} | {n.b(k)}] · [{a_prev} ; 1]" if has_bias else f"{n.W(k)} · {a_prev}"
        out: list[Block] = [Heading(3, f"Layer {k}: {n.layer_name(k - 1)} → {n.layer_name(k)}"),
                            Para("Each cell is a row of the weights (bias last) times a column of the inputs "
                                 "(a 1 last); the same weights apply to every column." if has_bias else
                                 "Each cell is a row of the weights times a column of the inputs; the same "
                                 "weights apply to every column."),
                            Math([f"{n.z(k)} = {product}"])]
        lines: list[str] = []
        shown, hidden = self.cells(units, examples)
        for i, e in shown:
            weights = list(lin.weights[i]) + ([lin.bias[i]] if has_bias else [])
            inputs = list(lin.inputs[e]) + ([1.0] if has_bias else [])
            labels = [n.key("a", k - 1, j, e) for j in range(lin.inputs.shape[1])] + [""] if k > 1 else None
            w_labels, b_label = self.parameter_labels(k, i, lin)
            expr = worked.linear(weights, inputs, None, given, given and k == 1, labels,  # b is one more weight
                                 w_labels + ([b_label] if has_bias else []))
            lines += line(self.cell(n.z(k), i, e, examples), expr, self.p, self.s.width, label=n.key("z", k, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        out += [Math(lines), Math(self.columns(n.z(k), lin.z, "z", k))]
        by_hand = ACTIVATIONS[act.activation].byhand_forward(self, k, lin, act)
        out += by_hand if by_hand is not None else self.activate(act, f"{k}")[1:]
        return out

    # -- backward --

    def output(self, step: OutputDelta, training: TrainingStep) -> list[Block]:
        n, k = self.n, step.layer
        examples, units = step.delta.shape
        lines: list[str] = []
        shown, hidden = self.cells(units, examples)
        yhat, y = training.loss.yhat, training.loss.y  # type: ignore[union-attr]
        if step.shortcut is not None:
            head = f"∂L/∂{n.z(k)} = {n.a(k)} − y   (the benefit of using {ACTIVATIONS[step.activation].label} " \
                   "and this loss together)"
            for i, e in shown:
                lines += line(self.cell(f"∂L/∂{n.z(k)}", i, e, examples),
                              worked.shortcut(self.spec, yhat[e, i], y[e, i], examples, units, n.key("a", k, i, e)),
                              self.p, self.s.width, label=n.key("dz", k, i, e))
        else:
            head = f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ f′({n.z(k)})"
            for i, e in shown:
                if step.dyhat_dz is not None:
                    lines += line(self.cell(f"∂L/∂{n.z(k)}", i, e, examples),
                                  worked.product(step.dl_dyhat[e, i], step.dyhat_dz[e, i], n.key("da", k, i, e),
                                                 computed_from(n.key("a", k, i, e))),
                                  self.p, self.s.width, label=n.key("dz", k, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Layer {k}: ∂L/∂{n.z(k)}"), Math([head, ""] + lines),
                Math(self.columns(f"∂L/∂{n.z(k)}", step.delta, "dz", k))]

    def weights(self, step: LayerGradient, first: bool) -> list[Block]:
        n, k = self.n, step.layer
        has_bias = step.bias_grad is not None
        examples = step.delta.shape[0]
        inputs = step.inputs if not has_bias else np.hstack([step.inputs, np.ones((examples, 1))])
        target = f"[{n.W(k)} | {n.b(k)}]" if has_bias else n.W(k)
        source = f"[{n.a(k - 1)} | 1]" if has_bias else n.a(k - 1)
        batch = "; the product sums over the examples" if examples > 1 else ""
        out: list[Block] = [Heading(3, f"Layer {k}: weights and biases" if has_bias else f"Layer {k}: weights"),
                            Math([f"∂L/∂{target} = ∂L/∂{n.z(k)} · {source}ᵀ{batch}"])]
        lines: list[str] = []
        rows, cols = step.delta.shape[1], inputs.shape[1]
        cells = [(i, j) for i in pick(rows, self.s.elements)[0] for j in pick(cols, self.s.elements)[0]]
        for i, j in cells:
            is_one = has_bias and j == cols - 1
            lhs = f"∂L/∂{n.b(k)}[{i}]" if is_one else f"∂L/∂{n.W(k)}[{i},{j}]"
            deltas = [n.key("dz", k, i, e) for e in range(examples)]
            sources = [n.key("a", k - 1, j, e) for e in range(examples)] if k > 1 and not is_one else None
            expr = worked.weight_gradient(step.delta[:, i], inputs[:, j], (first and k == 1) or is_one, deltas, sources)
            lines += line(lhs, expr, self.p, self.s.width,
                          label=n.wkey("db", k, i) if is_one else n.wkey("dW", k, i, j))
        if rows * cols > len(cells):
            lines.append(elided_note(rows * cols - len(cells)))
        grid = augmented_lines(f"∂L/∂{target}", step.weights_grad, step.bias_grad, self,
                               labels=lambda r, c: n.wkey("dW", k, r, c), right_labels=lambda r, _: n.wkey("db", k, r))
        return out + [Math(lines), Math(grid)]

    def back(self, step: BackToPrevious, through: ThroughActivation) -> list[Block]:
        n, k = self.n, step.layer
        examples, units = step.upstream.shape
        lines = [f"∂L/∂{n.a(k - 1)} = {n.W(k)}ᵀ · ∂L/∂{n.z(k)}   (the bias column takes no part)", ""]
        shown, hidden = self.cells(units, examples)
        for j, e in shown:
            lines += line(self.cell(f"∂L/∂{n.a(k - 1)}", j, e, examples),
                          worked.backprop(step.weights[:, j], step.delta[e], self.first_step,
                                          [n.key("dz", k, i, e) for i in range(step.delta.shape[1])],
                                          [n.before("W", k, i, j) for i in range(step.delta.shape[1])]),
                          self.p, self.s.width, label=n.key("da", k - 1, j, e))
        if hidden:
            lines.append(elided_note(hidden))
        out: list[Block] = [Heading(3, f"Layer {k - 1}: activations"), Math(lines),
                            Math(self.columns(f"∂L/∂{n.a(k - 1)}", step.upstream, "da", k - 1))]
        act = ACTIVATIONS[through.activation]
        if through.derivative is None:
            return out + self.through_activation(through)
        rule = act.byhand_derivative
        lines = [f"∂L/∂{n.z(k - 1)} = ∂L/∂{n.a(k - 1)} ⊙ {act.symbol or 'f'}′({n.z(k - 1)}): {rule}", ""]
        for j, e in shown:
            derivative, reason = worked.derivative(through.activation, through.z[e, j], through.a[e, j],
                                                   through.slope, n.key("a", k - 1, j, e))
            why = f"   ({reason})" if act.piecewise else ""
            lines += line(self.cell(f"∂L/∂{n.z(k - 1)}", j, e, examples),
                          op("mul", num(through.upstream[e, j], label=n.key("da", k - 1, j, e)), derivative), self.p,
                          self.s.width, suffix=why, label=n.key("dz", k - 1, j, e))
        if hidden:
            lines.append(elided_note(hidden))
        return out + [Heading(3, f"Layer {k - 1}: {act.label}"), Math(lines),
                      Math(self.columns(f"∂L/∂{n.z(k - 1)}", through.delta, "dz", k - 1))]

    def backward_by_hand(self, training: TrainingStep) -> list[Block]:
        self.bind(training)
        out: list[Block] = []
        steps = list(training.backward)
        for index, step in enumerate(steps):
            if isinstance(step, OutputDelta):
                out += self.output(step, training)
            elif isinstance(step, LayerGradient):
                out += self.weights(step, training.number == 1)
            elif isinstance(step, BackToPrevious):
                through = steps[index + 1]
                assert isinstance(through, ThroughActivation)
                out += self.back(step, through)
        return out


def build(trace: Trace, settings) -> list[Block]:  # noqa: ANN001
    from nnworked.render.notation import Notation

    s = trace.scenario
    w = ByHandWriter(trace.precision, Notation(len(s.layers), s.inputs.shape[0]), settings, s.loss)
    n = w.n
    out: list[Block] = [Rule(), Heading(2, "Setup (AI by Hand layout)"),
                        Para("Each example is a **column**. Each bias is folded into its weight matrix as the last "
                             "column, [W | b], and each input gets a 1 below it, [x ; 1], so a whole layer is one "
                             "matrix product.")]
    if s.layers[0].bias is not None:
        x_lines = augmented_lines(f"[{n.a(0)} ; 1]", s.inputs.T, np.ones(s.inputs.shape[0]), w, given=True,
                                  below=True)
    else:
        x_lines = augmented_lines(n.a(0), s.inputs.T, None, w, given=True)
    if s.targets is not None:
        x_lines += [""] + augmented_lines("y", s.targets.T, None, w, given=True)
    out.append(Math(x_lines))
    for k, layer in enumerate(s.layers, start=1):
        symbol = f"[{n.W(k)} | {n.b(k)}]" if layer.bias is not None else n.W(k)
        out.append(Math(augmented_lines(symbol, layer.weights, layer.bias, w, given=True)))
    out += parameter_count(s, w)
    out.append(Para("**Conventions:** " + conventions(trace)))
    for step in shown_steps(trace, settings):
        if step.number > 1 and not settings.all_steps:
            break
        w.n = n._replace(step=step.number)  # a later step's values are other quantities
        if len(trace.steps) > 1:
            out += [Rule(), Heading(2, f"Training Step {step.number} of {len(trace.steps)}")]
        out += [Rule(), Heading(2, "Forward Pass")]
        for k in range(1, len(s.layers) + 1):
            out += w.layer(step.forward, k, step.number == 1)
        if step.loss is None:
            continue
        out += [Rule(), Heading(2, "Loss"), *w.loss(step.loss)]
        out += [Rule(), Heading(2, "Backpropagation"), *w.backward_by_hand(step)]
        if step.updates:
            out += [Rule(), *updates(trace, step, w)]
        else:
            out += [Rule(), Heading(2, "Gradient Descent"),
                    Para("No learning rate is given: this is where one would be applied, θ ← θ − η·∂L/∂θ.")]
        out += key_observations(trace, step, w)
    if trace.final is not None:
        w.n = n._replace(step=FINAL, steps=len(trace.steps))
        out += after_training(trace, w, settings)
    w.n = n
    return out + explanations(trace, w, settings)
