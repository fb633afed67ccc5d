"""The AI by Hand layout, for any scenario: each example is a column, each bias is folded into its
weight matrix as [W | b] against [x | 1], every cell is a row times a column, and the backward pass
writes each gradient as ∂L/∂z · [a | 1]ᵀ (summed over the batch by the product itself).

The numbers are the trace's; only the arrangement differs from the standard walkthrough.
"""

from __future__ import annotations

import numpy as np

from nnworked import worked
from nnworked.engine.activations import ACTIVATIONS
from nnworked.quantities import FINAL, computed_from, table
from nnworked.render.backward import BackwardWriter
from nnworked.render.forward import ForwardWriter
from nnworked.render.notation import Notation
from nnworked.render.page import Numbering, Page, dispatch
from nnworked.render.sections import (after_training, conventions, explanations, key_observations,
                                      parameter_count, shown_steps, updates)
from nnworked.render.blocks import Block, Heading, Math, Para, Rule
from nnworked.render.lines import elided_note, line, pick
from nnworked.render.numbers import Labels, matrix_lines
from nnworked.trace import (Activate, BackToPrevious, Forward, LayerGradient, Linear, OutputDelta, ThroughActivation,
                            Trace, TrainingStep)


def augmented_lines(symbol: str, left: np.ndarray, right: np.ndarray | None, w: ForwardWriter | ByHandWriter,
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


class ByHandWriter:
    """One pass in the AI by Hand layout, on a Page: one `_print_<Record>` per operation it arranges its
    own way; the standard forms it borrows (an activation without a by-hand form, δ through softmax) come
    from the standard writers it holds."""

    def __init__(self, page: Page, training: TrainingStep | None = None):
        self.page, self.p, self.n, self.s, self.spec = page, page.p, page.n, page.s, page.spec
        self.standard = ForwardWriter(page)
        self.training = training
        self.first_step = training is None or training.number == 1
        from nnworked.render.byhandattention import ByHandAttention
        from nnworked.render.byhandimages import ByHandImages
        from nnworked.render.byhandnorms import ByHandNorms
        from nnworked.render.byhandrecurrent import ByHandRecurrent
        from nnworked.render.byhandsequences import DenseAtEveryPosition, StandardAtEveryToken
        from nnworked.render.normalise import NormBackward, NormForward

        norms = ByHandNorms(page, training)  # dropout's, the norms' and residual connections' there,
        if page.table.trace.scenario.inputs.ndim == 3:  # at every token of a sequence: the standard working
            norms = StandardAtEveryToken(NormForward(page), *([NormBackward(page, training)] if training else []))
        self.printers = (self, ByHandImages(page, training),  # image layers' records there,
                         norms, ByHandAttention(page, training), ByHandRecurrent(page, training))  # the sequences'
        self.sequence = DenseAtEveryPosition(page)  # a dense layer at every token of a sequence, a column each

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

    def forward(self, forward: Forward) -> list[Block]:
        out: list[Block] = []
        for operation in forward.operations:
            out += dispatch(self.printers, operation)
        return out

    def _print_Linear(self, lin: Linear) -> list[Block]:
        if lin.z.ndim == 3:
            return self.sequence.linear(lin)
        n, k, given = self.n, lin.layer, self.first_step
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
            w_labels, b_label = self.standard.parameter_labels(k, i, lin)
            expr = worked.linear(weights, inputs, None, given, given and k == 1, labels,  # b is one more weight
                                 w_labels + ([b_label] if has_bias else []))
            lines += line(self.cell(n.z(k), i, e, examples), expr, self.p, self.s.width, label=n.key("z", k, i, e))
        if hidden:
            lines.append(elided_note(hidden))
        return out + [Math(lines), Math(self.columns(n.z(k), lin.z, "z", k))]

    def _print_Activate(self, act: Activate) -> list[Block]:
        if act.z.ndim == 3:
            return self.sequence.activate(act, ACTIVATIONS[act.activation].label)
        by_hand = ACTIVATIONS[act.activation].byhand_forward(self, act) if act.z.ndim == 2 else None  # images: standard
        return by_hand if by_hand is not None else self.standard._print_Activate(act, Numbering(act.layer))[1:]

    # -- backward --

    def backward(self) -> list[Block]:
        assert self.training is not None
        out: list[Block] = []
        for record in self.training.backward:
            out += dispatch(self.printers, record)
        return out

    def _print_OutputDelta(self, step: OutputDelta) -> list[Block]:
        n, k = self.n, step.layer
        if step.delta.ndim == 3:
            return self.sequence.delta(step, f"∂L/∂{n.z(k)} = {n.a(k)} − y" if step.shortcut is not None else
                                       f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ f′({n.z(k)})")
        examples, units = step.delta.shape
        lines: list[str] = []
        shown, hidden = self.cells(units, examples)
        if step.shortcut is not None:
            head = f"∂L/∂{n.z(k)} = {n.a(k)} − y   (the benefit of using {ACTIVATIONS[step.activation].label} " \
                   "and this loss together)"
            for i, e in shown:
                lines += line(self.cell(f"∂L/∂{n.z(k)}", i, e, examples), self.page.expression("dz", k, i, e),
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

    def _print_LayerGradient(self, step: LayerGradient) -> list[Block]:
        if step.delta.ndim == 3:
            return self.sequence.gradient(step)
        n, k, first = self.n, step.layer, self.first_step
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

    def _print_BackToPrevious(self, step: BackToPrevious) -> list[Block]:
        if step.upstream.ndim == 3:
            return self.sequence.back(step)
        n, k = self.n, step.layer
        examples, units = step.upstream.shape
        lines = [f"∂L/∂{n.a(k - 1)} = {n.W(k)}ᵀ · ∂L/∂{n.z(k)}   (the bias column takes no part)", ""]
        shown, hidden = self.cells(units, examples)
        for j, e in shown:
            lines += line(self.cell(f"∂L/∂{n.a(k - 1)}", j, e, examples), self.page.expression("da", k - 1, j, e),
                          self.p, self.s.width, label=n.key("da", k - 1, j, e))
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Layer {k - 1}: activations"), Math(lines),
                Math(self.columns(f"∂L/∂{n.a(k - 1)}", step.upstream, "da", k - 1))]

    def _print_ThroughActivation(self, through: ThroughActivation) -> list[Block]:
        assert self.training is not None
        n, k, act = self.n, through.layer, ACTIVATIONS[through.activation]
        if through.z.ndim == 3 and through.derivative is not None:  # at every token of a sequence
            return self.sequence.delta(through, f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ {act.symbol or 'f'}′({n.z(k)}): "
                                       f"{act.byhand_derivative}")
        if through.derivative is None or through.z.ndim > 2:  # a Jacobian, or images: the standard form
            return BackwardWriter(self.page, self.training)._print_ThroughActivation(through)
        examples, units = through.z.shape
        shown, hidden = self.cells(units, examples)
        lines = [f"∂L/∂{n.z(k)} = ∂L/∂{n.a(k)} ⊙ {act.symbol or 'f'}′({n.z(k)}): {act.byhand_derivative}", ""]
        for j, e in shown:
            why = f"   ({worked.derivative(through.activation, through.z[e, j], through.a[e, j], through.slope)[1]})" \
                if act.piecewise else ""
            lines += line(self.cell(f"∂L/∂{n.z(k)}", j, e, examples), self.page.expression("dz", k, j, e), self.p,
                          self.s.width, suffix=why, label=n.key("dz", k, j, e))
        if hidden:
            lines.append(elided_note(hidden))
        return [Heading(3, f"Layer {k}: {act.label}"), Math(lines),
                Math(self.columns(f"∂L/∂{n.z(k)}", through.delta, "dz", k))]


def build(trace: Trace, settings) -> list[Block]:  # noqa: ANN001
    s = trace.scenario
    page = Page(trace.precision, Notation(len(s.layers), s.inputs.shape[0]), settings, table(trace), s.loss)
    w, n = ForwardWriter(page), page.n
    out: list[Block] = [Rule(), Heading(2, "Setup (AI by Hand layout)"),
                        Para("Each example is a **column**. Each bias is folded into its weight matrix as the last "
                             "column, [W | b], and each input gets a 1 below it, [x ; 1], so a whole layer is one "
                             "matrix product." if s.inputs.ndim != 3 else
                             "Each token (position) of a sequence is a **column** and each feature a row, one grid "
                             "per example. Each bias is folded into its weight matrix as the last column, [W | b], "
                             "against a 1 below each column, so a whole layer is one matrix product.")]
    if s.inputs.ndim == 3:  # sequences: each token a column
        from nnworked.render.byhandsequences import setup_inputs

        x_lines = setup_inputs(page, s.inputs, s.targets)
    elif s.inputs.ndim > 2:  # images: as the standard layout shows them
        x_lines = page.images(n.a(0), s.inputs, given=True)
    elif s.layers[0].bias is not None:
        x_lines = augmented_lines(f"[{n.a(0)} ; 1]", s.inputs.T, np.ones(s.inputs.shape[0]), w, given=True,
                                  below=True)
    else:
        x_lines = augmented_lines(n.a(0), s.inputs.T, None, w, given=True)
    if s.targets is not None and s.inputs.ndim != 3:
        x_lines += [""] + augmented_lines("y", s.targets.T, None, w, given=True)
    out.append(Math(x_lines))
    for k, layer in enumerate(s.layers, start=1):
        if getattr(layer, "kernels", None) is not None:  # a convolution's kernels, each a row: [K | b]
            from nnworked.render.byhandimages import kernel_rows

            out.append(Math(kernel_rows(n.param(f"K{k}"), n.b(k), layer.kernels, layer.bias, page, True)))
        if getattr(layer, "gamma", None) is not None:  # a normalisation's scale and shift, a row per feature
            from nnworked.render.byhandnorms import ByHandNorms

            out.append(Math(ByHandNorms(page).scale_shift(k, layer.gamma, layer.beta)))
        from nnworked.render.byhandsequences import sequence_parameters

        if sequence_parameters(page, k, layer):  # a sequence layer's weights, as its sheet stacks them
            out.append(Math(sequence_parameters(page, k, layer)))
        if getattr(layer, "weights", None) is None:
            continue  # pooling, flatten, dropout, normalisation and residual layers have no weights
        symbol = f"[{n.W(k)} | {n.b(k)}]" if layer.bias is not None else n.W(k)
        out.append(Math(augmented_lines(symbol, layer.weights, layer.bias, w, given=True)))
    out += parameter_count(s, w)
    out.append(Para("**Conventions:** " + (conventions(trace) if s.inputs.ndim != 3 else conventions(trace).rstrip(".")
                                           + "; in this layout's grids a cell is written [row,column], a unit's row "
                                             "and a token's column.")))
    for step in shown_steps(trace, settings):
        if step.number > 1 and not settings.all_steps:
            break
        this = page.at(step=step.number)  # a later step's values are other quantities
        w = ForwardWriter(this)
        if len(trace.steps) > 1:
            out += [Rule(), Heading(2, f"Training Step {step.number} of {len(trace.steps)}")]
        out += [Rule(), Heading(2, "Forward Pass"), *ByHandWriter(this, step).forward(step.forward)]
        if step.loss is None:
            continue
        out += [Rule(), Heading(2, "Loss"), *w.loss(step.loss)]
        out += [Rule(), Heading(2, "Backpropagation"), *ByHandWriter(this, step).backward()]
        if step.updates:
            out += [Rule(), *updates(trace, step, w)]
        else:
            out += [Rule(), Heading(2, "Gradient Descent"),
                    Para("No learning rate is given: this is where one would be applied, θ ← θ − η·∂L/∂θ.")]
        out += key_observations(trace, step, w)
    if trace.final is not None:
        out += after_training(trace, ForwardWriter(page.at(step=FINAL, steps=len(trace.steps))), settings)
    return out + explanations(trace, ForwardWriter(page), settings)
